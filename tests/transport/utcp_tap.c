/*
 * utcp_tap: the userspace TCP engine (transport/utcp.c) on a Linux TAP
 * device, against the kernel's own TCP in the same network namespace.
 *
 *   utcp_tap [options] TEST...
 *
 * Run it inside a namespace (the utcp-*.sh scripts make one) where a TAP
 * device exists (-t NAME, default h1tap0) with the kernel's address on it
 * (-k, default 10.77.0.1/24); the engine takes -e (default 10.77.0.2) and
 * answers ARP for it. Every byte either way is a deterministic pattern and
 * is verified on arrival. Exit 0 pass, 1 fail, 77 skip.
 *
 * Tests: connect, accept, bulk, halfclose, reset, refused, unreach, loss;
 * tx and rx move -b bytes one way only, for measuring.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/utcp.h"

#define PAT_LEN     65521u /* prime, so the pattern never lines up with segments */
#define PAT_SPAN    65536u /* contiguous bytes readable from any pattern offset */
#define RX_FRAMES   8192   /* covers a 4 MiB window of held frames at MTU 1500 */
#define TX_FRAMES   512
#define FRAME_SIZE  9216
#define MAX_FLOWS   8
#define RX_BATCH    256
#define KBUF        (256u << 10)
#define PORT_ENGINE 5001
#define PORT_KERNEL 5002

static uint8_t pat[PAT_LEN + PAT_SPAN];

static const uint8_t *pat_at(uint64_t pos, unsigned dir)
{
	return pat + (pos + dir * 7919u) % PAT_LEN;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	exit(1);
}

/* ---- the TAP link ---- */

struct rxf {
	struct utcp_frame f;
	struct rxf *next;
	uint8_t buf[FRAME_SIZE];
};

struct txf {
	struct txf *next;
	uint8_t buf[FRAME_SIZE];
};

struct tap {
	int fd;
	struct rxf *rx_free;
	unsigned rx_free_n;
	struct txf *tx_free;
	struct rxf *rx_all;
	struct txf *tx_all;
	uint64_t write_fail;
};

static struct tap tap;
static FILE *trace; /* UTCP_TRACE=FILE: one line per TCP frame either way */

static void trace_frame(const char *dir, const uint8_t *p, size_t len)
{
	size_t ihl;

	if (!trace || len < 14 + 20 || p[12] != 0x08 || p[13] != 0x00)
		return;
	ihl = (size_t)(p[14] & 0xf) * 4;
	if (p[14 + 9] != 6 || len < 14 + ihl + 20)
		return;
	p += 14;
	{
		const uint8_t *t = p + ihl;
		size_t tot = (size_t)(p[2] << 8 | p[3]);
		size_t doff = (size_t)(t[12] >> 4) * 4;
		uint32_t seq =
		        (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
		uint32_t ack =
		        (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11];

		fprintf(trace, "%" PRIu64 " %s seq %u ack %u flags %02x len %zu win %u",
		        utcp_now_us(), dir, seq, ack, t[13], tot - ihl - doff,
		        (unsigned)(t[14] << 8 | t[15]));
		for (size_t o = 20; o + 1 < doff && 14 + ihl + doff <= len;) {
			if (t[o] <= 1) {
				o++;
				continue;
			}
			if (t[o] == 5)
				for (size_t b = o + 2; b + 8 <= o + t[o + 1]; b += 8)
					fprintf(trace, " sack %u-%u",
					        (uint32_t)t[b] << 24 | (uint32_t)t[b + 1] << 16 |
					                (uint32_t)t[b + 2] << 8 | t[b + 3],
					        (uint32_t)t[b + 4] << 24 |
					                (uint32_t)t[b + 5] << 16 |
					                (uint32_t)t[b + 6] << 8 | t[b + 7]);
			if (t[o + 1] < 2)
				break;
			o += t[o + 1];
		}
		fprintf(trace, "\n");
	}
}

static void rx_release(struct utcp_frame *f)
{
	struct rxf *r = f->owner;

	r->next = tap.rx_free;
	tap.rx_free = r;
	tap.rx_free_n++;
}

static uint8_t *tx_alloc(void *link, size_t len)
{
	struct txf *t = tap.tx_free;

	if (!t || len > FRAME_SIZE)
		return NULL;
	tap.tx_free = t->next;
	return t->buf;
}

static struct txf *txf_of(uint8_t *buf)
{
	return (struct txf *)(buf - offsetof(struct txf, buf));
}

static void tx_abort(void *link, uint8_t *buf)
{
	struct txf *t = txf_of(buf);

	t->next = tap.tx_free;
	tap.tx_free = t;
}

static void tx_submit(void *link, uint8_t *buf, size_t len)
{
	trace_frame("out", buf, len);
	if (write(tap.fd, buf, len) != (ssize_t)len)
		tap.write_fail++;
	tx_abort(link, buf);
}

static const struct utcp_link_ops tap_ops = {
        .tx_alloc = tx_alloc,
        .tx_submit = tx_submit,
        .tx_abort = tx_abort,
};

static int tap_open(const char *name)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	tap.fd = fd;
	tap.rx_all = calloc(RX_FRAMES, sizeof(struct rxf));
	tap.tx_all = calloc(TX_FRAMES, sizeof(struct txf));
	if (!tap.rx_all || !tap.tx_all)
		die("out of memory for frames");
	for (unsigned i = 0; i < RX_FRAMES; i++) {
		tap.rx_all[i].f.owner = &tap.rx_all[i];
		rx_release(&tap.rx_all[i].f);
	}
	for (unsigned i = 0; i < TX_FRAMES; i++)
		tx_abort(NULL, tap.tx_all[i].buf);
	return 0;
}

