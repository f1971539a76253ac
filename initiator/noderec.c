/* Node records on disk; see noderec.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "initiator/noderec.h"
#include "lib/names.h"

enum key_type {
	K_STR,    /* free text */
	K_SECRET, /* free text, masked when shown */
	K_NUM,    /* decimal in [min, max] */
	K_BOOL,   /* Yes / No */
	K_DIGEST, /* None, CRC32C, or both in order */
	K_CHOICE, /* one of choices */
	K_FIXED,  /* names the record: set when it is made */
};

struct key_def {
	const char *name;
	enum key_type type;
	const char *def;
	uint32_t min, max;
	const char *choices; /* K_CHOICE: '|'-separated */
};

/* open-iscsi's names (iscsid.conf), with the values this initiator honours. */
static const struct key_def key_defs[] = {
        {"node.name", K_FIXED, "", 0, 0, NULL},
        {"node.tpgt", K_FIXED, "", 0, 0, NULL},
        {"node.startup", K_CHOICE, "manual", 0, 0, "manual|automatic|onboot"},
        {"iface.transport_name", K_CHOICE, "tcp", 0, 0, "tcp|uring|xdp"},
        {"iface.iscsi_ifacename", K_STR, "default", 0, 0, NULL},
        {"node.session.auth.authmethod", K_CHOICE, "None", 0, 0, "None|CHAP"},
        {"node.session.auth.username", K_STR, "", 0, 0, NULL},
        {"node.session.auth.password", K_SECRET, "", 0, 0, NULL},
        {"node.session.auth.username_in", K_STR, "", 0, 0, NULL},
        {"node.session.auth.password_in", K_SECRET, "", 0, 0, NULL},
        {"node.session.timeo.replacement_timeout", K_NUM, "120", 0, 86400, NULL},
        {"node.session.initial_login_retry_max", K_NUM, "8", 0, 1000, NULL},
        {"node.session.queue_depth", K_NUM, "128", 1, 65535, NULL},
        {"node.session.iscsi.InitialR2T", K_BOOL, "No", 0, 0, NULL},
        {"node.session.iscsi.ImmediateData", K_BOOL, "Yes", 0, 0, NULL},
        {"node.session.iscsi.FirstBurstLength", K_NUM, "262144", 512, 16777215, NULL},
        {"node.session.iscsi.MaxBurstLength", K_NUM, "16776192", 512, 16777215, NULL},
        {"node.session.iscsi.DefaultTime2Wait", K_NUM, "2", 0, 3600, NULL},
        {"node.session.iscsi.DefaultTime2Retain", K_NUM, "20", 0, 3600, NULL},
        {"node.session.iscsi.MaxOutstandingR2T", K_NUM, "1", 1, 65535, NULL},
        {"node.conn[0].address", K_FIXED, "", 0, 0, NULL},
        {"node.conn[0].port", K_FIXED, "", 0, 0, NULL},
        {"node.conn[0].timeo.login_timeout", K_NUM, "15", 1, 3600, NULL},
        {"node.conn[0].timeo.noop_out_interval", K_NUM, "5", 0, 3600, NULL},
        {"node.conn[0].timeo.noop_out_timeout", K_NUM, "10", 1, 3600, NULL},
        {"node.conn[0].iscsi.MaxRecvDataSegmentLength", K_NUM, "262144", 512, 16777215, NULL},
        {"node.conn[0].iscsi.HeaderDigest", K_DIGEST, "None", 0, 0, NULL},
        {"node.conn[0].iscsi.DataDigest", K_DIGEST, "None", 0, 0, NULL},
};
#define NKEYS (sizeof(key_defs) / sizeof(key_defs[0]))

static const struct key_def *key_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(key_defs[i].name, name))
			return &key_defs[i];
	return NULL;
}

bool noderec_host_ok(const char *host)
{
	size_t n = strlen(host);

	if (n == 0 || n >= NODEREC_HOST_MAX || !strcmp(host, ".") || !strcmp(host, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == ':' || c == '%' || c == '_'))
			return false;
	}
	return true;
}

