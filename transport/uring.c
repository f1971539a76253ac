/*
 * uring: the transport on io_uring (liburing 2.3).
 *
 * Everything goes through the ring: a multishot receive per connection
 * that draws from one provided-buffer ring per group, one sendmsg per
 * gathered batch (sendmsg_zc at or above the zero-copy threshold), a
 * multishot accept per listener, connect, and a read on the group's
 * eventfd for cross-thread wake-ups. Timers stay in the group's common
 * heap; their deadline is the timeout of the wait.
 *
 * With SQPOLL a kernel thread takes the submissions, and completions are
 * reaped from shared memory, so a loaded group makes no system call per
 * I/O. Without it, one io_uring_enter per poll submits everything queued
 * and waits.
 *
 * Requests in flight outlive the connection that issued them (the caller
 * frees a connection when it likes), so their state lives in a ur_sock
 * that is freed when its last completion has come.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "transport/transport.h"

#define UR_SQ_ENTRIES 256
#define UR_CQ_ENTRIES 4096 /* several CQEs per send (ZC) and receive: keep room */
#define UR_BR_ENTRIES                                                                              \
	16 /* provided buffers in the ring (power of two); few, so they stay in cache */
#define UR_BR_GROUP     0
#define UR_BUFS_FACTOR  8 /* buffers alive at most: UR_BR_ENTRIES times this */
#define UR_IOV_MAX      256
#define UR_SQPOLL_IDLE  10 /* ms, when XT_GROUP_BUSY_POLL asks for SQPOLL without a value */
#define UR_SERVICE_MAX  100000
#define UR_ZC_THRESHOLD (64u << 10) /* not loopback: see xiscsi-transport(7) */
#define UR_ZC_OFF       UINT32_MAX

enum ur_kind { UR_WAKE = 1, UR_ACCEPT, UR_RECV, UR_SEND, UR_CONNECT };

/* What user_data points at: the kind, and the object it is embedded in. */
struct ur_op {
	enum ur_kind kind;
};

struct ur_buf {
	struct xt_rxbuf rx;
	struct uring_group *g;
	struct ur_buf *next; /* free pool, or a connection's pending list */
	uint8_t mem[];
};

struct uring_conn;

struct ur_sock {
	struct uring_conn *uc; /* NULL once the connection is freed */
	struct uring_group *g;
	int fd;
	unsigned inflight; /* requests whose last CQE has not come */
	bool abort;        /* RST when the descriptor is closed */
	struct ur_op recv_op, send_op, connect_op;
	struct ur_sock *prev, *next;  /* g->socks */
	struct sockaddr_storage peer; /* connect reads it after submission */
	struct msghdr msg;
	struct iovec iov[UR_IOV_MAX];
};

struct uring_conn {
	struct xt_conn base;
	struct ur_sock *s;
	bool connecting;
	bool recv_armed;  /* a multishot receive is in flight */
	bool recv_cancel; /* ... and its cancel too */
	bool starved;     /* the buffer ring ran dry: re-arm when buffers return */
	bool send_busy;   /* one send in flight; the next batch waits for it */
	bool zc_wait;     /* the send went zero-copy and its notification is due */
	bool dirty;
	bool shut_done;
	bool zc_ok;       /* zero-copy pays here (not loopback, or the caller insists) */
	bool eof_pending; /* FIN came behind data not yet delivered */
	int err_pending;  /* the same for an error */
	size_t zc_bytes;  /* what the zero-copy send moved, counted at notification */
	int zc_err;
	struct ur_buf *pend_head, *pend_tail; /* received, not yet delivered (paused) */
	struct uring_conn *dirty_next, *starved_next;
};

struct ur_lsock {
	struct uring_listener *ul; /* NULL once the listener is closed */
	struct uring_group *g;
	int fd;
	bool armed;
	struct ur_op op;
	struct ur_lsock *prev, *next;
};

struct uring_listener {
	struct xt_listener base;
	struct ur_lsock *ls;
};

struct uring_group {
	struct xt_group base;
	struct xt_ops ops; /* xt_uring_ops with the capabilities this kernel gives */
	struct io_uring ring;
	bool ring_ok, sqpoll, zc;
	bool spin;        /* busy polling spins before it sleeps (see ring_init) */
	bool zc_loopback; /* the threshold was chosen by the caller: loopback too */
	unsigned zc_threshold;
	struct ur_op wake_op;
	uint64_t wake_val;
	/* provided buffers */
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	struct ur_buf *slots[UR_BR_ENTRIES]; /* by buffer id; NULL when vacant */
	uint16_t vacant[UR_BR_ENTRIES];
	unsigned nvacant;
	struct ur_buf *pool;
	unsigned npool, nbufs;
	struct uring_conn *dirty, *starved;
	struct ur_sock *socks;
	struct ur_lsock *lsocks;
	struct uring_group *sq_next; /* sq_groups */
};

#define UG(g)                         ((struct uring_group *)(g))
#define UC(c)                         ((struct uring_conn *)(c))
#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

const struct xt_ops xt_uring_ops;

static void conn_close_now(struct uring_conn *uc, bool abort);
static void ur_group_fini(struct xt_group *xg);

/* Each thing this kernel lacks is said once per process, never silently. */
static void ur_note(const char *what)
{
	static unsigned said;
	static const char *seen[8];
	unsigned i;

	for (i = 0; i < said; i++)
		if (seen[i] == what)
			return;
	if (said < 8)
		seen[said++] = what;
	fprintf(stderr, "xiscsi transport uring: %s\n", what);
}

/* ---- submission: every io_uring_enter is counted ---- */

