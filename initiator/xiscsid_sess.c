/*
 * xiscsid sessions: login with retries, LUN scan (REPORT LUNS, INQUIRY),
 * one NBD export per disk LUN, rescan, logout. See xiscsid.h for why the
 * libxiscsi callbacks only mark work.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "initiator/xiscsid.h"
#include "lib/cdb.h"
#include "lib/log.h"
#include "lib/lun.h"
#include "lib/scsi.h"

#define XD_REPORT_LUNS_ALLOC (8 + 8 * 256)
#define XD_INQUIRY_LEN       36
#define XD_RETRY_MIN_MS      250
#define XD_RETRY_MAX_MS      5000
#define XD_SCAN_ALL          UINT32_MAX /* scan_idx: REPORT LUNS in flight */

static const char *const transports[XD_TRANSPORTS] = {"tcp", "uring", "xdp"};

uint64_t xd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void loop_event(struct xi_evh *h, uint32_t events)
{
	struct xd_loop *lp = (struct xd_loop *)h;

	(void)events;
	xiscsi_loop_poll(lp->loop, 0, 0);
}

int xd_loop_get(struct xd_daemon *d, const char *transport, const char *xdp_if, const char *xdp_ip,
                struct xd_loop **out)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct xd_loop *lp = NULL;
	char bind[sizeof(lp->bind)], o_if[40], o_ip[40];
	const char *opts[3] = {NULL, NULL, NULL};
	int err, fd;

	for (int i = 0; i < XD_TRANSPORTS; i++) {
		if (!strcmp(transports[i], transport)) {
			lp = &d->loops[i];
			transport = transports[i];
		}
	}
	if (!lp)
		return -ENOENT;
	if (xdp_if && *xdp_if) {
		/* One loop per interface queue (and address): the queue is
		 * the loop's alone, and sessions bound alike share it. */
		if ((size_t)snprintf(bind, sizeof(bind), "%s%s%s", xdp_if, xdp_ip ? " " : "",
		                     xdp_ip ? xdp_ip : "") >= sizeof(bind))
			return -EINVAL;
		snprintf(o_if, sizeof(o_if), "xdp-if=%s", xdp_if);
		opts[0] = o_if;
		if (xdp_ip && *xdp_ip) {
			snprintf(o_ip, sizeof(o_ip), "xdp-ip=%s", xdp_ip);
			opts[1] = o_ip;
		}
		lp = NULL;
		for (int i = XD_TRANSPORTS; i < XD_LOOPS && !lp; i++)
			if (d->loops[i].loop && d->loops[i].transport == transport &&
			    !strcmp(d->loops[i].bind, bind))
				lp = &d->loops[i];
		for (int i = XD_TRANSPORTS; i < XD_LOOPS && !lp; i++)
			if (!d->loops[i].loop)
				lp = &d->loops[i];
		if (!lp)
			return -ENOSPC;
	}
	if (lp->loop) {
		*out = lp;
		return 0;
	}
	err = xiscsi_loop_new_opts(transport, opts[0] ? opts : NULL, &lp->loop);
	if (err)
		return err;
	snprintf(lp->bind, sizeof(lp->bind), "%s", opts[0] ? bind : "");
	fd = xiscsi_loop_fd(lp->loop);
	if (fd < 0) {
		xiscsi_loop_free(lp->loop);
		lp->loop = NULL;
		return fd;
	}
	lp->transport = transport;
	lp->evh.fn = loop_event;
	ev.data.ptr = &lp->evh;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = -errno;
		xiscsi_loop_free(lp->loop);
		lp->loop = NULL;
		return err;
	}
	*out = lp;
	return 0;
}

struct xd_sess *xd_sess_find(struct xd_daemon *d, unsigned sid)
{
	for (struct xd_sess *s = d->sessions; s; s = s->next)
		if (s->sid == sid)
			return s;
	return NULL;
}

json_t *xd_record_json(const struct noderec *r)
{
	json_t *o = json_object();

	for (unsigned i = 0; o && i < r->nkeys; i++)
		json_object_set_new(o, r->keys[i], json_string(r->vals[i]));
	return o;
}

static const char *rec(const struct xd_sess *s, const char *key)
{
	return json_string_value(json_object_get(s->record, key));
}

