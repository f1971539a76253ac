/* The target side of login, RFC 7143 sections 6 and 11.12-11.13. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chap.h"
#include "login_int.h"
#include "negotiate.h"

enum tgt_state {
	TGT_FIRST,     /* no complete request yet */
	TGT_NEGOTIATE, /* in the stage `stage` */
	TGT_DONE,
	TGT_FAILED,
};

enum tgt_chap {
	TCHAP_IDLE,   /* CHAP not chosen */
	TCHAP_WAIT_A, /* AuthMethod=CHAP agreed, waiting for CHAP_A */
	TCHAP_WAIT_R, /* challenge sent, waiting for CHAP_N / CHAP_R */
	TCHAP_OK,
};

struct login_tgt {
	struct login_tgt_config cfg;
	struct login_io io;
	struct neg_ctx neg;
	struct xi_params res;
	struct login_info info;
	enum tgt_state state;
	uint8_t stage;     /* ISCSI_STAGE_* */
	unsigned int auth; /* LOGIN_AUTH_* from authorize() */
	bool authenticated;
	enum tgt_chap chap;
	struct chap_challenge chal;
	bool final_offer; /* proposals made on the initiator's request to leave the stage */
	uint16_t status;
	char auth_list[16];
};

int login_tgt_new(struct login_tgt **out, const struct login_tgt_config *cfg)
{
	struct login_tgt *t;
	int rc;

	if (cfg == NULL || cfg->ops == NULL || cfg->ops->authorize == NULL ||
	    cfg->ops->chap_secret == NULL || cfg->ops->session == NULL)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	rc = login_io_init(&t->io);
	if (rc < 0) {
		free(t);
		return rc;
	}
	t->cfg = *cfg;
	if (t->cfg.cmdsn_window == 0)
		t->cfg.cmdsn_window = LOGIN_DEFAULT_CMDSN_WINDOW;
	/* The target's names come from the initiator; its own config holds limits. */
	t->cfg.local.target_name[0] = '\0';
	t->cfg.local.initiator_name[0] = '\0';
	t->cfg.local.initiator_alias[0] = '\0';
	t->cfg.local.session_type = XI_SESSION_NORMAL;
	t->info.statsn = cfg->initial_statsn;
	t->state = TGT_FIRST;
	*out = t;
	return 0;
}

void login_tgt_free(struct login_tgt *t)
{
	if (t == NULL)
		return;
	login_io_free(&t->io);
	free(t);
}

const struct xi_params *login_tgt_params(const struct login_tgt *t)
{
	return &t->res;
}

const struct login_info *login_tgt_info(const struct login_tgt *t)
{
	return &t->info;
}

uint16_t login_tgt_status(const struct login_tgt *t)
{
	return t->status;
}

/* The response skeleton: RFC 7143 section 11.13. */
static void rsp_init(struct login_tgt *t, const struct iscsi_bhs_login_request *req,
                     struct login_pdu *out)
{
	struct iscsi_bhs_login_response *rsp = &out->rsp;

	memset(out, 0, sizeof(*out));
	rsp->bhslrs_opcode = ISCSI_OP_LOGIN_RSP;
	rsp->bhslrs_version_max = ISCSI_VERSION;
	rsp->bhslrs_version_active = ISCSI_VERSION;
	memcpy(rsp->bhslrs_isid, req->bhslr_isid, sizeof(rsp->bhslrs_isid));
	rsp->bhslrs_tsih = req->bhslr_tsih;
	rsp->bhslrs_itt = req->bhslr_itt;
	rsp->bhslrs_statsn = htobe32(t->info.statsn);
	rsp->bhslrs_expcmdsn = htobe32(t->info.cmdsn);
	rsp->bhslrs_maxcmdsn = htobe32(t->info.max_cmdsn);
	rsp->bhslrs_flags = login_flags(false, t->stage, 0);
}

