/*
 * Login state machines (lib/login_tgt.c, lib/login_ini.c): the initiator
 * and the target machines talk to each other in memory, and the target is
 * fed hand-made malformed requests.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/chap.h"
#include "lib/keys.h"
#include "lib/login.h"

#define TARGET     "iqn.2026-01.org.xiscsi:disk1"
#define INITIATOR  "iqn.2026-01.org.xiscsi:host1"
#define USER       "alice"
#define SECRET     "alicesecret12"
#define TGT_USER   "disk1"
#define TGT_SECRET "targetsecret"
#define TSIH       0x1234
#define MAX_STEPS  32

struct fx {
	/* target side */
	unsigned int auth;
	const char *tgt_secret; /* mutual secret the target holds */
	int session_calls;
	struct login_tgt_config tcfg;
	struct login_tgt *tgt;
	/* initiator side */
	struct login_ini_config icfg;
	struct login_ini *ini;
	int tgt_rc;
	int ini_rc;
};

static int cb_authorize(void *ctx, const char *target_name, const char *initiator_name,
                        enum xi_session_type type, unsigned int *auth)
{
	struct fx *f = ctx;

	if (type == XI_SESSION_NORMAL && strcmp(target_name, TARGET) != 0)
		return -ENOENT;
	if (strcmp(initiator_name, INITIATOR) != 0)
		return -EACCES;
	*auth = f->auth;
	return 0;
}

static int cb_secret(void *ctx, const char *target_name, const char *initiator_name, bool mutual,
                     const char *user, char *name, size_t name_cap, uint8_t *secret,
                     size_t *secret_len)
{
	struct fx *f = ctx;
	const char *s;

	if (mutual) {
		if (f->tgt_secret == NULL)
			return -ENOENT;
		snprintf(name, name_cap, "%s", TGT_USER);
		s = f->tgt_secret;
	} else {
		if (strcmp(user, USER) != 0)
			return -ENOENT;
		s = SECRET;
	}
	if (strlen(s) > *secret_len)
		return -ENOENT;
	memcpy(secret, s, strlen(s));
	*secret_len = strlen(s);
	return 0;
}

static int cb_session(void *ctx, const struct login_session_req *req, uint16_t *tsih)
{
	struct fx *f = ctx;

	f->session_calls++;
	if (req->tsih != 0 && req->tsih != TSIH)
		return -ENOENT;
	*tsih = TSIH;
	return 0;
}

static const struct login_tgt_ops ops = {
        .authorize = cb_authorize,
        .chap_secret = cb_secret,
        .session = cb_session,
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.auth = LOGIN_AUTH_ALLOW_NONE;
	params_init(&f.tcfg.local);
	f.tcfg.local.max_recv_dsl = 65536;
	f.tcfg.local.max_burst_length = 131072;
	f.tcfg.local.first_burst_length = 65536;
	f.tcfg.local.tpgt = 1;
	f.tcfg.local.tpgt_set = true;
	f.tcfg.initial_statsn = 1000;
	f.tcfg.ops = &ops;
	f.tcfg.ctx = &f;

	params_init(&f.icfg.local);
	strcpy(f.icfg.local.initiator_name, INITIATOR);
	strcpy(f.icfg.local.target_name, TARGET);
	f.icfg.local.max_recv_dsl = 262144;
	f.icfg.local.max_burst_length = 1048576;
	f.icfg.local.first_burst_length = 262144;
	f.icfg.local.immediate_data = true;
	f.icfg.local.initial_r2t = false;
	memcpy(f.icfg.isid, "\x80\x12\x34\x56\x00\x01", 6);
	f.icfg.itt = 7;
	f.icfg.cmdsn = 55;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	login_tgt_free(f->tgt);
	login_ini_free(f->ini);
	f->tgt = NULL;
	f->ini = NULL;
	return 0;
}

/* Run both machines against each other until one ends. */
static void run(struct fx *f)
{
	struct login_pdu req, rsp;
	int rc;

	assert_int_equal(login_tgt_new(&f->tgt, &f->tcfg), 0);
	assert_int_equal(login_ini_new(&f->ini, &f->icfg), 0);
	assert_int_equal(login_ini_start(f->ini, &req), LOGIN_CONTINUE);
	for (int step = 0; step < MAX_STEPS; step++) {
		assert_true(req.present);
		f->tgt_rc = login_tgt_rx(f->tgt, &req.bhs, req.data, req.data_len, &rsp);
		assert_true(f->tgt_rc >= 0);
		assert_true(rsp.present);
		rc = login_ini_rx(f->ini, &rsp.bhs, rsp.data, rsp.data_len, &req);
		f->ini_rc = rc;
		if (rc != LOGIN_CONTINUE)
			return;
		/* The target cannot be done while the initiator carries on. */
		assert_int_equal(f->tgt_rc, LOGIN_CONTINUE);
	}
	fail_msg("login did not end in %d steps", MAX_STEPS);
}

