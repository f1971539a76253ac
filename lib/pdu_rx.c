/* The resumable PDU receive parser; see pdu_rx.h for the contract. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crc32c.h"
#include "lib/pdu_rx.h"

enum {
	ST_BHS,     /* collecting the 48-byte BHS */
	ST_HDR,     /* collecting AHS and header digest behind it */
	ST_DATA,    /* data segment */
	ST_TRAILER, /* padding and data digest */
	ST_FAILED,
};

/* RFC 7143 B.4: digests travel least significant byte first. */
static uint32_t le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static void rx_next_pdu(struct pdu_rx *rx)
{
	rx->state = ST_BHS;
	rx->got = 0;
	rx->hdr_need = ISCSI_BHS_SIZE;
	rx->dst = NULL;
}

static int rx_fail(struct pdu_rx *rx, enum pdu_rx_error err, int code)
{
	rx->state = ST_FAILED;
	rx->error = err;
	rx->fatal = code;
	return code;
}

int pdu_rx_init(struct pdu_rx *rx, const struct pdu_rx_ops *ops, void *ctx, uint32_t max_data)
{
	if (!rx || !ops || !ops->pdu || max_data == 0 || max_data > ISCSI_DSL_MAX)
		return -EINVAL;
	memset(rx, 0, sizeof(*rx));
	rx->ops = ops;
	rx->ctx = ctx;
	rx->max_data = max_data;
	rx_next_pdu(rx);
	return 0;
}

void pdu_rx_destroy(struct pdu_rx *rx)
{
	free(rx->gbuf);
	rx->gbuf = NULL;
	rx->gcap = 0;
}

int pdu_rx_set_max_data(struct pdu_rx *rx, uint32_t max_data)
{
	if (max_data == 0 || max_data > ISCSI_DSL_MAX)
		return -EINVAL;
	rx->max_data = max_data;
	return 0;
}

void pdu_rx_set_digests(struct pdu_rx *rx, unsigned int digests)
{
	rx->digests = digests & (PDU_DIGEST_HEADER | PDU_DIGEST_DATA);
}

enum pdu_rx_error pdu_rx_error(const struct pdu_rx *rx)
{
	return rx->error;
}

const char *pdu_rx_strerror(enum pdu_rx_error err)
{
	switch (err) {
	case PDU_RX_OK:
		return "no error";
	case PDU_RX_ERR_HEADER_DIGEST:
		return "header digest mismatch";
	case PDU_RX_ERR_DATA_DIGEST:
		return "data digest mismatch";
	case PDU_RX_ERR_OVERSIZE:
		return "data segment longer than MaxRecvDataSegmentLength";
	case PDU_RX_ERR_AHS:
		return "malformed additional header segment";
	case PDU_RX_ERR_NOMEM:
		return "out of memory for the data segment";
	case PDU_RX_ERR_CALLBACK:
		return "PDU consumer failed";
	}
	return "unknown error";
}

bool pdu_rx_idle(const struct pdu_rx *rx)
{
	return rx->state == ST_BHS && rx->got == 0;
}

const struct iscsi_bhs *pdu_rx_header(const struct pdu_rx *rx)
{
	if (rx->state == ST_BHS)
		return NULL;
	if (rx->state == ST_FAILED && rx->error != PDU_RX_ERR_OVERSIZE &&
	    rx->error != PDU_RX_ERR_AHS)
		return NULL;
	return &rx->hdr.bhs;
}

/* 11.2.2: the AHS chain must tile TotalAHSLength exactly. */
static bool ahs_chain_ok(const uint8_t *ahs, uint32_t len)
{
	uint32_t off = 0;

	while (off < len) {
		uint32_t one;

		if (len - off < ISCSI_AHS_HDR_SIZE)
			return false;
		one = pdu_ahs_size((uint16_t)(((uint16_t)ahs[off] << 8) | ahs[off + 1]));
		if (one > len - off)
			return false;
		off += one;
	}
	return true;
}

static int rx_deliver(struct pdu_rx *rx)
{
	int r = rx->ops->pdu(rx->ctx, &rx->in);

	rx_next_pdu(rx);
	if (r < 0)
		return rx_fail(rx, PDU_RX_ERR_CALLBACK, r);
	return r == PDU_RX_STOP ? PDU_RX_STOP : 0;
}

/* BHS, AHS and header digest are all in hdr.raw. */
static int rx_header_done(struct pdu_rx *rx)
{
	uint32_t ahs_len = pdu_ahs_len_get(&rx->hdr.bhs);
	uint32_t dsl = pdu_dsl_get(&rx->hdr.bhs);
	struct pdu_in *in = &rx->in;

	if (rx->cur_dig & PDU_DIGEST_HEADER) {
		uint32_t want = crc32c(rx->hdr.raw, ISCSI_BHS_SIZE + ahs_len);

		if (le32_get(rx->hdr.raw + ISCSI_BHS_SIZE + ahs_len) != want)
			return rx_fail(rx, PDU_RX_ERR_HEADER_DIGEST, -EBADMSG);
	}
	if (!ahs_chain_ok(rx->hdr.raw + ISCSI_BHS_SIZE, ahs_len))
		return rx_fail(rx, PDU_RX_ERR_AHS, -EPROTO);
	/* 13.12: a PDU longer than we declared is a protocol error. */
	if (dsl > rx->max_data)
		return rx_fail(rx, PDU_RX_ERR_OVERSIZE, -EMSGSIZE);

	memset(in, 0, sizeof(*in));
	in->bhs = &rx->hdr.bhs;
	in->ahs = ahs_len ? rx->hdr.raw + ISCSI_BHS_SIZE : NULL;
	in->ahs_len = ahs_len;
	in->data_len = dsl;
	if (dsl == 0)
		return rx_deliver(rx);

	/* 11.2.3: no data digest without a data segment, so only here. */
	rx->trailer_need = pdu_pad_len(dsl);
	if (rx->cur_dig & PDU_DIGEST_DATA)
		rx->trailer_need += ISCSI_DIGEST_SIZE;
	rx->crc = CRC32C_SEED;
	rx->got = 0;
	rx->dst = NULL;
	if (rx->ops->place) {
		uint8_t *dst = NULL;
		int r = rx->ops->place(rx->ctx, in, &dst);

		if (r < 0)
			return rx_fail(rx, PDU_RX_ERR_CALLBACK, r);
		if (dst) {
			rx->dst = dst;
			in->data_src = PDU_DATA_PLACED;
		}
	}
	rx->state = ST_DATA;
	return 0;
}

