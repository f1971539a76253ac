/*
 * Generates the seed corpora of fuzz_keys, fuzz_login_tgt, fuzz_login_ini
 * and fuzz_chap, so that no seed is a hand-copied blob. Login seeds are the
 * PDUs the real initiator and target machines exchange in memory; where a
 * step would carry a random CHAP challenge, a fixed one stands in, so the
 * seeds are the same on every run.
 *
 *   gen-seeds-login write SEEDS_DIR   (re)writes SEEDS_DIR/{keys,login_tgt,login_ini,chap}
 *   gen-seeds-login check SEEDS_DIR   exit 1 unless they match
 *   gen-seeds-login                   check the directory it was built for
 *
 * `make fuzz-seeds-login` rewrites the committed seeds after a change here;
 * make check fails while they are stale.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/keys.h"
#include "lib/login.h"
#include "lib/negotiate.h"

#define SEED_MAX    16384
#define TARGET      "iqn.2026-01.org.xiscsi:fuzz"
#define REC_FIX_DSL 0x01
#define REC_ECHO    0x02

struct seed {
	uint8_t buf[SEED_MAX];
	size_t len;
};

static bool check_mode;
static int failures;
static const char *root;

static void put(struct seed *s, const void *p, size_t n)
{
	if (s->len + n > SEED_MAX) {
		fprintf(stderr, "gen-seeds-login: seed too large\n");
		exit(1);
	}
	if (n == 0) /* an empty data segment comes as (NULL, 0) */
		return;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void put_byte(struct seed *s, uint8_t b)
{
	put(s, &b, 1);
}

/* One record of the login harnesses: flags, BHS, 2-byte length, data. */
static void put_record(struct seed *s, uint8_t flags, const struct iscsi_bhs *bhs, const void *data,
                       size_t len)
{
	put_byte(s, flags);
	put(s, bhs, ISCSI_BHS_SIZE);
	put_byte(s, (uint8_t)(len >> 8));
	put_byte(s, (uint8_t)len);
	put(s, data, len);
}