static int put(struct noderec *r, const char *key, const char *val)
{
	char *v = strdup(val);

	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < r->nkeys; i++) {
		if (!strcmp(r->keys[i], key)) {
			free(r->vals[i]);
			r->vals[i] = v;
			return 0;
		}
	}
	if (r->nkeys >= NODEREC_MAX_KEYS) {
		free(v);
		return -ENOSPC;
	}
	r->keys[r->nkeys] = strdup(key);
	if (!r->keys[r->nkeys]) {
		free(v);
		return -ENOMEM;
	}
	r->vals[r->nkeys++] = v;
	return 0;
}

void noderec_free(struct noderec *r)
{
	for (unsigned i = 0; i < r->nkeys; i++) {
		free(r->keys[i]);
		free(r->vals[i]);
	}
	r->nkeys = 0;
}

int noderec_init(struct noderec *r, const char *name, const char *host, uint16_t port,
                 uint16_t tpgt)
{
	char num[16];
	int err = 0;

	memset(r, 0, sizeof(*r));
	if (names_check(name, NULL) || strlen(name) >= sizeof(r->name) || !noderec_host_ok(host) ||
	    port == 0)
		return -EINVAL;
	strcpy(r->name, name);
	strcpy(r->host, host);
	r->port = port;
	r->tpgt = tpgt;
	for (size_t i = 0; i < NKEYS && !err; i++)
		if (key_defs[i].type != K_FIXED)
			err = put(r, key_defs[i].name, key_defs[i].def);
	err = err ?: put(r, "node.name", name);
	snprintf(num, sizeof(num), "%u", tpgt);
	err = err ?: put(r, "node.tpgt", num);
	err = err ?: put(r, "node.conn[0].address", host);
	snprintf(num, sizeof(num), "%u", port);
	err = err ?: put(r, "node.conn[0].port", num);
	if (err)
		noderec_free(r);
	return err;
}

const char *noderec_get(const struct noderec *r, const char *key)
{
	for (unsigned i = 0; i < r->nkeys; i++)
		if (!strcmp(r->keys[i], key))
			return r->vals[i];
	return NULL;
}

static bool choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);

	for (const char *p = choices; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);

		if (l == n && !strncasecmp(p, v, n))
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

static bool text_ok(const char *v)
{
	/* One line in the file: no control characters, and a sane length. */
	if (strlen(v) > 255)
		return false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int noderec_set(struct noderec *r, const char *key, const char *value)
{
	const struct key_def *d = key_find(key);
	unsigned long long v;
	char *end;

	if (!d)
		return -ENOENT;
	switch (d->type) {
	case K_FIXED:
		return -EPERM;
	case K_STR:
	case K_SECRET:
		if (!text_ok(value))
			return -EINVAL;
		break;
	case K_NUM:
		if (!*value || *value == '-' || *value == '+')
			return -EINVAL;
		errno = 0;
		v = strtoull(value, &end, 10);
		if (errno || *end || v < d->min || v > d->max)
			return -EINVAL;
		break;
	case K_BOOL:
		if (strcmp(value, "Yes") && strcmp(value, "No"))
			return -EINVAL;
		break;
	case K_DIGEST:
		if (!choice_ok("None|CRC32C|CRC32C,None|None,CRC32C", value))
			return -EINVAL;
		break;
	case K_CHOICE:
		if (!choice_ok(d->choices, value))
			return -EINVAL;
		break;
	}
	return put(r, key, value);
}

int noderec_lock(const char *root, bool exclusive)
{
	char path[4096];
	int fd;

	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/.lock", root);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int noderec_mkdirs(const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = i == n ? '\0' : '/';
	}
	return 0;
}

static int node_dir(const char *root, const struct noderec *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/nodes/%s/%s,%u,%u", root, r->name, r->host, r->port,
	                 r->tpgt);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Write a file atomically: temporary, fsync, rename. */
