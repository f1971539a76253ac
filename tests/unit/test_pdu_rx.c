/* The resumable receive parser: framing, digests, limits, data placement. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/pdu_rx.h"
#include "lib/pdu_tx.h"

#define MAX_SEEN 8

struct seen {
	struct iscsi_bhs bhs;
	uint8_t ahs[ISCSI_AHS_MAX_SIZE];
	uint32_t ahs_len;
	uint8_t data[4096];
	uint32_t data_len;
	const uint8_t *data_ptr;
	enum pdu_data_src src;
	int status;
	enum pdu_rx_error error;
};

struct collector {
	struct seen seen[MAX_SEEN];
	int n;
	uint8_t *place_dst; /* non-NULL: offered by place() */
	int places;
	int ret;                  /* what pdu() returns */
	unsigned int set_digests; /* applied from pdu() when non-zero */
	struct pdu_rx *rx;
};

static int c_place_cb(void *ctx, const struct pdu_in *pdu, uint8_t **dst)
{
	struct collector *c = ctx;

	assert_null(pdu->data);
	assert_true(pdu->data_len > 0);
	c->places++;
	*dst = c->place_dst;
	return 0;
}

static int c_pdu(void *ctx, struct pdu_in *pdu)
{
	struct collector *c = ctx;
	struct seen *s;

	assert_true(c->n < MAX_SEEN);
	s = &c->seen[c->n++];
	memcpy(&s->bhs, pdu->bhs, sizeof(s->bhs));
	s->ahs_len = pdu->ahs_len;
	if (pdu->ahs_len)
		memcpy(s->ahs, pdu->ahs, pdu->ahs_len);
	assert_true(pdu->data_len <= sizeof(s->data));
	s->data_len = pdu->data_len;
	s->data_ptr = pdu->data;
	if (pdu->data_len)
		memcpy(s->data, pdu->data, pdu->data_len);
	s->src = pdu->data_src;
	s->status = pdu->status;
	s->error = pdu->error;
	if (c->set_digests)
		pdu_rx_set_digests(c->rx, c->set_digests);
	return c->ret;
}

static const struct pdu_rx_ops ops_plain = {.pdu = c_pdu};
static const struct pdu_rx_ops ops_place = {.place = c_place_cb, .pdu = c_pdu};

/* Builds a PDU with pdu_tx and flattens it; returns its wire length. */
static size_t make_pdu(uint8_t *out, uint8_t opcode, uint32_t itt, const uint8_t *ahs,
                       uint32_t ahs_len, const uint8_t *data, uint32_t dlen, unsigned int digests)
{
	struct iscsi_bhs bhs;
	struct pdu_tx tx;
	struct iovec d = {.iov_base = (void *)data, .iov_len = dlen};
	struct iovec iov[PDU_TX_IOV_EXTRA + 1];
	size_t off = 0;
	int n;

	memset(&bhs, 0, sizeof(bhs));
	bhs.bhs_opcode = opcode;
	bhs.bhs_flags = ISCSI_FLAG_FINAL;
	bhs.bhs_itt = itt;
	n = pdu_tx_build(&tx, &bhs, ahs, ahs_len, &d, 1, digests, iov, PDU_TX_IOV_EXTRA + 1);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		memcpy(out + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	assert_int_equal(off, tx.wire_len);
	return off;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

static void setup_rx(struct pdu_rx *rx, struct collector *c, const struct pdu_rx_ops *ops,
                     uint32_t max, unsigned int digests)
{
	memset(c, 0, sizeof(*c));
	c->rx = rx;
	assert_int_equal(pdu_rx_init(rx, ops, c, max), 0);
	pdu_rx_set_digests(rx, digests);
}

/* An extended-CDB AHS of 16 extra CDB bytes: AHSLength 17, 20 bytes on the wire. */
static uint32_t make_ahs(uint8_t *ahs)
{
	memset(ahs, 0, 20);
	ahs[0] = 0;
	ahs[1] = 17;
	ahs[2] = ISCSI_AHS_TYPE_EXT_CDB;
	fill(ahs + 4, 16, 99);
	return 20;
}

static void test_no_data_pdu(void **state)
{
	struct pdu_rx rx;
	struct collector c;
	uint8_t buf[64];
	size_t len = make_pdu(buf, ISCSI_OP_NOP_OUT | ISCSI_OP_IMMEDIATE, 7, NULL, 0, NULL, 0, 0);

	setup_rx(&rx, &c, &ops_plain, 8192, 0);
	assert_int_equal(len, ISCSI_BHS_SIZE);
	assert_int_equal(pdu_rx_feed(&rx, buf, len), (ssize_t)len);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.seen[0].bhs.bhs_opcode, ISCSI_OP_NOP_OUT | ISCSI_OP_IMMEDIATE);
	assert_int_equal(c.seen[0].bhs.bhs_itt, 7);
	assert_int_equal(c.seen[0].src, PDU_DATA_NONE);
	assert_null(c.seen[0].data_ptr);
	assert_true(pdu_rx_idle(&rx));
	pdu_rx_destroy(&rx);
}

static void test_whole_pdu_in_place(void **state)
{
	struct pdu_rx rx;
	struct collector c;
	uint8_t buf[256], data[13];
	size_t len;

	fill(data, sizeof(data), 1);
	len = make_pdu(buf, ISCSI_OP_TEXT_REQ, 1, NULL, 0, data, sizeof(data),
	               PDU_DIGEST_HEADER | PDU_DIGEST_DATA);
	setup_rx(&rx, &c, &ops_plain, 8192, PDU_DIGEST_HEADER | PDU_DIGEST_DATA);
	assert_int_equal(pdu_rx_feed(&rx, buf, len), (ssize_t)len);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.seen[0].src, PDU_DATA_INPLACE);
	/* In place means a pointer into what was fed: no copy. */
	assert_ptr_equal(c.seen[0].data_ptr, buf + ISCSI_BHS_SIZE + ISCSI_DIGEST_SIZE);
	assert_int_equal(c.seen[0].data_len, sizeof(data));
	assert_memory_equal(c.seen[0].data, data, sizeof(data));
	assert_int_equal(c.seen[0].status, 0);
	pdu_rx_destroy(&rx);
}

