/* Text keys (lib/keys.c): RFC 7143 section 6.1 parsing, building and limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/keys.h"

/* Load a literal whose length includes its final NUL ("a=b\0c=d" has two pairs). */
#define LOAD(k, lit) keys_load((k), (lit), sizeof(lit))

static int setup(void **state)
{
	*state = keys_new();
	return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	keys_free(*state);
	return 0;
}

static void test_parse_pairs(void **state)
{
	struct keys *k = *state;

	assert_int_equal(LOAD(k, "HeaderDigest=None\0MaxBurstLength=65536"), 0);
	assert_int_equal(keys_count(k), 2);
	assert_string_equal(keys_find(k, "HeaderDigest"), "None");
	assert_string_equal(keys_find(k, "MaxBurstLength"), "65536");
	assert_string_equal(keys_name(k, 1), "MaxBurstLength");
	assert_null(keys_find(k, "DataDigest"));
	assert_null(keys_name(k, 2));
}

static void test_empty_value_and_equals_in_value(void **state)
{
	struct keys *k = *state;

	/* Only the first '=' separates: TargetAddress values hold none, but text may. */
	assert_int_equal(LOAD(k, "X-a=\0X-b=c=d"), 0);
	assert_string_equal(keys_find(k, "X-a"), "");
	assert_string_equal(keys_find(k, "X-b"), "c=d");
}

static void test_empty_segment(void **state)
{
	assert_int_equal(keys_load(*state, "", 0), 0);
	assert_int_equal(keys_count(*state), 0);
}

static void test_missing_equals(void **state)
{
	assert_int_equal(LOAD(*state, "HeaderDigest"), KEYS_ERR_SYNTAX);
}

static void test_empty_name(void **state)
{
	assert_int_equal(LOAD(*state, "=None"), KEYS_ERR_SYNTAX);
}

static void test_bad_name_chars(void **state)
{
	assert_int_equal(LOAD(*state, "Header Digest=None"), KEYS_ERR_SYNTAX);
	keys_clear(*state);
	/* RFC 7143 section 6.1: a standard-label begins with a capital letter. */
	assert_int_equal(LOAD(*state, "headerDigest=None"), KEYS_ERR_SYNTAX);
}

static void test_unterminated(void **state)
{
	assert_int_equal(keys_load(*state, "HeaderDigest=None", 17), KEYS_ERR_UNTERMINATED);
}

static void test_duplicate_rejected(void **state)
{
	assert_int_equal(LOAD(*state, "HeaderDigest=None\0HeaderDigest=CRC32C"),
	                 KEYS_ERR_DUPLICATE);
}

static void test_duplicate_add_rejected(void **state)
{
	assert_int_equal(keys_add(*state, "A", "1"), 0);
	assert_int_equal(keys_add(*state, "A", "2"), KEYS_ERR_DUPLICATE);
}

static void test_name_length(void **state)
{
	char buf[80];

	memset(buf, 'A', 63);
	strcpy(buf + 63, "=1");
	assert_int_equal(keys_load(*state, buf, strlen(buf) + 1), 0);
	keys_clear(*state);
	memset(buf, 'A', 64);
	strcpy(buf + 64, "=1");
	assert_int_equal(keys_load(*state, buf, strlen(buf) + 1), KEYS_ERR_NAME_LONG);
}

static void test_value_length(void **state)
{
	char buf[400];

	strcpy(buf, "TargetAlias=");
	memset(buf + 12, 'v', 255);
	buf[12 + 255] = '\0';
	assert_int_equal(keys_load(*state, buf, strlen(buf) + 1), 0);
	keys_clear(*state);
	memset(buf + 12, 'v', 256);
	buf[12 + 256] = '\0';
	assert_int_equal(keys_load(*state, buf, strlen(buf) + 1), KEYS_ERR_VALUE_LONG);
}

