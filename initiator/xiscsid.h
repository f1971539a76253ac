/*
 * xiscsid: the daemon that holds libxiscsi sessions and exports their LUNs
 * over NBD. One thread: an epoll set over each transport loop's
 * xiscsi_loop_fd(), the control socket and its clients, a signalfd, and
 * the NBD exports' descriptors, all dispatched through struct xi_evh.
 *
 * libxiscsi callbacks only record what happened and mark the session for
 * work; xd_sess_work() runs at the top of the loop, outside every
 * callback, so that it may submit, free and call the export functions.
 */
#ifndef XI_XISCSID_H
#define XI_XISCSID_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <xiscsi/xiscsi.h>

#include "initiator/nbd.h"
#include "initiator/noderec.h"
#include "lib/ctlsock.h"

#define XD_TRANSPORTS 3 /* tcp, uring, xdp */
/* Those three, then loops bound by an iface to an interface queue (xdp). */
#define XD_LOOPS (XD_TRANSPORTS + 16)

struct xd_loop {
	struct xi_evh evh;
	const char *transport;
	struct xiscsi_loop *loop;
	char bind[48]; /* "IF:QUEUE[ ADDR/PREFIX]" of a bound loop, "" otherwise */
};

struct xd_client;

struct xd_lun {
	uint64_t lun;
	uint8_t pdt; /* peripheral device type, INQUIRY byte 0 bits 4..0 */
	char vendor[9], product[17];
	bool seen; /* in the last REPORT LUNS */
	struct xi_nbd_export *exp;
	char path[108];
	char tcp[80]; /* "127.0.0.1:10809" when also served on TCP */
	char export_error[160];
	bool closing;
};

enum xd_phase {
	XD_LOGIN,       /* connect in flight */
	XD_LOGIN_RETRY, /* waiting for retry_at */
	XD_SCAN,        /* REPORT LUNS / INQUIRY in flight */
	XD_READY,
	XD_CLOSE_EXPORTS, /* logging out: waiting for exports to finish */
	XD_LOGOUT,        /* Logout Request in flight */
	XD_DEAD,          /* to be freed */
};

struct xd_sess {
	struct xd_sess *next;
	struct xd_daemon *d;
	unsigned sid;
	struct xd_loop *lp;
	struct xiscsi_session *s;
	struct xiscsi_opts opts;
	json_t *record; /* key -> value strings, what the session was made from */
	char target[224];
	char host[NODEREC_HOST_MAX];
	uint16_t port;
	int tpgt; /* from the record; -1 unknown */
	char iface[64];
	char initiator[224];
	enum xd_phase phase;
	bool work;          /* xd_sess_work() has something to do */
	bool login_done;    /* connect callback ran */
	int login_err;      /* its result */
	unsigned tries;     /* initial login attempts made */
	unsigned tries_max; /* node.session.initial_login_retry_max + 1 */
	uint64_t retry_at;  /* ms, monotonic */
	bool gave_up;       /* libxiscsi's reconnect ended in FAILED */
	bool lost_told;     /* exports were told */
	bool want_rescan;   /* scan again once logged in and idle */
	char error[640];
	/* scan */
	struct xiscsi_cmd cmd;
	uint8_t *buf;
	uint32_t buf_len;
	bool cmd_busy, cmd_done;
	unsigned scan_idx;
	unsigned nluns;
	struct xd_lun *luns;
	/* logout */
	unsigned exports_closing;
	bool logout_done;
	/* control clients waiting for this session */
	struct xd_client *wait_login, *wait_logout, *wait_rescan;
	bool logout_all; /* part of a logout everything (shutdown) */
};

struct xd_daemon {
	int epfd;
	struct xd_loop loops[XD_LOOPS];
	struct xd_sess *sessions;
	unsigned next_sid;
	const char *root;   /* node and iface records */
	const char *rundir; /* NBD sockets under RUNDIR/nbd */
	const char *sock;   /* control socket */
	const char *initiator_name;
	char nbd_tcp_host[64]; /* --nbd-tcp: exports also on TCP, "" for none */
	unsigned nbd_tcp_next; /* the next port to try */
	int lfd;
	struct xi_evh lfd_evh;
	int sfd;
	struct xi_evh sfd_evh;
	bool stopping;
	struct xd_client *clients;
	unsigned nclients;
};

struct xd_client {
	struct xi_evh evh;
	struct xd_client *next;
	struct xd_daemon *d;
	int fd;
	struct xi_ctl_lines in; /* XD_REQUEST_MAX bytes */
	bool waiting;           /* a reply is owed by a session; lines wait */
	bool resume;            /* that reply went: buffered lines may go on */
	bool dead;
};

/* xiscsid_sess.c */
struct xd_sess *xd_sess_find(struct xd_daemon *d, unsigned sid);
/* Start a login from a record (node.* keys) and options; reply goes to c
 * (may be NULL). 0 or -errno with err filled. */
int xd_sess_login(struct xd_daemon *d, json_t *record, json_t *options, const char *initiator,
                  struct xd_client *c, char *err, size_t errlen);
int xd_sess_logout(struct xd_sess *s, struct xd_client *c);
int xd_sess_rescan(struct xd_sess *s, struct xd_client *c);
void xd_sess_work(struct xd_sess *s);
json_t *xd_sess_json(const struct xd_sess *s);
/* The loop of transport; with xdp_if (IF:QUEUE) and xdp_ip (ADDR[/PREFIX] or
 * NULL) one bound to that interface queue, made by the first caller. */
int xd_loop_get(struct xd_daemon *d, const char *transport, const char *xdp_if, const char *xdp_ip,
                struct xd_loop **out);
uint64_t xd_now_ms(void);
/* Record text of a noderec as a JSON object of strings. */
json_t *xd_record_json(const struct noderec *r);

/* xiscsid_ctl.c */
int xd_ctl_start(struct xd_daemon *d, char *err, size_t errlen);
void xd_ctl_stop(struct xd_daemon *d);
/* Run the lines of clients whose awaited reply has gone. */
void xd_ctl_resume(struct xd_daemon *d);
/* A session finished what c waited for: send reply (stolen) and resume. */
void xd_client_reply(struct xd_client *c, json_t *result, const char *code, const char *err);

#endif
