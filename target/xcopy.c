/*
 * The copy manager: EXTENDED COPY (LID1, SPC-4 6.4) with identification
 * descriptor CSCDs (0xE4, NAA designator of a LU of the same target) and
 * block-to-block segment descriptors (0x02), RECEIVE COPY RESULTS
 * (SPC-4 6.18: COPY STATUS, OPERATING PARAMETERS) and the third-party copy
 * VPD page (SPC-4 7.8.17).
 *
 * A copy runs to completion before status, in chunks through the stores'
 * synchronous calls; the LUs it reaches are held by reference so closing
 * one waits for the copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cdb.h"
#include "lib/sense.h"
#include "target/scsi.h"

/* Parameter list header, SPC-4 6.4.3.1. */
#define XC_HDR_LEN        16
#define XC_LIST_ID_USAGE  0x18 /* byte 1 bits 4:3 */
#define XC_USAGE_HOLD     0x00
#define XC_USAGE_NO_ID    0x18 /* 11b: the list identifier is not used */
#define XC_STR            0x20
#define XC_MAX_LIST_BYTES (XCOPY_MAX_TARGET_DESCS * XC_TGT_LEN + XCOPY_MAX_SEG_DESCS * XC_SEG_LEN)

/* Identification descriptor CSCD, SPC-4 6.4.5.6: 32 bytes. */
#define XC_TGT_IDENT     0xe4
#define XC_TGT_LEN       32
#define XC_TGT_NUL       0x20 /* obsolete in SPC-4: names no LU */
#define XC_TGT_PDT       0x1f
#define XC_DESIG_MAX_LEN 20 /* bytes 8..27 */

/* Block device to block device segment descriptor, SPC-4 6.4.6.5. */
#define XC_SEG_B2B     0x02
#define XC_SEG_LEN     28
#define XC_SEG_B2B_LEN 0x18 /* DESCRIPTOR LENGTH: the 24 bytes after byte 3 */
#define XC_SEG_DC      0x02

/* Designator fields, SPC-5 7.7.6.1. */
#define XC_DESIG_TYPE_MASK  0x0f
#define XC_DESIG_ASSOC_MASK 0x30

/* RECEIVE COPY RESULTS service actions and status, SPC-4 6.18. */
#define RCR_COPY_STATUS      0x00
#define RCR_OPERATING_PARAMS 0x03
#define RCR_STATUS_GOOD      0x01
#define RCR_STATUS_ERRORS    0x02
#define RCR_UNITS_BYTES      0x00
#define XC_SA_LID1           0x00

/* Third-party copy VPD descriptor types, SPC-4 7.8.17. */
#define TPC_DESC_SUPPORTED_CMDS 0x0001
#define TPC_DESC_PARAMETER_DATA 0x0008
#define TPC_DESC_SUPPORTED_DESC 0x0004
#define TPC_DESC_SUPPORTED_IDS  0x000c

#define XC_CHUNK (1u << 20)

struct xc_cscd {
	struct tgt_lu *lu; /* referenced; NULL for a NUL descriptor */
};

static bool lun_visible(const struct scsi_task *t, uint64_t lun)
{
	uint64_t luns[256];
	size_t n;

	if (lun == t->lun)
		return true;
	if (!t->port || !t->port->lun_list)
		return false;
	n = t->port->lun_list(t->port->lun_list_arg, luns, sizeof(luns) / sizeof(luns[0]));
	if (n > sizeof(luns) / sizeof(luns[0]))
		n = sizeof(luns) / sizeof(luns[0]);
	for (size_t i = 0; i < n; i++)
		if (luns[i] == lun)
			return true;
	return false;
}

