/*
 * xtgtadm: administer a running xtgtd through its control socket
 * (man/xtgtadm.8). Object-verb commands; each becomes one JSON request
 * line, and the one-line reply is printed as a table, or as it came with
 * --json.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PROG "xtgtadm"
#ifndef XTGTD_VERSION
#define XTGTD_VERSION "unknown"
#endif
#define CTL_PATH_DEFAULT "/run/xiscsi/xtgtd.sock"
/* Exit statuses (man/xtgtadm.8). */
#define EXIT_REFUSED 1 /* the daemon refused the request */
#define EXIT_USAGE   2
#define EXIT_CONNECT 3 /* no daemon to talk to */
/* A reply larger than this is not one the daemon sends. */
#define REPLY_MAX (16u << 20)
#define ARGS_MAX  32

struct opts {
	const char *socket;
	bool json;
	bool if_exists;
	bool force;
	bool secrets;
	bool drop_sessions;
	const char *alias;
	const char *transport;
	const char *algorithms;
	const char *tpgt;
	const char *mutual_user, *mutual_secret;
	const char *pos[ARGS_MAX];
	int npos;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: %s [--socket PATH] [--json] OBJECT VERB [ARG]...\n"
	        "Administer a running xtgtd(8).\n"
	        "\n"
	        "  target add IQN [--alias ALIAS] [--tpgt N]\n"
	        "  target remove IQN [--force]        --force drops its sessions\n"
	        "  target list\n"
	        "  lun add IQN N SPEC                 SPEC as --lun: ram:1G, "
	        "file:/path,size=10G,ro\n"
	        "  lun remove IQN N [--force]         --force drops the target's sessions\n"
	        "  lun list IQN\n"
	        "  lun resize IQN N SIZE              grow to SIZE (4G, 8192M, bytes)\n"
	        "  lun offline IQN N                  NOT READY until online; waits for\n"
	        "                                     the commands in flight\n"
	        "  lun online IQN N\n"
	        "  acl add IQN INITIATOR              first entry closes the target to others\n"
	        "  acl remove IQN INITIATOR\n"
	        "  acl list IQN\n"
	        "  auth set IQN|discovery none\n"
	        "  auth set IQN|discovery chap USER SECRET [--mutual USER SECRET]\n"
	        "           [--algorithms md5,sha1,sha256,sha3-256]  (default: all four)\n"
	        "  portal add ADDR[:PORT] [--tpgt N] [--transport T]\n"
	        "  portal remove ADDR[:PORT] [--drop-sessions]\n"
	        "  portal list\n"
	        "  session list\n"
	        "  session drop TSIH\n"
	        "  stats\n"
	        "  config show [--secrets]\n"
	        "  config save [PATH]                 default: the daemon's -c file\n"
	        "\n"
	        "  -s, --socket PATH   control socket (%s)\n"
	        "  -j, --json          print the daemon's JSON reply\n"
	        "      --if-exists     removing what is absent is not an error\n"
	        "  -h, --help          this text\n"
	        "  -V, --version       version\n"
	        "\n"
	        "Exit status: 0 done, 1 refused by the daemon, 2 usage, 3 no daemon.\n",
	        PROG, CTL_PATH_DEFAULT);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", PROG);
	return EXIT_USAGE;
}

