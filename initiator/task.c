/*
 * SCSI commands on a session: the task table, the CmdSN window, immediate
 * and unsolicited data, R2T, Data-In placed in the caller's buffer, and
 * what happens to commands when the connection is lost.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "initiator/ini.h"
#include "lib/lun.h"
#include "lib/sense.h"
#include "lib/serial.h"

/* ITT = generation << 16 | slot: a late PDU for a reused slot does not match. */
#define ITT_SLOT(itt) ((itt)&0xffffu)
#define ITT_GEN(itt)  ((itt) >> 16)
/* Session PDUs (NOP, text, TMF, logout) take tags with the top bit set. */
#define ITT_SESSION_BIT 0x80000000u

static void pdu_sent(struct xt_conn *c, struct xt_send_req *req, int status);

struct ini_pdu *ini_pdu_get(struct xiscsi_session *s)
{
	struct ini_pdu *p = s->free_pdus;

	if (p)
		s->free_pdus = p->next;
	else
		p = malloc(sizeof(*p));
	if (!p)
		return NULL;
	memset(&p->hdr, 0, sizeof(p->hdr));
	p->s = s;
	p->task = NULL;
	p->own = NULL;
	p->next = NULL;
	p->r2t_last = false;
	return p;
}

void ini_pdu_put(struct xiscsi_session *s, struct ini_pdu *p)
{
	free(p->own);
	p->own = NULL;
	p->next = s->free_pdus;
	s->free_pdus = p;
}

static unsigned pdu_digests(const struct xiscsi_session *s)
{
	unsigned d = 0;

	if (s->cstate != INI_CONN_FFP && s->cstate != INI_CONN_LOGOUT)
		return 0; /* RFC 7143 13.1: digests start after the login completes */
	if (s->params.header_digest == XI_DIGEST_CRC32C)
		d |= PDU_DIGEST_HEADER;
	if (s->params.data_digest == XI_DIGEST_CRC32C)
		d |= PDU_DIGEST_DATA;
	return d;
}

int ini_pdu_send(struct xiscsi_session *s, struct ini_pdu *p, const struct iovec *data, int n,
                 uint32_t dlen)
{
	int cnt, err;

	(void)dlen;
	if (!s->conn) {
		err = -ENOTCONN;
		goto out;
	}
	cnt = pdu_tx_build(&p->tx, &p->hdr.bhs, NULL, 0, data, n, pdu_digests(s), p->iov,
	                   (int)(sizeof(p->iov) / sizeof(p->iov[0])));
	if (cnt < 0) {
		err = cnt;
		goto out;
	}
	p->req.iov = p->iov;
	p->req.iovcnt = (unsigned)cnt;
	p->req.cb = pdu_sent;
	p->req.arg = p;
	err = xt_conn_send(s->conn, &p->req);
	if (err == -EAGAIN) {
		/*
		 * Above the high-water mark. The window and the queue depth
		 * bound what we queue, so this is rare; a send is always taken
		 * on an empty queue, so retrying later cannot deadlock, but
		 * keeping PDU order matters more: report it as a lost link.
		 */
		err = -ENOBUFS;
	}
	if (err)
		goto out;
	if (p->task)
		p->task->sends++;
	s->pdus_out++;
	xt_conn_count_pdus(s->conn, 0, 1);
	return 0;
out:
	ini_pdu_put(s, p);
	return err;
}

int ini_pdu_send_copy(struct xiscsi_session *s, struct ini_pdu *p, const void *data, uint32_t dlen)
{
	struct iovec v;

	if (dlen) {
		p->own = malloc(dlen);
		if (!p->own) {
			ini_pdu_put(s, p);
			return -ENOMEM;
		}
		memcpy(p->own, data, dlen);
	}
	v.iov_base = p->own;
	v.iov_len = dlen;
	return ini_pdu_send(s, p, &v, dlen ? 1 : 0, dlen);
}

void ini_fill_sn(struct xiscsi_session *s, struct iscsi_bhs *bhs, bool immediate)
{
	/* All initiator PDUs that carry CmdSN/ExpStatSN keep them at bytes 24..31. */
	struct iscsi_bhs_nop_out *no = (struct iscsi_bhs_nop_out *)bhs;

	if (immediate)
		bhs->bhs_opcode |= ISCSI_OP_IMMEDIATE;
	no->bhsno_cmdsn = htobe32(s->win.cmdsn);
	no->bhsno_expstatsn = htobe32(s->exp_statsn);
}

