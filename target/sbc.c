/* Block commands (SBC-4): reads, writes, capacity, provisioning, cache. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/cdb.h"
#include "lib/sense.h"
#include "target/scsi.h"

/* Bounce buffers for compare and WRITE SAME: one chunk at a time. */
#define SBC_CHUNK (1u << 20)

/* Byte 1 of the 10/12/16-byte CDBs: RDPROTECT/WRPROTECT (SBC-4 5.16). */
#define CDB_PROTECT_MASK 0xe0

/* Byte of the transfer length field, for INVALID FIELD IN CDB pointers. */
static uint16_t len_byte(uint8_t opcode)
{
	switch (scsi_cdb_len(opcode)) {
	case 6:
		return 4;
	case 10:
		return 7;
	case 12:
		return 6;
	default:
		return 10;
	}
}

/* SBC-4 4.5: LBA + length past the capacity is LBA OUT OF RANGE. */
static bool range_ok(const struct tgt_lu *lu, uint64_t lba, uint64_t len)
{
	return lba <= lu->nblocks && len <= lu->nblocks - lba;
}

/* Decode and check a READ/WRITE-family CDB; false when t holds the error. */
static bool rw_decode(struct tgt_lu *lu, struct scsi_task *t, struct cdb_rw *rw, uint32_t max)
{
	if (cdb_decode_rw(t->cdb, t->cdb_len, rw)) {
		scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return false;
	}
	if (scsi_cdb_len(t->cdb[0]) != 6 && (rw->flags & CDB_PROTECT_MASK)) {
		/* No protection information on these LUs. */
		scsi_task_bad_cdb(t, 1, 7);
		return false;
	}
	if (!range_ok(lu, rw->lba, rw->len)) {
		scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return false;
	}
	if (max && rw->len > max) {
		scsi_task_bad_cdb(t, len_byte(t->cdb[0]), -1);
		return false;
	}
	/* A write of no blocks is no error (SBC-4 5.40) and changes nothing,
	 * so write protection does not stop it. */
	if (rw->len && (scsi_cmd_lookup(t->cdb, t->cdb_len)->flags & SCSI_F_WP_LATE))
		return scsi_task_wp_ok(lu, t);
	return true;
}

/* Durable on completion: FUA asked, or the cache is off while the store has one. */
static unsigned write_flags(struct tgt_lu *lu, bool fua)
{
	if (!lu->bs.write_cache)
		return 0;
	if (fua || !atomic_load_explicit(&lu->wce, memory_order_relaxed))
		return BS_IO_F_FUA;
	return 0;
}

static void rw_done(struct bs_io *io)
{
	struct scsi_task *t = io->priv;

	if (io->res < 0) {
		scsi_task_errno(t, (int)io->res, io->op == BS_IO_WRITE);
		if (io->op == BS_IO_READ) {
			t->data_in_xfer = 0;
			t->resid = t->data_in_len;
			t->resid_flags = t->data_in_len ? SCSI_RESID_UNDERFLOW : 0;
		}
	} else {
		scsi_task_good(t);
	}
	scsi_task_finish(t);
}

int sbc_read(struct tgt_lu *lu, struct scsi_task *t)
{
	struct cdb_rw rw;
	uint64_t bytes;
	uint32_t room = t->data_in ? t->data_in_len : 0;

	if (!rw_decode(lu, t, &rw, SBC_MAX_XFER_BLOCKS))
		return 0;
	bytes = (uint64_t)rw.len << lu->block_shift;
	/* RFC 7143 11.4.5.1: move no more than the initiator expects. */
	t->data_in_xfer = bytes < room ? (uint32_t)bytes : room;
	if (bytes < t->data_in_len) {
		t->resid = t->data_in_len - (uint32_t)bytes;
		t->resid_flags = SCSI_RESID_UNDERFLOW;
	} else if (bytes > t->data_in_len) {
		t->resid = (uint32_t)(bytes - t->data_in_len);
		t->resid_flags = SCSI_RESID_OVERFLOW;
	}
	if (t->data_in_xfer == 0) {
		scsi_task_good(t);
		return 0;
	}
	t->io_ = (struct bs_io){
	        .op = BS_IO_READ,
	        .buf = t->data_in,
	        .len = t->data_in_xfer,
	        .off = rw.lba << lu->block_shift,
	        .done = rw_done,
	        .priv = t,
	};
	bs_submit(&lu->bs, &t->io_);
	return SCSI_ASYNC;
}