/* COPY ABORTED with the segment pointer at byte `byte` of the parameter list. */
static int copy_aborted(struct scsi_task *t, uint16_t asc, uint16_t byte)
{
	struct sense_info si = sense_info_make(SK_COPY_ABORTED, asc);
	bool desc = t->lu_ && atomic_load(&t->lu_->d_sense);
	ssize_t n;

	sense_set_field_pointer(&si, false, byte, -1);
	n = sense_build(t->sense, sizeof(t->sense), desc, &si);
	t->status = SAM_STAT_CHECK_CONDITION;
	t->sense_len = n > 0 ? (uint8_t)n : 0;
	return 0;
}

static void xcopy_hold(struct tgt_lu *lu, const struct scsi_task *t, uint8_t list_id,
                       uint8_t status, uint16_t segs, uint64_t bytes)
{
	struct tgt_xcopy_held *slot = NULL;

	pthread_mutex_lock(&lu->lock);
	for (int i = 0; i < TGT_XCOPY_HELD; i++) {
		struct tgt_xcopy_held *h = &lu->xcopy_held[i];

		if (h->nexus == t->nexus + 1 && h->list_id == list_id) {
			slot = h;
			break;
		}
		if (!slot || (slot->nexus && (!h->nexus || h->seq < slot->seq)))
			slot = h;
	}
	*slot = (struct tgt_xcopy_held){.nexus = t->nexus + 1,
	                                .list_id = list_id,
	                                .status = status,
	                                .segs = segs,
	                                .bytes = bytes,
	                                .seq = ++lu->xcopy_seq};
	pthread_mutex_unlock(&lu->lock);
}

/* Copy n bytes from src at soff to dst at doff, backwards where an overlap needs it. */
static int copy_range(struct tgt_lu *src, uint64_t soff, struct tgt_lu *dst, uint64_t doff,
                      uint64_t n, unsigned wflags)
{
	bool backward = src == dst && doff > soff && doff < soff + n;
	uint8_t *buf = malloc(XC_CHUNK);
	uint64_t done = 0;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (done < n && !rc) {
		size_t len = n - done < XC_CHUNK ? (size_t)(n - done) : XC_CHUNK;
		uint64_t at = backward ? n - done - len : done;

		rc = bs_read(&src->bs, buf, len, soff + at);
		if (!rc)
			rc = bs_write(&dst->bs, buf, len, doff + at, wflags);
		done += len;
	}
	free(buf);
	return rc;
}

static unsigned xc_write_flags(struct tgt_lu *lu)
{
	if (lu->bs.write_cache && !atomic_load_explicit(&lu->wce, memory_order_relaxed))
		return BS_IO_F_FUA;
	return 0;
}

/* Parse CSCD descriptor i at d into c; 0, or 1 with t holding the error. */
static int parse_cscd(struct scsi_task *t, const uint8_t *d, uint16_t at, struct xc_cscd *c)
{
	const char *tname = t->port ? t->port->target_name : NULL;
	struct tgt_lu *lu;

	c->lu = NULL;
	if (d[0] != XC_TGT_IDENT) {
		scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_UNSUPPORTED_TARGET_DESCRIPTOR_TYPE);
		return 1;
	}
	/* LU ID TYPE (byte 1 bits 7:6) is reserved in SPC-4 and ignored,
	 * as libiscsi's ExtendedCopy.ValidTgtDescr expects of an SPC-4 LU. */
	/* A NUL CSCD names no LU; a block segment cannot use it (checked there). */
	if (d[1] & XC_TGT_NUL)
		return 0;
	if ((d[1] & XC_TGT_PDT) != PDT_DIRECT_ACCESS) {
		scsi_task_bad_param(t, at + 1, 4);
		return 1;
	}
	/* Only the NAA designator of a LU (what VPD 0x83 shows first) names one. */
	if ((d[5] & XC_DESIG_TYPE_MASK) != DESIG_TYPE_NAA ||
	    (d[5] & XC_DESIG_ASSOC_MASK) != DESIG_ASSOC_LU << 4 || d[7] != 8) {
		copy_aborted(t, ASC_COPY_TARGET_DEVICE_NOT_REACHABLE, at + 4);
		return 1;
	}
	lu = tgt_lu_get_by_naa(tname ? tname : (t->lu_ ? t->lu_->target_name : ""), d + 8);
	if (!lu || !lun_visible(t, lu->lun)) {
		tgt_lu_put(lu);
		copy_aborted(t, ASC_COPY_TARGET_DEVICE_NOT_REACHABLE, at + 4);
		return 1;
	}
	/* DISK BLOCK LENGTH must be what the LU has (SPC-4 6.4.5.2.2). */
	if ((uint32_t)(d[29] << 16 | d[30] << 8 | d[31]) != lu->block_size) {
		tgt_lu_put(lu);
		scsi_task_bad_param(t, at + 29, -1);
		return 1;
	}
	c->lu = lu;
	return 0;
}