/* The part [off, off+len) of a gather list, at most max entries; returns the count, *got the bytes.
 */
static int iov_slice(const struct iovec *src, int n, uint32_t off, uint32_t len, struct iovec *dst,
                     int max, uint32_t *got)
{
	int k = 0;

	*got = 0;
	for (int i = 0; i < n && len > 0 && k < max; i++) {
		size_t l = src[i].iov_len;

		if (off >= l) {
			off -= (uint32_t)l;
			continue;
		}
		size_t take = l - off;

		if (take > len)
			take = len;
		dst[k].iov_base = (uint8_t *)src[i].iov_base + off;
		dst[k].iov_len = take;
		k++;
		off = 0;
		len -= (uint32_t)take;
		*got += (uint32_t)take;
	}
	return k;
}

static uint32_t iov_total(const struct iovec *iov, int n)
{
	uint64_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

int ini_tasks_init(struct xiscsi_session *s)
{
	s->ntasks = s->o.queue_depth;
	s->tasks = calloc(s->ntasks, sizeof(*s->tasks));
	if (!s->tasks)
		return -ENOMEM;
	for (unsigned i = s->ntasks; i-- > 0;) {
		s->tasks[i].next = s->free_tasks;
		s->free_tasks = &s->tasks[i];
	}
	return 0;
}

void ini_tasks_free(struct xiscsi_session *s)
{
	struct ini_pdu *p, *n;

	for (p = s->free_pdus; p; p = n) {
		n = p->next;
		free(p->own);
		free(p);
	}
	s->free_pdus = NULL;
	free(s->tasks);
	s->tasks = NULL;
}

static void pend_push(struct xiscsi_session *s, struct xiscsi_cmd *cmd)
{
	cmd->_next = NULL;
	if (s->pend_tail)
		s->pend_tail->_next = cmd;
	else
		s->pend_head = cmd;
	s->pend_tail = cmd;
	s->npending++;
}

static struct xiscsi_cmd *pend_pop(struct xiscsi_session *s)
{
	struct xiscsi_cmd *cmd = s->pend_head;

	if (!cmd)
		return NULL;
	s->pend_head = cmd->_next;
	if (!s->pend_head)
		s->pend_tail = NULL;
	cmd->_next = NULL;
	s->npending--;
	return cmd;
}

void ini_complete_cmd(struct xiscsi_session *s, struct xiscsi_cmd *cmd)
{
	(void)s;
	if (cmd->cb)
		cmd->cb(cmd);
}

static void task_free(struct xiscsi_session *s, struct ini_task *t)
{
	t->cmd = NULL;
	t->done = false;
	t->lost = false;
	t->next = s->free_tasks;
	s->free_tasks = t;
	s->active--;
}

/* Response arrived and every PDU of the command left: hand it back. */
static void task_finish(struct xiscsi_session *s, struct ini_task *t)
{
	struct xiscsi_cmd *cmd = t->cmd;

	task_free(s, t);
	if (s->o.retry_unit_attention && cmd->result == 0 &&
	    cmd->status == SAM_STAT_CHECK_CONDITION && cmd->sense.len &&
	    cmd->sense.key == SK_UNIT_ATTENTION && cmd->_tries < 3) {
		cmd->_tries++;
		cmd->status = 0;
		cmd->sense.len = 0;
		cmd->sense.response_code = 0;
		pend_push(s, cmd);
	} else {
		ini_complete_cmd(s, cmd);
	}
	ini_tasks_kick(s);
}

/* The connection died under t; once nothing of it is queued, retry or fail it. */
static void task_lost_release(struct xiscsi_session *s, struct ini_task *t)
{
	struct xiscsi_cmd *cmd = t->cmd;
	bool retry = s->o.reissue_on_reconnect && s->state != XISCSI_STATE_FAILED &&
	             s->state != XISCSI_STATE_CLOSED && !s->in_free;

	task_free(s, t);
	if (retry && cmd->_tries < 8) {
		/* Re-issued after re-login; SIMPLE tasks carry no order to keep. */
		cmd->_tries++;
		pend_push(s, cmd);
		return;
	}
	cmd->result = cmd->result ? cmd->result : -ECONNRESET;
	ini_complete_cmd(s, cmd);
}

static void pdu_sent(struct xt_conn *c, struct xt_send_req *req, int status)
{
	struct ini_pdu *p = req->arg;
	struct xiscsi_session *s = p->s;
	struct ini_task *t = p->task;
	bool r2t_last = p->r2t_last;

	(void)c;
	(void)status; /* a failed send is followed by on_error, which handles the tasks */
	s->pdus_out--;
	ini_pdu_put(s, p);
	if (!t)
		return;
	if (r2t_last && t->r2t_out)
		t->r2t_out--;
	t->sends--;
	if (t->sends)
		return;
	if (t->lost)
		task_lost_release(s, t);
	else if (t->done)
		task_finish(s, t);
}

/* Data-Out PDUs for [off, off+len) of t, RFC 7143 11.7: at most MaxRecvDataSegmentLength each. */
static int send_data_out(struct xiscsi_session *s, struct ini_task *t, uint32_t ttt, uint32_t off,
                         uint32_t len)
{
	struct xiscsi_cmd *cmd = t->cmd;
	uint32_t datasn = 0;
	uint32_t maxseg = s->params.max_send_dsl;

	while (len > 0) {
		struct ini_pdu *p = ini_pdu_get(s);
		struct iscsi_bhs_data_out *d;
		uint32_t want = len < maxseg ? len : maxseg, got;
		int n, err;

		if (!p)
			return -ENOMEM;
		n = iov_slice(cmd->iov, cmd->iovcnt, off, want, p->seg, INI_SEG_IOV, &got);
		if (got == 0) {
			ini_pdu_put(s, p);
			return -EINVAL;
		}
		d = (struct iscsi_bhs_data_out *)&p->hdr.bhs;
		d->bhsdo_opcode = ISCSI_OP_SCSI_DATA_OUT;
		d->bhsdo_flags = got == len ? ISCSI_FLAG_FINAL : 0;
		lun_encode((uint32_t)cmd->lun, d->bhsdo_lun);
		d->bhsdo_itt = htobe32(t->itt);
		d->bhsdo_ttt = htobe32(ttt);
		d->bhsdo_expstatsn = htobe32(s->exp_statsn);
		d->bhsdo_datasn = htobe32(datasn++);
		d->bhsdo_buffer_offset = htobe32(off);
		p->task = t;
		/* Solicited: the R2T stays outstanding until its last PDU has left. */
		p->r2t_last = got == len && ttt != ISCSI_RESERVED_TAG;
		err = ini_pdu_send(s, p, p->seg, n, got);
		if (err)
			return err;
		off += got;
		len -= got;
	}
	return 0;
}

static int send_command(struct xiscsi_session *s, struct ini_task *t)
{
	struct xiscsi_cmd *cmd = t->cmd;
	struct ini_pdu *p = ini_pdu_get(s);
	struct iscsi_bhs_scsi_command *sc;
	struct ini_unsolicited u = {0, 0};
	uint32_t imm = 0;
	int n = 0, err;

	if (!p)
		return -ENOMEM;
	sc = (struct iscsi_bhs_scsi_command *)&p->hdr.bhs;
	sc->bhssc_opcode = ISCSI_OP_SCSI_CMD;
	sc->bhssc_flags = ISCSI_FLAG_FINAL | ISCSI_ATTR_SIMPLE;
	if (cmd->dir == XISCSI_DIR_READ)
		sc->bhssc_flags |= ISCSI_FLAG_CMD_READ;
	else if (cmd->dir == XISCSI_DIR_WRITE)
		sc->bhssc_flags |= ISCSI_FLAG_CMD_WRITE;
	lun_encode((uint32_t)cmd->lun, sc->bhssc_lun);
	sc->bhssc_itt = htobe32(t->itt);
	sc->bhssc_expected_data_transfer_length =
	        htobe32(cmd->dir == XISCSI_DIR_NONE ? 0 : t->xfer_len);
	sc->bhssc_cmdsn = htobe32(t->cmdsn);
	sc->bhssc_expstatsn = htobe32(s->exp_statsn);
	memcpy(sc->bhssc_cdb, cmd->cdb, cmd->cdb_len);
	if (cmd->dir == XISCSI_DIR_WRITE && t->xfer_len > 0) {
		ini_plan_unsolicited(t->xfer_len, s->params.immediate_data, s->params.initial_r2t,
		                     s->params.first_burst_length, s->params.max_send_dsl, &u);
		if (u.immediate) {
			n = iov_slice(cmd->iov, cmd->iovcnt, 0, u.immediate, p->seg, INI_SEG_IOV,
			              &imm);
			/* A fragmented buffer sends less immediately; Data-Out takes the rest. */
			u.data_out += u.immediate - imm;
		}
		/* RFC 7143 11.3.1.1: F = 0 when unsolicited Data-Out follows. */
		if (u.data_out)
			sc->bhssc_flags &= (uint8_t)~ISCSI_FLAG_FINAL;
	}
	p->task = t;
	err = ini_pdu_send(s, p, p->seg, n, imm);
	if (err)
		return err;
	if (u.data_out)
		err = send_data_out(s, t, ISCSI_RESERVED_TAG, imm, u.data_out);
	return err;
}

void ini_tasks_kick(struct xiscsi_session *s)
{
	/* Bounded by the pending list: each turn removes one command. */
	while (s->cstate == INI_CONN_FFP && s->pend_head && s->free_tasks &&
	       ini_window_open(&s->win)) {
		struct xiscsi_cmd *cmd = pend_pop(s);
		struct ini_task *t = s->free_tasks;
		int err;

		s->free_tasks = t->next;
		s->active++;
		t->next = NULL;
		t->cmd = cmd;
		t->gen++;
		t->itt = (uint32_t)t->gen << 16 | (uint32_t)(t - s->tasks);
		t->itt &= ~ITT_SESSION_BIT;
		t->xfer_len = cmd->xfer_len;
		t->datain_got = 0;
		t->exp_datasn = 0;
		t->exp_r2tsn = 0;
		t->r2t_out = 0;
		t->sends = 0;
		t->done = false;
		t->lost = false;
		t->cmdsn = ini_window_take(&s->win);
		cmd->_itt = t->itt;
		err = send_command(s, t);
		if (err) {
			ini_conn_lost(s, err, "send failed");
			return;
		}
	}
}

static struct ini_task *task_by_itt(struct xiscsi_session *s, uint32_t itt)
{
	struct ini_task *t;

	if (itt & ITT_SESSION_BIT)
		return NULL;
	if (ITT_SLOT(itt) >= s->ntasks)
		return NULL;
	t = &s->tasks[ITT_SLOT(itt)];
	if (!t->cmd || t->itt != itt || t->lost)
		return NULL;
	return t;
}

int xiscsi_submit(struct xiscsi_session *s, struct xiscsi_cmd *cmd)
{
	uint32_t total;

	if (!cmd || cmd->cdb_len == 0 || cmd->cdb_len > ISCSI_CDB_SIZE || !cmd->cb ||
	    cmd->lun > LUN_FLAT_MAX)
		return -EINVAL;
	if (cmd->dir != XISCSI_DIR_NONE && cmd->dir != XISCSI_DIR_READ &&
	    cmd->dir != XISCSI_DIR_WRITE)
		return -EINVAL;
	total = cmd->iovcnt > 0 && cmd->iov ? iov_total(cmd->iov, cmd->iovcnt) : 0;
	if (cmd->dir == XISCSI_DIR_NONE) {
		cmd->xfer_len = 0;
	} else {
		if (cmd->xfer_len == 0)
			cmd->xfer_len = total;
		if (cmd->xfer_len > total)
			return -EINVAL;
	}
	if (s->state == XISCSI_STATE_FAILED || s->state == XISCSI_STATE_CLOSED ||
	    s->state == XISCSI_STATE_IDLE || s->state == XISCSI_STATE_LOGGING_OUT)
		return -ENOTCONN;
	if (s->o.session_type == XISCSI_SESSION_DISCOVERY)
		return -EOPNOTSUPP;
	cmd->result = 0;
	cmd->status = 0;
	cmd->response = 0;
	cmd->underflow = cmd->overflow = false;
	cmd->residual = 0;
	cmd->data_len = 0;
	cmd->sense.response_code = 0;
	cmd->sense.len = 0;
	cmd->_tries = 0;
	pend_push(s, cmd);
	ini_tasks_kick(s);
	return 0;
}

unsigned xiscsi_inflight(const struct xiscsi_session *s)
{
	return s->active + s->npending;
}

void ini_tasks_lost(struct xiscsi_session *s)
{
	for (unsigned i = 0; i < s->ntasks; i++) {
		struct ini_task *t = &s->tasks[i];

		/* A command whose response arrived is complete whatever the link does now. */
		if (t->cmd && !t->done)
			t->lost = true;
	}
	for (unsigned i = 0; i < s->ntasks; i++) {
		struct ini_task *t = &s->tasks[i];

		if (t->cmd && t->lost && t->sends == 0)
			task_lost_release(s, t);
	}
}

void ini_tasks_fail_all(struct xiscsi_session *s, int err)
{
	struct xiscsi_cmd *cmd;

	/* Bounded: the pending list only shrinks here. */
	while ((cmd = pend_pop(s)) != NULL) {
		cmd->result = err;
		ini_complete_cmd(s, cmd);
	}
	for (unsigned i = 0; i < s->ntasks; i++) {
		struct ini_task *t = &s->tasks[i];

		if (!t->cmd)
			continue;
		t->cmd->result = err;
		t->lost = true;
		if (t->sends == 0)
			task_lost_release(s, t);
	}
}

void ini_rx_sn(struct xiscsi_session *s, uint32_t statsn_be, uint32_t exp_be, uint32_t max_be,
               bool advance_statsn)
{
	uint32_t statsn = be32toh(statsn_be);

	if (advance_statsn && serial_ge(statsn + 1, s->exp_statsn))
		s->exp_statsn = statsn + 1;
	/*
	 * Any target PDU may open the window (a NOP-In, an R2T), not only a
	 * response that frees a task: send what waited for it now, or it
	 * waits for a response that may never come.
	 */
	if (ini_window_update(&s->win, be32toh(exp_be), be32toh(max_be)) && s->pend_head)
		ini_tasks_kick(s);
}

/* Where a Data-In's payload goes: straight into the caller's buffer when it is contiguous there. */
int ini_rx_place(struct xiscsi_session *s, const struct pdu_in *p, uint8_t **dst)
{
	const struct iscsi_bhs_data_in *di = (const void *)p->bhs;
	struct ini_task *t;
	uint32_t off;
	struct iovec v;
	uint32_t got;

	if (pdu_opcode(p->bhs) != ISCSI_OP_SCSI_DATA_IN)
		return 0;
	t = task_by_itt(s, be32toh(di->bhsdi_itt));
	if (!t || t->cmd->dir != XISCSI_DIR_READ)
		return 0;
	off = be32toh(di->bhsdi_buffer_offset);
	if (ini_datain_check(t->xfer_len, off, p->data_len))
		return 0; /* refused when the PDU is complete */
	if (iov_slice(t->cmd->iov, t->cmd->iovcnt, off, p->data_len, &v, 1, &got) == 1 &&
	    got == p->data_len)
		*dst = v.iov_base;
	return 0;
}

static void copy_to_iov(const struct iovec *iov, int n, uint32_t off, const uint8_t *src,
                        uint32_t len)
{
	for (int i = 0; i < n && len > 0; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= (uint32_t)l;
			continue;
		}
		size_t take = l - off < len ? l - off : len;

		memcpy((uint8_t *)iov[i].iov_base + off, src, take);
		src += take;
		len -= (uint32_t)take;
		off = 0;
	}
}