static int write_atomic(const char *path, const char *text)
{
	char tmp[4200];
	size_t len = strlen(text);
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int noderec_save(const char *root, const struct noderec *r)
{
	char dir[4096], path[4200];
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;
	int err;

	err = node_dir(root, r, dir, sizeof(dir));
	if (err)
		return err;
	err = noderec_mkdirs(dir, 0700);
	if (err)
		return err;
	f = open_memstream(&text, &tlen);
	if (!f)
		return -ENOMEM;
	fprintf(f, "# BEGIN RECORD xiscsi\n");
	noderec_print(r, f, true);
	fprintf(f, "# END RECORD\n");
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/default", dir);
	err = write_atomic(path, text);
	free(text);
	return err;
}

static int load_file(const char *path, struct noderec *r)
{
	char line[1024];
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -errno;
	/* Bounded by the file: one line per turn, keys capped by NODEREC_MAX_KEYS. */
	while (fgets(line, sizeof(line), f)) {
		char *eq, *k, *v, *e;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		eq = strstr(line, " = ");
		if (!eq)
			continue;
		*eq = '\0';
		k = line;
		v = eq + 3;
		if (!key_find(k))
			continue; /* a key of a newer version: keep going */
		e = v + strlen(v);
		while (e > v && e[-1] == ' ')
			*--e = '\0';
		if (!strcmp(v, "<empty>"))
			*v = '\0';
		err = put(r, k, v);
		if (err)
			break;
	}
	fclose(f);
	return err;
}

int noderec_load(const char *root, const char *name, const char *host, uint16_t port, int tpgt,
                 struct noderec *r)
{
	char dir[4096], path[4400], prefix[300];
	struct dirent *de;
	DIR *d;
	int err = -ENOENT;
	long found = -1;

	if (names_check(name, NULL) || !noderec_host_ok(host))
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%s/nodes/%s", root, name);
	snprintf(prefix, sizeof(prefix), "%s,%u,", host, port);
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long t;

		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		errno = 0;
		t = strtol(de->d_name + strlen(prefix), &end, 10);
		if (errno || *end || t < 0 || t > 65535)
			continue;
		if (tpgt >= 0 && t != tpgt)
			continue;
		found = t;
		break;
	}
	closedir(d);
	if (found < 0)
		return -ENOENT;
	err = noderec_init(r, name, host, port, (uint16_t)found);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s%ld/default", dir, prefix, found);
	err = load_file(path, r);
	if (err)
		noderec_free(r);
	return err;
}

