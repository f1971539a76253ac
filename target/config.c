/*
 * xtgtd command line and configuration file. The file is a list of
 * directives, one per line, named like the long options (man/xtgtd.conf.5);
 * directives that follow "target NAME" apply to that target.
 */
#include "target/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "transport/transport.h"

#define TGT_CONFIG_LINE_MAX   4096
#define TGT_CONFIG_TOKENS_MAX 8
#define TGT_CONFIG_FILE_MAX   (16u << 20)

static int errf(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void tgt_config_init(struct tgt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = 1;
	cfg->queue_depth = TGT_QUEUE_DEPTH_DEFAULT;
	cfg->nop_interval_s = 0;
	cfg->nop_timeout_s = 15;
	cfg->log_level = LOG_INFO;
	cfg->log_dest = TGT_LOG_STDERR;
}

/* User and secret only: the accepted algorithms stay (chap_free_all). */
static void chap_free(struct tgt_cfg_chap *c)
{
	free(c->user);
	if (c->secret) {
		/* Secrets do not linger in freed heap memory. */
		explicit_bzero(c->secret, strlen(c->secret));
		free(c->secret);
	}
	c->user = c->secret = NULL;
}

static void chap_free_all(struct tgt_cfg_chap *c)
{
	chap_free(c);
	free(c->algs);
	c->algs = NULL;
}

void tgt_config_free(struct tgt_config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->nportals; i++)
		free(cfg->portals[i].host);
	free(cfg->portals);
	for (i = 0; i < cfg->ntargets; i++) {
		struct tgt_cfg_target *t = &cfg->targets[i];

		free(t->name);
		free(t->alias);
		for (j = 0; j < t->nluns; j++)
			free(t->luns[j].spec);
		free(t->luns);
		for (j = 0; j < t->nacl; j++)
			free(t->acl[j]);
		free(t->acl);
		chap_free_all(&t->chap);
		chap_free_all(&t->chap_mutual);
	}
	free(cfg->targets);
	free(cfg->transport);
	for (i = 0; i < cfg->ntransport_opts; i++)
		free(cfg->transport_opts[i]);
	free(cfg->transport_opts);
	free(cfg->config_file);
	free(cfg->control);
	chap_free_all(&cfg->discovery_chap);
	memset(cfg, 0, sizeof(*cfg));
}

static int parse_uint(const char *s, unsigned long long min, unsigned long long max,
                      unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int tgt_config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		char suffix;
		unsigned shift;
	} units[] = {{'K', 10}, {'M', 20}, {'G', 30}, {'T', 40}, {'P', 50}};
	char *end;
	unsigned long long v;
	unsigned shift = 0;
	size_t i;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end) {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (toupper((unsigned char)*end) == units[i].suffix)
				shift = units[i].shift;
		if (!shift)
			return -EINVAL;
		end++;
		/* Accept "1G", "1GB", "1GiB". */
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int tgt_config_parse_log_level(const char *s, int *level)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
	        {"err", LOG_ERR},      {"error", LOG_ERR},     {"warning", LOG_WARNING},
	        {"warn", LOG_WARNING}, {"notice", LOG_NOTICE}, {"info", LOG_INFO},
	        {"debug", LOG_DEBUG},
	};
	unsigned long long v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i].name)) {
			*level = names[i].level;
			return 0;
		}
	}
	if (parse_uint(s, LOG_ERR, LOG_DEBUG, &v) == 0) {
		*level = (int)v;
		return 0;
	}
	return -EINVAL;
}

int tgt_config_parse_hostport(const char *s, char **host, uint16_t *port)
{
	const char *h, *p = NULL;
	size_t hlen;
	unsigned long long v = TGT_PORT_DEFAULT;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close == s + 1)
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		if (close[1] == ':')
			p = close + 2;
		else if (close[1])
			return -EINVAL;
	} else {
		const char *colon = strchr(s, ':');

		/* A bare IPv6 address has several colons and no port. */
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;
		h = s;
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		if (colon)
			p = colon + 1;
		if (!hlen)
			return -EINVAL;
	}
	if (p && parse_uint(p, 1, 65535, &v))
		return -EINVAL;
	*host = strndup(h, hlen);
	if (!*host)
		return -ENOMEM;
	*port = (uint16_t)v;
	return 0;
}

/* RFC 7143 section 4.2.7.2: iqn., eui. or naa. followed by printable ASCII,
 * no whitespace. Case is not checked here (the initiator may send either). */
