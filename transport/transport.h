/*
 * xiscsi transport: one completion-based API over kernel sockets (tcp),
 * io_uring (uring) and AF_XDP with a userspace TCP engine (xdp).
 *
 * Shape (after SPDK's sock layer, kept small):
 *  - a group is one reactor owned by one thread; xt_group_poll() runs its
 *    I/O, timers and posted work and never blocks unless asked to;
 *  - a connection belongs to one group; every callback runs on that
 *    group's thread, from inside xt_group_poll() (never from inside the
 *    call that queued the work);
 *  - a send is a caller-allocated request with an iovec list pointing at
 *    the caller's memory; its callback says when that memory is free again;
 *  - received bytes arrive in buffers the backend lends (xt_rxbuf); the
 *    consumer may keep a reference to parse in place and release it later.
 *
 * Thread rules: everything here is called from the group's own thread,
 * except xt_group_post(), which any thread may call.
 *
 * This layer knows nothing of iSCSI. Errors are 0 or -errno.
 */
#ifndef XI_TRANSPORT_H
#define XI_TRANSPORT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

struct xt_group;
struct xt_conn;
struct xt_listener;
struct xt_rxbuf;
struct xt_send_req;
struct xt_timer;

/* ---- capabilities: callers ask, never guess ---- */
#define XT_CAP_ZEROCOPY_SEND  (1u << 0) /* send completes after the NIC is done with the memory */
#define XT_CAP_MULTISHOT_RECV (1u << 1) /* one armed receive yields many buffers */
#define XT_CAP_BUSY_POLL      (1u << 2) /* XT_GROUP_BUSY_POLL is honoured */
#define XT_CAP_BYPASS         (1u << 3) /* no kernel network stack on the data path */
#define XT_CAP_IPV6           (1u << 4)
#define XT_CAP_HALF_CLOSE     (1u << 5) /* xt_conn_shutdown() sends FIN, receive goes on */
#define XT_CAP_NO_SYSCALL     (1u << 6) /* data path may run with no system call (SQPOLL, XDP) */
#define XT_CAP_GROUP_FD       (1u << 7) /* xt_group_fd() gives a pollable descriptor */
#define XT_CAP_NAPI           (1u << 8) /* waits busy-poll the sockets' NIC queues (NAPI) */

/* ---- options: each struct carries its size so it can grow ----
 * Set opts_size = sizeof(struct ...) and zero what you do not choose: zero
 * always means "the default". Fields past opts_size read as zero. */

/* xt_group_opts.flags */
#define XT_GROUP_BUSY_POLL (1u << 0) /* spin in poll instead of sleeping (SO_BUSY_POLL, SQPOLL) */

struct xt_group_opts {
	size_t opts_size;
	unsigned flags;        /* XT_GROUP_* */
	size_t rx_buf_size;    /* bytes per lent receive buffer; default 128 KiB */
	unsigned rx_buf_cache; /* free receive buffers kept for reuse; default 32 */
	unsigned busy_poll_us; /* SO_BUSY_POLL / NAPI budget when XT_GROUP_BUSY_POLL; default 50 */
	unsigned sqpoll_idle_ms; /* uring: SQPOLL thread idle time; 0 = no SQPOLL */
	unsigned zc_threshold; /* uring/xdp: sends at least this big go zero-copy; 0 = backend's */
	char xdp_ifname[16];   /* xdp: interface to take a queue of (IFNAMSIZ) */
	unsigned xdp_queue;    /* xdp: its queue index */
	uint32_t xdp_ip4;      /* xdp: the stack's own IPv4 address (network order) */
	uint8_t xdp_prefix;    /* xdp: its on-link prefix length; default 24 */
	uint32_t xdp_gw4;      /* xdp: IPv4 gateway (network order); 0 = none */
	unsigned xdp_frames;   /* xdp: UMEM frames of 4 KiB, half receive; default 8192 */
	unsigned xdp_flags;    /* xdp: XT_XDP_* */
};

