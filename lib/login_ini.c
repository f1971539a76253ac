/* The initiator side of login, RFC 7143 sections 6 and 11.12-11.13. */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chap.h"
#include "login_int.h"
#include "negotiate.h"

enum ini_state {
	INI_NEW,
	INI_NEGOTIATE,
	INI_DONE,
	INI_FAILED,
};

enum ini_chap {
	ICHAP_IDLE,           /* no CHAP, or not chosen */
	ICHAP_WAIT_METHOD,    /* AuthMethod offered */
	ICHAP_WAIT_CHALLENGE, /* CHAP_A sent */
	ICHAP_WAIT_RESULT,    /* CHAP_R sent (and our challenge, in mutual CHAP) */
	ICHAP_OK,
};

struct login_ini {
	struct login_ini_config cfg;
	struct login_io io;
	struct neg_ctx neg;
	struct xi_params res;
	struct login_info info;
	enum ini_state state;
	uint8_t stage;      /* ISCSI_STAGE_* of the requests we send */
	bool asked_transit; /* T bit of our last request */
	uint8_t asked_nsg;
	bool authenticated;
	enum ini_chap chap;
	struct chap_challenge chal; /* ours, in mutual CHAP */
	uint16_t status;
	char *redirect;
	char auth_list[16];
	char why[96]; /* the first reason this side gave for ending the login */
};

int login_ini_new(struct login_ini **out, const struct login_ini_config *cfg)
{
	struct login_ini *i;
	int rc;

	if (cfg == NULL)
		return -EINVAL;
	i = calloc(1, sizeof(*i));
	if (i == NULL)
		return -ENOMEM;
	rc = login_io_init(&i->io);
	if (rc < 0) {
		free(i);
		return rc;
	}
	i->cfg = *cfg;
	i->cfg.local.tpgt_set = false;
	i->cfg.local.target_alias[0] = '\0';
	if (i->cfg.local.session_type == XI_SESSION_DISCOVERY)
		i->cfg.local.target_name[0] = '\0';
	if (i->cfg.chap_algs == NULL)
		i->cfg.chap_algs = CHAP_A_DEFAULT_LIST;
	memcpy(i->info.isid, cfg->isid, sizeof(i->info.isid));
	i->info.tsih = cfg->tsih;
	i->info.cid = cfg->cid;
	i->info.cmdsn = cfg->cmdsn;
	i->info.statsn = cfg->exp_statsn;
	i->info.leading = cfg->tsih == 0;
	*out = i;
	return 0;
}

void login_ini_free(struct login_ini *i)
{
	if (i == NULL)
		return;
	login_io_free(&i->io);
	free(i->redirect);
	free(i);
}

const struct xi_params *login_ini_params(const struct login_ini *i)
{
	return &i->res;
}

const struct login_info *login_ini_info(const struct login_ini *i)
{
	return &i->info;
}

uint16_t login_ini_status(const struct login_ini *i)
{
	return i->status;
}

const char *login_ini_redirect(const struct login_ini *i)
{
	return i->redirect;
}

const char *login_ini_reason(const struct login_ini *i)
{
	return i->why;
}

