/*
 * xiscsid's control socket: a unix stream socket, mode 0600 in a 0700
 * directory, peers checked with SO_PEERCRED (root or the daemon's user),
 * one JSON object per line each way, as xtgtd's:
 *
 *   {"cmd":"login","args":{"record":{"node.name":...},"options":{...}}}
 *   {"ok":true,"result":...}  or  {"ok":false,"error":"...","code":"..."}
 *
 * A login, logout or rescan answers when the session has finished it;
 * meanwhile that client's further lines wait (the others go on).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "initiator/xiscsid.h"
#include "lib/log.h"

#define XD_REQUEST_MAX 65536
#define XD_CLIENTS_MAX 64

static void client_free(struct xd_client *c)
{
	struct xd_daemon *d = c->d;
	struct xd_client **pp;

	/* Sessions that owed this client a reply now owe nobody. */
	for (struct xd_sess *s = d->sessions; s; s = s->next) {
		if (s->wait_login == c)
			s->wait_login = NULL;
		if (s->wait_logout == c)
			s->wait_logout = NULL;
		if (s->wait_rescan == c)
			s->wait_rescan = NULL;
	}
	for (pp = &d->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	d->nclients--;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	/* Unread bytes at close() reset the connection, and the peer would lose
	 * the error just sent: take what is there first (bounded). */
	for (int i = 0; i < 64 && recv(c->fd, c->in.buf, XD_REQUEST_MAX, MSG_DONTWAIT) > 0; i++)
		;
	close(c->fd);
	free(c->in.buf);
	free(c);
}

static void send_json(struct xd_client *c, json_t *reply)
{
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	if (!text || xi_ctl_send_line(c->fd, text))
		c->dead = true;
	free(text);
	json_decref(reply);
}

static void client_lines(struct xd_client *c);

static json_t *error_json(const char *code, const char *msg)
{
	json_t *r = json_pack("{s:b,s:s,s:s}", "ok", 0, "error", msg, "code", code);

	/* A message that is not UTF-8 (a name from the wire) still gets a reply. */
	return r ? r
	         : json_pack("{s:b,s:s,s:s}", "ok", 0, "error", "(unprintable error)", "code",
	                     code);
}

void xd_client_reply(struct xd_client *c, json_t *result, const char *code, const char *err)
{
	if (err)
		send_json(c, error_json(code ? code : "failed", err));
	else
		send_json(c, json_pack("{s:b,s:o}", "ok", 1, "result",
		                       result ? result : json_object()));
	c->waiting = false;
	c->resume = true; /* lines that came meanwhile: xd_ctl_resume() */
	if (c->dead)
		client_free(c);
}

void xd_ctl_resume(struct xd_daemon *d)
{
	bool again = true;

	/* A line may free its client or start another wait: rescan each time. */
	while (again) {
		again = false;
		for (struct xd_client *c = d->clients; c; c = c->next) {
			if (!c->resume)
				continue;
			c->resume = false;
			client_lines(c);
			if (c->dead)
				client_free(c);
			again = true;
			break;
		}
	}
}

static unsigned arg_sid(json_t *args, const char **err)
{
	json_t *v = json_object_get(args, "sid");

	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX) {
		*err = "\"sid\" must be a positive integer";
		return 0;
	}
	return (unsigned)json_integer_value(v);
}

/* A record from target, portal and transport when the request has no "record". */
static json_t *record_from_args(json_t *args, const char **err)
{
	json_t *rec = json_object_get(args, "record");
	const char *target, *host, *transport;
	json_t *port;
	char num[16];

	if (rec) {
		if (!json_is_object(rec)) {
			*err = "\"record\" must be an object of strings";
			return NULL;
		}
		return json_incref(rec);
	}
	target = json_string_value(json_object_get(args, "target"));
	host = json_string_value(json_object_get(args, "address"));
	port = json_object_get(args, "port");
	transport = json_string_value(json_object_get(args, "transport"));
	if (!target || !host) {
		*err = "login needs \"record\", or \"target\" and \"address\"";
		return NULL;
	}
	if (port && (!json_is_integer(port) || json_integer_value(port) < 1 ||
	             json_integer_value(port) > 65535)) {
		*err = "\"port\" must be 1..65535";
		return NULL;
	}
	snprintf(num, sizeof(num), "%d", port ? (int)json_integer_value(port) : 3260);
	rec = json_pack("{s:s,s:s,s:s}", "node.name", target, "node.conn[0].address", host,
	                "node.conn[0].port", num);
	if (rec && transport)
		json_object_set_new(rec, "iface.transport_name", json_string(transport));
	return rec;
}

