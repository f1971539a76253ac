/*
 * xiscsiadm's session side: login, logout, -m session and -m iface. Sessions
 * live in xiscsid; this file speaks its control socket (one JSON line each
 * way) and prints what it answers in iscsiadm's layouts.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "initiator/noderec.h"
#include "initiator/xiscsiadm.h"
#include "lib/names.h"

static const char *prog = "xiscsiadm";

struct ctl {
	const char *path;
	int fd;
	FILE *in;
};

static int ctl_open(struct ctl *c, const struct opts *o, const char *why)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	c->path = o->socket;
	c->in = NULL;
	if (strlen(o->socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: control socket path too long: %s\n", prog, o->socket);
		return ERR_INVAL;
	}
	memcpy(sa.sun_path, o->socket, strlen(o->socket) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "%s: cannot reach xiscsid at %s: %s (%s needs xiscsid)\n", prog,
		        o->socket, strerror(errno), why);
		if (c->fd >= 0)
			close(c->fd);
		return ERR_ISCSID_NOTCONN;
	}
	c->in = fdopen(c->fd, "r");
	if (!c->in) {
		close(c->fd);
		return ERR_GENERIC;
	}
	return 0;
}

static void ctl_close(struct ctl *c)
{
	if (c->in)
		fclose(c->in);
	c->in = NULL;
}

/*
 * Send {"cmd":cmd,"args":args} (args stolen) and read the reply. Returns
 * the result (new reference) or NULL with *err and *code pointing into
 * *reply.
 */
static json_t *ctl_call(struct ctl *c, const char *cmd, json_t *args, json_t **reply,
                        const char **err, const char **code)
{
	json_t *req = json_pack("{s:s,s:o}", "cmd", cmd, "args", args ? args : json_object());
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL, *line = NULL;
	size_t cap = 0, len, off = 0;
	json_error_t jerr;
	ssize_t n;

	*reply = NULL;
	*err = "out of memory";
	*code = "internal";
	json_decref(req);
	if (!text)
		return NULL;
	len = strlen(text);
	/* A send that fails still reads: xiscsid may have said why it hung up
	 * (a refused user) before the request went. */
	while (off < len) {
		ssize_t w = send(c->fd, text + off, len - off, MSG_NOSIGNAL);

		if (w < 0)
			break;
		off += (size_t)w;
	}
	free(text);
	if (off == len && send(c->fd, "\n", 1, MSG_NOSIGNAL) != 1)
		off = 0;
	n = getline(&line, &cap, c->in);
	if (n <= 0) {
		free(line);
		*err = off == len ? "xiscsid closed the control connection without an answer"
		                  : "xiscsid closed the control connection";
		*code = "transport";
		return NULL;
	}
	*reply = json_loads(line, 0, &jerr);
	free(line);
	if (!*reply || !json_is_object(*reply)) {
		*err = "xiscsid answered something that is not JSON";
		return NULL;
	}
	if (json_is_true(json_object_get(*reply, "ok")))
		return json_incref(json_object_get(*reply, "result"));
	*err = json_string_value(json_object_get(*reply, "error"));
	*code = json_string_value(json_object_get(*reply, "code"));
	if (!*err)
		*err = "unspecified error";
	if (!*code)
		*code = "failed";
	return NULL;
}

