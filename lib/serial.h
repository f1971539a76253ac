/*
 * Serial number arithmetic, RFC 1982 with SERIAL_BITS = 32, as RFC 7143
 * section 4.2.2.1 requires for CmdSN, StatSN, DataSN and R2TSN.
 *
 * Two numbers exactly 2^31 apart are undefined under RFC 1982; here neither
 * is less than nor greater than the other, so a window check fails closed.
 */
#ifndef XI_SERIAL_H
#define XI_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

#define SERIAL_HALF 0x80000000u

static inline bool serial_lt(uint32_t a, uint32_t b)
{
	return (a < b && b - a < SERIAL_HALF) || (a > b && a - b > SERIAL_HALF);
}

static inline bool serial_gt(uint32_t a, uint32_t b)
{
	return (a < b && b - a > SERIAL_HALF) || (a > b && a - b < SERIAL_HALF);
}

static inline bool serial_le(uint32_t a, uint32_t b)
{
	return a == b || serial_lt(a, b);
}

static inline bool serial_ge(uint32_t a, uint32_t b)
{
	return a == b || serial_gt(a, b);
}

/*
 * lo <= x <= hi in serial order: e.g. a CmdSN inside [ExpCmdSN, MaxCmdSN]
 * (RFC 7143 4.2.2.1). Note RFC 7143 allows MaxCmdSN = ExpCmdSN - 1 to mean
 * an empty window; that gives serial_gt(lo, hi) here and so no x fits.
 */
static inline bool serial_in_window(uint32_t x, uint32_t lo, uint32_t hi)
{
	return serial_le(lo, x) && serial_le(x, hi);
}

#endif
