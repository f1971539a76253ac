/*
 * Full feature phase, target side (RFC 7143 chapter 11 and 4.2.2): SCSI
 * commands with their data (immediate, unsolicited, R2T-solicited Data-Out
 * placed straight into the task's buffer; Data-In trains), the CmdSN
 * window, NOP, Task Management, Logout, Reject.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "lib/log.h"
#include "lib/scsi.h"
#include "lib/sense.h"
#include "lib/serial.h"
#include "target/conn.h"
#include "target/lu.h"
#include "target/scsi.h"
#include "target/session.h"

/* SPC-5 annex F.2: 47/05 PROTOCOL SERVICE CRC ERROR. */
#define TGT_ASC_PROTOCOL_CRC_ERROR 0x4705

/* Largest Expected Data Transfer Length one command may announce. Bigger
 * transfers are refused before any buffer is sized for them. */
#define TGT_EDTL_MAX (64u << 20)

static void task_respond(struct tgt_task *t);
static void task_maybe_ready(struct tgt_task *t);
static void tmf_task_gone(struct tgt_session *s);

static inline struct tgt_session *conn_sess(struct tgt_conn *c)
{
	return c->sess;
}

/* ---- the CmdSN window (RFC 7143 4.2.2.1, 3.2.2.1) ---- */

enum cmdsn_verdict {
	CMDSN_NOW,   /* deliver now */
	CMDSN_LATER, /* in the window, ahead of ExpCmdSN: queue */
	CMDSN_DROP,  /* outside the window: silently ignored */
};

static enum cmdsn_verdict cmdsn_check(struct tgt_session *s, uint32_t cmdsn, bool immediate)
{
	if (immediate)
		return CMDSN_NOW;
	if (cmdsn == s->exp_cmdsn)
		return CMDSN_NOW;
	/* A number already used (an aborted or rejected command, a NOP-Out,
	 * TMF or Logout handled at once) is a duplicate (3.2.2.1). */
	if (serial_gt(cmdsn, s->exp_cmdsn) && serial_le(cmdsn, s->max_cmdsn) &&
	    !tgt_session_cmdsn_is_consumed(s, cmdsn))
		return CMDSN_LATER;
	return CMDSN_DROP;
}

/* A non-immediate PDU at ExpCmdSN was taken: move on, and deliver the
 * queued commands whose turn came. */
static void cmdsn_advance(struct tgt_session *s)
{
	struct tgt_task *t;

	s->exp_cmdsn++;
	/* Bounded: each turn takes a queued task or a consumed number. */
	for (;;) {
		t = s->pending;
		if (t && t->cmdsn == s->exp_cmdsn) {
			s->pending = t->next;
			t->next = NULL;
			s->exp_cmdsn++;
			task_maybe_ready(t);
		} else if (tgt_session_cmdsn_unconsume(s, s->exp_cmdsn)) {
			s->exp_cmdsn++;
		} else {
			break;
		}
	}
}

/* A non-immediate PDU that is not queued (handled at once, rejected or
 * aborted) used cmdsn, which is in the window: ExpCmdSN must step over it
 * when its turn comes, or every later command waits forever. */
static void cmdsn_use(struct tgt_session *s, uint32_t cmdsn)
{
	if (cmdsn == s->exp_cmdsn)
		cmdsn_advance(s);
	else if (serial_gt(cmdsn, s->exp_cmdsn) && tgt_session_cmdsn_consume(s, cmdsn))
		log_warn("CmdSN %u: no room to record it as used", cmdsn);
}

bool tgt_ffp_cmdsn_take(struct tgt_session *s, uint32_t cmdsn, bool immediate)
{
	if (immediate)
		return true;
	if (cmdsn_check(s, cmdsn, false) == CMDSN_DROP)
		return false;
	cmdsn_use(s, cmdsn);
	return true;
}

static void pending_insert(struct tgt_session *s, struct tgt_task *t)
{
	struct tgt_task **pp = &s->pending;

	while (*pp && serial_lt((*pp)->cmdsn, t->cmdsn))
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
}

static void fill_sn(struct tgt_conn *c, uint32_t *statsn, uint32_t *exp, uint32_t *max,
                    bool advance_statsn)
{
	struct tgt_session *s = conn_sess(c);

	*statsn = htobe32(advance_statsn ? tgt_conn_next_statsn(c) : c->statsn);
	*exp = htobe32(s->exp_cmdsn);
	*max = htobe32(tgt_session_max_cmdsn(s));
}

/* ---- SCSI execution ---- */

static void task_check(struct tgt_task *t, uint8_t key, uint16_t asc)
{
	struct sense_info si = sense_info_make(key, asc);
	ssize_t n;

	t->status = SAM_STAT_CHECK_CONDITION;
	n = sense_build_fixed(t->sense, sizeof(t->sense), &si);
	t->sense_len = n > 0 ? (uint32_t)n : 0;
	t->data_len = 0;
	t->resid = t->edtl;
	t->resid_flags = t->edtl ? SCSI_RESID_UNDERFLOW : 0;
}

static void scsi_done(struct tgt_task *t)
{
	struct tgt_conn *c = t->conn;

	t->sess->nexec--;
	if (t->aborted || c->closing) {
		t->state = TGT_TASK_FREE;
		tgt_task_put(t);
		if (t->aborted)
			tmf_task_gone(t->sess);
		tgt_conn_release(c);
		return;
	}
	task_respond(t);
	tgt_conn_release(c);
}

static void scsi_done_post(void *arg)
{
	scsi_done(arg);
}

/* The SCSI layer's completion; an asynchronous store may call it from its
 * own thread: the task goes back to the thread that owns the session. */
static void scsi_task_done(struct scsi_task *st)
{
	struct tgt_task *t = st->priv;

	t->status = st->status;
	/* The SCSI layer's length is not trusted to fit our copy. */
	t->sense_len = st->sense_len < sizeof(t->sense) ? st->sense_len : sizeof(t->sense);
	if (t->sense_len)
		memcpy(t->sense, st->sense, t->sense_len);
	t->data_len = st->data_in_xfer;
	t->resid = st->resid;
	t->resid_flags = st->resid_flags;
	if (!pthread_equal(pthread_self(), t->sess->th->tid) &&
	    xt_group_post(t->sess->th->g, scsi_done_post, t) == 0)
		return;
	scsi_done(t);
}

