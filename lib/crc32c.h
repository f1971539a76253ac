/* CRC32C (Castagnoli) for iSCSI header and data digests, RFC 7143 section 11.1. */
#ifndef XI_CRC32C_H
#define XI_CRC32C_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define CRC32C_SEED 0xffffffffu

/* Incremental form: start from CRC32C_SEED, feed pieces, finish with crc32c_final(). */
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len);

static inline uint32_t crc32c_final(uint32_t crc)
{
	return crc ^ 0xffffffffu;
}

/* The digest of one contiguous buffer, as it goes on the wire (before byte order). */
uint32_t crc32c(const void *buf, size_t len);

/* The digest of a gather list. */
uint32_t crc32c_iov(const struct iovec *iov, int iovcnt);

#endif
