/*
 * Fuzz the target-side login state machine. Input: one configuration byte
 * (authentication policy, digest lists), then records, each a flags byte
 * (bit 0: set DataSegmentLength to the record's length), a 48-byte BHS, a
 * 2-byte big-endian data length and the data: the Login Requests of one
 * connection.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/login.h"

#define FUZZ_TARGET "iqn.2026-01.org.xiscsi:fuzz"
#define REC_FIX_DSL 0x01

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned int policy;

static int cb_authorize(void *ctx, const char *target_name, const char *initiator_name,
                        enum xi_session_type type, unsigned int *auth)
{
	if (type == XI_SESSION_NORMAL && strcmp(target_name, FUZZ_TARGET) != 0)
		return -ENOENT;
	*auth = policy;
	return 0;
}

static int cb_secret(void *ctx, const char *target_name, const char *initiator_name, bool mutual,
                     const char *user, char *name, size_t name_cap, uint8_t *secret,
                     size_t *secret_len)
{
	const char *s = mutual ? "targetsecret" : "initiatorsecret";

	if (mutual)
		snprintf(name, name_cap, "fuzz");
	else if (strcmp(user, "alice") != 0)
		return -ENOENT;
	if (strlen(s) > *secret_len)
		return -ENOENT;
	memcpy(secret, s, strlen(s));
	*secret_len = strlen(s);
	return 0;
}

static int cb_session(void *ctx, const struct login_session_req *req, uint16_t *tsih)
{
	if (req->tsih > 0x100)
		return -ENOENT;
	*tsih = req->tsih ? req->tsih : 1;
	return 0;
}

static const struct login_tgt_ops ops = {
        .authorize = cb_authorize,
        .chap_secret = cb_secret,
        .session = cb_session,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int policies[4] = {
	        LOGIN_AUTH_ALLOW_NONE,
	        LOGIN_AUTH_ALLOW_CHAP,
	        LOGIN_AUTH_ALLOW_NONE | LOGIN_AUTH_ALLOW_CHAP,
	        LOGIN_AUTH_ALLOW_CHAP | LOGIN_AUTH_REQUIRE_MUTUAL,
	};
	struct login_tgt_config cfg;
	struct login_tgt *t = NULL;
	struct login_pdu out;
	size_t at = 1;
	int rc = LOGIN_CONTINUE;

	if (size < 1)
		return 0;
	policy = policies[data[0] & 3];
	memset(&cfg, 0, sizeof(cfg));
	params_init(&cfg.local);
	cfg.local.max_recv_dsl = 65536;
	cfg.local.max_burst_length = 131072;
	cfg.local.tpgt = 1;
	cfg.local.tpgt_set = true;
	if (data[0] & 4)
		cfg.header_digests = "CRC32C,None";
	if (data[0] & 8)
		cfg.chap_algs = "5,7";
	cfg.ops = &ops;
	if (login_tgt_new(&t, &cfg) < 0)
		return 0;
	/* Bounded: each record takes at least 51 bytes. */
	while (rc == LOGIN_CONTINUE && size - at >= 1 + ISCSI_BHS_SIZE + 2) {
		uint8_t flags = data[at];
		struct iscsi_bhs bhs;
		size_t len;

		memcpy(&bhs, data + at + 1, ISCSI_BHS_SIZE);
		len = (size_t)data[at + 1 + ISCSI_BHS_SIZE] << 8 | data[at + 2 + ISCSI_BHS_SIZE];
		at += 3 + ISCSI_BHS_SIZE;
		if (len > size - at)
			len = size - at;
		if (flags & REC_FIX_DSL)
			pdu_dsl_set(&bhs, (uint32_t)len);
		rc = login_tgt_rx(t, &bhs, len ? data + at : NULL, len, &out);
		at += len;
		/* Every answer is a Login Response the builder can send. */
		if (rc >= 0 && (!out.present || out.data_len > LOGIN_MAX_DATA ||
		                pdu_dsl_get(&out.bhs) != out.data_len ||
		                (out.bhs.bhs_opcode & ISCSI_OP_MASK) != ISCSI_OP_LOGIN_RSP))
			abort();
		if (rc == LOGIN_FAILED && login_tgt_status(t) == LOGIN_STATUS_SUCCESS)
			abort();
		if (rc == LOGIN_DONE) {
			const struct xi_params *p = login_tgt_params(t);

			if (p->first_burst_length > p->max_burst_length ||
			    login_tgt_info(t)->tsih == 0 ||
			    (policy == policies[1] && p->auth_method != XI_AUTH_CHAP))
				abort();
		}
	}
	login_tgt_free(t);
	return 0;
}
