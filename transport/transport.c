/*
 * What every backend shares: the registry, groups (timers, posted work,
 * deferred frees), the send queue and its high-water mark, addresses.
 * Backends keep only their I/O in their own file.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "transport/transport.h"

extern const struct xt_ops xt_tcp_ops;
extern const struct xt_ops xt_uring_ops;
#ifdef XT_WITH_XDP
extern const struct xt_ops xt_xdp_ops;
#define XT_XDP_OPS (&xt_xdp_ops)
#else
#define XT_XDP_OPS NULL
#endif

#define XT_DEFAULT_RX_BUF   (128u * 1024)
#define XT_DEFAULT_RX_CACHE 32u
#define XT_DEFAULT_BUSY_US  50u
#define XT_DEFAULT_HWM      (4u * 1024 * 1024)

/* Known names, built or not, so a wrong choice gets a reason, not a guess. */
static const struct {
	const char *name;
	const struct xt_ops *ops;
	const char *why_not;
} backends[] = {
        {"tcp", &xt_tcp_ops, NULL},
        {"uring", &xt_uring_ops, NULL},
        {"xdp", XT_XDP_OPS,
         "the AF_XDP backend is not built into this binary (needs libxdp, libbpf)"},
};

#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

struct xt_post {
	struct xt_post *next;
	xt_post_fn fn;
	void *arg;
};

const char *const *xt_backend_names(void)
{
	static const char *names[NBACKENDS + 1];
	size_t i, n = 0;

	if (!names[0])
		for (i = 0; i < NBACKENDS; i++)
			if (backends[i].ops)
				names[n++] = backends[i].name;
	return names;
}

const char *xt_backend_why(const char *name)
{
	size_t i;

	for (i = 0; i < NBACKENDS; i++)
		if (name && strcmp(name, backends[i].name) == 0)
			return backends[i].ops ? NULL : backends[i].why_not;
	return "unknown transport backend (known: tcp, uring, xdp)";
}

uint64_t xt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Copy what the caller's version of the struct has; the rest stays zero. */
static int opts_copy(void *dst, size_t dst_size, const void *src)
{
	size_t n;

	memset(dst, 0, dst_size);
	if (!src)
		return 0;
	n = *(const size_t *)src;
	if (n < sizeof(size_t))
		return -EINVAL;
	memcpy(dst, src, n < dst_size ? n : dst_size);
	return 0;
}

static void conn_opts_defaults(struct xt_conn_opts *o)
{
	if (!o->send_hwm)
		o->send_hwm = XT_DEFAULT_HWM;
	if (!o->send_lwm || o->send_lwm > o->send_hwm)
		o->send_lwm = o->send_hwm / 2;
	o->opts_size = sizeof(*o);
}

int xt_group_new(const char *backend, const struct xt_group_opts *opts, struct xt_group **out)
{
	const struct xt_ops *ops = NULL;
	struct xt_group *g = NULL;
	size_t i;
	int err;

	*out = NULL;
	for (i = 0; i < NBACKENDS; i++)
		if (backend && strcmp(backend, backends[i].name) == 0)
			ops = backends[i].ops;
	if (!ops)
		return -ENOENT;
	g = calloc(1, ops->group_size);
	if (!g)
		return -ENOMEM;
	g->ops = ops;
	g->wake_fd = -1;
	err = opts_copy(&g->opts, sizeof(g->opts), opts);
	if (err)
		goto out;
	g->opts.opts_size = sizeof(g->opts);
	if (!g->opts.rx_buf_size)
		g->opts.rx_buf_size = XT_DEFAULT_RX_BUF;
	if (!g->opts.rx_buf_cache)
		g->opts.rx_buf_cache = XT_DEFAULT_RX_CACHE;
	if (!g->opts.busy_poll_us)
		g->opts.busy_poll_us = XT_DEFAULT_BUSY_US;
	pthread_mutex_init(&g->post_lock, NULL);
	g->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (g->wake_fd < 0) {
		err = -errno;
		goto out;
	}
	g->now_ms = xt_now_ms();
	err = ops->group_init(g);
	if (err)
		goto out;
	*out = g;
	return 0;
out:
	if (g->wake_fd >= 0)
		close(g->wake_fd);
	pthread_mutex_destroy(&g->post_lock);
	free(g);
	return err;
}

