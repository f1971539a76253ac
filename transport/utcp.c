/*
 * utcp: a compact TCP/IPv4 engine for one address on one Ethernet link,
 * driven by its owner (the xdp transport, or a TAP harness in the tests).
 *
 * What it does: ARP (resolve with retries, answer for our address), IPv4
 * without fragments, TCP with active and passive open, MSS and window
 * scaling (RFC 7323), cumulative and delayed ACKs (RFC 1122 4.2.3.2), RTO
 * per RFC 6298 with back-off, fast retransmit and NewReno recovery
 * (RFC 5681, RFC 6582), slow start and congestion avoidance with byte
 * counting (RFC 3465), zero-window probing, FIN/RST, TIME_WAIT, and a test
 * mode that drops, duplicates and reorders frames. What it does not: SACK,
 * timestamps, IPv6, IP options, urgent data, keepalives, PMTU discovery.
 *
 * No allocation per packet: a socket's receive queue (segments held out of
 * order, or in order while the owner is paused) is an array sized once from
 * the receive window, holding references to the frames the bytes are in.
 *
 * Sockets are never freed from inside a callback: one the engine owns (a
 * half-open passive one) is only marked dead and reaped when the engine
 * returns to its caller, so walking the socket list stays safe.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static const char *const state_names[] = {
        [ST_CLOSED] = "CLOSED",           [ST_LISTEN] = "LISTEN",
        [ST_SYN_SENT] = "SYN_SENT",       [ST_SYN_RCVD] = "SYN_RCVD",
        [ST_ESTABLISHED] = "ESTABLISHED", [ST_FIN_WAIT_1] = "FIN_WAIT_1",
        [ST_FIN_WAIT_2] = "FIN_WAIT_2",   [ST_CLOSE_WAIT] = "CLOSE_WAIT",
        [ST_CLOSING] = "CLOSING",         [ST_LAST_ACK] = "LAST_ACK",
        [ST_TIME_WAIT] = "TIME_WAIT",
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
static uint64_t rng_next(struct utcp_stack *st)
{
	uint64_t z = (st->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool rng_ppm(struct utcp_stack *st, uint32_t ppm)
{
	return ppm && rng_next(st) % 1000000 < ppm;
}

/* The Internet checksum (RFC 1071) summed in native order, 8 bytes at a
 * time; the folded result is stored as is with memcpy. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
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

static uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint64_t csum_pseudo(const uint8_t *src, const uint8_t *dst, size_t tcp_len)
{
	uint8_t ph[12];

	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0;
	ph[9] = IP_PROTO_TCP;
	wr16(ph + 10, (uint16_t)tcp_len);
	return csum_add(0, ph, sizeof(ph));
}

uint64_t utcp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool on_link(const struct utcp_stack *st, uint32_t ip)
{
	return (ip & st->mask) == (st->cfg.ip & st->mask);
}

/* ---- link output, with the impair mode ---- */

static void link_submit_raw(struct utcp_stack *st, uint8_t *buf, size_t len)
{
	st->ops->tx_submit(st->link, buf, len);
	st->stats.tx_frames++;
	st->stats.tx_bytes += len;
	st->tx_pending = true;
}

static void link_release_tx_held(struct utcp_stack *st)
{
	uint8_t *held = st->tx_held;

	if (!held)
		return;
	st->tx_held = NULL;
	link_submit_raw(st, held, st->tx_held_len);
}

static void link_submit(struct utcp_stack *st, uint8_t *buf, size_t len)
{
	const struct utcp_impair *imp = &st->cfg.impair;

	if (imp->drop_ppm | imp->dup_ppm | imp->reorder_ppm) {
		if (rng_ppm(st, imp->drop_ppm)) {
			st->stats.impair_dropped++;
			st->ops->tx_abort(st->link, buf);
			return;
		}
		if (rng_ppm(st, imp->dup_ppm)) {
			uint8_t *copy = st->ops->tx_alloc(st->link, len);

			if (copy) {
				memcpy(copy, buf, len);
				st->stats.impair_duped++;
				link_submit_raw(st, copy, len);
			}
		}
		if (!st->tx_held && rng_ppm(st, imp->reorder_ppm)) {
			st->stats.impair_reordered++;
			st->tx_held = buf;
			st->tx_held_len = len;
			st->tx_held_at = st->now;
			return;
		}
	}
	link_submit_raw(st, buf, len);
	link_release_tx_held(st);
}

/* ---- ARP ---- */

static struct utcp_arp_entry *arp_find(struct utcp_stack *st, uint32_t ip)
{
	for (unsigned i = 0; i < UTCP_ARP_SLOTS; i++)
		if (st->arp[i].state != ARP_FREE && st->arp[i].ip == ip)
			return &st->arp[i];
	return NULL;
}

static void arp_send(struct utcp_stack *st, uint16_t op, const uint8_t *tha, uint32_t tpa)
{
	static const uint8_t bcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	size_t len = sizeof(struct utcp_ethh) + sizeof(struct utcp_arph);
	uint8_t *buf = st->ops->tx_alloc(st->link, 60);
	struct utcp_ethh *eth;
	struct utcp_arph *arp;

	if (!buf) {
		st->stats.tx_alloc_fail++;
		return;
	}
	eth = (struct utcp_ethh *)buf;
	arp = (struct utcp_arph *)(buf + sizeof(*eth));
	memcpy(eth->dst, op == ARP_OP_REQUEST ? bcast : tha, ETH_ALEN);
	memcpy(eth->src, st->cfg.mac, ETH_ALEN);
	wr16(eth->type, ETH_TYPE_ARP);
	wr16(arp->htype, ARP_HTYPE_ETHER);
	wr16(arp->ptype, ETH_TYPE_IPV4);
	arp->hlen = ETH_ALEN;
	arp->plen = 4;
	wr16(arp->op, op);
	memcpy(arp->sha, st->cfg.mac, ETH_ALEN);
	wr32(arp->spa, st->cfg.ip);
	if (op == ARP_OP_REQUEST)
		memset(arp->tha, 0, ETH_ALEN);
	else
		memcpy(arp->tha, tha, ETH_ALEN);
	wr32(arp->tpa, tpa);
	/* pad to the Ethernet minimum */
	memset(buf + len, 0, 60 - len);
	if (op == ARP_OP_REQUEST)
		st->stats.arp_requests++;
	else
		st->stats.arp_replies++;
	link_submit(st, buf, 60);
}

static void sock_arp_resolved(struct utcp_sock *s, const uint8_t *mac);
static void sock_error(struct utcp_sock *s, int err);

static void arp_learn(struct utcp_stack *st, uint32_t ip, const uint8_t *mac, bool create)
{
	struct utcp_arp_entry *e = arp_find(st, ip);
	bool was_pending;

	if (!e) {
		if (!create)
			return;
		for (unsigned i = 0; i < UTCP_ARP_SLOTS && !e; i++)
			if (st->arp[i].state == ARP_FREE)
				e = &st->arp[i];
		if (!e)
			e = &st->arp[rng_next(st) % UTCP_ARP_SLOTS];
		if (e->state == ARP_PENDING)
			return; /* never evict a resolution in flight */
		e->ip = ip;
	}
	was_pending = e->state == ARP_PENDING;
	memcpy(e->mac, mac, ETH_ALEN);
	e->state = ARP_VALID;
	if (!was_pending)
		return;
	for (struct utcp_sock *s = st->socks; s; s = s->next)
		if (s->arp_wait && s->nexthop == ip)
			sock_arp_resolved(s, mac);
}

/* 0 with the MAC, -EAGAIN while a request is out, -ENOBUFS when the table
 * is full of resolutions in flight. */
static int arp_resolve(struct utcp_stack *st, uint32_t ip, uint8_t *mac)
{
	struct utcp_arp_entry *e = arp_find(st, ip);

	if (e && e->state == ARP_VALID) {
		memcpy(mac, e->mac, ETH_ALEN);
		return 0;
	}
	if (e)
		return -EAGAIN;
	for (unsigned i = 0; i < UTCP_ARP_SLOTS && !e; i++)
		if (st->arp[i].state == ARP_FREE)
			e = &st->arp[i];
	for (unsigned i = 0; i < UTCP_ARP_SLOTS && !e; i++)
		if (st->arp[i].state == ARP_VALID)
			e = &st->arp[i];
	if (!e)
		return -ENOBUFS;
	e->ip = ip;
	e->state = ARP_PENDING;
	e->tries = 1;
	e->next_us = st->now + UTCP_ARP_RETRY_US;
	arp_send(st, ARP_OP_REQUEST, NULL, ip);
	return -EAGAIN;
}

static void arp_timers(struct utcp_stack *st)
{
	for (unsigned i = 0; i < UTCP_ARP_SLOTS; i++) {
		struct utcp_arp_entry *e = &st->arp[i];

		if (e->state != ARP_PENDING || e->next_us > st->now)
			continue;
		if (e->tries < UTCP_ARP_TRIES) {
			e->tries++;
			e->next_us = st->now + UTCP_ARP_RETRY_US;
			arp_send(st, ARP_OP_REQUEST, NULL, e->ip);
			continue;
		}
		e->state = ARP_FREE;
		for (struct utcp_sock *s = st->socks; s; s = s->next)
			if (s->arp_wait && s->nexthop == e->ip) {
				s->arp_wait = false;
				sock_error(s, -EHOSTUNREACH);
			}
	}
}

static void arp_input(struct utcp_stack *st, const uint8_t *p, size_t len, const uint8_t *src)
{
	const struct utcp_arph *arp = (const struct utcp_arph *)p;
	uint32_t spa, tpa;
	bool for_us;

	if (len < sizeof(*arp) || rd16(arp->htype) != ARP_HTYPE_ETHER ||
	    rd16(arp->ptype) != ETH_TYPE_IPV4 || arp->hlen != ETH_ALEN || arp->plen != 4) {
		st->stats.rx_dropped++;
		return;
	}
	spa = rd32(arp->spa);
	tpa = rd32(arp->tpa);
	for_us = tpa == st->cfg.ip;
	/* RFC 826 "merge": update what we know, add the sender if it asks us */
	if (spa && spa != st->cfg.ip)
		arp_learn(st, spa, arp->sha, for_us);
	if (rd16(arp->op) == ARP_OP_REQUEST && for_us && (st->cfg.flags & UTCP_ANSWER_ARP)) {
		(void)src;
		arp_send(st, ARP_OP_REPLY, arp->sha, spa);
	}
}

