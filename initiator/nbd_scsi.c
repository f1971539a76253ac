/*
 * The SCSI side of the NBD export (nbd_int.h): NBD requests as SCSI
 * commands on the session - split at the LUN's limits, retried when the
 * target is busy, their outcome mapped to NBD errors - and the probe that
 * reads those limits.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initiator/nbd_int.h"

/* SCSI bits we read or build (SPC-5, SBC-4). */
#define SCSI_CHECK_CONDITION     0x02
#define SCSI_BUSY                0x08
#define SCSI_TASK_SET_FULL       0x28
#define SENSE_ILLEGAL_REQUEST    0x05
#define SENSE_DATA_PROTECT       0x07
#define ASC_LBA_OUT_OF_RANGE     0x21
#define ASC_INVALID_OPCODE       0x20
#define ASC_INVALID_FIELD_IN_CDB 0x24
#define ASC_WRITE_PROTECTED      0x27
#define ASCQ_SPACE_ALLOC_FAILED  0x07
#define OP_MODE_SENSE_10         0x5a
#define OP_UNMAP                 0x42
#define OP_WRITE_SAME_16         0x93
#define WS_UNMAP                 0x08
#define VPD_SUPPORTED_PAGES      0x00
#define VPD_BLOCK_LIMITS         0xb0
#define VPD_LB_PROVISIONING      0xb2

/* SCSI outcome to an NBD error (SPC-5 4.4 sense keys, SBC-4 additional sense). */
static int scsi_to_nbd(const struct nbd_req *r, const struct xiscsi_cmd *cmd)
{
	const struct xiscsi_sense *s = &cmd->sense;

	if (cmd->result)
		return NBD_EIO;
	if (cmd->status != SCSI_CHECK_CONDITION || !s->response_code)
		return NBD_EIO;
	if (s->key == SENSE_DATA_PROTECT) {
		if (s->asc == ASC_WRITE_PROTECTED && s->ascq == ASCQ_SPACE_ALLOC_FAILED)
			return NBD_ENOSPC;
		return NBD_EPERM;
	}
	if (s->key == SENSE_ILLEGAL_REQUEST) {
		if (s->asc == ASC_LBA_OUT_OF_RANGE)
			return r->type == NBD_CMD_READ ? NBD_EINVAL : NBD_ENOSPC;
		if (s->asc == ASC_INVALID_OPCODE || s->asc == ASC_INVALID_FIELD_IN_CDB)
			return NBD_ENOTSUP;
		return NBD_EINVAL;
	}
	return NBD_EIO;
}

static void req_phase_done(struct nbd_req *r);

static void piece_done(struct xiscsi_cmd *cmd)
{
	struct nbd_piece *p = cmd->priv;
	struct nbd_req *r = p->r;
	struct xi_nbd_export *e = r->c->e;

	/* The target is out of room for now (SAM-5 5.3): try again, a few times. */
	if (!cmd->result && (cmd->status == SCSI_BUSY || cmd->status == SCSI_TASK_SET_FULL) &&
	    p->tries < BUSY_RETRIES && !e->lost) {
		p->tries++;
		if (xiscsi_submit(e->s, cmd) == 0)
			return;
	}
	if (!xiscsi_cmd_ok(cmd)) {
		int err = scsi_to_nbd(r, cmd);
		char buf[128];

		if (r->phase == PH_MAIN && r->type == NBD_CMD_WRITE_ZEROES && !cmd->result &&
		    err == NBD_ENOTSUP) {
			r->unsupported = true;
		} else {
			xiscsi_cmd_strerror(cmd, buf, sizeof(buf));
			xi_nbd_req_fail(r, err, buf);
		}
	}
	if (--r->pending)
		return;
	req_phase_done(r);
}