/* xt_group_opts.xdp_flags */
#define XT_XDP_SKB_MODE   (1u << 0) /* attach in generic (SKB) mode only */
#define XT_XDP_DRV_MODE   (1u << 1) /* native (driver) mode only, no fallback */
#define XT_XDP_COPY       (1u << 2) /* bind the socket in copy mode */
#define XT_XDP_ZEROCOPY   (1u << 3) /* zero-copy only, no fallback to copy */
#define XT_XDP_TRUST_CSUM (1u << 4) /* do not verify received checksums */

/* xt_conn_opts.flags */
#define XT_CONN_NO_NODELAY (1u << 0) /* keep Nagle (TCP_NODELAY is on by default) */

struct xt_conn_opts {
	size_t opts_size;
	unsigned flags;  /* XT_CONN_* */
	int sndbuf;      /* SO_SNDBUF; 0 = kernel default (autotuned) */
	int rcvbuf;      /* SO_RCVBUF; 0 = kernel default (autotuned) */
	size_t send_hwm; /* queued send bytes above which xt_conn_send() says -EAGAIN;
	                  * default 4 MiB */
	size_t send_lwm; /* on_writable fires when queued bytes fall to this after an
	                  * -EAGAIN; default send_hwm / 2 */
};

/* xt_listen_opts.flags */
#define XT_LISTEN_REUSEPORT                                                                        \
	(1u << 0)                  /* SO_REUSEPORT: one listener per group on one port,            \
	                            * the kernel (or RSS, for xdp) spreads connections */
#define XT_LISTEN_V6ONLY (1u << 1) /* IPV6_V6ONLY on a v6 wildcard */

struct xt_listen_opts {
	size_t opts_size;
	unsigned flags;           /* XT_LISTEN_*; SO_REUSEADDR is always set */
	int backlog;              /* default SOMAXCONN */
	struct xt_conn_opts conn; /* for accepted connections */
};

/* ---- counters ---- */
struct xt_group_stats {
	uint64_t rx_bytes, tx_bytes;
	uint64_t rx_pdus, tx_pdus; /* as reported by the caller, xt_conn_count_pdus() */
	uint64_t syscalls;         /* every system call the group made */
	uint64_t wakeups;          /* cross-thread wake-ups received */
	uint64_t polls;            /* xt_group_poll() calls */
	uint64_t events;           /* I/O events handled */
	uint64_t timers_fired;
	uint64_t posts_run;
	uint64_t conns_open; /* live connections now */
};

struct xt_conn_stats {
	uint64_t rx_bytes, tx_bytes;
	uint64_t rx_pdus, tx_pdus;
	uint64_t rx_calls, tx_calls; /* receive and send system calls (or ring ops) */
	size_t send_queued;          /* bytes queued and not yet completed, now */
	size_t send_queued_max;      /* highest send_queued seen */
	uint64_t send_eagain;        /* xt_conn_send() refusals for the high-water mark */
};

/* ---- callbacks ---- */

/* Received bytes. The buffer is valid during the callback; take a reference
 * with xt_rxbuf_hold() to use it later, and xt_rxbuf_release() it then. */
struct xt_rxbuf {
	uint8_t *data;
	size_t len;
	/* backend side */
	unsigned refs;
	void (*free)(struct xt_rxbuf *b);
};

struct xt_conn_cbs {
	/* xt_connect() succeeded. Failure goes to on_error (-ECONNREFUSED, ...). */
	void (*on_connect)(struct xt_conn *c);
	void (*on_recv)(struct xt_conn *c, struct xt_rxbuf *b);
	/* The peer sent FIN; no more on_recv. Sending still works. */
	void (*on_eof)(struct xt_conn *c);
	/* The connection failed (-ECONNRESET, -ECONNREFUSED, -ETIMEDOUT, ...).
	 * Called once; queued sends complete with err; the caller then calls
	 * xt_conn_close(). */
	void (*on_error)(struct xt_conn *c, int err);
	/* Queued bytes fell to send_lwm after xt_conn_send() said -EAGAIN. */
	void (*on_writable)(struct xt_conn *c);
};

