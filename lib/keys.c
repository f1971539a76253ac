#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct keys_pair {
	char *name;
	char *value;
};

struct keys {
	struct keys_pair *pairs;
	size_t count;
	size_t cap;
	size_t max_keys;
	size_t max_total;
	size_t total; /* bytes of the saved form of every pair */
	/* Pieces received with the C bit set, waiting for the last one. */
	char *acc;
	size_t acc_len;
	size_t acc_cap;
	bool acc_open;
};

struct keys *keys_new(void)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->max_keys = KEYS_DEFAULT_MAX_KEYS;
	k->max_total = KEYS_DEFAULT_MAX_TOTAL;
	return k;
}

void keys_clear(struct keys *k)
{
	for (size_t i = 0; i < k->count; i++) {
		free(k->pairs[i].name);
		free(k->pairs[i].value);
	}
	k->count = 0;
	k->total = 0;
	k->acc_len = 0;
	k->acc_open = false;
}

void keys_free(struct keys *k)
{
	if (k == NULL)
		return;
	keys_clear(k);
	free(k->pairs);
	free(k->acc);
	free(k);
}

void keys_set_limits(struct keys *k, size_t max_keys, size_t max_total)
{
	if (max_keys != 0)
		k->max_keys = max_keys;
	if (max_total != 0)
		k->max_total = max_total;
}

size_t keys_value_max(const char *name)
{
	/* RFC 7143 section 12.1.3: challenge and response are large binary values. */
	if (strcmp(name, "CHAP_C") == 0 || strcmp(name, "CHAP_R") == 0)
		return KEYS_LARGE_VALUE_MAX;
	return KEYS_VALUE_MAX;
}

/*
 * RFC 7143 section 6.1: a standard-label starts with a capital letter and
 * holds letters, digits, '.', '-', '+', '@' and '_'; vendor keys start
 * with "X-" or "X#" (section 13.16), hence '#'.
 */
static bool name_char_ok(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '+' || c == '@' || c == '_' || c == '#';
}

static int check_name(const char *name, size_t len)
{
	if (len == 0)
		return KEYS_ERR_SYNTAX;
	if (len > KEYS_NAME_MAX)
		return KEYS_ERR_NAME_LONG;
	if (!(name[0] >= 'A' && name[0] <= 'Z'))
		return KEYS_ERR_SYNTAX;
	for (size_t i = 0; i < len; i++)
		if (!name_char_ok((unsigned char)name[i]))
			return KEYS_ERR_SYNTAX;
	return 0;
}

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF. Control characters have no place in any iSCSI value either.
 */
bool keys_text_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t j = 1; j <= n; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		if (cp >= 0x80 && cp < 0xa0) /* C1 controls */
			return false;
		i += n + 1;
	}
	return true;
}

static ssize_t find_index(const struct keys *k, const char *name, size_t len)
{
	for (size_t i = 0; i < k->count; i++)
		if (strlen(k->pairs[i].name) == len && memcmp(k->pairs[i].name, name, len) == 0)
			return (ssize_t)i;
	return -1;
}

/* Check and append one pair given as (pointer, length) pieces. */
static int add_pair(struct keys *k, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct keys_pair *pp;
	char *n = NULL, *v = NULL;
	size_t add = nlen + 1 + vlen + 1;
	int rc;

	rc = check_name(name, nlen);
	if (rc < 0)
		return rc;
	n = strndup(name, nlen);
	if (n == NULL)
		return KEYS_ERR_NOMEM;
	if (vlen > keys_value_max(n)) {
		rc = KEYS_ERR_VALUE_LONG;
		goto out;
	}
	if (!keys_text_valid(value, vlen)) {
		rc = KEYS_ERR_ENCODING;
		goto out;
	}
	if (find_index(k, name, nlen) >= 0) {
		rc = KEYS_ERR_DUPLICATE;
		goto out;
	}
	if (k->count >= k->max_keys) {
		rc = KEYS_ERR_TOO_MANY;
		goto out;
	}
	if (k->total + add > k->max_total) {
		rc = KEYS_ERR_TOO_BIG;
		goto out;
	}
	if (k->count == k->cap) {
		size_t ncap = k->cap ? k->cap * 2 : 8;

		pp = realloc(k->pairs, ncap * sizeof(*pp));
		if (pp == NULL) {
			rc = KEYS_ERR_NOMEM;
			goto out;
		}
		k->pairs = pp;
		k->cap = ncap;
	}
	v = strndup(value, vlen);
	if (v == NULL) {
		rc = KEYS_ERR_NOMEM;
		goto out;
	}
	k->pairs[k->count].name = n;
	k->pairs[k->count].value = v;
	k->count++;
	k->total += add;
	return 0;
out:
	free(n);
	free(v);
	return rc;
}

