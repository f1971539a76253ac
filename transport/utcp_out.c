/*
 * utcp_out.c: what the engine sends. Segments built in the owner's frames
 * with the bytes tx_gather lends, the SACK scoreboard and what it lets go
 * in recovery, tail loss probes, RSTs for no socket, and the impair mode on
 * the way out.
 */
#include "config.h"

#include "transport/utcp_int.h"

/* ---- link output, with the impair mode ---- */

static void link_submit_raw(struct utcp_stack *st, uint8_t *buf, size_t len)
{
	st->ops->tx_submit(st->link, buf, len);
	st->stats.tx_frames++;
	st->stats.tx_bytes += len;
	st->tx_pending = true;
}

void ut_link_release_tx_held(struct utcp_stack *st)
{
	uint8_t *held = st->tx_held;

	if (!held)
		return;
	st->tx_held = NULL;
	link_submit_raw(st, held, st->tx_held_len);
}

void ut_link_submit(struct utcp_stack *st, uint8_t *buf, size_t len)
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
	ut_link_release_tx_held(st);
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

/* The TCP checksum of a segment of tcp_len bytes whose first th_len bytes
 * (header and options) are still to be summed; dsum is the sum of the rest,
 * the data, taken while it was copied in (csum_copy). */
static void tcp_csum_part(uint8_t *buf, size_t tcp_len, size_t th_len, uint64_t dsum)
{
	struct utcp_iph *ip = (struct utcp_iph *)(buf + sizeof(struct utcp_ethh));
	struct utcp_tcph *th = (struct utcp_tcph *)(ip + 1);
	uint64_t sum = csum_pseudo(ip->src, ip->dst, tcp_len);
	uint16_t c;

	memset(th->csum, 0, 2);
	sum += dsum;
	sum += sum < dsum;
	c = (uint16_t)~csum_fold(csum_add(sum, (const uint8_t *)th, th_len));
	memcpy(th->csum, &c, 2);
}

static void tcp_csum(uint8_t *buf, size_t tcp_len)
{
	tcp_csum_part(buf, tcp_len, tcp_len, 0);
}

/* A RST that belongs to no socket (RFC 793 3.4, "Reset Generation"). */
void ut_send_rst_raw(struct utcp_stack *st, const uint8_t *dmac, uint32_t dip, uint16_t sport,
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
	ut_link_submit(st, buf, HDRS_LEN);
}

/* The window we can offer: the owner's bytes not yet taken count against it. */
uint32_t ut_rcv_space(const struct utcp_sock *s)
{
	uint32_t edge = s->rcv_deliv + s->rcv_wnd;

	if (s->fin_rcvd && seq_ge(s->rcv_nxt, s->rcv_fin_seq))
		return 0;
	return seq_gt(edge, s->rcv_nxt) ? edge - s->rcv_nxt : 0;
}

