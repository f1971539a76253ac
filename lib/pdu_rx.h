/*
 * The one resumable PDU receive parser, used by the target and the initiator.
 *
 * Feed it the byte stream in ranges of any size (one byte at a time works);
 * it walks BHS -> AHS -> HeaderDigest -> data segment + padding ->
 * DataDigest (RFC 7143 11.2) and calls ops->pdu once per complete PDU.
 *
 * Data placement. Once the BHS, AHS and header digest of a PDU with a data
 * segment are verified, ops->place (if set) may name a destination of at
 * least data_len bytes (e.g. the SCSI buffer at the Data-Out's offset); the
 * data is copied there as it arrives. If it names none, the data is handed
 * up in place, a pointer into the fed range with no copy, when the whole
 * segment with its padding and digest lies in one fed range; otherwise it is
 * gathered into a buffer the parser owns, allocated once at the size of the
 * current limit.
 *
 * Errors. A data digest mismatch (RFC 7143 7.8) leaves the PDU boundaries
 * known: the PDU is still handed to ops->pdu, with status -EBADMSG and
 * error PDU_RX_ERR_DATA_DIGEST, so the consumer can send a Reject (reason
 * ISCSI_REJECT_DATA_DIGEST, 11.17) and go on; the feed continues (with
 * PDU_DATA_PLACED the bad bytes already sit in the placed buffer). Every
 * other error is fatal to the stream: the feed returns it, pdu_rx_error()
 * says which, later feeds return it again, and the connection must be
 * closed (after a header digest error nothing past the BHS can be trusted,
 * not even where the next PDU starts).
 *
 * Not thread-safe: one parser per connection, used by its reactor thread.
 */
#ifndef XI_PDU_RX_H
#define XI_PDU_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/pdu.h"

enum pdu_rx_error {
	PDU_RX_OK = 0,
	PDU_RX_ERR_HEADER_DIGEST, /* -EBADMSG, fatal */
	PDU_RX_ERR_DATA_DIGEST,   /* -EBADMSG, reported in pdu_in.status; recoverable */
	PDU_RX_ERR_OVERSIZE,      /* -EMSGSIZE: DataSegmentLength above the limit; fatal */
	PDU_RX_ERR_AHS,           /* -EPROTO: AHS chain does not fit TotalAHSLength; fatal */
	PDU_RX_ERR_NOMEM,         /* -ENOMEM: gather buffer; fatal */
	PDU_RX_ERR_CALLBACK,      /* a callback returned < 0; fatal, the feed returns its value */
};

enum pdu_data_src {
	PDU_DATA_NONE = 0, /* no data segment */
	PDU_DATA_PLACED,   /* in the buffer ops->place gave */
	PDU_DATA_INPLACE,  /* a pointer into the range given to pdu_rx_feed */
	PDU_DATA_GATHERED, /* in the parser's own buffer */
};

/* A received PDU. Every pointer is valid only during the callback. */
struct pdu_in {
	const struct iscsi_bhs *bhs; /* 8-byte aligned copy: cast to the typed struct */
	const uint8_t *ahs;          /* NULL when ahs_len is 0 */
	uint32_t ahs_len;            /* bytes, TotalAHSLength * 4 */
	const uint8_t *data;         /* NULL when data_len is 0 */
	uint32_t data_len;           /* DataSegmentLength, without padding */
	enum pdu_data_src data_src;
	int status;              /* 0, or -EBADMSG when the data digest did not match */
	enum pdu_rx_error error; /* PDU_RX_OK or PDU_RX_ERR_DATA_DIGEST */
};

/* ops->pdu may return this to make pdu_rx_feed return early (at the PDU boundary). */
#define PDU_RX_STOP 1

struct pdu_rx_ops {
	/*
	 * Optional. Called once per PDU with data_len > 0, after its header is
	 * verified; pdu->data is NULL here. Set *dst to a buffer of at least
	 * pdu->data_len bytes to receive the data there, or leave it NULL.
	 * Return 0, or -errno to fail the stream.
	 */
	int (*place)(void *ctx, const struct pdu_in *pdu, uint8_t **dst);
	/*
	 * Required. One complete PDU. Return 0 to go on, PDU_RX_STOP to make
	 * the feed return now, or -errno to fail the stream. Changing the
	 * parser's limit or digests from here applies from the next PDU on
	 * (e.g. digests after the final Login Response, RFC 7143 13.1).
	 */
	int (*pdu)(void *ctx, struct pdu_in *pdu);
};

#define PDU_RX_HDR_MAX (ISCSI_BHS_SIZE + ISCSI_AHS_MAX_SIZE + ISCSI_DIGEST_SIZE)

/* Embed it anywhere; fields are private, use the functions below. */
struct pdu_rx {
	const struct pdu_rx_ops *ops;
	void *ctx;
	uint32_t max_data;    /* MaxRecvDataSegmentLength we declared */
	unsigned int digests; /* PDU_DIGEST_* for the next PDU */
	unsigned int cur_dig; /* PDU_DIGEST_* latched for the PDU in progress */
	int state;
	enum pdu_rx_error error;
	int fatal;             /* sticky -errno once failed */
	uint32_t hdr_need;     /* bytes of hdr[] the PDU's header needs */
	uint32_t got;          /* bytes received of the current part */
	uint32_t trailer_need; /* padding + data digest */
	uint32_t crc;          /* running data digest */
	uint8_t *dst;          /* where data goes: placed or gather buffer */
	uint8_t *gbuf;
	uint32_t gcap;
	struct pdu_in in;
	uint8_t trailer[8];
	union {
		struct iscsi_bhs bhs;
		uint64_t align;
		uint8_t raw[PDU_RX_HDR_MAX];
	} hdr;
};

/* max_data: our MaxRecvDataSegmentLength (1..ISCSI_DSL_MAX), e.g. ISCSI_MAX_RECV_DSL_DEFAULT. */
int pdu_rx_init(struct pdu_rx *rx, const struct pdu_rx_ops *ops, void *ctx, uint32_t max_data);
void pdu_rx_destroy(struct pdu_rx *rx);

/* Both apply from the next PDU whose BHS is not yet complete. 0 or -EINVAL. */
int pdu_rx_set_max_data(struct pdu_rx *rx, uint32_t max_data);
void pdu_rx_set_digests(struct pdu_rx *rx, unsigned int digests);

/*
 * Consume bytes. Returns len, or fewer when ops->pdu returned PDU_RX_STOP
 * (feed the rest later), or a fatal -errno: -EBADMSG (header digest),
 * -EMSGSIZE, -EPROTO, -ENOMEM, or a callback's own value.
 */
ssize_t pdu_rx_feed(struct pdu_rx *rx, const void *buf, size_t len);

enum pdu_rx_error pdu_rx_error(const struct pdu_rx *rx);
const char *pdu_rx_strerror(enum pdu_rx_error err);

/* True between PDUs: end of stream here is clean, anywhere else truncation. */
bool pdu_rx_idle(const struct pdu_rx *rx);

/*
 * The BHS of the PDU in progress once its 48 bytes arrived, else NULL; after
 * -EMSGSIZE or -EPROTO it is the offending header, for a Reject (11.17).
 */
const struct iscsi_bhs *pdu_rx_header(const struct pdu_rx *rx);

#endif