/* ---- flows: one engine socket and its kernel peer ---- */

struct flow {
	struct utcp_sock *s;
	int kfd;
	uint16_t kport; /* the kernel socket's local port, to pair accepts */
	/* engine -> kernel */
	uint64_t e_total, e_acked, k_rx;
	uint64_t e_told; /* e_total when the engine was last kicked */
	bool e_shut_at_end, e_shut_done;
	/* kernel -> engine */
	uint64_t k_total, k_tx, e_rx;
	bool k_shut_at_end, k_shut_done;
	bool k_wait_eof; /* the kernel sends only after the engine's FIN */
	bool e_wait_fin; /* the engine sends (and shuts down) only after on_fin */
	uint64_t e_fin_at, e_closed_at;
	/* what happened */
	bool e_conn, e_fin, e_closed, k_eof;
	int e_err, k_err;
	/* behaviours */
	uint64_t e_pause_every, e_pause_us, e_next_pause, e_resume_at;
	uint64_t k_pause_every, k_pause_us, k_next_pause, k_resume_at;
	struct utcp_frame *held; /* a frame kept past on_data, checked later */
	const uint8_t *held_data;
	size_t held_len;
	uint64_t held_pos;
};

static struct utcp_stack *st;
static struct flow flows[MAX_FLOWS];
static unsigned nflows;
static uint32_t k_ip, e_ip;
static uint64_t bytes_opt = 64ull << 20;
static bool verbose;

/* -v: once a second, where each flow stands */
static void progress(uint64_t now)
{
	static uint64_t next;

	if (!verbose || now < next)
		return;
	next = now + 1000000;
	for (unsigned i = 0; i < nflows; i++) {
		struct flow *fl = &flows[i];
		struct utcp_sock_info si;
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		if (!fl->s)
			continue;
		utcp_sock_info(fl->s, &si);
		memset(&ti, 0, sizeof(ti));
		if (fl->kfd >= 0)
			getsockopt(fl->kfd, IPPROTO_TCP, TCP_INFO, &ti, &tl);
		fprintf(stderr,
		        "flow %u: e->k %" PRIu64 "/%" PRIu64 " k->e %" PRIu64 "/%" PRIu64
		        " | %s una %u nxt %u wnd %u cwnd %u ssth %u rto %u rcv_nxt %u rwnd %u"
		        " | kernel rto %u cwnd %u ssth %u retrans %u lost %u\n",
		        i, fl->k_rx, fl->e_total, fl->e_rx, fl->k_total, si.state, si.snd_una,
		        si.snd_nxt, si.snd_wnd, si.cwnd, si.ssthresh, si.rto_us, si.rcv_nxt,
		        si.rcv_wnd, ti.tcpi_rto, ti.tcpi_snd_cwnd, ti.tcpi_snd_ssthresh,
		        ti.tcpi_total_retrans, ti.tcpi_lost);
	}
}

static void check_held(struct flow *fl)
{
	if (!fl->held)
		return;
	if (memcmp(fl->held_data, pat_at(fl->held_pos, 1), fl->held_len))
		die("a held frame changed before it was released (offset %" PRIu64 ")",
		    fl->held_pos);
	utcp_frame_put(fl->held);
	fl->held = NULL;
}

static void on_connect(struct utcp_sock *s, void *arg)
{
	struct flow *fl = arg;

	fl->e_conn = true;
	utcp_sock_kick(s);
}

