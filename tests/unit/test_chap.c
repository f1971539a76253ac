/* CHAP (lib/chap.c), RFC 7143 section 12.1.3. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/chap.h"

/*
 * Known answers computed with OpenSSL's command line, independent of this
 * code: id 0x2a, secret "secretsecret1", challenge bytes 00..0f:
 *   printf '\x2asecretsecret1\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f' \
 *     | openssl dgst -md5 (-sha1, -sha256, -sha3-256)
 */
static const char kat_secret[] = "secretsecret1";
static const uint8_t kat_id = 0x2a;

struct kat {
	int alg;
	const char *hex;
};

static const struct kat kats[] = {
        {CHAP_A_MD5, "ec81cd0a4bf810bfcb485d7600dadf3f"},
        {CHAP_A_SHA1, "563873f1f0717e003b971f5171b459719226e931"},
        {CHAP_A_SHA256, "55954403e439449807f74596471a25e2b31edd9f17019f69bd8753307f7a8f04"},
        {CHAP_A_SHA3_256, "ac6a9338ba31f2312a6761a2539a6446922c962735afa50653b89fc0f79fc51b"},
};

static void kat_challenge(uint8_t c[16])
{
	for (int i = 0; i < 16; i++)
		c[i] = (uint8_t)i;
}

static void test_known_answers(void **state)
{
	uint8_t chal[16], out[CHAP_DIGEST_MAX];
	char hex[2 + 2 * CHAP_DIGEST_MAX + 1];

	kat_challenge(chal);
	for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		ssize_t n = chap_digest(kats[i].alg, kat_id, kat_secret, strlen(kat_secret), chal,
		                        sizeof(chal), out);

		assert_int_equal(n, (ssize_t)chap_digest_len(kats[i].alg));
		assert_int_equal(chap_encode_hex(out, (size_t)n, hex, sizeof(hex)), 2 + 2 * n);
		assert_string_equal(hex + 2, kats[i].hex);
	}
}

static void test_respond_known_answer(void **state)
{
	char out[128];

	/* The same vector through the string interface, challenge in base64 (00..0f). */
	assert_int_equal(chap_respond(CHAP_A_SHA256, "42", "0bAAECAwQFBgcICQoLDA0ODw==", kat_secret,
	                              strlen(kat_secret), NULL, out, sizeof(out)),
	                 0);
	assert_string_equal(out + 2, kats[2].hex);
	assert_memory_equal(out, "0x", 2);
}

static void test_unknown_algorithm(void **state)
{
	uint8_t out[CHAP_DIGEST_MAX];

	assert_int_equal(chap_digest_len(4), 0);
	assert_int_equal(chap_digest(4, 1, "s", 1, "c", 1, out), -ENOTSUP);
}

static void test_alg_choose(void **state)
{
	assert_int_equal(chap_alg_choose("7,5", NULL), CHAP_A_SHA256);
	/* The initiator's order, restricted to what we accept. */
	assert_int_equal(chap_alg_choose("8,7,5", "5,7"), CHAP_A_SHA256);
	assert_int_equal(chap_alg_choose("128,6", NULL), CHAP_A_SHA1);
	assert_int_equal(chap_alg_choose("1,2", NULL), -ENOTSUP);
	assert_int_equal(chap_alg_choose("7,,5", NULL), -EINVAL);
	assert_int_equal(chap_alg_choose("", NULL), -EINVAL);
	assert_int_equal(chap_alg_choose("md5", NULL), -EINVAL);
}

static void test_hex_decode(void **state)
{
	uint8_t b[8];

	assert_int_equal(chap_decode("0x0aFF", b, sizeof(b)), 2);
	assert_int_equal(b[0], 0x0a);
	assert_int_equal(b[1], 0xff);
	/* Odd digit count: a leading zero nibble (RFC 7143 section 6.1). */
	assert_int_equal(chap_decode("0XabC", b, sizeof(b)), 2);
	assert_int_equal(b[0], 0x0a);
	assert_int_equal(b[1], 0xbc);
}