int sbc_write(struct tgt_lu *lu, struct scsi_task *t)
{
	struct cdb_rw rw;

	if (!rw_decode(lu, t, &rw, SBC_MAX_XFER_BLOCKS))
		return 0;
	if (rw.len == 0 || t->need_ == 0) {
		scsi_task_good(t);
		return 0;
	}
	t->io_ = (struct bs_io){
	        .op = BS_IO_WRITE,
	        .flags = write_flags(lu, rw.flags & CDB_RW_FUA),
	        /* The store only reads from a write buffer. */
	        .buf = (void *)(uintptr_t)t->data_out,
	        /* need_ may stop short of the CDB: SCSI_F_PARTIAL_OUT. */
	        .len = t->need_,
	        .off = rw.lba << lu->block_shift,
	        .done = rw_done,
	        .priv = t,
	};
	bs_submit(&lu->bs, &t->io_);
	return SCSI_ASYNC;
}

int sbc_read_capacity10(struct tgt_lu *lu, struct scsi_task *t)
{
	uint8_t b[8];
	uint64_t last = lu->nblocks - 1;

	/* PMI is obsolete (SBC-4 5.18): with it clear the LBA must be zero. */
	if (!(t->cdb[8] & 0x01) && get_be32(t->cdb + 2))
		return scsi_task_bad_cdb(t, 2, -1);
	/* Above 32 bits, all ones sends the initiator to READ CAPACITY(16). */
	put_be32(b, last > UINT32_MAX ? UINT32_MAX : (uint32_t)last);
	put_be32(b + 4, lu->block_size);
	return scsi_task_data(t, b, sizeof(b));
}

/* READ CAPACITY(16) byte 14, SBC-4 5.19.2. */
#define RC16_LBPME 0x80
#define RC16_LBPRZ 0x40

int sbc_read_capacity16(struct tgt_lu *lu, struct scsi_task *t)
{
	uint32_t alloc = get_be32(t->cdb + 10);
	uint8_t b[32] = {0};

	put_be64(b, lu->nblocks - 1);
	put_be32(b + 8, lu->block_size);
	/* LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT from the profile (pbs=);
	 * LOWEST ALIGNED LOGICAL BLOCK ADDRESS 0. Every logical block can still
	 * be written and unmapped on its own. */
	b[13] = (uint8_t)(lu->lbppbe & 0x0f);
	if (lu->thin)
		b[14] = RC16_LBPME | RC16_LBPRZ;
	return scsi_task_data(t, b, alloc < sizeof(b) ? alloc : (uint32_t)sizeof(b));
}

/* GET LBA STATUS, SBC-4 5.8: provisioning status per extent. */
#define LBA_STATUS_MAPPED      0x0
#define LBA_STATUS_DEALLOCATED 0x1
#define LBA_STATUS_MAX_DESCS   64

int sbc_get_lba_status(struct tgt_lu *lu, struct scsi_task *t)
{
	uint64_t lba = get_be64(t->cdb + 2);
	uint32_t alloc = get_be32(t->cdb + 10);
	uint8_t b[8 + 16 * LBA_STATUS_MAX_DESCS] = {0};
	size_t off = 8, want;
	int rc;

	if (lba >= lu->nblocks)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	want = alloc > 8 ? (alloc - 8 + 15) / 16 : 1;
	if (want > LBA_STATUS_MAX_DESCS)
		want = LBA_STATUS_MAX_DESCS;
	for (size_t i = 0; i < want && lba < lu->nblocks; i++) {
		uint64_t run, blocks;
		bool mapped;

		rc = bs_lba_status(&lu->bs, lba << lu->block_shift, &mapped, &run);
		if (rc)
			return scsi_task_errno(t, rc, false);
		blocks = run >> lu->block_shift;
		if (blocks == 0)
			blocks = 1;
		if (blocks > lu->nblocks - lba)
			blocks = lu->nblocks - lba;
		if (blocks > UINT32_MAX)
			blocks = UINT32_MAX;
		put_be64(b + off, lba);
		put_be32(b + off + 8, (uint32_t)blocks);
		b[off + 12] = mapped ? LBA_STATUS_MAPPED : LBA_STATUS_DEALLOCATED;
		off += 16;
		lba += blocks;
	}
	put_be32(b, (uint32_t)(off - 4));
	return scsi_task_data(t, b, alloc < off ? alloc : (uint32_t)off);
}

