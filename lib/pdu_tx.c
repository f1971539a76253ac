/* The PDU builder; see pdu_tx.h. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "lib/crc32c.h"
#include "lib/pdu_tx.h"

/* RFC 7143 B.4: digests travel least significant byte first. */
static void le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void iov_put(struct iovec *out, int *n, const void *base, size_t len)
{
	out[*n].iov_base = (void *)base;
	out[*n].iov_len = len;
	(*n)++;
}

int pdu_tx_build(struct pdu_tx *tx, struct iscsi_bhs *bhs, const void *ahs, uint32_t ahs_len,
                 const struct iovec *data, int data_iovcnt, unsigned int digests, struct iovec *out,
                 int out_max)
{
	uint64_t dsl = 0;
	uint32_t pad, trailer = 0;
	int n = 0;

	if (!tx || !bhs || !out || data_iovcnt < 0 || (data_iovcnt > 0 && !data))
		return -EINVAL;
	/* 11.2.1: TotalAHSLength counts 4-byte words and each AHS is padded. */
	if (ahs_len % 4 != 0 || ahs_len > ISCSI_AHS_MAX_SIZE || (ahs_len && !ahs))
		return -EINVAL;
	if (out_max < pdu_tx_iov_max(data_iovcnt))
		return -EINVAL;
	for (int i = 0; i < data_iovcnt; i++) {
		if (data[i].iov_len && !data[i].iov_base)
			return -EINVAL;
		dsl += data[i].iov_len;
		if (dsl > ISCSI_DSL_MAX)
			return -EMSGSIZE;
	}

	bhs->bhs_total_ahs_len = (uint8_t)(ahs_len / 4);
	pdu_dsl_set(bhs, (uint32_t)dsl);
	iov_put(out, &n, bhs, ISCSI_BHS_SIZE);
	if (ahs_len)
		iov_put(out, &n, ahs, ahs_len);
	if (digests & PDU_DIGEST_HEADER) {
		uint32_t crc = crc32c_update(CRC32C_SEED, bhs, ISCSI_BHS_SIZE);

		crc = crc32c_update(crc, ahs, ahs_len);
		le32_put(tx->hdr_digest, crc32c_final(crc));
		iov_put(out, &n, tx->hdr_digest, ISCSI_DIGEST_SIZE);
	}
	tx->wire_len =
	        ISCSI_BHS_SIZE + ahs_len + ((digests & PDU_DIGEST_HEADER) ? ISCSI_DIGEST_SIZE : 0);
	if (dsl == 0)
		return n;

	for (int i = 0; i < data_iovcnt; i++)
		if (data[i].iov_len)
			iov_put(out, &n, data[i].iov_base, data[i].iov_len);
	/* 11.1: pad with zeros; 11.2.3: the data digest covers the padding. */
	pad = pdu_pad_len((uint32_t)dsl);
	memset(tx->trailer, 0, pad);
	trailer = pad;
	if (digests & PDU_DIGEST_DATA) {
		uint32_t crc = CRC32C_SEED;

		for (int i = 0; i < data_iovcnt; i++)
			crc = crc32c_update(crc, data[i].iov_base, data[i].iov_len);
		crc = crc32c_update(crc, tx->trailer, pad);
		le32_put(tx->trailer + pad, crc32c_final(crc));
		trailer += ISCSI_DIGEST_SIZE;
	}
	if (trailer)
		iov_put(out, &n, tx->trailer, trailer);
	tx->wire_len += (uint32_t)dsl + trailer;
	return n;
}