/* Record keys that are negotiation keys or library settings of the same unit. */
static const struct {
	const char *key, *opt;
	unsigned scale; /* record seconds -> library milliseconds */
} rec_map[] = {
        {"node.session.iscsi.InitialR2T", "InitialR2T", 0},
        {"node.session.iscsi.ImmediateData", "ImmediateData", 0},
        {"node.session.iscsi.FirstBurstLength", "FirstBurstLength", 0},
        {"node.session.iscsi.MaxBurstLength", "MaxBurstLength", 0},
        {"node.session.iscsi.DefaultTime2Wait", "DefaultTime2Wait", 0},
        {"node.session.iscsi.DefaultTime2Retain", "DefaultTime2Retain", 0},
        {"node.session.iscsi.MaxOutstandingR2T", "MaxOutstandingR2T", 0},
        {"node.conn[0].iscsi.MaxRecvDataSegmentLength", "MaxRecvDataSegmentLength", 0},
        {"node.conn[0].iscsi.HeaderDigest", "HeaderDigest", 0},
        {"node.conn[0].iscsi.DataDigest", "DataDigest", 0},
        {"node.session.queue_depth", "queue_depth", 0},
        {"node.conn[0].timeo.login_timeout", "login_timeout_ms", 1000},
        {"node.conn[0].timeo.noop_out_interval", "nop_interval_ms", 1000},
        {"node.conn[0].timeo.noop_out_timeout", "nop_timeout_ms", 1000},
        {"node.session.timeo.replacement_timeout", "reconnect_timeout_ms", 1000},
};

/*
 * Check the record as xiscsiadm would (every key known, every value of its
 * form) by building a noderec from it, then keep it as the session's.
 */
static int record_check(json_t *record, struct noderec *r, char *err, size_t errlen)
{
	const char *name, *host, *port_s, *tpgt_s, *key;
	unsigned long port, tpgt = 1;
	json_t *v;
	char *end;
	int rc;

	name = json_string_value(json_object_get(record, "node.name"));
	host = json_string_value(json_object_get(record, "node.conn[0].address"));
	port_s = json_string_value(json_object_get(record, "node.conn[0].port"));
	tpgt_s = json_string_value(json_object_get(record, "node.tpgt"));
	if (!name || !host) {
		snprintf(err, errlen, "the record needs node.name and node.conn[0].address");
		return -EINVAL;
	}
	port = 3260;
	if (port_s) {
		errno = 0;
		port = strtoul(port_s, &end, 10);
		if (errno || *end || port == 0 || port > 65535) {
			snprintf(err, errlen, "bad node.conn[0].port '%.20s'", port_s);
			return -EINVAL;
		}
	}
	if (tpgt_s) {
		errno = 0;
		tpgt = strtoul(tpgt_s, &end, 10);
		if (errno || *end || tpgt > 65535) {
			snprintf(err, errlen, "bad node.tpgt '%.20s'", tpgt_s);
			return -EINVAL;
		}
	}
	rc = noderec_init(r, name, host, (uint16_t)port, (uint16_t)tpgt);
	if (rc) {
		snprintf(err, errlen, "'%.200s' at '%.60s' is not a valid node", name, host);
		return rc;
	}
	json_object_foreach(record, key, v)
	{
		const char *val = json_string_value(v);

		if (!val) {
			snprintf(err, errlen, "record value of %.100s is not a string", key);
			rc = -EINVAL;
			break;
		}
		rc = noderec_set(r, key, val);
		if (rc == -EPERM)
			rc = 0; /* the naming keys, read above */
		if (rc) {
			snprintf(err, errlen, "%s node setting %.100s = '%.100s'",
			         rc == -ENOENT ? "unknown" : "invalid", key, val);
			break;
		}
	}
	if (rc)
		noderec_free(r);
	return rc;
}

static void set_opt(struct xd_sess *s, const char *key, const char *val, int *rc, char *err,
                    size_t errlen)
{
	int e;

	if (*rc)
		return;
	e = xiscsi_opts_set(&s->opts, key, val);
	if (e) {
		snprintf(err, errlen, "option %.100s = '%.100s': %s", key, val, strerror(-e));
		*rc = e;
	}
}

static int opts_from_record(struct xd_sess *s, json_t *options, char *err, size_t errlen)
{
	const char *auth = rec(s, "node.session.auth.authmethod"), *key;
	json_t *v;
	int rc = 0;

	xiscsi_opts_init(&s->opts, sizeof(s->opts));
	s->opts.target_name = s->target;
	s->opts.host = s->host;
	s->opts.port = s->port;
	s->opts.initiator_name = s->initiator;
	for (size_t i = 0; i < sizeof(rec_map) / sizeof(rec_map[0]) && !rc; i++) {
		const char *val = rec(s, rec_map[i].key);
		char num[32];

		if (!val)
			continue;
		if (rec_map[i].scale) {
			unsigned long long n = strtoull(val, NULL, 10) * rec_map[i].scale;

			snprintf(num, sizeof(num), "%llu", n);
			val = num;
		}
		set_opt(s, rec_map[i].opt, val, &rc, err, errlen);
	}
	if (auth && !strcasecmp(auth, "CHAP")) {
		const char *u = rec(s, "node.session.auth.username");
		const char *p = rec(s, "node.session.auth.password");
		const char *ui = rec(s, "node.session.auth.username_in");
		const char *pi = rec(s, "node.session.auth.password_in");

		if (!u || !*u || !p || !*p) {
			snprintf(err, errlen,
			         "authmethod CHAP needs node.session.auth.username "
			         "and .password");
			return -EINVAL;
		}
		s->opts.chap_user = u;
		s->opts.chap_secret = p;
		if (ui && *ui) {
			s->opts.chap_mutual_user = ui;
			s->opts.chap_mutual_secret = pi ? pi : "";
		}
	}
	/* Extra library options given with the request win over the record. */
	if (json_is_object(options)) {
		json_object_foreach(options, key, v)
		{
			if (!json_is_string(v)) {
				snprintf(err, errlen, "option %.100s: value must be a string", key);
				return -EINVAL;
			}
			set_opt(s, key, json_string_value(v), &rc, err, errlen);
		}
	}
	return rc;
}

