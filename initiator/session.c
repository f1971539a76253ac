/*
 * Loops and sessions: connect, login, full feature phase dispatch, NOP
 * keep-alive, recovery after a lost connection, logout.
 *
 * Recovery is at ErrorRecoveryLevel 0 (RFC 7143 section 7.1.5): a new
 * login with the same ISID and TSIH 0, which reinstates the session at the
 * target (section 6.3.5) and drops its tasks; ours are re-issued.
 */
#include <endian.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "initiator/ini.h"
#include "lib/lun.h"
#include "lib/serial.h"

static int log_level;

void xiscsi_set_log_level(int level)
{
	log_level = level;
}

void ini_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	fputs("libxiscsi: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

const char *xiscsi_version(void)
{
	return PACKAGE_VERSION;
}

/* ---------------------------------------------------------------- loop */

/* One "NAME=VALUE" or "NAME" into the group and connection options. */
static int loop_opt(const char *opt, struct xt_group_opts *go, struct xt_conn_opts *co)
{
	const char *eq = strchr(opt, '=');
	char name[32];
	size_t n = eq ? (size_t)(eq - opt) : strlen(opt);
	int err;

	if (n == 0 || n >= sizeof(name)) {
		ini_log(0, "transport option \"%s\": no such option", opt);
		return -EINVAL;
	}
	memcpy(name, opt, n);
	name[n] = '\0';
	/*
	 * Sessions keep no send high-water mark of their own (conn_start()
	 * says why): one set here would turn a deep queue into a lost link.
	 */
	if (strcmp(name, "send-hwm") == 0) {
		ini_log(0,
		        "transport option %s: not for an initiator (its queue depth bounds "
		        "what it sends)",
		        name);
		return -EINVAL;
	}
	err = xt_opt_set(go, co, name, eq ? eq + 1 : NULL);
	if (err == -ENOENT)
		ini_log(0, "transport option %s: no such option (see xiscsi-transport(7))", name);
	else if (err)
		ini_log(0, "transport option %s: bad value \"%s\"", name, eq ? eq + 1 : "");
	return err ? -EINVAL : 0;
}

int xiscsi_loop_new_opts(const char *transport, const char *const *opts, struct xiscsi_loop **out)
{
	struct xiscsi_loop *loop = calloc(1, sizeof(*loop));
	struct xt_group_opts go;
	int err;

	if (!loop)
		return -ENOMEM;
	if (!transport || !*transport)
		transport = getenv("XISCSI_TRANSPORT");
	if (!transport || !*transport)
		transport = "tcp";
	memset(&go, 0, sizeof(go));
	go.opts_size = sizeof(go);
	loop->co.opts_size = sizeof(loop->co);
	for (; opts && *opts; opts++) {
		err = loop_opt(*opts, &go, &loop->co);
		if (err) {
			free(loop);
			return err;
		}
	}
	err = xt_group_new(transport, &go, &loop->g);
	if (err) {
		free(loop);
		return err;
	}
	*out = loop;
	return 0;
}

int xiscsi_loop_new(const char *transport, struct xiscsi_loop **out)
{
	return xiscsi_loop_new_opts(transport, NULL, out);
}

void xiscsi_loop_free(struct xiscsi_loop *loop)
{
	if (!loop)
		return;
	xt_group_destroy(loop->g);
	free(loop);
}

int xiscsi_loop_poll(struct xiscsi_loop *loop, unsigned budget, int timeout_ms)
{
	return xt_group_poll(loop->g, budget ? (int)budget : 1024, timeout_ms);
}

int xiscsi_loop_fd(struct xiscsi_loop *loop)
{
	return xt_group_fd(loop->g);
}

int xiscsi_loop_next_timeout_ms(struct xiscsi_loop *loop)
{
	return xt_group_next_timeout(loop->g);
}

int xiscsi_loop_post(struct xiscsi_loop *loop, void (*fn)(void *arg), void *arg)
{
	return xt_group_post(loop->g, fn, arg);
}

const char *xiscsi_transport_why(const char *name)
{
	return xt_backend_why(name);
}

const char *xiscsi_loop_transport(const struct xiscsi_loop *loop)
{
	return xt_group_backend(loop->g);
}

/* ------------------------------------------------------------- helpers */

static const char *const state_names[] = {
        [XISCSI_STATE_IDLE] = "idle",
        [XISCSI_STATE_CONNECTING] = "connecting",
        [XISCSI_STATE_LOGGED_IN] = "logged in",
        [XISCSI_STATE_RECONNECTING] = "reconnecting",
        [XISCSI_STATE_LOGGING_OUT] = "logging out",
        [XISCSI_STATE_FAILED] = "failed",
        [XISCSI_STATE_CLOSED] = "closed",
};

const char *xiscsi_state_name(enum xiscsi_state st)
{
	if ((unsigned)st < sizeof(state_names) / sizeof(state_names[0]) && state_names[st])
		return state_names[st];
	return "unknown";
}

void ini_set_state(struct xiscsi_session *s, enum xiscsi_state st)
{
	if (s->state == st)
		return;
	ini_log(2, "session %s -> %s", xiscsi_state_name(s->state), xiscsi_state_name(st));
	s->state = st;
	if (s->state_cb)
		s->state_cb(s, st, s->state_arg);
}

void ini_seterr(struct xiscsi_session *s, int err, const char *fmt, ...)
{
	va_list ap;

	s->last_err = err;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	ini_log(1, "%s", s->err);
}

uint32_t ini_next_tag(struct xiscsi_session *s)
{
	s->next_tag = (s->next_tag + 1) & 0x7fffffffu;
	/* Never the reserved tag: the session bit plus a 31-bit counter cannot reach it. */
	return 0x80000000u | (s->next_tag & 0x7ffffffeu);
}

const char *xiscsi_session_error(const struct xiscsi_session *s)
{
	return s->err[0] ? s->err : "no error";
}

enum xiscsi_state xiscsi_session_state(const struct xiscsi_session *s)
{
	return s->state;
}

void xiscsi_session_set_state_cb(struct xiscsi_session *s,
                                 void (*cb)(struct xiscsi_session *s, enum xiscsi_state st,
                                            void *arg),
                                 void *arg)
{
	s->state_cb = cb;
	s->state_arg = arg;
}

int xiscsi_session_info(const struct xiscsi_session *s, struct xiscsi_session_info *info)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->isid, s->isid, sizeof(info->isid));
	info->tsih = s->tsih;
	info->tpgt = s->params.tpgt;
	info->header_digest = s->params.header_digest == XI_DIGEST_CRC32C;
	info->data_digest = s->params.data_digest == XI_DIGEST_CRC32C;
	info->immediate_data = s->params.immediate_data;
	info->initial_r2t = s->params.initial_r2t;
	info->max_recv_data_segment_length = s->params.max_recv_dsl;
	info->max_xmit_data_segment_length = s->params.max_send_dsl;
	info->max_burst_length = s->params.max_burst_length;
	info->first_burst_length = s->params.first_burst_length;
	info->max_outstanding_r2t = s->params.max_outstanding_r2t;
	info->reconnects = s->reconnects;
	return s->state == XISCSI_STATE_LOGGED_IN ? 0 : -ENOTCONN;
}

