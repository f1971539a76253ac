/*
 * Initiator side of the login phase, RFC 7143 section 6.3: security stage
 * (AuthMethod, CHAP one-way or mutual, section 12.1.3), operational stage
 * (the section 13 keys, through the shared negotiation table), then full
 * feature phase.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initiator/ini.h"
#include "lib/chap.h"
#include "lib/keys.h"
#include "lib/negotiate.h"

enum chap_step {
	CHAP_NONE,
	CHAP_SENT_A, /* CHAP_A offered, waiting for CHAP_A/I/C */
	CHAP_SENT_R, /* our response sent (and our challenge, when mutual) */
	CHAP_DONE,
};

struct ini_login {
	struct neg_ctx neg;
	struct xi_params local;
	struct xi_params res;
	struct keys *in;
	struct keys *out;
	int csg;
	enum chap_step chap;
	struct chap_challenge mine;
	bool mutual;
	char digest_h[16], digest_d[16];
};

static const char *digest_list(enum xiscsi_digest d)
{
	switch (d) {
	case XISCSI_DIGEST_CRC32C:
		return "CRC32C";
	case XISCSI_DIGEST_PREFER_CRC32C:
		return "CRC32C,None";
	case XISCSI_DIGEST_PREFER_NONE:
		return "None,CRC32C";
	default:
		return "None";
	}
}

void ini_login_free(struct xiscsi_session *s)
{
	struct ini_login *l = s->login;

	if (!l)
		return;
	keys_free(l->in);
	keys_free(l->out);
	memset(l, 0, sizeof(*l)); /* the CHAP challenge */
	free(l);
	s->login = NULL;
}

/* One Login Request with the keys in l->out; transit asks for next stage nsg. */
static int send_request(struct xiscsi_session *s, bool transit, int nsg)
{
	struct ini_login *l = s->login;
	struct ini_pdu *p = ini_pdu_get(s);
	struct iscsi_bhs_login_request *lr;
	uint8_t *buf = NULL;
	ssize_t len;
	int err;

	if (!p)
		return -ENOMEM;
	len = (ssize_t)keys_save_len(l->out);
	if (len > 0) {
		buf = malloc((size_t)len);
		if (!buf) {
			ini_pdu_put(s, p);
			return -ENOMEM;
		}
		len = keys_save(l->out, buf, (size_t)len);
	}
	/* RFC 7143 6.1: during login the target receives at least 8192 bytes per PDU. */
	if (len < 0 || len > ISCSI_MAX_RECV_DSL_DEFAULT) {
		free(buf);
		ini_pdu_put(s, p);
		return len < 0 ? (int)len : -EMSGSIZE;
	}
	lr = (struct iscsi_bhs_login_request *)&p->hdr.bhs;
	/* RFC 7143 11.12: a Login Request is always immediate. */
	lr->bhslr_opcode = ISCSI_OP_LOGIN_REQ | ISCSI_OP_IMMEDIATE;
	lr->bhslr_flags = (uint8_t)(l->csg << ISCSI_LOGIN_CSG_SHIFT);
	if (transit)
		lr->bhslr_flags |= (uint8_t)(ISCSI_FLAG_LOGIN_TRANSIT | nsg);
	lr->bhslr_version_max = ISCSI_VERSION;
	lr->bhslr_version_min = ISCSI_VERSION;
	memcpy(lr->bhslr_isid, s->isid, sizeof(s->isid));
	lr->bhslr_tsih = htobe16(s->tsih);
	lr->bhslr_itt = htobe32(s->login_itt);
	lr->bhslr_cid = htobe16(s->cid);
	lr->bhslr_cmdsn = htobe32(s->win.cmdsn);
	lr->bhslr_expstatsn = htobe32(s->exp_statsn);
	p->own = buf;
	{
		struct iovec v = {.iov_base = buf, .iov_len = (size_t)len};

		err = ini_pdu_send(s, p, &v, len ? 1 : 0, (uint32_t)len);
	}
	keys_clear(l->out);
	return err;
}