static void sess_state(struct xiscsi_session *xs, enum xiscsi_state st, void *arg)
{
	struct xd_sess *s = arg;

	(void)xs;
	log_info("session %u (%s at %s:%u): %s", s->sid, s->target, s->host, s->port,
	         xiscsi_state_name(st));
	if (st == XISCSI_STATE_FAILED && s->phase >= XD_SCAN && s->phase <= XD_READY) {
		s->gave_up = true;
		snprintf(s->error, sizeof(s->error), "%s", xiscsi_session_error(s->s));
		s->work = true;
	}
	/* Back after a reconnect: the LUNs may have changed meanwhile. */
	if (st == XISCSI_STATE_LOGGED_IN && s->phase >= XD_SCAN && s->phase <= XD_READY) {
		s->want_rescan = true;
		s->work = true;
	}
}

static void sess_connected(struct xiscsi_session *xs, int err, void *arg)
{
	struct xd_sess *s = arg;

	(void)xs;
	s->login_done = true;
	s->login_err = err;
	s->work = true;
}

static void sess_logged_out(struct xiscsi_session *xs, int err, void *arg)
{
	struct xd_sess *s = arg;

	(void)xs;
	if (err)
		log_warn("session %u: logout: %s", s->sid, strerror(-err));
	s->logout_done = true;
	s->work = true;
}

static void sess_cmd_done(struct xiscsi_cmd *cmd)
{
	struct xd_sess *s = cmd->priv;

	s->cmd_done = true;
	s->work = true;
}

static int sess_start_login(struct xd_sess *s)
{
	int err;

	s->login_done = false;
	s->tries++;
	err = xiscsi_session_new(s->lp->loop, &s->opts, &s->s);
	if (err) {
		snprintf(s->error, sizeof(s->error), "cannot create the session: %s",
		         strerror(-err));
		return err;
	}
	xiscsi_session_set_state_cb(s->s, sess_state, s);
	err = xiscsi_session_connect(s->s, sess_connected, s);
	if (err) {
		snprintf(s->error, sizeof(s->error), "connect: %s", strerror(-err));
		xiscsi_session_free(s->s);
		s->s = NULL;
		return err;
	}
	s->phase = XD_LOGIN;
	return 0;
}

int xd_sess_login(struct xd_daemon *d, json_t *record, json_t *options, const char *initiator,
                  struct xd_client *c, char *err, size_t errlen)
{
	struct noderec_iface f;
	struct xd_sess *s;
	struct noderec r;
	const char *iface_name, *why;
	char transport[8], bind_if[32] = "";
	int rc;

	rc = record_check(record, &r, err, errlen);
	if (rc)
		return rc;
	iface_name = noderec_get(&r, "iface.iscsi_ifacename");
	if (!iface_name || !*iface_name)
		iface_name = "default";
	rc = noderec_iface_load(d->root, iface_name, &f);
	if (rc) {
		snprintf(err, errlen, "iface '%.64s': %s", iface_name,
		         rc == -ENOENT ? "no such iface (xiscsiadm -m iface)" : strerror(-rc));
		noderec_free(&r);
		return rc;
	}
	/* The default iface leaves the choice to the node's record. */
	snprintf(transport, sizeof(transport), "%s",
	         strcmp(f.name, "default") ? f.transport : noderec_get(&r, "iface.transport_name"));
	for (s = d->sessions; s; s = s->next) {
		if (s->phase != XD_DEAD && !strcmp(s->target, r.name) && !strcmp(s->host, r.host) &&
		    s->port == r.port && !strcmp(s->iface, f.name)) {
			snprintf(err, errlen, "a session to %s at %s:%u exists already (SID %u)",
			         r.name, r.host, r.port, s->sid);
			noderec_free(&r);
			return -EEXIST;
		}
	}
	why = xiscsi_transport_why(transport);
	if (why) {
		snprintf(err, errlen, "transport %s cannot be used: %s", transport, why);
		noderec_free(&r);
		return -ENOTSUP;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		noderec_free(&r);
		return -ENOMEM;
	}
	s->d = d;
	s->record = xd_record_json(&r);
	snprintf(s->target, sizeof(s->target), "%s", r.name);
	snprintf(s->host, sizeof(s->host), "%s", r.host);
	s->port = r.port;
	s->tpgt = r.tpgt;
	snprintf(s->iface, sizeof(s->iface), "%s", f.name);
	snprintf(s->initiator, sizeof(s->initiator), "%s",
	         initiator && *initiator ? initiator : d->initiator_name);
	s->tries_max = (unsigned)strtoul(noderec_get(&r, "node.session.initial_login_retry_max"),
	                                 NULL, 10) +
	               1;
	noderec_free(&r);
	/* An xdp iface names the interface queue (and the stack's address)
	 * its sessions' loop takes; other transports ignore the netdev. */
	if (!strcmp(transport, "xdp") && f.netdev[0])
		snprintf(bind_if, sizeof(bind_if), "%s:%u", f.netdev, f.queue);
	rc = xd_loop_get(d, transport, bind_if[0] ? bind_if : NULL,
	                 bind_if[0] && f.ipaddress[0] ? f.ipaddress : NULL, &s->lp);
	if (rc) {
		if (bind_if[0])
			snprintf(err, errlen, "transport %s on %s (iface %s): %s", transport,
			         bind_if, f.name,
			         rc == -ENOSPC ? "too many bound loops" : strerror(-rc));
		else
			snprintf(err, errlen, "transport %s: %s", transport, strerror(-rc));
		goto fail;
	}
	rc = opts_from_record(s, options, err, errlen);
	if (rc)
		goto fail;
	s->sid = ++d->next_sid;
	rc = sess_start_login(s);
	if (rc) {
		snprintf(err, errlen, "%s", s->error);
		goto fail;
	}
	s->wait_login = c;
	s->next = d->sessions;
	d->sessions = s;
	log_info("session %u: logging in to %s at %s:%u (%s, iface %s)", s->sid, s->target, s->host,
	         s->port, transport, s->iface);
	return 0;
fail:
	xiscsi_opts_clear(&s->opts);
	json_decref(s->record);
	free(s);
	return rc;
}

