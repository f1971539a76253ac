/* iSCSI URL and portal parsing; see url.h. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/lun.h"
#include "lib/pdu.h"
#include "lib/url.h"

#define URL_SCHEME   "iscsi://"
#define URL_TPGT_MAX 65535 /* 13.9: the portal group tag is 16 bits */
#define URL_PORT_MAX 65535

/* Copy [s, s+n) into dst of size cap. */
static int copy_span(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* Decimal digits only (no sign, no space), value in [lo, hi]. */
static int parse_uint(const char *s, size_t n, unsigned long lo, unsigned long hi,
                      unsigned long *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 10)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode [s, s+n) into dst; rejects bad escapes and a decoded NUL. */
static int decode_span(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (n - i < 3)
				return -EINVAL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

int url_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port,
                       uint16_t default_port, int32_t *tpgt)
{
	const char *end, *h, *hend, *p = NULL, *pend = NULL;
	unsigned long v;
	int r;

	if (!s || !host || hostlen == 0 || !port)
		return -EINVAL;
	end = s + strlen(s);
	if (tpgt) {
		const char *comma = strrchr(s, ',');

		*tpgt = -1;
		if (comma) {
			if (parse_uint(comma + 1, (size_t)(end - comma - 1), 0, URL_TPGT_MAX, &v))
				return -EINVAL;
			*tpgt = (int32_t)v;
			end = comma;
		}
	}
	if (*s == '[') {
		h = s + 1;
		hend = memchr(h, ']', (size_t)(end - h));
		if (!hend)
			return -EINVAL;
		if (hend + 1 < end) {
			if (hend[1] != ':')
				return -EINVAL;
			p = hend + 2;
			pend = end;
		}
	} else {
		const char *colon = memchr(s, ':', (size_t)(end - s));

		h = s;
		hend = end;
		/* More than one ':' without brackets: an IPv6 literal, no port. */
		if (colon && !memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
			hend = colon;
			p = colon + 1;
			pend = end;
		}
	}
	if (hend == h)
		return -EINVAL;
	for (const char *q = h; q < hend; q++)
		if (*q == '/' || *q == '@' || *q == '[' || *q == ']' || *q == ' ' || *q == ',')
			return -EINVAL;
	r = copy_span(host, hostlen, h, (size_t)(hend - h));
	if (r)
		return r;
	*port = default_port;
	if (p) {
		if (parse_uint(p, (size_t)(pend - p), 1, URL_PORT_MAX, &v))
			return -EINVAL;
		*port = (uint16_t)v;
	}
	return 0;
}

static int parse_query(const char *q, struct url_iscsi *u)
{
	while (*q) {
		const char *amp = strchr(q, '&'), *eq;
		size_t n = amp ? (size_t)(amp - q) : strlen(q), klen;
		const char *val;
		size_t vlen;

		eq = memchr(q, '=', n);
		klen = eq ? (size_t)(eq - q) : n;
		val = eq ? eq + 1 : q + n;
		vlen = eq ? n - klen - 1 : 0;
		if (klen == strlen("header_digest") && !strncmp(q, "header_digest", klen)) {
			if (vlen == 6 && !strncmp(val, "crc32c", 6))
				u->header_digest = URL_DIGEST_CRC32C;
			else if (vlen == 4 && !strncmp(val, "none", 4))
				u->header_digest = URL_DIGEST_NONE;
			else
				return -EINVAL;
		} else if (klen == strlen("target_user") && !strncmp(q, "target_user", klen)) {
			if (copy_span(u->target_user, sizeof(u->target_user), val, vlen))
				return -EINVAL;
		} else if (klen == strlen("target_password") &&
		           !strncmp(q, "target_password", klen)) {
			if (copy_span(u->target_secret, sizeof(u->target_secret), val, vlen))
				return -EINVAL;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

static int parse_common(const char *s, struct url_iscsi *u, bool full)
{
	char buf[1024];
	char *rest, *at, *slash, *query;
	unsigned long v;
	int r = -EINVAL;

	if (!s || !u)
		return -EINVAL;
	memset(u, 0, sizeof(*u));
	if (strncmp(s, URL_SCHEME, strlen(URL_SCHEME)) != 0)
		return -EINVAL;
	if (copy_span(buf, sizeof(buf), s + strlen(URL_SCHEME), strlen(s + strlen(URL_SCHEME))))
		return -EINVAL;
	rest = buf;

	query = strchr(rest, '?');
	if (query) {
		*query++ = '\0';
		if (parse_query(query, u))
			goto out;
	}
	/* The userinfo ends at the first '@' before the path. */
	slash = strchr(rest, '/');
	at = strchr(rest, '@');
	if (at && (!slash || at < slash)) {
		char *sep;

		*at = '\0';
		sep = strchr(rest, '%');
		if (!sep)
			sep = strchr(rest, ':');
		if (!sep || sep == rest || sep[1] == '\0')
			goto out;
		*sep = '\0';
		if (copy_span(u->user, sizeof(u->user), rest, strlen(rest)) ||
		    copy_span(u->secret, sizeof(u->secret), sep + 1, strlen(sep + 1)))
			goto out;
		rest = at + 1;
	}
	slash = strchr(rest, '/');
	if (slash)
		*slash = '\0';
	if (url_parse_hostport(rest, u->host, sizeof(u->host), &u->port, ISCSI_DEFAULT_PORT, NULL))
		goto out;
	if (!full) {
		/* A portal URL may end in '/', nothing after it. */
		if (!slash || slash[1] == '\0')
			r = 0;
		goto out;
	}
	if (!slash)
		goto out;
	rest = slash + 1;
	slash = strchr(rest, '/');
	if (!slash || slash == rest)
		goto out;
	*slash = '\0';
	if (decode_span(u->target, sizeof(u->target), rest, strlen(rest)))
		goto out;
	rest = slash + 1;
	if (parse_uint(rest, strlen(rest), 0, LUN_FLAT_MAX, &v))
		goto out;
	u->lun = (uint32_t)v;
	r = 0;
out:
	/* The copy held the secret; so may a half-filled result. */
	explicit_bzero(buf, sizeof(buf));
	if (r)
		explicit_bzero(u, sizeof(*u));
	return r;
}

int url_parse(const char *s, struct url_iscsi *u)
{
	return parse_common(s, u, true);
}

int url_parse_portal(const char *s, struct url_iscsi *u)
{
	return parse_common(s, u, false);
}
