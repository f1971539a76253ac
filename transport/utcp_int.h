/*
 * utcp_int.h: the insides of the userspace TCP engine, shared by its three
 * files: utcp.c (ARP, socket bookkeeping, timers, the API), utcp_in.c
 * (frames in: IPv4, TCP input, the receive queue) and utcp_out.c (frames
 * out: segments, the SACK scoreboard, the impair mode on the way out).
 * The owner's interface is utcp.h; nothing here is for it.
 */
#ifndef XI_UTCP_INT_H
#define XI_UTCP_INT_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "transport/utcp.h"

/* ---- wire formats (byte arrays only: frames need not be aligned) ---- */

#define ETH_ALEN      6
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP  0x0806

struct utcp_ethh {
	uint8_t dst[ETH_ALEN];
	uint8_t src[ETH_ALEN];
	uint8_t type[2];
};
_Static_assert(sizeof(struct utcp_ethh) == 14, "ethernet header");

/* RFC 826 */
#define ARP_HTYPE_ETHER 1
#define ARP_OP_REQUEST  1
#define ARP_OP_REPLY    2

struct utcp_arph {
	uint8_t htype[2];
	uint8_t ptype[2];
	uint8_t hlen;
	uint8_t plen;
	uint8_t op[2];
	uint8_t sha[ETH_ALEN];
	uint8_t spa[4];
	uint8_t tha[ETH_ALEN];
	uint8_t tpa[4];
};
_Static_assert(sizeof(struct utcp_arph) == 28, "arp packet");

/* RFC 791 */
#define IP_VERSION     4
#define IP_PROTO_TCP   6
#define IP_FLAG_DF     0x4000
#define IP_FLAG_MF     0x2000
#define IP_OFFSET_MASK 0x1fff
#define IP_TTL_DEFAULT 64

struct utcp_iph {
	uint8_t vihl;
	uint8_t tos;
	uint8_t len[2];
	uint8_t id[2];
	uint8_t frag[2];
	uint8_t ttl;
	uint8_t proto;
	uint8_t csum[2];
	uint8_t src[4];
	uint8_t dst[4];
};
_Static_assert(sizeof(struct utcp_iph) == 20, "ipv4 header");

/* RFC 793 3.1 */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

struct utcp_tcph {
	uint8_t sport[2];
	uint8_t dport[2];
	uint8_t seq[4];
	uint8_t ack[4];
	uint8_t doff; /* data offset in 32-bit words, high nibble */
	uint8_t flags;
	uint8_t win[2];
	uint8_t csum[2];
	uint8_t urg[2];
};
_Static_assert(sizeof(struct utcp_tcph) == 20, "tcp header");

#define TCPOPT_EOL        0
#define TCPOPT_NOP        1
#define TCPOPT_MSS        2 /* RFC 793 */
#define TCPOPT_WSCALE     3 /* RFC 7323 2.2 */
#define TCPOLEN_MSS       4
#define TCPOLEN_WSCALE    3
#define TCPOPT_SACK_PERM  4 /* RFC 2018 */
#define TCPOPT_SACK       5
#define TCPOLEN_SACK_PERM 2
#define TCP_OPT_MAX       40
#define TCP_SACK_BLOCKS   4   /* what fits without timestamps */
#define TCP_MAX_WSCALE    14  /* RFC 7323 2.3 */
#define TCP_DEFAULT_MSS   536 /* RFC 1122 4.2.2.6, when the peer sends none */
#define TCP_MAX_WIN       65535u

#define ETH_IP_LEN (sizeof(struct utcp_ethh) + sizeof(struct utcp_iph))
#define HDRS_LEN   (ETH_IP_LEN + sizeof(struct utcp_tcph))

/* ---- engine constants ---- */