/* ------------------------------------------------------ session create */

int xiscsi_session_new(struct xiscsi_loop *loop, const struct xiscsi_opts *opts,
                       struct xiscsi_session **out)
{
	struct xiscsi_session *s;
	int err;

	if (!loop || !opts || opts->size < offsetof(struct xiscsi_opts, queue_depth) || !opts->host)
		return -EINVAL;
	if (opts->session_type == XISCSI_SESSION_NORMAL && !opts->target_name)
		return -EINVAL;
	if (opts->chap_user && !opts->chap_secret)
		return -EINVAL;
	if (opts->chap_mutual_user && (!opts->chap_mutual_secret || !opts->chap_user))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	err = ini_opts_copy(s, opts);
	if (err)
		goto out;
	if (s->o.queue_depth == 0)
		s->o.queue_depth = 128;
	if (!s->o.initiator_name) {
		char host[64] = "localhost";
		char name[128];

		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		snprintf(name, sizeof(name), "iqn.2026-01.io.xiscsi:%s", host);
		s->str_initiator = strdup(name);
		if (!s->str_initiator) {
			err = -ENOMEM;
			goto out;
		}
		s->o.initiator_name = s->str_initiator;
	}
	/*
	 * RFC 7143 10.12.5: ISID type 10b (random) in the top bits of byte 0,
	 * a random B/C part, the qualifier (D) last. Kept for reconnects so the
	 * target sees the same I_T nexus (section 4.4.3).
	 */
	if (RAND_bytes(s->isid, sizeof(s->isid)) != 1) {
		err = -EIO;
		goto out;
	}
	s->isid[0] = 0x80 | (s->isid[0] & 0x3f);
	if (s->o.isid_qualifier) {
		s->isid[4] = (uint8_t)(s->o.isid_qualifier >> 8);
		s->isid[5] = (uint8_t)s->o.isid_qualifier;
	}
	params_init(&s->params);
	err = ini_tasks_init(s);
	if (err)
		goto out;
	s->state = XISCSI_STATE_IDLE;
	*out = s;
	return 0;
out:
	ini_opts_free(s);
	free(s->tasks);
	free(s);
	return err;
}

