/*
 * A logical unit: a backing store, the SCSI device profile it is shown
 * with, and the per-LU state the SCSI layer keeps (unit attentions per I_T
 * nexus, mode page values, medium state, SPC-2 reservation).
 *
 * Threads: a LU may serve several reactors at once. Reads and writes of
 * the store take no lock; state changes take lu->lock. The unit attention
 * check on every command is two atomic loads when nothing is pending.
 */
#ifndef XISCSI_TARGET_LU_H
#define XISCSI_TARGET_LU_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target/bs.h"

/* INQUIRY identification (SPC-5 6.7.2): ASCII, space padded on the wire. */
#define TGT_LU_VENDOR      "XISCSI"
#define TGT_LU_PRODUCT     "VIRTUAL-DISK"
#define TGT_LU_REVISION    "0001"
#define TGT_LU_PRODUCT_MAX 16
#define TGT_LU_SERIAL_MAX  32
#define TGT_LU_PATH_MAX    4096
#define TGT_LU_NEXUS_SLOTS 256
/* RFC 7143 4.2.7.1: an iSCSI name is at most 223 bytes. */
#define TGT_LU_TARGET_NAME_MAX 223
/* EXTENDED COPY results held per (I_T nexus, list identifier), SPC-4 6.4. */
#define TGT_XCOPY_HELD 16

enum tgt_bs_type {
	TGT_BS_RAM,
	TGT_BS_FILE,
	TGT_BS_NULL,
};

/* What a LUN spec string says, before anything is opened. */
struct tgt_lu_spec {
	enum tgt_bs_type type;
	char path[TGT_LU_PATH_MAX];           /* file: only */
	uint64_t size;                        /* bytes; 0: file's own size */
	uint32_t block_size;                  /* 512 or 4096 */
	uint32_t phys_block_size;             /* pbs=: 0, or a power of two >= block_size */
	bool readonly;                        /* ro: WP bit, DATA PROTECT on writes */
	bool thin;                            /* LBPME: UNMAP, WRITE SAME UNMAP */
	bool removable;                       /* RMB: START STOP UNIT ejects */
	bool dsync;                           /* sync: O_DSYNC, no write cache */
	bool direct;                          /* direct: O_DIRECT, no page cache */
	bool aio_sync;                        /* aio=sync: pread/pwrite, no io_uring */
	bool crypt;                           /* crypt: AES-256-XTS at rest, CRYPTO ERASE */
	char crypt_key[TGT_LU_PATH_MAX];      /* crypt-key=PATH; "" means <path>.key */
	char product[TGT_LU_PRODUCT_MAX + 1]; /* "" means TGT_LU_PRODUCT */
	char serial[TGT_LU_SERIAL_MAX + 1];   /* "" means derived from name+LUN */
};

/*
 * Parse "TYPE:ARG[,OPT]..." into spec:
 *   ram:SIZE  null:SIZE  file:PATH
 * options: size=SIZE bs=512|4096 pbs=SIZE ro thin removable sync direct aio=uring|sync
 * crypt crypt-key=PATH product=STR serial=STR
 * SIZE is a decimal number with an optional K, M, G or T suffix (powers of
 * 1024). Returns 0, or -EINVAL with a one-line reason in err.
 */
int tgt_lu_spec_parse(const char *str, struct tgt_lu_spec *spec, char *err, size_t errlen);

/* Parse a size with K/M/G/T suffix; 0 or -EINVAL/-ERANGE. */
int tgt_parse_size(const char *s, uint64_t *out);

/* Unit attention conditions, in the order they are reported. */
enum tgt_ua {
	TGT_UA_POWER_ON = 1u << 0,                 /* 29/00 first access after power on */
	TGT_UA_LU_RESET = 1u << 1,                 /* 29/00 after LOGICAL UNIT RESET */
	TGT_UA_TARGET_RESET = 1u << 2,             /* 29/03 */
	TGT_UA_NEXUS_LOSS = 1u << 3,               /* 29/07 */
	TGT_UA_MODE_CHANGED = 1u << 4,             /* 2A/01 another nexus changed a mode page */
	TGT_UA_CAPACITY_CHANGED = 1u << 5,         /* 2A/09 */
	TGT_UA_RESERVATIONS_RELEASED = 1u << 6,    /* 2A/04 */
	TGT_UA_MEDIUM_CHANGED = 1u << 7,           /* 28/00 medium loaded */
	TGT_UA_LUNS_CHANGED = 1u << 8,             /* 3F/0E */
	TGT_UA_RESERVATIONS_PREEMPTED = 1u << 9,   /* 2A/03 */
	TGT_UA_REGISTRATIONS_PREEMPTED = 1u << 10, /* 2A/05 */
};
#define TGT_UA_ANY_RESET                                                                           \
	(TGT_UA_POWER_ON | TGT_UA_LU_RESET | TGT_UA_TARGET_RESET | TGT_UA_NEXUS_LOSS)