static struct io_uring_sqe *ur_sqe(struct uring_group *g)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&g->ring);
	unsigned i;

	/* Full: submit what is there and take the next. Bounded; the kernel
	 * consumes the whole SQ on each submit (SQPOLL: when its thread runs). */
	for (i = 0; !sqe && i < 1000; i++) {
		g->base.stats.syscalls++;
		io_uring_submit(&g->ring);
		/* SQPOLL: room comes when the kernel thread has taken entries. */
		if (g->sqpoll && !io_uring_sq_space_left(&g->ring)) {
			g->base.stats.syscalls++;
			io_uring_sqring_wait(&g->ring);
		}
		sqe = io_uring_get_sqe(&g->ring);
	}
	return sqe;
}

/* With COOP_TASKRUN (and TASKRUN_FLAG) the kernel raises IORING_SQ_TASKRUN
 * when completions wait for us to enter instead of interrupting us. */
static bool taskrun_pending(struct uring_group *g)
{
	return IO_URING_READ_ONCE(*g->ring.sq.kflags) & IORING_SQ_TASKRUN;
}

static bool sq_needs_enter(struct uring_group *g)
{
	if (taskrun_pending(g))
		return true;
	if (!io_uring_sq_ready(&g->ring))
		return false;
	if (!g->sqpoll)
		return true;
	/* liburing enters only to wake a sleeping SQPOLL thread. */
	return IO_URING_READ_ONCE(*g->ring.sq.kflags) & IORING_SQ_NEED_WAKEUP;
}

static int ur_submit(struct uring_group *g)
{
	int r;

	if (!sq_needs_enter(g))
		return 0;
	g->base.stats.syscalls++;
	r = io_uring_submit(&g->ring);
	if (r == -EEXIST) {
		ur_note("a group was driven from a thread other than the one that polls it; "
		        "its submissions wait for that thread");
		return 0;
	}
	return r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY ? r : 0;
}

static void op_prep(struct uring_group *g, struct io_uring_sqe *sqe, struct ur_op *op)
{
	io_uring_sqe_set_data(sqe, op);
}

/* Cancel every request on fd; its result is not wanted (user_data 0). */
static void cancel_fd(struct uring_group *g, int fd)
{
	struct io_uring_sqe *sqe = ur_sqe(g);

	if (!sqe)
		return;
	io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data64(sqe, 0);
}

/* ---- provided buffers: the ring holds UR_BR_ENTRIES; a buffer the consumer
 * keeps past its callback is replaced at once from the pool, so held
 * buffers do not starve the ring (up to UR_BUFS_FACTOR times its size) ---- */

static void br_refill(struct uring_group *g)
{
	int mask = io_uring_buf_ring_mask(UR_BR_ENTRIES);
	struct ur_buf *b;
	uint16_t bid;

	while (g->nvacant) {
		if ((b = g->pool)) {
			g->pool = b->next;
			g->npool--;
		} else if (g->nbufs < UR_BR_ENTRIES * UR_BUFS_FACTOR) {
			b = malloc(sizeof(*b) + g->base.opts.rx_buf_size);
			if (!b)
				return;
			b->g = g;
			b->rx.data = b->mem;
			b->rx.free = NULL;
			g->nbufs++;
		} else {
			return; /* all lent out: wait for releases */
		}
		bid = g->vacant[--g->nvacant];
		g->slots[bid] = b;
		io_uring_buf_ring_add(g->br, b->mem, g->base.opts.rx_buf_size, bid, mask, 0);
		io_uring_buf_ring_advance(g->br, 1);
	}
}

static void buf_free(struct xt_rxbuf *rx)
{
	struct ur_buf *b = container_of(rx, struct ur_buf, rx);
	struct uring_group *g = b->g;

	b->next = g->pool;
	g->pool = b;
	g->npool++;
	br_refill(g);
}

static struct ur_buf *buf_take(struct uring_group *g, unsigned flags)
{
	unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
	struct ur_buf *b;

	if (!(flags & IORING_CQE_F_BUFFER) || bid >= UR_BR_ENTRIES || !g->slots[bid])
		return NULL;
	b = g->slots[bid];
	g->slots[bid] = NULL;
	g->vacant[g->nvacant++] = bid;
	b->rx.refs = 1;
	b->rx.free = buf_free;
	b->next = NULL;
	return b;
}

