/*
 * SAM-5 4.7 LUN encoding for the 8-byte LUN field (RFC 7143 11.3.4 refers
 * to SAM). Only single-level LUNs: peripheral device addressing (method 00b,
 * bus 0) for LUN < 256, flat space addressing (method 01b) below 16384 —
 * the forms Linux, libiscsi and tgt use.
 */
#ifndef XI_LUN_H
#define XI_LUN_H

#include <stdint.h>

#define LUN_WIRE_SIZE      8
#define LUN_PERIPHERAL_MAX 255u
#define LUN_FLAT_MAX       16383u

/* Writes 8 bytes; -EINVAL when lun > LUN_FLAT_MAX. */
int lun_encode(uint32_t lun, uint8_t out[LUN_WIRE_SIZE]);

/*
 * Reads 8 bytes; -EINVAL for logical unit or extended addressing, a
 * peripheral bus other than 0, or a second level (bytes 2..7 not zero).
 */
int lun_decode(const uint8_t in[LUN_WIRE_SIZE], uint32_t *lun);

#endif