static void on_data(struct utcp_sock *s, void *arg, struct utcp_frame *f, uint8_t *data, size_t len)
{
	struct flow *fl = arg;

	if (fl->e_rx + len > fl->k_total)
		die("engine got %zu bytes past the %" PRIu64 " sent", len, fl->k_total);
	for (size_t done = 0; done < len;) {
		size_t c = len - done < PAT_SPAN ? len - done : PAT_SPAN;

		if (memcmp(data + done, pat_at(fl->e_rx + done, 1), c))
			die("engine received wrong bytes at offset %" PRIu64, fl->e_rx + done);
		done += c;
	}
	/* keep every 64th frame until the next one, as a PDU parser would */
	if ((fl->e_rx / 1000) % 64 == 0 && !fl->held && len <= PAT_SPAN) {
		utcp_frame_hold(f);
		fl->held = f;
		fl->held_data = data;
		fl->held_len = len;
		fl->held_pos = fl->e_rx;
	} else {
		check_held(fl);
	}
	fl->e_rx += len;
	if (fl->e_pause_every && fl->e_rx >= fl->e_next_pause) {
		fl->e_next_pause += fl->e_pause_every;
		fl->e_resume_at = utcp_now_us() + fl->e_pause_us;
		utcp_sock_pause(s, true);
	}
}

static void on_fin(struct utcp_sock *s, void *arg)
{
	struct flow *fl = arg;

	if (fl->e_fin)
		die("on_fin twice");
	fl->e_fin = true;
	fl->e_fin_at = utcp_now_us();
}

static void on_error(struct utcp_sock *s, void *arg, int err)
{
	struct flow *fl = arg;

	if (fl->e_err)
		die("on_error twice");
	fl->e_err = err;
}

static void on_acked(struct utcp_sock *s, void *arg, size_t n)
{
	struct flow *fl = arg;

	fl->e_acked += n;
	if (fl->e_acked > fl->e_total)
		die("acked %" PRIu64 " of %" PRIu64, fl->e_acked, fl->e_total);
}

static unsigned tx_gather(struct utcp_sock *s, void *arg, size_t off, struct iovec *iov,
                          unsigned max, size_t *total)
{
	struct flow *fl = arg;
	uint64_t pos = fl->e_acked + off;
	uint64_t end = fl->e_wait_fin && !fl->e_fin ? 0 : fl->e_total;
	unsigned n = 0;

	*total = 0;
	while (n < max && pos < end) {
		uint64_t left = end - pos;
		size_t c = left < PAT_SPAN ? (size_t)left : PAT_SPAN;

		iov[n].iov_base = (void *)pat_at(pos, 0);
		iov[n].iov_len = c;
		*total += c;
		pos += c;
		n++;
	}
	return n;
}

static void on_closed(struct utcp_sock *s, void *arg)
{
	struct flow *fl = arg;

	if (fl->e_closed)
		die("on_closed twice");
	fl->e_closed = true;
	fl->e_closed_at = utcp_now_us();
}

static const struct utcp_sock_cbs cbs = {
        .on_connect = on_connect,
        .on_data = on_data,
        .on_fin = on_fin,
        .on_error = on_error,
        .on_acked = on_acked,
        .tx_gather = tx_gather,
        .on_closed = on_closed,
};

static void on_accept(struct utcp_sock *l, struct utcp_sock *s, void *arg)
{
	uint16_t port;

	utcp_sock_peer(s, NULL, &port);
	for (unsigned i = 0; i < nflows; i++)
		if (flows[i].kport == port && !flows[i].s) {
			flows[i].s = s;
			utcp_sock_set_cbs(s, &cbs, &flows[i]);
			return;
		}
	die("accepted a connection from port %u that no flow made", port);
}

/* ---- the kernel side ---- */

static int k_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	return fd;
}

static struct sockaddr_in sin_of(uint32_t ip, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};

	a.sin_addr.s_addr = htonl(ip);
	a.sin_port = htons(port);
	return a;
}

