/*
 * utcp_in.c: what the engine receives. Frames are checked length by length
 * (Ethernet, IPv4, TCP and its options) before use; then the TCP state
 * machine, ACK processing and congestion control, and the receive queue
 * that keeps segments out of order (or while the owner is paused) in the
 * frames they came in.
 */
#include "config.h"

#include "transport/utcp_int.h"

static void fin_reached(struct utcp_sock *s);

/* ---- receive queue ---- */

/* Keep [seq, seq+len) of frame f, trimmed against what is already kept.
 * Returns false when there is no room. */
static bool rq_insert(struct utcp_sock *s, struct utcp_frame *f, uint8_t *data, uint32_t seq,
                      uint32_t len)
{
	unsigned i = s->rq_n;

	/* find the first kept run that ends after seq, from the tail */
	while (i > 0 && seq_gt(ut_rq_at(s, i - 1)->seq + ut_rq_at(s, i - 1)->len, seq))
		i--;
	if (i < s->rq_n) {
		struct utcp_rseg *nx = ut_rq_at(s, i);

		if (seq_lt(nx->seq, seq) || nx->seq == seq) {
			/* overlaps the front of that run: keep what comes after */
			uint32_t end = nx->seq + nx->len;

			if (seq_ge(end, seq + len))
				return true;
			data += end - seq;
			len -= end - seq;
			seq = end;
			i++;
			if (i < s->rq_n && seq_gt(seq + len, ut_rq_at(s, i)->seq))
				len = ut_rq_at(s, i)->seq - seq;
		} else if (seq_gt(seq + len, nx->seq)) {
			len = nx->seq - seq;
		}
	}
	if (!len)
		return true;
	if (s->rq_n == s->rq_cap)
		return false;
	for (unsigned j = s->rq_n; j > i; j--)
		*ut_rq_at(s, j) = *ut_rq_at(s, j - 1);
	s->rq_n++;
	*ut_rq_at(s, i) = (struct utcp_rseg){.seq = seq, .len = len, .data = data, .f = f};
	utcp_frame_hold(f);
	/* the contiguous edge moves over what is now joined */
	for (; i < s->rq_n && ut_rq_at(s, i)->seq == s->rcv_nxt; i++)
		s->rcv_nxt += ut_rq_at(s, i)->len;
	return true;
}

/* Hand the owner what is in order, unless paused. */
void ut_rq_deliver(struct utcp_sock *s)
{
	while (s->rq_n && !s->paused && s->state != ST_CLOSED) {
		struct utcp_rseg r = *ut_rq_at(s, 0);

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
			ut_sock_kick_internal(s);
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
				ut_retransmit_first(s);
				ut_rtx_arm(s);
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
		ut_sb_trim(s);
		for (unsigned k = 0; k < g->nsack; k++)
			ut_sb_add(s, g->sack[k][0], g->sack[k][1]);
		if (s->snd_una == s->snd_max)
			s->t_rtx = 0;
		else if (!s->in_recovery || seq_ge(g->ack, s->recover))
			ut_rtx_arm(s);
		s->tlp_sent = false;
		ut_tlp_arm(s);
		s->tx_base += data;
		if (data && s->cbs.on_acked)
			s->cbs.on_acked(s, s->arg, data);
		if (s->state == ST_CLOSED)
			return;
		ut_sock_kick_internal(s);
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
				ut_sock_closed(s);
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
			ut_sb_add(s, g->sack[k][0], g->sack[k][1]);
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
			ut_sock_output(s);
			ut_rtx_arm(s);
		} else if (s->in_recovery && s->sb_n) {
			ut_sock_kick_internal(s);
		} else if (s->dupacks == 3 && !s->in_recovery && seq_gt(g->ack, s->recover)) {
			uint32_t flight = s->snd_max - s->snd_una;

			s->ssthresh = max_u32(flight / 2, 2u * s->mss);
			s->recover = s->snd_max;
			s->in_recovery = true;
			st->stats.fast_retransmits++;
			ut_retransmit_first(s);
			s->cwnd = s->ssthresh + 3u * s->mss;
			ut_rtx_arm(s);
		} else if (s->in_recovery) {
			s->cwnd += s->mss;
			ut_sock_kick_internal(s);
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
	uint32_t edge = s->rcv_nxt + ut_rcv_space(s);
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
			ut_rq_deliver(s);
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
		ut_rq_deliver(s);
		if (s->state == ST_CLOSED)
			return;
	} else if (fin && s->fin_rcvd && seq_gt(s->rcv_nxt, s->rcv_fin_seq)) {
		s->ack_now = true; /* a retransmitted FIN */
		if (s->state == ST_TIME_WAIT)
			s->t_tw = st->now + UTCP_TIME_WAIT_US;
	}
	if (s->ack_now || s->ack_owed)
		ut_sock_kick_internal(s);
}

