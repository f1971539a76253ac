/*
 * libxiscsi's asynchronous API against a real target (URL in argv[1]):
 * many commands in flight with a queue deeper than the target's CmdSN
 * window, scattered iovec buffers both ways, NOP keep-alive across an idle
 * spell, LUN reset and ABORT TASK, logout. Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xiscsi/xiscsi.h>

#define NCMDS 512
#define BLK   512

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

struct io {
	struct xiscsi_cmd cmd;
	struct iovec iov[3];
	uint8_t *a, *b, *c; /* one 4 KiB block split 100 + 1000 + rest */
	int *done;
};

static void io_done(struct xiscsi_cmd *cmd)
{
	struct io *io = cmd->priv;

	(*io->done)++;
}

static int run_all(struct xiscsi_loop *loop, const int *done, int want)
{
	/* Bounded: 600 polls of at most 100 ms. */
	for (int i = 0; i < 600 && *done < want; i++)
		if (xiscsi_loop_poll(loop, 0, 100) < 0)
			return -1;
	return *done == want ? 0 : -1;
}

static void fill(struct io *io, unsigned seed)
{
	for (int k = 0; k < 3; k++)
		for (size_t j = 0; j < io->iov[k].iov_len; j++)
			((uint8_t *)io->iov[k].iov_base)[j] = (uint8_t)(seed * 7 + k * 31 + j);
}

static void tmf_cb(struct xiscsi_session *s, int response, void *arg)
{
	int *r = arg;

	*r = response;
}