/* A send. Caller-allocated, lives until its callback; the backend links it
 * through 'next' and never allocates per send. Requests on one connection
 * complete in the order they were queued. status is 0 or -errno
 * (-ECANCELED when the connection was closed with XT_CLOSE_ABORT). */
struct xt_send_req {
	const struct iovec *iov;
	unsigned iovcnt;
	void (*cb)(struct xt_conn *c, struct xt_send_req *req, int status);
	void *arg;
	/* backend side */
	struct xt_send_req *next;
	size_t len;  /* sum of iov lengths */
	size_t done; /* bytes handed to the network so far */
};

typedef void (*xt_accept_cb)(struct xt_listener *l, struct xt_conn *c, void *arg);
typedef void (*xt_timer_cb)(struct xt_timer *t, void *arg);
typedef void (*xt_post_fn)(void *arg);

/* A timer. Caller-allocated (embed it); a group keeps no copy. */
struct xt_timer {
	xt_timer_cb cb;
	void *arg;
	/* group side */
	struct xt_group *g;
	uint64_t due_ms;
	uint64_t period_ms;
	size_t slot; /* heap index + 1; 0 when not armed */
};

/* ---- backend side: the base structs a backend embeds first ---- */

struct xt_ops {
	const char *name;
	unsigned caps;
	size_t group_size, conn_size, listener_size;
	int (*group_init)(struct xt_group *g);
	void (*group_fini)(struct xt_group *g);
	/* Wait at most timeout_ms (-1 forever, 0 not at all) and handle up to
	 * budget events; the caller has already run due timers. */
	int (*poll)(struct xt_group *g, int budget, int timeout_ms);
	int (*group_fd)(struct xt_group *g);
	int (*listen)(struct xt_listener *l, const struct sockaddr *sa, socklen_t salen);
	void (*listener_close)(struct xt_listener *l);
	int (*listener_addr)(struct xt_listener *l, struct sockaddr_storage *ss, socklen_t *len);
	int (*connect)(struct xt_conn *c, const struct sockaddr *sa, socklen_t salen);
	int (*send)(struct xt_conn *c, struct xt_send_req *req);
	int (*recv_enable)(struct xt_conn *c, bool on);
	int (*shutdown)(struct xt_conn *c);
	void (*close)(struct xt_conn *c, unsigned flags);
	int (*addr)(struct xt_conn *c, bool peer, struct sockaddr_storage *ss, socklen_t *len);
	void (*conn_free)(struct xt_conn *c);
};

struct xt_post;
struct xt_poller;

struct xt_group {
	const struct xt_ops *ops;
	struct xt_group_opts opts;
	struct xt_group_stats stats;
	uint64_t now_ms;          /* CLOCK_MONOTONIC, refreshed once per poll */
	struct xt_timer **timers; /* min-heap on due_ms */
	size_t ntimers, timers_cap;
	pthread_mutex_t post_lock;
	struct xt_post *post_head, *post_tail;
	atomic_bool post_pending;
	int wake_fd;           /* eventfd the backend watches; xt_group_wake_drain() on readable */
	struct xt_conn *conns; /* all live connections */
	struct xt_conn *dead;  /* closed, freed after the callbacks of this poll */
	struct xt_listener *dead_listeners;
	struct xt_poller *pollers; /* xt_poller_add() */
};

/* xt_conn.state */
enum xt_conn_state {
	XT_CONN_CONNECTING,
	XT_CONN_OPEN,
	XT_CONN_FAILED,  /* on_error was called */
	XT_CONN_CLOSING, /* closed by the caller, flushing */
	XT_CONN_DEAD,    /* waiting to be freed */
};

