/*
 * Targets, LUNs and portals as the configuration describes them.
 */
#include "target/portal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/lun.h"
#include "target/conn.h"
#include "target/lu.h"

struct tgt_target *tgt_target_find(struct tgt_daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->ntargets; i++)
		if (!d->targets[i].removed && !strcasecmp(d->targets[i].name, name))
			return &d->targets[i];
	return NULL;
}

bool tgt_target_allows(const struct tgt_target *t, const char *initiator)
{
	size_t i;

	if (t->removed)
		return false;
	if (!t->nacl)
		return true;
	for (i = 0; i < t->nacl; i++)
		if (!strcasecmp(t->acl[i], initiator))
			return true;
	return false;
}

uint64_t tgt_lun_number(const uint8_t field[8])
{
	uint32_t lun;

	/* One past the flat space: no LUN of ours, so the SCSI layer answers
	 * LOGICAL UNIT NOT SUPPORTED. */
	if (lun_decode(field, &lun))
		return LUN_FLAT_MAX + 1;
	return lun;
}

struct tgt_lun *tgt_target_lun(struct tgt_target *t, const uint8_t field[8])
{
	uint32_t lun;
	size_t lo = 0, hi;
	struct tgt_lun *luns;

	if (!t || lun_decode(field, &lun))
		return NULL;
	/* The admin side publishes a new array before a larger count (and a
	 * smaller count before a smaller array, whose capacity still covers
	 * the old count): load the count first. */
	hi = __atomic_load_n(&t->nluns, __ATOMIC_ACQUIRE);
	luns = __atomic_load_n(&t->luns, __ATOMIC_ACQUIRE);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (luns[mid].lun == lun)
			return &luns[mid];
		if (luns[mid].lun < lun)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int lun_cmp(const void *a, const void *b)
{
	const struct tgt_lun *x = a, *y = b;

	return x->lun < y->lun ? -1 : x->lun > y->lun;
}

static int chap_dup(struct tgt_cfg_chap *dst, const struct tgt_cfg_chap *src)
{
	dst->user = dst->secret = dst->algs = NULL;
	if (src->algs && !(dst->algs = strdup(src->algs)))
		return -ENOMEM;
	if (!src->user)
		return 0;
	dst->user = strdup(src->user);
	dst->secret = strdup(src->secret);
	return dst->user && dst->secret ? 0 : -ENOMEM;
}

int tgt_targets_build(struct tgt_daemon *d, char *err, size_t errlen)
{
	const struct tgt_config *cfg = d->cfg;
	size_t i, j;
	int rc;

	if (cfg->ntargets > TGT_TARGETS_MAX) {
		snprintf(err, errlen, "too many targets (at most %d)", TGT_TARGETS_MAX);
		return -E2BIG;
	}
	d->targets = calloc(TGT_TARGETS_MAX, sizeof(*d->targets));
	if (!d->targets)
		return -ENOMEM;
	for (i = 0; i < cfg->ntargets; i++) {
		const struct tgt_cfg_target *ct = &cfg->targets[i];
		struct tgt_target *t = &d->targets[i];

		d->ntargets++;
		t->name = strdup(ct->name);
		t->alias = ct->alias ? strdup(ct->alias) : NULL;
		t->tpgt = ct->tpgt;
		t->luns_cap = ct->nluns ? ct->nluns : 1;
		t->luns = calloc(t->luns_cap, sizeof(*t->luns));
		t->acl = calloc(ct->nacl ? ct->nacl : 1, sizeof(*t->acl));
		if (!t->name || !t->luns || !t->acl || chap_dup(&t->chap, &ct->chap) ||
		    chap_dup(&t->chap_mutual, &ct->chap_mutual))
			return -ENOMEM;
		for (j = 0; j < ct->nacl; j++) {
			t->acl[j] = strdup(ct->acl[j]);
			if (!t->acl[j])
				return -ENOMEM;
			t->nacl++;
		}
		for (j = 0; j < ct->nluns; j++) {
			struct tgt_lu_spec spec;
			struct tgt_lun *l = &t->luns[t->nluns];
			char why[256] = "";

			rc = tgt_lu_spec_parse(ct->luns[j].spec, &spec, why, sizeof(why));
			if (rc) {
				snprintf(err, errlen, "target %s LUN %u: %s", ct->name,
				         ct->luns[j].lun, why);
				return rc;
			}
			rc = tgt_lu_open(&l->lu, &spec, ct->name, ct->luns[j].lun, why,
			                 sizeof(why));
			if (rc) {
				snprintf(err, errlen, "target %s LUN %u (%s): %s", ct->name,
				         ct->luns[j].lun, ct->luns[j].spec, why);
				return rc;
			}
			l->lun = ct->luns[j].lun;
			l->spec = strdup(ct->luns[j].spec);
			atomic_store(&l->lu->offline, ct->luns[j].offline);
			t->nluns++;
			if (!l->spec)
				return -ENOMEM;
		}
		qsort(t->luns, t->nluns, sizeof(*t->luns), lun_cmp);
	}
	return 0;
}

static void chap_clear(struct tgt_cfg_chap *c)
{
	if (c->secret)
		explicit_bzero(c->secret, strlen(c->secret));
	free(c->secret);
	free(c->user);
	free(c->algs);
}

void tgt_targets_free(struct tgt_daemon *d)
{
	size_t i, j;

	for (i = 0; i < d->ntargets; i++) {
		struct tgt_target *t = &d->targets[i];

		for (j = 0; j < t->nluns; j++) {
			if (t->luns[j].lu)
				tgt_lu_close(t->luns[j].lu);
			free(t->luns[j].spec);
		}
		for (j = 0; j < t->nacl; j++)
			free(t->acl[j]);
		free(t->acl);
		free(t->luns);
		free(t->name);
		free(t->alias);
		chap_clear(&t->chap);
		chap_clear(&t->chap_mutual);
	}
	free(d->targets);
	d->targets = NULL;
	d->ntargets = 0;
}

int tgt_portal_init(struct tgt_daemon *d, struct tgt_portal *p, const char *host, uint16_t port,
                    uint16_t tpgt, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char a[XT_ADDRSTRLEN];

	memset(p, 0, sizeof(*p));
	p->d = d;
	p->port = port;
	p->tpgt = tpgt;
	if (xt_addr_parse(host, port, &ss, &len)) {
		snprintf(err, errlen, "listen address '%s' is not a numeric IPv4 or IPv6 address",
		         host);
		return -EINVAL;
	}
	p->host = strdup(host);
	p->listeners = calloc(d->nthreads, sizeof(*p->listeners));
	if (!p->host || !p->listeners) {
		free(p->host);
		free(p->listeners);
		p->host = NULL;
		p->listeners = NULL;
		return -ENOMEM;
	}
	/* xt_addr_parse of a bare host keeps our port; normalize it. */
	xt_addr_format((struct sockaddr *)&ss, a, sizeof(a));
	snprintf(p->text, sizeof(p->text), "%s,%u", a, p->tpgt);
	return 0;
}

int tgt_portals_build(struct tgt_daemon *d, char *err, size_t errlen)
{
	const struct tgt_config *cfg = d->cfg;
	size_t i;
	int rc;

	d->portals = calloc(cfg->nportals ? cfg->nportals : 1, sizeof(*d->portals));
	if (!d->portals)
		return -ENOMEM;
	for (i = 0; i < cfg->nportals; i++) {
		rc = tgt_portal_init(d, &d->portals[i], cfg->portals[i].host, cfg->portals[i].port,
		                     cfg->portals[i].tpgt, err, errlen);
		if (rc)
			return rc;
		d->nportals++;
	}
	return 0;
}

int tgt_portal_listen_thread(struct tgt_portal *p, struct tgt_thread *th)
{
	struct xt_listen_opts lo;
	struct sockaddr_storage ss;
	socklen_t len;

	memset(&lo, 0, sizeof(lo));
	lo.opts_size = sizeof(lo);
	/* Each thread listens on the same port; the kernel spreads accepted
	 * connections among them, and no connection ever changes thread. */
	lo.flags = XT_LISTEN_REUSEPORT;
	lo.conn.opts_size = sizeof(lo.conn);
	tgt_config_transport_opts(th->d->cfg, NULL, &lo.conn);
	if (xt_addr_parse(p->host, p->port, &ss, &len))
		return -EINVAL;
	if (ss.ss_family == AF_INET6)
		lo.flags |= XT_LISTEN_V6ONLY;
	return xt_listen(th->g, (struct sockaddr *)&ss, len, &lo, tgt_conn_accept, p,
	                 &p->listeners[th->idx]);
}

void tgt_portal_close_thread(struct tgt_portal *p, struct tgt_thread *th)
{
	if (p->listeners && p->listeners[th->idx]) {
		xt_listener_close(p->listeners[th->idx]);
		p->listeners[th->idx] = NULL;
	}
}

int tgt_portals_listen(struct tgt_daemon *d, char *err, size_t errlen)
{
	size_t i;
	unsigned t;
	int rc;

	for (i = 0; i < d->nportals; i++) {
		struct tgt_portal *p = &d->portals[i];

		for (t = 0; t < d->nthreads; t++) {
			rc = tgt_portal_listen_thread(p, &d->threads[t]);
			if (rc) {
				snprintf(err, errlen, "cannot listen on %s: %s", p->text,
				         strerror(-rc));
				return rc;
			}
		}
	}
	return 0;
}

void tgt_portals_close_thread(struct tgt_thread *th)
{
	struct tgt_daemon *d = th->d;
	size_t i;

	for (i = 0; i < d->nportals; i++)
		tgt_portal_close_thread(&d->portals[i], th);
}

void tgt_portals_free(struct tgt_daemon *d)
{
	size_t i;

	for (i = 0; i < d->nportals; i++) {
		free(d->portals[i].host);
		free(d->portals[i].listeners);
	}
	free(d->portals);
	d->portals = NULL;
	d->nportals = 0;
}