static bool name_valid(const char *name)
{
	size_t len = strlen(name);
	const unsigned char *p;

	if (len < 5 || len > TGT_NAME_MAX)
		return false;
	if (strncasecmp(name, "iqn.", 4) && strncasecmp(name, "eui.", 4) &&
	    strncasecmp(name, "naa.", 4))
		return false;
	for (p = (const unsigned char *)name; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ',')
			return false;
	return true;
}

static int add_portal(struct tgt_config *cfg, const char *addr, char *err, size_t errlen,
                      const char *where)
{
	struct tgt_cfg_portal *np;
	char *host = NULL;
	uint16_t port;
	int rc;

	rc = tgt_config_parse_hostport(addr, &host, &port);
	if (rc == -ENOMEM)
		return rc;
	if (rc)
		return errf(err, errlen,
		            "%sbad listen address '%s' (want HOST:PORT or [IPV6]:PORT)", where,
		            addr);
	np = realloc(cfg->portals, (cfg->nportals + 1) * sizeof(*np));
	if (!np) {
		free(host);
		return -ENOMEM;
	}
	cfg->portals = np;
	np[cfg->nportals].host = host;
	np[cfg->nportals].port = port;
	np[cfg->nportals].tpgt = TGT_TPGT_DEFAULT;
	cfg->nportals++;
	return 0;
}