static int rx_data_done(struct pdu_rx *rx, bool digest_ok)
{
	if (!digest_ok) {
		rx->in.status = -EBADMSG;
		rx->in.error = PDU_RX_ERR_DATA_DIGEST;
	}
	return rx_deliver(rx);
}

static int rx_gather_ready(struct pdu_rx *rx)
{
	if (rx->gcap < rx->in.data_len) {
		/*
		 * Sized to the limit so that one allocation serves every PDU
		 * after; never below this PDU, should place() have lowered it.
		 */
		uint32_t cap = rx->max_data > rx->in.data_len ? rx->max_data : rx->in.data_len;
		uint8_t *b = realloc(rx->gbuf, cap);

		if (!b)
			return rx_fail(rx, PDU_RX_ERR_NOMEM, -ENOMEM);
		rx->gbuf = b;
		rx->gcap = cap;
	}
	rx->dst = rx->gbuf;
	rx->in.data_src = PDU_DATA_GATHERED;
	return 0;
}

/* The whole segment, padding and digest lie in p: hand it up without a copy. */
static int rx_data_inplace(struct pdu_rx *rx, const uint8_t *p)
{
	uint32_t len = rx->in.data_len;
	uint32_t padded = pdu_padded_len(len);
	bool ok = true;

	rx->in.data = p;
	rx->in.data_src = PDU_DATA_INPLACE;
	if (rx->cur_dig & PDU_DIGEST_DATA)
		ok = le32_get(p + padded) == crc32c(p, padded);
	return rx_data_done(rx, ok);
}

static int rx_trailer_done(struct pdu_rx *rx)
{
	uint32_t pad = pdu_pad_len(rx->in.data_len);
	bool ok = true;

	if (rx->cur_dig & PDU_DIGEST_DATA) {
		uint32_t crc = crc32c_final(crc32c_update(rx->crc, rx->trailer, pad));

		ok = le32_get(rx->trailer + pad) == crc;
	}
	return rx_data_done(rx, ok);
}

ssize_t pdu_rx_feed(struct pdu_rx *rx, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t off = 0;
	int r = 0;

	if (rx->state == ST_FAILED)
		return rx->fatal;
	if (len > SSIZE_MAX)
		return -EINVAL;
	while (off < len && r == 0) {
		size_t avail = len - off;
		uint32_t n;

		switch (rx->state) {
		case ST_BHS:
		case ST_HDR:
			n = rx->hdr_need - rx->got;
			if (n > avail)
				n = (uint32_t)avail;
			memcpy(rx->hdr.raw + rx->got, p + off, n);
			rx->got += n;
			off += n;
			if (rx->got < rx->hdr_need)
				break;
			if (rx->state == ST_BHS) {
				/* Settings changed between PDUs apply from here. */
				rx->cur_dig = rx->digests;
				rx->hdr_need += pdu_ahs_len_get(&rx->hdr.bhs);
				if (rx->cur_dig & PDU_DIGEST_HEADER)
					rx->hdr_need += ISCSI_DIGEST_SIZE;
				rx->state = ST_HDR;
				if (rx->got < rx->hdr_need)
					break;
			}
			r = rx_header_done(rx);
			break;
		case ST_DATA:
			if (rx->got == 0 && !rx->dst) {
				if (avail >= (size_t)rx->in.data_len + rx->trailer_need) {
					const uint8_t *seg = p + off;

					off += rx->in.data_len + rx->trailer_need;
					r = rx_data_inplace(rx, seg);
					break;
				}
				r = rx_gather_ready(rx);
				if (r)
					break;
			}
			n = rx->in.data_len - rx->got;
			if (n > avail)
				n = (uint32_t)avail;
			memcpy(rx->dst + rx->got, p + off, n);
			if (rx->cur_dig & PDU_DIGEST_DATA)
				rx->crc = crc32c_update(rx->crc, p + off, n);
			rx->got += n;
			off += n;
			if (rx->got < rx->in.data_len)
				break;
			rx->in.data = rx->dst;
			rx->got = 0;
			if (rx->trailer_need == 0) {
				r = rx_data_done(rx, true);
				break;
			}
			rx->state = ST_TRAILER;
			break;
		case ST_TRAILER:
			n = rx->trailer_need - rx->got;
			if (n > avail)
				n = (uint32_t)avail;
			memcpy(rx->trailer + rx->got, p + off, n);
			rx->got += n;
			off += n;
			if (rx->got == rx->trailer_need)
				r = rx_trailer_done(rx);
			break;
		default:
			return rx->fatal;
		}
	}
	if (r < 0)
		return r;
	return (ssize_t)off;
}
