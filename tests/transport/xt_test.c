/*
 * The transport suite: every backend must pass it unchanged.
 *
 *   xt_test BACKEND [--peer BACKEND] [TEST...]
 *
 * The side under test runs on group A (BACKEND); its peer on group B
 * (--peer, default the same backend), both driven from this thread. Exit
 * 0 pass, 1 fail, 77 skip (liburing's convention). Every wait is bounded.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "transport/transport.h"

#define PASS 0
#define FAIL 1
#define SKIP 77

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			return FAIL;                                                               \
		}                                                                                  \
	} while (0)

static const char *backend, *peer_backend;
static struct xt_group *ga, *gb;
static struct xt_group_opts gopts = {.opts_size = sizeof(gopts)};
static char skip_why[128];

/* ---- helpers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t rnd_range(size_t lo, size_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

static uint8_t *rnd_bytes(size_t n)
{
	uint8_t *p = malloc(n);
	size_t i;

	for (i = 0; p && i < n; i++)
		p[i] = (uint8_t)rnd();
	return p;
}

static void pump_once(void)
{
	int na = xt_group_poll(ga, 64, 0);

	if (gb)
		xt_group_poll(gb, 64, na > 0 ? 0 : 1);
	else if (na == 0)
		xt_group_poll(ga, 64, 1);
}

#define PUMP_UNTIL(cond, ms)                                                                       \
	do {                                                                                       \
		uint64_t end_ = xt_now_ms() + (ms);                                                \
		while (!(cond) && xt_now_ms() < end_)                                              \
			pump_once();                                                               \
	} while (0)

static int groups_new(bool two)
{
	int err;

	err = xt_group_new(backend, &gopts, &ga);
	if (err)
		return err;
	if (two)
		err = xt_group_new(peer_backend, &gopts, &gb);
	return err;
}

static void groups_free(void)
{
	int i;

	/* Let deferred closes finish before the groups go. */
	for (i = 0; i < 20; i++)
		pump_once();
	xt_group_destroy(ga);
	xt_group_destroy(gb);
	ga = gb = NULL;
}

/* The IPv4 address both sides use: loopback, or XT_TEST_ADDR where the
 * backend under test cannot reach loopback (xdp: the kernel peer's address
 * on the veth link, see xdp.sh). */
static socklen_t loopback(struct sockaddr_storage *ss, bool v6, uint16_t port)
{
	const char *v4 = getenv("XT_TEST_ADDR");
	socklen_t len;

	xt_addr_parse(v6 ? "::1" : v4 && *v4 ? v4 : "127.0.0.1", port, ss, &len);
	return len;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
	                                       : ((const struct sockaddr_in *)ss)->sin_port);
}

/* ---- an echo server on group B: sends back what it gets, from the lent
 * buffer itself (hold, send, release on completion) ---- */

struct echo_req {
	struct xt_send_req r;
	struct iovec iov;
	struct xt_rxbuf *b;
};

static int echo_conns, echo_closed, echo_errors;

static void echo_sent(struct xt_conn *c, struct xt_send_req *r, int status)
{
	struct echo_req *e = (struct echo_req *)r;

	xt_rxbuf_release(e->b);
	free(e);
}

static void echo_recv(struct xt_conn *c, struct xt_rxbuf *b)
{
	struct echo_req *e = calloc(1, sizeof(*e));

	if (!e)
		abort();
	xt_rxbuf_hold(b);
	e->b = b;
	e->iov.iov_base = b->data;
	e->iov.iov_len = b->len;
	e->r.iov = &e->iov;
	e->r.iovcnt = 1;
	e->r.cb = echo_sent;
	if (xt_conn_send(c, &e->r)) {
		echo_errors++;
		xt_rxbuf_release(b);
		free(e);
	}
}

static void echo_eof(struct xt_conn *c)
{
	echo_closed++;
	xt_conn_close(c, 0); /* flush what is echoed, then FIN */
}

static void echo_error(struct xt_conn *c, int err)
{
	echo_errors++;
	echo_closed++;
	xt_conn_close(c, XT_CLOSE_ABORT);
}

static const struct xt_conn_cbs echo_cbs = {
        .on_recv = echo_recv, .on_eof = echo_eof, .on_error = echo_error};

static void echo_accept(struct xt_listener *l, struct xt_conn *c, void *arg)
{
	echo_conns++;
	xt_conn_set_cbs(c, &echo_cbs, NULL);
}

