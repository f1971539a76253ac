/*
 * The userspace TCP engine (transport/utcp.c) with no kernel at all: two
 * stacks wired back to back in memory. Proves ARP between them, data both
 * ways through loss, duplication and reordering, zero windows and their
 * probes, RST on abort, and that malformed frames are counted and dropped
 * (every length from the wire is checked) without touching a socket.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "transport/utcp.h"

#define FRAME_MAX 1600
#define POOL      8192
#define IP_A      0x0a580001u /* 10.88.0.1 */
#define IP_B      0x0a580002u
#define PORT      3260

struct frame {
	struct utcp_frame f;
	struct frame *next;
	uint8_t buf[FRAME_MAX];
};

static struct frame pool[POOL];
static struct frame *pool_free;
static unsigned pool_used;

struct side {
	struct utcp_stack *st;
	struct side *peer;
	struct frame *q_head, *q_tail; /* frames on their way to this side */
	uint8_t txbuf[4][FRAME_MAX];
	bool txbusy[4];
	unsigned sent; /* frames this side sent */
	uint8_t last[FRAME_MAX];
	size_t last_len;
	uint8_t keep[16][FRAME_MAX]; /* recent frames, for the fuzz test */
	size_t keep_len[16];
};

static struct side A, B;
static bool fuzzing; /* forged segments carry forged bytes: no checks then */

static void frame_release(struct utcp_frame *f)
{
	struct frame *fr = f->owner;

	fr->next = pool_free;
	pool_free = fr;
	pool_used--;
}

static void pool_init(void)
{
	pool_free = NULL;
	pool_used = 0;
	for (unsigned i = 0; i < POOL; i++) {
		pool[i].f.owner = &pool[i];
		pool[i].next = pool_free;
		pool_free = &pool[i];
	}
}

static uint8_t *tx_alloc(void *link, size_t len)
{
	struct side *s = link;

	if (len > FRAME_MAX)
		return NULL;
	for (unsigned i = 0; i < 4; i++)
		if (!s->txbusy[i]) {
			s->txbusy[i] = true;
			return s->txbuf[i];
		}
	return NULL;
}

static void tx_abort(void *link, uint8_t *buf)
{
	struct side *s = link;

	for (unsigned i = 0; i < 4; i++)
		if (s->txbuf[i] == buf)
			s->txbusy[i] = false;
}

static void tx_submit(void *link, uint8_t *buf, size_t len)
{
	struct side *s = link;
	struct frame *fr = pool_free;

	memcpy(s->last, buf, len);
	s->last_len = len;
	memcpy(s->keep[s->sent % 16], buf, len);
	s->keep_len[s->sent % 16] = len;
	s->sent++;
	if (fr && s->peer) {
		pool_free = fr->next;
		pool_used++;
		memcpy(fr->buf, buf, len);
		fr->f = (struct utcp_frame){.data = fr->buf,
		                            .len = len,
		                            .refs = 1,
		                            .release = frame_release,
		                            .owner = fr};
		fr->next = NULL;
		if (s->peer->q_tail)
			s->peer->q_tail->next = fr;
		else
			s->peer->q_head = fr;
		s->peer->q_tail = fr;
	}
	tx_abort(link, buf);
}

static const struct utcp_link_ops ops = {
        .tx_alloc = tx_alloc,
        .tx_submit = tx_submit,
        .tx_abort = tx_abort,
};

static uint8_t retries;      /* utcp_cfg.rtx_retries for the next side_new */
static unsigned extra_flags; /* more utcp_cfg.flags for the next side_new */

static void side_new(struct side *s, struct side *peer, uint32_t ip, uint8_t mac_last,
                     const struct utcp_impair *imp)
{
	struct utcp_cfg cfg = {.ip = ip,
	                       .prefix = 24,
	                       .mtu = 1500,
	                       .flags = UTCP_ANSWER_ARP | extra_flags,
	                       .rtx_retries = retries};

	memset(s, 0, sizeof(*s));
	s->peer = peer;
	memcpy(cfg.mac, (uint8_t[6]){0x02, 0, 0, 0, 0, mac_last}, 6);
	if (imp)
		cfg.impair = *imp;
	assert_int_equal(utcp_stack_new(&cfg, &ops, s, &s->st), 0);
}