static uint16_t rcv_win_field(struct utcp_sock *s, bool syn)
{
	uint32_t space = ut_rcv_space(s);
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

struct utcp_rseg *ut_rq_at(struct utcp_sock *s, unsigned i)
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
	    !seq_gt(ut_rq_at(s, s->rq_n - 1)->seq, s->rcv_nxt))
		return 0;
	/* the runs above rcv_nxt, highest first, and which holds sack_last */
	for (unsigned i = s->rq_n; i > 0 && nr < TCP_SACK_BLOCKS;) {
		struct utcp_rseg *r = ut_rq_at(s, i - 1);
		uint32_t start = r->seq, end = r->seq + r->len;

		if (seq_le(start, s->rcv_nxt))
			break;
		for (i--; i > 0; i--) {
			struct utcp_rseg *p = ut_rq_at(s, i - 1);

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
long ut_send_segment(struct utcp_sock *s, uint32_t seq, uint8_t flags, uint32_t want)
{
	struct utcp_stack *st = s->st;
	uint8_t opt[TCP_OPT_MAX];
	size_t optlen = build_options(s, flags, opt);
	size_t hdr = HDRS_LEN + optlen;
	uint8_t *buf;
	struct utcp_tcph *th;
	size_t dlen = 0;
	uint64_t dsum = 0;

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

				uint64_t part = csum_copy(0, buf + hdr + dlen,
				                          (const uint8_t *)iov[i].iov_base, c);

				/* the header is whole 32-bit words: data starts even */
				if (dlen & 1)
					part = csum_odd(part);
				dsum += part;
				dsum += dsum < part;
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
	tcp_csum_part(buf, hdr - ETH_IP_LEN + dlen, hdr - ETH_IP_LEN, dsum);
	if (flags & TH_ACK)
		ack_sent(s);
	ut_link_submit(st, buf, hdr + dlen);
	return (long)dlen;
}

void ut_send_ack(struct utcp_sock *s)
{
	ut_send_segment(s, s->snd_nxt, TH_ACK, 0);
}

void ut_send_rst(struct utcp_sock *s)
{
	ut_send_segment(s, s->snd_nxt, TH_RST | TH_ACK, 0);
}

void ut_rtx_arm(struct utcp_sock *s)
{
	s->t_rtx = s->st->now + s->rto_us;
	s->persist = false;
}

void ut_send_syn(struct utcp_sock *s)
{
	uint8_t flags = s->state == ST_SYN_RCVD ? TH_SYN | TH_ACK : TH_SYN;

	ut_send_segment(s, s->iss, flags, 0);
	s->snd_nxt = s->snd_max = s->iss + 1;
	if (!s->t_rtx)
		ut_rtx_arm(s);
}

bool ut_sends_data(const struct utcp_sock *s)
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

void ut_sb_trim(struct utcp_sock *s)
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

void ut_sb_add(struct utcp_sock *s, uint32_t start, uint32_t end)
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
void ut_tlp_arm(struct utcp_sock *s)
{
	uint64_t pto;

	s->t_tlp = 0;
	if (!s->srtt_us || s->in_recovery || s->persist || s->tlp_sent ||
	    s->snd_una == s->snd_max || !ut_sends_data(s))
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
void ut_sock_output(struct utcp_sock *s)
{
	struct utcp_stack *st = s->st;
	bool sent = false;

	if (s->arp_wait)
		return;
	while (ut_sends_data(s)) {
		bool sack_rec = s->in_recovery && s->sb_n;
		uint32_t out = s->snd_nxt - s->snd_una;
		uint32_t flight = sack_rec ? sack_pipe(s) : out;
		uint32_t want, room, seq;
		long n;

		if (sack_rec && flight < s->cwnd) {
			/* the next hole below the highest SACK goes first */
			seq = sb_skip(s, seq_max(s->rtx_nxt, s->snd_una), &room);
			if (seq_lt(seq, sb_high(s))) {
				n = ut_send_segment(s, seq, TH_ACK, min_u32(room, s->mss));
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
			if (ut_send_segment(s, s->snd_nxt, TH_FIN | TH_ACK, 0) < 0)
				break;
			s->snd_nxt++;
			if (seq_gt(s->snd_nxt, s->snd_max)) {
				s->snd_max = s->snd_nxt;
				fin_sent_state(s);
			}
			if (!s->t_rtx || s->persist)
				ut_rtx_arm(s);
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
		} else if (want + TCP_OPT_MAX < s->mss && out &&
		           has_data_at(s, s->snd_nxt + want)) {
			/* The windows, not the data, cut this segment short: a
			 * frame for a sliver costs as much as a full one. Wait
			 * for the ACK that is on its way (RFC 1122 4.2.3.4). */
			break;
		}
		n = ut_send_segment(s, s->snd_nxt, TH_ACK, want);
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
			ut_rtx_arm(s);
	}
	if (sent)
		ut_tlp_arm(s);
	if (s->ack_now || s->ack_owed >= 2u * s->rcv_mss ||
	    ((st->cfg.flags & UTCP_NO_DELACK) && s->ack_owed))
		ut_send_ack(s);
	else if (s->ack_owed && !s->t_dack)
		s->t_dack = st->now + UTCP_DELACK_US;
}

/* Retransmit the first unacknowledged segment (fast retransmit, partial
 * ACK in recovery). */
void ut_retransmit_first(struct utcp_sock *s)
{
	long n;

	if (s->fin_known && s->snd_una == s->fin_seq)
		n = ut_send_segment(s, s->snd_una, TH_FIN | TH_ACK, 0);
	else
		n = ut_send_segment(s, s->snd_una, TH_ACK, s->mss);
	if (n < 0)
		return;
	s->retransmits++;
	s->st->stats.retransmits++;
	s->rtt_timing = false; /* Karn */
}