int main(int argc, char **argv)
{
	struct xiscsi_loop *loop = NULL;
	struct xiscsi_session *s = NULL;
	struct xiscsi_opts o;
	struct xiscsi_session_info info;
	static struct io ios[NCMDS];
	uint64_t lun;
	int done = 0, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: ini-api URL\n");
		return 1;
	}
	xiscsi_opts_init(&o, sizeof(o));
	if (xiscsi_opts_parse_url(&o, argv[1], &lun)) {
		fprintf(stderr, "bad URL\n");
		return 1;
	}
	o.queue_depth = NCMDS; /* deeper than any target's window: the window must hold them */
	o.nop_interval_ms = 200;
	o.nop_timeout_ms = 2000;
	if (xiscsi_loop_new(NULL, &loop) || xiscsi_session_new(loop, &o, &s)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	rc = xiscsi_session_connect_sync(s);
	CHECK(rc == 0, "login: %s", xiscsi_session_error(s));
	if (rc)
		return 1;
	CHECK(xiscsi_session_info(s, &info) == 0, "session info");

	/* Writes from three scattered pieces per block, all submitted at once. */
	for (int i = 0; i < NCMDS; i++) {
		struct io *io = &ios[i];

		io->a = malloc(100);
		io->b = malloc(1000);
		io->c = malloc(4096 - 1100);
		io->iov[0] = (struct iovec){io->a, 100};
		io->iov[1] = (struct iovec){io->b, 1000};
		io->iov[2] = (struct iovec){io->c, 4096 - 1100};
		io->done = &done;
		fill(io, (unsigned)i);
		memset(&io->cmd, 0, sizeof(io->cmd));
		io->cmd.lun = lun;
		xiscsi_cdb_write16(&io->cmd, (uint64_t)i * 8, 8, false);
		io->cmd.iov = io->iov;
		io->cmd.iovcnt = 3;
		io->cmd.cb = io_done;
		io->cmd.priv = io;
		CHECK(xiscsi_submit(s, &io->cmd) == 0, "submit write %d", i);
	}
	CHECK(xiscsi_inflight(s) == NCMDS, "inflight %u", xiscsi_inflight(s));
	CHECK(run_all(loop, &done, NCMDS) == 0, "writes did not all complete (%d)", done);
	for (int i = 0; i < NCMDS; i++) {
		char why[200];

		CHECK(xiscsi_cmd_ok(&ios[i].cmd), "write %d: %s", i,
		      xiscsi_cmd_strerror(&ios[i].cmd, why, sizeof(why)));
	}

	/* Read them back into zeroed scattered buffers: Data-In crosses the pieces. */
	done = 0;
	for (int i = 0; i < NCMDS; i++) {
		struct io *io = &ios[i];

		memset(io->a, 0, 100);
		memset(io->b, 0, 1000);
		memset(io->c, 0, 4096 - 1100);
		memset(&io->cmd, 0, sizeof(io->cmd));
		io->cmd.lun = lun;
		xiscsi_cdb_read16(&io->cmd, (uint64_t)i * 8, 8, false);
		io->cmd.iov = io->iov;
		io->cmd.iovcnt = 3;
		io->cmd.cb = io_done;
		io->cmd.priv = io;
		CHECK(xiscsi_submit(s, &io->cmd) == 0, "submit read %d", i);
	}
	CHECK(run_all(loop, &done, NCMDS) == 0, "reads did not all complete (%d)", done);
	for (int i = 0; i < NCMDS; i++) {
		struct io want;
		uint8_t a[100], b[1000], c[4096 - 1100];

		want.iov[0] = (struct iovec){a, 100};
		want.iov[1] = (struct iovec){b, 1000};
		want.iov[2] = (struct iovec){c, sizeof(c)};
		fill(&want, (unsigned)i);
		CHECK(xiscsi_cmd_ok(&ios[i].cmd) && ios[i].cmd.data_len == 4096, "read %d", i);
		CHECK(!memcmp(a, ios[i].a, 100) && !memcmp(b, ios[i].b, 1000) &&
		              !memcmp(c, ios[i].c, sizeof(c)),
		      "read %d returned other data", i);
	}

	/* Idle for 1.5 s with NOP-Out every 200 ms: the session must stay up. */
	for (int i = 0; i < 15; i++)
		xiscsi_loop_poll(loop, 0, 100);
	CHECK(xiscsi_session_state(s) == XISCSI_STATE_LOGGED_IN, "idle session dropped: %s",
	      xiscsi_session_error(s));
	CHECK(xiscsi_tur_sync(s, lun, NULL) == 0, "TEST UNIT READY after idle");

	/* LUN reset answers "function complete"; the LUN works after it. */
	rc = xiscsi_lun_reset_sync(s, lun);
	CHECK(rc == XISCSI_TMF_COMPLETE, "LUN reset response %d", rc);
	{
		struct xiscsi_capacity cap;

		CHECK(xiscsi_readcap16_sync(s, lun, &cap, NULL) == 0, "capacity after reset");
	}

	/* ABORT TASK on a command in flight: both the TMF and the command end. */
	{
		int resp = -1000;

		done = 0;
		memset(&ios[0].cmd, 0, sizeof(ios[0].cmd));
		ios[0].cmd.lun = lun;
		xiscsi_cdb_read16(&ios[0].cmd, 0, 8, false);
		ios[0].cmd.iov = ios[0].iov;
		ios[0].cmd.iovcnt = 3;
		ios[0].cmd.cb = io_done;
		ios[0].cmd.priv = &ios[0];
		CHECK(xiscsi_submit(s, &ios[0].cmd) == 0, "submit for abort");
		rc = xiscsi_abort_task(s, &ios[0].cmd, tmf_cb, &resp);
		CHECK(rc == 0 || rc == -ENOENT, "abort task: %d", rc);
		for (int i = 0; i < 50 && (done < 1 || (rc == 0 && resp == -1000)); i++)
			xiscsi_loop_poll(loop, 0, 100);
		CHECK(done == 1, "aborted command never completed");
		CHECK(rc != 0 || resp == XISCSI_TMF_COMPLETE || resp == XISCSI_TMF_NO_TASK,
		      "abort response %d", resp);
	}

	/*
	 * Another event loop drives ours: poll(2) on xiscsi_loop_fd(), then a
	 * non-blocking xiscsi_loop_poll(), until a read completes.
	 */
	{
		int fd = xiscsi_loop_fd(loop);

		CHECK(fd >= 0 || fd == -ENOTSUP, "loop fd: %d", fd);
		if (fd >= 0) {
			done = 0;
			memset(&ios[1].cmd, 0, sizeof(ios[1].cmd));
			ios[1].cmd.lun = lun;
			xiscsi_cdb_read16(&ios[1].cmd, 8, 8, false);
			ios[1].cmd.iov = ios[1].iov;
			ios[1].cmd.iovcnt = 3;
			ios[1].cmd.cb = io_done;
			ios[1].cmd.priv = &ios[1];
			CHECK(xiscsi_submit(s, &ios[1].cmd) == 0, "submit under poll(2)");
			for (int i = 0; i < 200 && done < 1; i++) {
				struct pollfd pfd = {.fd = fd, .events = POLLIN};
				int t = xiscsi_loop_next_timeout_ms(loop);

				poll(&pfd, 1, t < 0 || t > 50 ? 50 : t);
				xiscsi_loop_poll(loop, 0, 0);
			}
			CHECK(done == 1 && xiscsi_cmd_ok(&ios[1].cmd),
			      "read driven by an outside poll(2) did not complete");
		}
	}

	CHECK(xiscsi_session_logout_sync(s) == 0, "logout");
	CHECK(xiscsi_session_state(s) == XISCSI_STATE_CLOSED, "state after logout");
	{
		struct xiscsi_cmd c;

		memset(&c, 0, sizeof(c));
		xiscsi_cdb_tur(&c);
		c.cb = io_done;
		CHECK(xiscsi_submit(s, &c) == -ENOTCONN, "submit after logout accepted");
	}
	xiscsi_session_free(s);
	xiscsi_loop_free(loop);
	xiscsi_opts_clear(&o);
	for (int i = 0; i < NCMDS; i++) {
		free(ios[i].a);
		free(ios[i].b);
		free(ios[i].c);
	}
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	else
		printf("libxiscsi async API: all checks passed\n");
	return failures ? 1 : 0;
}