static int req_pieces(struct nbd_req *r, unsigned n)
{
	if (r->pieces && r->pieces != &r->one)
		free(r->pieces);
	if (n == 1) {
		r->pieces = &r->one;
	} else {
		r->pieces = calloc(n, sizeof(*r->pieces));
		if (!r->pieces) {
			r->pieces = NULL;
			return -ENOMEM;
		}
	}
	memset(r->pieces, 0, sizeof(*r->pieces) * n);
	r->npieces = n;
	for (unsigned i = 0; i < n; i++)
		r->pieces[i].r = r;
	return 0;
}

/* Submit every piece prepared; a refused submit fails the request. */
static void req_submit(struct nbd_req *r)
{
	struct xi_nbd_export *e = r->c->e;

	r->pending = 1; /* held until every piece is submitted */
	for (unsigned i = 0; i < r->npieces; i++) {
		struct xiscsi_cmd *cmd = &r->pieces[i].cmd;
		int err;

		cmd->lun = e->lun;
		cmd->cb = piece_done;
		cmd->priv = &r->pieces[i];
		err = xiscsi_submit(e->s, cmd);
		if (err) {
			xi_nbd_req_fail(r, NBD_EIO, "iSCSI session is not usable");
			break;
		}
		r->pending++;
	}
	if (--r->pending == 0)
		req_phase_done(r);
}

static unsigned div_up(uint64_t a, uint64_t b)
{
	return (unsigned)((a + b - 1) / b);
}

/* READ or WRITE split at the LUN's maximum transfer length. */
static int req_rw(struct nbd_req *r, bool write)
{
	struct xi_nbd_export *e = r->c->e;
	uint32_t bsz = e->bsz, chunk = e->max_xfer;
	unsigned n = div_up(r->len, chunk);

	if (req_pieces(r, n))
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		uint64_t off = (uint64_t)i * chunk;
		uint32_t len = r->len - off < chunk ? (uint32_t)(r->len - off) : chunk;
		struct xiscsi_cmd *cmd = &r->pieces[i].cmd;
		uint64_t lba = (r->off + off) / bsz;
		bool fua = write && (r->flags & NBD_CMD_FLAG_FUA);

		if (write)
			xiscsi_cdb_write16(cmd, lba, len / bsz, fua);
		else
			xiscsi_cdb_read16(cmd, lba, len / bsz, false);
		xiscsi_cmd_set_buf(cmd, r->buf + off, len);
	}
	return 0;
}

/* SBC-4 5.30 UNMAP, one block descriptor per command. */
static int req_unmap(struct nbd_req *r)
{
	struct xi_nbd_export *e = r->c->e;
	uint64_t lba = r->off / e->bsz, blocks = r->len / e->bsz;
	unsigned n = div_up(blocks, e->max_unmap);

	if (req_pieces(r, n))
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct nbd_piece *p = &r->pieces[i];
		uint64_t nb = blocks < e->max_unmap ? blocks : e->max_unmap;

		memset(p->cmd.cdb, 0, sizeof(p->cmd.cdb));
		p->cmd.cdb[0] = OP_UNMAP;
		put16(p->cmd.cdb + 7, sizeof(p->param));
		p->cmd.cdb_len = 10;
		p->cmd.dir = XISCSI_DIR_WRITE;
		put16(p->param, sizeof(p->param) - 2);
		put16(p->param + 2, 16);
		put64(p->param + 8, lba);
		put32(p->param + 16, (uint32_t)nb);
		xiscsi_cmd_set_buf(&p->cmd, p->param, sizeof(p->param));
		lba += nb;
		blocks -= nb;
	}
	return 0;
}