static int br_setup(struct uring_group *g)
{
	struct io_uring_buf_reg reg = {0};
	unsigned i;
	int r;

	g->br_bytes = UR_BR_ENTRIES * sizeof(struct io_uring_buf);
	g->br = mmap(NULL, g->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (g->br == MAP_FAILED) {
		g->br = NULL;
		return -errno;
	}
	io_uring_buf_ring_init(g->br);
	reg.ring_addr = (uintptr_t)g->br;
	reg.ring_entries = UR_BR_ENTRIES;
	reg.bgid = UR_BR_GROUP;
	r = io_uring_register_buf_ring(&g->ring, &reg, 0);
	if (r < 0)
		return r;
	for (i = 0; i < UR_BR_ENTRIES; i++)
		g->vacant[g->nvacant++] = UR_BR_ENTRIES - 1 - i;
	br_refill(g);
	return g->nvacant ? -ENOMEM : 0;
}

/* ---- sockets and their lifetime ---- */

static struct ur_sock *sock_new(struct uring_group *g, struct uring_conn *uc, int fd)
{
	struct ur_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->uc = uc;
	s->g = g;
	s->fd = fd;
	s->recv_op.kind = UR_RECV;
	s->send_op.kind = UR_SEND;
	s->connect_op.kind = UR_CONNECT;
	s->next = g->socks;
	if (g->socks)
		g->socks->prev = s;
	g->socks = s;
	uc->s = s;
	return s;
}

static void sock_close_fd(struct uring_group *g, struct ur_sock *s)
{
	if (s->fd < 0)
		return;
	if (s->abort) { /* RST, not FIN: the peer learns at once */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		g->base.stats.syscalls++;
	}
	g->base.stats.syscalls++;
	close(s->fd);
	s->fd = -1;
}

static void sock_unlink_free(struct uring_group *g, struct ur_sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		g->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

/* The connection is gone and nothing is in flight: the descriptor can go. */
static void sock_maybe_free(struct ur_sock *s)
{
	if (s->uc || s->inflight)
		return;
	sock_close_fd(s->g, s);
	sock_unlink_free(s->g, s);
}

/* ---- connection plumbing ---- */

static void kick(struct uring_conn *uc)
{
	struct uring_group *g = UG(uc->base.g);

	if (uc->dirty)
		return;
	uc->dirty = true;
	uc->dirty_next = g->dirty;
	g->dirty = uc;
}

static void conn_fail(struct uring_conn *uc, int err)
{
	xt_conn_fail(&uc->base, err);
	/* After on_error nothing more should come: stop the ring's requests. */
	if (uc->base.state == XT_CONN_FAILED && uc->s->inflight)
		cancel_fd(UG(uc->base.g), uc->s->fd);
}

static void conn_eof(struct uring_conn *uc)
{
	struct xt_conn *c = &uc->base;

	c->eof_seen = true;
	if (c->cbs->on_eof)
		c->cbs->on_eof(c);
}

/* Zero-copy to a local socket is copied on delivery anyway, and then pays
 * for the page pinning and the notification on top: measured, it loses at
 * every size on loopback (xiscsi-transport(7)). */
static bool is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
		       (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		        sin6->sin6_addr.s6_addr[12] == 127);
	return false;
}

static void zc_decide(struct uring_conn *uc, const struct sockaddr *peer)
{
	struct uring_group *g = UG(uc->base.g);

	uc->zc_ok = g->zc && (g->zc_loopback || !peer || !is_loopback(peer));
}

static void sock_setup(struct uring_group *g, int fd, const struct xt_conn_opts *o)
{
	int one = 1;

	if (!(o->flags & XT_CONN_NO_NODELAY))
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof(o->sndbuf));
	if (o->rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof(o->rcvbuf));
}

/* ---- receive ---- */

static bool want_recv(const struct uring_conn *uc)
{
	const struct xt_conn *c = &uc->base;

	return c->state == XT_CONN_OPEN && c->cbs && !c->recv_paused && !c->eof_seen &&
	       !uc->eof_pending && !uc->err_pending && !uc->pend_head && !uc->connecting;
}