/* 1: help or version printed; 0: parsed; EXIT_USAGE after a message. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_next = i + 1 < argc;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 1;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("%s (xiscsi) %s\n", PROG, XTGTD_VERSION);
			return 1;
		} else if (!strcmp(a, "-s") || !strcmp(a, "--socket")) {
			if (!has_next)
				return usage_error("option '%s' needs a path", a);
			o->socket = argv[++i];
		} else if (!strncmp(a, "--socket=", 9)) {
			o->socket = a + 9;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			o->json = true;
		} else if (!strcmp(a, "--if-exists")) {
			o->if_exists = true;
		} else if (!strcmp(a, "--force")) {
			o->force = true;
		} else if (!strcmp(a, "--secrets")) {
			o->secrets = true;
		} else if (!strcmp(a, "--drop-sessions")) {
			o->drop_sessions = true;
		} else if (!strcmp(a, "--transport") || !strcmp(a, "--algorithms")) {
			if (!has_next)
				return usage_error("option '%s' needs a value", a);
			if (a[2] == 't')
				o->transport = argv[++i];
			else
				o->algorithms = argv[++i];
		} else if (!strcmp(a, "--alias")) {
			if (!has_next)
				return usage_error("option '%s' needs a value", a);
			o->alias = argv[++i];
		} else if (!strcmp(a, "--tpgt")) {
			if (!has_next)
				return usage_error("option '%s' needs a value", a);
			o->tpgt = argv[++i];
		} else if (!strcmp(a, "--mutual")) {
			if (i + 2 >= argc)
				return usage_error("option '%s' needs USER and SECRET", a);
			o->mutual_user = argv[++i];
			o->mutual_secret = argv[++i];
		} else if (a[0] == '-' && a[1] && strcmp(a, "-")) {
			return usage_error("unknown option '%s'", a);
		} else {
			if (o->npos == ARGS_MAX)
				return usage_error("too many arguments");
			o->pos[o->npos++] = a;
		}
	}
	return 0;
}

static int parse_number(const char *s, long max, json_int_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* --tpgt VALUE into args; -EINVAL after a usage message. */
static int set_tpgt(json_t *args, const char *v)
{
	json_int_t n;

	if (parse_number(v, 65535, &n) || !n) {
		usage_error("--tpgt wants a number from 1 to 65535, not '%s'", v);
		return -EINVAL;
	}
	json_object_set_new(args, "tpgt", json_integer(n));
	return 0;
}

/* Build the request for the positional words; NULL after a usage message
 * (*status set). */