int ini_login_start(struct xiscsi_session *s)
{
	struct ini_login *l = calloc(1, sizeof(*l));
	struct xi_params *lp;
	const struct xiscsi_opts *o = &s->o;
	int err;

	if (!l)
		return -ENOMEM;
	s->login = l;
	l->in = keys_new();
	l->out = keys_new();
	if (!l->in || !l->out)
		return -ENOMEM;
	lp = &l->local;
	params_init(lp);
	lp->session_type = o->session_type == XISCSI_SESSION_DISCOVERY ? XI_SESSION_DISCOVERY
	                                                               : XI_SESSION_NORMAL;
	snprintf(lp->initiator_name, sizeof(lp->initiator_name), "%s", o->initiator_name);
	if (o->initiator_alias)
		snprintf(lp->initiator_alias, sizeof(lp->initiator_alias), "%s",
		         o->initiator_alias);
	if (o->target_name && lp->session_type == XI_SESSION_NORMAL)
		snprintf(lp->target_name, sizeof(lp->target_name), "%s", o->target_name);
	lp->immediate_data = o->immediate_data;
	lp->initial_r2t = o->initial_r2t;
	lp->max_recv_dsl = o->max_recv_data_segment_length;
	lp->max_burst_length = o->max_burst_length;
	lp->first_burst_length = o->first_burst_length < o->max_burst_length ? o->first_burst_length
	                                                                     : o->max_burst_length;
	lp->default_time2wait = o->default_time2wait;
	lp->default_time2retain = o->default_time2retain;
	lp->max_outstanding_r2t = o->max_outstanding_r2t;
	lp->data_pdu_in_order = o->data_pdu_in_order;
	lp->data_sequence_in_order = o->data_sequence_in_order;
	lp->error_recovery_level = 0; /* ERL 0 only: recovery is by a new session */
	lp->auth_method = o->chap_user ? XI_AUTH_CHAP : XI_AUTH_NONE;
	l->mutual = o->chap_user && o->chap_mutual_user;

	neg_init(&l->neg, false, true, lp, &l->res);
	snprintf(l->digest_h, sizeof(l->digest_h), "%s", digest_list(o->header_digest));
	snprintf(l->digest_d, sizeof(l->digest_d), "%s", digest_list(o->data_digest));
	neg_set_list(&l->neg, NEG_HEADER_DIGEST, l->digest_h);
	neg_set_list(&l->neg, NEG_DATA_DIGEST, l->digest_d);
	/* Mutual CHAP must not be talked down to None; one-way lets the target decide. */
	neg_set_list(&l->neg, NEG_AUTH_METHOD,
	             !o->chap_user ? "None"
	             : l->mutual   ? "CHAP"
	                           : "CHAP,None");

	l->csg = ISCSI_STAGE_SECURITY;
	s->login_itt = ini_next_tag(s);
	err = neg_offer(&l->neg, NEG_STAGE_SECURITY, l->out);
	if (err)
		return err;
	/* Without CHAP nothing else happens in the security stage: ask to move on now. */
	return send_request(s, !o->chap_user, ISCSI_STAGE_OPERATIONAL);
}

static int login_status_err(uint16_t st)
{
	switch (st) {
	case LOGIN_STATUS_AUTH_FAILED:
	case LOGIN_STATUS_AUTHZ_FAILED:
		return -EACCES;
	case LOGIN_STATUS_NOT_FOUND:
	case LOGIN_STATUS_TARGET_REMOVED:
		return -ENOENT;
	case LOGIN_STATUS_TOO_MANY_CONNECTIONS:
	case LOGIN_STATUS_OUT_OF_RESOURCES:
		return -EBUSY;
	case LOGIN_STATUS_SERVICE_UNAVAILABLE:
		return -EAGAIN;
	default:
		return LOGIN_STATUS_CLASS_OF(st) == LOGIN_STATUS_CLASS_REDIRECTION ? -EXDEV
		                                                                   : -EPROTO;
	}
}