static void assert_both_done(struct fx *f)
{
	const struct login_info *ti = login_tgt_info(f->tgt), *ii = login_ini_info(f->ini);

	assert_int_equal(f->tgt_rc, LOGIN_DONE);
	assert_int_equal(f->ini_rc, LOGIN_DONE);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_SUCCESS);
	assert_int_equal(ti->tsih, TSIH);
	assert_int_equal(ii->tsih, TSIH);
	/* Both agree on where the sequence numbers stand for full feature phase. */
	assert_int_equal(ii->statsn, ti->statsn);
	assert_int_equal(ii->cmdsn, 55);
	assert_int_equal(ti->cmdsn, 55);
	assert_int_equal(ii->max_cmdsn, ti->max_cmdsn);
	assert_int_equal(f->session_calls, 1);
}

static void assert_same_session_params(struct fx *f)
{
	const struct xi_params *t = login_tgt_params(f->tgt), *i = login_ini_params(f->ini);

	assert_int_equal(t->max_burst_length, i->max_burst_length);
	assert_int_equal(t->first_burst_length, i->first_burst_length);
	assert_int_equal(t->immediate_data, i->immediate_data);
	assert_int_equal(t->initial_r2t, i->initial_r2t);
	assert_int_equal(t->header_digest, i->header_digest);
	assert_int_equal(t->data_digest, i->data_digest);
	assert_int_equal(t->error_recovery_level, i->error_recovery_level);
	assert_int_equal(t->max_outstanding_r2t, i->max_outstanding_r2t);
	/* Each side sends at most what the other receives. */
	assert_int_equal(t->max_send_dsl, i->max_recv_dsl);
	assert_int_equal(i->max_send_dsl, t->max_recv_dsl);
}

static void test_no_auth(void **state)
{
	struct fx *f = *state;
	const struct xi_params *t;

	run(f);
	assert_both_done(f);
	assert_same_session_params(f);
	t = login_tgt_params(f->tgt);
	assert_string_equal(t->initiator_name, INITIATOR);
	assert_string_equal(t->target_name, TARGET);
	assert_int_equal(t->max_burst_length, 131072);
	assert_int_equal(t->first_burst_length, 65536);
	assert_true(t->initial_r2t); /* OR: the initiator's No, the target's default Yes */
	assert_int_equal(t->max_send_dsl, 262144);
	assert_int_equal(login_ini_params(f->ini)->max_send_dsl, 65536);
	assert_int_equal(login_ini_params(f->ini)->tpgt, 1);
	assert_true(login_ini_params(f->ini)->tpgt_set);
}

static void use_chap(struct fx *f)
{
	f->auth = LOGIN_AUTH_ALLOW_CHAP;
	f->icfg.chap_name = USER;
	f->icfg.chap_secret = (const uint8_t *)SECRET;
	f->icfg.chap_secret_len = strlen(SECRET);
}

static void test_chap(void **state)
{
	struct fx *f = *state;

	use_chap(f);
	run(f);
	assert_both_done(f);
	assert_same_session_params(f);
	assert_int_equal(login_tgt_params(f->tgt)->auth_method, XI_AUTH_CHAP);
}

static void test_chap_each_algorithm(void **state)
{
	static const char *const algs[] = {"5", "6", "7", "8"};
	struct fx *f = *state;

	use_chap(f);
	for (size_t a = 0; a < 4; a++) {
		f->icfg.chap_algs = algs[a];
		f->session_calls = 0;
		run(f);
		assert_both_done(f);
		teardown(state);
	}
}

static void test_chap_no_common_algorithm(void **state)
{
	struct fx *f = *state;

	use_chap(f);
	f->icfg.chap_algs = "5";
	f->tcfg.chap_algs = "7,8";
	run(f);
	assert_int_equal(f->tgt_rc, LOGIN_FAILED);
	assert_int_equal(login_tgt_status(f->tgt), LOGIN_STATUS_AUTH_FAILED);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_AUTH_FAILED);
}

static void use_mutual(struct fx *f)
{
	use_chap(f);
	f->tgt_secret = TGT_SECRET;
	f->icfg.target_secret = (const uint8_t *)TGT_SECRET;
	f->icfg.target_secret_len = strlen(TGT_SECRET);
	f->icfg.target_chap_name = TGT_USER;
}

static void test_mutual_chap(void **state)
{
	struct fx *f = *state;

	use_mutual(f);
	f->auth |= LOGIN_AUTH_REQUIRE_MUTUAL;
	run(f);
	assert_both_done(f);
}

