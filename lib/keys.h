/*
 * Text keys: key=value pairs separated by NUL, RFC 7143 section 6.1, as they
 * travel in Login and Text PDUs. One list holds the keys of one negotiation
 * step; it may be loaded in pieces (the C bit of RFC 7143 section 11.10.2
 * splits a list over several PDUs, even in the middle of a pair).
 */
#ifndef XI_KEYS_H
#define XI_KEYS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* RFC 7143 section 6.1: key names are at most 63 bytes. */
#define KEYS_NAME_MAX 63
/* RFC 7143 section 6.1: a text value is at most 255 bytes unless its key says otherwise. */
#define KEYS_VALUE_MAX 255
/*
 * CHAP_C and CHAP_R carry large-binary-values (RFC 7143 sections 6.1 and
 * 12.1.3); their encoded form may be long. 8192 is what a peer must accept
 * in one negotiation sequence anyway.
 */
#define KEYS_LARGE_VALUE_MAX 8192
/* Defaults of a new list; RFC 7143 section 6.1 requires at least 8192 bytes per sequence. */
#define KEYS_DEFAULT_MAX_KEYS  64
#define KEYS_DEFAULT_MAX_TOTAL 65536

/* Error codes of this module, all negative errno values. */
#define KEYS_ERR_SYNTAX       (-EINVAL)       /* no '=', empty name, bad name character */
#define KEYS_ERR_ENCODING     (-EILSEQ)       /* value is not UTF-8 or has a control character */
#define KEYS_ERR_NAME_LONG    (-ENAMETOOLONG) /* name over KEYS_NAME_MAX */
#define KEYS_ERR_VALUE_LONG   (-EMSGSIZE)     /* value over its key's limit */
#define KEYS_ERR_TOO_BIG      (-E2BIG)        /* whole list over max_total bytes */
#define KEYS_ERR_TOO_MANY     (-ENOSPC)       /* more than max_keys pairs */
#define KEYS_ERR_DUPLICATE    (-EEXIST)       /* a key appears twice (RFC 7143 section 6.2) */
#define KEYS_ERR_NOMEM        (-ENOMEM)
#define KEYS_ERR_UNTERMINATED (-ENODATA) /* the last piece did not end with NUL */

struct keys;

/* A new empty list with the default limits; NULL when out of memory. */
struct keys *keys_new(void);
void keys_free(struct keys *k);
/* Drop every key and any partial input; limits stay. */
void keys_clear(struct keys *k);
/* Change the limits (0 keeps the current one). */
void keys_set_limits(struct keys *k, size_t max_keys, size_t max_total);

/*
 * Feed one PDU's data segment. `more` is the PDU's C (continue) bit: while it
 * is set the bytes are only accumulated; the piece with `more` false
 * completes the list, which is then parsed and appended to k. Returns 0 or a
 * KEYS_ERR_*; after an error the list must be cleared before reuse.
 */
int keys_feed(struct keys *k, const void *data, size_t len, bool more);
/* Parse one complete data segment (keys_feed with more = false). */
int keys_load(struct keys *k, const void *data, size_t len);
/* True while pieces fed with more = true wait for the last one. */
bool keys_pending(const struct keys *k);

/* The value of `name`, or NULL. */
const char *keys_find(const struct keys *k, const char *name);
size_t keys_count(const struct keys *k);
/* The i-th pair in the order received or added; NULL past the end. */
const char *keys_name(const struct keys *k, size_t i);
const char *keys_value(const struct keys *k, size_t i);

/* Append name=value; the same checks as on input (KEYS_ERR_DUPLICATE if present). */
int keys_add(struct keys *k, const char *name, const char *value);
int keys_add_u32(struct keys *k, const char *name, uint32_t value);
/* Replace the value of name, or append it. */
int keys_set(struct keys *k, const char *name, const char *value);

/* Bytes keys_save writes: every "name=value\0". */
size_t keys_save_len(const struct keys *k);
/* Write the list into buf; returns the length or KEYS_ERR_TOO_BIG if cap is short. */
ssize_t keys_save(const struct keys *k, void *buf, size_t cap);

/* The value limit for a key name (KEYS_VALUE_MAX or KEYS_LARGE_VALUE_MAX). */
size_t keys_value_max(const char *name);
/* Whether a NUL-terminated string is valid UTF-8 without control characters. */
bool keys_text_valid(const char *s, size_t len);

#endif
