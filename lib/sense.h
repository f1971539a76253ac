/*
 * Sense data, SPC-5 4.4: builders for the fixed (0x70) and descriptor (0x72)
 * formats, and one parser for both, so the target and the initiator read
 * and write the same bytes.
 */
#ifndef XISCSI_LIB_SENSE_H
#define XISCSI_LIB_SENSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/scsi.h"

/* Fixed format is 18 bytes with the sense-key-specific field (SPC-5 4.4.3). */
#define SENSE_FIXED_LEN 18
/* Descriptor header 8 + information descriptor 12 + SKS descriptor 8. */
#define SENSE_DESC_MAX_LEN 28

/* Sense-key-specific byte 0 bits for ILLEGAL REQUEST (SPC-5 4.4.2.4.2). */
#define SKS_VALID 0x80
#define SKS_CD    0x40 /* the field is in the CDB, not the parameter list */
#define SKS_BPV   0x08 /* the bit pointer is valid */

struct sense_info {
	uint8_t key;     /* enum scsi_sense_key */
	uint16_t asc;    /* ASC << 8 | ASCQ, enum scsi_asc */
	bool deferred;   /* 0x71/0x73 rather than current 0x70/0x72 */
	bool info_valid; /* the INFORMATION field holds something */
	uint64_t info;   /* LBA or offset; the fixed format keeps 32 bits */
	bool sks_valid;  /* sks[] holds a sense-key-specific value */
	uint8_t sks[3];  /* SKSV bit included in sks[0] when valid */
};

/* A sense_info with only key and ASC/ASCQ. */
static inline struct sense_info sense_info_make(uint8_t key, uint16_t asc)
{
	struct sense_info si = {.key = key, .asc = asc};

	return si;
}

/*
 * Point the sense-key-specific field at the offending byte (and bit, 0..7,
 * or -1 for the whole byte) of the CDB (in_cdb) or the parameter list.
 */
void sense_set_field_pointer(struct sense_info *si, bool in_cdb, uint16_t byte, int bit);

/* The sense-key-specific field as a progress indication (NOT READY, 0..65535). */
void sense_set_progress(struct sense_info *si, uint16_t progress);

/*
 * Write fixed-format sense into buf. Returns the length written (18) or
 * -ENOSPC when size is too small. An INFORMATION value above 32 bits clears
 * the VALID bit, as SPC-5 4.4.3 requires.
 */
ssize_t sense_build_fixed(uint8_t *buf, size_t size, const struct sense_info *si);

/* Write descriptor-format sense (information and SKS descriptors as set). */
ssize_t sense_build_desc(uint8_t *buf, size_t size, const struct sense_info *si);

/* One of the two by the D_SENSE choice of the control mode page. */
ssize_t sense_build(uint8_t *buf, size_t size, bool descriptor, const struct sense_info *si);

/*
 * Parse sense data of either format. Returns 0, or -EINVAL for an unknown
 * response code or data too short to hold the sense key; ASC/ASCQ and
 * descriptors are read only as far as len and the ADDITIONAL SENSE LENGTH
 * both allow.
 */
int sense_parse(const uint8_t *buf, size_t len, struct sense_info *si);

/* Short names for logs: "ILLEGAL REQUEST", and the ASC text when known. */
const char *sense_key_str(uint8_t key);
const char *sense_asc_str(uint16_t asc);

#endif
