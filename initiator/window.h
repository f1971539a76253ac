/*
 * Bookkeeping of the initiator that needs no socket: the CmdSN window,
 * how much of a write goes unsolicited, and whether an R2T is sane. Kept
 * apart so the unit tests prove it without a target.
 */
#ifndef XI_INI_WINDOW_H
#define XI_INI_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 7143 section 4.2.2.1: commands may be sent while CmdSN <= MaxCmdSN. */
struct ini_window {
	uint32_t cmdsn;     /* the CmdSN the next non-immediate command takes */
	uint32_t exp_cmdsn; /* the target's ExpCmdSN */
	uint32_t max_cmdsn; /* the target's MaxCmdSN */
};

/* After login: the login response carries ExpCmdSN and MaxCmdSN. */
void ini_window_reset(struct ini_window *w, uint32_t cmdsn, uint32_t exp_cmdsn, uint32_t max_cmdsn);

/*
 * Take ExpCmdSN/MaxCmdSN from a response. RFC 7143 4.2.2.1: values that
 * would move the window backwards are stale (an older PDU overtaken) and
 * MaxCmdSN < ExpCmdSN - 1 is invalid; both are ignored. Returns true when
 * the window moved.
 */
bool ini_window_update(struct ini_window *w, uint32_t exp_cmdsn, uint32_t max_cmdsn);

/* Whether a non-immediate command may go now. */
bool ini_window_open(const struct ini_window *w);

/* Commands the target would still accept now (0 when closed). */
uint32_t ini_window_room(const struct ini_window *w);

/* Assign the next CmdSN (the caller checked ini_window_open). */
uint32_t ini_window_take(struct ini_window *w);

/* How a write's data is split before the first R2T: RFC 7143 sections 13.3-13.6. */
struct ini_unsolicited {
	uint32_t immediate; /* bytes in the SCSI Command PDU itself */
	uint32_t data_out;  /* bytes in unsolicited Data-Out PDUs after it */
};

/*
 * xfer_len: the command's Expected Data Transfer Length. The unsolicited
 * part is at most FirstBurstLength (13.14); the immediate part at most one
 * PDU the target declared it can take (max_send_dsl, 13.12); unsolicited
 * Data-Out only when InitialR2T=No (13.3).
 */
void ini_plan_unsolicited(uint32_t xfer_len, bool immediate_data, bool initial_r2t,
                          uint32_t first_burst, uint32_t max_send_dsl, struct ini_unsolicited *u);

/*
 * Check one R2T against the command (RFC 7143 11.8): the requested range
 * lies inside the transfer, is not empty and not above MaxBurstLength.
 * Returns 0 or -EPROTO.
 */
int ini_r2t_check(uint32_t xfer_len, uint32_t offset, uint32_t desired, uint32_t max_burst);

/*
 * Check where a Data-In segment lands (RFC 7143 11.7.5): inside the
 * buffer the command gave and not past what was asked for.
 * Returns 0 or -EPROTO.
 */
int ini_datain_check(uint32_t xfer_len, uint32_t offset, uint32_t len);
/*
 * Check a Data-In's place in the sequence: its DataSN is the next one
 * (RFC 7143 11.7.4; at ErrorRecoveryLevel 0 a gap cannot be recovered) and,
 * when DataPDUInOrder and DataSequenceInOrder are both Yes (13.19, 13.20),
 * its offset is where the data so far ended. Without it a repeated or
 * overlapping PDU counts twice and the byte count passes the buffer.
 * Returns 0 or -EPROTO.
 */
int ini_datain_seq_check(uint32_t exp_datasn, uint32_t datasn, bool in_order, uint32_t got,
                         uint32_t offset);
/*
 * Check a Text Response with the C bit (RFC 7143 11.11.2, 11.11.4): it
 * names a Target Transfer Tag to continue with (not the reserved one) and
 * carries part of the answer; an empty piece makes no progress and the
 * exchange would go on for ever. Returns 0 or -EPROTO.
 */
int ini_text_continue_check(uint32_t ttt, uint32_t data_len);

/*
 * Check the residual flags of a SCSI Response or a Data-In with status
 * (RFC 7143 11.4.5.1): O and U exclude each other, o and u too, and o/u
 * belong to bidirectional commands only. Returns 0 or -EPROTO.
 */
int ini_rsp_flags_check(uint8_t flags, bool bidi);
/*
 * Check an R2T's place among the task's R2Ts: its R2TSN is the next one
 * (RFC 7143 11.8.6; at ERL 0 a gap cannot be recovered) and accepting it
 * keeps the R2Ts not yet answered within MaxOutstandingR2T (13.17).
 * outstanding: R2Ts of the task whose last Data-Out has not left yet.
 * Returns 0 or -EPROTO.
 */
int ini_r2t_seq_check(uint32_t exp_r2tsn, uint32_t r2tsn, unsigned outstanding,
                      uint32_t max_outstanding);

/* What a Reject does to the task whose PDU it names (RFC 7143 11.17.1). */
enum ini_reject_action {
	INI_REJECT_IGNORE,         /* logged only */
	INI_REJECT_FAIL_TASK,      /* the command was not executed: fail it */
	INI_REJECT_FAIL_TASK_DROP, /* a Data-Out: fail the task and drop the connection */
};
enum ini_reject_action ini_reject_action(uint8_t rejected_opcode, uint8_t reason);

/* What an Asynchronous Message asks of us (RFC 7143 11.9.1). */
enum ini_async_action {
	INI_ASYNC_IGNORE,
	INI_ASYNC_RECONNECT, /* drop the connection and log in again (ERL 0 recovery) */
};
enum ini_async_action ini_async_action(uint8_t event);

#endif
