/*
 * One iSCSI connection on the target: receive parser, send slots, login,
 * then the full feature phase. Lives on one reactor thread.
 */
#ifndef XISCSI_TARGET_CONN_H
#define XISCSI_TARGET_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/pdu.h"
#include "lib/pdu_rx.h"
#include "lib/pdu_tx.h"
#include "target/session.h"
#include "target/tgt.h"
#include "transport/transport.h"

struct keys;
struct tgt_login;

enum tgt_conn_state {
	TGT_CONN_LOGIN,
	TGT_CONN_FFP,
	TGT_CONN_LOGOUT, /* Logout Response queued: close when sent */
	TGT_CONN_CLOSED,
};

#define TGT_TX_IOV (1 + PDU_TX_IOV_EXTRA)

/* Small data a control PDU carries inline (Reject: the rejected BHS). */
#define TGT_TX_INLINE 64

/* One control PDU (NOP-In, R2T, Reject, Text, Login, TMF, Logout response)
 * on its way out. Pooled per connection. */
struct tgt_tx {
	struct xt_send_req req;
	struct tgt_tx *next;
	struct tgt_conn *conn;
	struct iscsi_bhs bhs;
	struct pdu_tx ptx;
	struct iovec iov[TGT_TX_IOV];
	uint8_t *data; /* heap, owned, freed on completion (Text, Login) */
	uint8_t inline_data[TGT_TX_INLINE];
	void (*done)(struct tgt_tx *tx);
};

struct tgt_conn {
	struct tgt_thread *th;
	struct tgt_conn *prev, *next; /* th->conns */
	unsigned refs;                /* open + sends in the transport + tasks in the SCSI layer */
	struct xt_conn *xc;
	struct tgt_portal *portal;
	enum tgt_conn_state state;
	char peer[XT_ADDRSTRLEN];
	char local[XT_ADDRSTRLEN];
	int local_family;

	struct pdu_rx rx;
	unsigned digests;         /* PDU_DIGEST_* for what we send */
	uint32_t max_send_dsl;    /* peer's MaxRecvDataSegmentLength */
	uint32_t max_recv_dsl;    /* ours */
	struct tgt_task *rx_task; /* SCSI Command whose immediate data is being placed */
	struct tgt_task *rx_dout; /* task a Data-Out in progress belongs to */

	struct tgt_session *sess;
	uint16_t cid;
	uint32_t statsn;
	uint32_t exp_statsn;

	struct tgt_login *login;

	/* Text request continuation (RFC 7143 11.10.2): the answer not yet sent. */
	struct keys *text_in;
	uint8_t *text_out;
	size_t text_out_len, text_out_off;
	uint32_t text_ttt;
	uint32_t text_itt;

	struct tgt_tx *tx_free;
	unsigned tx_alloc;
	unsigned sends_in_flight; /* requests queued to the transport */
	bool closing;
	bool xc_closed;

	uint64_t last_rx_ms;
	uint64_t nop_sent_ms; /* 0: no ping outstanding */
	uint32_t nop_ttt;

	struct xt_send_req *blocked; /* send refused with -EAGAIN, retried on writable */
};

/* Accept callback for listeners (arg = struct tgt_portal *). */
void tgt_conn_accept(struct xt_listener *l, struct xt_conn *xc, void *arg);

/* A login that makes no progress for this long is dropped. */
#define TGT_LOGIN_TIMEOUT_MS 30000

void tgt_conn_get(struct tgt_conn *c);
void tgt_conn_release(struct tgt_conn *c);

/* Start closing: no more receive; the struct goes when sends complete. */
void tgt_conn_close(struct tgt_conn *c, const char *why);

/* Once-a-second housekeeping from the thread's tick: NOP pings, timeouts. */
void tgt_conn_tick(struct tgt_conn *c, uint64_t now_ms);

/* ---- sending ---- */
struct tgt_tx *tgt_tx_get(struct tgt_conn *c);
/* Queue a control PDU whose BHS is filled (StatSN etc. set by the caller);
 * data may point at tx->inline_data, tx->data or memory that outlives the
 * send. Adds DataSegmentLength, padding and digests. */
int tgt_tx_send(struct tgt_conn *c, struct tgt_tx *tx, const void *data, uint32_t len);
/* Queue a request built elsewhere (a task's response). */
int tgt_conn_send(struct tgt_conn *c, struct xt_send_req *req);
/* Reject (RFC 7143 11.17) carrying the offending header. */
int tgt_conn_reject(struct tgt_conn *c, const struct iscsi_bhs *bad, uint8_t reason);

/* StatSN for a response that carries one (and advance it). */
static inline uint32_t tgt_conn_next_statsn(struct tgt_conn *c)
{
	return c->statsn++;
}

/* ---- phases (iscsi_login.c, iscsi_ffp.c, discovery.c) ---- */
int tgt_login_pdu(struct tgt_conn *c, struct pdu_in *pdu);
void tgt_login_free(struct tgt_conn *c);
int tgt_ffp_place(struct tgt_conn *c, const struct pdu_in *pdu, uint8_t **dst);
int tgt_ffp_pdu(struct tgt_conn *c, struct pdu_in *pdu);
/* Tell the initiator the target is about to drop the connection (Async
 * Message, RFC 7143 11.9): at shutdown, before the close. */
void tgt_ffp_announce_drop(struct tgt_conn *c);
/* "ABORT TASK" ... for logs. */
const char *tgt_tmf_name(uint8_t fn);
/* Target-initiated NOP-In ping (RFC 7143 11.19, TTT not reserved). */
void tgt_ffp_send_ping(struct tgt_conn *c, uint64_t now_ms);
/* Drop the session's tasks (connection gone); their sends are cancelled. */
void tgt_ffp_conn_gone(struct tgt_conn *c);
/* The CmdSN of a non-immediate PDU handled at once (Text, NOP-Out, TMF,
 * Logout): false when it is outside the window and the PDU must be
 * ignored (RFC 7143 3.2.2.1); otherwise ExpCmdSN moves over it. */
bool tgt_ffp_cmdsn_take(struct tgt_session *s, uint32_t cmdsn, bool immediate);
/* Text request in either session type: SendTargets (discovery.c). */
int tgt_text_pdu(struct tgt_conn *c, struct pdu_in *pdu);
/* SendTargets answer for 'which' ("All" or a name) into keys. */
int tgt_discovery_send_targets(struct tgt_conn *c, const char *which, struct keys *out);

#endif
