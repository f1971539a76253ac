/*
 * tcp: the transport on kernel sockets and epoll.
 *
 * Level-triggered epoll, so a paused reader simply drops EPOLLIN and the
 * kernel's window pushes back on the peer. No system call per PDU: one
 * recv() fills a large lent buffer (many PDUs), and the sends queued during
 * one poll leave in one sendmsg() per connection, resumed after a short
 * write under EPOLLOUT.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/transport.h"

#define TCP_MAX_EVENTS 256
#define TCP_IOV_MAX    (IOV_MAX < 1024 ? IOV_MAX : 1024)
#define TCP_ACCEPT_MAX 64 /* accepts per listener event, so one burst cannot starve I/O */
#define TCP_READS_MAX  4  /* reads per event while the buffer keeps coming back full */
#define TCP_WRITES_MAX 16 /* sendmsg per flush while the queue outgrows one iovec array */

enum tcp_kind { TCP_WAKE, TCP_LISTENER, TCP_CONN };

/* What epoll_event.data.ptr points at. */
struct tcp_handle {
	enum tcp_kind kind;
	int fd;
};

struct tcp_chunk {
	struct xt_rxbuf buf;
	struct tcp_group *g;
	struct tcp_chunk *next;
	uint8_t mem[];
};

struct tcp_conn {
	struct xt_conn base;
	struct tcp_handle h;
	uint32_t ev;     /* events registered; 0 = not in the epoll set */
	bool connecting; /* connect() in flight, even if the caller closed meanwhile */
	bool blocked;    /* short write: waiting for EPOLLOUT */
	bool dirty;      /* on the group's flush list */
	bool shut_done;
	int early_err; /* connect() failed at once; reported from poll */
	struct tcp_conn *dirty_next;
};

struct tcp_listener {
	struct xt_listener base;
	struct tcp_handle h;
};

struct tcp_group {
	struct xt_group base;
	int epfd;
	struct tcp_handle wake;
	struct tcp_conn *dirty;
	struct tcp_chunk *chunks; /* free receive buffers */
	unsigned nchunks;
	struct iovec iov[TCP_IOV_MAX];
	struct epoll_event evs[TCP_MAX_EVENTS];
};

#define TG(g) ((struct tcp_group *)(g))
#define TC(c) ((struct tcp_conn *)(c))

static void tcp_close_now(struct tcp_conn *tc, bool abort);
static int conn_update_ev(struct tcp_conn *tc);

/* After on_error the socket only reports errors: leave the epoll set so
 * it cannot spin the loop before the caller closes. */
static void conn_fail(struct tcp_conn *tc, int err)
{
	xt_conn_fail(&tc->base, err);
	if (tc->base.state == XT_CONN_FAILED)
		conn_update_ev(tc);
}

/* ---- receive buffers ---- */

static void chunk_free(struct xt_rxbuf *b)
{
	struct tcp_chunk *k = (struct tcp_chunk *)b;
	struct tcp_group *g = k->g;

	if (g->nchunks < g->base.opts.rx_buf_cache) {
		k->next = g->chunks;
		g->chunks = k;
		g->nchunks++;
		return;
	}
	free(k);
}

static struct tcp_chunk *chunk_get(struct tcp_group *g)
{
	struct tcp_chunk *k = g->chunks;

	if (k) {
		g->chunks = k->next;
		g->nchunks--;
	} else {
		k = malloc(sizeof(*k) + g->base.opts.rx_buf_size);
		if (!k)
			return NULL;
		k->g = g;
		k->buf.free = chunk_free;
		k->buf.data = k->mem;
	}
	k->buf.refs = 1;
	return k;
}

/* ---- epoll interest follows the connection's state ---- */

