/* iSCSI name validation; see names.h. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "lib/names.h"

#define EUI_HEX_LEN   16 /* 4.2.7.4: an EUI-64 */
#define NAA_HEX_SHORT 16 /* 4.2.7.5: 64-bit NAA */
#define NAA_HEX_LONG  32 /* 4.2.7.5: 128-bit NAA */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int fail(const char **reason, const char *why)
{
	if (reason)
		*reason = why;
	return -EINVAL;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_hex(s[i]))
			return false;
	return true;
}

/* 4.2.7.3: "iqn." yyyy-mm "." reversed domain name [ ":" unique string ]. */
static int check_iqn(const char *s, const char **reason)
{
	const char *p = s + 4, *end;
	int month;

	if (!(is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3]) && p[4] == '-' &&
	      is_digit(p[5]) && is_digit(p[6])))
		return fail(reason, "iqn name needs a yyyy-mm date after \"iqn.\"");
	month = (p[5] - '0') * 10 + (p[6] - '0');
	if (month < 1 || month > 12)
		return fail(reason, "iqn date has a month outside 01..12");
	p += 7;
	if (*p != '.')
		return fail(reason, "iqn date must be followed by '.' and a reversed domain name");
	p++;
	end = strchr(p, ':');
	if (!end)
		end = p + strlen(p);
	if (p == end)
		return fail(reason, "iqn name lacks the reversed domain name");
	for (const char *q = p; q < end; q++) {
		if (*q == '.') {
			if (q == p || q[-1] == '.' || q + 1 == end)
				return fail(reason, "empty label in the iqn domain name");
		} else if (!is_lower(*q) && !is_digit(*q) && *q != '-') {
			return fail(reason, "iqn domain name may hold only a-z, 0-9, '-' and '.'");
		}
	}
	if (*end == ':' && end[1] == '\0')
		return fail(reason, "iqn name ends with an empty string after ':'");
	return 0;
}

int names_check(const char *name, const char **reason)
{
	size_t len;

	if (!name || !*name)
		return fail(reason, "empty name");
	len = strlen(name);
	if (len > ISCSI_NAME_MAX)
		return fail(reason, "longer than 223 bytes");
	if (strncmp(name, "eui.", 4) == 0) {
		if (len != 4 + EUI_HEX_LEN || !all_hex(name + 4, EUI_HEX_LEN))
			return fail(reason, "eui name needs exactly 16 hex digits");
		return 0;
	}
	if (strncmp(name, "naa.", 4) == 0) {
		if ((len != 4 + NAA_HEX_SHORT && len != 4 + NAA_HEX_LONG) ||
		    !all_hex(name + 4, len - 4))
			return fail(reason, "naa name needs 16 or 32 hex digits");
		return 0;
	}
	if (strncmp(name, "iqn.", 4) != 0)
		return fail(reason, "name must start with iqn., eui. or naa.");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c >= 'A' && c <= 'Z')
			return fail(reason,
			            "uppercase letters are not allowed (RFC 3722 maps them)");
		if (c < 0x80 && !is_lower((char)c) && !is_digit((char)c) && c != '-' && c != '.' &&
		    c != ':')
			return fail(reason, "character outside a-z, 0-9, '-', '.', ':'");
	}
	return check_iqn(name, reason);
}