/* ---- socket bookkeeping ---- */

static unsigned tuple_hash(uint32_t rip, uint16_t lport, uint16_t rport)
{
	uint32_t h = rip * 0x9e3779b1u ^ ((uint32_t)lport << 16 | rport) * 0x85ebca6bu;

	return (h ^ (h >> 15)) & (UTCP_HASH_SIZE - 1);
}

static unsigned listen_hash(uint16_t port)
{
	return port & (UTCP_HASH_SIZE / 16 - 1);
}

static struct utcp_sock *sock_lookup(struct utcp_stack *st, uint32_t rip, uint16_t lport,
                                     uint16_t rport)
{
	for (struct utcp_sock *s = st->hash[tuple_hash(rip, lport, rport)]; s; s = s->hnext)
		if (s->rip == rip && s->lport == lport && s->rport == rport)
			return s;
	return NULL;
}

static struct utcp_sock *listener_lookup(struct utcp_stack *st, uint16_t port)
{
	for (struct utcp_sock *s = st->listeners[listen_hash(port)]; s; s = s->hnext)
		if (s->lport == port)
			return s;
	return NULL;
}

static void sock_hash(struct utcp_sock *s)
{
	struct utcp_sock **head = s->state == ST_LISTEN
	                                  ? &s->st->listeners[listen_hash(s->lport)]
	                                  : &s->st->hash[tuple_hash(s->rip, s->lport, s->rport)];

	s->hnext = *head;
	*head = s;
	s->hashed = true;
}

