/*
 * libxiscsi: an iSCSI initiator library (RFC 7143).
 *
 * Objects
 *   xiscsi_loop     one event loop: a transport group of the chosen backend
 *                   (tcp, uring, xdp) with its timers. Owned by one thread.
 *   xiscsi_session  one iSCSI session (one connection) on a loop: login,
 *                   the CmdSN window, tasks, keep-alive, reconnect, logout.
 *   xiscsi_cmd      one SCSI command, memory owned by the caller from submit
 *                   until its completion callback returns.
 *
 * Errors: every function returns 0 or a negative errno; errno is never the
 * only carrier of meaning. SCSI outcomes are reported in the command
 * (status, sense, residual), never as errno.
 *
 * Threads: a loop and every session on it belong to the thread that calls
 * xiscsi_loop_poll(). All functions that take a session or a command must be
 * called from that thread (callbacks run there too, so calling from a
 * callback is fine). The only exception is xiscsi_loop_post(), which any
 * thread may call to run a function on the loop's thread. Use one loop per
 * thread to spread sessions over cores; there is no lock on the fast path.
 * The synchronous helpers (*_sync) run the loop themselves until their
 * command completes: call them from the loop's thread, never from inside a
 * callback.
 *
 * Embedding in another event loop: xiscsi_loop_fd() gives a descriptor that
 * becomes readable when the loop has work; call xiscsi_loop_poll(loop, 0, 0)
 * then, and again no later than xiscsi_loop_next_timeout_ms() from now.
 */
#ifndef XISCSI_XISCSI_H
#define XISCSI_XISCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- loop */

struct xiscsi_loop;

/*
 * A loop on the transport backend called name ("tcp", "uring", "xdp"), or
 * the default backend when name is NULL or the environment variable
 * XISCSI_TRANSPORT names one. -ENOENT when no such backend is built.
 */
int xiscsi_loop_new(const char *transport, struct xiscsi_loop **out);
/*
 * The same with transport options: opts is a NULL-terminated list of
 * "NAME=VALUE", or "NAME" for a flag, with the names of xiscsi-transport(7)
 * ("busy-poll", "sqpoll-idle", "zc-threshold", "rx-buf", "sndbuf", "rcvbuf",
 * "xdp-if", "xdp-ip", ...); opts may be NULL. sndbuf and rcvbuf apply to the
 * connections of the loop's sessions, the rest to the loop; "send-hwm" is
 * refused (a session's queue depth bounds what it sends). An unknown name
 * or a bad value: -EINVAL, and the library's log names the option.
 */
int xiscsi_loop_new_opts(const char *transport, const char *const *opts, struct xiscsi_loop **out);
void xiscsi_loop_free(struct xiscsi_loop *loop);

/*
 * Run ready callbacks and expired timers, at most budget events (0: no
 * limit). Waits up to timeout_ms for work (-1: until there is some).
 * Returns the number of events handled or a negative errno.
 */
int xiscsi_loop_poll(struct xiscsi_loop *loop, unsigned budget, int timeout_ms);

/* A descriptor that polls readable when the loop has work, or -ENOTSUP. */
int xiscsi_loop_fd(struct xiscsi_loop *loop);

/* Milliseconds until the next timer is due, -1 when none is armed. */
int xiscsi_loop_next_timeout_ms(struct xiscsi_loop *loop);

/* Run fn(arg) on the loop's thread. The one call safe from any thread. */
int xiscsi_loop_post(struct xiscsi_loop *loop, void (*fn)(void *arg), void *arg);

/* Why a transport backend cannot be used here ("not built", ...), NULL when it can. */
const char *xiscsi_transport_why(const char *name);

/* The name of the loop's transport backend. */
const char *xiscsi_loop_transport(const struct xiscsi_loop *loop);

/* ------------------------------------------------------------- options */

enum xiscsi_session_type {
	XISCSI_SESSION_NORMAL = 0,
	XISCSI_SESSION_DISCOVERY = 1,
};

/* Digest preference, as offered in HeaderDigest / DataDigest. */
enum xiscsi_digest {
	XISCSI_DIGEST_NONE = 0,          /* offer None */
	XISCSI_DIGEST_CRC32C = 1,        /* offer CRC32C only: login fails without it */
	XISCSI_DIGEST_PREFER_CRC32C = 2, /* offer CRC32C,None */
	XISCSI_DIGEST_PREFER_NONE = 3,   /* offer None,CRC32C */
};

