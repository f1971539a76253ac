/* LUN spec parsing, LU identity and unit attention bookkeeping (target/lu.c). */
#include "tests/unit/test_scsi_util.h"

static void test_parse_size_suffixes(void **state)
{
	uint64_t v;

	assert_int_equal(tgt_parse_size("512", &v), 0);
	assert_true(v == 512);
	assert_int_equal(tgt_parse_size("4K", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(tgt_parse_size("3m", &v), 0);
	assert_true(v == 3ull << 20);
	assert_int_equal(tgt_parse_size("1G", &v), 0);
	assert_true(v == 1ull << 30);
	assert_int_equal(tgt_parse_size("2T", &v), 0);
	assert_true(v == 2ull << 40);
}

static void test_parse_size_rejects(void **state)
{
	uint64_t v;

	assert_int_equal(tgt_parse_size("", &v), -EINVAL);
	assert_int_equal(tgt_parse_size("-1", &v), -EINVAL);
	assert_int_equal(tgt_parse_size(" 1", &v), -EINVAL);
	assert_int_equal(tgt_parse_size("1X", &v), -EINVAL);
	assert_int_equal(tgt_parse_size("1GB", &v), -EINVAL);
	assert_int_equal(tgt_parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(tgt_parse_size("16777216T", &v), -ERANGE);
}

static void test_spec_ram(void **state)
{
	struct tgt_lu_spec s;
	char err[128];

	assert_int_equal(tgt_lu_spec_parse("ram:1G", &s, err, sizeof(err)), 0);
	assert_int_equal(s.type, TGT_BS_RAM);
	assert_true(s.size == 1ull << 30);
	assert_int_equal(s.block_size, 512);
	assert_false(s.readonly);
}

static void test_spec_file_options(void **state)
{
	struct tgt_lu_spec s;
	char err[128];

	assert_int_equal(tgt_lu_spec_parse("file:/tmp/x.img,ro,bs=4096,thin,removable,size=10G", &s,
	                                   err, sizeof(err)),
	                 0);
	assert_int_equal(s.type, TGT_BS_FILE);
	assert_string_equal(s.path, "/tmp/x.img");
	assert_true(s.readonly && s.thin && s.removable);
	assert_int_equal(s.block_size, 4096);
	assert_true(s.size == 10ull << 30);
	assert_int_equal(
	        tgt_lu_spec_parse("null:1T,product=BENCH,serial=abc", &s, err, sizeof(err)), 0);
	assert_int_equal(s.type, TGT_BS_NULL);
	assert_string_equal(s.product, "BENCH");
	assert_string_equal(s.serial, "abc");
	assert_int_equal(tgt_lu_spec_parse("file:/dev/sdz,crypt,crypt-key=/var/lib/xtgtd/sdz.key",
	                                   &s, err, sizeof(err)),
	                 0);
	assert_true(s.crypt);
	assert_string_equal(s.crypt_key, "/var/lib/xtgtd/sdz.key");
}

static void expect_bad(const char *spec, const char *needle)
{
	struct tgt_lu_spec s;
	char err[256] = "";

	assert_int_equal(tgt_lu_spec_parse(spec, &s, err, sizeof(err)), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", spec, err, needle);
}

static void test_spec_errors(void **state)
{
	expect_bad("ram", "TYPE:ARG");
	expect_bad("disk:1G", "unknown store 'disk'");
	expect_bad("ram:", "needs a size");
	expect_bad("ram:12Q", "bad size '12Q'");
	expect_bad("file:", "needs a path");
	expect_bad("file:/x,bs=1024", "bad block size '1024'");
	expect_bad("file:/x,crypt-key=/k", "crypt-key= goes with crypt");
	expect_bad("ram:1G,crypt,crypt-key=/k", "crypt-key= goes with crypt on a file store");
	expect_bad("file:/x,crypt,crypt-key=", "crypt-key= needs a path");
	expect_bad("file:/x,fast", "unknown option 'fast'");
	expect_bad("file:/x,ro=1", "takes no value");
	expect_bad("file:/x,,ro", "empty option");
	expect_bad("ram:100", "below one 512-byte block");
	expect_bad("ram:1G,product=THIS-NAME-IS-TOO-LONG", "at most 16");
}

static void test_identity_stable(void **state)
{
	struct tgt_lu *a = open_lu("ram:1M", 3);
	struct tgt_lu *b = open_lu("ram:1M", 3);
	struct tgt_lu *c = open_lu("ram:1M", 4);

	assert_memory_equal(a->naa, b->naa, 8);
	assert_string_equal(a->serial, b->serial);
	assert_memory_not_equal(a->naa, c->naa, 8);
	/* NAA 3: locally assigned. */
	assert_int_equal(a->naa[0] >> 4, 3);
	tgt_lu_close(a);
	tgt_lu_close(b);
	tgt_lu_close(c);
}

static void test_open_file_missing_without_size(void **state)
{
	struct tgt_lu_spec s;
	struct tgt_lu *lu = NULL;
	char err[256] = "";

	assert_int_equal(tgt_lu_spec_parse("file:/nonexistent/dir/x.img", &s, err, sizeof(err)), 0);
	assert_int_equal(tgt_lu_open(&lu, &s, TEST_TARGET, 0, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/dir/x.img"));
}

static void test_ua_per_nexus(void **state)
{
	struct tgt_lu *lu = open_lu("ram:1M", 0);

	/* Each nexus sees power-on once, independently. */
	assert_int_equal(tgt_lu_ua_take(lu, NEXUS_A, true), ASC_POWER_ON_RESET);
	assert_int_equal(tgt_lu_ua_take(lu, NEXUS_A, true), 0);
	assert_int_equal(tgt_lu_ua_take(lu, NEXUS_B, false), ASC_POWER_ON_RESET);
	assert_int_equal(tgt_lu_ua_take(lu, NEXUS_B, true), ASC_POWER_ON_RESET);
	assert_int_equal(tgt_lu_ua_take(lu, NEXUS_B, true), 0);
	tgt_lu_close(lu);
}

static void test_ua_reset_and_except(void **state)
{
	struct tgt_lu *lu = open_lu("ram:1M", 0);

	tgt_lu_ua_take(lu, NEXUS_A, true);
	tgt_lu_ua_take(lu, NEXUS_B, true);
	tgt_lu_ua_raise(lu, TGT_UA_MODE_CHANGED, NEXUS_A);
	assert_int_equal(tgt_lu_ua_take(lu, NEXUS_A, true), 0);
	assert_int_equal(tgt_lu_ua_take(lu, NEXUS_B, true), ASC_MODE_PARAMETERS_CHANGED);
	tgt_lu_reset(lu, TGT_UA_TARGET_RESET);
	assert_int_equal(tgt_lu_ua_take(lu, NEXUS_A, true), ASC_TARGET_RESET_OCCURRED);
	assert_int_equal(tgt_lu_ua_take(lu, NEXUS_A, true), 0);
	tgt_lu_close(lu);
}

static void test_nexus_gone_releases_reservation(void **state)
{
	struct tgt_lu *lu = open_ready_lu("ram:1M");
	uint8_t reserve[6] = {RESERVE_6};
	uint8_t tur[6] = {TEST_UNIT_READY};
	struct scsi_task t;

	assert_int_equal(run_cdb(lu, NEXUS_A, reserve, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	tgt_lu_ua_take(lu, NEXUS_B, true);
	assert_int_equal(run_cdb(lu, NEXUS_B, tur, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_RESERVATION_CONFLICT);
	tgt_lu_nexus_gone(lu, NEXUS_A);
	assert_int_equal(run_cdb(lu, NEXUS_B, tur, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	/* A nexus that comes back is new: power-on again. */
	assert_int_equal(tgt_lu_ua_take(lu, NEXUS_A, true), ASC_POWER_ON_RESET);
	tgt_lu_close(lu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_size_suffixes),
	        cmocka_unit_test(test_parse_size_rejects),
	        cmocka_unit_test(test_spec_ram),
	        cmocka_unit_test(test_spec_file_options),
	        cmocka_unit_test(test_spec_errors),
	        cmocka_unit_test(test_identity_stable),
	        cmocka_unit_test(test_open_file_missing_without_size),
	        cmocka_unit_test(test_ua_per_nexus),
	        cmocka_unit_test(test_ua_reset_and_except),
	        cmocka_unit_test(test_nexus_gone_releases_reservation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