static const char *login_status_str(uint16_t st)
{
	switch (st) {
	case LOGIN_STATUS_TARGET_MOVED_TEMP:
		return "target moved temporarily";
	case LOGIN_STATUS_TARGET_MOVED_PERM:
		return "target moved permanently";
	case LOGIN_STATUS_INITIATOR_ERROR:
		return "initiator error";
	case LOGIN_STATUS_AUTH_FAILED:
		return "authentication failed";
	case LOGIN_STATUS_AUTHZ_FAILED:
		return "authorization failed (initiator not allowed)";
	case LOGIN_STATUS_NOT_FOUND:
		return "target not found";
	case LOGIN_STATUS_TARGET_REMOVED:
		return "target removed";
	case LOGIN_STATUS_UNSUPPORTED_VERSION:
		return "unsupported version";
	case LOGIN_STATUS_TOO_MANY_CONNECTIONS:
		return "too many connections";
	case LOGIN_STATUS_MISSING_PARAMETER:
		return "missing parameter";
	case LOGIN_STATUS_CANT_INCLUDE_IN_SESS:
		return "cannot include in session";
	case LOGIN_STATUS_SESS_TYPE_UNSUPPORTED:
		return "session type not supported";
	case LOGIN_STATUS_SESS_DOES_NOT_EXIST:
		return "session does not exist";
	case LOGIN_STATUS_INVALID_DURING_LOGIN:
		return "invalid request during login";
	case LOGIN_STATUS_TARGET_ERROR:
		return "target error";
	case LOGIN_STATUS_SERVICE_UNAVAILABLE:
		return "service unavailable";
	case LOGIN_STATUS_OUT_OF_RESOURCES:
		return "target out of resources";
	default:
		return "unknown status";
	}
}

/* The CHAP exchange of the security stage; returns 1 when it sent a request. */
static int chap_step(struct xiscsi_session *s)
{
	struct ini_login *l = s->login;
	const struct xiscsi_opts *o = &s->o;
	int err;

	switch (l->chap) {
	case CHAP_NONE:
		err = keys_add(l->out, "CHAP_A", o->chap_algorithms ? o->chap_algorithms : "6,5");
		if (err)
			return err;
		l->chap = CHAP_SENT_A;
		err = send_request(s, false, 0);
		return err ? err : 1;
	case CHAP_SENT_A: {
		const char *a = keys_find(l->in, "CHAP_A");
		const char *i = keys_find(l->in, "CHAP_I");
		const char *c = keys_find(l->in, "CHAP_C");
		char r[CHAP_HEX_MAX];
		int alg;

		if (!a || !i || !c) {
			ini_seterr(s, -EACCES, "login: target sent no CHAP challenge");
			return -EACCES;
		}
		ini_log(3, "login: target chose CHAP_A=%s, CHAP_I=%s", a, i);
		alg = chap_alg_choose(a, o->chap_algorithms ? o->chap_algorithms : "6,5");
		if (alg < 0) {
			ini_seterr(s, -EACCES, "login: CHAP algorithm %s not supported", a);
			return -EACCES;
		}
		err = chap_respond(alg, i, c, o->chap_secret ? o->chap_secret : "",
		                   o->chap_secret ? strlen(o->chap_secret) : 0, NULL, r, sizeof(r));
		if (err < 0) {
			ini_seterr(s, -EACCES, "login: bad CHAP challenge from the target");
			return -EACCES;
		}
		err = keys_add(l->out, "CHAP_N", o->chap_user);
		err = err ?: keys_add(l->out, "CHAP_R", r);
		if (!err && l->mutual)
			err = chap_challenge_new(&l->mine, alg, l->out);
		if (err)
			return err;
		l->chap = CHAP_SENT_R;
		err = send_request(s, true, ISCSI_STAGE_OPERATIONAL);
		return err ? err : 1;
	}
	case CHAP_SENT_R:
		if (l->mutual) {
			const char *n = keys_find(l->in, "CHAP_N");
			const char *r = keys_find(l->in, "CHAP_R");
			const char *ms = o->chap_mutual_secret ? o->chap_mutual_secret : "";

			if (!n || !r || strcmp(n, o->chap_mutual_user) != 0 ||
			    chap_verify(&l->mine, r, ms, strlen(ms)) != 0) {
				ini_seterr(s, -EACCES,
				           "login: the target failed mutual CHAP authentication");
				return -EACCES;
			}
		}
		l->chap = CHAP_DONE;
		return 0;
	case CHAP_DONE:
		return 0;
	}
	return 0;
}

