/* Primary commands through scsi_task_exec(): target/spc.c and the dispatcher. */
#include <unistd.h>

#include "tests/unit/test_scsi_util.h"

static uint8_t inq(struct tgt_lu *lu, bool evpd, uint8_t page, uint16_t alloc, uint8_t *buf,
                   struct scsi_task *t)
{
	uint8_t cdb[6] = {INQUIRY, evpd ? 1 : 0, page};

	put_be16(cdb + 3, alloc);
	return run_cdb(lu, NEXUS_A, cdb, 6, NULL, 0, buf, alloc, t);
}

static void test_inquiry_standard(void **state)
{
	struct tgt_lu *lu = open_lu("ram:1M,removable,product=UNIT-TEST", 0);
	uint8_t b[96];
	struct scsi_task t;

	/* INQUIRY runs even with the power-on unit attention pending. */
	assert_int_equal(inq(lu, false, 0, sizeof(b), b, &t), SAM_STAT_GOOD);
	assert_int_equal(b[0], PDT_DIRECT_ACCESS);
	assert_int_equal(b[1], 0x80);
	assert_int_equal(b[3] & 0x0f, 2);
	assert_int_equal(b[4] + 5, t.data_in_xfer);
	assert_memory_equal(b + 8, "XISCSI  ", 8);
	assert_memory_equal(b + 16, "UNIT-TEST       ", 16);
	assert_int_equal(t.resid_flags, SCSI_RESID_UNDERFLOW);
	assert_int_equal(t.resid, sizeof(b) - t.data_in_xfer);
	tgt_lu_close(lu);
}

static void test_inquiry_truncated(void **state)
{
	struct tgt_lu *lu = open_lu("ram:1M", 0);
	uint8_t b[5];
	struct scsi_task t;

	assert_int_equal(inq(lu, false, 0, 5, b, &t), SAM_STAT_GOOD);
	assert_int_equal(t.data_in_xfer, 5);
	/* The allocation length cut it: no residual against EDTL 5. */
	assert_int_equal(t.resid_flags, 0);
	tgt_lu_close(lu);
}

static void test_inquiry_page_without_evpd_points_at_byte2(void **state)
{
	struct tgt_lu *lu = open_lu("ram:1M", 0);
	uint8_t b[64];
	struct scsi_task t;
	struct sense_info si;

	assert_int_equal(inq(lu, false, 0x80, sizeof(b), b, &t), SAM_STAT_CHECK_CONDITION);
	si = task_sense(&t);
	assert_int_equal(si.key, SK_ILLEGAL_REQUEST);
	assert_int_equal(si.asc, ASC_INVALID_FIELD_IN_CDB);
	assert_true(si.sks_valid);
	assert_int_equal(si.sks[0], SKS_VALID | SKS_CD);
	assert_int_equal(get_be16(si.sks + 1), 2);
	tgt_lu_close(lu);
}