static json_t *build_request(const struct opts *o, const char **cmd_out, int *status)
{
	const char *obj = o->npos > 0 ? o->pos[0] : NULL;
	const char *verb = o->npos > 1 ? o->pos[1] : NULL;
	int nargs = o->npos - 2;
	json_t *args = json_object();
	char cmd[64];
	json_int_t n;

	*status = EXIT_USAGE;
	if (!obj) {
		usage(stderr);
		goto bad;
	}
	if (!strcmp(obj, "stats")) {
		if (o->npos != 1) {
			usage_error("'stats' takes no argument");
			goto bad;
		}
		snprintf(cmd, sizeof(cmd), "stats");
		goto done;
	}
	if (!verb) {
		usage_error("'%s' needs a verb (add, remove, list, ...)", obj);
		goto bad;
	}
	snprintf(cmd, sizeof(cmd), "%s.%s", obj, verb);
#define WANT(k)                                                                                    \
	do {                                                                                       \
		if (nargs != (k)) {                                                                \
			usage_error("wrong number of arguments to '%s'; see --help", cmd);         \
			goto bad;                                                                  \
		}                                                                                  \
	} while (0)
	if (!strcmp(cmd, "target.add")) {
		WANT(1);
		json_object_set_new(args, "target", json_string(o->pos[2]));
		if (o->alias)
			json_object_set_new(args, "alias", json_string(o->alias));
		if (o->tpgt && set_tpgt(args, o->tpgt))
			goto bad;
	} else if (!strcmp(cmd, "target.remove") || !strcmp(cmd, "lun.list") ||
	           !strcmp(cmd, "acl.list")) {
		WANT(1);
		json_object_set_new(args, "target", json_string(o->pos[2]));
	} else if (!strcmp(cmd, "target.list") || !strcmp(cmd, "portal.list") ||
	           !strcmp(cmd, "session.list") || !strcmp(cmd, "config.show")) {
		WANT(0);
	} else if (!strcmp(cmd, "lun.add") || !strcmp(cmd, "lun.remove") ||
	           !strcmp(cmd, "lun.resize") || !strcmp(cmd, "lun.offline") ||
	           !strcmp(cmd, "lun.online")) {
		/* add takes a backing spec, resize a size (the daemon reads the
		 * K, M, G, T suffixes); the rest only the LUN. */
		const char *extra = !strcmp(cmd, "lun.add")      ? "spec"
		                    : !strcmp(cmd, "lun.resize") ? "size"
		                                                 : NULL;

		WANT(extra ? 3 : 2);
		json_object_set_new(args, "target", json_string(o->pos[2]));
		if (parse_number(o->pos[3], 16383, &n)) {
			usage_error("LUN number must be from 0 to 16383, not '%s'", o->pos[3]);
			goto bad;
		}
		json_object_set_new(args, "lun", json_integer(n));
		if (extra)
			json_object_set_new(args, extra, json_string(o->pos[4]));
	} else if (!strcmp(cmd, "portal.add") || !strcmp(cmd, "portal.remove")) {
		WANT(1);
		json_object_set_new(args, "address", json_string(o->pos[2]));
		if (o->transport)
			json_object_set_new(args, "transport", json_string(o->transport));
		if (o->tpgt && set_tpgt(args, o->tpgt))
			goto bad;
		if (o->drop_sessions)
			json_object_set_new(args, "drop_sessions", json_true());
	} else if (!strcmp(cmd, "acl.add") || !strcmp(cmd, "acl.remove")) {
		WANT(2);
		json_object_set_new(args, "target", json_string(o->pos[2]));
		json_object_set_new(args, "initiator", json_string(o->pos[3]));
	} else if (!strcmp(cmd, "auth.set")) {
		if (nargs < 2) {
			usage_error("usage: auth set IQN|discovery none|chap USER SECRET");
			goto bad;
		}
		json_object_set_new(args, "target", json_string(o->pos[2]));
		json_object_set_new(args, "method", json_string(o->pos[3]));
		if (!strcmp(o->pos[3], "chap")) {
			WANT(4);
			json_object_set_new(args, "user", json_string(o->pos[4]));
			json_object_set_new(args, "secret", json_string(o->pos[5]));
			if (o->mutual_user) {
				json_object_set_new(args, "mutual_user",
				                    json_string(o->mutual_user));
				json_object_set_new(args, "mutual_secret",
				                    json_string(o->mutual_secret));
			}
		} else {
			WANT(2);
		}
		if (o->algorithms)
			json_object_set_new(args, "algorithms", json_string(o->algorithms));
	} else if (!strcmp(cmd, "session.drop")) {
		WANT(1);
		if (parse_number(o->pos[2], 65535, &n)) {
			usage_error("TSIH must be a number, not '%s'", o->pos[2]);
			goto bad;
		}
		json_object_set_new(args, "tsih", json_integer(n));
	} else if (!strcmp(cmd, "config.save")) {
		if (nargs > 1) {
			usage_error("'config save' takes at most a path");
			goto bad;
		}
		if (nargs == 1) {
			char *abs = realpath(o->pos[2], NULL);
			char buf[4096];

			/* The daemon has its own working directory. */
			if (!abs && o->pos[2][0] != '/') {
				char *cwd = getcwd(buf, sizeof(buf));

				if (cwd && strlen(cwd) + strlen(o->pos[2]) + 2 < sizeof(buf)) {
					strcat(buf, "/");
					strcat(buf, o->pos[2]);
					json_object_set_new(args, "path", json_string(buf));
				} else {
					json_object_set_new(args, "path", json_string(o->pos[2]));
				}
			} else {
				json_object_set_new(args, "path",
				                    json_string(abs ? abs : o->pos[2]));
			}
			free(abs);
		}
	} else {
		usage_error("unknown command '%s'; see --help", cmd);
		goto bad;
	}
#undef WANT
	if (o->force)
		json_object_set_new(args, "force", json_true());
	if (o->secrets)
		json_object_set_new(args, "secrets", json_true());
done:
	*status = 0;
	*cmd_out = strdup(cmd);
	return json_pack("{s:s,s:o}", "cmd", cmd, "args", args);
bad:
	json_decref(args);
	return NULL;
}