static void passive_open(struct utcp_stack *st, struct utcp_sock *l, uint32_t rip, uint16_t rport,
                         const struct seg *g)
{
	struct utcp_sock *s;

	if (l->backlog >= UTCP_BACKLOG)
		return;
	s = ut_sock_alloc(st, false);
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
	ut_sock_hash(s);
	ut_send_syn(s);
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
				ut_send_rst_raw(st, s->rmac, s->rip, s->lport, s->rport, g->ack, 0,
				                TH_RST);
			return;
		}
		if (g->flags & TH_RST) {
			if (g->flags & TH_ACK)
				ut_sock_error(s, -ECONNREFUSED);
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
		ut_sock_kick_internal(s);
		if (s->cbs.on_connect)
			s->cbs.on_connect(s, s->arg);
		return;
	}

	/* RFC 793 3.9 "first check sequence number", Linux's looser form:
	 * anything not wholly old and not past the window */
	space = ut_rcv_space(s);
	if (seq_gt(g->seq, s->rcv_nxt + space) || seq_lt(g->seq + seg_len, s->rcv_nxt)) {
		if (!(g->flags & TH_RST)) {
			s->ack_now = true;
			ut_sock_kick_internal(s);
		}
		return;
	}
	if (g->flags & TH_RST) {
		if (s->state == ST_TIME_WAIT)
			ut_sock_closed(s);
		else
			ut_sock_error(s, -ECONNRESET);
		return;
	}
	if (g->flags & TH_SYN) {
		if (s->state == ST_SYN_RCVD && g->seq == s->irs) {
			ut_send_syn(s); /* our SYN-ACK was lost */
			return;
		}
		s->ack_now = true; /* RFC 5961 4: a challenge ACK */
		ut_sock_kick_internal(s);
		return;
	}
	if (!(g->flags & TH_ACK))
		return;
	if (s->state == ST_SYN_RCVD) {
		struct utcp_sock *l = s->listener;

		if (g->ack != s->iss + 1) {
			ut_send_rst_raw(st, s->rmac, s->rip, s->lport, s->rport, g->ack, 0, TH_RST);
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

	s = ut_sock_lookup(st, rip, dport, sport);
	if (s) {
		tcp_input_sock(s, f, &g);
		/* duplicate ACKs go one per segment, not one per batch, or the
		 * sender never counts three (RFC 5681 4.2) */
		if (s->ack_now && !s->dead && s->state != ST_CLOSED && !s->arp_wait)
			ut_send_ack(s);
		return;
	}
	if ((g.flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN) {
		struct utcp_sock *l = ut_listener_lookup(st, dport);

		if (l) {
			passive_open(st, l, rip, sport, &g);
			return;
		}
	}
	/* RFC 793 3.4: reset whatever reaches no connection */
	if (g.flags & TH_RST)
		return;
	if (g.flags & TH_ACK)
		ut_send_rst_raw(st, eth->src, rip, dport, sport, g.ack, 0, TH_RST);
	else
		ut_send_rst_raw(st, eth->src, rip, dport, sport, 0,
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
		ut_arp_input(st, f->data + sizeof(*eth), f->len - sizeof(*eth), eth->src);
		break;
	default:
		st->stats.rx_dropped++;
		break;
	}
}

void ut_rx_release_held(struct utcp_stack *st)
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
	ut_rx_release_held(st);
	ut_stack_reap(st);
}