static void test_wrong_secret(void **state)
{
	struct fx *f = *state;

	use_chap(f);
	f->icfg.chap_secret = (const uint8_t *)"wrongsecret12";
	run(f);
	assert_int_equal(f->tgt_rc, LOGIN_FAILED);
	assert_int_equal(login_tgt_status(f->tgt), LOGIN_STATUS_AUTH_FAILED);
	assert_int_equal(f->ini_rc, LOGIN_FAILED);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_AUTH_FAILED);
	assert_int_equal(f->session_calls, 0);
}

static void test_unknown_chap_user(void **state)
{
	struct fx *f = *state;

	use_chap(f);
	f->icfg.chap_name = "mallory";
	run(f);
	assert_int_equal(login_tgt_status(f->tgt), LOGIN_STATUS_AUTH_FAILED);
}

static void test_mutual_target_fails_proof(void **state)
{
	struct fx *f = *state;

	use_mutual(f);
	f->tgt_secret = "notthesecret";
	run(f);
	/* The target thinks all is well; the initiator does not accept it. */
	assert_int_equal(f->ini_rc, LOGIN_FAILED);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_AUTH_FAILED);
}

static void test_mutual_required_but_one_way(void **state)
{
	struct fx *f = *state;

	use_chap(f);
	f->auth |= LOGIN_AUTH_REQUIRE_MUTUAL;
	f->tgt_secret = TGT_SECRET;
	run(f);
	assert_int_equal(login_tgt_status(f->tgt), LOGIN_STATUS_AUTH_FAILED);
}

static void test_mutual_same_secret_both_ways(void **state)
{
	struct fx *f = *state;

	use_mutual(f);
	f->tgt_secret = SECRET;
	f->icfg.target_secret = (const uint8_t *)"othersecret12";
	f->icfg.target_secret_len = 13;
	run(f);
	assert_int_equal(login_tgt_status(f->tgt), LOGIN_STATUS_AUTH_FAILED);
}

static void test_initiator_refuses_same_secret_config(void **state)
{
	struct fx *f = *state;
	struct login_pdu out;

	use_mutual(f);
	f->icfg.target_secret = (const uint8_t *)SECRET;
	f->icfg.target_secret_len = strlen(SECRET);
	assert_int_equal(login_ini_new(&f->ini, &f->icfg), 0);
	assert_int_equal(login_ini_start(f->ini, &out), -EINVAL);
	/* The caller can tell the user which setting is wrong. */
	assert_string_equal(login_ini_reason(f->ini),
	                    "mutual CHAP needs a target secret other than the initiator's");
}

static void test_short_secret_refused(void **state)
{
	struct fx *f = *state;
	struct login_pdu out;

	use_chap(f);
	f->icfg.chap_secret_len = 11;
	assert_int_equal(login_ini_new(&f->ini, &f->icfg), 0);
	assert_int_equal(login_ini_start(f->ini, &out), -EINVAL);
}

static void test_chap_required_none_offered(void **state)
{
	struct fx *f = *state;

	f->auth = LOGIN_AUTH_ALLOW_CHAP;
	run(f);
	assert_int_equal(login_tgt_status(f->tgt), LOGIN_STATUS_AUTH_FAILED);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_AUTH_FAILED);
}

static void test_chap_optional_target_picks_none(void **state)
{
	struct fx *f = *state;

	use_chap(f);
	f->auth = LOGIN_AUTH_ALLOW_NONE;
	f->icfg.chap_optional = true;
	run(f);
	assert_both_done(f);
	assert_int_equal(login_ini_params(f->ini)->auth_method, XI_AUTH_NONE);
}

static void test_unknown_target(void **state)
{
	struct fx *f = *state;

	strcpy(f->icfg.local.target_name, "iqn.2026-01.org.xiscsi:nope");
	run(f);
	assert_int_equal(f->tgt_rc, LOGIN_FAILED);
	assert_int_equal(login_tgt_status(f->tgt), LOGIN_STATUS_NOT_FOUND);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_NOT_FOUND);
	assert_string_equal(login_status_name(login_ini_status(f->ini)), "target not found");
}

static void test_initiator_not_allowed(void **state)
{
	struct fx *f = *state;

	strcpy(f->icfg.local.initiator_name, "iqn.2026-01.org.xiscsi:intruder");
	run(f);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_AUTHZ_FAILED);
}

