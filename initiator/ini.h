/*
 * libxiscsi internals: the session, its connection and its task table.
 * Everything here runs on the loop's thread (see the public header).
 */
#ifndef XI_INI_H
#define XI_INI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "include/xiscsi/xiscsi.h"
#include "initiator/window.h"
#include "lib/params.h"
#include "lib/pdu.h"
#include "lib/pdu_rx.h"
#include "lib/pdu_tx.h"
#include "transport/transport.h"

/* Gather entries of one PDU's data segment; a PDU is cut shorter rather than overflow. */
#define INI_SEG_IOV 16
/* Text and login payloads we accept before giving up (RFC 7143 6.1 minimum is 8192). */
#define INI_TEXT_MAX 65536

struct xiscsi_loop {
	struct xt_group *g;
	struct xt_conn_opts co; /* for every session's connection */
};

/* One PDU being sent: header, pointers into the caller's data, digests. */
struct ini_pdu {
	struct xt_send_req req;
	struct xiscsi_session *s;
	struct ini_task *task; /* NULL for session PDUs */
	struct ini_pdu *next;  /* free list */
	uint8_t *own;          /* data the PDU owns (text, login), freed with it */
	bool r2t_last;         /* the last Data-Out answering an R2T: one fewer outstanding */
	struct pdu_tx tx;
	union {
		struct iscsi_bhs bhs;
		uint64_t align;
	} hdr;
	struct iovec seg[INI_SEG_IOV];
	struct iovec iov[INI_SEG_IOV + PDU_TX_IOV_EXTRA];
};

struct ini_task {
	struct xiscsi_cmd *cmd; /* NULL when the slot is free */
	uint32_t itt;
	uint32_t cmdsn;
	uint32_t xfer_len;
	uint32_t datain_got;   /* bytes of Data-In placed */
	uint32_t exp_datasn;   /* next Data-In DataSN expected */
	uint32_t r2t_datasn;   /* DataSN of the next Data-Out in the current burst */
	uint32_t exp_r2tsn;    /* next R2TSN expected (RFC 7143 11.8.6) */
	unsigned r2t_out;      /* R2Ts whose last Data-Out has not left yet (13.17) */
	unsigned sends;        /* PDUs queued to the transport, not completed */
	bool done;             /* the response arrived: complete when sends reach 0 */
	bool lost;             /* the connection died under it */
	uint16_t gen;          /* bumped per use, part of the ITT */
	struct ini_task *next; /* free list */
};

enum ini_conn_state {
	INI_CONN_NONE,
	INI_CONN_CONNECTING,
	INI_CONN_LOGIN,
	INI_CONN_FFP,
	INI_CONN_LOGOUT,
};

struct login_ini; /* lib/login.h */

struct ini_text {
	bool busy;
	uint32_t itt;
	uint32_t ttt;
	uint8_t *buf; /* accumulated response */
	size_t len;
	xiscsi_discovery_cb cb;
	void *arg;
};

struct ini_tmf {
	bool busy;
	uint32_t itt;
	uint64_t lun;
	uint8_t function;
	uint32_t ref_itt;
	xiscsi_tmf_cb cb;
	void *arg;
};

struct xiscsi_session {
	struct xiscsi_loop *loop;
	struct xiscsi_opts o; /* strings below are our copies */
	char *str_initiator, *str_alias, *str_target, *str_host;
	char *str_chap_user, *str_chap_secret, *str_mu_user, *str_mu_secret, *str_chap_algs;

	enum xiscsi_state state;
	enum ini_conn_state cstate;
	char err[256];
	int last_err;
	uint8_t isid[6];
	uint16_t tsih;
	struct xi_params params; /* negotiated */
	unsigned reconnects;

	/* connection */
	struct xt_conn *conn;
	struct pdu_rx rx;
	bool rx_ready;
	bool in_feed; /* inside pdu_rx_feed: the parser must outlive the call */
	uint32_t exp_statsn;
	struct ini_window win;
	uint16_t cid;
	struct login_ini *login; /* the login state machine, until full feature phase */
	uint32_t login_itt;