struct xt_conn {
	const struct xt_ops *ops;
	struct xt_group *g;
	const struct xt_conn_cbs *cbs;
	void *arg;
	struct xt_conn_opts opts;
	struct xt_conn_stats stats;
	enum xt_conn_state state;
	bool want_writable; /* xt_conn_send() said -EAGAIN */
	bool recv_paused;
	bool eof_seen;
	bool shut_wr; /* xt_conn_shutdown() was called */
	int err;
	struct xt_send_req *sq_head, *sq_tail; /* queued sends, oldest first */
	struct xt_conn *prev, *next;           /* g->conns */
	struct xt_conn *dead_next;
};

struct xt_listener {
	const struct xt_ops *ops;
	struct xt_group *g;
	struct xt_listen_opts opts;
	xt_accept_cb cb;
	void *arg;
	bool closed;
	struct xt_listener *dead_next;
};

/* ---- backends ---- */

/* NULL-terminated names of the backends built into this binary. */
const char *const *xt_backend_names(void);
/* Why 'name' cannot be used here (unknown, or known but not built), or
 * NULL when it can. For error messages. */
const char *xt_backend_why(const char *name);

/* ---- groups ---- */

/* 0, or -ENOENT for an unknown or not-built backend (see xt_backend_why),
 * -EINVAL for bad options, or the backend's setup error. */
int xt_group_new(const char *backend, const struct xt_group_opts *opts, struct xt_group **out);
/* Aborts what is still open (send callbacks get -ECANCELED) and frees. */
void xt_group_destroy(struct xt_group *g);
/* Run due timers, posted work and up to 'budget' I/O events, waiting at
 * most timeout_ms for something to happen (0: never block; -1: until
 * something does). Returns the number of things handled, or -errno. */
int xt_group_poll(struct xt_group *g, int budget, int timeout_ms);
/* Run fn(arg) on g's thread, soon. Any thread. 0 or -ENOMEM. */
int xt_group_post(struct xt_group *g, xt_post_fn fn, void *arg);
/* Milliseconds until the next timer (-1 none) for callers with their own
 * loop around xt_group_fd(). */
int xt_group_next_timeout(struct xt_group *g);
const char *xt_group_backend(const struct xt_group *g);
void xt_group_get_stats(const struct xt_group *g, struct xt_group_stats *out);
uint64_t xt_now_ms(void);

static inline unsigned xt_group_caps(const struct xt_group *g)
{
	return g->ops->caps;
}

/* A descriptor that turns readable when xt_group_poll() has work, or
 * -ENOTSUP (see XT_CAP_GROUP_FD). */
static inline int xt_group_fd(struct xt_group *g)
{
	return g->ops->group_fd ? g->ops->group_fd(g) : -ENOTSUP;
}

/* ---- pollers: work that completes outside the group's descriptors ----
 * A poller runs on every xt_group_poll() pass, before and after the I/O
 * wait, on the group's thread; it returns how many things it handled (> 0
 * keeps the next wait from blocking). What finishes its work meanwhile
 * wakes the group through xt_group_wake_fd(), an eventfd (an io_uring
 * signals it itself with io_uring_register_eventfd()). Caller-allocated;
 * add and delete on the group's thread (or once no thread polls it). A
 * poller still added when the group is destroyed gets fini(arg), if set. */
struct xt_poller {
	int (*fn)(void *arg);
	void (*fini)(void *arg);
	void *arg;
	struct xt_poller *next; /* group side */
};

void xt_poller_add(struct xt_group *g, struct xt_poller *p);
void xt_poller_del(struct xt_group *g, struct xt_poller *p);

static inline int xt_group_wake_fd(const struct xt_group *g)
{
	return g->wake_fd;
}

/* The group this thread polls (set by xt_group_poll()), or NULL. */
struct xt_group *xt_group_current(void);

/* ---- timers (ms resolution, fire from xt_group_poll) ---- */

/* Arm t to fire after ms, then every period_ms if not 0. Re-arming an armed
 * timer moves it. */
