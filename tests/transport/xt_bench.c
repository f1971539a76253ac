/*
 * Transport benchmark: a server group and a client group on two threads of
 * one process, over loopback (or any address given).
 *
 *   xt_bench [--backend B] [--seconds S] stream   [--size BYTES]
 *   xt_bench [--backend B] [--seconds S] pingpong [--depth N] [--size BYTES]
 *   xt_bench [--seconds S] pingpong --baseline      (plain blocking sockets)
 *
 * stream: one connection, sends of --size (default 256 KiB) kept queued up
 * to the high-water mark; the receiver's byte count over the run gives
 * Gbit/s. pingpong: N requests of S bytes in flight (default 32 x 4096),
 * each answered by S bytes; ops/s and latency. The baseline does the same
 * exchange with blocking read()/write() on plain sockets, one thread a side.
 * Figures are for comparison in one run, never for a pass/fail.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport/transport.h"

static const char *backend = "tcp";
static const char *addr_str = "127.0.0.1";
static double seconds = 5;
static size_t msg_size;
static unsigned depth = 32;
static bool baseline, streaming;
static struct xt_group_opts gopts = {.opts_size = sizeof(gopts)}; /* --busy-poll, ... */

static atomic_bool stop;
static atomic_ullong srv_rx_bytes;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "xt_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* ---- latencies: every sample kept, sorted once at the end ---- */

static uint32_t *lat;
static size_t nlat, lat_cap = 16u << 20;