static int echo_listen(bool v6, struct xt_listener **l, struct sockaddr_storage *ss, socklen_t *len)
{
	struct xt_listen_opts lo = {.opts_size = sizeof(lo)};
	int err;

	/* The echo side never refuses: its mark is above anything a test sends. */
	lo.conn.opts_size = sizeof(lo.conn);
	lo.conn.send_hwm = 64u << 20;
	echo_conns = echo_closed = echo_errors = 0;
	*len = loopback(ss, v6, 0);
	err = xt_listen(gb, (struct sockaddr *)ss, *len, &lo, echo_accept, NULL, l);
	if (err)
		return err;
	return xt_listener_addr(*l, ss, len);
}

/* ---- an echo client on group A: random messages in random chunkings ---- */

#define CREQ_IOV 8

struct creq {
	struct xt_send_req r;
	struct iovec iov[CREQ_IOV];
};

struct client {
	struct xt_conn *c;
	const uint8_t *data;
	size_t len;
	struct creq *reqs;
	size_t nreqs, next, completed;
	size_t rx_off;
	bool connected, eof, mismatch, bad_status;
	int err;
	struct xt_rxbuf *held; /* one buffer kept across callbacks, checked later */
	size_t held_off;
};

static void client_feed(struct client *k)
{
	int rc;

	while (k->next < k->nreqs) {
		rc = xt_conn_send(k->c, &k->reqs[k->next].r);
		if (rc == -EAGAIN)
			return;
		if (rc) {
			k->err = rc;
			return;
		}
		k->next++;
	}
}

static void client_sent(struct xt_conn *c, struct xt_send_req *r, int status)
{
	struct client *k = r->arg;

	if (status)
		k->bad_status = true;
	k->completed++;
}

static void client_check_held(struct client *k)
{
	if (!k->held)
		return;
	if (memcmp(k->held->data, k->data + k->held_off, k->held->len))
		k->mismatch = true;
	xt_rxbuf_release(k->held);
	k->held = NULL;
}

static void client_recv(struct xt_conn *c, struct xt_rxbuf *b)
{
	struct client *k = xt_conn_arg(c);

	client_check_held(k);
	if (k->rx_off + b->len > k->len || memcmp(b->data, k->data + k->rx_off, b->len))
		k->mismatch = true;
	/* Keep every third buffer past the callback, as a parser would. */
	if (rnd() % 3 == 0) {
		xt_rxbuf_hold(b);
		k->held = b;
		k->held_off = k->rx_off;
	}
	k->rx_off += b->len;
}

static void client_connect(struct xt_conn *c)
{
	((struct client *)xt_conn_arg(c))->connected = true;
}

static void client_eof(struct xt_conn *c)
{
	((struct client *)xt_conn_arg(c))->eof = true;
}

static void client_error(struct xt_conn *c, int err)
{
	((struct client *)xt_conn_arg(c))->err = err;
}

static void client_writable(struct xt_conn *c)
{
	client_feed(xt_conn_arg(c));
}

static const struct xt_conn_cbs client_cbs = {
        .on_connect = client_connect,
        .on_recv = client_recv,
        .on_eof = client_eof,
        .on_error = client_error,
        .on_writable = client_writable,
};

/* Split data into messages of 1..max_msg bytes, each cut into 1..3
 * requests of 1..CREQ_IOV iovecs at random places. */
static int client_init(struct client *k, const uint8_t *data, size_t len, size_t max_msg)
{
	size_t pos = 0, cap = 16, msg_end, req_end, piece;
	struct creq *q;

	memset(k, 0, sizeof(*k));
	k->data = data;
	k->len = len;
	k->reqs = malloc(cap * sizeof(*k->reqs));
	if (!k->reqs)
		return -ENOMEM;
	while (pos < len) {
		msg_end = pos + rnd_range(1, max_msg);
		if (msg_end > len)
			msg_end = len;
		while (pos < msg_end) {
			if (k->nreqs == cap) {
				cap *= 2;
				q = realloc(k->reqs, cap * sizeof(*q));
				if (!q)
					return -ENOMEM;
				k->reqs = q;
			}
			q = &k->reqs[k->nreqs++];
			memset(q, 0, sizeof(*q));
			req_end = rnd() % 3 == 0 ? msg_end : pos + rnd_range(1, msg_end - pos);
			while (pos < req_end && q->r.iovcnt < CREQ_IOV) {
				piece = q->r.iovcnt == CREQ_IOV - 1 ? req_end - pos
				                                    : rnd_range(1, req_end - pos);
				q->iov[q->r.iovcnt].iov_base = (void *)(data + pos);
				q->iov[q->r.iovcnt++].iov_len = piece;
				pos += piece;
			}
		}
	}
	for (size_t i = 0; i < k->nreqs; i++) {
		k->reqs[i].r.iov = k->reqs[i].iov;
		k->reqs[i].r.cb = client_sent;
		k->reqs[i].r.arg = k;
	}
	return 0;
}