static void set_residual(struct xiscsi_cmd *cmd, uint8_t flags, uint32_t residual_be)
{
	cmd->underflow = (flags & ISCSI_FLAG_RSP_UNDERFLOW) != 0;
	cmd->overflow = (flags & ISCSI_FLAG_RSP_OVERFLOW) != 0;
	cmd->residual = (cmd->underflow || cmd->overflow) ? be32toh(residual_be) : 0;
}

/* RFC 7143 11.4.7: the data segment of a SCSI Response is SenseLength (2 bytes) then sense. */
static void take_sense(struct xiscsi_cmd *cmd, const uint8_t *data, uint32_t len)
{
	struct sense_info si;
	uint32_t slen;

	if (len < 2)
		return;
	slen = (uint32_t)data[0] << 8 | data[1];
	if (slen > len - 2)
		slen = len - 2;
	if (slen > sizeof(cmd->sense.raw))
		slen = sizeof(cmd->sense.raw);
	if (slen == 0)
		return;
	memcpy(cmd->sense.raw, data + 2, slen);
	cmd->sense.len = (uint8_t)slen;
	cmd->sense.response_code = data[2] & 0x7f;
	if (sense_parse(data + 2, slen, &si) == 0) {
		cmd->sense.key = si.key;
		cmd->sense.asc = SCSI_ASC(si.asc);
		cmd->sense.ascq = SCSI_ASCQ(si.asc);
		cmd->sense.info_valid = si.info_valid;
		cmd->sense.information = si.info;
	}
}