static void recv_arm(struct uring_conn *uc)
{
	struct uring_group *g = UG(uc->base.g);
	struct io_uring_sqe *sqe;

	if (g->nvacant == UR_BR_ENTRIES) { /* ring empty: wait for a release */
		if (!uc->starved) {
			uc->starved = true;
			uc->starved_next = g->starved;
			g->starved = uc;
		}
		return;
	}
	sqe = ur_sqe(g);
	if (!sqe)
		return;
	io_uring_prep_recv_multishot(sqe, uc->s->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UR_BR_GROUP;
	op_prep(g, sqe, &uc->s->recv_op);
	uc->s->inflight++;
	uc->recv_armed = true;
	uc->base.stats.rx_calls++;
}

static void deliver(struct uring_conn *uc, struct ur_buf *b)
{
	struct xt_conn *c = &uc->base;

	c->cbs->on_recv(c, &b->rx);
	xt_rxbuf_release(&b->rx);
}

static void deliver_pending(struct uring_conn *uc)
{
	struct xt_conn *c = &uc->base;
	struct ur_buf *b;

	while ((b = uc->pend_head) && c->state == XT_CONN_OPEN && !c->recv_paused) {
		uc->pend_head = b->next;
		if (!uc->pend_head)
			uc->pend_tail = NULL;
		deliver(uc, b);
	}
	if (uc->pend_head || c->state != XT_CONN_OPEN || c->recv_paused)
		return;
	if (uc->err_pending) {
		int err = uc->err_pending;

		uc->err_pending = 0;
		conn_fail(uc, err);
	} else if (uc->eof_pending) {
		uc->eof_pending = false;
		conn_eof(uc);
	}
}

static void pend_drop(struct uring_conn *uc)
{
	struct ur_buf *b;

	while ((b = uc->pend_head)) {
		uc->pend_head = b->next;
		xt_rxbuf_release(&b->rx);
	}
	uc->pend_tail = NULL;
}

static void on_recv_cqe(struct uring_group *g, struct ur_sock *s, int res, unsigned flags)
{
	struct uring_conn *uc = s->uc;
	struct ur_buf *b = buf_take(g, flags);
	struct xt_conn *c;

	if (!(flags & IORING_CQE_F_MORE)) {
		s->inflight--;
		if (uc)
			uc->recv_armed = uc->recv_cancel = false;
	}
	if (!uc || uc->base.state != XT_CONN_OPEN) {
		if (b)
			xt_rxbuf_release(&b->rx);
		if (!uc)
			sock_maybe_free(s);
		return;
	}
	c = &uc->base;
	if (res > 0 && b) {
		b->rx.len = (size_t)res;
		c->stats.rx_bytes += res;
		g->base.stats.rx_bytes += res;
		/* In order: behind what waits, or while paused, it waits too. */
		if (uc->pend_head || c->recv_paused || !c->cbs) {
			if (uc->pend_tail)
				uc->pend_tail->next = b;
			else
				uc->pend_head = b;
			uc->pend_tail = b;
		} else {
			deliver(uc, b);
		}
	} else if (b) {
		xt_rxbuf_release(&b->rx);
	}
	if (res == 0) {
		if (uc->pend_head || c->recv_paused)
			uc->eof_pending = true;
		else
			conn_eof(uc);
	} else if (res == -ENOBUFS) {
		/* The ring ran dry (buffers still with the consumer or queued
		 * for delivery): re-arm once one comes back, never spin. */
		if (!uc->starved) {
			uc->starved = true;
			uc->starved_next = g->starved;
			g->starved = uc;
		}
	} else if (res < 0 && res != -ECANCELED) {
		if (uc->pend_head || c->recv_paused)
			uc->err_pending = res;
		else
			conn_fail(uc, res);
	}
	if (!uc->recv_armed && uc->base.state == XT_CONN_OPEN)
		kick(uc);
}

/* ---- send ---- */

/* One SQE for everything queued: the batch of this poll goes out together. */
static void send_flush(struct uring_conn *uc)
{
	struct xt_conn *c = &uc->base;
	struct uring_group *g = UG(c->g);
	struct ur_sock *s = uc->s;
	struct io_uring_sqe *sqe;
	size_t total;
	unsigned k;

	if (uc->send_busy || uc->connecting)
		return;
	k = xt_conn_gather(c, s->iov, UR_IOV_MAX, &total);
	if (!k) {
		if (c->shut_wr && !uc->shut_done) {
			uc->shut_done = true;
			g->base.stats.syscalls++;
			shutdown(s->fd, SHUT_WR);
		}
		if (c->state == XT_CONN_CLOSING)
			conn_close_now(uc, false);
		return;
	}
	sqe = ur_sqe(g);
	if (!sqe)
		return;
	memset(&s->msg, 0, sizeof(s->msg));
	s->msg.msg_iov = s->iov;
	s->msg.msg_iovlen = k;
	if (uc->zc_ok && total >= g->zc_threshold) {
		io_uring_prep_sendmsg_zc(sqe, s->fd, &s->msg, MSG_NOSIGNAL);
		uc->zc_wait = true;
	} else {
		io_uring_prep_sendmsg(sqe, s->fd, &s->msg, MSG_NOSIGNAL);
	}
	op_prep(g, sqe, &s->send_op);
	s->inflight++;
	uc->send_busy = true;
	c->stats.tx_calls++;
}

static void send_done(struct uring_conn *uc, int res)
{
	struct xt_conn *c = &uc->base;

	uc->send_busy = false;
	if (c->state != XT_CONN_OPEN && c->state != XT_CONN_CLOSING)
		return;
	if (res < 0) {
		conn_fail(uc, res == -ECANCELED ? -EPIPE : res);
		return;
	}
	xt_conn_sent(c, (size_t)res);
	if (c->state == XT_CONN_OPEN || c->state == XT_CONN_CLOSING)
		kick(uc);
}

static void on_send_cqe(struct uring_group *g, struct ur_sock *s, int res, unsigned flags)
{
	struct uring_conn *uc = s->uc;

	if (flags & IORING_CQE_F_NOTIF) {
		/* The kernel is done with the caller's memory only now. */
		s->inflight--;
		if (!uc) {
			sock_maybe_free(s);
			return;
		}
		uc->zc_wait = false;
		send_done(uc, uc->zc_err ? uc->zc_err : (int)uc->zc_bytes);
		return;
	}
	if (flags & IORING_CQE_F_MORE) { /* zero-copy: a notification follows */
		if (uc) {
			uc->zc_bytes = res > 0 ? (size_t)res : 0;
			uc->zc_err = res < 0 ? res : 0;
		}
		return;
	}
	s->inflight--;
	if (!uc) {
		sock_maybe_free(s);
		return;
	}
	uc->zc_wait = false;
	send_done(uc, res);
}

static int ur_send(struct xt_conn *c, struct xt_send_req *req)
{
	if (c->state == XT_CONN_OPEN)
		kick(UC(c));
	return 0;
}

/* ---- connect, accept, close ---- */

static int ur_connect(struct xt_conn *c, const struct sockaddr *sa, socklen_t salen)
{
	struct uring_conn *uc = UC(c);
	struct uring_group *g = UG(c->g);
	struct io_uring_sqe *sqe;
	int fd;

	/* Blocking: io_uring waits by itself, and O_NONBLOCK would only turn
	 * its waits into errors. */
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	g->base.stats.syscalls++;
	if (fd < 0)
		return -errno;
	if (!sock_new(g, uc, fd)) {
		close(fd);
		return -ENOMEM;
	}
	sock_setup(g, fd, &c->opts);
	if (salen > sizeof(uc->s->peer))
		return -EINVAL;
	memcpy(&uc->s->peer, sa, salen);
	zc_decide(uc, sa);
	sqe = ur_sqe(g);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&uc->s->peer, salen);
	op_prep(g, sqe, &uc->s->connect_op);
	uc->s->inflight++;
	uc->connecting = true;
	return 0;
}

static void on_connect_cqe(struct uring_group *g, struct ur_sock *s, int res)
{
	struct uring_conn *uc = s->uc;
	struct xt_conn *c;

	s->inflight--;
	if (!uc) {
		sock_maybe_free(s);
		return;
	}
	c = &uc->base;
	uc->connecting = false;
	if (c->state != XT_CONN_CONNECTING && c->state != XT_CONN_CLOSING)
		return;
	if (res < 0) {
		conn_fail(uc, res);
		return;
	}
	if (c->state == XT_CONN_CONNECTING) {
		c->state = XT_CONN_OPEN;
		if (c->cbs->on_connect)
			c->cbs->on_connect(c);
	}
	if (c->state == XT_CONN_OPEN || c->state == XT_CONN_CLOSING)
		kick(uc);
}

