/*
 * xiscsid: holds iSCSI sessions for xiscsiadm and exports their LUNs over
 * NBD. One thread, one epoll set; see xiscsid.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "initiator/xiscsid.h"
#include "lib/log.h"

#define DEFAULT_RUNDIR "/run/xiscsi"
#define DEFAULT_ROOT   "/var/lib/xiscsi"
/* Logouts at shutdown get this long before the daemon exits anyway. */
#define STOP_GRACE_MS 10000

static const char *prog = "xiscsid";

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s [-f] [-s SOCKET] [--run-dir DIR] [--root DIR] [-i IQN] [-d]\n"
	        "  -f, --foreground        stay in the foreground, log to stderr\n"
	        "  -s, --socket PATH       control socket (default $XISCSID_SOCKET or "
	        "RUNDIR/xiscsid.sock)\n"
	        "      --run-dir DIR       NBD sockets go in DIR/nbd (default %s)\n"
	        "      --root DIR          node and iface records (default $XISCSI_ROOT or %s)\n"
	        "  -i, --initiator-name IQN  default initiator name for logins\n"
	        "      --nbd-tcp HOST:PORT  exports also on TCP, from PORT up (loopback only)\n"
	        "      --no-startup        do not log in to node.startup=automatic records\n"
	        "  -d, --debug             more log (repeat for library diagnostics)\n",
	        prog, DEFAULT_RUNDIR, DEFAULT_ROOT);
}

/* "127.0.0.1:10809" or "[::1]:10809": the host as given, the first port. */
static int parse_tcp(const char *arg, struct xd_daemon *d)
{
	const char *colon = strrchr(arg, ':');
	unsigned long port;
	char *end;

	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(d->nbd_tcp_host))
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '\0' || colon[1] == '-' || port == 0 || port > 65535)
		return -EINVAL;
	memcpy(d->nbd_tcp_host, arg, (size_t)(colon - arg));
	d->nbd_tcp_host[colon - arg] = '\0';
	d->nbd_tcp_next = (unsigned)port;
	return 0;
}

