/*
 * Fuzz the PDU receive parser. Input: a 4-byte configuration, then the
 * byte stream. The configuration picks digests, data placement, the
 * MaxRecvDataSegmentLength, and how the stream is cut into feeds, so that
 * resumption at every boundary gets exercised.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pdu_rx.h"

#define CFG_SIZE      4
#define CFG_DIGESTS   0x03 /* PDU_DIGEST_HEADER | PDU_DIGEST_DATA */
#define CFG_PLACE     0x04
#define CFG_STOP      0x08 /* ops->pdu asks the feed to return after each PDU */
#define CFG_FLIP      0x10 /* toggle digests after every PDU, as login does once */
#define FUZZ_MAX_DATA 65536u

struct fuzz_ctx {
	struct pdu_rx *rx;
	uint8_t cfg;
	uint8_t place_buf[FUZZ_MAX_DATA];
	unsigned sum;
};

static int f_place(void *arg, const struct pdu_in *pdu, uint8_t **dst)
{
	struct fuzz_ctx *c = arg;

	if (pdu->data_len <= sizeof(c->place_buf) && (pdu->bhs->bhs_itt & 1))
		*dst = c->place_buf;
	return 0;
}

static int f_pdu(void *arg, struct pdu_in *pdu)
{
	struct fuzz_ctx *c = arg;

	/* Touch every byte handed up, so a sanitizer sees any overrun. */
	for (uint32_t i = 0; i < pdu->ahs_len; i++)
		c->sum += pdu->ahs[i];
	for (uint32_t i = 0; i < pdu->data_len; i++)
		c->sum += pdu->data[i];
	if ((pdu->data_len != 0) != (pdu->data != NULL))
		abort();
	if (c->cfg & CFG_FLIP)
		pdu_rx_set_digests(c->rx, (pdu->bhs->bhs_opcode & CFG_DIGESTS));
	if (pdu->bhs->bhs_opcode == 0x3e) /* let some inputs lower the limit mid-stream */
		pdu_rx_set_max_data(c->rx, 64);
	return (c->cfg & CFG_STOP) ? PDU_RX_STOP : 0;
}

static const struct pdu_rx_ops place_ops = {.place = f_place, .pdu = f_pdu};
static const struct pdu_rx_ops plain_ops = {.pdu = f_pdu};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_ctx c;
	struct pdu_rx rx;
	uint32_t max_data;
	size_t off = CFG_SIZE, chunk;
	unsigned rounds = 0;

	if (size < CFG_SIZE)
		return 0;
	c.cfg = data[0];
	c.rx = &rx;
	chunk = data[1];
	max_data = ((uint32_t)data[2] << 8 | data[3]) + 1;
	if (pdu_rx_init(&rx, (c.cfg & CFG_PLACE) ? &place_ops : &plain_ops, &c, max_data) != 0)
		abort();
	pdu_rx_set_digests(&rx, c.cfg & CFG_DIGESTS);
	/* Bounded: every round consumes at least one byte or stops. */
	while (off < size && rounds++ < size) {
		size_t n = chunk ? chunk : size - off;
		ssize_t r;

		if (n > size - off)
			n = size - off;
		r = pdu_rx_feed(&rx, data + off, n);
		if (r < 0)
			break;
		if ((size_t)r > n)
			abort();
		off += (size_t)r;
		/* Vary the cut between feeds. */
		chunk = chunk ? (chunk * 7 + 3) % 97 + 1 : 0;
	}
	pdu_rx_destroy(&rx);
	return 0;
}