static void client_fini(struct client *k)
{
	client_check_held(k);
	free(k->reqs);
}

static int client_start(struct client *k, const struct sockaddr_storage *ss, socklen_t len,
                        const struct xt_conn_opts *o)
{
	int err = xt_connect(ga, (const struct sockaddr *)ss, len, o, &client_cbs, k, &k->c);

	if (!err)
		client_feed(k); /* queued before the connection is up: must still go */
	return err;
}

static bool client_done(const struct client *k)
{
	return k->err || k->mismatch || (k->rx_off == k->len && k->completed == k->nreqs);
}

/* ---- tests ---- */

static int t_options(void)
{
	struct xt_group_opts go = {.opts_size = sizeof(go)};
	struct xt_conn_opts co = {.opts_size = sizeof(co)};

	CHECK(xt_opt_set(&go, &co, "rx-buf", "256K") == 0 && go.rx_buf_size == 256 * 1024);
	CHECK(xt_opt_set(&go, &co, "send-hwm", "8M") == 0 && co.send_hwm == 8u << 20);
	CHECK(xt_opt_set(&go, &co, "sndbuf", "65536") == 0 && co.sndbuf == 65536);
	CHECK(xt_opt_set(&go, &co, "busy-poll", NULL) == 0 && (go.flags & XT_GROUP_BUSY_POLL));
	CHECK(xt_opt_set(&go, &co, "xdp-if", "veth0:3") == 0 &&
	      strcmp(go.xdp_ifname, "veth0") == 0 && go.xdp_queue == 3);
	CHECK(xt_opt_set(&go, &co, "xdp-if", "a-name-longer-than-ifnamsiz") == -EINVAL);
	CHECK(xt_opt_set(&go, &co, "rx-buf", "12x") == -EINVAL);
	CHECK(xt_opt_set(&go, &co, "send-hwm", "0") == -EINVAL);
	CHECK(xt_opt_set(&go, &co, "portal", "1") == -ENOENT);
	/* A struct from an older caller (smaller opts_size) still works:
	 * what it does not have reads as the default. */
	go.opts_size = offsetof(struct xt_group_opts, rx_buf_size);
	CHECK(xt_group_new(backend, &go, &ga) == 0);
	CHECK(ga->opts.rx_buf_size == 128 * 1024 && (ga->opts.flags & XT_GROUP_BUSY_POLL));
	groups_free();
	go.opts_size = 0;
	CHECK(xt_group_new(backend, &go, &ga) == -EINVAL);
	return PASS;
}

static int t_backends(void)
{
	const char *const *names = xt_backend_names();
	struct xt_group *g = NULL;
	bool found = false;

	for (; *names; names++)
		found |= strcmp(*names, backend) == 0;
	CHECK(found);
	CHECK(xt_backend_why(backend) == NULL);
	CHECK(xt_group_new("no-such-backend", NULL, &g) == -ENOENT);
	CHECK(g == NULL);
	CHECK(xt_backend_why("no-such-backend") != NULL);
	return PASS;
}

static int t_addr(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[XT_ADDRSTRLEN];

	CHECK(xt_addr_parse("10.1.2.3:3260", 1, &ss, &len) == 0);
	CHECK(strcmp(xt_addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), "10.1.2.3:3260") ==
	      0);
	CHECK(xt_addr_parse("10.1.2.3", 3260, &ss, &len) == 0 && port_of(&ss) == 3260);
	CHECK(xt_addr_parse("[fe80::1]:860", 1, &ss, &len) == 0 && ss.ss_family == AF_INET6);
	CHECK(strcmp(xt_addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), "[fe80::1]:860") ==
	      0);
	CHECK(xt_addr_parse("::1", 3260, &ss, &len) == 0 && port_of(&ss) == 3260);
	CHECK(xt_addr_parse("1.2.3.4:70000", 1, &ss, &len) == -EINVAL);
	CHECK(xt_addr_parse("1.2.3.4:", 1, &ss, &len) == -EINVAL);
	CHECK(xt_addr_parse("[::1", 1, &ss, &len) == -EINVAL);
	CHECK(xt_addr_parse("host.example:1", 1, &ss, &len) == -EINVAL);
	return PASS;
}