static void lsock_maybe_free(struct uring_group *g, struct ur_lsock *ls)
{
	if (ls->ul || ls->armed)
		return;
	if (ls->fd >= 0) {
		g->base.stats.syscalls++;
		close(ls->fd);
	}
	if (ls->prev)
		ls->prev->next = ls->next;
	else
		g->lsocks = ls->next;
	if (ls->next)
		ls->next->prev = ls->prev;
	free(ls);
}

static void accept_arm(struct uring_group *g, struct ur_lsock *ls)
{
	struct io_uring_sqe *sqe = ur_sqe(g);

	if (!sqe)
		return;
	io_uring_prep_multishot_accept(sqe, ls->fd, NULL, NULL, SOCK_CLOEXEC);
	op_prep(g, sqe, &ls->op);
	ls->armed = true;
}

static void on_accept_cqe(struct uring_group *g, struct ur_lsock *ls, int res, unsigned flags)
{
	struct xt_listener *l = ls->ul ? &ls->ul->base : NULL;
	struct xt_conn *c;

	if (!(flags & IORING_CQE_F_MORE))
		ls->armed = false;
	if (res >= 0 && (!l || l->closed)) {
		g->base.stats.syscalls++;
		close(res);
	} else if (res >= 0) {
		c = xt_conn_alloc(&g->base, &l->opts.conn);
		if (!c || !sock_new(g, UC(c), res)) {
			if (c) {
				c->state = XT_CONN_OPEN;
				xt_conn_reap_later(c);
			}
			close(res);
		} else {
			struct sockaddr_storage peer;
			socklen_t plen = sizeof(peer);

			c->state = XT_CONN_OPEN;
			sock_setup(g, res, &c->opts);
			if (g->zc && !g->zc_loopback) {
				g->base.stats.syscalls++;
				zc_decide(UC(c), getpeername(res, (struct sockaddr *)&peer, &plen)
				                         ? NULL
				                         : (struct sockaddr *)&peer);
			} else {
				zc_decide(UC(c), NULL);
			}
			l->cb(l, c, l->arg);
			if (c->state == XT_CONN_OPEN && (!c->cbs || !c->cbs->on_recv))
				xt_conn_close(c, XT_CLOSE_ABORT);
			else if (c->state == XT_CONN_OPEN)
				kick(UC(c)); /* receiving starts now the accept callback is done */
		}
	} else if (res != -ECANCELED) {
		ur_note("accept failed; the listener re-arms");
	}
	if (!ls->armed && ls->ul && !ls->ul->base.closed && res != -ECANCELED)
		accept_arm(g, ls);
	lsock_maybe_free(g, ls);
}

static void conn_close_now(struct uring_conn *uc, bool abort)
{
	struct ur_sock *s = uc->s;

	if (s) {
		s->abort = abort;
		if (s->inflight)
			cancel_fd(UG(uc->base.g), s->fd);
	}
	xt_conn_reap_later(&uc->base);
}

static void ur_close(struct xt_conn *c, unsigned flags)
{
	struct uring_conn *uc = UC(c);

	if (!uc->s || (flags & XT_CLOSE_ABORT) || (!c->sq_head && !uc->send_busy)) {
		conn_close_now(uc, flags & XT_CLOSE_ABORT);
		return;
	}
	/* Stop reading; the flush closes when the queue is out. */
	if (uc->recv_armed && !uc->recv_cancel) {
		struct io_uring_sqe *sqe = ur_sqe(UG(c->g));

		if (sqe) {
			io_uring_prep_cancel(sqe, &uc->s->recv_op, 0);
			io_uring_sqe_set_data64(sqe, 0);
			uc->recv_cancel = true;
		}
	}
	kick(uc);
}

static int ur_shutdown(struct xt_conn *c)
{
	struct uring_conn *uc = UC(c);

	c->shut_wr = true;
	if (!c->sq_head && !uc->send_busy && !uc->connecting) {
		uc->shut_done = true;
		c->g->stats.syscalls++;
		if (shutdown(uc->s->fd, SHUT_WR) < 0)
			return -errno;
	}
	return 0;
}

static int ur_recv_enable(struct xt_conn *c, bool on)
{
	struct uring_conn *uc = UC(c);
	struct io_uring_sqe *sqe;

	if (on) {
		kick(uc); /* pending data and the re-arm, from the next poll */
		return 0;
	}
	/* Paused: take the receive back so the socket buffer fills and the
	 * peer feels it. What comes before the cancel lands waits in order. */
	if (uc->recv_armed && !uc->recv_cancel) {
		sqe = ur_sqe(UG(c->g));
		if (!sqe)
			return -EBUSY;
		io_uring_prep_cancel(sqe, &uc->s->recv_op, 0);
		io_uring_sqe_set_data64(sqe, 0);
		uc->recv_cancel = true;
	}
	return 0;
}

static int ur_addr(struct xt_conn *c, bool peer, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = UC(c)->s ? UC(c)->s->fd : -1;
	int r;

	*len = sizeof(*ss);
	r = peer ? getpeername(fd, (struct sockaddr *)ss, len)
	         : getsockname(fd, (struct sockaddr *)ss, len);
	return r < 0 ? -errno : 0;
}

static void list_remove(struct uring_conn **head, struct uring_conn *uc, bool starved)
{
	struct uring_conn **p;

	for (p = head; *p; p = starved ? &(*p)->starved_next : &(*p)->dirty_next)
		if (*p == uc) {
			*p = starved ? uc->starved_next : uc->dirty_next;
			return;
		}
}

