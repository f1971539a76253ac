/*
 * SCSI dispatch: the command table, the checks every command passes
 * through (SAM-5 5.14 unit attention, SPC-2 reservation, medium, write
 * protection, residuals), and the helpers handlers finish a task with.
 */
#include <errno.h>
#include <string.h>

#include "lib/cdb.h"
#include "lib/sense.h"
#include "target/scsi.h"

/* Control byte (SAM-5 5.2): NACA and the obsolete LINK are not supported. */
#define CDB_CONTROL_NACA 0x04
#define CDB_CONTROL_LINK 0x01

static uint32_t lu_block_size(const struct tgt_lu *lu)
{
	return lu ? lu->block_size : 512;
}

static uint64_t xfer_rw(const struct tgt_lu *lu, const uint8_t *cdb)
{
	struct cdb_rw rw;

	if (cdb_decode_rw(cdb, 16, &rw))
		return 0;
	return (uint64_t)rw.len * lu_block_size(lu);
}

/* VERIFY / WRITE AND VERIFY: BYTCHK (SBC-4 5.33 table 103) says what comes. */
static uint64_t xfer_verify(const struct tgt_lu *lu, const uint8_t *cdb)
{
	switch ((cdb[1] >> 1) & 3) {
	case 1:
		return xfer_rw(lu, cdb);
	case 3:
		return lu_block_size(lu);
	default:
		return 0;
	}
}

static uint64_t xfer_write_same(const struct tgt_lu *lu, const uint8_t *cdb)
{
	/* NDOB (SBC-4 5.50, WRITE SAME(16) only): no data-out buffer. */
	if (cdb[0] == WRITE_SAME_16 && (cdb[1] & 0x01))
		return 0;
	return lu_block_size(lu);
}

static uint64_t xfer_caw(const struct tgt_lu *lu, const uint8_t *cdb)
{
	return 2ull * cdb[13] * lu_block_size(lu);
}

/* WRITE ATOMIC(16), SBC-4 5.48: a 16-bit TRANSFER LENGTH at byte 12. */
static uint64_t xfer_atomic(const struct tgt_lu *lu, const uint8_t *cdb)
{
	return (uint64_t)get_be16(cdb + 12) * lu_block_size(lu);
}

static uint64_t xfer_u8_at4(const struct tgt_lu *lu, const uint8_t *cdb)
{
	return cdb[4];
}

static uint64_t xfer_be16_at3(const struct tgt_lu *lu, const uint8_t *cdb)
{
	return get_be16(cdb + 3);
}

static uint64_t xfer_be16_at7(const struct tgt_lu *lu, const uint8_t *cdb)
{
	return get_be16(cdb + 7);
}

static uint64_t xfer_be32_at5(const struct tgt_lu *lu, const uint8_t *cdb)
{
	return get_be32(cdb + 5);
}

static uint64_t xfer_be32_at6(const struct tgt_lu *lu, const uint8_t *cdb)
{
	return get_be32(cdb + 6);
}

static uint64_t xfer_be32_at10(const struct tgt_lu *lu, const uint8_t *cdb)
{
	return get_be32(cdb + 10);
}

static uint64_t xfer_8(const struct tgt_lu *lu, const uint8_t *cdb)
{
	return 8;
}

/* RESERVE(10)/RELEASE(10) third-party parameter list: not supported, 0. */

#define U6(op, b1, b2, b3, b4)                                                                     \
	{                                                                                          \
		op, b1, b2, b3, b4, 0x07                                                           \
	}
#define U10(op, b1, b2, b3, b4, b5, b6, b7, b8)                                                    \
	{                                                                                          \
		op, b1, b2, b3, b4, b5, b6, b7, b8, 0x07                                           \
	}
#define U12(op, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10)                                           \
	{                                                                                          \
		op, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, 0x07                                  \
	}
#define U16(op, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14)                       \
	{                                                                                          \
		op, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, 0x07              \
	}

#define RW_FLAGS (SCSI_F_MEDIUM)
/* Changes the medium or the LU: refused by the write-exclusive types. */
#define WR_FLAGS (SCSI_F_WRITE | SCSI_F_PR_WRITE)