static void conn_close(struct xiscsi_session *s, bool abort)
{
	if (s->conn) {
		xt_conn_close(s->conn, abort ? XT_CLOSE_ABORT : 0);
		s->conn = NULL;
	}
	/* Inside pdu_rx_feed the parser is still in use: on_recv destroys it after. */
	if (s->rx_ready && !s->in_feed) {
		pdu_rx_destroy(&s->rx);
		s->rx_ready = false;
	}
	xt_timer_cancel(&s->login_timer);
	xt_timer_cancel(&s->nop_timer);
	ini_login_free(s);
	s->cstate = INI_CONN_NONE;
	s->nop_outstanding = false;
}

static void fail_session_ops(struct xiscsi_session *s, int err)
{
	ini_text_fail(s, err);
	if (s->tmf.busy) {
		s->tmf.busy = false;
		if (s->tmf.cb)
			s->tmf.cb(s, err, s->tmf.arg);
	}
}

void xiscsi_session_free(struct xiscsi_session *s)
{
	if (!s)
		return;
	s->in_free = true;
	conn_close(s, true);
	xt_timer_cancel(&s->retry_timer);
	xt_timer_cancel(&s->kick);
	fail_session_ops(s, -ECANCELED);
	ini_tasks_fail_all(s, -ECANCELED);
	/*
	 * PDUs still queued in the transport point at the session: the group
	 * cancels them when it reaps the aborted connection at the end of a
	 * poll, so poll until their completions have run (a few rounds).
	 */
	for (int i = 0; i < 8 && s->pdus_out; i++)
		xt_group_poll(s->loop->g, 64, 0);
	ini_tasks_free(s);
	ini_opts_free(s);
	free(s);
}

/* --------------------------------------------------------- connection */

static void on_connect(struct xt_conn *c);
static void on_recv(struct xt_conn *c, struct xt_rxbuf *b);
static void on_eof(struct xt_conn *c);
static void on_error(struct xt_conn *c, int err);

static const struct xt_conn_cbs conn_cbs = {
        .on_connect = on_connect,
        .on_recv = on_recv,
        .on_eof = on_eof,
        .on_error = on_error,
};

static int rx_place(void *ctx, const struct pdu_in *p, uint8_t **dst)
{
	return ini_rx_place(ctx, p, dst);
}

static int rx_pdu(void *ctx, struct pdu_in *p);

static const struct pdu_rx_ops rx_ops = {
        .place = rx_place,
        .pdu = rx_pdu,
};

static void login_timeout(struct xt_timer *t, void *arg)
{
	struct xiscsi_session *s = arg;

	(void)t;
	ini_seterr(s, -ETIMEDOUT, "login: no answer from %s:%u within %u ms", s->o.host, s->o.port,
	           s->o.login_timeout_ms);
	ini_conn_lost(s, -ETIMEDOUT, NULL);
}

