/*
 * iSCSI sessions and their tasks, target side.
 *
 * A session lives on the thread of its connection (MaxConnections=1 is what
 * this target negotiates), so its CmdSN window and task table need no lock.
 * Tasks come from a per-session pool sized by the queue depth: in steady
 * state a command allocates nothing, and its data buffer is reused from the
 * task's previous life when it is large enough.
 */
#ifndef XISCSI_TARGET_SESSION_H
#define XISCSI_TARGET_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/params.h"
#include "lib/pdu.h"
#include "lib/pdu_tx.h"
#include "target/scsi.h"
#include "target/tgt.h"
#include "transport/transport.h"

struct tgt_conn;
struct tgt_task;

enum tgt_task_state {
	TGT_TASK_FREE,
	TGT_TASK_PENDING,  /* waiting for its CmdSN turn */
	TGT_TASK_DATA_OUT, /* receiving write data */
	TGT_TASK_EXEC,     /* in the SCSI layer */
	TGT_TASK_SENDING,  /* response queued to the transport */
};

/* One SCSI command (or immediate command) from arrival to the completion of
 * its response's send. */
struct tgt_task {
	struct tgt_session *sess;
	struct tgt_conn *conn;
	enum tgt_task_state state;
	struct tgt_task *next;  /* free list, pending list */
	struct tgt_task *hnext; /* ITT hash chain */
	bool immediate;
	bool aborted;      /* by a TMF: no response is sent */
	bool in_window;    /* counted against the CmdSN window */
	bool hashed;       /* findable by ITT */
	bool digest_error; /* a Data-Out of it failed its data digest */
	bool unsol_open;   /* unsolicited Data-Out may still come (F not seen) */
	bool refused;      /* no buffer within the session's budget: TASK SET FULL */

	/* from the SCSI Command PDU (RFC 7143 11.3) */
	uint32_t itt;
	uint32_t cmdsn;
	uint32_t edtl; /* Expected Data Transfer Length */
	uint8_t flags; /* R, W, ATTR */
	uint8_t lun_field[8];
	struct tgt_lun *lun; /* NULL: LUN not configured */
	uint64_t lun_num;
	uint8_t cdb[ISCSI_CDB_SIZE + ISCSI_AHS_MAX_SIZE];
	uint32_t cdb_len;

	/* data: one buffer of buf_cap bytes reused across the task's lives */
	uint8_t *buf;
	uint32_t buf_cap;
	uint32_t data_len; /* bytes valid in buf (read: what SCSI produced) */

	/* write progress (RFC 7143 11.7, 11.8) */
	uint32_t ttt;           /* Target Transfer Tag of the current R2Ts */
	uint32_t received;      /* Data-Out bytes placed so far */
	uint32_t r2t_offset;    /* next offset to ask for */
	uint32_t r2t_sn;        /* R2TSN of the next R2T */
	uint32_t r2t_base;      /* offset of the first R2T: bursts are cut from here */
	uint32_t r2t_out;       /* R2Ts outstanding */
	uint32_t unsol_limit;   /* unsolicited data ends at this offset (FirstBurstLength) */
	uint32_t write_len;     /* Data-Out bytes expected in all (EDTL of a write) */
	uint32_t datasn_expect; /* per-R2T (or unsolicited) DataSN */

	/* SCSI layer: request and result (target/scsi.h) */
	struct scsi_task st;
	uint8_t status;
	uint8_t sense[SCSI_TASK_SENSE_MAX];
	uint32_t sense_len;
	uint32_t resid;
	uint8_t resid_flags;

	/* response: Data-In train and SCSI Response, one send request */
	struct xt_send_req req;
	struct iovec *iov;
	unsigned iov_cap;
	struct iscsi_bhs *hdrs; /* BHS per PDU of the train */
	struct pdu_tx *ptx;     /* digests and padding per PDU */
	unsigned hdrs_cap;
	uint8_t sense_seg[2 + SCSI_TASK_SENSE_MAX]; /* 11.4.7: SenseLength, then sense */
};

struct tgt_session {
	struct tgt_daemon *d;
	struct tgt_session *next; /* d->sessions, under d->sess_lock */
	struct tgt_thread *th;
	struct tgt_target *target; /* NULL for discovery */
	struct tgt_conn *conn;
	bool discovery;
	uint8_t isid[6];
	uint16_t tsih;
	char initiator[XI_NAME_MAX + 1];
	struct xi_params params;