static void sock_unhash(struct utcp_sock *s)
{
	struct utcp_sock **pp;

	if (!s->hashed)
		return;
	pp = s->state == ST_LISTEN ? &s->st->listeners[listen_hash(s->lport)]
	                           : &s->st->hash[tuple_hash(s->rip, s->lport, s->rport)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	s->hashed = false;
	s->hnext = NULL;
}

static void sock_kick_internal(struct utcp_sock *s)
{
	if (s->kicked || !s->st)
		return;
	s->kicked = true;
	s->kick_next = s->st->kick_head;
	s->st->kick_head = s;
}

static void sock_unkick(struct utcp_sock *s)
{
	if (!s->kicked)
		return;
	for (struct utcp_sock **pp = &s->st->kick_head; *pp; pp = &(*pp)->kick_next)
		if (*pp == s) {
			*pp = s->kick_next;
			break;
		}
	s->kicked = false;
}

static void rq_release(struct utcp_sock *s)
{
	while (s->rq_n) {
		struct utcp_rseg *r = &s->rq[s->rq_head];

		s->rq_head = (s->rq_head + 1) % s->rq_cap;
		s->rq_n--;
		utcp_frame_put(r->f);
	}
}

static struct utcp_sock *sock_alloc(struct utcp_stack *st, bool listener)
{
	struct utcp_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (!listener) {
		uint32_t seg = max_u32(st->cfg.mtu - 40u, 256) / 2;

		s->rq_cap = min_u32(max_u32(st->rcv_wnd / seg, UTCP_RQ_MIN), UTCP_RQ_MAX);
		s->rq = calloc(s->rq_cap, sizeof(*s->rq));
		if (!s->rq) {
			free(s);
			return NULL;
		}
	}
	s->st = st;
	s->lip = st->cfg.ip;
	s->rcv_wnd = st->rcv_wnd;
	s->rcv_mss = (uint16_t)(st->cfg.mtu - 40);
	s->rto_us = UTCP_RTO_INIT_US;
	s->next = st->socks;
	if (st->socks)
		st->socks->prev = s;
	st->socks = s;
	return s;
}

/* Off the wire: no more input, timers or output. */
static void sock_detach(struct utcp_sock *s)
{
	sock_unhash(s);
	sock_unkick(s);
	rq_release(s);
	s->t_rtx = s->t_dack = s->t_tw = s->t_tlp = 0;
	s->arp_wait = false;
	s->state = ST_CLOSED;
}

static void sock_unlink(struct utcp_sock *s)
{
	struct utcp_stack *st = s->st;

	sock_detach(s);
	if (s->prev)
		s->prev->next = s->next;
	else
		st->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void sock_destroy(struct utcp_sock *s)
{
	free(s->rq);
	free(s);
}

/* An engine-owned (half-open) socket is done: reap it at the way out. */
static void sock_kill(struct utcp_sock *s)
{
	if (s->listener) {
		s->listener->backlog--;
		s->listener = NULL;
	}
	sock_detach(s);
	s->dead = true;
	s->st->reap = true;
}

static void stack_reap(struct utcp_stack *st)
{
	struct utcp_sock *s, *next;

	if (!st->reap)
		return;
	st->reap = false;
	for (s = st->socks; s; s = next) {
		next = s->next;
		if (s->dead) {
			sock_unlink(s);
			sock_destroy(s);
		}
	}
}

/* The connection is over with an error: tell the owner once. */
static void sock_error(struct utcp_sock *s, int err)
{
	if (!s->owned) {
		sock_kill(s);
		return;
	}
	sock_detach(s);
	if (s->error_sent)
		return;
	s->error_sent = true;
	if (s->orphan) {
		if (s->cbs.on_closed)
			s->cbs.on_closed(s, s->arg);
	} else if (s->cbs.on_error) {
		s->cbs.on_error(s, s->arg, err);
	}
}

static void sock_closed(struct utcp_sock *s)
{
	if (!s->owned) {
		sock_kill(s);
		return;
	}
	sock_detach(s);
	if (s->error_sent)
		return;
	s->error_sent = true;
	if (s->cbs.on_closed)
		s->cbs.on_closed(s, s->arg);
}

/* ---- output ---- */

/* Ethernet, IPv4 and TCP headers for a segment of tcp_len bytes (header,
 * options and data) from s; the TCP checksum is done by the caller. */
static void build_headers(struct utcp_stack *st, uint8_t *buf, const uint8_t *dmac, uint32_t dip,
                          uint16_t sport, uint16_t dport, size_t tcp_len)
{
	struct utcp_ethh *eth = (struct utcp_ethh *)buf;
	struct utcp_iph *ip = (struct utcp_iph *)(buf + sizeof(*eth));
	size_t ip_len = sizeof(*ip) + tcp_len;
	struct utcp_tcph *th = (struct utcp_tcph *)(ip + 1);

	memcpy(eth->dst, dmac, ETH_ALEN);
	memcpy(eth->src, st->cfg.mac, ETH_ALEN);
	wr16(eth->type, ETH_TYPE_IPV4);
	ip->vihl = IP_VERSION << 4 | sizeof(*ip) / 4;
	ip->tos = 0;
	wr16(ip->len, (uint16_t)ip_len);
	wr16(ip->id, st->ip_id++);
	wr16(ip->frag, IP_FLAG_DF);
	ip->ttl = IP_TTL_DEFAULT;
	ip->proto = IP_PROTO_TCP;
	memset(ip->csum, 0, 2);
	wr32(ip->src, st->cfg.ip);
	wr32(ip->dst, dip);
	{
		uint16_t c = (uint16_t)~csum_fold(csum_add(0, (const uint8_t *)ip, sizeof(*ip)));

		memcpy(ip->csum, &c, 2);
	}
	wr16(th->sport, sport);
	wr16(th->dport, dport);
}

static void tcp_csum(uint8_t *buf, size_t tcp_len)
{
	struct utcp_iph *ip = (struct utcp_iph *)(buf + sizeof(struct utcp_ethh));
	struct utcp_tcph *th = (struct utcp_tcph *)(ip + 1);
	uint64_t sum = csum_pseudo(ip->src, ip->dst, tcp_len);
	uint16_t c;

	memset(th->csum, 0, 2);
	c = (uint16_t)~csum_fold(csum_add(sum, (const uint8_t *)th, tcp_len));
	memcpy(th->csum, &c, 2);
}

/* A RST that belongs to no socket (RFC 793 3.4, "Reset Generation"). */
static void send_rst_raw(struct utcp_stack *st, const uint8_t *dmac, uint32_t dip, uint16_t sport,
                         uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	size_t tcp_len = sizeof(struct utcp_tcph);
	uint8_t *buf = st->ops->tx_alloc(st->link, HDRS_LEN);
	struct utcp_tcph *th;

	if (!buf) {
		st->stats.tx_alloc_fail++;
		return;
	}
	build_headers(st, buf, dmac, dip, sport, dport, tcp_len);
	th = (struct utcp_tcph *)(buf + sizeof(struct utcp_ethh) + sizeof(struct utcp_iph));
	wr32(th->seq, seq);
	wr32(th->ack, ack);
	th->doff = 5 << 4;
	th->flags = flags;
	wr16(th->win, 0);
	memset(th->urg, 0, 2);
	tcp_csum(buf, tcp_len);
	link_submit(st, buf, HDRS_LEN);
}

/* The window we can offer: the owner's bytes not yet taken count against it. */
static uint32_t rcv_space(const struct utcp_sock *s)
{
	uint32_t edge = s->rcv_deliv + s->rcv_wnd;

	if (s->fin_rcvd && seq_ge(s->rcv_nxt, s->rcv_fin_seq))
		return 0;
	return seq_gt(edge, s->rcv_nxt) ? edge - s->rcv_nxt : 0;
}

static uint16_t rcv_win_field(struct utcp_sock *s, bool syn)
{
	uint32_t space = rcv_space(s);
	uint32_t win;

	if (syn)
		return (uint16_t)min_u32(space, TCP_MAX_WIN);
	win = min_u32(space >> s->rcv_wscale, TCP_MAX_WIN);
	/* never move the right edge we advertised back (RFC 793 3.7) */
	if (seq_lt(s->rcv_nxt + (win << s->rcv_wscale), s->rcv_adv)) {
		uint32_t keep = s->rcv_adv - s->rcv_nxt;

		win = min_u32((keep + (1u << s->rcv_wscale) - 1) >> s->rcv_wscale, TCP_MAX_WIN);
	}
	s->rcv_adv = seq_max(s->rcv_adv, s->rcv_nxt + (win << s->rcv_wscale));
	return (uint16_t)win;
}

static void ack_sent(struct utcp_sock *s)
{
	s->ack_owed = 0;
	s->ack_now = false;
	s->t_dack = 0;
}

static struct utcp_rseg *rq_at(struct utcp_sock *s, unsigned i)
{
	return &s->rq[(s->rq_head + i) % s->rq_cap];
}

/* The options of a segment: the SYN's, or SACK blocks (RFC 2018 4) while
 * bytes are kept out of order, the run holding the newest one first; we
 * send them so that a kernel peer recovers several losses a round trip,
 * and take none (our own recovery is NewReno). Returns their length. */
static size_t build_options(struct utcp_sock *s, uint8_t flags, uint8_t *opt)
{
	uint32_t runs[TCP_SACK_BLOCKS][2];
	unsigned nr = 0, first = 0;
	size_t n = 0;

	if (flags & TH_SYN) {
		opt[n++] = TCPOPT_MSS;
		opt[n++] = TCPOLEN_MSS;
		wr16(opt + n, s->rcv_mss);
		n += 2;
		if (s->state == ST_SYN_SENT || s->sack_ok) {
			opt[n++] = TCPOPT_NOP;
			opt[n++] = TCPOPT_NOP;
			opt[n++] = TCPOPT_SACK_PERM;
			opt[n++] = TCPOLEN_SACK_PERM;
		}
		if (!s->no_wscale) {
			opt[n++] = TCPOPT_NOP;
			opt[n++] = TCPOPT_WSCALE;
			opt[n++] = TCPOLEN_WSCALE;
			opt[n++] = s->rcv_wscale;
		}
		return n;
	}
	if (!s->sack_ok || (flags & TH_RST) || !s->rq_n ||
	    !seq_gt(rq_at(s, s->rq_n - 1)->seq, s->rcv_nxt))
		return 0;
	/* the runs above rcv_nxt, highest first, and which holds sack_last */
	for (unsigned i = s->rq_n; i > 0 && nr < TCP_SACK_BLOCKS;) {
		struct utcp_rseg *r = rq_at(s, i - 1);
		uint32_t start = r->seq, end = r->seq + r->len;

		if (seq_le(start, s->rcv_nxt))
			break;
		for (i--; i > 0; i--) {
			struct utcp_rseg *p = rq_at(s, i - 1);

			if (p->seq + p->len != start || seq_le(p->seq, s->rcv_nxt))
				break;
			start = p->seq;
		}
		if (seq_ge(s->sack_last, start) && seq_lt(s->sack_last, end))
			first = nr;
		runs[nr][0] = start;
		runs[nr][1] = end;
		nr++;
	}
	opt[n++] = TCPOPT_NOP;
	opt[n++] = TCPOPT_NOP;
	opt[n++] = TCPOPT_SACK;
	opt[n++] = (uint8_t)(2 + 8 * nr);
	for (unsigned k = 0; k < nr; k++) {
		unsigned j = k == 0 ? first : (k <= first ? k - 1 : k);

		wr32(opt + n, runs[j][0]);
		wr32(opt + n + 4, runs[j][1]);
		n += 8;
	}
	return n;
}

/* One segment at 'seq' with up to 'want' stream bytes (from tx_gather at
 * seq - snd_una). Returns the data bytes sent, or -1 when no frame could be
 * had. SYN and FIN segments carry no data here. */
static long send_segment(struct utcp_sock *s, uint32_t seq, uint8_t flags, uint32_t want)
{
	struct utcp_stack *st = s->st;
	uint8_t opt[TCP_OPT_MAX];
	size_t optlen = build_options(s, flags, opt);
	size_t hdr = HDRS_LEN + optlen;
	uint8_t *buf;
	struct utcp_tcph *th;
	size_t dlen = 0;

	/* the MSS counts no options (RFC 6691) */
	if (want > s->mss - optlen)
		want = (uint32_t)(s->mss - optlen);
	buf = st->ops->tx_alloc(st->link, hdr + want);

	if (!buf) {
		st->stats.tx_alloc_fail++;
		return -1;
	}
	if (want && !s->cbs.tx_gather) {
		st->ops->tx_abort(st->link, buf);
		return 0;
	}
	if (want) {
		struct iovec iov[UTCP_GATHER_IOV];
		size_t off = seq - s->tx_base;

		while (dlen < want) {
			size_t total = 0;
			unsigned n = s->cbs.tx_gather(s, s->arg, off + dlen, iov, UTCP_GATHER_IOV,
			                              &total);
			size_t got = 0;

			for (unsigned i = 0; i < n && dlen < want; i++) {
				size_t c =
				        iov[i].iov_len < want - dlen ? iov[i].iov_len : want - dlen;

				memcpy(buf + hdr + dlen, iov[i].iov_base, c);
				dlen += c;
				got += c;
			}
			if (!n || !got || n < UTCP_GATHER_IOV)
				break;
		}
		if (!dlen) {
			st->ops->tx_abort(st->link, buf);
			return 0;
		}
	}
	build_headers(st, buf, s->rmac, s->rip, s->lport, s->rport, hdr - ETH_IP_LEN + dlen);
	th = (struct utcp_tcph *)(buf + ETH_IP_LEN);
	wr32(th->seq, seq);
	if (flags & TH_ACK)
		wr32(th->ack, s->rcv_nxt);
	else
		wr32(th->ack, 0);
	th->doff = (uint8_t)((sizeof(*th) + optlen) / 4 << 4);
	th->flags = flags | (dlen ? TH_PSH : 0);
	wr16(th->win, rcv_win_field(s, flags & TH_SYN));
	memset(th->urg, 0, 2);
	memcpy(th + 1, opt, optlen);
	tcp_csum(buf, hdr - ETH_IP_LEN + dlen);
	if (flags & TH_ACK)
		ack_sent(s);
	link_submit(st, buf, hdr + dlen);
	return (long)dlen;
}

static void send_ack(struct utcp_sock *s)
{
	send_segment(s, s->snd_nxt, TH_ACK, 0);
}

static void send_rst(struct utcp_sock *s)
{
	send_segment(s, s->snd_nxt, TH_RST | TH_ACK, 0);
}

static void rtx_arm(struct utcp_sock *s)
{
	s->t_rtx = s->st->now + s->rto_us;
	s->persist = false;
}

static void send_syn(struct utcp_sock *s)
{
	uint8_t flags = s->state == ST_SYN_RCVD ? TH_SYN | TH_ACK : TH_SYN;

	send_segment(s, s->iss, flags, 0);
	s->snd_nxt = s->snd_max = s->iss + 1;
	if (!s->t_rtx)
		rtx_arm(s);
}

static bool sends_data(const struct utcp_sock *s)
{
	switch (s->state) {
	case ST_ESTABLISHED:
	case ST_CLOSE_WAIT:
	case ST_FIN_WAIT_1:
	case ST_CLOSING:
	case ST_LAST_ACK:
		return true;
	default:
		return false;
	}
}

static bool has_data_at(struct utcp_sock *s, uint32_t seq)
{
	struct iovec iov[1];
	size_t total = 0;

	if (!s->cbs.tx_gather)
		return false;
	return s->cbs.tx_gather(s, s->arg, seq - s->tx_base, iov, 1, &total) && total;
}

static void fin_sent_state(struct utcp_sock *s)
{
	if (s->state == ST_ESTABLISHED)
		s->state = ST_FIN_WAIT_1;
	else if (s->state == ST_CLOSE_WAIT)
		s->state = ST_LAST_ACK;
}

/* ---- the SACK scoreboard (RFC 6675, simplified: every hole below the
 * highest SACKed byte counts as lost) ---- */

static void sb_trim(struct utcp_sock *s)
{
	unsigned k = 0;

	while (k < s->sb_n && seq_le(s->sb[k].end, s->snd_una))
		k++;
	if (k) {
		memmove(s->sb, s->sb + k, (s->sb_n - k) * sizeof(s->sb[0]));
		s->sb_n -= k;
	}
	if (s->sb_n && seq_lt(s->sb[0].start, s->snd_una))
		s->sb[0].start = s->snd_una;
}

static void sb_add(struct utcp_sock *s, uint32_t start, uint32_t end)
{
	unsigned i = 0, j;

	if (!seq_lt(start, end) || !seq_gt(end, s->snd_una) || seq_gt(end, s->snd_max))
		return; /* old (a D-SACK), empty or bogus */
	if (seq_lt(start, s->snd_una))
		start = s->snd_una;
	while (i < s->sb_n && seq_lt(s->sb[i].end, start))
		i++;
	/* merge every range that touches [start, end) into slot i */
	j = i;
	while (j < s->sb_n && seq_le(s->sb[j].start, end)) {
		if (seq_lt(s->sb[j].start, start))
			start = s->sb[j].start;
		if (seq_gt(s->sb[j].end, end))
			end = s->sb[j].end;
		j++;
	}
	if (j > i) {
		memmove(s->sb + i + 1, s->sb + j, (s->sb_n - j) * sizeof(s->sb[0]));
		s->sb_n -= j - i - 1;
	} else {
		if (s->sb_n == UTCP_SB_MAX) {
			if (i == UTCP_SB_MAX)
				return;
			s->sb_n--; /* forget the highest */
		}
		memmove(s->sb + i + 1, s->sb + i, (s->sb_n - i) * sizeof(s->sb[0]));
		s->sb_n++;
	}
	s->sb[i].start = start;
	s->sb[i].end = end;
}

static uint32_t sb_high(const struct utcp_sock *s)
{
	return s->sb_n ? s->sb[s->sb_n - 1].end : s->snd_una;
}

/* Bytes SACKed in [a, b). */
static uint32_t sb_sacked(const struct utcp_sock *s, uint32_t a, uint32_t b)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < s->sb_n; i++) {
		uint32_t lo = seq_max(s->sb[i].start, a);
		uint32_t hi = seq_lt(s->sb[i].end, b) ? s->sb[i].end : b;

		if (seq_lt(lo, hi))
			n += hi - lo;
	}
	return n;
}

