/*
 * utcp: the userspace TCP/IPv4 engine under the xdp transport.
 *
 * A stack is a set of TCP sockets plus ARP for one local address on one
 * Ethernet link. It owns no thread, no lock and no descriptor: the owner
 * (transport/xdp.c, or a test harness on a TAP device) feeds it received
 * frames, gives it frame buffers to transmit into, and calls utcp_timers()
 * when utcp_next_timer_us() says so. Everything runs on the owner's thread.
 *
 * Data paths without a copy where the owner allows it:
 *  - receive: payload is handed to the socket owner in place, inside the
 *    frame it arrived in (struct utcp_frame); the owner may hold the frame
 *    (utcp_frame_hold) and release it later, so a PDU parser can keep it;
 *  - send: the engine keeps no send buffer. The socket owner keeps the
 *    stream bytes that are not yet acknowledged and lends them on demand
 *    (utcp_sock_cbs.tx_gather); the engine copies them into frames when it
 *    (re)transmits and reports with on_acked() how far the peer has ACKed,
 *    at which point the owner may drop them. xt_conn's send queue is
 *    exactly such a store.
 *
 * Addresses and ports in this API are in host byte order.
 * Errors are 0 or -errno.
 */
#ifndef XI_UTCP_H
#define XI_UTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct utcp_stack;
struct utcp_sock;

/* ---- frames ---- */

/* A received frame, lent by the owner. data/len cover the whole Ethernet
 * frame. The engine calls release() once when it and everyone it lent the
 * frame to are done (refs reaches 0). */
struct utcp_frame {
	uint8_t *data;
	size_t len;
	unsigned refs;
	void (*release)(struct utcp_frame *f);
	void *owner; /* for the owner's use */
};

static inline void utcp_frame_hold(struct utcp_frame *f)
{
	f->refs++;
}

static inline void utcp_frame_put(struct utcp_frame *f)
{
	if (--f->refs == 0)
		f->release(f);
}

/* The owner's side of the link, given to utcp_stack_new(). */
struct utcp_link_ops {
	/* A buffer of at least 'len' bytes (len <= mtu + 14) to build one
	 * outgoing frame in, or NULL when none is free now (the engine retries
	 * on its next timer or input). */
	uint8_t *(*tx_alloc)(void *link, size_t len);
	/* Send the frame built in buf (from tx_alloc), 'len' bytes. The buffer
	 * belongs to the owner again. Frames may be batched by the owner until
	 * tx_flush(). */
	void (*tx_submit)(void *link, uint8_t *buf, size_t len);
	/* Push what tx_submit queued (kick the NIC). May be NULL. */
	void (*tx_flush)(void *link);
	/* Return a buffer from tx_alloc unsent. */
	void (*tx_abort)(void *link, uint8_t *buf);
};

/* ---- the stack ---- */

/* utcp_cfg.flags */
#define UTCP_RX_CSUM_OK (1u << 0) /* the link verified IPv4/TCP checksums */
#define UTCP_ANSWER_ARP (1u << 1) /* answer ARP requests for 'ip' (the kernel does not own it) */
#define UTCP_NO_DELACK  (1u << 2) /* ACK every segment at once */

/* A test mode that damages the link, applied to frames in both directions
 * (rates in parts per million, from a seeded PRNG so a run can be
 * repeated). */
struct utcp_impair {
	uint32_t drop_ppm;
	uint32_t dup_ppm;
	uint32_t reorder_ppm; /* hold a frame back and send it after the next one */
	uint64_t seed;
};

struct utcp_cfg {
	uint8_t mac[6];
	uint32_t ip;      /* our IPv4 address */
	uint8_t prefix;   /* on-link prefix length */
	uint32_t gateway; /* 0: none; peers off-link are then unreachable */
	uint16_t mtu;     /* IP MTU of the link; MSS = mtu - 40 */
	unsigned flags;   /* UTCP_* */
	uint32_t rcv_wnd; /* bytes of receive window per socket; 0 = default (4 MiB, scaled) */
	uint16_t ephemeral_lo, ephemeral_hi; /* active-open ports; 0,0 = a default range */
	struct utcp_impair impair;
	/* Retransmission timeouts in a row before a connection fails with
	 * -ETIMEDOUT; 0 = the defaults (10, or 5 for a SYN). */
	uint8_t rtx_retries;
};

int utcp_stack_new(const struct utcp_cfg *cfg, const struct utcp_link_ops *ops, void *link,
                   struct utcp_stack **out);
/* Resets every socket (no callbacks) and frees. */
void utcp_stack_free(struct utcp_stack *st);

/* A frame arrived. The engine takes the caller's reference (it puts it when
 * done); frames that are not for this stack are dropped (put at once). */
void utcp_input(struct utcp_stack *st, struct utcp_frame *f);

/* Microseconds, CLOCK_MONOTONIC. */
uint64_t utcp_now_us(void);
/* Run the timers that are due at now_us (retransmission, delayed ACK,
 * persist, keepalive-free TIME_WAIT, ARP retries). */
void utcp_timers(struct utcp_stack *st, uint64_t now_us);
/* When utcp_timers() next has work, UINT64_MAX for never. */
uint64_t utcp_next_timer_us(const struct utcp_stack *st);
/* Send what became sendable (new tx_gather data, window updates) on every
 * socket marked by utcp_sock_kick() since the last call; the owner calls it
 * once per poll, after the callbacks, so many sends make few segments. */