static int echo_run(bool v6, size_t nconns, size_t bytes_each, size_t max_msg)
{
	struct sockaddr_storage ss;
	struct xt_listener *l;
	struct client *k;
	uint8_t *data;
	socklen_t len;
	size_t i, done;
	int err, rc = FAIL;

	if (groups_new(true))
		return FAIL;
	err = echo_listen(v6, &l, &ss, &len);
	if (v6 && (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT)) {
		snprintf(skip_why, sizeof(skip_why), "::1 is not available (%s)", strerror(-err));
		groups_free();
		return SKIP;
	}
	CHECK(err == 0);
	data = rnd_bytes(bytes_each * nconns);
	k = calloc(nconns, sizeof(*k));
	CHECK(data && k);
	for (i = 0; i < nconns; i++) {
		CHECK(client_init(&k[i], data + i * bytes_each, bytes_each, max_msg) == 0);
		CHECK(client_start(&k[i], &ss, len, NULL) == 0);
	}
	for (done = 0; done < nconns;) {
		PUMP_UNTIL(client_done(&k[done]), 30000);
		if (!client_done(&k[done]))
			break;
		done++;
	}
	for (i = 0; i < nconns; i++) {
		if (!client_done(&k[i]) || k[i].err || k[i].mismatch || k[i].bad_status) {
			fprintf(stderr, "  conn %zu: rx %zu/%zu sent %zu/%zu err %d mismatch %d\n",
			        i, k[i].rx_off, k[i].len, k[i].completed, k[i].nreqs, k[i].err,
			        k[i].mismatch);
			goto out;
		}
	}
	{
		struct xt_group_stats st;

		/* Counters: every byte both ways, fewer receive calls than buffers
		 * would need at one call per request. */
		xt_group_get_stats(ga, &st);
		if (st.tx_bytes != bytes_each * nconns || st.rx_bytes != bytes_each * nconns ||
		    st.conns_open != nconns || st.syscalls == 0 || st.polls == 0)
			goto out;
	}
	if (v6) {
		struct sockaddr_storage peer;
		socklen_t plen;
		char buf[XT_ADDRSTRLEN];

		if (xt_conn_peer_addr(k[0].c, &peer, &plen) || peer.ss_family != AF_INET6 ||
		    strncmp(xt_addr_format((struct sockaddr *)&peer, buf, sizeof(buf)),
		            "[::1]:", 6) != 0)
			goto out;
	}
	for (i = 0; i < nconns; i++)
		xt_conn_close(k[i].c, 0);
	/* Our FIN reaches every server connection, which then closes too. */
	PUMP_UNTIL(echo_closed == (int)nconns, 10000);
	if (echo_closed != (int)nconns || echo_conns != (int)nconns || echo_errors)
		goto out;
	rc = PASS;
out:
	for (i = 0; i < nconns; i++)
		client_fini(&k[i]);
	xt_listener_close(l);
	groups_free();
	free(k);
	free(data);
	return rc;
}

static int t_echo(void)
{
	return echo_run(false, 1, 8u << 20, 64 * 1024);
}

static int t_echo_small(void)
{
	/* Many tiny sends: one write must carry many of them. */
	return echo_run(false, 1, 256 * 1024, 64);
}

static int t_many(void)
{
	return echo_run(false, 64, 128 * 1024, 16 * 1024);
}

/* Linux major.minor at least (maj, min)? */
static bool kernel_at_least(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a > maj || (a == maj && b >= min);
}

static int t_busypoll(void)
{
	int rc;

	gopts.flags = XT_GROUP_BUSY_POLL;
	/* uring registers NAPI busy polling where the kernel has it (6.9). */
	if (strcmp(backend, "uring") == 0 && kernel_at_least(6, 9)) {
		CHECK(xt_group_new(backend, &gopts, &ga) == 0);
		CHECK(xt_group_caps(ga) & XT_CAP_NAPI);
		groups_free();
	}
	gopts.busy_poll_us = 200;
	rc = echo_run(false, 4, 256 * 1024, 8 * 1024);
	gopts.flags = 0;
	gopts.busy_poll_us = 0;
	return rc;
}

static int t_ipv6(void)
{
	return echo_run(true, 2, 1u << 20, 32 * 1024);
}

/* ---- back-pressure: a reader that takes one small buffer every 2 ms ---- */

struct slow {
	struct xt_conn *c;
	struct xt_timer tick;
	const uint8_t *data;
	size_t got, len;
	bool mismatch, eof;
};

static void slow_recv(struct xt_conn *c, struct xt_rxbuf *b)
{
	struct slow *s = xt_conn_arg(c);

	if (s->got + b->len > s->len || memcmp(b->data, s->data + s->got, b->len))
		s->mismatch = true;
	s->got += b->len;
	xt_conn_pause_recv(c);
}

static void slow_eof(struct xt_conn *c)
{
	struct slow *s = xt_conn_arg(c);

	s->eof = true;
}