/*
 * Session options. Initialise with xiscsi_opts_init(), which sets every
 * field to its default, then change what you need. The struct carries its
 * own size so that later versions can grow it without breaking callers.
 * Strings are copied by xiscsi_session_new(); they may be freed after it.
 */
struct xiscsi_opts {
	size_t size; /* sizeof(struct xiscsi_opts) as the caller knows it */

	const char *initiator_name;  /* default: iqn.2026-01.io.xiscsi:HOSTNAME */
	const char *initiator_alias; /* NULL: not sent */
	const char *target_name;     /* IQN; NULL for discovery sessions */
	const char *host;            /* portal address, IPv4, IPv6 or name */
	uint16_t port;               /* default 3260 */
	enum xiscsi_session_type session_type;
	uint16_t isid_qualifier; /* low 16 bits of the ISID; 0: random per session */

	/* Authentication (RFC 7143 section 12.1.3). NULL user: no CHAP. */
	const char *chap_user;
	const char *chap_secret;
	const char *chap_mutual_user; /* non-NULL: the target must prove itself */
	const char *chap_mutual_secret;
	/* CHAP_A offered, in preference order (5 MD5, 6 SHA-1, 7 SHA-256,
	 * 8 SHA3-256). NULL: "6,5": tgt 1.0.85 accepts 7 and then fails to
	 * decode a SHA-256 response, so the stronger ones are opt-in. */
	const char *chap_algorithms;

	/* Operational keys offered at login (RFC 7143 section 13). */
	enum xiscsi_digest header_digest;      /* default NONE */
	enum xiscsi_digest data_digest;        /* default NONE */
	bool immediate_data;                   /* default Yes */
	bool initial_r2t;                      /* default No */
	uint32_t max_recv_data_segment_length; /* default 262144 */
	uint32_t max_burst_length;             /* default 16 MiB */
	uint32_t first_burst_length;           /* default 256 KiB */
	uint32_t default_time2wait;            /* seconds, default 2 */
	uint32_t default_time2retain;          /* seconds, default 20 */
	uint32_t max_outstanding_r2t;          /* default 1 */
	bool data_pdu_in_order;                /* default Yes */
	bool data_sequence_in_order;           /* default Yes */
	uint32_t error_recovery_level;         /* default 0, the only level supported */

	/* Library behaviour. */
	uint32_t queue_depth;          /* commands in flight, default 128 */
	uint32_t login_timeout_ms;     /* connect + login, default 15000 */
	uint32_t nop_interval_ms;      /* NOP-Out when idle this long; 0: never. Default 5000 */
	uint32_t nop_timeout_ms;       /* no answer this long: connection lost. Default 10000 */
	uint32_t reconnect_min_ms;     /* first back-off, default 100 */
	uint32_t reconnect_max_ms;     /* back-off cap, default 5000 */
	uint32_t reconnect_timeout_ms; /* give up after this long; 0: never reconnect. Default 60000
	                                */
	/* When a connection is lost: re-issue commands in flight after re-login
	 * (true, default) or fail them at once with -ECONNRESET (false). */
	bool reissue_on_reconnect;
	/* A command answered CHECK CONDITION / UNIT ATTENTION was not executed
	 * (SAM-5 5.14): run it again, up to 3 times (true, default), or
	 * complete it with that status (false). Every login starts with one. */
	bool retry_unit_attention;

	void *_strings; /* private: copies made by xiscsi_opts_set / _parse_url */
};

void xiscsi_opts_init(struct xiscsi_opts *opts, size_t size);

/*
 * Fill host, port, target_name, chap_user/chap_secret and *lun from a URL as
 * libiscsi writes it: iscsi://[user[%secret]@]host[:port][/iqn[/lun]]
 * (IPv6 hosts in brackets). The strings point into storage owned by opts
 * until xiscsi_opts_clear(). *lun may be NULL. -EINVAL on a malformed URL.
 */
int xiscsi_opts_parse_url(struct xiscsi_opts *opts, const char *url, uint64_t *lun);

/*
 * Set one option by name: any negotiable iSCSI key by its RFC 7143 name
 * ("MaxBurstLength", "HeaderDigest", "InitialR2T", ...) or a library
 * setting by its field name ("queue_depth", "nop_interval_ms", ...).
 * Values: numbers, Yes/No, None/CRC32C. The string is copied and owned by
 * opts until xiscsi_opts_clear(). -ENOENT for an unknown name, -EINVAL or
 * -ERANGE for a bad value.
 */