/* Deliver what is queued each way, run due timers, flush; one round. */
static void pump(void)
{
	struct side *sides[2] = {&A, &B};

	for (unsigned k = 0; k < 2; k++) {
		struct side *s = sides[k];
		struct frame *fr = s->q_head;

		s->q_head = s->q_tail = NULL;
		while (fr) {
			struct frame *next = fr->next;

			utcp_input(s->st, &fr->f);
			fr = next;
		}
		if (utcp_next_timer_us(s->st) <= utcp_now_us())
			utcp_timers(s->st, utcp_now_us());
		utcp_flush(s->st);
	}
}

/* ---- a stream endpoint: sends 'total' pattern bytes, checks what comes ---- */

struct ep {
	struct utcp_sock *s;
	size_t total, acked, rx, rx_total;
	unsigned char seed; /* the pattern this side sends */
	bool conn, fin, closed, paused;
	int err;
	uint8_t *src;
};

static uint8_t pat(unsigned char seed, size_t i)
{
	return (uint8_t)((i * 131 + (i >> 9) * 7 + seed) & 0xff);
}

static void ep_connect(struct utcp_sock *s, void *arg)
{
	struct ep *e = arg;

	e->conn = true;
	utcp_sock_kick(s);
}

static void ep_data(struct utcp_sock *s, void *arg, struct utcp_frame *f, uint8_t *data, size_t len)
{
	struct ep *e = arg;

	if (fuzzing)
		return;
	assert_true(e->rx + len <= e->rx_total);
	for (size_t i = 0; i < len; i++)
		if (data[i] != pat((unsigned char)(e->seed ^ 0xff), e->rx + i))
			fail_msg("byte %zu wrong", e->rx + i);
	e->rx += len;
}

static void ep_fin(struct utcp_sock *s, void *arg)
{
	((struct ep *)arg)->fin = true;
}

static void ep_error(struct utcp_sock *s, void *arg, int err)
{
	struct ep *e = arg;

	assert_int_equal(e->err, 0);
	e->err = err;
}

static void ep_acked(struct utcp_sock *s, void *arg, size_t n)
{
	struct ep *e = arg;

	e->acked += n;
	assert_true(e->acked <= e->total || fuzzing);
}

static unsigned ep_gather(struct utcp_sock *s, void *arg, size_t off, struct iovec *iov,
                          unsigned max, size_t *total)
{
	struct ep *e = arg;
	size_t pos = e->acked + off;

	*total = 0;
	if (pos >= e->total || !max)
		return 0;
	iov[0].iov_base = e->src + pos;
	iov[0].iov_len = e->total - pos;
	*total = iov[0].iov_len;
	return 1;
}

static void ep_closed(struct utcp_sock *s, void *arg)
{
	((struct ep *)arg)->closed = true;
}

static const struct utcp_sock_cbs ep_cbs = {
        .on_connect = ep_connect,
        .on_data = ep_data,
        .on_fin = ep_fin,
        .on_error = ep_error,
        .on_acked = ep_acked,
        .tx_gather = ep_gather,
        .on_closed = ep_closed,
};

static struct ep epA, epB;

static void on_accept(struct utcp_sock *l, struct utcp_sock *s, void *arg)
{
	epB.s = s;
	utcp_sock_set_cbs(s, &ep_cbs, &epB);
}

static void ep_init(struct ep *e, unsigned char seed, size_t total, size_t rx_total)
{
	memset(e, 0, sizeof(*e));
	e->seed = seed;
	e->total = total;
	e->rx_total = rx_total;
	e->src = malloc(total ? total : 1);
	assert_non_null(e->src);
	for (size_t i = 0; i < total; i++)
		e->src[i] = pat(seed, i);
}

typedef bool (*cond_fn)(void);

static bool pump_until(cond_fn done, unsigned ms)
{
	uint64_t end = utcp_now_us() + ms * 1000ull;

	while (!done()) {
		if (utcp_now_us() > end)
			return false;
		pump();
	}
	return true;
}

static bool both_connected(void)
{
	return epA.conn && epB.s && epB.conn;
}