/* ------------------------------------------------------------- scan */

static int scan_submit(struct xd_sess *s, uint32_t len)
{
	uint8_t *nb;
	int err;

	if (len > s->buf_len) {
		nb = realloc(s->buf, len);
		if (!nb)
			return -ENOMEM;
		s->buf = nb;
		s->buf_len = len;
	}
	memset(s->buf, 0, len);
	s->cmd.priv = s;
	s->cmd.cb = sess_cmd_done;
	s->cmd.iov = NULL;
	xiscsi_cmd_set_buf(&s->cmd, s->buf, len);
	s->cmd_done = false;
	err = xiscsi_submit(s->s, &s->cmd);
	s->cmd_busy = err == 0;
	return err;
}

static int scan_report_luns(struct xd_sess *s, uint32_t alloc)
{
	memset(&s->cmd, 0, sizeof(s->cmd));
	xiscsi_cdb_report_luns(&s->cmd, alloc);
	s->scan_idx = XD_SCAN_ALL;
	return scan_submit(s, alloc);
}

static int sess_start_scan(struct xd_sess *s)
{
	s->phase = XD_SCAN;
	for (unsigned i = 0; i < s->nluns; i++)
		s->luns[i].seen = false;
	return scan_report_luns(s, XD_REPORT_LUNS_ALLOC);
}

static struct xd_lun *lun_find(struct xd_sess *s, uint64_t lun)
{
	for (unsigned i = 0; i < s->nluns; i++)
		if (s->luns[i].lun == lun)
			return &s->luns[i];
	return NULL;
}

/* REPORT LUNS answered: note each LUN (SPC-5 6.33: 8-byte header, 8 per LUN). */
static int scan_take_luns(struct xd_sess *s)
{
	uint32_t listlen, n, got = s->cmd.data_len;

	if (!xiscsi_cmd_ok(&s->cmd)) {
		char msg[200];

		snprintf(s->error, sizeof(s->error), "REPORT LUNS: %s",
		         xiscsi_cmd_strerror(&s->cmd, msg, sizeof(msg)));
		return -EIO;
	}
	if (got < 8 || got > s->buf_len) {
		snprintf(s->error, sizeof(s->error), "REPORT LUNS: short answer (%u bytes)", got);
		return -EPROTO;
	}
	listlen = get_be32(s->buf);
	if (listlen + 8ull > s->buf_len && s->buf_len == XD_REPORT_LUNS_ALLOC &&
	    listlen < (1u << 20))
		return scan_report_luns(s, listlen + 8) ?: 1;
	n = (got - 8) / 8;
	if (n > listlen / 8)
		n = listlen / 8;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t lun;
		struct xd_lun *l, *nl;

		if (lun_decode(s->buf + 8 + 8 * i, &lun)) {
			log_warn("session %u: LUN entry %u uses an addressing method we do not "
			         "support; skipped",
			         s->sid, i);
			continue;
		}
		l = lun_find(s, lun);
		if (l) {
			l->seen = true;
			continue;
		}
		nl = realloc(s->luns, (s->nluns + 1) * sizeof(*s->luns));
		if (!nl)
			return -ENOMEM;
		s->luns = nl;
		l = &s->luns[s->nluns++];
		memset(l, 0, sizeof(*l));
		l->lun = lun;
		l->seen = true;
		l->pdt = 0xff; /* not asked yet */
	}
	return 0;
}

