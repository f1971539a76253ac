/*
 * xtgtd object model: daemon -> portals (listeners) and targets -> LUNs.
 *
 * Portals, targets and LUNs are built from the configuration at start and
 * read by every reactor thread. The admin side (control socket) will change
 * them while the daemon runs: it takes d->objs_lock for writing, the login
 * and discovery paths take it for reading. The per-I/O path never takes it:
 * a session resolves its target's LUN table at login and keeps a reference.
 */
#ifndef XISCSI_TARGET_TGT_H
#define XISCSI_TARGET_TGT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "target/config.h"
#include "transport/transport.h"

struct tgt_lu;
struct tgt_daemon;
struct tgt_session;
struct tgt_conn;
struct tgt_admin;

/* Targets a daemon can hold: the array is allocated once so that sessions
 * may keep pointers into it while targets come and go. */
#define TGT_TARGETS_MAX 256

struct tgt_lun {
	uint64_t lun; /* LUN number as configured (0..TGT_LUN_MAX) */
	char *spec;
	struct tgt_lu *lu;
};

struct tgt_target {
	char *name;
	char *alias;
	uint16_t tpgt;
	/* Sorted by number. The admin side replaces the array (never in place)
	 * and keeps the old one until exit; luns_cap never shrinks, so a reader
	 * mixing an old count with a new array stays in bounds. */
	struct tgt_lun *luns;
	size_t nluns;
	size_t luns_cap;
	bool removed; /* by the admin side; the slot stays for live pointers */
	char **acl;   /* empty: every initiator may log in */
	size_t nacl;
	struct tgt_cfg_chap chap;
	struct tgt_cfg_chap chap_mutual;
	atomic_uint sessions; /* live normal sessions */
};

struct tgt_portal {
	struct tgt_daemon *d;
	char *host;
	uint16_t port;
	uint16_t tpgt;
	char text[XT_ADDRSTRLEN + 8];   /* "ip:port,tpgt" as SendTargets writes it */
	struct xt_listener **listeners; /* one per thread (SO_REUSEPORT) */
};

/* One reactor thread: one transport group, its connections. */
struct tgt_thread {
	struct tgt_daemon *d;
	unsigned idx;
	pthread_t tid;
	bool started;
	struct xt_group *g;
	struct tgt_conn *conns; /* live connections of this group */
	unsigned nconns;
	struct xt_timer tick; /* once a second: NOP pings, shutdown progress */
	bool draining;        /* shutdown seen by this thread */
	uint64_t drain_deadline_ms;
};

struct tgt_daemon {
	struct tgt_config *cfg;
	pthread_rwlock_t objs_lock;
	struct tgt_target *targets; /* TGT_TARGETS_MAX slots, never moved */
	size_t ntargets;
	struct tgt_admin *admin; /* control socket state (target/admin.h) */
	struct tgt_portal *portals;
	size_t nportals;
	struct tgt_thread *threads;
	unsigned nthreads;
	atomic_bool stopping;
	/* Sessions of every thread, for reinstatement (RFC 7143 6.3.5) and TSIH
	 * allocation; taken on login and logout only. */
	pthread_mutex_t sess_lock;
	struct tgt_session *sessions;
	uint16_t next_tsih;
	uint64_t next_nexus;
	unsigned nsessions;
};

/* Target by name, case-insensitive (RFC 7143 4.2.7.1: names are normalized
 * to lower case). Caller holds objs_lock. */
struct tgt_target *tgt_target_find(struct tgt_daemon *d, const char *name);

/* Whether initiator may log in to t (ACL; open when the list is empty). */
bool tgt_target_allows(const struct tgt_target *t, const char *initiator);

/* The LUN entry for an 8-byte SAM LUN field, or NULL. */
struct tgt_lun *tgt_target_lun(struct tgt_target *t, const uint8_t field[8]);

/* The LUN number of a field for the SCSI layer; one that does not decode
 * gets a number no LUN has. */
uint64_t tgt_lun_number(const uint8_t field[8]);

#endif
