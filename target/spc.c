/* Primary commands (SPC-5): inquiry, sense, LUN inventory, mode pages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cdb.h"
#include "lib/lun.h"
#include "lib/sense.h"
#include "target/scsi.h"

/* Version descriptors, SPC-5 table 150. SPC-4/SBC-3 are claimed, not the
 * later editions, because initiators check for these codes. */
#define VD_SAM5  0x00a0
#define VD_SPC4  0x0460
#define VD_SBC3  0x04c0
#define VD_ISCSI 0x0960

/* Standard INQUIRY bits, SPC-5 6.7.2. */
#define INQ_RMB       0x80
#define INQ_HISUP     0x10
#define INQ_TPGS_IMPL 0x10
#define INQ_3PC       0x08
#define INQ_CMDQUE    0x02
#define INQ_STD_LEN   66

/* Mode parameter header DEVICE-SPECIFIC PARAMETER, SBC-4 6.5.2. */
#define MODE_DSP_WP     0x80
#define MODE_DSP_DPOFUA 0x10

/* Caching page bits, SBC-4 6.5.5; control page, SPC-5 7.5.8. */
#define CACHING_WCE              0x04
#define CONTROL_D_SENSE          0x04
#define CONTROL_SWP              0x08 /* byte 4: software write protect */
#define CONTROL_QAM_UNRESTRICTED 0x10
#define IEC_DEXCPT               0x08

static void put_str(uint8_t *dst, const char *s, size_t n)
{
	size_t l = strlen(s);

	memset(dst, ' ', n);
	memcpy(dst, s, l < n ? l : n);
}

int spc_test_unit_ready(struct tgt_lu *lu, struct scsi_task *t)
{
	scsi_task_good(t);
	return 0;
}

static int inquiry_std(struct tgt_lu *lu, struct scsi_task *t, uint32_t alloc)
{
	uint8_t b[INQ_STD_LEN] = {0};

	b[0] = lu ? (PQ_CONNECTED << 5 | PDT_DIRECT_ACCESS) : (PQ_NOT_SUPPORTED << 5 | PDT_UNKNOWN);
	b[1] = lu && lu->removable ? INQ_RMB : 0;
	b[2] = SCSI_VERSION_SPC4;
	b[3] = INQ_HISUP | RESPONSE_DATA_FORMAT_2;
	b[4] = INQ_STD_LEN - 5;
	/* 3PC: EXTENDED COPY and RECEIVE COPY RESULTS (SPC-4 6.4). */
	b[5] = INQ_TPGS_IMPL | (lu ? INQ_3PC : 0);
	b[7] = INQ_CMDQUE;
	put_str(b + 8, lu ? lu->vendor : TGT_LU_VENDOR, 8);
	put_str(b + 16, lu ? lu->product : TGT_LU_PRODUCT, 16);
	put_str(b + 32, lu ? lu->revision : TGT_LU_REVISION, 4);
	put_be16(b + 58, VD_SAM5);
	put_be16(b + 60, VD_ISCSI);
	put_be16(b + 62, VD_SPC4);
	put_be16(b + 64, VD_SBC3);
	return scsi_task_data(t, b, alloc < sizeof(b) ? alloc : sizeof(b));
}

static const uint8_t vpd_supported[] = {
        VPD_SUPPORTED_PAGES,
        VPD_UNIT_SERIAL_NUMBER,
        VPD_DEVICE_IDENTIFICATION,
        VPD_THIRD_PARTY_COPY,
        VPD_BLOCK_LIMITS,
        VPD_BLOCK_DEVICE_CHARACTERISTICS,
        VPD_LOGICAL_BLOCK_PROVISIONING,
};

/* One designation descriptor (SPC-5 7.7.6.1); returns its length. */
static size_t desig(uint8_t *d, uint8_t proto_codeset, uint8_t piv_assoc_type, const void *id,
                    size_t len)
{
	d[0] = proto_codeset;
	d[1] = piv_assoc_type;
	d[2] = 0;
	d[3] = (uint8_t)len;
	memcpy(d + 4, id, len);
	return 4 + len;
}