int xiscsi_opts_set(struct xiscsi_opts *opts, const char *key, const char *value);

/* Free strings that xiscsi_opts_parse_url() / xiscsi_opts_set() copied. */
void xiscsi_opts_clear(struct xiscsi_opts *opts);

/* ------------------------------------------------------------- session */

struct xiscsi_session;

enum xiscsi_state {
	XISCSI_STATE_IDLE,         /* created, not connected */
	XISCSI_STATE_CONNECTING,   /* TCP connect and login in progress */
	XISCSI_STATE_LOGGED_IN,    /* full feature phase */
	XISCSI_STATE_RECONNECTING, /* connection lost, waiting or logging in again */
	XISCSI_STATE_LOGGING_OUT,
	XISCSI_STATE_FAILED, /* gave up; see xiscsi_session_error() */
	XISCSI_STATE_CLOSED, /* logged out */
};

/*
 * Called when a login, logout or reconnect attempt ends. err is 0 or a
 * negative errno: -ECONNREFUSED, -ETIMEDOUT, -EACCES (authentication
 * failed), -ENOENT (target not found), -EPROTO (target broke the protocol).
 */
typedef void (*xiscsi_session_cb)(struct xiscsi_session *s, int err, void *arg);

int xiscsi_session_new(struct xiscsi_loop *loop, const struct xiscsi_opts *opts,
                       struct xiscsi_session **out);

/*
 * Frees the session. Commands still in flight complete first with
 * result -ECANCELED; no logout is sent (call xiscsi_session_logout first).
 */
void xiscsi_session_free(struct xiscsi_session *s);

/* Connect and log in; cb once, when the session is in full feature phase or failed. */
int xiscsi_session_connect(struct xiscsi_session *s, xiscsi_session_cb cb, void *arg);
int xiscsi_session_connect_sync(struct xiscsi_session *s);

/* Logout (RFC 7143 section 11.14): commands in flight are completed first. */
int xiscsi_session_logout(struct xiscsi_session *s, xiscsi_session_cb cb, void *arg);
int xiscsi_session_logout_sync(struct xiscsi_session *s);

/* Called after each state change; for logging and monitoring. */
void xiscsi_session_set_state_cb(struct xiscsi_session *s,
                                 void (*cb)(struct xiscsi_session *s, enum xiscsi_state st,
                                            void *arg),
                                 void *arg);

enum xiscsi_state xiscsi_session_state(const struct xiscsi_session *s);
const char *xiscsi_state_name(enum xiscsi_state st);

/* Last error in words ("login: authentication failed (0x0201)"), never NULL. */
const char *xiscsi_session_error(const struct xiscsi_session *s);

/* Negotiated values, after login. */
struct xiscsi_session_info {
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t tpgt;
	bool header_digest;
	bool data_digest;
	bool immediate_data;
	bool initial_r2t;
	uint32_t max_recv_data_segment_length; /* ours: what the target may send */
	uint32_t max_xmit_data_segment_length; /* the target's: what we may send */
	uint32_t max_burst_length;
	uint32_t first_burst_length;
	uint32_t max_outstanding_r2t;
	uint32_t reconnects; /* successful re-logins since connect */
};
int xiscsi_session_info(const struct xiscsi_session *s, struct xiscsi_session_info *info);

/* ------------------------------------------------------------ commands */

enum xiscsi_dir {
	XISCSI_DIR_NONE = 0,
	XISCSI_DIR_READ = 1,  /* data from the target into iov */
	XISCSI_DIR_WRITE = 2, /* data from iov to the target */
};

/* Fields of the sense data, fixed or descriptor format (SPC-5 4.4). */
struct xiscsi_sense {
	uint8_t response_code; /* 0 when there was no sense data */
	uint8_t key;
	uint8_t asc;
	uint8_t ascq;
	bool info_valid;
	uint64_t information;
	uint8_t len; /* bytes in raw */
	uint8_t raw[252];
};

struct xiscsi_cmd;
typedef void (*xiscsi_cmd_cb)(struct xiscsi_cmd *cmd);

