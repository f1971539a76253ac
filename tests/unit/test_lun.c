/* SAM-5 single-level LUN encoding round trips and rejects. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/lun.h"

static void test_peripheral_form(void **state)
{
	uint8_t w[8];
	static const uint8_t want[8] = {0x00, 0x05, 0, 0, 0, 0, 0, 0};

	assert_int_equal(lun_encode(5, w), 0);
	assert_memory_equal(w, want, 8);
}

static void test_flat_form(void **state)
{
	uint8_t w[8];
	static const uint8_t want[8] = {0x41, 0x2c, 0, 0, 0, 0, 0, 0};

	assert_int_equal(lun_encode(300, w), 0);
	assert_memory_equal(w, want, 8);
}

static void test_round_trip(void **state)
{
	for (uint32_t l = 0; l <= LUN_FLAT_MAX; l++) {
		uint8_t w[8];
		uint32_t back = 0xdead;

		assert_int_equal(lun_encode(l, w), 0);
		assert_int_equal(lun_decode(w, &back), 0);
		assert_int_equal(back, l);
	}
}

static void test_encode_too_big(void **state)
{
	uint8_t w[8];

	assert_int_equal(lun_encode(LUN_FLAT_MAX + 1, w), -EINVAL);
}

static void test_decode_small_flat(void **state)
{
	/* Flat addressing of a small LUN is legal and means the same LUN. */
	const uint8_t w[8] = {0x40, 0x07};
	uint32_t l;

	assert_int_equal(lun_decode(w, &l), 0);
	assert_int_equal(l, 7);
}

static void test_decode_rejects(void **state)
{
	const uint8_t lu_method[8] = {0x80, 0x01}; /* logical unit addressing */
	const uint8_t extended[8] = {0xc1, 0x01};  /* extended (well-known LUN) */
	const uint8_t other_bus[8] = {0x01, 0x01}; /* peripheral, bus 1 */
	const uint8_t second_level[8] = {0x00, 0x01, 0x00, 0x02};
	uint32_t l;

	assert_int_equal(lun_decode(lu_method, &l), -EINVAL);
	assert_int_equal(lun_decode(extended, &l), -EINVAL);
	assert_int_equal(lun_decode(other_bus, &l), -EINVAL);
	assert_int_equal(lun_decode(second_level, &l), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_peripheral_form),   cmocka_unit_test(test_flat_form),
	        cmocka_unit_test(test_round_trip),        cmocka_unit_test(test_encode_too_big),
	        cmocka_unit_test(test_decode_small_flat), cmocka_unit_test(test_decode_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