static void test_vpd_supported_and_serial(void **state)
{
	struct tgt_lu *lu = open_lu("ram:1M,serial=SN-42", 0);
	uint8_t b[64];
	struct scsi_task t;

	assert_int_equal(inq(lu, true, VPD_SUPPORTED_PAGES, sizeof(b), b, &t), SAM_STAT_GOOD);
	assert_int_equal(b[1], 0);
	assert_int_equal(get_be16(b + 2), 7);
	assert_memory_equal(b + 4, ((uint8_t[]){0x00, 0x80, 0x83, 0x8f, 0xb0, 0xb1, 0xb2}), 7);
	assert_int_equal(inq(lu, true, VPD_UNIT_SERIAL_NUMBER, sizeof(b), b, &t), SAM_STAT_GOOD);
	assert_int_equal(get_be16(b + 2), 5);
	assert_memory_equal(b + 4, "SN-42", 5);
	assert_int_equal(inq(lu, true, 0x99, sizeof(b), b, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	tgt_lu_close(lu);
}

/* Find the designator of a type and association in VPD 0x83; NULL if absent. */
static const uint8_t *find_desig(const uint8_t *b, size_t len, uint8_t assoc, uint8_t type)
{
	size_t end = 4 + get_be16(b + 2);

	if (end > len)
		end = len;
	for (size_t off = 4; off + 4 <= end; off += 4 + b[off + 3])
		if (((b[off + 1] >> 4) & 3) == assoc && (b[off + 1] & 0x0f) == type)
			return b + off;
	return NULL;
}

static void test_vpd_device_identification(void **state)
{
	struct tgt_lu *lu = open_lu("ram:1M", 7);
	uint8_t b[1024];
	const uint8_t *d;
	struct scsi_task t;

	assert_int_equal(inq(lu, true, VPD_DEVICE_IDENTIFICATION, sizeof(b), b, &t), SAM_STAT_GOOD);
	d = find_desig(b, t.data_in_xfer, DESIG_ASSOC_LU, DESIG_TYPE_NAA);
	assert_non_null(d);
	assert_int_equal(d[3], 8);
	assert_memory_equal(d + 4, lu->naa, 8);
	d = find_desig(b, t.data_in_xfer, DESIG_ASSOC_LU, DESIG_TYPE_T10_VENDOR_ID);
	assert_non_null(d);
	assert_memory_equal(d + 4, "XISCSI  ", 8);
	d = find_desig(b, t.data_in_xfer, DESIG_ASSOC_TARGET_PORT, DESIG_TYPE_RELATIVE_TARGET_PORT);
	assert_non_null(d);
	assert_int_equal(get_be16(d + 6), 1);
	d = find_desig(b, t.data_in_xfer, DESIG_ASSOC_TARGET_PORT, DESIG_TYPE_SCSI_NAME);
	assert_non_null(d);
	assert_string_equal((const char *)d + 4, TEST_TARGET ",t,0x0001");
	assert_int_equal(d[3] % 4, 0);
	d = find_desig(b, t.data_in_xfer, DESIG_ASSOC_TARGET_DEVICE, DESIG_TYPE_SCSI_NAME);
	assert_non_null(d);
	assert_string_equal((const char *)d + 4, TEST_TARGET);
	tgt_lu_close(lu);
}

static void test_vpd_block_limits_and_lbp(void **state)
{
	struct tgt_lu *thin = open_lu("ram:16M,thin", 0);
	struct tgt_lu *thick = open_lu("ram:16M", 0);
	uint8_t b[64];
	struct scsi_task t;

	assert_int_equal(inq(thin, true, VPD_BLOCK_LIMITS, sizeof(b), b, &t), SAM_STAT_GOOD);
	assert_int_equal(get_be16(b + 2), 0x3c);
	assert_int_equal(b[5], SBC_MAX_CAW_BLOCKS);
	assert_int_equal(get_be32(b + 8), SBC_MAX_XFER_BLOCKS);
	assert_int_equal(get_be32(b + 20), SBC_MAX_UNMAP_BLOCKS);
	assert_int_equal(get_be32(b + 24), SBC_MAX_UNMAP_DESCS);
	assert_int_equal(inq(thick, true, VPD_BLOCK_LIMITS, sizeof(b), b, &t), SAM_STAT_GOOD);
	assert_int_equal(get_be32(b + 20), 0);
	assert_int_equal(inq(thin, true, VPD_LOGICAL_BLOCK_PROVISIONING, sizeof(b), b, &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(b[5] & 0xe0, 0xe0);  /* LBPU, LBPWS, LBPWS10 */
	assert_int_equal((b[5] >> 2) & 7, 1); /* LBPRZ */
	assert_int_equal(inq(thick, true, VPD_LOGICAL_BLOCK_PROVISIONING, sizeof(b), b, &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(b[5], 0);
	tgt_lu_close(thin);
	tgt_lu_close(thick);
}

static void test_unknown_opcode(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t cdb[6] = {0xc7};
	struct scsi_task t;

	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	tgt_lu_close(lu);
}

static void test_unknown_service_action_points_at_it(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t cdb[16] = {SERVICE_ACTION_IN_16, 0x1f};
	struct scsi_task t;
	struct sense_info si;

	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 16, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	si = task_sense(&t);
	assert_int_equal(si.asc, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(si.sks + 1), 1);
	tgt_lu_close(lu);
}

static void test_naca_refused(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t cdb[6] = {TEST_UNIT_READY, 0, 0, 0, 0, 0x04};
	struct scsi_task t;
	struct sense_info si;

	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	si = task_sense(&t);
	assert_int_equal(si.asc, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(si.sks[0], SKS_VALID | SKS_CD | SKS_BPV | 2);
	assert_int_equal(get_be16(si.sks + 1), 5);
	tgt_lu_close(lu);
}

static void test_no_lu(void **state)
{
	uint8_t b[64];
	uint8_t tur[6] = {TEST_UNIT_READY};
	uint8_t cdb[6] = {INQUIRY, 0, 0, 0, sizeof(b)};
	struct scsi_task t;

	assert_int_equal(run_cdb(NULL, NEXUS_A, cdb, 6, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(b[0], 0x7f);
	assert_int_equal(run_cdb(NULL, NEXUS_A, tur, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_LU_NOT_SUPPORTED);
}

static size_t three_luns(void *arg, uint64_t *luns, size_t max)
{
	static const uint64_t l[3] = {0, 1, 300};

	for (size_t i = 0; i < max && i < 3; i++)
		luns[i] = l[i];
	return 3;
}

static void test_report_luns(void **state)
{
	struct scsi_port port = test_port;
	uint8_t cdb[12] = {REPORT_LUNS};
	uint8_t b[64];
	struct scsi_task t;

	port.lun_list = three_luns;
	put_be32(cdb + 6, sizeof(b));
	memset(&t, 0, sizeof(t));
	t.port = &port;
	t.nexus = NEXUS_A;
	t.cdb = cdb;
	t.cdb_len = sizeof(cdb);
	t.data_in = b;
	t.data_in_len = sizeof(b);
	t.done = test_task_done;
	test_done_calls = 0;
	/* REPORT LUNS is answered for a LUN that does not exist too. */
	scsi_task_exec(NULL, &t);
	assert_int_equal(test_done_calls, 1);
	assert_int_equal(t.status, SAM_STAT_GOOD);
	assert_int_equal(get_be32(b), 24);
	assert_int_equal(t.data_in_xfer, 32);
	assert_int_equal(b[8 + 1], 0);
	assert_int_equal(b[16 + 1], 1);
	assert_int_equal(b[24], 0x41);
	assert_int_equal(b[25], 300 & 0xff);
}

static uint8_t mode_sense10(struct tgt_lu *lu, uint64_t nexus, uint8_t pc_page, uint8_t *b,
                            uint16_t alloc, struct scsi_task *t)
{
	uint8_t cdb[10] = {MODE_SENSE_10, 0x08, pc_page};

	put_be16(cdb + 7, alloc);
	return run_cdb(lu, nexus, cdb, 10, NULL, 0, b, alloc, t);
}

static void test_mode_sense_wce_truth(void **state)
{
	char path[] = "/tmp/xiscsi-spc-XXXXXX";
	int fd = mkstemp(path);
	char spec[128];
	uint8_t b[64];
	struct scsi_task t;
	struct tgt_lu *ram, *file, *dsync;

	assert_true(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s,size=1M", path);
	file = open_ready_lu(spec);
	snprintf(spec, sizeof(spec), "file:%s,size=1M,sync", path);
	dsync = open_ready_lu(spec);
	ram = open_ready_lu("ram:1M");
	/* Page cache in front of a file: a volatile write cache. */
	assert_int_equal(mode_sense10(file, NEXUS_A, MODE_PAGE_CACHING, b, sizeof(b), &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(b[8], MODE_PAGE_CACHING);
	assert_int_equal(b[8 + 2] & 0x04, 0x04);
	assert_int_equal(b[3] & 0x10, 0x10); /* DPOFUA */
	/* O_DSYNC: every write is stable, no cache to report. */
	assert_int_equal(mode_sense10(dsync, NEXUS_A, MODE_PAGE_CACHING, b, sizeof(b), &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(b[8 + 2] & 0x04, 0);
	assert_int_equal(mode_sense10(ram, NEXUS_A, MODE_PAGE_CACHING, b, sizeof(b), &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(b[8 + 2] & 0x04, 0);
	/* Changeable: WCE only where a cache exists. */
	assert_int_equal(mode_sense10(ram, NEXUS_A, MODE_PC_CHANGEABLE << 6 | MODE_PAGE_CACHING, b,
	                              sizeof(b), &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(b[8 + 2], 0);
	tgt_lu_close(file);
	tgt_lu_close(dsync);
	tgt_lu_close(ram);
	unlink(path);
}

static void test_mode_sense_wp_and_saved(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M,ro");
	uint8_t b[255];
	uint8_t cdb[6] = {MODE_SENSE_6, 0, MODE_PAGE_ALL, 0, 255};
	struct scsi_task t;

	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 6, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(b[2] & 0x80, 0x80);
	assert_int_equal(b[3], 8);
	assert_int_equal(b[0] + 1, t.data_in_xfer);
	assert_int_equal(get_be24(b + 4 + 5), 512);
	cdb[2] = MODE_PC_SAVED << 6 | MODE_PAGE_ALL;
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 6, NULL, 0, b, sizeof(b), &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMETERS_NOT_SUPPORTED);
	tgt_lu_close(lu);
}

static void test_mode_select_wce_off_and_ua(void **state)
{
	char path[] = "/tmp/xiscsi-spc-XXXXXX";
	int fd = mkstemp(path);
	char spec[128];
	uint8_t b[64], p[8 + 20];
	uint8_t sel[10] = {MODE_SELECT_10, 0x10};
	struct scsi_task t;
	struct tgt_lu *lu;

	assert_true(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s,size=1M", path);
	lu = open_ready_lu(spec);
	tgt_lu_ua_take(lu, NEXUS_B, true);
	assert_int_equal(mode_sense10(lu, NEXUS_A, MODE_PAGE_CACHING, b, sizeof(b), &t),
	                 SAM_STAT_GOOD);
	memset(p, 0, sizeof(p));
	memcpy(p + 8, b + 8, 20);
	p[8 + 2] &= (uint8_t)~0x04;
	put_be16(sel + 7, sizeof(p));
	assert_int_equal(run_cdb(lu, NEXUS_A, sel, 10, p, sizeof(p), NULL, 0, &t), SAM_STAT_GOOD);
	assert_false(atomic_load(&lu->wce));
	assert_int_equal(mode_sense10(lu, NEXUS_A, MODE_PAGE_CACHING, b, sizeof(b), &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(b[8 + 2] & 0x04, 0);
	/* The other nexus is told (SPC-5 7.5.1). */
	assert_int_equal(mode_sense10(lu, NEXUS_B, MODE_PAGE_CACHING, b, sizeof(b), &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_UNIT_ATTENTION, ASC_MODE_PARAMETERS_CHANGED);
	tgt_lu_close(lu);
	unlink(path);
}

static void test_mode_select_unchangeable_points_at_bit(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t b[64], p[4 + 20];
	uint8_t sel[6] = {MODE_SELECT_6, 0x10, 0, 0, sizeof(p)};
	uint8_t ms[6] = {MODE_SENSE_6, 0x08, MODE_PAGE_CACHING, 0, sizeof(b)};
	struct scsi_task t;
	struct sense_info si;

	assert_int_equal(run_cdb(lu, NEXUS_A, ms, 6, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	memset(p, 0, sizeof(p));
	memcpy(p + 4, b + 4, 20);
	p[4 + 2] |= 0x04; /* WCE on a store with no cache */
	assert_int_equal(run_cdb(lu, NEXUS_A, sel, 6, p, sizeof(p), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	si = task_sense(&t);
	assert_int_equal(si.asc, ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	assert_int_equal(si.sks[0], SKS_VALID | SKS_BPV | 2);
	assert_int_equal(get_be16(si.sks + 1), 6);
	tgt_lu_close(lu);
}

static void test_d_sense_switches_format(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t b[64], p[4 + 12];
	uint8_t sel[6] = {MODE_SELECT_6, 0x10, 0, 0, sizeof(p)};
	uint8_t ms[6] = {MODE_SENSE_6, 0x08, MODE_PAGE_CONTROL, 0, sizeof(b)};
	uint8_t bad[6] = {0xc7};
	struct scsi_task t;

	assert_int_equal(run_cdb(lu, NEXUS_A, ms, 6, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	memset(p, 0, sizeof(p));
	memcpy(p + 4, b + 4, 12);
	p[4 + 2] |= 0x04;
	assert_int_equal(run_cdb(lu, NEXUS_A, sel, 6, p, sizeof(p), NULL, 0, &t), SAM_STAT_GOOD);
	run_cdb(lu, NEXUS_A, bad, 6, NULL, 0, NULL, 0, &t);
	assert_int_equal(t.sense[0], SENSE_DESC_CURRENT);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	tgt_lu_close(lu);
}

static void test_request_sense_reports_ua(void **state)
{
	struct tgt_lu *lu = open_lu("ram:1M", 0);
	uint8_t cdb[6] = {REQUEST_SENSE, 0, 0, 0, 18};
	uint8_t b[18];
	struct scsi_task t;
	struct sense_info si;

	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 6, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(sense_parse(b, t.data_in_xfer, &si), 0);
	assert_int_equal(si.key, SK_UNIT_ATTENTION);
	assert_int_equal(si.asc, ASC_POWER_ON_RESET);
	/* Reported once: now no sense. */
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 6, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(sense_parse(b, t.data_in_xfer, &si), 0);
	assert_int_equal(si.key, SK_NO_SENSE);
	tgt_lu_close(lu);
}

static void test_rsoc_one_and_all(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t cdb[12] = {MAINTENANCE_IN, MI_REPORT_SUPPORTED_OPERATION_CODES, 0x01, READ_10};
	uint8_t b[4096];
	struct scsi_task t;
	bool saw_rc16 = false;

	put_be32(cdb + 6, sizeof(b));
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 12, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(b[1] & 0x07, 3);
	assert_int_equal(get_be16(b + 2), 10);
	assert_int_equal(b[4], READ_10);
	cdb[3] = 0xc7;
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 12, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(b[1] & 0x07, 1);
	/* Option 1 on an opcode with service actions is an error. */
	cdb[3] = SERVICE_ACTION_IN_16;
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 12, NULL, 0, b, sizeof(b), &t),
	                 SAM_STAT_CHECK_CONDITION);
	cdb[2] = 0;
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 12, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	uint32_t len = get_be32(b);
	assert_int_equal(len % 8, 0);
	for (uint32_t off = 4; off < 4 + len; off += 8)
		if (b[off] == SERVICE_ACTION_IN_16 && get_be16(b + off + 2) == SAI_READ_CAPACITY_16)
			saw_rc16 = (b[off + 5] & 0x01) && get_be16(b + off + 6) == 16;
	assert_true(saw_rc16);
	tgt_lu_close(lu);
}

static void test_reserve_conflict_and_release(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t res[10] = {RESERVE_10}, rel[10] = {RELEASE_10};
	uint8_t inqc[6] = {INQUIRY, 0, 0, 0, 36};
	uint8_t b[36];
	struct scsi_task t;

	tgt_lu_ua_take(lu, NEXUS_B, true);
	assert_int_equal(run_cdb(lu, NEXUS_A, res, 10, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_B, res, 10, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_RESERVATION_CONFLICT);
	/* INQUIRY still works for the other nexus; RELEASE from it is a no-op. */
	assert_int_equal(run_cdb(lu, NEXUS_B, inqc, 6, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_B, rel, 10, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_B, res, 10, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(run_cdb(lu, NEXUS_A, rel, 10, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_B, res, 10, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	tgt_lu_close(lu);
}

static void test_xfer_len_from_cdb(void **state)
{
	struct tgt_lu *lu = open_lu("ram:1M,bs=4096", 0);
	uint8_t w10[10] = {WRITE_10, 0, 0, 0, 0, 0, 0, 0, 3, 0};
	uint8_t caw[16] = {COMPARE_AND_WRITE};
	uint8_t ws16[16] = {WRITE_SAME_16, 0x01};
	uint8_t inq[6] = {INQUIRY, 0, 0, 0x01, 0x00};
	enum scsi_dir dir;

	caw[13] = 1;
	assert_true(scsi_cdb_xfer_len(lu, w10, 10, &dir) == 3 * 4096);
	assert_int_equal(dir, SCSI_DIR_OUT);
	assert_true(scsi_cdb_xfer_len(lu, caw, 16, &dir) == 2 * 4096);
	/* NDOB: WRITE SAME without a data-out buffer. */
	assert_true(scsi_cdb_xfer_len(lu, ws16, 16, &dir) == 0);
	assert_true(scsi_cdb_xfer_len(lu, inq, 6, &dir) == 256);
	assert_int_equal(dir, SCSI_DIR_IN);
	inq[0] = 0xc7;
	assert_true(scsi_cdb_xfer_len(lu, inq, 6, &dir) == 0);
	assert_int_equal(dir, SCSI_DIR_NONE);
	tgt_lu_close(lu);
}

static void test_swp_write_protects(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t b[64], p[4 + 12], w[512] = {0};
	uint8_t sel[6] = {MODE_SELECT_6, 0x10, 0, 0, sizeof(p)};
	uint8_t ms[6] = {MODE_SENSE_6, 0x08, MODE_PAGE_CONTROL, 0, sizeof(b)};
	uint8_t wr[10] = {WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	struct scsi_task t;

	assert_int_equal(run_cdb(lu, NEXUS_A, ms, 6, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	memset(p, 0, sizeof(p));
	memcpy(p + 4, b + 4, 12);
	p[4 + 4] |= 0x08; /* SWP, SPC-5 7.5.8 */
	assert_int_equal(run_cdb(lu, NEXUS_A, sel, 6, p, sizeof(p), NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_A, wr, 10, w, sizeof(w), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	assert_int_equal(run_cdb(lu, NEXUS_A, ms, 6, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(b[2] & 0x80, 0x80); /* WP in the header */
	tgt_lu_close(lu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_inquiry_standard),
	        cmocka_unit_test(test_inquiry_truncated),
	        cmocka_unit_test(test_inquiry_page_without_evpd_points_at_byte2),
	        cmocka_unit_test(test_vpd_supported_and_serial),
	        cmocka_unit_test(test_vpd_device_identification),
	        cmocka_unit_test(test_vpd_block_limits_and_lbp),
	        cmocka_unit_test(test_unknown_opcode),
	        cmocka_unit_test(test_unknown_service_action_points_at_it),
	        cmocka_unit_test(test_naca_refused),
	        cmocka_unit_test(test_no_lu),
	        cmocka_unit_test(test_report_luns),
	        cmocka_unit_test(test_mode_sense_wce_truth),
	        cmocka_unit_test(test_mode_sense_wp_and_saved),
	        cmocka_unit_test(test_mode_select_wce_off_and_ua),
	        cmocka_unit_test(test_mode_select_unchangeable_points_at_bit),
	        cmocka_unit_test(test_d_sense_switches_format),
	        cmocka_unit_test(test_request_sense_reports_ua),
	        cmocka_unit_test(test_rsoc_one_and_all),
	        cmocka_unit_test(test_reserve_conflict_and_release),
	        cmocka_unit_test(test_xfer_len_from_cdb),
	        cmocka_unit_test(test_swp_write_protects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