/* Keep the first reason only: later ones are consequences of it. */
__attribute__((format(printf, 2, 3))) static void reason(struct login_ini *i, const char *fmt, ...)
{
	va_list ap;

	if (i->why[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(i->why, sizeof(i->why), fmt, ap);
	va_end(ap);
}

static void neg_reason(struct login_ini *i)
{
	reason(i, "the target answered %s wrongly", i->neg.err_key ? i->neg.err_key : "a key");
}

static int fail(struct login_ini *i, uint16_t status)
{
	i->status = status;
	i->state = INI_FAILED;
	keys_clear(i->io.tx);
	keys_clear(i->io.rx);
	return LOGIN_FAILED;
}

/* Fill a request (RFC 7143 section 11.12) from the tx keys. */
static int emit(struct login_ini *i, bool transit, uint8_t nsg, struct login_pdu *out)
{
	struct iscsi_bhs_login_request *req = &out->req;
	int rc;

	memset(out, 0, sizeof(*out));
	/* RFC 7143 section 11.12: a Login Request is always immediate. */
	req->bhslr_opcode = ISCSI_OP_LOGIN_REQ | ISCSI_OP_IMMEDIATE;
	req->bhslr_flags = login_flags(transit, i->stage, nsg);
	req->bhslr_version_max = ISCSI_VERSION;
	req->bhslr_version_min = ISCSI_VERSION;
	memcpy(req->bhslr_isid, i->info.isid, sizeof(req->bhslr_isid));
	req->bhslr_tsih = htobe16(i->info.tsih);
	req->bhslr_itt = htobe32(i->cfg.itt);
	req->bhslr_cid = htobe16(i->info.cid);
	req->bhslr_cmdsn = htobe32(i->info.cmdsn);
	req->bhslr_expstatsn = htobe32(i->info.statsn);
	i->asked_transit = transit;
	i->asked_nsg = nsg;
	rc = login_io_emit(&i->io, out);
	if (rc < 0)
		return rc;
	return LOGIN_CONTINUE;
}

int login_ini_start(struct login_ini *i, struct login_pdu *out)
{
	const struct login_ini_config *c = &i->cfg;
	bool chap = c->chap_name != NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (i->state != INI_NEW)
		return -EINVAL;
	if (c->local.initiator_name[0] == '\0' ||
	    (c->local.session_type == XI_SESSION_NORMAL && c->local.target_name[0] == '\0')) {
		reason(i, "no initiator or target name");
		return -EINVAL;
	}
	if (chap) {
		if (c->chap_secret == NULL || strlen(c->chap_name) > KEYS_VALUE_MAX ||
		    !chap_secret_ok(c->chap_secret_len, c->allow_short_secret)) {
			reason(i, "the CHAP name or secret is empty or too long");
			return -EINVAL;
		}
		if (c->target_secret != NULL &&
		    !chap_secret_ok(c->target_secret_len, c->allow_short_secret)) {
			reason(i, "the target's CHAP secret is empty or too long");
			return -EINVAL;
		}
		/* RFC 7143 section 12.1.3: never the same secret both ways. */
		if (c->target_secret != NULL && c->target_secret_len == c->chap_secret_len &&
		    memcmp(c->target_secret, c->chap_secret, c->chap_secret_len) == 0) {
			reason(i, "mutual CHAP needs a target secret other than the initiator's");
			return -EINVAL;
		}
	}
	neg_init(&i->neg, false, i->info.leading, &i->cfg.local, &i->res);
	strcpy(i->auth_list, chap ? (c->chap_optional ? "CHAP,None" : "CHAP") : "None");
	neg_set_list(&i->neg, NEG_AUTH_METHOD, i->auth_list);
	if (c->header_digests != NULL &&
	    neg_set_list(&i->neg, NEG_HEADER_DIGEST, c->header_digests))
		return -EINVAL;
	if (c->data_digests != NULL && neg_set_list(&i->neg, NEG_DATA_DIGEST, c->data_digests))
		return -EINVAL;
	i->stage = ISCSI_STAGE_SECURITY;
	rc = neg_offer(&i->neg, NEG_STAGE_SECURITY, i->io.tx);
	if (rc < 0)
		return rc;
	i->state = INI_NEGOTIATE;
	if (chap) {
		i->chap = ICHAP_WAIT_METHOD;
		return emit(i, false, 0, out);
	}
	/* No authentication: say so and ask to move on at once, as open-iscsi does. */
	return emit(i, true, ISCSI_STAGE_OPERATIONAL, out);
}

/* RFC 7143 section 12.1.3, as the one who answers the target's challenge. */
static int chap_step(struct login_ini *i)
{
	const struct login_ini_config *c = &i->cfg;
	struct keys *rx = i->io.rx, *tx = i->io.tx;
	char resp[2 + 2 * CHAP_DIGEST_MAX + 1];
	const char *a, *n, *r;
	uint32_t alg;
	int rc;

	switch (i->chap) {
	case ICHAP_WAIT_METHOD:
		if (i->res.auth_method != XI_AUTH_CHAP ||
		    !((i->neg.answered >> NEG_AUTH_METHOD) & 1))
			return 0;
		if ((i->neg.refused >> NEG_AUTH_METHOD) & 1) {
			reason(i, "the target refused CHAP");
			return -EACCES;
		}
		rc = keys_add(tx, "CHAP_A", c->chap_algs);
		if (rc < 0)
			return rc;
		i->chap = ICHAP_WAIT_CHALLENGE;
		return 0;
	case ICHAP_WAIT_CHALLENGE:
		a = keys_find(rx, "CHAP_A");
		/* One algorithm, one of those offered. */
		if (a == NULL || neg_parse_u32(a, 0, 255, &alg) < 0 ||
		    chap_alg_choose(a, c->chap_algs) != (int)alg) {
			reason(i, "the target chose CHAP_A=%s, not one of %s", a ? a : "(none)",
			       c->chap_algs);
			return -EACCES;
		}
		rc = chap_respond((int)alg, keys_find(rx, "CHAP_I"), keys_find(rx, "CHAP_C"),
		                  c->chap_secret, c->chap_secret_len, NULL, resp, sizeof(resp));
		if (rc < 0) {
			reason(i, "the target sent a bad CHAP challenge");
			return -EACCES;
		}
		rc = keys_add(tx, "CHAP_N", c->chap_name);
		if (rc == 0)
			rc = keys_add(tx, "CHAP_R", resp);
		if (rc == 0 && c->target_secret != NULL)
			rc = chap_challenge_new(&i->chal, (int)alg, tx);
		if (rc < 0)
			return rc;
		i->chap = ICHAP_WAIT_RESULT;
		return 0;
	case ICHAP_WAIT_RESULT:
		if (c->target_secret == NULL) {
			i->chap = ICHAP_OK;
			return 0;
		}
		n = keys_find(rx, "CHAP_N");
		r = keys_find(rx, "CHAP_R");
		if (n == NULL || r == NULL ||
		    (c->target_chap_name != NULL && strcmp(n, c->target_chap_name) != 0) ||
		    chap_verify(&i->chal, r, c->target_secret, c->target_secret_len) != 0) {
			reason(i, "the target failed mutual CHAP authentication");
			return -EACCES;
		}
		i->chap = ICHAP_OK;
		return 0;
	default:
		return 0;
	}
}

static int check_response(struct login_ini *i, const struct iscsi_bhs_login_response *rsp)
{
	uint8_t flags = rsp->bhslrs_flags;
	bool transit = (flags & ISCSI_FLAG_LOGIN_TRANSIT) != 0;
	bool cont = (flags & ISCSI_FLAG_LOGIN_CONTINUE) != 0;

	if ((rsp->bhslrs_opcode & ISCSI_OP_MASK) != ISCSI_OP_LOGIN_RSP ||
	    be32toh(rsp->bhslrs_itt) != i->cfg.itt ||
	    memcmp(rsp->bhslrs_isid, i->info.isid, sizeof(i->info.isid)) != 0)
		return -EPROTO;
	if (rsp->bhslrs_version_active != ISCSI_VERSION)
		return -EPROTO;
	if (transit && cont)
		return -EPROTO;
	if (login_csg(flags) != i->stage)
		return -EPROTO;
	/* RFC 7143 section 6.3: the target moves on only when asked, never further. */
	if (transit && (!i->asked_transit || login_nsg(flags) != i->asked_nsg))
		return -EPROTO;
	return 0;
}

static void take_redirect(struct login_ini *i, const void *data, size_t len)
{
	const char *addr;

	keys_clear(i->io.rx);
	if (keys_load(i->io.rx, data, len) < 0)
		return;
	addr = keys_find(i->io.rx, "TargetAddress");
	if (addr != NULL)
		i->redirect = strdup(addr);
}

int login_ini_rx(struct login_ini *i, const struct iscsi_bhs *bhs, const void *data,
                 size_t data_len, struct login_pdu *out)
{
	const struct iscsi_bhs_login_response *rsp = (const void *)bhs;
	uint16_t status;
	bool transit, cont;
	int rc;

	memset(out, 0, sizeof(*out));
	if (bhs == NULL || (data == NULL && data_len > 0))
		return -EINVAL;
	if (i->state != INI_NEGOTIATE)
		return -EINVAL;
	if ((rsp->bhslrs_opcode & ISCSI_OP_MASK) != ISCSI_OP_LOGIN_RSP ||
	    be32toh(rsp->bhslrs_itt) != i->cfg.itt) {
		reason(i, "the target sent opcode 0x%02x or a foreign task tag",
		       rsp->bhslrs_opcode & ISCSI_OP_MASK);
		return fail(i, LOGIN_STATUS_INITIATOR_ERROR);
	}
	if (data_len > LOGIN_MAX_DATA || data_len != pdu_dsl_get(bhs)) {
		reason(i, "the target sent %zu bytes of keys in one PDU", data_len);
		return fail(i, LOGIN_STATUS_INITIATOR_ERROR);
	}
	/* RFC 7143 section 11.13.5: a refusal ends the login; its fields need not be valid. */
	status = LOGIN_STATUS(rsp->bhslrs_status_class, rsp->bhslrs_status_detail);
	if (status != LOGIN_STATUS_SUCCESS) {
		if (rsp->bhslrs_status_class == LOGIN_STATUS_CLASS_REDIRECTION)
			take_redirect(i, data, data_len);
		return fail(i, status);
	}
	if (check_response(i, rsp) < 0) {
		reason(i, "the target broke the login stage rules (flags 0x%02x)",
		       rsp->bhslrs_flags);
		return fail(i, LOGIN_STATUS_INITIATOR_ERROR);
	}
	transit = (rsp->bhslrs_flags & ISCSI_FLAG_LOGIN_TRANSIT) != 0;
	cont = (rsp->bhslrs_flags & ISCSI_FLAG_LOGIN_CONTINUE) != 0;
	i->info.statsn = be32toh(rsp->bhslrs_statsn) + 1;
	i->info.max_cmdsn = be32toh(rsp->bhslrs_maxcmdsn);
	rc = keys_feed(i->io.rx, data, data_len, cont);
	if (rc == KEYS_ERR_NOMEM)
		return -ENOMEM;
	if (rc < 0) {
		reason(i, "malformed keys from the target");
		return fail(i, LOGIN_STATUS_INITIATOR_ERROR);
	}
	if (cont) {
		/* RFC 7143 section 6.1: ask for the rest with an empty request. */
		bool asked = i->asked_transit;
		uint8_t nsg = i->asked_nsg;

		rc = emit(i, false, 0, out);
		/* The target answers the request that it is still sending the answer to. */
		i->asked_transit = asked;
		i->asked_nsg = nsg;
		return rc;
	}

	if (i->stage == ISCSI_STAGE_SECURITY) {
		if (neg_process(&i->neg, NEG_STAGE_SECURITY, i->io.rx, i->io.tx) < 0) {
			bool auth =
			        i->neg.err_key != NULL && strcmp(i->neg.err_key, "AuthMethod") == 0;

			neg_reason(i);
			/* RFC 7143 section 12.1: a method not offered refuses ours. */
			return fail(i,
			            auth ? LOGIN_STATUS_AUTH_FAILED : LOGIN_STATUS_INITIATOR_ERROR);
		}
		if ((i->neg.refused >> NEG_AUTH_METHOD) & 1) {
			reason(i, "the target refused AuthMethod=%s", i->auth_list);
			return fail(i, LOGIN_STATUS_AUTH_FAILED);
		}
		if (i->chap != ICHAP_IDLE && ((i->neg.answered >> NEG_AUTH_METHOD) & 1) &&
		    i->res.auth_method == XI_AUTH_NONE && i->chap == ICHAP_WAIT_METHOD)
			i->chap = ICHAP_IDLE; /* we offered None too and the target took it */
		rc = chap_step(i);
		if (rc == -EACCES)
			return fail(i, LOGIN_STATUS_AUTH_FAILED);
		if (rc < 0)
			return rc;
		i->authenticated = i->chap == ICHAP_IDLE || i->chap == ICHAP_OK;
		if (!transit) {
			/* Ask to move on once our side of the authentication is complete. */
			bool ready = i->authenticated || i->chap == ICHAP_WAIT_RESULT;

			return emit(i, ready, ISCSI_STAGE_OPERATIONAL, out);
		}
		/* The target let us through: it must have been satisfied, and so must we. */
		if (!i->authenticated) {
			reason(i, "the target ended the security stage before CHAP completed");
			return fail(i, LOGIN_STATUS_AUTH_FAILED);
		}
		i->stage = login_nsg(rsp->bhslrs_flags);
		if (i->stage == ISCSI_STAGE_OPERATIONAL) {
			keys_clear(i->io.tx);
			rc = neg_offer(&i->neg, NEG_STAGE_OPERATIONAL, i->io.tx);
			if (rc < 0)
				return rc;
			return emit(i, true, ISCSI_STAGE_FULL, out);
		}
	} else {
		if (login_has_chap_keys(i->io.rx)) {
			reason(i, "the target sent CHAP keys in the operational stage");
			return fail(i, LOGIN_STATUS_INITIATOR_ERROR);
		}
		if (neg_process(&i->neg, NEG_STAGE_OPERATIONAL, i->io.rx, i->io.tx) < 0) {
			neg_reason(i);
			return fail(i, LOGIN_STATUS_INITIATOR_ERROR);
		}
		if (!transit)
			return emit(i, true, ISCSI_STAGE_FULL, out);
		i->stage = ISCSI_STAGE_FULL;
	}
	/* Full feature phase. */
	if (neg_finish(&i->neg) < 0) {
		reason(i, "negotiation failed on %s", i->neg.err_key ? i->neg.err_key : "a key");
		return fail(i, LOGIN_STATUS_INITIATOR_ERROR);
	}
	{
		uint16_t tsih = be16toh(rsp->bhslrs_tsih);

		/* RFC 7143 section 11.13.4: the final response names the session. */
		if (tsih == 0 || (!i->info.leading && tsih != i->info.tsih)) {
			reason(i, "the target ended the login with TSIH %u", tsih);
			return fail(i, LOGIN_STATUS_INITIATOR_ERROR);
		}
		i->info.tsih = tsih;
	}
	keys_clear(i->io.rx);
	keys_clear(i->io.tx);
	i->state = INI_DONE;
	i->status = LOGIN_STATUS_SUCCESS;
	return LOGIN_DONE;
}