/* SCSI name strings: NUL terminated, padded to a multiple of 4 (SPC-5 7.7.6.11). */
static size_t desig_name(uint8_t *d, uint8_t assoc, const char *name, const char *suffix)
{
	char s[256 + 16];
	size_t n;

	n = (size_t)snprintf(s, sizeof(s), "%s%s", name, suffix);
	if (n >= sizeof(s) - 4)
		n = sizeof(s) - 5;
	n++;
	while (n % 4)
		s[n++] = '\0';
	s[n - 1] = '\0';
	return desig(d, DESIG_PROTOCOL_ISCSI << 4 | DESIG_CODESET_UTF8,
	             0x80 | assoc << 4 | DESIG_TYPE_SCSI_NAME, s, n);
}

static size_t vpd_devid(struct tgt_lu *lu, const struct scsi_port *port, uint8_t *b)
{
	size_t off = 4;
	uint8_t t10[8 + TGT_LU_SERIAL_MAX];
	uint8_t v[4] = {0};

	off += desig(b + off, DESIG_CODESET_BINARY, DESIG_ASSOC_LU << 4 | DESIG_TYPE_NAA, lu->naa,
	             sizeof(lu->naa));
	put_str(t10, lu->vendor, 8);
	memcpy(t10 + 8, lu->serial, strlen(lu->serial));
	off += desig(b + off, DESIG_CODESET_ASCII, DESIG_ASSOC_LU << 4 | DESIG_TYPE_T10_VENDOR_ID,
	             t10, 8 + strlen(lu->serial));
	if (port && port->target_name) {
		char tpgt[16];

		put_be16(v + 2, port->rel_port_id);
		off += desig(b + off, DESIG_PROTOCOL_ISCSI << 4 | DESIG_CODESET_BINARY,
		             0x80 | DESIG_ASSOC_TARGET_PORT << 4 | DESIG_TYPE_RELATIVE_TARGET_PORT,
		             v, 4);
		put_be16(v + 2, port->tpgt);
		off += desig(b + off, DESIG_PROTOCOL_ISCSI << 4 | DESIG_CODESET_BINARY,
		             0x80 | DESIG_ASSOC_TARGET_PORT << 4 | DESIG_TYPE_TARGET_PORT_GROUP, v,
		             4);
		/* RFC 7143 13.4: the target port is "<name>,t,0x<tpgt>". */
		snprintf(tpgt, sizeof(tpgt), ",t,0x%04x", port->tpgt);
		off += desig_name(b + off, DESIG_ASSOC_TARGET_PORT, port->target_name, tpgt);
		off += desig_name(b + off, DESIG_ASSOC_TARGET_DEVICE, port->target_name, "");
	}
	put_be16(b + 2, (uint16_t)(off - 4));
	return off;
}

static size_t vpd_block_limits(struct tgt_lu *lu, uint8_t *b)
{
	uint32_t gran = lu->bs.unmap_granularity >> lu->block_shift;
	uint32_t opt_gran = lu->block_size < 4096 ? 4096 / lu->block_size : 1;

	if ((1u << lu->lbppbe) > opt_gran)
		opt_gran = 1u << lu->lbppbe;

	put_be16(b + 2, 0x3c);
	/* WSNZ clear: WRITE SAME of zero blocks writes through the last LBA. */
	b[5] = SBC_MAX_CAW_BLOCKS;
	/* OPTIMAL TRANSFER LENGTH GRANULARITY: a 4 KiB page, or the physical
	 * block when it is larger (pbs=). */
	put_be16(b + 6, (uint16_t)(opt_gran > 0xffff ? 0xffff : opt_gran));
	put_be32(b + 8, SBC_MAX_XFER_BLOCKS);
	put_be32(b + 12, SBC_MAX_XFER_BLOCKS);
	put_be32(b + 16, SBC_MAX_XFER_BLOCKS);
	if (lu->thin) {
		put_be32(b + 20, SBC_MAX_UNMAP_BLOCKS);
		put_be32(b + 24, SBC_MAX_UNMAP_DESCS);
		put_be32(b + 28, gran ? gran : 1);
	}
	put_be64(b + 36, SBC_MAX_WRITE_SAME_BLOCKS);
	/* WRITE ATOMIC(16): MAXIMUM ATOMIC TRANSFER LENGTH; alignment,
	 * granularity and boundary sizes 0: none required, none offered. */
	put_be32(b + 44, SBC_MAX_ATOMIC_BLOCKS);
	return 64;
}