/* The first byte at or after seq that is not SACKed, and how many follow
 * it before the next SACKed range (*room). */
static uint32_t sb_skip(const struct utcp_sock *s, uint32_t seq, uint32_t *room)
{
	*room = UINT32_MAX;
	for (unsigned i = 0; i < s->sb_n; i++) {
		if (seq_le(s->sb[i].end, seq))
			continue;
		if (seq_le(s->sb[i].start, seq)) {
			seq = s->sb[i].end;
			continue;
		}
		*room = s->sb[i].start - seq;
		break;
	}
	return seq;
}

/* In SACK recovery: what is in the network, the holes below the highest
 * SACK counting as lost until retransmitted. */
static uint32_t sack_pipe(const struct utcp_sock *s)
{
	uint32_t high = sb_high(s);
	uint32_t rtx_end = seq_lt(s->rtx_nxt, high) ? s->rtx_nxt : high;
	uint32_t pipe = s->snd_max - high;

	if (seq_gt(rtx_end, s->snd_una))
		pipe += rtx_end - s->snd_una - sb_sacked(s, s->snd_una, rtx_end);
	return pipe;
}

/* A tail loss probe (RFC 8985 7): when the last segments or their ACKs are
 * lost, nothing comes back to trigger fast retransmit; instead of waiting
 * for the RTO (200 ms at least), probe after two round trips. */
static void tlp_arm(struct utcp_sock *s)
{
	uint64_t pto;

	s->t_tlp = 0;
	if (!s->srtt_us || s->in_recovery || s->persist || s->tlp_sent ||
	    s->snd_una == s->snd_max || !sends_data(s))
		return;
	pto = 2ull * s->srtt_us;
	if (s->snd_max - s->snd_una <= s->mss)
		pto += UTCP_DELACK_US; /* a lone segment's ACK may be delayed */
	if (pto < UTCP_TLP_MIN_US)
		pto = UTCP_TLP_MIN_US;
	if (!s->t_rtx || s->st->now + pto < s->t_rtx)
		s->t_tlp = s->st->now + pto;
}

/* Send what the windows allow from snd_nxt on, then the FIN if asked and
 * due; then an ACK if one is owed and nothing carried it. */
static void sock_output(struct utcp_sock *s)
{
	struct utcp_stack *st = s->st;
	bool sent = false;

	if (s->arp_wait)
		return;
	while (sends_data(s)) {
		bool sack_rec = s->in_recovery && s->sb_n;
		uint32_t out = s->snd_nxt - s->snd_una;
		uint32_t flight = sack_rec ? sack_pipe(s) : out;
		uint32_t want, room, seq;
		long n;

		if (sack_rec && flight < s->cwnd) {
			/* the next hole below the highest SACK goes first */
			seq = sb_skip(s, seq_max(s->rtx_nxt, s->snd_una), &room);
			if (seq_lt(seq, sb_high(s))) {
				n = send_segment(s, seq, TH_ACK, min_u32(room, s->mss));
				if (n <= 0)
					break;
				s->rtx_nxt = seq + (uint32_t)n;
				s->retransmits++;
				st->stats.retransmits++;
				s->rtt_timing = false;
				sent = true;
				continue;
			}
		}

		if (s->fin_known && s->snd_nxt == s->fin_seq + 1)
			break;
		if (s->fin_known && s->snd_nxt == s->fin_seq) {
			if (send_segment(s, s->snd_nxt, TH_FIN | TH_ACK, 0) < 0)
				break;
			s->snd_nxt++;
			if (seq_gt(s->snd_nxt, s->snd_max)) {
				s->snd_max = s->snd_nxt;
				fin_sent_state(s);
			}
			if (!s->t_rtx || s->persist)
				rtx_arm(s);
			sent = true;
			break;
		}
		if (out >= s->snd_wnd || flight >= s->cwnd) {
			/* the peer's window is shut and nothing is in flight to
			 * bring news of it: probe (RFC 1122 4.2.2.17) */
			if (!s->snd_wnd && !out && !s->t_rtx && has_data_at(s, s->snd_nxt)) {
				s->persist = true;
				s->t_rtx = st->now + max_u32(s->rto_us, UTCP_RTO_MIN_US);
			}
			break;
		}
		want = min_u32(min_u32(s->snd_wnd - out, s->cwnd - flight), s->mss);
		if (seq_lt(s->snd_nxt, s->snd_max) && s->sb_n) {
			/* resending after a timeout: skip what the peer has */
			seq = sb_skip(s, s->snd_nxt, &room);
			if (seq != s->snd_nxt) {
				s->snd_nxt = seq_lt(seq, s->snd_max) ? seq : s->snd_max;
				continue;
			}
			want = min_u32(want, room);
		}
		n = send_segment(s, s->snd_nxt, TH_ACK, want);
		if (n < 0)
			break;
		if (n == 0) {
			if (s->fin_queued && !s->fin_known) {
				s->fin_known = true;
				s->fin_seq = s->snd_nxt;
				continue;
			}
			break;
		}
		sent = true;
		if (!s->rtt_timing && seq_ge(s->snd_nxt, s->snd_max)) {
			s->rtt_timing = true;
			s->rtt_seq = s->snd_nxt + (uint32_t)n;
			s->rtt_start = st->now;
		}
		s->snd_nxt += (uint32_t)n;
		if (seq_gt(s->snd_nxt, s->snd_max))
			s->snd_max = s->snd_nxt;
		if (!s->t_rtx || s->persist)
			rtx_arm(s);
	}
	if (sent)
		tlp_arm(s);
	if (s->ack_now || s->ack_owed >= 2u * s->rcv_mss ||
	    ((st->cfg.flags & UTCP_NO_DELACK) && s->ack_owed))
		send_ack(s);
	else if (s->ack_owed && !s->t_dack)
		s->t_dack = st->now + UTCP_DELACK_US;
}

/* Retransmit the first unacknowledged segment (fast retransmit, partial
 * ACK in recovery). */
static void retransmit_first(struct utcp_sock *s)
{
	long n;

	if (s->fin_known && s->snd_una == s->fin_seq)
		n = send_segment(s, s->snd_una, TH_FIN | TH_ACK, 0);
	else
		n = send_segment(s, s->snd_una, TH_ACK, s->mss);
	if (n < 0)
		return;
	s->retransmits++;
	s->st->stats.retransmits++;
	s->rtt_timing = false; /* Karn */
}

/* ---- receive queue ---- */

/* Keep [seq, seq+len) of frame f, trimmed against what is already kept.
 * Returns false when there is no room. */
static bool rq_insert(struct utcp_sock *s, struct utcp_frame *f, uint8_t *data, uint32_t seq,
                      uint32_t len)
{
	unsigned i = s->rq_n;

	/* find the first kept run that ends after seq, from the tail */
	while (i > 0 && seq_gt(rq_at(s, i - 1)->seq + rq_at(s, i - 1)->len, seq))
		i--;
	if (i < s->rq_n) {
		struct utcp_rseg *nx = rq_at(s, i);

		if (seq_lt(nx->seq, seq) || nx->seq == seq) {
			/* overlaps the front of that run: keep what comes after */
			uint32_t end = nx->seq + nx->len;

			if (seq_ge(end, seq + len))
				return true;
			data += end - seq;
			len -= end - seq;
			seq = end;
			i++;
			if (i < s->rq_n && seq_gt(seq + len, rq_at(s, i)->seq))
				len = rq_at(s, i)->seq - seq;
		} else if (seq_gt(seq + len, nx->seq)) {
			len = nx->seq - seq;
		}
	}
	if (!len)
		return true;
	if (s->rq_n == s->rq_cap)
		return false;
	for (unsigned j = s->rq_n; j > i; j--)
		*rq_at(s, j) = *rq_at(s, j - 1);
	s->rq_n++;
	*rq_at(s, i) = (struct utcp_rseg){.seq = seq, .len = len, .data = data, .f = f};
	utcp_frame_hold(f);
	/* the contiguous edge moves over what is now joined */
	for (; i < s->rq_n && rq_at(s, i)->seq == s->rcv_nxt; i++)
		s->rcv_nxt += rq_at(s, i)->len;
	return true;
}

static void fin_reached(struct utcp_sock *s);

/* Hand the owner what is in order, unless paused. */
static void rq_deliver(struct utcp_sock *s)
{
	while (s->rq_n && !s->paused && s->state != ST_CLOSED) {
		struct utcp_rseg r = *rq_at(s, 0);

		if (r.seq != s->rcv_deliv)
			break;
		s->rq_head = (s->rq_head + 1) % s->rq_cap;
		s->rq_n--;
		s->rcv_deliv += r.len;
		if (!s->orphan && s->cbs.on_data)
			s->cbs.on_data(s, s->arg, r.f, r.data, r.len);
		utcp_frame_put(r.f);
	}
	if (s->fin_rcvd && !s->fin_told && !s->paused && s->rcv_deliv == s->rcv_fin_seq &&
	    s->state != ST_CLOSED) {
		s->fin_told = true;
		if (!s->orphan && s->cbs.on_fin)
			s->cbs.on_fin(s, s->arg);
	}
}

/* ---- input ---- */

struct seg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t mss;
	int wscale; /* -1: none */
	bool sack_ok;
	unsigned nsack;
	uint32_t sack[TCP_SACK_BLOCKS][2];
	uint8_t *data;
	uint32_t dlen;
	const uint8_t *smac;
};

