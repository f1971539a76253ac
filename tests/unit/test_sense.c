/* Sense data builders and parser (SPC-5 4.4) and the CDB helpers of lib/cdb.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "lib/cdb.h"
#include "lib/sense.h"

static void test_fixed_layout(void **state)
{
	struct sense_info si = sense_info_make(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	uint8_t b[SENSE_FIXED_LEN];

	sense_set_field_pointer(&si, true, 2, 5);
	assert_int_equal(sense_build_fixed(b, sizeof(b), &si), 18);
	assert_int_equal(b[0], 0x70);
	assert_int_equal(b[2], SK_ILLEGAL_REQUEST);
	assert_int_equal(b[7], 10);
	assert_int_equal(b[12], 0x24);
	assert_int_equal(b[13], 0x00);
	/* SKSV | C/D | BPV | bit 5, field pointer = byte 2 */
	assert_int_equal(b[15], 0x80 | 0x40 | 0x08 | 5);
	assert_int_equal(b[16], 0);
	assert_int_equal(b[17], 2);
}

static void test_fixed_info_valid(void **state)
{
	struct sense_info si = sense_info_make(SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY);
	uint8_t b[SENSE_FIXED_LEN];

	si.info_valid = true;
	si.info = 0x01020304;
	sense_build_fixed(b, sizeof(b), &si);
	assert_int_equal(b[0], 0xf0);
	assert_int_equal(get_be32(b + 3), 0x01020304);
}