static void copy_trim(char *dst, const uint8_t *src, size_t n)
{
	size_t len = n;

	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : ' ';
	while (len && dst[len - 1] == ' ')
		len--;
	dst[len] = '\0';
}

static void scan_take_inquiry(struct xd_sess *s, struct xd_lun *l)
{
	if (!xiscsi_cmd_ok(&s->cmd) || s->cmd.data_len < 1) {
		l->pdt = PDT_UNKNOWN;
		return;
	}
	/* A qualifier other than "connected" means no device behind this LUN. */
	l->pdt = (s->buf[0] >> 5) == PQ_CONNECTED ? s->buf[0] & 0x1f : PDT_UNKNOWN;
	if (s->cmd.data_len >= 32) {
		copy_trim(l->vendor, s->buf + 8, 8);
		copy_trim(l->product, s->buf + 16, 16);
	}
}

/* Next LUN that has not been asked INQUIRY; submit it. 1 when one went out. */
static int scan_next_inquiry(struct xd_sess *s)
{
	for (unsigned i = 0; i < s->nluns; i++) {
		if (s->luns[i].pdt != 0xff)
			continue;
		memset(&s->cmd, 0, sizeof(s->cmd));
		s->cmd.lun = s->luns[i].lun;
		xiscsi_cdb_inquiry(&s->cmd, false, 0, XD_INQUIRY_LEN);
		s->scan_idx = i;
		return scan_submit(s, XD_INQUIRY_LEN) ?: 1;
	}
	return 0;
}

struct close_ctx {
	struct xd_sess *s;
	uint64_t lun;
};

static void export_closed(void *arg)
{
	struct close_ctx *cc = arg;
	struct xd_lun *l = lun_find(cc->s, cc->lun);

	if (l) {
		l->exp = NULL;
		l->closing = false;
		unlink(l->path);
	}
	cc->s->exports_closing--;
	cc->s->work = true;
	free(cc);
}

static void lun_close_export(struct xd_sess *s, struct xd_lun *l)
{
	struct close_ctx *cc;

	if (!l->exp || l->closing)
		return;
	cc = malloc(sizeof(*cc));
	if (!cc) {
		log_error("session %u: out of memory closing LUN %llu", s->sid,
		          (unsigned long long)l->lun);
		return;
	}
	cc->s = s;
	cc->lun = l->lun;
	l->closing = true;
	s->exports_closing++;
	xi_nbd_export_close(l->exp, export_closed, cc);
}

/* With --nbd-tcp, ports are handed out in turn; one taken by someone else is skipped. */
#define XD_TCP_TRIES 32

static void lun_export(struct xd_sess *s, struct xd_lun *l)
{
	struct xi_nbd_opts no = {.name = ""};
	struct xd_daemon *d = s->d;
	int n, err = -EADDRINUSE;

	if (l->exp || l->pdt != PDT_DIRECT_ACCESS)
		return;
	n = snprintf(l->path, sizeof(l->path), "%s/nbd/%u-lun%llu.sock", d->rundir, s->sid,
	             (unsigned long long)l->lun);
	if (n < 0 || (size_t)n >= sizeof(l->path)) {
		l->path[0] = '\0';
		snprintf(l->export_error, sizeof(l->export_error), "socket path too long");
		return;
	}
	no.unix_path = l->path;
	l->tcp[0] = '\0';
	for (int i = 0; i < XD_TCP_TRIES && err == -EADDRINUSE; i++) {
		if (d->nbd_tcp_host[0]) {
			if (d->nbd_tcp_next > 65535) {
				err = -ERANGE;
				break;
			}
			snprintf(l->tcp, sizeof(l->tcp), "%s:%u", d->nbd_tcp_host,
			         d->nbd_tcp_next++);
			no.tcp_addr = l->tcp;
		}
		err = xi_nbd_export_new(s->lp->loop, s->s, l->lun, &no, d->epfd, &l->exp);
		if (!d->nbd_tcp_host[0])
			break;
	}
	if (err) {
		l->exp = NULL;
		snprintf(l->export_error, sizeof(l->export_error), "%s", strerror(-err));
		log_error("session %u: LUN %llu: NBD export on %s%s%s: %s", s->sid,
		          (unsigned long long)l->lun, l->path, l->tcp[0] ? " and " : "", l->tcp,
		          strerror(-err));
		l->tcp[0] = '\0';
		return;
	}
	l->export_error[0] = '\0';
	log_info("session %u: LUN %llu exported on %s%s%s", s->sid, (unsigned long long)l->lun,
	         l->path, l->tcp[0] ? " and " : "", l->tcp);
}

/* Entries whose LUN went away and whose export has finished closing leave the table. */
static void luns_compact(struct xd_sess *s)
{
	unsigned j = 0;

	for (unsigned i = 0; i < s->nluns; i++) {
		if (!s->luns[i].seen && !s->luns[i].exp)
			continue;
		s->luns[j++] = s->luns[i];
	}
	s->nluns = j;
}