/* SBC-4 5.48 WRITE SAME(16) of one zero block, deallocating where allowed. */
static int req_write_same(struct nbd_req *r)
{
	struct xi_nbd_export *e = r->c->e;
	uint64_t lba = r->off / e->bsz, blocks = r->len / e->bsz;
	unsigned n = div_up(blocks, e->max_ws);
	/* Deallocate only where unmapped blocks read as zeros (LBPRZ). */
	bool unmap = !(r->flags & NBD_CMD_FLAG_NO_HOLE) && e->thin && e->lbpws && e->lbprz;

	if (req_pieces(r, n))
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct xiscsi_cmd *cmd = &r->pieces[i].cmd;
		uint64_t nb = blocks < e->max_ws ? blocks : e->max_ws;

		memset(cmd->cdb, 0, sizeof(cmd->cdb));
		cmd->cdb[0] = OP_WRITE_SAME_16;
		cmd->cdb[1] = unmap ? WS_UNMAP : 0;
		put64(cmd->cdb + 2, lba);
		put32(cmd->cdb + 10, (uint32_t)nb);
		cmd->cdb_len = 16;
		cmd->dir = XISCSI_DIR_WRITE;
		xiscsi_cmd_set_buf(cmd, e->zeros, e->bsz);
		lba += nb;
		blocks -= nb;
	}
	return 0;
}

/* WRITE_ZEROES without WRITE SAME: WRITE(16)s of a zero buffer. */
static int req_zero_writes(struct nbd_req *r)
{
	struct xi_nbd_export *e = r->c->e;
	uint32_t chunk = e->max_xfer < ZERO_BUF ? e->max_xfer : ZERO_BUF;
	uint64_t lba = r->off / e->bsz;
	uint32_t left = r->len;
	unsigned n = div_up(r->len, chunk);

	if (req_pieces(r, n))
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct xiscsi_cmd *cmd = &r->pieces[i].cmd;
		uint32_t len = left < chunk ? left : chunk;

		xiscsi_cdb_write16(cmd, lba, len / e->bsz, false);
		xiscsi_cmd_set_buf(cmd, e->zeros, len);
		lba += len / e->bsz;
		left -= len;
	}
	return 0;
}

static int req_sync(struct nbd_req *r)
{
	if (req_pieces(r, 1))
		return -ENOMEM;
	xiscsi_cdb_sync_cache16(&r->pieces[0].cmd, 0, 0);
	return 0;
}

static void req_phase_done(struct nbd_req *r)
{
	struct xi_nbd_export *e = r->c->e;
	bool fua = r->flags & NBD_CMD_FLAG_FUA;
	int err = 0;

	if (e->lost && !r->err && r->phase == PH_MAIN && (r->unsupported || fua))
		xi_nbd_req_fail(r, NBD_EIO, "iSCSI session lost");
	if (r->phase == PH_MAIN && r->unsupported && !r->err) {
		if (!e->no_write_same)
			xi_nbd_log("LUN %" PRIu64 ": WRITE SAME refused; WRITE_ZEROES writes zeros",
			           e->lun);
		e->no_write_same = true;
		r->unsupported = false;
		r->phase = PH_ZERO_WRITES;
		err = req_zero_writes(r);
		goto next;
	}
	if (!r->err && fua && r->phase != PH_SYNC &&
	    (r->type == NBD_CMD_WRITE_ZEROES || r->type == NBD_CMD_TRIM)) {
		/* WRITE SAME and UNMAP have no FUA bit: make it durable by a cache flush. */
		r->phase = PH_SYNC;
		err = req_sync(r);
		goto next;
	}
	xi_nbd_req_reply(r);
	return;
next:
	if (err) {
		xi_nbd_req_fail(r, NBD_ENOMEM, "out of memory");
		xi_nbd_req_reply(r);
		return;
	}
	req_submit(r);
}

