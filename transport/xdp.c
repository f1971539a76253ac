/*
 * The xdp backend: one queue of a network interface driven from user space
 * through an AF_XDP socket, with TCP/IP run by the utcp engine (utcp.h) in
 * the group's own poll loop. No kernel network stack touches the frames of
 * this stack's flows.
 *
 * Per group:
 *  - a UMEM of xdp-frames frames (4 KiB each): the first half receives
 *    (fill ring -> RX ring -> engine -> back to the fill ring when the last
 *    reference goes), the second half transmits (free list -> tx_alloc ->
 *    TX ring -> completion ring -> free list);
 *  - an XDP program (xdp_kern.c, embedded) attached to the interface
 *    through a BPF link, which the kernel removes when the process ends,
 *    however it ends; it steers ARP and TCP for the stack's own address to
 *    the socket of the receive queue and passes everything else on;
 *  - the engine, with the interface's MAC and the address given by xdp-ip;
 *    the kernel does not own that address, the engine answers its ARP.
 *
 * Received payload goes to the connection's on_recv in place: the lent
 * xt_rxbuf points into the UMEM frame, and holding it holds the frame.
 * Sends stay in the xt_conn send queue until the peer ACKs them; the engine
 * borrows them (tx_gather) to build segments, and on_acked completes them.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "transport/transport.h"
#include "transport/utcp.h"

/* The XDP program, built from xdp_kern.c by clang -target bpf. */
__asm__(".section .rodata\n"
        ".balign 8\n"
        ".globl xi_xdp_kern_obj\n"
        "xi_xdp_kern_obj:\n"
        ".incbin \"transport/xdp_kern.o\"\n"
        ".globl xi_xdp_kern_obj_end\n"
        "xi_xdp_kern_obj_end:\n"
        ".previous\n");
extern const unsigned char xi_xdp_kern_obj[], xi_xdp_kern_obj_end[];

#define XDP_PROG_NAME      "xi_xdp_steer"
#define XI_STEER_ALL_TCP   (1u << 0) /* as in xdp_kern.c */
#define XDP_FRAME_SIZE     4096u
#define XDP_DEFAULT_FRAMES 8192u
#define XDP_RX_BATCH       32u
#define XDP_MAX_EVENTS     4
#define XDP_TX_BUDGET      256u /* frames per sendto in copy mode, at most */
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9 /* <linux/if_xdp.h>, Linux 6.17 */
#endif

struct xi_xdp_cfg {
	uint32_t ip;
	uint32_t flags;
};

struct xdp_group;

/* One per UMEM receive frame. */
struct xdp_rxf {
	struct utcp_frame f;
	struct xt_rxbuf rb; /* the buffer lent to on_recv (refs 0: unused) */
	struct xdp_group *g;
	uint64_t addr; /* frame base in the UMEM */
};

/* A socket whose connection is gone, finishing its FIN exchange. */
struct xdp_orphan {
	struct utcp_sock *s;
	struct xdp_group *g;
	struct xdp_orphan *prev, *next;
};

/* A second lent buffer on one frame (rare: two segments' bytes in one). */
struct xdp_rxbuf_extra {
	struct xt_rxbuf rb;
	struct utcp_frame *f;
};

struct xdp_group {
	struct xt_group base;
	/* configuration */
	char ifname[IF_NAMESIZE];
	unsigned queue;
	int ifindex;
	uint32_t ip; /* host order */
	uint8_t prefix;
	uint8_t mac[6];
	uint16_t mtu;
	bool drv_mode, zerocopy;
	/* the XDP program */
	struct bpf_object *obj;
	int link_fd;
	int xsks_fd;
	/* the socket and its memory */
	uint8_t *area;
	size_t area_size;
	unsigned nframes, nrx;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	int xsk_fd;
	struct xdp_rxf *rxf; /* nrx entries */
	uint64_t *fill;      /* frames released, for the fill ring */
	unsigned nfill;
	uint64_t *tx_free; /* free transmit frames */
	unsigned ntx_free;
	unsigned tx_budget;   /* frames one sendto sends in copy mode */
	unsigned tx_reserved; /* descriptors reserved, not yet submitted */
	unsigned tx_inflight; /* submitted, not yet completed */
	int epfd;
	uint64_t posts_seen; /* stats.posts_run when the wake-up was last read */
	/* the engine */
	struct utcp_stack *st;
	struct xt_timer eng_timer;
	unsigned in_engine; /* depth of calls into the engine */
	struct utcp_sock **dead_socks;
	size_t ndead, dead_cap;
	struct xdp_orphan *orphans;
};

struct xdp_conn {
	struct xt_conn base;
	struct utcp_sock *s;
	struct xt_listener *pending_l; /* accepted, on_connect not yet seen */
	/* tx_gather cursor: request 'cur' starts 'cur_pos' bytes past the
	 * first unacknowledged byte */
	struct xt_send_req *cur;
	size_t cur_pos;
	struct sockaddr_in local, peer;
	bool fin_sent;
};

struct xdp_listener {
	struct xt_listener base;
	struct utcp_sock *s;
	uint16_t port;
};

#define XG(g) ((struct xdp_group *)(g))
#define XC(c) ((struct xdp_conn *)(c))
#define XL(l) ((struct xdp_listener *)(l))