static void test_fixed_info_too_wide_clears_valid(void **state)
{
	struct sense_info si = sense_info_make(SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
	uint8_t b[SENSE_FIXED_LEN];

	si.info_valid = true;
	si.info = 0x100000000ull;
	sense_build_fixed(b, sizeof(b), &si);
	assert_int_equal(b[0], 0x70);
}

static void test_fixed_too_small(void **state)
{
	struct sense_info si = sense_info_make(SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	uint8_t b[17];

	assert_int_equal(sense_build_fixed(b, sizeof(b), &si), -ENOSPC);
}

static void test_desc_layout(void **state)
{
	struct sense_info si = sense_info_make(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	uint8_t b[SENSE_DESC_MAX_LEN];

	si.info_valid = true;
	si.info = 0x1122334455667788ull;
	sense_set_field_pointer(&si, false, 300, -1);
	assert_int_equal(sense_build_desc(b, sizeof(b), &si), 28);
	assert_int_equal(b[0], 0x72);
	assert_int_equal(b[1], SK_ILLEGAL_REQUEST);
	assert_int_equal(b[2], 0x24);
	assert_int_equal(b[7], 20);
	assert_int_equal(b[8], 0x00);
	assert_int_equal(b[9], 0x0a);
	assert_int_equal(b[10], 0x80);
	assert_true(get_be64(b + 12) == 0x1122334455667788ull);
	assert_int_equal(b[20], 0x02);
	assert_int_equal(b[21], 0x06);
	assert_int_equal(b[24], 0x80);
	assert_int_equal(get_be16(b + 25), 300);
}

static void roundtrip(bool desc)
{
	struct sense_info in = sense_info_make(SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY);
	struct sense_info out;
	uint8_t b[SENSE_DESC_MAX_LEN];
	ssize_t n;

	in.info_valid = true;
	in.info = 4097;
	sense_set_field_pointer(&in, true, 7, 3);
	n = sense_build(b, sizeof(b), desc, &in);
	assert_true(n > 0);
	assert_int_equal(sense_parse(b, (size_t)n, &out), 0);
	assert_int_equal(out.key, SK_MISCOMPARE);
	assert_int_equal(out.asc, ASC_MISCOMPARE_DURING_VERIFY);
	assert_true(out.info_valid);
	assert_true(out.info == 4097);
	assert_true(out.sks_valid);
	assert_memory_equal(out.sks, in.sks, 3);
}

static void test_roundtrip_fixed(void **state)
{
	roundtrip(false);
}

static void test_roundtrip_desc(void **state)
{
	roundtrip(true);
}

static void test_parse_truncated_fixed(void **state)
{
	struct sense_info si = sense_info_make(SK_UNIT_ATTENTION, ASC_POWER_ON_RESET);
	struct sense_info out;
	uint8_t b[SENSE_FIXED_LEN];

	sense_build_fixed(b, sizeof(b), &si);
	/* Key present, ASC cut off: key parsed, ASC left zero. */
	assert_int_equal(sense_parse(b, 8, &out), 0);
	assert_int_equal(out.key, SK_UNIT_ATTENTION);
	assert_int_equal(out.asc, 0);
	assert_int_equal(sense_parse(b, 2, &out), -EINVAL);
}

static void test_parse_desc_bad_descriptor_length(void **state)
{
	/* An information descriptor claiming more bytes than exist is ignored. */
	uint8_t b[12] = {0x72, SK_MEDIUM_ERROR, 0x11, 0x00, 0, 0, 0, 4, 0x00, 0x0a, 0x80, 0};
	struct sense_info out;

	assert_int_equal(sense_parse(b, sizeof(b), &out), 0);
	assert_int_equal(out.key, SK_MEDIUM_ERROR);
	assert_int_equal(out.asc, ASC_UNRECOVERED_READ_ERROR);
	assert_false(out.info_valid);
}

static void test_parse_unknown_response_code(void **state)
{
	uint8_t b[18] = {0x7e};
	struct sense_info out;

	assert_int_equal(sense_parse(b, sizeof(b), &out), -EINVAL);
}

static void test_deferred(void **state)
{
	struct sense_info in = sense_info_make(SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	struct sense_info out;
	uint8_t b[SENSE_DESC_MAX_LEN];

	in.deferred = true;
	assert_int_equal(sense_build_desc(b, sizeof(b), &in), 8);
	assert_int_equal(b[0], 0x73);
	assert_int_equal(sense_parse(b, 8, &out), 0);
	assert_true(out.deferred);
	assert_int_equal(out.asc, ASC_WRITE_ERROR);
}

static void test_be_helpers(void **state)
{
	uint8_t b[8];

	put_be64(b, 0x0102030405060708ull);
	assert_int_equal(b[0], 1);
	assert_int_equal(b[7], 8);
	assert_true(get_be64(b) == 0x0102030405060708ull);
	put_be24(b, 0xabcdef);
	assert_int_equal(get_be24(b), 0xabcdef);
	put_be16(b, 0xbeef);
	assert_int_equal(get_be16(b), 0xbeef);
}

static void test_decode_rw6_zero_is_256(void **state)
{
	uint8_t cdb[6] = {READ_6, 0xff, 0x12, 0x34, 0, 0};
	struct cdb_rw rw;

	assert_int_equal(cdb_decode_rw(cdb, sizeof(cdb), &rw), 0);
	/* Only 21 bits of LBA: the top 3 bits of byte 1 are reserved. */
	assert_true(rw.lba == 0x1f1234);
	assert_int_equal(rw.len, 256);
}

static void test_decode_rw_sizes(void **state)
{
	uint8_t c10[10] = {WRITE_10, CDB_RW_FUA, 0, 0, 1, 0, 0, 0, 8, 0};
	uint8_t c12[12] = {READ_12, 0, 0, 0, 0, 9, 0, 1, 0, 0, 0, 0};
	uint8_t c16[16] = {READ_16, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0};
	struct cdb_rw rw;

	assert_int_equal(cdb_decode_rw(c10, 10, &rw), 0);
	assert_true(rw.lba == 256);
	assert_int_equal(rw.len, 8);
	assert_true(rw.flags & CDB_RW_FUA);
	assert_int_equal(cdb_decode_rw(c12, 12, &rw), 0);
	assert_true(rw.lba == 9);
	assert_int_equal(rw.len, 0x10000);
	assert_int_equal(cdb_decode_rw(c16, 16, &rw), 0);
	assert_true(rw.lba == 0x100000000ull);
	assert_int_equal(rw.len, 2);
	assert_int_equal(cdb_decode_rw(c16, 15, &rw), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fixed_layout),
	        cmocka_unit_test(test_fixed_info_valid),
	        cmocka_unit_test(test_fixed_info_too_wide_clears_valid),
	        cmocka_unit_test(test_fixed_too_small),
	        cmocka_unit_test(test_desc_layout),
	        cmocka_unit_test(test_roundtrip_fixed),
	        cmocka_unit_test(test_roundtrip_desc),
	        cmocka_unit_test(test_parse_truncated_fixed),
	        cmocka_unit_test(test_parse_desc_bad_descriptor_length),
	        cmocka_unit_test(test_parse_unknown_response_code),
	        cmocka_unit_test(test_deferred),
	        cmocka_unit_test(test_be_helpers),
	        cmocka_unit_test(test_decode_rw6_zero_is_256),
	        cmocka_unit_test(test_decode_rw_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
