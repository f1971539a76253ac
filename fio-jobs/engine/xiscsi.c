/*
 * xiscsi: an external fio ioengine on libxiscsi's asynchronous API.
 *
 *   ioengine=external:/path/to/xiscsi.so
 *   filename=iscsi\://127.0.0.1\:3260/iqn.2026-01.example\:disk/0
 *
 * fio splits file names at ':' unless escaped, hence the backslashes; fio
 * removes them before the engine sees the name. The URL is libiscsi's form
 * (iscsi://[user[%secret]@]host[:port]/iqn/lun), so one job file serves
 * both this engine and fio's libiscsi engine.
 *
 * Threads and processes: fio sizes the files in the parent process and
 * runs the job in a child (or thread). A loop, with its sockets and
 * io_uring, must not cross a fork, so get_file_size() uses a short-lived
 * loop and session of its own, and the job's loop is made in init(), which
 * runs where the I/O runs. Each file gets `sessions` sessions of its own;
 * commands go round-robin over them, and each session may hold iodepth
 * commands, so the job's iodepth is what fio keeps in flight overall.
 *
 * Built against a configured fio tree (-include config-host.h), and fio
 * loads it only if .version equals that tree's FIO_IOOPS_VERSION.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fio.h"
#include "optgroup.h"

#include <xiscsi/xiscsi.h>

/* Sessions per file: enough to spread a job over connections, small enough
 * that a typo cannot open thousands of them. */
#define XIO_MAX_SESSIONS 64
/* Entries of transport_opts. */
#define XIO_MAX_TOPTS 32

struct xio_options {
	void *pad; /* fio treats an option at offset 0 as unset */
	char *transport;
	char *initiator;
	char *chap_user;
	char *chap_secret;
	char *header_digest;
	char *data_digest;
	unsigned int sessions;
	unsigned int reap_min;
	char *transport_opts;
	char *xdp_if;
	char *xdp_ip;
};