/* ---- deferred frees: nothing is freed while a callback may still hold it ---- */

static void send_list_finish(struct xt_conn *c, struct xt_send_req *r, int status)
{
	struct xt_send_req *next;

	for (; r; r = next) {
		next = r->next;
		r->next = NULL;
		if (r->cb)
			r->cb(c, r, status);
	}
}

/* Detach the whole queue, then call back, so callbacks may queue anew. */
static void conn_cancel_sends(struct xt_conn *c, int status)
{
	struct xt_send_req *r = c->sq_head;

	c->sq_head = c->sq_tail = NULL;
	c->stats.send_queued = 0;
	send_list_finish(c, r, status);
}

static void group_reap(struct xt_group *g)
{
	struct xt_conn *c;
	struct xt_listener *l;
	unsigned rounds;

	/* Cancelling can run callbacks that close more; a bound keeps it finite. */
	for (rounds = 0; g->dead && rounds < 1000; rounds++) {
		c = g->dead;
		g->dead = c->dead_next;
		conn_cancel_sends(c, c->err ? c->err : -ECANCELED);
		if (c->prev)
			c->prev->next = c->next;
		else
			g->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		g->stats.conns_open--;
		c->ops->conn_free(c);
		free(c);
	}
	while ((l = g->dead_listeners)) {
		g->dead_listeners = l->dead_next;
		free(l);
	}
}

void xt_conn_reap_later(struct xt_conn *c)
{
	if (c->state == XT_CONN_DEAD)
		return;
	c->state = XT_CONN_DEAD;
	c->dead_next = c->g->dead;
	c->g->dead = c;
}

/* The group xt_group_poll() last ran on this thread. */
static __thread struct xt_group *cur_group;

void xt_group_destroy(struct xt_group *g)
{
	struct xt_post *p;
	struct xt_conn *c;

	if (!g)
		return;
	if (cur_group == g)
		cur_group = NULL;
	while (g->pollers) {
		struct xt_poller *pl = g->pollers;

		g->pollers = pl->next;
		if (pl->fini)
			pl->fini(pl->arg);
	}
	for (c = g->conns; c; c = c->next)
		if (c->state != XT_CONN_DEAD) {
			c->state = XT_CONN_CLOSING;
			c->ops->close(c, XT_CLOSE_ABORT);
		}
	group_reap(g);
	g->ops->group_fini(g);
	while ((p = g->post_head)) {
		g->post_head = p->next;
		free(p);
	}
	free(g->timers);
	close(g->wake_fd);
	pthread_mutex_destroy(&g->post_lock);
	free(g);
}

const char *xt_group_backend(const struct xt_group *g)
{
	return g->ops->name;
}

void xt_group_get_stats(const struct xt_group *g, struct xt_group_stats *out)
{
	*out = g->stats;
}

/* ---- timers: a binary min-heap on due time; slot is index + 1 ---- */

static void heap_set(struct xt_group *g, size_t i, struct xt_timer *t)
{
	g->timers[i] = t;
	t->slot = i + 1;
}