static int conn_update_ev(struct tcp_conn *tc)
{
	struct xt_conn *c = &tc->base;
	struct tcp_group *g = TG(c->g);
	struct epoll_event e = {.data.ptr = &tc->h};
	uint32_t want = 0;
	int op;

	if (tc->connecting)
		want = c->state == XT_CONN_CONNECTING || c->state == XT_CONN_CLOSING ? EPOLLOUT : 0;
	else if (c->state == XT_CONN_OPEN || c->state == XT_CONN_CLOSING) {
		if (c->state == XT_CONN_OPEN && !c->recv_paused && !c->eof_seen && c->cbs)
			want |= EPOLLIN | EPOLLRDHUP;
		if (tc->blocked)
			want |= EPOLLOUT;
	}
	if (want == tc->ev)
		return 0;
	/* Nothing wanted: leave the set, so a hung-up socket cannot spin us. */
	op = !want ? EPOLL_CTL_DEL : tc->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	e.events = want;
	g->base.stats.syscalls++;
	if (epoll_ctl(g->epfd, op, tc->h.fd, &e) < 0)
		return -errno;
	tc->ev = want;
	return 0;
}

static void sock_setup(struct tcp_group *g, int fd, const struct xt_conn_opts *o)
{
	int one = 1;

	if (!(o->flags & XT_CONN_NO_NODELAY))
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof(o->sndbuf));
	if (o->rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof(o->rcvbuf));
	if (g->base.opts.flags & XT_GROUP_BUSY_POLL) {
		int us = (int)g->base.opts.busy_poll_us;

		setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us));
	}
}

/* ---- send ---- */

static void conn_flush(struct tcp_conn *tc)
{
	struct xt_conn *c = &tc->base;
	struct tcp_group *g = TG(c->g);
	struct msghdr msg = {.msg_iov = g->iov};
	size_t total;
	ssize_t n;
	unsigned k, round;

	for (round = 0; round < TCP_WRITES_MAX && c->sq_head; round++) {
		k = xt_conn_gather(c, g->iov, TCP_IOV_MAX, &total);
		msg.msg_iovlen = k;
		g->base.stats.syscalls++;
		c->stats.tx_calls++;
		n = sendmsg(tc->h.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				tc->blocked = true;
				conn_update_ev(tc);
				return;
			}
			conn_fail(tc, -errno);
			return;
		}
		xt_conn_sent(c, (size_t)n);
		if (c->state == XT_CONN_DEAD || c->state == XT_CONN_FAILED)
			return;
		if ((size_t)n < total) { /* the socket buffer is full: wait */
			tc->blocked = true;
			conn_update_ev(tc);
			return;
		}
	}
	if (c->sq_head) { /* round limit: the rest on the next poll */
		tc->blocked = true;
		conn_update_ev(tc);
		return;
	}
	tc->blocked = false;
	if (c->shut_wr && !tc->shut_done) {
		tc->shut_done = true;
		g->base.stats.syscalls++;
		shutdown(tc->h.fd, SHUT_WR);
	}
	if (c->state == XT_CONN_CLOSING)
		tcp_close_now(tc, false);
	else
		conn_update_ev(tc);
}

static void mark_dirty(struct tcp_conn *tc)
{
	struct tcp_group *g = TG(tc->base.g);

	if (tc->dirty || tc->blocked || tc->connecting)
		return;
	tc->dirty = true;
	tc->dirty_next = g->dirty;
	g->dirty = tc;
}

static int flush_dirty(struct tcp_group *g)
{
	struct tcp_conn *tc;
	int n = 0;

	/* Flushing runs callbacks that may queue more: take one list at a time. */
	while ((tc = g->dirty) && n < 100000) {
		g->dirty = tc->dirty_next;
		tc->dirty = false;
		if (tc->base.state == XT_CONN_OPEN || tc->base.state == XT_CONN_CLOSING)
			conn_flush(tc);
		n++;
	}
	return n;
}

static int tcp_send(struct xt_conn *c, struct xt_send_req *req)
{
	mark_dirty(TC(c));
	return 0;
}

/* ---- receive ---- */