static struct fio_option options[] = {
        {
                .name = "transport",
                .lname = "xiscsi transport",
                .type = FIO_OPT_STR_STORE,
                .off1 = offsetof(struct xio_options, transport),
                .help = "libxiscsi transport backend: tcp, uring or xdp "
                        "(default: $XISCSI_TRANSPORT, else the library's default)",
                .category = FIO_OPT_C_ENGINE,
                .group = FIO_OPT_G_ISCSI,
        },
        {
                .name = "initiator",
                .lname = "xiscsi initiator name",
                .type = FIO_OPT_STR_STORE,
                .off1 = offsetof(struct xio_options, initiator),
                .def = "iqn.2026-01.io.xiscsi:fio",
                .help = "iSCSI initiator name (IQN) to log in as",
                .category = FIO_OPT_C_ENGINE,
                .group = FIO_OPT_G_ISCSI,
        },
        {
                .name = "chap_user",
                .lname = "xiscsi CHAP user",
                .type = FIO_OPT_STR_STORE,
                .off1 = offsetof(struct xio_options, chap_user),
                .help = "CHAP user name (RFC 7143 section 12.1.3); also user%secret@ in the URL",
                .category = FIO_OPT_C_ENGINE,
                .group = FIO_OPT_G_ISCSI,
        },
        {
                .name = "chap_secret",
                .lname = "xiscsi CHAP secret",
                .type = FIO_OPT_STR_STORE,
                .off1 = offsetof(struct xio_options, chap_secret),
                .help = "CHAP secret",
                .category = FIO_OPT_C_ENGINE,
                .group = FIO_OPT_G_ISCSI,
        },
        {
                .name = "header_digest",
                .lname = "xiscsi HeaderDigest",
                .type = FIO_OPT_STR_STORE,
                .off1 = offsetof(struct xio_options, header_digest),
                .def = "None",
                .help = "HeaderDigest to offer: None, CRC32C, or a list (CRC32C,None)",
                .category = FIO_OPT_C_ENGINE,
                .group = FIO_OPT_G_ISCSI,
        },
        {
                .name = "data_digest",
                .lname = "xiscsi DataDigest",
                .type = FIO_OPT_STR_STORE,
                .off1 = offsetof(struct xio_options, data_digest),
                .def = "None",
                .help = "DataDigest to offer: None, CRC32C, or a list (CRC32C,None)",
                .category = FIO_OPT_C_ENGINE,
                .group = FIO_OPT_G_ISCSI,
        },
        {
                .name = "sessions",
                .lname = "xiscsi sessions per file",
                .type = FIO_OPT_INT,
                .off1 = offsetof(struct xio_options, sessions),
                .def = "1",
                .minval = 1,
                .maxval = XIO_MAX_SESSIONS,
                .help = "iSCSI sessions (one connection each) per file, used round-robin",
                .category = FIO_OPT_C_ENGINE,
                .group = FIO_OPT_G_ISCSI,
        },
        {
                .name = "reap_min",
                .lname = "xiscsi completions per wait",
                .type = FIO_OPT_INT,
                .off1 = offsetof(struct xio_options, reap_min),
                .def = "0",
                .help = "getevents() waits for this many completions (or all in flight, "
                        "or fio's min if more); 0: iodepth/8, at least 1",
                .category = FIO_OPT_C_ENGINE,
                .group = FIO_OPT_G_ISCSI,
        },
        {
                .name = "transport_opts",
                .lname = "xiscsi transport options",
                .type = FIO_OPT_STR_STORE,
                .off1 = offsetof(struct xio_options, transport_opts),
                .help = "transport options NAME=VALUE (or NAME), comma separated, as in "
                        "xiscsi-transport(7): busy-poll,sqpoll-idle=10,sndbuf=1M,...",
                .category = FIO_OPT_C_ENGINE,
                .group = FIO_OPT_G_ISCSI,
        },
        {
                .name = "xdp_if",
                .lname = "xiscsi xdp interface",
                .type = FIO_OPT_STR_STORE,
                .off1 = offsetof(struct xio_options, xdp_if),
                .help = "xdp: interface and queue to take, IF[:QUEUE] (transport option xdp-if)",
                .category = FIO_OPT_C_ENGINE,
                .group = FIO_OPT_G_ISCSI,
        },
        {
                .name = "xdp_ip",
                .lname = "xiscsi xdp address",
                .type = FIO_OPT_STR_STORE,
                .off1 = offsetof(struct xio_options, xdp_ip),
                .help = "xdp: our IPv4 ADDR/PREFIX on that link (transport option xdp-ip)",
                .category = FIO_OPT_C_ENGINE,
                .group = FIO_OPT_G_ISCSI,
        },
        {
                .name = NULL,
        },
};

struct xio_file {
	struct xiscsi_session *sess[XIO_MAX_SESSIONS];
	unsigned int nsess;
	unsigned int next; /* round-robin cursor */
	uint64_t lun;
	uint32_t block_size;
};

/* Refills held back while completions are left (see getevents()) go out
 * anyway once they move this much data, reads or writes: past it a
 * sendmsg() is cheap beside moving the data, and holding big commands back
 * leaves the target idle (128 KiB writes fell to 0.66x of libiscsi). */
#define XIO_HOLD_BYTES (64 * 1024)

/* Per job thread. done[] holds completed io_us in completion order; the
 * first `reaped` of them were handed to fio by the last getevents(). */
struct xio_data {
	struct xiscsi_loop *loop;
	struct io_u **done;
	unsigned int cap; /* iodepth: fio never has more in flight */
	unsigned int ndone;
	unsigned int reaped;
	unsigned int inflight;     /* queued and not yet completed */
	unsigned long long unsent; /* bytes queued since the last poll */
	unsigned int reap_min;     /* see xio_want() */
};

struct xio_req {
	struct xiscsi_cmd cmd;
	struct io_u *io_u;
	struct xio_data *xd;
};