static void xdp_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void xdp_log(const char *fmt, ...)
{
	va_list ap;

	if (getenv("XISCSI_XDP_QUIET"))
		return;
	va_start(ap, fmt);
	fputs("xdp: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- sockets freed only outside engine callbacks ---- */

static void sock_free_later(struct xdp_group *g, struct utcp_sock *s)
{
	struct utcp_sock **n;

	if (!s)
		return;
	if (!g->in_engine) {
		utcp_sock_free(s);
		return;
	}
	if (g->ndead == g->dead_cap) {
		size_t cap = g->dead_cap ? 2 * g->dead_cap : 16;

		n = realloc(g->dead_socks, cap * sizeof(*n));
		if (!n) {
			/* Leak one socket rather than free it under the engine. */
			xdp_log("out of memory: a socket is not freed");
			return;
		}
		g->dead_socks = n;
		g->dead_cap = cap;
	}
	g->dead_socks[g->ndead++] = s;
}

static void socks_reap(struct xdp_group *g)
{
	while (g->ndead)
		utcp_sock_free(g->dead_socks[--g->ndead]);
}

/* ---- link: UMEM frames ---- */

static void fill_push(struct xdp_group *g)
{
	uint32_t idx;
	unsigned n, i;

	if (!g->nfill)
		return;
	n = xsk_ring_prod__reserve(&g->fq, g->nfill, &idx);
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&g->fq, idx + i) = g->fill[--g->nfill];
	if (n)
		xsk_ring_prod__submit(&g->fq, n);
}

static void rx_frame_release(struct utcp_frame *f)
{
	struct xdp_rxf *rf = (struct xdp_rxf *)f;

	rf->g->fill[rf->g->nfill++] = rf->addr;
}

static unsigned cq_reap(struct xdp_group *g)
{
	uint32_t idx;
	unsigned n, i;

	n = xsk_ring_cons__peek(&g->cq, g->nframes, &idx);
	for (i = 0; i < n; i++)
		g->tx_free[g->ntx_free++] =
		        xsk_umem__extract_addr(*xsk_ring_cons__comp_addr(&g->cq, idx + i));
	if (n)
		xsk_ring_cons__release(&g->cq, n);
	g->tx_inflight -= n;
	return n;
}

/* Whether the kernel has taken every descriptor of the transmit ring. */
static bool tx_ring_taken(struct xdp_group *g)
{
	return xsk_prod_nb_free(&g->tx, g->nframes) >= g->nframes - g->nrx;
}

/* Copy mode transmits in the system call, a bounded batch per call. */
static void tx_kick(struct xdp_group *g)
{
	unsigned i;

	for (i = 0; i < 256 && g->tx_inflight; i++) {
		/* Once the kernel has taken every descriptor, their completions
		 * come when the peer frees the frames (copy mode on a veth: its
		 * NAPI, maybe on another CPU), and another sendto does not
		 * hasten them: measured, up to a hundred idle sendto calls per
		 * 128 KiB read. Only a sender out of frames waits here. */
		if (g->ntx_free && tx_ring_taken(g))
			break;
		if (!xsk_ring_prod__needs_wakeup(&g->tx))
			break;
		g->base.stats.syscalls++;
		if (sendto(g->xsk_fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) {
			if (!g->zerocopy) /* copy mode sent what fit in one batch */
				cq_reap(g);
			if (tx_ring_taken(g) && !g->tx_inflight)
				break;
			continue;
		}
		if (errno == EAGAIN || errno == EBUSY) {
			cq_reap(g);
			continue;
		}
		if (errno != ENOBUFS && errno != ENETDOWN)
			xdp_log("%s: sendto: %s", g->ifname, strerror(errno));
		break;
	}
	cq_reap(g);
}

static uint8_t *link_tx_alloc(void *link, size_t len)
{
	struct xdp_group *g = link;

	if (len > XDP_FRAME_SIZE)
		return NULL;
	if (!g->ntx_free && !cq_reap(g)) {
		if (g->tx_reserved) {
			xsk_ring_prod__submit(&g->tx, g->tx_reserved);
			g->tx_inflight += g->tx_reserved;
			g->tx_reserved = 0;
		}
		tx_kick(g);
	}
	if (!g->ntx_free)
		return NULL;
	return g->area + g->tx_free[--g->ntx_free];
}

static void link_tx_submit(void *link, uint8_t *buf, size_t len)
{
	struct xdp_group *g = link;
	struct xdp_desc *d;
	uint32_t idx;

	/* The TX ring holds every transmit frame: a reservation always fits. */
	if (xsk_ring_prod__reserve(&g->tx, 1, &idx) != 1) {
		g->tx_free[g->ntx_free++] = (uint64_t)(buf - g->area);
		return;
	}
	d = xsk_ring_prod__tx_desc(&g->tx, idx);
	d->addr = (uint64_t)(buf - g->area);
	d->len = (uint32_t)len;
	d->options = 0;
	g->tx_reserved++;
	g->base.stats.events++;
}

static void link_tx_flush(void *link)
{
	struct xdp_group *g = link;

	if (g->tx_reserved) {
		xsk_ring_prod__submit(&g->tx, g->tx_reserved);
		g->tx_inflight += g->tx_reserved;
		g->tx_reserved = 0;
	}
	tx_kick(g);
}

static void link_tx_abort(void *link, uint8_t *buf)
{
	struct xdp_group *g = link;

	g->tx_free[g->ntx_free++] = (uint64_t)(buf - g->area);
}

static const struct utcp_link_ops xdp_link_ops = {
        .tx_alloc = link_tx_alloc,
        .tx_submit = link_tx_submit,
        .tx_flush = link_tx_flush,
        .tx_abort = link_tx_abort,
};

/* ---- lent receive buffers: a reference on the UMEM frame ---- */

static void rxbuf_free(struct xt_rxbuf *b)
{
	struct xdp_rxf *rf = (struct xdp_rxf *)((char *)b - offsetof(struct xdp_rxf, rb));

	utcp_frame_put(&rf->f);
}

static void rxbuf_extra_free(struct xt_rxbuf *b)
{
	struct xdp_rxbuf_extra *e = (struct xdp_rxbuf_extra *)b;

	utcp_frame_put(e->f);
	free(e);
}

/* ---- engine callbacks ---- */

static void conn_orphan(struct xdp_conn *xc);

static void conn_deliver_accept(struct xdp_conn *xc)
{
	struct xt_conn *c = &xc->base;
	struct xt_listener *l = xc->pending_l;

	xc->pending_l = NULL;
	c->state = XT_CONN_OPEN;
	l->cb(l, c, l->arg);
	if (c->state == XT_CONN_OPEN && !c->cbs) {
		/* An accept callback that set no callbacks cannot receive. */
		xt_conn_close(c, XT_CLOSE_ABORT);
		return;
	}
	if (c->state == XT_CONN_OPEN && c->sq_head)
		utcp_sock_kick(xc->s);
}

static void cb_connect(struct utcp_sock *s, void *arg)
{
	struct xdp_conn *xc = arg;
	struct xt_conn *c = &xc->base;

	if (xc->pending_l) {
		conn_deliver_accept(xc);
		return;
	}
	if (c->state == XT_CONN_CLOSING && c->sq_head)
		utcp_sock_kick(s); /* closed before it was up: flush, then FIN */
	if (c->state != XT_CONN_CONNECTING)
		return;
	c->state = XT_CONN_OPEN;
	if (c->sq_head)
		utcp_sock_kick(s);
	if (c->cbs->on_connect)
		c->cbs->on_connect(c);
}

static void cb_data(struct utcp_sock *s, void *arg, struct utcp_frame *f, uint8_t *data, size_t len)
{
	struct xdp_conn *xc = arg;
	struct xt_conn *c = &xc->base;
	struct xdp_rxf *rf = (struct xdp_rxf *)f;
	struct xt_rxbuf *b;

	if (c->state != XT_CONN_OPEN || !c->cbs || c->eof_seen)
		return; /* closed by the caller: the bytes are taken and dropped */
	c->stats.rx_bytes += len;
	c->stats.rx_calls++;
	c->g->stats.rx_bytes += len;
	if (f->release == rx_frame_release && rf->rb.refs == 0) {
		b = &rf->rb;
		b->free = rxbuf_free;
	} else {
		struct xdp_rxbuf_extra *e = malloc(sizeof(*e));

		if (!e) {
			xt_conn_fail(c, -ENOMEM);
			return;
		}
		e->f = f;
		b = &e->rb;
		b->free = rxbuf_extra_free;
	}
	b->data = data;
	b->len = len;
	b->refs = 1;
	utcp_frame_hold(f);
	c->cbs->on_recv(c, b);
	xt_rxbuf_release(b);
}

static void cb_fin(struct utcp_sock *s, void *arg)
{
	struct xdp_conn *xc = arg;
	struct xt_conn *c = &xc->base;

	if (c->state != XT_CONN_OPEN || c->eof_seen || !c->cbs)
		return;
	c->eof_seen = true;
	if (c->cbs->on_eof)
		c->cbs->on_eof(c);
}

static void cb_error(struct utcp_sock *s, void *arg, int err)
{
	struct xdp_conn *xc = arg;
	struct xt_conn *c = &xc->base;
	struct xdp_group *g = XG(c->g);

	xc->s = NULL;
	xc->cur = NULL;
	sock_free_later(g, s);
	if (xc->pending_l || c->state == XT_CONN_CLOSING) {
		xc->pending_l = NULL;
		c->err = err;
		xt_conn_reap_later(c);
		return;
	}
	xt_conn_fail(c, err);
}

static void cb_acked(struct utcp_sock *s, void *arg, size_t n)
{
	struct xdp_conn *xc = arg;
	struct xt_conn *c = &xc->base;

	xc->cur = NULL;
	xt_conn_sent(c, n);
	if (c->state == XT_CONN_CLOSING && !c->sq_head && xc->s)
		conn_orphan(xc);
}

static unsigned cb_gather(struct utcp_sock *s, void *arg, size_t off, struct iovec *iov,
                          unsigned max, size_t *total)
{
	struct xdp_conn *xc = arg;
	struct xt_conn *c = &xc->base;
	struct xt_send_req *r;
	size_t pos, avail;

	*total = 0;
	if (xc->cur && xc->cur_pos <= off) {
		r = xc->cur;
		pos = xc->cur_pos;
	} else {
		r = c->sq_head;
		pos = 0;
	}
	/* Walk to the request holding 'off'; remember it for the next call. */
	for (; r; r = r->next) {
		avail = r->len - r->done;
		if (pos + avail > off)
			break;
		pos += avail;
	}
	if (!r)
		return 0;
	xc->cur = r;
	xc->cur_pos = pos;
	return xt_sendq_gather(r, r->done + (off - pos), iov, max, total);
}

static void cb_closed(struct utcp_sock *s, void *arg)
{
	struct xdp_conn *xc = arg;
	struct xt_conn *c = &xc->base;

	xc->s = NULL;
	xc->cur = NULL;
	sock_free_later(XG(c->g), s);
	if (c->state == XT_CONN_CLOSING || xc->pending_l) {
		xc->pending_l = NULL;
		xt_conn_reap_later(c);
	} else if (xt_conn_live(c) && c->sq_head) {
		/* Gone with bytes still queued (cannot happen after our FIN,
		 * which follows them): they will never go. */
		xt_conn_fail(c, -EPIPE);
	}
	/* Otherwise both FINs went after a shutdown and the peer's EOF: the
	 * caller still closes the connection, which has nothing left to do. */
}

static const struct utcp_sock_cbs conn_sock_cbs = {
        .on_connect = cb_connect,
        .on_data = cb_data,
        .on_fin = cb_fin,
        .on_error = cb_error,
        .on_acked = cb_acked,
        .tx_gather = cb_gather,
        .on_closed = cb_closed,
};

/* A socket whose connection the caller has closed and whose bytes are all
 * acknowledged: it finishes its FIN exchange on its own. */
static void orphan_data(struct utcp_sock *s, void *arg, struct utcp_frame *f, uint8_t *data,
                        size_t len)
{
}

static void orphan_gone(struct utcp_sock *s, void *arg)
{
	struct xdp_orphan *o = arg;

	if (o->prev)
		o->prev->next = o->next;
	else
		o->g->orphans = o->next;
	if (o->next)
		o->next->prev = o->prev;
	sock_free_later(o->g, s);
	free(o);
}

static void orphan_error(struct utcp_sock *s, void *arg, int err)
{
	orphan_gone(s, arg);
}

static unsigned orphan_gather(struct utcp_sock *s, void *arg, size_t off, struct iovec *iov,
                              unsigned max, size_t *total)
{
	*total = 0;
	return 0;
}

static void orphan_acked(struct utcp_sock *s, void *arg, size_t n)
{
}

static const struct utcp_sock_cbs orphan_cbs = {
        .on_data = orphan_data,
        .on_error = orphan_error,
        .on_acked = orphan_acked,
        .tx_gather = orphan_gather,
        .on_closed = orphan_gone,
};

/* utcp_sock_close() may call back at once (a socket that never got its
 * SYN-ACK goes with on_closed): what it frees waits until it returns. */
static void sock_close(struct xdp_group *g, struct utcp_sock *s, bool abort)
{
	g->in_engine++;
	utcp_sock_close(s, abort);
	g->in_engine--;
	if (!g->in_engine)
		socks_reap(g);
}

static void conn_orphan(struct xdp_conn *xc)
{
	struct xt_conn *c = &xc->base;
	struct xdp_group *g = XG(c->g);
	struct utcp_sock *s = xc->s;

	struct xdp_orphan *o = malloc(sizeof(*o));

	xc->s = NULL;
	xc->cur = NULL;
	xt_conn_reap_later(c);
	if (!o) { /* no memory to follow it: reset it now */
		sock_close(g, s, true);
		sock_free_later(g, s);
		return;
	}
	/* Listed, so that a group destroyed before the FIN exchange ends
	 * frees it. */
	o->s = s;
	o->g = g;
	o->prev = NULL;
	o->next = g->orphans;
	if (o->next)
		o->next->prev = o;
	g->orphans = o;
	utcp_sock_set_cbs(s, &orphan_cbs, o);
	utcp_sock_pause(s, false);
	sock_close(g, s, false);
}

static void cb_accept(struct utcp_sock *ls, struct utcp_sock *s, void *arg)
{
	struct xt_listener *l = arg;
	struct xdp_group *g = XG(l->g);
	struct xdp_conn *xc;
	struct utcp_sock_info info;
	uint32_t ip;
	uint16_t port;

	xc = l->closed ? NULL : (struct xdp_conn *)xt_conn_alloc(&g->base, &l->opts.conn);
	if (!xc) {
		utcp_sock_close(s, true);
		sock_free_later(g, s);
		return;
	}
	xc->s = s;
	xc->pending_l = l;
	xc->base.state = XT_CONN_CONNECTING;
	utcp_sock_local(s, &ip, &port);
	xc->local = (struct sockaddr_in){
	        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
	utcp_sock_peer(s, &ip, &port);
	xc->peer = (struct sockaddr_in){
	        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
	utcp_sock_set_cbs(s, &conn_sock_cbs, xc);
	utcp_sock_info(s, &info);
	if (info.state && strcmp(info.state, "ESTABLISHED") == 0)
		conn_deliver_accept(xc);
}

/* ---- the engine's timers ride on one group timer ---- */

static void eng_timer_arm(struct xdp_group *g, uint64_t now_us);

static void eng_timer_fire(struct xt_timer *t, void *arg)
{
	struct xdp_group *g = arg;

	uint64_t now = utcp_now_us();

	g->in_engine++;
	utcp_timers(g->st, now);
	utcp_flush(g->st);
	g->in_engine--;
	socks_reap(g);
	eng_timer_arm(g, now);
}

static void eng_timer_arm(struct xdp_group *g, uint64_t now_us)
{
	uint64_t next = utcp_next_timer_us(g->st), due_ms, now_ms = now_us / 1000;

	if (next == UINT64_MAX) {
		xt_timer_cancel(&g->eng_timer);
		return;
	}
	/* Both clocks are CLOCK_MONOTONIC: the group timer fires at the first
	 * millisecond at or after the engine's deadline, never before. */
	due_ms = (next + 999) / 1000;
	if (xt_timer_armed(&g->eng_timer) && g->eng_timer.due_ms == due_ms)
		return;
	xt_timer_start(&g->base, &g->eng_timer, due_ms > now_ms ? due_ms - now_ms : 0, 0,
	               eng_timer_fire, g);
}

/* ---- poll ---- */

static int rx_batch(struct xdp_group *g, unsigned budget)
{
	struct xdp_rxf *batch[XDP_RX_BATCH];
	const struct xdp_desc *d;
	uint32_t idx;
	unsigned n, i, k;
	uint64_t base;

	if (budget > XDP_RX_BATCH)
		budget = XDP_RX_BATCH;
	n = xsk_ring_cons__peek(&g->rx, budget, &idx);
	if (!n)
		return 0;
	for (i = k = 0; i < n; i++) {
		d = xsk_ring_cons__rx_desc(&g->rx, idx + i);
		base = xsk_umem__extract_addr(d->addr);
		base -= base % XDP_FRAME_SIZE;
		if (base / XDP_FRAME_SIZE >= g->nrx || d->len > XDP_FRAME_SIZE) {
			xdp_log("%s: receive descriptor outside the receive frames", g->ifname);
			continue;
		}
		batch[k] = &g->rxf[base / XDP_FRAME_SIZE];
		batch[k]->f.data =
		        xsk_umem__get_data(g->area, xsk_umem__add_offset_to_addr(d->addr));
		batch[k]->f.len = d->len;
		batch[k]->f.refs = 1;
		/* The kernel wrote the frame from another CPU: start the misses
		 * on the headers now, for the whole batch, not one at a time. */
		__builtin_prefetch(batch[k]->f.data);
		__builtin_prefetch(batch[k]->f.data + 64);
		k++;
	}
	xsk_ring_cons__release(&g->rx, n);
	g->in_engine++;
	for (i = 0; i < k; i++) {
		/* The engine reads all of a frame (the checksum): fetch the
		 * next one whole while this one is taken in. */
		if (i + 1 < k) {
			const uint8_t *p = batch[i + 1]->f.data;
			size_t o;

			for (o = 128; o < batch[i + 1]->f.len; o += 64)
				__builtin_prefetch(p + o);
		}
		utcp_input(g->st, &batch[i]->f);
	}
	g->in_engine--;
	g->base.stats.events += k;
	return (int)n;
}

static bool rx_ready(struct xdp_group *g)
{
	return xsk_cons_nb_avail(&g->rx, 1) > 0;
}

static int xdp_poll(struct xt_group *xg, int budget, int timeout_ms)
{
	struct xdp_group *g = XG(xg);
	struct epoll_event ev[XDP_MAX_EVENTS];
	int n = 0, r, i;
	uint64_t now;

	fill_push(g);
	cq_reap(g);
	if (g->tx_inflight)
		tx_kick(g); /* a kick refused last time (ENOBUFS) */
	/* Sends queued since the last turn (outside any callback) leave
	 * before this turn may sleep. */
	g->in_engine++;
	utcp_flush(g->st);
	g->in_engine--;
	socks_reap(g);
	if (!rx_ready(g) && timeout_ms != 0 && (g->base.opts.flags & XT_GROUP_BUSY_POLL)) {
		uint64_t end = utcp_now_us() + g->base.opts.busy_poll_us;

		while (!rx_ready(g) && utcp_now_us() < end && !atomic_load(&g->base.post_pending))
			;
	}
	if (!rx_ready(g) && timeout_ms != 0) {
		/* Sleep: the fill ring may need a wake-up to be refilled by the
		 * driver; the poll is that wake-up. */
		g->base.stats.syscalls++;
		r = epoll_wait(g->epfd, ev, XDP_MAX_EVENTS, timeout_ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		for (i = 0; i < r; i++)
			if (ev[i].data.fd == g->base.wake_fd) {
				xt_group_wake_drain(&g->base);
				n++;
			}
	} else if (g->base.stats.posts_run != g->posts_seen) {
		/* Not sleeping, but posts ran: read their wake-up here, or the
		 * group descriptor would stay readable. */
		g->posts_seen = g->base.stats.posts_run;
		xt_group_wake_drain(&g->base);
	} else if (xsk_ring_prod__needs_wakeup(&g->fq)) {
		g->base.stats.syscalls++;
		recvfrom(g->xsk_fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	}
	while (n < budget && (r = rx_batch(g, (unsigned)(budget - n))) > 0) {
		n += r;
		fill_push(g);
		/* ACKs and answers leave per batch, not per poll: a sender
		 * facing one cumulative ACK per poll sends in bursts. */
		g->in_engine++;
		utcp_flush(g->st);
		g->in_engine--;
	}
	now = utcp_now_us();
	if (utcp_next_timer_us(g->st) <= now) {
		g->in_engine++;
		utcp_timers(g->st, now);
		g->in_engine--;
	}
	g->in_engine++;
	utcp_flush(g->st);
	g->in_engine--;
	socks_reap(g);
	fill_push(g);
	eng_timer_arm(g, now);
	return n;
}

static int xdp_group_fd(struct xt_group *xg)
{
	return XG(xg)->epfd;
}

/* ---- configuration ---- */

/* Options the caller left unset may come from the environment, so that a
 * program with only --transport xdp can be pointed at an interface:
 * XISCSI_XDP_IF=IF[:Q], XISCSI_XDP_IP=ADDR/PREFIX and XISCSI_XDP_OPTS, a
 * comma-separated list of NAME=VALUE transport options (xt_opt_set). */
static int env_opts(struct xt_group_opts *go)
{
	struct xt_group_opts e = {.opts_size = sizeof(e)};
	const char *v;
	char *list, *tok, *save, *eq;
	int err = 0;

	if ((v = getenv("XISCSI_XDP_OPTS")) && *v) {
		list = strdup(v);
		if (!list)
			return -ENOMEM;
		for (tok = strtok_r(list, ",", &save); tok && !err;
		     tok = strtok_r(NULL, ",", &save)) {
			eq = strchr(tok, '=');
			if (eq)
				*eq = '\0';
			err = xt_opt_set(&e, NULL, tok, eq ? eq + 1 : NULL);
			if (err)
				xdp_log("XISCSI_XDP_OPTS: %s: %s", tok,
				        err == -ENOENT ? "no such option" : "bad value");
		}
		free(list);
		if (err)
			return -EINVAL;
	}
	if ((v = getenv("XISCSI_XDP_IF")) && *v && xt_opt_set(&e, NULL, "xdp-if", v)) {
		xdp_log("XISCSI_XDP_IF=%s: want IFNAME[:QUEUE]", v);
		return -EINVAL;
	}
	if ((v = getenv("XISCSI_XDP_IP")) && *v && xt_opt_set(&e, NULL, "xdp-ip", v)) {
		xdp_log("XISCSI_XDP_IP=%s: want ADDR/PREFIX", v);
		return -EINVAL;
	}
	if (!go->xdp_ifname[0]) {
		memcpy(go->xdp_ifname, e.xdp_ifname, sizeof(go->xdp_ifname));
		go->xdp_queue = e.xdp_queue;
	}
	if (!go->xdp_ip4) {
		go->xdp_ip4 = e.xdp_ip4;
		go->xdp_prefix = e.xdp_prefix;
	}
	if (!(go->flags & XT_GROUP_BUSY_POLL) && (e.flags & XT_GROUP_BUSY_POLL)) {
		go->flags |= XT_GROUP_BUSY_POLL;
		if (e.busy_poll_us)
			go->busy_poll_us = e.busy_poll_us;
	}
	if (!go->xdp_gw4)
		go->xdp_gw4 = e.xdp_gw4;
	if (!go->xdp_frames)
		go->xdp_frames = e.xdp_frames;
	if (!go->xdp_flags)
		go->xdp_flags = e.xdp_flags;
	return 0;
}

/* The engine's test mode that damages the link both ways:
 * XISCSI_XDP_IMPAIR=drop=PPM,dup=PPM,reorder=PPM,seed=N (parts per million;
 * a seed makes a run repeatable). For loss tests only. */
static int env_impair(struct utcp_impair *imp)
{
	const char *v = getenv("XISCSI_XDP_IMPAIR");
	char *list, *tok, *save, *eq, *end;
	unsigned long long n;
	int err = 0;

	if (!v || !*v)
		return 0;
	list = strdup(v);
	if (!list)
		return -ENOMEM;
	for (tok = strtok_r(list, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		errno = 0;
		n = eq ? strtoull(eq + 1, &end, 10) : 0;
		if (!eq || errno || end == eq + 1 || *end) {
			err = -EINVAL;
		} else {
			*eq = '\0';
			if (strcmp(tok, "seed") == 0)
				imp->seed = n;
			else if (n > 1000000)
				err = -EINVAL;
			else if (strcmp(tok, "drop") == 0)
				imp->drop_ppm = (uint32_t)n;
			else if (strcmp(tok, "dup") == 0)
				imp->dup_ppm = (uint32_t)n;
			else if (strcmp(tok, "reorder") == 0)
				imp->reorder_ppm = (uint32_t)n;
			else
				err = -EINVAL;
		}
	}
	free(list);
	if (err)
		xdp_log("XISCSI_XDP_IMPAIR=%s: want drop=PPM,dup=PPM,reorder=PPM,seed=N", v);
	else
		xdp_log("impair mode: drop %u, duplicate %u, reorder %u per million, seed %llu",
		        imp->drop_ppm, imp->dup_ppm, imp->reorder_ppm,
		        (unsigned long long)imp->seed);
	return err;
}

static int if_info(struct xdp_group *g)
{
	struct ifreq ifr;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, g->ifname, sizeof(g->ifname));
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	memcpy(g->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	g->mtu = ifr.ifr_mtu > 9000 ? 9000 : (uint16_t)ifr.ifr_mtu;
	/* A received frame sits after XDP_PACKET_HEADROOM in its UMEM frame. */
	if (g->mtu + 14u + 256u > XDP_FRAME_SIZE)
		g->mtu = XDP_FRAME_SIZE - 256 - 14;
out:
	close(fd);
	return err;
}

/* ---- the XDP program ---- */

/* Attach through a BPF link: the kernel removes the program when the link's
 * last descriptor closes, so a process that dies leaves nothing behind. A
 * program of ours attached the old way (netlink, e.g. by xdp-loader or an
 * older build) that outlived its owner is replaced (XDP_FLAGS_REPLACE);
 * another program, or a live link of another process, is refused. */
static int prog_attach(struct xdp_group *g, int prog_fd, unsigned mode_flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = mode_flags);
	LIBBPF_OPTS(bpf_xdp_attach_opts, ao);
	struct bpf_prog_info info;
	uint32_t id = 0, ilen = sizeof(info);
	int fd, old;

	fd = bpf_link_create(prog_fd, g->ifindex, BPF_XDP, &lo);
	if (fd >= 0 || (errno != EBUSY && errno != EEXIST))
		return fd >= 0 ? fd : -errno;
	if (bpf_xdp_query_id(g->ifindex, mode_flags, &id) || !id)
		return -EBUSY;
	old = bpf_prog_get_fd_by_id(id);
	memset(&info, 0, sizeof(info));
	if (old < 0 || bpf_obj_get_info_by_fd(old, &info, &ilen) ||
	    strcmp(info.name, XDP_PROG_NAME) != 0) {
		xdp_log("%s already has an XDP program (id %u, %s): not ours, left alone",
		        g->ifname, id, old >= 0 ? info.name : "?");
		if (old >= 0)
			close(old);
		return -EBUSY;
	}
	ao.old_prog_fd = old;
	if (bpf_xdp_detach(g->ifindex, mode_flags | XDP_FLAGS_REPLACE, &ao)) {
		xdp_log("%s: another xdp group, in this process or another, holds this interface "
		        "(program %u): one group per interface",
		        g->ifname, id);
		close(old);
		return -EBUSY;
	}
	xdp_log("%s: removed a stale %s program (id %u) left by an earlier run", g->ifname,
	        XDP_PROG_NAME, id);
	close(old);
	fd = bpf_link_create(prog_fd, g->ifindex, BPF_XDP, &lo);
	return fd >= 0 ? fd : -errno;
}

static int prog_load(struct xdp_group *g)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "xi_xdp");
	struct xi_xdp_cfg cfg = {.ip = htonl(g->ip), .flags = XI_STEER_ALL_TCP};
	struct bpf_program *prog;
	struct bpf_map *m;
	uint32_t key = 0;
	int err, fd;

	g->obj = bpf_object__open_mem(xi_xdp_kern_obj, xi_xdp_kern_obj_end - xi_xdp_kern_obj, &oo);
	if (!g->obj)
		return -errno;
	err = bpf_object__load(g->obj);
	if (err) {
		xdp_log("cannot load the XDP program: %s", strerror(-err));
		return err;
	}
	prog = bpf_object__find_program_by_name(g->obj, XDP_PROG_NAME);
	m = bpf_object__find_map_by_name(g->obj, "xi_xsks");
	if (!prog || !m)
		return -ENOENT;
	g->xsks_fd = bpf_map__fd(m);
	m = bpf_object__find_map_by_name(g->obj, "xi_cfg");
	if (!m || bpf_map_update_elem(bpf_map__fd(m), &key, &cfg, BPF_ANY))
		return -errno ? -errno : -ENOENT;
	key = g->queue;
	fd = xsk_socket__fd(g->xsk);
	if (bpf_map_update_elem(g->xsks_fd, &key, &fd, BPF_ANY))
		return -errno;
	g->drv_mode = !(g->base.opts.xdp_flags & XT_XDP_SKB_MODE);
	fd = g->drv_mode ? prog_attach(g, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE) : -EOPNOTSUPP;
	if (fd < 0 && fd != -EBUSY && !(g->base.opts.xdp_flags & XT_XDP_DRV_MODE)) {
		if (g->drv_mode)
			xdp_log("%s: native XDP refused (%s), using generic (SKB) mode", g->ifname,
			        strerror(-fd));
		g->drv_mode = false;
		fd = prog_attach(g, bpf_program__fd(prog), XDP_FLAGS_SKB_MODE);
	}
	if (fd < 0)
		return fd;
	g->link_fd = fd;
	return 0;
}

/* ---- the socket ---- */

static int xsk_open(struct xdp_group *g)
{
	struct xsk_umem_config uc = {
	        .fill_size = g->nrx,
	        .comp_size = g->nframes - g->nrx,
	        .frame_size = XDP_FRAME_SIZE,
	        .frame_headroom = 0,
	};
	struct xsk_socket_config sc = {
	        .rx_size = g->nrx,
	        .tx_size = g->nframes - g->nrx,
	        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
	};
	struct xdp_options xo;
	socklen_t xl = sizeof(xo);
	unsigned want = g->base.opts.xdp_flags, tries;
	int err;

	g->area_size = (size_t)g->nframes * XDP_FRAME_SIZE;
	g->area = mmap(NULL, g->area_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
	               0);
	if (g->area == MAP_FAILED) {
		g->area = NULL;
		return -errno;
	}
	err = xsk_umem__create(&g->umem, g->area, g->area_size, &g->fq, &g->cq, &uc);
	if (err)
		return err;
	/* A socket closed just before on this queue (a group destroyed and
	 * made again) frees the queue in a kernel work item: EBUSY for a
	 * moment, so wait up to a second for it. */
	for (tries = 0; tries < 100; tries++) {
		err = -EOPNOTSUPP;
		if (!(want & XT_XDP_COPY)) {
			sc.bind_flags = XDP_USE_NEED_WAKEUP | XDP_ZEROCOPY;
			err = xsk_socket__create(&g->xsk, g->ifname, g->queue, g->umem, &g->rx,
			                         &g->tx, &sc);
		}
		if (err && err != -EBUSY && !(want & XT_XDP_ZEROCOPY)) {
			sc.bind_flags = XDP_USE_NEED_WAKEUP | XDP_COPY;
			err = xsk_socket__create(&g->xsk, g->ifname, g->queue, g->umem, &g->rx,
			                         &g->tx, &sc);
		}
		if (err != -EBUSY)
			break;
		usleep(10000);
	}
	if (err) {
		xdp_log("%s queue %u: cannot bind an AF_XDP socket: %s%s", g->ifname, g->queue,
		        strerror(-err),
		        err == -EBUSY    ? " (another socket holds this queue: one group per queue)"
		        : err == -EINVAL ? " (no such queue?)"
		                         : "");
		return err;
	}
	g->xsk_fd = xsk_socket__fd(g->xsk);
	memset(&xo, 0, sizeof(xo));
	g->zerocopy = getsockopt(g->xsk_fd, SOL_XDP, XDP_OPTIONS, &xo, &xl) == 0 &&
	              (xo.flags & XDP_OPTIONS_ZEROCOPY);
	if (!g->zerocopy) {
		/* Copy mode sends 32 frames per sendto unless told more (Linux
		 * 6.17 and later; older kernels refuse and keep 32). */
		unsigned budget = g->nframes - g->nrx;

		if (budget > XDP_TX_BUDGET)
			budget = XDP_TX_BUDGET;
		g->tx_budget = 32;
		if (setsockopt(g->xsk_fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget,
		               sizeof(budget)) == 0)
			g->tx_budget = budget;
	}
	return 0;
}

static void xdp_group_fini(struct xt_group *xg);

static unsigned pow2_floor(unsigned v)
{
	unsigned p = 1;

	while (p * 2 <= v)
		p *= 2;
	return p;
}

static int xdp_group_init(struct xt_group *xg)
{
	struct xdp_group *g = XG(xg);
	struct epoll_event e = {.events = EPOLLIN};
	struct utcp_cfg uc;
	struct in_addr a;
	char ipbuf[INET_ADDRSTRLEN], mode[40];
	unsigned i;
	int err;

	g->link_fd = g->xsks_fd = g->xsk_fd = g->epfd = -1;
	err = env_opts(&g->base.opts);
	if (err)
		return err;
	if (!g->base.opts.xdp_ifname[0]) {
		xdp_log("no interface: give --xdp-if IFNAME[:QUEUE] (or XISCSI_XDP_IF)");
		return -EINVAL;
	}
	if (!g->base.opts.xdp_ip4) {
		xdp_log("%s: no address: give --xdp-ip ADDR/PREFIX (or XISCSI_XDP_IP), an address "
		        "of the link the kernel does not use; sharing the kernel's address is "
		        "not supported",
		        g->base.opts.xdp_ifname);
		return -EDESTADDRREQ;
	}
	memcpy(g->ifname, g->base.opts.xdp_ifname, sizeof(g->ifname));
	g->ifname[sizeof(g->ifname) - 1] = '\0';
	g->queue = g->base.opts.xdp_queue;
	g->ip = ntohl(g->base.opts.xdp_ip4);
	g->prefix = g->base.opts.xdp_prefix ? g->base.opts.xdp_prefix : 24;
	g->ifindex = (int)if_nametoindex(g->ifname);
	if (!g->ifindex) {
		xdp_log("%s: no such interface", g->ifname);
		return -ENODEV;
	}
	err = if_info(g);
	if (err)
		goto out;
	g->nframes =
	        pow2_floor(g->base.opts.xdp_frames ? g->base.opts.xdp_frames : XDP_DEFAULT_FRAMES);
	if (g->nframes < 64)
		g->nframes = 64;
	g->nrx = g->nframes / 2;
	g->rxf = calloc(g->nrx, sizeof(*g->rxf));
	g->fill = calloc(g->nrx, sizeof(*g->fill));
	g->tx_free = calloc(g->nframes - g->nrx, sizeof(*g->tx_free));
	if (!g->rxf || !g->fill || !g->tx_free) {
		err = -ENOMEM;
		goto out;
	}
	err = xsk_open(g);
	if (err)
		goto out;
	err = prog_load(g);
	if (err) {
		xdp_log("%s: cannot attach the XDP program: %s", g->ifname, strerror(-err));
		goto out;
	}
	for (i = 0; i < g->nrx; i++) {
		g->rxf[i].g = g;
		g->rxf[i].addr = (uint64_t)i * XDP_FRAME_SIZE;
		g->rxf[i].f.release = rx_frame_release;
		g->rxf[i].f.owner = g;
		g->fill[g->nfill++] = g->rxf[i].addr;
	}
	for (i = g->nrx; i < g->nframes; i++)
		g->tx_free[g->ntx_free++] = (uint64_t)i * XDP_FRAME_SIZE;
	fill_push(g);
	memset(&uc, 0, sizeof(uc));
	memcpy(uc.mac, g->mac, 6);
	uc.ip = g->ip;
	uc.prefix = g->prefix;
	uc.gateway = g->base.opts.xdp_gw4 ? ntohl(g->base.opts.xdp_gw4) : 0;
	uc.mtu = g->mtu;
	uc.flags = UTCP_ANSWER_ARP;
	if (g->base.opts.xdp_flags & XT_XDP_TRUST_CSUM)
		uc.flags |= UTCP_RX_CSUM_OK;
	/* The window is what the receive frames can hold, with room to spare
	 * for frames the caller keeps and segments out of order. */
	uc.rcv_wnd = g->nrx / 4 * (uint32_t)(g->mtu - 40);
	err = env_impair(&uc.impair);
	if (err)
		goto out;
	err = utcp_stack_new(&uc, &xdp_link_ops, g, &g->st);
	if (err)
		goto out;
	g->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g->epfd < 0) {
		err = -errno;
		goto out;
	}
	e.data.fd = g->xsk_fd;
	if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->xsk_fd, &e) < 0) {
		err = -errno;
		goto out;
	}
	e.data.fd = g->base.wake_fd;
	if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->base.wake_fd, &e) < 0) {
		err = -errno;
		goto out;
	}
	a.s_addr = htonl(g->ip);
	snprintf(mode, sizeof(mode), "copy (%u frames a send)", g->tx_budget);
	xdp_log("%s queue %u: %s XDP, %s, %u frames of %u bytes, address %s/%u, mtu %u, "
	        "checksums %s",
	        g->ifname, g->queue, g->drv_mode ? "native" : "generic (SKB)",
	        g->zerocopy ? "zero-copy" : mode, g->nframes, XDP_FRAME_SIZE,
	        inet_ntop(AF_INET, &a, ipbuf, sizeof(ipbuf)), g->prefix, g->mtu,
	        (uc.flags & UTCP_RX_CSUM_OK) ? "trusted" : "verified");
	return 0;
