/*
 * The one PDU builder, used by the target and the initiator.
 *
 * From a BHS, an optional AHS and a gather list of data it fills an iovec
 * list ready for writev, sendmsg or an io_uring send, in wire order (RFC
 * 7143 11.2): BHS, AHS, HeaderDigest, data, padding, DataDigest. It sets
 * TotalAHSLength and DataSegmentLength in the BHS and computes the digests.
 * The digests and the padding live in the caller's struct pdu_tx, so no
 * memory is allocated per PDU; the BHS, AHS, data and the pdu_tx must stay
 * put until the send completes, because the iovecs point at them.
 *
 * Bounding the data by the peer's MaxRecvDataSegmentLength is the caller's
 * job (RFC 7143 13.12); the builder only enforces the 24-bit field.
 */
#ifndef XI_PDU_TX_H
#define XI_PDU_TX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/pdu.h"

/* Entries beyond the data's own: BHS, AHS, header digest, pad+data digest. */
#define PDU_TX_IOV_EXTRA 4

/* How many iovecs to give pdu_tx_build for data_iovcnt data entries. */
static inline int pdu_tx_iov_max(int data_iovcnt)
{
	return data_iovcnt + PDU_TX_IOV_EXTRA;
}

struct pdu_tx {
	uint8_t hdr_digest[ISCSI_DIGEST_SIZE];
	uint8_t trailer[3 + ISCSI_DIGEST_SIZE]; /* padding, then the data digest */
	uint32_t wire_len;                      /* bytes the iovecs hold in all */
};

/*
 * bhs: the header to send; its TotalAHSLength and DataSegmentLength are set
 * here. ahs/ahs_len: the AHS (a multiple of 4, at most ISCSI_AHS_MAX_SIZE,
 * already padded) or NULL/0. data/data_iovcnt: the data segment, empty
 * entries allowed. digests: PDU_DIGEST_* negotiated for the connection.
 * out/out_max: room for the result, pdu_tx_iov_max(data_iovcnt) suffices.
 *
 * Returns the number of iovecs filled, or -EINVAL (bad AHS length, NULL
 * where something is needed, out too small) or -EMSGSIZE (data over 2^24-1).
 */
int pdu_tx_build(struct pdu_tx *tx, struct iscsi_bhs *bhs, const void *ahs, uint32_t ahs_len,
                 const struct iovec *data, int data_iovcnt, unsigned int digests, struct iovec *out,
                 int out_max);

#endif
