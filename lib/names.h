/*
 * iSCSI name validation, RFC 7143 4.2.7: iqn., eui. and naa. formats, at
 * most 223 bytes, characters as stringprep (RFC 3722) leaves them:
 * lowercase ASCII letters, digits, '-', '.', ':' and non-ASCII UTF-8.
 * The hex of eui. and naa. names may be of either case, as the RFC's own
 * examples are uppercase.
 */
#ifndef XI_NAMES_H
#define XI_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define ISCSI_NAME_MAX 223

/* 0 when valid; -EINVAL with *reason (static text) set when not. reason may be NULL. */
int names_check(const char *name, const char **reason);

static inline bool names_valid(const char *name)
{
	return names_check(name, NULL) == 0;
}

#endif
