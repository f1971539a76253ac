/* Helpers shared by the SCSI layer tests: open a LU, run one CDB on it. */
#ifndef XISCSI_TESTS_SCSI_UTIL_H
#define XISCSI_TESTS_SCSI_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/cdb.h"
#include "lib/sense.h"
#include "target/scsi.h"

#define TEST_TARGET "iqn.2026-11.org.xiscsi:test"
#define NEXUS_A     1
#define NEXUS_B     2

static int test_done_calls;

static void test_task_done(struct scsi_task *t)
{
	test_done_calls++;
}

static const struct scsi_port test_port = {
        .target_name = TEST_TARGET,
        .tpgt = 1,
        .rel_port_id = 1,
};

/* Run cdb on lu from nexus; returns the status, done() must run exactly once. */
static inline uint8_t run_cdb(struct tgt_lu *lu, uint64_t nexus, const uint8_t *cdb,
                              unsigned cdb_len, const void *out, uint32_t out_len, void *in,
                              uint32_t in_len, struct scsi_task *t)
{
	uint8_t cdb16[16] = {0};

	memcpy(cdb16, cdb, cdb_len);
	memset(t, 0, sizeof(*t));
	t->port = &test_port;
	t->nexus = nexus;
	t->lun = lu ? lu->lun : 0;
	t->cdb = cdb16;
	/* iSCSI carries 16 CDB bytes whatever the command's own length. */
	t->cdb_len = 16;
	t->data_out = out;
	t->data_out_len = out_len;
	t->data_in = in;
	t->data_in_len = in_len;
	t->done = test_task_done;
	test_done_calls = 0;
	scsi_task_exec(lu, t);
	assert_int_equal(test_done_calls, 1);
	t->cdb = NULL;
	return t->status;
}

static inline struct sense_info task_sense(const struct scsi_task *t)
{
	struct sense_info si;

	assert_int_equal(t->status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(sense_parse(t->sense, t->sense_len, &si), 0);
	return si;
}

static inline void assert_sense(const struct scsi_task *t, uint8_t key, uint16_t asc)
{
	struct sense_info si = task_sense(t);

	assert_int_equal(si.key, key);
	assert_int_equal(si.asc, asc);
}

static inline struct tgt_lu *open_lu(const char *spec_str, uint64_t lun)
{
	struct tgt_lu_spec spec;
	struct tgt_lu *lu = NULL;
	char err[256] = "";

	if (tgt_lu_spec_parse(spec_str, &spec, err, sizeof(err)) != 0)
		fail_msg("spec %s: %s", spec_str, err);
	if (tgt_lu_open(&lu, &spec, TEST_TARGET, lun, err, sizeof(err)) != 0)
		fail_msg("open %s: %s", spec_str, err);
	return lu;
}

/* Open and clear the power-on unit attention of NEXUS_A. */
static inline struct tgt_lu *open_ready_lu(const char *spec_str)
{
	struct tgt_lu *lu = open_lu(spec_str, 0);
	uint8_t tur[6] = {TEST_UNIT_READY};
	struct scsi_task t;

	assert_int_equal(run_cdb(lu, NEXUS_A, tur, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_UNIT_ATTENTION, ASC_POWER_ON_RESET);
	assert_int_equal(run_cdb(lu, NEXUS_A, tur, 6, NULL, 0, NULL, 0, &t), SAM_STAT_GOOD);
	return lu;
}

static inline uint8_t do_rw16(struct tgt_lu *lu, uint8_t op, uint64_t lba, uint32_t blocks,
                              uint8_t flags, void *buf, uint32_t len, struct scsi_task *t)
{
	uint8_t cdb[16] = {op, flags};

	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, blocks);
	if (op == READ_16)
		return run_cdb(lu, NEXUS_A, cdb, 16, NULL, 0, buf, len, t);
	return run_cdb(lu, NEXUS_A, cdb, 16, buf, len, NULL, 0, t);
}

#endif