static int resolve(struct xiscsi_session *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *res = NULL;
	char port[8];
	int rc;

	if (xt_addr_parse(s->o.host, s->o.port, ss, len) == 0) {
		/* xt_addr_parse takes a port in the string only; set ours. */
		if (ss->ss_family == AF_INET)
			((struct sockaddr_in *)ss)->sin_port = htobe16(s->o.port);
		else
			((struct sockaddr_in6 *)ss)->sin6_port = htobe16(s->o.port);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", s->o.port);
	rc = getaddrinfo(s->o.host, port, &hints, &res);
	if (rc != 0 || !res) {
		ini_seterr(s, -EHOSTUNREACH, "cannot resolve %s: %s", s->o.host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int conn_start(struct xiscsi_session *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct xt_conn_opts co;
	int err;

	err = resolve(s, &ss, &len);
	if (err)
		return err;
	co = s->loop->co; /* sndbuf, rcvbuf from xiscsi_loop_new_opts() */
	/*
	 * No high-water mark of our own: what we queue is bounded by the
	 * queue depth and the command window, and points at the callers'
	 * buffers (nothing is copied), while the transport's default (4 MiB)
	 * is only 32 writes of 128 KiB. A caller that submits its whole depth
	 * before it polls would get -EAGAIN there, which ini_pdu_send() must
	 * treat as a lost link to keep PDU order.
	 */
	co.send_hwm = SIZE_MAX / 2;
	s->cstate = INI_CONN_CONNECTING;
	err = xt_connect(s->loop->g, (struct sockaddr *)&ss, len, &co, &conn_cbs, s, &s->conn);
	if (err) {
		s->conn = NULL;
		s->cstate = INI_CONN_NONE;
		ini_seterr(s, err, "connect to %s:%u: %s", s->o.host, s->o.port, strerror(-err));
		return err;
	}
	xt_timer_start(s->loop->g, &s->login_timer, s->o.login_timeout_ms, 0, login_timeout, s);
	return 0;
}

static void on_connect(struct xt_conn *c)
{
	struct xiscsi_session *s = xt_conn_arg(c);
	uint32_t maxd = s->o.max_recv_data_segment_length;
	int err;

	/* Login PDUs may carry up to 8192 bytes whatever we declare (RFC 7143 13.12). */
	if (maxd < ISCSI_MAX_RECV_DSL_DEFAULT)
		maxd = ISCSI_MAX_RECV_DSL_DEFAULT;
	err = pdu_rx_init(&s->rx, &rx_ops, s, maxd);
	if (err) {
		ini_conn_lost(s, err, "receive parser");
		return;
	}
	s->rx_ready = true;
	s->cstate = INI_CONN_LOGIN;
	s->exp_statsn = 0;
	s->tsih = 0; /* a new session each time; the same ISID reinstates it (RFC 7143 6.3.5) */
	err = ini_login_start(s);
	if (err)
		ini_conn_lost(s, err, NULL); /* ini_login_start said why */
}

static void on_recv(struct xt_conn *c, struct xt_rxbuf *b)
{
	struct xiscsi_session *s = xt_conn_arg(c);
	ssize_t n;

	s->last_rx_ms = s->loop->g->now_ms;
	s->in_feed = true;
	n = pdu_rx_feed(&s->rx, b->data, b->len);
	s->in_feed = false;
	if (s->conn != c) {
		/* Closed from a callback during the feed. */
		if (s->rx_ready && s->cstate == INI_CONN_NONE) {
			pdu_rx_destroy(&s->rx);
			s->rx_ready = false;
		}
		return;
	}
	if (n < 0) {
		if (pdu_rx_error(&s->rx) != PDU_RX_ERR_CALLBACK)
			ini_seterr(s, (int)n, "receive: %s", pdu_rx_strerror(pdu_rx_error(&s->rx)));
		ini_conn_lost(s, (int)n, NULL);
		if (s->rx_ready && s->cstate == INI_CONN_NONE) {
			pdu_rx_destroy(&s->rx);
			s->rx_ready = false;
		}
	}
}

static void on_eof(struct xt_conn *c)
{
	struct xiscsi_session *s = xt_conn_arg(c);

	if (s->state == XISCSI_STATE_LOGGING_OUT && s->cstate == INI_CONN_NONE)
		return;
	ini_conn_lost(s, -ECONNRESET, "the target closed the connection");
}

static void on_error(struct xt_conn *c, int err)
{
	struct xiscsi_session *s = xt_conn_arg(c);

	ini_conn_lost(s, err, strerror(-err));
}

/* -------------------------------------------------------- keep-alive */

static int send_nop_out(struct xiscsi_session *s, uint32_t itt, uint32_t ttt, const uint8_t *lun,
                        const void *data, uint32_t len)
{
	struct ini_pdu *p = ini_pdu_get(s);
	struct iscsi_bhs_nop_out *no;

	if (!p)
		return -ENOMEM;
	no = (struct iscsi_bhs_nop_out *)&p->hdr.bhs;
	no->bhsno_opcode = ISCSI_OP_NOP_OUT;
	no->bhsno_flags = ISCSI_FLAG_FINAL;
	if (lun)
		memcpy(no->bhsno_lun, lun, 8);
	no->bhsno_itt = htobe32(itt);
	no->bhsno_ttt = htobe32(ttt);
	/* RFC 7143 11.18: immediate, so it needs no room in the CmdSN window. */
	ini_fill_sn(s, &p->hdr.bhs, true);
	return ini_pdu_send_copy(s, p, data, len);
}

static void nop_tick(struct xt_timer *t, void *arg)
{
	struct xiscsi_session *s = arg;
	uint64_t now = s->loop->g->now_ms;

	(void)t;
	if (s->cstate != INI_CONN_FFP)
		return;
	if (s->nop_outstanding) {
		if (now - s->nop_sent_ms >= s->o.nop_timeout_ms) {
			ini_seterr(s, -ETIMEDOUT, "no NOP-In answer for %u ms: connection lost",
			           s->o.nop_timeout_ms);
			ini_conn_lost(s, -ETIMEDOUT, NULL);
		}
		return;
	}
	if (now - s->last_rx_ms < s->o.nop_interval_ms)
		return;
	s->nop_itt = ini_next_tag(s);
	if (send_nop_out(s, s->nop_itt, ISCSI_RESERVED_TAG, NULL, NULL, 0) == 0) {
		s->nop_outstanding = true;
		s->nop_sent_ms = now;
	}
}

static int rx_nop_in(struct xiscsi_session *s, struct pdu_in *p)
{
	const struct iscsi_bhs_nop_in *ni = (const void *)p->bhs;
	uint32_t itt = be32toh(ni->bhsni_itt);
	uint32_t ttt = be32toh(ni->bhsni_ttt);
	uint32_t echo;

	/* RFC 7143 11.19: an unsolicited NOP-In (ITT reserved) does not advance StatSN. */
	ini_rx_sn(s, ni->bhsni_statsn, ni->bhsni_expcmdsn, ni->bhsni_maxcmdsn,
	          itt != ISCSI_RESERVED_TAG);
	if (itt != ISCSI_RESERVED_TAG) {
		if (s->nop_outstanding && itt == s->nop_itt)
			s->nop_outstanding = false;
		return 0;
	}
	if (ttt == ISCSI_RESERVED_TAG)
		return 0; /* a window update only */
	/*
	 * The target pings: answer with its TTT and data echoed (11.18.2). The
	 * echo is a PDU we send, so it holds no more than the target declared
	 * it takes (11.18.5, 13.12); our own limit let more in.
	 */
	echo = p->status == 0 ? p->data_len : 0;
	if (echo > s->params.max_send_dsl)
		echo = s->params.max_send_dsl;
	return send_nop_out(s, ISCSI_RESERVED_TAG, ttt, ni->bhsni_lun, echo ? p->data : NULL, echo);
}

/* ----------------------------------------------------- state changes */

static void retry_fire(struct xt_timer *t, void *arg);

static void fail_session(struct xiscsi_session *s, int err)
{
	ini_set_state(s, XISCSI_STATE_FAILED);
	fail_session_ops(s, err);
	ini_tasks_fail_all(s, err);
	if (s->connect_cb) {
		xiscsi_session_cb cb = s->connect_cb;

		s->connect_cb = NULL;
		cb(s, err, s->connect_arg);
	}
	if (s->logout_cb) {
		xiscsi_session_cb cb = s->logout_cb;

		s->logout_cb = NULL;
		cb(s, err, s->logout_arg);
	}
}

static void schedule_retry(struct xiscsi_session *s)
{
	uint64_t now = xt_now_ms();

	if (s->o.reconnect_timeout_ms == 0 || now - s->lost_at_ms >= s->o.reconnect_timeout_ms) {
		ini_log(1, "giving up reconnecting to %s:%u: %s", s->o.host, s->o.port, s->err);
		fail_session(s, s->o.reconnect_timeout_ms ? -ETIMEDOUT : -ECONNRESET);
		return;
	}
	if (s->backoff_ms == 0)
		s->backoff_ms = s->o.reconnect_min_ms;
	else if (s->backoff_ms < s->o.reconnect_max_ms)
		s->backoff_ms = s->backoff_ms * 2 > s->o.reconnect_max_ms ? s->o.reconnect_max_ms
		                                                          : s->backoff_ms * 2;
	ini_log(2, "reconnecting in %u ms", s->backoff_ms);
	xt_timer_start(s->loop->g, &s->retry_timer, s->backoff_ms, 0, retry_fire, s);
}

static void retry_fire(struct xt_timer *t, void *arg)
{
	struct xiscsi_session *s = arg;
	int err;

	(void)t;
	if (s->state != XISCSI_STATE_RECONNECTING)
		return;
	err = conn_start(s);
	if (err)
		schedule_retry(s);
}

void ini_conn_lost(struct xiscsi_session *s, int err, const char *why)
{
	bool was_ffp = s->cstate == INI_CONN_FFP;

	if (s->cstate == INI_CONN_NONE)
		return;
	if (why)
		ini_seterr(s, err, "connection to %s:%u lost: %s", s->o.host, s->o.port, why);
	conn_close(s, true);
	fail_session_ops(s, -ECONNRESET);
	switch (s->state) {
	case XISCSI_STATE_CONNECTING:
		/* The first login failed: report it, the caller decides whether to try again. */
		ini_set_state(s, XISCSI_STATE_FAILED);
		ini_tasks_fail_all(s, err);
		if (s->connect_cb) {
			xiscsi_session_cb cb = s->connect_cb;

			s->connect_cb = NULL;
			cb(s, err, s->connect_arg);
		}
		return;
	case XISCSI_STATE_LOGGING_OUT:
		ini_set_state(s, XISCSI_STATE_CLOSED);
		ini_tasks_fail_all(s, -ECONNRESET);
		if (s->logout_cb) {
			xiscsi_session_cb cb = s->logout_cb;

			s->logout_cb = NULL;
			cb(s, 0, s->logout_arg);
		}
		return;
	case XISCSI_STATE_LOGGED_IN:
	case XISCSI_STATE_RECONNECTING:
		if (was_ffp || s->state == XISCSI_STATE_LOGGED_IN) {
			s->lost_at_ms = xt_now_ms();
			s->backoff_ms = 0;
		}
		ini_set_state(s, XISCSI_STATE_RECONNECTING);
		ini_tasks_lost(s);
		schedule_retry(s);
		return;
	default:
		return;
	}
}

static void logged_in(struct xiscsi_session *s)
{
	unsigned dig = 0;

	xt_timer_cancel(&s->login_timer);
	s->cstate = INI_CONN_FFP;
	if (s->params.header_digest == XI_DIGEST_CRC32C)
		dig |= PDU_DIGEST_HEADER;
	if (s->params.data_digest == XI_DIGEST_CRC32C)
		dig |= PDU_DIGEST_DATA;
	pdu_rx_set_digests(&s->rx, dig);
	pdu_rx_set_max_data(&s->rx, s->params.max_recv_dsl);
	/* MaxRecvDataSegmentLength the target did not declare is 8192 (13.12). */
	if (s->params.max_send_dsl == 0)
		s->params.max_send_dsl = ISCSI_MAX_RECV_DSL_DEFAULT;
	if (s->ever_logged_in)
		s->reconnects++;
	s->ever_logged_in = true;
	s->backoff_ms = 0;
	s->last_rx_ms = s->loop->g->now_ms;
	if (s->o.nop_interval_ms) {
		uint32_t period = s->o.nop_interval_ms / 2;

		xt_timer_start(s->loop->g, &s->nop_timer, period ? period : 1, period ? period : 1,
		               nop_tick, s);
	}
	ini_log(2,
	        "logged in to %s (TSIH %u, MaxXmitDSL %u, FirstBurst %u, ImmediateData %d, "
	        "InitialR2T %d, digests %s/%s)",
	        s->o.target_name ? s->o.target_name : "discovery", s->tsih, s->params.max_send_dsl,
	        s->params.first_burst_length, s->params.immediate_data, s->params.initial_r2t,
	        s->params.header_digest == XI_DIGEST_CRC32C ? "CRC32C" : "None",
	        s->params.data_digest == XI_DIGEST_CRC32C ? "CRC32C" : "None");
	ini_set_state(s, XISCSI_STATE_LOGGED_IN);
	if (s->connect_cb) {
		xiscsi_session_cb cb = s->connect_cb;

		s->connect_cb = NULL;
		cb(s, 0, s->connect_arg);
	}
	ini_tasks_kick(s);
}

/* ----------------------------------------------------------- receive */

static int rx_logout(struct xiscsi_session *s, struct pdu_in *p)
{
	const struct iscsi_bhs_logout_response *r = (const void *)p->bhs;
	xiscsi_session_cb cb = s->logout_cb;
	int err = r->bhslors_response == ISCSI_LOGOUT_RSP_SUCCESS ? 0 : -EIO;

	ini_rx_sn(s, r->bhslors_statsn, r->bhslors_expcmdsn, r->bhslors_maxcmdsn, true);
	if (be32toh(r->bhslors_itt) != s->logout_itt)
		return 0;
	conn_close(s, false);
	ini_set_state(s, XISCSI_STATE_CLOSED);
	ini_tasks_fail_all(s, -ECONNRESET);
	s->logout_cb = NULL;
	if (cb)
		cb(s, err, s->logout_arg);
	return PDU_RX_STOP;
}

static int rx_tmf(struct xiscsi_session *s, struct pdu_in *p)
{
	const struct iscsi_bhs_task_mgmt_response *r = (const void *)p->bhs;

	ini_rx_sn(s, r->bhstmrs_statsn, r->bhstmrs_expcmdsn, r->bhstmrs_maxcmdsn, true);
	if (!s->tmf.busy || be32toh(r->bhstmrs_itt) != s->tmf.itt)
		return 0;
	s->tmf.busy = false;
	if (s->tmf.cb)
		s->tmf.cb(s, r->bhstmrs_response, s->tmf.arg);
	return 0;
}

static int rx_async(struct xiscsi_session *s, struct pdu_in *p)
{
	const struct iscsi_bhs_async_message *a = (const void *)p->bhs;

	ini_rx_sn(s, a->bhsam_statsn, a->bhsam_expcmdsn, a->bhsam_maxcmdsn, true);
	switch (ini_async_action(a->bhsam_async_event)) {
	case INI_ASYNC_RECONNECT:
		/*
		 * RFC 7143 11.9.1: events 1-3, the target will drop us; log in
		 * again at once. Event 4 (renegotiate): rather than a Text
		 * exchange in the middle of I/O, a new login renegotiates every
		 * parameter at once; commands in flight are re-issued.
		 */
		ini_conn_lost(s, -ECONNRESET,
		              a->bhsam_async_event == ISCSI_ASYNC_NEGOTIATION_REQ
		                      ? "the target asked to renegotiate: logging in again"
		                      : "the target asked for a logout");
		return PDU_RX_STOP;
	default:
		ini_log(2, "asynchronous event %u ignored", a->bhsam_async_event);
		return 0;
	}
}

static int rx_pdu(void *ctx, struct pdu_in *p)
{
	struct xiscsi_session *s = ctx;
	int rc;

	xt_conn_count_pdus(s->conn, 1, 0);
	if (s->cstate == INI_CONN_LOGIN) {
		rc = ini_login_rx(s, p);
		if (rc < 0)
			return rc;
		if (rc == 1)
			logged_in(s);
		return 0;
	}
	if (p->error == PDU_RX_ERR_DATA_DIGEST)
		ini_log(1, "data digest error on opcode 0x%02x", pdu_opcode(p->bhs));
	rc = ini_rx_task_pdu(s, p);
	if (rc <= 0)
		return rc;
	switch (pdu_opcode(p->bhs)) {
	case ISCSI_OP_NOP_IN:
		return rx_nop_in(s, p);
	case ISCSI_OP_TEXT_RSP:
		return ini_text_rx(s, p);
	case ISCSI_OP_TASK_MGMT_RSP:
		return rx_tmf(s, p);
	case ISCSI_OP_LOGOUT_RSP:
		return rx_logout(s, p);
	case ISCSI_OP_ASYNC_MSG:
		return rx_async(s, p);
	default:
		ini_seterr(s, -EPROTO, "unexpected PDU opcode 0x%02x from the target",
		           pdu_opcode(p->bhs));
		return -EPROTO;
	}
}

/* ---------------------------------------------------------- connect */

int xiscsi_session_connect(struct xiscsi_session *s, xiscsi_session_cb cb, void *arg)
{
	int err;

	if (s->state != XISCSI_STATE_IDLE && s->state != XISCSI_STATE_FAILED &&
	    s->state != XISCSI_STATE_CLOSED)
		return -EBUSY;
	s->connect_cb = cb;
	s->connect_arg = arg;
	s->err[0] = '\0';
	s->ever_logged_in = false;
	ini_set_state(s, XISCSI_STATE_CONNECTING);
	err = conn_start(s);
	if (err) {
		s->connect_cb = NULL;
		ini_set_state(s, XISCSI_STATE_FAILED);
	}
	return err;
}

struct sync_wait {
	bool done;
	int err;
};

static void sync_cb(struct xiscsi_session *s, int err, void *arg)
{
	struct sync_wait *w = arg;

	(void)s;
	w->done = true;
	w->err = err;
}

/* Bounded by the login and reconnect timers, which end every wait. */
static int wait_done(struct xiscsi_session *s, struct sync_wait *w)
{
	while (!w->done) {
		int rc = xt_group_poll(s->loop->g, 256, 100);

		if (rc < 0)
			return rc;
	}
	return w->err;
}

int xiscsi_session_connect_sync(struct xiscsi_session *s)
{
	struct sync_wait w = {false, 0};
	int err = xiscsi_session_connect(s, sync_cb, &w);

	if (err)
		return err;
	return wait_done(s, &w);
}

/* ----------------------------------------------------------- logout */

static int send_logout(struct xiscsi_session *s)
{
	struct ini_pdu *p = ini_pdu_get(s);
	struct iscsi_bhs_logout_request *lo;

	if (!p)
		return -ENOMEM;
	lo = (struct iscsi_bhs_logout_request *)&p->hdr.bhs;
	lo->bhslo_opcode = ISCSI_OP_LOGOUT_REQ;
	lo->bhslo_reason = ISCSI_FLAG_FINAL | ISCSI_LOGOUT_CLOSE_SESSION;
	s->logout_itt = ini_next_tag(s);
	lo->bhslo_itt = htobe32(s->logout_itt);
	lo->bhslo_cid = htobe16(s->cid);
	/* Immediate: the window may be shut while commands drain (RFC 7143 11.14). */
	ini_fill_sn(s, &p->hdr.bhs, true);
	s->cstate = INI_CONN_LOGOUT;
	return ini_pdu_send(s, p, NULL, 0, 0);
}

static void logout_now(struct xt_timer *t, void *arg)
{
	struct xiscsi_session *s = arg;
	int err;

	(void)t;
	if (s->state != XISCSI_STATE_LOGGING_OUT)
		return;
	if (s->cstate == INI_CONN_FFP && (s->active || s->npending)) {
		/* Let the commands in flight finish first; bounded by their own timeouts. */
		xt_timer_start(s->loop->g, &s->kick, 10, 0, logout_now, s);
		return;
	}
	if (s->cstate != INI_CONN_FFP) {
		conn_close(s, true);
		ini_set_state(s, XISCSI_STATE_CLOSED);
		ini_tasks_fail_all(s, -ECONNRESET);
		if (s->logout_cb) {
			xiscsi_session_cb cb = s->logout_cb;

			s->logout_cb = NULL;
			cb(s, 0, s->logout_arg);
		}
		return;
	}
	err = send_logout(s);
	if (err)
		ini_conn_lost(s, err, "logout request");
	else
		xt_timer_start(s->loop->g, &s->login_timer, s->o.login_timeout_ms, 0, login_timeout,
		               s);
}

int xiscsi_session_logout(struct xiscsi_session *s, xiscsi_session_cb cb, void *arg)
{
	if (s->state == XISCSI_STATE_IDLE || s->state == XISCSI_STATE_CLOSED ||
	    s->state == XISCSI_STATE_FAILED)
		return -ENOTCONN;
	if (s->state == XISCSI_STATE_LOGGING_OUT)
		return -EALREADY;
	xt_timer_cancel(&s->retry_timer);
	s->logout_cb = cb;
	s->logout_arg = arg;
	ini_set_state(s, XISCSI_STATE_LOGGING_OUT);
	xt_timer_start(s->loop->g, &s->kick, 0, 0, logout_now, s);
	return 0;
}

int xiscsi_session_logout_sync(struct xiscsi_session *s)
{
	struct sync_wait w = {false, 0};
	int err = xiscsi_session_logout(s, sync_cb, &w);

	if (err)
		return err;
	return wait_done(s, &w);
}

/* ------------------------------------------------- task management */

static int send_tmf(struct xiscsi_session *s, uint8_t function, uint64_t lun, uint32_t ref_itt,
                    uint32_t ref_cmdsn, xiscsi_tmf_cb cb, void *arg)
{
	struct ini_pdu *p;
	struct iscsi_bhs_task_mgmt_request *tm;

	if (s->state != XISCSI_STATE_LOGGED_IN || s->cstate != INI_CONN_FFP)
		return -ENOTCONN;
	if (s->tmf.busy)
		return -EBUSY;
	p = ini_pdu_get(s);
	if (!p)
		return -ENOMEM;
	tm = (struct iscsi_bhs_task_mgmt_request *)&p->hdr.bhs;
	tm->bhstmr_opcode = ISCSI_OP_TASK_MGMT_REQ;
	tm->bhstmr_function = ISCSI_FLAG_FINAL | function;
	if (lun_encode((uint32_t)lun, tm->bhstmr_lun) < 0 || lun > LUN_FLAT_MAX) {
		ini_pdu_put(s, p);
		return -EINVAL;
	}
	s->tmf.itt = ini_next_tag(s);
	tm->bhstmr_itt = htobe32(s->tmf.itt);
	tm->bhstmr_referenced_task_tag = htobe32(ref_itt);
	tm->bhstmr_refcmdsn = htobe32(ref_cmdsn);
	/* RFC 7143 11.5: sent immediate so it overtakes the commands it manages. */
	ini_fill_sn(s, &p->hdr.bhs, true);
	s->tmf.busy = true;
	s->tmf.cb = cb;
	s->tmf.arg = arg;
	return ini_pdu_send(s, p, NULL, 0, 0);
}

int xiscsi_abort_task(struct xiscsi_session *s, struct xiscsi_cmd *cmd, xiscsi_tmf_cb cb, void *arg)
{
	unsigned slot = cmd->_itt & 0xffffu;
	struct ini_task *t;

	if (slot >= s->ntasks)
		return -ENOENT;
	t = &s->tasks[slot];
	if (t->cmd != cmd)
		return -ENOENT;
	return send_tmf(s, ISCSI_TMF_ABORT_TASK, cmd->lun, t->itt, t->cmdsn, cb, arg);
}

int xiscsi_lun_reset(struct xiscsi_session *s, uint64_t lun, xiscsi_tmf_cb cb, void *arg)
{
	return send_tmf(s, ISCSI_TMF_LOGICAL_UNIT_RESET, lun, ISCSI_RESERVED_TAG, 0, cb, arg);
}

static void tmf_sync_cb(struct xiscsi_session *s, int response, void *arg)
{
	struct sync_wait *w = arg;

	(void)s;
	w->done = true;
	w->err = response;
}

int xiscsi_lun_reset_sync(struct xiscsi_session *s, uint64_t lun)
{
	struct sync_wait w = {false, 0};
	int err = xiscsi_lun_reset(s, lun, tmf_sync_cb, &w);

	if (err)
		return err;
	return wait_done(s, &w);
}
