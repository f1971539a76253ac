/*
 * SendTargets on a discovery session (RFC 7143 section 12.3 and appendix
 * C): one Text Request, a response that may span several PDUs (C bit and
 * a Target Transfer Tag to continue with, section 11.10.2).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initiator/ini.h"
#include "lib/params.h"

static const char send_targets_all[] = "SendTargets=All";

static int send_text(struct xiscsi_session *s, uint32_t ttt, const void *data, uint32_t len)
{
	struct ini_pdu *p;
	struct iscsi_bhs_text_request *tr;

	if (!ini_window_open(&s->win))
		return -EAGAIN;
	p = ini_pdu_get(s);
	if (!p)
		return -ENOMEM;
	tr = (struct iscsi_bhs_text_request *)&p->hdr.bhs;
	tr->bhstr_opcode = ISCSI_OP_TEXT_REQ;
	tr->bhstr_flags = ISCSI_FLAG_FINAL;
	tr->bhstr_itt = htobe32(s->text.itt);
	tr->bhstr_ttt = htobe32(ttt);
	ini_fill_sn(s, &p->hdr.bhs, false);
	ini_window_take(&s->win);
	return ini_pdu_send_copy(s, p, data, len);
}

void xiscsi_target_list_free(struct xiscsi_target_list *list)
{
	if (!list)
		return;
	for (unsigned i = 0; i < list->ntargets; i++) {
		struct xiscsi_target *t = &list->targets[i];

		for (unsigned j = 0; j < t->nportals; j++)
			free(t->portals[j].address);
		free(t->portals);
		free(t->name);
	}
	free(list->targets);
	free(list);
}

/* "host:port,tpgt" (RFC 7143 13.8); the address part is kept as the target wrote it. */
static int add_portal(struct xiscsi_target *t, const char *v)
{
	const char *comma = strrchr(v, ',');
	struct xiscsi_portal *np;
	size_t alen = comma ? (size_t)(comma - v) : strlen(v);
	unsigned long tpgt = 1;

	if (comma) {
		char *end;

		tpgt = strtoul(comma + 1, &end, 10);
		if (*end || comma[1] == '\0' || tpgt > 65535)
			return -EPROTO;
	}
	if (alen == 0 || alen > 255)
		return -EPROTO;
	np = realloc(t->portals, (t->nportals + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	t->portals = np;
	np = &t->portals[t->nportals];
	np->address = strndup(v, alen);
	if (!np->address)
		return -ENOMEM;
	np->tpgt = (uint16_t)tpgt;
	t->nportals++;
	return 0;
}

/* The response is NUL-separated key=value pairs; TargetAddress belongs to the last TargetName. */
static int parse_targets(const uint8_t *buf, size_t len, struct xiscsi_target_list **out)
{
	struct xiscsi_target_list *l = calloc(1, sizeof(*l));
	size_t pos = 0;
	int err = 0;

	if (!l)
		return -ENOMEM;
	/* RFC 7143 6.1: every pair ends with NUL, the last one too. */
	if (len > 0 && buf[len - 1] != '\0') {
		err = -EPROTO;
		goto out;
	}
	while (pos < len) {
		const char *kv = (const char *)buf + pos;
		size_t n = strnlen(kv, len - pos);

		pos += n + 1;
		if (n == 0)
			continue;
		if (!strncmp(kv, "TargetName=", 11)) {
			struct xiscsi_target *nt;
			const char *name = kv + 11;

			if (strlen(name) == 0 || strlen(name) > XI_NAME_MAX) {
				err = -EPROTO;
				goto out;
			}
			nt = realloc(l->targets, (l->ntargets + 1) * sizeof(*nt));
			if (!nt) {
				err = -ENOMEM;
				goto out;
			}
			l->targets = nt;
			nt = &l->targets[l->ntargets];
			memset(nt, 0, sizeof(*nt));
			nt->name = strdup(name);
			if (!nt->name) {
				err = -ENOMEM;
				goto out;
			}
			l->ntargets++;
		} else if (!strncmp(kv, "TargetAddress=", 14)) {
			if (l->ntargets == 0) {
				err = -EPROTO;
				goto out;
			}
			err = add_portal(&l->targets[l->ntargets - 1], kv + 14);
			if (err)
				goto out;
		}
	}
out:
	if (err) {
		xiscsi_target_list_free(l);
		return err;
	}
	*out = l;
	return 0;
}

void ini_text_fail(struct xiscsi_session *s, int err)
{
	xiscsi_discovery_cb cb = s->text.cb;

	if (!s->text.busy)
		return;
	s->text.busy = false;
	free(s->text.buf);
	s->text.buf = NULL;
	s->text.len = 0;
	if (cb)
		cb(s, err, NULL, s->text.arg);
}

int ini_text_rx(struct xiscsi_session *s, struct pdu_in *p)
{
	const struct iscsi_bhs_text_response *r = (const void *)p->bhs;
	struct xiscsi_target_list *list = NULL;
	xiscsi_discovery_cb cb = s->text.cb;
	uint8_t *nb;
	int err;

	ini_rx_sn(s, r->bhstrs_statsn, r->bhstrs_expcmdsn, r->bhstrs_maxcmdsn, true);
	if (!s->text.busy || be32toh(r->bhstrs_itt) != s->text.itt)
		return 0;
	if (p->status) {
		ini_text_fail(s, -EBADMSG);
		return 0;
	}
	if (s->text.len + p->data_len > INI_TEXT_MAX) {
		ini_text_fail(s, -EMSGSIZE);
		return 0;
	}
	if (p->data_len) {
		nb = realloc(s->text.buf, s->text.len + p->data_len);
		if (!nb) {
			ini_text_fail(s, -ENOMEM);
			return 0;
		}
		s->text.buf = nb;
		memcpy(nb + s->text.len, p->data, p->data_len);
		s->text.len += p->data_len;
	}
	if (r->bhstrs_flags & ISCSI_FLAG_TEXT_CONTINUE) {
		/*
		 * RFC 7143 11.11.4: a response with more to come carries a TTT
		 * other than the reserved one (echoing that would start a new
		 * request) and some of the text (else the loop never ends).
		 */
		if (ini_text_continue_check(be32toh(r->bhstrs_ttt), p->data_len)) {
			ini_text_fail(s, -EPROTO);
			return 0;
		}
		/* RFC 7143 11.11.1: ask for the rest with an empty request carrying its TTT. */
		err = send_text(s, be32toh(r->bhstrs_ttt), NULL, 0);
		if (err)
			ini_text_fail(s, err);
		return 0;
	}
	err = parse_targets(s->text.buf, s->text.len, &list);
	free(s->text.buf);
	s->text.buf = NULL;
	s->text.len = 0;
	s->text.busy = false;
	if (cb)
		cb(s, err, list, s->text.arg);
	else
		xiscsi_target_list_free(list);
	return 0;
}

int xiscsi_send_targets(struct xiscsi_session *s, xiscsi_discovery_cb cb, void *arg)
{
	int err;

	if (s->state != XISCSI_STATE_LOGGED_IN || s->cstate != INI_CONN_FFP)
		return -ENOTCONN;
	if (s->text.busy)
		return -EBUSY;
	s->text.busy = true;
	s->text.itt = ini_next_tag(s);
	s->text.cb = cb;
	s->text.arg = arg;
	s->text.len = 0;
	err = send_text(s, ISCSI_RESERVED_TAG, send_targets_all, sizeof(send_targets_all));
	if (err)
		s->text.busy = false;
	return err;
}

struct st_wait {
	bool done;
	int err;
	struct xiscsi_target_list *list;
};

static void st_cb(struct xiscsi_session *s, int err, struct xiscsi_target_list *list, void *arg)
{
	struct st_wait *w = arg;

	(void)s;
	w->done = true;
	w->err = err;
	w->list = list;
}

int xiscsi_send_targets_sync(struct xiscsi_session *s, struct xiscsi_target_list **out)
{
	struct st_wait w = {false, 0, NULL};
	int err = xiscsi_send_targets(s, st_cb, &w);

	if (err)
		return err;
	/* Bounded: NOP timeout and connection loss end the wait with an error. */
	while (!w.done) {
		err = xiscsi_loop_poll(s->loop, 256, 100);
		if (err < 0)
			return err;
	}
	if (w.err)
		return w.err;
	*out = w.list;
	return 0;
}

int xiscsi_discover_sync(const struct xiscsi_opts *opts, const char *transport,
                         struct xiscsi_target_list **out, char *errbuf, size_t errlen)
{
	struct xiscsi_loop *loop = NULL;
	struct xiscsi_session *s = NULL;
	struct xiscsi_opts o;
	int err;

	o = *opts;
	o.session_type = XISCSI_SESSION_DISCOVERY;
	o.target_name = NULL;
	o.reconnect_timeout_ms = 0;
	err = xiscsi_loop_new(transport, &loop);
	if (err) {
		if (errbuf)
			snprintf(errbuf, errlen, "transport %s: %s",
			         transport ? transport : "default", strerror(-err));
		goto out;
	}
	err = xiscsi_session_new(loop, &o, &s);
	if (err) {
		if (errbuf)
			snprintf(errbuf, errlen, "bad options: %s", strerror(-err));
		goto out;
	}
	err = xiscsi_session_connect_sync(s);
	if (err) {
		if (errbuf)
			snprintf(errbuf, errlen, "%s", xiscsi_session_error(s));
		goto out;
	}
	err = xiscsi_send_targets_sync(s, out);
	if (err && errbuf)
		snprintf(errbuf, errlen, "SendTargets: %s", strerror(-err));
	xiscsi_session_logout_sync(s);
out:
	xiscsi_session_free(s);
	xiscsi_loop_free(loop);
	return err;
}