static void conn_eof(struct tcp_conn *tc)
{
	struct xt_conn *c = &tc->base;

	c->eof_seen = true;
	conn_update_ev(tc);
	if (c->cbs->on_eof)
		c->cbs->on_eof(c);
}

static void conn_read(struct tcp_conn *tc, uint32_t events)
{
	struct xt_conn *c = &tc->base;
	struct tcp_group *g = TG(c->g);
	struct tcp_chunk *k;
	size_t size = g->base.opts.rx_buf_size;
	unsigned i;
	ssize_t n;

	for (i = 0; i < TCP_READS_MAX; i++) {
		if (c->state != XT_CONN_OPEN || c->recv_paused || c->eof_seen)
			return;
		k = chunk_get(g);
		if (!k) {
			conn_fail(tc, -ENOMEM);
			return;
		}
		g->base.stats.syscalls++;
		c->stats.rx_calls++;
		n = recv(tc->h.fd, k->buf.data, size, MSG_DONTWAIT);
		if (n <= 0) {
			int err = n < 0 ? errno : 0;

			xt_rxbuf_release(&k->buf);
			if (n == 0)
				conn_eof(tc);
			else if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR)
				conn_fail(tc, -err);
			return;
		}
		k->buf.len = n;
		c->stats.rx_bytes += n;
		g->base.stats.rx_bytes += n;
		c->cbs->on_recv(c, &k->buf);
		xt_rxbuf_release(&k->buf);
		if ((size_t)n < size) {
			/* Short read: drained. With the peer's FIN seen there is
			 * nothing more to come; say so without another recv(). */
			if ((events & EPOLLRDHUP) && c->state == XT_CONN_OPEN && !c->recv_paused &&
			    !c->eof_seen)
				conn_eof(tc);
			return;
		}
	}
}