const struct scsi_cmd scsi_cmds[256] = {
        [TEST_UNIT_READY] = {"TEST UNIT READY", spc_test_unit_ready, NULL,
                             SCSI_F_MEDIUM | SCSI_F_PR_OK, 6, U6(TEST_UNIT_READY, 0, 0, 0, 0)},
        [REQUEST_SENSE] = {"REQUEST SENSE", spc_request_sense, xfer_u8_at4,
                           SCSI_F_IN | SCSI_F_NO_UA | SCSI_F_RESV_OK | SCSI_F_NO_LU | SCSI_F_PR_OK,
                           6, U6(REQUEST_SENSE, 0x01, 0, 0, 0xff)},
        [READ_6] = {"READ(6)", sbc_read, xfer_rw, SCSI_F_IN | RW_FLAGS, 6,
                    U6(READ_6, 0x1f, 0xff, 0xff, 0xff)},
        [WRITE_6] = {"WRITE(6)", sbc_write, xfer_rw,
                     SCSI_F_OUT | SCSI_F_PARTIAL_OUT | RW_FLAGS | WR_FLAGS | SCSI_F_WP_LATE, 6,
                     U6(WRITE_6, 0x1f, 0xff, 0xff, 0xff)},
        [INQUIRY] = {"INQUIRY", spc_inquiry, xfer_be16_at3,
                     SCSI_F_IN | SCSI_F_NO_UA | SCSI_F_RESV_OK | SCSI_F_NO_LU | SCSI_F_PR_OK, 6,
                     U6(INQUIRY, 0x01, 0xff, 0xff, 0xff)},
        [MODE_SELECT_6] = {"MODE SELECT(6)", spc_mode_select, xfer_u8_at4,
                           SCSI_F_OUT | SCSI_F_PR_WRITE, 6, U6(MODE_SELECT_6, 0x11, 0, 0, 0xff)},
        [RESERVE_6] = {"RESERVE(6)", spc_reserve, NULL, 0, 6, U6(RESERVE_6, 0, 0, 0, 0)},
        [RELEASE_6] = {"RELEASE(6)", spc_release, NULL, SCSI_F_RESV_OK, 6,
                       U6(RELEASE_6, 0, 0, 0, 0)},
        [MODE_SENSE_6] = {"MODE SENSE(6)", spc_mode_sense, xfer_u8_at4, SCSI_F_IN, 6,
                          U6(MODE_SENSE_6, 0x08, 0xff, 0xff, 0xff)},
        [START_STOP_UNIT] = {"START STOP UNIT", sbc_start_stop_unit, NULL, SCSI_F_PR_WRITE, 6,
                             U6(START_STOP_UNIT, 0x01, 0, 0x0f, 0xf7)},
        [SEND_DIAGNOSTIC] = {"SEND DIAGNOSTIC", spc_send_diagnostic, NULL, 0, 6,
                             U6(SEND_DIAGNOSTIC, 0xf7, 0, 0, 0)},
        [PREVENT_ALLOW_MEDIUM_REMOVAL] = {"PREVENT ALLOW MEDIUM REMOVAL", sbc_prevent_allow, NULL,
                                          0, 6, U6(PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 0x03)},
        [READ_CAPACITY_10] = {"READ CAPACITY(10)", sbc_read_capacity10, xfer_8,
                              SCSI_F_IN | SCSI_F_MEDIUM | SCSI_F_PR_OK, 10,
                              U10(READ_CAPACITY_10, 0, 0, 0, 0, 0, 0, 0, 0)},
        [READ_10] = {"READ(10)", sbc_read, xfer_rw, SCSI_F_IN | RW_FLAGS, 10,
                     U10(READ_10, 0x18, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff)},
        [WRITE_10] = {"WRITE(10)", sbc_write, xfer_rw,
                      SCSI_F_OUT | SCSI_F_PARTIAL_OUT | RW_FLAGS | WR_FLAGS | SCSI_F_WP_LATE, 10,
                      U10(WRITE_10, 0x18, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff)},
        [WRITE_AND_VERIFY_10] =
                {"WRITE AND VERIFY(10)", sbc_write_verify, xfer_rw,
                 SCSI_F_OUT | SCSI_F_PARTIAL_OUT | RW_FLAGS | WR_FLAGS | SCSI_F_WP_LATE, 10,
                 U10(WRITE_AND_VERIFY_10, 0x12, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff)},
        [VERIFY_10] = {"VERIFY(10)", sbc_verify, xfer_verify, SCSI_F_OUT | RW_FLAGS, 10,
                       U10(VERIFY_10, 0x16, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff)},
        [PRE_FETCH_10] = {"PRE-FETCH(10)", sbc_pre_fetch, NULL, RW_FLAGS, 10,
                          U10(PRE_FETCH_10, 0x02, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff)},
        [SYNCHRONIZE_CACHE_10] = {"SYNCHRONIZE CACHE(10)", sbc_sync_cache, NULL,
                                  RW_FLAGS | SCSI_F_PR_WRITE, 10,
                                  U10(SYNCHRONIZE_CACHE_10, 0x02, 0xff, 0xff, 0xff, 0xff, 0, 0xff,
                                      0xff)},
        [WRITE_SAME_10] = {"WRITE SAME(10)", sbc_write_same, xfer_write_same,
                           SCSI_F_OUT | SCSI_F_EXACT_OUT | RW_FLAGS | WR_FLAGS | SCSI_F_WP_LATE |
                                   SCSI_F_OUT_LATE,
                           10, U10(WRITE_SAME_10, 0x18, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff)},
        [UNMAP] = {"UNMAP", sbc_unmap, xfer_be16_at7, SCSI_F_OUT | RW_FLAGS | WR_FLAGS, 10,
                   U10(UNMAP, 0, 0, 0, 0, 0, 0, 0xff, 0xff)},
        [MODE_SELECT_10] = {"MODE SELECT(10)", spc_mode_select, xfer_be16_at7,
                            SCSI_F_OUT | SCSI_F_PR_WRITE, 10,
                            U10(MODE_SELECT_10, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff)},
        [RESERVE_10] = {"RESERVE(10)", spc_reserve, NULL, 0, 10,
                        U10(RESERVE_10, 0, 0, 0, 0, 0, 0, 0, 0)},
        [RELEASE_10] = {"RELEASE(10)", spc_release, NULL, SCSI_F_RESV_OK, 10,
                        U10(RELEASE_10, 0, 0, 0, 0, 0, 0, 0, 0)},
        [MODE_SENSE_10] = {"MODE SENSE(10)", spc_mode_sense, xfer_be16_at7, SCSI_F_IN, 10,
                           U10(MODE_SENSE_10, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff)},
        [PERSISTENT_RESERVE_IN] = {"PERSISTENT RESERVE IN", pr_in, xfer_be16_at7,
                                   SCSI_F_IN | SCSI_F_PR_OK, 10,
                                   U10(PERSISTENT_RESERVE_IN, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff)},
        [PERSISTENT_RESERVE_OUT] = {"PERSISTENT RESERVE OUT", pr_out, xfer_be32_at5,
                                    SCSI_F_OUT | SCSI_F_PR_OK, 10,
                                    U10(PERSISTENT_RESERVE_OUT, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff,
                                        0xff)},
        [READ_16] = {"READ(16)", sbc_read, xfer_rw, SCSI_F_IN | RW_FLAGS, 16,
                     U16(READ_16, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                         0xff, 0xff, 0)},
        [COMPARE_AND_WRITE] = {"COMPARE AND WRITE", sbc_compare_and_write, xfer_caw,
                               SCSI_F_OUT | SCSI_F_EXACT_OUT | RW_FLAGS | WR_FLAGS, 16,
                               U16(COMPARE_AND_WRITE, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0, 0, 0, 0xff, 0)},
        [WRITE_16] = {"WRITE(16)", sbc_write, xfer_rw,
                      SCSI_F_OUT | SCSI_F_PARTIAL_OUT | RW_FLAGS | WR_FLAGS | SCSI_F_WP_LATE, 16,
                      U16(WRITE_16, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0)},
        [WRITE_AND_VERIFY_16] = {"WRITE AND VERIFY(16)", sbc_write_verify, xfer_rw,
                                 SCSI_F_OUT | SCSI_F_PARTIAL_OUT | RW_FLAGS | WR_FLAGS |
                                         SCSI_F_WP_LATE,
                                 16,
                                 U16(WRITE_AND_VERIFY_16, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0)},
        [VERIFY_16] = {"VERIFY(16)", sbc_verify, xfer_verify, SCSI_F_OUT | RW_FLAGS, 16,
                       U16(VERIFY_16, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                           0xff, 0xff, 0xff, 0)},
        [PRE_FETCH_16] = {"PRE-FETCH(16)", sbc_pre_fetch, NULL, RW_FLAGS, 16,
                          U16(PRE_FETCH_16, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0)},
        [SYNCHRONIZE_CACHE_16] = {"SYNCHRONIZE CACHE(16)", sbc_sync_cache, NULL,
                                  RW_FLAGS | SCSI_F_PR_WRITE, 16,
                                  U16(SYNCHRONIZE_CACHE_16, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0)},
        [WRITE_SAME_16] = {"WRITE SAME(16)", sbc_write_same, xfer_write_same,
                           SCSI_F_OUT | SCSI_F_EXACT_OUT | RW_FLAGS | WR_FLAGS | SCSI_F_WP_LATE |
                                   SCSI_F_OUT_LATE,
                           16,
                           U16(WRITE_SAME_16, 0x19, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0)},
        [WRITE_ATOMIC_16] = {"WRITE ATOMIC(16)", sbc_write_atomic, xfer_atomic,
                             SCSI_F_OUT | SCSI_F_EXACT_OUT | RW_FLAGS | WR_FLAGS | SCSI_F_WP_LATE,
                             16,
                             U16(WRITE_ATOMIC_16, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                 0xff, 0, 0, 0xff, 0xff, 0)},
        [ORWRITE_16] = {"ORWRITE(16)", sbc_orwrite, xfer_rw,
                        SCSI_F_OUT | RW_FLAGS | WR_FLAGS | SCSI_F_WP_LATE, 16,
                        U16(ORWRITE_16, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0xff, 0)},
        [READ_DEFECT_DATA_10] = {"READ DEFECT DATA(10)", sbc_read_defect_data, xfer_be16_at7,
                                 SCSI_F_IN | SCSI_F_MEDIUM, 10,
                                 U10(READ_DEFECT_DATA_10, 0, 0x1f, 0, 0, 0, 0, 0xff, 0xff)},
        [READ_DEFECT_DATA_12] = {"READ DEFECT DATA(12)", sbc_read_defect_data, xfer_be32_at6,
                                 SCSI_F_IN | SCSI_F_MEDIUM, 12,
                                 U12(READ_DEFECT_DATA_12, 0x1f, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                                     0)},
        [SANITIZE] = {"SANITIZE", NULL, NULL, SCSI_F_SA, 10, {0}},
        [EXTENDED_COPY] = {"EXTENDED COPY", NULL, NULL, SCSI_F_SA, 16, {0}},
        [RECEIVE_COPY_RESULTS] = {"RECEIVE COPY RESULTS", NULL, NULL, SCSI_F_SA, 16, {0}},
        [SERVICE_ACTION_IN_16] = {"SERVICE ACTION IN(16)", NULL, NULL, SCSI_F_SA, 16, {0}},
        [REPORT_LUNS] = {"REPORT LUNS", spc_report_luns, xfer_be32_at6,
                         SCSI_F_IN | SCSI_F_NO_UA | SCSI_F_RESV_OK | SCSI_F_NO_LU | SCSI_F_PR_OK,
                         12, U12(REPORT_LUNS, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0)},
        [MAINTENANCE_IN] = {"MAINTENANCE IN", NULL, NULL, SCSI_F_SA, 12, {0}},
        [READ_12] = {"READ(12)", sbc_read, xfer_rw, SCSI_F_IN | RW_FLAGS, 12,
                     U12(READ_12, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0)},
        [WRITE_12] = {"WRITE(12)", sbc_write, xfer_rw,
                      SCSI_F_OUT | SCSI_F_PARTIAL_OUT | RW_FLAGS | WR_FLAGS | SCSI_F_WP_LATE, 12,
                      U12(WRITE_12, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0)},
        [WRITE_AND_VERIFY_12] =
                {"WRITE AND VERIFY(12)", sbc_write_verify, xfer_rw,
                 SCSI_F_OUT | SCSI_F_PARTIAL_OUT | RW_FLAGS | WR_FLAGS | SCSI_F_WP_LATE, 12,
                 U12(WRITE_AND_VERIFY_12, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0)},
        [VERIFY_12] = {"VERIFY(12)", sbc_verify, xfer_verify, SCSI_F_OUT | RW_FLAGS, 12,
                       U12(VERIFY_12, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0)},
};