static void task_exec(struct tgt_task *t)
{
	struct tgt_session *s = t->sess;
	struct scsi_task *st = &t->st;

	t->state = TGT_TASK_EXEC;
	s->nexec++;
	tgt_conn_get(t->conn);
	if (t->refused) {
		t->status = SAM_STAT_TASK_SET_FULL;
		t->sense_len = 0;
		t->data_len = 0;
		t->resid = t->edtl;
		t->resid_flags = t->edtl ? SCSI_RESID_UNDERFLOW : 0;
		scsi_done(t);
		return;
	}
	if (t->digest_error) {
		/* RFC 7143 7.8 at ERL 0: the data cannot be trusted; fail the
		 * command rather than write it. SPC-5: 47/05 PROTOCOL SERVICE
		 * CRC ERROR. */
		task_check(t, SK_ABORTED_COMMAND, TGT_ASC_PROTOCOL_CRC_ERROR);
		scsi_done(t);
		return;
	}
	st->port = &s->port;
	st->nexus = s->nexus;
	st->lun = t->lun_num;
	st->cdb = t->cdb;
	st->cdb_len = t->cdb_len;
	if (t->flags & ISCSI_FLAG_CMD_WRITE) {
		st->data_out = t->buf;
		st->data_out_len = t->write_len;
		st->data_in = NULL;
		st->data_in_len = 0;
	} else {
		st->data_out = NULL;
		st->data_out_len = 0;
		st->data_in = t->buf;
		st->data_in_len = t->edtl;
	}
	st->done = scsi_task_done;
	st->priv = t;
	st->status = 0;
	st->sense_len = 0;
	st->data_in_xfer = 0;
	st->resid = 0;
	st->resid_flags = 0;
	scsi_task_exec(t->lun ? t->lun->lu : NULL, st);
}

/* ---- responses ---- */

static void task_send_done(struct xt_conn *xc, struct xt_send_req *req, int status)
{
	struct tgt_task *t = req->arg;
	struct tgt_conn *c = t->conn;
	struct tgt_session *s = t->sess;

	c->sends_in_flight--;
	s->bytes_out += t->data_len;
	tgt_task_put(t);
	if (c->state == TGT_CONN_LOGOUT && !c->sends_in_flight)
		tgt_conn_close(c, NULL);
	tgt_conn_release(c);
}

static int task_room(struct tgt_task *t, unsigned npdus)
{
	unsigned niov = npdus * (unsigned)pdu_tx_iov_max(1);

	if (npdus <= t->hdrs_cap)
		return 0;
	free(t->hdrs);
	free(t->ptx);
	free(t->iov);
	t->hdrs = calloc(npdus, sizeof(*t->hdrs));
	t->ptx = calloc(npdus, sizeof(*t->ptx));
	t->iov = calloc(niov, sizeof(*t->iov));
	if (!t->hdrs || !t->ptx || !t->iov) {
		t->hdrs_cap = 0;
		return -ENOMEM;
	}
	t->hdrs_cap = npdus;
	t->iov_cap = niov;
	return 0;
}

/*
 * Data-In PDUs of at most the peer's MaxRecvDataSegmentLength, sequences of
 * at most MaxBurstLength (RFC 7143 13.12, 13.13), the status in the last
 * one when there is no sense (11.7.3); otherwise a SCSI Response follows.
 * All of it goes in one send request.
 */
static void task_respond(struct tgt_task *t)
{
	struct tgt_conn *c = t->conn;
	struct tgt_session *s = t->sess;
	const struct xi_params *p = &s->params;
	uint32_t len = t->data_len, seg = c->max_send_dsl, burst = p->max_burst_length;
	uint32_t off = 0, datasn = 0, resid = 0;
	uint8_t rflags = 0;
	unsigned npdus, i, niov = 0;
	bool status_in_data;
	int n;

	if (!seg)
		seg = ISCSI_MAX_RECV_DSL_DEFAULT;
	if (!burst)
		burst = XI_DEFAULT_MAX_BURST_LENGTH;
	/* 11.4.5: residuals against the EDTL, as the SCSI layer counted them. */
	resid = t->resid;
	if (t->resid_flags & SCSI_RESID_OVERFLOW)
		rflags = ISCSI_FLAG_RSP_OVERFLOW;
	else if (t->resid_flags & SCSI_RESID_UNDERFLOW)
		rflags = ISCSI_FLAG_RSP_UNDERFLOW;
	if (len > t->edtl)
		len = t->edtl;
	if (!(t->flags & ISCSI_FLAG_CMD_READ))
		len = 0;
	if (t->status != SAM_STAT_GOOD)
		log_debug("conn %s: %s itt 0x%08x: status 0x%02x sense %02x/%02x%02x", c->peer,
		          scsi_opcode_name(t->cdb[0]) ? scsi_opcode_name(t->cdb[0]) : "?",
		          be32toh(t->itt), t->status, t->sense_len > 2 ? t->sense[2] & 0x0f : 0,
		          t->sense_len > 13 ? t->sense[12] : 0,
		          t->sense_len > 13 ? t->sense[13] : 0);
	status_in_data = len && t->status == SAM_STAT_GOOD && !t->sense_len;
	npdus = 0;
	for (off = 0; off < len;) {
		uint32_t in_burst = burst - (off % burst);
		uint32_t n1 = len - off;

		if (n1 > seg)
			n1 = seg;
		if (n1 > in_burst)
			n1 = in_burst;
		off += n1;
		npdus++;
	}
	if (task_room(t, npdus + 1)) {
		tgt_conn_close(c, "out of memory for a response");
		tgt_task_put(t);
		return;
	}
	for (off = 0, i = 0; off < len; i++) {
		struct iscsi_bhs_data_in *di = (struct iscsi_bhs_data_in *)&t->hdrs[i];
		uint32_t in_burst = burst - (off % burst);
		uint32_t n1 = len - off;
		struct iovec d;
		bool last;

		if (n1 > seg)
			n1 = seg;
		if (n1 > in_burst)
			n1 = in_burst;
		last = off + n1 == len;
		memset(di, 0, sizeof(*di));
		di->bhsdi_opcode = ISCSI_OP_SCSI_DATA_IN;
		/* 11.7.1: F ends a sequence (a burst, or the whole transfer). */
		if (last || n1 == in_burst)
			di->bhsdi_flags = ISCSI_FLAG_FINAL;
		memcpy(di->bhsdi_lun, t->lun_field, 8);
		di->bhsdi_itt = t->itt;
		di->bhsdi_ttt = ISCSI_RESERVED_TAG;
		di->bhsdi_datasn = htobe32(datasn++);
		di->bhsdi_buffer_offset = htobe32(off);
		if (last && status_in_data) {
			di->bhsdi_flags |= ISCSI_FLAG_DATA_STATUS | rflags;
			di->bhsdi_status = t->status;
			di->bhsdi_residual_count = htobe32(resid);
			fill_sn(c, &di->bhsdi_statsn, &di->bhsdi_expcmdsn, &di->bhsdi_maxcmdsn,
			        true);
		} else {
			/* 11.7.4: StatSN is reserved without S; ExpCmdSN and
			 * MaxCmdSN are current. */
			fill_sn(c, &di->bhsdi_statsn, &di->bhsdi_expcmdsn, &di->bhsdi_maxcmdsn,
			        false);
			di->bhsdi_statsn = 0;
		}
		d.iov_base = t->buf + off;
		d.iov_len = n1;
		n = pdu_tx_build(&t->ptx[i], &t->hdrs[i], NULL, 0, &d, 1, c->digests, &t->iov[niov],
		                 (int)(t->iov_cap - niov));
		if (n < 0)
			goto fail;
		niov += (unsigned)n;
		off += n1;
	}
	if (!status_in_data) {
		struct iscsi_bhs_scsi_response *rsp = (struct iscsi_bhs_scsi_response *)&t->hdrs[i];
		struct iovec d;
		int nd = 0;

		memset(rsp, 0, sizeof(*rsp));
		rsp->bhssr_opcode = ISCSI_OP_SCSI_RSP;
		rsp->bhssr_flags = ISCSI_FLAG_FINAL | rflags;
		rsp->bhssr_response = ISCSI_RSP_COMPLETED;
		rsp->bhssr_status = t->status;
		rsp->bhssr_itt = t->itt;
		fill_sn(c, &rsp->bhssr_statsn, &rsp->bhssr_expcmdsn, &rsp->bhssr_maxcmdsn, true);
		/* 11.4.8: number of R2T and Data-In PDUs sent for the command. */
		rsp->bhssr_expdatasn = htobe32(datasn + t->r2t_sn);
		rsp->bhssr_residual_count = htobe32(resid);
		if (t->sense_len) {
			/* 11.4.7: SenseLength (2 bytes) then the sense data. */
			t->sense_seg[0] = (uint8_t)(t->sense_len >> 8);
			t->sense_seg[1] = (uint8_t)t->sense_len;
			memcpy(t->sense_seg + 2, t->sense, t->sense_len);
			d.iov_base = t->sense_seg;
			d.iov_len = 2 + t->sense_len;
			nd = 1;
		}
		n = pdu_tx_build(&t->ptx[i], &t->hdrs[i], NULL, 0, &d, nd, c->digests,
		                 &t->iov[niov], (int)(t->iov_cap - niov));
		if (n < 0)
			goto fail;
		niov += (unsigned)n;
	}
	/* Answered: the ITT is the initiator's again, and a later ABORT TASK
	 * finds no task (11.5.1). */
	t->state = TGT_TASK_SENDING;
	if (t->hashed)
		tgt_task_hash_del(t);
	t->req.iov = t->iov;
	t->req.iovcnt = niov;
	t->req.cb = task_send_done;
	t->req.arg = t;
	t->req.next = NULL;
	tgt_conn_send(c, &t->req);
	return;
fail:
	tgt_task_put(t);
	tgt_conn_close(c, "cannot build a response");
}

