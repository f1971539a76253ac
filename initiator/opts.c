/* Session options: defaults, URLs, and setting any option by its name. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "initiator/ini.h"
#include "lib/negotiate.h"
#include "lib/url.h"

/* Copies kept for the caller's opts, freed by xiscsi_opts_clear(). */
struct opt_str {
	struct opt_str *next;
	char s[];
};

static const char *opts_keep(struct xiscsi_opts *o, const char *s, size_t len)
{
	struct opt_str *c = malloc(sizeof(*c) + len + 1);

	if (!c)
		return NULL;
	memcpy(c->s, s, len);
	c->s[len] = '\0';
	c->next = o->_strings;
	o->_strings = c;
	return c->s;
}

void xiscsi_opts_clear(struct xiscsi_opts *o)
{
	struct opt_str *c = o->_strings, *n;

	for (; c; c = n) {
		n = c->next;
		free(c);
	}
	o->_strings = NULL;
}

void xiscsi_opts_init(struct xiscsi_opts *o, size_t size)
{
	size_t n = size < sizeof(*o) ? size : sizeof(*o);

	memset(o, 0, n);
	o->size = n;
	o->port = ISCSI_DEFAULT_PORT;
	o->session_type = XISCSI_SESSION_NORMAL;
	o->immediate_data = true;
	o->initial_r2t = false;
	o->max_recv_data_segment_length = 262144;
	o->max_burst_length =
	        16 * 1024 * 1024 - 1; /* 2^24 - 1: the largest RFC 7143 13.13 allows */
	o->first_burst_length = 262144;
	o->default_time2wait = XI_DEFAULT_TIME2WAIT;
	o->default_time2retain = XI_DEFAULT_TIME2RETAIN;
	o->max_outstanding_r2t = XI_DEFAULT_MAX_OUTSTANDING_R2T;
	o->data_pdu_in_order = true;
	o->data_sequence_in_order = true;
	o->error_recovery_level = 0;
	o->queue_depth = 128;
	o->login_timeout_ms = 15000;
	o->nop_interval_ms = 5000;
	o->nop_timeout_ms = 10000;
	o->reconnect_min_ms = 100;
	o->reconnect_max_ms = 5000;
	o->reconnect_timeout_ms = 60000;
	o->reissue_on_reconnect = true;
	o->retry_unit_attention = true;
}

/* The URL grammar lives in lib/url.c, shared with the target's tools. */
int xiscsi_opts_parse_url(struct xiscsi_opts *o, const char *url, uint64_t *lun)
{
	struct url_iscsi *u = calloc(1, sizeof(*u));
	bool full = true;
	int err;

	if (!u)
		return -ENOMEM;
	err = url_parse(url, u);
	if (err) {
		memset(u, 0, sizeof(*u));
		full = false;
		err = url_parse_portal(url, u);
		if (err)
			goto out;
	}
	err = -ENOMEM;
	o->host = opts_keep(o, u->host, strlen(u->host));
	if (!o->host)
		goto out;
	o->port = u->port;
	if (u->user[0]) {
		o->chap_user = opts_keep(o, u->user, strlen(u->user));
		o->chap_secret = opts_keep(o, u->secret, strlen(u->secret));
		if (!o->chap_user || !o->chap_secret)
			goto out;
	}
	if (u->target_user[0]) {
		o->chap_mutual_user = opts_keep(o, u->target_user, strlen(u->target_user));
		o->chap_mutual_secret = opts_keep(o, u->target_secret, strlen(u->target_secret));
		if (!o->chap_mutual_user || !o->chap_mutual_secret)
			goto out;
	}
	if (u->header_digest == URL_DIGEST_CRC32C)
		o->header_digest = XISCSI_DIGEST_CRC32C;
	else if (u->header_digest == URL_DIGEST_NONE)
		o->header_digest = XISCSI_DIGEST_NONE;
	if (full) {
		o->target_name = opts_keep(o, u->target, strlen(u->target));
		if (!o->target_name)
			goto out;
	}
	if (lun)
		*lun = full ? u->lun : 0;
	err = 0;
out:
	memset(u, 0, sizeof(*u)); /* secrets */
	free(u);
	return err;
}

enum opt_type {
	OPT_BOOL,
	OPT_U32,
	OPT_U16,
	OPT_DIGEST,
	OPT_STR,
	OPT_STYPE,
};

struct opt_def {
	const char *name;
	const char *alt; /* the RFC 7143 key name, when it has one */
	enum opt_type type;
	size_t off;
	uint32_t min, max;
};