const struct scsi_sa_cmd scsi_sa_cmds[] = {
        {SERVICE_ACTION_IN_16,
         SAI_READ_CAPACITY_16,
         {"READ CAPACITY(16)", sbc_read_capacity16, xfer_be32_at10,
          SCSI_F_IN | SCSI_F_MEDIUM | SCSI_F_PR_OK, 16,
          U16(SERVICE_ACTION_IN_16, SAI_READ_CAPACITY_16, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff,
              0xff, 0)}},
        {SERVICE_ACTION_IN_16,
         SAI_GET_LBA_STATUS,
         {"GET LBA STATUS", sbc_get_lba_status, xfer_be32_at10, SCSI_F_IN | SCSI_F_MEDIUM, 16,
          U16(SERVICE_ACTION_IN_16, SAI_GET_LBA_STATUS, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
              0xff, 0xff, 0xff, 0xff, 0xff, 0)}},
        {SANITIZE,
         SANITIZE_OVERWRITE,
         {"SANITIZE OVERWRITE", sbc_sanitize, xfer_be16_at7, SCSI_F_OUT | SCSI_F_MEDIUM | WR_FLAGS,
          10, U10(SANITIZE, 0xa0 | SANITIZE_OVERWRITE, 0, 0, 0, 0, 0, 0xff, 0xff)}},
        {SANITIZE,
         SANITIZE_BLOCK_ERASE,
         {"SANITIZE BLOCK ERASE", sbc_sanitize, NULL, SCSI_F_MEDIUM | WR_FLAGS, 10,
          U10(SANITIZE, 0xa0 | SANITIZE_BLOCK_ERASE, 0, 0, 0, 0, 0, 0xff, 0xff)}},
        {SANITIZE,
         SANITIZE_CRYPTO_ERASE,
         {"SANITIZE CRYPTO ERASE", sbc_sanitize, NULL, SCSI_F_MEDIUM | WR_FLAGS, 10,
          U10(SANITIZE, 0xa0 | SANITIZE_CRYPTO_ERASE, 0, 0, 0, 0, 0, 0xff, 0xff)}},
        {EXTENDED_COPY,
         0x00,
         {"EXTENDED COPY(LID1)", spc_extended_copy, xfer_be32_at10,
          SCSI_F_OUT | SCSI_F_MEDIUM | SCSI_F_PR_WRITE, 16,
          U16(EXTENDED_COPY, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0)}},
        {RECEIVE_COPY_RESULTS,
         0x00,
         {"RECEIVE COPY STATUS(LID1)", spc_receive_copy_results, xfer_be32_at10, SCSI_F_IN, 16,
          U16(RECEIVE_COPY_RESULTS, 0x00, 0xff, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0)}},
        {RECEIVE_COPY_RESULTS,
         0x03,
         {"RECEIVE COPY OPERATING PARAMETERS", spc_receive_copy_results, xfer_be32_at10, SCSI_F_IN,
          16, U16(RECEIVE_COPY_RESULTS, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0)}},
        {SANITIZE,
         SANITIZE_EXIT_FAILURE_MODE,
         {"SANITIZE EXIT FAILURE MODE", sbc_sanitize, xfer_be16_at7,
          SCSI_F_OUT | SCSI_F_MEDIUM | WR_FLAGS, 10,
          U10(SANITIZE, 0xa0 | SANITIZE_EXIT_FAILURE_MODE, 0, 0, 0, 0, 0, 0xff, 0xff)}},
        {MAINTENANCE_IN,
         MI_REPORT_TARGET_PORT_GROUPS,
         {"REPORT TARGET PORT GROUPS", spc_report_target_port_groups, xfer_be32_at6,
          SCSI_F_IN | SCSI_F_RESV_OK | SCSI_F_PR_OK, 12,
          U12(MAINTENANCE_IN, MI_REPORT_TARGET_PORT_GROUPS, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
              0)}},
        {MAINTENANCE_IN,
         MI_REPORT_SUPPORTED_OPERATION_CODES,
         {"REPORT SUPPORTED OPERATION CODES", spc_report_supported_opcodes, xfer_be32_at6,
          SCSI_F_IN | SCSI_F_RESV_OK | SCSI_F_PR_OK, 12,
          U12(MAINTENANCE_IN, MI_REPORT_SUPPORTED_OPERATION_CODES, 0x87, 0xff, 0xff, 0xff, 0xff,
              0xff, 0xff, 0xff, 0)}},
};
const size_t scsi_sa_cmds_count = sizeof(scsi_sa_cmds) / sizeof(scsi_sa_cmds[0]);

