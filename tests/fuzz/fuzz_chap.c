/*
 * Fuzz CHAP value parsing: the input is an algorithm byte, then up to three
 * NUL-separated strings taken as CHAP_I, CHAP_C and CHAP_R (and as a
 * CHAP_A list) the way a peer's login keys would bring them.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/chap.h"

#define FUZZ_CHAP_MAX 12000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const char *s)
{
	uint8_t b[CHAP_CHALLENGE_MAX], b2[CHAP_CHALLENGE_MAX];
	char enc[2 + 4 * CHAP_CHALLENGE_MAX + 4];
	ssize_t n = chap_decode(s, b, sizeof(b));

	if (n < 0)
		return;
	/* Decoding then encoding either way gives back the same bytes. */
	if (chap_encode_hex(b, (size_t)n, enc, sizeof(enc)) < 0 ||
	    chap_decode(enc, b2, sizeof(b2)) != n || memcmp(b, b2, (size_t)n) != 0)
		abort();
	if (chap_encode_base64(b, (size_t)n, enc, sizeof(enc)) < 0 ||
	    chap_decode(enc, b2, sizeof(b2)) != n || memcmp(b, b2, (size_t)n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[FUZZ_CHAP_MAX + 4], resp[2 + 2 * CHAP_DIGEST_MAX + 1];
	const char *field[3] = {"", "", ""};
	struct chap_challenge c = {.alg = CHAP_A_SHA256, .id = 7, .len = 32};
	int alg, rc;
	size_t at = 0;

	if (size < 1 || size > FUZZ_CHAP_MAX)
		return 0;
	alg = data[0] & 0x0f;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	for (int i = 0; i < 3 && at < size - 1; i++) {
		field[i] = s + at;
		at += strlen(s + at) + 1;
	}
	for (int i = 0; i < 3; i++)
		roundtrip(field[i]);
	rc = chap_alg_choose(field[0], field[1][0] ? field[1] : NULL);
	if (rc >= 0 && chap_digest_len(rc) == 0)
		abort();
	rc = chap_respond(alg, field[0], field[1], "fuzzsecret12", 12, &c, resp, sizeof(resp));
	if (rc == 0 &&
	    (strncmp(resp, "0x", 2) != 0 || strlen(resp) != 2 + 2 * chap_digest_len(alg)))
		abort();
	memset(c.data, 0x5a, sizeof(c.data));
	rc = chap_verify(&c, field[2], "fuzzsecret12", 12);
	if (rc != 0 && rc != -EACCES && rc != -EINVAL)
		abort();
	return 0;
}
