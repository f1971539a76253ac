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

#endif