static size_t vpd_bdc(struct tgt_lu *lu, uint8_t *b)
{
	put_be16(b + 2, 0x3c);
	put_be16(b + 4, 0x0001); /* MEDIUM ROTATION RATE: non-rotating medium */
	/* WABEREQ 01b (SBC-4 6.6.2): a block-erased block reads back GOOD;
	 * only where BLOCK ERASE is offered, i.e. thin. */
	if (lu->thin)
		b[7] = 0x40;
	/* WACEREQ 01b: after CRYPTO ERASE (crypt only) reads are GOOD, and
	 * return the old blocks decrypted with the new key: noise. */
	if (lu->crypt)
		b[7] |= 0x10;
	return 64;
}

/* Logical block provisioning, SBC-4 6.6.6. */
#define LBP_LBPU      0x80
#define LBP_LBPWS     0x40
#define LBP_LBPWS10   0x20
#define LBP_LBPRZ     0x04 /* LBPRZ field 001b: deallocated blocks read zeros */
#define LBP_PROV_THIN 0x02

static size_t vpd_lbp(struct tgt_lu *lu, uint8_t *b)
{
	put_be16(b + 2, 4);
	if (lu->thin) {
		b[5] = LBP_LBPU | LBP_LBPWS | LBP_LBPWS10 | LBP_LBPRZ;
		b[6] = LBP_PROV_THIN;
	}
	return 8;
}

int spc_inquiry(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint32_t alloc = get_be16(cdb + 3);
	uint8_t b[1024] = {0};
	size_t n;

	if (cdb[1] & 0xfe)
		return scsi_task_bad_cdb(t, 1, cdb[1] & 0x02 ? 1 : -1);
	if (!(cdb[1] & 0x01)) {
		if (cdb[2])
			return scsi_task_bad_cdb(t, 2, -1);
		return inquiry_std(lu, t, alloc);
	}
	if (!lu)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_LU_NOT_SUPPORTED);
	b[0] = PQ_CONNECTED << 5 | PDT_DIRECT_ACCESS;
	b[1] = cdb[2];
	switch (cdb[2]) {
	case VPD_SUPPORTED_PAGES:
		memcpy(b + 4, vpd_supported, sizeof(vpd_supported));
		put_be16(b + 2, sizeof(vpd_supported));
		n = 4 + sizeof(vpd_supported);
		break;
	case VPD_UNIT_SERIAL_NUMBER:
		n = strlen(lu->serial);
		memcpy(b + 4, lu->serial, n);
		put_be16(b + 2, (uint16_t)n);
		n += 4;
		break;
	case VPD_DEVICE_IDENTIFICATION:
		n = vpd_devid(lu, t->port, b);
		break;
	case VPD_THIRD_PARTY_COPY:
		n = xcopy_vpd_3pc(b);
		break;
	case VPD_BLOCK_LIMITS:
		n = vpd_block_limits(lu, b);
		break;
	case VPD_BLOCK_DEVICE_CHARACTERISTICS:
		n = vpd_bdc(lu, b);
		break;
	case VPD_LOGICAL_BLOCK_PROVISIONING:
		n = vpd_lbp(lu, b);
		break;
	default:
		return scsi_task_bad_cdb(t, 2, -1);
	}
	return scsi_task_data(t, b, alloc < n ? alloc : (uint32_t)n);
}

