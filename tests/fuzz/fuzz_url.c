/* Fuzz the URL, portal and iSCSI name parsers with one NUL-terminated string. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/lun.h"
#include "lib/names.h"
#include "lib/url.h"

#define FUZZ_URL_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[FUZZ_URL_MAX + 1];
	struct url_iscsi u;
	char host[64];
	uint16_t port;
	int32_t tpgt;
	const char *why;

	if (size > FUZZ_URL_MAX)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (url_parse(s, &u) == 0) {
		if (!u.host[0] || u.port == 0 || u.lun > LUN_FLAT_MAX || !u.target[0])
			abort();
		if ((u.user[0] == '\0') != (u.secret[0] == '\0'))
			abort();
	}
	if (url_parse_portal(s, &u) == 0 && (!u.host[0] || u.port == 0))
		abort();
	if (url_parse_hostport(s, host, sizeof(host), &port, 3260, &tpgt) == 0) {
		if (!host[0] || strlen(host) >= sizeof(host) || tpgt > 65535)
			abort();
	}
	why = NULL;
	if (names_check(s, &why) == 0) {
		if (strlen(s) > ISCSI_NAME_MAX)
			abort();
	} else if (!why) {
		abort();
	}
	return 0;
}
