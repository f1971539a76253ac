/* RFC 7143 appendix B.4 known-answer vectors for CRC32C. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/crc32c.h"

static void test_zeros(void **state)
{
	uint8_t b[32];

	memset(b, 0, sizeof(b));
	assert_int_equal(crc32c(b, sizeof(b)), 0x8a9136aa);
}

static void test_ones(void **state)
{
	uint8_t b[32];

	memset(b, 0xff, sizeof(b));
	assert_int_equal(crc32c(b, sizeof(b)), 0x62a8ab43);
}

static void test_incrementing(void **state)
{
	uint8_t b[32];

	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	assert_int_equal(crc32c(b, sizeof(b)), 0x46dd794e);
}

static void test_decrementing(void **state)
{
	uint8_t b[32];

	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)(31 - i);
	assert_int_equal(crc32c(b, sizeof(b)), 0x113fdb5c);
}

static void test_scsi_read_pdu(void **state)
{
	/* B.4: an iSCSI SCSI Read (10) command PDU. */
	static const uint8_t pdu[48] = {
	        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
	        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
	        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};

	assert_int_equal(crc32c(pdu, sizeof(pdu)), 0xd9963a56);
}

static void test_pieces_match_whole(void **state)
{
	uint8_t b[1000];
	struct iovec iov[3];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7 + 3);
	iov[0] = (struct iovec){b, 1};
	iov[1] = (struct iovec){b + 1, 500};
	iov[2] = (struct iovec){b + 501, 499};
	assert_int_equal(crc32c_iov(iov, 3), crc32c(b, sizeof(b)));
	assert_int_not_equal(crc32c_iov(iov, 2), crc32c(b, sizeof(b)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_zeros),         cmocka_unit_test(test_ones),
	        cmocka_unit_test(test_incrementing),  cmocka_unit_test(test_decrementing),
	        cmocka_unit_test(test_scsi_read_pdu), cmocka_unit_test(test_pieces_match_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