/* ---- R2T (RFC 7143 11.8) ---- */

static void send_r2ts(struct tgt_task *t)
{
	struct tgt_conn *c = t->conn;
	struct tgt_session *s = t->sess;
	uint32_t maxr2t = s->params.max_outstanding_r2t ? s->params.max_outstanding_r2t : 1;
	uint32_t burst = s->params.max_burst_length ? s->params.max_burst_length
	                                            : XI_DEFAULT_MAX_BURST_LENGTH;

	/* Solicited data starts where the unsolicited data ended (11.8). */
	if (!t->r2t_out && t->r2t_offset < t->received)
		t->r2t_offset = t->received;
	if (!t->r2t_sn)
		t->r2t_base = t->r2t_offset;
	while (t->r2t_out < maxr2t && t->r2t_offset < t->write_len) {
		struct tgt_tx *tx = tgt_tx_get(c);
		struct iscsi_bhs_r2t *r;
		uint32_t len = t->write_len - t->r2t_offset;

		if (!tx) {
			tgt_conn_close(c, "out of memory for an R2T");
			return;
		}
		if (len > burst)
			len = burst;
		r = (struct iscsi_bhs_r2t *)&tx->bhs;
		r->bhsr2t_opcode = ISCSI_OP_R2T;
		r->bhsr2t_flags = ISCSI_FLAG_FINAL;
		memcpy(r->bhsr2t_lun, t->lun_field, 8);
		r->bhsr2t_itt = t->itt;
		r->bhsr2t_ttt = htobe32(t->ttt);
		/* 11.8.3: StatSN is the next one, not advanced. */
		fill_sn(c, &r->bhsr2t_statsn, &r->bhsr2t_expcmdsn, &r->bhsr2t_maxcmdsn, false);
		r->bhsr2t_r2tsn = htobe32(t->r2t_sn++);
		r->bhsr2t_buffer_offset = htobe32(t->r2t_offset);
		r->bhsr2t_desired_data_transfer_length = htobe32(len);
		t->r2t_offset += len;
		t->r2t_out++;
		if (tgt_tx_send(c, tx, NULL, 0))
			return;
	}
}

/* A command whose turn came (in CmdSN order), or whose data progressed. */
static void task_maybe_ready(struct tgt_task *t)
{
	if (t->state == TGT_TASK_PENDING)
		t->state = TGT_TASK_DATA_OUT;
	if (t->received >= t->write_len) {
		task_exec(t);
		return;
	}
	/* Solicit the rest once the unsolicited part is over (11.7.2). */
	if (!t->unsol_open)
		send_r2ts(t);
}

/* ---- PDU handlers ---- */

static int reject(struct tgt_conn *c, const struct iscsi_bhs *bhs, uint8_t reason)
{
	return tgt_conn_reject(c, bhs, reason) == -ENOMEM ? -ENOMEM : 0;
}

static bool cmd_write_valid(struct tgt_conn *c, const struct iscsi_bhs_scsi_command *cmd,
                            uint32_t data_len)
{
	const struct xi_params *p = &c->sess->params;
	uint32_t edtl = be32toh(cmd->bhssc_expected_data_transfer_length);

	if (!data_len)
		return true;
	/* 11.3 / 13.10 / 13.14: immediate data needs W, ImmediateData=Yes,
	 * and fits FirstBurstLength and the expected length. */
	return (cmd->bhssc_flags & ISCSI_FLAG_CMD_WRITE) && p->immediate_data &&
	       data_len <= p->first_burst_length && data_len <= edtl && edtl <= TGT_EDTL_MAX;
}