static int code_exit(const char *code)
{
	if (!strcmp(code, "auth"))
		return ERR_LOGIN_AUTH_FAILED;
	if (!strcmp(code, "transport"))
		return ERR_TRANS;
	if (!strcmp(code, "exists"))
		return ERR_SESS_EXISTS;
	if (!strcmp(code, "not_found"))
		return ERR_NO_OBJS_FOUND;
	if (!strcmp(code, "invalid"))
		return ERR_INVAL;
	if (!strcmp(code, "login"))
		return ERR_LOGIN;
	return ERR_GENERIC;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long long jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* "127.0.0.1,3260" as iscsiadm prints a portal in login messages. */
static void portal_str(const char *host, unsigned port, char *buf, size_t len)
{
	bool v6 = strchr(host, ':') != NULL;

	snprintf(buf, len, "%s%s%s,%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

static json_t *sessions_get(struct ctl *c, int *rc)
{
	json_t *reply, *res;
	const char *err, *code;

	res = ctl_call(c, "session.list", NULL, &reply, &err, &code);
	if (!res || !json_is_array(res)) {
		fprintf(stderr, "%s: listing sessions: %s\n", prog, err);
		*rc = code_exit(code);
		json_decref(res);
		res = NULL;
	}
	json_decref(reply);
	return res;
}

/* ---------------------------------------------------------- login */

struct login_ctx {
	const struct opts *o;
	struct ctl *c;
	const char *which; /* -L: all, automatic, manual */
	unsigned tried, ok, failed;
	int rc;
};

static int login_one(const struct noderec *r, void *arg)
{
	struct login_ctx *lc = arg;
	const char *iface = lc->o->iface, *st = noderec_get(r, "node.startup"), *err, *code;
	json_t *rec, *reply, *res;
	char portal[NODEREC_HOST_MAX + 16];

	if (lc->which && strcmp(lc->which, "all") &&
	    !(st && (!strcasecmp(st, lc->which) ||
	             (!strcmp(lc->which, "automatic") && !strcasecmp(st, "onboot")))))
		return 0;
	rec = json_object();
	for (unsigned i = 0; rec && i < r->nkeys; i++)
		json_object_set_new(rec, r->keys[i], json_string(r->vals[i]));
	if (!rec)
		return 1;
	if (iface)
		json_object_set_new(rec, "iface.iscsi_ifacename", json_string(iface));
	else
		iface = noderec_get(r, "iface.iscsi_ifacename");
	if (!iface || !*iface)
		iface = "default";
	portal_str(r->host, r->port, portal, sizeof(portal));
	lc->tried++;
	printf("Logging in to [iface: %s, target: %s, portal: %s]\n", iface, r->name, portal);
	fflush(stdout);
	res = ctl_call(lc->c, "login",
	               json_pack("{s:o,s:s?}", "record", rec, "initiator_name", lc->o->initiator),
	               &reply, &err, &code);
	if (res) {
		printf("Login to [iface: %s, target: %s, portal: %s] successful.\n", iface, r->name,
		       portal);
		lc->ok++;
	} else if (!strcmp(code, "exists") && lc->which) {
		/* -L leaves sessions that are there already alone, as iscsiadm does. */
		fprintf(stderr, "%s: %s\n", prog, err);
	} else {
		fprintf(stderr, "%s: Could not log into [iface: %s, target: %s, portal: %s].\n",
		        prog, iface, r->name, portal);
		fprintf(stderr, "%s: %s\n", prog, err);
		lc->failed++;
		lc->rc = code_exit(code);
		if (!strcmp(code, "transport") && lc->c->in == NULL)
			return 1;
	}
	json_decref(res);
	json_decref(reply);
	return 0;
}

int adm_node_login(const struct opts *o)
{
	struct login_ctx lc = {.o = o};
	char host[NODEREC_HOST_MAX];
	uint16_t port;
	int32_t tpgt;
	const char *reason;
	struct ctl c;
	struct noderec r;
	int lfd, rc, n;

	if (o->loginall && strcmp(o->loginall, "all") && strcmp(o->loginall, "automatic") &&
	    strcmp(o->loginall, "manual"))
		return usage_err("-L wants all, automatic or manual, not '%s'", o->loginall);
	if (o->iface && !noderec_iface_name_ok(o->iface))
		return usage_err("'%s' is not an iface name", o->iface);
	if (!o->loginall && (!!o->target != !!o->portal))
		return usage_err("--login needs both -T IQN and -p PORTAL, or neither (all nodes)");
	if (o->target && names_check(o->target, &reason))
		return usage_err("'%s' is not an iSCSI name: %s", o->target, reason);
	if (o->portal && parse_portal(o->portal, host, sizeof(host), &port, &tpgt))
		return usage_err("bad portal '%s': want HOST[:PORT][,TPGT]", o->portal);
	rc = ctl_open(&c, o, o->loginall ? "-L" : "--login");
	if (rc)
		return rc;
	lc.c = &c;
	lc.which = o->loginall ? o->loginall : (o->target ? NULL : "all");
	lfd = noderec_lock(o->root, false);
	if (lfd < 0) {
		fprintf(stderr, "%s: cannot lock %s: %s\n", prog, o->root, strerror(-lfd));
		ctl_close(&c);
		return ERR_IDBM;
	}
	if (o->target && !o->loginall) {
		n = noderec_load(o->root, o->target, host, port, tpgt, &r);
		close(lfd);
		if (n) {
			fprintf(stderr, "%s: No records found\n", prog);
			ctl_close(&c);
			return ERR_NO_OBJS_FOUND;
		}
		login_one(&r, &lc);
		noderec_free(&r);
	} else {
		n = noderec_foreach(o->root, login_one, &lc);
		close(lfd);
		if (n < 0) {
			fprintf(stderr, "%s: reading records: %s\n", prog, strerror(-n));
			ctl_close(&c);
			return ERR_IDBM;
		}
		if (!lc.tried) {
			fprintf(stderr, "%s: No records found\n", prog);
			ctl_close(&c);
			return ERR_NO_OBJS_FOUND;
		}
	}
	ctl_close(&c);
	return lc.failed ? lc.rc : ERR_OK;
}

/* --------------------------------------------------------- logout */

static int logout_sid(struct ctl *c, json_t *s)
{
	char portal[NODEREC_HOST_MAX + 16];
	const char *err, *code;
	json_t *reply, *res;
	int rc = ERR_OK;

	portal_str(jstr(s, "address"), (unsigned)jint(s, "port"), portal, sizeof(portal));
	printf("Logging out of session [sid: %lld, target: %s, portal: %s]\n", jint(s, "sid"),
	       jstr(s, "target"), portal);
	fflush(stdout);
	res = ctl_call(c, "logout", json_pack("{s:I}", "sid", (json_int_t)jint(s, "sid")), &reply,
	               &err, &code);
	if (res) {
		printf("Logout of [sid: %lld, target: %s, portal: %s] successful.\n",
		       jint(s, "sid"), jstr(s, "target"), portal);
	} else {
		fprintf(stderr, "%s: Could not logout of [sid: %lld, target: %s, portal: %s].\n",
		        prog, jint(s, "sid"), jstr(s, "target"), portal);
		fprintf(stderr, "%s: %s\n", prog, err);
		rc = code_exit(code);
	}
	json_decref(res);
	json_decref(reply);
	return rc;
}

/* The node.startup of the record a session came from; "manual" when gone. */
static bool startup_matches(const struct opts *o, json_t *s, const char *which)
{
	struct noderec r;
	const char *st;
	bool m;
	int lfd;

	if (!strcmp(which, "all"))
		return true;
	lfd = noderec_lock(o->root, false);
	if (lfd < 0)
		return false;
	if (noderec_load(o->root, jstr(s, "target"), jstr(s, "address"), (uint16_t)jint(s, "port"),
	                 -1, &r)) {
		close(lfd);
		return !strcmp(which, "manual");
	}
	close(lfd);
	st = noderec_get(&r, "node.startup");
	m = st &&
	    (!strcasecmp(st, which) || (!strcmp(which, "automatic") && !strcasecmp(st, "onboot")));
	noderec_free(&r);
	return m;
}

int adm_node_logout(const struct opts *o)
{
	char host[NODEREC_HOST_MAX];
	uint16_t port = 0;
	int32_t tpgt;
	struct ctl c;
	json_t *list, *s;
	size_t i;
	int rc, worst = ERR_OK;
	unsigned matched = 0;

	if (o->logoutall && strcmp(o->logoutall, "all") && strcmp(o->logoutall, "automatic") &&
	    strcmp(o->logoutall, "manual"))
		return usage_err("-U wants all, automatic or manual, not '%s'", o->logoutall);
	if (o->portal && parse_portal(o->portal, host, sizeof(host), &port, &tpgt))
		return usage_err("bad portal '%s': want HOST[:PORT][,TPGT]", o->portal);
	rc = ctl_open(&c, o, o->logoutall ? "-U" : "--logout");
	if (rc)
		return rc;
	list = sessions_get(&c, &rc);
	if (!list) {
		ctl_close(&c);
		return rc;
	}
	json_array_foreach(list, i, s)
	{
		if (o->target && strcmp(o->target, jstr(s, "target")))
			continue;
		if (o->portal && (strcmp(host, jstr(s, "address")) || port != jint(s, "port")))
			continue;
		if (o->logoutall && !startup_matches(o, s, o->logoutall))
			continue;
		matched++;
		rc = logout_sid(&c, s);
		if (rc)
			worst = rc;
	}
	json_decref(list);
	ctl_close(&c);
	if (!matched) {
		fprintf(stderr, "%s: No matching sessions found\n", prog);
		return ERR_NO_OBJS_FOUND;
	}
	return worst;
}

/* -------------------------------------------------------- session */

static const char *conn_state(const char *st)
{
	if (!strcmp(st, "logged in"))
		return "LOGGED IN";
	if (!strcmp(st, "reconnecting"))
		return "TRANSPORT WAIT";
	if (!strcmp(st, "failed"))
		return "FAILED";
	if (!strcmp(st, "connecting") || !strcmp(st, "LOGIN_RETRY"))
		return "IN LOGIN";
	if (!strcmp(st, "logging out"))
		return "IN LOGOUT";
	return "FREE";
}

static const char *sess_state(const char *st)
{
	if (!strcmp(st, "logged in"))
		return "LOGGED_IN";
	if (!strcmp(st, "failed"))
		return "FAILED";
	return "FREE";
}

static void print_level0(json_t *s)
{
	bool v6 = strchr(jstr(s, "address"), ':') != NULL;

	printf("%s: [%lld] %s%s%s:%lld,%lld %s (non-flash)\n", jstr(s, "transport"), jint(s, "sid"),
	       v6 ? "[" : "", jstr(s, "address"), v6 ? "]" : "", jint(s, "port"), jint(s, "tpgt"),
	       jstr(s, "target"));
}

/* As iscsiadm: the names, and the secrets masked whether set or not. */
static void print_chap(json_t *c)
{
	const char *u = json_string_value(json_object_get(c, "username"));
	const char *ui = json_string_value(json_object_get(c, "username_in"));

	printf("\t\t*****\n\t\tCHAP:\n\t\t*****\n");
	printf("\t\tusername: %s\n", u && *u ? u : "<empty>");
	printf("\t\tpassword: ********\n");
	printf("\t\tusername_in: %s\n", ui && *ui ? ui : "<empty>");
	printf("\t\tpassword_in: ********\n");
}

static void print_params(json_t *s)
{
	json_t *p = json_object_get(s, "params"), *t = json_object_get(s, "timeouts");

	printf("\t\t*********\n\t\tTimeouts:\n\t\t*********\n");
	printf("\t\tRecovery Timeout: %lld\n", jint(t, "reconnect_timeout_ms") / 1000);
	printf("\t\tLogin Timeout: %lld\n", jint(t, "login_timeout_ms") / 1000);
	printf("\t\tNOP-Out Interval: %lld\n", jint(t, "nop_interval_ms") / 1000);
	printf("\t\tNOP-Out Timeout: %lld\n", jint(t, "nop_timeout_ms") / 1000);
	print_chap(json_object_get(s, "chap"));
	printf("\t\t************************\n\t\tNegotiated iSCSI params:\n"
	       "\t\t************************\n");
	if (!p) {
		printf("\t\t(not logged in)\n");
		return;
	}
	printf("\t\tHeaderDigest: %s\n", jstr(p, "HeaderDigest"));
	printf("\t\tDataDigest: %s\n", jstr(p, "DataDigest"));
	printf("\t\tMaxRecvDataSegmentLength: %lld\n", jint(p, "MaxRecvDataSegmentLength"));
	printf("\t\tMaxXmitDataSegmentLength: %lld\n", jint(p, "MaxXmitDataSegmentLength"));
	printf("\t\tFirstBurstLength: %lld\n", jint(p, "FirstBurstLength"));
	printf("\t\tMaxBurstLength: %lld\n", jint(p, "MaxBurstLength"));
	printf("\t\tImmediateData: %s\n", jstr(p, "ImmediateData"));
	printf("\t\tInitialR2T: %s\n", jstr(p, "InitialR2T"));
	printf("\t\tMaxOutstandingR2T: %lld\n", jint(p, "MaxOutstandingR2T"));
}

static void print_luns(json_t *s)
{
	json_t *l;
	size_t i;

	printf("\t\t************************\n\t\tAttached SCSI devices:\n"
	       "\t\t************************\n");
	json_array_foreach(json_object_get(s, "luns"), i, l)
	{
		printf("\t\tscsi%lld Channel 00 Id 0 Lun: %lld\n", jint(s, "sid"), jint(l, "lun"));
		if (json_object_get(l, "nbd"))
			printf("\t\t\tAttached NBD export: %s\tSize: %lld bytes, %lld-byte "
			       "blocks\n",
			       jstr(l, "nbd"), jint(l, "size"), jint(l, "block_size"));
		else if (json_object_get(l, "nbd_error"))
			printf("\t\t\tNo NBD export (%s): %s\n", jstr(l, "type_name"),
			       jstr(l, "nbd_error"));
		else
			printf("\t\t\tNo NBD export (%s)\n", jstr(l, "type_name"));
		if (json_object_get(l, "nbd_tcp"))
			printf("\t\t\tAttached NBD export: %s\n", jstr(l, "nbd_tcp_url"));
	}
}

static void print_tree(json_t *list, int level)
{
	const char *last = "";
	json_t *s;
	size_t i;

	json_array_foreach(list, i, s)
	{
		const char *st = jstr(s, "state");
		bool v6 = strchr(jstr(s, "address"), ':') != NULL;

		if (strcmp(last, jstr(s, "target")))
			printf("Target: %s (non-flash)\n", jstr(s, "target"));
		last = jstr(s, "target");
		printf("\tCurrent Portal: %s%s%s:%lld,%lld\n", v6 ? "[" : "", jstr(s, "address"),
		       v6 ? "]" : "", jint(s, "port"), jint(s, "tpgt"));
		printf("\tPersistent Portal: %s%s%s:%lld,%lld\n", v6 ? "[" : "", jstr(s, "address"),
		       v6 ? "]" : "", jint(s, "port"), jint(s, "tpgt"));
		printf("\t\t**********\n\t\tInterface:\n\t\t**********\n");
		printf("\t\tIface Name: %s\n", jstr(s, "iface"));
		printf("\t\tIface Transport: %s\n", jstr(s, "transport"));
		printf("\t\tIface Initiatorname: %s\n", jstr(s, "initiator_name"));
		printf("\t\tSID: %lld\n", jint(s, "sid"));
		if (json_object_get(s, "isid"))
			printf("\t\tISID: %s\n\t\tTSIH: %lld\n", jstr(s, "isid"), jint(s, "tsih"));
		printf("\t\tiSCSI Connection State: %s\n", conn_state(st));
		printf("\t\tiSCSI Session State: %s\n", sess_state(st));
		printf("\t\tInternal iscsid Session State: %s\n",
		       !strcmp(jstr(s, "phase"), "ready") ? "NO CHANGE" : jstr(s, "phase"));
		if (json_is_string(json_object_get(s, "error")))
			printf("\t\tLast Error: %s\n", jstr(s, "error"));
		if (level >= 2)
			print_params(s);
		if (level >= 3)
			print_luns(s);
	}
}

static int session_rescan(struct ctl *c, unsigned long sid)
{
	const char *err, *code;
	json_t *reply, *res;
	int rc = ERR_OK;

	res = ctl_call(c, "session.rescan", json_pack("{s:I}", "sid", (json_int_t)sid), &reply,
	               &err, &code);
	if (res) {
		printf("Rescanning session [sid: %lu, target: %s, portal: %s,%lld]\n", sid,
		       jstr(res, "target"), jstr(res, "address"), jint(res, "port"));
	} else {
		fprintf(stderr, "%s: rescan of session %lu: %s\n", prog, sid, err);
		rc = code_exit(code);
	}
	json_decref(res);
	json_decref(reply);
	return rc;
}

int adm_session(const struct opts *o)
{
	unsigned long sid = 0;
	json_t *list, *s, *one = NULL;
	struct ctl c;
	char *end;
	size_t i;
	int rc;

	if (o->sid) {
		errno = 0;
		sid = strtoul(o->sid, &end, 10);
		if (errno || *end || sid == 0 || sid > UINT32_MAX || o->sid[0] == '-')
			return usage_err("-r wants a session id (SID), not '%s'", o->sid);
	}
	if ((o->rescan || o->logout) && !sid)
		return usage_err("%s needs -r SID (or use -m node)", o->rescan ? "--rescan" : "-u");
	rc = ctl_open(&c, o, "-m session");
	if (rc)
		return rc;
	if (o->rescan) {
		rc = session_rescan(&c, sid);
		ctl_close(&c);
		return rc;
	}
	list = sessions_get(&c, &rc);
	if (!list) {
		ctl_close(&c);
		return rc;
	}
	if (sid) {
		json_array_foreach(list, i, s)
		{
			if ((unsigned long)jint(s, "sid") == sid)
				one = s;
		}
		if (!one) {
			fprintf(stderr, "%s: no session with SID %lu\n", prog, sid);
			json_decref(list);
			ctl_close(&c);
			return ERR_NO_OBJS_FOUND;
		}
		json_incref(one);
		json_decref(list);
		list = json_pack("[o]", one);
	}
	if (o->logout) {
		rc = logout_sid(&c, json_array_get(list, 0));
	} else if (o->json) {
		char *text = json_dumps(sid ? json_array_get(list, 0) : list, JSON_INDENT(1));

		printf("%s\n", text ? text : "null");
		free(text);
	} else if (!json_array_size(list)) {
		fprintf(stderr, "%s: No active sessions.\n", prog);
		rc = ERR_NO_OBJS_FOUND;
	} else if (o->print_level == 0 && !(sid && !o->print_set)) {
		json_array_foreach(list, i, s) print_level0(s);
	} else {
		/* -r SID alone shows the tree, as iscsiadm does. */
		print_tree(list, o->print_set ? o->print_level : 1);
	}
	json_decref(list);
	ctl_close(&c);
	return rc;
}

/* ---------------------------------------------------------- iface */

static int iface_line(const struct noderec_iface *f, void *arg)
{
	json_t *arr = arg;

	if (arr)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I,s:s}", "name", f->name,
		                                     "transport", f->transport, "net_ifacename",
		                                     f->netdev, "queue", (json_int_t)f->queue,
		                                     "ipaddress", f->ipaddress));
	else if (f->netdev[0] && f->ipaddress[0])
		printf("%s %s,%s:%u,%s\n", f->name, f->transport, f->netdev, f->queue,
		       f->ipaddress);
	else if (f->netdev[0])
		printf("%s %s,%s:%u\n", f->name, f->transport, f->netdev, f->queue);
	else
		printf("%s %s,<empty>\n", f->name, f->transport);
	return 0;
}

