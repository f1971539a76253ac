/*
 * xtgtd: the iSCSI target daemon. Reads the configuration, opens the LUNs,
 * starts one reactor thread per transport group, listens on every portal
 * from each, and on SIGTERM or SIGINT stops accepting, lets the commands in
 * flight finish, closes the connections and exits 0.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "target/admin.h"
#include "target/config.h"
#include "target/conn.h"
#include "target/ctl.h"
#include "target/portal.h"
#include "target/tgt.h"
#include "transport/transport.h"

#define PROG "xtgtd"
#ifndef XTGTD_VERSION
#define XTGTD_VERSION "unknown"
#endif
/* Exit status for a usage or configuration error. */
#define EXIT_USAGE 2
/* Events one poll handles before timers and posted work get their turn. */
#define TGT_POLL_BUDGET 256
/* Commands in flight get this long to finish at shutdown. */
#define TGT_DRAIN_MS      10000
#define TGT_TICK_MS       1000
#define TGT_DRAIN_TICK_MS 50

static void thread_tick(struct xt_timer *tm, void *arg)
{
	struct tgt_thread *th = arg;
	uint64_t now = xt_now_ms();
	struct tgt_conn *c, *next;

	for (c = th->conns; c; c = next) {
		next = c->next;
		if (th->draining) {
			/* Idle connections go now; busy ones when their tasks
			 * are answered, or at the deadline. */
			if (c->closing)
				continue;
			if (!c->sess || (c->sess->nexec == 0 && !c->sends_in_flight) ||
			    now >= th->drain_deadline_ms) {
				tgt_ffp_announce_drop(c);
				tgt_conn_close(c, "shutting down");
			}
			continue;
		}
		tgt_conn_tick(c, now);
	}
}

/* Runs on th's thread when the daemon stops. */
static void thread_drain(void *arg)
{
	struct tgt_thread *th = arg;
	struct tgt_conn *c;

	if (th->draining)
		return;
	th->draining = true;
	th->drain_deadline_ms = th->g->now_ms + TGT_DRAIN_MS;
	tgt_portals_close_thread(th);
	/* No new commands: what is in the SCSI layer finishes and is answered,
	 * then each connection closes (thread_tick). */
	for (c = th->conns; c; c = c->next)
		if (!c->closing)
			xt_conn_pause_recv(c->xc);
	xt_timer_start(th->g, &th->tick, 0, TGT_DRAIN_TICK_MS, thread_tick, th);
}

static void *thread_main(void *arg)
{
	struct tgt_thread *th = arg;
	int rc;

	xt_timer_start(th->g, &th->tick, TGT_TICK_MS, TGT_TICK_MS, thread_tick, th);
	for (;;) {
		if (th->draining && !th->conns)
			break;
		rc = xt_group_poll(th->g, TGT_POLL_BUDGET, -1);
		if (rc < 0 && rc != -EINTR) {
			log_error("thread %u: poll failed: %s", th->idx, strerror(-rc));
			break;
		}
	}
	xt_timer_cancel(&th->tick);
	return NULL;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", PROG, msg, PROG);
	return EXIT_USAGE;
}

static enum log_level log_level_of(int syslog_level)
{
	/* The configuration speaks syslog levels (err .. debug). */
	if (syslog_level <= 3)
		return LOG_LVL_ERROR;
	if (syslog_level == 4)
		return LOG_LVL_WARN;
	if (syslog_level <= 6)
		return LOG_LVL_INFO;
	return LOG_LVL_DEBUG;
}

/* The control socket: a default one that cannot be made is not fatal (the
 * daemon runs without it); one asked for with --control is. XTGTD_CONTROL
 * changes the default, so that test suites can keep their daemons off the
 * system's socket. */
static int control_start(struct tgt_daemon *d, struct tgt_ctl **ctl)
{
	const char *env = getenv("XTGTD_CONTROL");
	const char *path = d->cfg->control ? d->cfg->control
	                   : env && *env   ? env
	                                   : TGT_CTL_PATH_DEFAULT;
	char err[512] = "";
	int rc;

	*ctl = NULL;
	if (!strcmp(path, "none"))
		return 0;
	rc = tgt_ctl_start(d, path, ctl, err, sizeof(err));
	if (rc && !d->cfg->control) {
		log_warn("%s; running without a control socket", *err ? err : strerror(-rc));
		return 0;
	}
	if (rc)
		log_error("%s", *err ? err : strerror(-rc));
	else
		log_info("control socket %s", path);
	return rc;
}