static struct tgt_task *task_new(struct tgt_conn *c, uint32_t edtl)
{
	struct tgt_task *t = tgt_task_get(c->sess);
	int rc;

	if (!t)
		return NULL;
	t->conn = c;
	rc = tgt_task_reserve(t, edtl ? edtl : 1);
	if (rc == -ENOBUFS) {
		/* Over the session's buffer budget: the command is answered
		 * TASK SET FULL (SAM-5 5.3.1) in its CmdSN turn, and its data,
		 * if any, is not kept: it needs no buffer. */
		t->refused = true;
		rc = 0;
	}
	if (rc) {
		tgt_task_put(t);
		return NULL;
	}
	return t;
}

int tgt_ffp_place(struct tgt_conn *c, const struct pdu_in *pdu, uint8_t **dst)
{
	struct tgt_session *s = c->sess;
	uint8_t op = pdu_opcode(pdu->bhs);

	if (op == ISCSI_OP_SCSI_CMD) {
		const struct iscsi_bhs_scsi_command *cmd = (const void *)pdu->bhs;
		uint32_t edtl = be32toh(cmd->bhssc_expected_data_transfer_length);

		if (s->discovery || !cmd_write_valid(c, cmd, pdu->data_len) ||
		    cmd->bhssc_itt == ISCSI_RESERVED_TAG)
			return 0;
		c->rx_task = task_new(c, edtl);
		if (c->rx_task && !c->rx_task->refused)
			*dst = c->rx_task->buf;
		return 0;
	}
	if (op == ISCSI_OP_SCSI_DATA_OUT) {
		const struct iscsi_bhs_data_out *d = (const void *)pdu->bhs;
		struct tgt_task *t = s->discovery ? NULL : tgt_task_find(s, d->bhsdo_itt);
		uint32_t off = be32toh(d->bhsdo_buffer_offset);

		/* The checks tgt_ffp_pdu repeats; here they only decide whether
		 * the payload may land in the task's buffer. */
		if (!t || (t->state != TGT_TASK_DATA_OUT && t->state != TGT_TASK_PENDING) ||
		    off != t->received || pdu->data_len > t->write_len - t->received)
			return 0;
		*dst = t->buf + off;
	}
	return 0;
}

static int handle_scsi_cmd(struct tgt_conn *c, struct pdu_in *pdu)
{
	const struct iscsi_bhs_scsi_command *cmd = (const void *)pdu->bhs;
	struct tgt_session *s = c->sess;
	const struct xi_params *p = &s->params;
	struct tgt_task *t = c->rx_task;
	uint32_t edtl = be32toh(cmd->bhssc_expected_data_transfer_length);
	uint32_t cmdsn = be32toh(cmd->bhssc_cmdsn);
	bool imm = pdu_is_immediate(pdu->bhs);
	enum cmdsn_verdict v;
	uint8_t reason = 0;

	c->rx_task = NULL;
	if (s->discovery) {
		/* 4.3: a discovery session carries Text and Logout only. The
		 * rejected command still used its CmdSN (11.17.1). */
		if (!tgt_ffp_cmdsn_take(s, cmdsn, imm))
			return 0;
		reason = ISCSI_REJECT_PROTOCOL_ERROR;
		goto reject;
	}
	v = cmdsn_check(s, cmdsn, imm);
	if (v == CMDSN_DROP) {
		log_info("conn %s: CmdSN %u outside [%u, %u], dropped", c->peer, cmdsn,
		         s->exp_cmdsn, s->max_cmdsn);
		if (t)
			tgt_task_put(t);
		return 0;
	}
	if (pdu->status == -EBADMSG) {
		/* 7.8: the command is not taken; at ERL 0 the initiator
		 * retries it or the session. CmdSN moves on so the window does
		 * not stall behind a command that never comes back. */
		if (t)
			tgt_task_put(t);
		if (!imm)
			cmdsn_use(s, cmdsn);
		reason = ISCSI_REJECT_DATA_DIGEST;
		goto reject;
	}
	if (cmd->bhssc_itt == ISCSI_RESERVED_TAG) {
		/* 11.2.1.8: 0xffffffff is reserved; no answer could name it. */
		reason = ISCSI_REJECT_PROTOCOL_ERROR;
		goto reject_cmd;
	}
	if ((cmd->bhssc_flags & ISCSI_FLAG_CMD_READ) && (cmd->bhssc_flags & ISCSI_FLAG_CMD_WRITE)) {
		reason = ISCSI_REJECT_CMD_NOT_SUPPORTED; /* bidirectional */
		goto reject_cmd;
	}
	if (!cmd_write_valid(c, cmd, pdu->data_len) || edtl > TGT_EDTL_MAX ||
	    ((cmd->bhssc_flags & ISCSI_FLAG_CMD_WRITE) && !(cmd->bhssc_flags & ISCSI_FLAG_FINAL) &&
	     p->initial_r2t) ||
	    (!(cmd->bhssc_flags & ISCSI_FLAG_CMD_WRITE) &&
	     !(cmd->bhssc_flags & ISCSI_FLAG_FINAL))) {
		reason = ISCSI_REJECT_PROTOCOL_ERROR;
		goto reject_cmd;
	}
	if (tgt_task_find(s, cmd->bhssc_itt)) {
		reason = ISCSI_REJECT_TASK_IN_PROGRESS;
		goto reject_cmd;
	}
	if (!t) {
		t = task_new(c, edtl);
		if (!t) {
			reason = ISCSI_REJECT_OUT_OF_RESOURCES;
			goto reject_cmd;
		}
		if (pdu->data_len && !t->refused)
			memcpy(t->buf, pdu->data, pdu->data_len);
	}
	t->itt = cmd->bhssc_itt;
	t->cmdsn = cmdsn;
	t->edtl = edtl;
	t->flags = cmd->bhssc_flags;
	t->immediate = imm;
	t->digest_error = false;
	memcpy(t->lun_field, cmd->bhssc_lun, 8);
	t->lun = tgt_target_lun(s->target, cmd->bhssc_lun);
	t->lun_num = t->lun ? t->lun->lun : tgt_lun_number(cmd->bhssc_lun);
	memcpy(t->cdb, cmd->bhssc_cdb, ISCSI_CDB_SIZE);
	t->cdb_len = ISCSI_CDB_SIZE;
	if (pdu->ahs_len) {
		/* 11.2.2.3: an extended CDB AHS carries the bytes past 16. */
		const uint8_t *a = pdu->ahs;
		uint16_t alen = (uint16_t)(a[0] << 8 | a[1]);

		if (a[2] != ISCSI_AHS_TYPE_EXT_CDB || alen < 1 ||
		    (uint32_t)alen + 3 > pdu->ahs_len) {
			tgt_task_put(t);
			reason = ISCSI_REJECT_CMD_NOT_SUPPORTED;
			goto reject_cmd;
		}
		memcpy(t->cdb + ISCSI_CDB_SIZE, a + 4, alen - 1u);
		t->cdb_len += alen - 1u;
	}
	t->write_len = (t->flags & ISCSI_FLAG_CMD_WRITE) ? edtl : 0;
	t->received = pdu->data_len;
	t->r2t_offset = pdu->data_len;
	/* 13.10 / 13.11: unsolicited Data-Out may follow when F is clear, up
	 * to FirstBurstLength in all (immediate data included). */
	t->unsol_open = (t->flags & ISCSI_FLAG_CMD_WRITE) && !(t->flags & ISCSI_FLAG_FINAL);
	t->unsol_limit = p->first_burst_length < edtl ? p->first_burst_length : edtl;
	/* Immediate data that fills FirstBurstLength ends the unsolicited
	 * burst even with F clear; else no R2T would ever be sent. */
	if (t->received >= t->unsol_limit)
		t->unsol_open = false;
	if (t->refused) {
		/* No data is taken: further Data-Out for it is rejected. */
		t->write_len = 0;
		t->received = 0;
		t->r2t_offset = 0;
		t->unsol_open = false;
	}
	t->ttt = ++s->next_ttt == ISCSI_RESERVED_TAG ? ++s->next_ttt : s->next_ttt;
	tgt_task_hash_add(t);
	s->cmds++;
	s->bytes_in += pdu->data_len;
	if (!imm) {
		t->in_window = true;
		s->in_window++;
	}
	if (v == CMDSN_LATER) {
		pending_insert(s, t);
		return 0;
	}
	if (!imm)
		cmdsn_advance(s);
	task_maybe_ready(t);
	return 0;

reject_cmd:
	if (t)
		tgt_task_put(t);
	/* 11.17.1: a rejected command still used its CmdSN. */
	if (!imm)
		cmdsn_use(s, cmdsn);
reject:
	return reject(c, pdu->bhs, reason);
}