static bool all_moved(void)
{
	return epA.acked == epA.total && epB.acked == epB.total && epA.rx == epA.rx_total &&
	       epB.rx == epB.rx_total;
}

static struct utcp_sock *listener;

static void open_pair(size_t a_to_b, size_t b_to_a)
{
	ep_init(&epA, 0x11, a_to_b, b_to_a);
	ep_init(&epB, 0xee, b_to_a, a_to_b);
	assert_int_equal(utcp_listen(B.st, PORT, on_accept, NULL, &listener), 0);
	assert_int_equal(utcp_connect(A.st, IP_B, PORT, 0, &ep_cbs, &epA, &epA.s), 0);
	assert_true(pump_until(both_connected, 5000));
}

static void close_all(void)
{
	if (epA.s) {
		utcp_sock_close(epA.s, true);
		utcp_sock_free(epA.s);
	}
	if (epB.s) {
		utcp_sock_close(epB.s, true);
		utcp_sock_free(epB.s);
	}
	if (listener) {
		utcp_sock_close(listener, false);
		utcp_sock_free(listener);
		listener = NULL;
	}
	pump();
	utcp_stack_free(A.st);
	utcp_stack_free(B.st);
	/* frames still queued toward a freed stack go back to the pool */
	for (struct side *s = &A; s; s = s == &A ? &B : NULL)
		for (struct frame *fr = s->q_head, *next; fr; fr = next) {
			next = fr->next;
			utcp_frame_put(&fr->f);
		}
	assert_int_equal(pool_used, 0);
	free(epA.src);
	free(epB.src);
}

static void test_transfer_impaired(void **state)
{
	struct utcp_impair imp = {
	        .drop_ppm = 20000, .dup_ppm = 10000, .reorder_ppm = 20000, .seed = 42};
	struct utcp_stack_stats sa, sb;

	pool_init();
	side_new(&A, &B, IP_A, 1, &imp);
	imp.seed = 43;
	side_new(&B, &A, IP_B, 2, &imp);
	open_pair(3 << 20, 2 << 20);
	assert_true(pump_until(all_moved, 30000));
	utcp_stack_get_stats(A.st, &sa);
	utcp_stack_get_stats(B.st, &sb);
	assert_true(sa.impair_dropped + sb.impair_dropped > 0);
	assert_true(sa.retransmits + sb.retransmits > 0);
	assert_true(sa.ooo_segments + sb.ooo_segments > 0);
	assert_true(sa.arp_requests >= 1 && sb.arp_replies >= 1);
	assert_int_equal(epA.err, 0);
	assert_int_equal(epB.err, 0);
	close_all();
}

static bool b_fin_a_closed(void)
{
	return epB.fin && epA.rx == epA.rx_total;
}

static bool both_closed(void)
{
	return epA.closed && epB.closed;
}

static void test_halfclose(void **state)
{
	pool_init();
	side_new(&A, &B, IP_A, 1, NULL);
	side_new(&B, &A, IP_B, 2, NULL);
	open_pair(100000, 50000);
	assert_int_equal(utcp_sock_shutdown(epA.s), 0);
	assert_true(pump_until(b_fin_a_closed, 5000));
	assert_false(epA.fin);
	assert_int_equal(epB.rx, 100000);
	assert_int_equal(utcp_sock_shutdown(epB.s), 0);
	/* A waits out TIME_WAIT (1 s) before on_closed */
	assert_true(pump_until(both_closed, 5000));
	assert_true(epA.fin);
	utcp_sock_free(epA.s);
	utcp_sock_free(epB.s);
	epA.s = epB.s = NULL;
	close_all();
}

static bool a_probed_b_full(void)
{
	struct utcp_stack_stats sa;
	struct utcp_sock_info si;

	utcp_stack_get_stats(A.st, &sa);
	utcp_sock_info(epB.s, &si);
	return sa.zero_window_probes >= 2 && si.rcv_wnd == 0;
}