static void check_split(unsigned int digests, const struct pdu_rx_ops *ops)
{
	uint8_t buf[512], data[37], ahs[20], dst[64];
	uint32_t ahs_len = make_ahs(ahs);
	size_t len;

	fill(data, sizeof(data), 5);
	len = make_pdu(buf, ISCSI_OP_SCSI_CMD, 0x1234, ahs, ahs_len, data, sizeof(data), digests);
	for (size_t s = 0; s <= len; s++) {
		struct pdu_rx rx;
		struct collector c;

		setup_rx(&rx, &c, ops, 8192, digests);
		c.place_dst = dst;
		memset(dst, 0, sizeof(dst));
		assert_int_equal(pdu_rx_feed(&rx, buf, s), (ssize_t)s);
		assert_int_equal(c.n, s == len ? 1 : 0);
		assert_int_equal(pdu_rx_feed(&rx, buf + s, len - s), (ssize_t)(len - s));
		assert_int_equal(c.n, 1);
		assert_int_equal(c.seen[0].status, 0);
		assert_int_equal(c.seen[0].bhs.bhs_itt, 0x1234);
		assert_int_equal(c.seen[0].ahs_len, ahs_len);
		assert_memory_equal(c.seen[0].ahs, ahs, ahs_len);
		assert_int_equal(c.seen[0].data_len, sizeof(data));
		assert_memory_equal(c.seen[0].data, data, sizeof(data));
		if (ops->place) {
			assert_int_equal(c.seen[0].src, PDU_DATA_PLACED);
			assert_ptr_equal(c.seen[0].data_ptr, dst);
			assert_memory_equal(dst, data, sizeof(data));
			assert_int_equal(c.places, 1);
		}
		assert_true(pdu_rx_idle(&rx));
		pdu_rx_destroy(&rx);
	}
}

static void test_every_split_digests(void **state)
{
	check_split(PDU_DIGEST_HEADER | PDU_DIGEST_DATA, &ops_plain);
}

static void test_every_split_no_digests(void **state)
{
	check_split(0, &ops_plain);
}

static void test_every_split_placed(void **state)
{
	check_split(PDU_DIGEST_HEADER | PDU_DIGEST_DATA, &ops_place);
}

static void check_bytewise(unsigned int digests)
{
	uint8_t buf[256], data[10];
	struct pdu_rx rx;
	struct collector c;
	size_t len;

	fill(data, sizeof(data), 3);
	len = make_pdu(buf, ISCSI_OP_SCSI_DATA_OUT, 9, NULL, 0, data, sizeof(data), digests);
	setup_rx(&rx, &c, &ops_plain, 8192, digests);
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(c.n, 0);
		assert_int_equal(pdu_rx_feed(&rx, buf + i, 1), 1);
	}
	assert_int_equal(c.n, 1);
	assert_int_equal(c.seen[0].src, PDU_DATA_GATHERED);
	assert_memory_equal(c.seen[0].data, data, sizeof(data));
	assert_int_equal(c.seen[0].status, 0);
	pdu_rx_destroy(&rx);
}