static const struct xt_conn_cbs slow_cbs = {.on_recv = slow_recv, .on_eof = slow_eof};

static void slow_tick(struct xt_timer *t, void *arg)
{
	struct slow *s = arg;

	if (s->c)
		xt_conn_resume_recv(s->c);
}

static void slow_accept(struct xt_listener *l, struct xt_conn *c, void *arg)
{
	struct slow *s = arg;

	s->c = c;
	xt_conn_set_cbs(c, &slow_cbs, s);
	xt_conn_pause_recv(c);
}

static int t_backpressure(void)
{
	const size_t total = 4u << 20, hwm = 256 * 1024, rx = 16 * 1024;
	struct xt_group_opts go = {.opts_size = sizeof(go), .rx_buf_size = rx};
	struct xt_listen_opts lo = {.opts_size = sizeof(lo)};
	struct xt_conn_opts co = {.opts_size = sizeof(co), .send_hwm = hwm, .sndbuf = 32768};
	struct slow s = {0};
	struct client k;
	struct sockaddr_storage ss;
	struct xt_listener *l;
	struct xt_conn_stats st;
	socklen_t len;
	uint8_t *data;
	size_t peak = 0;
	uint64_t end;
	int rc = FAIL;

	lo.conn.opts_size = sizeof(lo.conn);
	lo.conn.rcvbuf = 32768;
	CHECK(xt_group_new(backend, NULL, &ga) == 0);
	CHECK(xt_group_new(peer_backend, &go, &gb) == 0);
	data = rnd_bytes(total);
	CHECK(data);
	s.data = data;
	s.len = total;
	len = loopback(&ss, false, 0);
	CHECK(xt_listen(gb, (struct sockaddr *)&ss, len, &lo, slow_accept, &s, &l) == 0);
	CHECK(xt_listener_addr(l, &ss, &len) == 0);
	CHECK(xt_timer_start(gb, &s.tick, 2, 2, slow_tick, &s) == 0);
	CHECK(client_init(&k, data, total, 16 * 1024) == 0);
	CHECK(client_start(&k, &ss, len, &co) == 0);
	for (end = xt_now_ms() + 60000; s.got < total && !k.err && xt_now_ms() < end;) {
		pump_once();
		if (xt_conn_queued_bytes(k.c) > peak)
			peak = xt_conn_queued_bytes(k.c);
	}
	xt_conn_get_stats(k.c, &st);
	fprintf(stderr, "  peak queued %zu (max %zu, cap %zu), %llu refusals\n", peak,
	        st.send_queued_max, hwm, (unsigned long long)st.send_eagain);
	if (s.got != total || s.mismatch || k.err || k.bad_status)
		goto out;
	/* The cap held, and it was reached: the sender really was pushed back. */
	if (peak > hwm || st.send_queued_max > hwm || st.send_eagain == 0)
		goto out;
	if (k.next != k.nreqs)
		goto out;
	rc = PASS;
out:
	xt_timer_cancel(&s.tick);
	xt_conn_close(k.c, XT_CLOSE_ABORT);
	if (s.c)
		xt_conn_close(s.c, XT_CLOSE_ABORT);
	client_fini(&k);
	xt_listener_close(l);
	groups_free();
	free(data);
	return rc;
}

/* ---- reset, half-close, refused, close with flush ---- */

struct peer {
	struct xt_conn *c;
	char got[64];
	size_t n;
	bool eof, connected;
	int err;
	bool abort_on_recv, reply_on_eof;
	struct xt_send_req req;
	struct iovec iov;
};

static void peer_recv(struct xt_conn *c, struct xt_rxbuf *b)
{
	struct peer *p = xt_conn_arg(c);
	size_t n = b->len < sizeof(p->got) - p->n ? b->len : sizeof(p->got) - p->n;

	memcpy(p->got + p->n, b->data, n);
	p->n += n;
	if (p->abort_on_recv) {
		xt_conn_close(c, XT_CLOSE_ABORT); /* SO_LINGER 0: RST */
		p->c = NULL;
	}
}

static void peer_eof(struct xt_conn *c)
{
	struct peer *p = xt_conn_arg(c);

	p->eof = true;
	if (p->reply_on_eof) { /* half-closed by the peer: we may still talk */
		p->iov.iov_base = "pong";
		p->iov.iov_len = 4;
		p->req.iov = &p->iov;
		p->req.iovcnt = 1;
		if (xt_conn_send(c, &p->req))
			p->err = -EIO;
		xt_conn_close(c, 0);
		p->c = NULL;
	}
}

static void peer_error(struct xt_conn *c, int err)
{
	((struct peer *)xt_conn_arg(c))->err = err;
}