static void test_hex_decode_errors(void **state)
{
	uint8_t b[2];

	assert_int_equal(chap_decode("0x", b, sizeof(b)), -EINVAL);
	assert_int_equal(chap_decode("0xzz", b, sizeof(b)), -EINVAL);
	assert_int_equal(chap_decode("abcd", b, sizeof(b)), -EINVAL);
	assert_int_equal(chap_decode("0x112233", b, sizeof(b)), -EMSGSIZE);
}

static void test_base64_decode(void **state)
{
	uint8_t b[16];

	/* `printf 'hello world' | base64` gives aGVsbG8gd29ybGQ= */
	assert_int_equal(chap_decode("0baGVsbG8gd29ybGQ=", b, sizeof(b)), 11);
	assert_memory_equal(b, "hello world", 11);
	/* `printf '\xde\xad\xbe\xef\x01' | base64` gives 3q2+7wE= */
	assert_int_equal(chap_decode("0B3q2+7wE=", b, sizeof(b)), 5);
	assert_memory_equal(b, "\xde\xad\xbe\xef\x01", 5);
}

static void test_base64_decode_errors(void **state)
{
	uint8_t b[16];

	assert_int_equal(chap_decode("0babc", b, sizeof(b)), -EINVAL);  /* not a multiple of 4 */
	assert_int_equal(chap_decode("0ba=bc", b, sizeof(b)), -EINVAL); /* not a multiple of 4 */
	assert_int_equal(chap_decode("0ba=bc", b, sizeof(b)), -EINVAL);
	assert_int_equal(chap_decode("0bab=c", b, sizeof(b)), -EINVAL); /* '=' inside */
	assert_int_equal(chap_decode("0ba*cd", b, sizeof(b)), -EINVAL);
	assert_int_equal(chap_decode("0b", b, sizeof(b)), -EINVAL);
	assert_int_equal(chap_decode("0baGVsbG8gd29ybGQ=", b, 4), -EMSGSIZE);
}

static void test_encode_roundtrip(void **state)
{
	uint8_t in[7] = {0, 1, 0xfe, 0xff, 0x80, 0x7f, 0x55}, back[7];
	char s[64];

	for (size_t n = 1; n <= sizeof(in); n++) {
		assert_true(chap_encode_base64(in, n, s, sizeof(s)) > 2);
		assert_int_equal(chap_decode(s, back, sizeof(back)), (ssize_t)n);
		assert_memory_equal(back, in, n);
		assert_int_equal(chap_encode_hex(in, n, s, sizeof(s)), (ssize_t)(2 + 2 * n));
		assert_int_equal(chap_decode(s, back, sizeof(back)), (ssize_t)n);
		assert_memory_equal(back, in, n);
	}
	assert_string_equal(
	        (chap_encode_base64((const uint8_t *)"hello world", 11, s, sizeof(s)), s),
	        "0baGVsbG8gd29ybGQ=");
	assert_int_equal(chap_encode_hex(in, 7, s, 10), -EMSGSIZE);
}

static void test_challenge_fresh_and_long_enough(void **state)
{
	struct chap_challenge a, b;
	struct keys *k = keys_new();

	assert_int_equal(chap_challenge_new(&a, CHAP_A_MD5, k), 0);
	assert_int_equal(a.len, 16);
	assert_non_null(keys_find(k, "CHAP_I"));
	assert_int_equal(strlen(keys_find(k, "CHAP_C")), 2 + 32);
	assert_int_equal(chap_challenge_new(&b, CHAP_A_SHA3_256, NULL), 0);
	assert_int_equal(b.len, 32);
	/* Two challenges are not the same (a 2^-128 chance of a false failure). */
	assert_memory_not_equal(a.data, b.data, 16);
	keys_free(k);
}

static void test_verify_good_and_bad(void **state)
{
	struct chap_challenge c;
	char chal[80], id[8], resp[80];

	for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		assert_int_equal(chap_challenge_new(&c, kats[i].alg, NULL), 0);
		chap_encode_hex(c.data, c.len, chal, sizeof(chal));
		snprintf(id, sizeof(id), "%u", c.id);
		assert_int_equal(
		        chap_respond(c.alg, id, chal, "goodsecret12", 12, NULL, resp, sizeof(resp)),
		        0);
		assert_int_equal(chap_verify(&c, resp, "goodsecret12", 12), 0);
		assert_int_equal(chap_verify(&c, resp, "wrongsecret1", 12), -EACCES);
	}
}

