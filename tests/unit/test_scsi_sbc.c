/* Block commands through scsi_task_exec() on ram and file stores: target/sbc.c. */
#include <fcntl.h>
#include <unistd.h>

#include <pthread.h>
#include <time.h>

#include "tests/unit/test_scsi_util.h"

static char tmp_path[64];

static struct tgt_lu *open_file_lu(const char *opts)
{
	char spec[256];
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/xiscsi-sbc-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s,size=4M%s", tmp_path, opts);
	return open_ready_lu(spec);
}

static void close_file_lu(struct tgt_lu *lu)
{
	tgt_lu_close(lu);
	unlink(tmp_path);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + seed);
}

static void test_read_capacity(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:8M,bs=4096,thin");
	uint8_t rc10[10] = {READ_CAPACITY_10};
	uint8_t rc16[16] = {SERVICE_ACTION_IN_16, SAI_READ_CAPACITY_16};
	uint8_t b[32];
	struct scsi_task t;

	assert_int_equal(run_cdb(lu, NEXUS_A, rc10, 10, NULL, 0, b, 8, &t), SAM_STAT_GOOD);
	assert_int_equal(get_be32(b), 8 * 256 - 1);
	assert_int_equal(get_be32(b + 4), 4096);
	put_be32(rc16 + 10, sizeof(b));
	assert_int_equal(run_cdb(lu, NEXUS_A, rc16, 16, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_true(get_be64(b) == 8 * 256 - 1);
	assert_int_equal(get_be32(b + 8), 4096);
	assert_int_equal(b[14] & 0xc0, 0xc0); /* LBPME, LBPRZ */
	/* An LBA without PMI is an invalid field (SBC-4 5.18). */
	rc10[5] = 1;
	assert_int_equal(run_cdb(lu, NEXUS_A, rc10, 10, NULL, 0, b, 8, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	tgt_lu_close(lu);
}

static void roundtrip(struct tgt_lu *lu)
{
	uint32_t bs = lu->block_size;
	uint8_t *w = malloc(8 * bs), *r = malloc(8 * bs);
	struct scsi_task t;

	fill(w, 8 * bs, 3);
	assert_int_equal(do_rw16(lu, WRITE_16, 5, 8, 0, w, 8 * bs, &t), SAM_STAT_GOOD);
	assert_int_equal(t.resid_flags, 0);
	memset(r, 0xee, 8 * bs);
	assert_int_equal(do_rw16(lu, READ_16, 5, 8, 0, r, 8 * bs, &t), SAM_STAT_GOOD);
	assert_int_equal(t.data_in_xfer, 8 * bs);
	assert_memory_equal(w, r, 8 * bs);
	/* Untouched blocks read as zeros. */
	assert_int_equal(do_rw16(lu, READ_16, 100, 1, 0, r, bs, &t), SAM_STAT_GOOD);
	for (uint32_t i = 0; i < bs; i++)
		assert_int_equal(r[i], 0);
	free(w);
	free(r);
}

static void test_roundtrip_ram(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:4M");

	roundtrip(lu);
	tgt_lu_close(lu);
}

static void test_roundtrip_ram_4k(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:4M,bs=4096");

	roundtrip(lu);
	tgt_lu_close(lu);
}

static void test_roundtrip_file_fua(void **state)
{
	struct tgt_lu *lu = open_file_lu("");
	uint8_t w[512], r[512];
	struct scsi_task t;
	int fd;

	roundtrip(lu);
	fill(w, sizeof(w), 9);
	assert_int_equal(do_rw16(lu, WRITE_16, 1, 1, CDB_RW_FUA, w, sizeof(w), &t), SAM_STAT_GOOD);
	/* The bytes are in the file itself. */
	fd = open(tmp_path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, r, sizeof(r), 512), sizeof(r));
	close(fd);
	assert_memory_equal(w, r, sizeof(r));
	close_file_lu(lu);
}

static void test_lba_out_of_range(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t b[1024];
	struct scsi_task t;

	/* 2048 blocks: the last is 2047. */
	assert_int_equal(do_rw16(lu, READ_16, 2047, 2, 0, b, sizeof(b), &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	assert_int_equal(t.data_in_xfer, 0);
	assert_int_equal(do_rw16(lu, WRITE_16, UINT64_MAX, 1, 0, b, 512, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* Zero blocks at the end of the LU is no error. */
	assert_int_equal(do_rw16(lu, READ_16, 2048, 0, 0, b, 0, &t), SAM_STAT_GOOD);
	tgt_lu_close(lu);
}

static void test_read6_zero_means_256(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t cdb[6] = {READ_6, 0, 0, 0, 0, 0};
	static uint8_t b[256 * 512];
	struct scsi_task t;

	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 6, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(t.data_in_xfer, 256 * 512);
	assert_int_equal(t.resid_flags, 0);
	tgt_lu_close(lu);
}

static void test_read_residuals(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t b[4096];
	struct scsi_task t;

	/* EDTL below the transfer: cut at EDTL, overflow residual. */
	assert_int_equal(do_rw16(lu, READ_16, 0, 2, 0, b, 200, &t), SAM_STAT_GOOD);
	assert_int_equal(t.data_in_xfer, 200);
	assert_int_equal(t.resid_flags, SCSI_RESID_OVERFLOW);
	assert_int_equal(t.resid, 1024 - 200);
	/* EDTL above: underflow. */
	assert_int_equal(do_rw16(lu, READ_16, 0, 1, 0, b, 4096, &t), SAM_STAT_GOOD);
	assert_int_equal(t.data_in_xfer, 512);
	assert_int_equal(t.resid_flags, SCSI_RESID_UNDERFLOW);
	assert_int_equal(t.resid, 4096 - 512);
	tgt_lu_close(lu);
}

static void test_write_residuals(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t w[2048], r[2048];
	uint8_t caw_cdb[16] = {COMPARE_AND_WRITE};
	struct scsi_task t;

	memset(w, 'b', sizeof(w));
	/* More wanted than sent: what came is written, overflow residual (FCP-4 a). */
	assert_int_equal(do_rw16(lu, WRITE_16, 0, 2, 0, w, 200, &t), SAM_STAT_GOOD);
	assert_int_equal(t.resid_flags, SCSI_RESID_OVERFLOW);
	assert_int_equal(t.resid, 1024 - 200);
	assert_int_equal(do_rw16(lu, READ_16, 0, 2, 0, r, 1024, &t), SAM_STAT_GOOD);
	assert_int_equal(r[199], 'b');
	assert_int_equal(r[200], 0);
	/* More sent than wanted: only the CDB's blocks, underflow residual. */
	assert_int_equal(do_rw16(lu, WRITE_16, 2, 1, 0, w, sizeof(w), &t), SAM_STAT_GOOD);
	assert_int_equal(t.resid_flags, SCSI_RESID_UNDERFLOW);
	assert_int_equal(t.resid, sizeof(w) - 512);
	assert_int_equal(do_rw16(lu, READ_16, 2, 2, 0, r, 1024, &t), SAM_STAT_GOOD);
	assert_int_equal(r[511], 'b');
	assert_int_equal(r[512], 0);
	/* Anything but a plain write is refused whole when data is short (FCP-4 b). */
	put_be64(caw_cdb + 2, 8);
	caw_cdb[13] = 1;
	assert_int_equal(run_cdb(lu, NEXUS_A, caw_cdb, 16, w, 512, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_INFORMATION_UNIT);
	assert_int_equal(t.resid_flags, SCSI_RESID_OVERFLOW);
	assert_int_equal(t.resid, 512);
	/* ... and a fixed-size buffer that is too big is a CDB error. */
	assert_int_equal(run_cdb(lu, NEXUS_A, caw_cdb, 16, w, 2048, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	tgt_lu_close(lu);
}

/* WRITE AND VERIFY follows WRITE when the EDTL and the CDB disagree (RFC 7143
 * 11.4.5.1, libiscsi's iSCSIResiduals): GOOD, the smaller length written and
 * verified, the difference as residual. */
static void test_write_verify_residuals(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t w[2048], r[2048];
	struct scsi_task t;

	memset(w, 'b', sizeof(w));
	/* Two blocks asked, one sent (BYTCHK 1): one written, overflow. */
	assert_int_equal(do_rw16(lu, WRITE_AND_VERIFY_16, 0, 2, 0x02, w, 512, &t), SAM_STAT_GOOD);
	assert_int_equal(t.resid_flags, SCSI_RESID_OVERFLOW);
	assert_int_equal(t.resid, 512);
	assert_int_equal(do_rw16(lu, READ_16, 0, 2, 0, r, 1024, &t), SAM_STAT_GOOD);
	assert_int_equal(r[511], 'b');
	assert_int_equal(r[512], 0);
	/* One block asked, four sent: only the CDB's block, underflow. */
	assert_int_equal(do_rw16(lu, WRITE_AND_VERIFY_16, 4, 1, 0, w, sizeof(w), &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(t.resid_flags, SCSI_RESID_UNDERFLOW);
	assert_int_equal(t.resid, sizeof(w) - 512);
	assert_int_equal(do_rw16(lu, READ_16, 4, 2, 0, r, 1024, &t), SAM_STAT_GOOD);
	assert_int_equal(r[511], 'b');
	assert_int_equal(r[512], 0);
	/* Nothing sent: nothing written, the whole transfer is the overflow. */
	assert_int_equal(do_rw16(lu, WRITE_AND_VERIFY_16, 8, 1, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(t.resid_flags, SCSI_RESID_OVERFLOW);
	assert_int_equal(t.resid, 512);
	tgt_lu_close(lu);
}

static void test_protect_bits_refused(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t b[512];
	struct scsi_task t;
	struct sense_info si;

	assert_int_equal(do_rw16(lu, READ_16, 0, 1, 0x20, b, sizeof(b), &t),
	                 SAM_STAT_CHECK_CONDITION);
	si = task_sense(&t);
	assert_int_equal(si.asc, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(si.sks[0], SKS_VALID | SKS_CD | SKS_BPV | 7);
	assert_int_equal(get_be16(si.sks + 1), 1);
	tgt_lu_close(lu);
}

static void test_readonly_rejects_writes(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M,ro");
	uint8_t b[512] = {0};
	struct scsi_task t;

	assert_int_equal(do_rw16(lu, WRITE_16, 0, 1, 0, b, sizeof(b), &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	assert_int_equal(do_rw16(lu, READ_16, 0, 1, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	tgt_lu_close(lu);
}

/* On a write-protected LU the CDB's own errors come first (libiscsi's
 * Write*.BeyondEol, WriteProtect, ZeroBlocks on a read-only LUN); only a
 * valid write that would change blocks gets DATA PROTECT. */
static void test_readonly_cdb_checked_first(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M,ro");
	uint8_t b[1024] = {0};
	struct scsi_task t;

	assert_int_equal(do_rw16(lu, WRITE_16, 2048, 1, 0, b, 512, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* WRPROTECT set: no protection information on this LU. */
	assert_int_equal(do_rw16(lu, WRITE_AND_VERIFY_16, 0, 1, 0x20, b, 512, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(do_rw16(lu, WRITE_16, 0, 0, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(do_rw16(lu, WRITE_AND_VERIFY_16, 0, 2, 0, b, 1024, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	tgt_lu_close(lu);
}

static uint8_t unmap(struct tgt_lu *lu, uint64_t lba, uint32_t n, struct scsi_task *t)
{
	uint8_t cdb[10] = {UNMAP};
	uint8_t p[24] = {0};

	put_be16(p, 22);
	put_be16(p + 2, 16);
	put_be64(p + 8, lba);
	put_be32(p + 16, n);
	put_be16(cdb + 7, sizeof(p));
	return run_cdb(lu, NEXUS_A, cdb, 10, p, sizeof(p), NULL, 0, t);
}

static uint8_t lba_status(struct tgt_lu *lu, uint64_t lba, uint8_t *b, uint32_t alloc,
                          struct scsi_task *t)
{
	uint8_t cdb[16] = {SERVICE_ACTION_IN_16, SAI_GET_LBA_STATUS};

	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, alloc);
	return run_cdb(lu, NEXUS_A, cdb, 16, NULL, 0, b, alloc, t);
}

static void unmap_then_status(struct tgt_lu *lu)
{
	uint32_t per_mb = (1u << 20) / lu->block_size;
	uint8_t *w = malloc(1u << 20);
	uint8_t b[8 + 16 * 4], r[512];
	struct scsi_task t;

	fill(w, 1u << 20, 1);
	assert_int_equal(do_rw16(lu, WRITE_16, 0, per_mb, 0, w, 1u << 20, &t), SAM_STAT_GOOD);
	assert_int_equal(lba_status(lu, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_true(get_be64(b + 8) == 0);
	assert_int_equal(b[8 + 12], 0); /* mapped */
	assert_true(get_be32(b + 16) >= per_mb);
	/* Deallocate the second half of the written MiB. */
	assert_int_equal(unmap(lu, per_mb / 2, per_mb / 2, &t), SAM_STAT_GOOD);
	assert_int_equal(lba_status(lu, per_mb / 2, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_true(get_be64(b + 8) == per_mb / 2);
	assert_int_equal(b[8 + 12], 1); /* deallocated */
	assert_true(get_be32(b + 16) >= per_mb / 2);
	/* LBPRZ: it reads as zeros. */
	assert_int_equal(do_rw16(lu, READ_16, per_mb / 2, 1, 0, r, 512, &t), SAM_STAT_GOOD);
	for (int i = 0; i < 512; i++)
		assert_int_equal(r[i], 0);
	free(w);
}

static void test_unmap_status_ram(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:4M,thin");

	unmap_then_status(lu);
	tgt_lu_close(lu);
}

static void test_unmap_status_file(void **state)
{
	struct tgt_lu *lu = open_file_lu(",thin");

	unmap_then_status(lu);
	close_file_lu(lu);
}

static void test_unmap_limits(void **state)
{
	struct tgt_lu *thick = open_ready_lu("ram:4M");
	struct tgt_lu *lu = open_ready_lu("ram:4M,thin");
	uint8_t cdb[10] = {UNMAP};
	uint8_t *p = calloc(1, 8 + 16 * (SBC_MAX_UNMAP_DESCS + 1));
	uint16_t plen = 8 + 16 * (SBC_MAX_UNMAP_DESCS + 1);
	struct scsi_task t;

	assert_int_equal(unmap(thick, 0, 1, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	assert_int_equal(unmap(lu, 8191, 2, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* One descriptor more than VPD 0xB0 allows. */
	put_be16(p + 2, 16 * (SBC_MAX_UNMAP_DESCS + 1));
	put_be16(cdb + 7, plen);
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 10, p, plen, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	free(p);
	tgt_lu_close(thick);
	tgt_lu_close(lu);
}

static uint8_t caw(struct tgt_lu *lu, uint64_t lba, const uint8_t *cmp, const uint8_t *wr,
                   struct scsi_task *t)
{
	uint8_t cdb[16] = {COMPARE_AND_WRITE};
	uint8_t buf[1024];

	memcpy(buf, cmp, 512);
	memcpy(buf + 512, wr, 512);
	put_be64(cdb + 2, lba);
	cdb[13] = 1;
	return run_cdb(lu, NEXUS_A, cdb, 16, buf, sizeof(buf), NULL, 0, t);
}

static void test_compare_and_write(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t a[512], b[512], c[512], r[512];
	struct scsi_task t;
	struct sense_info si;

	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	assert_int_equal(do_rw16(lu, WRITE_16, 10, 1, 0, a, sizeof(a), &t), SAM_STAT_GOOD);
	assert_int_equal(caw(lu, 10, a, b, &t), SAM_STAT_GOOD);
	assert_int_equal(do_rw16(lu, READ_16, 10, 1, 0, r, sizeof(r), &t), SAM_STAT_GOOD);
	assert_memory_equal(r, b, sizeof(r));
	/* The medium now holds b: comparing with a differs at byte 0 ... */
	memcpy(c, b, sizeof(c));
	c[300] ^= 0xff;
	assert_int_equal(caw(lu, 10, c, a, &t), SAM_STAT_CHECK_CONDITION);
	si = task_sense(&t);
	assert_int_equal(si.key, SK_MISCOMPARE);
	assert_int_equal(si.asc, ASC_MISCOMPARE_DURING_VERIFY);
	assert_true(si.info_valid);
	assert_true(si.info == 300);
	/* ... and nothing was written. */
	assert_int_equal(do_rw16(lu, READ_16, 10, 1, 0, r, sizeof(r), &t), SAM_STAT_GOOD);
	assert_memory_equal(r, b, sizeof(r));
	tgt_lu_close(lu);
}

static uint8_t write_atomic(struct tgt_lu *lu, uint64_t lba, uint16_t n, uint16_t boundary,
                            const void *buf, uint32_t len, struct scsi_task *t)
{
	uint8_t cdb[16] = {WRITE_ATOMIC_16};

	put_be64(cdb + 2, lba);
	put_be16(cdb + 10, boundary);
	put_be16(cdb + 12, n);
	return run_cdb(lu, NEXUS_A, cdb, 16, buf, len, NULL, 0, t);
}

struct atomic_arg {
	struct tgt_lu *lu;
	const uint8_t *buf;
	uint8_t status;
};

static void *atomic_thread(void *p)
{
	struct atomic_arg *a = p;
	uint8_t cdb[16] = {WRITE_ATOMIC_16};
	struct scsi_task t;

	put_be64(cdb + 2, 40);
	put_be16(cdb + 12, 2);
	memset(&t, 0, sizeof(t));
	t.nexus = NEXUS_A;
	t.cdb = cdb;
	t.cdb_len = 16;
	t.data_out = a->buf;
	t.data_out_len = 1024;
	scsi_task_exec(a->lu, &t);
	a->status = t.status;
	return NULL;
}

static void test_write_atomic(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M"), *ro = open_ready_lu("ram:1M,ro");
	size_t big = (size_t)(SBC_MAX_ATOMIC_BLOCKS + 1) * 512;
	uint8_t *a = malloc(big), r[1024], zero[1024] = {0};
	struct atomic_arg arg = {lu, NULL, 0xff};
	struct timespec ms20 = {0, 20000000};
	struct scsi_task t;
	pthread_t th;

	assert_non_null(a);
	fill(a, big, 7);
	assert_int_equal(write_atomic(lu, 20, 2, 0, a, 1024, &t), SAM_STAT_GOOD);
	assert_int_equal(do_rw16(lu, READ_16, 20, 2, 0, r, sizeof(r), &t), SAM_STAT_GOOD);
	assert_memory_equal(r, a, sizeof(r));
	/* Above MAXIMUM ATOMIC TRANSFER LENGTH, and a boundary (none offered). */
	assert_int_equal(write_atomic(lu, 0, SBC_MAX_ATOMIC_BLOCKS + 1, 0, a, (uint32_t)big, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(write_atomic(lu, 0, 2, 1, a, 1024, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(write_atomic(lu, lu->nblocks - 1, 2, 0, a, 1024, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* Write protection stops a real write, not one of zero blocks. */
	assert_int_equal(write_atomic(ro, 0, 2, 0, a, 1024, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	assert_int_equal(write_atomic(ro, 0, 0, 0, NULL, 0, &t), SAM_STAT_GOOD);
	/* It serialises with COMPARE AND WRITE: nothing lands while that
	 * lock is held, all of it once released. */
	arg.buf = a + 1024;
	pthread_mutex_lock(&lu->caw_lock);
	assert_int_equal(pthread_create(&th, NULL, atomic_thread, &arg), 0);
	nanosleep(&ms20, NULL);
	assert_int_equal(bs_read(&lu->bs, r, sizeof(r), 40 * 512), 0);
	assert_memory_equal(r, zero, sizeof(r));
	pthread_mutex_unlock(&lu->caw_lock);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(arg.status, SAM_STAT_GOOD);
	assert_int_equal(bs_read(&lu->bs, r, sizeof(r), 40 * 512), 0);
	assert_memory_equal(r, a + 1024, sizeof(r));
	free(a);
	tgt_lu_close(ro);
	tgt_lu_close(lu);
}

static void test_verify_bytchk(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t cdb[10] = {VERIFY_10, 0x02};
	uint8_t a[1024];
	struct scsi_task t;
	struct sense_info si;

	fill(a, sizeof(a), 5);
	assert_int_equal(do_rw16(lu, WRITE_16, 4, 2, 0, a, sizeof(a), &t), SAM_STAT_GOOD);
	put_be32(cdb + 2, 4);
	put_be16(cdb + 7, 2);
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 10, a, sizeof(a), NULL, 0, &t), SAM_STAT_GOOD);
	a[700] ^= 1;
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 10, a, sizeof(a), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	si = task_sense(&t);
	assert_int_equal(si.key, SK_MISCOMPARE);
	assert_true(si.info == 700);
	/* BYTCHK 0 transfers nothing and checks the range only. */
	cdb[1] = 0;
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 10, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	tgt_lu_close(lu);
}

static void test_write_same(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:4M,thin");
	uint8_t cdb[16] = {WRITE_SAME_16};
	uint8_t blk[512], r[512 * 4];
	uint8_t b[8 + 16];
	struct scsi_task t;

	fill(blk, sizeof(blk), 4);
	put_be64(cdb + 2, 20);
	put_be32(cdb + 10, 4);
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 16, blk, sizeof(blk), NULL, 0, &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(do_rw16(lu, READ_16, 20, 4, 0, r, sizeof(r), &t), SAM_STAT_GOOD);
	for (int i = 0; i < 4; i++)
		assert_memory_equal(r + 512 * i, blk, 512);
	/* Zero blocks (WSNZ clear) writes through the last LBA. */
	put_be32(cdb + 10, 0);
	put_be64(cdb + 2, lu->nblocks - 4);
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 16, blk, sizeof(blk), NULL, 0, &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(do_rw16(lu, READ_16, lu->nblocks - 4, 4, 0, r, sizeof(r), &t),
	                 SAM_STAT_GOOD);
	for (int i = 0; i < 4; i++)
		assert_memory_equal(r + 512 * i, blk, 512);
	/* UNMAP deallocates whatever the data-out block holds: LBPRZ zeros. */
	cdb[1] = 0x08;
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 16, blk, sizeof(blk), NULL, 0, &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(do_rw16(lu, READ_16, lu->nblocks - 4, 4, 0, r, sizeof(r), &t),
	                 SAM_STAT_GOOD);
	for (size_t i = 0; i < sizeof(r); i++)
		assert_int_equal(r[i], 0);
	cdb[1] = 0;
	/* At the capacity it writes nothing; past it, LBA OUT OF RANGE. */
	put_be64(cdb + 2, lu->nblocks);
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 16, blk, sizeof(blk), NULL, 0, &t),
	                 SAM_STAT_GOOD);
	put_be64(cdb + 2, lu->nblocks + 1);
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 16, blk, sizeof(blk), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	put_be64(cdb + 2, 20);
	/* On a fully provisioned LU the UNMAP bit is an invalid field. */
	{
		struct tgt_lu *thick = open_ready_lu("ram:1M");
		uint8_t c2[16] = {WRITE_SAME_16, 0x08};

		put_be32(c2 + 10, 1);
		assert_int_equal(run_cdb(thick, NEXUS_A, c2, 16, blk, sizeof(blk), NULL, 0, &t),
		                 SAM_STAT_CHECK_CONDITION);
		assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
		tgt_lu_close(thick);
	}
	/* UNMAP + NDOB over a whole granule deallocates it. */
	assert_int_equal(do_rw16(lu, WRITE_16, 0, 1, 0, blk, sizeof(blk), &t), SAM_STAT_GOOD);
	cdb[1] = 0x08 | 0x01;
	put_be64(cdb + 2, 0);
	put_be32(cdb + 10, 256);
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 16, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(lba_status(lu, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(b[8 + 12], 1);
	assert_int_equal(do_rw16(lu, READ_16, 0, 1, 0, r, 512, &t), SAM_STAT_GOOD);
	assert_int_equal(r[0], 0);
	tgt_lu_close(lu);
}

static void test_sync_cache(void **state)
{
	struct tgt_lu *lu = open_file_lu("");
	uint8_t cdb[10] = {SYNCHRONIZE_CACHE_10};
	struct scsi_task t;

	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 10, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	put_be32(cdb + 2, 8192);
	put_be16(cdb + 7, 1);
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 10, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	close_file_lu(lu);
}

static void test_removable_eject_load(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M,removable");
	uint8_t ssu[6] = {START_STOP_UNIT, 0, 0, 0, 0x02};
	uint8_t pamr[6] = {PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1};
	uint8_t tur[6] = {TEST_UNIT_READY};
	uint8_t b[512];
	struct scsi_task t;

	tgt_lu_ua_take(lu, NEXUS_B, true);
	/* Prevented: the eject is refused. */
	assert_int_equal(run_cdb(lu, NEXUS_A, pamr, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_A, ssu, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
	pamr[4] = 0;
	assert_int_equal(run_cdb(lu, NEXUS_A, pamr, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_A, ssu, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_A, tur, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	assert_int_equal(do_rw16(lu, READ_16, 0, 1, 0, b, sizeof(b), &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	/* Load: ready again here; the other nexus hears of the change. */
	ssu[4] = 0x03;
	assert_int_equal(run_cdb(lu, NEXUS_A, ssu, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_A, tur, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_B, tur, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_UNIT_ATTENTION, ASC_NOT_READY_TO_READY_CHANGE);
	tgt_lu_close(lu);
}

static void test_eject_fixed_lu_refused(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t ssu[6] = {START_STOP_UNIT, 0, 0, 0, 0x02};
	struct scsi_task t;

	assert_int_equal(run_cdb(lu, NEXUS_A, ssu, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	tgt_lu_close(lu);
}

static void test_wce_off_still_writes(void **state)
{
	/* With WCE cleared every write goes durable (FUA path); data still lands. */
	struct tgt_lu *lu = open_file_lu("");
	uint8_t w[512], r[512];
	struct scsi_task t;

	atomic_store(&lu->wce, false);
	fill(w, sizeof(w), 11);
	assert_int_equal(do_rw16(lu, WRITE_16, 2, 1, 0, w, sizeof(w), &t), SAM_STAT_GOOD);
	assert_int_equal(do_rw16(lu, READ_16, 2, 1, 0, r, sizeof(r), &t), SAM_STAT_GOOD);
	assert_memory_equal(w, r, sizeof(r));
	close_file_lu(lu);
}

static void test_orwrite(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t a[512], b[512], r[512];
	struct scsi_task t;

	memset(a, 0x0f, sizeof(a));
	memset(b, 0xa0, sizeof(b));
	assert_int_equal(do_rw16(lu, WRITE_16, 3, 1, 0, a, sizeof(a), &t), SAM_STAT_GOOD);
	assert_int_equal(do_rw16(lu, ORWRITE_16, 3, 1, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(do_rw16(lu, READ_16, 3, 1, 0, r, sizeof(r), &t), SAM_STAT_GOOD);
	for (int i = 0; i < 512; i++)
		assert_int_equal(r[i], 0xaf);
	tgt_lu_close(lu);
}

static void test_read_defect_data_empty(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t cdb[10] = {READ_DEFECT_DATA_10, 0, 0x18 | 0x05, 0, 0, 0, 0, 0, 16};
	uint8_t b[16];
	struct scsi_task t;

	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 10, NULL, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(t.data_in_xfer, 4);
	assert_int_equal(b[1], 0x18 | 0x05);
	assert_int_equal(get_be16(b + 2), 0);
	tgt_lu_close(lu);
}

/* Completion from another thread: the sanitize thread finishes the task. */
static pthread_mutex_t async_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t async_cv = PTHREAD_COND_INITIALIZER;
static int async_done;

static void async_task_done(struct scsi_task *t)
{
	pthread_mutex_lock(&async_mu);
	async_done++;
	pthread_cond_signal(&async_cv);
	pthread_mutex_unlock(&async_mu);
}

/* Run cdb and wait (at most 30 s) for done(), wherever it runs. */
static uint8_t run_cdb_wait(struct tgt_lu *lu, const uint8_t *cdb, unsigned cdb_len,
                            const void *out, uint32_t out_len, struct scsi_task *t)
{
	static uint8_t cdb16[16];
	struct timespec until;

	memset(cdb16, 0, sizeof(cdb16));
	memcpy(cdb16, cdb, cdb_len);
	memset(t, 0, sizeof(*t));
	t->port = &test_port;
	t->nexus = NEXUS_A;
	t->cdb = cdb16;
	t->cdb_len = 16;
	t->data_out = out;
	t->data_out_len = out_len;
	t->done = async_task_done;
	async_done = 0;
	scsi_task_exec(lu, t);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&async_mu);
	while (async_done == 0)
		if (pthread_cond_timedwait(&async_cv, &async_mu, &until) != 0)
			break;
	pthread_mutex_unlock(&async_mu);
	assert_int_equal(async_done, 1);
	return t->status;
}

static void test_sanitize_overwrite(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t cdb[10] = {SANITIZE, SANITIZE_OVERWRITE};
	uint8_t p[4 + 2] = {0x01, 0, 0, 2, 0x12, 0x34};
	uint8_t r[512];
	struct scsi_task t;

	put_be16(cdb + 7, sizeof(p));
	/* Without IMMED, status comes when the medium is overwritten. */
	assert_int_equal(run_cdb_wait(lu, cdb, 10, p, sizeof(p), &t), SAM_STAT_GOOD);
	assert_int_equal(do_rw16(lu, READ_16, 2047, 1, 0, r, sizeof(r), &t), SAM_STAT_GOOD);
	assert_int_equal(r[0], 0x12);
	assert_int_equal(r[511], 0x34);
	/* A pattern length that disagrees with the list is refused. */
	p[3] = 3;
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 10, p, sizeof(p), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	tgt_lu_close(lu);
}

static void test_sanitize_in_progress(void **state)
{
	/* 4 MiB at SBC_SANITIZE_RATE (8 MiB/s) takes about half a second. */
	struct tgt_lu *lu = open_ready_lu("ram:4M");
	uint8_t cdb[10] = {SANITIZE, 0x80 | SANITIZE_OVERWRITE};
	uint8_t p[4 + 1] = {0x01, 0, 0, 1, 0x77};
	uint8_t tur[6] = {TEST_UNIT_READY}, inq[6] = {INQUIRY, 0, 0, 0, 36};
	uint8_t rs[6] = {REQUEST_SENSE, 0, 0, 0, 32}, b[64], r[512];
	struct timespec ms50 = {0, 50000000};
	struct sense_info si;
	struct scsi_task t;
	int i;

	put_be16(cdb + 7, sizeof(p));
	/* IMMED: GOOD at once, the overwrite goes on. */
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 10, p, sizeof(p), NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_A, tur, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	si = task_sense(&t);
	assert_int_equal(si.key, SK_NOT_READY);
	assert_int_equal(si.asc, ASC_LU_NOT_READY_SANITIZE_IN_PROGRESS);
	assert_true(si.sks_valid);
	/* INQUIRY is served; REQUEST SENSE reports the sanitize. */
	assert_int_equal(run_cdb(lu, NEXUS_A, inq, 6, NULL, 0, b, 36, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_A, rs, 6, NULL, 0, b, 32, &t), SAM_STAT_GOOD);
	assert_int_equal(sense_parse(b, t.data_in_xfer, &si), 0);
	assert_int_equal(si.asc, ASC_LU_NOT_READY_SANITIZE_IN_PROGRESS);
	/* A LOGICAL UNIT RESET does not stop it (SBC-4 4.11.2). */
	tgt_lu_reset(lu, TGT_UA_LU_RESET);
	tgt_lu_ua_take(lu, NEXUS_A, true);
	assert_true(atomic_load(&lu->sanitizing));
	for (i = 0; i < 200 && atomic_load(&lu->sanitizing); i++)
		nanosleep(&ms50, NULL);
	assert_false(atomic_load(&lu->sanitizing));
	assert_int_equal(do_rw16(lu, READ_16, 8191, 1, 0, r, sizeof(r), &t), SAM_STAT_GOOD);
	assert_int_equal(r[0], 0x77);
	assert_int_equal(r[511], 0x77);
	tgt_lu_close(lu);
}

static void test_abort_ends_sanitize_command_not_sanitize(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:64M");
	uint8_t cdb[16] = {SANITIZE, SANITIZE_OVERWRITE};
	uint8_t p[4 + 1] = {0x01, 0, 0, 1, 0x77};
	struct timespec until;
	struct scsi_task t;

	put_be16(cdb + 7, sizeof(p));
	memset(&t, 0, sizeof(t));
	t.port = &test_port;
	t.nexus = NEXUS_A;
	t.cdb = cdb;
	t.cdb_len = 16;
	t.data_out = p;
	t.data_out_len = sizeof(p);
	t.done = async_task_done;
	async_done = 0;
	scsi_task_exec(lu, &t);
	/* Without IMMED the command waits for the 8 s overwrite ... */
	assert_int_equal(async_done, 0);
	/* ... until the daemon aborts it: done() comes soon, the sanitize goes on. */
	scsi_task_abort(&t);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 3;
	pthread_mutex_lock(&async_mu);
	while (async_done == 0)
		if (pthread_cond_timedwait(&async_cv, &async_mu, &until) != 0)
			break;
	pthread_mutex_unlock(&async_mu);
	assert_int_equal(async_done, 1);
	assert_int_equal(t.status, SAM_STAT_TASK_ABORTED);
	assert_true(atomic_load(&lu->sanitizing));
	tgt_lu_close(lu);
	assert_int_equal(async_done, 1);
}

static void test_sanitize_failure_mode(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t efm[10] = {SANITIZE, SANITIZE_EXIT_FAILURE_MODE}, p[8] = {0}, r[512];
	struct scsi_task t;

	/* As a failed sanitize leaves it: the medium is refused ... */
	atomic_store(&lu->sanitize_failed, true);
	assert_int_equal(do_rw16(lu, READ_16, 0, 1, 0, r, sizeof(r), &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_MEDIUM_ERROR, SCSI_ASC_SANITIZE_COMMAND_FAILED);
	/* ... EXIT FAILURE MODE takes no parameter list ... */
	put_be16(efm + 7, sizeof(p));
	assert_int_equal(run_cdb(lu, NEXUS_A, efm, 10, p, sizeof(p), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* ... and gives the medium back. */
	put_be16(efm + 7, 0);
	assert_int_equal(run_cdb(lu, NEXUS_A, efm, 10, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(do_rw16(lu, READ_16, 0, 1, 0, r, sizeof(r), &t), SAM_STAT_GOOD);
	tgt_lu_close(lu);
}

static void test_close_stops_sanitize(void **state)
{
	/* 64 MiB would take 8 s; closing the LU must not wait for it. */
	struct tgt_lu *lu = open_ready_lu("ram:64M");
	uint8_t cdb[10] = {SANITIZE, 0x80 | SANITIZE_OVERWRITE};
	uint8_t p[4 + 1] = {0x01, 0, 0, 1, 0x77};
	struct timespec a, b;
	struct scsi_task t;

	put_be16(cdb + 7, sizeof(p));
	assert_int_equal(run_cdb(lu, NEXUS_A, cdb, 10, p, sizeof(p), NULL, 0, &t), SAM_STAT_GOOD);
	clock_gettime(CLOCK_MONOTONIC, &a);
	tgt_lu_close(lu);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 5);
}

static void test_prevent_ends_with_nexus(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M,removable");
	uint8_t ssu[6] = {START_STOP_UNIT, 0, 0, 0, 0x02};
	uint8_t pamr[6] = {PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1};
	struct scsi_task t;

	tgt_lu_ua_take(lu, NEXUS_B, true);
	assert_int_equal(run_cdb(lu, NEXUS_A, pamr, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_B, ssu, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
	/* SBC-4 5.13: the prevention belongs to A's I_T nexus and ends with it. */
	tgt_lu_nexus_gone(lu, NEXUS_A);
	assert_int_equal(run_cdb(lu, NEXUS_B, ssu, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	tgt_lu_close(lu);
}

static void test_block_erase_thin_only(void **state)
{
	struct tgt_lu *thick = open_ready_lu("ram:1M");
	struct tgt_lu *thin = open_ready_lu("ram:1M,thin");
	uint8_t cdb[10] = {SANITIZE, SANITIZE_BLOCK_ERASE};
	uint8_t w[512], b[24];
	struct scsi_task t;

	assert_int_equal(run_cdb(thick, NEXUS_A, cdb, 10, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	memset(w, 0x5a, sizeof(w));
	assert_int_equal(do_rw16(thin, WRITE_16, 0, 1, 0, w, sizeof(w), &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb_wait(thin, cdb, 10, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(lba_status(thin, 0, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(b[8 + 12], 1);
	tgt_lu_close(thick);
	tgt_lu_close(thin);
}

/*
 * A write-protected LU checks a WRITE SAME's protection field and range
 * before DATA PROTECT, and DATA PROTECT before the UNMAP bit and the
 * data-out length; a command the profile does not offer (UNMAP off thin)
 * is an unsupported opcode before write protection.
 */
static void test_write_protect_order(void **state)
{
	struct tgt_lu *ro = open_ready_lu("ram:1M,ro");
	struct tgt_lu *ro_thin = open_ready_lu("ram:1M,ro,thin");
	uint8_t ws[16] = {WRITE_SAME_16};
	uint8_t unmap[10] = {UNMAP};
	uint8_t blk[512] = {0}, list[24] = {0};
	struct scsi_task t;

	put_be32(ws + 10, 1);
	/* Valid: DATA PROTECT. */
	assert_int_equal(run_cdb(ro, NEXUS_A, ws, 16, blk, sizeof(blk), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	/* Past the end: LBA OUT OF RANGE. */
	put_be64(ws + 2, 2048);
	assert_int_equal(run_cdb(ro, NEXUS_A, ws, 16, blk, sizeof(blk), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	put_be64(ws + 2, 0);
	/* WRPROTECT without protection information: INVALID FIELD IN CDB. */
	ws[1] = 0x20;
	assert_int_equal(run_cdb(ro, NEXUS_A, ws, 16, blk, sizeof(blk), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* UNMAP with no data-out, thin or not: DATA PROTECT comes first. */
	ws[1] = 0x08;
	assert_int_equal(run_cdb(ro, NEXUS_A, ws, 16, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	assert_int_equal(run_cdb(ro_thin, NEXUS_A, ws, 16, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	/* UNMAP off thin: not offered, whatever the write protection. */
	put_be16(unmap + 7, sizeof(list));
	put_be16(list, 22);
	put_be16(list + 2, 16);
	put_be32(list + 8 + 8, 1);
	assert_int_equal(run_cdb(ro, NEXUS_A, unmap, 10, list, sizeof(list), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	assert_int_equal(run_cdb(ro_thin, NEXUS_A, unmap, 10, list, sizeof(list), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	tgt_lu_close(ro);
	tgt_lu_close(ro_thin);
}

/* pbs=: LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT in READ CAPACITY(16),
 * and the optimal transfer length granularity in VPD 0xB0 follows it. */
static void test_physical_block(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M,thin,pbs=8K");
	struct tgt_lu *plain = open_ready_lu("ram:1M");
	uint8_t rc16[16] = {SERVICE_ACTION_IN_16, SAI_READ_CAPACITY_16};
	uint8_t inq[6] = {INQUIRY, 0x01, 0xb0, 0, 64};
	uint8_t b[64];
	struct scsi_task t;
	struct tgt_lu_spec spec;
	char err[128];

	put_be32(rc16 + 10, 32);
	assert_int_equal(run_cdb(lu, NEXUS_A, rc16, 16, NULL, 0, b, 32, &t), SAM_STAT_GOOD);
	assert_int_equal(b[13] & 0x0f, 4); /* 16 logical blocks per physical */
	assert_int_equal(get_be16(b + 14) & 0x3fff, 0);
	assert_int_equal(run_cdb(lu, NEXUS_A, inq, 6, NULL, 0, b, 64, &t), SAM_STAT_GOOD);
	assert_int_equal(get_be16(b + 6), 16);
	assert_int_equal(run_cdb(plain, NEXUS_A, rc16, 16, NULL, 0, b, 32, &t), SAM_STAT_GOOD);
	assert_int_equal(b[13] & 0x0f, 0);
	/* Smaller than the logical block, or no power of two: refused. */
	assert_int_not_equal(tgt_lu_spec_parse("ram:1M,bs=4096,pbs=512", &spec, err, sizeof(err)),
	                     0);
	assert_int_not_equal(tgt_lu_spec_parse("ram:1M,pbs=3000", &spec, err, sizeof(err)), 0);
	tgt_lu_close(lu);
	tgt_lu_close(plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_read_capacity),
	        cmocka_unit_test(test_roundtrip_ram),
	        cmocka_unit_test(test_roundtrip_ram_4k),
	        cmocka_unit_test(test_roundtrip_file_fua),
	        cmocka_unit_test(test_lba_out_of_range),
	        cmocka_unit_test(test_read6_zero_means_256),
	        cmocka_unit_test(test_read_residuals),
	        cmocka_unit_test(test_write_residuals),
	        cmocka_unit_test(test_write_verify_residuals),
	        cmocka_unit_test(test_protect_bits_refused),
	        cmocka_unit_test(test_readonly_rejects_writes),
	        cmocka_unit_test(test_readonly_cdb_checked_first),
	        cmocka_unit_test(test_unmap_status_ram),
	        cmocka_unit_test(test_unmap_status_file),
	        cmocka_unit_test(test_unmap_limits),
	        cmocka_unit_test(test_compare_and_write),
	        cmocka_unit_test(test_write_atomic),
	        cmocka_unit_test(test_verify_bytchk),
	        cmocka_unit_test(test_write_same),
	        cmocka_unit_test(test_sync_cache),
	        cmocka_unit_test(test_removable_eject_load),
	        cmocka_unit_test(test_eject_fixed_lu_refused),
	        cmocka_unit_test(test_wce_off_still_writes),
	        cmocka_unit_test(test_orwrite),
	        cmocka_unit_test(test_read_defect_data_empty),
	        cmocka_unit_test(test_sanitize_overwrite),
	        cmocka_unit_test(test_sanitize_in_progress),
	        cmocka_unit_test(test_close_stops_sanitize),
	        cmocka_unit_test(test_sanitize_failure_mode),
	        cmocka_unit_test(test_abort_ends_sanitize_command_not_sanitize),
	        cmocka_unit_test(test_prevent_ends_with_nexus),
	        cmocka_unit_test(test_block_erase_thin_only),
	        cmocka_unit_test(test_write_protect_order),
	        cmocka_unit_test(test_physical_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
