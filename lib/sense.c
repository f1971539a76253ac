/* Sense data builders and parser: SPC-5 4.4. */
#include <errno.h>
#include <string.h>

#include "lib/cdb.h"
#include "lib/sense.h"

/* Descriptor types: SPC-5 table 29. */
#define SENSE_DESC_TYPE_INFORMATION 0x00
#define SENSE_DESC_TYPE_SKS         0x02
#define SENSE_DESC_INFO_LEN         12
#define SENSE_DESC_SKS_LEN          8
/* Fixed format byte 0: VALID means INFORMATION is meaningful (SPC-5 4.4.3). */
#define SENSE_FIXED_VALID 0x80
#define SENSE_FIXED_ADDL  10

void sense_set_field_pointer(struct sense_info *si, bool in_cdb, uint16_t byte, int bit)
{
	si->sks_valid = true;
	si->sks[0] = SKS_VALID | (in_cdb ? SKS_CD : 0);
	if (bit >= 0 && bit <= 7)
		si->sks[0] |= SKS_BPV | (uint8_t)bit;
	put_be16(&si->sks[1], byte);
}

void sense_set_progress(struct sense_info *si, uint16_t progress)
{
	si->sks_valid = true;
	si->sks[0] = SKS_VALID;
	put_be16(&si->sks[1], progress);
}

ssize_t sense_build_fixed(uint8_t *buf, size_t size, const struct sense_info *si)
{
	if (size < SENSE_FIXED_LEN)
		return -ENOSPC;
	memset(buf, 0, SENSE_FIXED_LEN);
	buf[0] = si->deferred ? SENSE_FIXED_DEFERRED : SENSE_FIXED_CURRENT;
	buf[2] = si->key & 0x0f;
	if (si->info_valid) {
		put_be32(buf + 3, (uint32_t)si->info);
		if (si->info <= UINT32_MAX)
			buf[0] |= SENSE_FIXED_VALID;
	}
	buf[7] = SENSE_FIXED_ADDL;
	buf[12] = SCSI_ASC(si->asc);
	buf[13] = SCSI_ASCQ(si->asc);
	if (si->sks_valid)
		memcpy(buf + 15, si->sks, 3);
	return SENSE_FIXED_LEN;
}

ssize_t sense_build_desc(uint8_t *buf, size_t size, const struct sense_info *si)
{
	size_t len = 8;

	if (si->info_valid)
		len += SENSE_DESC_INFO_LEN;
	if (si->sks_valid)
		len += SENSE_DESC_SKS_LEN;
	if (size < len)
		return -ENOSPC;
	memset(buf, 0, len);
	buf[0] = si->deferred ? SENSE_DESC_DEFERRED : SENSE_DESC_CURRENT;
	buf[1] = si->key & 0x0f;
	buf[2] = SCSI_ASC(si->asc);
	buf[3] = SCSI_ASCQ(si->asc);
	buf[7] = (uint8_t)(len - 8);
	uint8_t *d = buf + 8;
	if (si->info_valid) {
		/* SPC-5 4.4.2.2: VALID shall be one in this descriptor. */
		d[0] = SENSE_DESC_TYPE_INFORMATION;
		d[1] = SENSE_DESC_INFO_LEN - 2;
		d[2] = 0x80;
		put_be64(d + 4, si->info);
		d += SENSE_DESC_INFO_LEN;
	}
	if (si->sks_valid) {
		d[0] = SENSE_DESC_TYPE_SKS;
		d[1] = SENSE_DESC_SKS_LEN - 2;
		memcpy(d + 4, si->sks, 3);
	}
	return (ssize_t)len;
}

ssize_t sense_build(uint8_t *buf, size_t size, bool descriptor, const struct sense_info *si)
{
	return descriptor ? sense_build_desc(buf, size, si) : sense_build_fixed(buf, size, si);
}

static int sense_parse_fixed(const uint8_t *buf, size_t len, struct sense_info *si)
{
	if (len < 3)
		return -EINVAL;
	size_t end = len;
	if (len >= 8 && (size_t)buf[7] + 8 < end)
		end = (size_t)buf[7] + 8;
	si->key = buf[2] & 0x0f;
	if (end >= 7 && (buf[0] & SENSE_FIXED_VALID)) {
		si->info_valid = true;
		si->info = get_be32(buf + 3);
	}
	if (end >= 13)
		si->asc = (uint16_t)(buf[12] << 8);
	if (end >= 14)
		si->asc |= buf[13];
	if (end >= 18 && (buf[15] & SKS_VALID)) {
		si->sks_valid = true;
		memcpy(si->sks, buf + 15, 3);
	}
	return 0;
}