int spc_extended_copy(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *p = t->data_out;
	uint32_t plen = get_be32(t->cdb + 10);
	struct xc_cscd cscd[XCOPY_MAX_TARGET_DESCS] = {{0}};
	uint32_t tlen, slen, ilen, ntgt = 0, nseg = 0;
	uint8_t list_id, usage;
	uint64_t copied = 0;
	uint16_t segs = 0;
	int rc = 0;

	if (plen == 0) {
		/* SPC-4 6.4.1: no parameter list is not an error. */
		scsi_task_good(t);
		return 0;
	}
	if (plen < XC_HDR_LEN || t->need_ < plen)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	list_id = p[0];
	usage = p[1] & XC_LIST_ID_USAGE;
	tlen = get_be16(p + 2);
	slen = get_be32(p + 8);
	ilen = get_be32(p + 12);
	if ((uint64_t)XC_HDR_LEN + tlen + slen + ilen > plen)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	if (p[1] & XC_STR)
		return scsi_task_bad_param(t, 1, 5);
	if (usage == XC_USAGE_NO_ID && list_id)
		return scsi_task_bad_param(t, 0, -1);
	/* MAXIMUM INLINE DATA LENGTH is zero. */
	if (ilen)
		return scsi_task_bad_param(t, 12, -1);
	if (tlen + slen > XC_MAX_LIST_BYTES)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* Check every descriptor's type and count before any I/O. */
	for (uint32_t off = 0; off < tlen; off += XC_TGT_LEN, ntgt++) {
		if (p[XC_HDR_LEN + off] != XC_TGT_IDENT)
			return scsi_task_check(t, SK_ILLEGAL_REQUEST,
			                       ASC_UNSUPPORTED_TARGET_DESCRIPTOR_TYPE);
	}
	if (tlen % XC_TGT_LEN)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	if (ntgt > XCOPY_MAX_TARGET_DESCS)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_TOO_MANY_TARGET_DESCRIPTORS);
	for (uint32_t off = 0; off < slen; nseg++) {
		const uint8_t *s = p + XC_HDR_LEN + tlen + off;

		if (slen - off < 4)
			return scsi_task_check(t, SK_ILLEGAL_REQUEST,
			                       ASC_PARAMETER_LIST_LENGTH_ERROR);
		if (s[0] != XC_SEG_B2B)
			return scsi_task_check(t, SK_ILLEGAL_REQUEST,
			                       ASC_UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE);
		if (get_be16(s + 2) != XC_SEG_B2B_LEN)
			return scsi_task_bad_param(t, (uint16_t)(XC_HDR_LEN + tlen + off + 2), -1);
		if (slen - off < XC_SEG_LEN)
			return scsi_task_check(t, SK_ILLEGAL_REQUEST,
			                       ASC_PARAMETER_LIST_LENGTH_ERROR);
		off += XC_SEG_LEN;
	}
	if (nseg > XCOPY_MAX_SEG_DESCS)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_TOO_MANY_SEGMENT_DESCRIPTORS);
	for (uint32_t i = 0; i < ntgt; i++) {
		rc = parse_cscd(t, p + XC_HDR_LEN + i * XC_TGT_LEN,
		                (uint16_t)(XC_HDR_LEN + i * XC_TGT_LEN), &cscd[i]);
		if (rc)
			goto out;
	}
	for (uint32_t i = 0; i < nseg; i++) {
		uint16_t at = (uint16_t)(XC_HDR_LEN + tlen + i * XC_SEG_LEN);
		const uint8_t *s = p + at;
		uint16_t si = get_be16(s + 4), di = get_be16(s + 6);
		uint32_t nblk = get_be16(s + 10);
		uint64_t slba = get_be64(s + 12), dlba = get_be64(s + 20);
		struct tgt_lu *src, *dst;

		if (si >= ntgt || di >= ntgt || !cscd[si].lu || !cscd[di].lu) {
			copy_aborted(t, ASC_COPY_TARGET_DEVICE_NOT_REACHABLE, at + 4);
			rc = 1;
			goto out;
		}
		src = cscd[si].lu;
		dst = cscd[di].lu;
		/* Equal block sizes keep DC meaningless: one count for both. */
		if (src->block_size != dst->block_size) {
			scsi_task_bad_param(t, at + 1, 1);
			rc = 1;
			goto out;
		}
		if (!atomic_load(&src->medium_present) || !atomic_load(&dst->medium_present)) {
			copy_aborted(t, ASC_COPY_TARGET_DEVICE_NOT_REACHABLE, at + 4);
			rc = 1;
			goto out;
		}
		/* Out of range on a CSCD aborts the copy at this segment
		 * (SPC-4 6.4.3.3); the segment pointer says which. */
		if (slba > src->nblocks || nblk > src->nblocks - slba || dlba > dst->nblocks ||
		    nblk > dst->nblocks - dlba) {
			copy_aborted(t, ASC_NO_ADDITIONAL_SENSE, at + 10);
			rc = 1;
			goto out;
		}
		if (dst != lu && (pr_conflict(dst, t, SCSI_F_PR_WRITE) || pr_conflict(src, t, 0))) {
			t->status = SAM_STAT_RESERVATION_CONFLICT;
			t->sense_len = 0;
			rc = 1;
			goto out;
		}
		if (nblk && (dst->readonly || atomic_load(&dst->swp))) {
			scsi_task_check(t, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
			rc = 1;
			goto out;
		}
		rc = copy_range(src, slba << src->block_shift, dst, dlba << dst->block_shift,
		                (uint64_t)nblk << src->block_shift, xc_write_flags(dst));
		if (rc) {
			copy_aborted(t, ASC_COPY_TARGET_DEVICE_NOT_REACHABLE, at);
			goto out;
		}
		copied += (uint64_t)nblk << src->block_shift;
		segs++;
	}
	scsi_task_good(t);
out:
	if (usage == XC_USAGE_HOLD && (rc == 0 || t->status == SAM_STAT_CHECK_CONDITION))
		xcopy_hold(lu, t, list_id, rc ? RCR_STATUS_ERRORS : RCR_STATUS_GOOD, segs, copied);
	for (uint32_t i = 0; i < ntgt && i < XCOPY_MAX_TARGET_DESCS; i++)
		tgt_lu_put(cscd[i].lu);
	return 0;
}