/* A refusal: the status, no data, and the connection is done (RFC 7143 section 11.13.5). */
static int refuse(struct login_tgt *t, struct login_pdu *out, uint16_t status)
{
	t->status = status;
	t->state = TGT_FAILED;
	out->rsp.bhslrs_status_class = LOGIN_STATUS_CLASS_OF(status);
	out->rsp.bhslrs_status_detail = LOGIN_STATUS_DETAIL_OF(status);
	out->rsp.bhslrs_flags = login_flags(false, t->stage, 0);
	out->present = true;
	out->data = NULL;
	out->data_len = 0;
	pdu_dsl_set(&out->bhs, 0);
	keys_clear(t->io.tx);
	keys_clear(t->io.rx);
	return LOGIN_FAILED;
}

static uint16_t authorize_status(int rc)
{
	switch (rc) {
	case -ENOENT:
		return LOGIN_STATUS_NOT_FOUND;
	case -EACCES:
	case -EPERM:
		return LOGIN_STATUS_AUTHZ_FAILED;
	case -EAGAIN:
		return LOGIN_STATUS_SERVICE_UNAVAILABLE;
	default:
		return LOGIN_STATUS_TARGET_ERROR;
	}
}

static uint16_t session_status(int rc)
{
	switch (rc) {
	case -ENOENT:
		return LOGIN_STATUS_SESS_DOES_NOT_EXIST;
	case -EMLINK:
		return LOGIN_STATUS_TOO_MANY_CONNECTIONS;
	case -EINVAL:
		return LOGIN_STATUS_CANT_INCLUDE_IN_SESS;
	case -ENOMEM:
		return LOGIN_STATUS_OUT_OF_RESOURCES;
	default:
		return LOGIN_STATUS_TARGET_ERROR;
	}
}

/*
 * The first complete request names the initiator, the session type and
 * the target (RFC 7143 sections 13.4, 13.5, 13.21): check them and ask the
 * daemon whether this initiator may log in there, and how.
 */
static uint16_t first_request(struct login_tgt *t)
{
	const char *ini = keys_find(t->io.rx, "InitiatorName");
	const char *tgt = keys_find(t->io.rx, "TargetName");
	const char *st = keys_find(t->io.rx, "SessionType");
	enum xi_session_type type = XI_SESSION_NORMAL;
	int rc;

	if (ini == NULL || ini[0] == '\0')
		return LOGIN_STATUS_MISSING_PARAMETER;
	if (st != NULL) {
		if (strcmp(st, "Discovery") == 0)
			type = XI_SESSION_DISCOVERY;
		else if (strcmp(st, "Normal") != 0)
			return LOGIN_STATUS_SESS_TYPE_UNSUPPORTED;
	}
	/* A connection added to a session names no session type; discovery has no TSIH to join. */
	if (type == XI_SESSION_NORMAL && (tgt == NULL || tgt[0] == '\0'))
		return LOGIN_STATUS_MISSING_PARAMETER;
	if (strlen(ini) > XI_NAME_MAX || (tgt != NULL && strlen(tgt) > XI_NAME_MAX))
		return LOGIN_STATUS_INITIATOR_ERROR;
	rc = t->cfg.ops->authorize(t->cfg.ctx, type == XI_SESSION_NORMAL ? tgt : "", ini, type,
	                           &t->auth);
	if (rc < 0)
		return authorize_status(rc);
	if (!(t->auth & (LOGIN_AUTH_ALLOW_NONE | LOGIN_AUTH_ALLOW_CHAP)))
		return LOGIN_STATUS_AUTH_FAILED;
	/* Our AuthMethod choices, CHAP first so an initiator offering both is authenticated. */
	t->auth_list[0] = '\0';
	if (t->auth & LOGIN_AUTH_ALLOW_CHAP)
		strcat(t->auth_list, "CHAP");
	if (t->auth & LOGIN_AUTH_ALLOW_NONE)
		strcat(t->auth_list, t->auth_list[0] ? ",None" : "None");
	t->cfg.local.session_type = type;
	neg_init(&t->neg, true, t->info.leading, &t->cfg.local, &t->res);
	neg_set_list(&t->neg, NEG_AUTH_METHOD, t->auth_list);
	if (t->cfg.header_digests != NULL)
		neg_set_list(&t->neg, NEG_HEADER_DIGEST, t->cfg.header_digests);
	if (t->cfg.data_digests != NULL)
		neg_set_list(&t->neg, NEG_DATA_DIGEST, t->cfg.data_digests);
	return LOGIN_STATUS_SUCCESS;
}

