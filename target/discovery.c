/*
 * Text requests (RFC 7143 11.10, 11.11): SendTargets (appendix C) in
 * discovery and normal sessions, with long answers split over several Text
 * Responses (C bit and Target Transfer Tag) and long requests gathered from
 * several Text Requests.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/keys.h"
#include "lib/log.h"
#include "lib/serial.h"
#include "target/conn.h"
#include "target/session.h"

/* An answer is kept for continuation up to this size. */
#define TGT_TEXT_MAX (1u << 20)

static bool wildcard(const char *host)
{
	return !strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !strcmp(host, "*");
}

/* keys refuses a second TargetName: build the answer as raw text instead. */
static int text_append(char **buf, size_t *len, size_t *cap, const char *k, const char *v)
{
	size_t need = strlen(k) + 1 + strlen(v) + 1;
	char *nb;

	if (*len + need > TGT_TEXT_MAX)
		return -E2BIG;
	if (*len + need > *cap) {
		size_t ncap = (*cap ? *cap * 2 : 1024);

		while (ncap < *len + need)
			ncap *= 2;
		nb = realloc(*buf, ncap);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	*len += (size_t)sprintf(*buf + *len, "%s=%s", k, v) + 1;
	return 0;
}

static int target_entry(struct tgt_conn *c, const struct tgt_target *t, char **buf, size_t *len,
                        size_t *cap)
{
	struct tgt_daemon *d = c->th->d;
	char addr[XT_ADDRSTRLEN + 16];
	size_t i;
	int rc;

	rc = text_append(buf, len, cap, "TargetName", t->name);
	for (i = 0; !rc && i < d->nportals; i++) {
		const struct tgt_portal *p = &d->portals[i];

		if (p->tpgt != t->tpgt)
			continue;
		if (wildcard(p->host)) {
			char host[XT_ADDRSTRLEN];
			char *colon;

			snprintf(host, sizeof(host), "%s", c->local);
			colon = strrchr(host, ':');
			if (colon)
				*colon = '\0';
			snprintf(addr, sizeof(addr), "%s:%u,%u", host, p->port, p->tpgt);
		} else {
			snprintf(addr, sizeof(addr), "%s", p->text);
		}
		rc = text_append(buf, len, cap, "TargetAddress", addr);
	}
	return rc;
}

/* Appendix C: "All" lists every target this initiator may see; a name
 * lists that target; empty (normal session) lists the session's target. */
static int send_targets(struct tgt_conn *c, const char *which, char **buf, size_t *len, size_t *cap)
{
	struct tgt_daemon *d = c->th->d;
	struct tgt_session *s = c->sess;
	size_t i;
	int rc = 0;

	pthread_rwlock_rdlock(&d->objs_lock);
	for (i = 0; !rc && i < d->ntargets; i++) {
		const struct tgt_target *t = &d->targets[i];

		if (!s->discovery) {
			if (t != s->target)
				continue;
			if (*which && strcasecmp(which, "All") && strcasecmp(which, t->name))
				continue;
		} else if (strcasecmp(which, "All") && strcasecmp(which, t->name)) {
			continue;
		}
		/* Issue 9: discovery shows only the targets the ACL lets in. */
		if (!tgt_target_allows(t, s->initiator))
			continue;
		rc = target_entry(c, t, buf, len, cap);
	}
	pthread_rwlock_unlock(&d->objs_lock);
	return rc;
}

int tgt_discovery_send_targets(struct tgt_conn *c, const char *which, struct keys *out)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = send_targets(c, which, &buf, &len, &cap);

	if (!rc && len)
		rc = keys_load(out, buf, len);
	free(buf);
	return rc;
}

static void text_reset(struct tgt_conn *c)
{
	free(c->text_out);
	c->text_out = NULL;
	c->text_out_len = c->text_out_off = 0;
	c->text_ttt = ISCSI_RESERVED_TAG;
	if (c->text_in)
		keys_clear(c->text_in);
}