static void rtt_sample(struct utcp_sock *s, uint32_t r)
{
	if (!r)
		r = 1;
	if (!s->srtt_us) {
		s->srtt_us = r;
		s->rttvar_us = r / 2;
	} else {
		uint32_t d = s->srtt_us > r ? s->srtt_us - r : r - s->srtt_us;

		s->rttvar_us = (3 * s->rttvar_us + d) / 4;
		s->srtt_us = (7 * s->srtt_us + r) / 8;
	}
	s->rto_us = s->srtt_us + max_u32(1000, 4 * s->rttvar_us);
	s->rto_us = min_u32(max_u32(s->rto_us, UTCP_RTO_MIN_US), UTCP_RTO_MAX_US);
}

static void sock_established(struct utcp_sock *s, const struct seg *g)
{
	s->state = ST_ESTABLISHED;
	s->snd_wnd = (uint32_t)g->win << s->snd_wscale;
	s->snd_wl1 = g->seq;
	s->snd_wl2 = g->ack;
	s->cwnd = UTCP_INIT_CWND_SEGS * s->mss;
	s->ssthresh = UINT32_MAX / 2;
	s->recover = s->iss;
	s->tx_base = s->iss + 1;
	s->t_rtx = 0;
	s->backoff = 0;
}

static void syn_options(struct utcp_sock *s, const struct seg *g)
{
	uint16_t peer_mss = g->mss ? g->mss : TCP_DEFAULT_MSS;

	s->sack_ok = g->sack_ok;

	s->mss = (uint16_t)min_u32(peer_mss, s->rcv_mss);
	if (s->mss < 64)
		s->mss = 64;
	if (g->wscale >= 0) {
		s->snd_wscale = (uint8_t)min_u32((uint32_t)g->wscale, TCP_MAX_WSCALE);
	} else {
		/* RFC 7323 2.2: both or neither */
		s->snd_wscale = 0;
		s->rcv_wscale = 0;
		s->no_wscale = true;
		s->rcv_wnd = min_u32(s->rcv_wnd, TCP_MAX_WIN);
	}
}

static void ack_input(struct utcp_sock *s, const struct seg *g, bool *drop)
{
	struct utcp_stack *st = s->st;
	uint32_t old_wnd = s->snd_wnd;

	if (seq_gt(g->ack, s->snd_max)) {
		s->ack_now = true;
		*drop = true;
		return;
	}
	/* RFC 793 3.9: take the window from the newest segment */
	if (seq_lt(s->snd_wl1, g->seq) || (s->snd_wl1 == g->seq && seq_le(s->snd_wl2, g->ack))) {
		s->snd_wnd = (uint32_t)g->win << s->snd_wscale;
		s->snd_wl1 = g->seq;
		s->snd_wl2 = g->ack;
		if (s->snd_wnd && s->persist) {
			s->persist = false;
			s->t_rtx = 0;
			s->backoff = 0;
		}
		if (s->snd_wnd > old_wnd)
			sock_kick_internal(s);
	}
	if (seq_gt(g->ack, s->snd_una)) {
		uint32_t acked = g->ack - s->snd_una;
		uint32_t data = acked;
		bool fin_acked = s->fin_known && seq_gt(g->ack, s->fin_seq);

		if (fin_acked)
			data--;
		if (s->rtt_timing && seq_ge(g->ack, s->rtt_seq)) {
			s->rtt_timing = false;
			rtt_sample(s, (uint32_t)(st->now - s->rtt_start));
		}
		s->backoff = 0;
		if (s->in_recovery && s->sb_n) {
			/* SACK recovery: the holes go as the pipe allows */
			if (seq_ge(g->ack, s->recover)) {
				s->cwnd = s->ssthresh;
				s->in_recovery = false;
			}
		} else if (s->in_recovery) {
			if (seq_ge(g->ack, s->recover)) {
				/* full ACK (RFC 6582 3.2 step 3) */
				uint32_t flight = s->snd_max - g->ack;

				s->cwnd = min_u32(s->ssthresh, max_u32(flight, s->mss) + s->mss);
				s->in_recovery = false;
			} else {
				/* partial ACK: the next hole goes now */
				s->cwnd = s->cwnd > acked ? s->cwnd - acked : 0;
				if (acked >= s->mss)
					s->cwnd += s->mss;
				s->cwnd = max_u32(s->cwnd, s->mss);
				s->snd_una = g->ack;
				retransmit_first(s);
				rtx_arm(s);
			}
		} else if (s->cwnd < s->ssthresh) {
			s->cwnd += min_u32(acked, 2u * s->mss); /* RFC 3465 L = 2 */
		} else {
			s->bytes_acked += acked;
			if (s->bytes_acked >= s->cwnd) {
				s->bytes_acked -= s->cwnd;
				s->cwnd += s->mss;
			}
		}
		s->cwnd = min_u32(s->cwnd, 1u << 30);
		s->dupacks = 0;
		s->snd_una = g->ack;
		if (seq_lt(s->snd_nxt, s->snd_una))
			s->snd_nxt = s->snd_una;
		sb_trim(s);
		for (unsigned k = 0; k < g->nsack; k++)
			sb_add(s, g->sack[k][0], g->sack[k][1]);
		if (s->snd_una == s->snd_max)
			s->t_rtx = 0;
		else if (!s->in_recovery || seq_ge(g->ack, s->recover))
			rtx_arm(s);
		s->tlp_sent = false;
		tlp_arm(s);
		s->tx_base += data;
		if (data && s->cbs.on_acked)
			s->cbs.on_acked(s, s->arg, data);
		if (s->state == ST_CLOSED)
			return;
		sock_kick_internal(s);
		if (fin_acked) {
			switch (s->state) {
			case ST_FIN_WAIT_1:
				s->state = ST_FIN_WAIT_2;
				if (s->orphan)
					s->t_tw = st->now + UTCP_ORPHAN_FIN_WAIT_US;
				break;
			case ST_CLOSING:
				s->state = ST_TIME_WAIT;
				s->t_tw = st->now + UTCP_TIME_WAIT_US;
				break;
			case ST_LAST_ACK:
				sock_closed(s);
				*drop = true;
				return;
			default:
				break;
			}
		}
	} else if (g->ack == s->snd_una && !g->dlen && !(g->flags & (TH_SYN | TH_FIN)) &&
	           (s->snd_wnd == old_wnd || g->nsack) && s->snd_max != s->snd_una) {
		/* a duplicate ACK (RFC 5681 2); with SACK blocks even if the
		 * window moved (a receiver's window grows while it waits) */
		st->stats.dup_acks++;
		s->dupacks++;
		for (unsigned k = 0; k < g->nsack; k++)
			sb_add(s, g->sack[k][0], g->sack[k][1]);
		if (s->dupacks >= 3 && !s->in_recovery && s->sb_n) {
			/* RFC 6675 5: enter SACK recovery */
			uint32_t flight = s->snd_max - s->snd_una;

			s->ssthresh = max_u32(flight / 2, 2u * s->mss);
			s->cwnd = s->ssthresh;
			s->recover = s->snd_max;
			s->in_recovery = true;
			s->rtx_nxt = s->snd_una;
			s->t_tlp = 0;
			st->stats.fast_retransmits++;
			sock_output(s);
			rtx_arm(s);
		} else if (s->in_recovery && s->sb_n) {
			sock_kick_internal(s);
		} else if (s->dupacks == 3 && !s->in_recovery && seq_gt(g->ack, s->recover)) {
			uint32_t flight = s->snd_max - s->snd_una;

			s->ssthresh = max_u32(flight / 2, 2u * s->mss);
			s->recover = s->snd_max;
			s->in_recovery = true;
			st->stats.fast_retransmits++;
			retransmit_first(s);
			s->cwnd = s->ssthresh + 3u * s->mss;
			rtx_arm(s);
		} else if (s->in_recovery) {
			s->cwnd += s->mss;
			sock_kick_internal(s);
		}
	}
}

static void fin_reached(struct utcp_sock *s)
{
	struct utcp_stack *st = s->st;

	s->rcv_nxt++;
	s->ack_now = true;
	switch (s->state) {
	case ST_ESTABLISHED:
		s->state = ST_CLOSE_WAIT;
		break;
	case ST_FIN_WAIT_1:
		s->state = ST_CLOSING;
		break;
	case ST_FIN_WAIT_2:
		s->state = ST_TIME_WAIT;
		s->t_tw = st->now + UTCP_TIME_WAIT_US;
		s->t_rtx = 0;
		break;
	default:
		break;
	}
}

static void data_input(struct utcp_sock *s, struct utcp_frame *f, struct seg *g)
{
	struct utcp_stack *st = s->st;
	uint32_t seq = g->seq;
	uint8_t *data = g->data;
	uint32_t len = g->dlen;
	uint32_t edge = s->rcv_nxt + rcv_space(s);
	bool fin = g->flags & TH_FIN;

	if (s->state != ST_ESTABLISHED && s->state != ST_FIN_WAIT_1 && s->state != ST_FIN_WAIT_2)
		len = 0; /* the peer has sent its FIN: nothing beyond it */
	if (len && seq_lt(seq, s->rcv_nxt)) {
		uint32_t old = s->rcv_nxt - seq;

		if (old >= len) {
			len = 0;
		} else {
			data += old;
			seq += old;
			len -= old;
		}
		s->ack_now = true; /* a duplicate: tell the sender at once */
	}
	if (len && seq_gt(seq + len, edge)) {
		uint32_t cut = seq_gt(seq, edge) ? len : seq + len - edge;

		len -= cut;
		fin = false;
		s->ack_now = true;
	}
	if (len) {
		if (seq == s->rcv_nxt && !s->rq_n && !s->paused && !s->orphan) {
			/* the fast path: in order, nothing kept, hand it over */
			s->rcv_nxt += len;
			s->rcv_deliv = s->rcv_nxt;
			s->ack_owed += len;
			if (s->cbs.on_data)
				s->cbs.on_data(s, s->arg, f, data, len);
			if (s->state == ST_CLOSED)
				return;
		} else if (s->orphan && seq == s->rcv_nxt && !s->rq_n) {
			/* closed by the owner: take and drop */
			s->rcv_nxt += len;
			s->rcv_deliv = s->rcv_nxt;
			s->ack_owed += len;
		} else {
			uint32_t before = s->rcv_nxt;
			bool ooo = seq_gt(seq, s->rcv_nxt);

			if (!rq_insert(s, f, data, seq, len)) {
				s->ack_now = true;
				fin = false;
			} else if (ooo) {
				st->stats.ooo_segments++;
				s->sack_last = seq;
				s->ack_now = true; /* RFC 5681 4.2: dup ACK at once */
			} else {
				s->ack_owed += s->rcv_nxt - before;
				if (s->rq_n && seq_gt(s->rcv_nxt, before + len))
					s->ack_now = true; /* a hole filled */
			}
			rq_deliver(s);
			if (s->state == ST_CLOSED)
				return;
		}
	}
	if (fin && !s->fin_rcvd) {
		s->fin_rcvd = true;
		s->rcv_fin_seq = g->seq + g->dlen;
	}
	if (s->fin_rcvd && s->rcv_nxt == s->rcv_fin_seq &&
	    (s->state == ST_ESTABLISHED || s->state == ST_FIN_WAIT_1 ||
	     s->state == ST_FIN_WAIT_2)) {
		fin_reached(s);
		rq_deliver(s);
		if (s->state == ST_CLOSED)
			return;
	} else if (fin && s->fin_rcvd && seq_gt(s->rcv_nxt, s->rcv_fin_seq)) {
		s->ack_now = true; /* a retransmitted FIN */
		if (s->state == ST_TIME_WAIT)
			s->t_tw = st->now + UTCP_TIME_WAIT_US;
	}
	if (s->ack_now || s->ack_owed)
		sock_kick_internal(s);
}