static void test_large_value_for_chap(void **state)
{
	size_t n = 7 + 4000;
	char *buf = malloc(n + 1);

	/* CHAP_C may exceed 255 bytes (a large-binary-value). */
	strcpy(buf, "CHAP_C=0x");
	memset(buf + 9, 'a', n - 9);
	buf[n] = '\0';
	assert_int_equal(keys_load(*state, buf, n + 1), 0);
	assert_int_equal(strlen(keys_find(*state, "CHAP_C")), n - 7);
	free(buf);
}

static void test_chap_value_over_large_limit(void **state)
{
	size_t n = 7 + KEYS_LARGE_VALUE_MAX + 1;
	char *buf = malloc(n + 1);

	strcpy(buf, "CHAP_R=0x");
	memset(buf + 9, 'a', n - 9);
	buf[n] = '\0';
	assert_int_equal(keys_load(*state, buf, n + 1), KEYS_ERR_VALUE_LONG);
	free(buf);
}

static void test_non_utf8(void **state)
{
	/* 0xC3 0x28: a lead byte followed by a non-continuation byte. */
	assert_int_equal(LOAD(*state, "InitiatorAlias=\xc3\x28"), KEYS_ERR_ENCODING);
}

static void test_overlong_utf8(void **state)
{
	/* "/" encoded in two bytes is an overlong form RFC 3629 forbids. */
	assert_int_equal(LOAD(*state, "InitiatorAlias=\xc0\xaf"), KEYS_ERR_ENCODING);
}

static void test_surrogate_utf8(void **state)
{
	assert_int_equal(LOAD(*state, "InitiatorAlias=\xed\xa0\x80"), KEYS_ERR_ENCODING);
}

static void test_valid_utf8(void **state)
{
	/* "é" and "€" and a 4-byte emoji are fine. */
	assert_int_equal(LOAD(*state, "InitiatorAlias=caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	                 0);
}

static void test_control_char(void **state)
{
	assert_int_equal(LOAD(*state, "InitiatorAlias=a\tb"), KEYS_ERR_ENCODING);
}

static void test_truncated_utf8_at_end(void **state)
{
	assert_int_equal(LOAD(*state, "InitiatorAlias=ab\xe2\x82"), KEYS_ERR_ENCODING);
}

static void test_too_many_keys(void **state)
{
	struct keys *k = *state;
	char name[16];

	keys_set_limits(k, 3, 0);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "X-k%d", i);
		assert_int_equal(keys_add(k, name, "v"), 0);
	}
	assert_int_equal(keys_add(k, "X-k3", "v"), KEYS_ERR_TOO_MANY);
}

static void test_total_size(void **state)
{
	struct keys *k = *state;

	keys_set_limits(k, 0, 10);
	assert_int_equal(keys_add(k, "A", "1234567"), 0); /* "A=1234567\0" is 10 bytes */
	assert_int_equal(keys_add(k, "B", ""), KEYS_ERR_TOO_BIG);
}

static void test_feed_total_limit(void **state)
{
	struct keys *k = *state;
	char piece[600];

	memset(piece, 'a', sizeof(piece));
	keys_set_limits(k, 0, 1000);
	assert_int_equal(keys_feed(k, piece, sizeof(piece), true), 0);
	assert_int_equal(keys_feed(k, piece, sizeof(piece), true), KEYS_ERR_TOO_BIG);
}

static void test_continuation_split_in_value(void **state)
{
	struct keys *k = *state;

	/* RFC 7143 section 6.1: a pair may be split across PDUs (C bit). */
	assert_int_equal(keys_feed(k, "InitiatorName=iqn.2", 19, true), 0);
	assert_true(keys_pending(k));
	assert_int_equal(keys_count(k), 0);
	assert_int_equal(keys_feed(k, "001-04.a\0SessionT", 17, true), 0);
	assert_int_equal(keys_feed(k, "ype=Normal", 11, false), 0);
	assert_false(keys_pending(k));
	assert_int_equal(keys_count(k), 2);
	assert_string_equal(keys_find(k, "InitiatorName"), "iqn.2001-04.a");
	assert_string_equal(keys_find(k, "SessionType"), "Normal");
}