/*
 * Who logs in where was decided, and authorized, on the first request:
 * names or a session type first seen later would slip past authorize()
 * (a repeat of the same value is left to the negotiation engine).
 */
static bool late_identity(const struct login_tgt *t)
{
	static const enum neg_key_id ids[] = {NEG_INITIATOR_NAME, NEG_TARGET_NAME,
	                                      NEG_SESSION_TYPE};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (keys_find(t->io.rx, neg_keys[ids[i]].name) != NULL &&
		    !((t->neg.received >> ids[i]) & 1))
			return true;
	return false;
}

/* RFC 7143 section 12.1.3 steps, as the authenticator. Returns a LOGIN_STATUS_*. */
static uint16_t chap_step(struct login_tgt *t)
{
	const struct login_tgt_ops *ops = t->cfg.ops;
	struct keys *rx = t->io.rx, *tx = t->io.tx;
	uint8_t secret[CHAP_SECRET_MAX], tsecret[CHAP_SECRET_MAX];
	size_t slen = sizeof(secret), tlen = sizeof(tsecret);
	char tname[KEYS_VALUE_MAX + 1], resp[2 + 2 * CHAP_DIGEST_MAX + 1];
	const char *a, *n, *r, *ci, *cc;
	uint16_t st = LOGIN_STATUS_AUTH_FAILED;
	int alg;

	switch (t->chap) {
	case TCHAP_WAIT_A:
		a = keys_find(rx, "CHAP_A");
		if (a == NULL) {
			if (login_has_chap_keys(rx))
				return LOGIN_STATUS_INITIATOR_ERROR;
			return LOGIN_STATUS_SUCCESS; /* still to come */
		}
		alg = chap_alg_choose(a, t->cfg.chap_algs);
		if (alg < 0)
			return LOGIN_STATUS_AUTH_FAILED;
		if (keys_add_u32(tx, "CHAP_A", (uint32_t)alg) < 0 ||
		    chap_challenge_new(&t->chal, alg, tx) < 0)
			return LOGIN_STATUS_TARGET_ERROR;
		t->chap = TCHAP_WAIT_R;
		return LOGIN_STATUS_SUCCESS;
	case TCHAP_WAIT_R:
		n = keys_find(rx, "CHAP_N");
		r = keys_find(rx, "CHAP_R");
		ci = keys_find(rx, "CHAP_I");
		cc = keys_find(rx, "CHAP_C");
		if (n == NULL || r == NULL || keys_find(rx, "CHAP_A") != NULL)
			return LOGIN_STATUS_AUTH_FAILED;
		if (ops->chap_secret(t->cfg.ctx, t->res.target_name, t->res.initiator_name, false,
		                     n, NULL, 0, secret, &slen) < 0 ||
		    slen > sizeof(secret) || !chap_secret_ok(slen, t->cfg.allow_short_secret))
			goto out;
		if (chap_verify(&t->chal, r, secret, slen) != 0)
			goto out;
		/* Mutual CHAP: both CHAP_I and CHAP_C, or neither. */
		if ((ci == NULL) != (cc == NULL))
			goto out;
		if (ci == NULL) {
			if (t->auth & LOGIN_AUTH_REQUIRE_MUTUAL)
				goto out;
			t->chap = TCHAP_OK;
			st = LOGIN_STATUS_SUCCESS;
			goto out;
		}
		if (ops->chap_secret(t->cfg.ctx, t->res.target_name, t->res.initiator_name, true,
		                     NULL, tname, sizeof(tname), tsecret, &tlen) < 0 ||
		    tlen > sizeof(tsecret) || !chap_secret_ok(tlen, t->cfg.allow_short_secret))
			goto out;
		tname[sizeof(tname) - 1] = '\0';
		/* RFC 7143 section 12.1.3: one secret must never serve both directions. */
		if (tlen == slen && memcmp(secret, tsecret, slen) == 0)
			goto out;
		if (chap_respond(t->chal.alg, ci, cc, tsecret, tlen, &t->chal, resp, sizeof(resp)) <
		    0)
			goto out;
		if (keys_add(tx, "CHAP_N", tname) < 0 || keys_add(tx, "CHAP_R", resp) < 0) {
			st = LOGIN_STATUS_TARGET_ERROR;
			goto out;
		}
		t->chap = TCHAP_OK;
		st = LOGIN_STATUS_SUCCESS;
		goto out;
	default:
		/* CHAP keys outside the exchange (RFC 7143 section 6.3: wrong stage or order). */
		return login_has_chap_keys(rx) ? LOGIN_STATUS_INITIATOR_ERROR
		                               : LOGIN_STATUS_SUCCESS;
	}
out:
	memset(secret, 0, sizeof(secret));
	memset(tsecret, 0, sizeof(tsecret));
	return st;
}