static json_t *cmd_login(struct xd_client *c, json_t *args, const char **code, char *err,
                         size_t errlen)
{
	const char *e = NULL;
	json_t *rec = record_from_args(args, &e);
	json_t *options = json_object_get(args, "options");
	int rc;

	if (!rec) {
		snprintf(err, errlen, "%s", e ? e : "out of memory");
		*code = "invalid";
		return NULL;
	}
	if (options && !json_is_object(options)) {
		json_decref(rec);
		snprintf(err, errlen, "\"options\" must be an object of strings");
		*code = "invalid";
		return NULL;
	}
	rc = xd_sess_login(c->d, rec, options,
	                   json_string_value(json_object_get(args, "initiator_name")), c, err,
	                   errlen);
	json_decref(rec);
	if (rc) {
		*code = rc == -EEXIST ? "exists" : rc == -ENOMEM ? "internal" : "invalid";
		return NULL;
	}
	c->waiting = true;
	return NULL;
}

static struct xd_sess *sess_arg(struct xd_client *c, json_t *args, const char **code, char *err,
                                size_t errlen)
{
	const char *e = NULL;
	unsigned sid = arg_sid(args, &e);
	struct xd_sess *s;

	if (!sid) {
		snprintf(err, errlen, "%s", e);
		*code = "invalid";
		return NULL;
	}
	s = xd_sess_find(c->d, sid);
	if (!s) {
		snprintf(err, errlen, "no session with SID %u", sid);
		*code = "not_found";
	}
	return s;
}

static json_t *cmd_logout(struct xd_client *c, json_t *args, const char **code, char *err,
                          size_t errlen)
{
	struct xd_sess *s = sess_arg(c, args, code, err, errlen);
	int rc;

	if (!s)
		return NULL;
	rc = xd_sess_logout(s, c);
	if (rc) {
		snprintf(err, errlen, "session %u is already logging out", s->sid);
		*code = "busy";
		return NULL;
	}
	c->waiting = true;
	return NULL;
}

static json_t *cmd_rescan(struct xd_client *c, json_t *args, const char **code, char *err,
                          size_t errlen)
{
	struct xd_sess *s = sess_arg(c, args, code, err, errlen);
	int rc;

	if (!s)
		return NULL;
	rc = xd_sess_rescan(s, c);
	if (rc) {
		snprintf(err, errlen, "session %u cannot rescan now: %s", s->sid,
		         rc == -EBUSY      ? "a rescan or a logout is under way"
		         : rc == -ENOTCONN ? "it failed (reconnect gave up); log it out"
		                           : strerror(-rc));
		*code = "busy";
		return NULL;
	}
	c->waiting = true;
	return NULL;
}

static json_t *cmd_session_list(struct xd_client *c, json_t *args, const char **code, char *err,
                                size_t errlen)
{
	json_t *arr = json_array();
	unsigned n = 0, i = 0;
	struct xd_sess **v;

	(void)args;
	(void)code;
	(void)err;
	(void)errlen;
	for (struct xd_sess *s = c->d->sessions; s; s = s->next)
		n++;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v || !arr) {
		free(v);
		json_decref(arr);
		return NULL;
	}
	/* Sessions are kept newest first; list them by SID. */
	for (struct xd_sess *s = c->d->sessions; s; s = s->next)
		v[n - 1 - i++] = s;
	for (i = 0; i < n; i++)
		json_array_append_new(arr, xd_sess_json(v[i]));
	free(v);
	return arr;
}

static int iface_one(const struct noderec_iface *f, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s,s:s,s:s,s:I,s:s}", "name", f->name, "transport",
	                                     f->transport, "net_ifacename", f->netdev, "queue",
	                                     (json_int_t)f->queue, "ipaddress", f->ipaddress));
	return 0;
}

static json_t *cmd_iface_list(struct xd_client *c, json_t *args, const char **code, char *err,
                              size_t errlen)
{
	static const char *const names[] = {"tcp", "uring", "xdp"};
	json_t *ifaces = json_array(), *tr = json_array();
	struct noderec_iface def;
	int n;

	(void)args;
	noderec_iface_load(c->d->root, "default", &def);
	iface_one(&def, ifaces);
	n = noderec_iface_foreach(c->d->root, iface_one, ifaces);
	if (n < 0) {
		json_decref(ifaces);
		json_decref(tr);
		snprintf(err, errlen, "reading %s/ifaces: %s", c->d->root, strerror(-n));
		*code = "internal";
		return NULL;
	}
	for (size_t i = 0; i < 3; i++) {
		const char *why = xiscsi_transport_why(names[i]);

		json_array_append_new(tr, json_pack("{s:s,s:b,s:s?}", "name", names[i], "usable",
		                                    why == NULL, "why", why));
	}
	return json_pack("{s:o,s:o}", "ifaces", ifaces, "transports", tr);
}

static json_t *cmd_status(struct xd_client *c, json_t *args, const char **code, char *err,
                          size_t errlen)
{
	unsigned n = 0;

	(void)args;
	(void)code;
	(void)err;
	(void)errlen;
	for (struct xd_sess *s = c->d->sessions; s; s = s->next)
		n++;
	return json_pack("{s:i,s:s,s:s,s:s,s:s,s:i}", "pid", (int)getpid(), "version",
	                 xiscsi_version(), "root", c->d->root, "rundir", c->d->rundir,
	                 "initiator_name", c->d->initiator_name, "sessions", (int)n);
}