static void test_discovery(void **state)
{
	struct fx *f = *state;
	const struct xi_params *t;

	f->icfg.local.session_type = XI_SESSION_DISCOVERY;
	f->icfg.local.target_name[0] = '\0';
	run(f);
	assert_both_done(f);
	t = login_tgt_params(f->tgt);
	assert_int_equal(t->session_type, XI_SESSION_DISCOVERY);
	assert_string_equal(t->target_name, "");
	/* MaxBurstLength is irrelevant in discovery and stays at its default. */
	assert_int_equal(t->max_burst_length, XI_DEFAULT_MAX_BURST_LENGTH);
	assert_int_equal(login_ini_params(f->ini)->max_burst_length, XI_DEFAULT_MAX_BURST_LENGTH);
}

static void test_digests(void **state)
{
	struct fx *f = *state;

	f->icfg.header_digests = "CRC32C,None";
	f->icfg.data_digests = "CRC32C,None";
	f->tcfg.header_digests = "CRC32C,None";
	f->tcfg.data_digests = "None";
	run(f);
	assert_both_done(f);
	assert_same_session_params(f);
	assert_int_equal(login_ini_params(f->ini)->header_digest, XI_DIGEST_CRC32C);
	assert_int_equal(login_ini_params(f->ini)->data_digest, XI_DIGEST_NONE);
}

static void test_min_across_sides(void **state)
{
	struct fx *f = *state;

	f->tcfg.local.max_outstanding_r2t = 4;
	f->icfg.local.max_outstanding_r2t = 8;
	run(f);
	assert_both_done(f);
	assert_int_equal(login_ini_params(f->ini)->max_outstanding_r2t, 4);
	assert_int_equal(login_tgt_params(f->tgt)->max_outstanding_r2t, 4);
}

static void test_add_connection(void **state)
{
	struct fx *f = *state;

	f->icfg.tsih = TSIH;
	f->icfg.cid = 2;
	run(f);
	assert_both_done(f);
	assert_false(login_tgt_info(f->tgt)->leading);
	/* LO keys are Irrelevant on a second connection; the session's stay. */
	assert_int_equal(login_ini_params(f->ini)->max_burst_length, XI_DEFAULT_MAX_BURST_LENGTH);
}

static void test_add_connection_unknown_session(void **state)
{
	struct fx *f = *state;

	f->icfg.tsih = 0x4321;
	run(f);
	assert_int_equal(login_tgt_status(f->tgt), LOGIN_STATUS_SESS_DOES_NOT_EXIST);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_SESS_DOES_NOT_EXIST);
}

/* ---- hand-made requests for the target ---- */

static void make_req(struct login_pdu *p, uint8_t flags, const void *data, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->present = true;
	p->req.bhslr_opcode = ISCSI_OP_LOGIN_REQ | ISCSI_OP_IMMEDIATE;
	p->req.bhslr_flags = flags;
	memcpy(p->req.bhslr_isid, "\x80\x00\x00\x00\x00\x01", 6);
	p->req.bhslr_itt = htobe32(9);
	p->req.bhslr_cmdsn = htobe32(1);
	pdu_dsl_set(&p->bhs, (uint32_t)len);
	p->data = data;
	p->data_len = (uint32_t)len;
}

#define SEC_TO_OP (ISCSI_FLAG_LOGIN_TRANSIT | ISCSI_STAGE_OPERATIONAL)
#define OP_TO_FFP                                                                                  \
	(ISCSI_FLAG_LOGIN_TRANSIT | (ISCSI_STAGE_OPERATIONAL << ISCSI_LOGIN_CSG_SHIFT) |           \
	 ISCSI_STAGE_FULL)
#define NAMES "InitiatorName=" INITIATOR "\0TargetName=" TARGET "\0"

/* Feed one request to a fresh target; returns the response status. */
static uint16_t tgt_once(struct fx *f, const struct login_pdu *req, struct login_pdu *rsp)
{
	if (f->tgt == NULL)
		assert_int_equal(login_tgt_new(&f->tgt, &f->tcfg), 0);
	f->tgt_rc = login_tgt_rx(f->tgt, &req->bhs, req->data, req->data_len, rsp);
	assert_true(rsp->present);
	return LOGIN_STATUS(rsp->rsp.bhslrs_status_class, rsp->rsp.bhslrs_status_detail);
}