static void k_io(struct flow *fl, uint64_t now)
{
	static uint8_t buf[KBUF];

	if (fl->kfd < 0 || fl->k_err)
		return;
	while (fl->k_tx < fl->k_total && (!fl->k_wait_eof || fl->k_eof)) {
		uint64_t left = fl->k_total - fl->k_tx;
		size_t c = left < PAT_SPAN ? (size_t)left : PAT_SPAN;
		ssize_t n = send(fl->kfd, pat_at(fl->k_tx, 1), c, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN && errno != ENOTCONN)
				fl->k_err = -errno;
			break;
		}
		fl->k_tx += (uint64_t)n;
	}
	if (fl->k_tx == fl->k_total && fl->k_shut_at_end && !fl->k_shut_done) {
		if (shutdown(fl->kfd, SHUT_WR) == 0)
			fl->k_shut_done = true;
	}
	if (fl->k_pause_every && fl->k_rx >= fl->k_next_pause && !fl->k_resume_at) {
		fl->k_next_pause += fl->k_pause_every;
		fl->k_resume_at = now + fl->k_pause_us;
	}
	if (fl->k_resume_at) {
		if (now < fl->k_resume_at)
			return;
		fl->k_resume_at = 0;
	}
	while (!fl->k_eof) {
		ssize_t n = recv(fl->kfd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno != EAGAIN && errno != ENOTCONN)
				fl->k_err = -errno;
			break;
		}
		if (n == 0) {
			fl->k_eof = true;
			break;
		}
		if (fl->k_rx + (uint64_t)n > fl->e_total)
			die("kernel got %zd bytes past the %" PRIu64 " sent", n, fl->e_total);
		for (size_t done = 0; done < (size_t)n;) {
			size_t c = (size_t)n - done < PAT_SPAN ? (size_t)n - done : PAT_SPAN;

			if (memcmp(buf + done, pat_at(fl->k_rx + done, 0), c))
				die("kernel received wrong bytes at offset %" PRIu64,
				    fl->k_rx + done);
			done += c;
		}
		fl->k_rx += (uint64_t)n;
		if (fl->k_pause_every && fl->k_rx >= fl->k_next_pause)
			break;
	}
}

/* ---- the loop ---- */

static void engine_io(struct flow *fl, uint64_t now)
{
	if (!fl->s || fl->e_err || fl->e_closed)
		return;
	if (fl->e_resume_at && now >= fl->e_resume_at) {
		fl->e_resume_at = 0;
		utcp_sock_pause(fl->s, false);
	}
	if (fl->e_wait_fin && !fl->e_fin)
		return;
	if (fl->e_conn && fl->e_told != fl->e_total) {
		/* more to send: the owner says so, as xt_conn would */
		fl->e_told = fl->e_total;
		utcp_sock_kick(fl->s);
	}
	if (fl->e_shut_at_end && !fl->e_shut_done && fl->e_conn) {
		if (utcp_sock_shutdown(fl->s))
			die("shutdown failed");
		fl->e_shut_done = true;
	}
}

typedef bool (*done_fn)(void);

static bool run_until(done_fn done, unsigned timeout_s)
{
	uint64_t end = utcp_now_us() + (uint64_t)timeout_s * 1000000;

	for (;;) {
		struct pollfd pfd[1 + MAX_FLOWS];
		uint64_t now = utcp_now_us(), t = utcp_next_timer_us(st);
		int wait_ms = 10;
		unsigned np = 1;

		if (done())
			return true;
		if (now > end)
			return false;
		if (t <= now)
			wait_ms = 0;
		else if (t - now < 10000)
			wait_ms = (int)((t - now + 999) / 1000);
		pfd[0] = (struct pollfd){.fd = tap.fd, .events = tap.rx_free ? POLLIN : 0};
		for (unsigned i = 0; i < nflows; i++) {
			struct flow *fl = &flows[i];
			short ev = POLLIN;

			if (fl->kfd < 0)
				continue;
			if (fl->k_tx < fl->k_total)
				ev |= POLLOUT;
			if (fl->k_resume_at)
				ev &= (short)~POLLIN;
			pfd[np++] = (struct pollfd){.fd = fl->kfd, .events = ev};
		}
		for (unsigned i = 0; i < nflows; i++)
			if (flows[i].e_resume_at || flows[i].k_resume_at)
				wait_ms = wait_ms > 1 ? 1 : wait_ms;
		if (poll(pfd, np, wait_ms) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (unsigned b = 0; b < RX_BATCH && tap.rx_free; b++) {
			struct rxf *r = tap.rx_free;
			ssize_t n = read(tap.fd, r->buf, sizeof(r->buf));

			if (n <= 0)
				break;
			tap.rx_free = r->next;
			tap.rx_free_n--;
			trace_frame("in", r->buf, (size_t)n);
			r->f = (struct utcp_frame){.data = r->buf,
			                           .len = (size_t)n,
			                           .refs = 1,
			                           .release = rx_release,
			                           .owner = r};
			utcp_input(st, &r->f);
		}
		now = utcp_now_us();
		if (utcp_next_timer_us(st) <= now)
			utcp_timers(st, now);
		for (unsigned i = 0; i < nflows; i++) {
			engine_io(&flows[i], now);
			k_io(&flows[i], now);
		}
		utcp_flush(st);
		progress(now);
	}
}

/* ---- tests ---- */

static struct flow *flow_new(void)
{
	struct flow *fl;

	if (nflows == MAX_FLOWS)
		die("too many flows");
	fl = &flows[nflows++];
	memset(fl, 0, sizeof(*fl));
	fl->kfd = -1;
	return fl;
}

static void flows_free(void)
{
	for (unsigned i = 0; i < nflows; i++) {
		struct flow *fl = &flows[i];

		check_held(fl);
		if (fl->s) {
			if (!fl->e_err && !fl->e_closed)
				utcp_sock_close(fl->s, true);
			utcp_sock_free(fl->s);
		}
		if (fl->kfd >= 0)
			close(fl->kfd);
	}
	nflows = 0;
}

static int k_listen(uint16_t port)
{
	int fd = k_socket(), one = 1;
	struct sockaddr_in a = sin_of(k_ip, port);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16))
		die("kernel listen on %u: %s", port, strerror(errno));
	return fd;
}

