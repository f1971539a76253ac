/*
 * iSCSI URLs as libiscsi writes them, and host:port portals.
 *
 *   iscsi://[user[%secret]@]host[:port]/target-name/lun[?key=value&...]
 *
 * Choices, matching libiscsi's iscsi_parse_full_url() where it is sound:
 * - The LUN is required in a full URL, decimal, 0..16383 (flat space).
 * - user and secret split at the first '%' (or, failing that, the first
 *   ':'), and are taken literally: a secret may itself hold '%'. Both must
 *   be present and non-empty, or neither.
 * - The target name is percent-decoded; a bad %XX is -EINVAL (libiscsi
 *   lets it through).
 * - host may be a bracketed IPv6 literal; port 1..65535, default 3260.
 * - Query keys: header_digest=crc32c|none, target_user, target_password
 *   (bidirectional CHAP). Unknown keys are ignored, as libiscsi does.
 * - Environment variables (LIBISCSI_CHAP_*) are the caller's business.
 */
#ifndef XI_URL_H
#define XI_URL_H

#include <stddef.h>
#include <stdint.h>

#define URL_HOST_MAX   256 /* host text, without brackets, NUL included */
#define URL_SECRET_MAX 256
#define URL_TARGET_MAX 224 /* RFC 7143 4.2.7: 223 bytes and the NUL */

enum url_digest {
	URL_DIGEST_UNSET = 0,
	URL_DIGEST_NONE,
	URL_DIGEST_CRC32C,
};

struct url_iscsi {
	char host[URL_HOST_MAX]; /* IPv6 without brackets */
	uint16_t port;
	char user[URL_SECRET_MAX];   /* "" when absent */
	char secret[URL_SECRET_MAX]; /* "" when absent */
	char target_user[URL_SECRET_MAX];
	char target_secret[URL_SECRET_MAX];
	char target[URL_TARGET_MAX];
	uint32_t lun;
	enum url_digest header_digest;
};

/* The full form, target and LUN required. 0 or -EINVAL. */
int url_parse(const char *s, struct url_iscsi *u);

/* iscsi://[user[%secret]@]host[:port][/]: a portal, for discovery. 0 or -EINVAL. */
int url_parse_portal(const char *s, struct url_iscsi *u);

/*
 * host, host:port, [v6], [v6]:port, or a bare IPv6 literal (two or more
 * ':' and no brackets, no port). With tpgt non-NULL a trailing ",N" is
 * accepted too, as in a SendTargets TargetAddress (RFC 7143 13.8), and
 * *tpgt is N or -1 when absent. port gets default_port when none is given.
 * 0 or -EINVAL (-ENAMETOOLONG when host does not fit hostlen).
 */
int url_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port,
                       uint16_t default_port, int32_t *tpgt);

#endif