/*
 * One SCSI command. The caller fills the "in" fields, submits, and owns the
 * struct again when cb runs. Zero it before first use.
 */
struct xiscsi_cmd {
	/* in */
	uint64_t lun;
	uint8_t cdb[16];
	uint8_t cdb_len;
	enum xiscsi_dir dir;
	const struct iovec *iov; /* data buffer; see also xiscsi_cmd_set_buf() */
	int iovcnt;
	uint32_t xfer_len; /* expected data transfer length; 0: the iov total */
	xiscsi_cmd_cb cb;
	void *priv; /* for the caller */

	/* out, valid in cb */
	int result;       /* 0: status below is valid; else -errno, no SCSI status */
	uint8_t status;   /* SAM status, SAM_STAT_GOOD = 0 */
	uint8_t response; /* iSCSI response: 0 = command completed at target */
	bool underflow;   /* residual is what was not transferred */
	bool overflow;    /* residual is what the target could not send/take */
	uint32_t residual;
	uint32_t data_len; /* bytes read into iov (reads) */
	struct xiscsi_sense sense;

	/* private to the library */
	struct iovec _flat;
	struct xiscsi_cmd *_next;
	uint32_t _itt;
	uint32_t _tries;
};

/* Point the command at one flat buffer. */
static inline void xiscsi_cmd_set_buf(struct xiscsi_cmd *cmd, void *buf, uint32_t len)
{
	cmd->_flat.iov_base = buf;
	cmd->_flat.iov_len = len;
	cmd->iov = &cmd->_flat;
	cmd->iovcnt = 1;
	cmd->xfer_len = len;
}

/*
 * Queue a command. It is sent at once when the CmdSN window and the queue
 * depth allow, otherwise when they open; reads land straight in iov; writes
 * go as immediate and unsolicited data up to FirstBurstLength, the rest on
 * R2T. cmd->cb runs exactly once, from the loop, never from inside this
 * call. Returns 0, -EINVAL for a malformed command, -ENOTCONN when the
 * session is failed or closed.
 *
 * If the connection is lost, the command is re-issued after re-login or,
 * when that is off or gives up, completed with result -ECONNRESET (lost,
 * outcome at the target unknown) or -ETIMEDOUT (reconnect gave up).
 */
int xiscsi_submit(struct xiscsi_session *s, struct xiscsi_cmd *cmd);

/* Commands submitted and not yet completed. */
unsigned xiscsi_inflight(const struct xiscsi_session *s);

/* True when the command ended GOOD (or CONDITION MET) with result 0. */
static inline bool xiscsi_cmd_ok(const struct xiscsi_cmd *cmd)
{
	return cmd->result == 0 && cmd->response == 0 && (cmd->status == 0 || cmd->status == 4);
}

/*
 * One line in words for a failed command: "CHECK CONDITION: ILLEGAL
 * REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (0x21/0x00)", or the errno
 * text. Writes at most len bytes; returns buf.
 */
char *xiscsi_cmd_strerror(const struct xiscsi_cmd *cmd, char *buf, size_t len);

/* CDB builders: fill cdb, cdb_len, dir (they leave the buffer alone). */
void xiscsi_cdb_read16(struct xiscsi_cmd *cmd, uint64_t lba, uint32_t blocks, bool fua);
void xiscsi_cdb_write16(struct xiscsi_cmd *cmd, uint64_t lba, uint32_t blocks, bool fua);
void xiscsi_cdb_inquiry(struct xiscsi_cmd *cmd, bool evpd, uint8_t page, uint16_t alloc_len);
void xiscsi_cdb_readcap16(struct xiscsi_cmd *cmd, uint32_t alloc_len);
void xiscsi_cdb_report_luns(struct xiscsi_cmd *cmd, uint32_t alloc_len);
void xiscsi_cdb_sync_cache16(struct xiscsi_cmd *cmd, uint64_t lba, uint32_t blocks);
void xiscsi_cdb_tur(struct xiscsi_cmd *cmd);

/* ---------------------------------------------------- task management */

/* Task management function responses, RFC 7143 section 11.6.1. */
enum xiscsi_tmf_response {
	XISCSI_TMF_COMPLETE = 0,
	XISCSI_TMF_NO_TASK = 1,
	XISCSI_TMF_NO_LUN = 2,
	XISCSI_TMF_NOT_SUPPORTED = 5,
	XISCSI_TMF_REJECTED = 255,
};