void xi_nbd_req_start(struct nbd_req *r)
{
	struct xi_nbd_export *e = r->c->e;
	int err = 0;

	if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) && !r->admitted) {
		if (e->scsi_bytes && e->scsi_bytes + r->len > EXPORT_MAX_BYTES) {
			r->wnext = NULL;
			*e->waitt = r;
			e->waitt = &r->wnext;
			return;
		}
		r->admitted = true;
		e->scsi_bytes += r->len;
	}
	switch (r->type) {
	case NBD_CMD_READ:
		e->reads++;
		e->bytes_read += r->len;
		err = req_rw(r, false);
		break;
	case NBD_CMD_WRITE:
		e->writes++;
		e->bytes_written += r->len;
		err = req_rw(r, true);
		break;
	case NBD_CMD_FLUSH:
		e->flushes++;
		err = req_sync(r);
		break;
	case NBD_CMD_TRIM:
		e->trims++;
		if (r->len == 0) {
			xi_nbd_req_reply(r);
			return;
		}
		err = req_unmap(r);
		break;
	case NBD_CMD_WRITE_ZEROES:
		e->zeroes++;
		if (r->len == 0) {
			xi_nbd_req_reply(r);
			return;
		}
		if (e->no_write_same) {
			r->phase = PH_ZERO_WRITES;
			err = req_zero_writes(r);
		} else {
			err = req_write_same(r);
		}
		break;
	}
	if (err) {
		xi_nbd_req_fail(r, NBD_ENOMEM, "out of memory");
		xi_nbd_req_reply(r);
		return;
	}
	req_submit(r);
}

static void probe_next(struct xi_nbd_export *e);

static bool vpd_has(const struct xi_nbd_export *e, uint8_t page)
{
	for (uint32_t i = 0; i < e->vpd_count; i++)
		if (e->vpd_list[i] == page)
			return true;
	return false;
}

static void probe_done(struct xiscsi_cmd *cmd)
{
	struct xi_nbd_export *e = cmd->priv;
	const uint8_t *b = e->pbuf;
	uint32_t got = cmd->data_len;
	bool ok = xiscsi_cmd_ok(cmd);

	switch (e->probe_step) {
	case 0: { /* SBC-4 5.20.2 READ CAPACITY(16) data */
		uint64_t last;
		uint32_t bsz;
		char buf[128];

		if (!ok || got < 32) {
			xi_nbd_log("LUN %" PRIu64 ": READ CAPACITY(16): %s", e->lun,
			           ok ? "short data" : xiscsi_cmd_strerror(cmd, buf, sizeof(buf)));
			xi_nbd_probe_finish(e, false);
			return;
		}
		last = get64(b);
		bsz = get32(b + 8);
		if (bsz < 512 || bsz > 65536 || (bsz & (bsz - 1)) || last == UINT64_MAX ||
		    last + 1 > UINT64_MAX / bsz) {
			xi_nbd_log("LUN %" PRIu64
			           ": READ CAPACITY(16) says block size %u, last LBA "
			           "%" PRIu64 ": not served",
			           e->lun, bsz, last);
			xi_nbd_probe_finish(e, false);
			return;
		}
		e->bsz = bsz;
		e->size = (last + 1) * bsz;
		e->thin = b[14] & 0x80; /* LBPME */
		break;
	}
	case 1: /* SPC-5 7.7.15 supported VPD pages */
		e->vpd_count = 0;
		if (ok && got >= 4) {
			uint32_t n = get16(b + 2);

			if (n > got - 4)
				n = got - 4;
			memcpy(e->vpd_list, b + 4, n);
			e->vpd_count = n;
		}
		break;
	case 2: /* SBC-4 6.6.4 Block Limits */
		if (ok && got >= 44) {
			uint64_t mx = (uint64_t)get32(b + 8) * e->bsz;
			uint32_t gran = get16(b + 6);
			uint32_t mu = get32(b + 20);
			uint64_t mws = get64(b + 36);

			if (mx)
				e->max_xfer = mx < e->max_xfer ? (uint32_t)mx : e->max_xfer;
			if (gran && (uint64_t)gran * e->bsz <= NBD_MAX_REQUEST &&
			    gran * e->bsz > e->pref_bsz)
				e->pref_bsz = gran * e->bsz;
			if (mu && mu != UINT32_MAX)
				e->max_unmap = mu;
			if (mws && mws < e->max_ws)
				e->max_ws = mws;
		}
		break;
	case 3: /* SBC-4 6.6.6 Logical Block Provisioning */
		if (ok && got >= 6) {
			e->lbpu = b[5] & 0x80;
			e->lbpws = b[5] & 0x40;
			e->lbprz = (b[5] >> 2) & 0x07;
		}
		break;
	case 4: /* SPC-5 7.5.6 mode parameter header(10): WP in the device-specific byte */
		if (ok && got >= 4)
			e->wp = b[3] & 0x80;
		break;
	}
	e->probe_step++;
	probe_next(e);
}

