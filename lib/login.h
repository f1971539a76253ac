/*
 * Login state machines, RFC 7143 sections 6 (login and negotiation), 11.12
 * and 11.13 (Login Request/Response), 12.1 (authentication). One for the
 * target side, one for the initiator side; neither knows a socket. Each
 * step takes the received Login PDU (its BHS and data segment, as pdu_rx
 * hands them up) and fills a struct login_pdu with the PDU to send, which
 * pdu_tx_build() turns into iovecs. Login PDUs carry no digests (they start
 * in full feature phase, RFC 7143 section 13.1).
 *
 * Every step returns one of:
 *   LOGIN_CONTINUE  send out, then feed the peer's next Login PDU;
 *   LOGIN_DONE      send out if out->present, then enter full feature phase
 *                   with login_*_params() and login_*_info();
 *   LOGIN_FAILED    send out if out->present (the target's error response),
 *                   then close; login_*_status() says why;
 *   -errno          an internal failure (out of memory): close.
 *
 * A target connection, in outline (pdu_rx bounded to LOGIN_MAX_DATA and
 * without digests until LOGIN_DONE):
 *
 *	login_tgt_new(&lt, &cfg);                   once per accepted connection
 *	on each Login Request (bhs, data, len):
 *		rc = login_tgt_rx(lt, bhs, data, len, &out);
 *		pdu_tx_build(&tx, &out.bhs, NULL, 0, &(struct iovec){(void *)out.data,
 *			     out.data_len}, 1, 0, iov, n);  send it
 *		LOGIN_DONE: digests and MaxRecvDataSegmentLength from
 *			login_tgt_params(lt), StatSN/CmdSN from login_tgt_info(lt)
 *		LOGIN_FAILED: close once sent
 *
 * The initiator side is the mirror image: login_ini_start() gives the first
 * request, login_ini_rx() each next one until LOGIN_DONE (nothing to send).
 */
#ifndef XI_LOGIN_H
#define XI_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/pdu.h"
#include "params.h"

#define LOGIN_CONTINUE 0
#define LOGIN_DONE     1
#define LOGIN_FAILED   2

/*
 * RFC 7143 section 13.12: during login, before anything was negotiated,
 * each side receives at most 8192 bytes of data per PDU. Longer text is
 * sent in pieces with the C bit (received in pieces here; this side never
 * produces more than that in one step).
 */
#define LOGIN_MAX_DATA ISCSI_MAX_RECV_DSL_DEFAULT
/* The size of the CmdSN window a target opens on a new session. */
#define LOGIN_DEFAULT_CMDSN_WINDOW 32

/* One Login PDU to send: the BHS and its data segment (owned by the SM). */
struct login_pdu {
	bool present;
	union {
		struct iscsi_bhs bhs;
		struct iscsi_bhs_login_request req;
		struct iscsi_bhs_login_response rsp;
	};
	/* Valid until the next call on the same state machine. */
	const uint8_t *data;
	uint32_t data_len;
};

/* What a finished login established on the connection (host byte order). */
struct login_info {
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t cid;
	bool leading; /* TSIH was 0 in the request: a new session */
	/* The CmdSN the next command carries (login requests do not advance it). */
	uint32_t cmdsn;
	/* The StatSN of the next response the target sends on this connection. */
	uint32_t statsn;
	/* Target side: MaxCmdSN announced; initiator side: what the target announced. */
	uint32_t max_cmdsn;
};

/* Name of a LOGIN_STATUS_* code ("authentication failure"), for logs and tools. */
const char *login_status_name(uint16_t status);

/* ------------------------------------------------------------------ target */

/* Authentication a target (or discovery) requires of an initiator. */
#define LOGIN_AUTH_ALLOW_NONE     0x1 /* AuthMethod=None accepted */
#define LOGIN_AUTH_ALLOW_CHAP     0x2 /* AuthMethod=CHAP accepted */
#define LOGIN_AUTH_REQUIRE_MUTUAL 0x4 /* the initiator must authenticate us too */

/* The session decision the daemon takes when the login completes. */
struct login_session_req {
	const uint8_t *isid; /* 6 bytes */
	uint16_t tsih;       /* 0: new session (or reinstatement of ISID) */
	uint16_t cid;
	uint32_t cmdsn;
	const struct xi_params *params; /* negotiated, names included */
};

struct login_tgt_ops {
	/*
	 * Who may log in where: target_name is "" for a discovery session.
	 * Fills *auth with LOGIN_AUTH_* flags. Returns 0, -ENOENT (no such
	 * target: LOGIN_STATUS_NOT_FOUND), -EACCES (initiator not allowed:
	 * LOGIN_STATUS_AUTHZ_FAILED), -EAGAIN (LOGIN_STATUS_SERVICE_UNAVAILABLE)
	 * or another -errno (LOGIN_STATUS_TARGET_ERROR).
	 */
	int (*authorize)(void *ctx, const char *target_name, const char *initiator_name,
	                 enum xi_session_type type, unsigned int *auth);
	/*
	 * A CHAP secret. mutual false: the secret of the initiator's user
	 * `user` (its CHAP_N); name is unused. mutual true: this target's own
	 * user name (written to name, name_cap bytes) and secret, for mutual
	 * CHAP; user is NULL. *secret_len holds the room on entry, the length
	 * on return. Returns 0 or -ENOENT.
	 */
	int (*chap_secret)(void *ctx, const char *target_name, const char *initiator_name,
	                   bool mutual, const char *user, char *name, size_t name_cap,
	                   uint8_t *secret, size_t *secret_len);
	/*
	 * Place the connection once login succeeded (after authentication, as
	 * reinstatement must not be triggered by an unauthenticated peer):
	 * TSIH 0 makes a new session, or reinstates the session of the same
	 * initiator name + ISID (RFC 7143 section 6.3.5); a TSIH adds the
	 * connection to that session. Writes the session's TSIH. Returns 0,
	 * -ENOENT (LOGIN_STATUS_SESS_DOES_NOT_EXIST), -EMLINK
	 * (LOGIN_STATUS_TOO_MANY_CONNECTIONS), -EINVAL
	 * (LOGIN_STATUS_CANT_INCLUDE_IN_SESS) or another -errno
	 * (LOGIN_STATUS_TARGET_ERROR).
	 */
	int (*session)(void *ctx, const struct login_session_req *req, uint16_t *tsih);
};