static void ur_conn_free(struct xt_conn *c)
{
	struct uring_conn *uc = UC(c);
	struct uring_group *g = UG(c->g);
	struct ur_sock *s = uc->s;

	if (uc->dirty)
		list_remove(&g->dirty, uc, false);
	if (uc->starved)
		list_remove(&g->starved, uc, true);
	pend_drop(uc);
	if (!s)
		return;
	s->uc = NULL;
	if (s->inflight && s->fd >= 0)
		cancel_fd(g, s->fd);
	sock_maybe_free(s);
}

/* ---- listeners ---- */

static int ur_listen(struct xt_listener *l, const struct sockaddr *sa, socklen_t salen)
{
	struct uring_listener *ul = (struct uring_listener *)l;
	struct uring_group *g = UG(l->g);
	struct ur_lsock *ls;
	int one = 1, fd, err;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((l->opts.flags & XT_LISTEN_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (sa->sa_family == AF_INET6 && (l->opts.flags & XT_LISTEN_V6ONLY) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, sa, salen) < 0 || listen(fd, l->opts.backlog) < 0)
		goto fail;
	ls = calloc(1, sizeof(*ls));
	if (!ls) {
		errno = ENOMEM;
		goto fail;
	}
	ls->ul = ul;
	ls->g = g;
	ls->fd = fd;
	ls->op.kind = UR_ACCEPT;
	ls->next = g->lsocks;
	if (g->lsocks)
		g->lsocks->prev = ls;
	g->lsocks = ls;
	ul->ls = ls;
	accept_arm(g, ls);
	return ur_submit(g);
fail:
	err = -errno;
	close(fd);
	return err;
}

static void ur_listener_close(struct xt_listener *l)
{
	struct uring_listener *ul = (struct uring_listener *)l;
	struct ur_lsock *ls = ul->ls;
	struct uring_group *g = UG(l->g);
	struct io_uring_sqe *sqe;

	ls->ul = NULL;
	ul->ls = NULL;
	if (ls->armed && (sqe = ur_sqe(g))) {
		io_uring_prep_cancel(sqe, &ls->op, 0);
		io_uring_sqe_set_data64(sqe, 0);
	}
	lsock_maybe_free(g, ls);
	ur_submit(g);
}

static int ur_listener_addr(struct xt_listener *l, struct sockaddr_storage *ss, socklen_t *len)
{
	struct uring_listener *ul = (struct uring_listener *)l;

	*len = sizeof(*ss);
	if (!ul->ls)
		return -EBADF;
	return getsockname(ul->ls->fd, (struct sockaddr *)ss, len) < 0 ? -errno : 0;
}

/* ---- the group ---- */

static void wake_arm(struct uring_group *g)
{
	struct io_uring_sqe *sqe = ur_sqe(g);

	if (!sqe)
		return;
	io_uring_prep_read(sqe, g->base.wake_fd, &g->wake_val, sizeof(g->wake_val), 0);
	op_prep(g, sqe, &g->wake_op);
}

static const char *disabled_why(void)
{
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	int v = 0;

	if (!f)
		return NULL;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	if (v == 2)
		return "io_uring is disabled on this host (sysctl kernel.io_uring_disabled=2)";
	if (v == 1)
		return "io_uring is restricted on this host (sysctl kernel.io_uring_disabled=1: "
		       "root or kernel.io_uring_group only)";
	return NULL;
}

/* The SQPOLL groups of this process share one kernel submission thread
 * (IORING_SETUP_ATTACH_WQ): one spinning thread per group would take a
 * core each, more than small hosts have. */
static pthread_mutex_t sq_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uring_group *sq_groups;

static void sq_group_del(struct uring_group *g)
{
	struct uring_group **p;

	pthread_mutex_lock(&sq_lock);
	for (p = &sq_groups; *p; p = &(*p)->sq_next)
		if (*p == g) {
			*p = g->sq_next;
			break;
		}
	pthread_mutex_unlock(&sq_lock);
}

static int ring_try(struct uring_group *g, unsigned flags, unsigned idle)
{
	struct io_uring_params p = {0};
	int r;

	p.flags = IORING_SETUP_CQSIZE | flags;
	p.cq_entries = UR_CQ_ENTRIES;
	p.sq_thread_idle = idle;
	if (flags & IORING_SETUP_SQPOLL) {
		pthread_mutex_lock(&sq_lock);
		if (sq_groups) {
			p.flags |= IORING_SETUP_ATTACH_WQ;
			p.wq_fd = (unsigned)sq_groups->ring.ring_fd;
		}
		r = io_uring_queue_init_params(UR_SQ_ENTRIES, &g->ring, &p);
		if (r == 0) {
			g->sq_next = sq_groups;
			sq_groups = g;
		}
		pthread_mutex_unlock(&sq_lock);
		return r;
	}
	r = io_uring_queue_init_params(UR_SQ_ENTRIES, &g->ring, &p);
	if (r == 0 && !(p.features & IORING_FEAT_FAST_POLL))
		ur_note("this kernel lacks IORING_FEAT_FAST_POLL: socket waits go through "
		        "worker threads (slower)");
	return r;
}

static int usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set);
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* Interrupt mode: completions run without interrupting a running thread
 * (COOP_TASKRUN, 5.19); in a VM each such interrupt is an IPI. Not
 * DEFER_TASKRUN: it binds the ring to one issuer thread (a group may be
 * made on one thread and polled on another), and completions it defers
 * do not make the ring descriptor readable, which XT_CAP_GROUP_FD needs. */