/*
 * What the target states about itself, once: the portal group tag in its
 * first response (RFC 7143 section 13.9), its alias, and in the operational
 * stage what it receives (section 13.12).
 */
static int declare(struct login_tgt *t, bool operational)
{
	const uint32_t sent = t->neg.offered;
	int rc = 0;

	if (t->cfg.local.tpgt_set && !((sent >> NEG_TARGET_PORTAL_GROUP_TAG) & 1))
		rc = neg_offer_key(&t->neg, NEG_TARGET_PORTAL_GROUP_TAG, t->io.tx);
	if (rc == 0 && t->cfg.local.target_alias[0] != '\0' && !((sent >> NEG_TARGET_ALIAS) & 1))
		rc = neg_offer_key(&t->neg, NEG_TARGET_ALIAS, t->io.tx);
	if (rc == 0 && operational && !((sent >> NEG_MAX_RECV_DSL) & 1))
		rc = neg_offer_key(&t->neg, NEG_MAX_RECV_DSL, t->io.tx);
	return rc;
}

/* Keys of the security stage: AuthMethod through the table, then CHAP. */
static uint16_t security_keys(struct login_tgt *t)
{
	const char *am;
	bool had_method = (t->neg.received >> NEG_AUTH_METHOD) & 1;

	if (neg_process(&t->neg, NEG_STAGE_SECURITY, t->io.rx, t->io.tx) < 0)
		return LOGIN_STATUS_INITIATOR_ERROR;
	if (!had_method && ((t->neg.received >> NEG_AUTH_METHOD) & 1)) {
		am = keys_find(t->io.tx, "AuthMethod");
		if (am == NULL || strcmp(am, NEG_REJECT) == 0)
			return LOGIN_STATUS_AUTH_FAILED;
		if (t->res.auth_method == XI_AUTH_CHAP)
			t->chap = TCHAP_WAIT_A;
		else
			t->authenticated = true;
	}
	if (declare(t, false) < 0)
		return LOGIN_STATUS_TARGET_ERROR;
	return chap_step(t);
}

/* Leave for full feature phase: settle the session (RFC 7143 section 6.3.5). */
static uint16_t enter_ffp(struct login_tgt *t, const struct iscsi_bhs_login_request *req,
                          struct login_pdu *out)
{
	struct login_session_req sr = {
	        .isid = t->info.isid,
	        .tsih = t->info.tsih,
	        .cid = t->info.cid,
	        .cmdsn = t->info.cmdsn,
	        .params = &t->res,
	};
	uint16_t tsih = 0;
	int rc;

	if (neg_finish(&t->neg) < 0)
		return LOGIN_STATUS_INITIATOR_ERROR;
	rc = t->cfg.ops->session(t->cfg.ctx, &sr, &tsih);
	if (rc < 0)
		return session_status(rc);
	/* RFC 7143 section 11.13.4: the final response carries the session's TSIH. */
	if (tsih == 0 || (!t->info.leading && tsih != t->info.tsih))
		return LOGIN_STATUS_TARGET_ERROR;
	t->info.tsih = tsih;
	out->rsp.bhslrs_tsih = htobe16(tsih);
	return LOGIN_STATUS_SUCCESS;
}