	/* tasks */
	struct ini_task *tasks;
	unsigned ntasks;
	struct ini_task *free_tasks;
	unsigned active;                          /* slots in use */
	struct xiscsi_cmd *pend_head, *pend_tail; /* waiting for a slot or the window */
	unsigned npending;
	struct ini_pdu *free_pdus;
	unsigned pdus_out; /* queued to the transport, completion not yet seen */
	uint32_t next_tag; /* for session PDUs (NOP, text, TMF, logout) */

	/* keep-alive */
	struct xt_timer nop_timer;
	uint64_t last_rx_ms;
	bool nop_outstanding;
	uint32_t nop_itt;
	uint64_t nop_sent_ms;

	/* login / reconnect */
	struct xt_timer login_timer;
	struct xt_timer retry_timer;
	uint64_t lost_at_ms;
	uint32_t backoff_ms;
	bool ever_logged_in;
	xiscsi_session_cb connect_cb;
	void *connect_arg;
	xiscsi_session_cb logout_cb;
	void *logout_arg;
	uint32_t logout_itt;
	void (*state_cb)(struct xiscsi_session *s, enum xiscsi_state st, void *arg);
	void *state_arg;

	struct ini_text text;
	struct ini_tmf tmf;
	struct xt_timer kick; /* defers completions out of submit */
	struct xiscsi_cmd *done_head, *done_tail;
	bool in_free;
};

/* session.c */
void ini_set_state(struct xiscsi_session *s, enum xiscsi_state st);
void ini_seterr(struct xiscsi_session *s, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void ini_conn_lost(struct xiscsi_session *s, int err, const char *why);
uint32_t ini_next_tag(struct xiscsi_session *s);
void ini_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* PDUs (task.c) */
struct ini_pdu *ini_pdu_get(struct xiscsi_session *s);
void ini_pdu_put(struct xiscsi_session *s, struct ini_pdu *p);
/* Header digest, padding and data digest as negotiated; send. iov/iovcnt: data segment. */
int ini_pdu_send(struct xiscsi_session *s, struct ini_pdu *p, const struct iovec *data, int n,
                 uint32_t dlen);
/* Send a PDU whose data segment is a copy (text, login): owns the copy. */
int ini_pdu_send_copy(struct xiscsi_session *s, struct ini_pdu *p, const void *data, uint32_t dlen);
void ini_fill_sn(struct xiscsi_session *s, struct iscsi_bhs *bhs, bool immediate);

/* tasks (task.c) */
int ini_tasks_init(struct xiscsi_session *s);
void ini_tasks_free(struct xiscsi_session *s);
void ini_tasks_kick(struct xiscsi_session *s);
/* The connection died: requeue or fail every active command. */
void ini_tasks_lost(struct xiscsi_session *s);
/* Fail everything waiting and in flight with err (session failed or freed). */
void ini_tasks_fail_all(struct xiscsi_session *s, int err);
int ini_rx_place(struct xiscsi_session *s, const struct pdu_in *p, uint8_t **dst);
int ini_rx_task_pdu(struct xiscsi_session *s, struct pdu_in *p);
void ini_complete_cmd(struct xiscsi_session *s, struct xiscsi_cmd *cmd);
/* Update window and StatSN from a target PDU's common fields. */
void ini_rx_sn(struct xiscsi_session *s, uint32_t statsn_be, uint32_t exp_be, uint32_t max_be,
               bool advance_statsn);

/* login.c */
int ini_login_start(struct xiscsi_session *s);
int ini_login_rx(struct xiscsi_session *s, struct pdu_in *p);
void ini_login_free(struct xiscsi_session *s);

/* discovery.c */
int ini_text_rx(struct xiscsi_session *s, struct pdu_in *p);
void ini_text_fail(struct xiscsi_session *s, int err);

/* opts.c */
int ini_opts_copy(struct xiscsi_session *s, const struct xiscsi_opts *o);
void ini_opts_free(struct xiscsi_session *s);

#endif
