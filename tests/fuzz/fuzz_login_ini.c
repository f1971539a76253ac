/*
 * Fuzz the initiator-side login state machine. Input: one configuration
 * byte (CHAP, mutual, discovery, None offered too, added connection), then
 * records, each a flags byte (bit 0: set DataSegmentLength to the record's
 * length; bit 1: copy ITT and ISID from our last request, so the fuzzer
 * need not guess them), a 48-byte BHS, a 2-byte big-endian length and the
 * data: the Login Responses of one connection.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/login.h"

#define REC_FIX_DSL 0x01
#define REC_ECHO    0x02

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct login_ini_config cfg;
	struct login_ini *ini = NULL;
	struct login_pdu req;
	uint8_t c;
	size_t at = 1;
	int rc;

	if (size < 1)
		return 0;
	c = data[0];
	memset(&cfg, 0, sizeof(cfg));
	params_init(&cfg.local);
	strcpy(cfg.local.initiator_name, "iqn.2026-01.org.xiscsi:fuzz-host");
	strcpy(cfg.local.target_name, "iqn.2026-01.org.xiscsi:fuzz");
	cfg.local.max_recv_dsl = 262144;
	if (c & 0x04)
		cfg.local.session_type = XI_SESSION_DISCOVERY;
	if (c & 0x01) {
		cfg.chap_name = "alice";
		cfg.chap_secret = (const uint8_t *)"initiatorsecret";
		cfg.chap_secret_len = 15;
		cfg.chap_optional = (c & 0x08) != 0;
	}
	if (c & 0x02) {
		cfg.target_secret = (const uint8_t *)"targetsecret";
		cfg.target_secret_len = 12;
	}
	if (c & 0x10)
		cfg.tsih = 5;
	cfg.header_digests = (c & 0x20) ? "CRC32C,None" : NULL;
	memcpy(cfg.isid, "\x80\x00\x00\x00\x00\x01", 6);
	cfg.itt = 1;
	if (login_ini_new(&ini, &cfg) < 0)
		return 0;
	rc = login_ini_start(ini, &req);
	while (rc == LOGIN_CONTINUE && size - at >= 1 + ISCSI_BHS_SIZE + 2) {
		uint8_t flags = data[at];
		struct iscsi_bhs_login_response rsp;
		size_t len;

		memcpy(&rsp, data + at + 1, ISCSI_BHS_SIZE);
		len = (size_t)data[at + 1 + ISCSI_BHS_SIZE] << 8 | data[at + 2 + ISCSI_BHS_SIZE];
		at += 3 + ISCSI_BHS_SIZE;
		if (len > size - at)
			len = size - at;
		if (flags & REC_FIX_DSL)
			pdu_dsl_set((struct iscsi_bhs *)&rsp, (uint32_t)len);
		if (flags & REC_ECHO) {
			rsp.bhslrs_itt = req.req.bhslr_itt;
			memcpy(rsp.bhslrs_isid, req.req.bhslr_isid, 6);
		}
		rc = login_ini_rx(ini, (const struct iscsi_bhs *)&rsp, len ? data + at : NULL, len,
		                  &req);
		at += len;
		if (rc == LOGIN_CONTINUE &&
		    (!req.present || req.data_len > LOGIN_MAX_DATA ||
		     pdu_dsl_get(&req.bhs) != req.data_len ||
		     (req.bhs.bhs_opcode & ISCSI_OP_MASK) != ISCSI_OP_LOGIN_REQ))
			abort();
		if (rc == LOGIN_DONE) {
			const struct xi_params *p = login_ini_params(ini);

			if (login_ini_info(ini)->tsih == 0 ||
			    p->first_burst_length > p->max_burst_length)
				abort();
			/* A CHAP-only initiator never ends up unauthenticated. */
			if ((c & 0x09) == 0x01 && p->auth_method != XI_AUTH_CHAP)
				abort();
		}
	}
	login_ini_free(ini);
	return 0;
}