static void test_continuation_byte_by_byte(void **state)
{
	static const char text[] = "A=1\0B=22\0C=333";
	struct keys *k = *state;

	for (size_t i = 0; i < sizeof(text); i++)
		assert_int_equal(keys_feed(k, text + i, 1, i + 1 < sizeof(text)), 0);
	assert_int_equal(keys_count(k), 3);
	assert_string_equal(keys_find(k, "C"), "333");
}

static void test_continuation_duplicate_across_pieces(void **state)
{
	struct keys *k = *state;

	assert_int_equal(keys_feed(k, "A=1\0", 4, true), 0);
	assert_int_equal(keys_feed(k, "A=2\0", 4, false), KEYS_ERR_DUPLICATE);
}

static void test_build_roundtrip(void **state)
{
	struct keys *k = *state, *back = keys_new();
	char buf[64];
	ssize_t n;

	assert_int_equal(keys_add(k, "HeaderDigest", "None"), 0);
	assert_int_equal(keys_add_u32(k, "MaxRecvDataSegmentLength", 262144), 0);
	assert_int_equal(keys_save_len(k), 18 + 32);
	n = keys_save(k, buf, sizeof(buf));
	assert_int_equal(n, 50);
	assert_memory_equal(buf, "HeaderDigest=None\0MaxRecvDataSegmentLength=262144\0", 50);
	assert_int_equal(keys_load(back, buf, (size_t)n), 0);
	assert_string_equal(keys_find(back, "MaxRecvDataSegmentLength"), "262144");
	keys_free(back);
}

static void test_save_short_buffer(void **state)
{
	char buf[8];

	assert_int_equal(keys_add(*state, "HeaderDigest", "None"), 0);
	assert_int_equal(keys_save(*state, buf, sizeof(buf)), KEYS_ERR_TOO_BIG);
}

static void test_add_checks_value(void **state)
{
	assert_int_equal(keys_add(*state, "InitiatorAlias", "a\xff"), KEYS_ERR_ENCODING);
	assert_int_equal(keys_add(*state, "bad name", "x"), KEYS_ERR_SYNTAX);
}

static void test_set_replaces(void **state)
{
	struct keys *k = *state;

	assert_int_equal(keys_set(k, "A", "1"), 0);
	assert_int_equal(keys_set(k, "A", "22"), 0);
	assert_int_equal(keys_count(k), 1);
	assert_string_equal(keys_find(k, "A"), "22");
	assert_int_equal(keys_save_len(k), 5);
}

static void test_trailing_nul_padding_tolerated(void **state)
{
	/* Some peers pad the segment with NULs past the last pair. */
	assert_int_equal(keys_load(*state, "A=1\0\0\0", 6), 0);
	assert_int_equal(keys_count(*state), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	        T(test_parse_pairs),
	        T(test_empty_value_and_equals_in_value),
	        T(test_empty_segment),
	        T(test_missing_equals),
	        T(test_empty_name),
	        T(test_bad_name_chars),
	        T(test_unterminated),
	        T(test_duplicate_rejected),
	        T(test_duplicate_add_rejected),
	        T(test_name_length),
	        T(test_value_length),
	        T(test_large_value_for_chap),
	        T(test_chap_value_over_large_limit),
	        T(test_non_utf8),
	        T(test_overlong_utf8),
	        T(test_surrogate_utf8),
	        T(test_valid_utf8),
	        T(test_control_char),
	        T(test_truncated_utf8_at_end),
	        T(test_too_many_keys),
	        T(test_total_size),
	        T(test_feed_total_limit),
	        T(test_continuation_split_in_value),
	        T(test_continuation_byte_by_byte),
	        T(test_continuation_duplicate_across_pieces),
	        T(test_build_roundtrip),
	        T(test_save_short_buffer),
	        T(test_add_checks_value),
	        T(test_set_replaces),
	        T(test_trailing_nul_padding_tolerated),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
