/*
 * CDB builders and the synchronous API, written on the asynchronous one:
 * submit, then run the loop until the command's callback has run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initiator/ini.h"
#include "lib/cdb.h"
#include "lib/lun.h"
#include "lib/scsi.h"
#include "lib/sense.h"

static void cdb_reset(struct xiscsi_cmd *cmd, uint8_t len, enum xiscsi_dir dir)
{
	memset(cmd->cdb, 0, sizeof(cmd->cdb));
	cmd->cdb_len = len;
	cmd->dir = dir;
}

/* SBC-4 5.16 READ(16) / 5.42 WRITE(16): byte 1 FUA bit, LBA 2..9, length 10..13. */
void xiscsi_cdb_read16(struct xiscsi_cmd *cmd, uint64_t lba, uint32_t blocks, bool fua)
{
	cdb_reset(cmd, 16, XISCSI_DIR_READ);
	cmd->cdb[0] = READ_16;
	cmd->cdb[1] = fua ? CDB_RW_FUA : 0;
	put_be64(cmd->cdb + 2, lba);
	put_be32(cmd->cdb + 10, blocks);
}

void xiscsi_cdb_write16(struct xiscsi_cmd *cmd, uint64_t lba, uint32_t blocks, bool fua)
{
	cdb_reset(cmd, 16, XISCSI_DIR_WRITE);
	cmd->cdb[0] = WRITE_16;
	cmd->cdb[1] = fua ? CDB_RW_FUA : 0;
	put_be64(cmd->cdb + 2, lba);
	put_be32(cmd->cdb + 10, blocks);
}

/* SPC-5 6.7.1: EVPD bit 0 of byte 1, page code byte 2, allocation length 3..4. */
void xiscsi_cdb_inquiry(struct xiscsi_cmd *cmd, bool evpd, uint8_t page, uint16_t alloc_len)
{
	cdb_reset(cmd, 6, XISCSI_DIR_READ);
	cmd->cdb[0] = INQUIRY;
	cmd->cdb[1] = evpd ? 1 : 0;
	cmd->cdb[2] = evpd ? page : 0;
	put_be16(cmd->cdb + 3, alloc_len);
}

/* SBC-4 5.20: SERVICE ACTION IN(16), READ CAPACITY(16), allocation length 10..13. */
void xiscsi_cdb_readcap16(struct xiscsi_cmd *cmd, uint32_t alloc_len)
{
	cdb_reset(cmd, 16, XISCSI_DIR_READ);
	cmd->cdb[0] = SERVICE_ACTION_IN_16;
	cmd->cdb[1] = SAI_READ_CAPACITY_16;
	put_be32(cmd->cdb + 10, alloc_len);
}

/* SPC-5 6.33: SELECT REPORT 0 (all LUNs), allocation length 6..9. */
void xiscsi_cdb_report_luns(struct xiscsi_cmd *cmd, uint32_t alloc_len)
{
	cdb_reset(cmd, 12, XISCSI_DIR_READ);
	cmd->cdb[0] = REPORT_LUNS;
	put_be32(cmd->cdb + 6, alloc_len);
}

/* SBC-4 5.29: SYNCHRONIZE CACHE(16); 0 blocks means to the end of the medium. */
void xiscsi_cdb_sync_cache16(struct xiscsi_cmd *cmd, uint64_t lba, uint32_t blocks)
{
	cdb_reset(cmd, 16, XISCSI_DIR_NONE);
	cmd->cdb[0] = SYNCHRONIZE_CACHE_16;
	put_be64(cmd->cdb + 2, lba);
	put_be32(cmd->cdb + 10, blocks);
}

void xiscsi_cdb_tur(struct xiscsi_cmd *cmd)
{
	cdb_reset(cmd, 6, XISCSI_DIR_NONE);
	cmd->cdb[0] = TEST_UNIT_READY;
}

static const char *status_str(uint8_t st)
{
	switch (st) {
	case SAM_STAT_GOOD:
		return "GOOD";
	case SAM_STAT_CHECK_CONDITION:
		return "CHECK CONDITION";
	case SAM_STAT_CONDITION_MET:
		return "CONDITION MET";
	case SAM_STAT_BUSY:
		return "BUSY";
	case SAM_STAT_RESERVATION_CONFLICT:
		return "RESERVATION CONFLICT";
	case SAM_STAT_TASK_SET_FULL:
		return "TASK SET FULL";
	case SAM_STAT_ACA_ACTIVE:
		return "ACA ACTIVE";
	case SAM_STAT_TASK_ABORTED:
		return "TASK ABORTED";
	default:
		return "unknown status";
	}
}

