/*
 * Big-endian field access and CDB decoders. SCSI is big-endian on the wire
 * (SPC-5 3.5.2); every multi-byte field goes through these helpers so no
 * caller casts a byte pointer to a wider type.
 */
#ifndef XISCSI_LIB_CDB_H
#define XISCSI_LIB_CDB_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/scsi.h"

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t get_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/*
 * CDB length from the group code in the top three bits of the opcode
 * (SPC-5 4.2.5.1). Returns 0 for the reserved and vendor-specific groups,
 * whose length the opcode alone does not tell.
 */
static inline unsigned scsi_cdb_len(uint8_t opcode)
{
	switch (opcode >> 5) {
	case 0:
		return 6;
	case 1:
	case 2:
		return 10;
	case 4:
		return 16;
	case 5:
		return 12;
	default:
		return 0;
	}
}

/* Logical block address and transfer length of a READ/WRITE-style CDB. */
struct cdb_rw {
	uint64_t lba;
	uint32_t len;  /* in logical blocks */
	uint8_t flags; /* byte 1: DPO 0x10, FUA 0x08, protect bits 0xe0 */
};

#define CDB_RW_DPO 0x10
#define CDB_RW_FUA 0x08

/*
 * Decode the LBA and transfer length of the READ/WRITE/VERIFY/WRITE SAME
 * family by CDB size: 6 (SBC-4 5.11: 21-bit LBA, zero length means 256),
 * 10, 12 and 16 bytes. cdb_len must be at least the size the opcode's group
 * implies; returns 0 or -EINVAL.
 */
static inline int cdb_decode_rw(const uint8_t *cdb, unsigned cdb_len, struct cdb_rw *rw)
{
	unsigned need = scsi_cdb_len(cdb[0]);

	if (need == 0 || cdb_len < need)
		return -EINVAL;
	switch (need) {
	case 6:
		rw->lba = get_be24(cdb + 1) & 0x1fffff;
		rw->len = cdb[4] ? cdb[4] : 256;
		rw->flags = 0;
		break;
	case 10:
		rw->lba = get_be32(cdb + 2);
		rw->len = get_be16(cdb + 7);
		rw->flags = cdb[1];
		break;
	case 12:
		rw->lba = get_be32(cdb + 2);
		rw->len = get_be32(cdb + 6);
		rw->flags = cdb[1];
		break;
	default:
		rw->lba = get_be64(cdb + 2);
		rw->len = get_be32(cdb + 10);
		rw->flags = cdb[1];
		break;
	}
	return 0;
}

#endif
