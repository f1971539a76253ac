/*
 * Target connections: accept, receive through the PDU parser, send through
 * the transport, close when both directions are done.
 *
 * Lifetime: a connection is freed when it is closed, no send of its is in
 * the transport and no task of its session is in the SCSI layer (refs).
 */
#include "target/conn.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/keys.h"
#include "lib/pdu_tx.h"
#include "lib/log.h"
#include "target/session.h"

static void conn_put(struct tgt_conn *c);

static int conn_place(void *ctx, const struct pdu_in *pdu, uint8_t **dst)
{
	struct tgt_conn *c = ctx;

	if (c->state == TGT_CONN_FFP)
		return tgt_ffp_place(c, pdu, dst);
	return 0;
}

static int conn_pdu(void *ctx, struct pdu_in *pdu)
{
	struct tgt_conn *c = ctx;

	c->nop_sent_ms = 0; /* any PDU proves the peer alive */
	xt_conn_count_pdus(c->xc, 1, 0);
	switch (c->state) {
	case TGT_CONN_LOGIN:
		return tgt_login_pdu(c, pdu);
	case TGT_CONN_FFP:
		return tgt_ffp_pdu(c, pdu);
	default:
		/* After Logout, RFC 7143 11.14: nothing more is accepted. */
		return 0;
	}
}

static const struct pdu_rx_ops conn_rx_ops = {
        .place = conn_place,
        .pdu = conn_pdu,
};

static void conn_on_recv(struct xt_conn *xc, struct xt_rxbuf *b)
{
	struct tgt_conn *c = xt_conn_arg(xc);
	const struct iscsi_bhs *bad;
	ssize_t n;

	if (c->closing)
		return;
	/* The group's clock may date from before its wait: read the time once
	 * per buffer, or a busy connection would look idle to the NOP timer. */
	c->last_rx_ms = xt_now_ms();
	/* Callbacks may close c: keep it alive until the feed returns. */
	c->refs++;
	n = pdu_rx_feed(&c->rx, b->data, b->len);
	if (n >= 0 || c->closing) {
		conn_put(c);
		return;
	}
	/* A stream error leaves no PDU boundary to resync on (RFC 7143 6.1.2):
	 * say why where a header is known, then drop the connection. */
	bad = pdu_rx_header(&c->rx);
	if (bad && (n == -EMSGSIZE || n == -EPROTO) && !c->closing)
		tgt_conn_reject(c, bad, ISCSI_REJECT_PROTOCOL_ERROR);
	log_info("conn %s: %s (%s), closing", c->peer, pdu_rx_strerror(pdu_rx_error(&c->rx)),
	         strerror((int)-n));
	tgt_conn_close(c, NULL);
	conn_put(c);
}

static void conn_on_eof(struct xt_conn *xc)
{
	struct tgt_conn *c = xt_conn_arg(xc);

	if (!pdu_rx_idle(&c->rx))
		log_info("conn %s: stream ends inside a PDU", c->peer);
	tgt_conn_close(c, c->state == TGT_CONN_LOGOUT ? NULL : "peer closed");
}

static void conn_on_error(struct xt_conn *xc, int err)
{
	struct tgt_conn *c = xt_conn_arg(xc);

	log_info("conn %s: %s", c->peer, strerror(-err));
	tgt_conn_close(c, NULL);
}

static void conn_on_writable(struct xt_conn *xc)
{
	struct tgt_conn *c = xt_conn_arg(xc);
	struct xt_send_req *req, *next;
	int rc;

	/* Retry what the high-water mark refused, in order. */
	req = c->blocked;
	c->blocked = NULL;
	for (; req; req = next) {
		next = req->next;
		req->next = NULL;
		rc = xt_conn_send(c->xc, req);
		if (rc == -EAGAIN) {
			req->next = next;
			c->blocked = req;
			return;
		}
		if (rc)
			req->cb(c->xc, req, rc);
	}
	if (!c->blocked && !c->th->draining)
		xt_conn_resume_recv(c->xc);
}

static const struct xt_conn_cbs conn_cbs = {
        .on_recv = conn_on_recv,
        .on_eof = conn_on_eof,
        .on_error = conn_on_error,
        .on_writable = conn_on_writable,
};

