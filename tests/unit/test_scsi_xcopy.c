/* The copy manager: EXTENDED COPY (LID1) and RECEIVE COPY RESULTS, SPC-4 6.4, 6.18. */
#include "tests/unit/test_scsi_util.h"

#define BS 512

static uint64_t visible_luns[4];
static size_t n_visible;

static size_t list_luns(void *arg, uint64_t *luns, size_t max)
{
	for (size_t i = 0; i < n_visible && i < max; i++)
		luns[i] = visible_luns[i];
	return n_visible;
}

static const struct scsi_port xc_port = {
        .target_name = TEST_TARGET,
        .tpgt = 1,
        .rel_port_id = 1,
        .lun_list = list_luns,
};

static uint8_t run_xc(struct tgt_lu *lu, uint64_t nexus, const uint8_t *cdb, const void *out,
                      uint32_t out_len, void *in, uint32_t in_len, struct scsi_task *t)
{
	/* As run_cdb, on a port with a LUN list. */
	memset(t, 0, sizeof(*t));
	t->port = &xc_port;
	t->nexus = nexus;
	t->lun = lu->lun;
	t->cdb = cdb;
	t->cdb_len = 16;
	t->data_out = out;
	t->data_out_len = out_len;
	t->data_in = in;
	t->data_in_len = in_len;
	t->done = test_task_done;
	test_done_calls = 0;
	scsi_task_exec(lu, t);
	assert_int_equal(test_done_calls, 1);
	return t->status;
}

/* A parameter list: header, CSCDs naming the LUs' NAA, segments. */
struct xlist {
	uint8_t b[512];
	uint32_t tlen, slen;
};

static void add_cscd(struct xlist *x, const struct tgt_lu *lu)
{
	uint8_t *d = x->b + 16 + x->tlen;

	memset(d, 0, 32);
	d[0] = 0xe4;
	d[4] = DESIG_CODESET_BINARY;
	d[5] = DESIG_ASSOC_LU << 4 | DESIG_TYPE_NAA;
	d[7] = 8;
	memcpy(d + 8, lu->naa, 8);
	d[30] = (uint8_t)(lu->block_size >> 8);
	d[31] = (uint8_t)lu->block_size;
	x->tlen += 32;
}

static void add_seg(struct xlist *x, uint8_t type, uint16_t si, uint16_t di, uint16_t n,
                    uint64_t slba, uint64_t dlba)
{
	uint8_t *d = x->b + 16 + x->tlen + x->slen;

	memset(d, 0, 28);
	d[0] = type;
	put_be16(d + 2, 0x18);
	put_be16(d + 4, si);
	put_be16(d + 6, di);
	put_be16(d + 10, n);
	put_be64(d + 12, slba);
	put_be64(d + 20, dlba);
	x->slen += 28;
}

static uint32_t finish(struct xlist *x, uint8_t list_id, uint8_t usage)
{
	x->b[0] = list_id;
	x->b[1] = (uint8_t)(usage << 3);
	put_be16(x->b + 2, (uint16_t)x->tlen);
	put_be32(x->b + 8, x->slen);
	return 16 + x->tlen + x->slen;
}

static uint8_t xcopy(struct tgt_lu *lu, struct xlist *x, uint32_t len, struct scsi_task *t)
{
	uint8_t cdb[16] = {EXTENDED_COPY, 0x00};

	put_be32(cdb + 10, len);
	return run_xc(lu, NEXUS_A, cdb, x->b, len, NULL, 0, t);
}

static void fill(struct tgt_lu *lu, uint64_t lba, uint32_t blocks, uint8_t seed)
{
	uint8_t *buf = malloc((size_t)blocks * BS);

	assert_non_null(buf);
	for (size_t i = 0; i < (size_t)blocks * BS; i++)
		buf[i] = (uint8_t)(seed + i / BS);
	assert_int_equal(bs_write(&lu->bs, buf, (size_t)blocks * BS, lba * BS, 0), 0);
	free(buf);
}