/* The scan is over: close the exports of LUNs that went away, export the new ones. */
static void scan_finish(struct xd_sess *s)
{
	for (unsigned i = 0; i < s->nluns; i++) {
		struct xd_lun *l = &s->luns[i];

		if (!l->seen) {
			if (l->exp) {
				log_info("session %u: LUN %llu is gone; closing its export", s->sid,
				         (unsigned long long)l->lun);
				lun_close_export(s, l);
			}
		} else {
			lun_export(s, l);
		}
	}
	luns_compact(s);
	s->phase = XD_READY;
}

/* ----------------------------------------------------------- logout */

static void sess_reply(struct xd_client **wp, json_t *result, const char *code, const char *err)
{
	struct xd_client *c = *wp;

	*wp = NULL;
	if (c)
		xd_client_reply(c, result, code, err);
	else
		json_decref(result);
}

static void sess_begin_close(struct xd_sess *s)
{
	s->phase = XD_CLOSE_EXPORTS;
	for (unsigned i = 0; i < s->nluns; i++)
		lun_close_export(s, &s->luns[i]);
	s->work = true;
}

int xd_sess_logout(struct xd_sess *s, struct xd_client *c)
{
	if (s->wait_logout || s->phase >= XD_CLOSE_EXPORTS)
		return -EALREADY;
	s->wait_logout = c;
	s->work = true;
	return 0;
}

int xd_sess_rescan(struct xd_sess *s, struct xd_client *c)
{
	if (s->wait_rescan || s->wait_logout || s->phase > XD_READY)
		return -EBUSY;
	if (s->gave_up)
		return -ENOTCONN;
	/* While logging in, scanning or reconnecting, the scan waits its turn. */
	s->want_rescan = true;
	s->wait_rescan = c;
	s->work = true;
	return 0;
}