int adm_iface(const struct opts *o)
{
	const char *op = o->op ? o->op : (o->iface ? "show" : NULL);
	struct noderec_iface f;
	int lfd, rc = ERR_OK, err;

	if (!op) {
		json_t *arr = o->json ? json_array() : NULL;
		struct noderec_iface def;

		lfd = noderec_lock(o->root, false);
		if (lfd < 0) {
			fprintf(stderr, "%s: cannot lock %s: %s\n", prog, o->root, strerror(-lfd));
			return ERR_IDBM;
		}
		noderec_iface_load(o->root, "default", &def);
		iface_line(&def, arr);
		err = noderec_iface_foreach(o->root, iface_line, arr);
		close(lfd);
		if (arr) {
			char *text = json_dumps(arr, JSON_COMPACT);

			printf("%s\n", text ? text : "[]");
			free(text);
			json_decref(arr);
		}
		return err < 0 ? ERR_IDBM : ERR_OK;
	}
	if (!o->iface)
		return usage_err("-m iface -o %s needs -I NAME", op);
	if (!noderec_iface_name_ok(o->iface))
		return usage_err("'%s' is not an iface name (letters, digits, . - _)", o->iface);
	if (strcmp(op, "new") && strcmp(op, "show") && strcmp(op, "update") && strcmp(op, "delete"))
		return usage_err("unknown operation '%s': want new, show, update or delete", op);
	if (!strcmp(op, "update") && (!o->name || !o->value))
		return usage_err("-o update needs -n KEY and -v VALUE");
	if (!strcmp(o->iface, "default") && strcmp(op, "show"))
		return usage_err("the default iface is built in; make another with -o new");
	lfd = noderec_lock(o->root, strcmp(op, "show") != 0);
	if (lfd < 0) {
		fprintf(stderr, "%s: cannot lock %s: %s\n", prog, o->root, strerror(-lfd));
		return ERR_IDBM;
	}
	err = noderec_iface_load(o->root, o->iface, &f);
	if (!strcmp(op, "new")) {
		if (err == 0) {
			fprintf(stderr, "%s: iface %s exists already\n", prog, o->iface);
			rc = ERR_GENERIC;
		} else {
			memset(&f, 0, sizeof(f));
			snprintf(f.name, sizeof(f.name), "%s", o->iface);
			strcpy(f.transport, "tcp");
			err = noderec_iface_save(o->root, &f);
			if (err) {
				fprintf(stderr, "%s: cannot save iface %s: %s\n", prog, o->iface,
				        strerror(-err));
				rc = ERR_IDBM;
			} else {
				printf("New interface %s added\n", o->iface);
			}
		}
	} else if (err) {
		fprintf(stderr, "%s: Could not read iface %s (%s)\n", prog, o->iface,
		        err == -ENOENT ? "no such iface" : strerror(-err));
		rc = err == -ENOENT ? ERR_NO_OBJS_FOUND : ERR_IDBM;
	} else if (!strcmp(op, "show")) {
		noderec_iface_print(&f, stdout);
	} else if (!strcmp(op, "delete")) {
		err = noderec_iface_delete(o->root, o->iface);
		if (err) {
			fprintf(stderr, "%s: cannot delete iface %s: %s\n", prog, o->iface,
			        strerror(-err));
			rc = ERR_IDBM;
		}
	} else {
		err = noderec_iface_set(&f, o->name, o->value);
		if (err == -ENOENT)
			rc = usage_err("unknown iface setting '%s': want iface.transport_name, "
			               "iface.net_ifacename, iface.queue or iface.ipaddress",
			               o->name);
		else if (err == -EPERM)
			rc = usage_err("'%s' names the iface and cannot be changed", o->name);
		else if (err)
			rc = usage_err("invalid value '%s' for %s", o->value, o->name);
		else if ((err = noderec_iface_save(o->root, &f)) != 0) {
			fprintf(stderr, "%s: cannot save iface %s: %s\n", prog, o->iface,
			        strerror(-err));
			rc = ERR_IDBM;
		} else {
			printf("%s updated.\n", o->iface);
		}
	}
	close(lfd);
	return rc;
}