/* Where the R2T sequence that offset t->received falls in ends: R2Ts
 * are cut in MaxBurstLength pieces from r2t_base (send_r2ts), and with
 * DataSequenceInOrder=Yes they are filled in order (13.19). */
static uint32_t r2t_seq_end(const struct tgt_task *t)
{
	uint32_t burst = t->sess->params.max_burst_length ? t->sess->params.max_burst_length
	                                                  : XI_DEFAULT_MAX_BURST_LENGTH;
	uint64_t end = t->r2t_base + ((uint64_t)(t->received - t->r2t_base) / burst + 1) * burst;

	return end < t->write_len ? (uint32_t)end : t->write_len;
}

/* A Data-Out that breaks its sequence: rejected, and the command ends
 * with CHECK CONDITION, ABORTED COMMAND / DATA PHASE ERROR (ERL 0 cannot
 * ask for the data again, 7.1.1). */
static int data_out_fail(struct tgt_conn *c, struct tgt_task *t, const struct pdu_in *pdu)
{
	reject(c, pdu->bhs, ISCSI_REJECT_PROTOCOL_ERROR);
	if (t->hashed)
		tgt_task_hash_del(t);
	task_check(t, SK_ABORTED_COMMAND, ASC_DATA_PHASE_ERROR);
	tgt_conn_get(c);
	t->state = TGT_TASK_EXEC;
	t->sess->nexec++;
	scsi_done(t);
	return 0;
}

