#include "crc32c.h"

#include <isa-l/crc.h>
#include <limits.h>

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* ISA-L takes an int length; feed larger buffers in pieces. */
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		crc = crc32_iscsi((unsigned char *)p, n, crc);
		p += n;
		len -= (size_t)n;
	}
	return crc;
}

uint32_t crc32c(const void *buf, size_t len)
{
	return crc32c_final(crc32c_update(CRC32C_SEED, buf, len));
}

uint32_t crc32c_iov(const struct iovec *iov, int iovcnt)
{
	uint32_t crc = CRC32C_SEED;

	for (int i = 0; i < iovcnt; i++)
		crc = crc32c_update(crc, iov[i].iov_base, iov[i].iov_len);
	return crc32c_final(crc);
}
