/*
 * xiscsiadm: open-iscsi's iscsiadm conventions on libxiscsi. Discovery and
 * node records here; login, logout, sessions and ifaces go through xiscsid
 * (xiscsiadm_sess.c).
 *
 * Exit codes follow iscsiadm's (open-iscsi include/iscsi_err.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xiscsi/xiscsi.h>

#include "initiator/noderec.h"
#include "initiator/xiscsiadm.h"
#include "lib/names.h"
#include "lib/url.h"

static const char *prog = "xiscsiadm";

int usage_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(try %s --help)\n", prog);
	return ERR_INVAL;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage:\n"
	        "  %s -m discovery -t sendtargets -p HOST[:PORT] [-P 1] [--json]\n"
	        "  %s -m discoverydb [-t sendtargets -p HOST[:PORT] [-o new|delete|show] "
	        "[--discover]]\n"
	        "  %s -m node [-P 0|1] [--json]\n"
	        "  %s -m node -T IQN -p HOST[:PORT][,TPGT] -o new|show|update|delete "
	        "[-n KEY -v VALUE] [-S]\n"
	        "  %s -m node [-T IQN -p PORTAL] [-I IFACE] --login | --logout\n"
	        "  %s -m node -L all|automatic|manual | -U all|automatic|manual\n"
	        "  %s -m session [-r SID] [-P 0..3] [--json]\n"
	        "  %s -m session -r SID --rescan | -u\n"
	        "  %s -m iface [-I NAME -o new|show|update|delete [-n KEY -v VALUE]] [--json]\n"
	        "options:\n"
	        "  -m, --mode MODE          discovery, discoverydb, node, session, iface\n"
	        "  -t, --type TYPE          sendtargets (st)\n"
	        "  -p, --portal PORTAL      HOST[:PORT] (default port 3260)\n"
	        "  -T, --targetname IQN\n"
	        "  -o, --op OP              new, show, update, delete\n"
	        "  -n, --name KEY, -v, --value VALUE   node setting for -o update\n"
	        "  -P, --print LEVEL        0 flat (default), 1 tree; sessions up to 3\n"
	        "  -l, --login / -u, --logout   log in or out through xiscsid\n"
	        "  -L, --loginall / -U, --logoutall  all, automatic or manual nodes\n"
	        "  -r, --sid SID            one session (-m session)\n"
	        "      --rescan             REPORT LUNS again: new LUNs exported, gone ones "
	        "closed\n"
	        "  -I, --interface IFACE    iface record (-m iface, --login)\n"
	        "      --socket PATH        xiscsid's control socket (default $XISCSID_SOCKET or "
	        "%s)\n"
	        "  -S, --show               show secrets\n"
	        "      --json               machine-readable output\n"
	        "      --root DIR           record directory (default $XISCSI_ROOT or %s)\n"
	        "      --transport NAME     tcp, uring, xdp for discovery\n"
	        "      --initiator-name IQN\n"
	        "  -d, --debug              library diagnostics (repeat for more)\n",
	        prog, prog, prog, prog, prog, prog, prog, prog, prog, DEFAULT_SOCKET, DEFAULT_ROOT);
}

int parse_portal(const char *s, char *host, size_t hlen, uint16_t *port, int32_t *tpgt)
{
	int err = url_parse_hostport(s, host, hlen, port, 3260, tpgt);

	if (err)
		return err;
	return noderec_host_ok(host) ? 0 : -EINVAL;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static int lock_root(const struct opts *o, bool excl)
{
	int fd = noderec_lock(o->root, excl);

	if (fd < 0)
		fprintf(stderr, "%s: cannot lock %s: %s\n", prog, o->root, strerror(-fd));
	return fd;
}

static int do_discovery(const struct opts *o)
{
	struct xiscsi_target_list *list = NULL;
	struct xiscsi_opts xo;
	char host[NODEREC_HOST_MAX], err[300];
	uint16_t port;
	int32_t tpgt;
	int rc, lfd;
	bool first = true;

	if (o->type && strcmp(o->type, "sendtargets") && strcmp(o->type, "st"))
		return usage_err("discovery type '%s' is not supported: use sendtargets", o->type);
	if (!o->portal)
		return usage_err("discovery needs -p HOST[:PORT]");
	if (parse_portal(o->portal, host, sizeof(host), &port, &tpgt))
		return usage_err("bad portal '%s': want HOST[:PORT]", o->portal);
	xiscsi_opts_init(&xo, sizeof(xo));
	xo.host = host;
	xo.port = port;
	xo.initiator_name = o->initiator;
	xo.login_timeout_ms = 10000;
	xiscsi_set_log_level(o->debug);
	rc = xiscsi_discover_sync(&xo, o->transport, &list, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: discovery at %s:%u failed: %s\n", prog, host, port, err);
		if (rc == -EACCES)
			return ERR_LOGIN_AUTH_FAILED;
		if (rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EHOSTUNREACH ||
		    rc == -ECONNRESET)
			return ERR_TRANS;
		return ERR_LOGIN;
	}
	lfd = lock_root(o, true);
	if (lfd < 0) {
		xiscsi_target_list_free(list);
		return ERR_IDBM;
	}
	noderec_save_discovery(o->root, host, port);
	if (o->json)
		printf("[");
	for (unsigned i = 0; i < list->ntargets; i++) {
		const struct xiscsi_target *t = &list->targets[i];

		if (names_check(t->name, NULL)) {
			fprintf(stderr, "%s: ignoring target with an invalid name\n", prog);
			continue;
		}
		for (unsigned j = 0; j < t->nportals; j++) {
			char th[NODEREC_HOST_MAX];
			uint16_t tp;
			int32_t tt;
			struct noderec r;

			if (parse_portal(t->portals[j].address, th, sizeof(th), &tp, &tt)) {
				fprintf(stderr, "%s: ignoring invalid portal address of %s\n", prog,
				        t->name);
				continue;
			}
			if (o->json) {
				printf("%s{\"portal\":", first ? "" : ",");
				json_str(stdout, t->portals[j].address);
				printf(",\"tpgt\":%u,\"target\":", t->portals[j].tpgt);
				json_str(stdout, t->name);
				printf("}");
			} else {
				printf("%s,%u %s\n", t->portals[j].address, t->portals[j].tpgt,
				       t->name);
			}
			first = false;
			/* A record that exists keeps the settings the user gave it. */
			if (noderec_load(o->root, t->name, th, tp, t->portals[j].tpgt, &r) == 0) {
				noderec_free(&r);
				continue;
			}
			if (noderec_init(&r, t->name, th, tp, t->portals[j].tpgt) == 0) {
				if (noderec_save(o->root, &r))
					fprintf(stderr, "%s: cannot record %s: %s\n", prog, t->name,
					        strerror(errno));
				noderec_free(&r);
			}
		}
	}
	if (o->json)
		printf("]\n");
	close(lfd);
	if (first && !o->json)
		fprintf(stderr, "%s: no targets found at %s:%u\n", prog, host, port);
	xiscsi_target_list_free(list);
	return first ? ERR_NO_OBJS_FOUND : ERR_OK;
}

