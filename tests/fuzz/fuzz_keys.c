/*
 * Fuzz the text-key parser and the negotiation engine. Input: one byte of
 * configuration (role, stage, session, leading, limits), one byte where the
 * text is cut in two pieces with the C bit, then the key=value text.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/keys.h"
#include "lib/negotiate.h"

#define CFG_TARGET      0x01
#define CFG_OPER        0x02
#define CFG_DISCOVERY   0x04
#define CFG_NOT_LEADING 0x08
#define CFG_LISTS       0x10
#define CFG_SMALL       0x20

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_params(const struct xi_params *p)
{
	/* Whatever came in, the results stay inside the RFC 7143 section 13 ranges. */
	if (p->max_burst_length < XI_MIN_BURST_LENGTH ||
	    p->max_burst_length > XI_MAX_BURST_LENGTH ||
	    p->first_burst_length > p->max_burst_length || p->max_send_dsl < XI_MIN_MAX_RECV_DSL ||
	    p->max_send_dsl > XI_MAX_MAX_RECV_DSL ||
	    p->error_recovery_level > XI_MAX_ERROR_RECOVERY_LEVEL ||
	    p->default_time2wait > XI_MAX_TIME2 || p->max_connections == 0 ||
	    p->max_outstanding_r2t == 0 || (unsigned)p->header_digest > XI_DIGEST_CRC32C ||
	    (unsigned)p->session_type > XI_SESSION_DISCOVERY ||
	    memchr(p->target_name, '\0', sizeof(p->target_name)) == NULL ||
	    memchr(p->initiator_alias, '\0', sizeof(p->initiator_alias)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keys *in = NULL, *out = NULL, *back = NULL;
	struct xi_params local, res;
	struct neg_ctx neg;
	uint8_t *buf = NULL;
	uint8_t cfg, cut;
	ssize_t n;

	if (size < 2)
		return 0;
	cfg = data[0];
	cut = data[1];
	data += 2;
	size -= 2;
	if (cut > size)
		cut = (uint8_t)size;
	in = keys_new();
	out = keys_new();
	back = keys_new();
	if (in == NULL || out == NULL || back == NULL)
		goto out;
	if (cfg & CFG_SMALL)
		keys_set_limits(in, 4, 256);
	if (keys_feed(in, data, cut, true) < 0 || keys_feed(in, data + cut, size - cut, false) < 0)
		goto out;
	/* What was accepted can be written back and reads the same. */
	buf = malloc(keys_save_len(in) + 1);
	if (buf == NULL)
		goto out;
	n = keys_save(in, buf, keys_save_len(in));
	if (n != (ssize_t)keys_save_len(in) || keys_load(back, buf, (size_t)n) != 0 ||
	    keys_count(back) != keys_count(in))
		abort();
	for (size_t i = 0; i < keys_count(in); i++)
		if (strcmp(keys_value(back, i), keys_value(in, i)) != 0)
			abort();

	params_init(&local);
	local.max_burst_length = 131072;
	local.immediate_data = false;
	local.session_type = (cfg & CFG_DISCOVERY) ? XI_SESSION_DISCOVERY : XI_SESSION_NORMAL;
	neg_init(&neg, cfg & CFG_TARGET, !(cfg & CFG_NOT_LEADING), &local, &res);
	if (cfg & CFG_LISTS) {
		neg_set_list(&neg, NEG_HEADER_DIGEST, "CRC32C,None");
		neg_set_list(&neg, NEG_AUTH_METHOD, "CHAP,None");
	}
	/* The initiator role checks answers to its own offers. */
	if (!(cfg & CFG_TARGET) && neg_offer(&neg, NEG_STAGE_OPERATIONAL, out) < 0)
		goto out;
	keys_clear(out);
	if (neg_process(&neg, (cfg & CFG_OPER) ? NEG_STAGE_OPERATIONAL : NEG_STAGE_SECURITY, in,
	                out) == 0) {
		/* Every answer is itself a valid key list. */
		keys_clear(back);
		free(buf);
		buf = malloc(keys_save_len(out) + 1);
		if (buf == NULL)
			goto out;
		n = keys_save(out, buf, keys_save_len(out));
		if (n < 0 || keys_load(back, buf, (size_t)n) != 0)
			abort();
	}
	neg_finish(&neg);
	check_params(&res);
out:
	free(buf);
	keys_free(in);
	keys_free(out);
	keys_free(back);
	return 0;
}