/* Options for one session to the file's URL; opts_clear() frees them. */
static int xio_opts(struct thread_data *td, struct fio_file *f, struct xiscsi_opts *o,
                    uint64_t *lun)
{
	struct xio_options *eo = td->eo;
	int ret;

	xiscsi_opts_init(o, sizeof(*o));
	ret = xiscsi_opts_parse_url(o, f->file_name, lun);
	if (ret < 0) {
		log_err("xiscsi: %s: not an iSCSI URL (iscsi\\://host\\:port/iqn/lun)\n",
		        f->file_name);
		return ret;
	}
	if (eo->initiator)
		o->initiator_name = eo->initiator;
	if (eo->chap_user) {
		o->chap_user = eo->chap_user;
		o->chap_secret = eo->chap_secret;
	}
	if (eo->header_digest &&
	    (ret = xiscsi_opts_set(o, "HeaderDigest", eo->header_digest)) < 0) {
		log_err("xiscsi: header_digest=%s: %s\n", eo->header_digest, strerror(-ret));
		return ret;
	}
	if (eo->data_digest && (ret = xiscsi_opts_set(o, "DataDigest", eo->data_digest)) < 0) {
		log_err("xiscsi: data_digest=%s: %s\n", eo->data_digest, strerror(-ret));
		return ret;
	}
	/* Each session may carry the job's whole depth: with one session that
	 * is exact, with several the round-robin rarely fills any one. */
	o->queue_depth = td->o.iodepth ? td->o.iodepth : 1;
	return 0;
}

static int xio_login(struct thread_data *td, struct xiscsi_loop *loop, struct fio_file *f,
                     struct xiscsi_session **out, uint64_t *lun)
{
	struct xiscsi_opts o;
	struct xiscsi_session *s = NULL;
	int ret;

	ret = xio_opts(td, f, &o, lun);
	if (ret < 0)
		goto out;
	ret = xiscsi_session_new(loop, &o, &s);
	if (ret < 0) {
		log_err("xiscsi: %s: session: %s\n", f->file_name, strerror(-ret));
		goto out;
	}
	ret = xiscsi_session_connect_sync(s);
	if (ret < 0) {
		log_err("xiscsi: %s: login: %s\n", f->file_name, xiscsi_session_error(s));
		xiscsi_session_free(s);
		s = NULL;
		goto out;
	}
	*out = s;
out:
	xiscsi_opts_clear(&o);
	return ret;
}

static void xio_logout(struct xiscsi_session *s)
{
	if (xiscsi_session_state(s) == XISCSI_STATE_LOGGED_IN)
		xiscsi_session_logout_sync(s);
	xiscsi_session_free(s);
}

static struct xiscsi_loop *xio_loop_new(struct thread_data *td)
{
	struct xio_options *eo = td->eo;
	struct xiscsi_loop *loop;
	const char *name;
	int ret;

	/* transport_opts split at commas, then xdp_if and xdp_ip. */
	const char *opts[XIO_MAX_TOPTS + 3];
	char *list = NULL, *tok, *save = NULL, xif[48], xip[48];
	unsigned int n = 0;

	if (eo->transport_opts && *eo->transport_opts) {
		list = strdup(eo->transport_opts);
		if (!list)
			return NULL;
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (n == XIO_MAX_TOPTS) {
				log_err("xiscsi: transport_opts: more than %d options\n",
				        XIO_MAX_TOPTS);
				free(list);
				return NULL;
			}
			opts[n++] = tok;
		}
	}
	if (eo->xdp_if && *eo->xdp_if) {
		snprintf(xif, sizeof(xif), "xdp-if=%s", eo->xdp_if);
		opts[n++] = xif;
	}
	if (eo->xdp_ip && *eo->xdp_ip) {
		snprintf(xip, sizeof(xip), "xdp-ip=%s", eo->xdp_ip);
		opts[n++] = xip;
	}
	opts[n] = NULL;
	ret = xiscsi_loop_new_opts(eo->transport, n ? opts : NULL, &loop);
	free(list);
	if (ret == -EINVAL && n) {
		/* libxiscsi's log line above names the option. */
		log_err("xiscsi: bad or missing transport option (transport_opts, xdp_if, "
		        "xdp_ip)\n");
		return NULL;
	}
	if (ret < 0) {
		/* The library falls back on $XISCSI_TRANSPORT: name what it tried. */
		name = eo->transport ? eo->transport : getenv("XISCSI_TRANSPORT");
		log_err("xiscsi: transport %s: %s\n", name ? name : "(library default)",
		        ret == -ENOENT ? "no such backend in this libxiscsi" : strerror(-ret));
		return NULL;
	}
	return loop;
}