static int handle_data_out(struct tgt_conn *c, struct pdu_in *pdu)
{
	const struct iscsi_bhs_data_out *d = (const void *)pdu->bhs;
	struct tgt_session *s = c->sess;
	struct tgt_task *t = s->discovery ? NULL : tgt_task_find(s, d->bhsdo_itt);
	uint32_t off = be32toh(d->bhsdo_buffer_offset);
	uint32_t ttt = be32toh(d->bhsdo_ttt);
	bool final = d->bhsdo_flags & ISCSI_FLAG_FINAL;

	/* Unsolicited data may come for a command still waiting for its
	 * CmdSN turn (PENDING): it is kept, the command runs in order. */
	if (!t || (t->state != TGT_TASK_DATA_OUT && t->state != TGT_TASK_PENDING))
		return reject(c, pdu->bhs, ISCSI_REJECT_INVALID_PDU_FIELD);
	if (pdu->status == -EBADMSG) {
		/* 7.8: Reject; at ERL 0 the data cannot be asked for again, so
		 * the command fails once its transfer ends (task_exec). */
		t->digest_error = true;
		reject(c, pdu->bhs, ISCSI_REJECT_DATA_DIGEST);
	}
	/* DataPDUInOrder and DataSequenceInOrder are Yes (13.18, 13.19): the
	 * write arrives as one increasing stream. Data beyond what was asked
	 * for, or out of place, is a protocol error (11.7.5). */
	if (off != t->received || pdu->data_len > t->write_len - t->received) {
		log_info("conn %s: Data-Out offset %u len %u, expected offset %u of %u", c->peer,
		         off, pdu->data_len, t->received, t->write_len);
		return reject(c, pdu->bhs, ISCSI_REJECT_PROTOCOL_ERROR);
	}
	/* 11.7.5: DataSN counts the PDUs of each sequence (the unsolicited
	 * burst, or one R2T) from 0. A gap cannot be asked for again at
	 * ERL 0: the command fails now with the Data-Out rejected. */
	if (be32toh(d->bhsdo_datasn) != t->datasn_expect && t->state == TGT_TASK_PENDING) {
		/* Not yet in the task set: it fails when its turn comes, and
		 * the CmdSN window does not stall on it. */
		reject(c, pdu->bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		t->digest_error = true;
	} else if (be32toh(d->bhsdo_datasn) != t->datasn_expect) {
		log_info("conn %s: Data-Out DataSN %u, expected %u: command failed", c->peer,
		         be32toh(d->bhsdo_datasn), t->datasn_expect);
		return data_out_fail(c, t, pdu);
	}
	if (ttt == ISCSI_RESERVED_TAG) {
		if (!t->unsol_open || off + pdu->data_len > t->unsol_limit)
			return reject(c, pdu->bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		if (final)
			t->unsol_open = false;
	} else {
		if (ttt != t->ttt || !t->r2t_out || off + pdu->data_len > t->r2t_offset)
			return reject(c, pdu->bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		if (final && off + pdu->data_len < r2t_seq_end(t)) {
			/* 11.7.1: F ends the R2T's sequence, which is not
			 * filled. At ERL 0 the gap cannot be asked for again
			 * (no recovery R2T): the command fails, as with a
			 * DataSN gap, rather than wait forever. */
			log_info("conn %s: Data-Out F at %u, R2T asked up to %u: command failed",
			         c->peer, off + pdu->data_len, r2t_seq_end(t));
			return data_out_fail(c, t, pdu);
		}
		if (final)
			t->r2t_out--;
	}
	/* Only a PDU that is taken moves DataSN on: a rejected one does not
	 * count (11.7.5), so its retransmission is not seen as a gap. */
	t->datasn_expect = final ? 0 : t->datasn_expect + 1;
	if (pdu->data_len && pdu->data_src != PDU_DATA_PLACED)
		memcpy(t->buf + off, pdu->data, pdu->data_len);
	t->received += pdu->data_len;
	s->bytes_in += pdu->data_len;
	/* The unsolicited burst ends at FirstBurstLength even without F; the
	 * R2T sequences after it count DataSN from 0 (11.7.5). */
	if (t->unsol_open && t->received >= t->unsol_limit) {
		t->unsol_open = false;
		t->datasn_expect = 0;
	}
	if (t->state == TGT_TASK_PENDING)
		return 0; /* task_maybe_ready() runs it when its turn comes */
	if (t->received >= t->write_len) {
		task_exec(t);
		return 0;
	}
	/* The rest is solicited once a sequence ends: F, or unsolicited data
	 * reaching FirstBurstLength without F (13.14), else nothing more
	 * would ever be asked for. */
	if (!t->unsol_open && (final || ttt == ISCSI_RESERVED_TAG))
		send_r2ts(t);
	return 0;
}

static int handle_nop_out(struct tgt_conn *c, struct pdu_in *pdu)
{
	const struct iscsi_bhs_nop_out *no = (const void *)pdu->bhs;
	struct tgt_session *s = c->sess;
	struct iscsi_bhs_nop_in *ni;
	struct tgt_tx *tx;
	uint32_t cmdsn = be32toh(no->bhsno_cmdsn);
	bool imm = pdu_is_immediate(pdu->bhs);

	if (no->bhsno_itt == ISCSI_RESERVED_TAG && pdu->status != -EBADMSG) {
		/* 11.18.1: an answer to our ping, or a bare CmdSN update; it
		 * must be immediate and gets no reply. */
		return 0;
	}
	if (!tgt_ffp_cmdsn_take(s, cmdsn, imm))
		return 0;
	/* 7.8: the header is sound, so its CmdSN is used (above) even though
	 * the data is refused; else the window would stall on it. */
	if (pdu->status == -EBADMSG)
		return reject(c, pdu->bhs, ISCSI_REJECT_DATA_DIGEST);
	tx = tgt_tx_get(c);
	if (!tx)
		return -ENOMEM;
	ni = (struct iscsi_bhs_nop_in *)&tx->bhs;
	ni->bhsni_opcode = ISCSI_OP_NOP_IN;
	ni->bhsni_flags = ISCSI_FLAG_FINAL;
	memcpy(ni->bhsni_lun, no->bhsno_lun, 8);
	ni->bhsni_itt = no->bhsno_itt;
	ni->bhsni_ttt = ISCSI_RESERVED_TAG;
	fill_sn(c, &ni->bhsni_statsn, &ni->bhsni_expcmdsn, &ni->bhsni_maxcmdsn, true);
	/* 11.19.1: the ping data comes back as it was. The parser's copy is
	 * valid only now: keep our own. */
	if (pdu->data_len) {
		uint32_t len = pdu->data_len;

		if (len > c->max_send_dsl)
			len = c->max_send_dsl;
		tx->data = malloc(len);
		if (!tx->data) {
			tx->next = c->tx_free;
			c->tx_free = tx;
			return -ENOMEM;
		}
		memcpy(tx->data, pdu->data, len);
		return tgt_tx_send(c, tx, tx->data, len);
	}
	return tgt_tx_send(c, tx, NULL, 0);
}

void tgt_ffp_send_ping(struct tgt_conn *c, uint64_t now_ms)
{
	struct iscsi_bhs_nop_in *ni;
	struct tgt_tx *tx = tgt_tx_get(c);

	if (!tx)
		return;
	ni = (struct iscsi_bhs_nop_in *)&tx->bhs;
	ni->bhsni_opcode = ISCSI_OP_NOP_IN;
	ni->bhsni_flags = ISCSI_FLAG_FINAL;
	ni->bhsni_itt = ISCSI_RESERVED_TAG;
	/* 11.19.3: a TTT other than 0xffffffff asks for a NOP-Out answer;
	 * StatSN is not advanced (11.19.4). */
	c->nop_ttt = (c->nop_ttt + 1) & 0x7fffffffu;
	ni->bhsni_ttt = htobe32(c->nop_ttt);
	fill_sn(c, &ni->bhsni_statsn, &ni->bhsni_expcmdsn, &ni->bhsni_maxcmdsn, false);
	c->nop_sent_ms = now_ms ? now_ms : 1;
	tgt_tx_send(c, tx, NULL, 0);
}

void tgt_ffp_announce_drop(struct tgt_conn *c)
{
	struct iscsi_bhs_async_message *am;
	struct tgt_tx *tx;

	if (c->state != TGT_CONN_FFP || !c->sess || c->closing)
		return;
	tx = tgt_tx_get(c);
	if (!tx)
		return;
	/* 11.9.1 event 2: the target drops this connection; Parameter1 is its
	 * CID, Parameter2 Time2Wait, Parameter3 Time2Retain (no allegiance
	 * kept at ERL 0). */
	am = (struct iscsi_bhs_async_message *)&tx->bhs;
	am->bhsam_opcode = ISCSI_OP_ASYNC_MSG;
	am->bhsam_flags = ISCSI_FLAG_FINAL;
	am->bhsam_itt = ISCSI_RESERVED_TAG;
	fill_sn(c, &am->bhsam_statsn, &am->bhsam_expcmdsn, &am->bhsam_maxcmdsn, true);
	am->bhsam_async_event = ISCSI_ASYNC_CONNECTION_DROP;
	am->bhsam_parameter1 = htobe16(c->cid);
	am->bhsam_parameter2 = htobe16(XI_DEFAULT_TIME2WAIT);
	am->bhsam_parameter3 = 0;
	tgt_tx_send(c, tx, NULL, 0);
}

/* ---- Task Management (RFC 7143 11.5, 11.6; SAM-5 7) ---- */

/* Abort t. A task in the SCSI layer is only marked: its completion frees
 * it and counts towards the TMF's answer. Returns 1 when the TMF must wait. */
static int task_abort(struct tgt_task *t)
{
	struct tgt_session *s = t->sess;
	struct tgt_task **pp;

	switch (t->state) {
	case TGT_TASK_PENDING:
		for (pp = &s->pending; *pp; pp = &(*pp)->next) {
			if (*pp == t) {
				*pp = t->next;
				break;
			}
		}
		/* 11.5.1: the aborted command's CmdSN counts as received. */
		if (t->in_window)
			cmdsn_use(s, t->cmdsn);
		tgt_task_put(t);
		return 0;
	case TGT_TASK_DATA_OUT:
		tgt_task_put(t);
		return 0;
	case TGT_TASK_EXEC:
		if (!t->aborted) {
			t->aborted = true;
			/* A SANITIZE waiting for its end ends now (SBC-4 4.11.2). */
			scsi_task_abort(&t->st);
			return 1;
		}
		return 0;
	default:
		/* Its response is on the wire already: nothing left to abort. */
		return 0;
	}
}

/* Abort every task of the session (on lun when lun is not NULL); returns
 * how many the TMF waits for. */
static unsigned abort_all(struct tgt_session *s, struct tgt_lun *lun, const struct tgt_task *except)
{
	unsigned i, wait = 0;

	for (i = 0; i < s->npool; i++) {
		struct tgt_task *t = &s->pool[i];

		if (t->state == TGT_TASK_FREE || t == except)
			continue;
		if (lun && t->lun != lun)
			continue;
		wait += (unsigned)task_abort(t);
	}
	return wait;
}

static void tmf_send(struct tgt_conn *c)
{
	struct tgt_session *s = c->sess;
	struct tgt_tx *tx = s->tmf_tx;
	struct iscsi_bhs_task_mgmt_response *r = (struct iscsi_bhs_task_mgmt_response *)&tx->bhs;

	s->tmf_tx = NULL;
	fill_sn(c, &r->bhstmrs_statsn, &r->bhstmrs_expcmdsn, &r->bhstmrs_maxcmdsn, true);
	tgt_tx_send(c, tx, NULL, 0);
	if (s->tmf_close)
		c->state = TGT_CONN_LOGOUT; /* TARGET COLD RESET: drop after the answer */
}

static void tmf_task_gone(struct tgt_session *s)
{
	if (s->tmf_tx && s->tmf_wait && --s->tmf_wait == 0 && !s->conn->closing)
		tmf_send(s->conn);
}

static int handle_tmf(struct tgt_conn *c, struct pdu_in *pdu)
{
	const struct iscsi_bhs_task_mgmt_request *rq = (const void *)pdu->bhs;
	struct tgt_session *s = c->sess;
	struct iscsi_bhs_task_mgmt_response *r;
	struct tgt_tx *tx;
	uint8_t fn = rq->bhstmr_function & ISCSI_TMF_FUNC_MASK;
	uint8_t resp = ISCSI_TMF_RSP_COMPLETE;
	uint32_t cmdsn = be32toh(rq->bhstmr_cmdsn);
	struct tgt_lun *lun = tgt_target_lun(s->target, rq->bhstmr_lun);
	struct tgt_task *t;
	unsigned wait = 0;
	size_t i;

	if (!tgt_ffp_cmdsn_take(s, cmdsn, pdu_is_immediate(pdu->bhs)))
		return 0;
	if (s->tmf_tx)
		return reject(c, pdu->bhs, ISCSI_REJECT_OUT_OF_RESOURCES);
	tx = tgt_tx_get(c);
	if (!tx)
		return -ENOMEM;
	switch (fn) {
	case ISCSI_TMF_ABORT_TASK:
		t = tgt_task_find(s, rq->bhstmr_referenced_task_tag);
		if (!lun) {
			resp = ISCSI_TMF_RSP_NO_LUN;
		} else if (t && t->lun == lun) {
			wait = (unsigned)task_abort(t);
		} else {
			/* 11.5.1: a task never received whose RefCmdSN is in the
			 * window and below the TMF's own is taken as received and
			 * aborted: "function complete". A task that completed
			 * already (RefCmdSN below ExpCmdSN) "does not exist". */
			uint32_t ref = be32toh(rq->bhstmr_refcmdsn);

			if (serial_ge(ref, s->exp_cmdsn) && serial_lt(ref, cmdsn)) {
				/* The command, should it come later, is a
				 * duplicate: its CmdSN is used now. */
				cmdsn_use(s, ref);
				resp = ISCSI_TMF_RSP_COMPLETE;
			} else {
				resp = ISCSI_TMF_RSP_NO_TASK;
			}
		}
		break;
	case ISCSI_TMF_ABORT_TASK_SET:
	case ISCSI_TMF_CLEAR_TASK_SET:
		if (!lun)
			resp = ISCSI_TMF_RSP_NO_LUN;
		else
			wait = abort_all(s, lun, NULL);
		break;
	case ISCSI_TMF_LOGICAL_UNIT_RESET:
		if (!lun) {
			resp = ISCSI_TMF_RSP_NO_LUN;
			break;
		}
		wait = abort_all(s, lun, NULL);
		tgt_lu_reset(lun->lu, TGT_UA_LU_RESET);
		break;
	case ISCSI_TMF_TARGET_WARM_RESET:
	case ISCSI_TMF_TARGET_COLD_RESET:
		wait = abort_all(s, NULL, NULL);
		for (i = 0; i < s->target->nluns; i++)
			tgt_lu_reset(s->target->luns[i].lu, TGT_UA_TARGET_RESET);
		s->tmf_close = fn == ISCSI_TMF_TARGET_COLD_RESET;
		break;
	case ISCSI_TMF_TASK_REASSIGN:
		/* 11.5.1: needs ErrorRecoveryLevel 2. */
		resp = ISCSI_TMF_RSP_REASSIGN_UNSUPP;
		break;
	default:
		resp = ISCSI_TMF_RSP_NOT_SUPPORTED;
		break;
	}
	log_info("conn %s: task management %s: response %u", c->peer, tgt_tmf_name(fn), resp);
	r = (struct iscsi_bhs_task_mgmt_response *)&tx->bhs;
	r->bhstmrs_opcode = ISCSI_OP_TASK_MGMT_RSP;
	r->bhstmrs_flags = ISCSI_FLAG_FINAL;
	r->bhstmrs_response = resp;
	r->bhstmrs_itt = rq->bhstmr_itt;
	s->tmf_tx = tx;
	s->tmf_wait = wait;
	/* SAM-5 7.1: the answer follows the end of every task it affected. */
	if (!wait)
		tmf_send(c);
	return 0;
}

const char *tgt_tmf_name(uint8_t fn)
{
	static const char *const names[] = {
	        [ISCSI_TMF_ABORT_TASK] = "ABORT TASK",
	        [ISCSI_TMF_ABORT_TASK_SET] = "ABORT TASK SET",
	        [ISCSI_TMF_CLEAR_ACA] = "CLEAR ACA",
	        [ISCSI_TMF_CLEAR_TASK_SET] = "CLEAR TASK SET",
	        [ISCSI_TMF_LOGICAL_UNIT_RESET] = "LOGICAL UNIT RESET",
	        [ISCSI_TMF_TARGET_WARM_RESET] = "TARGET WARM RESET",
	        [ISCSI_TMF_TARGET_COLD_RESET] = "TARGET COLD RESET",
	        [ISCSI_TMF_TASK_REASSIGN] = "TASK REASSIGN",
	};

	if (fn < sizeof(names) / sizeof(names[0]) && names[fn])
		return names[fn];
	return "unknown function";
}

/* ---- Logout (RFC 7143 11.14, 11.15) ---- */

static int handle_logout(struct tgt_conn *c, struct pdu_in *pdu)
{
	const struct iscsi_bhs_logout_request *rq = (const void *)pdu->bhs;
	struct tgt_session *s = c->sess;
	struct iscsi_bhs_logout_response *r;
	struct tgt_tx *tx;
	uint8_t reason = rq->bhslo_reason & ISCSI_LOGOUT_REASON_MASK;
	uint32_t cmdsn = be32toh(rq->bhslo_cmdsn);

	if (!tgt_ffp_cmdsn_take(s, cmdsn, pdu_is_immediate(pdu->bhs)))
		return 0;
	tx = tgt_tx_get(c);
	if (!tx)
		return -ENOMEM;
	r = (struct iscsi_bhs_logout_response *)&tx->bhs;
	r->bhslors_opcode = ISCSI_OP_LOGOUT_RSP;
	r->bhslors_flags = ISCSI_FLAG_FINAL;
	r->bhslors_itt = rq->bhslo_itt;
	switch (reason) {
	case ISCSI_LOGOUT_CLOSE_SESSION:
	case ISCSI_LOGOUT_CLOSE_CONNECTION:
		if (reason == ISCSI_LOGOUT_CLOSE_CONNECTION && be16toh(rq->bhslo_cid) != c->cid)
			r->bhslors_response = ISCSI_LOGOUT_RSP_CID_NOT_FOUND;
		else
			r->bhslors_response = ISCSI_LOGOUT_RSP_SUCCESS;
		break;
	default:
		/* 11.14.1: removing a connection for recovery needs ERL 2. */
		r->bhslors_response = ISCSI_LOGOUT_RSP_RECOVERY_UNSUPP;
		break;
	}
	fill_sn(c, &r->bhslors_statsn, &r->bhslors_expcmdsn, &r->bhslors_maxcmdsn, true);
	if (r->bhslors_response == ISCSI_LOGOUT_RSP_SUCCESS) {
		/* 11.14: with one connection, the session ends with it; commands
		 * still here are dropped (ERL 0, no allegiance to reassign). */
		abort_all(s, NULL, NULL);
		c->state = TGT_CONN_LOGOUT;
		log_info("conn %s: logout (%s)", c->peer,
		         reason == ISCSI_LOGOUT_CLOSE_SESSION ? "session" : "connection");
	}
	return tgt_tx_send(c, tx, NULL, 0);
}

int tgt_ffp_pdu(struct tgt_conn *c, struct pdu_in *pdu)
{
	uint8_t op = pdu_opcode(pdu->bhs);

	switch (op) {
	case ISCSI_OP_SCSI_CMD:
		return handle_scsi_cmd(c, pdu);
	case ISCSI_OP_SCSI_DATA_OUT:
		return handle_data_out(c, pdu);
	case ISCSI_OP_NOP_OUT:
		return handle_nop_out(c, pdu);
	case ISCSI_OP_TEXT_REQ:
		if (pdu->status == -EBADMSG) {
			const struct iscsi_bhs_text_request *rq = (const void *)pdu->bhs;

			/* 7.8: refused, but its CmdSN is used (11.17.1). */
			if (!tgt_ffp_cmdsn_take(c->sess, be32toh(rq->bhstr_cmdsn),
			                        pdu_is_immediate(pdu->bhs)))
				return 0;
			return reject(c, pdu->bhs, ISCSI_REJECT_DATA_DIGEST);
		}
		return tgt_text_pdu(c, pdu);
	case ISCSI_OP_TASK_MGMT_REQ:
		if (c->sess->discovery) {
			/* 11.17.1: rejected, its CmdSN is still used. */
			const struct iscsi_bhs_task_mgmt_request *rq = (const void *)pdu->bhs;

			if (!tgt_ffp_cmdsn_take(c->sess, be32toh(rq->bhstmr_cmdsn),
			                        pdu_is_immediate(pdu->bhs)))
				return 0;
			return reject(c, pdu->bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		}
		return handle_tmf(c, pdu);
	case ISCSI_OP_LOGOUT_REQ:
		return handle_logout(c, pdu);
	case ISCSI_OP_LOGIN_REQ:
		/* 11.12: no login once the session is in full feature phase. */
		return reject(c, pdu->bhs, ISCSI_REJECT_PROTOCOL_ERROR);
	case ISCSI_OP_SNACK_REQ:
		/* 6.1.4.1: SNACK needs ErrorRecoveryLevel > 0. */
		return reject(c, pdu->bhs, ISCSI_REJECT_PROTOCOL_ERROR);
	default:
		return reject(c, pdu->bhs, ISCSI_REJECT_CMD_NOT_SUPPORTED);
	}
}

void tgt_ffp_conn_gone(struct tgt_conn *c)
{
	struct tgt_session *s = c->sess;
	struct tgt_tx *tx;
	unsigned i;

	if (!s || !s->pool)
		return;
	if ((tx = s->tmf_tx)) {
		s->tmf_tx = NULL;
		tx->next = c->tx_free;
		c->tx_free = tx;
	}
	s->pending = NULL;
	s->nconsumed = 0;
	for (i = 0; i < s->npool; i++) {
		struct tgt_task *t = &s->pool[i];

		/* Tasks in the SCSI layer free themselves on completion; those
		 * whose response is queued, on the send's cancellation. */
		if (t->state == TGT_TASK_PENDING || t->state == TGT_TASK_DATA_OUT)
			tgt_task_put(t);
	}
}