static void passive_open(struct utcp_stack *st, struct utcp_sock *l, uint32_t rip, uint16_t rport,
                         const struct seg *g)
{
	struct utcp_sock *s;

	if (l->backlog >= UTCP_BACKLOG)
		return;
	s = sock_alloc(st, false);
	if (!s)
		return;
	l->backlog++;
	s->listener = l;
	s->rip = rip;
	s->rport = rport;
	s->lport = l->lport;
	s->nexthop = on_link(st, rip) ? rip : st->cfg.gateway;
	memcpy(s->rmac, g->smac, ETH_ALEN);
	s->state = ST_SYN_RCVD;
	s->irs = g->seq;
	s->rcv_nxt = s->rcv_deliv = s->rcv_adv = g->seq + 1;
	s->iss = (uint32_t)rng_next(st);
	s->snd_una = s->iss;
	while (s->rcv_wscale < TCP_MAX_WSCALE && (s->rcv_wnd >> s->rcv_wscale) > TCP_MAX_WIN)
		s->rcv_wscale++;
	syn_options(s, g);
	sock_hash(s);
	send_syn(s);
}

static void tcp_input_sock(struct utcp_sock *s, struct utcp_frame *f, struct seg *g)
{
	struct utcp_stack *st = s->st;
	uint32_t seg_len = g->dlen + !!(g->flags & TH_SYN) + !!(g->flags & TH_FIN);
	uint32_t space;
	bool drop = false;

	if (s->state == ST_SYN_SENT) {
		if ((g->flags & TH_ACK) && g->ack != s->iss + 1) {
			if (!(g->flags & TH_RST))
				send_rst_raw(st, s->rmac, s->rip, s->lport, s->rport, g->ack, 0,
				             TH_RST);
			return;
		}
		if (g->flags & TH_RST) {
			if (g->flags & TH_ACK)
				sock_error(s, -ECONNREFUSED);
			return;
		}
		if (!(g->flags & TH_SYN) || !(g->flags & TH_ACK))
			return; /* no simultaneous open */
		s->irs = g->seq;
		s->rcv_nxt = s->rcv_deliv = s->rcv_adv = g->seq + 1;
		s->snd_una = g->ack;
		syn_options(s, g);
		sock_established(s, g);
		s->snd_wnd = g->win; /* never scaled in a SYN (RFC 7323 2.2) */
		s->ack_now = true;
		sock_kick_internal(s);
		if (s->cbs.on_connect)
			s->cbs.on_connect(s, s->arg);
		return;
	}

	/* RFC 793 3.9 "first check sequence number", Linux's looser form:
	 * anything not wholly old and not past the window */
	space = rcv_space(s);
	if (seq_gt(g->seq, s->rcv_nxt + space) || seq_lt(g->seq + seg_len, s->rcv_nxt)) {
		if (!(g->flags & TH_RST)) {
			s->ack_now = true;
			sock_kick_internal(s);
		}
		return;
	}
	if (g->flags & TH_RST) {
		if (s->state == ST_TIME_WAIT)
			sock_closed(s);
		else
			sock_error(s, -ECONNRESET);
		return;
	}
	if (g->flags & TH_SYN) {
		if (s->state == ST_SYN_RCVD && g->seq == s->irs) {
			send_syn(s); /* our SYN-ACK was lost */
			return;
		}
		s->ack_now = true; /* RFC 5961 4: a challenge ACK */
		sock_kick_internal(s);
		return;
	}
	if (!(g->flags & TH_ACK))
		return;
	if (s->state == ST_SYN_RCVD) {
		struct utcp_sock *l = s->listener;

		if (g->ack != s->iss + 1) {
			send_rst_raw(st, s->rmac, s->rip, s->lport, s->rport, g->ack, 0, TH_RST);
			return;
		}
		s->snd_una = g->ack;
		sock_established(s, g);
		l->backlog--;
		s->listener = NULL;
		s->owned = true;
		l->accept_cb(l, s, l->arg);
		if (s->state == ST_CLOSED)
			return;
		if (s->cbs.on_connect)
			s->cbs.on_connect(s, s->arg);
		if (s->state == ST_CLOSED)
			return;
	}
	ack_input(s, g, &drop);
	if (drop || s->state == ST_CLOSED)
		return;
	if (s->state == ST_TIME_WAIT && !(g->flags & TH_FIN))
		return;
	data_input(s, f, g);
}

static bool tcp_parse_options(const uint8_t *p, size_t len, struct seg *g)
{
	while (len) {
		uint8_t kind = p[0], olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			p++;
			len--;
			continue;
		}
		if (len < 2)
			return false;
		olen = p[1];
		if (olen < 2 || olen > len)
			return false;
		if (kind == TCPOPT_MSS && olen == TCPOLEN_MSS)
			g->mss = rd16(p + 2);
		else if (kind == TCPOPT_WSCALE && olen == TCPOLEN_WSCALE)
			g->wscale = p[2];
		else if (kind == TCPOPT_SACK_PERM && olen == TCPOLEN_SACK_PERM)
			g->sack_ok = true;
		else if (kind == TCPOPT_SACK && olen >= 10 && (olen - 2) % 8 == 0)
			for (unsigned k = 0; k < (olen - 2u) / 8 && g->nsack < TCP_SACK_BLOCKS;
			     k++, g->nsack++) {
				g->sack[g->nsack][0] = rd32(p + 2 + 8 * k);
				g->sack[g->nsack][1] = rd32(p + 6 + 8 * k);
			}
		p += olen;
		len -= olen;
	}
	return true;
}

