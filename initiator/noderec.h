/*
 * Node and discovery records for xiscsiadm, laid out as open-iscsi does:
 *
 *   ROOT/nodes/TARGET-IQN/HOST,PORT,TPGT/default      "key = value" lines
 *   ROOT/send_targets/HOST,PORT/st_config
 *
 * Names from the wire are validated before they become path components.
 * Writers take an exclusive flock on ROOT/.lock, readers a shared one, and
 * every file is replaced atomically (temporary file, fsync, rename), so
 * concurrent runs never see or leave a half-written record.
 */
#ifndef XI_INI_NODEREC_H
#define XI_INI_NODEREC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define NODEREC_MAX_KEYS 64
#define NODEREC_HOST_MAX 256

struct noderec {
	char name[224];
	char host[NODEREC_HOST_MAX];
	uint16_t port;
	uint16_t tpgt;
	unsigned nkeys;
	char *keys[NODEREC_MAX_KEYS];
	char *vals[NODEREC_MAX_KEYS];
};

/* A record with every known key at its default. 0, -EINVAL (bad name or host) or -ENOMEM. */
int noderec_init(struct noderec *r, const char *name, const char *host, uint16_t port,
                 uint16_t tpgt);
void noderec_free(struct noderec *r);
/* mkdir -p with mode for each directory made; 0 or -errno. */
int noderec_mkdirs(const char *path, mode_t mode);

/*
 * Set a key after checking it is one we know and the value fits its type
 * (number range, Yes/No, None/CRC32C, list). -ENOENT unknown key, -EINVAL
 * bad value, -EPERM for keys that name the record (node.name, address...).
 */
int noderec_set(struct noderec *r, const char *key, const char *value);
const char *noderec_get(const struct noderec *r, const char *key);

/* Whether a host string may be a path component: an address or DNS name. */
bool noderec_host_ok(const char *host);

/* Lock ROOT/.lock (creating ROOT): returns an fd to close, or -errno. */
int noderec_lock(const char *root, bool exclusive);

int noderec_save(const char *root, const struct noderec *r);
/* Load the record of name at host:port (any TPGT when tpgt < 0). -ENOENT when none. */
int noderec_load(const char *root, const char *name, const char *host, uint16_t port, int tpgt,
                 struct noderec *r);
int noderec_delete(const char *root, const struct noderec *r);

/* Every record, sorted by name then portal; cb returns non-zero to stop. Returns the count. */
int noderec_foreach(const char *root, int (*cb)(const struct noderec *r, void *arg), void *arg);

/* "key = value" lines, as open-iscsi prints them; secrets masked unless show_secrets. */
void noderec_print(const struct noderec *r, FILE *f, bool show_secrets);

/* The discovery record of a portal: remembered for -m discoverydb. */
int noderec_save_discovery(const char *root, const char *host, uint16_t port);
int noderec_delete_discovery(const char *root, const char *host, uint16_t port);
int noderec_foreach_discovery(const char *root,
                              int (*cb)(const char *host, uint16_t port, void *arg), void *arg);

/*
 * Interfaces (-m iface), kept beside the node records as open-iscsi keeps
 * them: ROOT/ifaces/NAME, "key = value" lines. An iface binds the sessions
 * of the nodes that name it (iface.iscsi_ifacename) to a transport backend
 * and, for xdp, a NIC queue. "default" always exists: the node's own
 * iface.transport_name.
 */
struct noderec_iface {
	char name[64];
	char transport[8];  /* tcp, uring, xdp */
	char netdev[16];    /* xdp: interface (IFNAMSIZ), "" for none */
	uint32_t queue;     /* xdp: queue index on netdev */
	char ipaddress[20]; /* xdp: the stack's own IPv4 ADDR[/PREFIX] on netdev, "" for none */
};

/* Letters, digits, '.', '-', '_'; 1..63 characters. */
bool noderec_iface_name_ok(const char *name);
/* Keys: iface.transport_name, iface.net_ifacename, iface.queue, iface.ipaddress.
 * -ENOENT, -EINVAL, -EPERM. */
int noderec_iface_set(struct noderec_iface *f, const char *key, const char *value);
/* "default" is built in: tcp, no netdev. -ENOENT when there is no such iface. */
int noderec_iface_load(const char *root, const char *name, struct noderec_iface *f);
int noderec_iface_save(const char *root, const struct noderec_iface *f);
int noderec_iface_delete(const char *root, const char *name);
/* Every stored iface, sorted by name; returns the count. */
int noderec_iface_foreach(const char *root, int (*cb)(const struct noderec_iface *f, void *arg),
                          void *arg);
void noderec_iface_print(const struct noderec_iface *f, FILE *out);

#endif
