/*
 * CHAP for iSCSI login, RFC 7143 section 12.1.3 (on RFC 1994): the
 * response is H(CHAP_I || secret || CHAP_C). Digests come from libcrypto
 * EVP, challenges from RAND_bytes, comparisons from CRYPTO_memcmp.
 *
 * CHAP_A numbers are the IANA PPP authentication algorithm numbers, the
 * same that the Linux target (drivers/target/iscsi/iscsi_target_auth.h:
 * CHAP_DIGEST_MD5 5, CHAP_DIGEST_SHA1 6, CHAP_DIGEST_SHA256 7,
 * CHAP_DIGEST_SHA3_256 8) and open-iscsi (usr/auth.h, AUTH_CHAP_ALG_*)
 * use.
 */
#ifndef XI_CHAP_H
#define XI_CHAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keys.h"

#define CHAP_A_MD5      5
#define CHAP_A_SHA1     6
#define CHAP_A_SHA256   7
#define CHAP_A_SHA3_256 8

/* The largest digest of the algorithms above (SHA-256, SHA3-256). */
#define CHAP_DIGEST_MAX 32
/*
 * A received challenge must be at least as long as the shortest digest
 * (16 bytes, MD5): a shorter one weakens the response; the largest is the
 * 1024-byte limit of a large-binary-value (RFC 7143 section 6.1).
 */
#define CHAP_CHALLENGE_MIN 16
#define CHAP_CHALLENGE_MAX 1024
/*
 * RFC 7143 section 12.1.3: secrets of fewer than 96 random bits (12 bytes)
 * need IPsec; the Microsoft initiator enforces 12 as well, open-iscsi and
 * LIO set no minimum. 256 is open-iscsi's AUTH_STR_MAX_LEN.
 */
#define CHAP_SECRET_MIN 12
#define CHAP_SECRET_MAX 256
/* Room for a hex-encoded digest: "0x" + 2 per byte + NUL. */
#define CHAP_HEX_MAX (2 + 2 * CHAP_CHALLENGE_MAX + 1)

/* Default preference when this side offers CHAP_A (initiator). */
#define CHAP_A_DEFAULT_LIST "7,8,6,5"

/* Digest length of an algorithm, or 0 when it is not one of the four above. */
size_t chap_digest_len(int alg);

/*
 * Pick the first algorithm of a peer's CHAP_A list that is also in
 * `accept` (same syntax, "7,5"); NULL accept means all four. Returns the
 * number or -ENOTSUP when none fits, -EINVAL when the list is malformed.
 */
int chap_alg_choose(const char *offer, const char *accept);

/* H(id || secret || challenge) into out (CHAP_DIGEST_MAX bytes); returns the length or -errno. */
ssize_t chap_digest(int alg, uint8_t id, const void *secret, size_t secret_len,
                    const void *challenge, size_t challenge_len, uint8_t *out);

/*
 * Decode a binary value, "0x..." hex or "0b..." base64 (RFC 7143 section
 * 6.1, an odd hex digit count implies a leading zero nibble). Returns the
 * byte count, -EINVAL for bad syntax, -EMSGSIZE when over cap.
 */
ssize_t chap_decode(const char *s, uint8_t *out, size_t cap);
/* Encode as "0x" hex / "0b" base64 into out; returns the string length or -EMSGSIZE. */
ssize_t chap_encode_hex(const uint8_t *b, size_t n, char *out, size_t cap);
ssize_t chap_encode_base64(const uint8_t *b, size_t n, char *out, size_t cap);

/* Whether a secret's length is acceptable (CHAP_SECRET_MIN unless allow_short). */
bool chap_secret_ok(size_t len, bool allow_short);

/* One challenge this side sent: kept to check the answer and to spot reflection. */
struct chap_challenge {
	int alg;
	uint8_t id;
	size_t len;
	uint8_t data[CHAP_DIGEST_MAX];
};

/*
 * A fresh random identifier and challenge, as long as the digest of alg
 * (at least CHAP_CHALLENGE_MIN). Adds CHAP_I and CHAP_C to out when out is
 * not NULL. Returns 0 or -errno (-EIO when the RNG fails).
 */
int chap_challenge_new(struct chap_challenge *c, int alg, struct keys *out);

/*
 * Check a CHAP_R value against our challenge and the secret we expect.
 * 0 when it matches, -EACCES when it does not, -EINVAL when malformed.
 */
int chap_verify(const struct chap_challenge *c, const char *chap_r, const void *secret,
                size_t secret_len);

/*
 * Answer a peer's CHAP_I / CHAP_C: writes the CHAP_R value (hex) to out.
 * `mine` (may be NULL) is the challenge this side sent on the same
 * connection: a peer that sends it back is reflecting it to get our
 * response computed for it (RFC 7143 section 12.1.3), answered -EACCES.
 * -EINVAL when CHAP_I or CHAP_C is malformed or the challenge too short.
 */
int chap_respond(int alg, const char *chap_i, const char *chap_c, const void *secret,
                 size_t secret_len, const struct chap_challenge *mine, char *out, size_t cap);

#endif
