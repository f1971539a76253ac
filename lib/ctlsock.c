#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, struct ucred */
#endif
#include "lib/ctlsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"

#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

static int make_dir(const char *path, char *err, size_t errlen)
{
	char dir[SUN_PATH_MAX];
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

int xi_ctl_listen(const char *path, int sock_flags, int backlog, const char *who, char *err,
                  size_t errlen)
{
	struct sockaddr_un sa;
	int rc, probe, fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	rc = make_dir(path, err, errlen);
	if (rc)
		return rc;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A socket file left by a dead daemon is replaced; a live one is not. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (!connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
			close(probe);
			snprintf(err, errlen, "control socket %s is in use by another %s", path,
			         who);
			return -EADDRINUSE;
		}
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | sock_flags, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return rc;
	}
	/* The mode of the socket inode is what bind() gives the file: 0600
	 * from the start, with no window where another user could connect. */
	if (fchmod(fd, 0600) || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
	    listen(fd, backlog)) {
		rc = -errno;
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

/* SO_PEERCRED: root, or the user the daemon runs as. */
static bool peer_allowed(int fd, uid_t *uid)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) || len != sizeof(uc))
		return false;
	*uid = uc.uid;
	return uc.uid == 0 || uc.uid == geteuid();
}

int xi_ctl_accept(int lfd, int flags, const char *denied_code)
{
	struct timeval tv = {.tv_sec = XI_CTL_SEND_TIMEOUT_S};
	char line[160];
	uid_t uid = 0;
	int fd;

	fd = accept4(lfd, NULL, NULL, flags);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!peer_allowed(fd, &uid)) {
		log_warn("control: connection from uid %u refused", (unsigned)uid);
		snprintf(line, sizeof(line),
		         "{\"ok\":false,\"error\":\"permission denied: only root or the daemon's "
		         "user may administer\",\"code\":\"%s\"}",
		         denied_code);
		xi_ctl_send_line(fd, line);
		close(fd);
		return -EACCES;
	}
	return fd;
}

int xi_ctl_send_line(int fd, const char *s)
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

ssize_t xi_ctl_lines_recv(int fd, struct xi_ctl_lines *b)
{
	ssize_t n = recv(fd, b->buf + b->len, b->cap - b->len, 0);

	if (n < 0)
		return -errno;
	b->len += (size_t)n;
	return n;
}

int xi_ctl_lines_each(struct xi_ctl_lines *b, int (*fn)(void *arg, const char *line, size_t len),
                      void *arg)
{
	size_t start = 0;
	char *nl;
	int rc = 0;

	while (!rc && (nl = memchr(b->buf + start, '\n', b->len - start))) {
		size_t ll = (size_t)(nl - (b->buf + start));

		if (ll && b->buf[start + ll - 1] == '\r')
			ll--;
		if (ll)
			rc = fn(arg, b->buf + start, ll);
		start = (size_t)(nl - b->buf) + 1;
	}
	memmove(b->buf, b->buf + start, b->len - start);
	b->len -= start;
	return rc;
}
