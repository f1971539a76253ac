/* xiscsiadm: what its two files share (xiscsiadm.c, xiscsiadm_sess.c). */
#ifndef XI_XISCSIADM_H
#define XI_XISCSIADM_H

#include <stdbool.h>

/* Exit codes as iscsiadm's (open-iscsi include/iscsi_err.h). */
enum {
	ERR_OK = 0,
	ERR_GENERIC = 1,
	ERR_TRANS = 4,
	ERR_LOGIN = 5,
	ERR_IDBM = 6,
	ERR_INVAL = 7,
	ERR_TRANS_TIMEOUT = 8,
	ERR_SESS_EXISTS = 15,
	ERR_ISCSID_NOTCONN = 20,
	ERR_NO_OBJS_FOUND = 21,
	ERR_LOGIN_AUTH_FAILED = 24,
};

#define DEFAULT_ROOT   "/var/lib/xiscsi"
#define DEFAULT_SOCKET "/run/xiscsi/xiscsid.sock"

struct opts {
	const char *mode;
	const char *type;
	const char *portal;
	const char *target;
	const char *op;
	const char *name;
	const char *value;
	const char *root;
	const char *transport;
	const char *initiator;
	const char *iface;
	const char *socket;
	const char *sid;
	const char *loginall, *logoutall;
	int print_level;
	bool print_set;
	bool json;
	bool show_secrets;
	bool discover;
	bool login, logout, rescan;
	int debug;
};

int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* HOST[:PORT][,TPGT]; tpgt -1 when absent. */
int parse_portal(const char *s, char *host, size_t hlen, uint16_t *port, int32_t *tpgt);

/* xiscsiadm_sess.c: what goes through xiscsid. */
int adm_node_login(const struct opts *o);
int adm_node_logout(const struct opts *o);
int adm_session(const struct opts *o);
int adm_iface(const struct opts *o);

#endif