struct list_ctx {
	const struct opts *o;
	bool first;
	char last_target[224];
};

static int list_one(const struct noderec *r, void *arg)
{
	struct list_ctx *c = arg;
	bool v6 = strchr(r->host, ':') != NULL;

	if (c->o->json) {
		printf("%s{\"target\":", c->first ? "" : ",");
		json_str(stdout, r->name);
		printf(",\"address\":");
		json_str(stdout, r->host);
		printf(",\"port\":%u,\"tpgt\":%u}", r->port, r->tpgt);
	} else if (c->o->print_level >= 1) {
		if (strcmp(c->last_target, r->name)) {
			printf("Target: %s\n", r->name);
			snprintf(c->last_target, sizeof(c->last_target), "%s", r->name);
		}
		printf("\tPortal: %s%s%s:%u,%u\n", v6 ? "[" : "", r->host, v6 ? "]" : "", r->port,
		       r->tpgt);
		printf("\t\tIface Name: default\n");
	} else {
		printf("%s%s%s:%u,%u %s\n", v6 ? "[" : "", r->host, v6 ? "]" : "", r->port, r->tpgt,
		       r->name);
	}
	c->first = false;
	return 0;
}

static int do_node_list(const struct opts *o)
{
	struct list_ctx c = {o, true, ""};
	int lfd = lock_root(o, false), n;

	if (lfd < 0)
		return ERR_IDBM;
	if (o->json)
		printf("[");
	n = noderec_foreach(o->root, list_one, &c);
	if (o->json)
		printf("]\n");
	close(lfd);
	if (n < 0) {
		fprintf(stderr, "%s: reading records: %s\n", prog, strerror(-n));
		return ERR_IDBM;
	}
	if (n == 0 && !o->json) {
		fprintf(stderr, "%s: No records found\n", prog);
		return ERR_NO_OBJS_FOUND;
	}
	return ERR_OK;
}