static int ring_init(struct uring_group *g)
{
	unsigned idle = g->base.opts.sqpoll_idle_ms;
	const char *why;
	int r;

	if (!idle && (g->base.opts.flags & XT_GROUP_BUSY_POLL))
		idle = UR_SQPOLL_IDLE;
	if (idle) {
		r = ring_try(g, IORING_SETUP_SQPOLL, idle);
		if (r == 0) {
			g->sqpoll = true;
			/* The SQPOLL thread submits for us and runs the
			 * completions' task work. Spinning here as well needs a
			 * CPU for each: with fewer, the spinners starve it (on 2
			 * CPUs, 8k requests/s where sleeping gives 370k). */
			g->spin = usable_cpus() >= 3;
			if (!g->spin)
				ur_note("SQPOLL on fewer than 3 usable CPUs: the kernel thread "
				        "polls, and this thread sleeps between completions "
				        "instead of spinning");
			return 0;
		}
		ur_note("SQPOLL refused by the kernel; this group runs in interrupt mode "
		        "(one io_uring_enter per poll)");
	}
	g->spin = true;
	r = ring_try(g, IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, 0);
	if (r == 0)
		return 0;
	if (r != -EINVAL)
		goto fail;
	ur_note("no IORING_SETUP_COOP_TASKRUN (kernel before 5.19): completions "
	        "interrupt the polling thread");
	r = ring_try(g, 0, 0);
	if (r == 0)
		return 0;
fail:
	why = disabled_why();
	fprintf(stderr, "xiscsi transport uring: cannot create an io_uring: %s%s%s\n", strerror(-r),
	        why ? "; " : "", why ? why : "");
	return r;
}

/* NAPI busy polling (IORING_REGISTER_NAPI, Linux 6.9): while the group
 * waits for completions the kernel polls the receive queues its sockets
 * were last served by, instead of sleeping until their interrupt. liburing
 * 2.3 has no io_uring_register_napi() (2.6 has), so the register call is
 * made here; the layout is the kernel's struct io_uring_napi, all zero but
 * the time (the default "track the sockets' NAPI ids as they receive"). */
#define UR_REGISTER_NAPI 27
struct ur_napi {
	uint32_t busy_poll_to; /* microseconds */
	uint8_t prefer_busy_poll;
	uint8_t opcode, pad[2];
	uint32_t op_param, resv;
};

static void napi_register(struct uring_group *g)
{
	struct ur_napi napi = {.busy_poll_to = g->base.opts.busy_poll_us};

	if (syscall(__NR_io_uring_register, g->ring.ring_fd, UR_REGISTER_NAPI, &napi, 1) == 0) {
		g->ops.caps |= XT_CAP_NAPI;
		return;
	}
	if (errno == EINVAL || errno == EOPNOTSUPP)
		ur_note("this kernel has no io_uring NAPI busy polling (6.9 or later): the "
		        "group sleeps until its sockets' interrupts");
	else
		fprintf(stderr, "xiscsi transport uring: NAPI busy polling refused: %s\n",
		        strerror(errno));
}

static int ur_group_init(struct xt_group *xg)
{
	struct uring_group *g = UG(xg);
	struct io_uring_probe *probe;
	int r;

	g->ops = xt_uring_ops;
	r = ring_init(g);
	if (r < 0)
		return r;
	g->ring_ok = true;
	/* No io_uring_register_ring_fd(): a registered ring descriptor belongs
	 * to the registering thread, and a group may be made on one thread and
	 * polled on another. */
	r = br_setup(g);
	if (r < 0) {
		fprintf(stderr,
		        "xiscsi transport uring: provided buffer rings are not available (%s); "
		        "this kernel is too old for the uring backend (5.19 or later), use tcp\n",
		        strerror(-r));
		ur_group_fini(xg); /* xt_group_new() does not call it when init fails */
		return r == -EINVAL ? -EOPNOTSUPP : r;
	}
	probe = io_uring_get_probe_ring(&g->ring);
	g->zc = probe && io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC);
	if (probe)
		io_uring_free_probe(probe);
	g->zc_threshold = xg->opts.zc_threshold ? xg->opts.zc_threshold : UR_ZC_THRESHOLD;
	g->zc_loopback = xg->opts.zc_threshold != 0;
	if (g->zc_threshold == UR_ZC_OFF)
		g->zc = false;
	else if (!g->zc)
		ur_note("this kernel has no IORING_OP_SENDMSG_ZC: every send is copied");
	if (g->zc)
		g->ops.caps |= XT_CAP_ZEROCOPY_SEND;
	if (xg->opts.flags & XT_GROUP_BUSY_POLL)
		napi_register(g);
	if (g->sqpoll)
		g->ops.caps |= XT_CAP_NO_SYSCALL | XT_CAP_BUSY_POLL;
	else if (xg->opts.flags & XT_GROUP_BUSY_POLL)
		g->ops.caps |= XT_CAP_BUSY_POLL; /* we still spin before sleeping */
	xg->ops = &g->ops;
	g->wake_op.kind = UR_WAKE;
	wake_arm(g);
	return ur_submit(g);
}

static void ur_group_fini(struct xt_group *xg)
{
	struct uring_group *g = UG(xg);
	struct ur_sock *s;
	struct ur_lsock *ls;
	struct ur_buf *b;
	unsigned i;

	/* Exiting the ring cancels what is in flight; only then may the
	 * memory the kernel writes into go. */
	if (g->sqpoll)
		sq_group_del(g);
	if (g->ring_ok)
		io_uring_queue_exit(&g->ring);
	while ((s = g->socks)) {
		if (s->uc)
			s->uc->s = NULL;
		sock_close_fd(g, s);
		sock_unlink_free(g, s);
	}
	while ((ls = g->lsocks)) {
		g->lsocks = ls->next;
		if (ls->ul)
			ls->ul->ls = NULL;
		close(ls->fd);
		free(ls);
	}
	for (i = 0; i < UR_BR_ENTRIES; i++)
		free(g->slots[i]);
	while ((b = g->pool)) {
		g->pool = b->next;
		free(b);
	}
	if (g->br)
		munmap(g->br, g->br_bytes);
}