static void sync_done(struct bs_io *io)
{
	struct scsi_task *t = io->priv;

	if (io->res < 0)
		scsi_task_errno(t, (int)io->res, true);
	else
		scsi_task_good(t);
	scsi_task_finish(t);
}

int sbc_sync_cache(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint64_t lba = cdb[0] == SYNCHRONIZE_CACHE_16 ? get_be64(cdb + 2) : get_be32(cdb + 2);
	uint32_t n = cdb[0] == SYNCHRONIZE_CACHE_16 ? get_be32(cdb + 10) : get_be16(cdb + 7);

	if (cdb[1] & ~0x02)
		return scsi_task_bad_cdb(t, 1, -1);
	if (!range_ok(lu, lba, n))
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* Even with IMMED, status follows the flush: honest and simple. */
	t->io_ = (struct bs_io){.op = BS_IO_FLUSH, .done = sync_done, .priv = t};
	bs_submit(&lu->bs, &t->io_);
	return SCSI_ASYNC;
}

/*
 * Compare len bytes at off with buf, or with the one block in buf repeated
 * when repeat_block. Returns 0 when equal, 1 with *mis set to the offset of
 * the first differing byte, or -errno.
 */
static int compare_medium(struct tgt_lu *lu, uint64_t off, const uint8_t *buf, uint64_t len,
                          bool repeat_block, uint64_t *mis)
{
	uint8_t *tmp = malloc(SBC_CHUNK);
	uint64_t done = 0;
	int rc = 0;

	if (!tmp)
		return -ENOMEM;
	while (done < len) {
		size_t n = len - done < SBC_CHUNK ? (size_t)(len - done) : SBC_CHUNK;

		rc = bs_read(&lu->bs, tmp, n, off + done);
		if (rc)
			goto out;
		for (size_t i = 0; i < n; i++) {
			uint64_t pos = done + i;
			uint8_t want = repeat_block ? buf[pos & (lu->block_size - 1)] : buf[pos];

			if (tmp[i] != want) {
				*mis = pos;
				rc = 1;
				goto out;
			}
		}
		done += n;
	}
out:
	free(tmp);
	return rc;
}

/* VERIFY BYTCHK values, SBC-4 table 103. */
#define BYTCHK_NONE   0
#define BYTCHK_BLOCKS 1
#define BYTCHK_ONE    3

int sbc_verify(struct tgt_lu *lu, struct scsi_task *t)
{
	unsigned bytchk = (t->cdb[1] >> 1) & 3;
	struct cdb_rw rw;
	uint64_t mis = 0;
	int rc;

	if (bytchk == 2)
		return scsi_task_bad_cdb(t, 1, 2);
	if (!rw_decode(lu, t, &rw, bytchk == BYTCHK_NONE ? 0 : SBC_MAX_XFER_BLOCKS))
		return 0;
	/* BYTCHK 0: the medium is memory or a file; it verifies by being read. */
	if (bytchk == BYTCHK_NONE || rw.len == 0) {
		scsi_task_good(t);
		return 0;
	}
	rc = compare_medium(lu, rw.lba << lu->block_shift, t->data_out,
	                    (uint64_t)rw.len << lu->block_shift, bytchk == BYTCHK_ONE, &mis);
	if (rc < 0)
		return scsi_task_errno(t, rc, false);
	if (rc > 0)
		return scsi_task_check_info(t, SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY, mis);
	scsi_task_good(t);
	return 0;
}

int sbc_write_verify(struct tgt_lu *lu, struct scsi_task *t)
{
	unsigned bytchk = (t->cdb[1] >> 1) & 3;
	struct cdb_rw rw;
	uint64_t mis = 0, bytes;
	int rc;

	if (bytchk > BYTCHK_BLOCKS)
		return scsi_task_bad_cdb(t, 1, 2);
	if (!rw_decode(lu, t, &rw, SBC_MAX_XFER_BLOCKS))
		return 0;
	/* need_ may stop short of the CDB (SCSI_F_PARTIAL_OUT): as for WRITE,
	 * only what came is written and verified (RFC 7143 11.4.5.1). */
	if (rw.len == 0 || t->need_ == 0) {
		scsi_task_good(t);
		return 0;
	}
	bytes = t->need_;
	/* Verification reads the medium, so the data must be there first. */
	rc = bs_write(&lu->bs, t->data_out, (size_t)bytes, rw.lba << lu->block_shift,
	              write_flags(lu, true));
	if (rc)
		return scsi_task_errno(t, rc, true);
	if (bytchk == BYTCHK_BLOCKS) {
		rc = compare_medium(lu, rw.lba << lu->block_shift, t->data_out, bytes, false, &mis);
		if (rc < 0)
			return scsi_task_errno(t, rc, false);
		if (rc > 0)
			return scsi_task_check_info(t, SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY,
			                            mis);
	}
	scsi_task_good(t);
	return 0;
}

