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
 *
 * The engine is three files around utcp_int.h: this one (ARP, sockets,
 * timers, the API), utcp_in.c (input) and utcp_out.c (output).
 */
#include "config.h"

#include <time.h>

#include "transport/utcp_int.h"

static const char *const state_names[] = {
        [ST_CLOSED] = "CLOSED",           [ST_LISTEN] = "LISTEN",
        [ST_SYN_SENT] = "SYN_SENT",       [ST_SYN_RCVD] = "SYN_RCVD",
        [ST_ESTABLISHED] = "ESTABLISHED", [ST_FIN_WAIT_1] = "FIN_WAIT_1",
        [ST_FIN_WAIT_2] = "FIN_WAIT_2",   [ST_CLOSE_WAIT] = "CLOSE_WAIT",
        [ST_CLOSING] = "CLOSING",         [ST_LAST_ACK] = "LAST_ACK",
        [ST_TIME_WAIT] = "TIME_WAIT",
};

uint64_t utcp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sock_arp_resolved(struct utcp_sock *s, const uint8_t *mac);

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
	ut_link_submit(st, buf, 60);
}

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
				ut_sock_error(s, -EHOSTUNREACH);
			}
	}
}

void ut_arp_input(struct utcp_stack *st, const uint8_t *p, size_t len, const uint8_t *src)
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

struct utcp_sock *ut_sock_lookup(struct utcp_stack *st, uint32_t rip, uint16_t lport,
                                 uint16_t rport)
{
	for (struct utcp_sock *s = st->hash[tuple_hash(rip, lport, rport)]; s; s = s->hnext)
		if (s->rip == rip && s->lport == lport && s->rport == rport)
			return s;
	return NULL;
}

struct utcp_sock *ut_listener_lookup(struct utcp_stack *st, uint16_t port)
{
	for (struct utcp_sock *s = st->listeners[listen_hash(port)]; s; s = s->hnext)
		if (s->lport == port)
			return s;
	return NULL;
}

void ut_sock_hash(struct utcp_sock *s)
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

void ut_sock_kick_internal(struct utcp_sock *s)
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

struct utcp_sock *ut_sock_alloc(struct utcp_stack *st, bool listener)
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

void ut_stack_reap(struct utcp_stack *st)
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
void ut_sock_error(struct utcp_sock *s, int err)
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

void ut_sock_closed(struct utcp_sock *s)
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
		ut_send_segment(s, s->snd_una - 1, TH_ACK, 0);
		s->backoff++;
		s->persist = true;
		s->t_rtx = st->now +
		           min_u32(max_u32(s->rto_us, UTCP_RTO_MIN_US) << min_u32(s->backoff, 5),
		                   UTCP_PERSIST_MAX_US);
		return;
	}
	if (s->backoff >= limit) {
		if (s->owned)
			ut_send_rst(s);
		ut_sock_error(s, -ETIMEDOUT);
		return;
	}
	s->backoff++;
	s->rto_us = min_u32(s->rto_us * 2, UTCP_RTO_MAX_US);
	st->stats.rto_fired++;
	s->rtt_timing = false;
	if (s->state == ST_SYN_SENT || s->state == ST_SYN_RCVD) {
		s->retransmits++;
		st->stats.retransmits++;
		ut_send_syn(s);
		ut_rtx_arm(s);
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
	ut_sock_output(s);
	if (!s->t_rtx)
		ut_rtx_arm(s);
}

static void tlp_timeout(struct utcp_sock *s)
{
	struct utcp_stack *st = s->st;
	uint32_t out = s->snd_nxt - s->snd_una;
	long n = 0;

	s->t_tlp = 0;
	if (s->in_recovery || s->persist || s->snd_una == s->snd_max || !ut_sends_data(s))
		return;
	s->tlp_sent = true;
	st->stats.tail_loss_probes++;
	/* new data if the peer's window takes it, else the last segment again */
	if (s->snd_nxt == s->snd_max && out < s->snd_wnd &&
	    !(s->fin_known && seq_ge(s->snd_nxt, s->fin_seq)))
		n = ut_send_segment(s, s->snd_nxt, TH_ACK, min_u32(s->snd_wnd - out, s->mss));
	if (n > 0) {
		s->snd_nxt += (uint32_t)n;
		s->snd_max = s->snd_nxt;
	} else if (n == 0) {
		if (s->fin_known && s->snd_max == s->fin_seq + 1) {
			n = ut_send_segment(s, s->fin_seq, TH_FIN | TH_ACK, 0);
		} else {
			uint32_t len = min_u32(s->snd_max - s->snd_una, s->mss);

			n = ut_send_segment(s, s->snd_max - len, TH_ACK, len);
		}
		if (n >= 0) {
			s->retransmits++;
			st->stats.retransmits++;
		}
	}
	ut_rtx_arm(s);
}