	uint32_t exp_cmdsn;
	uint32_t max_cmdsn;
	unsigned queue_depth;
	unsigned in_window;       /* non-immediate tasks alive */
	struct tgt_task *pending; /* out-of-order commands, sorted by CmdSN */
	/* CmdSNs ahead of ExpCmdSN already used up by a PDU that is not
	 * queued (NOP-Out, TMF, Logout, Text, a rejected or aborted command):
	 * cmdsn_advance steps over them (RFC 7143 3.2.2.1, 11.5.1). */
	uint32_t *consumed;
	unsigned nconsumed, consumed_cap;

	struct tgt_task *pool; /* queue_depth + TGT_TASK_EXTRA, contiguous */
	unsigned npool;
	struct tgt_task *free_tasks;
	unsigned nbusy;
	unsigned nexec;         /* tasks in the SCSI layer */
	struct tgt_task **hash; /* ITT -> task, TGT_TASK_HASH buckets */
	uint32_t next_ttt;

	/* Task data buffers allocated, against a budget: EDTL comes from the
	 * wire, and without a bound a few commands could pin gigabytes. */
	uint64_t buf_bytes;
	uint64_t buf_budget;

	/* SCSI I_T nexus: the port and the id the SCSI layer keys UAs on. */
	struct scsi_port port;
	uint64_t nexus;
	/* port.initiator_port: "<InitiatorName>,i,0x<ISID>" (SPC-5 7.6.4.6). */
	char iport[XI_NAME_MAX + 20];

	/* A Task Management answer waiting for aborted tasks to end. */
	struct tgt_tx *tmf_tx;
	unsigned tmf_wait;
	bool tmf_close;

	/* counters for the admin side */
	uint64_t cmds, bytes_in, bytes_out;
};

/* Immediate commands (RFC 7143 3.2.2.1) do not count against the window;
 * these extra tasks serve them. */
#define TGT_TASK_EXTRA 16
#define TGT_TASK_HASH  256

/* Default bound on the data buffers of one session's tasks. */
#define TGT_SESSION_BUF_BUDGET (256ull << 20)
/* A task keeps a buffer up to this size for its next command. */
#define TGT_TASK_BUF_KEEP (1u << 20)

struct tgt_tx;

/* A session for conn, registered in d->sessions with a new TSIH. */
int tgt_session_new(struct tgt_daemon *d, struct tgt_thread *th, const uint8_t isid[6],
                    const char *initiator, struct tgt_session **out);
/* Unregister and free; tasks must be idle. */
void tgt_session_free(struct tgt_session *s);
/* Bind a normal session to its target (SCSI port, LUN list). */
void tgt_session_set_target(struct tgt_session *s, struct tgt_target *t);
/* Size the task pool (after login, queue depth known). */
int tgt_session_start(struct tgt_session *s, unsigned queue_depth);

/* Find an existing session with this initiator and ISID (6.3.5 session
 * reinstatement) other than self; the caller drops its connection. Returns
 * the connection's thread index through *thread when found. */
bool tgt_session_find_isid(struct tgt_daemon *d, const char *initiator, const uint8_t isid[6],
                           const struct tgt_session *self, struct tgt_session **found);

struct tgt_task *tgt_task_get(struct tgt_session *s);
void tgt_task_put(struct tgt_task *t);
struct tgt_task *tgt_task_find(struct tgt_session *s, uint32_t itt);
void tgt_task_hash_add(struct tgt_task *t);
void tgt_task_hash_del(struct tgt_task *t);
/* Grow t->buf to at least len bytes (no allocation when it already is);
 * -ENOBUFS when the session's buffer budget would be exceeded. */
int tgt_task_reserve(struct tgt_task *t, uint32_t len);

/* CmdSNs ahead of ExpCmdSN used by PDUs that are not queued. consume
 * records one (-ENOSPC when the record is full); unconsume removes it and
 * says whether it was there. */
bool tgt_session_cmdsn_is_consumed(const struct tgt_session *s, uint32_t cmdsn);
int tgt_session_cmdsn_consume(struct tgt_session *s, uint32_t cmdsn);
bool tgt_session_cmdsn_unconsume(struct tgt_session *s, uint32_t cmdsn);

/* MaxCmdSN to advertise now (never decreases, RFC 7143 4.2.2.1). */
uint32_t tgt_session_max_cmdsn(struct tgt_session *s);

#endif
