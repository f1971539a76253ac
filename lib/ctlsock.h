/*
 * What xtgtd's and xiscsid's control sockets share: a unix stream socket,
 * mode 0600 in a 0700 directory, a stale socket file replaced and a live
 * one left alone; peers checked with SO_PEERCRED (root or the daemon's
 * user); one request per line in, one reply per line out. The daemons keep
 * their own loops and their own JSON.
 */
#ifndef XI_LIB_CTLSOCK_H
#define XI_LIB_CTLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A client that does not read its replies is dropped after this long. */
#define XI_CTL_SEND_TIMEOUT_S 5

/* Create and listen on path (sock_flags: extra SOCK_* flags for the
 * listening socket). "who" names the daemon in the in-use error. Returns
 * the descriptor or -errno with err filled. */
int xi_ctl_listen(const char *path, int sock_flags, int backlog, const char *who, char *err,
                  size_t errlen);

/* Accept one peer (accept4 flags), give it a send timeout and check its
 * credentials. A refused peer is told so, with denied_code as "code", and
 * closed. Returns the descriptor or -errno (-EACCES when refused). */
int xi_ctl_accept(int lfd, int flags, const char *denied_code);

/* Write s and a newline: the whole line or an error (-errno, -EIO). */
int xi_ctl_send_line(int fd, const char *s);

/* A client's bytes not yet answered; buf holds cap bytes. */
struct xi_ctl_lines {
	char *buf;
	size_t len, cap;
};

/* Receive what fd has into b: bytes read, 0 at end of stream or -errno. */
ssize_t xi_ctl_lines_recv(int fd, struct xi_ctl_lines *b);

/* Call fn for each complete line (newline and a CR before it dropped, empty
 * lines skipped) until fn returns nonzero, then keep what was not taken.
 * Returns what fn last returned, or 0. */
int xi_ctl_lines_each(struct xi_ctl_lines *b, int (*fn)(void *arg, const char *line, size_t len),
                      void *arg);

/* A full buffer with no newline in it: the line is over the limit. */
static inline bool xi_ctl_lines_full(const struct xi_ctl_lines *b)
{
	return b->len == b->cap;
}

#endif