static void test_one_byte_feeding(void **state)
{
	check_bytewise(0);
	check_bytewise(PDU_DIGEST_HEADER);
	check_bytewise(PDU_DIGEST_DATA);
	check_bytewise(PDU_DIGEST_HEADER | PDU_DIGEST_DATA);
}

/* Odd lengths make every PDU carry padding; the next must start right after it. */
static void test_many_pdus_one_feed(void **state)
{
	uint8_t buf[1024], data[3][7];
	struct pdu_rx rx;
	struct collector c;
	size_t len = 0;

	for (int i = 0; i < 3; i++) {
		fill(data[i], (size_t)(5 + i), (unsigned)i * 40);
		len += make_pdu(buf + len, ISCSI_OP_TEXT_REQ, (uint32_t)i, NULL, 0, data[i],
		                (uint32_t)(5 + i), PDU_DIGEST_DATA);
	}
	len += make_pdu(buf + len, ISCSI_OP_NOP_OUT, 3, NULL, 0, NULL, 0, PDU_DIGEST_DATA);
	setup_rx(&rx, &c, &ops_plain, 8192, PDU_DIGEST_DATA);
	assert_int_equal(pdu_rx_feed(&rx, buf, len), (ssize_t)len);
	assert_int_equal(c.n, 4);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c.seen[i].bhs.bhs_itt, (uint32_t)i);
		assert_int_equal(c.seen[i].data_len, 5 + i);
		assert_memory_equal(c.seen[i].data, data[i], (size_t)(5 + i));
	}
	assert_int_equal(c.seen[3].data_len, 0);
	pdu_rx_destroy(&rx);
}

static void test_bad_header_digest_is_fatal(void **state)
{
	uint8_t buf[256], data[8];
	struct pdu_rx rx;
	struct collector c;
	size_t len;

	fill(data, sizeof(data), 0);
	len = make_pdu(buf, ISCSI_OP_TEXT_REQ, 1, NULL, 0, data, sizeof(data), PDU_DIGEST_HEADER);
	buf[20] ^= 0x01; /* a bit flips inside the BHS */
	setup_rx(&rx, &c, &ops_plain, 8192, PDU_DIGEST_HEADER);
	assert_int_equal(pdu_rx_feed(&rx, buf, len), -EBADMSG);
	assert_int_equal(pdu_rx_error(&rx), PDU_RX_ERR_HEADER_DIGEST);
	assert_int_equal(c.n, 0);
	/* The stream cannot be trusted any more: the error sticks. */
	assert_int_equal(pdu_rx_feed(&rx, buf, 1), -EBADMSG);
	pdu_rx_destroy(&rx);
}

static void test_bad_data_digest_recoverable(void **state)
{
	uint8_t buf[512], data[9];
	struct pdu_rx rx;
	struct collector c;
	size_t first, len;

	fill(data, sizeof(data), 0);
	first = make_pdu(buf, ISCSI_OP_SCSI_DATA_OUT, 1, NULL, 0, data, sizeof(data),
	                 PDU_DIGEST_HEADER | PDU_DIGEST_DATA);
	buf[ISCSI_BHS_SIZE + ISCSI_DIGEST_SIZE + 2] ^= 0x80; /* corrupt a data byte */
	len = first + make_pdu(buf + first, ISCSI_OP_NOP_OUT, 2, NULL, 0, NULL, 0,
	                       PDU_DIGEST_HEADER | PDU_DIGEST_DATA);
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		setup_rx(&rx, &c, &ops_plain, 8192, PDU_DIGEST_HEADER | PDU_DIGEST_DATA);
		if (bytewise) {
			for (size_t i = 0; i < len; i++)
				assert_int_equal(pdu_rx_feed(&rx, buf + i, 1), 1);
		} else {
			assert_int_equal(pdu_rx_feed(&rx, buf, len), (ssize_t)len);
		}
		assert_int_equal(c.n, 2);
		assert_int_equal(c.seen[0].status, -EBADMSG);
		assert_int_equal(c.seen[0].error, PDU_RX_ERR_DATA_DIGEST);
		assert_int_equal(c.seen[0].bhs.bhs_itt, 1);
		/* The boundary was kept: the next PDU parses cleanly. */
		assert_int_equal(c.seen[1].status, 0);
		assert_int_equal(c.seen[1].bhs.bhs_itt, 2);
		assert_int_equal(pdu_rx_error(&rx), PDU_RX_OK);
		pdu_rx_destroy(&rx);
	}
}