static int rcr_copy_status(struct tgt_lu *lu, struct scsi_task *t, uint32_t alloc)
{
	uint8_t list_id = t->cdb[2];
	struct tgt_xcopy_held h = {0};
	uint8_t b[12] = {0};

	pthread_mutex_lock(&lu->lock);
	for (int i = 0; i < TGT_XCOPY_HELD; i++) {
		if (lu->xcopy_held[i].nexus == t->nexus + 1 &&
		    lu->xcopy_held[i].list_id == list_id) {
			h = lu->xcopy_held[i];
			break;
		}
	}
	pthread_mutex_unlock(&lu->lock);
	/* SPC-4 6.18.3: a list identifier with nothing held is a CDB error. */
	if (!h.nexus)
		return scsi_task_bad_cdb(t, 2, -1);
	put_be32(b, sizeof(b) - 4);
	b[4] = h.status;
	put_be16(b + 5, h.segs);
	b[7] = RCR_UNITS_BYTES;
	put_be32(b + 8, h.bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)h.bytes);
	return scsi_task_data(t, b, alloc < sizeof(b) ? alloc : (uint32_t)sizeof(b));
}

static int rcr_operating_params(struct scsi_task *t, uint32_t alloc)
{
	uint8_t b[48] = {0};
	size_t n = 44;

	put_be16(b + 8, XCOPY_MAX_TARGET_DESCS);
	put_be16(b + 10, XCOPY_MAX_SEG_DESCS);
	put_be32(b + 12, XC_MAX_LIST_BYTES);
	put_be32(b + 16, XCOPY_MAX_SEG_BLOCKS * 512u);
	/* MAXIMUM INLINE DATA LENGTH, HELD DATA LIMIT, stream size: 0. */
	put_be16(b + 34, 1); /* TOTAL CONCURRENT COPIES */
	b[36] = 1;           /* MAXIMUM CONCURRENT COPIES */
	b[37] = 9;           /* DATA SEGMENT GRANULARITY: 2^9 bytes */
	/* IMPLEMENTED DESCRIPTOR LIST: the codes we take. */
	b[n++] = XC_SEG_B2B;
	b[n++] = XC_TGT_IDENT;
	b[43] = (uint8_t)(n - 44);
	put_be32(b, (uint32_t)(n - 4));
	return scsi_task_data(t, b, alloc < n ? alloc : (uint32_t)n);
}