/* WRITE SAME byte 1, SBC-4 5.49/5.50. */
#define WS_ANCHOR 0x10
#define WS_UNMAP  0x08
#define WS_NDOB   0x01

int sbc_write_same(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	bool sixteen = cdb[0] == WRITE_SAME_16;
	uint64_t lba = sixteen ? get_be64(cdb + 2) : get_be32(cdb + 2);
	uint32_t n = sixteen ? get_be32(cdb + 10) : get_be16(cdb + 7);
	bool ndob = sixteen && (cdb[1] & WS_NDOB);
	const uint8_t *blk = t->data_out;
	uint8_t *chunk = NULL;
	uint64_t off, end;
	int rc = 0;

	if (cdb[1] & CDB_PROTECT_MASK)
		return scsi_task_bad_cdb(t, 1, 7);
	if (!sixteen && (cdb[1] & 0x01))
		return scsi_task_bad_cdb(t, 1, 0);
	if (!range_ok(lu, lba, n))
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* WSNZ is clear in VPD 0xB0: zero blocks means through the last LBA
	 * (SBC-4 5.49), within MAXIMUM WRITE SAME LENGTH like any other. */
	if (n == 0 && lu->nblocks - lba <= SBC_MAX_WRITE_SAME_BLOCKS)
		n = (uint32_t)(lu->nblocks - lba);
	if (n > SBC_MAX_WRITE_SAME_BLOCKS || (n == 0 && lba < lu->nblocks))
		return scsi_task_bad_cdb(t, sixteen ? 10 : 7, -1);
	if (n == 0) {
		scsi_task_good(t);
		return 0;
	}
	/*
	 * Write protection once protection field and range are known to be
	 * valid (SCSI_F_WP_LATE), as for WRITE, and before the UNMAP bit and
	 * the data-out length are looked at (SCSI_F_OUT_LATE): libiscsi's
	 * WriteSame*.BeyondEol and WriteProtect want the CDB error on a
	 * write-protected LU, its ReadOnly suite DATA PROTECT for a WRITE SAME
	 * with UNMAP and no data-out buffer.
	 */
	if (!scsi_task_wp_ok(lu, t))
		return 0;
	/* UNMAP needs LBPWS/LBPWS10, i.e. a thin profile (SBC-4 5.49). */
	if ((cdb[1] & WS_UNMAP) && !lu->thin)
		return scsi_task_bad_cdb(t, 1, 3);
	/* ANCHOR: anchored extents are not supported (ANC_SUP is zero). */
	if (cdb[1] & WS_ANCHOR)
		return scsi_task_bad_cdb(t, 1, 4);
	if (!scsi_task_out_ok(t))
		return 0;
	off = lba << lu->block_shift;
	end = off + ((uint64_t)n << lu->block_shift);
	/* UNMAP asks for deallocation (SBC-4 4.7.3.4); with LBPRZ the blocks
	 * then read zeros whatever the data-out block held, which is what
	 * libiscsi's WriteSame*.UnmapUntilEnd checks. */
	if ((cdb[1] & WS_UNMAP) && lu->thin) {
		rc = bs_unmap(&lu->bs, off, end - off);
		if (rc)
			return scsi_task_errno(t, rc, true);
		scsi_task_good(t);
		return 0;
	}
	chunk = calloc(1, SBC_CHUNK);
	if (!chunk)
		return scsi_task_errno(t, -ENOMEM, true);
	if (!ndob)
		for (size_t i = 0; i < SBC_CHUNK; i += lu->block_size)
			memcpy(chunk + i, blk, lu->block_size);
	while (off < end) {
		size_t len = end - off < SBC_CHUNK ? (size_t)(end - off) : SBC_CHUNK;

		rc = bs_write(&lu->bs, chunk, len, off, write_flags(lu, false));
		if (rc)
			break;
		off += len;
	}
	free(chunk);
	if (rc)
		return scsi_task_errno(t, rc, true);
	scsi_task_good(t);
	return 0;
}