char *xiscsi_cmd_strerror(const struct xiscsi_cmd *cmd, char *buf, size_t len)
{
	if (cmd->result) {
		const char *what = strerror(-cmd->result);

		if (cmd->result == -ECONNRESET)
			what = "connection lost, outcome at the target unknown";
		else if (cmd->result == -ETIMEDOUT)
			what = "timed out reconnecting to the target";
		snprintf(buf, len, "%s", what);
	} else if (cmd->response != ISCSI_RSP_COMPLETED) {
		snprintf(buf, len, "target failure (iSCSI response 0x%02x)", cmd->response);
	} else if (cmd->status == SAM_STAT_CHECK_CONDITION && cmd->sense.len) {
		uint16_t asc = (uint16_t)(cmd->sense.asc << 8 | cmd->sense.ascq);
		const char *a = sense_asc_str(asc);

		snprintf(buf, len, "CHECK CONDITION: %s, %s (0x%02x/0x%02x)",
		         sense_key_str(cmd->sense.key), a ? a : "unknown additional sense",
		         cmd->sense.asc, cmd->sense.ascq);
	} else {
		snprintf(buf, len, "%s (0x%02x)", status_str(cmd->status), cmd->status);
	}
	return buf;
}

static void sync_done(struct xiscsi_cmd *cmd)
{
	*(bool *)cmd->priv = true;
}

static bool unit_attention(const struct xiscsi_cmd *cmd)
{
	return cmd->result == 0 && cmd->status == SAM_STAT_CHECK_CONDITION && cmd->sense.len &&
	       cmd->sense.key == SK_UNIT_ATTENTION;
}

int xiscsi_run_sync(struct xiscsi_session *s, struct xiscsi_cmd *cmd)
{
	int err;

	/*
	 * A UNIT ATTENTION reports an event (power on, reset, a new I_T nexus
	 * after each login, SAM-5 5.14) and the command was not executed:
	 * run it again, a few times at most.
	 */
	for (int tries = 0; tries < 4; tries++) {
		bool done = false;

		cmd->cb = sync_done;
		cmd->priv = &done;
		err = xiscsi_submit(s, cmd);
		if (err)
			return err;
		/* Bounded: every command ends, by a response or by the session failing. */
		while (!done) {
			err = xiscsi_loop_poll(s->loop, 256, 100);
			if (err < 0)
				return err;
		}
		if (!unit_attention(cmd))
			break;
	}
	if (cmd->result)
		return cmd->result;
	return xiscsi_cmd_ok(cmd) ? 0 : -EIO;
}

/* Run a command, copying its outcome to res when the caller wants it. */
static int run(struct xiscsi_session *s, struct xiscsi_cmd *cmd, struct xiscsi_cmd *res)
{
	int err = xiscsi_run_sync(s, cmd);

	if (res)
		*res = *cmd;
	return err;
}

int xiscsi_tur_sync(struct xiscsi_session *s, uint64_t lun, struct xiscsi_cmd *res)
{
	struct xiscsi_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.lun = lun;
	xiscsi_cdb_tur(&cmd);
	return run(s, &cmd, res);
}

int xiscsi_inquiry_sync(struct xiscsi_session *s, uint64_t lun, bool evpd, uint8_t page, void *buf,
                        uint16_t len, uint32_t *got, struct xiscsi_cmd *res)
{
	struct xiscsi_cmd cmd;
	int err;

	memset(&cmd, 0, sizeof(cmd));
	cmd.lun = lun;
	xiscsi_cdb_inquiry(&cmd, evpd, page, len);
	xiscsi_cmd_set_buf(&cmd, buf, len);
	err = run(s, &cmd, res);
	if (got)
		*got = cmd.data_len;
	return err;
}

int xiscsi_readcap16_sync(struct xiscsi_session *s, uint64_t lun, struct xiscsi_capacity *cap,
                          struct xiscsi_cmd *res)
{
	struct xiscsi_cmd cmd;
	uint8_t buf[32];
	int err;