static void test_copy_between_lus(void **state)
{
	struct tgt_lu *a = open_ready_lu("ram:4M"), *b = open_lu("ram:4M", 1);
	uint8_t want[8 * BS], got[8 * BS], rcr[16] = {RECEIVE_COPY_RESULTS, 0x00, 7};
	uint8_t st[12];
	struct xlist x = {0};
	struct scsi_task t;
	uint32_t len;

	visible_luns[0] = 0;
	visible_luns[1] = 1;
	n_visible = 2;
	fill(a, 100, 8, 0x40);
	assert_int_equal(bs_read(&a->bs, want, sizeof(want), 100 * BS), 0);
	add_cscd(&x, a);
	add_cscd(&x, b);
	add_seg(&x, 0x02, 0, 1, 8, 100, 2000);
	len = finish(&x, 7, 0);
	assert_int_equal(xcopy(a, &x, len, &t), SAM_STAT_GOOD);
	assert_int_equal(bs_read(&b->bs, got, sizeof(got), 2000 * BS), 0);
	assert_memory_equal(want, got, sizeof(got));
	/* Held for list 7 (LIST ID USAGE 00b): completed, 1 segment, 4 KiB. */
	put_be32(rcr + 10, sizeof(st));
	assert_int_equal(run_xc(a, NEXUS_A, rcr, NULL, 0, st, sizeof(st), &t), SAM_STAT_GOOD);
	assert_int_equal(st[4], 0x01);
	assert_int_equal(get_be16(st + 5), 1);
	assert_int_equal(get_be32(st + 8), 8 * BS);
	/* Another nexus has no list 7. */
	assert_int_equal(run_xc(a, NEXUS_B, rcr, NULL, 0, st, sizeof(st), &t),
	                 SAM_STAT_CHECK_CONDITION);
	/* The nexus going away discards what was held for it. */
	tgt_lu_nexus_gone(a, NEXUS_A);
	assert_int_equal(run_xc(a, NEXUS_A, rcr, NULL, 0, st, sizeof(st), &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_int_equal(run_xc(a, NEXUS_A, rcr, NULL, 0, st, sizeof(st), &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	tgt_lu_close(b);
	tgt_lu_close(a);
}

static void test_copy_lu_not_visible(void **state)
{
	struct tgt_lu *a = open_ready_lu("ram:4M"), *b = open_lu("ram:4M", 1);
	struct xlist x = {0};
	struct scsi_task t;
	uint32_t len;

	/* LUN 1 is masked from this nexus: the copy manager may not reach it. */
	visible_luns[0] = 0;
	n_visible = 1;
	add_cscd(&x, a);
	add_cscd(&x, b);
	add_seg(&x, 0x02, 0, 1, 1, 0, 0);
	len = finish(&x, 1, 2);
	assert_int_equal(xcopy(a, &x, len, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_COPY_ABORTED, ASC_COPY_TARGET_DEVICE_NOT_REACHABLE);
	tgt_lu_close(b);
	tgt_lu_close(a);
}

static void test_registry_forgets_closed_lu(void **state)
{
	struct tgt_lu *a = open_lu("ram:1M", 3);
	uint8_t naa[8];
	struct tgt_lu *got;

	memcpy(naa, a->naa, sizeof(naa));
	got = tgt_lu_get_by_naa(TEST_TARGET, naa);
	assert_ptr_equal(got, a);
	/* Another target's LU with the same designator bytes is not ours. */
	assert_null(tgt_lu_get_by_naa("iqn.2026-11.org.xiscsi:other", naa));
	tgt_lu_put(got);
	tgt_lu_close(a);
	assert_null(tgt_lu_get_by_naa(TEST_TARGET, naa));
}

static void test_overlapping_copy_within_lu(void **state)
{
	struct tgt_lu *a = open_ready_lu("ram:1M");
	uint8_t want[5 * BS], got[5 * BS];
	struct xlist x = {0};
	struct scsi_task t;
	uint32_t len;

	n_visible = 1;
	visible_luns[0] = 0;
	fill(a, 10, 5, 0x10);
	/* The result must be as if read whole, then written (memmove). */
	assert_int_equal(bs_read(&a->bs, want, BS, 10 * BS), 0);
	assert_int_equal(bs_read(&a->bs, want + BS, 4 * BS, 10 * BS), 0);
	add_cscd(&x, a);
	add_seg(&x, 0x02, 0, 0, 4, 10, 11);
	len = finish(&x, 0, 3);
	assert_int_equal(xcopy(a, &x, len, &t), SAM_STAT_GOOD);
	assert_int_equal(bs_read(&a->bs, got, sizeof(got), 10 * BS), 0);
	assert_memory_equal(want, got, sizeof(got));
	tgt_lu_close(a);
}

static void test_parameter_list_errors(void **state)
{
	struct tgt_lu *a = open_ready_lu("ram:1M");
	struct xlist x = {0};
	struct scsi_task t;
	uint32_t len;

	n_visible = 1;
	visible_luns[0] = 0;
	/* No parameter list: nothing to do, GOOD. */
	assert_int_equal(xcopy(a, &x, 0, &t), SAM_STAT_GOOD);
	add_cscd(&x, a);
	add_seg(&x, 0x02, 0, 0, 1, 0, 1);
	len = finish(&x, 1, 0);
	/* Lists longer than the data that came. */
	assert_int_equal(xcopy(a, &x, len - 1, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* Stream-to-stream segments are not offered. */
	x.b[16 + 32] = 0x03;
	assert_int_equal(xcopy(a, &x, len, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE);
	x.b[16 + 32] = 0x02;
	/* Fibre Channel N_Port_Name CSCDs are not offered. */
	x.b[16] = 0xe0;
	assert_int_equal(xcopy(a, &x, len, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_UNSUPPORTED_TARGET_DESCRIPTOR_TYPE);
	/* A segment past the end of the LU aborts the copy. */
	memset(&x, 0, sizeof(x));
	add_cscd(&x, a);
	add_seg(&x, 0x02, 0, 0, 2, 0, a->nblocks - 1);
	len = finish(&x, 1, 0);
	assert_int_equal(xcopy(a, &x, len, &t), SAM_STAT_CHECK_CONDITION);
	assert_int_equal(task_sense(&t).key, SK_COPY_ABORTED);
	/* A CSCD index with no CSCD aborts it too. */
	memset(&x, 0, sizeof(x));
	add_cscd(&x, a);
	add_seg(&x, 0x02, 0, 1, 1, 0, 1);
	len = finish(&x, 1, 0);
	assert_int_equal(xcopy(a, &x, len, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_COPY_ABORTED, ASC_COPY_TARGET_DEVICE_NOT_REACHABLE);
	/* One CSCD more than RECEIVE COPY RESULTS says. */
	memset(&x, 0, sizeof(x));
	for (int i = 0; i <= XCOPY_MAX_TARGET_DESCS; i++)
		add_cscd(&x, a);
	add_seg(&x, 0x02, 0, 0, 1, 0, 1);
	len = finish(&x, 1, 0);
	assert_int_equal(xcopy(a, &x, len, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_TOO_MANY_TARGET_DESCRIPTORS);
	tgt_lu_close(a);
}

static void test_readonly_destination(void **state)
{
	struct tgt_lu *a = open_ready_lu("ram:1M"), *b = open_lu("ram:1M,ro", 1);
	struct xlist x = {0};
	struct scsi_task t;
	uint32_t len;

	visible_luns[0] = 0;
	visible_luns[1] = 1;
	n_visible = 2;
	add_cscd(&x, a);
	add_cscd(&x, b);
	add_seg(&x, 0x02, 0, 1, 1, 0, 0);
	len = finish(&x, 1, 2);
	assert_int_equal(xcopy(a, &x, len, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	tgt_lu_close(b);
	tgt_lu_close(a);
}

static void test_operating_parameters_and_vpd(void **state)
{
	struct tgt_lu *a = open_ready_lu("ram:1M");
	uint8_t cdb[16] = {RECEIVE_COPY_RESULTS, 0x03}, b[64], inq[6] = {INQUIRY, 1, 0x8f, 0, 255};
	uint8_t page[255];
	struct scsi_task t;

	put_be32(cdb + 10, sizeof(b));
	assert_int_equal(run_xc(a, NEXUS_A, cdb, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(get_be16(b + 8), XCOPY_MAX_TARGET_DESCS);
	assert_int_equal(get_be16(b + 10), XCOPY_MAX_SEG_DESCS);
	/* The descriptor list limit covers exactly the maximum counts. */
	assert_int_equal(get_be32(b + 12), XCOPY_MAX_TARGET_DESCS * 32 + XCOPY_MAX_SEG_DESCS * 28);
	assert_int_equal(b[43], 2);
	assert_int_equal(b[44], 0x02);
	assert_int_equal(b[45], 0xe4);
	/* VPD 0x8F: first descriptor is Supported Commands naming 0x83 and 0x84. */
	assert_int_equal(run_cdb(a, NEXUS_A, inq, 6, NULL, 0, page, sizeof(page), &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(page[1], 0x8f);
	assert_int_equal(get_be16(page + 4), 0x0001);
	assert_int_equal(page[9], EXTENDED_COPY);
	assert_int_equal(page[12], RECEIVE_COPY_RESULTS);
	tgt_lu_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_copy_between_lus),
	        cmocka_unit_test(test_copy_lu_not_visible),
	        cmocka_unit_test(test_registry_forgets_closed_lu),
	        cmocka_unit_test(test_overlapping_copy_within_lu),
	        cmocka_unit_test(test_parameter_list_errors),
	        cmocka_unit_test(test_readonly_destination),
	        cmocka_unit_test(test_operating_parameters_and_vpd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