static void signal_event(struct xi_evh *h, uint32_t events)
{
	struct xd_daemon *d = (struct xd_daemon *)((char *)h - offsetof(struct xd_daemon, sfd_evh));
	struct signalfd_siginfo si;

	(void)events;
	while (read(d->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			continue;
		if (!d->stopping)
			log_info("signal %u: logging out every session", si.ssi_signo);
		d->stopping = true;
		for (struct xd_sess *s = d->sessions; s; s = s->next)
			s->work = true;
	}
}

struct startup_ctx {
	struct xd_daemon *d;
	unsigned started, failed;
};

static int startup_one(const struct noderec *r, void *arg)
{
	struct startup_ctx *sc = arg;
	const char *st = noderec_get(r, "node.startup");
	char err[300];
	json_t *rec;
	int rc;

	if (!st || (strcasecmp(st, "automatic") && strcasecmp(st, "onboot")))
		return 0;
	rec = xd_record_json(r);
	rc = rec ? xd_sess_login(sc->d, rec, NULL, NULL, NULL, err, sizeof(err)) : -ENOMEM;
	json_decref(rec);
	if (rc) {
		log_error("startup: %s at %s:%u: %s", r->name, r->host, r->port,
		          rc == -ENOMEM ? "out of memory" : err);
		sc->failed++;
	} else {
		sc->started++;
	}
	return 0;
}

static void startup_logins(struct xd_daemon *d)
{
	struct startup_ctx sc = {d, 0, 0};
	int lfd, n;

	lfd = noderec_lock(d->root, false);
	if (lfd < 0) {
		if (lfd != -ENOENT)
			log_warn("startup: cannot read %s: %s", d->root, strerror(-lfd));
		return;
	}
	n = noderec_foreach(d->root, startup_one, &sc);
	close(lfd);
	if (n < 0)
		log_warn("startup: reading %s: %s", d->root, strerror(-n));
	else if (sc.started || sc.failed)
		log_info("startup: %u automatic login(s) started, %u refused", sc.started,
		         sc.failed);
}

/* Milliseconds epoll may sleep: the nearest libxiscsi timer or login retry. */
static int next_timeout(struct xd_daemon *d)
{
	uint64_t now = xd_now_ms();
	int t = -1;

	for (int i = 0; i < XD_LOOPS; i++) {
		int lt;

		if (!d->loops[i].loop)
			continue;
		lt = xiscsi_loop_next_timeout_ms(d->loops[i].loop);
		if (lt >= 0 && (t < 0 || lt < t))
			t = lt;
	}
	for (struct xd_sess *s = d->sessions; s; s = s->next) {
		int st;

		if (s->work)
			return 0;
		if (s->phase != XD_LOGIN_RETRY)
			continue;
		st = s->retry_at > now ? (int)(s->retry_at - now) : 0;
		if (t < 0 || st < t)
			t = st;
	}
	if (d->stopping && (t < 0 || t > 200))
		t = 200;
	return t;
}

static void run_work(struct xd_daemon *d)
{
	uint64_t now = xd_now_ms();
	bool again = true;

	for (struct xd_sess *s = d->sessions; s; s = s->next)
		if (s->phase == XD_LOGIN_RETRY && s->retry_at <= now)
			s->work = true;
	/* A session's work may free it or mark others: rescan after each. */
	while (again) {
		again = false;
		for (struct xd_sess *s = d->sessions; s; s = s->next) {
			if (!s->work)
				continue;
			xd_sess_work(s);
			again = true;
			break;
		}
	}
	xd_ctl_resume(d);
}

static int run(struct xd_daemon *d)
{
	struct epoll_event evs[64];
	uint64_t stop_deadline = 0;

	for (;;) {
		int n, t;

		/* Timers of libxiscsi fire from its poll: give every loop a turn. */
		for (int i = 0; i < XD_LOOPS; i++)
			if (d->loops[i].loop)
				xiscsi_loop_poll(d->loops[i].loop, 0, 0);
		run_work(d);
		if (d->stopping) {
			if (!stop_deadline)
				stop_deadline = xd_now_ms() + STOP_GRACE_MS;
			if (!d->sessions)
				return 0;
			if (xd_now_ms() > stop_deadline) {
				log_warn(
				        "shutdown: sessions still logging out after %d ms; leaving",
				        STOP_GRACE_MS);
				return 0;
			}
		}
		t = next_timeout(d);
		n = epoll_wait(d->epfd, evs, 64, t);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct xi_evh *h = evs[i].data.ptr;

			h->fn(h, evs[i].events);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"foreground", no_argument, NULL, 'f'},
	        {"socket", required_argument, NULL, 's'},
	        {"run-dir", required_argument, NULL, 'R'},
	        {"root", required_argument, NULL, 'r'},
	        {"initiator-name", required_argument, NULL, 'i'},
	        {"no-startup", no_argument, NULL, 'N'},
	        {"nbd-tcp", required_argument, NULL, 'T'},
	        {"debug", no_argument, NULL, 'd'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct xd_daemon d;
	struct epoll_event ev = {.events = EPOLLIN};
	char sockbuf[4200], nbddir[4200], host[200], iqn[256], err[512];
	bool foreground = false, startup = true;
	int c, debug = 0, rc = 1;
	sigset_t mask;

	memset(&d, 0, sizeof(d));
	d.lfd = d.sfd = d.epfd = -1;
	d.rundir = DEFAULT_RUNDIR;
	d.sock = getenv("XISCSID_SOCKET");
	d.root = getenv("XISCSI_ROOT");
	if (!d.root || !*d.root)
		d.root = DEFAULT_ROOT;
	while ((c = getopt_long(argc, argv, "fs:i:dh", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 's':
			d.sock = optarg;
			break;
		case 'R':
			d.rundir = optarg;
			break;
		case 'r':
			d.root = optarg;
			break;
		case 'i':
			d.initiator_name = optarg;
			break;
		case 'N':
			startup = false;
			break;
		case 'T':
			if (parse_tcp(optarg, &d)) {
				fprintf(stderr,
				        "%s: --nbd-tcp wants HOST:PORT (port 1..65535), not '%s'\n",
				        prog, optarg);
				return 2;
			}
			break;
		case 'd':
			debug++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		return 2;
	}
	if (!d.sock || !*d.sock) {
		snprintf(sockbuf, sizeof(sockbuf), "%s/xiscsid.sock", d.rundir);
		d.sock = sockbuf;
	}
	if (!d.initiator_name) {
		if (gethostname(host, sizeof(host)) < 0 || !*host)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		for (char *p = host; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		snprintf(iqn, sizeof(iqn), "iqn.2026-01.io.xiscsi:%s", host);
		d.initiator_name = iqn;
	}
	log_setup(prog, debug ? LOG_LVL_DEBUG : LOG_LVL_INFO,
	          foreground ? LOG_SINK_STDERR : LOG_SINK_SYSLOG);
	xiscsi_set_log_level(debug > 1 ? 3 : 0);
	snprintf(nbddir, sizeof(nbddir), "%s/nbd", d.rundir);
	c = noderec_mkdirs(nbddir, 0700);
	if (c) {
		fprintf(stderr, "%s: cannot create %s: %s\n", prog, nbddir, strerror(-c));
		return 1;
	}
	if (!foreground) {
		int nul;

		/* Detach; stdio goes to /dev/null where it can be opened (some
		 * containers refuse it). Otherwise it stays as it was: closed,
		 * descriptors 0..2 would be reused by sockets that a stray
		 * write to stderr would then corrupt. */
		if (daemon(0, 1) < 0) {
			fprintf(stderr, "%s: daemon: %s\n", prog, strerror(errno));
			return 1;
		}
		nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int fd = 0; fd < 3 && nul >= 0; fd++)
			dup2(nul, fd);
		if (nul > 2)
			close(nul);
	}
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.epfd < 0) {
		log_error("epoll: %s", strerror(errno));
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d.sfd_evh.fn = signal_event;
	ev.data.ptr = &d.sfd_evh;
	if (d.sfd < 0 || epoll_ctl(d.epfd, EPOLL_CTL_ADD, d.sfd, &ev) < 0) {
		log_error("signalfd: %s", strerror(errno));
		goto out;
	}
	c = xd_ctl_start(&d, err, sizeof(err));
	if (c) {
		log_error("%s", err);
		goto out;
	}
	log_info("xiscsid %s: control socket %s, NBD exports in %s, records in %s",
	         xiscsi_version(), d.sock, nbddir, d.root);
	if (startup)
		startup_logins(&d);
	rc = run(&d);
	/* Sessions left after the grace period go without a logout. */
	while (d.sessions) {
		d.sessions->phase = XD_DEAD;
		xd_sess_work(d.sessions);
	}
	log_info("stopped");
out:
	xd_ctl_stop(&d);
	for (int i = 0; i < XD_LOOPS; i++)
		if (d.loops[i].loop)
			xiscsi_loop_free(d.loops[i].loop);
	if (d.sfd >= 0)
		close(d.sfd);
	close(d.epfd);
	return rc;
}