/* Parse a complete "k=v\0k=v\0" buffer into k. */
static int parse(struct keys *k, const char *buf, size_t len)
{
	size_t i = 0;

	/* RFC 7143 section 6.1: every pair, the last one included, ends with NUL. */
	if (len > 0 && buf[len - 1] != '\0')
		return KEYS_ERR_UNTERMINATED;
	while (i < len) {
		const char *pair = buf + i;
		size_t plen = strlen(pair); /* bounded: buf[len - 1] is NUL */
		const char *eq = memchr(pair, '=', plen);
		int rc;

		/* Padding after the last pair is NUL bytes; tolerate empty entries. */
		if (plen == 0) {
			i++;
			continue;
		}
		if (eq == NULL)
			return KEYS_ERR_SYNTAX;
		rc = add_pair(k, pair, (size_t)(eq - pair), eq + 1, plen - (size_t)(eq - pair) - 1);
		if (rc < 0)
			return rc;
		i += plen + 1;
	}
	return 0;
}

int keys_feed(struct keys *k, const void *data, size_t len, bool more)
{
	int rc;

	if (len > k->max_total || k->acc_len > k->max_total - len)
		return KEYS_ERR_TOO_BIG;
	if (!k->acc_open && !more)
		return parse(k, data, len);
	if (k->acc_len + len > k->acc_cap) {
		size_t ncap = k->acc_cap ? k->acc_cap : 1024;
		char *na;

		while (ncap < k->acc_len + len)
			ncap *= 2;
		na = realloc(k->acc, ncap);
		if (na == NULL)
			return KEYS_ERR_NOMEM;
		k->acc = na;
		k->acc_cap = ncap;
	}
	if (len > 0)
		memcpy(k->acc + k->acc_len, data, len);
	k->acc_len += len;
	k->acc_open = more;
	if (more)
		return 0;
	rc = parse(k, k->acc, k->acc_len);
	k->acc_len = 0;
	return rc;
}

int keys_load(struct keys *k, const void *data, size_t len)
{
	return keys_feed(k, data, len, false);
}

bool keys_pending(const struct keys *k)
{
	return k->acc_open;
}

const char *keys_find(const struct keys *k, const char *name)
{
	ssize_t i = find_index(k, name, strlen(name));

	return i < 0 ? NULL : k->pairs[i].value;
}

size_t keys_count(const struct keys *k)
{
	return k->count;
}

const char *keys_name(const struct keys *k, size_t i)
{
	return i < k->count ? k->pairs[i].name : NULL;
}

const char *keys_value(const struct keys *k, size_t i)
{
	return i < k->count ? k->pairs[i].value : NULL;
}

int keys_add(struct keys *k, const char *name, const char *value)
{
	return add_pair(k, name, strlen(name), value, strlen(value));
}

int keys_add_u32(struct keys *k, const char *name, uint32_t value)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", value);
	return keys_add(k, name, buf);
}

int keys_set(struct keys *k, const char *name, const char *value)
{
	ssize_t i = find_index(k, name, strlen(name));
	size_t vlen = strlen(value), olen;
	char *v;

	if (i < 0)
		return keys_add(k, name, value);
	if (vlen > keys_value_max(name))
		return KEYS_ERR_VALUE_LONG;
	if (!keys_text_valid(value, vlen))
		return KEYS_ERR_ENCODING;
	olen = strlen(k->pairs[i].value);
	if (vlen > olen && k->total + (vlen - olen) > k->max_total)
		return KEYS_ERR_TOO_BIG;
	v = strdup(value);
	if (v == NULL)
		return KEYS_ERR_NOMEM;
	free(k->pairs[i].value);
	k->pairs[i].value = v;
	k->total = k->total - olen + vlen;
	return 0;
}

size_t keys_save_len(const struct keys *k)
{
	return k->total;
}

ssize_t keys_save(const struct keys *k, void *buf, size_t cap)
{
	char *p = buf;
	size_t off = 0;

	if (cap < k->total)
		return KEYS_ERR_TOO_BIG;
	for (size_t i = 0; i < k->count; i++) {
		size_t nl = strlen(k->pairs[i].name), vl = strlen(k->pairs[i].value);

		memcpy(p + off, k->pairs[i].name, nl);
		off += nl;
		p[off++] = '=';
		memcpy(p + off, k->pairs[i].value, vl);
		off += vl;
		p[off++] = '\0';
	}
	return (ssize_t)off;
}
