#include "chap.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "negotiate.h"

static const EVP_MD *chap_md(int alg)
{
	switch (alg) {
	case CHAP_A_MD5:
		return EVP_md5();
	case CHAP_A_SHA1:
		return EVP_sha1();
	case CHAP_A_SHA256:
		return EVP_sha256();
	case CHAP_A_SHA3_256:
		return EVP_sha3_256();
	default:
		return NULL;
	}
}

size_t chap_digest_len(int alg)
{
	switch (alg) {
	case CHAP_A_MD5:
		return 16;
	case CHAP_A_SHA1:
		return 20;
	case CHAP_A_SHA256:
	case CHAP_A_SHA3_256:
		return 32;
	default:
		return 0;
	}
}

/* Whether number n appears in a comma-separated list of numbers. */
static int list_has_number(const char *list, uint32_t n, bool *found)
{
	const char *p = list;

	*found = false;
	for (size_t guard = 0; guard < KEYS_VALUE_MAX && *p != '\0'; guard++) {
		char item[16];
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		uint32_t v;

		if (l == 0 || l >= sizeof(item))
			return -EINVAL;
		memcpy(item, p, l);
		item[l] = '\0';
		/* Unknown algorithm numbers are fine in an offer; only syntax matters. */
		if (neg_parse_u32(item, 0, UINT32_MAX, &v) < 0)
			return -EINVAL;
		if (v == n)
			*found = true;
		if (c == NULL)
			break;
		p = c + 1;
	}
	return 0;
}

int chap_alg_choose(const char *offer, const char *accept)
{
	const char *p = offer;
	bool unused;

	/* The whole list must be well-formed, not just its part up to our pick. */
	if (*p == '\0' || list_has_number(offer, 0, &unused) < 0)
		return -EINVAL;
	/* RFC 7143 section 12.1.3: the target picks from the initiator's list, in its order. */
	for (size_t guard = 0; guard < KEYS_VALUE_MAX && *p != '\0'; guard++) {
		char item[16];
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		uint32_t v;
		bool ok = true;

		if (l == 0 || l >= sizeof(item))
			return -EINVAL;
		memcpy(item, p, l);
		item[l] = '\0';
		if (neg_parse_u32(item, 0, UINT32_MAX, &v) < 0)
			return -EINVAL;
		if (accept != NULL && list_has_number(accept, v, &ok) < 0)
			return -EINVAL;
		if (ok && v <= 255 && chap_digest_len((int)v) != 0)
			return (int)v;
		if (c == NULL)
			break;
		p = c + 1;
	}
	return -ENOTSUP;
}

ssize_t chap_digest(int alg, uint8_t id, const void *secret, size_t secret_len,
                    const void *challenge, size_t challenge_len, uint8_t *out)
{
	const EVP_MD *md = chap_md(alg);
	EVP_MD_CTX *ctx = NULL;
	unsigned int len = 0;
	ssize_t rc = -EIO;

	if (md == NULL)
		return -ENOTSUP;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	/* MD5 may be missing under a FIPS provider: that is "not supported", not a crash. */
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		rc = -ENOTSUP;
		goto out;
	}
	if (EVP_DigestUpdate(ctx, &id, 1) != 1 || EVP_DigestUpdate(ctx, secret, secret_len) != 1 ||
	    EVP_DigestUpdate(ctx, challenge, challenge_len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1)
		goto out;
	rc = (ssize_t)len;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static ssize_t decode_hex(const char *s, size_t len, uint8_t *out, size_t cap)
{
	size_t n = (len + 1) / 2, o = 0, i = 0;

	if (len == 0)
		return -EINVAL;
	if (n > cap)
		return -EMSGSIZE;
	/* An odd count: the first digit stands alone (leading zero nibble). */
	if (len % 2 == 1) {
		int v = hex_nibble(s[0]);

		if (v < 0)
			return -EINVAL;
		out[o++] = (uint8_t)v;
		i = 1;
	}
	for (; i < len; i += 2) {
		int hi = hex_nibble(s[i]), lo = hex_nibble(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[o++] = (uint8_t)(hi << 4 | lo);
	}
	return (ssize_t)o;
}

/* RFC 4648 base64 with padding, as RFC 7143 section 6.1 asks. */
static ssize_t decode_b64(const char *s, size_t len, uint8_t *out, size_t cap)
{
	size_t o = 0, pad = 0;

	if (len == 0 || len % 4 != 0)
		return -EINVAL;
	if (s[len - 1] == '=')
		pad++;
	if (s[len - 2] == '=')
		pad++;
	if (len / 4 * 3 - pad > cap)
		return -EMSGSIZE;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		bool last = i + 4 == len;

		for (int j = 0; j < 4; j++) {
			v[j] = b64_value(s[i + j]);
			if (v[j] < 0) {
				/* '=' only in the last one or two places. */
				if (!(s[i + j] == '=' && last && j >= 4 - (int)pad))
					return -EINVAL;
				v[j] = 0;
			}
		}
		out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (!(last && pad == 2))
			out[o++] = (uint8_t)((v[1] & 0xf) << 4 | v[2] >> 2);
		if (!(last && pad >= 1))
			out[o++] = (uint8_t)((v[2] & 0x3) << 6 | v[3]);
	}
	return (ssize_t)o;
}

ssize_t chap_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t len = strlen(s);

	if (len < 2 || s[0] != '0')
		return -EINVAL;
	if (s[1] == 'x' || s[1] == 'X')
		return decode_hex(s + 2, len - 2, out, cap);
	if (s[1] == 'b' || s[1] == 'B')
		return decode_b64(s + 2, len - 2, out, cap);
	return -EINVAL;
}