static const struct {
	const char *name;
	json_t *(*fn)(struct xd_client *c, json_t *args, const char **code, char *err,
	              size_t errlen);
} cmds[] = {
        {"login", cmd_login},
        {"logout", cmd_logout},
        {"session.list", cmd_session_list},
        {"session.rescan", cmd_rescan},
        {"iface.list", cmd_iface_list},
        {"status", cmd_status},
};

static void client_exec(struct xd_client *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *root, *args, *result;
	const char *cmd, *code = "internal";
	char err[512] = "out of memory";

	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, sizeof(err), "malformed JSON at column %d: %s", jerr.column,
		         jerr.text);
		send_json(c, error_json("invalid", err));
		return;
	}
	cmd = json_string_value(json_object_get(root, "cmd"));
	args = json_object_get(root, "args");
	if (!json_is_object(root) || !cmd || (args && !json_is_object(args))) {
		send_json(c, error_json("invalid", "request must be an object with a string "
		                                   "\"cmd\" and an object \"args\""));
		json_decref(root);
		return;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		json_t *empty;

		if (strcmp(cmds[i].name, cmd))
			continue;
		empty = json_object();
		result = cmds[i].fn(c, args ? args : empty, &code, err, sizeof(err));
		json_decref(empty);
		json_decref(root);
		if (c->waiting)
			return; /* the session answers */
		if (result)
			send_json(c, json_pack("{s:b,s:o}", "ok", 1, "result", result));
		else
			send_json(c, error_json(code, err));
		return;
	}
	snprintf(err, sizeof(err), "unknown command '%.200s'", cmd);
	json_decref(root);
	send_json(c, error_json("invalid", err));
}

static int client_line(void *arg, const char *line, size_t len)
{
	struct xd_client *c = arg;

	client_exec(c, line, len);
	return c->waiting || c->dead;
}

/* Answer every complete line that is buffered, unless a reply is owed. */
static void client_lines(struct xd_client *c)
{
	if (!c->waiting && !c->dead)
		xi_ctl_lines_each(&c->in, client_line, c);
}

static void client_event(struct xi_evh *h, uint32_t events)
{
	struct xd_client *c = (struct xd_client *)h;
	ssize_t n;

	if (c->waiting) {
		/* Keep its lines for later, but notice when it hangs up. */
		if (events & (EPOLLHUP | EPOLLERR))
			client_free(c);
		return;
	}
	n = xi_ctl_lines_recv(c->fd, &c->in);
	if (n <= 0) {
		if (n == -EINTR || n == -EAGAIN)
			return;
		client_free(c);
		return;
	}
	client_lines(c);
	if (!c->dead && !c->waiting && xi_ctl_lines_full(&c->in)) {
		send_json(c, error_json("invalid", "request too large (limit 65536 bytes a line)"));
		c->dead = true;
	}
	if (c->dead)
		client_free(c);
}

static void ctl_accept(struct xi_evh *h, uint32_t events)
{
	struct xd_daemon *d = (struct xd_daemon *)((char *)h - offsetof(struct xd_daemon, lfd_evh));
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
	struct xd_client *c;
	int fd;

	(void)events;
	fd = xi_ctl_accept(d->lfd, SOCK_CLOEXEC | SOCK_NONBLOCK, "denied");
	if (fd < 0)
		return;
	/* Replies are written blocking (with SO_SNDTIMEO): one JSON line each. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	c = calloc(1, sizeof(*c));
	if (c) {
		c->in.cap = XD_REQUEST_MAX;
		c->in.buf = malloc(XD_REQUEST_MAX);
	}
	if (!c || !c->in.buf || d->nclients >= XD_CLIENTS_MAX) {
		xi_ctl_send_line(fd, "{\"ok\":false,\"error\":\"too many control connections\","
		                     "\"code\":\"busy\"}");
		if (c)
			free(c->in.buf);
		free(c);
		close(fd);
		return;
	}
	c->d = d;
	c->fd = fd;
	c->evh.fn = client_event;
	ev.data.ptr = &c->evh;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c->in.buf);
		free(c);
		close(fd);
		return;
	}
	c->next = d->clients;
	d->clients = c;
	d->nclients++;
}

int xd_ctl_start(struct xd_daemon *d, char *err, size_t errlen)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int rc;

	d->lfd = xi_ctl_listen(d->sock, SOCK_NONBLOCK, 16, "xiscsid", err, errlen);
	if (d->lfd < 0) {
		rc = d->lfd;
		d->lfd = -1;
		return rc;
	}
	d->lfd_evh.fn = ctl_accept;
	ev.data.ptr = &d->lfd_evh;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->lfd, &ev) < 0) {
		rc = -errno;
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		close(d->lfd);
		d->lfd = -1;
		unlink(d->sock);
		return rc;
	}
	return 0;
}

void xd_ctl_stop(struct xd_daemon *d)
{
	while (d->clients)
		client_free(d->clients);
	if (d->lfd >= 0) {
		close(d->lfd);
		unlink(d->sock);
		d->lfd = -1;
	}
}