int noderec_delete(const char *root, const struct noderec *r)
{
	char dir[4096], path[4200];
	int err = node_dir(root, r, dir, sizeof(dir));

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/default", dir);
	if (unlink(path) < 0)
		return -errno;
	rmdir(dir);
	snprintf(path, sizeof(path), "%s/nodes/%s", root, r->name);
	rmdir(path); /* only when it was the target's last portal */
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in a directory, sorted, without dot entries; returns the count or -errno. */
static int list_dir(const char *path, char ***out)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **v = NULL;
	int n = 0;

	*out = NULL;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL && n < 100000) {
		char **nv;

		if (de->d_name[0] == '.')
			continue;
		nv = realloc(v, (size_t)(n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[n] = strdup(de->d_name);
		if (!v[n])
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static void free_list(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* "HOST,PORT,TPGT": the host may hold ':' (IPv6), so split at the last two commas. */
static int split_portal(const char *s, char *host, size_t hlen, uint16_t *port, uint16_t *tpgt,
                        bool with_tpgt)
{
	const char *c2 = strrchr(s, ','), *c1;
	unsigned long p, t = 0;
	char *end;

	if (!c2)
		return -EINVAL;
	if (with_tpgt) {
		c1 = c2;
		while (c1 > s && c1[-1] != ',')
			c1--;
		if (c1 == s)
			return -EINVAL;
		c1--;
		t = strtoul(c2 + 1, &end, 10);
		if (*end || t > 65535)
			return -EINVAL;
	} else {
		c1 = c2;
	}
	p = strtoul(c1 + 1, &end, 10);
	if ((with_tpgt ? end != c2 : *end != '\0') || p == 0 || p > 65535)
		return -EINVAL;
	if ((size_t)(c1 - s) >= hlen)
		return -ENAMETOOLONG;
	memcpy(host, s, (size_t)(c1 - s));
	host[c1 - s] = '\0';
	*port = (uint16_t)p;
	*tpgt = (uint16_t)t;
	return noderec_host_ok(host) ? 0 : -EINVAL;
}

int noderec_foreach(const char *root, int (*cb)(const struct noderec *r, void *arg), void *arg)
{
	char path[4096];
	char **names = NULL;
	int nn, count = 0, stop = 0;

	snprintf(path, sizeof(path), "%s/nodes", root);
	nn = list_dir(path, &names);
	if (nn < 0)
		return nn;
	for (int i = 0; i < nn && !stop; i++) {
		char **portals = NULL;
		int np;

		if (names_check(names[i], NULL))
			continue;
		snprintf(path, sizeof(path), "%s/nodes/%s", root, names[i]);
		np = list_dir(path, &portals);
		for (int j = 0; j < np && !stop; j++) {
			char host[NODEREC_HOST_MAX];
			uint16_t port, tpgt;
			struct noderec r;

			if (split_portal(portals[j], host, sizeof(host), &port, &tpgt, true))
				continue;
			if (noderec_load(root, names[i], host, port, tpgt, &r))
				continue;
			count++;
			stop = cb(&r, arg);
			noderec_free(&r);
		}
		free_list(portals, np > 0 ? np : 0);
	}
	free_list(names, nn);
	return count;
}

void noderec_print(const struct noderec *r, FILE *f, bool show_secrets)
{
	/* Table order first, so the output reads the same for every record. */
	for (size_t i = 0; i < NKEYS; i++) {
		const char *v = noderec_get(r, key_defs[i].name);

		if (!v)
			continue;
		if (key_defs[i].type == K_SECRET && !show_secrets && *v)
			v = "********";
		fprintf(f, "%s = %s\n", key_defs[i].name, *v ? v : "<empty>");
	}
}

static int disc_dir(const char *root, const char *host, uint16_t port, char *buf, size_t len)
{
	int n;

	if (!noderec_host_ok(host))
		return -EINVAL;
	n = snprintf(buf, len, "%s/send_targets/%s,%u", root, host, port);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int noderec_save_discovery(const char *root, const char *host, uint16_t port)
{
	char dir[4096], path[4200], text[512];
	int err = disc_dir(root, host, port, dir, sizeof(dir));

	if (err)
		return err;
	err = noderec_mkdirs(dir, 0700);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/st_config", dir);
	snprintf(text, sizeof(text),
	         "# BEGIN RECORD xiscsi\ndiscovery.startup = manual\ndiscovery.type = "
	         "sendtargets\ndiscovery.sendtargets.address = %s\ndiscovery.sendtargets.port = "
	         "%u\n# END RECORD\n",
	         host, port);
	return write_atomic(path, text);
}

int noderec_delete_discovery(const char *root, const char *host, uint16_t port)
{
	char dir[4096], path[4200];
	int err = disc_dir(root, host, port, dir, sizeof(dir));

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/st_config", dir);
	if (unlink(path) < 0)
		return -errno;
	rmdir(dir);
	return 0;
}

int noderec_foreach_discovery(const char *root,
                              int (*cb)(const char *host, uint16_t port, void *arg), void *arg)
{
	char path[4096];
	char **v = NULL;
	int n, count = 0;

	snprintf(path, sizeof(path), "%s/send_targets", root);
	n = list_dir(path, &v);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		char host[NODEREC_HOST_MAX];
		uint16_t port, tpgt;

		if (split_portal(v[i], host, sizeof(host), &port, &tpgt, false))
			continue;
		count++;
		if (cb(host, port, arg))
			break;
	}
	free_list(v, n);
	return count;
}

bool noderec_iface_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof(((struct noderec_iface *)0)->name) || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

int noderec_iface_set(struct noderec_iface *f, const char *key, const char *value)
{
	unsigned long long v;
	char *end;

	if (!strcmp(key, "iface.iscsi_ifacename"))
		return -EPERM;
	if (!strcmp(key, "iface.transport_name")) {
		if (!choice_ok("tcp|uring|xdp", value))
			return -EINVAL;
		snprintf(f->transport, sizeof(f->transport), "%s", value);
		for (char *p = f->transport; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		return 0;
	}
	if (!strcmp(key, "iface.net_ifacename")) {
		/* An interface name as the kernel allows it (IFNAMSIZ, no '/'). */
		if (strlen(value) >= sizeof(f->netdev) || strchr(value, '/') || !text_ok(value) ||
		    strchr(value, ' '))
			return -EINVAL;
		snprintf(f->netdev, sizeof(f->netdev), "%s", value);
		return 0;
	}
	if (!strcmp(key, "iface.ipaddress")) {
		/* IPv4 ADDR or ADDR/PREFIX (1..32); "" or <empty> clears it. */
		char a[INET_ADDRSTRLEN];
		const char *slash = strchr(value, '/');
		size_t n = slash ? (size_t)(slash - value) : strlen(value);
		struct in_addr in;

		if (!*value || !strcmp(value, "<empty>")) {
			f->ipaddress[0] = '\0';
			return 0;
		}
		if (n == 0 || n >= sizeof(a) || strlen(value) >= sizeof(f->ipaddress))
			return -EINVAL;
		memcpy(a, value, n);
		a[n] = '\0';
		if (inet_pton(AF_INET, a, &in) != 1 || in.s_addr == htonl(INADDR_ANY))
			return -EINVAL;
		if (slash) {
			errno = 0;
			v = strtoull(slash + 1, &end, 10);
			if (errno || end == slash + 1 || *end || v < 1 || v > 32 ||
			    !isdigit((unsigned char)slash[1]))
				return -EINVAL;
		}
		snprintf(f->ipaddress, sizeof(f->ipaddress), "%s", value);
		return 0;
	}
	if (!strcmp(key, "iface.queue")) {
		if (!*value || *value == '-' || *value == '+')
			return -EINVAL;
		errno = 0;
		v = strtoull(value, &end, 10);
		if (errno || *end || v > 65535)
			return -EINVAL;
		f->queue = (uint32_t)v;
		return 0;
	}
	return -ENOENT;
}

static void iface_default(struct noderec_iface *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	strcpy(f->transport, "tcp");
}

int noderec_iface_load(const char *root, const char *name, struct noderec_iface *f)
{
	char path[4200], line[512];
	FILE *in;
	int err = 0;

	if (!noderec_iface_name_ok(name))
		return -EINVAL;
	iface_default(f, name);
	snprintf(path, sizeof(path), "%s/ifaces/%s", root, name);
	in = fopen(path, "re");
	if (!in)
		return !strcmp(name, "default") ? 0 : -ENOENT;
	while (fgets(line, sizeof(line), in)) {
		char *eq;
		int e;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		eq = strstr(line, " = ");
		if (!eq)
			continue;
		*eq = '\0';
		if (!strcmp(eq + 3, "<empty>"))
			eq[3] = '\0';
		e = noderec_iface_set(f, line, eq + 3);
		if (e && e != -EPERM && e != -ENOENT) {
			err = e;
			break;
		}
	}
	fclose(in);
	return err;
}

void noderec_iface_print(const struct noderec_iface *f, FILE *out)
{
	fprintf(out, "iface.iscsi_ifacename = %s\n", f->name);
	fprintf(out, "iface.transport_name = %s\n", f->transport);
	fprintf(out, "iface.net_ifacename = %s\n", f->netdev[0] ? f->netdev : "<empty>");
	fprintf(out, "iface.queue = %u\n", f->queue);
	fprintf(out, "iface.ipaddress = %s\n", f->ipaddress[0] ? f->ipaddress : "<empty>");
}

int noderec_iface_save(const char *root, const struct noderec_iface *f)
{
	char dir[4096], path[4200];
	char *text = NULL;
	size_t tlen = 0;
	FILE *m;
	int err;

	if (!noderec_iface_name_ok(f->name))
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%s/ifaces", root);
	err = noderec_mkdirs(dir, 0700);
	if (err)
		return err;
	m = open_memstream(&text, &tlen);
	if (!m)
		return -ENOMEM;
	fprintf(m, "# BEGIN RECORD xiscsi\n");
	noderec_iface_print(f, m);
	fprintf(m, "# END RECORD\n");
	if (fclose(m) != 0) {
		free(text);
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, f->name);
	err = write_atomic(path, text);
	free(text);
	return err;
}

int noderec_iface_delete(const char *root, const char *name)
{
	char path[4200];

	if (!noderec_iface_name_ok(name))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/ifaces/%s", root, name);
	return unlink(path) < 0 ? -errno : 0;
}

int noderec_iface_foreach(const char *root, int (*cb)(const struct noderec_iface *f, void *arg),
                          void *arg)
{
	char path[4096];
	char **v = NULL;
	int n, count = 0;

	snprintf(path, sizeof(path), "%s/ifaces", root);
	n = list_dir(path, &v);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct noderec_iface f;
		size_t l = strlen(v[i]);

		if (l > 4 && !strcmp(v[i] + l - 4, ".tmp"))
			continue;
		if (noderec_iface_load(root, v[i], &f))
			continue;
		count++;
		if (cb(&f, arg))
			break;
	}
	free_list(v, n);
	return count;
}