static void task_response_done(struct xiscsi_session *s, struct ini_task *t)
{
	t->done = true;
	if (t->sends == 0)
		task_finish(s, t);
}

static int rx_data_in(struct xiscsi_session *s, struct pdu_in *p)
{
	const struct iscsi_bhs_data_in *di = (const void *)p->bhs;
	struct ini_task *t = task_by_itt(s, be32toh(di->bhsdi_itt));
	uint32_t off = be32toh(di->bhsdi_buffer_offset);
	bool status = (di->bhsdi_flags & ISCSI_FLAG_DATA_STATUS) != 0;

	ini_rx_sn(s, di->bhsdi_statsn, di->bhsdi_expcmdsn, di->bhsdi_maxcmdsn, status);
	if (!t)
		return 0; /* an aborted task's late data: RFC 7143 allows it, drop it */
	if (t->cmd->dir != XISCSI_DIR_READ || ini_datain_check(t->xfer_len, off, p->data_len)) {
		ini_seterr(s, -EPROTO, "Data-In outside the command's buffer (offset %u, %u bytes)",
		           off, p->data_len);
		return -EPROTO;
	}
	if (ini_datain_seq_check(t->exp_datasn, be32toh(di->bhsdi_datasn),
	                         s->params.data_pdu_in_order && s->params.data_sequence_in_order,
	                         t->datain_got, off)) {
		ini_seterr(s, -EPROTO,
		           "Data-In out of sequence (DataSN %u, offset %u; expected %u, %u)",
		           be32toh(di->bhsdi_datasn), off, t->exp_datasn, t->datain_got);
		return -EPROTO;
	}
	if (p->status == 0 && p->data_src != PDU_DATA_PLACED && p->data_len)
		copy_to_iov(t->cmd->iov, t->cmd->iovcnt, off, p->data, p->data_len);
	if (p->status)
		t->cmd->result = -EBADMSG; /* data digest: ERL 0 cannot ask again, fail it */
	t->datain_got += p->data_len;
	t->exp_datasn = be32toh(di->bhsdi_datasn) + 1;
	if (status && ini_rsp_flags_check(di->bhsdi_flags, false)) {
		ini_seterr(s, -EPROTO,
		           "Data-In with status: bad residual flags 0x%02x (ITT 0x%08x)",
		           di->bhsdi_flags, t->itt);
		t->cmd->result = -EPROTO;
		task_response_done(s, t);
		return -EPROTO;
	}
	if (status) {
		t->cmd->status = di->bhsdi_status;
		t->cmd->response = ISCSI_RSP_COMPLETED;
		set_residual(t->cmd, di->bhsdi_flags, di->bhsdi_residual_count);
		/* Out-of-order data may overlap: never report more than the buffer took. */
		t->cmd->data_len = t->datain_got < t->xfer_len ? t->datain_got : t->xfer_len;
		task_response_done(s, t);
	}
	return 0;
}