out:
	xdp_group_fini(xg);
	return err;
}

static void xdp_group_fini(struct xt_group *xg)
{
	struct xdp_group *g = XG(xg);

	xt_timer_cancel(&g->eng_timer);
	if (g->st && getenv("XISCSI_XDP_STATS")) {
		struct utcp_stack_stats ss;

		utcp_stack_get_stats(g->st, &ss);
		fprintf(stderr,
		        "xdp: %s: rx %" PRIu64 " frames %" PRIu64 " bytes, tx %" PRIu64
		        " frames %" PRIu64 " bytes, dropped %" PRIu64 ", retransmits %" PRIu64
		        " (rto %" PRIu64 ", fast %" PRIu64 "), dup acks %" PRIu64
		        ", out of order %" PRIu64 ", zero-window probes %" PRIu64
		        ", no tx frame %" PRIu64 ", impaired %" PRIu64 "/%" PRIu64 "/%" PRIu64
		        "; %" PRIu64 " syscalls in %" PRIu64 " polls",
		        g->ifname, ss.rx_frames, ss.rx_bytes, ss.tx_frames, ss.tx_bytes,
		        ss.rx_dropped, ss.retransmits, ss.rto_fired, ss.fast_retransmits,
		        ss.dup_acks, ss.ooo_segments, ss.zero_window_probes, ss.tx_alloc_fail,
		        ss.impair_dropped, ss.impair_duped, ss.impair_reordered,
		        g->base.stats.syscalls, g->base.stats.polls);
	}
	while (g->orphans) {
		struct xdp_orphan *o = g->orphans;

		g->orphans = o->next;
		utcp_sock_free(o->s);
		free(o);
	}
	if (g->st)
		utcp_stack_free(g->st);
	g->st = NULL;
	socks_reap(g);
	free(g->dead_socks);
	if (g->link_fd >= 0)
		close(g->link_fd); /* detaches the program */
	if (g->obj)
		bpf_object__close(g->obj);
	if (g->xsk)
		xsk_socket__delete(g->xsk);
	if (g->umem)
		xsk_umem__delete(g->umem);
	if (g->area)
		munmap(g->area, g->area_size);
	if (g->epfd >= 0)
		close(g->epfd);
	free(g->rxf);
	free(g->fill);
	free(g->tx_free);
}

