/* RFC 1982 serial arithmetic with SERIAL_BITS 32, including wrap-around. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/serial.h"

static void test_plain_order(void **state)
{
	assert_true(serial_lt(1, 2));
	assert_false(serial_lt(2, 1));
	assert_false(serial_lt(5, 5));
	assert_true(serial_le(5, 5));
	assert_true(serial_gt(2, 1));
	assert_true(serial_ge(2, 2));
	assert_false(serial_gt(1, 2));
}

static void test_wrap(void **state)
{
	/* 0 follows 0xffffffff: it is the greater one. */
	assert_true(serial_lt(0xffffffffu, 0));
	assert_true(serial_gt(0, 0xffffffffu));
	assert_true(serial_lt(0xfffffff0u, 0x10));
	assert_false(serial_lt(0x10, 0xfffffff0u));
	assert_true(serial_le(0xffffffffu, 3));
}

/* Exactly 2^31 apart is undefined in RFC 1982: neither order holds. */
static void test_half_apart_undefined(void **state)
{
	assert_false(serial_lt(0, SERIAL_HALF));
	assert_false(serial_gt(0, SERIAL_HALF));
	assert_false(serial_lt(SERIAL_HALF, 0));
	assert_false(serial_gt(SERIAL_HALF, 0));
	assert_true(serial_lt(0, SERIAL_HALF - 1));
	assert_true(serial_gt(0, SERIAL_HALF + 1));
}

static void test_window(void **state)
{
	assert_true(serial_in_window(10, 10, 20));
	assert_true(serial_in_window(20, 10, 20));
	assert_false(serial_in_window(21, 10, 20));
	assert_false(serial_in_window(9, 10, 20));
	/* A window that spans the wrap. */
	assert_true(serial_in_window(0, 0xfffffffeu, 5));
	assert_true(serial_in_window(0xffffffffu, 0xfffffffeu, 5));
	assert_false(serial_in_window(6, 0xfffffffeu, 5));
	/* RFC 7143 4.2.2.1: MaxCmdSN = ExpCmdSN - 1 is an empty window. */
	assert_false(serial_in_window(100, 100, 99));
	assert_false(serial_in_window(0, 0, 0xffffffffu));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plain_order),
	        cmocka_unit_test(test_wrap),
	        cmocka_unit_test(test_half_apart_undefined),
	        cmocka_unit_test(test_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