static void test_corrupt_padding_fails_data_digest(void **state)
{
	uint8_t buf[256], data[5];
	struct pdu_rx rx;
	struct collector c;
	size_t len;

	fill(data, sizeof(data), 0);
	len = make_pdu(buf, ISCSI_OP_TEXT_REQ, 1, NULL, 0, data, sizeof(data), PDU_DIGEST_DATA);
	buf[ISCSI_BHS_SIZE + 6] = 0xaa; /* RFC 7143 11.2.3: the digest covers padding too */
	setup_rx(&rx, &c, &ops_plain, 8192, PDU_DIGEST_DATA);
	assert_int_equal(pdu_rx_feed(&rx, buf, len), (ssize_t)len);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.seen[0].status, -EBADMSG);
	pdu_rx_destroy(&rx);
}

static void test_oversize_segment(void **state)
{
	uint8_t buf[256], data[100];
	struct pdu_rx rx;
	struct collector c;
	size_t len;

	fill(data, sizeof(data), 0);
	len = make_pdu(buf, ISCSI_OP_SCSI_DATA_OUT, 5, NULL, 0, data, sizeof(data), 0);
	setup_rx(&rx, &c, &ops_plain, 64, 0);
	assert_int_equal(pdu_rx_feed(&rx, buf, len), -EMSGSIZE);
	assert_int_equal(pdu_rx_error(&rx), PDU_RX_ERR_OVERSIZE);
	assert_int_equal(c.n, 0);
	/* The offending header stays readable, for a Reject. */
	assert_non_null(pdu_rx_header(&rx));
	assert_int_equal(pdu_rx_header(&rx)->bhs_itt, 5);
	pdu_rx_destroy(&rx);
}

static void test_limit_raised_between_pdus(void **state)
{
	uint8_t buf[256], data[100];
	struct pdu_rx rx;
	struct collector c;
	size_t len;

	fill(data, sizeof(data), 0);
	len = make_pdu(buf, ISCSI_OP_SCSI_DATA_OUT, 5, NULL, 0, data, sizeof(data), 0);
	setup_rx(&rx, &c, &ops_plain, 64, 0);
	assert_int_equal(pdu_rx_set_max_data(&rx, 100), 0);
	assert_int_equal(pdu_rx_set_max_data(&rx, ISCSI_DSL_MAX + 1), -EINVAL);
	assert_int_equal(pdu_rx_feed(&rx, buf, len), (ssize_t)len);
	assert_int_equal(c.n, 1);
	pdu_rx_destroy(&rx);
}

static void test_ahs_past_end(void **state)
{
	uint8_t buf[256], ahs[8];
	struct pdu_rx rx;
	struct collector c;
	size_t len;

	/* One AHS claiming 9 bytes (12 on the wire) inside a TotalAHSLength of 8. */
	memset(ahs, 0, sizeof(ahs));
	ahs[1] = 9;
	ahs[2] = ISCSI_AHS_TYPE_EXT_CDB;
	len = make_pdu(buf, ISCSI_OP_SCSI_CMD, 1, ahs, sizeof(ahs), NULL, 0, PDU_DIGEST_HEADER);
	setup_rx(&rx, &c, &ops_plain, 8192, PDU_DIGEST_HEADER);
	assert_int_equal(pdu_rx_feed(&rx, buf, len), -EPROTO);
	assert_int_equal(pdu_rx_error(&rx), PDU_RX_ERR_AHS);
	assert_int_equal(c.n, 0);
	pdu_rx_destroy(&rx);
}

static void test_ahs_exact_fit_bidi(void **state)
{
	uint8_t buf[256],
	        ahs[8] = {0, ISCSI_AHS_BIDI_RLEN_LEN, ISCSI_AHS_TYPE_BIDI_RLEN, 0, 0, 0, 0x10, 0};
	struct pdu_rx rx;
	struct collector c;
	size_t len;

	len = make_pdu(buf, ISCSI_OP_SCSI_CMD, 1, ahs, sizeof(ahs), NULL, 0, 0);
	setup_rx(&rx, &c, &ops_plain, 8192, 0);
	assert_int_equal(pdu_rx_feed(&rx, buf, len), (ssize_t)len);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.seen[0].ahs_len, 8);
	assert_memory_equal(c.seen[0].ahs, ahs, 8);
	pdu_rx_destroy(&rx);
}