int sbc_unmap(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint32_t plen = get_be16(cdb + 7);
	const uint8_t *p = t->data_out;
	size_t bdl, ndesc;
	int rc;

	if (!lu->thin)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	if (cdb[1] & 0x01) /* ANCHOR */
		return scsi_task_bad_cdb(t, 1, 0);
	if (plen == 0) {
		scsi_task_good(t);
		return 0;
	}
	if (plen < 8)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	bdl = get_be16(p + 2);
	if (bdl > plen - 8)
		bdl = plen - 8;
	ndesc = bdl / 16;
	if (ndesc > SBC_MAX_UNMAP_DESCS)
		return scsi_task_bad_param(t, 2, -1);
	/* Check every descriptor before the first deallocation (SBC-4 5.32). */
	for (size_t i = 0; i < ndesc; i++) {
		const uint8_t *d = p + 8 + 16 * i;
		uint64_t lba = get_be64(d);
		uint32_t n = get_be32(d + 8);

		if (!range_ok(lu, lba, n))
			return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		if (n > SBC_MAX_UNMAP_BLOCKS)
			return scsi_task_bad_param(t, (uint16_t)(8 + 16 * i + 8), -1);
	}
	for (size_t i = 0; i < ndesc; i++) {
		const uint8_t *d = p + 8 + 16 * i;
		uint64_t lba = get_be64(d);
		uint32_t n = get_be32(d + 8);

		rc = bs_unmap(&lu->bs, lba << lu->block_shift, (uint64_t)n << lu->block_shift);
		if (rc)
			return scsi_task_errno(t, rc, true);
	}
	scsi_task_good(t);
	return 0;
}

int sbc_compare_and_write(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint64_t lba = get_be64(cdb + 2);
	uint32_t n = cdb[13];
	uint64_t bytes, mis = 0;
	int rc;

	if (cdb[1] & CDB_PROTECT_MASK)
		return scsi_task_bad_cdb(t, 1, 7);
	if (n == 0) {
		scsi_task_good(t);
		return 0;
	}
	if (n > SBC_MAX_CAW_BLOCKS)
		return scsi_task_bad_cdb(t, 13, -1);
	if (!range_ok(lu, lba, n))
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	bytes = (uint64_t)n << lu->block_shift;
	/* SBC-4 5.3: compare and write are one atomic operation. */
	pthread_mutex_lock(&lu->caw_lock);
	rc = compare_medium(lu, lba << lu->block_shift, t->data_out, bytes, false, &mis);
	if (rc == 0)
		rc = bs_write(&lu->bs, t->data_out + bytes, (size_t)bytes, lba << lu->block_shift,
		              write_flags(lu, cdb[1] & CDB_RW_FUA));
	pthread_mutex_unlock(&lu->caw_lock);
	if (rc < 0)
		return scsi_task_errno(t, rc, true);
	if (rc > 0)
		return scsi_task_check_info(t, SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY, mis);
	scsi_task_good(t);
	return 0;
}

int sbc_pre_fetch(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	bool sixteen = cdb[0] == PRE_FETCH_16;
	uint64_t lba = sixteen ? get_be64(cdb + 2) : get_be32(cdb + 2);
	uint32_t n = sixteen ? get_be32(cdb + 10) : get_be16(cdb + 7);

	if (cdb[1] & ~0x02)
		return scsi_task_bad_cdb(t, 1, -1);
	if (!range_ok(lu, lba, n))
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* GOOD, not CONDITION MET: nothing is held in a cache for later. */
	scsi_task_good(t);
	return 0;
}

/* START STOP UNIT byte 4, SBC-4 5.25. */
#define SSU_LOEJ  0x02
#define SSU_START 0x01