static int add_target(struct tgt_config *cfg, const char *name, char *err, size_t errlen,
                      const char *where)
{
	struct tgt_cfg_target *nt;
	size_t i;

	if (!name_valid(name))
		return errf(err, errlen,
		            "%sbad target name '%s' (want iqn.YYYY-MM.domain:id, eui. or naa.)",
		            where, name);
	for (i = 0; i < cfg->ntargets; i++)
		if (!strcasecmp(cfg->targets[i].name, name))
			return errf(err, errlen, "%starget '%s' defined twice", where, name);
	nt = realloc(cfg->targets, (cfg->ntargets + 1) * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	cfg->targets = nt;
	nt = &cfg->targets[cfg->ntargets];
	memset(nt, 0, sizeof(*nt));
	nt->name = strdup(name);
	if (!nt->name)
		return -ENOMEM;
	nt->tpgt = TGT_TPGT_DEFAULT;
	cfg->ntargets++;
	return 0;
}

static struct tgt_cfg_target *last_target(struct tgt_config *cfg)
{
	return cfg->ntargets ? &cfg->targets[cfg->ntargets - 1] : NULL;
}

/* number < 0: next free number after the highest so far. */
static int add_lun(struct tgt_config *cfg, long long number, const char *spec, char *err,
                   size_t errlen, const char *where)
{
	struct tgt_cfg_target *t = last_target(cfg);
	struct tgt_cfg_lun *nl;
	uint32_t lun = 0;
	size_t i;

	if (!t)
		return errf(err, errlen, "%slun '%s' comes before any target", where, spec);
	if (!*spec || strchr(spec, ' '))
		return errf(err, errlen, "%sbad LUN spec '%s'", where, spec);
	if (number >= 0) {
		lun = (uint32_t)number;
	} else {
		for (i = 0; i < t->nluns; i++)
			if (t->luns[i].lun >= lun)
				lun = t->luns[i].lun + 1;
	}
	if (lun > TGT_LUN_MAX)
		return errf(err, errlen, "%sLUN number %u above %u", where, lun, TGT_LUN_MAX);
	for (i = 0; i < t->nluns; i++)
		if (t->luns[i].lun == lun)
			return errf(err, errlen, "%sLUN %u of target '%s' defined twice", where,
			            lun, t->name);
	nl = realloc(t->luns, (t->nluns + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	t->luns = nl;
	nl[t->nluns].lun = lun;
	nl[t->nluns].offline = false;
	nl[t->nluns].spec = strdup(spec);
	if (!nl[t->nluns].spec)
		return -ENOMEM;
	t->nluns++;
	return 0;
}

static int add_acl(struct tgt_config *cfg, const char *name, char *err, size_t errlen,
                   const char *where)
{
	struct tgt_cfg_target *t = last_target(cfg);
	char **na;

	if (!t)
		return errf(err, errlen, "%sacl '%s' comes before any target", where, name);
	if (!name_valid(name) && strcasecmp(name, "ALL"))
		return errf(err, errlen, "%sbad initiator name '%s'", where, name);
	if (!strcasecmp(name, "ALL"))
		return 0; /* an empty list is open: ALL only documents it */
	na = realloc(t->acl, (t->nacl + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	t->acl = na;
	na[t->nacl] = strdup(name);
	if (!na[t->nacl])
		return -ENOMEM;
	t->nacl++;
	return 0;
}

static int set_chap(struct tgt_cfg_chap *c, const char *user, const char *secret, char *err,
                    size_t errlen, const char *where)
{
	size_t slen = strlen(secret);

	if (!*user)
		return errf(err, errlen, "%sCHAP user name is empty", where);
	/* RFC 7143 section 12.1.3: secrets of at least 12 bytes (96 bits). */
	if (slen < TGT_CHAP_SECRET_MIN || slen > TGT_CHAP_SECRET_MAX)
		return errf(err, errlen, "%sCHAP secret must be %d to %d characters long", where,
		            TGT_CHAP_SECRET_MIN, TGT_CHAP_SECRET_MAX);
	chap_free(c);
	c->user = strdup(user);
	c->secret = strdup(secret);
	if (!c->user || !c->secret)
		return -ENOMEM;
	return 0;
}

static int set_string(char **dst, const char *v)
{
	char *n = strdup(v);

	if (!n)
		return -ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcasecmp(s, "true") ||
	    !strcmp(s, "1")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(s, "no") || !strcasecmp(s, "off") || !strcasecmp(s, "false") ||
	    !strcmp(s, "0")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

/* CHAP_A numbers (lib/chap.h) and the names this configuration uses. */
static const struct {
	const char *name;
	int num;
} chap_algs[] = {
        {"md5", 5},
        {"sha1", 6},
        {"sha256", 7},
        {"sha3-256", 8},
};
#define CHAP_ALGS_N (sizeof(chap_algs) / sizeof(chap_algs[0]))

int tgt_config_parse_chap_algs(const char *s, char **out)
{
	bool seen[CHAP_ALGS_N] = {false};
	char buf[64];
	size_t i, len = 0;
	const char *item = s;

	*out = NULL;
	if (!s || !*s)
		return -EINVAL;
	while (*item) {
		size_t n = strcspn(item, ",");
		bool found = false;

		if (n == 0 || n >= 16)
			return -EINVAL;
		for (i = 0; i < CHAP_ALGS_N; i++) {
			char num[4];

			snprintf(num, sizeof(num), "%d", chap_algs[i].num);
			if ((strlen(chap_algs[i].name) == n &&
			     !strncasecmp(item, chap_algs[i].name, n)) ||
			    (strlen(num) == n && !strncmp(item, num, n))) {
				seen[i] = true;
				found = true;
			}
		}
		if (!found)
			return -EINVAL;
		item += n;
		if (*item == ',' && !*++item)
			return -EINVAL;
	}
	for (i = 0; i < CHAP_ALGS_N; i++)
		if (seen[i])
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d",
			                        len ? "," : "", chap_algs[i].num);
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

void tgt_config_chap_alg_names(const char *algs, char *buf, size_t len)
{
	size_t i, off = 0;
	const char *p;

	if (len)
		buf[0] = '\0';
	for (p = algs; p && *p && off < len;) {
		long v = strtol(p, NULL, 10);

		for (i = 0; i < CHAP_ALGS_N; i++)
			if (chap_algs[i].num == v)
				off += (size_t)snprintf(buf + off, len - off, "%s%s",
				                        off ? "," : "", chap_algs[i].name);
		p = strchr(p, ',');
		if (p)
			p++;
	}
}

static int set_chap_algs(struct tgt_cfg_chap *c, const char *list, char *err, size_t errlen,
                         const char *where)
{
	char *algs;
	int rc = tgt_config_parse_chap_algs(list, &algs);

	if (rc == -ENOMEM)
		return rc;
	if (rc)
		return errf(err, errlen,
		            "%sbad CHAP algorithm list '%s' (md5, sha1, sha256, sha3-256, "
		            "comma separated)",
		            where, list);
	free(c->algs);
	c->algs = algs;
	return 0;
}

bool tgt_config_is_transport_opt(const char *name)
{
	/* Only an unknown name gives -ENOENT, whatever the value. */
	return xt_opt_set(NULL, NULL, name, "0") != -ENOENT;
}

/* A transport option, checked by xt_opt_set() now so that a bad value is
 * reported with its place; kept as text for the daemon and config save. */
static int set_transport_opt(struct tgt_config *cfg, const char *name, const char *val, char *err,
                             size_t errlen, const char *where)
{
	struct xt_group_opts go = {.opts_size = sizeof(go)};
	struct xt_conn_opts co = {.opts_size = sizeof(co)};
	size_t i, nl = strlen(name);
	char *text, **n;
	int rc;

	rc = xt_opt_set(&go, &co, name, val);
	if (rc)
		return errf(err, errlen,
		            "%stransport option %s: bad value '%s' (see xiscsi-transport(7))",
		            where, name, val ? val : "");
	if (val && strpbrk(val, " \t\"#"))
		return errf(err, errlen, "%s%s: bad value '%s'", where, name, val);
	text = malloc(nl + (val ? strlen(val) + 2 : 1));
	if (!text)
		return -ENOMEM;
	if (val)
		sprintf(text, "%s=%s", name, val);
	else
		strcpy(text, name);
	for (i = 0; i < cfg->ntransport_opts; i++) {
		const char *o = cfg->transport_opts[i];

		if (!strncmp(o, name, nl) && (o[nl] == '=' || !o[nl])) {
			free(cfg->transport_opts[i]);
			cfg->transport_opts[i] = text;
			return 0;
		}
	}
	n = realloc(cfg->transport_opts, (cfg->ntransport_opts + 1) * sizeof(*n));
	if (!n) {
		free(text);
		return -ENOMEM;
	}
	n[cfg->ntransport_opts++] = text;
	cfg->transport_opts = n;
	return 0;
}

void tgt_config_transport_opts(const struct tgt_config *cfg, struct xt_group_opts *go,
                               struct xt_conn_opts *co)
{
	char name[64];
	size_t i;

	for (i = 0; i < cfg->ntransport_opts; i++) {
		const char *o = cfg->transport_opts[i], *eq = strchr(o, '=');

		snprintf(name, sizeof(name), "%.*s", (int)(eq ? (size_t)(eq - o) : strlen(o)), o);
		/* Checked when it was set: cannot fail. */
		(void)xt_opt_set(go, co, name, eq ? eq + 1 : NULL);
	}
}

/*
 * Settings shared by the command line and the file: name (without "--"),
 * its value, where (a "FILE:LINE: " prefix or ""). Returns 1 when the name is
 * not one of them.
 */
static int apply_common(struct tgt_config *cfg, const char *name, const char *val, char *err,
                        size_t errlen, const char *where)
{
	unsigned long long v;
	struct tgt_cfg_target *t;

	if (tgt_config_is_transport_opt(name))
		return set_transport_opt(cfg, name, val, err, errlen, where);
	if (!strcmp(name, "listen"))
		return add_portal(cfg, val, err, errlen, where);
	if (!strcmp(name, "target"))
		return add_target(cfg, val, err, errlen, where);
	if (!strcmp(name, "transport")) {
		if (!*val || strlen(val) > 32)
			return errf(err, errlen, "%sbad transport name '%s'", where, val);
		return set_string(&cfg->transport, val);
	}
	if (!strcmp(name, "threads")) {
		if (parse_uint(val, 1, TGT_THREADS_MAX, &v))
			return errf(err, errlen,
			            "%sthreads must be a number from 1 to %d, not '%s'", where,
			            TGT_THREADS_MAX, val);
		cfg->threads = (unsigned)v;
		return 0;
	}
	if (!strcmp(name, "queue-depth")) {
		if (parse_uint(val, 1, TGT_QUEUE_DEPTH_MAX, &v))
			return errf(err, errlen,
			            "%squeue-depth must be a number from 1 to %d, not '%s'", where,
			            TGT_QUEUE_DEPTH_MAX, val);
		cfg->queue_depth = (unsigned)v;
		return 0;
	}
	if (!strcmp(name, "nop-interval") || !strcmp(name, "nop-timeout")) {
		if (parse_uint(val, 0, 3600, &v))
			return errf(err, errlen,
			            "%s%s must be a number of seconds from 0 to 3600, not '%s'",
			            where, name, val);
		if (name[4] == 'i')
			cfg->nop_interval_s = (unsigned)v;
		else
			cfg->nop_timeout_s = (unsigned)v;
		return 0;
	}
	if (!strcmp(name, "log-level")) {
		if (tgt_config_parse_log_level(val, &cfg->log_level))
			return errf(
			        err, errlen,
			        "%sbad log level '%s' (want err, warning, notice, info or debug)",
			        where, val);
		return 0;
	}
	if (!strcmp(name, "acl"))
		return add_acl(cfg, val, err, errlen, where);
	if (!strcmp(name, "discovery-chap-algorithms"))
		return set_chap_algs(&cfg->discovery_chap, val, err, errlen, where);
	if (!strcmp(name, "chap-algorithms")) {
		t = last_target(cfg);
		if (!t)
			return errf(err, errlen, "%schap-algorithms comes before any target",
			            where);
		return set_chap_algs(&t->chap, val, err, errlen, where);
	}
	if (!strcmp(name, "alias")) {
		t = last_target(cfg);
		if (!t)
			return errf(err, errlen, "%salias comes before any target", where);
		if (!*val || strlen(val) > 255)
			return errf(err, errlen, "%sbad alias '%s'", where, val);
		return set_string(&t->alias, val);
	}
	if (!strcmp(name, "tpgt")) {
		t = last_target(cfg);
		if (parse_uint(val, 1, 65535, &v))
			return errf(err, errlen,
			            "%stpgt must be a number from 1 to 65535, not '%s'", where,
			            val);
		if (t)
			t->tpgt = (uint16_t)v;
		else if (cfg->nportals)
			cfg->portals[cfg->nportals - 1].tpgt = (uint16_t)v;
		else
			return errf(err, errlen, "%stpgt comes before any target or listen", where);
		return 0;
	}
	return 1;
}

/* "USER%SECRET" on the command line, as libiscsi's URLs write it. */
static int chap_from_arg(struct tgt_cfg_chap *c, const char *arg, const char *opt, char *err,
                         size_t errlen)
{
	const char *pct = strchr(arg, '%');
	char *user;
	int rc;

	if (!pct)
		return errf(err, errlen, "option '--%s' wants USER%%SECRET", opt);
	user = strndup(arg, (size_t)(pct - arg));
	if (!user)
		return -ENOMEM;
	rc = set_chap(c, user, pct + 1, err, errlen, "");
	free(user);
	return rc;
}

/* Split a line into whitespace-separated tokens; "..." groups, # comments. */
static int tokenize(char *line, char **tok, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#')
			return n;
		if (n == max)
			return -E2BIG;
		if (*p == '"') {
			char *close = strchr(p + 1, '"');

			if (!close)
				return -EINVAL;
			tok[n++] = p + 1;
			*close = '\0';
			p = close + 1;
			if (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
				return -EINVAL;
			continue;
		}
		tok[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static int want_args(int ntok, int min, int max, char **tok, char *err, size_t errlen,
                     const char *where)
{
	if (ntok - 1 < min || ntok - 1 > max) {
		if (min == max)
			return errf(err, errlen, "%s'%s' takes %d argument%s, %d given", where,
			            tok[0], min, min == 1 ? "" : "s", ntok - 1);
		return errf(err, errlen, "%s'%s' takes %d to %d arguments, %d given", where, tok[0],
		            min, max, ntok - 1);
	}
	return 0;
}

/* The directives apply_common() knows, all with one argument. */
static bool one_arg_directive(const char *d)
{
	static const char *const names[] = {
	        "listen",
	        "target",
	        "transport",
	        "threads",
	        "queue-depth",
	        "nop-interval",
	        "nop-timeout",
	        "log-level",
	        "acl",
	        "alias",
	        "tpgt",
	        "chap-algorithms",
	        "discovery-chap-algorithms",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(d, names[i]))
			return true;
	return false;
}

static int apply_line(struct tgt_config *cfg, char **tok, int ntok, char *err, size_t errlen,
                      const char *where)
{
	const char *d = tok[0];
	unsigned long long v;
	int rc;

	if (!strcmp(d, "lun")) {
		if ((rc = want_args(ntok, 1, 2, tok, err, errlen, where)))
			return rc;
		if (ntok == 2)
			return add_lun(cfg, -1, tok[1], err, errlen, where);
		if (parse_uint(tok[1], 0, TGT_LUN_MAX, &v))
			return errf(err, errlen, "%sLUN number must be from 0 to %d, not '%s'",
			            where, TGT_LUN_MAX, tok[1]);
		return add_lun(cfg, (long long)v, tok[2], err, errlen, where);
	}
	if (!strcmp(d, "chap") || !strcmp(d, "mutual-chap") || !strcmp(d, "discovery-chap")) {
		struct tgt_cfg_target *t = last_target(cfg);
		struct tgt_cfg_chap *c;

		if ((rc = want_args(ntok, 2, 2, tok, err, errlen, where)))
			return rc;
		if (d[0] == 'd')
			c = &cfg->discovery_chap;
		else if (!t)
			return errf(err, errlen, "%s%s comes before any target", where, d);
		else
			c = d[0] == 'c' ? &t->chap : &t->chap_mutual;
		return set_chap(c, tok[1], tok[2], err, errlen, where);
	}
	if (!strcmp(d, "syslog") || !strcmp(d, "foreground")) {
		bool b;

		if ((rc = want_args(ntok, 1, 1, tok, err, errlen, where)))
			return rc;
		if (parse_bool(tok[1], &b))
			return errf(err, errlen, "%s%s wants yes or no, not '%s'", where, d,
			            tok[1]);
		if (d[0] == 's')
			cfg->log_dest = b ? TGT_LOG_SYSLOG : TGT_LOG_STDERR;
		else
			cfg->foreground = b;
		return 0;
	}
	if (!strcmp(d, "offline")) {
		struct tgt_cfg_target *t = last_target(cfg);
		size_t i;

		if ((rc = want_args(ntok, 1, 1, tok, err, errlen, where)))
			return rc;
		if (!t)
			return errf(err, errlen, "%soffline comes before any target", where);
		if (parse_uint(tok[1], 0, TGT_LUN_MAX, &v))
			return errf(err, errlen, "%sLUN number must be from 0 to %d, not '%s'",
			            where, TGT_LUN_MAX, tok[1]);
		for (i = 0; i < t->nluns; i++)
			if (t->luns[i].lun == v)
				break;
		if (i == t->nluns)
			return errf(err, errlen,
			            "%soffline %llu: target '%s' has no such LUN (yet)", where, v,
			            t->name);
		t->luns[i].offline = true;
		return 0;
	}
	if (!strcmp(d, "include") || !strcmp(d, "config"))
		return errf(err, errlen, "%s'%s' is not allowed in a configuration file", where, d);
	if (tgt_config_is_transport_opt(d)) {
		/* busy-poll alone turns it on with the default time. */
		if ((rc = want_args(ntok, strcmp(d, "busy-poll") ? 1 : 0, 1, tok, err, errlen,
		                    where)))
			return rc;
		return set_transport_opt(cfg, d, ntok > 1 ? tok[1] : NULL, err, errlen, where);
	}
	if (!one_arg_directive(d))
		return errf(err, errlen, "%sunknown directive '%s'", where, d);
	if ((rc = want_args(ntok, 1, 1, tok, err, errlen, where)))
		return rc;
	return apply_common(cfg, d, tok[1], err, errlen, where);
}

int tgt_config_load_string(struct tgt_config *cfg, const char *text, const char *name, char *err,
                           size_t errlen)
{
	char line[TGT_CONFIG_LINE_MAX];
	char where[512];
	char *tok[TGT_CONFIG_TOKENS_MAX];
	const char *p = text, *nl;
	unsigned lineno = 0;
	int ntok, rc;

	while (*p) {
		size_t len;

		lineno++;
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		snprintf(where, sizeof(where), "%s:%u: ", name, lineno);
		if (len >= sizeof(line))
			return errf(err, errlen, "%sline longer than %zu bytes", where,
			            sizeof(line) - 1);
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl ? nl + 1 : p + len;
		ntok = tokenize(line, tok, TGT_CONFIG_TOKENS_MAX);
		if (ntok == -E2BIG)
			return errf(err, errlen, "%stoo many words", where);
		if (ntok < 0)
			return errf(err, errlen, "%sunterminated or misplaced quote", where);
		if (!ntok)
			continue;
		rc = apply_line(cfg, tok, ntok, err, errlen, where);
		if (rc)
			return rc;
	}
	return 0;
}

int tgt_config_load_file(struct tgt_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, n;
	int rc = 0;

	f = fopen(path, "r");
	if (!f)
		return errf(err, errlen, "cannot open configuration file '%s': %s", path,
		            strerror(errno));
	buf = malloc(TGT_CONFIG_FILE_MAX + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while ((n = fread(buf + len, 1, TGT_CONFIG_FILE_MAX + 1 - len, f)) > 0) {
		len += n;
		if (len > TGT_CONFIG_FILE_MAX) {
			rc = errf(err, errlen, "%s: larger than %u bytes", path,
			          TGT_CONFIG_FILE_MAX);
			goto out;
		}
	}
	if (ferror(f)) {
		rc = errf(err, errlen, "%s: read error", path);
		goto out;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		rc = errf(err, errlen, "%s: contains a NUL byte", path);
		goto out;
	}
	rc = tgt_config_load_string(cfg, buf, path, err, errlen);
out:
	free(buf);
	fclose(f);
	return rc;
}

enum {
	OPT_TRANSPORT = 256,
	OPT_THREADS,
	OPT_LOG_LEVEL,
	OPT_SYSLOG,
	OPT_QUEUE_DEPTH,
	OPT_NOP_INTERVAL,
	OPT_NOP_TIMEOUT,
	OPT_ACL,
	OPT_ALIAS,
	OPT_TPGT,
	OPT_CHAP,
	OPT_MUTUAL_CHAP,
	OPT_DISCOVERY_CHAP,
	OPT_CONTROL,
	OPT_CHAP_ALGORITHMS,
	OPT_DISCOVERY_CHAP_ALGORITHMS,
	/* Transport options (xt_opt_set names), handled by apply_common(). */
	OPT_BUSY_POLL,
	OPT_RX_BUF,
	OPT_SNDBUF,
	OPT_RCVBUF,
	OPT_SEND_HWM,
	OPT_SQPOLL_IDLE,
	OPT_ZC_THRESHOLD,
	OPT_XDP_IF,
	OPT_XDP_IP,
	OPT_XDP_GW,
	OPT_XDP_FRAMES,
	OPT_XDP_MODE,
	OPT_XDP_BIND,
	OPT_XDP_CSUM,
};

static const struct option long_opts[] = {
        {"foreground", no_argument, NULL, 'f'},
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"target", required_argument, NULL, 't'},
        {"lun", required_argument, NULL, 'L'},
        {"transport", required_argument, NULL, OPT_TRANSPORT},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"syslog", no_argument, NULL, OPT_SYSLOG},
        {"queue-depth", required_argument, NULL, OPT_QUEUE_DEPTH},
        {"nop-interval", required_argument, NULL, OPT_NOP_INTERVAL},
        {"nop-timeout", required_argument, NULL, OPT_NOP_TIMEOUT},
        {"acl", required_argument, NULL, OPT_ACL},
        {"alias", required_argument, NULL, OPT_ALIAS},
        {"tpgt", required_argument, NULL, OPT_TPGT},
        {"chap", required_argument, NULL, OPT_CHAP},
        {"mutual-chap", required_argument, NULL, OPT_MUTUAL_CHAP},
        {"discovery-chap", required_argument, NULL, OPT_DISCOVERY_CHAP},
        {"control", required_argument, NULL, OPT_CONTROL},
        {"chap-algorithms", required_argument, NULL, OPT_CHAP_ALGORITHMS},
        {"discovery-chap-algorithms", required_argument, NULL, OPT_DISCOVERY_CHAP_ALGORITHMS},
        {"busy-poll", optional_argument, NULL, OPT_BUSY_POLL},
        {"rx-buf", required_argument, NULL, OPT_RX_BUF},
        {"sndbuf", required_argument, NULL, OPT_SNDBUF},
        {"rcvbuf", required_argument, NULL, OPT_RCVBUF},
        {"send-hwm", required_argument, NULL, OPT_SEND_HWM},
        {"sqpoll-idle", required_argument, NULL, OPT_SQPOLL_IDLE},
        {"zc-threshold", required_argument, NULL, OPT_ZC_THRESHOLD},
        {"xdp-if", required_argument, NULL, OPT_XDP_IF},
        {"xdp-ip", required_argument, NULL, OPT_XDP_IP},
        {"xdp-gw", required_argument, NULL, OPT_XDP_GW},
        {"xdp-frames", required_argument, NULL, OPT_XDP_FRAMES},
        {"xdp-mode", required_argument, NULL, OPT_XDP_MODE},
        {"xdp-bind", required_argument, NULL, OPT_XDP_BIND},
        {"xdp-csum", required_argument, NULL, OPT_XDP_CSUM},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
};

static const char short_opts[] = ":fc:l:t:L:hV";

static const char *opt_name(int c)
{
	const struct option *o;

	for (o = long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

int tgt_config_parse_args(struct tgt_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	int c, rc = 0;
	struct tgt_cfg_target *t;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			cfg->foreground = true;
			break;
		case 'h':
			cfg->help = true;
			break;
		case 'V':
			cfg->version = true;
			break;
		case 'c':
			rc = set_string(&cfg->config_file, optarg);
			if (!rc)
				rc = tgt_config_load_file(cfg, optarg, err, errlen);
			break;
		case 'L':
			rc = add_lun(cfg, -1, optarg, err, errlen, "");
			if (rc == -EINVAL && !last_target(cfg))
				rc = errf(err, errlen, "--lun '%s' comes before any --target",
				          optarg);
			break;
		case OPT_CONTROL:
			rc = set_string(&cfg->control, optarg);
			break;
		case OPT_SYSLOG:
			cfg->log_dest = TGT_LOG_SYSLOG;
			break;
		case OPT_CHAP:
		case OPT_MUTUAL_CHAP:
			t = last_target(cfg);
			if (!t) {
				rc = errf(err, errlen, "--%s comes before any --target",
				          opt_name(c));
				break;
			}
			rc = chap_from_arg(c == OPT_CHAP ? &t->chap : &t->chap_mutual, optarg,
			                   opt_name(c), err, errlen);
			break;
		case OPT_DISCOVERY_CHAP:
			rc = chap_from_arg(&cfg->discovery_chap, optarg, opt_name(c), err, errlen);
			break;
		case '?':
			if (optopt)
				rc = errf(err, errlen, "unknown option '-%c'", optopt);
			else
				rc = errf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			break;
		case ':':
			if (optopt && optopt < 256 && strchr(short_opts, optopt) &&
			    !strchr("lLtc", optopt))
				rc = errf(err, errlen, "option '-%c' needs a value", optopt);
			else if (optopt)
				rc = errf(err, errlen, "option '--%s' needs a value",
				          opt_name(optopt));
			else
				rc = errf(err, errlen, "option '%s' needs a value",
				          argv[optind - 1]);
			break;
		default:
			rc = apply_common(cfg, opt_name(c), optarg, err, errlen, "");
			if (rc == 1)
				rc = errf(err, errlen, "unhandled option '--%s'", opt_name(c));
			break;
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return errf(err, errlen, "unexpected argument '%s'", argv[optind]);
	return 0;
}

int tgt_config_finish(struct tgt_config *cfg, char *err, size_t errlen)
{
	size_t i;

	if (!cfg->ntargets)
		return errf(err, errlen, "no target configured (use --target IQN or -c FILE)");
	if (!cfg->nportals && add_portal(cfg, "0.0.0.0:3260", err, errlen, ""))
		return -ENOMEM;
	for (i = 0; i < cfg->ntargets; i++)
		if (cfg->targets[i].chap_mutual.user && !cfg->targets[i].chap.user)
			return errf(err, errlen, "target '%s': mutual-chap needs chap as well",
			            cfg->targets[i].name);
	return 0;
}

void tgt_config_usage(FILE *out, const char *prog)
{
	fprintf(out,
	        "Usage: %s [OPTION]...\n"
	        "iSCSI target daemon (RFC 7143).\n"
	        "\n"
	        "  -c, --config FILE        read directives from FILE (see xtgtd.conf(5))\n"
	        "  -l, --listen ADDR        listen on HOST[:PORT] or [IPV6][:PORT] (port 3260)\n"
	        "  -t, --target NAME        add a target; the options below apply to it\n"
	        "  -L, --lun SPEC           add a LUN to the last target, numbered from 0:\n"
	        "                           ram:SIZE, file:PATH[,size=SIZE], null:SIZE ...\n"
	        "      --alias NAME         TargetAlias of the last target\n"
	        "      --tpgt N             portal group tag of the last target (1)\n"
	        "      --acl INITIATOR      allow only the initiators named (repeatable)\n"
	        "      --chap USER%%SECRET   CHAP required by the last target\n"
	        "      --mutual-chap USER%%SECRET  target's answer for mutual CHAP\n"
	        "      --discovery-chap USER%%SECRET  CHAP required for discovery\n"
	        "      --chap-algorithms LIST  CHAP_A the last target accepts (md5,sha1,\n"
	        "                           sha256,sha3-256; default all)\n"
	        "      --discovery-chap-algorithms LIST  the same, for discovery\n"
	        "      --threads N          reactor threads (1)\n"
	        "transport options (xiscsi-transport(7)), for every thread and connection;\n"
	        "with --threads N, thread N takes xdp queue QUEUE+N:\n",
	        prog);
	fputs(xt_opt_help, out);
	fprintf(out,
	        "sessions and the daemon:\n"
	        "      --queue-depth N      commands in flight per session (128)\n"
	        "      --nop-interval SEC   NOP-In ping after SEC idle (0: never)\n"
	        "      --nop-timeout SEC    drop a connection whose ping is unanswered (15)\n"
	        "      --control PATH       control socket for xtgtadm(8) "
	        "(/run/xiscsi/xtgtd.sock,\n"
	        "                           or $XTGTD_CONTROL; none: no control socket)\n"
	        "  -f, --foreground         do not detach; log to stderr\n"
	        "      --log-level LEVEL    err, warning, notice, info (default), debug\n"
	        "      --syslog             log to syslog (daemon facility)\n"
	        "  -h, --help               this text\n"
	        "  -V, --version            version\n"
	        "\n"
	        "Example:\n"
	        "  %s -f --listen 127.0.0.1:3260 --target iqn.2026-11.org.xiscsi:demo \\\n"
	        "        --lun ram:1G --lun file:/var/lib/xiscsi/disk0.img,size=10G\n"
	        "\n"
	        "SIGTERM or SIGINT: stop accepting, finish commands in flight, exit 0.\n",
	        prog);
}