static void peer_connect(struct xt_conn *c)
{
	((struct peer *)xt_conn_arg(c))->connected = true;
}

static const struct xt_conn_cbs peer_cbs = {.on_connect = peer_connect,
                                            .on_recv = peer_recv,
                                            .on_eof = peer_eof,
                                            .on_error = peer_error};

static void peer_accept(struct xt_listener *l, struct xt_conn *c, void *arg)
{
	struct peer *p = arg;

	p->c = c;
	xt_conn_set_cbs(c, &peer_cbs, p);
}

static int pair_setup(struct peer *srv, struct peer *cli, struct xt_listener **l)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(&ss, false, 0);

	if (groups_new(true))
		return -1;
	if (xt_listen(gb, (struct sockaddr *)&ss, len, NULL, peer_accept, srv, l) ||
	    xt_listener_addr(*l, &ss, &len))
		return -1;
	if (xt_connect(ga, (struct sockaddr *)&ss, len, NULL, &peer_cbs, cli, &cli->c))
		return -1;
	PUMP_UNTIL(cli->connected && srv->c, 5000);
	return cli->connected && srv->c ? 0 : -1;
}

static int send_str(struct peer *p, const char *s)
{
	p->iov.iov_base = (void *)s;
	p->iov.iov_len = strlen(s);
	p->req.iov = &p->iov;
	p->req.iovcnt = 1;
	return xt_conn_send(p->c, &p->req);
}

static int t_reset(void)
{
	struct peer srv = {.abort_on_recv = true}, cli = {0};
	struct xt_listener *l = NULL;

	CHECK(pair_setup(&srv, &cli, &l) == 0);
	CHECK(send_str(&cli, "hello") == 0);
	PUMP_UNTIL(cli.err, 5000);
	CHECK(srv.n == 5);
	CHECK(cli.err == -ECONNRESET);
	CHECK(!cli.eof);
	/* After on_error a send says the error, without queueing. */
	CHECK(send_str(&cli, "again") == -ECONNRESET);
	xt_conn_close(cli.c, 0);
	xt_listener_close(l);
	groups_free();
	return PASS;
}

static int t_halfclose(void)
{
	struct peer srv = {.reply_on_eof = true}, cli = {0};
	struct xt_listener *l = NULL;

	CHECK(pair_setup(&srv, &cli, &l) == 0);
	CHECK(send_str(&cli, "ping") == 0);
	CHECK(xt_conn_shutdown(cli.c) == 0);
	{
		struct peer late = {.c = cli.c}; /* "ping" is still queued: its request is busy */

		CHECK(send_str(&late, "late") == -EPIPE);
	}
	PUMP_UNTIL(cli.eof || cli.err, 5000);
	CHECK(srv.eof && srv.n == 4 && memcmp(srv.got, "ping", 4) == 0);
	CHECK(srv.err == 0 && cli.err == 0);
	CHECK(cli.eof && cli.n == 4 && memcmp(cli.got, "pong", 4) == 0);
	xt_conn_close(cli.c, 0);
	xt_listener_close(l);
	groups_free();
	return PASS;
}

static int t_refused(void)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(&ss, false, 0);
	struct peer cli = {0};
	int fd, rc;

	/* A port bound but not listening: the kernel answers RST, and no
	 * other process can take the port meanwhile. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	CHECK(bind(fd, (struct sockaddr *)&ss, len) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
	CHECK(groups_new(false) == 0);
	rc = xt_connect(ga, (struct sockaddr *)&ss, len, NULL, &peer_cbs, &cli, &cli.c);
	close(fd);
	CHECK(rc == 0);
	PUMP_UNTIL(cli.err || cli.connected, 5000);
	CHECK(!cli.connected);
	CHECK(cli.err == -ECONNREFUSED);
	xt_conn_close(cli.c, 0);
	groups_free();
	return PASS;
}

static int t_close_flush(void)
{
	const size_t total = 2u << 20;
	struct slow s = {0};
	struct peer cp = {0};
	struct sockaddr_storage ss;
	struct xt_listener *l;
	struct xt_conn *c;
	struct xt_send_req r = {0};
	struct iovec iov;
	socklen_t len = loopback(&ss, false, 0);
	uint8_t *data = rnd_bytes(total);

	CHECK(data && groups_new(true) == 0);
	s.data = data;
	s.len = total;
	CHECK(xt_listen(gb, (struct sockaddr *)&ss, len, NULL, slow_accept, &s, &l) == 0);
	CHECK(xt_listener_addr(l, &ss, &len) == 0);
	CHECK(xt_timer_start(gb, &s.tick, 1, 1, slow_tick, &s) == 0);
	CHECK(xt_connect(ga, (struct sockaddr *)&ss, len, NULL, &peer_cbs, &cp, &c) == 0);
	iov.iov_base = data;
	iov.iov_len = total;
	r.iov = &iov;
	r.iovcnt = 1;
	CHECK(xt_conn_send(c, &r) == 0); /* one request bigger than any socket buffer */
	xt_conn_close(c, 0); /* before it is even connected: must still all arrive, then FIN */
	PUMP_UNTIL(s.eof, 20000);
	CHECK(s.got == total && !s.mismatch && s.eof);
	xt_timer_cancel(&s.tick);
	xt_conn_close(s.c, 0);
	xt_listener_close(l);
	groups_free();
	free(data);
	return PASS;
}