/* ---- listeners ---- */

static int check_local(struct xdp_group *g, const struct sockaddr *sa, socklen_t salen,
                       uint16_t *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	if (sa->sa_family != AF_INET || salen < sizeof(*sin))
		return -EAFNOSUPPORT;
	if (sin->sin_addr.s_addr != htonl(INADDR_ANY) && ntohl(sin->sin_addr.s_addr) != g->ip)
		return -EADDRNOTAVAIL;
	*port = ntohs(sin->sin_port);
	return 0;
}

static int xdp_listen(struct xt_listener *l, const struct sockaddr *sa, socklen_t salen)
{
	struct xdp_listener *xl = XL(l);
	struct xdp_group *g = XG(l->g);
	uint32_t ip;
	int err;

	err = check_local(g, sa, salen, &xl->port);
	if (err)
		return err;
	err = utcp_listen(g->st, xl->port, cb_accept, l, &xl->s);
	if (err)
		return err;
	utcp_sock_local(xl->s, &ip, &xl->port);
	return 0;
}

static void xdp_listener_close(struct xt_listener *l)
{
	struct xdp_listener *xl = XL(l);
	struct xdp_group *g = XG(l->g);
	struct xt_conn *c;

	/* Connections accepted by the engine but not yet given out go too. */
	for (c = g->base.conns; c; c = c->next)
		if (XC(c)->pending_l == l && c->state != XT_CONN_DEAD) {
			XC(c)->pending_l = NULL;
			c->state = XT_CONN_CLOSING;
			c->ops->close(c, XT_CLOSE_ABORT);
		}
	if (xl->s) {
		utcp_sock_close(xl->s, true);
		sock_free_later(g, xl->s);
		xl->s = NULL;
	}
}