static void heap_up(struct xt_group *g, size_t i)
{
	struct xt_timer *t = g->timers[i];

	while (i > 0 && g->timers[(i - 1) / 2]->due_ms > t->due_ms) {
		heap_set(g, i, g->timers[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(g, i, t);
}

static void heap_down(struct xt_group *g, size_t i)
{
	struct xt_timer *t = g->timers[i];
	size_t k;

	for (;;) {
		k = 2 * i + 1;
		if (k >= g->ntimers)
			break;
		if (k + 1 < g->ntimers && g->timers[k + 1]->due_ms < g->timers[k]->due_ms)
			k++;
		if (g->timers[k]->due_ms >= t->due_ms)
			break;
		heap_set(g, i, g->timers[k]);
		i = k;
	}
	heap_set(g, i, t);
}

void xt_timer_cancel(struct xt_timer *t)
{
	struct xt_group *g = t->g;
	size_t i;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	g->ntimers--;
	if (i == g->ntimers)
		return;
	g->timers[i] = g->timers[g->ntimers];
	g->timers[i]->slot = i + 1;
	heap_down(g, i);
	heap_up(g, g->timers[i]->slot - 1);
}

static int heap_push(struct xt_group *g, struct xt_timer *t)
{
	struct xt_timer **n;
	size_t cap;

	if (g->ntimers == g->timers_cap) {
		cap = g->timers_cap ? 2 * g->timers_cap : 16;
		n = realloc(g->timers, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		g->timers = n;
		g->timers_cap = cap;
	}
	g->timers[g->ntimers] = t;
	heap_up(g, g->ntimers++);
	return 0;
}

int xt_timer_start(struct xt_group *g, struct xt_timer *t, uint64_t ms, uint64_t period_ms,
                   xt_timer_cb cb, void *arg)
{
	if (!cb)
		return -EINVAL;
	if (t->slot)
		xt_timer_cancel(t);
	t->g = g;
	t->cb = cb;
	t->arg = arg;
	t->period_ms = period_ms;
	t->due_ms = xt_now_ms() + ms;
	return heap_push(g, t);
}

static int run_timers(struct xt_group *g)
{
	struct xt_timer *t;
	int n = 0;

	/* Bounded: a periodic timer re-armed here is due in the future. */
	while (g->ntimers && g->timers[0]->due_ms <= g->now_ms && n < 10000) {
		t = g->timers[0];
		xt_timer_cancel(t);
		if (t->period_ms) {
			t->due_ms += t->period_ms;
			if (t->due_ms <= g->now_ms) /* fell behind: skip, do not burst */
				t->due_ms = g->now_ms + t->period_ms;
			if (heap_push(g, t))
				t->slot = 0;
		}
		g->stats.timers_fired++;
		n++;
		t->cb(t, t->arg);
	}
	return n;
}

int xt_group_next_timeout(struct xt_group *g)
{
	uint64_t now;

	if (!g->ntimers)
		return -1;
	now = xt_now_ms();
	if (g->timers[0]->due_ms <= now)
		return 0;
	return g->timers[0]->due_ms - now > 0x7fffffff ? 0x7fffffff
	                                               : (int)(g->timers[0]->due_ms - now);
}

/* ---- cross-thread work ---- */

int xt_group_post(struct xt_group *g, xt_post_fn fn, void *arg)
{
	struct xt_post *p = malloc(sizeof(*p));
	uint64_t one = 1;
	bool was_empty;

	if (!p)
		return -ENOMEM;
	p->next = NULL;
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&g->post_lock);
	was_empty = !g->post_head;
	if (g->post_tail)
		g->post_tail->next = p;
	else
		g->post_head = p;
	g->post_tail = p;
	atomic_store(&g->post_pending, true);
	pthread_mutex_unlock(&g->post_lock);
	/* Only the first post after a drain wakes; the rest ride along. */
	if (was_empty && write(g->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

void xt_group_wake_drain(struct xt_group *g)
{
	uint64_t v;

	g->stats.syscalls++;
	if (read(g->wake_fd, &v, sizeof(v)) == sizeof(v))
		g->stats.wakeups++;
}

static int run_posts(struct xt_group *g)
{
	struct xt_post *p, *next;
	int n = 0;

	if (!atomic_load(&g->post_pending))
		return 0;
	pthread_mutex_lock(&g->post_lock);
	p = g->post_head;
	g->post_head = g->post_tail = NULL;
	atomic_store(&g->post_pending, false);
	pthread_mutex_unlock(&g->post_lock);
	for (; p; p = next) {
		next = p->next;
		p->fn(p->arg);
		free(p);
		g->stats.posts_run++;
		n++;
	}
	return n;
}

/* ---- pollers ---- */

struct xt_group *xt_group_current(void)
{
	return cur_group;
}

void xt_poller_add(struct xt_group *g, struct xt_poller *p)
{
	p->next = g->pollers;
	g->pollers = p;
}

void xt_poller_del(struct xt_group *g, struct xt_poller *p)
{
	for (struct xt_poller **pp = &g->pollers; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
}

static int run_pollers(struct xt_group *g)
{
	struct xt_poller *p, *next;
	int n = 0;

	for (p = g->pollers; p; p = next) {
		next = p->next; /* a poller may delete itself */
		n += p->fn(p->arg);
	}
	return n;
}

int xt_group_poll(struct xt_group *g, int budget, int timeout_ms)
{
	int n, r, t;

	if (budget <= 0)
		budget = 64;
	cur_group = g;
	g->stats.polls++;
	g->now_ms = xt_now_ms();
	/* In this order: a poller submits what timers and posts queued. */
	n = run_timers(g);
	n += run_posts(g);
	n += run_pollers(g);
	if (n > 0 || g->dead || atomic_load(&g->post_pending)) {
		timeout_ms = 0;
	} else if (timeout_ms != 0) {
		t = xt_group_next_timeout(g);
		if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
			timeout_ms = t;
	}
	r = g->ops->poll(g, budget, timeout_ms);
	if (r >= 0) {
		n += r;
		g->now_ms = xt_now_ms();
		n += run_timers(g);
		n += run_posts(g);
		n += run_pollers(g);
	}
	group_reap(g);
	return r < 0 ? r : n;
}

/* ---- connections: the part every backend shares ---- */

struct xt_conn *xt_conn_alloc(struct xt_group *g, const struct xt_conn_opts *opts)
{
	struct xt_conn *c = calloc(1, g->ops->conn_size);

	if (!c)
		return NULL;
	c->ops = g->ops;
	c->g = g;
	if (opts_copy(&c->opts, sizeof(c->opts), opts) && opts && opts->opts_size) {
		free(c);
		return NULL;
	}
	conn_opts_defaults(&c->opts);
	c->next = g->conns;
	if (g->conns)
		g->conns->prev = c;
	g->conns = c;
	g->stats.conns_open++;
	return c;
}

int xt_connect(struct xt_group *g, const struct sockaddr *sa, socklen_t salen,
               const struct xt_conn_opts *opts, const struct xt_conn_cbs *cbs, void *arg,
               struct xt_conn **out)
{
	struct xt_conn *c;
	int err;

	*out = NULL;
	if ((opts && opts->opts_size < sizeof(size_t)) || !cbs || !cbs->on_recv)
		return -EINVAL;
	c = xt_conn_alloc(g, opts);
	if (!c)
		return -ENOMEM;
	c->cbs = cbs;
	c->arg = arg;
	c->state = XT_CONN_CONNECTING;
	err = g->ops->connect(c, sa, salen);
	if (err) {
		c->ops->close(c, XT_CLOSE_ABORT);
		return err;
	}
	*out = c;
	return 0;
}

void xt_conn_set_cbs(struct xt_conn *c, const struct xt_conn_cbs *cbs, void *arg)
{
	c->cbs = cbs;
	c->arg = arg;
}

int xt_conn_send(struct xt_conn *c, struct xt_send_req *req)
{
	size_t len = 0;
	unsigned i;

	if (c->state == XT_CONN_FAILED)
		return c->err;
	if ((c->state != XT_CONN_OPEN && c->state != XT_CONN_CONNECTING) || c->shut_wr)
		return -EPIPE;
	for (i = 0; i < req->iovcnt; i++)
		len += req->iov[i].iov_len;
	if (len == 0)
		return -EINVAL;
	/* The mark bounds what a slow reader can make us hold; an empty queue
	 * always takes one request so that a big one is never refused forever. */
	if (c->sq_head && c->stats.send_queued + len > c->opts.send_hwm) {
		c->want_writable = true;
		c->stats.send_eagain++;
		return -EAGAIN;
	}
	req->len = len;
	req->done = 0;
	req->next = NULL;
	if (c->sq_tail)
		c->sq_tail->next = req;
	else
		c->sq_head = req;
	c->sq_tail = req;
	c->stats.send_queued += len;
	if (c->stats.send_queued > c->stats.send_queued_max)
		c->stats.send_queued_max = c->stats.send_queued;
	return c->ops->send(c, req);
}

void xt_conn_complete_sends(struct xt_conn *c)
{
	struct xt_send_req *done = c->sq_head, *last = NULL, *r;

	for (r = c->sq_head; r && r->done == r->len; r = r->next) {
		c->stats.send_queued -= r->len;
		last = r;
	}
	if (!last)
		return;
	c->sq_head = last->next;
	if (!c->sq_head)
		c->sq_tail = NULL;
	last->next = NULL;
	send_list_finish(c, done, 0);
	if (c->want_writable && c->stats.send_queued <= c->opts.send_lwm &&
	    c->state == XT_CONN_OPEN) {
		c->want_writable = false;
		if (c->cbs && c->cbs->on_writable)
			c->cbs->on_writable(c);
	}
}

unsigned xt_sendq_gather(const struct xt_send_req *r, size_t skip, struct iovec *iov, unsigned max,
                         size_t *total)
{
	unsigned i, k = 0;

	*total = 0;
	for (; r && k < max; r = r->next, skip = r ? r->done : 0) {
		for (i = 0; i < r->iovcnt && k < max; i++) {
			if (skip >= r->iov[i].iov_len) {
				skip -= r->iov[i].iov_len;
				continue;
			}
			iov[k].iov_base = (uint8_t *)r->iov[i].iov_base + skip;
			iov[k].iov_len = r->iov[i].iov_len - skip;
			*total += iov[k++].iov_len;
			skip = 0;
		}
	}
	return k;
}

unsigned xt_conn_gather(const struct xt_conn *c, struct iovec *iov, unsigned max, size_t *total)
{
	return xt_sendq_gather(c->sq_head, c->sq_head ? c->sq_head->done : 0, iov, max, total);
}

void xt_conn_sent(struct xt_conn *c, size_t n)
{
	struct xt_send_req *r;
	size_t left;

	c->stats.tx_bytes += n;
	c->g->stats.tx_bytes += n;
	for (left = n, r = c->sq_head; r && left; r = r->next) {
		size_t take = r->len - r->done < left ? r->len - r->done : left;

		r->done += take;
		left -= take;
	}
	xt_conn_complete_sends(c);
}

void xt_conn_fail(struct xt_conn *c, int err)
{
	enum xt_conn_state was = c->state;

	if (was == XT_CONN_FAILED || was == XT_CONN_DEAD)
		return;
	c->err = err;
	if (was == XT_CONN_CLOSING) {
		c->ops->close(c, XT_CLOSE_ABORT);
		return;
	}
	c->state = XT_CONN_FAILED;
	conn_cancel_sends(c, err);
	if (c->state == XT_CONN_FAILED && c->cbs && c->cbs->on_error)
		c->cbs->on_error(c, err);
}

void xt_conn_close(struct xt_conn *c, unsigned flags)
{
	if (c->state == XT_CONN_CLOSING || c->state == XT_CONN_DEAD)
		return;
	c->state = XT_CONN_CLOSING;
	c->ops->close(c, flags);
}

/* ---- listeners ---- */

int xt_listen(struct xt_group *g, const struct sockaddr *sa, socklen_t salen,
              const struct xt_listen_opts *opts, xt_accept_cb cb, void *arg,
              struct xt_listener **out)
{
	struct xt_listener *l;
	int err;

	*out = NULL;
	if (!cb)
		return -EINVAL;
	l = calloc(1, g->ops->listener_size);
	if (!l)
		return -ENOMEM;
	l->ops = g->ops;
	l->g = g;
	l->cb = cb;
	l->arg = arg;
	err = opts_copy(&l->opts, sizeof(l->opts), opts);
	if (err)
		goto out;
	l->opts.opts_size = sizeof(l->opts);
	if (l->opts.conn.opts_size == 0)
		memset(&l->opts.conn, 0, sizeof(l->opts.conn));
	conn_opts_defaults(&l->opts.conn);
	if (l->opts.backlog <= 0)
		l->opts.backlog = SOMAXCONN;
	err = g->ops->listen(l, sa, salen);
	if (err)
		goto out;
	*out = l;
	return 0;
out:
	free(l);
	return err;
}

void xt_listener_close(struct xt_listener *l)
{
	if (!l || l->closed)
		return;
	l->closed = true;
	l->ops->listener_close(l);
	l->dead_next = l->g->dead_listeners;
	l->g->dead_listeners = l;
}

int xt_listener_addr(struct xt_listener *l, struct sockaddr_storage *ss, socklen_t *len)
{
	return l->ops->listener_addr(l, ss, len);
}

/* ---- options by name ---- */

const char xt_opt_help[] =
        "  --transport NAME       tcp, uring or xdp (see xiscsi-transport(7))\n"
        "  --busy-poll[=US]       spin up to US microseconds before sleeping\n"
        "  --rx-buf BYTES         size of each receive buffer (default 128K)\n"
        "  --sndbuf BYTES         SO_SNDBUF (default: kernel autotuning)\n"
        "  --rcvbuf BYTES         SO_RCVBUF (default: kernel autotuning)\n"
        "  --send-hwm BYTES       queued send bytes per connection before waiting (4M)\n"
        "  --sqpoll-idle MS       uring: kernel submission thread, idle time\n"
        "  --zc-threshold BYTES   uring/xdp: zero-copy sends from this size\n"
        "  --xdp-if IF[:QUEUE]    xdp: interface and queue to take\n"
        "  --xdp-ip ADDR/PREFIX   xdp: the stack's own IPv4 address on that link\n"
        "  --xdp-gw ADDR          xdp: IPv4 gateway for peers off the link\n"
        "  --xdp-frames N         xdp: UMEM frames of 4 KiB, half for receive (8192)\n"
        "  --xdp-mode MODE        xdp: auto, native or skb (generic) attach\n"
        "  --xdp-bind MODE        xdp: auto, copy or zerocopy socket\n"
        "  --xdp-csum MODE        xdp: verify (default) or trust received checksums\n";

static int parse_size(const char *v, uint64_t max, uint64_t *out)
{
	unsigned long long n;
	char *end;

	if (!v || !*v)
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		n <<= 10, end++;
		break;
	case 'm':
	case 'M':
		n <<= 20, end++;
		break;
	case 'g':
	case 'G':
		n <<= 30, end++;
		break;
	}
	if (*end || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

/* "ADDR/PREFIX" (with_prefix) into *ip and *prefix, or "ADDR" into *gw;
 * addresses in network order. */
static int parse_ip4(const char *v, bool with_prefix, uint32_t *ip, uint8_t *prefix, uint32_t *gw)
{
	char buf[INET_ADDRSTRLEN];
	const char *slash = v ? strchr(v, '/') : NULL;
	size_t n = slash ? (size_t)(slash - v) : v ? strlen(v) : 0;
	unsigned long p = 24;
	struct in_addr a;
	char *end;

	if (n == 0 || n >= sizeof(buf) || (slash && !with_prefix))
		return -EINVAL;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1 || a.s_addr == htonl(INADDR_ANY))
		return -EINVAL;
	if (slash) {
		errno = 0;
		p = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || p < 1 || p > 32)
			return -EINVAL;
	}
	if (with_prefix) {
		*ip = a.s_addr;
		*prefix = (uint8_t)p;
	} else {
		*gw = a.s_addr;
	}
	return 0;
}

/* "auto", or one of two names, each setting its flag within mask. */
static int parse_choice(const char *v, const char *n1, unsigned f1, const char *n2, unsigned f2,
                        unsigned mask, unsigned *flags)
{
	unsigned f;

	if (!v)
		return -EINVAL;
	if (strcmp(v, "auto") == 0)
		f = 0;
	else if (strcmp(v, n1) == 0)
		f = f1;
	else if (strcmp(v, n2) == 0)
		f = f2;
	else
		return -EINVAL;
	*flags = (*flags & ~mask) | f;
	return 0;
}

int xt_opt_set(struct xt_group_opts *go, struct xt_conn_opts *co, const char *name,
               const char *value)
{
	struct xt_group_opts gdummy;
	struct xt_conn_opts cdummy;
	const char *colon;
	uint64_t v = 0;
	int err = 0;

	go = go ? go : &gdummy;
	co = co ? co : &cdummy;
	if (strcmp(name, "busy-poll") == 0) {
		if (value && (err = parse_size(value, 1000000, &v)))
			return err;
		go->flags |= XT_GROUP_BUSY_POLL;
		go->busy_poll_us = (unsigned)v;
	} else if (strcmp(name, "xdp-if") == 0) {
		if (!value || !*value)
			return -EINVAL;
		colon = strchr(value, ':');
		if (colon && (err = parse_size(colon + 1, 0xffff, &v)))
			return err;
		if ((colon ? (size_t)(colon - value) : strlen(value)) >= sizeof(go->xdp_ifname) ||
		    colon == value)
			return -EINVAL;
		memset(go->xdp_ifname, 0, sizeof(go->xdp_ifname));
		memcpy(go->xdp_ifname, value, colon ? (size_t)(colon - value) : strlen(value));
		go->xdp_queue = (unsigned)v;
	} else if (strcmp(name, "xdp-ip") == 0 || strcmp(name, "xdp-gw") == 0) {
		err = parse_ip4(value, name[4] == 'i', &go->xdp_ip4, &go->xdp_prefix, &go->xdp_gw4);
	} else if (strcmp(name, "xdp-frames") == 0) {
		if (!(err = parse_size(value, 1u << 20, &v)) && v < 64)
			err = -EINVAL;
		go->xdp_frames = (unsigned)v;
	} else if (strcmp(name, "xdp-mode") == 0) {
		err = parse_choice(value, "native", XT_XDP_DRV_MODE, "skb", XT_XDP_SKB_MODE,
		                   XT_XDP_DRV_MODE | XT_XDP_SKB_MODE, &go->xdp_flags);
	} else if (strcmp(name, "xdp-bind") == 0) {
		err = parse_choice(value, "copy", XT_XDP_COPY, "zerocopy", XT_XDP_ZEROCOPY,
		                   XT_XDP_COPY | XT_XDP_ZEROCOPY, &go->xdp_flags);
	} else if (strcmp(name, "xdp-csum") == 0) {
		if (value && strcmp(value, "trust") == 0)
			go->xdp_flags |= XT_XDP_TRUST_CSUM;
		else if (value && strcmp(value, "verify") == 0)
			go->xdp_flags &= ~XT_XDP_TRUST_CSUM;
		else
			err = -EINVAL;
	} else if (strcmp(name, "rx-buf") == 0) {
		if (!(err = parse_size(value, 64u << 20, &v)) && v < 4096)
			err = -EINVAL;
		go->rx_buf_size = v;
	} else if (strcmp(name, "sqpoll-idle") == 0) {
		err = parse_size(value, 3600000, &v);
		go->sqpoll_idle_ms = (unsigned)v;
	} else if (strcmp(name, "zc-threshold") == 0) {
		err = parse_size(value, 1u << 30, &v);
		go->zc_threshold = (unsigned)v;
	} else if (strcmp(name, "sndbuf") == 0) {
		err = parse_size(value, 1u << 30, &v);
		co->sndbuf = (int)v;
	} else if (strcmp(name, "rcvbuf") == 0) {
		err = parse_size(value, 1u << 30, &v);
		co->rcvbuf = (int)v;
	} else if (strcmp(name, "send-hwm") == 0) {
		if (!(err = parse_size(value, 1ull << 40, &v)) && v == 0)
			err = -EINVAL;
		co->send_hwm = v;
	} else {
		return -ENOENT;
	}
	return err;
}

/* ---- addresses ---- */

int xt_addr_parse(const char *str, uint16_t default_port, struct sockaddr_storage *ss,
                  socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	unsigned long p = default_port;
	size_t hl;
	char *ep;

	if (!str)
		return -EINVAL;
	if (str[0] == '[') {
		end = strchr(str, ']');
		if (!end)
			return -EINVAL;
		hl = end - str - 1;
		str++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -EINVAL;
	} else {
		end = strchr(str, ':');
		/* More than one colon and no brackets: a bare IPv6 address. */
		if (end && !strchr(end + 1, ':'))
			port = end + 1;
		hl = port ? (size_t)(end - str) : strlen(str);
	}
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, str, hl);
	host[hl] = '\0';
	if (port) {
		errno = 0;
		p = strtoul(port, &ep, 10);
		if (errno || ep == port || *ep != '\0' || p > 65535)
			return -EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

char *xt_addr_format(const struct sockaddr *sa, char *buf, size_t buflen)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET && inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)))
		snprintf(buf, buflen, "%s:%u", host, ntohs(sin->sin_port));
	else if (sa->sa_family == AF_INET6 &&
	         inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)))
		snprintf(buf, buflen, "[%s]:%u", host, ntohs(sin6->sin6_port));
	else
		snprintf(buf, buflen, "?");
	return buf;
}