/* Runs in fio's parent process: log in once to read the capacity, then go. */
static int fio_xio_get_file_size(struct thread_data *td, struct fio_file *f)
{
	struct xiscsi_loop *loop;
	struct xiscsi_session *s = NULL;
	struct xiscsi_capacity cap;
	uint64_t lun = 0;
	int ret;

	if (fio_file_size_known(f))
		return 0;
	loop = xio_loop_new(td);
	if (!loop)
		return 1;
	ret = xio_login(td, loop, f, &s, &lun);
	if (ret < 0)
		goto out;
	ret = xiscsi_readcap16_sync(s, lun, &cap, NULL);
	if (ret < 0) {
		log_err("xiscsi: %s: READ CAPACITY(16): %s\n", f->file_name, strerror(-ret));
		goto out;
	}
	f->real_file_size = cap.blocks * cap.block_size;
	fio_file_set_size_known(f);
out:
	if (s)
		xio_logout(s);
	xiscsi_loop_free(loop);
	if (ret < 0)
		td_verror(td, -ret, "xiscsi get_file_size");
	return ret < 0 ? 1 : 0;
}

static int fio_xio_init(struct thread_data *td)
{
	struct xio_data *xd;

	xd = calloc(1, sizeof(*xd));
	if (!xd)
		return 1;
	xd->cap = td->o.iodepth ? td->o.iodepth : 1;
	xd->reap_min = ((struct xio_options *)td->eo)->reap_min;
	if (!xd->reap_min)
		xd->reap_min = xd->cap / 8;
	if (!xd->reap_min)
		xd->reap_min = 1;
	xd->done = calloc(xd->cap, sizeof(*xd->done));
	xd->loop = xio_loop_new(td);
	if (!xd->done || !xd->loop) {
		free(xd->done);
		if (xd->loop)
			xiscsi_loop_free(xd->loop);
		free(xd);
		return 1;
	}
	td->io_ops_data = xd;
	return 0;
}

static void fio_xio_cleanup(struct thread_data *td)
{
	struct xio_data *xd = td->io_ops_data;

	if (!xd)
		return;
	xiscsi_loop_free(xd->loop);
	free(xd->done);
	free(xd);
	td->io_ops_data = NULL;
}

static int fio_xio_open_file(struct thread_data *td, struct fio_file *f)
{
	struct xio_data *xd = td->io_ops_data;
	struct xio_options *eo = td->eo;
	struct xiscsi_capacity cap;
	struct xio_file *xf;
	unsigned int i;
	int ret;

	xf = calloc(1, sizeof(*xf));
	if (!xf)
		return ENOMEM;
	xf->nsess = eo->sessions ? eo->sessions : 1;
	for (i = 0; i < xf->nsess; i++) {
		ret = xio_login(td, xd->loop, f, &xf->sess[i], &xf->lun);
		if (ret < 0)
			goto fail;
	}
	ret = xiscsi_readcap16_sync(xf->sess[0], xf->lun, &cap, NULL);
	if (ret < 0) {
		log_err("xiscsi: %s: READ CAPACITY(16): %s\n", f->file_name, strerror(-ret));
		goto fail;
	}
	if (cap.block_size == 0) {
		ret = -EPROTO;
		goto fail;
	}
	xf->block_size = cap.block_size;
	FILE_SET_ENG_DATA(f, xf);
	return 0;
fail:
	for (i = 0; i < xf->nsess; i++)
		if (xf->sess[i])
			xio_logout(xf->sess[i]);
	free(xf);
	td_verror(td, -ret, "xiscsi open_file");
	return -ret;
}

static int fio_xio_close_file(struct thread_data *td, struct fio_file *f)
{
	struct xio_file *xf = FILE_ENG_DATA(f);
	unsigned int i;

	if (!xf)
		return 0;
	for (i = 0; i < xf->nsess; i++)
		xio_logout(xf->sess[i]);
	free(xf);
	FILE_SET_ENG_DATA(f, NULL);
	return 0;
}

static int fio_xio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct xio_req *rq;

	rq = calloc(1, sizeof(*rq));
	if (!rq)
		return 1;
	rq->io_u = io_u;
	io_u->engine_data = rq;
	return 0;
}

static void fio_xio_io_u_free(struct thread_data *td, struct io_u *io_u)
{
	free(io_u->engine_data);
	io_u->engine_data = NULL;
}

/*
 * Drop the io_us the last getevents() handed to fio. fio reads them all
 * through event() before it calls the engine again, and completions only
 * arrive inside our own polls, so any later entry may forget them.
 */
