/*
 * xtgtd configuration: what the command line and the configuration file
 * (man/xtgtd.conf.5) describe, before anything is opened. Parsing knows no
 * socket and no LUN: it only checks syntax and ranges, so that a bad flag or
 * line is reported with its place before the daemon touches the system.
 */
#ifndef XISCSI_TARGET_CONFIG_H
#define XISCSI_TARGET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* RFC 7143 section 6: iSCSI names are at most 223 bytes. */
#define TGT_NAME_MAX 223
/* RFC 7143 section 13.5: TargetPortalGroupTag is 16 bits, 0 is reserved by us
 * for "not configured" and replaced with 1. */
#define TGT_TPGT_DEFAULT        1
#define TGT_PORT_DEFAULT        3260
#define TGT_QUEUE_DEPTH_DEFAULT 128
#define TGT_QUEUE_DEPTH_MAX     4096
#define TGT_THREADS_MAX         64
/* SAM-5 single level LUN, peripheral addressing: 0..255; flat space 0..16383. */
#define TGT_LUN_MAX         16383
#define TGT_CHAP_SECRET_MIN 12
#define TGT_CHAP_SECRET_MAX 255

enum tgt_log_dest {
	TGT_LOG_STDERR,
	TGT_LOG_SYSLOG,
};

struct tgt_cfg_portal {
	char *host; /* numeric address or name, without brackets */
	uint16_t port;
	uint16_t tpgt; /* portal group this listener serves */
};

struct tgt_cfg_lun {
	uint32_t lun;
	char *spec;   /* backing store spec, parsed by target/lu.h */
	bool offline; /* "offline N": starts NOT READY (xtgtadm lun offline) */
};

struct tgt_cfg_chap {
	char *user; /* NULL: no CHAP */
	char *secret;
	/* Accepted CHAP_A numbers, "7,8" (RFC 7143 12.1.3); NULL: all four
	 * (MD5, SHA-1, SHA-256, SHA3-256). Kept when user and secret change. */
	char *algs;
};

struct tgt_cfg_target {
	char *name; /* IQN / EUI / NAA */
	char *alias;
	uint16_t tpgt;
	struct tgt_cfg_lun *luns;
	size_t nluns;
	/* Initiator names allowed to log in; none listed: open to all. */
	char **acl;
	size_t nacl;
	struct tgt_cfg_chap chap;        /* initiator authenticates to us */
	struct tgt_cfg_chap chap_mutual; /* we authenticate to the initiator */
};

struct tgt_config {
	struct tgt_cfg_portal *portals;
	size_t nportals;
	struct tgt_cfg_target *targets;
	size_t ntargets;
	char *transport; /* backend name; NULL: the registry's default */
	/* Transport options (xiscsi-transport(7)), "NAME" or "NAME=VALUE", one
	 * per name (a later one replaces it), values already checked. */
	char **transport_opts;
	size_t ntransport_opts;
	unsigned threads;
	unsigned queue_depth;    /* CmdSN window per session */
	unsigned nop_interval_s; /* idle time before a NOP-In ping; 0: never */
	unsigned nop_timeout_s;  /* ping unanswered this long: drop */
	bool foreground;
	int log_level; /* LOG_ERR..LOG_DEBUG from syslog.h */
	enum tgt_log_dest log_dest;
	struct tgt_cfg_chap discovery_chap;
	char *config_file; /* -c FILE, kept for the admin side's "save" */
	char *control;     /* --control PATH; NULL: the default, "none": off */
	bool help;
	bool version;
};

void tgt_config_init(struct tgt_config *cfg);
void tgt_config_free(struct tgt_config *cfg);

/*
 * Command line. Options are applied in order; -c FILE is loaded where it
 * appears, so later flags override it. On error returns -EINVAL and writes a
 * one-line message (without program name or newline) to err.
 */
int tgt_config_parse_args(struct tgt_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* Load a configuration file; errors read "FILE:LINE: message". */
int tgt_config_load_file(struct tgt_config *cfg, const char *path, char *err, size_t errlen);

/* Parse configuration text; name is used in messages in place of a file name. */
int tgt_config_load_string(struct tgt_config *cfg, const char *text, const char *name, char *err,
                           size_t errlen);

/*
 * Checks that need the whole picture: at least one portal and one target,
 * unique names and LUN numbers. Fills defaults (port, tpgt).
 */
int tgt_config_finish(struct tgt_config *cfg, char *err, size_t errlen);

/* "HOST:PORT", "[V6]:PORT", "HOST" or "[V6]"; host copied without brackets. */
int tgt_config_parse_hostport(const char *s, char **host, uint16_t *port);

/* "1G", "512M", "4096", "10T" ... into bytes; suffixes are powers of 1024. */
int tgt_config_parse_size(const char *s, uint64_t *out);

/* Log level by name (err, warning, notice, info, debug) or number 3..7. */
int tgt_config_parse_log_level(const char *s, int *level);

/*
 * A CHAP algorithm list as people write it ("sha256,sha3-256", names md5,
 * sha1, sha256, sha3-256 or their CHAP_A numbers 5..8) into CHAP_A numbers
 * ("7,8", malloc'ed, duplicates dropped). 0, -EINVAL or -ENOMEM.
 */
int tgt_config_parse_chap_algs(const char *s, char **out);
/* The names of a CHAP_A number list ("7,8" -> "sha256,sha3-256") into buf. */
void tgt_config_chap_alg_names(const char *algs, char *buf, size_t len);

struct xt_group_opts;
struct xt_conn_opts;

/* Whether name is a transport option (busy-poll, sndbuf, xdp-if, ...). */
bool tgt_config_is_transport_opt(const char *name);

/*
 * The configured transport options into go (every thread's group) and co
 * (every listener's accepted connections); either may be NULL. Both are
 * only added to: the caller zeroes them and sets opts_size.
 */
void tgt_config_transport_opts(const struct tgt_config *cfg, struct xt_group_opts *go,
                               struct xt_conn_opts *co);

/* Usage text for --help. */
void tgt_config_usage(FILE *out, const char *prog);

#endif