/* A request bigger than the mark goes on an empty queue (never refused
 * forever), and the next one waits. */
static int t_bigsend(void)
{
	const size_t big = 1u << 20;
	struct slow s = {0};
	struct peer cp = {0};
	struct xt_conn_opts co = {.opts_size = sizeof(co), .send_hwm = 64 * 1024};
	struct sockaddr_storage ss;
	struct xt_listener *l;
	struct xt_conn *c;
	struct xt_send_req r1 = {0}, r2 = {0};
	struct iovec iov1, iov2;
	socklen_t len = loopback(&ss, false, 0);
	uint8_t *data = rnd_bytes(big + 100);

	CHECK(data && groups_new(true) == 0);
	s.data = data;
	s.len = big + 100;
	CHECK(xt_listen(gb, (struct sockaddr *)&ss, len, NULL, slow_accept, &s, &l) == 0);
	CHECK(xt_listener_addr(l, &ss, &len) == 0);
	CHECK(xt_timer_start(gb, &s.tick, 1, 1, slow_tick, &s) == 0);
	CHECK(xt_connect(ga, (struct sockaddr *)&ss, len, &co, &peer_cbs, &cp, &c) == 0);
	iov1 = (struct iovec){.iov_base = data, .iov_len = big};
	iov2 = (struct iovec){.iov_base = data + big, .iov_len = 100};
	r1.iov = &iov1;
	r1.iovcnt = 1;
	r2.iov = &iov2;
	r2.iovcnt = 1;
	CHECK(xt_conn_send(c, &r1) == 0);
	CHECK(xt_conn_send(c, &r2) == -EAGAIN);
	PUMP_UNTIL(xt_conn_queued_bytes(c) == 0, 20000);
	CHECK(xt_conn_send(c, &r2) == 0);
	PUMP_UNTIL(s.got == big + 100 || s.mismatch, 20000);
	CHECK(s.got == big + 100 && !s.mismatch);
	xt_timer_cancel(&s.tick);
	xt_conn_close(c, 0);
	xt_conn_close(s.c, 0);
	xt_listener_close(l);
	groups_free();
	free(data);
	return PASS;
}

/* ---- timers ---- */

struct tstate {
	int order[8];
	int n;
	int periodic;
	struct xt_timer p;
};

struct ntimer {
	struct xt_timer t;
	int id;
	struct tstate *s;
};

static void t_named(struct xt_timer *t, void *arg)
{
	struct ntimer *nt = arg;

	if (nt->s->n < 8)
		nt->s->order[nt->s->n++] = nt->id;
}

static void t_periodic(struct xt_timer *t, void *arg)
{
	struct tstate *s = arg;

	if (++s->periodic == 3)
		xt_timer_cancel(t); /* from inside its own callback */
}

static int t_timers(void)
{
	struct tstate s = {0};
	struct ntimer a = {.id = 30, .s = &s}, b = {.id = 10, .s = &s}, c = {.id = 20, .s = &s};
	uint64_t t0;

	CHECK(groups_new(false) == 0);
	t0 = xt_now_ms();
	CHECK(xt_timer_start(ga, &a.t, 30, 0, t_named, &a) == 0);
	CHECK(xt_timer_start(ga, &b.t, 10, 0, t_named, &b) == 0);
	CHECK(xt_timer_start(ga, &c.t, 20, 0, t_named, &c) == 0);
	CHECK(xt_timer_start(ga, &s.p, 5, 5, t_periodic, &s) == 0);
	xt_timer_cancel(&c.t);
	CHECK(!xt_timer_armed(&c.t));
	PUMP_UNTIL(s.n == 2 && s.periodic >= 3, 5000);
	PUMP_UNTIL(false, 40); /* a cancelled one would have fired by now */
	CHECK(s.n == 2 && s.order[0] == 10 && s.order[1] == 30);
	CHECK(s.periodic == 3 && !xt_timer_armed(&s.p));
	CHECK(xt_now_ms() - t0 >= 30);
	groups_free();
	return PASS;
}