static void sess_free(struct xd_sess *s)
{
	struct xd_sess **pp;

	for (pp = &s->d->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (s->s)
		xiscsi_session_free(s->s);
	for (unsigned i = 0; i < s->nluns; i++)
		if (s->luns[i].path[0])
			unlink(s->luns[i].path);
	free(s->luns);
	free(s->buf);
	xiscsi_opts_clear(&s->opts);
	json_decref(s->record);
	free(s);
}

static void sess_dead(struct xd_sess *s)
{
	char msg[700];

	snprintf(msg, sizeof(msg), "%s", s->error[0] ? s->error : "session ended");
	log_info("session %u: ended%s%s", s->sid, s->error[0] ? ": " : "", s->error);
	sess_reply(&s->wait_login, NULL, "login", msg);
	sess_reply(&s->wait_rescan, NULL, "ended", msg);
	sess_reply(&s->wait_logout, json_pack("{s:I}", "sid", (json_int_t)s->sid), NULL, NULL);
	sess_free(s);
}

/* A login attempt ended badly: try again after a back-off, or give up. */
static void login_failed(struct xd_sess *s)
{
	uint64_t delay = XD_RETRY_MIN_MS;
	int err = s->login_err;

	snprintf(s->error, sizeof(s->error), "login to %.223s at %.80s:%u: %.300s", s->target,
	         s->host, s->port, s->s ? xiscsi_session_error(s->s) : strerror(-err));
	if (s->s) {
		xiscsi_session_free(s->s);
		s->s = NULL;
	}
	/* Authentication failures and unknown targets do not heal by waiting. */
	if (s->wait_logout || err == -EACCES || err == -ENOENT || s->tries >= s->tries_max ||
	    s->d->stopping) {
		log_warn("session %u: %s; giving up after %u attempt(s)", s->sid, s->error,
		         s->tries);
		s->login_err = err;
		s->phase = XD_DEAD;
		s->work = true;
		return;
	}
	for (unsigned i = 1; i < s->tries && delay < XD_RETRY_MAX_MS; i++)
		delay *= 2;
	if (delay > XD_RETRY_MAX_MS)
		delay = XD_RETRY_MAX_MS;
	log_info("session %u: %s; attempt %u of %u in %llu ms", s->sid, s->error, s->tries + 1,
	         s->tries_max, (unsigned long long)delay);
	s->retry_at = xd_now_ms() + delay;
	s->phase = XD_LOGIN_RETRY;
}

static const char *login_code(int err)
{
	switch (err) {
	case -EACCES:
		return "auth";
	case -ENOENT:
		return "not_found";
	case -ECONNREFUSED:
	case -ETIMEDOUT:
	case -EHOSTUNREACH:
	case -ECONNRESET:
		return "transport";
	default:
		return "login";
	}
}

void xd_sess_work(struct xd_sess *s)
{
	int err;

	s->work = false;
	for (;;) {
		switch (s->phase) {
		case XD_LOGIN:
			if (!s->login_done)
				return;
			if (s->login_err) {
				login_failed(s);
				if (s->phase == XD_DEAD && s->wait_login) {
					char msg[700];

					snprintf(msg, sizeof(msg), "%s", s->error);
					sess_reply(&s->wait_login, NULL, login_code(s->login_err),
					           msg);
				}
				continue;
			}
			log_info("session %u: logged in to %s at %s:%u", s->sid, s->target, s->host,
			         s->port);
			err = sess_start_scan(s);
			if (err) {
				log_error("session %u: REPORT LUNS: %s", s->sid, strerror(-err));
				scan_finish(s);
			}
			continue;
		case XD_LOGIN_RETRY:
			if (s->wait_logout || s->d->stopping) {
				s->phase = XD_DEAD;
				continue;
			}
			if (xd_now_ms() < s->retry_at)
				return;
			if (sess_start_login(s)) {
				s->login_err = -EIO;
				login_failed(s);
			}
			continue;
		case XD_SCAN:
			if (s->cmd_busy && !s->cmd_done)
				return;
			s->cmd_busy = false;
			if (s->scan_idx == XD_SCAN_ALL) {
				err = scan_take_luns(s);
				if (err == 1)
					return; /* asked again with room for the whole list */
				if (err < 0) {
					log_error("session %u: %s", s->sid, s->error);
					/* Keep what we had: a failed rescan removes nothing. */
					for (unsigned i = 0; i < s->nluns; i++)
						s->luns[i].seen = true;
				}
			} else if (s->scan_idx < s->nluns) {
				scan_take_inquiry(s, &s->luns[s->scan_idx]);
			}
			if (!s->gave_up && !s->wait_logout && !s->d->stopping) {
				err = scan_next_inquiry(s);
				if (err == 1)
					return;
				for (unsigned i = 0; i < s->nluns; i++)
					if (s->luns[i].pdt == 0xff)
						s->luns[i].pdt = PDT_UNKNOWN;
			}
			scan_finish(s);
			if (s->wait_login)
				sess_reply(&s->wait_login, xd_sess_json(s), NULL, NULL);
			if (s->wait_rescan)
				sess_reply(&s->wait_rescan, xd_sess_json(s), NULL, NULL);
			continue;
		case XD_READY:
			if (s->gave_up && !s->lost_told) {
				s->lost_told = true;
				log_warn("session %u: reconnect gave up: %s", s->sid, s->error);
				for (unsigned i = 0; i < s->nluns; i++)
					if (s->luns[i].exp)
						xi_nbd_export_session_lost(s->luns[i].exp);
			}
			if (s->wait_logout || s->d->stopping) {
				sess_reply(&s->wait_rescan, NULL, "ended",
				           "the session is logging out");
				sess_begin_close(s);
				continue;
			}
			if (s->gave_up) {
				s->want_rescan = false;
				sess_reply(&s->wait_rescan, NULL, "failed", s->error);
			}
			luns_compact(s);
			if (s->want_rescan &&
			    xiscsi_session_state(s->s) == XISCSI_STATE_LOGGED_IN) {
				s->want_rescan = false;
				if (sess_start_scan(s) == 0)
					continue;
				s->phase = XD_READY;
				sess_reply(&s->wait_rescan, NULL, "failed",
				           "cannot send REPORT LUNS");
			}
			return;
		case XD_CLOSE_EXPORTS:
			if (s->exports_closing)
				return;
			s->error[0] = '\0';
			if (s->s && xiscsi_session_state(s->s) == XISCSI_STATE_LOGGED_IN &&
			    xiscsi_session_logout(s->s, sess_logged_out, s) == 0) {
				s->phase = XD_LOGOUT;
				continue;
			}
			s->phase = XD_DEAD;
			continue;
		case XD_LOGOUT:
			if (!s->logout_done)
				return;
			s->phase = XD_DEAD;
			continue;
		case XD_DEAD:
			sess_dead(s);
			return;
		}
	}
}

/* ------------------------------------------------------------- JSON */

static const char *phase_name(enum xd_phase p)
{
	static const char *const names[] = {
	        [XD_LOGIN] = "login", [XD_LOGIN_RETRY] = "login_retry", [XD_SCAN] = "scan",
	        [XD_READY] = "ready", [XD_CLOSE_EXPORTS] = "closing",   [XD_LOGOUT] = "logout",
	        [XD_DEAD] = "ended",
	};

	return names[p];
}

static const char *pdt_name(uint8_t pdt)
{
	switch (pdt) {
	case PDT_DIRECT_ACCESS:
		return "disk";
	case PDT_SEQUENTIAL_ACCESS:
		return "tape";
	case PDT_CD_DVD:
		return "cd/dvd";
	case 0x0c:
		return "controller";
	case PDT_ENCLOSURE:
		return "enclosure";
	default:
		return "unknown";
	}
}

static json_t *lun_json(const struct xd_lun *l)
{
	json_t *o = json_pack("{s:I,s:i,s:s,s:s,s:s}", "lun", (json_int_t)l->lun, "type",
	                      l->pdt == 0xff ? -1 : (int)l->pdt, "type_name", pdt_name(l->pdt),
	                      "vendor", l->vendor, "product", l->product);
	struct xi_nbd_info ni;
	char url[200];

	if (!o)
		return NULL;
	if (l->exp) {
		xi_nbd_export_info(l->exp, &ni);
		snprintf(url, sizeof(url), "nbd+unix:///?socket=%s", l->path);
		json_object_set_new(o, "size", json_integer((json_int_t)ni.size));
		json_object_set_new(o, "block_size", json_integer(ni.block_size));
		json_object_set_new(o, "nbd", json_string(l->path));
		json_object_set_new(o, "nbd_url", json_string(url));
		if (l->tcp[0]) {
			snprintf(url, sizeof(url), "nbd://%s/", l->tcp);
			json_object_set_new(o, "nbd_tcp", json_string(l->tcp));
			json_object_set_new(o, "nbd_tcp_url", json_string(url));
		}
		json_object_set_new(
		        o, "nbd_stats",
		        json_pack("{s:i,s:i,s:I,s:I,s:I,s:I,s:I}", "clients", (int)ni.clients,
		                  "inflight", (int)ni.inflight, "reads", (json_int_t)ni.reads,
		                  "writes", (json_int_t)ni.writes, "errors", (json_int_t)ni.errors,
		                  "bytes_read", (json_int_t)ni.bytes_read, "bytes_written",
		                  (json_int_t)ni.bytes_written));
	} else if (l->export_error[0]) {
		json_object_set_new(o, "nbd_error", json_string(l->export_error));
	}
	return o;
}

json_t *xd_sess_json(const struct xd_sess *s)
{
	struct xiscsi_session_info si;
	enum xiscsi_state st = s->s ? xiscsi_session_state(s->s) : XISCSI_STATE_IDLE;
	json_t *o, *luns = json_array();
	char portal[NODEREC_HOST_MAX + 16], isid[13];
	bool v6 = strchr(s->host, ':') != NULL;

	snprintf(portal, sizeof(portal), "%s%s%s:%u", v6 ? "[" : "", s->host, v6 ? "]" : "",
	         s->port);
	o = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s}", "sid", (json_int_t)s->sid,
	              "target", s->target, "portal", portal, "address", s->host, "port",
	              (json_int_t)s->port, "iface", s->iface, "transport", s->lp->transport,
	              "initiator_name", s->initiator, "state",
	              s->phase == XD_LOGIN_RETRY ? "LOGIN_RETRY" : xiscsi_state_name(st), "phase",
	              phase_name(s->phase));
	if (!o) {
		json_decref(luns);
		return NULL;
	}
	json_object_set_new(o, "error", s->error[0] ? json_string(s->error) : json_null());
	/* Names only: secrets never leave the daemon. */
	json_object_set_new(o, "chap",
	                    json_pack("{s:s?,s:s?}", "username", s->opts.chap_user, "username_in",
	                              s->opts.chap_mutual_user));
	if (s->s && xiscsi_session_info(s->s, &si) == 0) {
		snprintf(isid, sizeof(isid), "%02x%02x%02x%02x%02x%02x", si.isid[0], si.isid[1],
		         si.isid[2], si.isid[3], si.isid[4], si.isid[5]);
		json_object_set_new(o, "isid", json_string(isid));
		json_object_set_new(o, "tsih", json_integer(si.tsih));
		json_object_set_new(o, "tpgt", json_integer(si.tpgt));
		json_object_set_new(o, "reconnects", json_integer(si.reconnects));
		json_object_set_new(
		        o, "params",
		        json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "HeaderDigest",
		                  si.header_digest ? "CRC32C" : "None", "DataDigest",
		                  si.data_digest ? "CRC32C" : "None", "ImmediateData",
		                  si.immediate_data ? "Yes" : "No", "InitialR2T",
		                  si.initial_r2t ? "Yes" : "No", "MaxRecvDataSegmentLength",
		                  (json_int_t)si.max_recv_data_segment_length,
		                  "MaxXmitDataSegmentLength",
		                  (json_int_t)si.max_xmit_data_segment_length, "MaxBurstLength",
		                  (json_int_t)si.max_burst_length, "FirstBurstLength",
		                  (json_int_t)si.first_burst_length, "MaxOutstandingR2T",
		                  (json_int_t)si.max_outstanding_r2t));
	} else {
		json_object_set_new(o, "tpgt", json_integer(s->tpgt));
	}
	json_object_set_new(o, "timeouts",
	                    json_pack("{s:I,s:I,s:I,s:I}", "login_timeout_ms",
	                              (json_int_t)s->opts.login_timeout_ms, "nop_interval_ms",
	                              (json_int_t)s->opts.nop_interval_ms, "nop_timeout_ms",
	                              (json_int_t)s->opts.nop_timeout_ms, "reconnect_timeout_ms",
	                              (json_int_t)s->opts.reconnect_timeout_ms));
	for (unsigned i = 0; i < s->nluns; i++)
		json_array_append_new(luns, lun_json(&s->luns[i]));
	json_object_set_new(o, "luns", luns);
	return o;
}