	memset(&cmd, 0, sizeof(cmd));
	memset(buf, 0, sizeof(buf));
	cmd.lun = lun;
	xiscsi_cdb_readcap16(&cmd, sizeof(buf));
	xiscsi_cmd_set_buf(&cmd, buf, sizeof(buf));
	err = run(s, &cmd, res);
	if (err)
		return err;
	if (cmd.data_len < 12)
		return -EPROTO;
	/* SBC-4 5.20.2: RETURNED LOGICAL BLOCK ADDRESS is the last LBA. */
	cap->blocks = get_be64(buf) + 1;
	cap->block_size = get_be32(buf + 8);
	cap->thin = cmd.data_len >= 15 && (buf[14] & 0x80);
	if (cap->block_size == 0)
		return -EPROTO;
	return 0;
}

static int rw_sync(struct xiscsi_session *s, bool write, uint64_t lun, uint64_t lba,
                   uint32_t blocks, uint32_t block_size, void *buf, struct xiscsi_cmd *res)
{
	struct xiscsi_cmd cmd;
	uint64_t bytes = (uint64_t)blocks * block_size;

	if (bytes > UINT32_MAX)
		return -EINVAL;
	memset(&cmd, 0, sizeof(cmd));
	cmd.lun = lun;
	if (write)
		xiscsi_cdb_write16(&cmd, lba, blocks, false);
	else
		xiscsi_cdb_read16(&cmd, lba, blocks, false);
	xiscsi_cmd_set_buf(&cmd, buf, (uint32_t)bytes);
	return run(s, &cmd, res);
}

int xiscsi_read_sync(struct xiscsi_session *s, uint64_t lun, uint64_t lba, uint32_t blocks,
                     uint32_t block_size, void *buf, struct xiscsi_cmd *res)
{
	return rw_sync(s, false, lun, lba, blocks, block_size, buf, res);
}

int xiscsi_write_sync(struct xiscsi_session *s, uint64_t lun, uint64_t lba, uint32_t blocks,
                      uint32_t block_size, const void *buf, struct xiscsi_cmd *res)
{
	/* The buffer is only read on a write; the iovec type has no const. */
	return rw_sync(s, true, lun, lba, blocks, block_size, (void *)(uintptr_t)buf, res);
}

int xiscsi_sync_cache_sync(struct xiscsi_session *s, uint64_t lun, struct xiscsi_cmd *res)
{
	struct xiscsi_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.lun = lun;
	xiscsi_cdb_sync_cache16(&cmd, 0, 0);
	return run(s, &cmd, res);
}

/* SAM-5 4.7: LUNs in a form lib/lun.c does not decode are reported raw. */
static uint64_t lun_value(const uint8_t *b)
{
	uint32_t v;

	return lun_decode(b, &v) == 0 ? v : get_be64(b);
}

int xiscsi_report_luns_sync(struct xiscsi_session *s, uint64_t **luns, unsigned *nluns,
                            struct xiscsi_cmd *res)
{
	uint32_t alloc = 16 + 8 * 64;
	uint8_t *buf = NULL;
	int err = 0;

	/* Two rounds at most: the first tells how much the full list needs. */
	for (int round = 0; round < 2; round++) {
		struct xiscsi_cmd cmd;
		uint32_t listlen, n;

		free(buf);
		buf = calloc(1, alloc);
		if (!buf)
			return -ENOMEM;
		memset(&cmd, 0, sizeof(cmd));
		xiscsi_cdb_report_luns(&cmd, alloc);
		xiscsi_cmd_set_buf(&cmd, buf, alloc);
		err = run(s, &cmd, res);
		if (err)
			goto out;
		if (cmd.data_len < 8) {
			err = -EPROTO;
			goto out;
		}
		listlen = get_be32(buf);
		if (listlen + 8 > alloc && round == 0 && listlen < (1u << 20)) {
			alloc = listlen + 8;
			continue;
		}
		n = (cmd.data_len - 8) / 8;
		if (n > listlen / 8)
			n = listlen / 8;
		*luns = calloc(n ? n : 1, sizeof(**luns));
		if (!*luns) {
			err = -ENOMEM;
			goto out;
		}
		for (uint32_t i = 0; i < n; i++)
			(*luns)[i] = lun_value(buf + 8 + 8 * i);
		*nluns = n;
		break;
	}
out:
	free(buf);
	return err;
}
