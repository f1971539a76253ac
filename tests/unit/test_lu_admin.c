/*
 * What xtgtadm changes on a LU while it serves (target/lu.h): a resize
 * (ram, null and file stores grow, the data stays, every nexus gets
 * CAPACITY DATA HAS CHANGED once, shrinking is refused) and the offline
 * state (NOT READY, MANUAL INTERVENTION REQUIRED for medium commands;
 * INQUIRY and REQUEST SENSE still answer).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/test_scsi_util.h"

static const uint8_t tur[6] = {TEST_UNIT_READY};

static uint64_t read_capacity(struct tgt_lu *lu, uint64_t nexus, struct scsi_task *t)
{
	uint8_t cdb[16] = {SERVICE_ACTION_IN_16, SAI_READ_CAPACITY_16};
	uint8_t buf[32];

	put_be32(cdb + 10, sizeof(buf));
	if (run_cdb(lu, nexus, cdb, 16, NULL, 0, buf, sizeof(buf), t) != SAM_STAT_GOOD)
		return 0;
	return get_be64(buf) + 1;
}

static int resize(struct tgt_lu *lu, const char *spec_str, uint64_t size)
{
	struct tgt_lu_spec spec;
	char err[256] = "";
	int rc;

	assert_int_equal(tgt_lu_spec_parse(spec_str, &spec, err, sizeof(err)), 0);
	rc = tgt_lu_resize_prepare(lu, &spec, size, err, sizeof(err));
	if (!rc)
		rc = tgt_lu_resize(lu, &spec, size, err, sizeof(err));
	if (rc)
		assert_true(err[0] != '\0');
	return rc;
}

static void test_resize_ram(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M,thin");
	uint8_t pat[4096], back[4096];
	struct scsi_task t;
	bool mapped;
	uint64_t run;

	(void)state;
	memset(pat, 0xa5, sizeof(pat));
	assert_int_equal(bs_write(&lu->bs, pat, sizeof(pat), 4096, 0), 0);
	/* NEXUS_B exists on the LU before the resize too. */
	assert_int_equal(run_cdb(lu, NEXUS_B, tur, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_int_equal(run_cdb(lu, NEXUS_B, tur, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);

	assert_int_equal(resize(lu, "ram:1M,thin", 4 << 20), 0);
	assert_int_equal(lu->nblocks, (4 << 20) / 512);
	assert_int_equal(lu->bs.size, 4 << 20);
	/* Once per nexus, then the new capacity. */
	assert_int_equal(read_capacity(lu, NEXUS_A, &t), 0);
	assert_sense(&t, SK_UNIT_ATTENTION, ASC_CAPACITY_DATA_HAS_CHANGED);
	assert_int_equal(read_capacity(lu, NEXUS_A, &t), (4 << 20) / 512);
	assert_int_equal(run_cdb(lu, NEXUS_A, tur, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_B, tur, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_UNIT_ATTENTION, ASC_CAPACITY_DATA_HAS_CHANGED);
	assert_int_equal(read_capacity(lu, NEXUS_B, &t), (4 << 20) / 512);

	/* The data moved with the mapping; the new range reads zeros, is
	 * reported deallocated, and takes writes. */
	assert_int_equal(bs_read(&lu->bs, back, sizeof(back), 4096), 0);
	assert_memory_equal(back, pat, sizeof(pat));
	assert_int_equal(bs_lba_status(&lu->bs, 2 << 20, &mapped, &run), 0);
	assert_false(mapped);
	assert_int_equal(run, 2 << 20);
	assert_int_equal(bs_read(&lu->bs, back, sizeof(back), 3 << 20), 0);
	for (size_t i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0);
	assert_int_equal(bs_write(&lu->bs, pat, sizeof(pat), (4 << 20) - 4096, 0), 0);
	assert_int_equal(bs_read(&lu->bs, back, sizeof(back), (4 << 20) - 4096), 0);
	assert_memory_equal(back, pat, sizeof(pat));
	assert_int_equal(bs_lba_status(&lu->bs, (4 << 20) - 4096, &mapped, &run), 0);
	assert_true(mapped);

	/* Refused: smaller, not a whole block. The same size is no change. */
	assert_int_equal(resize(lu, "ram:4M,thin", 2 << 20), -EINVAL);
	assert_int_equal(resize(lu, "ram:4M,thin", (4 << 20) + 100), -EINVAL);
	assert_int_equal(resize(lu, "ram:4M,thin", 4 << 20), 0);
	assert_int_equal(run_cdb(lu, NEXUS_A, tur, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	tgt_lu_close(lu);
}

static void test_resize_file_and_null(void **state)
{
	char path[] = "/tmp/test_lu_admin.XXXXXX", spec[128];
	struct scsi_task t;
	struct stat st;
	struct tgt_lu *lu;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s,aio=sync", path);
	lu = open_ready_lu(spec);
	assert_int_equal(resize(lu, spec, 3 << 20), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 3 << 20);
	assert_int_equal(read_capacity(lu, NEXUS_A, &t), 0);
	assert_sense(&t, SK_UNIT_ATTENTION, ASC_CAPACITY_DATA_HAS_CHANGED);
	assert_int_equal(read_capacity(lu, NEXUS_A, &t), (3 << 20) / 512);
	tgt_lu_close(lu);
	unlink(path);

	lu = open_ready_lu("null:1G");
	assert_int_equal(resize(lu, "null:1G", 2ull << 30), 0);
	assert_int_equal(lu->nblocks, (2ull << 30) / 512);
	tgt_lu_close(lu);
}

static void test_offline(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t inq[6] = {INQUIRY, 0, 0, 0, 96}, rs[6] = {REQUEST_SENSE, 0, 0, 0, 252};
	uint8_t buf[252];
	struct sense_info si;
	struct scsi_task t;

	(void)state;
	atomic_store(&lu->offline, true);
	assert_int_equal(run_cdb(lu, NEXUS_A, tur, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_NOT_READY, ASC_LU_NOT_READY_MANUAL_INTERVENTION);
	assert_int_equal(read_capacity(lu, NEXUS_A, &t), 0);
	assert_sense(&t, SK_NOT_READY, ASC_LU_NOT_READY_MANUAL_INTERVENTION);
	assert_int_equal(run_cdb(lu, NEXUS_A, inq, 6, NULL, 0, buf, 96, &t), SAM_STAT_GOOD);
	assert_int_equal(run_cdb(lu, NEXUS_A, rs, 6, NULL, 0, buf, sizeof(buf), &t), SAM_STAT_GOOD);
	assert_int_equal(sense_parse(buf, t.data_in_xfer, &si), 0);
	assert_int_equal(si.key, SK_NOT_READY);
	assert_int_equal(si.asc, ASC_LU_NOT_READY_MANUAL_INTERVENTION);
	atomic_store(&lu->offline, false);
	assert_int_equal(run_cdb(lu, NEXUS_A, tur, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	tgt_lu_close(lu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_resize_ram),
	        cmocka_unit_test(test_resize_file_and_null),
	        cmocka_unit_test(test_offline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