const struct scsi_cmd *scsi_cmd_lookup(const uint8_t *cdb, unsigned cdb_len)
{
	const struct scsi_cmd *c;

	if (cdb_len < 1)
		return NULL;
	c = &scsi_cmds[cdb[0]];
	if (!c->name)
		return NULL;
	if (!(c->flags & SCSI_F_SA))
		return c;
	if (cdb_len < 2)
		return NULL;
	/* The service action is the low five bits of byte 1 (SPC-5 4.2.5.2). */
	for (size_t i = 0; i < scsi_sa_cmds_count; i++)
		if (scsi_sa_cmds[i].opcode == cdb[0] && scsi_sa_cmds[i].sa == (cdb[1] & 0x1f))
			return &scsi_sa_cmds[i].cmd;
	return NULL;
}

bool scsi_cmd_available(const struct tgt_lu *lu, const struct scsi_cmd *c)
{
	/* Deallocation is offered where the profile is thin (SBC-4 4.7.3). */
	if (c->exec == sbc_unmap)
		return lu && lu->thin;
	if (c->exec == sbc_sanitize && c->usage[1] == (0xa0 | SANITIZE_BLOCK_ERASE))
		return lu && lu->thin;
	if (c->exec == sbc_sanitize && c->usage[1] == (0xa0 | SANITIZE_CRYPTO_ERASE))
		return lu && lu->crypt;
	return true;
}