static int sense_parse_desc(const uint8_t *buf, size_t len, struct sense_info *si)
{
	if (len < 4)
		return -EINVAL;
	si->key = buf[1] & 0x0f;
	si->asc = get_be16(buf + 2);
	if (len < 8)
		return 0;
	size_t end = (size_t)buf[7] + 8;
	if (end > len)
		end = len;
	/* Each descriptor: type, additional length, then that many bytes. */
	for (size_t off = 8; off + 2 <= end;) {
		const uint8_t *d = buf + off;
		size_t dlen = (size_t)d[1] + 2;

		if (off + dlen > end)
			break;
		if (d[0] == SENSE_DESC_TYPE_INFORMATION && dlen >= SENSE_DESC_INFO_LEN) {
			si->info_valid = (d[2] & 0x80) != 0;
			si->info = get_be64(d + 4);
		} else if (d[0] == SENSE_DESC_TYPE_SKS && dlen >= SENSE_DESC_SKS_LEN &&
		           (d[4] & SKS_VALID)) {
			si->sks_valid = true;
			memcpy(si->sks, d + 4, 3);
		}
		off += dlen;
	}
	return 0;
}

int sense_parse(const uint8_t *buf, size_t len, struct sense_info *si)
{
	memset(si, 0, sizeof(*si));
	if (len < 1)
		return -EINVAL;
	switch (buf[0] & 0x7f) {
	case SENSE_FIXED_DEFERRED:
		si->deferred = true;
		/* fall through */
	case SENSE_FIXED_CURRENT:
		return sense_parse_fixed(buf, len, si);
	case SENSE_DESC_DEFERRED:
		si->deferred = true;
		/* fall through */
	case SENSE_DESC_CURRENT:
		return sense_parse_desc(buf, len, si);
	default:
		return -EINVAL;
	}
}

static const char *const sense_key_names[16] = {
        [SK_NO_SENSE] = "NO SENSE",
        [SK_RECOVERED_ERROR] = "RECOVERED ERROR",
        [SK_NOT_READY] = "NOT READY",
        [SK_MEDIUM_ERROR] = "MEDIUM ERROR",
        [SK_HARDWARE_ERROR] = "HARDWARE ERROR",
        [SK_ILLEGAL_REQUEST] = "ILLEGAL REQUEST",
        [SK_UNIT_ATTENTION] = "UNIT ATTENTION",
        [SK_DATA_PROTECT] = "DATA PROTECT",
        [SK_BLANK_CHECK] = "BLANK CHECK",
        [SK_VENDOR_SPECIFIC] = "VENDOR SPECIFIC",
        [SK_COPY_ABORTED] = "COPY ABORTED",
        [SK_ABORTED_COMMAND] = "ABORTED COMMAND",
        [0xc] = "RESERVED",
        [SK_VOLUME_OVERFLOW] = "VOLUME OVERFLOW",
        [SK_MISCOMPARE] = "MISCOMPARE",
        [SK_COMPLETED] = "COMPLETED",
};

const char *sense_key_str(uint8_t key)
{
	return sense_key_names[key & 0x0f];
}

static const struct {
	uint16_t asc;
	const char *str;
} sense_asc_names[] = {
        {ASC_NO_ADDITIONAL_SENSE, "NO ADDITIONAL SENSE INFORMATION"},
        {ASC_LU_NOT_READY_MANUAL_INTERVENTION,
         "LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED"},
        {ASC_WRITE_ERROR, "WRITE ERROR"},
        {ASC_UNRECOVERED_READ_ERROR, "UNRECOVERED READ ERROR"},
        {ASC_MISCOMPARE_DURING_VERIFY, "MISCOMPARE DURING VERIFY OPERATION"},
        {ASC_PARAMETER_LIST_LENGTH_ERROR, "PARAMETER LIST LENGTH ERROR"},
        {ASC_INVALID_OPCODE, "INVALID COMMAND OPERATION CODE"},
        {ASC_LBA_OUT_OF_RANGE, "LOGICAL BLOCK ADDRESS OUT OF RANGE"},
        {ASC_INVALID_FIELD_IN_CDB, "INVALID FIELD IN CDB"},
        {ASC_LU_NOT_SUPPORTED, "LOGICAL UNIT NOT SUPPORTED"},
        {ASC_INVALID_FIELD_IN_PARAMETER_LIST, "INVALID FIELD IN PARAMETER LIST"},
        {ASC_WRITE_PROTECTED, "WRITE PROTECTED"},
        {ASC_NOT_READY_TO_READY_CHANGE, "NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED"},
        {ASC_POWER_ON_RESET, "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED"},
        {ASC_MODE_PARAMETERS_CHANGED, "MODE PARAMETERS CHANGED"},
        {ASC_CAPACITY_DATA_HAS_CHANGED, "CAPACITY DATA HAS CHANGED"},
        {ASC_SAVING_PARAMETERS_NOT_SUPPORTED, "SAVING PARAMETERS NOT SUPPORTED"},
        {ASC_MEDIUM_NOT_PRESENT, "MEDIUM NOT PRESENT"},
        {ASC_REPORTED_LUNS_DATA_CHANGED, "REPORTED LUNS DATA HAS CHANGED"},
        {ASC_INTERNAL_TARGET_FAILURE, "INTERNAL TARGET FAILURE"},
        {ASC_MEDIUM_REMOVAL_PREVENTED, "MEDIUM REMOVAL PREVENTED"},
};

const char *sense_asc_str(uint16_t asc)
{
	for (size_t i = 0; i < sizeof(sense_asc_names) / sizeof(sense_asc_names[0]); i++)
		if (sense_asc_names[i].asc == asc)
			return sense_asc_names[i].str;
	return "UNKNOWN ADDITIONAL SENSE CODE";
}