/* ---- cross-thread post wakes a poll blocked with timeout -1 ---- */

static void post_fn(void *arg)
{
	*(int *)arg = 1;
}

static void *post_thread(void *arg)
{
	usleep(50 * 1000);
	if (xt_group_post(ga, post_fn, arg))
		abort();
	return NULL;
}

static int t_post(void)
{
	struct xt_group_stats st;
	pthread_t th;
	int flag = 0, i;

	CHECK(groups_new(false) == 0);
	CHECK(pthread_create(&th, NULL, post_thread, &flag) == 0);
	/* Blocks for good unless the post wakes it; alarm() bounds the test. */
	for (i = 0; i < 100 && !flag; i++)
		CHECK(xt_group_poll(ga, 16, -1) >= 0);
	pthread_join(th, NULL);
	xt_group_get_stats(ga, &st);
	CHECK(flag == 1);
	CHECK(st.wakeups >= 1 && st.posts_run == 1);
	groups_free();
	return PASS;
}

/* ---- an outside event loop waits on xt_group_fd() ---- */

static int t_group_fd(void)
{
	struct pollfd pfd;
	int flag = 0;

	CHECK(groups_new(false) == 0);
	if (!(xt_group_caps(ga) & XT_CAP_GROUP_FD)) {
		CHECK(xt_group_fd(ga) == -ENOTSUP);
		snprintf(skip_why, sizeof(skip_why), "backend has no group fd");
		groups_free();
		return SKIP;
	}
	pfd.fd = xt_group_fd(ga);
	pfd.events = POLLIN;
	CHECK(pfd.fd >= 0);
	CHECK(poll(&pfd, 1, 0) == 0);
	CHECK(xt_group_post(ga, post_fn, &flag) == 0);
	CHECK(poll(&pfd, 1, 5000) == 1); /* the post made it readable */
	CHECK(xt_group_poll(ga, 16, 0) >= 1 && flag == 1);
	CHECK(poll(&pfd, 1, 0) == 0); /* and the poll drained it */
	groups_free();
	return PASS;
}

/* ---- driver ---- */

static const struct {
	const char *name;
	int (*fn)(void);
} tests[] = {
        {"backends", t_backends}, {"addr", t_addr},
        {"options", t_options},   {"timers", t_timers},
        {"post", t_post},         {"group_fd", t_group_fd},
        {"echo", t_echo},         {"echo_small", t_echo_small},
        {"many", t_many},         {"backpressure", t_backpressure},
        {"reset", t_reset},       {"halfclose", t_halfclose},
        {"refused", t_refused},   {"close_flush", t_close_flush},
        {"bigsend", t_bigsend},   {"ipv6", t_ipv6},
        {"busypoll", t_busypoll},
};

static void on_alarm(int sig)
{
	static const char m[] = "xt_test: time limit reached\n";

	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(1);
	_exit(1);
}

int main(int argc, char **argv)
{
	int i, j, rc, failed = 0, passed = 0, ran;
	const char *only[32];
	int nonly = 0;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(300);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc)
			peer_backend = argv[++i];
		else if (!backend)
			backend = argv[i];
		else if (nonly < 32)
			only[nonly++] = argv[i];
	}
	if (!backend) {
		fprintf(stderr, "usage: xt_test BACKEND [--peer BACKEND] [TEST...]\n");
		return 2;
	}
	if (!peer_backend)
		peer_backend = backend;
	if (xt_backend_why(backend) || xt_backend_why(peer_backend)) {
		printf("SKIP: %s\n", xt_backend_why(backend) ? xt_backend_why(backend)
		                                             : xt_backend_why(peer_backend));
		return SKIP;
	}
	for (i = 0; i < (int)(sizeof(tests) / sizeof(tests[0])); i++) {
		for (j = 0, ran = !nonly; j < nonly; j++)
			ran |= strcmp(only[j], tests[i].name) == 0;
		if (!ran)
			continue;
		skip_why[0] = '\0';
		rc = tests[i].fn();
		if (rc == SKIP) {
			printf("skip %s: %s\n", tests[i].name, skip_why);
		} else if (rc == PASS) {
			printf("ok   %s\n", tests[i].name);
			passed++;
		} else {
			printf("FAIL %s\n", tests[i].name);
			failed++;
		}
		fflush(stdout);
		if (rc != PASS && rc != SKIP) {
			/* A failed test may leave groups behind; start clean. */
			ga = gb = NULL;
		}
	}
	return failed ? FAIL : passed ? PASS : SKIP;
}