const char *scsi_opcode_name(uint8_t opcode)
{
	return scsi_cmds[opcode].name;
}

uint64_t scsi_cdb_xfer_len(const struct tgt_lu *lu, const uint8_t *cdb, unsigned cdb_len,
                           enum scsi_dir *dir)
{
	const struct scsi_cmd *c = scsi_cmd_lookup(cdb, cdb_len);

	*dir = SCSI_DIR_NONE;
	if (!c || cdb_len < c->cdb_len || !c->xfer)
		return 0;
	if (c->flags & SCSI_F_IN)
		*dir = SCSI_DIR_IN;
	else if (c->flags & SCSI_F_OUT)
		*dir = SCSI_DIR_OUT;
	return c->xfer(lu, cdb);
}

static void task_sense(struct scsi_task *t, const struct sense_info *si)
{
	bool desc = t->lu_ && atomic_load_explicit(&t->lu_->d_sense, memory_order_relaxed);
	ssize_t n = sense_build(t->sense, sizeof(t->sense), desc, si);

	t->status = SAM_STAT_CHECK_CONDITION;
	t->sense_len = n > 0 ? (uint8_t)n : 0;
	t->data_in_xfer = 0;
}

void scsi_task_good(struct scsi_task *t)
{
	t->status = SAM_STAT_GOOD;
	t->sense_len = 0;
}