static void sock_timers(struct utcp_sock *s)
{
	struct utcp_stack *st = s->st;

	if (s->t_tw && s->t_tw <= st->now) {
		s->t_tw = 0;
		if (s->state == ST_TIME_WAIT || s->state == ST_FIN_WAIT_2) {
			ut_sock_closed(s);
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
			ut_send_ack(s);
	}
}

void utcp_timers(struct utcp_stack *st, uint64_t now_us)
{
	st->now = now_us;
	if (st->rx_held && st->rx_held_at + UTCP_IMPAIR_HOLD_US <= now_us)
		ut_rx_release_held(st);
	if (st->tx_held && st->tx_held_at + UTCP_IMPAIR_HOLD_US <= now_us)
		ut_link_release_tx_held(st);
	arp_timers(st);
	for (struct utcp_sock *s = st->socks; s; s = s->next)
		if (!s->dead && s->state != ST_CLOSED)
			sock_timers(s);
	ut_stack_reap(st);
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

				ut_rq_deliver(s);
				if (s->state == ST_CLOSED)
					continue;
				/* a window update when the owner took enough */
				if (seq_ge(s->rcv_nxt + ut_rcv_space(s),
				           edge + min_u32(s->rcv_wnd / 2, 2u * s->rcv_mss)))
					s->ack_now = true;
			}
			ut_sock_output(s);
		}
	}
	ut_stack_reap(st);
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
			ut_send_rst(s);
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
	ut_link_release_tx_held(st);
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
	if (ut_listener_lookup(st, port))
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
	} else if (ut_listener_lookup(st, port)) {
		return -EADDRINUSE;
	}
	s = ut_sock_alloc(st, true);
	if (!s)
		return -ENOMEM;
	s->state = ST_LISTEN;
	s->lport = port;
	s->accept_cb = cb;
	s->arg = arg;
	s->owned = true;
	ut_sock_hash(s);
	*out = s;
	return 0;
}

static void sock_arp_resolved(struct utcp_sock *s, const uint8_t *mac)
{
	memcpy(s->rmac, mac, ETH_ALEN);
	s->arp_wait = false;
	if (s->state == ST_SYN_SENT) {
		ut_send_syn(s);
		ut_sock_kick_internal(s);
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
	} else if (ut_sock_lookup(st, ip, lport, port)) {
		return -EADDRINUSE;
	}
	s = ut_sock_alloc(st, false);
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
	ut_sock_hash(s);
	err = arp_resolve(st, s->nexthop, s->rmac);
	if (err == -EAGAIN) {
		s->arp_wait = true;
	} else if (err) {
		sock_unlink(s);
		sock_destroy(s);
		return err;
	} else {
		ut_send_syn(s);
	}
	ut_sock_kick_internal(s);
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
		ut_sock_kick_internal(s);
}

void utcp_sock_pause(struct utcp_sock *s, bool paused)
{
	if (s->paused == paused)
		return;
	s->paused = paused;
	if (!paused && s->state != ST_CLOSED)
		ut_sock_kick_internal(s);
}

int utcp_sock_shutdown(struct utcp_sock *s)
{
	switch (s->state) {
	case ST_SYN_SENT:
	case ST_SYN_RCVD:
	case ST_ESTABLISHED:
	case ST_CLOSE_WAIT:
		s->fin_queued = true;
		ut_sock_kick_internal(s);
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
			ut_send_rst(s);
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
			ut_send_rst(s);
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
			ut_send_rst(s);
		sock_unlink(s);
		if (s->st->tx_pending && s->st->ops->tx_flush) {
			s->st->tx_pending = false;
			s->st->ops->tx_flush(s->st->link);
		}
		ut_stack_reap(s->st);
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
	out->rcv_wnd = ut_rcv_space(s);
	out->srtt_us = s->srtt_us;
	out->rttvar_us = s->rttvar_us;
	out->rto_us = s->rto_us;
	out->mss = s->mss;
	out->snd_wscale = s->snd_wscale;
	out->rcv_wscale = s->rcv_wscale;
	out->retransmits = s->retransmits;
	out->state = state_names[s->state];
}
