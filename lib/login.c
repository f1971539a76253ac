#include "login_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct status_name {
	uint16_t status;
	const char *name;
};

/* RFC 7143 section 11.13.5, in the table's words. */
static const struct status_name status_names[] = {
        {LOGIN_STATUS_SUCCESS, "success"},
        {LOGIN_STATUS_TARGET_MOVED_TEMP, "target moved temporarily"},
        {LOGIN_STATUS_TARGET_MOVED_PERM, "target moved permanently"},
        {LOGIN_STATUS_INITIATOR_ERROR, "initiator error"},
        {LOGIN_STATUS_AUTH_FAILED, "authentication failure"},
        {LOGIN_STATUS_AUTHZ_FAILED, "authorization failure"},
        {LOGIN_STATUS_NOT_FOUND, "target not found"},
        {LOGIN_STATUS_TARGET_REMOVED, "target removed"},
        {LOGIN_STATUS_UNSUPPORTED_VERSION, "unsupported version"},
        {LOGIN_STATUS_TOO_MANY_CONNECTIONS, "too many connections"},
        {LOGIN_STATUS_MISSING_PARAMETER, "missing parameter"},
        {LOGIN_STATUS_CANT_INCLUDE_IN_SESS, "can't include in session"},
        {LOGIN_STATUS_SESS_TYPE_UNSUPPORTED, "session type not supported"},
        {LOGIN_STATUS_SESS_DOES_NOT_EXIST, "session does not exist"},
        {LOGIN_STATUS_INVALID_DURING_LOGIN, "invalid request during login"},
        {LOGIN_STATUS_TARGET_ERROR, "target error"},
        {LOGIN_STATUS_SERVICE_UNAVAILABLE, "service unavailable"},
        {LOGIN_STATUS_OUT_OF_RESOURCES, "out of resources"},
};

const char *login_status_name(uint16_t status)
{
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (status_names[i].status == status)
			return status_names[i].name;
	return "unknown status";
}

int login_io_init(struct login_io *io)
{
	memset(io, 0, sizeof(*io));
	io->rx = keys_new();
	io->tx = keys_new();
	io->buf = malloc(LOGIN_MAX_DATA);
	if (io->rx == NULL || io->tx == NULL || io->buf == NULL) {
		login_io_free(io);
		return -ENOMEM;
	}
	/* RFC 7143 section 6.1: a negotiation sequence holds at least 8192 bytes; allow 64 KiB. */
	keys_set_limits(io->rx, KEYS_DEFAULT_MAX_KEYS, KEYS_DEFAULT_MAX_TOTAL);
	return 0;
}

void login_io_free(struct login_io *io)
{
	keys_free(io->rx);
	keys_free(io->tx);
	free(io->buf);
	memset(io, 0, sizeof(*io));
}

int login_io_emit(struct login_io *io, struct login_pdu *out)
{
	ssize_t n = keys_save(io->tx, io->buf, LOGIN_MAX_DATA);

	if (n < 0)
		return -EMSGSIZE;
	out->present = true;
	out->data = io->buf;
	out->data_len = (uint32_t)n;
	pdu_dsl_set(&out->bhs, (uint32_t)n);
	keys_clear(io->tx);
	/* Pieces of a list continued with the C bit stay until its last piece. */
	if (!keys_pending(io->rx))
		keys_clear(io->rx);
	return 0;
}

bool login_has_chap_keys(const struct keys *k)
{
	for (size_t i = 0; i < keys_count(k); i++)
		if (strncmp(keys_name(k, i), "CHAP_", 5) == 0)
			return true;
	return false;
}