#define UTCP_RCV_WND_DEFAULT    (4u << 20)
#define UTCP_RCV_WND_MIN        (16u << 10)
#define UTCP_RCV_WND_MAX        (64u << 20)
#define UTCP_INIT_CWND_SEGS     10      /* RFC 6928 */
#define UTCP_RTO_INIT_US        1000000 /* RFC 6298 2.1 */
#define UTCP_RTO_MIN_US         200000  /* Linux's floor, below RFC 6298's 1 s */
#define UTCP_RTO_MAX_US         8000000
#define UTCP_RTX_RETRIES        10 /* back-offs before -ETIMEDOUT (about 40 s) */
#define UTCP_SYN_RETRIES        5
#define UTCP_DELACK_US          40000
#define UTCP_TLP_MIN_US         10000   /* a tail loss probe waits at least this */
#define UTCP_TIME_WAIT_US       1000000 /* a test stack: short */
#define UTCP_PERSIST_MAX_US     4000000
#define UTCP_ORPHAN_FIN_WAIT_US 10000000 /* a closed socket waits this long for the FIN */
#define UTCP_ARP_SLOTS          32
#define UTCP_ARP_TRIES          4
#define UTCP_ARP_RETRY_US       250000
#define UTCP_HASH_SIZE          1024 /* power of two */
#define UTCP_BACKLOG            256  /* half-open sockets per listener */
#define UTCP_IMPAIR_HOLD_US     1000 /* a reordered frame waits at most this */
#define UTCP_RQ_MIN             64
#define UTCP_RQ_MAX             16384
#define UTCP_GATHER_IOV         16
#define UTCP_SB_MAX             32 /* SACKed ranges remembered while sending */
#define UTCP_EPH_LO             49152
#define UTCP_EPH_HI             65535

enum utcp_state {
	ST_CLOSED,
	ST_LISTEN,
	ST_SYN_SENT,
	ST_SYN_RCVD,
	ST_ESTABLISHED,
	ST_FIN_WAIT_1,
	ST_FIN_WAIT_2,
	ST_CLOSE_WAIT,
	ST_CLOSING,
	ST_LAST_ACK,
	ST_TIME_WAIT,
};

/* A run of received bytes kept in the frame they came in. */
struct utcp_rseg {
	uint32_t seq;
	uint32_t len;
	uint8_t *data;
	struct utcp_frame *f;
};

struct utcp_sock {
	struct utcp_stack *st;
	struct utcp_sock *next, *prev; /* every socket, until freed */
	struct utcp_sock *hnext;       /* the 4-tuple hash, while on the wire */
	struct utcp_sock *kick_next;
	bool kicked, hashed;
	bool owned;  /* the owner holds it (connected, accepted, listener) */
	bool orphan; /* closed by the owner without abort: only on_closed */
	bool dead;   /* engine-owned and finished: reap */
	bool error_sent;
	enum utcp_state state;

	struct utcp_sock_cbs cbs;
	void *arg;
	/* listener */
	utcp_accept_cb accept_cb;
	struct utcp_sock *listener; /* a half-open passive socket's */
	unsigned backlog;

	uint32_t lip, rip, nexthop;
	uint16_t lport, rport;
	uint8_t rmac[ETH_ALEN];
	bool arp_wait;
	bool no_wscale;     /* the peer's SYN had no window scale option */
	bool sack_ok;       /* both SYNs had SACK-permitted: our ACKs carry SACK blocks */
	uint32_t sack_last; /* where the newest segment kept out of order starts */
	/* what the peer SACKed above snd_una: sorted, disjoint */
	struct {
		uint32_t start, end;
	} sb[UTCP_SB_MAX];
	unsigned sb_n;
	uint32_t rtx_nxt; /* SACK recovery: holes below it are retransmitted */

	/* send side (RFC 793 names) */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint32_t tx_base; /* the sequence number of tx_gather's offset 0 */
	uint16_t mss;     /* what we send */
	uint8_t snd_wscale, rcv_wscale;
	bool fin_queued, fin_known; /* shutdown asked; fin_seq is where it goes */
	uint32_t fin_seq;
	uint32_t cwnd, ssthresh, bytes_acked;
	unsigned dupacks;
	bool in_recovery;
	uint32_t recover;
	bool rtt_timing;
	uint32_t rtt_seq;
	uint64_t rtt_start;
	uint32_t srtt_us, rttvar_us, rto_us;
	unsigned backoff;
	bool persist;
	uint64_t t_rtx, t_dack, t_tw; /* 0: not armed */
	uint64_t t_tlp;               /* tail loss probe */
	bool tlp_sent;                /* one probe until an ACK moves snd_una */
	uint64_t retransmits;

	/* receive side */
	uint32_t irs, rcv_nxt, rcv_deliv, rcv_adv, rcv_wnd;
	uint16_t rcv_mss;
	bool paused, fin_rcvd, fin_told;
	uint32_t rcv_fin_seq; /* sequence number of the peer's FIN */
	uint32_t ack_owed;    /* bytes received since the last ACK */
	bool ack_now;
	struct utcp_rseg *rq; /* sorted by seq, a ring */
	unsigned rq_head, rq_n, rq_cap;
};