static int login_done(struct xiscsi_session *s, const struct iscsi_bhs_login_response *r)
{
	struct ini_login *l = s->login;
	int err = neg_finish(&l->neg);

	if (err) {
		ini_seterr(s, err, "login: negotiation failed on %s",
		           l->neg.err_key ? l->neg.err_key : "?");
		return err;
	}
	s->params = l->res;
	s->tsih = be16toh(r->bhslrs_tsih);
	/* The first command after login carries the Login's CmdSN (RFC 7143 4.2.2.1). */
	ini_window_reset(&s->win, s->win.cmdsn, be32toh(r->bhslrs_expcmdsn),
	                 be32toh(r->bhslrs_maxcmdsn));
	ini_login_free(s);
	return 1;
}

/* Returns 0 to wait for the next response, 1 when in full feature phase, or -errno. */
int ini_login_rx(struct xiscsi_session *s, struct pdu_in *p)
{
	struct ini_login *l = s->login;
	const struct iscsi_bhs_login_response *r = (const void *)p->bhs;
	uint16_t st;
	bool transit, cont;
	int nsg, err;

	if (!l || pdu_opcode(p->bhs) != ISCSI_OP_LOGIN_RSP) {
		ini_seterr(s, -EPROTO, "login: unexpected PDU opcode 0x%02x", pdu_opcode(p->bhs));
		return -EPROTO;
	}
	st = LOGIN_STATUS(r->bhslrs_status_class, r->bhslrs_status_detail);
	if (st != LOGIN_STATUS_SUCCESS) {
		err = login_status_err(st);
		ini_seterr(s, err, "login: %s (0x%04x)", login_status_str(st), st);
		return err;
	}
	if (be32toh(r->bhslrs_itt) != s->login_itt) {
		ini_seterr(s, -EPROTO, "login: response for another task");
		return -EPROTO;
	}
	s->exp_statsn = be32toh(r->bhslrs_statsn) + 1;
	transit = (r->bhslrs_flags & ISCSI_FLAG_LOGIN_TRANSIT) != 0;
	cont = (r->bhslrs_flags & ISCSI_FLAG_LOGIN_CONTINUE) != 0;
	nsg = r->bhslrs_flags & ISCSI_LOGIN_NSG_MASK;
	if (p->status) {
		ini_seterr(s, -EBADMSG, "login: data digest error");
		return -EBADMSG;
	}
	err = keys_feed(l->in, p->data, p->data_len, cont);
	if (err) {
		ini_seterr(s, err, "login: malformed keys from the target");
		return err;
	}
	if (cont) /* RFC 7143 6.3: more keys follow; ask for them with an empty request */
		return send_request(s, false, 0);

	err = neg_process(&l->neg,
	                  l->csg == ISCSI_STAGE_SECURITY ? NEG_STAGE_SECURITY
	                                                 : NEG_STAGE_OPERATIONAL,
	                  l->in, l->out);
	if (err) {
		ini_seterr(s, err, "login: the target answered %s wrongly",
		           l->neg.err_key ? l->neg.err_key : "a key");
		return err;
	}
	if (l->csg == ISCSI_STAGE_SECURITY) {
		if (l->res.auth_method == XI_AUTH_CHAP && l->chap != CHAP_DONE) {
			err = chap_step(s);
			keys_clear(l->in);
			if (err)
				return err < 0 ? err : 0;
		} else if (l->mutual && l->res.auth_method != XI_AUTH_CHAP &&
		           keys_find(l->in, "AuthMethod")) {
			ini_seterr(s, -EACCES, "login: target refused CHAP, mutual CHAP required");
			return -EACCES;
		}
		keys_clear(l->in);
		if (!transit)
			return send_request(s, true, ISCSI_STAGE_OPERATIONAL);
		if (nsg == ISCSI_STAGE_FULL)
			return login_done(s, r);
		l->csg = ISCSI_STAGE_OPERATIONAL;
		err = neg_offer(&l->neg, NEG_STAGE_OPERATIONAL, l->out);
		if (err)
			return err;
		return send_request(s, true, ISCSI_STAGE_FULL);
	}
	keys_clear(l->in);
	if (transit && nsg == ISCSI_STAGE_FULL)
		return login_done(s, r);
	return send_request(s, true, ISCSI_STAGE_FULL);
}
