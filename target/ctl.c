/*
 * Control socket server: accept, check the peer's credentials, read lines,
 * answer each with tgt_admin_exec(). poll() over at most
 * TGT_CTL_CLIENTS_MAX clients and a pipe that says stop.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include "target/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/ctlsock.h"
#include "lib/log.h"
#include "target/admin.h"

struct ctl_client {
	int fd;
	struct xi_ctl_lines in; /* TGT_ADMIN_REQUEST_MAX bytes */
};

struct tgt_ctl {
	struct tgt_daemon *d;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	int stop_pipe[2];
	pthread_t tid;
	struct ctl_client clients[TGT_CTL_CLIENTS_MAX];
};

static void client_close(struct ctl_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->in.len = 0;
}

static int send_error(int fd, const char *msg)
{
	char line[512];

	snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"%s\",\"code\":\"invalid\"}", msg);
	return xi_ctl_send_line(fd, line);
}

static void ctl_accept(struct tgt_ctl *ctl)
{
	int fd, i;

	/* The control socket's codes (man/xtgtd.8) have no "denied". */
	fd = xi_ctl_accept(ctl->lfd, SOCK_CLOEXEC, "invalid");
	if (fd < 0)
		return;
	for (i = 0; i < TGT_CTL_CLIENTS_MAX; i++)
		if (ctl->clients[i].fd < 0)
			break;
	if (i == TGT_CTL_CLIENTS_MAX) {
		send_error(fd, "too many control connections; try again later");
		close(fd);
		return;
	}
	ctl->clients[i].fd = fd;
	ctl->clients[i].in.len = 0;
}

struct ctl_line_ctx {
	struct tgt_ctl *ctl;
	struct ctl_client *c;
};

/* One request: the reply goes at once; a failed write ends the client. */
static int ctl_line(void *arg, const char *line, size_t len)
{
	struct ctl_line_ctx *x = arg;
	char *reply = tgt_admin_exec(x->ctl->d, line, len);
	int rc = !reply || xi_ctl_send_line(x->c->fd, reply) ? -EIO : 0;

	free(reply);
	return rc;
}

/* Read what is there and answer every complete line. */
static void ctl_read(struct tgt_ctl *ctl, struct ctl_client *c)
{
	struct ctl_line_ctx x = {.ctl = ctl, .c = c};
	ssize_t n = xi_ctl_lines_recv(c->fd, &c->in);

	if (n <= 0) {
		if (n == -EINTR || n == -EAGAIN)
			return;
		client_close(c);
		return;
	}
	if (xi_ctl_lines_each(&c->in, ctl_line, &x)) {
		client_close(c);
		return;
	}
	if (xi_ctl_lines_full(&c->in)) {
		char msg[128];

		snprintf(msg, sizeof(msg), "request too large (limit %d bytes per line)",
		         TGT_ADMIN_REQUEST_MAX);
		send_error(c->fd, msg);
		client_close(c);
	}
}

static void *ctl_main(void *arg)
{
	struct tgt_ctl *ctl = arg;
	struct pollfd pfd[2 + TGT_CTL_CLIENTS_MAX];
	int map[2 + TGT_CTL_CLIENTS_MAX];

	for (;;) {
		nfds_t n = 0, k;
		int i;

		pfd[n++] = (struct pollfd){.fd = ctl->stop_pipe[0], .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = ctl->lfd, .events = POLLIN};
		for (i = 0; i < TGT_CTL_CLIENTS_MAX; i++) {
			if (ctl->clients[i].fd < 0)
				continue;
			map[n] = i;
			pfd[n++] = (struct pollfd){.fd = ctl->clients[i].fd, .events = POLLIN};
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("control: poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		for (k = 2; k < n; k++)
			if (pfd[k].revents)
				ctl_read(ctl, &ctl->clients[map[k]]);
		if (pfd[1].revents & POLLIN)
			ctl_accept(ctl);
	}
	return NULL;
}

int tgt_ctl_start(struct tgt_daemon *d, const char *path, struct tgt_ctl **out, char *err,
                  size_t errlen)
{
	struct tgt_ctl *ctl;
	int rc, i;

	*out = NULL;
	if (strlen(path) >= sizeof(ctl->path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->d = d;
	ctl->lfd = ctl->stop_pipe[0] = ctl->stop_pipe[1] = -1;
	for (i = 0; i < TGT_CTL_CLIENTS_MAX; i++) {
		ctl->clients[i].fd = -1;
		ctl->clients[i].in.cap = TGT_ADMIN_REQUEST_MAX;
		ctl->clients[i].in.buf = malloc(TGT_ADMIN_REQUEST_MAX);
		if (!ctl->clients[i].in.buf) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	rc = xi_ctl_listen(path, 0, TGT_CTL_CLIENTS_MAX, "daemon", err, errlen);
	if (rc < 0)
		goto fail;
	ctl->lfd = rc;
	if (pipe2(ctl->stop_pipe, O_CLOEXEC)) {
		rc = -errno;
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto fail_unlink;
	}
	rc = pthread_create(&ctl->tid, NULL, ctl_main, ctl);
	if (rc) {
		rc = -rc;
		snprintf(err, errlen, "control thread: %s", strerror(-rc));
		goto fail_unlink;
	}
	*out = ctl;
	return 0;
fail_unlink:
	unlink(path);
fail:
	if (ctl->lfd >= 0)
		close(ctl->lfd);
	for (i = 0; i < 2; i++)
		if (ctl->stop_pipe[i] >= 0)
			close(ctl->stop_pipe[i]);
	for (i = 0; i < TGT_CTL_CLIENTS_MAX; i++)
		free(ctl->clients[i].in.buf);
	free(ctl);
	return rc;
}

void tgt_ctl_stop(struct tgt_ctl *ctl)
{
	int i;

	if (!ctl)
		return;
	if (write(ctl->stop_pipe[1], "x", 1) == 1)
		pthread_join(ctl->tid, NULL);
	for (i = 0; i < TGT_CTL_CLIENTS_MAX; i++) {
		client_close(&ctl->clients[i]);
		free(ctl->clients[i].in.buf);
	}
	close(ctl->lfd);
	close(ctl->stop_pipe[0]);
	close(ctl->stop_pipe[1]);
	unlink(ctl->path);
	free(ctl);
}