int spc_request_sense(struct tgt_lu *lu, struct scsi_task *t)
{
	bool desc = t->cdb[1] & 0x01;
	uint32_t alloc = t->cdb[4];
	struct sense_info si = sense_info_make(SK_NO_SENSE, ASC_NO_ADDITIONAL_SENSE);
	uint8_t b[SENSE_DESC_MAX_LEN];
	uint16_t ua;
	ssize_t n;

	if (t->cdb[1] & 0xfe)
		return scsi_task_bad_cdb(t, 1, -1);
	/* SPC-5 6.39: sense for a missing LU, else the pending UA it clears. */
	if (!lu) {
		si = sense_info_make(SK_ILLEGAL_REQUEST, ASC_LU_NOT_SUPPORTED);
	} else if (atomic_load(&lu->sanitizing)) {
		/* SBC-4 4.11.2: the sense says how far the sanitize is. */
		si = sense_info_make(SK_NOT_READY, ASC_LU_NOT_READY_SANITIZE_IN_PROGRESS);
		sense_set_progress(&si, (uint16_t)atomic_load(&lu->sanitize_progress));
	} else if ((ua = tgt_lu_ua_take(lu, t->nexus, true)) != 0) {
		si = sense_info_make(SK_UNIT_ATTENTION, ua);
	} else if (atomic_load(&lu->offline)) {
		/* Offline by the administrator (target/lu.h). */
		si = sense_info_make(SK_NOT_READY, ASC_LU_NOT_READY_MANUAL_INTERVENTION);
	} else if (!atomic_load(&lu->medium_present)) {
		si = sense_info_make(SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	}
	n = sense_build(b, sizeof(b), desc, &si);
	if (n < 0)
		return scsi_task_check(t, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
	return scsi_task_data(t, b, alloc < (uint32_t)n ? alloc : (uint32_t)n);
}

/* SELECT REPORT values, SPC-5 table 306. */
#define REPORT_LUNS_ALL_LOGICAL 0x00
#define REPORT_LUNS_WELL_KNOWN  0x01
#define REPORT_LUNS_ALL         0x02

int spc_report_luns(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint32_t alloc = get_be32(cdb + 6);
	const struct scsi_port *port = t->port;
	uint64_t *luns = NULL;
	uint8_t *b = NULL;
	size_t count = 0, len;
	int rc = 0;

	if (cdb[2] > REPORT_LUNS_ALL)
		return scsi_task_bad_cdb(t, 2, -1);
	if (cdb[2] != REPORT_LUNS_WELL_KNOWN) {
		if (port && port->lun_list) {
			count = port->lun_list(port->lun_list_arg, NULL, 0);
			if (count > LUN_FLAT_MAX + 1)
				count = LUN_FLAT_MAX + 1;
			luns = calloc(count ? count : 1, sizeof(*luns));
			if (!luns)
				return scsi_task_errno(t, -ENOMEM, false);
			size_t got = port->lun_list(port->lun_list_arg, luns, count);
			if (got < count)
				count = got;
		} else if (lu) {
			luns = calloc(1, sizeof(*luns));
			if (!luns)
				return scsi_task_errno(t, -ENOMEM, false);
			luns[0] = lu->lun;
			count = 1;
		}
	}
	len = 8 + 8 * count;
	b = calloc(1, len);
	if (!b) {
		rc = scsi_task_errno(t, -ENOMEM, false);
		goto out;
	}
	/* LUNs past flat addressing cannot be named on the wire: left out. */
	size_t k = 0;
	for (size_t i = 0; i < count; i++)
		if (luns[i] <= LUN_FLAT_MAX && lun_encode((uint32_t)luns[i], b + 8 + 8 * k) == 0)
			k++;
	put_be32(b, (uint32_t)(8 * k));
	len = 8 + 8 * k;
	rc = scsi_task_data(t, b, alloc < len ? alloc : (uint32_t)len);
out:
	free(luns);
	free(b);
	return rc;
}

/*
 * Mode pages. One function builds a page's current, changeable or default
 * values; MODE SENSE returns them and MODE SELECT checks against them.
 */
enum { MODE_PAGE_MAX_LEN = 20 };

static size_t mode_page(struct tgt_lu *lu, uint8_t page, int pc, uint8_t *p)
{
	memset(p, 0, MODE_PAGE_MAX_LEN);
	switch (page) {
	case MODE_PAGE_CACHING:
		p[0] = MODE_PAGE_CACHING;
		p[1] = 0x12;
		if (pc == MODE_PC_CHANGEABLE)
			p[2] = lu->bs.write_cache ? CACHING_WCE : 0;
		else if (pc == MODE_PC_DEFAULT)
			p[2] = lu->bs.write_cache ? CACHING_WCE : 0;
		else
			p[2] = atomic_load(&lu->wce) ? CACHING_WCE : 0;
		return 20;
	case MODE_PAGE_CONTROL:
		p[0] = MODE_PAGE_CONTROL;
		p[1] = 0x0a;
		if (pc == MODE_PC_CHANGEABLE) {
			p[2] = CONTROL_D_SENSE;
			p[4] = CONTROL_SWP;
		} else {
			p[4] = pc == MODE_PC_CURRENT && atomic_load(&lu->swp) ? CONTROL_SWP : 0;
			p[2] = pc == MODE_PC_CURRENT && atomic_load(&lu->d_sense) ? CONTROL_D_SENSE
			                                                          : 0;
			p[3] = CONTROL_QAM_UNRESTRICTED;
			put_be16(p + 8, 0xffff); /* BUSY TIMEOUT PERIOD: unlimited */
		}
		return 12;
	case MODE_PAGE_INFORMATIONAL_EXCEPTIONS:
		p[0] = MODE_PAGE_INFORMATIONAL_EXCEPTIONS;
		p[1] = 0x0a;
		if (pc != MODE_PC_CHANGEABLE)
			p[2] = IEC_DEXCPT;
		return 12;
	default:
		return 0;
	}
}

static const uint8_t mode_pages_all[] = {
        MODE_PAGE_CACHING,
        MODE_PAGE_CONTROL,
        MODE_PAGE_INFORMATIONAL_EXCEPTIONS,
};

int spc_mode_sense(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	bool ten = cdb[0] == MODE_SENSE_10;
	bool dbd = cdb[1] & 0x08;
	bool llbaa = ten && (cdb[1] & 0x10);
	int pc = cdb[2] >> 6;
	uint8_t page = cdb[2] & 0x3f, subpage = cdb[3];
	uint32_t alloc = ten ? get_be16(cdb + 7) : cdb[4];
	uint8_t b[256] = {0};
	size_t hdr = ten ? 8 : 4, off, bdlen = 0;

	if (cdb[1] & (ten ? 0xe7 : 0xf7))
		return scsi_task_bad_cdb(t, 1, -1);
	if (pc == MODE_PC_SAVED)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMETERS_NOT_SUPPORTED);
	off = hdr;
	if (!dbd) {
		/* Block descriptor, SBC-4 6.5.2: short, or long with LLBAA. */
		if (llbaa) {
			put_be64(b + off, lu->nblocks);
			put_be32(b + off + 12, lu->block_size);
			bdlen = 16;
		} else {
			put_be32(b + off,
			         lu->nblocks > UINT32_MAX ? UINT32_MAX : (uint32_t)lu->nblocks);
			put_be24(b + off + 5, lu->block_size);
			bdlen = 8;
		}
		off += bdlen;
	}
	if (page == MODE_PAGE_ALL) {
		if (subpage != 0 && subpage != MODE_SUBPAGE_ALL)
			return scsi_task_bad_cdb(t, 3, -1);
		for (size_t i = 0; i < sizeof(mode_pages_all); i++)
			off += mode_page(lu, mode_pages_all[i], pc, b + off);
	} else {
		size_t n;

		if (subpage != 0 && subpage != MODE_SUBPAGE_ALL)
			return scsi_task_bad_cdb(t, 3, -1);
		n = mode_page(lu, page, pc, b + off);
		if (!n)
			return scsi_task_bad_cdb(t, 2, 5);
		off += n;
	}
	uint8_t dsp = MODE_DSP_DPOFUA | (lu->readonly || atomic_load(&lu->swp) ? MODE_DSP_WP : 0);
	if (ten) {
		put_be16(b, (uint16_t)(off - 2));
		b[3] = dsp;
		b[4] = llbaa ? 0x01 : 0;
		put_be16(b + 6, (uint16_t)bdlen);
	} else {
		b[0] = (uint8_t)(off - 1);
		b[2] = dsp;
		b[3] = (uint8_t)bdlen;
	}
	return scsi_task_data(t, b, alloc < off ? alloc : (uint32_t)off);
}

int spc_mode_select(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	bool ten = cdb[0] == MODE_SELECT_10;
	uint32_t plen = ten ? get_be16(cdb + 7) : cdb[4];
	const uint8_t *p = t->data_out;
	size_t hdr = ten ? 8 : 4, off, bdlen;
	bool wce, d_sense, swp, changed = false;

	/* PF must be one (SPC-5 6.11): only standard page formats. SP: no saving. */
	if (cdb[1] & 0xee)
		return scsi_task_bad_cdb(t, 1, -1);
	if (cdb[1] & 0x01)
		return scsi_task_bad_cdb(t, 1, 0);
	if (plen == 0) {
		scsi_task_good(t);
		return 0;
	}
	if (!(cdb[1] & 0x10))
		return scsi_task_bad_cdb(t, 1, 4);
	if (plen < hdr)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	bdlen = ten ? get_be16(p + 6) : p[3];
	off = hdr;
	if (bdlen) {
		/* One descriptor, and it must repeat the block length we have. */
		size_t want = ten && (p[4] & 0x01) ? 16 : 8;

		if (bdlen != want || off + bdlen > plen)
			return scsi_task_check(t, SK_ILLEGAL_REQUEST,
			                       ASC_PARAMETER_LIST_LENGTH_ERROR);
		uint32_t blen = want == 16 ? get_be32(p + off + 12) : get_be24(p + off + 5);
		if (blen != lu->block_size)
			return scsi_task_bad_param(t, (uint16_t)(off + (want == 16 ? 12 : 5)), -1);
		off += bdlen;
	}
	wce = atomic_load(&lu->wce);
	d_sense = atomic_load(&lu->d_sense);
	swp = atomic_load(&lu->swp);
	/* Bounded by plen: each page advances off by at least 2. */
	while (off < plen) {
		uint8_t cur[MODE_PAGE_MAX_LEN], chg[MODE_PAGE_MAX_LEN];
		size_t n;

		if (off + 2 > plen)
			return scsi_task_check(t, SK_ILLEGAL_REQUEST,
			                       ASC_PARAMETER_LIST_LENGTH_ERROR);
		if (p[off] & 0x40) /* SPF: no subpages here */
			return scsi_task_bad_param(t, (uint16_t)off, 6);
		n = mode_page(lu, p[off] & 0x3f, MODE_PC_CURRENT, cur);
		if (!n)
			return scsi_task_bad_param(t, (uint16_t)off, 5);
		if (p[off + 1] != n - 2)
			return scsi_task_bad_param(t, (uint16_t)(off + 1), -1);
		if (off + n > plen)
			return scsi_task_check(t, SK_ILLEGAL_REQUEST,
			                       ASC_PARAMETER_LIST_LENGTH_ERROR);
		mode_page(lu, p[off] & 0x3f, MODE_PC_CHANGEABLE, chg);
		/* Bytes past the header: only changeable bits may differ. */
		for (size_t i = 2; i < n; i++) {
			uint8_t diff = (uint8_t)((p[off + i] ^ cur[i]) & ~chg[i]);

			if (diff)
				return scsi_task_bad_param(t, (uint16_t)(off + i),
				                           31 - __builtin_clz(diff));
		}
		if ((p[off] & 0x3f) == MODE_PAGE_CACHING)
			wce = p[off + 2] & CACHING_WCE;
		else if ((p[off] & 0x3f) == MODE_PAGE_CONTROL) {
			d_sense = p[off + 2] & CONTROL_D_SENSE;
			swp = p[off + 4] & CONTROL_SWP;
		}
		off += n;
	}
	pthread_mutex_lock(&lu->lock);
	if (atomic_load(&lu->wce) != wce || atomic_load(&lu->d_sense) != d_sense ||
	    atomic_load(&lu->swp) != swp)
		changed = true;
	/* Turning the write cache off must leave nothing volatile behind. */
	if (!wce && atomic_load(&lu->wce)) {
		int rc = bs_flush(&lu->bs);

		if (rc) {
			pthread_mutex_unlock(&lu->lock);
			return scsi_task_errno(t, rc, true);
		}
	}
	atomic_store(&lu->wce, wce);
	atomic_store(&lu->d_sense, d_sense);
	atomic_store(&lu->swp, swp);
	pthread_mutex_unlock(&lu->lock);
	/* SPC-5 7.5.1: other nexuses learn of the change by unit attention. */
	if (changed)
		tgt_lu_ua_raise(lu, TGT_UA_MODE_CHANGED, t->nexus);
	scsi_task_good(t);
	return 0;
}

/* REPORT SUPPORTED OPERATION CODES, SPC-5 6.35. */
#define RSOC_RCTD         0x80
#define RSOC_ALL          0x00
#define RSOC_ONE          0x01
#define RSOC_ONE_SA       0x02
#define RSOC_ONE_MAYBE    0x03
#define RSOC_CTDP         0x02
#define RSOC_SERVACTV     0x01
#define RSOC_SUPPORTED    0x03
#define RSOC_UNSUPPORTED  0x01
#define RSOC_TIMEOUTS_LEN 12

static size_t rsoc_timeouts(uint8_t *p)
{
	memset(p, 0, RSOC_TIMEOUTS_LEN);
	put_be16(p, RSOC_TIMEOUTS_LEN - 2);
	return RSOC_TIMEOUTS_LEN;
}

static size_t rsoc_desc(uint8_t *p, uint8_t op, uint16_t sa, bool has_sa, const struct scsi_cmd *c,
                        bool rctd)
{
	memset(p, 0, 8);
	p[0] = op;
	put_be16(p + 2, sa);
	p[5] = (has_sa ? RSOC_SERVACTV : 0) | (rctd ? RSOC_CTDP : 0);
	put_be16(p + 6, c->cdb_len);
	return 8 + (rctd ? rsoc_timeouts(p + 8) : 0);
}

int spc_report_supported_opcodes(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	bool rctd = cdb[2] & RSOC_RCTD;
	uint8_t opt = cdb[2] & 0x07, op = cdb[3];
	uint16_t sa = get_be16(cdb + 4);
	uint32_t alloc = get_be32(cdb + 6);
	const struct scsi_cmd *c = NULL;
	uint8_t b[4096];
	size_t off = 0;

	if (cdb[2] & 0x78)
		return scsi_task_bad_cdb(t, 2, -1);
	switch (opt) {
	case RSOC_ALL:
		off = 4;
		for (unsigned i = 0; i < 256; i++) {
			const struct scsi_cmd *e = &scsi_cmds[i];

			if (!e->name || !e->exec || !scsi_cmd_available(lu, e))
				continue;
			off += rsoc_desc(b + off, (uint8_t)i, 0, false, e, rctd);
		}
		for (size_t i = 0; i < scsi_sa_cmds_count; i++)
			if (scsi_cmd_available(lu, &scsi_sa_cmds[i].cmd))
				off += rsoc_desc(b + off, scsi_sa_cmds[i].opcode,
				                 scsi_sa_cmds[i].sa, true, &scsi_sa_cmds[i].cmd,
				                 rctd);
		put_be32(b, (uint32_t)(off - 4));
		break;
	case RSOC_ONE:
	case RSOC_ONE_SA:
	case RSOC_ONE_MAYBE: {
		bool has_sa = scsi_cmds[op].flags & SCSI_F_SA;

		if ((opt == RSOC_ONE && has_sa) ||
		    (opt == RSOC_ONE_SA && !has_sa && scsi_cmds[op].name))
			return scsi_task_bad_cdb(t, 2, 2);
		if (has_sa) {
			for (size_t i = 0; i < scsi_sa_cmds_count; i++)
				if (scsi_sa_cmds[i].opcode == op && scsi_sa_cmds[i].sa == sa)
					c = &scsi_sa_cmds[i].cmd;
		} else if (scsi_cmds[op].exec) {
			c = &scsi_cmds[op];
		}
		memset(b, 0, 4);
		if (!c || !scsi_cmd_available(lu, c)) {
			b[1] = RSOC_UNSUPPORTED;
			off = 4;
			break;
		}
		b[1] = RSOC_SUPPORTED | (rctd ? 0x80 : 0);
		put_be16(b + 2, c->cdb_len);
		memcpy(b + 4, c->usage, c->cdb_len);
		off = 4 + c->cdb_len;
		if (rctd)
			off += rsoc_timeouts(b + off);
		break;
	}
	default:
		return scsi_task_bad_cdb(t, 2, 2);
	}
	return scsi_task_data(t, b, alloc < off ? alloc : (uint32_t)off);
}

/* REPORT TARGET PORT GROUPS, SPC-5 6.37: one group, active/optimized. */
#define RTPG_PREF    0x80
#define RTPG_AAS_AO  0x00
#define RTPG_AO_SUP  0x01
#define RTPG_FMT_EXT 0x20
#define RTPG_EXT_HDR 0x10

int spc_report_target_port_groups(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint32_t alloc = get_be32(cdb + 6);
	const struct scsi_port *port = t->port;
	uint8_t b[32] = {0};
	size_t off = 4;
	bool ext = (cdb[1] & 0xe0) == RTPG_FMT_EXT;

	if ((cdb[1] & 0xe0) && !ext)
		return scsi_task_bad_cdb(t, 1, 7);
	if (ext) {
		b[4] = RTPG_EXT_HDR;
		off = 8;
	}
	b[off] = RTPG_PREF | RTPG_AAS_AO;
	b[off + 1] = RTPG_AO_SUP;
	put_be16(b + off + 2, port ? port->tpgt : 1);
	b[off + 7] = 1;
	put_be16(b + off + 8 + 2, port ? port->rel_port_id : 1);
	off += 12;
	put_be32(b, (uint32_t)(off - 4));
	return scsi_task_data(t, b, alloc < off ? alloc : (uint32_t)off);
}

/* SPC-5 5.14.3: with registrations present, SPC-2 reservations conflict. */
static bool pr_in_use(struct tgt_lu *lu)
{
	bool used;

	pthread_mutex_lock(&lu->lock);
	used = lu->pr.nregs > 0 || lu->pr.reserved;
	pthread_mutex_unlock(&lu->lock);
	return used;
}

/* SPC-2 7.21/7.24 RESERVE/RELEASE: whole-LU, no third party. */
int spc_reserve(struct tgt_lu *lu, struct scsi_task *t)
{
	uint64_t key = t->nexus + 1;
	uint64_t none = 0;

	if (t->cdb[0] == RESERVE_10 && (t->cdb[1] & 0x12))
		return scsi_task_bad_cdb(t, 1, t->cdb[1] & 0x10 ? 4 : 1);
	if (pr_in_use(lu)) {
		t->status = SAM_STAT_RESERVATION_CONFLICT;
		return 0;
	}
	if (atomic_compare_exchange_strong(&lu->reserved_by, &none, key) || none == key) {
		scsi_task_good(t);
		return 0;
	}
	t->status = SAM_STAT_RESERVATION_CONFLICT;
	return 0;
}

int spc_release(struct tgt_lu *lu, struct scsi_task *t)
{
	uint64_t key = t->nexus + 1;

	if (t->cdb[0] == RELEASE_10 && (t->cdb[1] & 0x12))
		return scsi_task_bad_cdb(t, 1, t->cdb[1] & 0x10 ? 4 : 1);
	if (pr_in_use(lu)) {
		t->status = SAM_STAT_RESERVATION_CONFLICT;
		return 0;
	}
	/* A release by a nexus that holds nothing is GOOD and changes nothing. */
	atomic_compare_exchange_strong(&lu->reserved_by, &key, 0);
	scsi_task_good(t);
	return 0;
}

/* SEND DIAGNOSTIC, SPC-5 6.42: the default self-test passes; nothing else. */
#define SENDDIAG_SELFTEST 0x04

int spc_send_diagnostic(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint8_t code = cdb[1] >> 5;

	if (get_be16(cdb + 3))
		return scsi_task_bad_cdb(t, 3, -1);
	if ((cdb[1] & SENDDIAG_SELFTEST) && code)
		return scsi_task_bad_cdb(t, 1, 7);
	/* Background/foreground short and extended self-tests: nothing to test. */
	if (code != 0 && code != 1 && code != 2 && code != 5 && code != 6)
		return scsi_task_bad_cdb(t, 1, 7);
	scsi_task_good(t);
	return 0;
}