/* The next piece of the answer, at most the peer's MaxRecvDataSegmentLength. */
static int text_send_piece(struct tgt_conn *c, const struct iscsi_bhs_text_request *rq,
                           bool partial)
{
	struct tgt_session *s = c->sess;
	struct iscsi_bhs_text_response *r;
	struct tgt_tx *tx = tgt_tx_get(c);
	size_t left = c->text_out_len - c->text_out_off;
	uint32_t n = left > c->max_send_dsl ? c->max_send_dsl : (uint32_t)left;
	bool more = n < left || partial;

	if (!tx)
		return -ENOMEM;
	r = (struct iscsi_bhs_text_response *)&tx->bhs;
	r->bhstrs_opcode = ISCSI_OP_TEXT_RSP;
	memcpy(r->bhstrs_lun, rq->bhstr_lun, 8);
	r->bhstrs_itt = rq->bhstr_itt;
	if (more) {
		/* 11.11.2: C set, F clear, a TTT the initiator sends back to
		 * ask for the rest. */
		r->bhstrs_flags = ISCSI_FLAG_TEXT_CONTINUE;
		c->text_ttt = (c->text_ttt + 1) & 0x7fffffffu;
		c->text_itt = rq->bhstr_itt;
		r->bhstrs_ttt = htobe32(c->text_ttt);
	} else {
		r->bhstrs_flags = ISCSI_FLAG_FINAL;
		r->bhstrs_ttt = ISCSI_RESERVED_TAG;
	}
	r->bhstrs_statsn = htobe32(tgt_conn_next_statsn(c));
	r->bhstrs_expcmdsn = htobe32(s->exp_cmdsn);
	r->bhstrs_maxcmdsn = htobe32(tgt_session_max_cmdsn(s));
	if (n) {
		tx->data = malloc(n);
		if (!tx->data) {
			tx->next = c->tx_free;
			c->tx_free = tx;
			return -ENOMEM;
		}
		memcpy(tx->data, c->text_out + c->text_out_off, n);
	}
	c->text_out_off += n;
	if (!more || partial) {
		free(c->text_out);
		c->text_out = NULL;
		c->text_out_len = c->text_out_off = 0;
	}
	return tgt_tx_send(c, tx, tx->data, n);
}

int tgt_text_pdu(struct tgt_conn *c, struct pdu_in *pdu)
{
	const struct iscsi_bhs_text_request *rq = (const void *)pdu->bhs;
	struct tgt_session *s = c->sess;
	uint32_t cmdsn = be32toh(rq->bhstr_cmdsn);
	uint32_t ttt = be32toh(rq->bhstr_ttt);
	bool more = rq->bhstr_flags & ISCSI_FLAG_TEXT_CONTINUE;
	size_t i, cap = 0;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	/* 3.2.2.1: outside the window, ignored; in it, ExpCmdSN moves on
	 * through cmdsn_advance so queued commands behind it run. */
	if (!tgt_ffp_cmdsn_take(s, cmdsn, pdu_is_immediate(pdu->bhs)))
		return 0;
	if (ttt != ISCSI_RESERVED_TAG && !(c->text_in && keys_pending(c->text_in))) {
		/* 11.10.4: the initiator asks for the rest of our answer. */
		if (!c->text_out || ttt != c->text_ttt || rq->bhstr_itt != c->text_itt) {
			text_reset(c);
			return tgt_conn_reject(c, pdu->bhs, ISCSI_REJECT_INVALID_PDU_FIELD);
		}
		return text_send_piece(c, rq, false);
	}
	/* A new request ends any answer still pending (11.10.4). */
	free(c->text_out);
	c->text_out = NULL;
	c->text_out_len = c->text_out_off = 0;
	if (!c->text_in) {
		c->text_in = keys_new();
		if (!c->text_in)
			return -ENOMEM;
	}
	rc = keys_feed(c->text_in, pdu->data, pdu->data_len, more);
	if (rc) {
		text_reset(c);
		return tgt_conn_reject(c, pdu->bhs, ISCSI_REJECT_PROTOCOL_ERROR);
	}
	if (more) {
		/* 11.10.2: a partial request gets an empty, not final, answer. */
		return text_send_piece(c, rq, true);
	}
	for (i = 0; !rc && i < keys_count(c->text_in); i++) {
		const char *k = keys_name(c->text_in, i);
		const char *v = keys_value(c->text_in, i);

		if (!strcmp(k, "SendTargets"))
			rc = send_targets(c, v, &buf, &len, &cap);
		else
			/* 6.2: keys we do not negotiate in full feature phase. */
			rc = text_append(&buf, &len, &cap, k, "NotUnderstood");
	}
	keys_clear(c->text_in);
	if (rc) {
		free(buf);
		log_warn("conn %s: Text answer failed: %s", c->peer, strerror(-rc));
		return tgt_conn_reject(c, pdu->bhs, ISCSI_REJECT_OUT_OF_RESOURCES);
	}
	c->text_out = (uint8_t *)buf;
	c->text_out_len = len;
	c->text_out_off = 0;
	return text_send_piece(c, rq, false);
}