static void probe_next(struct xi_nbd_export *e)
{
	struct xiscsi_cmd *cmd = &e->pcmd;
	uint32_t alloc = 0;

	for (;; e->probe_step++) {
		memset(cmd, 0, sizeof(*cmd));
		switch (e->probe_step) {
		case 0:
			xiscsi_cdb_readcap16(cmd, alloc = 32);
			break;
		case 1:
			xiscsi_cdb_inquiry(cmd, true, VPD_SUPPORTED_PAGES, (uint16_t)(alloc = 255));
			break;
		case 2:
			if (!vpd_has(e, VPD_BLOCK_LIMITS))
				continue;
			xiscsi_cdb_inquiry(cmd, true, VPD_BLOCK_LIMITS, (uint16_t)(alloc = 64));
			break;
		case 3:
			if (!vpd_has(e, VPD_LB_PROVISIONING))
				continue;
			xiscsi_cdb_inquiry(cmd, true, VPD_LB_PROVISIONING, (uint16_t)(alloc = 8));
			break;
		case 4:
			cmd->cdb[0] = OP_MODE_SENSE_10;
			cmd->cdb[1] = 0x08; /* DBD: the header is all we want */
			cmd->cdb[2] = 0x3f;
			put16(cmd->cdb + 7, (uint16_t)(alloc = 8));
			cmd->cdb_len = 10;
			cmd->dir = XISCSI_DIR_READ;
			break;
		default:
			e->max_xfer -= e->max_xfer % e->bsz;
			if (e->max_xfer < e->bsz)
				e->max_xfer = e->bsz;
			if (e->pref_bsz < e->bsz)
				e->pref_bsz = e->bsz;
			if (!e->zeros) {
				e->zeros = calloc(1, ZERO_BUF > e->bsz ? ZERO_BUF : e->bsz);
				if (!e->zeros) {
					xi_nbd_log("out of memory");
					xi_nbd_probe_finish(e, false);
					return;
				}
			}
			xi_nbd_probe_finish(e, true);
			return;
		}
		break;
	}
	if (e->lost) {
		xi_nbd_probe_finish(e, false);
		return;
	}
	memset(e->pbuf, 0, sizeof(e->pbuf));
	xiscsi_cmd_set_buf(cmd, e->pbuf, alloc);
	cmd->lun = e->lun;
	cmd->cb = probe_done;
	cmd->priv = e;
	if (xiscsi_submit(e->s, cmd)) {
		xi_nbd_log("LUN %" PRIu64 ": the session takes no commands", e->lun);
		xi_nbd_probe_finish(e, false);
	}
}

void xi_nbd_probe_start(struct xi_nbd_export *e)
{
	if (e->probe == PROBE_RUNNING || e->lost || e->closing)
		return;
	e->probe = PROBE_RUNNING;
	e->probe_step = 0;
	e->vpd_count = 0;
	e->max_xfer = DEFAULT_MAX_XFER;
	e->pref_bsz = 4096;
	e->max_unmap = UINT32_MAX;
	e->max_ws = UINT32_MAX;
	e->thin = e->lbpu = e->lbpws = e->lbprz = e->wp = false;
	probe_next(e);
}