static void test_zero_window(void **state)
{
	struct utcp_cfg cfg = {.ip = IP_B,
	                       .prefix = 24,
	                       .mtu = 1500,
	                       .flags = UTCP_ANSWER_ARP,
	                       .rcv_wnd = 64 << 10};

	pool_init();
	side_new(&A, &B, IP_A, 1, NULL);
	memset(&B, 0, sizeof(B));
	B.peer = &A;
	memcpy(cfg.mac, (uint8_t[6]){0x02, 0, 0, 0, 0, 2}, 6);
	assert_int_equal(utcp_stack_new(&cfg, &ops, &B, &B.st), 0);
	open_pair(1 << 20, 0);
	utcp_sock_pause(epB.s, true);
	assert_true(pump_until(a_probed_b_full, 5000));
	assert_true(epB.rx < epA.total);
	utcp_sock_pause(epB.s, false);
	assert_true(pump_until(all_moved, 10000));
	close_all();
}

static bool a_err(void)
{
	return epA.err != 0;
}

static void test_reset(void **state)
{
	pool_init();
	side_new(&A, &B, IP_A, 1, NULL);
	side_new(&B, &A, IP_B, 2, NULL);
	open_pair(0, 0);
	utcp_sock_close(epB.s, true);
	utcp_sock_free(epB.s);
	epB.s = NULL;
	assert_true(pump_until(a_err, 2000));
	assert_int_equal(epA.err, -ECONNRESET);
	assert_false(epA.closed);
	close_all();
}

/* The peer vanishes with data outstanding: RTOs back off (200, 400,
 * 800 ms) and the connection fails with -ETIMEDOUT after rtx_retries. */
static void test_timeout(void **state)
{
	struct utcp_stack_stats sa;
	struct utcp_sock_info si;
	uint64_t t0;

	pool_init();
	retries = 2;
	side_new(&A, &B, IP_A, 1, NULL);
	side_new(&B, &A, IP_B, 2, NULL);
	retries = 0;
	/* half the bytes now, for RTT samples; the rest once the link is dead */
	ep_init(&epA, 0x11, 200000, 0);
	ep_init(&epB, 0xee, 0, 100000);
	epA.total = 100000;
	assert_int_equal(utcp_listen(B.st, PORT, on_accept, NULL, &listener), 0);
	assert_int_equal(utcp_connect(A.st, IP_B, PORT, 0, &ep_cbs, &epA, &epA.s), 0);
	assert_true(pump_until(both_connected, 5000));
	assert_true(pump_until(all_moved, 5000));
	utcp_sock_info(epA.s, &si);
	assert_true(si.srtt_us > 0);
	assert_int_equal(si.rto_us, 200000);
	A.peer = B.peer = NULL; /* the link goes dead */
	epA.total = 200000;
	utcp_sock_kick(epA.s);
	t0 = utcp_now_us();
	assert_true(pump_until(a_err, 10000));
	assert_int_equal(epA.err, -ETIMEDOUT);
	/* two timeouts, 200 + 400 ms, then the third gives up (800 ms on) */
	assert_true(utcp_now_us() - t0 >= 1300000);
	utcp_stack_get_stats(A.st, &sa);
	assert_int_equal(sa.rto_fired, 2);
	close_all();
}

static bool a_all_acked(void)
{
	return epA.acked == epA.total;
}

/* How long a lone 100-byte segment waits for its ACK: the delayed-ACK
 * timer (40 ms), or nothing with UTCP_NO_DELACK on the receiver. */
static uint64_t lone_segment_ack_us(unsigned b_flags)
{
	uint64_t t0, t;

	pool_init();
	side_new(&A, &B, IP_A, 1, NULL);
	extra_flags = b_flags;
	side_new(&B, &A, IP_B, 2, NULL);
	extra_flags = 0;
	ep_init(&epA, 0x11, 100, 0);
	ep_init(&epB, 0xee, 0, 100);
	epA.total = 0;
	assert_int_equal(utcp_listen(B.st, PORT, on_accept, NULL, &listener), 0);
	assert_int_equal(utcp_connect(A.st, IP_B, PORT, 0, &ep_cbs, &epA, &epA.s), 0);
	assert_true(pump_until(both_connected, 5000));
	pump();
	epA.total = 100;
	utcp_sock_kick(epA.s);
	t0 = utcp_now_us();
	assert_true(pump_until(a_all_acked, 2000));
	t = utcp_now_us() - t0;
	assert_int_equal(epB.rx, 100);
	close_all();
	return t;
}