int sbc_start_stop_unit(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint8_t pc = cdb[4] >> 4;
	bool loej = cdb[4] & SSU_LOEJ, start = cdb[4] & SSU_START;
	int rc = 0;

	if (cdb[1] & 0xfe)
		return scsi_task_bad_cdb(t, 1, -1);
	if (cdb[4] & 0x08)
		return scsi_task_bad_cdb(t, 4, 3);
	/* Power conditions other than START_VALID change nothing here. */
	if (pc != 0 || !loej) {
		scsi_task_good(t);
		return 0;
	}
	if (!lu->removable)
		return scsi_task_bad_cdb(t, 4, 1);
	pthread_mutex_lock(&lu->lock);
	/* SBC-4 5.25: with removal prevented, neither eject nor load. */
	if (lu->prevent) {
		pthread_mutex_unlock(&lu->lock);
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
	}
	if (!start) {
		/* Nothing volatile may be lost with the medium. */
		rc = lu->bs.write_cache ? bs_flush(&lu->bs) : 0;
		if (!rc)
			atomic_store(&lu->medium_present, false);
		pthread_mutex_unlock(&lu->lock);
	} else {
		bool was = atomic_exchange(&lu->medium_present, true);

		pthread_mutex_unlock(&lu->lock);
		if (!was)
			tgt_lu_ua_raise(lu, TGT_UA_MEDIUM_CHANGED, t->nexus);
	}
	if (rc)
		return scsi_task_errno(t, rc, true);
	scsi_task_good(t);
	return 0;
}

int sbc_prevent_allow(struct tgt_lu *lu, struct scsi_task *t)
{
	uint8_t prevent = t->cdb[4] & 0x03;

	if (prevent > 1)
		return scsi_task_bad_cdb(t, 4, 1);
	if (lu->removable)
		tgt_lu_set_prevent(lu, t->nexus, prevent);
	scsi_task_good(t);
	return 0;
}

/* READ DEFECT DATA, SBC-4 5.12/5.13: a virtual medium has no defects. */
#define RDD_PLIST 0x10
#define RDD_GLIST 0x08

int sbc_read_defect_data(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	bool twelve = cdb[0] == READ_DEFECT_DATA_12;
	uint8_t req = twelve ? cdb[1] : cdb[2];
	uint32_t alloc = twelve ? get_be32(cdb + 6) : get_be16(cdb + 7);
	uint8_t b[8] = {0};

	/* The header echoes the lists asked for and the format, with no entries. */
	b[1] = req & (RDD_PLIST | RDD_GLIST | 0x07);
	if (twelve)
		return scsi_task_data(t, b, alloc < 8 ? alloc : 8);
	return scsi_task_data(t, b, alloc < 4 ? alloc : 4);
}

int sbc_orwrite(struct tgt_lu *lu, struct scsi_task *t)
{
	struct cdb_rw rw;
	uint64_t bytes, off;
	uint8_t *tmp;
	int rc;

	if (!rw_decode(lu, t, &rw, SBC_MAX_XFER_BLOCKS))
		return 0;
	if (rw.len == 0) {
		scsi_task_good(t);
		return 0;
	}
	bytes = (uint64_t)rw.len << lu->block_shift;
	off = rw.lba << lu->block_shift;
	tmp = malloc((size_t)bytes);
	if (!tmp)
		return scsi_task_errno(t, -ENOMEM, true);
	/* SBC-4 5.14: read, OR, write as one operation against CAW and ORWRITE. */
	pthread_mutex_lock(&lu->caw_lock);
	rc = bs_read(&lu->bs, tmp, (size_t)bytes, off);
	if (!rc) {
		for (uint64_t i = 0; i < bytes; i++)
			tmp[i] |= t->data_out[i];
		rc = bs_write(&lu->bs, tmp, (size_t)bytes, off,
		              write_flags(lu, rw.flags & CDB_RW_FUA));
	}
	pthread_mutex_unlock(&lu->caw_lock);
	free(tmp);
	if (rc)
		return scsi_task_errno(t, rc, true);
	scsi_task_good(t);
	return 0;
}

/*
 * SANITIZE, SBC-4 5.27, 4.11: the work runs on a thread of its own so the
 * LU can answer NOT READY, SANITIZE IN PROGRESS with progress while it
 * goes, and a reset or a lost nexus does not stop it (4.11.2). IMMED
 * returns status at once; otherwise the task completes, from that thread,
 * when the medium is done. An overwrite is paced at SBC_SANITIZE_RATE so a
 * sanitize does not take the store's bandwidth from the other LUs.
 */
#define SANITIZE_IMMED  0x80
#define SANITIZE_AUSE   0x20
#define SANITIZE_INVERT 0x80

struct sanitize_job {
	struct tgt_lu *lu;
	bool erase;  /* block erase by deallocation */
	bool crypto; /* crypto erase: a new key */
	bool invert;
	size_t plen;
	uint8_t pat[4096];
};

static void sleep_until(const struct timespec *start, uint64_t ns)
{
	struct timespec at = *start;

	at.tv_sec += (time_t)(ns / 1000000000u);
	at.tv_nsec += (long)(ns % 1000000000u);
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
		;
}