/* Send one line, read one line. */
static char *transact(const char *path, const char *line, int *status)
{
	struct sockaddr_un sa;
	char *buf = NULL;
	size_t len = 0, cap = 0, off = 0, ll = strlen(line);
	int fd;

	*status = EXIT_CONNECT;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", PROG, path);
		return NULL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "%s: cannot connect to %s: %s (is xtgtd running?)\n", PROG, path,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (off < ll) {
		ssize_t w = send(fd, line + off, ll - off, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			/* The daemon may have refused us before reading (peer
			 * check): its reply is waiting to be read. */
			if (errno == EPIPE || errno == ECONNRESET)
				break;
			fprintf(stderr, "%s: send: %s\n", PROG, strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	while (!buf || !memchr(buf, '\n', len)) {
		ssize_t r;

		if (len + 4096 > cap) {
			char *nb;

			if (cap >= REPLY_MAX) {
				fprintf(stderr, "%s: reply too large\n", PROG);
				goto fail;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap + 1);
			if (!nb)
				goto fail;
			buf = nb;
		}
		r = recv(fd, buf + len, cap - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "%s: the daemon closed the connection without a reply\n",
			        PROG);
			goto fail;
		}
		len += (size_t)r;
	}
	buf[len] = '\0';
	*strchr(buf, '\n') = '\0';
	close(fd);
	*status = 0;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

static long long int_of(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void human_size(long long bytes, char *out, size_t cap)
{
	static const char units[] = "BKMGTP";
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, cap, "%lldB", bytes);
	else
		snprintf(out, cap, "%.1f%c", v, units[u]);
}

static void print_targets(json_t *r)
{
	size_t i;
	json_t *t;

	printf("%-48s %5s %4s %4s %-11s %8s  %s\n", "TARGET", "TPGT", "LUNS", "ACL", "AUTH",
	       "SESSIONS", "ALIAS");
	json_array_foreach(r, i, t)
	{
		size_t nacl = json_array_size(json_object_get(t, "acl"));
		char acl[24];

		if (nacl)
			snprintf(acl, sizeof(acl), "%zu", nacl);
		else
			snprintf(acl, sizeof(acl), "open");
		printf("%-48s %5lld %4zu %4s %-11s %8lld  %s\n", str_or(t, "name", "?"),
		       int_of(t, "tpgt"), json_array_size(json_object_get(t, "luns")), acl,
		       str_or(t, "auth", "?"), int_of(t, "sessions"), str_or(t, "alias", "-"));
	}
}

static void print_luns(json_t *r)
{
	size_t i;
	json_t *l;
	char sz[32];

	printf("%5s %10s %6s %3s %-7s  %s\n", "LUN", "SIZE", "BLOCK", "RO", "STATE", "SPEC");
	json_array_foreach(r, i, l)
	{
		human_size(int_of(l, "size"), sz, sizeof(sz));
		printf("%5lld %10s %6lld %3s %-7s  %s\n", int_of(l, "lun"), sz,
		       int_of(l, "block_size"),
		       json_is_true(json_object_get(l, "readonly")) ? "yes" : "no",
		       json_is_true(json_object_get(l, "offline")) ? "offline" : "online",
		       str_or(l, "spec", "?"));
	}
}

static void print_sessions(json_t *r)
{
	size_t i;
	json_t *s;

	printf("%5s %-12s %-40s %-22s %5s %8s %10s %12s %12s  %s\n", "TSIH", "ISID", "INITIATOR",
	       "ADDRESS", "CONNS", "INFLIGHT", "COMMANDS", "BYTES_IN", "BYTES_OUT", "TARGET");
	json_array_foreach(r, i, s)
	{
		printf("%5lld %-12s %-40s %-22s %5lld %8lld %10lld %12lld %12lld  %s\n",
		       int_of(s, "tsih"), str_or(s, "isid", "?"), str_or(s, "initiator", "?"),
		       str_or(s, "address", "?"), int_of(s, "connections"), int_of(s, "in_flight"),
		       int_of(s, "commands"), int_of(s, "bytes_in"), int_of(s, "bytes_out"),
		       json_is_true(json_object_get(s, "discovery")) ? "(discovery)"
		                                                     : str_or(s, "target", "?"));
	}
}

static void print_result(const char *cmd, json_t *r)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!strcmp(cmd, "target.list")) {
		print_targets(r);
	} else if (!strcmp(cmd, "lun.list")) {
		print_luns(r);
	} else if (!strcmp(cmd, "session.list")) {
		print_sessions(r);
	} else if (!strcmp(cmd, "acl.list")) {
		if (!json_array_size(r))
			printf("(empty: every initiator may log in)\n");
		json_array_foreach(r, i, v) printf("%s\n", json_string_value(v));
	} else if (!strcmp(cmd, "portal.list")) {
		printf("%-40s %5s  %s\n", "PORTAL", "TPGT", "TRANSPORT");
		json_array_foreach(r, i, v) printf("%-40s %5lld  %s\n", str_or(v, "portal", "?"),
		                                   int_of(v, "tpgt"), str_or(v, "transport", "?"));
	} else if (!strcmp(cmd, "config.show")) {
		fputs(str_or(r, "text", ""), stdout);
	} else if (!strcmp(cmd, "config.save")) {
		printf("configuration saved to %s\n", str_or(r, "path", "?"));
	} else if (json_is_object(r)) {
		json_t *created = json_object_get(r, "created");

		if (created)
			printf("%s\n",
			       json_is_true(created) ? "created" : "already present, unchanged");
		else if (strcmp(cmd, "stats"))
			printf("done\n");
		if (!strcmp(cmd, "stats") || !created) {
			json_object_foreach(r, key, v)
			{
				if (json_is_integer(v))
					printf("%-20s %lld\n", key,
					       (long long)json_integer_value(v));
				else if (json_is_string(v))
					printf("%-20s %s\n", key, json_string_value(v));
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *cmd = NULL;
	json_t *req = NULL, *reply = NULL;
	json_error_t jerr;
	char *line = NULL, *text = NULL;
	int status;

	memset(&o, 0, sizeof(o));
	status = parse_opts(argc, argv, &o);
	if (status)
		return status == 1 ? 0 : status;
	if (!o.socket)
		o.socket = getenv("XTGTADM_SOCKET");
	if (!o.socket)
		o.socket = CTL_PATH_DEFAULT;
	req = build_request(&o, &cmd, &status);
	if (!req)
		goto out;
	line = json_dumps(req, JSON_COMPACT);
	if (!line) {
		status = EXIT_FAILURE;
		goto out;
	}
	/* One request per line: the compact dump holds no newline. */
	{
		size_t l = strlen(line);
		char *nl = realloc(line, l + 2);

		if (!nl) {
			status = EXIT_FAILURE;
			goto out;
		}
		line = nl;
		line[l] = '\n';
		line[l + 1] = '\0';
	}
	text = transact(o.socket, line, &status);
	if (!text)
		goto out;
	reply = json_loads(text, 0, &jerr);
	if (!reply || !json_is_object(reply)) {
		fprintf(stderr, "%s: unreadable reply from the daemon: %s\n", PROG, jerr.text);
		status = EXIT_FAILURE;
		goto out;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *code = str_or(reply, "code", "");

		if (o.if_exists && !strcmp(code, "not_found") && strstr(cmd, ".remove")) {
			if (o.json)
				printf("%s\n", text);
			else
				printf("nothing to remove: %s\n", str_or(reply, "error", "?"));
			status = 0;
			goto out;
		}
		if (o.json)
			printf("%s\n", text);
		fprintf(stderr, "%s: %s\n", PROG, str_or(reply, "error", "request refused"));
		status = EXIT_REFUSED;
		goto out;
	}
	if (o.json)
		printf("%s\n", text);
	else
		print_result(cmd, json_object_get(reply, "result"));
	status = 0;
out:
	json_decref(reply);
	json_decref(req);
	free(line);
	free(text);
	free((char *)cmd);
	return status;
}