static void tcp_input(struct utcp_stack *st, struct utcp_frame *f, const struct utcp_ethh *eth,
                      const struct utcp_iph *ip, uint8_t *p, size_t len)
{
	struct utcp_tcph *th = (struct utcp_tcph *)p;
	struct seg g = {.wscale = -1, .smac = eth->src};
	uint32_t rip = rd32(ip->src);
	uint16_t sport, dport;
	size_t doff;
	struct utcp_sock *s;

	if (len < sizeof(*th))
		goto bad;
	doff = (size_t)(th->doff >> 4) * 4;
	if (doff < sizeof(*th) || doff > len)
		goto bad;
	if (!(st->cfg.flags & UTCP_RX_CSUM_OK) &&
	    csum_fold(csum_add(csum_pseudo(ip->src, ip->dst, len), p, len)) != 0xffff)
		goto bad;
	if (!tcp_parse_options(p + sizeof(*th), doff - sizeof(*th), &g))
		goto bad;
	sport = rd16(th->sport);
	dport = rd16(th->dport);
	g.seq = rd32(th->seq);
	g.ack = rd32(th->ack);
	g.flags = th->flags;
	g.win = rd16(th->win);
	g.data = p + doff;
	g.dlen = (uint32_t)(len - doff);

	s = sock_lookup(st, rip, dport, sport);
	if (s) {
		tcp_input_sock(s, f, &g);
		/* duplicate ACKs go one per segment, not one per batch, or the
		 * sender never counts three (RFC 5681 4.2) */
		if (s->ack_now && !s->dead && s->state != ST_CLOSED && !s->arp_wait)
			send_ack(s);
		return;
	}
	if ((g.flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN) {
		struct utcp_sock *l = listener_lookup(st, dport);

		if (l) {
			passive_open(st, l, rip, sport, &g);
			return;
		}
	}
	/* RFC 793 3.4: reset whatever reaches no connection */
	if (g.flags & TH_RST)
		return;
	if (g.flags & TH_ACK)
		send_rst_raw(st, eth->src, rip, dport, sport, g.ack, 0, TH_RST);
	else
		send_rst_raw(st, eth->src, rip, dport, sport, 0,
		             g.seq + g.dlen + !!(g.flags & TH_SYN) + !!(g.flags & TH_FIN),
		             TH_RST | TH_ACK);
	return;
bad:
	st->stats.rx_dropped++;
}

static void ip_input(struct utcp_stack *st, struct utcp_frame *f, const struct utcp_ethh *eth,
                     uint8_t *p, size_t len)
{
	const struct utcp_iph *ip = (const struct utcp_iph *)p;
	size_t ihl, tot;

	if (len < sizeof(*ip) || ip->vihl >> 4 != IP_VERSION)
		goto bad;
	ihl = (size_t)(ip->vihl & 0xf) * 4;
	tot = rd16(ip->len);
	if (ihl < sizeof(*ip) || tot < ihl || tot > len)
		goto bad;
	if (rd32(ip->dst) != st->cfg.ip)
		goto bad;
	/* no reassembly: we send DF and expect peers on the link to, too */
	if (rd16(ip->frag) & (IP_FLAG_MF | IP_OFFSET_MASK))
		goto bad;
	if (!(st->cfg.flags & UTCP_RX_CSUM_OK) && csum_fold(csum_add(0, p, ihl)) != 0xffff)
		goto bad;
	if (ip->proto != IP_PROTO_TCP)
		goto bad;
	tcp_input(st, f, eth, ip, p + ihl, tot - ihl);
	return;
bad:
	st->stats.rx_dropped++;
}

static void frame_input(struct utcp_stack *st, struct utcp_frame *f)
{
	const struct utcp_ethh *eth = (const struct utcp_ethh *)f->data;

	st->stats.rx_frames++;
	st->stats.rx_bytes += f->len;
	if (f->len < sizeof(*eth)) {
		st->stats.rx_dropped++;
		return;
	}
	switch (rd16(eth->type)) {
	case ETH_TYPE_IPV4:
		ip_input(st, f, eth, f->data + sizeof(*eth), f->len - sizeof(*eth));
		break;
	case ETH_TYPE_ARP:
		arp_input(st, f->data + sizeof(*eth), f->len - sizeof(*eth), eth->src);
		break;
	default:
		st->stats.rx_dropped++;
		break;
	}
}

static void rx_release_held(struct utcp_stack *st)
{
	struct utcp_frame *held = st->rx_held;

	if (!held)
		return;
	st->rx_held = NULL;
	frame_input(st, held);
	utcp_frame_put(held);
}

void utcp_input(struct utcp_stack *st, struct utcp_frame *f)
{
	const struct utcp_impair *imp = &st->cfg.impair;

	st->now = utcp_now_us();
	if (imp->drop_ppm | imp->dup_ppm | imp->reorder_ppm) {
		if (rng_ppm(st, imp->drop_ppm)) {
			st->stats.impair_dropped++;
			utcp_frame_put(f);
			return;
		}
		if (rng_ppm(st, imp->dup_ppm)) {
			st->stats.impair_duped++;
			frame_input(st, f);
		}
		if (!st->rx_held && rng_ppm(st, imp->reorder_ppm)) {
			st->stats.impair_reordered++;
			st->rx_held = f;
			st->rx_held_at = st->now;
			return;
		}
	}
	frame_input(st, f);
	utcp_frame_put(f);
	rx_release_held(st);
	stack_reap(st);
}

/* ---- timers ---- */

static void rtx_timeout(struct utcp_sock *s)
{
	struct utcp_stack *st = s->st;
	bool syn = s->state == ST_SYN_SENT || s->state == ST_SYN_RCVD;
	unsigned limit = st->cfg.rtx_retries ? st->cfg.rtx_retries
	                 : syn               ? UTCP_SYN_RETRIES
	                                     : UTCP_RTX_RETRIES;

	s->t_rtx = 0;
	s->t_tlp = 0;
	if (s->persist) {
		/* a window probe: one old byte's sequence, no data, so the
		 * peer answers with its window (as Linux does) */
		st->stats.zero_window_probes++;
		send_segment(s, s->snd_una - 1, TH_ACK, 0);
		s->backoff++;
		s->persist = true;
		s->t_rtx = st->now +
		           min_u32(max_u32(s->rto_us, UTCP_RTO_MIN_US) << min_u32(s->backoff, 5),
		                   UTCP_PERSIST_MAX_US);
		return;
	}
	if (s->backoff >= limit) {
		if (s->owned)
			send_rst(s);
		sock_error(s, -ETIMEDOUT);
		return;
	}
	s->backoff++;
	s->rto_us = min_u32(s->rto_us * 2, UTCP_RTO_MAX_US);
	st->stats.rto_fired++;
	s->rtt_timing = false;
	if (s->state == ST_SYN_SENT || s->state == ST_SYN_RCVD) {
		s->retransmits++;
		st->stats.retransmits++;
		send_syn(s);
		rtx_arm(s);
		return;
	}
	/* RFC 5681 3.1 eq. 4, RFC 6582 4: restart from snd_una */
	s->ssthresh = max_u32((s->snd_max - s->snd_una) / 2, 2u * s->mss);
	s->cwnd = s->mss;
	s->bytes_acked = 0;
	s->in_recovery = false;
	s->recover = s->snd_max;
	s->dupacks = 0;
	s->snd_nxt = s->snd_una;
	s->retransmits++;
	st->stats.retransmits++;
	sock_output(s);
	if (!s->t_rtx)
		rtx_arm(s);
}

static void tlp_timeout(struct utcp_sock *s)
{
	struct utcp_stack *st = s->st;
	uint32_t out = s->snd_nxt - s->snd_una;
	long n = 0;

	s->t_tlp = 0;
	if (s->in_recovery || s->persist || s->snd_una == s->snd_max || !sends_data(s))
		return;
	s->tlp_sent = true;
	st->stats.tail_loss_probes++;
	/* new data if the peer's window takes it, else the last segment again */
	if (s->snd_nxt == s->snd_max && out < s->snd_wnd &&
	    !(s->fin_known && seq_ge(s->snd_nxt, s->fin_seq)))
		n = send_segment(s, s->snd_nxt, TH_ACK, min_u32(s->snd_wnd - out, s->mss));
	if (n > 0) {
		s->snd_nxt += (uint32_t)n;
		s->snd_max = s->snd_nxt;
	} else if (n == 0) {
		if (s->fin_known && s->snd_max == s->fin_seq + 1) {
			n = send_segment(s, s->fin_seq, TH_FIN | TH_ACK, 0);
		} else {
			uint32_t len = min_u32(s->snd_max - s->snd_una, s->mss);

			n = send_segment(s, s->snd_max - len, TH_ACK, len);
		}
		if (n >= 0) {
			s->retransmits++;
			st->stats.retransmits++;
		}
	}
	rtx_arm(s);
}

static void sock_timers(struct utcp_sock *s)
{
	struct utcp_stack *st = s->st;

	if (s->t_tw && s->t_tw <= st->now) {
		s->t_tw = 0;
		if (s->state == ST_TIME_WAIT || s->state == ST_FIN_WAIT_2) {
			sock_closed(s);
			return;
		}
	}
	if (s->t_rtx && s->t_rtx <= st->now) {
		rtx_timeout(s);
		if (s->state == ST_CLOSED)
			return;
	}
	if (s->t_tlp && s->t_tlp <= st->now) {
		tlp_timeout(s);
		if (s->state == ST_CLOSED)
			return;
	}
	if (s->t_dack && s->t_dack <= st->now) {
		s->t_dack = 0;
		if (s->ack_owed)
			send_ack(s);
	}
}

void utcp_timers(struct utcp_stack *st, uint64_t now_us)
{
	st->now = now_us;
	if (st->rx_held && st->rx_held_at + UTCP_IMPAIR_HOLD_US <= now_us)
		rx_release_held(st);
	if (st->tx_held && st->tx_held_at + UTCP_IMPAIR_HOLD_US <= now_us)
		link_release_tx_held(st);
	arp_timers(st);
	for (struct utcp_sock *s = st->socks; s; s = s->next)
		if (!s->dead && s->state != ST_CLOSED)
			sock_timers(s);
	stack_reap(st);
	if (st->tx_pending && st->ops->tx_flush) {
		st->tx_pending = false;
		st->ops->tx_flush(st->link);
	}
}

static uint64_t min_t(uint64_t a, uint64_t t)
{
	return t && t < a ? t : a;
}

uint64_t utcp_next_timer_us(const struct utcp_stack *st)
{
	uint64_t t = UINT64_MAX;

	if (st->rx_held)
		t = min_t(t, st->rx_held_at + UTCP_IMPAIR_HOLD_US);
	if (st->tx_held)
		t = min_t(t, st->tx_held_at + UTCP_IMPAIR_HOLD_US);
	for (unsigned i = 0; i < UTCP_ARP_SLOTS; i++)
		if (st->arp[i].state == ARP_PENDING)
			t = min_t(t, st->arp[i].next_us);
	for (const struct utcp_sock *s = st->socks; s; s = s->next) {
		if (s->dead || s->state == ST_CLOSED)
			continue;
		t = min_t(t, s->t_rtx);
		t = min_t(t, s->t_dack);
		t = min_t(t, s->t_tw);
		t = min_t(t, s->t_tlp);
	}
	return t;
}

void utcp_flush(struct utcp_stack *st)
{
	st->now = utcp_now_us();
	/* a few rounds: what a callback queues while we deliver goes too */
	for (int round = 0; round < 4 && st->kick_head; round++) {
		struct utcp_sock *list = st->kick_head;

		st->kick_head = NULL;
		for (struct utcp_sock *s = list; s; s = list) {
			list = s->kick_next;
			s->kicked = false;
			s->kick_next = NULL;
			if (s->dead || s->state == ST_CLOSED)
				continue;
			if (s->rq_n || (s->fin_rcvd && !s->fin_told)) {
				uint32_t edge = s->rcv_adv;

				rq_deliver(s);
				if (s->state == ST_CLOSED)
					continue;
				/* a window update when the owner took enough */
				if (seq_ge(s->rcv_nxt + rcv_space(s),
				           edge + min_u32(s->rcv_wnd / 2, 2u * s->rcv_mss)))
					s->ack_now = true;
			}
			sock_output(s);
		}
	}
	stack_reap(st);
	if (st->tx_pending && st->ops->tx_flush) {
		st->tx_pending = false;
		st->ops->tx_flush(st->link);
	}
}

/* ---- the API ---- */

int utcp_stack_new(const struct utcp_cfg *cfg, const struct utcp_link_ops *ops, void *link,
                   struct utcp_stack **out)
{
	struct utcp_stack *st;

	if (!cfg || !ops || !ops->tx_alloc || !ops->tx_submit || !ops->tx_abort || !out)
		return -EINVAL;
	if (cfg->mtu < 576 || cfg->prefix > 32 || !cfg->ip)
		return -EINVAL;
	if (cfg->ephemeral_lo > cfg->ephemeral_hi)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->cfg = *cfg;
	st->ops = ops;
	st->link = link;
	st->mask = cfg->prefix ? ~0u << (32 - cfg->prefix) : 0;
	st->rcv_wnd = cfg->rcv_wnd ? cfg->rcv_wnd : UTCP_RCV_WND_DEFAULT;
	st->rcv_wnd = min_u32(max_u32(st->rcv_wnd, UTCP_RCV_WND_MIN), UTCP_RCV_WND_MAX);
	if (!st->cfg.ephemeral_lo && !st->cfg.ephemeral_hi) {
		st->cfg.ephemeral_lo = UTCP_EPH_LO;
		st->cfg.ephemeral_hi = UTCP_EPH_HI;
	}
	st->now = utcp_now_us();
	st->rng = cfg->impair.seed ? cfg->impair.seed : st->now ^ (uint64_t)(uintptr_t)st;
	st->eph_next =
	        (uint16_t)(st->cfg.ephemeral_lo +
	                   rng_next(st) % (st->cfg.ephemeral_hi - st->cfg.ephemeral_lo + 1u));
	st->ip_id = (uint16_t)rng_next(st);
	*out = st;
	return 0;
}

void utcp_stack_free(struct utcp_stack *st)
{
	struct utcp_sock *s, *next;

	if (!st)
		return;
	st->now = utcp_now_us();
	for (s = st->socks; s; s = next) {
		next = s->next;
		if (s->state != ST_CLOSED && s->state != ST_LISTEN && s->state != ST_TIME_WAIT &&
		    !s->arp_wait && s->state != ST_SYN_SENT)
			send_rst(s);
		sock_detach(s);
		if (!s->owned || s->dead) {
			sock_destroy(s);
		} else {
			/* the owner still frees it: leave it standing alone */
			s->st = NULL;
			s->next = s->prev = NULL;
		}
	}
	st->socks = NULL;
	if (st->rx_held) {
		utcp_frame_put(st->rx_held);
		st->rx_held = NULL;
	}
	link_release_tx_held(st);
	if (st->tx_pending && st->ops->tx_flush)
		st->ops->tx_flush(st->link);
	free(st);
}

void utcp_stack_get_stats(const struct utcp_stack *st, struct utcp_stack_stats *out)
{
	*out = st->stats;
}

static bool port_in_use(struct utcp_stack *st, uint16_t port)
{
	if (listener_lookup(st, port))
		return true;
	for (struct utcp_sock *s = st->socks; s; s = s->next)
		if (!s->dead && s->state != ST_CLOSED && s->lport == port)
			return true;
	return false;
}

static int pick_port(struct utcp_stack *st, uint16_t *port)
{
	unsigned span = st->cfg.ephemeral_hi - st->cfg.ephemeral_lo + 1u;

	for (unsigned i = 0; i < span; i++) {
		uint16_t p = st->eph_next;

		st->eph_next = p >= st->cfg.ephemeral_hi ? st->cfg.ephemeral_lo : (uint16_t)(p + 1);
		if (p && !port_in_use(st, p)) {
			*port = p;
			return 0;
		}
	}
	return -EADDRINUSE;
}

int utcp_listen(struct utcp_stack *st, uint16_t port, utcp_accept_cb cb, void *arg,
                struct utcp_sock **out)
{
	struct utcp_sock *s;
	int err;

	if (!cb || !out)
		return -EINVAL;
	if (!port) {
		err = pick_port(st, &port);
		if (err)
			return err;
	} else if (listener_lookup(st, port)) {
		return -EADDRINUSE;
	}
	s = sock_alloc(st, true);
	if (!s)
		return -ENOMEM;
	s->state = ST_LISTEN;
	s->lport = port;
	s->accept_cb = cb;
	s->arg = arg;
	s->owned = true;
	sock_hash(s);
	*out = s;
	return 0;
}

static void sock_arp_resolved(struct utcp_sock *s, const uint8_t *mac)
{
	memcpy(s->rmac, mac, ETH_ALEN);
	s->arp_wait = false;
	if (s->state == ST_SYN_SENT) {
		send_syn(s);
		sock_kick_internal(s);
	}
}

int utcp_connect(struct utcp_stack *st, uint32_t ip, uint16_t port, uint16_t lport,
                 const struct utcp_sock_cbs *cbs, void *arg, struct utcp_sock **out)
{
	struct utcp_sock *s;
	int err;

	if (!ip || !port || !cbs || !out)
		return -EINVAL;
	if (!on_link(st, ip) && !st->cfg.gateway)
		return -ENETUNREACH;
	st->now = utcp_now_us();
	if (!lport) {
		err = pick_port(st, &lport);
		if (err)
			return err;
	} else if (sock_lookup(st, ip, lport, port)) {
		return -EADDRINUSE;
	}
	s = sock_alloc(st, false);
	if (!s)
		return -ENOMEM;
	s->owned = true;
	s->cbs = *cbs;
	s->arg = arg;
	s->rip = ip;
	s->rport = port;
	s->lport = lport;
	s->nexthop = on_link(st, ip) ? ip : st->cfg.gateway;
	s->state = ST_SYN_SENT;
	s->iss = (uint32_t)rng_next(st);
	s->snd_una = s->snd_nxt = s->snd_max = s->iss;
	while (s->rcv_wscale < TCP_MAX_WSCALE && (s->rcv_wnd >> s->rcv_wscale) > TCP_MAX_WIN)
		s->rcv_wscale++;
	sock_hash(s);
	err = arp_resolve(st, s->nexthop, s->rmac);
	if (err == -EAGAIN) {
		s->arp_wait = true;
	} else if (err) {
		sock_unlink(s);
		sock_destroy(s);
		return err;
	} else {
		send_syn(s);
	}
	sock_kick_internal(s);
	*out = s;
	return 0;
}

void utcp_sock_set_cbs(struct utcp_sock *s, const struct utcp_sock_cbs *cbs, void *arg)
{
	s->cbs = *cbs;
	s->arg = arg;
}

void utcp_sock_kick(struct utcp_sock *s)
{
	if (s->state != ST_CLOSED && s->state != ST_LISTEN)
		sock_kick_internal(s);
}

void utcp_sock_pause(struct utcp_sock *s, bool paused)
{
	if (s->paused == paused)
		return;
	s->paused = paused;
	if (!paused && s->state != ST_CLOSED)
		sock_kick_internal(s);
}

int utcp_sock_shutdown(struct utcp_sock *s)
{
	switch (s->state) {
	case ST_SYN_SENT:
	case ST_SYN_RCVD:
	case ST_ESTABLISHED:
	case ST_CLOSE_WAIT:
		s->fin_queued = true;
		sock_kick_internal(s);
		return 0;
	case ST_FIN_WAIT_1:
	case ST_FIN_WAIT_2:
	case ST_CLOSING:
	case ST_LAST_ACK:
	case ST_TIME_WAIT:
		return 0;
	default:
		return -ENOTCONN;
	}
}

static void listener_close(struct utcp_sock *l)
{
	sock_unhash(l);
	l->state = ST_CLOSED;
	for (struct utcp_sock *s = l->st->socks; s; s = s->next)
		if (s->listener == l) {
			send_rst(s);
			sock_kill(s);
		}
}

void utcp_sock_close(struct utcp_sock *s, bool abort)
{
	if (!s->st)
		return;
	if (s->state == ST_LISTEN) {
		listener_close(s);
		return;
	}
	if (abort) {
		if (s->state != ST_CLOSED && s->state != ST_TIME_WAIT && !s->arp_wait &&
		    s->state != ST_SYN_SENT)
			send_rst(s);
		s->error_sent = true; /* no more callbacks */
		sock_detach(s);
		return;
	}
	s->orphan = true;
	if (s->state == ST_SYN_SENT) {
		/* nothing was said yet: just go */
		s->error_sent = true;
		sock_detach(s);
		if (s->cbs.on_closed)
			s->cbs.on_closed(s, s->arg);
		return;
	}
	/* data the owner did not take is dropped; what still comes is ACKed
	 * and dropped too */
	rq_release(s);
	s->rcv_deliv = s->rcv_nxt;
	if (s->state == ST_FIN_WAIT_2)
		s->t_tw = s->st->now + UTCP_ORPHAN_FIN_WAIT_US;
	utcp_sock_shutdown(s);
}

void utcp_sock_free(struct utcp_sock *s)
{
	if (!s)
		return;
	if (s->st) {
		if (s->state == ST_LISTEN)
			listener_close(s);
		else if (s->state != ST_CLOSED && s->state != ST_TIME_WAIT && !s->arp_wait &&
		         s->state != ST_SYN_SENT)
			send_rst(s);
		sock_unlink(s);
		if (s->st->tx_pending && s->st->ops->tx_flush) {
			s->st->tx_pending = false;
			s->st->ops->tx_flush(s->st->link);
		}
		stack_reap(s->st);
	}
	sock_destroy(s);
}

void utcp_sock_local(const struct utcp_sock *s, uint32_t *ip, uint16_t *port)
{
	if (ip)
		*ip = s->lip;
	if (port)
		*port = s->lport;
}

void utcp_sock_peer(const struct utcp_sock *s, uint32_t *ip, uint16_t *port)
{
	if (ip)
		*ip = s->rip;
	if (port)
		*port = s->rport;
}

void utcp_sock_info(const struct utcp_sock *s, struct utcp_sock_info *out)
{
	memset(out, 0, sizeof(*out));
	out->snd_una = s->snd_una;
	out->snd_nxt = s->snd_nxt;
	out->snd_wnd = s->snd_wnd;
	out->cwnd = s->cwnd;
	out->ssthresh = s->ssthresh;
	out->rcv_nxt = s->rcv_nxt;
	out->rcv_wnd = rcv_space(s);
	out->srtt_us = s->srtt_us;
	out->rttvar_us = s->rttvar_us;
	out->rto_us = s->rto_us;
	out->mss = s->mss;
	out->snd_wscale = s->snd_wscale;
	out->rcv_wscale = s->rcv_wscale;
	out->retransmits = s->retransmits;
	out->state = state_names[s->state];
}