int spc_receive_copy_results(struct tgt_lu *lu, struct scsi_task *t)
{
	uint32_t alloc = get_be32(t->cdb + 10);

	switch (t->cdb[1] & 0x1f) {
	case RCR_COPY_STATUS:
		return rcr_copy_status(lu, t, alloc);
	case RCR_OPERATING_PARAMS:
		return rcr_operating_params(t, alloc);
	default:
		return scsi_task_bad_cdb(t, 1, 4);
	}
}

size_t xcopy_vpd_3pc(uint8_t *b)
{
	size_t off = 4, d, l;

	/* Supported Commands: EXTENDED COPY (LID1) and RECEIVE COPY RESULTS. */
	d = off;
	put_be16(b + d, TPC_DESC_SUPPORTED_CMDS);
	l = d + 5;
	b[l++] = EXTENDED_COPY;
	b[l++] = 1;
	b[l++] = XC_SA_LID1;
	b[l++] = RECEIVE_COPY_RESULTS;
	b[l++] = 2;
	b[l++] = RCR_COPY_STATUS;
	b[l++] = RCR_OPERATING_PARAMS;
	b[d + 4] = (uint8_t)(l - d - 5);
	while ((l - d) % 4)
		b[l++] = 0;
	put_be16(b + d + 2, (uint16_t)(l - d - 4));
	off = l;
	/* Parameter Data: the limits RECEIVE COPY RESULTS also reports. */
	d = off;
	put_be16(b + d, TPC_DESC_PARAMETER_DATA);
	put_be16(b + d + 2, 0x1c);
	put_be16(b + d + 8, XCOPY_MAX_TARGET_DESCS);
	put_be16(b + d + 10, XCOPY_MAX_SEG_DESCS);
	put_be32(b + d + 12, XC_MAX_LIST_BYTES);
	off = d + 32;
	/* Supported Descriptors. */
	d = off;
	put_be16(b + d, TPC_DESC_SUPPORTED_DESC);
	b[d + 4] = 2;
	b[d + 5] = XC_SEG_B2B;
	b[d + 6] = XC_TGT_IDENT;
	put_be16(b + d + 2, 4);
	off = d + 8;
	/* Supported CSCD IDs: none beyond the descriptors themselves. */
	d = off;
	put_be16(b + d, TPC_DESC_SUPPORTED_IDS);
	put_be16(b + d + 2, 4);
	off = d + 8;
	put_be16(b + 2, (uint16_t)(off - 4));
	return off;
}
