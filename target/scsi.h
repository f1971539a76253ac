/*
 * The target's SCSI layer: the daemon hands it a CDB, a LUN and data
 * buffers, and gets status, sense and data back. It knows no PDU and no
 * socket.
 *
 * Calling sequence, per command:
 *   1. When the SCSI Command PDU arrives, scsi_cdb_xfer_len() tells from the
 *      CDB alone how many bytes of Data-Out the command wants, so the daemon
 *      can size its buffer and its R2Ts before data arrives.
 *   2. Fill a struct scsi_task (the "caller sets" part; zero the rest) and
 *      call scsi_task_exec(). data_out holds what arrived (the iSCSI
 *      Expected Data Transfer Length worth for a write); data_in is a
 *      caller-owned buffer of data_in_len bytes (the EDTL for a read).
 *   3. t->done(t) runs exactly once, inline for the synchronous stores (ram,
 *      file, null), possibly later and on another thread for asynchronous
 *      ones. Then status, sense, data_in_xfer and the residual are final.
 *
 * Residuals follow RFC 7143 11.4.5 (SCSI Response "Residual Count"): against
 * the EDTL, i.e. data_in_len for a data-in command and data_out_len for a
 * data-out command. A data-out command whose CDB wants more than arrived is
 * refused with INVALID FIELD IN INFORMATION UNIT (FCP-4 9.4.2 b) and an
 * overflow residual, except WRITE(6/10/12/16), which write the bytes that
 * came and report the overflow (FCP-4 9.4.2 a).
 *
 * Threads: scsi_task_exec() may run on any thread; see target/lu.h.
 */
#ifndef XISCSI_TARGET_SCSI_H
#define XISCSI_TARGET_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/scsi.h"
#include "target/bs.h"
#include "target/lu.h"

/* Room for our largest sense data (descriptor format, 28 bytes). */
#define SCSI_TASK_SENSE_MAX 32

enum scsi_dir {
	SCSI_DIR_NONE = 0,
	SCSI_DIR_IN = 1,  /* data-in: target to initiator (READ) */
	SCSI_DIR_OUT = 2, /* data-out: initiator to target (WRITE) */
};

/* Residual flags, as the iSCSI SCSI Response O and U bits. */
#define SCSI_RESID_UNDERFLOW 0x1
#define SCSI_RESID_OVERFLOW  0x2

/* The target port a command came through, for VPD 0x83 and REPORT LUNS. */
struct scsi_port {
	const char *target_name; /* iSCSI TargetName */
	uint16_t tpgt;           /* target portal group tag (RFC 7143 13.9) */
	uint16_t rel_port_id;    /* relative target port identifier, 1.. */
	/*
	 * The initiator port of this I_T nexus as SPC-5 7.6.4.6 names it for
	 * iSCSI: "<InitiatorName>,i,0x<ISID in 12 hex digits>". Persistent
	 * reservations key registrations by it so they survive a reconnect.
	 * NULL: the nexus id stands in (registrations die with the session).
	 */
	const char *initiator_port;
	/*
	 * The LUNs this nexus may see: fill at most max LUN numbers into luns
	 * (ascending), return how many exist in all. NULL: only LUN 0 if a LU
	 * was given, none otherwise.
	 */
	size_t (*lun_list)(void *arg, uint64_t *luns, size_t max);
	void *lun_list_arg;
};

struct scsi_task {
	/* Caller sets. */
	const struct scsi_port *port;
	uint64_t nexus; /* opaque I_T nexus id, stable for the session; < UINT64_MAX-1 */
	uint64_t lun;
	const uint8_t *cdb;
	unsigned cdb_len;
	const uint8_t *data_out; /* data-out received, or NULL */
	uint32_t data_out_len;
	uint8_t *data_in; /* caller's buffer for data-in, or NULL */
	uint32_t data_in_len;
	void (*done)(struct scsi_task *t);
	void *priv;

	/* Results, valid in done(). */
	uint8_t status; /* enum scsi_status */
	uint8_t sense_len;
	uint8_t sense[SCSI_TASK_SENSE_MAX];
	uint32_t data_in_xfer; /* bytes placed at data_in */
	uint32_t resid;
	uint8_t resid_flags; /* SCSI_RESID_* */

	/* The layer's own, for asynchronous completion. */
	struct tgt_lu *lu_;
	struct bs_io io_;
	uint32_t need_;
	bool exact_; /* SCSI_F_EXACT_OUT: data-out must be need_ bytes */
	bool over_;  /* the CDB wants more than 4 GiB of data-out */
};

/*
 * Run t against lu. lu NULL means no LU at t->lun: INQUIRY answers
 * "not connected", REPORT LUNS and REQUEST SENSE work, anything else gets
 * LOGICAL UNIT NOT SUPPORTED.
 */
void scsi_task_exec(struct tgt_lu *lu, struct scsi_task *t);

/*
 * The daemon aborts t (ABORT TASK, a reset, the session ending) while it
 * executes: a command that would otherwise hold done() back for long (a
 * SANITIZE without IMMED, whose operation goes on regardless, SBC-4
 * 4.11.2) calls done() soon, from its own thread, with TASK ABORTED.
 * Others are unaffected and complete as usual. done() still runs once.
 */