static int rx_scsi_rsp(struct xiscsi_session *s, struct pdu_in *p)
{
	const struct iscsi_bhs_scsi_response *r = (const void *)p->bhs;
	struct ini_task *t = task_by_itt(s, be32toh(r->bhssr_itt));

	ini_rx_sn(s, r->bhssr_statsn, r->bhssr_expcmdsn, r->bhssr_maxcmdsn, true);
	if (!t)
		return 0;
	/*
	 * RFC 7143 11.4.5.1: O and U exclude each other and we send no
	 * bidirectional commands. A malformed response: fail the command (the
	 * target answered it, so it is not re-issued) and drop the connection
	 * as for any protocol error.
	 */
	if (ini_rsp_flags_check(r->bhssr_flags, false)) {
		ini_seterr(s, -EPROTO, "SCSI Response with bad residual flags 0x%02x (ITT 0x%08x)",
		           r->bhssr_flags, t->itt);
		t->cmd->result = -EPROTO;
		task_response_done(s, t);
		return -EPROTO;
	}
	t->cmd->response = r->bhssr_response;
	t->cmd->status = r->bhssr_status;
	set_residual(t->cmd, r->bhssr_flags, r->bhssr_residual_count);
	t->cmd->data_len = t->datain_got < t->xfer_len ? t->datain_got : t->xfer_len;
	if (p->data_len && p->status == 0)
		take_sense(t->cmd, p->data, p->data_len);
	task_response_done(s, t);
	return 0;
}

