/*
 * The engine's Internet checksum helpers (transport/utcp_int.h) against a
 * plain RFC 1071 sum taken 16 bits at a time: csum_add (SSE2 lanes and the
 * 8-byte tail), csum_copy (copy and sum in one pass) and csum_odd (a part
 * that starts at an odd offset), for every length up to a frame and more,
 * at every alignment, with the parts of a segment split anywhere.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "transport/utcp_int.h"

#define BUF 2048

/* RFC 1071 in network byte order, one 16-bit word at a time. */
static uint16_t ref_sum(uint32_t start, const uint8_t *p, size_t len)
{
	uint32_t sum = start;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The engine's folded sum is in native order; bring it to network order
 * for the comparison (0 and 0xffff are the same number). */
static uint16_t norm(uint16_t native)
{
	uint8_t b[2];
	uint16_t v;

	memcpy(b, &native, 2);
	v = (uint16_t)(b[0] << 8 | b[1]);
	return v == 0xffff ? 0 : v;
}

static uint16_t norm_ref(uint16_t v)
{
	return v == 0xffff ? 0 : v;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	srand(seed);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rand();
	/* all-ones stretches carry out of every lane */
	memset(p + 300, 0xff, 400);
}

static void test_add(void **state)
{
	static uint8_t b[BUF + 8];
	size_t len, off;

	(void)state;
	fill(b, sizeof(b), 1);
	for (len = 0; len <= BUF; len += len < 300 ? 1 : 61)
		for (off = 0; off < 8; off++)
			assert_int_equal(norm(csum_fold(csum_add(0, b + off, len))),
			                 norm_ref(ref_sum(0, b + off, len)));
}

static void test_copy(void **state)
{
	static uint8_t b[BUF + 8], d[BUF + 16];
	size_t len, off;

	(void)state;
	fill(b, sizeof(b), 2);
	for (len = 0; len <= BUF; len += len < 300 ? 1 : 61)
		for (off = 0; off < 4; off++) {
			memset(d, 0x5a, sizeof(d));
			assert_int_equal(norm(csum_fold(csum_copy(0, d + 3, b + off, len))),
			                 norm_ref(ref_sum(0, b + off, len)));
			assert_memory_equal(d + 3, b + off, len);
			assert_int_equal(d[2], 0x5a);
			assert_int_equal(d[3 + len], 0x5a);
		}
}

/* A segment's payload gathered from two pieces split at any byte, as
 * ut_send_segment sums it: the second piece swapped when it starts odd. */
static void test_split(void **state)
{
	static uint8_t b[BUF], d[BUF];
	size_t len = 1448, k;
	uint16_t want;

	(void)state;
	fill(b, sizeof(b), 3);
	want = norm_ref(ref_sum(0, b, len));
	for (k = 0; k <= len; k++) {
		uint64_t p1 = csum_copy(0, d, b, k), p2 = csum_copy(0, d + k, b + k, len - k);
		uint64_t sum = p1;

		if (k & 1)
			p2 = csum_odd(p2);
		sum += p2;
		sum += sum < p2;
		assert_int_equal(norm(csum_fold(sum)), want);
	}
	assert_memory_equal(d, b, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_add),
	        cmocka_unit_test(test_copy),
	        cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