static void emit(const char *sub, const char *name, const struct seed *s)
{
	char path[4096];
	uint8_t old[SEED_MAX + 1];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s/%s", root, sub, name);
	if (check_mode) {
		f = fopen(path, "rb");
		n = f ? fread(old, 1, sizeof(old), f) : 0;
		if (!f || n != s->len || memcmp(old, s->buf, s->len) != 0) {
			fprintf(stderr,
			        "gen-seeds-login: %s is missing or stale: run make "
			        "fuzz-seeds-login\n",
			        path);
			failures++;
		}
		if (f)
			fclose(f);
		return;
	}
	f = fopen(path, "wb");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f) != 0) {
		fprintf(stderr, "gen-seeds-login: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void key_seed(const char *name, uint8_t cfg, uint8_t cut, const void *text, size_t len)
{
	struct seed s = {.len = 0};

	put_byte(&s, cfg);
	put_byte(&s, cut);
	put(&s, text, len);
	emit("keys", name, &s);
}

static void gen_keys(void)
{
	static const char sec[] = "InitiatorName=iqn.2026-01.org.xiscsi:host\0"
	                          "TargetName=" TARGET "\0SessionType=Normal\0AuthMethod=CHAP,None";
	static const char disc[] = "SessionType=Discovery\0MaxBurstLength=65536\0"
	                           "DefaultTime2Wait=4\0X-com.example.Key=1";
	static const char bad[] = "HeaderDigest=None\0HeaderDigest=CRC32C\0InitiatorAlias=\xc3\x28";
	static const char answers[] = "MaxBurstLength=65536\0ImmediateData=Yes\0"
	                              "HeaderDigest=Reject\0DataDigest=None\0InitialR2T=No";
	struct xi_params local;
	struct xi_params res;
	struct neg_ctx neg;
	struct keys *k = keys_new();
	uint8_t buf[2048];
	ssize_t n;

	/* What our initiator really proposes in the operational stage. */
	params_init(&local);
	local.max_recv_dsl = 262144;
	neg_init(&neg, false, true, &local, &res);
	if (k == NULL || neg_offer(&neg, NEG_STAGE_OPERATIONAL, k) < 0)
		exit(1);
	n = keys_save(k, buf, sizeof(buf));
	if (n < 0)
		exit(1);
	key_seed("operational-offer", 0x01 | 0x02, 17, buf, (size_t)n);
	key_seed("operational-offer-lists", 0x01 | 0x02 | 0x10, 0, buf, (size_t)n);
	key_seed("security", 0x01 | 0x10, 40, sec, sizeof(sec));
	key_seed("discovery", 0x01 | 0x02 | 0x04, 5, disc, sizeof(disc));
	key_seed("answers-to-initiator", 0x02, 9, answers, sizeof(answers));
	key_seed("added-connection", 0x01 | 0x02 | 0x08, 0, buf, (size_t)n);
	key_seed("bad", 0x01 | 0x02 | 0x20, 3, bad, sizeof(bad));
	keys_free(k);
}

/* ---- login: the real machines against each other ---- */

static int cb_authorize(void *ctx, const char *target_name, const char *initiator_name,
                        enum xi_session_type type, unsigned int *auth)
{
	*auth = *(unsigned int *)ctx;
	return 0;
}

static int cb_secret(void *ctx, const char *target_name, const char *initiator_name, bool mutual,
                     const char *user, char *name, size_t name_cap, uint8_t *secret,
                     size_t *secret_len)
{
	return -ENOENT;
}

static int cb_session(void *ctx, const struct login_session_req *req, uint16_t *tsih)
{
	*tsih = 1;
	return 0;
}

static const struct login_tgt_ops ops = {
        .authorize = cb_authorize,
        .chap_secret = cb_secret,
        .session = cb_session,
};

static void ini_config(struct login_ini_config *c, bool discovery)
{
	memset(c, 0, sizeof(*c));
	params_init(&c->local);
	strcpy(c->local.initiator_name, "iqn.2026-01.org.xiscsi:fuzz-host");
	if (discovery)
		c->local.session_type = XI_SESSION_DISCOVERY;
	else
		strcpy(c->local.target_name, TARGET);
	c->local.max_recv_dsl = 262144;
	memcpy(c->isid, "\x80\x00\x00\x00\x00\x01", 6);
	c->itt = 1;
}

/* A login without CHAP, recorded from both sides. */
static void gen_pair(const char *name, bool discovery, uint8_t tgt_cfg)
{
	unsigned int auth = LOGIN_AUTH_ALLOW_NONE;
	struct login_tgt_config tc;
	struct login_ini_config ic;
	struct login_tgt *t = NULL;
	struct login_ini *i = NULL;
	struct login_pdu req, rsp;
	struct seed st = {.len = 0}, si = {.len = 0};
	int rc;

	memset(&tc, 0, sizeof(tc));
	params_init(&tc.local);
	tc.local.max_recv_dsl = 65536;
	tc.local.max_burst_length = 131072;
	tc.local.tpgt = 1;
	tc.local.tpgt_set = true;
	tc.ops = &ops;
	tc.ctx = &auth;
	ini_config(&ic, discovery);
	if (login_tgt_new(&t, &tc) < 0 || login_ini_new(&i, &ic) < 0 ||
	    login_ini_start(i, &req) != LOGIN_CONTINUE)
		exit(1);
	put_byte(&st, tgt_cfg);
	put_byte(&si, discovery ? 0x04 : 0);
	for (int step = 0; step < 16; step++) {
		put_record(&st, 0, &req.bhs, req.data, req.data_len);
		if (login_tgt_rx(t, &req.bhs, req.data, req.data_len, &rsp) < 0)
			exit(1);
		put_record(&si, 0, &rsp.bhs, rsp.data, rsp.data_len);
		rc = login_ini_rx(i, &rsp.bhs, rsp.data, rsp.data_len, &req);
		if (rc != LOGIN_CONTINUE)
			break;
	}
	emit("login_tgt", name, &st);
	emit("login_ini", name, &si);
	login_tgt_free(t);
	login_ini_free(i);
}

static struct iscsi_bhs req_bhs(uint8_t flags)
{
	struct iscsi_bhs_login_request r;

	memset(&r, 0, sizeof(r));
	r.bhslr_opcode = ISCSI_OP_LOGIN_REQ | ISCSI_OP_IMMEDIATE;
	r.bhslr_flags = flags;
	memcpy(r.bhslr_isid, "\x80\x00\x00\x00\x00\x01", 6);
	r.bhslr_itt = htobe32(1);
	return *(struct iscsi_bhs *)&r;
}

static struct iscsi_bhs rsp_bhs(uint8_t flags, uint16_t tsih)
{
	struct iscsi_bhs_login_response r;

	memset(&r, 0, sizeof(r));
	r.bhslrs_opcode = ISCSI_OP_LOGIN_RSP;
	r.bhslrs_flags = flags;
	r.bhslrs_tsih = htobe16(tsih);
	return *(struct iscsi_bhs *)&r;
}

#define T_SEC_OP (ISCSI_FLAG_LOGIN_TRANSIT | ISCSI_STAGE_OPERATIONAL)
#define T_OP_FFP                                                                                   \
	(ISCSI_FLAG_LOGIN_TRANSIT | (ISCSI_STAGE_OPERATIONAL << ISCSI_LOGIN_CSG_SHIFT) |           \
	 ISCSI_STAGE_FULL)
#define CHAL32 "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* CHAP steps with a fixed challenge and response in place of random ones. */
static void gen_chap_logins(void)
{
	static const char t1[] =
	        "InitiatorName=iqn.2026-01.org.xiscsi:fuzz-host\0TargetName=" TARGET
	        "\0SessionType=Normal\0AuthMethod=CHAP";
	static const char t2[] = "CHAP_A=7,5";
	static const char t3[] = "CHAP_N=alice\0CHAP_R=" CHAL32 "\0CHAP_I=9\0CHAP_C=" CHAL32;
	static const char t4[] = "MaxRecvDataSegmentLength=262144\0MaxBurstLength=65536";
	static const char i1[] = "AuthMethod=CHAP\0TargetPortalGroupTag=1";
	static const char i2[] = "CHAP_A=7\0CHAP_I=3\0CHAP_C=" CHAL32;
	static const char i3[] = "CHAP_N=fuzz\0CHAP_R=" CHAL32;
	static const char i4[] = "MaxRecvDataSegmentLength=65536\0MaxBurstLength=65536";
	struct seed s = {.len = 0};
	struct iscsi_bhs b;

	put_byte(&s, 3); /* CHAP with mutual required */
	b = req_bhs(0);
	put_record(&s, REC_FIX_DSL, &b, t1, sizeof(t1));
	put_record(&s, REC_FIX_DSL, &b, t2, sizeof(t2));
	b = req_bhs(T_SEC_OP);
	put_record(&s, REC_FIX_DSL, &b, t3, sizeof(t3));
	b = req_bhs(T_OP_FFP);
	put_record(&s, REC_FIX_DSL, &b, t4, sizeof(t4));
	emit("login_tgt", "chap-mutual", &s);

	s.len = 0;
	put_byte(&s, 0x01 | 0x02); /* CHAP, mutual */
	b = rsp_bhs(0, 0);
	put_record(&s, REC_FIX_DSL | REC_ECHO, &b, i1, sizeof(i1));
	put_record(&s, REC_FIX_DSL | REC_ECHO, &b, i2, sizeof(i2));
	b = rsp_bhs(T_SEC_OP, 0);
	put_record(&s, REC_FIX_DSL | REC_ECHO, &b, i3, sizeof(i3));
	b = rsp_bhs(T_OP_FFP, 1);
	put_record(&s, REC_FIX_DSL | REC_ECHO, &b, i4, sizeof(i4));
	emit("login_ini", "chap-mutual", &s);

	s.len = 0;
	put_byte(&s, 0x01); /* CHAP one-way */
	b = rsp_bhs(0, 0);
	put_record(&s, REC_FIX_DSL | REC_ECHO, &b, i1, sizeof(i1));
	put_record(&s, REC_FIX_DSL | REC_ECHO, &b, i2, sizeof(i2));
	b = rsp_bhs(T_SEC_OP, 0);
	put_record(&s, REC_FIX_DSL | REC_ECHO, &b, NULL, 0);
	b = rsp_bhs(T_OP_FFP, 1);
	put_record(&s, REC_FIX_DSL | REC_ECHO, &b, i4, sizeof(i4));
	emit("login_ini", "chap", &s);
}

static void chap_seed(const char *name, uint8_t alg, const char *a, const char *b, const char *c)
{
	struct seed s = {.len = 0};

	put_byte(&s, alg);
	put(&s, a, strlen(a) + 1);
	put(&s, b, strlen(b) + 1);
	put(&s, c, strlen(c));
	emit("chap", name, &s);
}

static void gen_chap(void)
{
	chap_seed("hex-md5", 5, "1", "0x00112233445566778899aabbccddeeff",
	          "0x00112233445566778899aabbccddeeff");
	chap_seed("hex-sha256", 7, "255", CHAL32, CHAL32);
	chap_seed("base64-sha1", 6, "7,6,5",
	          "0bAAECAwQFBgcICQoLDA0ODw==", "0bAAECAwQFBgcICQoLDA0ODw==");
	chap_seed("sha3-odd-hex", 8, "8", "0xabc", "0x1");
	chap_seed("garbage", 4, "x,,", "0b=", "0xzz");
}

int main(int argc, char **argv)
{
	if (argc == 3 && (strcmp(argv[1], "write") == 0 || strcmp(argv[1], "check") == 0)) {
		check_mode = strcmp(argv[1], "check") == 0;
		root = argv[2];
	} else if (argc == 1) {
#ifdef FUZZ_SEED_ROOT
		check_mode = true;
		root = FUZZ_SEED_ROOT;
#else
		fprintf(stderr, "usage: %s write|check SEEDS_DIR\n", argv[0]);
		return 1;
#endif
	} else {
		fprintf(stderr, "usage: %s [write|check SEEDS_DIR]\n", argv[0]);
		return 1;
	}
	gen_keys();
	gen_pair("none", false, 0);
	gen_pair("discovery", true, 2);
	gen_pair("none-digests", false, 4 | 8);
	gen_chap_logins();
	gen_chap();
	return failures ? 1 : 0;
}