static void test_delayed_ack(void **state)
{
	uint64_t delayed = lone_segment_ack_us(0);
	uint64_t at_once = lone_segment_ack_us(UTCP_NO_DELACK);

	assert_true(delayed >= 35000);
	assert_true(at_once < 30000);
}

/* ---- malformed input ---- */

static size_t valid_syn(uint8_t *p)
{
	static const uint8_t syn[] = {/* ethernet: to A from B, IPv4 */
	                              0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00,
	                              /* IPv4: 20 bytes header, total 44, DF, TTL 64, TCP, checksum
	                               * filled below, 10.88.0.2 -> 10.88.0.1 */
	                              0x45, 0, 0, 44, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 88, 0, 2, 10,
	                              88, 0, 1,
	                              /* TCP: 40000 -> 4000 (closed), seq 1000, SYN, data offset 6,
	                               * one MSS option */
	                              0x9c, 0x40, 0x0f, 0xa0, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x60,
	                              0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4};
	memcpy(p, syn, sizeof(syn));
	return sizeof(syn);
}

static uint16_t csum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Fill in the IP and TCP checksums of a frame built by hand. */
static void fix_csums(uint8_t *p, size_t tcp_len)
{
	uint8_t *ip = p + 14, *tcp = p + 34;
	uint32_t ph = 0;
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = csum(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	for (unsigned i = 12; i < 20; i += 2)
		ph += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	ph += 6 + (uint32_t)tcp_len;
	tcp[16] = tcp[17] = 0;
	c = csum(tcp, tcp_len, ph);
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
}

static uint64_t feed(uint8_t *p, size_t len)
{
	struct utcp_stack_stats before, after;
	struct frame *fr = pool_free;

	utcp_stack_get_stats(A.st, &before);
	pool_free = fr->next;
	pool_used++;
	memcpy(fr->buf, p, len);
	fr->f = (struct utcp_frame){
	        .data = fr->buf, .len = len, .refs = 1, .release = frame_release, .owner = fr};
	utcp_input(A.st, &fr->f);
	assert_int_equal(pool_used, 0); /* nothing was kept */
	utcp_stack_get_stats(A.st, &after);
	return after.rx_dropped - before.rx_dropped;
}

static void test_malformed(void **state)
{
	uint8_t p[128];
	size_t n;
	unsigned sent;

	pool_init();
	side_new(&A, NULL, IP_A, 1, NULL);

	/* the valid SYN to a closed port is answered with RST|ACK, ack 1001 */
	n = valid_syn(p);
	fix_csums(p, 24);
	sent = A.sent;
	assert_int_equal(feed(p, n), 0);
	assert_int_equal(A.sent, sent + 1);
	assert_int_equal(A.last[47], 0x14);                                /* RST|ACK */
	assert_memory_equal(A.last + 42, ((uint8_t[]){0, 0, 3, 0xe9}), 4); /* ack 1001 */

	/* shorter than an Ethernet header */
	assert_int_equal(feed(p, 10), 1);
	/* cut inside the IP header */
	assert_int_equal(feed(p, 14 + 12), 1);
	/* IHL below 5 */
	n = valid_syn(p);
	p[14] = 0x44;
	fix_csums(p, 24);
	assert_int_equal(feed(p, n), 1);
	/* IHL past the frame */
	n = valid_syn(p);
	p[14] = 0x4f;
	assert_int_equal(feed(p, n), 1);
	/* total length past the frame */
	n = valid_syn(p);
	p[17] = 200;
	fix_csums(p, 24);
	assert_int_equal(feed(p, n), 1);
	/* total length shorter than the IP header */
	n = valid_syn(p);
	p[17] = 16;
	assert_int_equal(feed(p, n), 1);
	/* a fragment (MF) and a later fragment (offset) */
	n = valid_syn(p);
	p[20] = 0x20;
	fix_csums(p, 24);
	assert_int_equal(feed(p, n), 1);
	n = valid_syn(p);
	p[21] = 0x10;
	fix_csums(p, 24);
	assert_int_equal(feed(p, n), 1);
	/* a bad IP checksum */
	n = valid_syn(p);
	fix_csums(p, 24);
	p[24] ^= 0x55;
	assert_int_equal(feed(p, n), 1);
	/* TCP data offset below 5, and past the segment */
	n = valid_syn(p);
	p[46] = 0x40;
	fix_csums(p, 24);
	assert_int_equal(feed(p, n), 1);
	n = valid_syn(p);
	p[46] = 0xf0;
	fix_csums(p, 24);
	assert_int_equal(feed(p, n), 1);
	/* an option whose length is 0, and one running past the header */
	n = valid_syn(p);
	p[55] = 0;
	fix_csums(p, 24);
	assert_int_equal(feed(p, n), 1);
	n = valid_syn(p);
	p[55] = 9;
	fix_csums(p, 24);
	assert_int_equal(feed(p, n), 1);
	/* a bad TCP checksum */
	n = valid_syn(p);
	fix_csums(p, 24);
	p[57] ^= 1;
	assert_int_equal(feed(p, n), 1);
	/* not for our address */
	n = valid_syn(p);
	p[33] = 9;
	fix_csums(p, 24);
	assert_int_equal(feed(p, n), 1);
	/* a truncated ARP packet */
	n = valid_syn(p);
	p[12] = 0x08;
	p[13] = 0x06;
	assert_int_equal(feed(p, 14 + 20), 1);
	assert_int_equal(A.sent, sent + 1);

	utcp_stack_free(A.st);
	assert_int_equal(pool_used, 0);
}

/* Checksums right again after a mutation, when the headers still allow. */
static void fix_any(uint8_t *p, size_t len)
{
	size_t ihl, tot;

	if (len < 34 || p[12] != 0x08 || p[13] != 0x00)
		return;
	ihl = (size_t)(p[14] & 0xf) * 4;
	tot = (size_t)(p[16] << 8 | p[17]);
	if (ihl != 20 || tot < ihl + 20 || 14 + tot > len || p[23] != 6)
		return;
	fix_csums(p, tot - ihl);
}

/* Random damage to real frames of a live connection, half of it with
 * checksums made right so it reaches the TCP state machine: nothing may
 * crash, read out of bounds (ASan) or keep a frame for ever. */
static void test_fuzz_frames(void **state)
{
	uint64_t rng = 0x243f6a8885a308d3ull;
	struct utcp_stack_stats sb;

	pool_init();
	side_new(&A, &B, IP_A, 1, NULL);
	side_new(&B, &A, IP_B, 2, NULL);
	open_pair(1 << 20, 1 << 20);
	fuzzing = true;
	for (unsigned i = 0; i < 20000; i++) {
		uint8_t p[FRAME_MAX];
		unsigned k = (unsigned)(i % 16), flips;
		size_t len = A.keep_len[k];
		struct frame *fr;

		if (i % 64 == 0)
			pump(); /* let the transfer go on and refresh the frames */
		if (len < 14)
			continue;
		memcpy(p, A.keep[k], len);
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		flips = 1 + (unsigned)(rng >> 60) % 4;
		for (unsigned f = 0; f < flips; f++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			p[(rng >> 33) % len] ^= (uint8_t)(1u << ((rng >> 20) % 8));
		}
		if (rng & (1ull << 10))
			len -= (size_t)((rng >> 40) % len); /* cut short, too */
		if (rng & (1ull << 11))
			fix_any(p, len);
		fr = pool_free;
		assert_non_null(fr);
		pool_free = fr->next;
		pool_used++;
		memcpy(fr->buf, p, len);
		fr->f = (struct utcp_frame){.data = fr->buf,
		                            .len = len,
		                            .refs = 1,
		                            .release = frame_release,
		                            .owner = fr};
		utcp_input(B.st, &fr->f);
	}
	utcp_stack_get_stats(B.st, &sb);
	assert_true(sb.rx_dropped > 1000);
	close_all();
	fuzzing = false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_malformed), cmocka_unit_test(test_transfer_impaired),
	        cmocka_unit_test(test_halfclose), cmocka_unit_test(test_zero_window),
	        cmocka_unit_test(test_reset),     cmocka_unit_test(test_fuzz_frames),
	        cmocka_unit_test(test_timeout),   cmocka_unit_test(test_delayed_ack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