static uint16_t check_header(struct login_tgt *t, const struct iscsi_bhs_login_request *req,
                             bool *transit, bool *cont, uint8_t *nsg)
{
	uint8_t flags = req->bhslr_flags;
	uint8_t csg = login_csg(flags);

	*transit = (flags & ISCSI_FLAG_LOGIN_TRANSIT) != 0;
	*cont = (flags & ISCSI_FLAG_LOGIN_CONTINUE) != 0;
	*nsg = login_nsg(flags);
	if ((req->bhslr_opcode & ISCSI_OP_MASK) != ISCSI_OP_LOGIN_REQ)
		return LOGIN_STATUS_INITIATOR_ERROR;
	/* RFC 7143 section 11.12.2: T and C together are a protocol error. */
	if (*transit && *cont)
		return LOGIN_STATUS_INITIATOR_ERROR;
	if (*transit && !login_transit_ok(csg, *nsg))
		return LOGIN_STATUS_INITIATOR_ERROR;
	if (t->state == TGT_FIRST && !keys_pending(t->io.rx)) {
		/*
		 * RFC 7143 section 11.12.4: the one version is 0x00, so any
		 * range that admits it starts at 0 (Version-max cannot be lower).
		 */
		if (req->bhslr_version_min != ISCSI_VERSION)
			return LOGIN_STATUS_UNSUPPORTED_VERSION;
		if (csg != ISCSI_STAGE_SECURITY && csg != ISCSI_STAGE_OPERATIONAL)
			return LOGIN_STATUS_INITIATOR_ERROR;
		return LOGIN_STATUS_SUCCESS;
	}
	/* RFC 7143 section 6.2: ISID, TSIH, CID and CmdSN stay the same throughout. */
	if (memcmp(req->bhslr_isid, t->info.isid, sizeof(t->info.isid)) != 0 ||
	    be16toh(req->bhslr_tsih) != t->info.tsih || be16toh(req->bhslr_cid) != t->info.cid ||
	    be32toh(req->bhslr_cmdsn) != t->info.cmdsn)
		return LOGIN_STATUS_INITIATOR_ERROR;
	if (csg != t->stage)
		return LOGIN_STATUS_INITIATOR_ERROR;
	return LOGIN_STATUS_SUCCESS;
}

