/*
 * Glue between the connection and the initiator login state machine of
 * lib/login_ini.c, which holds every login rule (RFC 7143 sections 6.3,
 * 11.12-11.13, CHAP of section 12.1.3). Here: build its configuration from
 * xiscsi_opts, send the Login Requests it produces, feed it the Login
 * Responses the parser hands up, and apply the result to the session.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "initiator/ini.h"
#include "lib/login.h"

/* tgt 1.0.85 accepts CHAP_A=7 and then fails to decode a SHA-256 response: SHA-1, MD5. */
#define INI_CHAP_ALGS_DEFAULT "6,5"

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
	login_ini_free(s->login);
	s->login = NULL;
}

/* What this initiator proposes, from the options (xiscsi_opts_set reaches every key). */
static void local_params(const struct xiscsi_opts *o, struct xi_params *lp)
{
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
}

/* The Login Request the state machine produced, through the session's PDU path (pdu_tx). */
static int send_request(struct xiscsi_session *s, const struct login_pdu *out)
{
	struct ini_pdu *p = ini_pdu_get(s);

	if (!p)
		return -ENOMEM;
	p->hdr.bhs = out->bhs;
	return ini_pdu_send_copy(s, p, out->data, out->data_len);
}

int ini_login_start(struct xiscsi_session *s)
{
	const struct xiscsi_opts *o = &s->o;
	struct login_ini_config c = {0};
	struct login_pdu out;
	int err;

	ini_login_free(s);
	if (o->chap_user && !(o->chap_secret && *o->chap_secret)) {
		ini_seterr(s, -EINVAL, "login: CHAP user %s has no secret", o->chap_user);
		return -EINVAL;
	}
	/* Without the target's secret, mutual CHAP would silently become one-way. */
	if (o->chap_user && o->chap_mutual_user &&
	    !(o->chap_mutual_secret && *o->chap_mutual_secret)) {
		ini_seterr(s, -EINVAL, "login: mutual CHAP user %s has no secret",
		           o->chap_mutual_user);
		return -EINVAL;
	}
	local_params(o, &c.local);
	c.header_digests = digest_list(o->header_digest);
	c.data_digests = digest_list(o->data_digest);
	memcpy(c.isid, s->isid, sizeof(c.isid));
	c.tsih = s->tsih;
	c.cid = s->cid;
	s->login_itt = ini_next_tag(s);
	c.itt = s->login_itt;
	c.cmdsn = s->win.cmdsn;
	c.exp_statsn = s->exp_statsn;
	if (o->chap_user) {
		c.chap_name = o->chap_user;
		c.chap_secret = (const uint8_t *)o->chap_secret;
		c.chap_secret_len = strlen(o->chap_secret);
		c.chap_algs = o->chap_algorithms ? o->chap_algorithms : INI_CHAP_ALGS_DEFAULT;
		/* The target's administrator chose the secret; short ones still work with tgtd. */
		c.allow_short_secret = true;
		if (o->chap_mutual_user) {
			c.target_chap_name = o->chap_mutual_user;
			c.target_secret = (const uint8_t *)o->chap_mutual_secret;
			c.target_secret_len = strlen(o->chap_mutual_secret);
		} else {
			/* One-way: let the target decide; mutual must not be talked down to None.
			 */
			c.chap_optional = true;
		}
	}
	err = login_ini_new(&s->login, &c);
	if (err) {
		ini_seterr(s, err, "login: %s", strerror(-err));
		return err;
	}
	err = login_ini_start(s->login, &out);
	if (err == -EINVAL) {
		ini_seterr(s, err, "login: %s", login_ini_reason(s->login));
		return err;
	}
	if (err < 0 || (err = send_request(s, &out)) < 0) {
		ini_seterr(s, err, "login request: %s", strerror(-err));
		return err;
	}
	return 0;
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

/* Why the login failed, in words: ours when we ended it, else the target's status. */
static int login_failed(struct xiscsi_session *s, bool refused)
{
	uint16_t st = login_ini_status(s->login);
	const char *why = login_ini_reason(s->login);
	const char *to = login_ini_redirect(s->login);
	int err = login_status_err(st);

	if (!refused)
		/* The target broke the protocol (or failed our CHAP check); we ended it. */
		ini_seterr(s, err, "login: %s%s", err == -EACCES ? "authentication failed: " : "",
		           *why ? why : login_status_name(st));
	else if (st == LOGIN_STATUS_AUTH_FAILED)
		ini_seterr(s, err, "login: authentication failed: the target refused (%s, 0x%04x)",
		           login_status_name(st), st);
	else if (to)
		/* RFC 7143 section 11.13.5: the target names where it went; not followed. */
		ini_seterr(s, err, "login: %s to %s (0x%04x)", login_status_name(st), to, st);
	else
		ini_seterr(s, err, "login: %s (0x%04x)", login_status_name(st), st);
	return err;
}

/* The login completed: the session takes the negotiated values and the target's window. */
static int login_done(struct xiscsi_session *s, const struct iscsi_bhs_login_response *r)
{
	const struct login_info *info = login_ini_info(s->login);

	s->params = *login_ini_params(s->login);
	s->tsih = info->tsih;
	s->exp_statsn = info->statsn;
	/* The first command after login carries the Login's CmdSN (RFC 7143 4.2.2.1). */
	ini_window_reset(&s->win, info->cmdsn, be32toh(r->bhslrs_expcmdsn), info->max_cmdsn);
	ini_login_free(s);
	return 1;
}

/* Returns 0 to wait for the next response, 1 when in full feature phase, or -errno. */
int ini_login_rx(struct xiscsi_session *s, struct pdu_in *p)
{
	const struct iscsi_bhs_login_response *r = (const void *)p->bhs;
	struct login_pdu out;
	int rc;

	if (!s->login || pdu_opcode(p->bhs) != ISCSI_OP_LOGIN_RSP) {
		ini_seterr(s, -EPROTO, "login: unexpected PDU opcode 0x%02x", pdu_opcode(p->bhs));
		return -EPROTO;
	}
	if (p->status) {
		ini_seterr(s, -EBADMSG, "login: data digest error");
		return -EBADMSG;
	}
	rc = login_ini_rx(s->login, p->bhs, p->data, p->data_len, &out);
	switch (rc) {
	case LOGIN_CONTINUE:
		s->exp_statsn = login_ini_info(s->login)->statsn;
		rc = send_request(s, &out);
		if (rc < 0)
			ini_seterr(s, rc, "login request: %s", strerror(-rc));
		return rc;
	case LOGIN_DONE:
		return login_done(s, r);
	case LOGIN_FAILED:
		return login_failed(s,
		                    LOGIN_STATUS(r->bhslrs_status_class, r->bhslrs_status_detail) !=
		                            LOGIN_STATUS_SUCCESS);
	default:
		ini_seterr(s, rc, "login: %s", strerror(-rc));
		return rc < 0 ? rc : -EPROTO;
	}
}