/* Digests turned on from the callback apply to the very next PDU of the same feed. */
static void test_digests_switch_at_boundary(void **state)
{
	uint8_t buf[512], data[6];
	struct pdu_rx rx;
	struct collector c;
	size_t len;

	fill(data, sizeof(data), 0);
	len = make_pdu(buf, ISCSI_OP_LOGIN_REQ, 1, NULL, 0, data, sizeof(data), 0);
	len += make_pdu(buf + len, ISCSI_OP_SCSI_CMD, 2, NULL, 0, data, sizeof(data),
	                PDU_DIGEST_HEADER | PDU_DIGEST_DATA);
	setup_rx(&rx, &c, &ops_plain, 8192, 0);
	c.set_digests = PDU_DIGEST_HEADER | PDU_DIGEST_DATA;
	assert_int_equal(pdu_rx_feed(&rx, buf, len), (ssize_t)len);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.seen[1].status, 0);
	assert_memory_equal(c.seen[1].data, data, sizeof(data));
	pdu_rx_destroy(&rx);
}

static void test_stop_returns_early(void **state)
{
	uint8_t buf[256];
	struct pdu_rx rx;
	struct collector c;
	size_t one, len;

	one = make_pdu(buf, ISCSI_OP_NOP_OUT, 1, NULL, 0, NULL, 0, 0);
	len = one + make_pdu(buf + one, ISCSI_OP_NOP_OUT, 2, NULL, 0, NULL, 0, 0);
	setup_rx(&rx, &c, &ops_plain, 8192, 0);
	c.ret = PDU_RX_STOP;
	assert_int_equal(pdu_rx_feed(&rx, buf, len), (ssize_t)one);
	assert_int_equal(c.n, 1);
	assert_int_equal(pdu_rx_feed(&rx, buf + one, len - one), (ssize_t)(len - one));
	assert_int_equal(c.n, 2);
	assert_int_equal(c.seen[1].bhs.bhs_itt, 2);
	pdu_rx_destroy(&rx);
}

static void test_callback_error_is_fatal(void **state)
{
	uint8_t buf[64];
	struct pdu_rx rx;
	struct collector c;
	size_t len = make_pdu(buf, ISCSI_OP_NOP_OUT, 1, NULL, 0, NULL, 0, 0);

	setup_rx(&rx, &c, &ops_plain, 8192, 0);
	c.ret = -ECONNRESET;
	assert_int_equal(pdu_rx_feed(&rx, buf, len), -ECONNRESET);
	assert_int_equal(pdu_rx_error(&rx), PDU_RX_ERR_CALLBACK);
	assert_int_equal(pdu_rx_feed(&rx, buf, len), -ECONNRESET);
	pdu_rx_destroy(&rx);
}

/* Data that arrives split is gathered; the same PDU whole is in place. */
static void test_gathered_when_split(void **state)
{
	uint8_t buf[256], data[40];
	struct pdu_rx rx;
	struct collector c;
	size_t len;

	fill(data, sizeof(data), 11);
	len = make_pdu(buf, ISCSI_OP_SCSI_DATA_OUT, 1, NULL, 0, data, sizeof(data), 0);
	setup_rx(&rx, &c, &ops_plain, 8192, 0);
	assert_int_equal(pdu_rx_feed(&rx, buf, ISCSI_BHS_SIZE + 10), ISCSI_BHS_SIZE + 10);
	assert_int_equal(pdu_rx_feed(&rx, buf + ISCSI_BHS_SIZE + 10, len - ISCSI_BHS_SIZE - 10),
	                 (ssize_t)(len - ISCSI_BHS_SIZE - 10));
	assert_int_equal(c.n, 1);
	assert_int_equal(c.seen[0].src, PDU_DATA_GATHERED);
	assert_memory_equal(c.seen[0].data, data, sizeof(data));
	pdu_rx_destroy(&rx);
}