static int xdp_listener_addr(struct xt_listener *l, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(XL(l)->port);
	sin->sin_addr.s_addr = htonl(XG(l->g)->ip);
	*len = sizeof(*sin);
	return 0;
}

/* ---- connections ---- */

static int xdp_connect(struct xt_conn *c, const struct sockaddr *sa, socklen_t salen)
{
	struct xdp_conn *xc = XC(c);
	struct xdp_group *g = XG(c->g);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	uint32_t ip;
	uint16_t port;
	int err;

	if (sa->sa_family != AF_INET || salen < sizeof(*sin))
		return -EAFNOSUPPORT;
	if (!sin->sin_port || sin->sin_addr.s_addr == htonl(INADDR_ANY))
		return -EINVAL;
	err = utcp_connect(g->st, ntohl(sin->sin_addr.s_addr), ntohs(sin->sin_port), 0,
	                   &conn_sock_cbs, xc, &xc->s);
	if (err)
		return err;
	xc->peer = *sin;
	utcp_sock_local(xc->s, &ip, &port);
	xc->local = (struct sockaddr_in){
	        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
	/* The SYN leaves at the next flush, from the poll. */
	return 0;
}

static int xdp_send(struct xt_conn *c, struct xt_send_req *req)
{
	if (XC(c)->s && c->state == XT_CONN_OPEN)
		utcp_sock_kick(XC(c)->s);
	return 0;
}

static int xdp_recv_enable(struct xt_conn *c, bool on)
{
	if (XC(c)->s)
		utcp_sock_pause(XC(c)->s, !on);
	return 0;
}

static int xdp_shutdown(struct xt_conn *c)
{
	c->shut_wr = true;
	return XC(c)->s ? utcp_sock_shutdown(XC(c)->s) : -ENOTCONN;
}

static void xdp_close(struct xt_conn *c, unsigned flags)
{
	struct xdp_conn *xc = XC(c);
	struct xdp_group *g = XG(c->g);

	xc->pending_l = NULL;
	if (!xc->s) {
		xt_conn_reap_later(c);
		return;
	}
	if (flags & XT_CLOSE_ABORT) {
		sock_close(g, xc->s, true);
		sock_free_later(g, xc->s);
		xc->s = NULL;
		xt_conn_reap_later(c);
		return;
	}
	if (!c->sq_head) {
		conn_orphan(xc);
		return;
	}
	/* Flush, then FIN; the socket is given up once all is acknowledged
	 * (cb_acked). Whatever arrives meanwhile is taken and dropped. */
	utcp_sock_pause(xc->s, false);
	utcp_sock_shutdown(xc->s);
	utcp_sock_kick(xc->s);
}

static int xdp_addr(struct xt_conn *c, bool peer, struct sockaddr_storage *ss, socklen_t *len)
{
	const struct sockaddr_in *sin = peer ? &XC(c)->peer : &XC(c)->local;

	if (!sin->sin_family)
		return -ENOTCONN;
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, sin, sizeof(*sin));
	*len = sizeof(*sin);
	return 0;
}

static void xdp_conn_free(struct xt_conn *c)
{
	struct xdp_conn *xc = XC(c);

	if (xc->s) {
		utcp_sock_close(xc->s, true);
		sock_free_later(XG(c->g), xc->s);
		xc->s = NULL;
	}
}

const struct xt_ops xt_xdp_ops = {
        .name = "xdp",
        .caps = XT_CAP_BYPASS | XT_CAP_NO_SYSCALL | XT_CAP_BUSY_POLL | XT_CAP_HALF_CLOSE |
                XT_CAP_GROUP_FD,
        .group_size = sizeof(struct xdp_group),
        .conn_size = sizeof(struct xdp_conn),
        .listener_size = sizeof(struct xdp_listener),
        .group_init = xdp_group_init,
        .group_fini = xdp_group_fini,
        .poll = xdp_poll,
        .group_fd = xdp_group_fd,
        .listen = xdp_listen,
        .listener_close = xdp_listener_close,
        .listener_addr = xdp_listener_addr,
        .connect = xdp_connect,
        .send = xdp_send,
        .recv_enable = xdp_recv_enable,
        .shutdown = xdp_shutdown,
        .close = xdp_close,
        .addr = xdp_addr,
        .conn_free = xdp_conn_free,
};