void scsi_task_abort(struct scsi_task *t);

/* Is command c offered by this LU's profile (UNMAP, block erase: thin)? */
struct scsi_cmd;
bool scsi_cmd_available(const struct tgt_lu *lu, const struct scsi_cmd *c);

/*
 * From the CDB alone: the direction and the number of bytes the command
 * transfers (allocation length for data-in, parameter list or blocks for
 * data-out). Returns 0 for an unknown opcode or a CDB shorter than its
 * group; *dir is SCSI_DIR_NONE then. lu may be NULL (block size 512 then).
 */
uint64_t scsi_cdb_xfer_len(const struct tgt_lu *lu, const uint8_t *cdb, unsigned cdb_len,
                           enum scsi_dir *dir);

/* The name of an opcode for logs ("READ(10)"), or NULL when unknown. */
const char *scsi_opcode_name(uint8_t opcode);

/*
 * Internal to target/scsi.c, spc.c and sbc.c: the command table and the
 * helpers handlers use to finish a task.
 */

/* Persistent reservation handlers and check, pr.c. */
int pr_in(struct tgt_lu *lu, struct scsi_task *t);
int pr_out(struct tgt_lu *lu, struct scsi_task *t);
/* Does a persistent reservation keep this command from this nexus out? */
bool pr_conflict(struct tgt_lu *lu, const struct scsi_task *t, uint32_t flags);

/* Table flags. */
#define SCSI_F_IN          0x0001 /* data-in */
#define SCSI_F_OUT         0x0002 /* data-out */
#define SCSI_F_MEDIUM      0x0004 /* needs the medium: NOT READY when ejected */
#define SCSI_F_WRITE       0x0008 /* changes the medium: DATA PROTECT when ro */
#define SCSI_F_NO_UA       0x0010 /* runs with a unit attention pending */
#define SCSI_F_RESV_OK     0x0020 /* allowed under another nexus's RESERVE(6) */
#define SCSI_F_NO_LU       0x0040 /* runs without a LU */
#define SCSI_F_SA          0x0080 /* has service actions in scsi_sa_cmds[] */
#define SCSI_F_PR_OK       0x0100 /* never blocked by a persistent reservation */
#define SCSI_F_PR_WRITE    0x0200 /* blocked under the write-exclusive types */
#define SCSI_F_EXACT_OUT   0x0400 /* data-out must be exactly what the CDB implies */
#define SCSI_F_PARTIAL_OUT 0x0800 /* short data-out: write what came (FCP-4 9.4.2 a) */
#define SCSI_F_WP_LATE     0x1000 /* DATA PROTECT after the handler's CDB checks */
#define SCSI_F_OUT_LATE    0x2000 /* the handler checks the data-out length: scsi_task_out_ok */

/* A handler returns 0 when t holds its result, SCSI_ASYNC when it will
 * call scsi_task_finish() itself. */
#define SCSI_ASYNC 1

struct scsi_cmd {
	const char *name;
	int (*exec)(struct tgt_lu *lu, struct scsi_task *t);
	/* Bytes transferred, from the CDB (see scsi_cdb_xfer_len). */
	uint64_t (*xfer)(const struct tgt_lu *lu, const uint8_t *cdb);
	uint32_t flags;
	uint8_t cdb_len;
	/* CDB usage data for REPORT SUPPORTED OPERATION CODES (SPC-5 6.35.3):
	 * bits a device server looks at; byte 0 is the opcode. */
	uint8_t usage[16];
};

struct scsi_sa_cmd {
	uint8_t opcode;
	uint16_t sa;
	struct scsi_cmd cmd;
};

extern const struct scsi_cmd scsi_cmds[256];
extern const struct scsi_sa_cmd scsi_sa_cmds[];
extern const size_t scsi_sa_cmds_count;
const struct scsi_cmd *scsi_cmd_lookup(const uint8_t *cdb, unsigned cdb_len);
/* The data-out length check for a SCSI_F_OUT_LATE command, done when the
 * handler's own checks come first: false with the error in t. */
bool scsi_task_out_ok(struct scsi_task *t);
/* Write protection for a SCSI_F_WP_LATE command, once its CDB is known to be
 * valid: false with DATA PROTECT in t when the LU may not be written. */
bool scsi_task_wp_ok(struct tgt_lu *lu, struct scsi_task *t);