static int rx_r2t(struct xiscsi_session *s, struct pdu_in *p)
{
	const struct iscsi_bhs_r2t *r = (const void *)p->bhs;
	struct ini_task *t = task_by_itt(s, be32toh(r->bhsr2t_itt));
	uint32_t off = be32toh(r->bhsr2t_buffer_offset);
	uint32_t want = be32toh(r->bhsr2t_desired_data_transfer_length);

	/* RFC 7143 11.8: the StatSN of an R2T is the next one, not advanced. */
	ini_rx_sn(s, r->bhsr2t_statsn, r->bhsr2t_expcmdsn, r->bhsr2t_maxcmdsn, false);
	if (!t)
		return 0;
	/* RFC 7143 11.8: the Data-Out we answer with carries this TTT; the reserved one means
	 * unsolicited data to the target. */
	if (t->cmd->dir != XISCSI_DIR_WRITE || be32toh(r->bhsr2t_ttt) == ISCSI_RESERVED_TAG ||
	    ini_r2t_check(t->xfer_len, off, want, s->params.max_burst_length)) {
		ini_seterr(s, -EPROTO, "R2T outside the command (offset %u, %u bytes)", off, want);
		return -EPROTO;
	}
	if (ini_r2t_seq_check(t->exp_r2tsn, be32toh(r->bhsr2t_r2tsn), t->r2t_out,
	                      s->params.max_outstanding_r2t)) {
		ini_seterr(s, -EPROTO,
		           "R2T out of sequence (R2TSN %u, expected %u; %u outstanding, "
		           "MaxOutstandingR2T %u)",
		           be32toh(r->bhsr2t_r2tsn), t->exp_r2tsn, t->r2t_out,
		           s->params.max_outstanding_r2t);
		return -EPROTO;
	}
	t->exp_r2tsn++;
	t->r2t_out++;
	return send_data_out(s, t, be32toh(r->bhsr2t_ttt), off, want);
}