int xt_timer_start(struct xt_group *g, struct xt_timer *t, uint64_t ms, uint64_t period_ms,
                   xt_timer_cb cb, void *arg);
/* Safe on a timer that is not armed, and from inside its own callback. */
void xt_timer_cancel(struct xt_timer *t);

static inline bool xt_timer_armed(const struct xt_timer *t)
{
	return t->slot != 0;
}

/* ---- listeners ---- */

int xt_listen(struct xt_group *g, const struct sockaddr *sa, socklen_t salen,
              const struct xt_listen_opts *opts, xt_accept_cb cb, void *arg,
              struct xt_listener **out);
void xt_listener_close(struct xt_listener *l);
/* The bound address (to learn the port after binding port 0). */
int xt_listener_addr(struct xt_listener *l, struct sockaddr_storage *ss, socklen_t *len);

/* ---- connections ---- */

/* Start connecting; the result comes as on_connect or on_error. */
int xt_connect(struct xt_group *g, const struct sockaddr *sa, socklen_t salen,
               const struct xt_conn_opts *opts, const struct xt_conn_cbs *cbs, void *arg,
               struct xt_conn **out);
/* Set the callbacks of an accepted connection (in the accept callback);
 * receiving starts when the accept callback returns. */
void xt_conn_set_cbs(struct xt_conn *c, const struct xt_conn_cbs *cbs, void *arg);

/* xt_conn_close() flags */
#define XT_CLOSE_ABORT (1u << 0) /* drop queued sends (-ECANCELED) and reset (RST) */

/* Every connection (accepted or connected) is closed exactly once. Without
 * XT_CLOSE_ABORT queued sends are flushed first, then FIN; that flush has
 * no time limit of its own (arm a timer and abort if the peer may stall).
 * After this call no callback runs for c but the completions of its queued
 * sends; the memory is freed later, never under a callback. */
void xt_conn_close(struct xt_conn *c, unsigned flags);

static inline void *xt_conn_arg(const struct xt_conn *c)
{
	return c->arg;
}

static inline struct xt_group *xt_conn_group(const struct xt_conn *c)
{
	return c->g;
}

/* Queue req. 0: its callback will run. -EAGAIN: not queued and left
 * untouched (its 'next' included), the queue holds send_hwm bytes already (a
 * request is always taken on an empty queue, so one bigger than the mark
 * still goes); wait for on_writable. -EPIPE after close or shutdown, the
 * error after on_error, -EINVAL for an empty request. May be called before
 * on_connect: the data leaves once connected. Requests queued during one
 * poll go out together (one writev where the backend can). The iov array
 * and the memory it points at stay untouched by the caller until the
 * callback. */
int xt_conn_send(struct xt_conn *c, struct xt_send_req *req);

/* Back-pressure on receive: no on_recv while paused, and the backend stops
 * reading so the peer's sender feels it. */
static inline int xt_conn_pause_recv(struct xt_conn *c)
{
	if (c->recv_paused)
		return 0;
	c->recv_paused = true;
	return c->ops->recv_enable(c, false);
}

static inline int xt_conn_resume_recv(struct xt_conn *c)
{
	if (!c->recv_paused)
		return 0;
	c->recv_paused = false;
	return c->ops->recv_enable(c, true);
}

/* Half-close: FIN after the queued sends; receiving goes on. */
static inline int xt_conn_shutdown(struct xt_conn *c)
{
	if (c->state != XT_CONN_OPEN)
		return c->err ? c->err : -ENOTCONN;
	return c->ops->shutdown(c);
}

static inline size_t xt_conn_queued_bytes(const struct xt_conn *c)
{
	return c->stats.send_queued;
}

static inline int xt_conn_local_addr(struct xt_conn *c, struct sockaddr_storage *ss, socklen_t *len)
{
	return c->ops->addr(c, false, ss, len);
}