void scsi_task_good(struct scsi_task *t);
/* CHECK CONDITION with sense key and ASC/ASCQ. Returns 0 for handlers. */
int scsi_task_check(struct scsi_task *t, uint8_t key, uint16_t asc);
/* ILLEGAL REQUEST, INVALID FIELD IN CDB pointing at byte/bit (-1: byte). */
int scsi_task_bad_cdb(struct scsi_task *t, uint16_t byte, int bit);
/* ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST pointing at byte/bit. */
int scsi_task_bad_param(struct scsi_task *t, uint16_t byte, int bit);
/* SBC-4 4.11.3: MEDIUM ERROR, SANITIZE COMMAND FAILED (not in lib/scsi.h). */
#define SCSI_ASC_SANITIZE_COMMAND_FAILED 0x3103
/* NOT READY, SANITIZE IN PROGRESS with the progress indication (SBC-4 4.11). */
int scsi_task_sanitizing(struct scsi_task *t);
/* CHECK CONDITION with INFORMATION set (LBA, miscompare offset). */
int scsi_task_check_info(struct scsi_task *t, uint8_t key, uint16_t asc, uint64_t info);
/* An -errno from a store, as MEDIUM ERROR / WRITE ERROR etc. */
int scsi_task_errno(struct scsi_task *t, int err, bool writing);
/*
 * Hand len bytes of response data (already cut to the allocation length)
 * to the initiator: copies what fits in data_in, sets data_in_xfer and the
 * residual, status GOOD. Returns 0.
 */
int scsi_task_data(struct scsi_task *t, const void *buf, uint32_t len);
/* Finish an asynchronous task: runs t->done. */
void scsi_task_finish(struct scsi_task *t);

/* Handlers, spc.c. */
int spc_test_unit_ready(struct tgt_lu *lu, struct scsi_task *t);
int spc_inquiry(struct tgt_lu *lu, struct scsi_task *t);
int spc_request_sense(struct tgt_lu *lu, struct scsi_task *t);
int spc_report_luns(struct tgt_lu *lu, struct scsi_task *t);
int spc_mode_sense(struct tgt_lu *lu, struct scsi_task *t);
int spc_mode_select(struct tgt_lu *lu, struct scsi_task *t);
int spc_report_supported_opcodes(struct tgt_lu *lu, struct scsi_task *t);
int spc_report_target_port_groups(struct tgt_lu *lu, struct scsi_task *t);
int spc_reserve(struct tgt_lu *lu, struct scsi_task *t);
int spc_release(struct tgt_lu *lu, struct scsi_task *t);
int spc_send_diagnostic(struct tgt_lu *lu, struct scsi_task *t);

/* Copy manager, xcopy.c (SPC-4 6.4, 6.18). */
int spc_extended_copy(struct tgt_lu *lu, struct scsi_task *t);
int spc_receive_copy_results(struct tgt_lu *lu, struct scsi_task *t);
/* Fill the third-party copy VPD page (0x8F) into b (at least 128 bytes);
 * returns its length. */
size_t xcopy_vpd_3pc(uint8_t *b);
#define XCOPY_MAX_TARGET_DESCS 2
#define XCOPY_MAX_SEG_DESCS    4
#define XCOPY_MAX_SEG_BLOCKS   0xffff /* the segment's 16-bit block count */

/* Handlers, sbc.c. */
int sbc_read(struct tgt_lu *lu, struct scsi_task *t);
int sbc_write(struct tgt_lu *lu, struct scsi_task *t);
int sbc_read_capacity10(struct tgt_lu *lu, struct scsi_task *t);
int sbc_read_capacity16(struct tgt_lu *lu, struct scsi_task *t);
int sbc_get_lba_status(struct tgt_lu *lu, struct scsi_task *t);
int sbc_sync_cache(struct tgt_lu *lu, struct scsi_task *t);
int sbc_verify(struct tgt_lu *lu, struct scsi_task *t);
int sbc_write_verify(struct tgt_lu *lu, struct scsi_task *t);
int sbc_write_same(struct tgt_lu *lu, struct scsi_task *t);
int sbc_unmap(struct tgt_lu *lu, struct scsi_task *t);
int sbc_compare_and_write(struct tgt_lu *lu, struct scsi_task *t);
int sbc_pre_fetch(struct tgt_lu *lu, struct scsi_task *t);
int sbc_start_stop_unit(struct tgt_lu *lu, struct scsi_task *t);
int sbc_prevent_allow(struct tgt_lu *lu, struct scsi_task *t);
int sbc_read_defect_data(struct tgt_lu *lu, struct scsi_task *t);
int sbc_orwrite(struct tgt_lu *lu, struct scsi_task *t);
int sbc_sanitize(struct tgt_lu *lu, struct scsi_task *t);
int sbc_write_atomic(struct tgt_lu *lu, struct scsi_task *t);

/* Block limits the LU advertises in VPD 0xB0 and enforces. */
#define SBC_MAX_XFER_BLOCKS       0x10000 /* per READ/WRITE, in blocks */
#define SBC_MAX_UNMAP_BLOCKS      0x100000
#define SBC_MAX_UNMAP_DESCS       256
#define SBC_MAX_WRITE_SAME_BLOCKS 0x400000
#define SBC_MAX_CAW_BLOCKS        1
/* Bytes per second a SANITIZE OVERWRITE writes at most (sbc.c). */
#define SBC_SANITIZE_RATE (8u << 20)
/* WRITE ATOMIC(16), SBC-4 5.48: no alignment, granularity or boundary. */
#define SBC_MAX_ATOMIC_BLOCKS 1024

#endif