static struct flow *cur;

static int lfd_pending = -1;

static bool accepted_kernel(void)
{
	if (cur->kfd < 0) {
		int fd = accept4(lfd_pending, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0)
			cur->kfd = fd;
	}
	return cur->e_conn && cur->kfd >= 0;
}

/* The engine connects to a kernel listener. */
static struct flow *open_active(void)
{
	struct flow *fl = flow_new();
	int err;

	lfd_pending = k_listen(PORT_KERNEL);
	err = utcp_connect(st, k_ip, PORT_KERNEL, 0, &cbs, fl, &fl->s);
	if (err)
		die("utcp_connect: %s", strerror(-err));
	cur = fl;
	if (!run_until(accepted_kernel, 10))
		die("active open did not complete (engine %d, kernel fd %d, err %d)", fl->e_conn,
		    fl->kfd, fl->e_err);
	close(lfd_pending);
	lfd_pending = -1;
	return fl;
}

static bool k_connected(void)
{
	struct pollfd p = {.fd = cur->kfd, .events = POLLOUT};
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!cur->e_conn || poll(&p, 1, 0) != 1)
		return false;
	getsockopt(cur->kfd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr)
		die("kernel connect: %s", strerror(soerr));
	return true;
}

/* The kernel connects to the engine's listener. */
static struct flow *open_passive(struct utcp_sock *l)
{
	struct flow *fl = flow_new();
	struct sockaddr_in a = sin_of(e_ip, PORT_ENGINE), me;
	socklen_t ml = sizeof(me);