static inline int xt_conn_peer_addr(struct xt_conn *c, struct sockaddr_storage *ss, socklen_t *len)
{
	return c->ops->addr(c, true, ss, len);
}

/* The caller parses PDUs; it reports them here for the counters. */
static inline void xt_conn_count_pdus(struct xt_conn *c, unsigned rx, unsigned tx)
{
	c->stats.rx_pdus += rx;
	c->stats.tx_pdus += tx;
	c->g->stats.rx_pdus += rx;
	c->g->stats.tx_pdus += tx;
}

static inline void xt_conn_get_stats(const struct xt_conn *c, struct xt_conn_stats *out)
{
	*out = c->stats;
}

/* ---- lent receive buffers ----
 * Hold and release on the group's thread (post the release back if another
 * thread used the data), and release all before xt_group_destroy(). A held
 * buffer is out of the backend's pool: hold what a parser needs, not more. */

static inline void xt_rxbuf_hold(struct xt_rxbuf *b)
{
	b->refs++;
}

static inline void xt_rxbuf_release(struct xt_rxbuf *b)
{
	if (--b->refs == 0)
		b->free(b);
}

/* ---- options from a command line or a configuration file ---- */

/* Set one transport option by its long name without dashes ("busy-poll",
 * "rx-buf", "sndbuf", "rcvbuf", "send-hwm", "sqpoll-idle", "zc-threshold",
 * "xdp-if", "xdp-ip", "xdp-gw", "xdp-frames", "xdp-mode", "xdp-bind",
 * "xdp-csum"); sizes take K/M/G. value may be NULL for "busy-poll". 0,
 * -ENOENT when name is no transport option (so a caller can try its own),
 * -EINVAL for a bad value. Either struct pointer may be NULL. */
int xt_opt_set(struct xt_group_opts *go, struct xt_conn_opts *co, const char *name,
               const char *value);
/* Help lines for those options, for a program's --help. */
extern const char xt_opt_help[];

/* ---- addresses ---- */

/* "1.2.3.4", "1.2.3.4:3260", "::1", "[::1]:3260", "host:port" (numeric
 * only, no DNS). 0 or -EINVAL. */
int xt_addr_parse(const char *str, uint16_t default_port, struct sockaddr_storage *ss,
                  socklen_t *len);
/* "1.2.3.4:3260" or "[::1]:3260"; returns buf. */
char *xt_addr_format(const struct sockaddr *sa, char *buf, size_t buflen);
#define XT_ADDRSTRLEN 64

/* ---- for backends only ---- */

/* Run on_error once, complete queued sends with err. */
void xt_conn_fail(struct xt_conn *c, int err);
/* Pop the sends that are fully done and run their callbacks (status 0). */
void xt_conn_complete_sends(struct xt_conn *c);
/* Fill iov (at most max entries) with the queued bytes not yet handed to
 * the network, in order; *total gets their sum. Returns the entries used. */
unsigned xt_conn_gather(const struct xt_conn *c, struct iovec *iov, unsigned max, size_t *total);
/* The same from request r on, skip bytes into r (its done included). */
unsigned xt_sendq_gather(const struct xt_send_req *r, size_t skip, struct iovec *iov, unsigned max,
                         size_t *total);
/* n bytes of the gathered queue left: count them and complete what is done. */
void xt_conn_sent(struct xt_conn *c, size_t n);
/* Move c to the dead list; it is freed after the current poll's callbacks. */
void xt_conn_reap_later(struct xt_conn *c);
/* Allocate a connection of the backend's size, linked into g. */
struct xt_conn *xt_conn_alloc(struct xt_group *g, const struct xt_conn_opts *opts);
/* The group's wake_fd turned readable: drain it and count a wake-up. */
void xt_group_wake_drain(struct xt_group *g);
static inline bool xt_conn_live(const struct xt_conn *c)
{
	return c->state == XT_CONN_OPEN || c->state == XT_CONN_CONNECTING;
}

#endif