int login_tgt_rx(struct login_tgt *t, const struct iscsi_bhs *bhs, const void *data,
                 size_t data_len, struct login_pdu *out)
{
	const struct iscsi_bhs_login_request *req = (const void *)bhs;
	bool transit, cont, grant = false;
	uint8_t nsg;
	uint16_t st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (bhs == NULL || (data == NULL && data_len > 0))
		return -EINVAL;
	if (t->state == TGT_DONE || t->state == TGT_FAILED)
		return -EINVAL;
	if (t->state == TGT_FIRST && !keys_pending(t->io.rx)) {
		memcpy(t->info.isid, req->bhslr_isid, sizeof(t->info.isid));
		t->info.tsih = be16toh(req->bhslr_tsih);
		t->info.cid = be16toh(req->bhslr_cid);
		t->info.cmdsn = be32toh(req->bhslr_cmdsn);
		t->info.max_cmdsn = t->info.cmdsn + t->cfg.cmdsn_window - 1;
		t->info.leading = t->info.tsih == 0;
		t->stage = login_csg(req->bhslr_flags) == ISCSI_STAGE_OPERATIONAL
		                   ? ISCSI_STAGE_OPERATIONAL
		                   : ISCSI_STAGE_SECURITY;
	}
	rsp_init(t, req, out);
	st = check_header(t, req, &transit, &cont, &nsg);
	if (st != LOGIN_STATUS_SUCCESS)
		return refuse(t, out, st);
	/* The parser bounds it by our MaxRecvDataSegmentLength; the length in the BHS must agree.
	 */
	if (data_len > LOGIN_MAX_DATA || data_len != pdu_dsl_get(bhs))
		return refuse(t, out, LOGIN_STATUS_INITIATOR_ERROR);
	rc = keys_feed(t->io.rx, data, data_len, cont);
	if (rc == KEYS_ERR_NOMEM)
		return refuse(t, out, LOGIN_STATUS_OUT_OF_RESOURCES);
	if (rc < 0)
		return refuse(t, out, LOGIN_STATUS_INITIATOR_ERROR);
	if (cont) {
		/* RFC 7143 section 6.1: each piece is acknowledged by an empty response. */
		goto send;
	}
	if (t->state == TGT_FIRST) {
		st = first_request(t);
		if (st != LOGIN_STATUS_SUCCESS)
			return refuse(t, out, st);
		t->state = TGT_NEGOTIATE;
	} else if (late_identity(t)) {
		return refuse(t, out, LOGIN_STATUS_INITIATOR_ERROR);
	}
	if (t->stage == ISCSI_STAGE_SECURITY) {
		st = security_keys(t);
		if (st != LOGIN_STATUS_SUCCESS)
			return refuse(t, out, st);
		if (t->chap == TCHAP_OK)
			t->authenticated = true;
		if (transit) {
			/* Leaving without choosing a method is AuthMethod=None (RFC 7143
			 * section 12.1). */
			if (!t->authenticated && t->chap == TCHAP_IDLE &&
			    !((t->neg.received >> NEG_AUTH_METHOD) & 1)) {
				if (!(t->auth & LOGIN_AUTH_ALLOW_NONE))
					return refuse(t, out, LOGIN_STATUS_AUTH_FAILED);
				t->authenticated = true;
			}
			/* Mid-exchange the target holds T at 0 (RFC 7143 section 6.3). */
			grant = t->authenticated;
		}
	} else {
		/* Operational stage: security keys are out of place (RFC 7143 section 6.3). */
		if (login_has_chap_keys(t->io.rx))
			return refuse(t, out, LOGIN_STATUS_INITIATOR_ERROR);
		if (!t->authenticated) {
			/* Skipping the security stage is only for targets that need none. */
			if (!(t->auth & LOGIN_AUTH_ALLOW_NONE))
				return refuse(t, out, LOGIN_STATUS_AUTH_FAILED);
			t->authenticated = true;
		}
		if (neg_process(&t->neg, NEG_STAGE_OPERATIONAL, t->io.rx, t->io.tx) < 0)
			return refuse(t, out, LOGIN_STATUS_INITIATOR_ERROR);
		if (transit && !t->final_offer) {
			t->final_offer = true;
			if (neg_offer(&t->neg, NEG_STAGE_OPERATIONAL, t->io.tx) < 0)
				return refuse(t, out, LOGIN_STATUS_TARGET_ERROR);
		}
		if (declare(t, true) < 0)
			return refuse(t, out, LOGIN_STATUS_TARGET_ERROR);
		grant = transit && !neg_waiting(&t->neg);
	}
	if (grant) {
		if (nsg == ISCSI_STAGE_FULL) {
			st = enter_ffp(t, req, out);
			if (st != LOGIN_STATUS_SUCCESS)
				return refuse(t, out, st);
			t->state = TGT_DONE;
		}
		out->rsp.bhslrs_flags = login_flags(true, t->stage, nsg);
		t->stage = nsg;
		t->final_offer = false;
	}
send:
	rc = login_io_emit(&t->io, out);
	if (rc < 0) {
		t->state = TGT_NEGOTIATE;
		return refuse(t, out, LOGIN_STATUS_TARGET_ERROR);
	}
	/* RFC 7143 section 11.13.4: every response, login ones included, takes a StatSN. */
	t->info.statsn++;
	t->status = LOGIN_STATUS_SUCCESS;
	return t->state == TGT_DONE ? LOGIN_DONE : LOGIN_CONTINUE;
}