	fl->kfd = k_socket();
	if (connect(fl->kfd, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS)
		die("kernel connect: %s", strerror(errno));
	getsockname(fl->kfd, (struct sockaddr *)&me, &ml);
	fl->kport = ntohs(me.sin_port);
	cur = fl;
	if (!run_until(k_connected, 10))
		die("passive open did not complete");
	(void)l;
	return fl;
}

static bool transfers_done(void)
{
	for (unsigned i = 0; i < nflows; i++) {
		struct flow *fl = &flows[i];

		if (fl->e_err || fl->k_err)
			die("flow %u: engine error %d, kernel error %d", i, fl->e_err, fl->k_err);
		if (fl->k_rx < fl->e_total || fl->e_acked < fl->e_total || fl->e_rx < fl->k_total)
			return false;
	}
	return true;
}

static void test_connect(void)
{
	struct flow *fl = open_active();

	fl->e_total = fl->k_total = 100000;
	if (!run_until(transfers_done, 20))
		die("100000 bytes each way did not arrive");
	flows_free();
}

static void test_accept(void)
{
	struct utcp_sock *l;
	int err = utcp_listen(st, PORT_ENGINE, on_accept, NULL, &l);

	if (err)
		die("utcp_listen: %s", strerror(-err));
	for (unsigned i = 0; i < 3; i++) {
		struct flow *fl = open_passive(l);

		fl->e_total = fl->k_total = 50000 * (i + 1);
	}
	if (!run_until(transfers_done, 20))
		die("three accepted connections did not move their bytes");
	flows_free();
	utcp_sock_close(l, false);
	utcp_sock_free(l);
}

static void report(const char *what, double secs, uint64_t bytes)
{
	struct utcp_stack_stats ss;

	utcp_stack_get_stats(st, &ss);
	printf("%s: %.1f MiB in %.2f s (%.1f MiB/s)\n", what, bytes / 1048576.0, secs,
	       bytes / 1048576.0 / secs);
	printf("  frames rx %" PRIu64 " tx %" PRIu64 ", dropped rx %" PRIu64
	       ", tx alloc fail %" PRIu64 "\n",
	       ss.rx_frames, ss.tx_frames, ss.rx_dropped, ss.tx_alloc_fail);
	printf("  retransmits %" PRIu64 " (fast %" PRIu64 ", rto fired %" PRIu64
	       "), dup acks %" PRIu64 ", ooo kept %" PRIu64 ", zero-window probes %" PRIu64
	       ", tail loss probes %" PRIu64 "\n",
	       ss.retransmits, ss.fast_retransmits, ss.rto_fired, ss.dup_acks, ss.ooo_segments,
	       ss.zero_window_probes, ss.tail_loss_probes);
	printf("  impair: dropped %" PRIu64 ", duplicated %" PRIu64 ", reordered %" PRIu64 "\n",
	       ss.impair_dropped, ss.impair_duped, ss.impair_reordered);
	fflush(stdout);
}

static void bulk_dir(const char *what, bool pauses, unsigned timeout_s, bool tx, bool rx)
{
	struct flow *fl = open_active();
	uint64_t t0 = utcp_now_us();
	struct utcp_sock_info si;

	fl->e_total = tx ? bytes_opt : 0;
	fl->k_total = rx ? bytes_opt : 0;
	if (pauses) {
		/* the engine stops reading: the kernel must probe our zero
		 * window; the kernel stops reading: we must probe its */
		fl->e_pause_every = fl->e_next_pause = bytes_opt / 3 + 1;
		fl->e_pause_us = 300000;
		fl->k_pause_every = fl->k_next_pause = bytes_opt / 2 + 1;
		fl->k_pause_us = 600000;
	}
	if (!run_until(transfers_done, timeout_s))
		die("%s: moved %" PRIu64 "/%" PRIu64 " and %" PRIu64 "/%" PRIu64 " bytes in %u s",
		    what, fl->k_rx, fl->e_total, fl->e_rx, fl->k_total, timeout_s);
	utcp_sock_info(fl->s, &si);
	report(what, (utcp_now_us() - t0) / 1e6, fl->e_total + fl->k_total);
	printf("  socket: %s mss %u wscale %u/%u srtt %u us rto %u us cwnd %u\n", si.state, si.mss,
	       si.snd_wscale, si.rcv_wscale, si.srtt_us, si.rto_us, si.cwnd);
	flows_free();
}

static void bulk(const char *what, bool pauses, unsigned timeout_s)
{
	bulk_dir(what, pauses, timeout_s, true, true);
}

/* One way, for measuring: the engine sends (tx) or receives (rx). */
static void test_tx(void)
{
	bulk_dir("engine to kernel", false, 600, true, false);
}

static void test_rx(void)
{
	bulk_dir("kernel to engine", false, 600, false, true);
}

static void test_bulk(void)
{
	bulk("bulk both ways", true, 50);
}

static bool halfclose_1(void)
{
	return cur->k_eof && cur->k_rx == cur->e_total && cur->e_rx == cur->k_total && cur->e_fin &&
	       cur->e_closed;
}

static void test_halfclose(void)
{
	/* the engine closes first: the kernel reads to EOF, still sends
	 * (we are in FIN_WAIT_2), then closes; TIME_WAIT ends in on_closed */
	struct flow *fl = open_active();

	fl->e_total = 300000;
	fl->e_shut_at_end = true;
	fl->k_total = 200000;
	fl->k_shut_at_end = true;
	fl->k_wait_eof = true;
	cur = fl;
	if (!run_until(halfclose_1, 15))
		die("engine-first half-close: k_eof %d k_rx %" PRIu64 " e_rx %" PRIu64
		    " e_fin %d e_closed %d",
		    fl->k_eof, fl->k_rx, fl->e_rx, fl->e_fin, fl->e_closed);
	if (fl->e_err)
		die("engine-first half-close: error %d", fl->e_err);
	if (fl->e_closed_at - fl->e_fin_at < 900000)
		die("engine-first half-close: on_closed %" PRIu64 " us after the FIN, before"
		    " TIME_WAIT ended",
		    fl->e_closed_at - fl->e_fin_at);
	flows_free();

	/* the kernel closes first: on_fin, we still send, then close
	 * (LAST_ACK) and on_closed comes when our FIN is acked */
	fl = open_active();
	fl->k_total = 100000;
	fl->k_shut_at_end = true;
	fl->e_total = 400000;
	fl->e_shut_at_end = true;
	fl->e_wait_fin = true;
	cur = fl;
	if (!run_until(halfclose_1, 15))
		die("kernel-first half-close: k_eof %d k_rx %" PRIu64 " e_rx %" PRIu64
		    " e_fin %d e_closed %d",
		    fl->k_eof, fl->k_rx, fl->e_rx, fl->e_fin, fl->e_closed);
	flows_free();
}

static bool got_e_err(void)
{
	return cur->e_err != 0;
}

static bool got_k_err(void)
{
	char b[16];

	if (recv(cur->kfd, b, sizeof(b), 0) < 0 && errno != EAGAIN)
		cur->k_err = -errno;
	return cur->k_err != 0;
}

static void test_reset(void)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct flow *fl = open_active();
	struct utcp_stack_stats ss;