/* End the waiting SANITIZE command early if the daemon aborted it. */
static void sanitize_check_abort(struct tgt_lu *lu)
{
	struct scsi_task *t;

	if (!atomic_load(&lu->sanitize_abort))
		return;
	t = atomic_exchange(&lu->sanitize_task, NULL);
	if (t) {
		t->status = SAM_STAT_TASK_ABORTED;
		t->sense_len = 0;
		scsi_task_finish(t);
	}
}

void scsi_task_abort(struct scsi_task *t)
{
	struct tgt_lu *lu = t->lu_;

	if (lu && atomic_load(&lu->sanitize_task) == t)
		atomic_store(&lu->sanitize_abort, true);
}

static int fill_pattern(struct tgt_lu *lu, const uint8_t *pat, size_t plen, bool invert, bool paced)
{
	uint8_t *chunk = malloc(SBC_CHUNK);
	struct timespec start;
	uint64_t off = 0;
	int rc = 0;

	if (!chunk)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (size_t i = 0; i < SBC_CHUNK; i++)
		chunk[i] = (uint8_t)(plen ? pat[i % plen] : 0) ^ (invert ? 0xff : 0);
	while (off < lu->bs.size && !rc && !atomic_load(&lu->sanitize_stop)) {
		size_t n = lu->bs.size - off < SBC_CHUNK ? (size_t)(lu->bs.size - off) : SBC_CHUNK;

		rc = bs_write(&lu->bs, chunk, n, off, 0);
		off += n;
		sanitize_check_abort(lu);
		atomic_store(&lu->sanitize_progress, (uint32_t)(off * 65536 / (lu->bs.size + 1)));
		if (paced)
			sleep_until(&start, off * 1000000000ull / SBC_SANITIZE_RATE);
	}
	if (!rc)
		rc = bs_flush(&lu->bs);
	free(chunk);
	return rc;
}

static void *sanitize_thread(void *arg)
{
	struct sanitize_job *j = arg;
	struct tgt_lu *lu = j->lu;
	struct scsi_task *t;
	int rc;

	if (j->crypto)
		/* Every block now decrypts to noise; reads stay GOOD (WACEREQ 01b). */
		rc = bs_crypt_rekey(&lu->bs);
	else if (j->erase && bs_can_unmap(&lu->bs))
		/* Erased blocks read zeros; a store that can deallocate does it at once. */
		rc = bs_unmap(&lu->bs, 0, lu->bs.size);
	else
		rc = fill_pattern(lu, j->pat, j->plen, j->invert, !j->erase);
	atomic_store(&lu->sanitize_progress, 0);
	/* A stopped (LU closing) or failed sanitize leaves the medium unknown. */
	atomic_store(&lu->sanitize_failed, rc != 0 || atomic_load(&lu->sanitize_stop));
	atomic_store_explicit(&lu->sanitizing, false, memory_order_release);
	t = atomic_exchange(&lu->sanitize_task, NULL);
	if (t) {
		if (rc)
			scsi_task_errno(t, rc, true);
		else
			scsi_task_good(t);
		scsi_task_finish(t);
	}
	free(j);
	return NULL;
}