static void xio_forget_reaped(struct xio_data *xd)
{
	if (!xd->reaped)
		return;
	memmove(xd->done, xd->done + xd->reaped, (xd->ndone - xd->reaped) * sizeof(*xd->done));
	xd->ndone -= xd->reaped;
	xd->reaped = 0;
}

static void xio_done(struct xiscsi_cmd *cmd)
{
	struct xio_req *rq = cmd->priv;
	struct io_u *io_u = rq->io_u;
	struct xio_data *xd = rq->xd;
	char why[160];

	xio_forget_reaped(xd);
	if (xiscsi_cmd_ok(cmd)) {
		io_u->error = 0;
		/* A short transfer is not an error to SCSI; fio wants it as resid. */
		if (cmd->underflow)
			io_u->resid = cmd->residual;
	} else {
		log_err("xiscsi: %s at %llu: %s\n", io_u->ddir == DDIR_READ ? "read" : "write",
		        io_u->offset, xiscsi_cmd_strerror(cmd, why, sizeof(why)));
		io_u->error = cmd->result < 0 ? -cmd->result : EIO;
		io_u->resid = io_u->xfer_buflen;
	}
	xd->inflight--;
	if (xd->ndone < xd->cap)
		xd->done[xd->ndone++] = io_u;
	else
		log_err("xiscsi: more completions than iodepth %u; dropped one\n", xd->cap);
}

static enum fio_q_status fio_xio_queue(struct thread_data *td, struct io_u *io_u)
{
	struct xio_data *xd = td->io_ops_data;
	struct xio_file *xf = FILE_ENG_DATA(io_u->file);
	struct xio_req *rq = io_u->engine_data;
	struct xiscsi_cmd *cmd = &rq->cmd;
	struct xiscsi_session *s;
	uint64_t lba;
	uint32_t blocks;
	int ret;

	fio_ro_check(td, io_u);
	memset(cmd, 0, sizeof(*cmd));
	cmd->lun = xf->lun;
	cmd->cb = xio_done;
	cmd->priv = rq;
	rq->xd = xd;

	if (io_u->ddir == DDIR_READ || io_u->ddir == DDIR_WRITE) {
		if (io_u->offset % xf->block_size || io_u->xfer_buflen % xf->block_size ||
		    io_u->xfer_buflen > UINT32_MAX) {
			log_err("xiscsi: I/O at %llu of %llu bytes is not in whole %u-byte "
			        "blocks\n",
			        io_u->offset, io_u->xfer_buflen, xf->block_size);
			io_u->error = EINVAL;
			return FIO_Q_COMPLETED;
		}
		lba = io_u->offset / xf->block_size;
		blocks = io_u->xfer_buflen / xf->block_size;
		if (io_u->ddir == DDIR_READ)
			xiscsi_cdb_read16(cmd, lba, blocks, false);
		else
			xiscsi_cdb_write16(cmd, lba, blocks, false);
		xiscsi_cmd_set_buf(cmd, io_u->xfer_buf, io_u->xfer_buflen);
	} else if (ddir_sync(io_u->ddir)) {
		/* SBC-4 5.23: LBA 0 and 0 blocks cover the whole medium. */
		xiscsi_cdb_sync_cache16(cmd, 0, 0);
	} else {
		io_u->error = EINVAL;
		return FIO_Q_COMPLETED;
	}

	s = xf->sess[xf->next];
	xf->next = (xf->next + 1) % xf->nsess;
	ret = xiscsi_submit(s, cmd);
	if (ret < 0) {
		log_err("xiscsi: submit: %s (%s)\n", strerror(-ret), xiscsi_session_error(s));
		io_u->error = -ret;
		return FIO_Q_COMPLETED;
	}
	xd->inflight++;
	xd->unsent += io_u->xfer_buflen;
	return FIO_Q_QUEUED;
}

/*
 * Nothing to do here: the commands queue() gave the library leave in the
 * next getevents(). fio calls commit() after every queue() (iodepth_batch
 * is 1 by default) and getevents() only once the queue is full or it must
 * wait, so sending here cost a sendmsg() and an epoll_wait() per command;
 * left for getevents(), the whole batch goes in one sendmsg() (the
 * transport writes everything queued during one poll together). fio never
 * waits on I/O without calling getevents(), so nothing is held back.
 */