int scsi_task_check(struct scsi_task *t, uint8_t key, uint16_t asc)
{
	struct sense_info si = sense_info_make(key, asc);

	task_sense(t, &si);
	return 0;
}

int scsi_task_bad_cdb(struct scsi_task *t, uint16_t byte, int bit)
{
	struct sense_info si = sense_info_make(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);

	sense_set_field_pointer(&si, true, byte, bit);
	task_sense(t, &si);
	return 0;
}

int scsi_task_bad_param(struct scsi_task *t, uint16_t byte, int bit)
{
	struct sense_info si =
	        sense_info_make(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAMETER_LIST);

	sense_set_field_pointer(&si, false, byte, bit);
	task_sense(t, &si);
	return 0;
}

int scsi_task_sanitizing(struct scsi_task *t)
{
	struct sense_info si = sense_info_make(SK_NOT_READY, ASC_LU_NOT_READY_SANITIZE_IN_PROGRESS);

	sense_set_progress(&si, (uint16_t)atomic_load(&t->lu_->sanitize_progress));
	task_sense(t, &si);
	return 0;
}

int scsi_task_check_info(struct scsi_task *t, uint8_t key, uint16_t asc, uint64_t info)
{
	struct sense_info si = sense_info_make(key, asc);

	si.info_valid = true;
	si.info = info;
	task_sense(t, &si);
	return 0;
}