static int rx_reject(struct xiscsi_session *s, struct pdu_in *p)
{
	const struct iscsi_bhs_reject *r = (const void *)p->bhs;
	struct iscsi_bhs bad;
	struct ini_task *t;

	ini_rx_sn(s, r->bhsrj_statsn, r->bhsrj_expcmdsn, r->bhsrj_maxcmdsn, true);
	if (p->data_len < ISCSI_BHS_SIZE || p->status)
		return 0;
	/* The data segment may sit anywhere in the receive buffer: copy, do not cast. */
	memcpy(&bad, p->data, sizeof(bad));
	ini_log(1, "target rejected a PDU (opcode 0x%02x, reason 0x%02x)", pdu_opcode(&bad),
	        r->bhsrj_reason);
	t = task_by_itt(s, be32toh(bad.bhs_itt));
	if (!t)
		return 0;
	switch (ini_reject_action(pdu_opcode(&bad), r->bhsrj_reason)) {
	case INI_REJECT_FAIL_TASK:
		/* RFC 7143 11.17.1: a rejected command is not executed; fail it. */
		t->cmd->result = -EPROTO;
		task_response_done(s, t);
		return 0;
	case INI_REJECT_FAIL_TASK_DROP:
		/*
		 * A Data-Out rejected (data digest, protocol error...): at ERL 0
		 * the data cannot be sent again (7.8) and the target still waits
		 * for it. Fail the task and drop the connection, which clears it
		 * at the target when the session is reinstated.
		 */
		ini_seterr(s, -EPROTO, "the target rejected a Data-Out (reason 0x%02x, ITT 0x%08x)",
		           r->bhsrj_reason, t->itt);
		t->cmd->result = r->bhsrj_reason == ISCSI_REJECT_DATA_DIGEST ? -EBADMSG : -EPROTO;
		task_response_done(s, t);
		return -EPROTO;
	default:
		return 0;
	}
}

int ini_rx_task_pdu(struct xiscsi_session *s, struct pdu_in *p)
{
	switch (pdu_opcode(p->bhs)) {
	case ISCSI_OP_SCSI_DATA_IN:
		return rx_data_in(s, p);
	case ISCSI_OP_SCSI_RSP:
		return rx_scsi_rsp(s, p);
	case ISCSI_OP_R2T:
		return rx_r2t(s, p);
	case ISCSI_OP_REJECT:
		return rx_reject(s, p);
	default:
		return 1; /* not ours */
	}
}