struct login_tgt_config {
	/*
	 * This target's limits and wishes: max_recv_dsl (what it receives),
	 * max_burst_length, first_burst_length, max_outstanding_r2t,
	 * error_recovery_level, default_time2wait/retain, initial_r2t,
	 * immediate_data, data_*_in_order, max_connections; target_alias and
	 * tpgt (tpgt_set) of the portal group. Names are ignored.
	 */
	struct xi_params local;
	/* Acceptable digests, e.g. "CRC32C,None"; NULL: local's single value. */
	const char *header_digests;
	const char *data_digests;
	/* Acceptable CHAP_A numbers, e.g. "7,6"; NULL: all four. */
	const char *chap_algs;
	/* Accept CHAP secrets shorter than CHAP_SECRET_MIN (interop with old setups). */
	bool allow_short_secret;
	uint32_t cmdsn_window;   /* 0: LOGIN_DEFAULT_CMDSN_WINDOW */
	uint32_t initial_statsn; /* StatSN of the first response */
	const struct login_tgt_ops *ops;
	void *ctx;
};

struct login_tgt;

/* A new target-side login on an accepted connection; cfg is copied (pointers must outlive it). */
int login_tgt_new(struct login_tgt **out, const struct login_tgt_config *cfg);
void login_tgt_free(struct login_tgt *t);
/* Feed one received Login Request; fills out with the Login Response. */
int login_tgt_rx(struct login_tgt *t, const struct iscsi_bhs *bhs, const void *data,
                 size_t data_len, struct login_pdu *out);
/* The negotiated values (complete once LOGIN_DONE). */
const struct xi_params *login_tgt_params(const struct login_tgt *t);
const struct login_info *login_tgt_info(const struct login_tgt *t);
/* LOGIN_STATUS_* of the last response (LOGIN_STATUS_SUCCESS unless failed). */
uint16_t login_tgt_status(const struct login_tgt *t);

/* --------------------------------------------------------------- initiator */

struct login_ini_config {
	/*
	 * initiator_name (required), target_name (required unless discovery),
	 * session_type, initiator_alias, and the values this initiator
	 * proposes: max_recv_dsl, max_burst_length, first_burst_length, ...
	 */
	struct xi_params local;
	/* Offered digests in order of preference, e.g. "CRC32C,None"; NULL: local's. */
	const char *header_digests;
	const char *data_digests;
	uint8_t isid[6];
	uint16_t tsih; /* 0: new session; else the session to add this connection to */
	uint16_t cid;
	uint32_t itt;
	uint32_t cmdsn;
	uint32_t exp_statsn;
	/* CHAP: user name and secret given to the target (NULL name: no CHAP). */
	const char *chap_name;
	const uint8_t *chap_secret;
	size_t chap_secret_len;
	/* Also offer AuthMethod=None, letting the target pick (open-iscsi does not). */
	bool chap_optional;
	/* Mutual CHAP: the secret the target must prove (NULL: one-way). */
	const uint8_t *target_secret;
	size_t target_secret_len;
	/* The CHAP_N the target must answer with in mutual CHAP (NULL: any). */
	const char *target_chap_name;
	const char *chap_algs; /* offered CHAP_A list; NULL: CHAP_A_DEFAULT_LIST */
	bool allow_short_secret;
};

struct login_ini;

int login_ini_new(struct login_ini **out, const struct login_ini_config *cfg);
void login_ini_free(struct login_ini *i);
/* The first Login Request. Returns LOGIN_CONTINUE, or -errno on a bad config. */
int login_ini_start(struct login_ini *i, struct login_pdu *out);
/* Feed one received Login Response; fills out with the next request if any. */
int login_ini_rx(struct login_ini *i, const struct iscsi_bhs *bhs, const void *data,
                 size_t data_len, struct login_pdu *out);
const struct xi_params *login_ini_params(const struct login_ini *i);
const struct login_info *login_ini_info(const struct login_ini *i);
/*
 * Why the login failed: the target's LOGIN_STATUS_* when it refused,
 * LOGIN_STATUS_AUTH_FAILED when the target failed mutual CHAP,
 * LOGIN_STATUS_INITIATOR_ERROR when the target broke the protocol.
 */
uint16_t login_ini_status(const struct login_ini *i);
/* After LOGIN_STATUS_TARGET_MOVED_*: the TargetAddress the target gave, or NULL. */
const char *login_ini_redirect(const struct login_ini *i);
/*
 * Why this side ended the login, in words for an error message ("the target
 * failed mutual CHAP authentication"); "" when the target refused (then
 * login_status_name(login_ini_status()) says why) or nothing failed.
 */
const char *login_ini_reason(const struct login_ini *i);

#endif