static int do_node_op(const struct opts *o)
{
	char host[NODEREC_HOST_MAX];
	const char *reason = NULL;
	uint16_t port;
	int32_t tpgt;
	struct noderec r;
	int rc = ERR_OK, err, lfd;
	const char *op = o->op ? o->op : "show";

	if (!o->target || !o->portal)
		return usage_err("-m node -o %s needs -T IQN and -p PORTAL", op);
	if (names_check(o->target, &reason))
		return usage_err("'%s' is not an iSCSI name: %s", o->target, reason);
	if (parse_portal(o->portal, host, sizeof(host), &port, &tpgt))
		return usage_err("bad portal '%s': want HOST[:PORT][,TPGT]", o->portal);
	if (strcmp(op, "new") && strcmp(op, "show") && strcmp(op, "update") && strcmp(op, "delete"))
		return usage_err("unknown operation '%s': want new, show, update or delete", op);
	if (!strcmp(op, "update") && (!o->name || !o->value))
		return usage_err("-o update needs -n KEY and -v VALUE");
	lfd = lock_root(o, strcmp(op, "show") != 0);
	if (lfd < 0)
		return ERR_IDBM;
	if (!strcmp(op, "new")) {
		err = noderec_load(o->root, o->target, host, port, tpgt, &r);
		if (err == 0) {
			noderec_free(&r);
			fprintf(stderr, "%s: a record for %s at %s already exists\n", prog,
			        o->target, o->portal);
			rc = ERR_GENERIC;
			goto out;
		}
		err = noderec_init(&r, o->target, host, port, tpgt < 0 ? 1 : (uint16_t)tpgt);
		if (!err)
			err = noderec_save(o->root, &r);
		if (err) {
			fprintf(stderr, "%s: cannot create the record: %s\n", prog, strerror(-err));
			rc = ERR_IDBM;
		} else {
			printf("New iSCSI node [tcp:[hw=,ip=,net_if=,iscsi_if=default] %s,%u,%u "
			       "%s] added\n",
			       host, port, r.tpgt, o->target);
		}
		if (!err)
			noderec_free(&r);
		goto out;
	}
	err = noderec_load(o->root, o->target, host, port, tpgt, &r);
	if (err) {
		fprintf(stderr, "%s: No records found\n", prog);
		rc = ERR_NO_OBJS_FOUND;
		goto out;
	}
	if (!strcmp(op, "show")) {
		noderec_print(&r, stdout, o->show_secrets);
	} else if (!strcmp(op, "delete")) {
		err = noderec_delete(o->root, &r);
		if (err) {
			fprintf(stderr, "%s: cannot delete: %s\n", prog, strerror(-err));
			rc = ERR_IDBM;
		}
	} else {
		err = noderec_set(&r, o->name, o->value);
		if (err == -ENOENT) {
			rc = usage_err("unknown node setting '%s' (see -o show for the keys)",
			               o->name);
		} else if (err == -EPERM) {
			rc = usage_err("'%s' names the record and cannot be changed", o->name);
		} else if (err) {
			rc = usage_err("invalid value '%s' for %s", o->value, o->name);
		} else if ((err = noderec_save(o->root, &r)) != 0) {
			fprintf(stderr, "%s: cannot save: %s\n", prog, strerror(-err));
			rc = ERR_IDBM;
		}
	}
	noderec_free(&r);
out:
	close(lfd);
	return rc;
}

static int disc_print(const char *host, uint16_t port, void *arg)
{
	bool *first = arg;

	printf("%s%s%s:%u via sendtargets\n", strchr(host, ':') ? "[" : "", host,
	       strchr(host, ':') ? "]" : "", port);
	*first = false;
	return 0;
}

static int do_discoverydb(const struct opts *o)
{
	char host[NODEREC_HOST_MAX];
	uint16_t port;
	int32_t tpgt;
	int lfd, rc = ERR_OK, n;
	bool first = true;

	if (o->discover)
		return do_discovery(o);
	if (!o->portal) {
		lfd = lock_root(o, false);
		if (lfd < 0)
			return ERR_IDBM;
		n = noderec_foreach_discovery(o->root, disc_print, &first);
		close(lfd);
		if (n <= 0) {
			fprintf(stderr, "%s: No records found\n", prog);
			return ERR_NO_OBJS_FOUND;
		}
		return ERR_OK;
	}
	if (parse_portal(o->portal, host, sizeof(host), &port, &tpgt))
		return usage_err("bad portal '%s': want HOST[:PORT]", o->portal);
	lfd = lock_root(o, true);
	if (lfd < 0)
		return ERR_IDBM;
	if (o->op && !strcmp(o->op, "new")) {
		if (noderec_save_discovery(o->root, host, port))
			rc = ERR_IDBM;
	} else if (o->op && !strcmp(o->op, "delete")) {
		if (noderec_delete_discovery(o->root, host, port)) {
			fprintf(stderr, "%s: No records found\n", prog);
			rc = ERR_NO_OBJS_FOUND;
		}
	} else {
		printf("discovery.type = sendtargets\ndiscovery.sendtargets.address = "
		       "%s\ndiscovery.sendtargets.port = %u\n",
		       host, port);
	}
	close(lfd);
	return rc;
}