struct tgt_lu_nexus {
	_Atomic uint64_t key; /* nexus id + 1; 0 free */
	_Atomic uint32_t ua;  /* enum tgt_ua bits pending */
	bool prevent;         /* PREVENT ALLOW MEDIUM REMOVAL, under lock */
};

/* Persistent reservations (SPC-5 5.14): registrations per I_T nexus. */
#define TGT_PR_MAX_REGS 64
#define TGT_PR_TID_MAX  256

struct tgt_pr_reg {
	uint64_t key;             /* reservation key, never 0 */
	uint64_t nexus;           /* last nexus id seen, for unit attentions */
	uint16_t rel_port;        /* relative target port identifier */
	char tid[TGT_PR_TID_MAX]; /* initiator port name, "<iqn>,i,0x<isid>" */
};

struct tgt_pr {
	uint32_t generation;
	unsigned nregs;
	struct tgt_pr_reg regs[TGT_PR_MAX_REGS];
	bool reserved;
	uint8_t type; /* PR_TYPE_* */
	int holder;   /* index in regs; -1 for the all-registrants types */
	bool aptpl;   /* APTPL: kept in tgt_lu.pr_path across restarts */
};

/*
 * The status of an EXTENDED COPY whose LIST ID USAGE asked the copy manager
 * to hold it, for RECEIVE COPY RESULTS (SPC-4 6.18.3). Under lu->lock.
 */
struct tgt_xcopy_held {
	uint64_t nexus; /* nexus id + 1; 0: slot free */
	uint8_t list_id;
	uint8_t status; /* COPY MANAGER STATUS: 1 good, 2 with errors */
	uint16_t segs;  /* segments processed */
	uint64_t bytes; /* bytes copied */
	uint32_t seq;   /* age, for reuse of the oldest slot */
};

struct tgt_lu {
	uint64_t lun;
	struct tgt_bs bs;
	uint32_t block_size;
	unsigned block_shift;
	/* LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (SBC-4 5.20.2), from pbs=. */
	unsigned lbppbe;
	uint64_t nblocks;
	bool readonly;
	bool thin;
	bool removable;
	/* Data encrypted at rest (bs_crypt): SANITIZE CRYPTO ERASE offered. */
	bool crypt;
	char vendor[9];
	char product[TGT_LU_PRODUCT_MAX + 1];
	char revision[5];
	char serial[TGT_LU_SERIAL_MAX + 1];
	/* NAA 3 (locally assigned, SPC-5 7.7.6.6.2) from target name + LUN. */
	uint8_t naa[8];

	pthread_mutex_t lock;
	/* Caching mode page WCE, current value; its truth is checked at write. */
	_Atomic bool wce;
	/* Control mode page D_SENSE: descriptor-format sense. */
	_Atomic bool d_sense;
	/* Control mode page SWP: software write protect, set by MODE SELECT. */
	_Atomic bool swp;
	_Atomic bool medium_present;
	/* Taken offline by the administrator (xtgtadm lun offline): every
	 * command but INQUIRY, REPORT LUNS and REQUEST SENSE gets NOT READY,
	 * LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED (SPC-5 4.5.2.3,
	 * ASC/ASCQ 04h/03h). */
	_Atomic bool offline;
	/* PREVENT ALLOW MEDIUM REMOVAL count of nexuses preventing. */
	unsigned prevent;
	/* SPC-2 RESERVE(6/10): holder nexus + 1, 0 when none. */
	_Atomic uint64_t reserved_by;
	/* Serialises COMPARE AND WRITE against itself (SBC-4 5.3). */
	pthread_mutex_t caw_lock;
	/* Persistent reservation state, under lock; pr_active mirrors
	 * pr.reserved so commands check it without the lock. */
	struct tgt_pr pr;
	/* Where APTPL keeps it: "<file>.pr" beside a regular file, else "". */
	char pr_path[TGT_LU_PATH_MAX + 4];
	_Atomic bool pr_active;
	/* Pending unit attentions per nexus; insert under lock, look up lock-free. */
	struct tgt_lu_nexus nexus[TGT_LU_NEXUS_SLOTS];
	/*
	 * SANITIZE runs on its own thread (SBC-4 4.11): while sanitizing is
	 * set every command but INQUIRY, REPORT LUNS and REQUEST SENSE gets
	 * NOT READY, SANITIZE IN PROGRESS with sanitize_progress (0..65535).
	 * Resets do not stop it; tgt_lu_close() sets sanitize_stop and joins.
	 */
	_Atomic bool sanitizing;
	_Atomic uint32_t sanitize_progress;
	_Atomic bool sanitize_stop;
	/* The last sanitize failed: medium access gets MEDIUM ERROR, SANITIZE
	 * COMMAND FAILED until a sanitize succeeds or EXIT FAILURE MODE
	 * (SBC-4 4.11.3). */
	_Atomic bool sanitize_failed;
	/* The SANITIZE command waiting for the end (no IMMED), and a request
	 * to end that command early: ABORT TASK ends the command, never the
	 * sanitize (SBC-4 4.11.2). Only the sanitize thread completes it. */
	_Atomic(void *) sanitize_task;
	_Atomic bool sanitize_abort;
	bool sanitize_th_live; /* under lock */
	pthread_t sanitize_th;
	/* Held EXTENDED COPY results, under lock. */
	struct tgt_xcopy_held xcopy_held[TGT_XCOPY_HELD];
	uint32_t xcopy_seq;
	/* The target this LU belongs to: EXTENDED COPY reaches only LUs of
	 * the same target. */
	char target_name[TGT_LU_TARGET_NAME_MAX + 1];
	/* Registry of open LUs (lu.c), for the copy manager's lookup by
	 * designator; users counts the lookups not yet put back. */
	struct tgt_lu *reg_next;
	_Atomic unsigned users;
};

