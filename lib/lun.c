/* SAM-5 single-level LUN addressing; see lun.h. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "lib/lun.h"

/* SAM-5 4.7.2: the address method is the top two bits of byte 0. */
#define LUN_METHOD_SHIFT      6
#define LUN_METHOD_PERIPHERAL 0x0
#define LUN_METHOD_FLAT       0x1
#define LUN_LOW6_MASK         0x3f

int lun_encode(uint32_t lun, uint8_t out[LUN_WIRE_SIZE])
{
	if (lun > LUN_FLAT_MAX)
		return -EINVAL;
	memset(out, 0, LUN_WIRE_SIZE);
	if (lun <= LUN_PERIPHERAL_MAX) {
		out[0] = LUN_METHOD_PERIPHERAL << LUN_METHOD_SHIFT;
		out[1] = (uint8_t)lun;
	} else {
		out[0] = (uint8_t)((LUN_METHOD_FLAT << LUN_METHOD_SHIFT) | (lun >> 8));
		out[1] = (uint8_t)lun;
	}
	return 0;
}

int lun_decode(const uint8_t in[LUN_WIRE_SIZE], uint32_t *lun)
{
	for (int i = 2; i < LUN_WIRE_SIZE; i++)
		if (in[i] != 0)
			return -EINVAL;
	switch (in[0] >> LUN_METHOD_SHIFT) {
	case LUN_METHOD_PERIPHERAL:
		/* Byte 0 low bits are the bus identifier: only bus 0 is ours. */
		if (in[0] & LUN_LOW6_MASK)
			return -EINVAL;
		*lun = in[1];
		return 0;
	case LUN_METHOD_FLAT:
		*lun = ((uint32_t)(in[0] & LUN_LOW6_MASK) << 8) | in[1];
		return 0;
	default:
		return -EINVAL;
	}
}