enum {
	OPT_JSON = 256,
	OPT_ROOT,
	OPT_TRANSPORT,
	OPT_INITIATOR,
	OPT_DISCOVER,
	OPT_RESCAN,
	OPT_SOCKET,
};

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"mode", required_argument, NULL, 'm'},
	        {"type", required_argument, NULL, 't'},
	        {"portal", required_argument, NULL, 'p'},
	        {"targetname", required_argument, NULL, 'T'},
	        {"op", required_argument, NULL, 'o'},
	        {"name", required_argument, NULL, 'n'},
	        {"value", required_argument, NULL, 'v'},
	        {"print", required_argument, NULL, 'P'},
	        {"show", no_argument, NULL, 'S'},
	        {"login", no_argument, NULL, 'l'},
	        {"logout", no_argument, NULL, 'u'},
	        {"loginall", required_argument, NULL, 'L'},
	        {"logoutall", required_argument, NULL, 'U'},
	        {"interface", required_argument, NULL, 'I'},
	        {"discover", no_argument, NULL, OPT_DISCOVER},
	        {"rescan", no_argument, NULL, OPT_RESCAN},
	        {"sid", required_argument, NULL, 'r'},
	        {"socket", required_argument, NULL, OPT_SOCKET},
	        {"json", no_argument, NULL, OPT_JSON},
	        {"root", required_argument, NULL, OPT_ROOT},
	        {"transport", required_argument, NULL, OPT_TRANSPORT},
	        {"initiator-name", required_argument, NULL, OPT_INITIATOR},
	        {"debug", no_argument, NULL, 'd'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct opts o;
	int c;

	memset(&o, 0, sizeof(o));
	o.root = getenv("XISCSI_ROOT");
	if (!o.root || !*o.root)
		o.root = DEFAULT_ROOT;
	o.socket = getenv("XISCSID_SOCKET");
	if (!o.socket || !*o.socket)
		o.socket = DEFAULT_SOCKET;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:t:p:T:o:n:v:P:SluL:U:I:dhr:", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.mode = optarg;
			break;
		case 't':
			o.type = optarg;
			break;
		case 'p':
			o.portal = optarg;
			break;
		case 'T':
			o.target = optarg;
			break;
		case 'o':
			o.op = optarg;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'v':
			o.value = optarg;
			break;
		case 'P':
			if (strlen(optarg) != 1 || optarg[0] < '0' || optarg[0] > '3')
				return usage_err("-P wants a print level 0..3, not '%s'", optarg);
			o.print_level = optarg[0] - '0';
			o.print_set = true;
			break;
		case 'S':
			o.show_secrets = true;
			break;
		case 'l':
			o.login = true;
			break;
		case 'u':
			o.logout = true;
			break;
		case 'L':
			o.loginall = optarg;
			break;
		case 'U':
			o.logoutall = optarg;
			break;
		case 'r':
			o.sid = optarg;
			break;
		case OPT_RESCAN:
			o.rescan = true;
			break;
		case 'I':
			o.iface = optarg;
			break;
		case OPT_SOCKET:
			o.socket = optarg;
			break;
		case OPT_DISCOVER:
			o.discover = true;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_ROOT:
			o.root = optarg;
			break;
		case OPT_TRANSPORT:
			o.transport = optarg;
			break;
		case OPT_INITIATOR:
			o.initiator = optarg;
			break;
		case 'd':
			o.debug++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return usage_err("option %s needs a value", argv[optind - 1]);
		default:
			return usage_err("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_err("unexpected argument '%s'", argv[optind]);
	if (!o.mode)
		return usage_err("-m MODE is required");
	if (!strcmp(o.mode, "session"))
		return adm_session(&o);
	if (!strcmp(o.mode, "iface"))
		return adm_iface(&o);
	if ((o.login || o.logout || o.loginall || o.logoutall) && strcmp(o.mode, "node"))
		return usage_err("--login, --logout, -L and -U belong to -m node");
	if (o.rescan)
		return usage_err("--rescan belongs to -m session -r SID");
	if (!strcmp(o.mode, "discovery"))
		return do_discovery(&o);
	if (!strcmp(o.mode, "discoverydb"))
		return do_discoverydb(&o);
	if (!strcmp(o.mode, "node")) {
		if (o.login || o.loginall)
			return adm_node_login(&o);
		if (o.logout || o.logoutall)
			return adm_node_logout(&o);
		if (o.iface && strcmp(o.iface, "default"))
			return usage_err("-I belongs to --login or -m iface");
		if (!o.target && !o.portal && !o.op)
			return do_node_list(&o);
		return do_node_op(&o);
	}
	return usage_err("unknown mode '%s': want discovery, discoverydb, node, session or iface",
	                 o.mode);
}