static int sock_error(struct tcp_conn *tc)
{
	int err = 0;
	socklen_t len = sizeof(err);

	tc->base.g->stats.syscalls++;
	if (getsockopt(tc->h.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

static void conn_event(struct tcp_conn *tc, uint32_t events)
{
	struct xt_conn *c = &tc->base;
	int err;

	if (tc->connecting) {
		err = tc->early_err ? tc->early_err : sock_error(tc);
		if (err) {
			conn_fail(tc, err);
			return;
		}
		tc->connecting = false;
		if (c->state == XT_CONN_CONNECTING)
			c->state = XT_CONN_OPEN;
		conn_update_ev(tc);
		if (c->state == XT_CONN_OPEN && c->cbs->on_connect)
			c->cbs->on_connect(c);
		if (c->sq_head)
			mark_dirty(tc);
		return;
	}
	if ((events & EPOLLERR) && (err = sock_error(tc))) {
		conn_fail(tc, err);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
		conn_read(tc, events);
	if ((events & EPOLLOUT) && tc->blocked &&
	    (c->state == XT_CONN_OPEN || c->state == XT_CONN_CLOSING)) {
		tc->blocked = false;
		conn_flush(tc);
	}
}

/* ---- connect, accept, close ---- */

static int tcp_connect(struct xt_conn *c, const struct sockaddr *sa, socklen_t salen)
{
	struct tcp_conn *tc = TC(c);
	struct tcp_group *g = TG(c->g);
	int fd;

	tc->h.kind = TCP_CONN;
	tc->h.fd = -1;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	tc->h.fd = fd;
	tc->connecting = true;
	sock_setup(g, fd, &c->opts);
	g->base.stats.syscalls += 2;
	/* A refusal that comes back at once is still reported from poll, as
	 * on_error, so callers have one path for every failure. */
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		if (errno != ECONNREFUSED && errno != ENETUNREACH && errno != EHOSTUNREACH &&
		    errno != ETIMEDOUT)
			return -errno;
		tc->early_err = -errno;
	}
	return conn_update_ev(tc);
}

static void tcp_accept(struct tcp_listener *tl)
{
	struct xt_listener *l = &tl->base;
	struct tcp_group *g = TG(l->g);
	struct xt_conn *c;
	unsigned i;
	int fd;

	for (i = 0; i < TCP_ACCEPT_MAX && !l->closed; i++) {
		g->base.stats.syscalls++;
		fd = accept4(tl->h.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or EMFILE and the like: try again on the next event */
		c = xt_conn_alloc(&g->base, &l->opts.conn);
		if (!c) {
			close(fd);
			return;
		}
		TC(c)->h.kind = TCP_CONN;
		TC(c)->h.fd = fd;
		c->state = XT_CONN_OPEN;
		sock_setup(g, fd, &c->opts);
		l->cb(l, c, l->arg);
		if (c->state == XT_CONN_OPEN && (!c->cbs || !c->cbs->on_recv))
			xt_conn_close(c, XT_CLOSE_ABORT);
		else if (c->state == XT_CONN_OPEN)
			conn_update_ev(TC(c));
	}
}

static void tcp_close_now(struct tcp_conn *tc, bool abort)
{
	struct xt_conn *c = &tc->base;

	if (tc->h.fd >= 0) {
		if (abort) { /* RST, not FIN: the peer learns at once */
			struct linger lg = {.l_onoff = 1, .l_linger = 0};

			setsockopt(tc->h.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		c->g->stats.syscalls++;
		close(tc->h.fd); /* also leaves the epoll set */
		tc->h.fd = -1;
		tc->ev = 0;
	}
	xt_conn_reap_later(c);
}

static void tcp_close(struct xt_conn *c, unsigned flags)
{
	struct tcp_conn *tc = TC(c);

	if ((flags & XT_CLOSE_ABORT) || !c->sq_head) {
		tcp_close_now(tc, flags & XT_CLOSE_ABORT);
		return;
	}
	conn_update_ev(tc); /* stop reading; the flush closes when done */
	if (!tc->blocked && !tc->connecting)
		mark_dirty(tc);
}

static int tcp_shutdown(struct xt_conn *c)
{
	c->shut_wr = true;
	if (!c->sq_head) {
		TC(c)->shut_done = true;
		c->g->stats.syscalls++;
		if (shutdown(TC(c)->h.fd, SHUT_WR) < 0)
			return -errno;
	}
	return 0;
}

static int tcp_recv_enable(struct xt_conn *c, bool on)
{
	return conn_update_ev(TC(c));
}

static int tcp_addr(struct xt_conn *c, bool peer, struct sockaddr_storage *ss, socklen_t *len)
{
	int r;

	*len = sizeof(*ss);
	r = peer ? getpeername(TC(c)->h.fd, (struct sockaddr *)ss, len)
	         : getsockname(TC(c)->h.fd, (struct sockaddr *)ss, len);
	return r < 0 ? -errno : 0;
}

static void tcp_conn_free(struct xt_conn *c)
{
	struct tcp_conn *tc = TC(c), **p;

	for (p = &TG(c->g)->dirty; *p; p = &(*p)->dirty_next)
		if (*p == tc) {
			*p = tc->dirty_next;
			break;
		}
	if (tc->h.fd >= 0)
		close(tc->h.fd);
}

/* ---- listeners ---- */

static int tcp_listen(struct xt_listener *l, const struct sockaddr *sa, socklen_t salen)
{
	struct tcp_listener *tl = (struct tcp_listener *)l;
	struct tcp_group *g = TG(l->g);
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = &tl->h};
	int one = 1, fd, err;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((l->opts.flags & XT_LISTEN_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (sa->sa_family == AF_INET6 && (l->opts.flags & XT_LISTEN_V6ONLY) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, sa, salen) < 0 || listen(fd, l->opts.backlog) < 0 ||
	    epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		goto fail;
	tl->h.kind = TCP_LISTENER;
	tl->h.fd = fd;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

static void tcp_listener_close(struct xt_listener *l)
{
	struct tcp_listener *tl = (struct tcp_listener *)l;

	close(tl->h.fd);
	tl->h.fd = -1;
}

static int tcp_listener_addr(struct xt_listener *l, struct sockaddr_storage *ss, socklen_t *len)
{
	*len = sizeof(*ss);
	return getsockname(((struct tcp_listener *)l)->h.fd, (struct sockaddr *)ss, len) < 0
	               ? -errno
	               : 0;
}

/* ---- the group ---- */

static int tcp_group_init(struct xt_group *xg)
{
	struct tcp_group *g = TG(xg);
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = &g->wake};

	g->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g->epfd < 0)
		return -errno;
	g->wake.kind = TCP_WAKE;
	g->wake.fd = xg->wake_fd;
	if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, xg->wake_fd, &e) < 0) {
		int err = -errno;

		close(g->epfd);
		return err;
	}
	return 0;
}

static void tcp_group_fini(struct xt_group *xg)
{
	struct tcp_group *g = TG(xg);
	struct tcp_chunk *k;

	while ((k = g->chunks)) {
		g->chunks = k->next;
		free(k);
	}
	close(g->epfd);
}

static int tcp_poll(struct xt_group *xg, int budget, int timeout_ms)
{
	struct tcp_group *g = TG(xg);
	struct tcp_handle *h;
	uint64_t spin_until = 0;
	int i, n, done;

	done = flush_dirty(g);
	if (done)
		timeout_ms = 0;
	if (budget > TCP_MAX_EVENTS)
		budget = TCP_MAX_EVENTS;
	if ((xg->opts.flags & XT_GROUP_BUSY_POLL) && timeout_ms != 0)
		spin_until = xt_now_ms() + (xg->opts.busy_poll_us + 999) / 1000;
	for (;;) {
		xg->stats.syscalls++;
		n = epoll_wait(g->epfd, g->evs, budget, spin_until ? 0 : timeout_ms);
		if (n < 0)
			return errno == EINTR ? done : -errno;
		if (n > 0 || !spin_until || xt_now_ms() >= spin_until)
			break;
	}
	if (n == 0 && spin_until && timeout_ms != 0) { /* spun dry: now sleep */
		xg->stats.syscalls++;
		n = epoll_wait(g->epfd, g->evs, budget, timeout_ms);
		if (n < 0)
			return errno == EINTR ? done : -errno;
	}
	for (i = 0; i < n; i++) {
		h = g->evs[i].data.ptr;
		xg->stats.events++;
		if (h->kind == TCP_WAKE)
			xt_group_wake_drain(xg);
		else if (h->kind == TCP_LISTENER)
			tcp_accept((struct tcp_listener *)((char *)h -
			                                   offsetof(struct tcp_listener, h)));
		else {
			struct tcp_conn *tc =
			        (struct tcp_conn *)((char *)h - offsetof(struct tcp_conn, h));

			if (tc->base.state != XT_CONN_DEAD && tc->base.state != XT_CONN_FAILED)
				conn_event(tc, g->evs[i].events);
		}
	}
	return done + n + flush_dirty(g);
}

static int tcp_group_fd(struct xt_group *g)
{
	return TG(g)->epfd;
}

const struct xt_ops xt_tcp_ops = {
        .name = "tcp",
        .caps = XT_CAP_BUSY_POLL | XT_CAP_IPV6 | XT_CAP_HALF_CLOSE | XT_CAP_GROUP_FD,
        .group_size = sizeof(struct tcp_group),
        .conn_size = sizeof(struct tcp_conn),
        .listener_size = sizeof(struct tcp_listener),
        .group_init = tcp_group_init,
        .group_fini = tcp_group_fini,
        .poll = tcp_poll,
        .group_fd = tcp_group_fd,
        .listen = tcp_listen,
        .listener_close = tcp_listener_close,
        .listener_addr = tcp_listener_addr,
        .connect = tcp_connect,
        .send = tcp_send,
        .recv_enable = tcp_recv_enable,
        .shutdown = tcp_shutdown,
        .close = tcp_close,
        .addr = tcp_addr,
        .conn_free = tcp_conn_free,
};