enum arp_state { ARP_FREE, ARP_PENDING, ARP_VALID };

struct utcp_arp_entry {
	uint32_t ip;
	uint8_t mac[ETH_ALEN];
	enum arp_state state;
	unsigned tries;
	uint64_t next_us;
};

struct utcp_stack {
	struct utcp_cfg cfg;
	const struct utcp_link_ops *ops;
	void *link;
	uint32_t mask;
	uint32_t rcv_wnd;
	uint64_t now;
	struct utcp_sock *socks; /* every socket */
	struct utcp_sock *listeners[UTCP_HASH_SIZE / 16];
	struct utcp_sock *hash[UTCP_HASH_SIZE];
	struct utcp_sock *kick_head;
	struct utcp_arp_entry arp[UTCP_ARP_SLOTS];
	bool tx_pending, reap;
	uint16_t eph_next;
	uint16_t ip_id;
	uint64_t rng;
	/* impair mode: the frame held back in each direction */
	struct utcp_frame *rx_held;
	uint64_t rx_held_at;
	uint8_t *tx_held;
	size_t tx_held_len;
	uint64_t tx_held_at;
	struct utcp_stack_stats stats;
};

/* ---- helpers ---- */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Serial number arithmetic on sequence numbers (RFC 1982 style). */
static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static inline bool seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static inline bool seq_ge(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
	return seq_gt(a, b) ? a : b;
}

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static inline uint32_t max_u32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

/* splitmix64: the impair mode's PRNG, also the ISN source. */
static inline uint64_t rng_next(struct utcp_stack *st)
{
	uint64_t z = (st->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline bool rng_ppm(struct utcp_stack *st, uint32_t ppm)
{
	return ppm && rng_next(st) % 1000000 < ppm;
}

/* The Internet checksum (RFC 1071) summed in native order; the folded
 * result is stored as is with memcpy. Summing 32-bit words into a 64-bit
 * accumulator gives the same folded sum as summing 16-bit ones (the carries
 * land in the high half and fold back). csum_tail takes 8 bytes at a time
 * with the carry added back; csum_add first takes 32 bytes at a time in
 * SSE2 lanes (each 32-bit word widened to 64 bits, so no carry is lost for
 * any length a frame can have), which is what the x86-64 baseline offers
 * without -march flags. */
static inline uint64_t csum_tail(uint64_t sum, const uint8_t *p, size_t len)
{
	uint64_t v;
	uint32_t w;
	uint16_t h;

	while (len >= 8) {
		memcpy(&v, p, 8);
		sum += v;
		sum += sum < v;
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&w, p, 4);
		sum += w;
		sum += sum < w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		sum += h;
		sum += sum < h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = {p[0], 0};

		memcpy(&h, last, 2);
		sum += h;
		sum += sum < h;
	}
	return sum;
}

#ifdef __SSE2__
static inline uint64_t csum_lanes(uint64_t sum, __m128i a, __m128i b)
{
	uint64_t lanes[2], t;

	_mm_storeu_si128((__m128i *)lanes, _mm_add_epi64(a, b));
	t = lanes[0] + lanes[1];
	sum += t;
	return sum + (sum < t);
}
#endif

static inline uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
#ifdef __SSE2__
	if (len >= 32) {
		__m128i z = _mm_setzero_si128(), a = z, b = z;

		do {
			__m128i x = _mm_loadu_si128((const __m128i *)p);
			__m128i y = _mm_loadu_si128((const __m128i *)(p + 16));

			a = _mm_add_epi64(a, _mm_unpacklo_epi32(x, z));
			b = _mm_add_epi64(b, _mm_unpackhi_epi32(x, z));
			a = _mm_add_epi64(a, _mm_unpacklo_epi32(y, z));
			b = _mm_add_epi64(b, _mm_unpackhi_epi32(y, z));
			p += 32;
			len -= 32;
		} while (len >= 32);
		sum = csum_lanes(sum, a, b);
	}
#endif
	return csum_tail(sum, p, len);
}

/* Copies len bytes from src to dst and returns sum plus their checksum, in
 * one pass over the data: the sum is taken from the registers the copy
 * loads, so the frame is not read back. */