/*
 * Open the store the spec names and build the profile. target_name and lun
 * derive the serial number and NAA designator stably across restarts.
 * Returns 0 or -errno with a reason in err.
 */
int tgt_lu_open(struct tgt_lu **out, const struct tgt_lu_spec *spec, const char *target_name,
                uint64_t lun, char *err, size_t errlen);
void tgt_lu_close(struct tgt_lu *lu);

/*
 * LOGICAL UNIT RESET (SAM-5 6.6): every nexus gets the reset UA, the SPC-2
 * reservation and medium-removal prevention are cleared. ua is
 * TGT_UA_LU_RESET or TGT_UA_TARGET_RESET.
 */
void tgt_lu_reset(struct tgt_lu *lu, enum tgt_ua ua);

/* Raise ua for every known nexus except `except` (UINT64_MAX: all). */
void tgt_lu_ua_raise(struct tgt_lu *lu, enum tgt_ua ua, uint64_t except);

/*
 * The I_T nexus ended (session closed): its reservation is released and its
 * slot freed. No command of that nexus may be in flight on this LU.
 */
void tgt_lu_nexus_gone(struct tgt_lu *lu, uint64_t nexus);

/*
 * For the SCSI layer: take the highest-priority pending UA of nexus (the
 * first command of an unknown nexus finds POWER ON). Returns the 16-bit
 * ASC/ASCQ, or 0 when none is pending. consume=false only peeks.
 */
uint16_t tgt_lu_ua_take(struct tgt_lu *lu, uint64_t nexus, bool consume);

/*
 * PREVENT ALLOW MEDIUM REMOVAL for one nexus (SBC-4 5.13): removal stays
 * prevented while any nexus prevents it; I_T nexus loss and reset clear.
 */
void tgt_lu_set_prevent(struct tgt_lu *lu, uint64_t nexus, bool prevent);

/*
 * The open LU of target target_name whose NAA designator (VPD 0x83) is
 * naa, with a reference taken: the copy manager (EXTENDED COPY) reaches
 * its CSCDs this way. NULL when none. tgt_lu_close() waits for every
 * reference to be put back.
 */
struct tgt_lu *tgt_lu_get_by_naa(const char *target_name, const uint8_t naa[8]);
void tgt_lu_put(struct tgt_lu *lu);

/*
 * Change the capacity to new_size bytes (a multiple of the block size, not
 * below the current size: see man/xtgtadm.8, lun resize) and raise CAPACITY
 * DATA HAS CHANGED for every nexus. spec is the LUN's parsed spec (a file
 * store is grown through its path). The caller keeps every thread that
 * could touch the store out while this runs (target/admin.c parks the
 * reactor threads; no SANITIZE may run). Returns 0 or -errno with a reason
 * in err.
 */
int tgt_lu_resize(struct tgt_lu *lu, const struct tgt_lu_spec *spec, uint64_t new_size, char *err,
                  size_t errlen);

/*
 * The part of a resize that may run with I/O going on, before the threads
 * are parked: a file store's file is grown (ftruncate up; a block device
 * is refused). Returns 0 or -errno with a reason in err.
 */
int tgt_lu_resize_prepare(struct tgt_lu *lu, const struct tgt_lu_spec *spec, uint64_t new_size,
                          char *err, size_t errlen);

/* Raise ua for one nexus only (a preempted registrant). */
void tgt_lu_ua_raise_one(struct tgt_lu *lu, enum tgt_ua ua, uint64_t nexus);

/*
 * pr.c: the persistent reservation state an APTPL registration left beside
 * data_path (a regular file), read into lu->pr at open. 0 when there is
 * none; -errno with a reason in err when it cannot be read or is not ours.
 */
int tgt_lu_pr_load(struct tgt_lu *lu, const char *data_path, char *err, size_t errlen);

#endif