static void test_verify_flipped_bit(void **state)
{
	struct chap_challenge c;
	uint8_t d[CHAP_DIGEST_MAX];
	char resp[80];
	ssize_t n;

	assert_int_equal(chap_challenge_new(&c, CHAP_A_SHA256, NULL), 0);
	n = chap_digest(c.alg, c.id, "goodsecret12", 12, c.data, c.len, d);
	d[n - 1] ^= 1;
	chap_encode_hex(d, (size_t)n, resp, sizeof(resp));
	assert_int_equal(chap_verify(&c, resp, "goodsecret12", 12), -EACCES);
}

static void test_verify_wrong_length_and_garbage(void **state)
{
	struct chap_challenge c;

	assert_int_equal(chap_challenge_new(&c, CHAP_A_SHA256, NULL), 0);
	/* An MD5-sized answer to a SHA-256 challenge. */
	assert_int_equal(chap_verify(&c, "0x00112233445566778899aabbccddeeff", "goodsecret12", 12),
	                 -EACCES);
	assert_int_equal(chap_verify(&c, "nothex", "goodsecret12", 12), -EINVAL);
	assert_int_equal(chap_verify(&c, "0x0g", "goodsecret12", 12), -EINVAL);
}

static void test_reflected_challenge_refused(void **state)
{
	struct chap_challenge mine;
	char chal[80], id[8], resp[80];

	assert_int_equal(chap_challenge_new(&mine, CHAP_A_SHA1, NULL), 0);
	chap_encode_hex(mine.data, mine.len, chal, sizeof(chal));
	snprintf(id, sizeof(id), "%u", mine.id);
	assert_int_equal(
	        chap_respond(CHAP_A_SHA1, id, chal, "targetsecret", 12, &mine, resp, sizeof(resp)),
	        -EACCES);
	/* The same bytes in base64 are the same challenge. */
	chap_encode_base64(mine.data, mine.len, chal, sizeof(chal));
	assert_int_equal(
	        chap_respond(CHAP_A_SHA1, id, chal, "targetsecret", 12, &mine, resp, sizeof(resp)),
	        -EACCES);
}

static void test_respond_input_checks(void **state)
{
	char resp[80];

	/* CHAP_I is one octet. */
	assert_int_equal(chap_respond(CHAP_A_MD5, "256", "0x00112233445566778899aabbccddeeff", "s",
	                              1, NULL, resp, sizeof(resp)),
	                 -EINVAL);
	/* A challenge shorter than CHAP_CHALLENGE_MIN. */
	assert_int_equal(chap_respond(CHAP_A_MD5, "1", "0x0011", "s", 1, NULL, resp, sizeof(resp)),
	                 -EINVAL);
	assert_int_equal(chap_respond(CHAP_A_MD5, NULL, "0x00", "s", 1, NULL, resp, sizeof(resp)),
	                 -EINVAL);
}

static void test_secret_length_rules(void **state)
{
	assert_false(chap_secret_ok(11, false));
	assert_true(chap_secret_ok(12, false));
	assert_true(chap_secret_ok(11, true));
	assert_false(chap_secret_ok(0, true));
	assert_false(chap_secret_ok(CHAP_SECRET_MAX + 1, true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_known_answers),
	        cmocka_unit_test(test_respond_known_answer),
	        cmocka_unit_test(test_unknown_algorithm),
	        cmocka_unit_test(test_alg_choose),
	        cmocka_unit_test(test_hex_decode),
	        cmocka_unit_test(test_hex_decode_errors),
	        cmocka_unit_test(test_base64_decode),
	        cmocka_unit_test(test_base64_decode_errors),
	        cmocka_unit_test(test_encode_roundtrip),
	        cmocka_unit_test(test_challenge_fresh_and_long_enough),
	        cmocka_unit_test(test_verify_good_and_bad),
	        cmocka_unit_test(test_verify_flipped_bit),
	        cmocka_unit_test(test_verify_wrong_length_and_garbage),
	        cmocka_unit_test(test_reflected_challenge_refused),
	        cmocka_unit_test(test_respond_input_checks),
	        cmocka_unit_test(test_secret_length_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