/* When place() offers nothing, the parser falls back to in place. */
static void test_place_declined(void **state)
{
	uint8_t buf[256], data[16];
	struct pdu_rx rx;
	struct collector c;
	size_t len;

	fill(data, sizeof(data), 2);
	len = make_pdu(buf, ISCSI_OP_SCSI_DATA_OUT, 1, NULL, 0, data, sizeof(data), 0);
	setup_rx(&rx, &c, &ops_place, 8192, 0);
	assert_int_equal(pdu_rx_feed(&rx, buf, len), (ssize_t)len);
	assert_int_equal(c.places, 1);
	assert_int_equal(c.seen[0].src, PDU_DATA_INPLACE);
	pdu_rx_destroy(&rx);
}

static int lowering_place(void *ctx, const struct pdu_in *pdu, uint8_t **dst)
{
	struct collector *c = ctx;

	return pdu_rx_set_max_data(c->rx, 4);
}

/* A limit lowered from place() must not shrink the gather buffer under this PDU. */
static void test_limit_lowered_in_place(void **state)
{
	const struct pdu_rx_ops ops = {.place = lowering_place, .pdu = c_pdu};
	uint8_t buf[256], data[40];
	struct pdu_rx rx;
	struct collector c;
	size_t len;

	fill(data, sizeof(data), 4);
	len = make_pdu(buf, ISCSI_OP_SCSI_DATA_OUT, 1, NULL, 0, data, sizeof(data), 0);
	setup_rx(&rx, &c, &ops, 8192, 0);
	assert_int_equal(pdu_rx_feed(&rx, buf, ISCSI_BHS_SIZE + 1), ISCSI_BHS_SIZE + 1);
	assert_int_equal(pdu_rx_feed(&rx, buf + ISCSI_BHS_SIZE + 1, len - ISCSI_BHS_SIZE - 1),
	                 (ssize_t)(len - ISCSI_BHS_SIZE - 1));
	assert_int_equal(c.n, 1);
	assert_memory_equal(c.seen[0].data, data, sizeof(data));
	/* The next PDU meets the lowered limit. */
	assert_int_equal(pdu_rx_feed(&rx, buf, len), -EMSGSIZE);
	pdu_rx_destroy(&rx);
}

static void test_init_rejects_bad_args(void **state)
{
	struct pdu_rx rx;
	const struct pdu_rx_ops no_pdu = {.place = c_place_cb};

	assert_int_equal(pdu_rx_init(&rx, &no_pdu, NULL, 8192), -EINVAL);
	assert_int_equal(pdu_rx_init(&rx, &ops_plain, NULL, 0), -EINVAL);
	assert_int_equal(pdu_rx_init(&rx, &ops_plain, NULL, ISCSI_DSL_MAX + 1), -EINVAL);
}

static void test_truncation_not_idle(void **state)
{
	uint8_t buf[64];
	struct pdu_rx rx;
	struct collector c;

	make_pdu(buf, ISCSI_OP_NOP_OUT, 1, NULL, 0, NULL, 0, 0);
	setup_rx(&rx, &c, &ops_plain, 8192, 0);
	assert_true(pdu_rx_idle(&rx));
	assert_null(pdu_rx_header(&rx));
	assert_int_equal(pdu_rx_feed(&rx, buf, 20), 20);
	assert_false(pdu_rx_idle(&rx));
	pdu_rx_destroy(&rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_no_data_pdu),
	        cmocka_unit_test(test_whole_pdu_in_place),
	        cmocka_unit_test(test_every_split_digests),
	        cmocka_unit_test(test_every_split_no_digests),
	        cmocka_unit_test(test_every_split_placed),
	        cmocka_unit_test(test_one_byte_feeding),
	        cmocka_unit_test(test_many_pdus_one_feed),
	        cmocka_unit_test(test_bad_header_digest_is_fatal),
	        cmocka_unit_test(test_bad_data_digest_recoverable),
	        cmocka_unit_test(test_corrupt_padding_fails_data_digest),
	        cmocka_unit_test(test_oversize_segment),
	        cmocka_unit_test(test_limit_raised_between_pdus),
	        cmocka_unit_test(test_ahs_past_end),
	        cmocka_unit_test(test_ahs_exact_fit_bidi),
	        cmocka_unit_test(test_digests_switch_at_boundary),
	        cmocka_unit_test(test_stop_returns_early),
	        cmocka_unit_test(test_callback_error_is_fatal),
	        cmocka_unit_test(test_gathered_when_split),
	        cmocka_unit_test(test_place_declined),
	        cmocka_unit_test(test_limit_lowered_in_place),
	        cmocka_unit_test(test_init_rejects_bad_args),
	        cmocka_unit_test(test_truncation_not_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