static void test_bad_opcode(void **state)
{
	struct login_pdu req, rsp;

	make_req(&req, SEC_TO_OP, NAMES, sizeof(NAMES) - 1);
	req.req.bhslr_opcode = ISCSI_OP_TEXT_REQ;
	assert_int_equal(tgt_once(*state, &req, &rsp), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_unsupported_version(void **state)
{
	struct fx *f = *state;
	struct login_pdu req, rsp;

	make_req(&req, SEC_TO_OP, NAMES, sizeof(NAMES) - 1);
	req.req.bhslr_version_min = 1;
	req.req.bhslr_version_max = 2;
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_UNSUPPORTED_VERSION);
	assert_int_equal(f->tgt_rc, LOGIN_FAILED);
	assert_int_equal(rsp.rsp.bhslrs_version_max, 0);
}

static void test_missing_initiator_name(void **state)
{
	static const char d[] = "TargetName=" TARGET;
	struct login_pdu req, rsp;

	make_req(&req, SEC_TO_OP, d, sizeof(d));
	assert_int_equal(tgt_once(*state, &req, &rsp), LOGIN_STATUS_MISSING_PARAMETER);
}

static void test_missing_target_name(void **state)
{
	static const char d[] = "InitiatorName=" INITIATOR;
	struct login_pdu req, rsp;

	make_req(&req, SEC_TO_OP, d, sizeof(d));
	assert_int_equal(tgt_once(*state, &req, &rsp), LOGIN_STATUS_MISSING_PARAMETER);
}

static void test_bad_session_type(void **state)
{
	static const char d[] = NAMES "SessionType=Weird";
	struct login_pdu req, rsp;

	make_req(&req, SEC_TO_OP, d, sizeof(d));
	assert_int_equal(tgt_once(*state, &req, &rsp), LOGIN_STATUS_SESS_TYPE_UNSUPPORTED);
}

static void test_transit_and_continue(void **state)
{
	struct login_pdu req, rsp;

	make_req(&req, SEC_TO_OP | ISCSI_FLAG_LOGIN_CONTINUE, NAMES, sizeof(NAMES) - 1);
	assert_int_equal(tgt_once(*state, &req, &rsp), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_bad_next_stage(void **state)
{
	struct login_pdu req, rsp;

	/* CSG 0 -> NSG 2: stage 2 is reserved. */
	make_req(&req, ISCSI_FLAG_LOGIN_TRANSIT | 2, NAMES, sizeof(NAMES) - 1);
	assert_int_equal(tgt_once(*state, &req, &rsp), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_dsl_mismatch(void **state)
{
	struct login_pdu req, rsp;

	make_req(&req, SEC_TO_OP, NAMES, sizeof(NAMES) - 1);
	pdu_dsl_set(&req.bhs, 5000);
	assert_int_equal(tgt_once(*state, &req, &rsp), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_non_utf8_key(void **state)
{
	static const char d[] = NAMES "InitiatorAlias=\xff\xfe";
	struct login_pdu req, rsp;

	make_req(&req, SEC_TO_OP, d, sizeof(d));
	assert_int_equal(tgt_once(*state, &req, &rsp), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_duplicate_key(void **state)
{
	static const char d[] = NAMES "AuthMethod=None\0AuthMethod=None";
	struct login_pdu req, rsp;

	make_req(&req, SEC_TO_OP, d, sizeof(d));
	assert_int_equal(tgt_once(*state, &req, &rsp), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_overlong_value(void **state)
{
	char d[600];
	size_t n;
	struct login_pdu req, rsp;

	memcpy(d, NAMES "InitiatorAlias=", sizeof(NAMES "InitiatorAlias=") - 1);
	n = sizeof(NAMES "InitiatorAlias=") - 1;
	memset(d + n, 'a', 300);
	d[n + 300] = '\0';
	make_req(&req, SEC_TO_OP, d, n + 301);
	assert_int_equal(tgt_once(*state, &req, &rsp), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_operational_first_when_chap_required(void **state)
{
	struct fx *f = *state;
	struct login_pdu req, rsp;

	f->auth = LOGIN_AUTH_ALLOW_CHAP;
	make_req(&req, OP_TO_FFP, NAMES, sizeof(NAMES) - 1);
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_AUTH_FAILED);
}

static void test_operational_first_without_auth(void **state)
{
	static const char answer[] = "MaxBurstLength=131072";
	struct fx *f = *state;
	struct login_pdu req, rsp;
	struct keys *k = keys_new();

	/* libiscsi-style: straight to the operational stage, then on to full feature. */
	make_req(&req, OP_TO_FFP, NAMES, sizeof(NAMES) - 1);
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_SUCCESS);
	/*
	 * The initiator left MaxBurstLength alone, the target wants 131072,
	 * not the default: it proposes it and holds T at 0 for the answer.
	 */
	assert_int_equal(f->tgt_rc, LOGIN_CONTINUE);
	assert_int_equal(rsp.rsp.bhslrs_flags & ISCSI_FLAG_LOGIN_TRANSIT, 0);
	assert_int_equal(keys_load(k, rsp.data, rsp.data_len), 0);
	assert_string_equal(keys_find(k, "MaxBurstLength"), "131072");
	assert_string_equal(keys_find(k, "MaxRecvDataSegmentLength"), "65536");
	assert_string_equal(keys_find(k, "TargetPortalGroupTag"), "1");
	make_req(&req, OP_TO_FFP, answer, sizeof(answer));
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_SUCCESS);
	assert_int_equal(f->tgt_rc, LOGIN_DONE);
	assert_int_equal(be16toh(rsp.rsp.bhslrs_tsih), TSIH);
	assert_int_equal(rsp.rsp.bhslrs_flags, OP_TO_FFP);
	assert_int_equal(login_tgt_params(f->tgt)->max_burst_length, 131072);
	keys_free(k);
}

static void test_chap_keys_in_operational_stage(void **state)
{
	static const char d[] = NAMES "CHAP_A=5";
	struct login_pdu req, rsp;

	make_req(&req, OP_TO_FFP, d, sizeof(d));
	assert_int_equal(tgt_once(*state, &req, &rsp), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_isid_changes_mid_login(void **state)
{
	static const char d1[] = NAMES "AuthMethod=None";
	struct fx *f = *state;
	struct login_pdu req, rsp;

	make_req(&req, 0, d1, sizeof(d1));
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_SUCCESS);
	make_req(&req, SEC_TO_OP, NULL, 0);
	req.req.bhslr_isid[5] = 2;
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_target_name_after_discovery_start(void **state)
{
	static const char d1[] =
	        "InitiatorName=" INITIATOR "\0SessionType=Discovery\0AuthMethod=None";
	static const char d2[] = "TargetName=" TARGET;
	struct fx *f = *state;
	struct login_pdu req, rsp;

	/* Authorized as discovery, it may not turn into a login to a target. */
	make_req(&req, 0, d1, sizeof(d1));
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_SUCCESS);
	make_req(&req, SEC_TO_OP, d2, sizeof(d2));
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_continuation_from_initiator(void **state)
{
	static const char d[] = NAMES "AuthMethod=None";
	struct fx *f = *state;
	struct login_pdu req, rsp;
	size_t cut = 20;

	/* The key list split in the middle of a value (C bit, RFC 7143 section 6.1). */
	make_req(&req, ISCSI_FLAG_LOGIN_CONTINUE, d, cut);
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_SUCCESS);
	assert_int_equal(f->tgt_rc, LOGIN_CONTINUE);
	assert_int_equal(rsp.data_len, 0);
	assert_int_equal(rsp.rsp.bhslrs_flags & ISCSI_FLAG_LOGIN_TRANSIT, 0);
	make_req(&req, SEC_TO_OP, d + cut, sizeof(d) - cut);
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_SUCCESS);
	assert_int_equal(rsp.rsp.bhslrs_flags, SEC_TO_OP);
	assert_string_equal(login_tgt_params(f->tgt)->initiator_name, INITIATOR);
	/* Each response took a StatSN. */
	assert_int_equal(be32toh(rsp.rsp.bhslrs_statsn), 1001);
}

/* An initiator that sends the target's own challenge back to get it answered. */
static void test_reflected_challenge(void **state)
{
	static const char d1[] = NAMES "AuthMethod=CHAP";
	static const char d2[] = "CHAP_A=5";
	struct fx *f = *state;
	struct login_pdu req, rsp;
	struct keys *k = keys_new();
	char resp[80], d3[512];
	int n;

	use_mutual(f);
	make_req(&req, 0, d1, sizeof(d1));
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_SUCCESS);
	make_req(&req, 0, d2, sizeof(d2));
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_SUCCESS);
	assert_int_equal(keys_load(k, rsp.data, rsp.data_len), 0);
	assert_string_equal(keys_find(k, "CHAP_A"), "5");
	assert_int_equal(chap_respond(CHAP_A_MD5, keys_find(k, "CHAP_I"), keys_find(k, "CHAP_C"),
	                              SECRET, strlen(SECRET), NULL, resp, sizeof(resp)),
	                 0);
	n = snprintf(d3, sizeof(d3), "CHAP_N=" USER "%cCHAP_R=%s%cCHAP_I=%s%cCHAP_C=%s", 0, resp, 0,
	             keys_find(k, "CHAP_I"), 0, keys_find(k, "CHAP_C"));
	make_req(&req, SEC_TO_OP, d3, (size_t)n + 1);
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_AUTH_FAILED);
	keys_free(k);
}

static void test_mutual_half_keys(void **state)
{
	static const char d1[] = NAMES "AuthMethod=CHAP";
	static const char d2[] = "CHAP_A=7";
	struct fx *f = *state;
	struct login_pdu req, rsp;
	struct keys *k = keys_new();
	char resp[80], d3[512];
	int n;

	use_mutual(f);
	make_req(&req, 0, d1, sizeof(d1));
	tgt_once(f, &req, &rsp);
	make_req(&req, 0, d2, sizeof(d2));
	tgt_once(f, &req, &rsp);
	assert_int_equal(keys_load(k, rsp.data, rsp.data_len), 0);
	assert_int_equal(chap_respond(CHAP_A_SHA256, keys_find(k, "CHAP_I"), keys_find(k, "CHAP_C"),
	                              SECRET, strlen(SECRET), NULL, resp, sizeof(resp)),
	                 0);
	/* CHAP_I without CHAP_C. */
	n = snprintf(d3, sizeof(d3), "CHAP_N=" USER "%cCHAP_R=%s%cCHAP_I=3", 0, resp, 0);
	make_req(&req, SEC_TO_OP, d3, (size_t)n + 1);
	assert_int_equal(tgt_once(f, &req, &rsp), LOGIN_STATUS_AUTH_FAILED);
	keys_free(k);
}

/* ---- hand-made responses for the initiator ---- */

static void ini_first(struct fx *f, struct login_pdu *req)
{
	assert_int_equal(login_ini_new(&f->ini, &f->icfg), 0);
	assert_int_equal(login_ini_start(f->ini, req), LOGIN_CONTINUE);
}

static void make_rsp(struct login_pdu *p, const struct login_pdu *req, uint8_t flags,
                     const void *data, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->present = true;
	p->rsp.bhslrs_opcode = ISCSI_OP_LOGIN_RSP;
	p->rsp.bhslrs_flags = flags;
	memcpy(p->rsp.bhslrs_isid, req->req.bhslr_isid, 6);
	p->rsp.bhslrs_itt = req->req.bhslr_itt;
	pdu_dsl_set(&p->bhs, (uint32_t)len);
	p->data = data;
	p->data_len = (uint32_t)len;
}

static void test_ini_wrong_itt(void **state)
{
	struct fx *f = *state;
	struct login_pdu req, rsp;

	ini_first(f, &req);
	make_rsp(&rsp, &req, SEC_TO_OP, NULL, 0);
	rsp.rsp.bhslrs_itt = htobe32(8);
	assert_int_equal(login_ini_rx(f->ini, &rsp.bhs, NULL, 0, &req), LOGIN_FAILED);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_ini_unasked_transit(void **state)
{
	struct fx *f = *state;
	struct login_pdu req, rsp;

	use_chap(f); /* first request has T=0 */
	ini_first(f, &req);
	make_rsp(&rsp, &req, SEC_TO_OP, NULL, 0);
	assert_int_equal(login_ini_rx(f->ini, &rsp.bhs, NULL, 0, &req), LOGIN_FAILED);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_INITIATOR_ERROR);
}

static void test_ini_redirect(void **state)
{
	static const char d[] = "TargetAddress=127.0.0.2:3261,1";
	struct fx *f = *state;
	struct login_pdu req, rsp;

	ini_first(f, &req);
	make_rsp(&rsp, &req, 0, d, sizeof(d));
	rsp.rsp.bhslrs_status_class = LOGIN_STATUS_CLASS_REDIRECTION;
	rsp.rsp.bhslrs_status_detail = 2;
	assert_int_equal(login_ini_rx(f->ini, &rsp.bhs, rsp.data, rsp.data_len, &req),
	                 LOGIN_FAILED);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_TARGET_MOVED_PERM);
	assert_string_equal(login_ini_redirect(f->ini), "127.0.0.2:3261,1");
}

static void test_ini_continuation_from_target(void **state)
{
	static const char d[] = "AuthMethod=None\0TargetPortalGroupTag=3";
	struct fx *f = *state;
	struct login_pdu req, rsp;

	ini_first(f, &req);
	make_rsp(&rsp, &req, ISCSI_FLAG_LOGIN_CONTINUE, d, 10);
	assert_int_equal(login_ini_rx(f->ini, &rsp.bhs, rsp.data, rsp.data_len, &req),
	                 LOGIN_CONTINUE);
	/* An empty request asks for the rest. */
	assert_int_equal(req.data_len, 0);
	assert_int_equal(req.req.bhslr_flags & ISCSI_FLAG_LOGIN_TRANSIT, 0);
	make_rsp(&rsp, &req, SEC_TO_OP, d + 10, sizeof(d) - 10);
	assert_int_equal(login_ini_rx(f->ini, &rsp.bhs, rsp.data, rsp.data_len, &req),
	                 LOGIN_CONTINUE);
	assert_int_equal(login_ini_params(f->ini)->tpgt, 3);
	/* Now in the operational stage, asking for full feature phase. */
	assert_int_equal(req.req.bhslr_flags, OP_TO_FFP);
}

static void test_ini_bad_chap_algorithm(void **state)
{
	static const char d1[] = "AuthMethod=CHAP";
	static const char d2[] = "CHAP_A=6\0CHAP_I=1\0CHAP_C=0x00112233445566778899aabbccddeeff";
	struct fx *f = *state;
	struct login_pdu req, rsp;

	use_chap(f);
	f->icfg.chap_algs = "7";
	ini_first(f, &req);
	make_rsp(&rsp, &req, 0, d1, sizeof(d1));
	assert_int_equal(login_ini_rx(f->ini, &rsp.bhs, rsp.data, rsp.data_len, &req),
	                 LOGIN_CONTINUE);
	make_rsp(&rsp, &req, 0, d2, sizeof(d2));
	/* SHA-1 was not offered: a downgrade. */
	assert_int_equal(login_ini_rx(f->ini, &rsp.bhs, rsp.data, rsp.data_len, &req),
	                 LOGIN_FAILED);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_AUTH_FAILED);
}

/* When the initiator ends the login itself, it says why. */
static void test_ini_reason_mutual_proof(void **state)
{
	struct fx *f = *state;

	use_mutual(f);
	f->tgt_secret = "notthesecret";
	run(f);
	assert_int_equal(f->ini_rc, LOGIN_FAILED);
	assert_string_equal(login_ini_reason(f->ini),
	                    "the target failed mutual CHAP authentication");
}

/* When the target refused, the reason is the target's status, not ours. */
static void test_ini_reason_empty_on_refusal(void **state)
{
	struct fx *f = *state;

	use_chap(f);
	f->icfg.chap_secret = (const uint8_t *)"wrongsecret12";
	run(f);
	assert_int_equal(f->ini_rc, LOGIN_FAILED);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_AUTH_FAILED);
	assert_string_equal(login_ini_reason(f->ini), "");
}

/* Mutual CHAP offers only CHAP: a target answering None will not authenticate. */
static void test_ini_mutual_target_picks_none(void **state)
{
	static const char d[] = "AuthMethod=None";
	struct fx *f = *state;
	struct login_pdu req, rsp;

	use_mutual(f);
	ini_first(f, &req);
	make_rsp(&rsp, &req, 0, d, sizeof(d));
	assert_int_equal(login_ini_rx(f->ini, &rsp.bhs, rsp.data, rsp.data_len, &req),
	                 LOGIN_FAILED);
	assert_int_equal(login_ini_status(f->ini), LOGIN_STATUS_AUTH_FAILED);
	assert_string_equal(login_ini_reason(f->ini), "the target answered AuthMethod wrongly");
}

static void test_status_names(void **state)
{
	assert_string_equal(login_status_name(LOGIN_STATUS_AUTH_FAILED), "authentication failure");
	assert_string_equal(login_status_name(LOGIN_STATUS_MISSING_PARAMETER), "missing parameter");
	assert_string_equal(login_status_name(0x0299), "unknown status");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	        T(test_no_auth),
	        T(test_chap),
	        T(test_chap_each_algorithm),
	        T(test_chap_no_common_algorithm),
	        T(test_mutual_chap),
	        T(test_wrong_secret),
	        T(test_unknown_chap_user),
	        T(test_mutual_target_fails_proof),
	        T(test_mutual_required_but_one_way),
	        T(test_mutual_same_secret_both_ways),
	        T(test_initiator_refuses_same_secret_config),
	        T(test_short_secret_refused),
	        T(test_chap_required_none_offered),
	        T(test_chap_optional_target_picks_none),
	        T(test_unknown_target),
	        T(test_initiator_not_allowed),
	        T(test_discovery),
	        T(test_digests),
	        T(test_min_across_sides),
	        T(test_add_connection),
	        T(test_add_connection_unknown_session),
	        T(test_bad_opcode),
	        T(test_unsupported_version),
	        T(test_missing_initiator_name),
	        T(test_missing_target_name),
	        T(test_bad_session_type),
	        T(test_transit_and_continue),
	        T(test_bad_next_stage),
	        T(test_dsl_mismatch),
	        T(test_non_utf8_key),
	        T(test_duplicate_key),
	        T(test_overlong_value),
	        T(test_operational_first_when_chap_required),
	        T(test_operational_first_without_auth),
	        T(test_chap_keys_in_operational_stage),
	        T(test_isid_changes_mid_login),
	        T(test_target_name_after_discovery_start),
	        T(test_continuation_from_initiator),
	        T(test_reflected_challenge),
	        T(test_mutual_half_keys),
	        T(test_ini_wrong_itt),
	        T(test_ini_unasked_transit),
	        T(test_ini_redirect),
	        T(test_ini_continuation_from_target),
	        T(test_ini_bad_chap_algorithm),
	        T(test_ini_reason_mutual_proof),
	        T(test_ini_reason_empty_on_refusal),
	        T(test_ini_mutual_target_picks_none),
	        T(test_status_names),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