void tgt_conn_accept(struct xt_listener *l, struct xt_conn *xc, void *arg)
{
	struct tgt_portal *p = arg;
	struct tgt_thread *th = NULL;
	struct tgt_conn *c;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned i;

	for (i = 0; i < p->d->nthreads; i++)
		if (p->listeners[i] == l)
			th = &p->d->threads[i];
	c = calloc(1, sizeof(*c));
	if (!c || !th || th->draining) {
		free(c);
		xt_conn_set_cbs(xc, &conn_cbs, NULL);
		xt_conn_close(xc, XT_CLOSE_ABORT);
		return;
	}
	c->th = th;
	c->xc = xc;
	c->portal = p;
	c->refs = 1;
	c->state = TGT_CONN_LOGIN;
	c->max_recv_dsl = ISCSI_MAX_RECV_DSL_DEFAULT;
	c->max_send_dsl = ISCSI_MAX_RECV_DSL_DEFAULT;
	c->last_rx_ms = th->g->now_ms;
	if (xt_conn_peer_addr(xc, &ss, &len) == 0)
		xt_addr_format((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
	len = sizeof(ss);
	if (xt_conn_local_addr(xc, &ss, &len) == 0) {
		xt_addr_format((struct sockaddr *)&ss, c->local, sizeof(c->local));
		c->local_family = ss.ss_family;
	}
	/* RFC 7143 13.12: 8192 bytes until the login negotiates otherwise. */
	if (pdu_rx_init(&c->rx, &conn_rx_ops, c, ISCSI_MAX_RECV_DSL_DEFAULT)) {
		free(c);
		xt_conn_set_cbs(xc, &conn_cbs, NULL);
		xt_conn_close(xc, XT_CLOSE_ABORT);
		return;
	}
	xt_conn_set_cbs(xc, &conn_cbs, c);
	c->next = th->conns;
	if (th->conns)
		th->conns->prev = c;
	th->conns = c;
	th->nconns++;
	log_info("conn %s: accepted on %s (thread %u)", c->peer, c->local, th->idx);
}

static void conn_free(struct tgt_conn *c)
{
	struct tgt_thread *th = c->th;
	struct tgt_tx *tx;

	if (c->prev)
		c->prev->next = c->next;
	else
		th->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	th->nconns--;
	tgt_login_free(c);
	if (c->sess)
		tgt_session_free(c->sess);
	while ((tx = c->tx_free)) {
		c->tx_free = tx->next;
		free(tx);
	}
	keys_free(c->text_in);
	free(c->text_out);
	pdu_rx_destroy(&c->rx);
	free(c);
}

static void conn_put(struct tgt_conn *c)
{
	if (--c->refs == 0)
		conn_free(c);
}

void tgt_conn_get(struct tgt_conn *c)
{
	c->refs++;
}

void tgt_conn_release(struct tgt_conn *c)
{
	conn_put(c);
}

void tgt_conn_close(struct tgt_conn *c, const char *why)
{
	struct xt_send_req *req, *next;

	if (c->closing)
		return;
	c->closing = true;
	if (why)
		log_info("conn %s: %s", c->peer, why);
	c->state = TGT_CONN_CLOSED;
	/* Sends refused for the high-water mark never reached the transport. */
	for (req = c->blocked, c->blocked = NULL; req; req = next) {
		next = req->next;
		req->cb(c->xc, req, -ECANCELED);
	}
	tgt_ffp_conn_gone(c);
	xt_conn_close(c->xc, 0);
	conn_put(c);
}

void tgt_conn_tick(struct tgt_conn *c, uint64_t now_ms)
{
	const struct tgt_config *cfg = c->th->d->cfg;

	if (c->closing)
		return;
	if (c->state == TGT_CONN_LOGIN && now_ms - c->last_rx_ms > TGT_LOGIN_TIMEOUT_MS) {
		tgt_conn_close(c, "login timed out");
		return;
	}
	if (c->state != TGT_CONN_FFP || !cfg->nop_interval_s)
		return;
	if (c->nop_sent_ms) {
		if (cfg->nop_timeout_s && now_ms - c->nop_sent_ms > cfg->nop_timeout_s * 1000ull)
			tgt_conn_close(c, "NOP-In ping unanswered, dropping connection");
		return;
	}
	if (now_ms - c->last_rx_ms >= cfg->nop_interval_s * 1000ull)
		tgt_ffp_send_ping(c, now_ms);
}

/* ---- sending ---- */

static void tx_done(struct xt_conn *xc, struct xt_send_req *req, int status)
{
	struct tgt_tx *tx = req->arg;
	struct tgt_conn *c = tx->conn;

	if (tx->done)
		tx->done(tx);
	free(tx->data);
	tx->data = NULL;
	tx->done = NULL;
	tx->next = c->tx_free;
	c->tx_free = tx;
	c->sends_in_flight--;
	if (c->state == TGT_CONN_LOGOUT && !c->sends_in_flight)
		tgt_conn_close(c, NULL);
	conn_put(c);
}

struct tgt_tx *tgt_tx_get(struct tgt_conn *c)
{
	struct tgt_tx *tx = c->tx_free;

	if (tx) {
		c->tx_free = tx->next;
	} else {
		tx = malloc(sizeof(*tx));
		if (!tx)
			return NULL;
		c->tx_alloc++;
		tx->data = NULL;
		tx->done = NULL;
	}
	tx->conn = c;
	tx->next = NULL;
	memset(&tx->bhs, 0, sizeof(tx->bhs));
	return tx;
}

int tgt_conn_send(struct tgt_conn *c, struct xt_send_req *req)
{
	struct xt_send_req *last;
	int rc;

	c->refs++;
	c->sends_in_flight++;
	xt_conn_count_pdus(c->xc, 0, 1);
	if (c->closing) {
		req->cb(c->xc, req, -ECANCELED);
		return -EPIPE;
	}
	if (c->blocked) {
		rc = -EAGAIN;
	} else {
		rc = xt_conn_send(c->xc, req);
	}
	if (rc == -EAGAIN) {
		/* Keep order behind what is already waiting; stop reading until
		 * the peer drains what we owe it. Counted as in flight already. */
		req->next = NULL;
		if (!c->blocked) {
			c->blocked = req;
		} else {
			for (last = c->blocked; last->next; last = last->next)
				;
			last->next = req;
		}
		xt_conn_pause_recv(c->xc);
		return 0;
	}
	if (rc) {
		req->cb(c->xc, req, rc);
		return rc;
	}
	return 0;
}

int tgt_tx_send(struct tgt_conn *c, struct tgt_tx *tx, const void *data, uint32_t len)
{
	struct iovec d = {.iov_base = (void *)data, .iov_len = len};
	int n;

	n = pdu_tx_build(&tx->ptx, &tx->bhs, NULL, 0, &d, len ? 1 : 0, c->digests, tx->iov,
	                 TGT_TX_IOV);
	if (n < 0) {
		tx->req.arg = tx;
		c->refs++;
		c->sends_in_flight++;
		tx_done(c->xc, &tx->req, n);
		return n;
	}
	tx->req.iov = tx->iov;
	tx->req.iovcnt = (unsigned)n;
	tx->req.cb = tx_done;
	tx->req.arg = tx;
	tx->req.next = NULL;
	return tgt_conn_send(c, &tx->req);
}

int tgt_conn_reject(struct tgt_conn *c, const struct iscsi_bhs *bad, uint8_t reason)
{
	struct tgt_tx *tx = tgt_tx_get(c);
	struct iscsi_bhs_reject *rj;

	if (!tx)
		return -ENOMEM;
	rj = (struct iscsi_bhs_reject *)&tx->bhs;
	rj->bhsrj_opcode = ISCSI_OP_REJECT;
	rj->bhsrj_flags = ISCSI_FLAG_FINAL;
	rj->bhsrj_reason = reason;
	rj->bhsrj_itt = ISCSI_RESERVED_TAG;
	/* 11.17: StatSN advances; ExpCmdSN/MaxCmdSN as for any response. */
	rj->bhsrj_statsn = htobe32(tgt_conn_next_statsn(c));
	if (c->sess && c->state == TGT_CONN_FFP) {
		rj->bhsrj_expcmdsn = htobe32(c->sess->exp_cmdsn);
		rj->bhsrj_maxcmdsn = htobe32(tgt_session_max_cmdsn(c->sess));
	}
	memcpy(tx->inline_data, bad, ISCSI_BHS_SIZE);
	log_info("conn %s: Reject opcode 0x%02x reason 0x%02x", c->peer,
	         bad->bhs_opcode & ISCSI_OP_MASK, reason);
	return tgt_tx_send(c, tx, tx->inline_data, ISCSI_BHS_SIZE);
}