ssize_t chap_encode_hex(const uint8_t *b, size_t n, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	if (cap < 2 + 2 * n + 1)
		return -EMSGSIZE;
	out[o++] = '0';
	out[o++] = 'x';
	for (size_t i = 0; i < n; i++) {
		out[o++] = digits[b[i] >> 4];
		out[o++] = digits[b[i] & 0xf];
	}
	out[o] = '\0';
	return (ssize_t)o;
}

ssize_t chap_encode_base64(const uint8_t *b, size_t n, char *out, size_t cap)
{
	static const char tbl[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	if (cap < 2 + (n + 2) / 3 * 4 + 1)
		return -EMSGSIZE;
	out[o++] = '0';
	out[o++] = 'b';
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (uint32_t)b[i + 1] << 8;
		if (left > 2)
			v |= b[i + 2];
		out[o++] = tbl[v >> 18 & 0x3f];
		out[o++] = tbl[v >> 12 & 0x3f];
		out[o++] = left > 1 ? tbl[v >> 6 & 0x3f] : '=';
		out[o++] = left > 2 ? tbl[v & 0x3f] : '=';
	}
	out[o] = '\0';
	return (ssize_t)o;
}

bool chap_secret_ok(size_t len, bool allow_short)
{
	if (len == 0 || len > CHAP_SECRET_MAX)
		return false;
	return allow_short || len >= CHAP_SECRET_MIN;
}

int chap_challenge_new(struct chap_challenge *c, int alg, struct keys *out)
{
	char hex[2 + 2 * CHAP_DIGEST_MAX + 1];
	size_t dlen = chap_digest_len(alg);
	int rc;

	if (dlen == 0)
		return -ENOTSUP;
	memset(c, 0, sizeof(*c));
	c->alg = alg;
	c->len = dlen < CHAP_CHALLENGE_MIN ? CHAP_CHALLENGE_MIN : dlen;
	/* Fresh per login: a challenge is never reused (RFC 7143 section 12.1.3). */
	if (RAND_bytes(&c->id, 1) != 1 || RAND_bytes(c->data, (int)c->len) != 1)
		return -EIO;
	if (out == NULL)
		return 0;
	rc = keys_add_u32(out, "CHAP_I", c->id);
	if (rc < 0)
		return rc;
	if (chap_encode_hex(c->data, c->len, hex, sizeof(hex)) < 0)
		return -EMSGSIZE;
	return keys_add(out, "CHAP_C", hex);
}

int chap_verify(const struct chap_challenge *c, const char *chap_r, const void *secret,
                size_t secret_len)
{
	uint8_t got[CHAP_DIGEST_MAX], want[CHAP_DIGEST_MAX];
	ssize_t glen, wlen;

	glen = chap_decode(chap_r, got, sizeof(got));
	if (glen < 0)
		return glen == -EMSGSIZE ? -EACCES : -EINVAL;
	wlen = chap_digest(c->alg, c->id, secret, secret_len, c->data, c->len, want);
	if (wlen < 0)
		return (int)wlen;
	if (glen != wlen)
		return -EACCES;
	return CRYPTO_memcmp(got, want, (size_t)wlen) == 0 ? 0 : -EACCES;
}

int chap_respond(int alg, const char *chap_i, const char *chap_c, const void *secret,
                 size_t secret_len, const struct chap_challenge *mine, char *out, size_t cap)
{
	uint8_t chal[CHAP_CHALLENGE_MAX];
	uint8_t dig[CHAP_DIGEST_MAX];
	uint32_t id;
	ssize_t clen, dlen;

	if (chap_i == NULL || chap_c == NULL)
		return -EINVAL;
	/* RFC 1994 section 4.1: the identifier is one octet. */
	if (neg_parse_u32(chap_i, 0, 255, &id) < 0)
		return -EINVAL;
	clen = chap_decode(chap_c, chal, sizeof(chal));
	if (clen < 0)
		return -EINVAL;
	if (clen < CHAP_CHALLENGE_MIN)
		return -EINVAL;
	/*
	 * RFC 7143 section 12.1.3: a target that receives its own challenge
	 * back would hand the initiator the very response it must produce.
	 */
	if (mine != NULL && (size_t)clen == mine->len &&
	    CRYPTO_memcmp(chal, mine->data, mine->len) == 0)
		return -EACCES;
	dlen = chap_digest(alg, (uint8_t)id, secret, secret_len, chal, (size_t)clen, dig);
	if (dlen < 0)
		return (int)dlen;
	return chap_encode_hex(dig, (size_t)dlen, out, cap) < 0 ? -EMSGSIZE : 0;
}
