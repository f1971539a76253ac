/*
 * Control socket server: accept, check the peer's credentials, read lines,
 * answer each with tgt_admin_exec(). poll() over at most
 * TGT_CTL_CLIENTS_MAX clients and a pipe that says stop.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, struct ucred */
#endif
#include "target/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "target/admin.h"

/* A client that does not read its replies is dropped after this long, so
 * that it cannot hold the control thread. */
#define TGT_CTL_SEND_TIMEOUT_S 5

struct ctl_client {
	int fd;
	size_t len;
	char *buf; /* TGT_ADMIN_REQUEST_MAX bytes */
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
	c->len = 0;
}

/* Whole reply or nothing: a short write ends the client. */
static int send_line(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;
	int tries = 0;

	while (off < len + 1 && tries++ < 1024) {
		const char *p = off < len ? s + off : "\n";
		size_t n = off < len ? len - off : 1;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)w;
	}
	return off == len + 1 ? 0 : -EIO;
}

static int send_error(int fd, const char *msg)
{
	char line[512];

	snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"%s\",\"code\":\"invalid\"}", msg);
	return send_line(fd, line);
}

/* SO_PEERCRED: root, or the user the daemon runs as. */
static bool peer_allowed(int fd, uid_t *uid_out)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) || len != sizeof(uc))
		return false;
	*uid_out = uc.uid;
	return uc.uid == 0 || uc.uid == geteuid();
}

static void ctl_accept(struct tgt_ctl *ctl)
{
	struct timeval tv = {.tv_sec = TGT_CTL_SEND_TIMEOUT_S};
	uid_t uid = 0;
	int fd, i;

	fd = accept4(ctl->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!peer_allowed(fd, &uid)) {
		log_warn("control: connection from uid %u refused", (unsigned)uid);
		send_error(fd, "permission denied: only root or the daemon's user may administer");
		close(fd);
		return;
	}
	for (i = 0; i < TGT_CTL_CLIENTS_MAX; i++)
		if (ctl->clients[i].fd < 0)
			break;
	if (i == TGT_CTL_CLIENTS_MAX) {
		send_error(fd, "too many control connections; try again later");
		close(fd);
		return;
	}
	ctl->clients[i].fd = fd;
	ctl->clients[i].len = 0;
}

/* Read what is there and answer every complete line. */
static void ctl_read(struct tgt_ctl *ctl, struct ctl_client *c)
{
	ssize_t n;
	char *nl;
	size_t start = 0;

	n = recv(c->fd, c->buf + c->len, TGT_ADMIN_REQUEST_MAX - c->len, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	while ((nl = memchr(c->buf + start, '\n', c->len - start))) {
		size_t ll = (size_t)(nl - (c->buf + start));
		char *reply;

		if (ll && c->buf[start + ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			start = (size_t)(nl - c->buf) + 1;
			continue;
		}
		reply = tgt_admin_exec(ctl->d, c->buf + start, ll);
		if (!reply || send_line(c->fd, reply)) {
			free(reply);
			client_close(c);
			return;
		}
		free(reply);
		start = (size_t)(nl - c->buf) + 1;
	}
	memmove(c->buf, c->buf + start, c->len - start);
	c->len -= start;
	if (c->len == TGT_ADMIN_REQUEST_MAX) {
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

static int make_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (!stat(dir, &st))
		return 0;
	/* 0700: only the daemon's user reaches the socket, whatever its mode. */
	if (mkdir(dir, 0700) && errno != EEXIST) {
		int rc = -errno;

		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return rc;
	}
	return 0;
}

int tgt_ctl_start(struct tgt_daemon *d, const char *path, struct tgt_ctl **out, char *err,
                  size_t errlen)
{
	struct tgt_ctl *ctl;
	struct sockaddr_un sa;
	int rc, i, probe;

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
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
		ctl->clients[i].buf = malloc(TGT_ADMIN_REQUEST_MAX);
		if (!ctl->clients[i].buf) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	rc = make_dir(path, err, errlen);
	if (rc)
		goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A socket file left by a dead daemon is replaced; a live one is not. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (!connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
			close(probe);
			snprintf(err, errlen, "control socket %s is in use by another daemon",
			         path);
			rc = -EADDRINUSE;
			goto fail;
		}
		close(probe);
	}
	unlink(path);
	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl->lfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto fail;
	}
	/* The mode of the socket inode is what bind() gives the file: 0600
	 * from the start, with no window where another user could connect. */
	if (fchmod(ctl->lfd, 0600) || bind(ctl->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0600) || listen(ctl->lfd, TGT_CTL_CLIENTS_MAX)) {
		rc = -errno;
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		goto fail;
	}
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
		free(ctl->clients[i].buf);
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
		free(ctl->clients[i].buf);
	}
	close(ctl->lfd);
	close(ctl->stop_pipe[0]);
	close(ctl->stop_pipe[1]);
	unlink(ctl->path);
	free(ctl);
}