static int fio_xio_commit(struct thread_data *td)
{
	xio_forget_reaped(td->io_ops_data);
	return 0;
}

/*
 * How many completions getevents() waits for. fio asks for at least one
 * (iodepth_batch_complete_min) and refills what it gets, one command per
 * queue(); returning each completion alone locks the pair into a ping-pong
 * of one command per sendmsg(), one response per wakeup, where the system
 * calls and the wakeups cost more than the iSCSI work (the profile: most
 * of the initiator's time is syscall entry and exit). Waiting for a few
 * while many more are in flight keeps the target busy and lets both sides
 * batch: fio refills several at once, they leave in one sendmsg(), and the
 * target answers them in one. Never more than what is in flight, so it
 * cannot wait for what will not come; at iodepth < 16 it is fio's min.
 */
static unsigned int xio_want(const struct xio_data *xd, unsigned int min)
{
	unsigned int want = xd->reap_min;

	if (want > xd->inflight + xd->ndone)
		want = xd->inflight + xd->ndone;
	return want > min ? want : min;
}

static int fio_xio_getevents(struct thread_data *td, unsigned int min, unsigned int max,
                             const struct timespec *t)
{
	struct xio_data *xd = td->io_ops_data;
	struct timespec now, end = {0};
	bool leftovers;
	int ret, wait_ms;

	xio_forget_reaped(xd);
	if (t) {
		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += t->tv_sec;
		end.tv_nsec += t->tv_nsec;
		if (end.tv_nsec >= 1000000000L) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000L;
		}
	}
	/*
	 * Completions left from the last poll come first, with no poll at all:
	 * fio reaps one at a time (iodepth_batch_complete_max defaults to
	 * iodepth_batch_complete_min, 1) and queues one in between, so polling
	 * here every time would send each command alone. Held back until the
	 * leftovers run out, the refills leave together in the next poll.
	 */
	leftovers = xd->ndone && xd->ndone >= min;
	if (leftovers && xd->unsent < XIO_HOLD_BYTES) {
		xd->reaped = xd->ndone < max ? xd->ndone : max;
		return (int)xd->reaped;
	}
	/* Take what is ready even when min is 0: it costs one non-blocking poll. */
	xd->unsent = 0;
	ret = xiscsi_loop_poll(xd->loop, 0, 0);
	if (!leftovers) /* with leftovers this poll only flushes */
		min = xio_want(xd, min);
	while (ret >= 0 && xd->ndone < min) {
		wait_ms = -1;
		if (t) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			wait_ms = (int)((end.tv_sec - now.tv_sec) * 1000 +
			                (end.tv_nsec - now.tv_nsec) / 1000000);
			if (wait_ms <= 0)
				break;
		}
		ret = xiscsi_loop_poll(xd->loop, 0, wait_ms);
		if (ret == -EINTR)
			ret = 0;
	}
	if (ret < 0) {
		log_err("xiscsi: loop: %s\n", strerror(-ret));
		return ret;
	}
	xd->reaped = xd->ndone < max ? xd->ndone : max;
	return (int)xd->reaped;
}

static struct io_u *fio_xio_event(struct thread_data *td, int event)
{
	struct xio_data *xd = td->io_ops_data;

	return xd->done[event];
}

static int fio_xio_prep(struct thread_data *td, struct io_u *io_u)
{
	return 0;
}

/* fio looks this symbol up in the shared object it was told to load. */
struct ioengine_ops ioengine = {
        .name = "xiscsi",
        .version = FIO_IOOPS_VERSION,
        .flags = FIO_DISKLESSIO | FIO_NODISKUTIL,
        .init = fio_xio_init,
        .prep = fio_xio_prep,
        .queue = fio_xio_queue,
        .commit = fio_xio_commit,
        .getevents = fio_xio_getevents,
        .event = fio_xio_event,
        .cleanup = fio_xio_cleanup,
        .open_file = fio_xio_open_file,
        .close_file = fio_xio_close_file,
        .get_file_size = fio_xio_get_file_size,
        .io_u_init = fio_xio_io_u_init,
        .io_u_free = fio_xio_io_u_free,
        .options = options,
        .option_struct_size = sizeof(struct xio_options),
};