static void service(struct uring_conn *uc)
{
	struct xt_conn *c = &uc->base;

	if (uc->pend_head || uc->eof_pending || uc->err_pending)
		deliver_pending(uc);
	if (c->state == XT_CONN_DEAD || !uc->s)
		return;
	if (want_recv(uc) && !uc->recv_armed && !uc->starved)
		recv_arm(uc);
	if ((c->state == XT_CONN_OPEN || c->state == XT_CONN_CLOSING) && !uc->connecting)
		send_flush(uc);
}

static int service_dirty(struct uring_group *g)
{
	struct uring_conn *uc;
	int n = 0;

	/* Buffers came back: the starved re-arm now. */
	if (g->starved && g->nvacant < UR_BR_ENTRIES) {
		while ((uc = g->starved)) {
			g->starved = uc->starved_next;
			uc->starved = false;
			kick(uc);
		}
	}
	while ((uc = g->dirty) && n < UR_SERVICE_MAX) {
		g->dirty = uc->dirty_next;
		uc->dirty = false;
		service(uc);
		n++;
	}
	return n;
}

static void dispatch(struct uring_group *g, struct ur_op *op, int res, unsigned flags)
{
	switch (op->kind) {
	case UR_WAKE:
		if (res < 0 && res != -EINTR) { /* never loop on a failing read */
			ur_note("the wake-up eventfd read failed; cross-thread posts now wait for "
			        "the next I/O or timer");
			break;
		}
		g->base.stats.wakeups++;
		wake_arm(g);
		break;
	case UR_ACCEPT:
		on_accept_cqe(g, container_of(op, struct ur_lsock, op), res, flags);
		break;
	case UR_RECV:
		on_recv_cqe(g, container_of(op, struct ur_sock, recv_op), res, flags);
		break;
	case UR_SEND:
		on_send_cqe(g, container_of(op, struct ur_sock, send_op), res, flags);
		break;
	case UR_CONNECT:
		on_connect_cqe(g, container_of(op, struct ur_sock, connect_op), res);
		break;
	}
}

/* Wait for a completion: spin first when asked to (busy polling), then
 * one io_uring_enter that also submits what is queued. */
static int ur_wait(struct uring_group *g, int timeout_ms)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	uint64_t until;
	unsigned spins;
	int r;

	if (io_uring_cq_ready(&g->ring) || timeout_ms == 0)
		return ur_submit(g);
	if ((g->base.opts.flags & XT_GROUP_BUSY_POLL) && g->spin) {
		r = ur_submit(g);
		if (r < 0)
			return r;
		until = xt_now_ms() + (g->base.opts.busy_poll_us + 999) / 1000;
		for (spins = 0;
		     !io_uring_cq_ready(&g->ring) && !taskrun_pending(g) && spins < 1000000;
		     spins++)
			if ((spins & 63) == 0 && xt_now_ms() >= until)
				break;
		if (io_uring_cq_ready(&g->ring) || taskrun_pending(g))
			return ur_submit(g);
	}
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
	g->base.stats.syscalls++;
	r = io_uring_submit_and_wait_timeout(&g->ring, &cqe, 1, timeout_ms < 0 ? NULL : &ts, NULL);
	if (r == -ETIME || r == -EINTR || r == -EAGAIN || r == -EBUSY)
		return 0;
	return r < 0 ? r : 0;
}

static int ur_poll(struct xt_group *xg, int budget, int timeout_ms)
{
	struct uring_group *g = UG(xg);
	struct io_uring_cqe *cqe;
	struct ur_op *op;
	unsigned flags;
	int n, res, r, i;

	n = service_dirty(g);
	if (n)
		timeout_ms = 0;
	r = ur_wait(g, timeout_ms);
	if (r < 0)
		return r;
	/* One CQE at a time, marked seen before its handler runs: handlers
	 * queue SQEs and return buffers, and may close what the next names. */
	for (i = 0; i < budget && io_uring_peek_cqe(&g->ring, &cqe) == 0; i++) {
		op = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		flags = cqe->flags;
		io_uring_cqe_seen(&g->ring, cqe);
		xg->stats.events++;
		if (op)
			dispatch(g, op, res, flags);
	}
	n += i + service_dirty(g);
	r = ur_submit(g);
	return r < 0 ? r : n;
}

static int ur_group_fd(struct xt_group *xg)
{
	return UG(xg)->ring.ring_fd;
}

const struct xt_ops xt_uring_ops = {
        .name = "uring",
        .caps = XT_CAP_MULTISHOT_RECV | XT_CAP_IPV6 | XT_CAP_HALF_CLOSE | XT_CAP_GROUP_FD,
        .group_size = sizeof(struct uring_group),
        .conn_size = sizeof(struct uring_conn),
        .listener_size = sizeof(struct uring_listener),
        .group_init = ur_group_init,
        .group_fini = ur_group_fini,
        .poll = ur_poll,
        .group_fd = ur_group_fd,
        .listen = ur_listen,
        .listener_close = ur_listener_close,
        .listener_addr = ur_listener_addr,
        .connect = ur_connect,
        .send = ur_send,
        .recv_enable = ur_recv_enable,
        .shutdown = ur_shutdown,
        .close = ur_close,
        .addr = ur_addr,
        .conn_free = ur_conn_free,
};