static inline uint64_t csum_copy(uint64_t sum, uint8_t *dst, const uint8_t *src, size_t len)
{
#ifdef __SSE2__
	if (len >= 32) {
		__m128i z = _mm_setzero_si128(), a = z, b = z;

		do {
			__m128i x = _mm_loadu_si128((const __m128i *)src);
			__m128i y = _mm_loadu_si128((const __m128i *)(src + 16));

			_mm_storeu_si128((__m128i *)dst, x);
			_mm_storeu_si128((__m128i *)(dst + 16), y);
			a = _mm_add_epi64(a, _mm_unpacklo_epi32(x, z));
			b = _mm_add_epi64(b, _mm_unpackhi_epi32(x, z));
			a = _mm_add_epi64(a, _mm_unpacklo_epi32(y, z));
			b = _mm_add_epi64(b, _mm_unpackhi_epi32(y, z));
			src += 32;
			dst += 32;
			len -= 32;
		} while (len >= 32);
		sum = csum_lanes(sum, a, b);
	}
#endif
	memcpy(dst, src, len);
	return csum_tail(sum, src, len);
}

/* A partial sum of bytes that start at an odd offset of the summed block:
 * their 16-bit words straddle the block's, so the folded sum is byte-swapped
 * (RFC 1071 2(B)) before it joins the block's. */
static inline uint64_t csum_odd(uint64_t part)
{
	uint16_t f;

	part = (part & 0xffffffffu) + (part >> 32);
	part = (part & 0xffffffffu) + (part >> 32);
	part = (part & 0xffff) + (part >> 16);
	part = (part & 0xffff) + (part >> 16);
	f = (uint16_t)part;
	return (uint16_t)(f << 8 | f >> 8);
}

static inline uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline uint64_t csum_pseudo(const uint8_t *src, const uint8_t *dst, size_t tcp_len)
{
	uint8_t ph[12];

	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0;
	ph[9] = IP_PROTO_TCP;
	wr16(ph + 10, (uint16_t)tcp_len);
	return csum_add(0, ph, sizeof(ph));
}

static inline bool on_link(const struct utcp_stack *st, uint32_t ip)
{
	return (ip & st->mask) == (st->cfg.ip & st->mask);
}

/* utcp_out.c */
void ut_link_release_tx_held(struct utcp_stack *st);
void ut_link_submit(struct utcp_stack *st, uint8_t *buf, size_t len);
uint32_t ut_rcv_space(const struct utcp_sock *s);
void ut_retransmit_first(struct utcp_sock *s);
struct utcp_rseg *ut_rq_at(struct utcp_sock *s, unsigned i);
void ut_rtx_arm(struct utcp_sock *s);
void ut_sb_add(struct utcp_sock *s, uint32_t start, uint32_t end);
void ut_sb_trim(struct utcp_sock *s);
void ut_send_ack(struct utcp_sock *s);
void ut_send_rst(struct utcp_sock *s);
void ut_send_rst_raw(struct utcp_stack *st, const uint8_t *dmac, uint32_t dip, uint16_t sport,
                     uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags);
long ut_send_segment(struct utcp_sock *s, uint32_t seq, uint8_t flags, uint32_t want);
void ut_send_syn(struct utcp_sock *s);
bool ut_sends_data(const struct utcp_sock *s);
void ut_sock_output(struct utcp_sock *s);
void ut_tlp_arm(struct utcp_sock *s);

/* utcp_in.c */
void ut_rq_deliver(struct utcp_sock *s);
void ut_rx_release_held(struct utcp_stack *st);

/* utcp.c */
void ut_arp_input(struct utcp_stack *st, const uint8_t *p, size_t len, const uint8_t *src);
struct utcp_sock *ut_listener_lookup(struct utcp_stack *st, uint16_t port);
struct utcp_sock *ut_sock_alloc(struct utcp_stack *st, bool listener);
void ut_sock_closed(struct utcp_sock *s);
void ut_sock_error(struct utcp_sock *s, int err);
void ut_sock_hash(struct utcp_sock *s);
void ut_sock_kick_internal(struct utcp_sock *s);
struct utcp_sock *ut_sock_lookup(struct utcp_stack *st, uint32_t rip, uint16_t lport,
                                 uint16_t rport);
void ut_stack_reap(struct utcp_stack *st);

#endif