int scsi_task_errno(struct scsi_task *t, int err, bool writing)
{
	switch (err) {
	case -ENOSPC:
	case -EDQUOT:
		/* SBC-4 4.7.3.7: thin pool exhausted. */
		return scsi_task_check(t, SK_DATA_PROTECT,
		                       ASC_SPACE_ALLOCATION_FAILED_WRITE_PROTECT);
	case -EROFS:
	case -EPERM:
		return scsi_task_check(t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	case -ENOMEM:
		t->status = SAM_STAT_TASK_SET_FULL;
		t->sense_len = 0;
		return 0;
	default:
		return scsi_task_check(t, SK_MEDIUM_ERROR,
		                       writing ? ASC_WRITE_ERROR : ASC_UNRECOVERED_READ_ERROR);
	}
}

int scsi_task_data(struct scsi_task *t, const void *buf, uint32_t len)
{
	uint32_t room = t->data_in ? t->data_in_len : 0;
	uint32_t n = len < room ? len : room;

	if (n)
		memcpy(t->data_in, buf, n);
	t->data_in_xfer = n;
	if (len < t->data_in_len) {
		t->resid = t->data_in_len - len;
		t->resid_flags = SCSI_RESID_UNDERFLOW;
	} else if (len > t->data_in_len) {
		t->resid = len - t->data_in_len;
		t->resid_flags = SCSI_RESID_OVERFLOW;
	}
	scsi_task_good(t);
	return 0;
}

void scsi_task_finish(struct scsi_task *t)
{
	if (t->done)
		t->done(t);
}

/* Checks of SAM-5 5.14 and SPC-5 4.5 that come before any command's own. */
static bool task_precheck(struct tgt_lu *lu, struct scsi_task *t, const struct scsi_cmd *c)
{
	uint8_t control = t->cdb[c->cdb_len - 1];
	uint64_t holder;
	uint16_t ua;

	if (control & (CDB_CONTROL_NACA | CDB_CONTROL_LINK)) {
		scsi_task_bad_cdb(t, (uint16_t)(c->cdb_len - 1),
		                  control & CDB_CONTROL_NACA ? 2 : 0);
		return false;
	}
	if (!(c->flags & SCSI_F_NO_UA)) {
		ua = tgt_lu_ua_take(lu, t->nexus, true);
		if (ua) {
			scsi_task_check(t, SK_UNIT_ATTENTION, ua);
			return false;
		}
	}
	holder = atomic_load_explicit(&lu->reserved_by, memory_order_acquire);
	if (holder && holder != t->nexus + 1 && !(c->flags & SCSI_F_RESV_OK)) {
		t->status = SAM_STAT_RESERVATION_CONFLICT;
		return false;
	}
	if (pr_conflict(lu, t, c->flags)) {
		t->status = SAM_STAT_RESERVATION_CONFLICT;
		return false;
	}
	/* SBC-4 4.11.2: while a sanitize runs, only the commands that need
	 * no medium state (INQUIRY, REPORT LUNS, REQUEST SENSE) are served. */
	if (atomic_load_explicit(&lu->sanitizing, memory_order_acquire) &&
	    !(c->flags & SCSI_F_NO_LU)) {
		scsi_task_sanitizing(t);
		return false;
	}
	/* Offline by the administrator (target/lu.h): SPC-5 4.5.2.3. */
	if (atomic_load_explicit(&lu->offline, memory_order_acquire) &&
	    !(c->flags & SCSI_F_NO_LU)) {
		scsi_task_check(t, SK_NOT_READY, ASC_LU_NOT_READY_MANUAL_INTERVENTION);
		return false;
	}
	/* SBC-4 4.11.3: after a failed sanitize only SANITIZE reaches the medium. */
	if ((c->flags & SCSI_F_MEDIUM) && t->cdb[0] != SANITIZE &&
	    atomic_load_explicit(&lu->sanitize_failed, memory_order_acquire)) {
		scsi_task_check(t, SK_MEDIUM_ERROR, SCSI_ASC_SANITIZE_COMMAND_FAILED);
		return false;
	}
	if ((c->flags & SCSI_F_MEDIUM) &&
	    !atomic_load_explicit(&lu->medium_present, memory_order_acquire)) {
		scsi_task_check(t, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
		return false;
	}
	/* A write whose handler decodes LBA, length and protection fields
	 * checks write protection after them (SCSI_F_WP_LATE), so an invalid
	 * CDB is an ILLEGAL REQUEST whatever the medium's state, as libiscsi's
	 * Write*.BeyondEol and WriteProtect expect. */
	if ((c->flags & SCSI_F_WRITE) && !(c->flags & SCSI_F_WP_LATE))
		return scsi_task_wp_ok(lu, t);
	return true;
}

bool scsi_task_out_ok(struct scsi_task *t)
{
	uint64_t need = t->over_ ? (uint64_t)UINT32_MAX + 1 : t->need_;
	uint32_t have = t->data_out ? t->data_out_len : 0;

	if (need > have) {
		scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_INFORMATION_UNIT);
		t->resid_flags = SCSI_RESID_OVERFLOW;
		t->resid = need - have > UINT32_MAX ? UINT32_MAX : (uint32_t)(need - have);
		return false;
	}
	/* SBC-4 5.3, 5.49: a fixed-size buffer of another size is a CDB error. */
	if (need < have && t->exact_) {
		scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
		t->resid_flags = SCSI_RESID_UNDERFLOW;
		t->resid = have - (uint32_t)need;
		return false;
	}
	if (need < t->data_out_len && !t->resid_flags) {
		t->resid_flags = SCSI_RESID_UNDERFLOW;
		t->resid = t->data_out_len - (uint32_t)need;
	}
	return true;
}

bool scsi_task_wp_ok(struct tgt_lu *lu, struct scsi_task *t)
{
	if (lu->readonly || atomic_load_explicit(&lu->swp, memory_order_relaxed)) {
		scsi_task_check(t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
		return false;
	}
	return true;
}

void scsi_task_exec(struct tgt_lu *lu, struct scsi_task *t)
{
	const struct scsi_cmd *c;

	t->status = SAM_STAT_GOOD;
	t->sense_len = 0;
	t->data_in_xfer = 0;
	t->resid = 0;
	t->resid_flags = 0;
	t->lu_ = lu;
	t->need_ = 0;
	t->exact_ = false;
	t->over_ = false;

	c = scsi_cmd_lookup(t->cdb, t->cdb_len);
	if (!lu && (!c || !(c->flags & SCSI_F_NO_LU))) {
		scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_LU_NOT_SUPPORTED);
		goto out;
	}
	if (!c || !c->exec) {
		/* A known opcode with an unknown service action: point at it. */
		if (t->cdb_len >= 1 && (scsi_cmds[t->cdb[0]].flags & SCSI_F_SA))
			scsi_task_bad_cdb(t, 1, 4);
		else
			scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		goto out;
	}
	if (t->cdb_len < c->cdb_len) {
		scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		goto out;
	}
	/* A command this profile does not offer (UNMAP, BLOCK ERASE off thin
	 * LUs) is refused as REPORT SUPPORTED OPERATION CODES says it is not
	 * supported, before write protection or reservations are looked at. */
	if (lu && !scsi_cmd_available(lu, c)) {
		/* An offered opcode's missing service action: the field is wrong. */
		if (scsi_cmds[t->cdb[0]].flags & SCSI_F_SA)
			scsi_task_bad_cdb(t, 1, 4);
		else
			scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		goto out;
	}
	if (lu && !task_precheck(lu, t, c))
		goto out;
	if (c->flags & SCSI_F_OUT) {
		uint64_t need = c->xfer ? c->xfer(lu, t->cdb) : 0;
		uint32_t have = t->data_out ? t->data_out_len : 0;

		/* RFC 7143 11.4.5.1 with FCP-4 9.4.2: a plain write takes what
		 * came (a); anything else is refused whole (b). */
		if (need > have && (c->flags & SCSI_F_PARTIAL_OUT)) {
			t->resid_flags = SCSI_RESID_OVERFLOW;
			t->resid = need - have > UINT32_MAX ? UINT32_MAX : (uint32_t)(need - have);
			need = have;
		}
		t->exact_ = (c->flags & SCSI_F_EXACT_OUT) != 0;
		if (need > UINT32_MAX) {
			/* Beyond any data-out buffer: refused below or in the handler. */
			t->need_ = UINT32_MAX;
			t->over_ = true;
		} else {
			t->need_ = (uint32_t)need;
		}
		if (!(c->flags & SCSI_F_OUT_LATE) && !scsi_task_out_ok(t))
			goto out;
	} else if (!(c->flags & SCSI_F_IN) && t->data_out_len) {
		t->resid_flags = SCSI_RESID_UNDERFLOW;
		t->resid = t->data_out_len;
	}
	if (c->exec(lu, t) == SCSI_ASYNC)
		return;
out:
	if (t->data_in_len && !t->data_in_xfer && !t->resid_flags) {
		/* Nothing of the expected data-in moved (RFC 7143 11.4.5.1). */
		t->resid = t->data_in_len;
		t->resid_flags = SCSI_RESID_UNDERFLOW;
	}
	scsi_task_finish(t);
}