/* response is an xiscsi_tmf_response, or a negative errno. */
typedef void (*xiscsi_tmf_cb)(struct xiscsi_session *s, int response, void *arg);

/* ABORT TASK for one command in flight; the command itself completes too. */
int xiscsi_abort_task(struct xiscsi_session *s, struct xiscsi_cmd *cmd, xiscsi_tmf_cb cb,
                      void *arg);
/* LOGICAL UNIT RESET: commands in flight to that LUN complete (aborted). */
int xiscsi_lun_reset(struct xiscsi_session *s, uint64_t lun, xiscsi_tmf_cb cb, void *arg);

/* --------------------------------------------------------- discovery */

struct xiscsi_portal {
	char *address; /* "127.0.0.1:3260" or "[::1]:3260" */
	uint16_t tpgt;
};

struct xiscsi_target {
	char *name;
	unsigned nportals;
	struct xiscsi_portal *portals;
};

struct xiscsi_target_list {
	unsigned ntargets;
	struct xiscsi_target *targets;
};

typedef void (*xiscsi_discovery_cb)(struct xiscsi_session *s, int err,
                                    struct xiscsi_target_list *list, void *arg);

/*
 * SendTargets=All (RFC 7143 section 12.3) on a discovery session that is
 * logged in. The list belongs to the caller: xiscsi_target_list_free().
 */
int xiscsi_send_targets(struct xiscsi_session *s, xiscsi_discovery_cb cb, void *arg);
int xiscsi_send_targets_sync(struct xiscsi_session *s, struct xiscsi_target_list **out);

/* Connect, log in as a discovery session, SendTargets, log out: in one call. */
int xiscsi_discover_sync(const struct xiscsi_opts *opts, const char *transport,
                         struct xiscsi_target_list **out, char *err, size_t errlen);
void xiscsi_target_list_free(struct xiscsi_target_list *list);

/* ------------------------------------------------------ synchronous API */

/*
 * Each runs one command to completion; a command answered with UNIT
 * ATTENTION (not executed: SAM-5 5.14) is run again, up to three times.
 * Returns 0 when the command ended
 * GOOD; -EIO when it ended with another SCSI status (cmd, when non-NULL,
 * then holds status and sense); other negative errnos for transport and
 * protocol failures.
 */
int xiscsi_run_sync(struct xiscsi_session *s, struct xiscsi_cmd *cmd);

int xiscsi_tur_sync(struct xiscsi_session *s, uint64_t lun, struct xiscsi_cmd *res);
int xiscsi_inquiry_sync(struct xiscsi_session *s, uint64_t lun, bool evpd, uint8_t page, void *buf,
                        uint16_t len, uint32_t *got, struct xiscsi_cmd *res);

struct xiscsi_capacity {
	uint64_t blocks; /* number of logical blocks (last LBA + 1) */
	uint32_t block_size;
	bool thin; /* LBPME: logical block provisioning enabled */
};
int xiscsi_readcap16_sync(struct xiscsi_session *s, uint64_t lun, struct xiscsi_capacity *cap,
                          struct xiscsi_cmd *res);
int xiscsi_read_sync(struct xiscsi_session *s, uint64_t lun, uint64_t lba, uint32_t blocks,
                     uint32_t block_size, void *buf, struct xiscsi_cmd *res);
int xiscsi_write_sync(struct xiscsi_session *s, uint64_t lun, uint64_t lba, uint32_t blocks,
                      uint32_t block_size, const void *buf, struct xiscsi_cmd *res);
int xiscsi_sync_cache_sync(struct xiscsi_session *s, uint64_t lun, struct xiscsi_cmd *res);

/* LUNs the target reports (SPC-5 6.33); *luns is malloc'ed, free() it. */
int xiscsi_report_luns_sync(struct xiscsi_session *s, uint64_t **luns, unsigned *nluns,
                            struct xiscsi_cmd *res);

/* Task management, synchronous: returns the response or a negative errno. */
int xiscsi_lun_reset_sync(struct xiscsi_session *s, uint64_t lun);

/* ---------------------------------------------------------------- misc */

/* "0.1.0" */
const char *xiscsi_version(void);

/* Library diagnostics go to stderr at or above this level (0 err .. 3 debug); default 0. */
void xiscsi_set_log_level(int level);

#ifdef __cplusplus
}
#endif

#endif