static void lat_add(uint64_t ns)
{
	if (nlat < lat_cap)
		lat[nlat++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void report_pingpong(const char *what, uint64_t ops, double secs, double cpu)
{
	double sum = 0;
	size_t i;

	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	for (i = 0; i < nlat; i++)
		sum += lat[i];
	printf("pingpong %s depth %u size %zu: %.0f ops/s, latency avg %.1f us p50 %.1f us "
	       "p99 %.1f us, cpu %.2f us/op\n",
	       what, depth, msg_size, ops / secs, nlat ? sum / nlat / 1e3 : 0,
	       nlat ? lat[nlat / 2] / 1e3 : 0, nlat ? lat[nlat * 99 / 100] / 1e3 : 0,
	       ops ? cpu * 1e6 / ops : 0);
}

/* ---- server side, on its own group and thread ---- */

struct srv_conn {
	struct xt_conn *c;
	size_t partial;
	struct xt_send_req *free;
	struct xt_send_req *reqs;
	struct iovec iov;
};

static uint8_t *resp_buf;

static void srv_sent(struct xt_conn *c, struct xt_send_req *r, int status)
{
	struct srv_conn *s = r->arg;

	r->next = s->free;
	s->free = r;
}

static void srv_recv(struct xt_conn *c, struct xt_rxbuf *b)
{
	struct srv_conn *s = xt_conn_arg(c);
	struct xt_send_req *r;
	size_t n;

	atomic_fetch_add_explicit(&srv_rx_bytes, b->len, memory_order_relaxed);
	if (streaming)
		return;
	/* One S-byte answer per complete S-byte request; the backend gathers
	 * the answers of one poll into one write. */
	n = (s->partial + b->len) / msg_size;
	s->partial = (s->partial + b->len) % msg_size;
	xt_conn_count_pdus(c, n, n);
	while (n-- && (r = s->free)) {
		s->free = r->next;
		if (xt_conn_send(c, r))
			die("server send", EIO);
	}
}

static void srv_eof(struct xt_conn *c)
{
	xt_conn_close(c, XT_CLOSE_ABORT);
}

static void srv_error(struct xt_conn *c, int err)
{
	xt_conn_close(c, XT_CLOSE_ABORT);
}

static const struct xt_conn_cbs srv_cbs = {
        .on_recv = srv_recv, .on_eof = srv_eof, .on_error = srv_error};

static struct srv_conn srv;

static void srv_accept(struct xt_listener *l, struct xt_conn *c, void *arg)
{
	unsigned i, n = 2 * depth;

	srv.c = c;
	srv.reqs = calloc(n, sizeof(*srv.reqs));
	if (!srv.reqs)
		die("calloc", ENOMEM);
	srv.iov.iov_base = resp_buf;
	srv.iov.iov_len = msg_size;
	for (i = 0; i < n; i++) {
		srv.reqs[i].iov = &srv.iov;
		srv.reqs[i].iovcnt = 1;
		srv.reqs[i].cb = srv_sent;
		srv.reqs[i].arg = &srv;
		srv.reqs[i].next = srv.free;
		srv.free = &srv.reqs[i];
	}
	xt_conn_set_cbs(c, &srv_cbs, &srv);
}

static void *srv_thread(void *arg)
{
	struct xt_group *g = arg;

	while (!atomic_load(&stop))
		if (xt_group_poll(g, 256, 200) < 0)
			die("server poll", EIO);
	return NULL;
}

static void nothing(void *arg)
{
}

/* ---- client side, on the main thread ---- */

struct cli_req {
	struct xt_send_req r;
	struct iovec iov;
	uint64_t t0;
	bool busy; /* stream: queued */
};

static struct {
	struct xt_conn *c;
	struct cli_req *reqs;
	unsigned nreqs, head, tail; /* pingpong: FIFO of requests in flight */
	size_t partial;
	uint64_t ops;
	bool connected, measuring;
	int err;
} cli;

static void cli_sent_stream(struct xt_conn *c, struct xt_send_req *r, int status)
{
	struct cli_req *q = (struct cli_req *)r;

	/* Resend at once; -EAGAIN is fine: on_writable refills. */
	q->busy = !atomic_load(&stop) && !status && xt_conn_send(c, r) == 0;
}

static void cli_fill_stream(struct xt_conn *c)
{
	unsigned i;

	for (i = 0; i < cli.nreqs; i++)
		if (!cli.reqs[i].busy) {
			if (xt_conn_send(c, &cli.reqs[i].r))
				return;
			cli.reqs[i].busy = true;
		}
}

static void cli_send_one(struct xt_conn *c)
{
	struct cli_req *q = &cli.reqs[cli.tail++ % cli.nreqs];

	q->t0 = now_ns();
	if (xt_conn_send(c, &q->r))
		die("client send", EIO);
}

static void cli_recv(struct xt_conn *c, struct xt_rxbuf *b)
{
	uint64_t t = now_ns();
	size_t n;

	if (streaming)
		return;
	n = (cli.partial + b->len) / msg_size;
	cli.partial = (cli.partial + b->len) % msg_size;
	while (n--) {
		struct cli_req *q = &cli.reqs[cli.head++ % cli.nreqs];

		if (cli.measuring) {
			lat_add(t - q->t0);
			cli.ops++;
		}
		if (!atomic_load(&stop))
			cli_send_one(c);
	}
}

static void cli_connect(struct xt_conn *c)
{
	unsigned i;

	cli.connected = true;
	if (streaming)
		cli_fill_stream(c);
	else
		for (i = 0; i < depth; i++)
			cli_send_one(c);
}

static void cli_error(struct xt_conn *c, int err)
{
	cli.err = err;
}

static void cli_writable(struct xt_conn *c)
{
	if (!atomic_load(&stop))
		cli_fill_stream(c);
}

static const struct xt_conn_cbs cli_cbs = {.on_connect = cli_connect,
                                           .on_recv = cli_recv,
                                           .on_error = cli_error,
                                           .on_writable = cli_writable};

static void run_transport(void)
{
	struct xt_group *sg, *cg;
	struct xt_listener *l;
	struct sockaddr_storage ss;
	socklen_t len;
	pthread_t th;
	uint8_t *req_buf;
	unsigned i;
	double t0, t1, c0, c1;
	unsigned long long b0, b1;
	struct xt_group_stats s0, s1;
	int err;

	if ((err = xt_group_new(backend, &gopts, &sg)) ||
	    (err = xt_group_new(backend, &gopts, &cg)))
		die(xt_backend_why(backend) ? xt_backend_why(backend) : "group", err);
	if ((err = xt_addr_parse(addr_str, 0, &ss, &len)))
		die("address", err);
	if ((err = xt_listen(sg, (struct sockaddr *)&ss, len, NULL, srv_accept, NULL, &l)) ||
	    (err = xt_listener_addr(l, &ss, &len)))
		die("listen", err);
	resp_buf = calloc(1, msg_size);
	req_buf = calloc(1, msg_size);
	cli.nreqs = streaming ? (4u << 20) / msg_size + 1 : depth;
	cli.reqs = calloc(cli.nreqs, sizeof(*cli.reqs));
	if (!resp_buf || !req_buf || !cli.reqs)
		die("calloc", ENOMEM);
	for (i = 0; i < cli.nreqs; i++) {
		cli.reqs[i].iov.iov_base = req_buf;
		cli.reqs[i].iov.iov_len = msg_size;
		cli.reqs[i].r.iov = &cli.reqs[i].iov;
		cli.reqs[i].r.iovcnt = 1;
		cli.reqs[i].r.cb = streaming ? cli_sent_stream : NULL;
	}
	if (pthread_create(&th, NULL, srv_thread, sg))
		die("pthread_create", EAGAIN);
	if ((err = xt_connect(cg, (struct sockaddr *)&ss, len, NULL, &cli_cbs, NULL, &cli.c)))
		die("connect", err);
	/* Warm up half a second, then measure. */
	for (t0 = now_s(); now_s() - t0 < 0.5 && !cli.err;)
		xt_group_poll(cg, 256, 100);
	cli.measuring = true;
	t0 = now_s();
	c0 = cpu_s();
	b0 = atomic_load(&srv_rx_bytes);
	xt_group_get_stats(cg, &s0);
	while ((t1 = now_s()) - t0 < seconds && !cli.err)
		xt_group_poll(cg, 256, 100);
	b1 = atomic_load(&srv_rx_bytes);
	xt_group_get_stats(cg, &s1);
	c1 = cpu_s();
	cli.measuring = false;
	if (cli.err)
		die("client connection", cli.err);
	if (streaming)
		printf("stream %s size %zu: %.2f Gbit/s (%.0f MiB in %.2f s), cpu %.2f s/GiB\n",
		       backend, msg_size, (b1 - b0) * 8 / (t1 - t0) / 1e9, (b1 - b0) / 1048576.0,
		       t1 - t0, (c1 - c0) / ((b1 - b0) / 1073741824.0));
	else
		report_pingpong(backend, cli.ops, t1 - t0, c1 - c0);
	/* System calls per message over the measured window: per request
	 * answered (ping-pong) or per --size sent (stream). */
	printf("  client group: %llu syscalls, %llu polls, %.3f syscalls/msg\n",
	       (unsigned long long)(s1.syscalls - s0.syscalls),
	       (unsigned long long)(s1.polls - s0.polls),
	       (double)(s1.syscalls - s0.syscalls) /
	               (streaming ? ((b1 - b0) / msg_size ? (b1 - b0) / msg_size : 1)
	                          : (cli.ops ? cli.ops : 1)));
	atomic_store(&stop, true);
	xt_group_post(sg, nothing, NULL);
	pthread_join(th, NULL);
	xt_conn_close(cli.c, XT_CLOSE_ABORT);
	if (srv.c)
		xt_conn_close(srv.c, XT_CLOSE_ABORT);
	xt_listener_close(l);
	xt_group_poll(cg, 16, 0);
	xt_group_poll(sg, 16, 0);
	xt_group_destroy(cg);
	xt_group_destroy(sg);
	free(srv.reqs);
	free(cli.reqs);
	free(req_buf);
	free(resp_buf);
}

/* ---- baseline: blocking sockets, one thread a side ---- */

static int full_io(int fd, uint8_t *buf, size_t n, bool wr)
{
	ssize_t r;

	while (n) {
		r = wr ? write(fd, buf, n) : read(fd, buf, n);
		if (r <= 0)
			return -1;
		buf += r;
		n -= r;
	}
	return 0;
}

static void *base_srv(void *arg)
{
	int lfd = *(int *)arg, fd, one = 1;
	uint8_t *buf = malloc(msg_size);

	fd = accept(lfd, NULL, NULL);
	if (fd < 0 || !buf)
		die("accept", errno);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (full_io(fd, buf, msg_size, false) == 0 && full_io(fd, buf, msg_size, true) == 0)
		;
	close(fd);
	free(buf);
	return NULL;
}

static void run_baseline(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	pthread_t th;
	uint64_t *t0s = calloc(depth, sizeof(*t0s)), ops = 0, t;
	uint8_t *buf = calloc(1, msg_size);
	unsigned head = 0, tail = 0;
	int lfd, fd, one = 1;
	double t0, t1, c0, c1, tw;

	if (!t0s || !buf || xt_addr_parse(addr_str, 0, &ss, &len))
		die("setup", EINVAL);
	lfd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&ss, &len))
		die("listen", errno);
	if (pthread_create(&th, NULL, base_srv, &lfd))
		die("pthread_create", EAGAIN);
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
		die("connect", errno);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (; tail < depth; tail++) {
		t0s[tail % depth] = now_ns();
		if (full_io(fd, buf, msg_size, true))
			die("write", errno);
	}
	tw = now_s();
	t0 = tw + 0.5;
	c0 = 0;
	for (;;) {
		if (full_io(fd, buf, msg_size, false))
			die("read", errno);
		t = now_ns();
		t1 = now_s();
		if (t1 >= t0) {
			if (!ops)
				c0 = cpu_s(), t0 = t1;
			lat_add(t - t0s[head % depth]);
			ops++;
		}
		head++;
		if (t1 - t0 >= seconds)
			break;
		t0s[tail++ % depth] = now_ns();
		if (full_io(fd, buf, msg_size, true))
			die("write", errno);
	}
	c1 = cpu_s();
	report_pingpong("baseline-blocking", ops, t1 - t0, c1 - c0);
	shutdown(fd, SHUT_WR);
	pthread_join(th, NULL);
	close(fd);
	close(lfd);
	free(t0s);
	free(buf);
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: xt_bench [--backend B] [--addr A] [--seconds S] stream [--size N]\n"
	        "       xt_bench [--backend B] [--addr A] [--seconds S] pingpong "
	        "[--depth N] [--size N] [--baseline]\n"
	        "transport options (both groups):\n%s",
	        xt_opt_help);
	exit(2);
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s)
		usage();
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end || v == 0)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	const char *mode = NULL;
	int i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
			backend = argv[++i];
		else if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc)
			addr_str = argv[++i];
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = (double)num(argv[++i]);
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			msg_size = num(argv[++i]);
		else if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc)
			depth = (unsigned)num(argv[++i]);
		else if (strcmp(argv[i], "--baseline") == 0)
			baseline = true;
		else if (strcmp(argv[i], "--busy-poll") == 0)
			xt_opt_set(&gopts, NULL, "busy-poll", NULL);
		else if (strncmp(argv[i], "--busy-poll=", 12) == 0) {
			if (xt_opt_set(&gopts, NULL, "busy-poll", argv[i] + 12))
				usage();
		} else if (strncmp(argv[i], "--", 2) == 0 && i + 1 < argc &&
		           xt_opt_set(&gopts, NULL, argv[i] + 2, argv[i + 1]) == 0)
			i++;
		else if (!mode &&
		         (strcmp(argv[i], "stream") == 0 || strcmp(argv[i], "pingpong") == 0))
			mode = argv[i];
		else
			usage();
	}
	if (!mode || depth > 65536)
		usage();
	streaming = strcmp(mode, "stream") == 0;
	if (!msg_size)
		msg_size = streaming ? 256 * 1024 : 4096;
	lat = malloc(lat_cap * sizeof(*lat));
	if (!lat)
		die("malloc", ENOMEM);
	if (baseline && streaming)
		usage();
	if (baseline)
		run_baseline();
	else
		run_transport();
	free(lat);
	return 0;
}
