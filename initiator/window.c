#include <errno.h>

#include "initiator/window.h"
#include "lib/pdu.h"
#include "lib/serial.h"

void ini_window_reset(struct ini_window *w, uint32_t cmdsn, uint32_t exp_cmdsn, uint32_t max_cmdsn)
{
	w->cmdsn = cmdsn;
	w->exp_cmdsn = exp_cmdsn;
	w->max_cmdsn = max_cmdsn;
}

bool ini_window_update(struct ini_window *w, uint32_t exp_cmdsn, uint32_t max_cmdsn)
{
	bool moved = false;

	/* MaxCmdSN = ExpCmdSN - 1 is a valid, empty window; anything lower is not. */
	if (serial_lt(max_cmdsn, exp_cmdsn - 1))
		return false;
	if (serial_gt(exp_cmdsn, w->exp_cmdsn)) {
		w->exp_cmdsn = exp_cmdsn;
		moved = true;
	}
	if (serial_gt(max_cmdsn, w->max_cmdsn)) {
		w->max_cmdsn = max_cmdsn;
		moved = true;
	}
	return moved;
}

bool ini_window_open(const struct ini_window *w)
{
	return serial_le(w->cmdsn, w->max_cmdsn);
}

uint32_t ini_window_room(const struct ini_window *w)
{
	if (!ini_window_open(w))
		return 0;
	return w->max_cmdsn - w->cmdsn + 1;
}

uint32_t ini_window_take(struct ini_window *w)
{
	return w->cmdsn++;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

void ini_plan_unsolicited(uint32_t xfer_len, bool immediate_data, bool initial_r2t,
                          uint32_t first_burst, uint32_t max_send_dsl, struct ini_unsolicited *u)
{
	uint32_t budget = min_u32(xfer_len, first_burst);

	u->immediate = 0;
	u->data_out = 0;
	if (immediate_data)
		u->immediate = min_u32(budget, max_send_dsl);
	if (!initial_r2t)
		u->data_out = budget - u->immediate;
}

int ini_r2t_check(uint32_t xfer_len, uint32_t offset, uint32_t desired, uint32_t max_burst)
{
	if (desired == 0 || desired > max_burst)
		return -EPROTO;
	if (offset > xfer_len || desired > xfer_len - offset)
		return -EPROTO;
	return 0;
}

int ini_datain_check(uint32_t xfer_len, uint32_t offset, uint32_t len)
{
	if (offset > xfer_len || len > xfer_len - offset)
		return -EPROTO;
	return 0;
}

int ini_datain_seq_check(uint32_t exp_datasn, uint32_t datasn, bool in_order, uint32_t got,
                         uint32_t offset)
{
	if (datasn != exp_datasn)
		return -EPROTO;
	if (in_order && offset != got)
		return -EPROTO;
	return 0;
}

int ini_text_continue_check(uint32_t ttt, uint32_t data_len)
{
	if (ttt == ISCSI_RESERVED_TAG || data_len == 0)
		return -EPROTO;
	return 0;
}

int ini_rsp_flags_check(uint8_t flags, bool bidi)
{
	const uint8_t ou = ISCSI_FLAG_RSP_OVERFLOW | ISCSI_FLAG_RSP_UNDERFLOW;
	const uint8_t bou = ISCSI_FLAG_RSP_BIDI_OVERFLOW | ISCSI_FLAG_RSP_BIDI_UNDERFLOW;

	if ((flags & ou) == ou)
		return -EPROTO;
	if (!bidi && (flags & bou))
		return -EPROTO;
	if ((flags & bou) == bou)
		return -EPROTO;
	return 0;
}

int ini_r2t_seq_check(uint32_t exp_r2tsn, uint32_t r2tsn, unsigned outstanding,
                      uint32_t max_outstanding)
{
	if (r2tsn != exp_r2tsn)
		return -EPROTO;
	/* MaxOutstandingR2T is at least 1 (13.17); 0 means the default. */
	if (max_outstanding == 0)
		max_outstanding = 1;
	if (outstanding >= max_outstanding)
		return -EPROTO;
	return 0;
}

enum ini_reject_action ini_reject_action(uint8_t rejected_opcode, uint8_t reason)
{
	(void)reason;
	switch (rejected_opcode & ISCSI_OP_MASK) {
	case ISCSI_OP_SCSI_CMD:
		return INI_REJECT_FAIL_TASK;
	case ISCSI_OP_SCSI_DATA_OUT:
		/* Whatever the reason, the target lost part of the data: at ERL 0 the task cannot
		 * get it again (RFC 7143 7.8, 11.17.1) and the target waits for it, so drop the
		 * link. */
		return INI_REJECT_FAIL_TASK_DROP;
	default:
		return INI_REJECT_IGNORE;
	}
}

enum ini_async_action ini_async_action(uint8_t event)
{
	switch (event) {
	case ISCSI_ASYNC_LOGOUT_REQUEST:
	case ISCSI_ASYNC_CONNECTION_DROP:
	case ISCSI_ASYNC_SESSION_DROP:
	case ISCSI_ASYNC_NEGOTIATION_REQ:
		return INI_ASYNC_RECONNECT;
	default:
		return INI_ASYNC_IGNORE;
	}
}