int sbc_sanitize(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint8_t sa = cdb[1] & 0x1f;
	uint16_t plen = get_be16(cdb + 7);
	const uint8_t *p = t->data_out;
	struct sanitize_job *j;
	bool immed = cdb[1] & SANITIZE_IMMED;

	if (cdb[1] & 0x40)
		return scsi_task_bad_cdb(t, 1, 6);
	for (uint16_t i = 2; i < 7; i++)
		if (cdb[i])
			return scsi_task_bad_cdb(t, i, -1);
	if (sa == SANITIZE_EXIT_FAILURE_MODE) {
		/* SBC-4 5.27.2: no parameter list; the medium is usable again. */
		if (plen)
			return scsi_task_bad_cdb(t, 7, -1);
		atomic_store(&lu->sanitize_failed, false);
		scsi_task_good(t);
		return 0;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return scsi_task_errno(t, -ENOMEM, true);
	j->lu = lu;
	if (sa == SANITIZE_BLOCK_ERASE) {
		/* Offered with thin provisioning only, as RSOC says. */
		if (!lu->thin) {
			free(j);
			return scsi_task_bad_cdb(t, 1, 4);
		}
		if (plen) {
			free(j);
			return scsi_task_bad_cdb(t, 7, -1);
		}
		j->erase = true;
	} else if (sa == SANITIZE_CRYPTO_ERASE) {
		/* Offered where the data is encrypted at rest (crypt), SBC-4 5.27.4. */
		if (!lu->crypt || !bs_is_crypt(&lu->bs)) {
			free(j);
			return scsi_task_bad_cdb(t, 1, 4);
		}
		if (plen) {
			free(j);
			return scsi_task_bad_cdb(t, 7, -1);
		}
		j->crypto = true;
	} else {
		uint16_t patlen;
		int bad = -1;

		/* OVERWRITE: header 4 bytes, then the pattern (SBC-4 5.27.3). */
		if (plen < 5 || plen > lu->block_size + 4) {
			free(j);
			return scsi_task_bad_cdb(t, 7, -1);
		}
		patlen = get_be16(p + 2);
		if (patlen == 0 || patlen > lu->block_size || (size_t)patlen + 4 != plen)
			bad = scsi_task_bad_param(t, 2, -1);
		else if ((p[0] & 0x1f) == 0)
			bad = scsi_task_bad_param(t, 0, 4);
		else if (p[0] & 0x60) /* TEST */
			bad = scsi_task_bad_param(t, 0, 6);
		else if (p[1])
			bad = scsi_task_bad_param(t, 1, -1);
		if (bad == 0) {
			free(j);
			return 0;
		}
		j->invert = p[0] & SANITIZE_INVERT;
		j->plen = patlen;
		memcpy(j->pat, p + 4, patlen);
	}
	pthread_mutex_lock(&lu->lock);
	/* The previous sanitize's thread has ended (sanitizing was clear at
	 * the precheck and only its last step clears it); reap it. */
	if (lu->sanitize_th_live) {
		pthread_join(lu->sanitize_th, NULL);
		lu->sanitize_th_live = false;
	}
	atomic_store(&lu->sanitize_progress, 0);
	atomic_store(&lu->sanitize_abort, false);
	atomic_store(&lu->sanitize_task, immed ? NULL : (void *)t);
	atomic_store_explicit(&lu->sanitizing, true, memory_order_release);
	if (pthread_create(&lu->sanitize_th, NULL, sanitize_thread, j) != 0) {
		atomic_store(&lu->sanitizing, false);
		atomic_store(&lu->sanitize_task, NULL);
		pthread_mutex_unlock(&lu->lock);
		free(j);
		return scsi_task_errno(t, -ENOMEM, true);
	}
	lu->sanitize_th_live = true;
	pthread_mutex_unlock(&lu->lock);
	if (!immed)
		return SCSI_ASYNC;
	scsi_task_good(t);
	return 0;
}

/*
 * WRITE ATOMIC(16), SBC-4 5.48: the blocks are written whole or not at all
 * as far as other commands see. The write is one store call (one pwrite or
 * one memcpy) under caw_lock, so COMPARE AND WRITE, ORWRITE and other
 * atomic writes never see or make half of it. Plain READ and WRITE take no
 * lock on the fast path (lu.h), so one of them overlapping the range at the
 * same moment may see a mix; initiators that need more order it themselves.
 */
int sbc_write_atomic(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint64_t lba = get_be64(cdb + 2);
	uint32_t n = get_be16(cdb + 12);
	int rc;

	if (cdb[1] & CDB_PROTECT_MASK)
		return scsi_task_bad_cdb(t, 1, 7);
	if (!range_ok(lu, lba, n))
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* MAXIMUM ATOMIC BOUNDARY SIZE is zero: no boundaries (VPD 0xB0). */
	if (get_be16(cdb + 10))
		return scsi_task_bad_cdb(t, 10, -1);
	if (n > SBC_MAX_ATOMIC_BLOCKS)
		return scsi_task_bad_cdb(t, 12, -1);
	if (n == 0) {
		scsi_task_good(t);
		return 0;
	}
	if (!scsi_task_wp_ok(lu, t))
		return 0;
	pthread_mutex_lock(&lu->caw_lock);
	rc = bs_write(&lu->bs, t->data_out, (size_t)n << lu->block_shift, lba << lu->block_shift,
	              write_flags(lu, cdb[1] & CDB_RW_FUA));
	pthread_mutex_unlock(&lu->caw_lock);
	if (rc)
		return scsi_task_errno(t, rc, true);
	scsi_task_good(t);
	return 0;
}