	/* the kernel aborts: the engine sees -ECONNRESET, once */
	setsockopt(fl->kfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fl->kfd);
	fl->kfd = -1;
	cur = fl;
	if (!run_until(got_e_err, 5) || fl->e_err != -ECONNRESET)
		die("kernel RST: engine error %d, want %d", fl->e_err, -ECONNRESET);
	flows_free();

	/* the engine aborts: the kernel's recv fails with ECONNRESET */
	fl = open_active();
	utcp_sock_close(fl->s, true);
	utcp_flush(st);
	cur = fl;
	if (!run_until(got_k_err, 5) || fl->k_err != -ECONNRESET)
		die("engine RST: kernel error %d, want %d", fl->k_err, -ECONNRESET);
	utcp_sock_free(fl->s);
	fl->s = NULL;
	flows_free();

	/* a segment to a port nobody has gets a RST: the kernel's connect
	 * is refused */
	fl = flow_new();
	{
		struct sockaddr_in a = sin_of(e_ip, 4999);

		fl->kfd = k_socket();
		if (connect(fl->kfd, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS)
			die("connect: %s", strerror(errno));
		cur = fl;
		if (!run_until(got_k_err, 5) || fl->k_err != -ECONNREFUSED)
			die("connect to a closed engine port: error %d, want %d", fl->k_err,
			    -ECONNREFUSED);
	}
	flows_free();
	utcp_stack_get_stats(st, &ss);
	printf("reset: ok (rx dropped %" PRIu64 ")\n", ss.rx_dropped);
}

static void test_refused(void)
{
	struct flow *fl = flow_new();
	int err = utcp_connect(st, k_ip, 4998, 0, &cbs, fl, &fl->s);

	if (err)
		die("utcp_connect: %s", strerror(-err));
	cur = fl;
	if (!run_until(got_e_err, 5) || fl->e_err != -ECONNREFUSED || fl->e_conn)
		die("connect to a closed kernel port: error %d, want %d", fl->e_err, -ECONNREFUSED);
	flows_free();
}

static void test_unreach(void)
{
	struct flow *fl = flow_new();
	uint32_t nobody = (k_ip & ~0xffu) | 0xfe;
	int err = utcp_connect(st, nobody, 80, 0, &cbs, fl, &fl->s);

	if (err)
		die("utcp_connect: %s", strerror(-err));
	cur = fl;
	if (!run_until(got_e_err, 5) || fl->e_err != -EHOSTUNREACH)
		die("connect to an address with no ARP answer: error %d, want %d", fl->e_err,
		    -EHOSTUNREACH);
	flows_free();
}

static void test_loss(void)
{
	bulk("loss both ways", false, bytes_opt > (256u << 20) ? 3000 : 55);
}

static const struct {
	const char *name;
	void (*fn)(void);
	bool impair;
} tests[] = {
        {"connect", test_connect, false}, {"accept", test_accept, false},
        {"bulk", test_bulk, false},       {"halfclose", test_halfclose, false},
        {"reset", test_reset, false},     {"refused", test_refused, false},
        {"unreach", test_unreach, false}, {"loss", test_loss, true},
        {"tx", test_tx, false},           {"rx", test_rx, false},
};

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		die("bad size '%s'", s);
	switch (*end) {
	case 'G':
		v <<= 10;
		/* fall through */
	case 'M':
		v <<= 10;
		/* fall through */
	case 'K':
		v <<= 10;
		end++;
		break;
	default:
		break;
	}
	if (*end || !v)
		die("bad size '%s'", s);
	return v;
}

static uint32_t parse_u32(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > UINT32_MAX)
		die("bad number '%s'", s);
	return (uint32_t)v;
}