#define OFF(f) offsetof(struct xiscsi_opts, f)
static const struct opt_def opt_defs[] = {
        {"initiator_name", "InitiatorName", OPT_STR, OFF(initiator_name), 0, 0},
        {"initiator_alias", "InitiatorAlias", OPT_STR, OFF(initiator_alias), 0, 0},
        {"target_name", "TargetName", OPT_STR, OFF(target_name), 0, 0},
        {"host", NULL, OPT_STR, OFF(host), 0, 0},
        {"port", NULL, OPT_U16, OFF(port), 1, 65535},
        {"session_type", "SessionType", OPT_STYPE, OFF(session_type), 0, 0},
        {"isid_qualifier", NULL, OPT_U16, OFF(isid_qualifier), 0, 65535},
        {"chap_user", "node.session.auth.username", OPT_STR, OFF(chap_user), 0, 0},
        {"chap_secret", "node.session.auth.password", OPT_STR, OFF(chap_secret), 0, 0},
        {"chap_mutual_user", "node.session.auth.username_in", OPT_STR, OFF(chap_mutual_user), 0, 0},
        {"chap_mutual_secret", "node.session.auth.password_in", OPT_STR, OFF(chap_mutual_secret), 0,
         0},
        {"chap_algorithms", "node.session.auth.chap_algs", OPT_STR, OFF(chap_algorithms), 0, 0},
        {"header_digest", "HeaderDigest", OPT_DIGEST, OFF(header_digest), 0, 0},
        {"data_digest", "DataDigest", OPT_DIGEST, OFF(data_digest), 0, 0},
        {"immediate_data", "ImmediateData", OPT_BOOL, OFF(immediate_data), 0, 0},
        {"initial_r2t", "InitialR2T", OPT_BOOL, OFF(initial_r2t), 0, 0},
        {"max_recv_data_segment_length", "MaxRecvDataSegmentLength", OPT_U32,
         OFF(max_recv_data_segment_length), XI_MIN_MAX_RECV_DSL, XI_MAX_MAX_RECV_DSL},
        {"max_burst_length", "MaxBurstLength", OPT_U32, OFF(max_burst_length), XI_MIN_BURST_LENGTH,
         XI_MAX_BURST_LENGTH},
        {"first_burst_length", "FirstBurstLength", OPT_U32, OFF(first_burst_length),
         XI_MIN_BURST_LENGTH, XI_MAX_BURST_LENGTH},
        {"default_time2wait", "DefaultTime2Wait", OPT_U32, OFF(default_time2wait), 0, XI_MAX_TIME2},
        {"default_time2retain", "DefaultTime2Retain", OPT_U32, OFF(default_time2retain), 0,
         XI_MAX_TIME2},
        {"max_outstanding_r2t", "MaxOutstandingR2T", OPT_U32, OFF(max_outstanding_r2t), 1,
         XI_MAX_MAX_OUTSTANDING_R2T},
        {"data_pdu_in_order", "DataPDUInOrder", OPT_BOOL, OFF(data_pdu_in_order), 0, 0},
        {"data_sequence_in_order", "DataSequenceInOrder", OPT_BOOL, OFF(data_sequence_in_order), 0,
         0},
        {"error_recovery_level", "ErrorRecoveryLevel", OPT_U32, OFF(error_recovery_level), 0, 0},
        {"queue_depth", "node.session.queue_depth", OPT_U32, OFF(queue_depth), 1, 65535},
        {"login_timeout_ms", NULL, OPT_U32, OFF(login_timeout_ms), 1, UINT32_MAX},
        {"nop_interval_ms", NULL, OPT_U32, OFF(nop_interval_ms), 0, UINT32_MAX},
        {"nop_timeout_ms", NULL, OPT_U32, OFF(nop_timeout_ms), 1, UINT32_MAX},
        {"reconnect_min_ms", NULL, OPT_U32, OFF(reconnect_min_ms), 1, UINT32_MAX},
        {"reconnect_max_ms", NULL, OPT_U32, OFF(reconnect_max_ms), 1, UINT32_MAX},
        {"reconnect_timeout_ms", NULL, OPT_U32, OFF(reconnect_timeout_ms), 0, UINT32_MAX},
        {"reissue_on_reconnect", NULL, OPT_BOOL, OFF(reissue_on_reconnect), 0, 0},
        {"retry_unit_attention", NULL, OPT_BOOL, OFF(retry_unit_attention), 0, 0},
};
#undef OFF

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "Yes") || !strcmp(v, "1") || !strcasecmp(v, "true"))
		*out = true;
	else if (!strcasecmp(v, "No") || !strcmp(v, "0") || !strcasecmp(v, "false"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* A digest offer as RFC 7143 13.1 writes it: "None", "CRC32C", "CRC32C,None", "None,CRC32C". */
static int parse_digest(const char *v, enum xiscsi_digest *out)
{
	if (!strcasecmp(v, "None"))
		*out = XISCSI_DIGEST_NONE;
	else if (!strcasecmp(v, "CRC32C"))
		*out = XISCSI_DIGEST_CRC32C;
	else if (!strcasecmp(v, "CRC32C,None"))
		*out = XISCSI_DIGEST_PREFER_CRC32C;
	else if (!strcasecmp(v, "None,CRC32C"))
		*out = XISCSI_DIGEST_PREFER_NONE;
	else
		return -EINVAL;
	return 0;
}

int xiscsi_opts_set(struct xiscsi_opts *o, const char *key, const char *value)
{
	const struct opt_def *d = NULL;
	char *base = (char *)o;
	uint32_t u;
	bool b;
	int err;

	for (size_t i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++) {
		if (!strcmp(opt_defs[i].name, key) ||
		    (opt_defs[i].alt && !strcmp(opt_defs[i].alt, key))) {
			d = &opt_defs[i];
			break;
		}
	}
	if (!d)
		return -ENOENT;
	if (!value)
		return -EINVAL;
	switch (d->type) {
	case OPT_BOOL:
		err = parse_bool(value, &b);
		if (err)
			return err;
		memcpy(base + d->off, &b, sizeof(b));
		return 0;
	case OPT_U32:
	case OPT_U16:
		err = neg_parse_u32(value, d->min, d->max, &u);
		if (err)
			return err;
		if (d->type == OPT_U16) {
			uint16_t v16 = (uint16_t)u;

			memcpy(base + d->off, &v16, sizeof(v16));
		} else {
			memcpy(base + d->off, &u, sizeof(u));
		}
		return 0;
	case OPT_DIGEST: {
		enum xiscsi_digest dg;

		err = parse_digest(value, &dg);
		if (err)
			return err;
		memcpy(base + d->off, &dg, sizeof(dg));
		return 0;
	}
	case OPT_STYPE: {
		enum xiscsi_session_type st;

		if (!strcasecmp(value, "Normal"))
			st = XISCSI_SESSION_NORMAL;
		else if (!strcasecmp(value, "Discovery"))
			st = XISCSI_SESSION_DISCOVERY;
		else
			return -EINVAL;
		memcpy(base + d->off, &st, sizeof(st));
		return 0;
	}
	case OPT_STR: {
		const char *c = opts_keep(o, value, strlen(value));

		if (!c)
			return -ENOMEM;
		memcpy(base + d->off, &c, sizeof(c));
		return 0;
	}
	}
	return -EINVAL;
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int ini_opts_copy(struct xiscsi_session *s, const struct xiscsi_opts *in)
{
	struct xiscsi_opts *o = &s->o;
	int err = 0;

	/* A caller built against an older, shorter struct gets today's defaults for the rest. */
	xiscsi_opts_init(o, sizeof(*o));
	memcpy(o, in, in->size < sizeof(*o) ? in->size : sizeof(*o));
	o->size = sizeof(*o);
	o->_strings = NULL;
	err = err ?: dup_str(&s->str_initiator, in->initiator_name);
	err = err ?: dup_str(&s->str_alias, in->initiator_alias);
	err = err ?: dup_str(&s->str_target, in->target_name);
	err = err ?: dup_str(&s->str_host, in->host);
	err = err ?: dup_str(&s->str_chap_user, in->chap_user);
	err = err ?: dup_str(&s->str_chap_secret, in->chap_secret);
	err = err ?: dup_str(&s->str_mu_user, in->chap_mutual_user);
	err = err ?: dup_str(&s->str_mu_secret, in->chap_mutual_secret);
	err = err ?: dup_str(&s->str_chap_algs, in->chap_algorithms);
	if (err)
		return err;
	o->initiator_name = s->str_initiator;
	o->initiator_alias = s->str_alias;
	o->target_name = s->str_target;
	o->host = s->str_host;
	o->chap_user = s->str_chap_user;
	o->chap_secret = s->str_chap_secret;
	o->chap_mutual_user = s->str_mu_user;
	o->chap_mutual_secret = s->str_mu_secret;
	o->chap_algorithms = s->str_chap_algs;
	return 0;
}

void ini_opts_free(struct xiscsi_session *s)
{
	free(s->str_initiator);
	free(s->str_alias);
	free(s->str_target);
	free(s->str_host);
	if (s->str_chap_secret)
		memset(s->str_chap_secret, 0, strlen(s->str_chap_secret));
	if (s->str_mu_secret)
		memset(s->str_mu_secret, 0, strlen(s->str_mu_secret));
	free(s->str_chap_user);
	free(s->str_chap_secret);
	free(s->str_mu_user);
	free(s->str_mu_secret);
	free(s->str_chap_algs);
}