void utcp_flush(struct utcp_stack *st);

struct utcp_stack_stats {
	uint64_t rx_frames, tx_frames, rx_bytes, tx_bytes;
	uint64_t rx_dropped;  /* not for us, bad checksum, malformed */
	uint64_t retransmits; /* segments sent again (RTO or fast) */
	uint64_t rto_fired, fast_retransmits, dup_acks;
	uint64_t zero_window_probes;
	uint64_t ooo_segments; /* arrived out of order and were kept */
	uint64_t tx_alloc_fail;
	uint64_t impair_dropped, impair_duped, impair_reordered;
	uint64_t arp_requests, arp_replies;
	uint64_t tail_loss_probes; /* probes sent when the tail of a flight got no ACK */
};
void utcp_stack_get_stats(const struct utcp_stack *st, struct utcp_stack_stats *out);

/* ---- sockets ---- */

/* The socket owner's side. Every callback runs from inside utcp_input(),
 * utcp_timers() or utcp_flush(); it may call utcp_sock_kick() and
 * utcp_sock_close(), never utcp_sock_free(). */
struct utcp_sock_cbs {
	/* Active open completed (SYN-ACK seen), or a passive one did. */
	void (*on_connect)(struct utcp_sock *s, void *arg);
	/* In-order payload: 'len' bytes at 'data', inside frame f. Hold f
	 * (utcp_frame_hold) to keep the bytes past the callback. The engine
	 * opens the window again as bytes are taken: a callback returning
	 * means they were taken. */
	void (*on_data)(struct utcp_sock *s, void *arg, struct utcp_frame *f, uint8_t *data,
	                size_t len);
	/* The peer sent FIN (after all its data). */
	void (*on_fin)(struct utcp_sock *s, void *arg);
	/* RST, refused, or timed out (-ECONNRESET, -ECONNREFUSED, -ETIMEDOUT,
	 * -EHOSTUNREACH when ARP got no answer). Once; the owner then frees. */
	void (*on_error)(struct utcp_sock *s, void *arg, int err);
	/* 'n' more bytes of the outgoing stream are acknowledged; the owner
	 * may now drop them (the next tx_gather offset 0 is past them). */
	void (*on_acked)(struct utcp_sock *s, void *arg, size_t n);
	/* Lend the unacknowledged outgoing bytes from 'off' (0 = the first
	 * byte not yet ACKed) as at most 'max' iovecs; return how many were
	 * filled and the bytes they hold in *total (0 when there is nothing at
	 * or past off). The memory stays valid until on_acked() covers it. */
	unsigned (*tx_gather)(struct utcp_sock *s, void *arg, size_t off, struct iovec *iov,
	                      unsigned max, size_t *total);
	/* Both directions are closed and the socket is gone from the wire
	 * (after FIN exchange or TIME_WAIT ends); the owner may free it. */
	void (*on_closed)(struct utcp_sock *s, void *arg);
};

typedef void (*utcp_accept_cb)(struct utcp_sock *listener, struct utcp_sock *s, void *arg);

/* Listen on our address, 'port' (0 = an ephemeral one; see
 * utcp_sock_local()). Accepted sockets come to cb, which must set their
 * callbacks with utcp_sock_set_cbs(). */
int utcp_listen(struct utcp_stack *st, uint16_t port, utcp_accept_cb cb, void *arg,
                struct utcp_sock **out);
/* Active open to ip:port (from an ephemeral port, or 'lport' if not 0). */
int utcp_connect(struct utcp_stack *st, uint32_t ip, uint16_t port, uint16_t lport,
                 const struct utcp_sock_cbs *cbs, void *arg, struct utcp_sock **out);
void utcp_sock_set_cbs(struct utcp_sock *s, const struct utcp_sock_cbs *cbs, void *arg);

/* More bytes are available through tx_gather: send them at the next
 * utcp_flush() as the windows allow. */
void utcp_sock_kick(struct utcp_sock *s);
/* Receive back-pressure: while paused, on_data is not called, arriving
 * in-order data is kept up to the advertised window and the window closes
 * (the peer zero-window probes). */
void utcp_sock_pause(struct utcp_sock *s, bool paused);
/* FIN after all bytes tx_gather lends are sent (half-close). */
int utcp_sock_shutdown(struct utcp_sock *s);
/* abort: RST now, no more callbacks. Otherwise as shutdown, and the socket
 * lives on (invisible to the owner but for on_closed) until the FIN
 * exchange ends. A listener stops listening. */
void utcp_sock_close(struct utcp_sock *s, bool abort);
/* After on_error or on_closed, or after utcp_sock_close(s, true). */
void utcp_sock_free(struct utcp_sock *s);

void utcp_sock_local(const struct utcp_sock *s, uint32_t *ip, uint16_t *port);
void utcp_sock_peer(const struct utcp_sock *s, uint32_t *ip, uint16_t *port);

struct utcp_sock_info {
	uint32_t snd_una, snd_nxt, snd_wnd, cwnd, ssthresh;
	uint32_t rcv_nxt, rcv_wnd;
	uint32_t srtt_us, rttvar_us, rto_us;
	uint16_t mss;
	uint8_t snd_wscale, rcv_wscale;
	uint64_t retransmits;
	const char *state; /* "SYN_SENT", "ESTABLISHED", ... */
};
void utcp_sock_info(const struct utcp_sock *s, struct utcp_sock_info *out);

#endif