static int daemon_run(struct tgt_daemon *d)
{
	struct tgt_ctl *ctl = NULL;
	struct xt_group_opts go;
	sigset_t set;
	char err[512] = "";
	unsigned i;
	int rc, sig = 0;

	/* Signals are taken by this thread only, with sigwait: blocked before
	 * any thread exists (a backend may start its own), so all inherit it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&go, 0, sizeof(go));
	go.opts_size = sizeof(go);
	tgt_config_transport_opts(d->cfg, &go, NULL);
	if (!d->cfg->transport) {
		/* The registry lists the built backends, best first. */
		const char *const *names = xt_backend_names();

		if (!names[0])
			return -ENOENT;
		d->cfg->transport = strdup(names[0]);
		if (!d->cfg->transport)
			return -ENOMEM;
	}
	d->threads = calloc(d->nthreads, sizeof(*d->threads));
	if (!d->threads)
		return -ENOMEM;
	for (i = 0; i < d->nthreads; i++) {
		d->threads[i].d = d;
		d->threads[i].idx = i;
		struct xt_group_opts tgo = go;

		/* A queue belongs to one AF_XDP socket: thread i takes QUEUE+i. */
		if (tgo.xdp_ifname[0])
			tgo.xdp_queue += i;
		rc = xt_group_new(d->cfg->transport, &tgo, &d->threads[i].g);
		if (rc) {
			log_error("transport %s: %s",
			          d->cfg->transport ? d->cfg->transport : "default", strerror(-rc));
			return rc;
		}
	}
	rc = tgt_admin_init(d);
	if (rc)
		return rc;
	rc = tgt_targets_build(d, err, sizeof(err));
	if (!rc)
		rc = tgt_portals_build(d, err, sizeof(err));
	if (!rc)
		rc = tgt_portals_listen(d, err, sizeof(err));
	if (rc) {
		log_error("%s", *err ? err : strerror(-rc));
		return rc;
	}
	for (i = 0; i < d->nthreads; i++) {
		rc = pthread_create(&d->threads[i].tid, NULL, thread_main, &d->threads[i]);
		if (rc) {
			log_error("cannot start thread %u: %s", i, strerror(rc));
			rc = -rc;
			goto stop;
		}
		d->threads[i].started = true;
	}
	rc = control_start(d, &ctl);
	if (rc)
		goto stop;
	for (i = 0; i < d->nportals; i++)
		log_info("listening on %s (%s, %u thread%s)", d->portals[i].text,
		         xt_group_backend(d->threads[0].g), d->nthreads,
		         d->nthreads > 1 ? "s" : "");
	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: configuration reload is not supported; ignored");
			continue;
		}
		break;
	}
	log_info("%s: stopping, finishing commands in flight", strsignal(sig));
	rc = 0;
stop:
	/* No change while the threads drain. */
	tgt_ctl_stop(ctl);
	atomic_store(&d->stopping, true);
	for (i = 0; i < d->nthreads; i++) {
		if (!d->threads[i].started)
			continue;
		if (xt_group_post(d->threads[i].g, thread_drain, &d->threads[i]))
			log_error("thread %u: cannot post shutdown", i);
	}
	for (i = 0; i < d->nthreads; i++)
		if (d->threads[i].started)
			pthread_join(d->threads[i].tid, NULL);
	return rc;
}

static void daemon_free(struct tgt_daemon *d)
{
	unsigned i;

	if (d->threads) {
		for (i = 0; i < d->nthreads; i++)
			if (d->threads[i].g) {
				tgt_portals_close_thread(&d->threads[i]);
				xt_group_destroy(d->threads[i].g);
			}
	}
	tgt_portals_free(d);
	tgt_admin_free(d);
	tgt_targets_free(d);
	free(d->threads);
	pthread_rwlock_destroy(&d->objs_lock);
	pthread_mutex_destroy(&d->sess_lock);
}

int main(int argc, char **argv)
{
	struct tgt_config cfg;
	struct tgt_daemon d;
	char err[1024] = "";
	const char *why;
	int rc, status = EXIT_SUCCESS;

	tgt_config_init(&cfg);
	rc = tgt_config_parse_args(&cfg, argc, argv, err, sizeof(err));
	if (rc) {
		status = rc == -ENOMEM ? EXIT_FAILURE : usage_error(*err ? err : strerror(-rc));
		goto out_cfg;
	}
	if (cfg.help) {
		tgt_config_usage(stdout, PROG);
		goto out_cfg;
	}
	if (cfg.version) {
		printf("%s (xiscsi) %s\n", PROG, XTGTD_VERSION);
		goto out_cfg;
	}
	rc = tgt_config_finish(&cfg, err, sizeof(err));
	if (rc) {
		status = usage_error(err);
		goto out_cfg;
	}
	if (cfg.transport && (why = xt_backend_why(cfg.transport))) {
		snprintf(err, sizeof(err), "transport '%s': %s", cfg.transport, why);
		status = usage_error(err);
		goto out_cfg;
	}
	log_setup(PROG, log_level_of(cfg.log_level),
	          cfg.log_dest == TGT_LOG_SYSLOG || !cfg.foreground ? LOG_SINK_SYSLOG
	                                                            : LOG_SINK_STDERR);
	if (cfg.config_file && cfg.config_file[0] != '/') {
		/* daemon() moves to /: the admin side saves to this path later. */
		char *abs = realpath(cfg.config_file, NULL);

		if (abs) {
			free(cfg.config_file);
			cfg.config_file = abs;
		}
	}
	if (!cfg.foreground && daemon(0, 0)) {
		fprintf(stderr, "%s: cannot detach: %s\n", PROG, strerror(errno));
		status = EXIT_FAILURE;
		goto out_cfg;
	}
	memset(&d, 0, sizeof(d));
	d.cfg = &cfg;
	d.nthreads = cfg.threads;
	pthread_rwlock_init(&d.objs_lock, NULL);
	pthread_mutex_init(&d.sess_lock, NULL);
	rc = daemon_run(&d);
	if (rc)
		status = EXIT_FAILURE;
	daemon_free(&d);
	if (!rc)
		log_info("stopped");
out_cfg:
	tgt_config_free(&cfg);
	return status;
}