static void usage(void)
{
	printf("usage: utcp_tap [-t TAP] [-k KERNEL_IP/PREFIX] [-e ENGINE_IP] [-m MTU]\n"
	       "                [-b BYTES] [-d DROP_PPM] [-u DUP_PPM] [-r REORDER_PPM] [-s SEED]\n"
	       "                [-D] [-v] TEST...\n"
	       "tests:");
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		printf(" %s", tests[i].name);
	printf("\n");
}

int main(int argc, char **argv)
{
	const char *tapname = "h1tap0", *kaddr = "10.77.0.1/24", *eaddr = "10.77.0.2";
	struct utcp_cfg cfg = {.mtu = 1500, .flags = UTCP_ANSWER_ARP};
	struct utcp_impair imp = {
	        .drop_ppm = 10000, .dup_ppm = 5000, .reorder_ppm = 10000, .seed = 1};
	struct in_addr a;
	char kip[32], *slash;
	bool impair_all = false; /* -d, -u or -r given: every test runs impaired */
	int opt, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("UTCP_TRACE")) {
		trace = fopen(getenv("UTCP_TRACE"), "w");
		if (!trace)
			die("UTCP_TRACE: %s", strerror(errno));
	}
	while ((opt = getopt(argc, argv, "t:k:e:m:b:d:u:r:s:Dvh")) != -1) {
		switch (opt) {
		case 't':
			tapname = optarg;
			break;
		case 'k':
			kaddr = optarg;
			break;
		case 'e':
			eaddr = optarg;
			break;
		case 'm':
			cfg.mtu = (uint16_t)parse_u32(optarg);
			break;
		case 'b':
			bytes_opt = parse_size(optarg);
			break;
		case 'd':
			imp.drop_ppm = parse_u32(optarg);
			impair_all = true;
			break;
		case 'u':
			imp.dup_ppm = parse_u32(optarg);
			impair_all = true;
			break;
		case 'r':
			imp.reorder_ppm = parse_u32(optarg);
			impair_all = true;
			break;
		case 's':
			imp.seed = parse_u32(optarg);
			break;
		case 'D':
			cfg.flags |= UTCP_NO_DELACK;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
			return opt == 'h' ? 0 : 1;
		}
	}
	if (optind == argc) {
		usage();
		return 1;
	}
	snprintf(kip, sizeof(kip), "%s", kaddr);
	slash = strchr(kip, '/');
	if (!slash)
		die("-k wants ADDRESS/PREFIX");
	*slash = 0;
	cfg.prefix = (uint8_t)parse_u32(slash + 1);
	if (inet_pton(AF_INET, kip, &a) != 1)
		die("bad kernel address '%s'", kip);
	k_ip = ntohl(a.s_addr);
	if (inet_pton(AF_INET, eaddr, &a) != 1)
		die("bad engine address '%s'", eaddr);
	e_ip = ntohl(a.s_addr);
	cfg.ip = e_ip;
	memcpy(cfg.mac, (uint8_t[6]){0x02, 0x00, 0x5e, 0x77, 0x00, 0x02}, 6);
	for (size_t i = 0; i < PAT_LEN + PAT_SPAN; i++)
		pat[i] = (uint8_t)((i % PAT_LEN) * 2654435761u >> 13);

	err = tap_open(tapname);
	if (err) {
		printf("SKIP: cannot attach TAP device %s: %s\n", tapname, strerror(-err));
		return 77;
	}
	for (int i = optind; i < argc; i++) {
		size_t t;

		for (t = 0; t < sizeof(tests) / sizeof(tests[0]); t++)
			if (!strcmp(argv[i], tests[t].name))
				break;
		if (t == sizeof(tests) / sizeof(tests[0]))
			die("unknown test '%s'", argv[i]);
		cfg.impair = tests[t].impair || impair_all ? imp : (struct utcp_impair){0};
		err = utcp_stack_new(&cfg, &tap_ops, &tap, &st);
		if (err)
			die("utcp_stack_new: %s", strerror(-err));
		tests[t].fn();
		if (tap.rx_free_n != RX_FRAMES)
			die("%s: %u receive frames not released", tests[t].name,
			    RX_FRAMES - tap.rx_free_n);
		utcp_stack_free(st);
		st = NULL;
		if (tap.rx_free_n != RX_FRAMES)
			die("%s: frames left after free", tests[t].name);
		printf("PASS: %s\n", tests[t].name);
	}
	free(tap.rx_all);
	free(tap.tx_all);
	close(tap.fd);
	return 0;
}
