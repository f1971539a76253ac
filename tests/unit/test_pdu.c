/* BHS layouts against RFC 7143 section 11, and the PDU builder. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/crc32c.h"
#include "lib/pdu.h"
#include "lib/pdu_tx.h"

/* Offsets as the byte diagrams of RFC 7143 section 11 give them. */
static void test_layout_offsets(void **state)
{
	assert_int_equal(offsetof(struct iscsi_bhs, bhs_total_ahs_len), 4);
	assert_int_equal(offsetof(struct iscsi_bhs, bhs_data_segment_len), 5);
	assert_int_equal(offsetof(struct iscsi_bhs, bhs_lun), 8);
	assert_int_equal(offsetof(struct iscsi_bhs, bhs_itt), 16);

	assert_int_equal(
	        offsetof(struct iscsi_bhs_scsi_command, bhssc_expected_data_transfer_length), 20);
	assert_int_equal(offsetof(struct iscsi_bhs_scsi_command, bhssc_cmdsn), 24);
	assert_int_equal(offsetof(struct iscsi_bhs_scsi_command, bhssc_expstatsn), 28);
	assert_int_equal(offsetof(struct iscsi_bhs_scsi_command, bhssc_cdb), 32);

	assert_int_equal(offsetof(struct iscsi_bhs_scsi_response, bhssr_status), 3);
	assert_int_equal(offsetof(struct iscsi_bhs_scsi_response, bhssr_statsn), 24);
	assert_int_equal(offsetof(struct iscsi_bhs_scsi_response, bhssr_expdatasn), 36);
	assert_int_equal(offsetof(struct iscsi_bhs_scsi_response, bhssr_residual_count), 44);

	assert_int_equal(offsetof(struct iscsi_bhs_login_request, bhslr_isid), 8);
	assert_int_equal(offsetof(struct iscsi_bhs_login_request, bhslr_tsih), 14);
	assert_int_equal(offsetof(struct iscsi_bhs_login_request, bhslr_cid), 20);
	assert_int_equal(offsetof(struct iscsi_bhs_login_request, bhslr_cmdsn), 24);
	assert_int_equal(offsetof(struct iscsi_bhs_login_response, bhslrs_status_class), 36);
	assert_int_equal(offsetof(struct iscsi_bhs_login_response, bhslrs_status_detail), 37);

	assert_int_equal(offsetof(struct iscsi_bhs_data_out, bhsdo_ttt), 20);
	assert_int_equal(offsetof(struct iscsi_bhs_data_out, bhsdo_expstatsn), 28);
	assert_int_equal(offsetof(struct iscsi_bhs_data_out, bhsdo_datasn), 36);
	assert_int_equal(offsetof(struct iscsi_bhs_data_out, bhsdo_buffer_offset), 40);
	assert_int_equal(offsetof(struct iscsi_bhs_data_in, bhsdi_status), 3);
	assert_int_equal(offsetof(struct iscsi_bhs_data_in, bhsdi_datasn), 36);
	assert_int_equal(offsetof(struct iscsi_bhs_data_in, bhsdi_residual_count), 44);

	assert_int_equal(offsetof(struct iscsi_bhs_r2t, bhsr2t_r2tsn), 36);
	assert_int_equal(offsetof(struct iscsi_bhs_r2t, bhsr2t_desired_data_transfer_length), 44);
	assert_int_equal(offsetof(struct iscsi_bhs_task_mgmt_request, bhstmr_refcmdsn), 32);
	assert_int_equal(offsetof(struct iscsi_bhs_logout_request, bhslo_cid), 20);
	assert_int_equal(offsetof(struct iscsi_bhs_logout_response, bhslors_time2wait), 40);
	assert_int_equal(offsetof(struct iscsi_bhs_logout_response, bhslors_time2retain), 42);
	assert_int_equal(offsetof(struct iscsi_bhs_snack_request, bhssn_begrun), 40);
	assert_int_equal(offsetof(struct iscsi_bhs_snack_request, bhssn_runlength), 44);
	assert_int_equal(offsetof(struct iscsi_bhs_async_message, bhsam_async_event), 36);
	assert_int_equal(offsetof(struct iscsi_bhs_async_message, bhsam_parameter3), 42);
	assert_int_equal(offsetof(struct iscsi_bhs_reject, bhsrj_reason), 2);
	assert_int_equal(offsetof(struct iscsi_bhs_reject, bhsrj_datasn_r2tsn), 36);
	assert_int_equal(offsetof(struct iscsi_bhs_nop_in, bhsni_maxcmdsn), 32);
	assert_int_equal(offsetof(struct iscsi_bhs_text_response, bhstrs_ttt), 20);
}

static void test_dsl_big_endian_24(void **state)
{
	struct iscsi_bhs bhs;

	memset(&bhs, 0, sizeof(bhs));
	pdu_dsl_set(&bhs, 0x123456);
	assert_int_equal(bhs.bhs_data_segment_len[0], 0x12);
	assert_int_equal(bhs.bhs_data_segment_len[1], 0x34);
	assert_int_equal(bhs.bhs_data_segment_len[2], 0x56);
	assert_int_equal(pdu_dsl_get(&bhs), 0x123456);
	/* Neighbours untouched. */
	assert_int_equal(bhs.bhs_total_ahs_len, 0);
	assert_int_equal(bhs.bhs_lun[0], 0);
}

static void test_pad(void **state)
{
	assert_int_equal(pdu_pad_len(0), 0);
	assert_int_equal(pdu_pad_len(1), 3);
	assert_int_equal(pdu_pad_len(2), 2);
	assert_int_equal(pdu_pad_len(3), 1);
	assert_int_equal(pdu_pad_len(4), 0);
	assert_int_equal(pdu_padded_len(5), 8);
	assert_int_equal(pdu_ahs_size(17), 20); /* 11.2.2.3: 32-byte CDB */
	assert_int_equal(pdu_ahs_size(ISCSI_AHS_BIDI_RLEN_LEN), 8);
}

static void test_opcode_helpers(void **state)
{
	struct iscsi_bhs bhs = {.bhs_opcode = ISCSI_OP_LOGIN_REQ | ISCSI_OP_IMMEDIATE};

	assert_int_equal(pdu_opcode(&bhs), ISCSI_OP_LOGIN_REQ);
	assert_true(pdu_is_immediate(&bhs));
	assert_int_equal(LOGIN_STATUS_CLASS_OF(LOGIN_STATUS_AUTH_FAILED),
	                 LOGIN_STATUS_CLASS_INITIATOR);
	assert_int_equal(LOGIN_STATUS_DETAIL_OF(LOGIN_STATUS_AUTH_FAILED), 0x01);
}

/* RFC 7143 B.4's SCSI Read (10) PDU: its header digest goes on the wire LSB first. */
static void test_header_digest_wire_order(void **state)
{
	static const uint8_t read10[48] = {
	        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
	        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
	        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t want[4] = {0x56, 0x3a, 0x96, 0xd9};
	struct iscsi_bhs bhs;
	struct pdu_tx tx;
	struct iovec iov[PDU_TX_IOV_EXTRA];
	int n;

	memcpy(&bhs, read10, sizeof(bhs));
	n = pdu_tx_build(&tx, &bhs, NULL, 0, NULL, 0, PDU_DIGEST_HEADER | PDU_DIGEST_DATA, iov,
	                 PDU_TX_IOV_EXTRA);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[0].iov_base, &bhs);
	assert_int_equal(iov[0].iov_len, ISCSI_BHS_SIZE);
	assert_int_equal(iov[1].iov_len, ISCSI_DIGEST_SIZE);
	assert_memory_equal(iov[1].iov_base, want, 4);
	assert_memory_equal(&bhs, read10, sizeof(bhs)); /* no AHS, no data: fields unchanged */
	assert_int_equal(tx.wire_len, ISCSI_BHS_SIZE + ISCSI_DIGEST_SIZE);
}

static void test_build_data_pad_digest(void **state)
{
	uint8_t a[3] = {1, 2, 3}, b[4] = {4, 5, 6, 7}, all[8] = {1, 2, 3, 4, 5, 6, 7, 0};
	struct iovec data[3] = {{a, 3}, {NULL, 0}, {b, 4}};
	struct iscsi_bhs bhs;
	struct pdu_tx tx;
	struct iovec iov[PDU_TX_IOV_EXTRA + 3];
	uint32_t crc;
	uint8_t *tr;
	int n;

	memset(&bhs, 0, sizeof(bhs));
	n = pdu_tx_build(&tx, &bhs, NULL, 0, data, 3, PDU_DIGEST_DATA, iov, pdu_tx_iov_max(3));
	/* BHS, a, b (the empty entry dropped), pad + digest */
	assert_int_equal(n, 4);
	assert_int_equal(pdu_dsl_get(&bhs), 7);
	assert_ptr_equal(iov[1].iov_base, a);
	assert_ptr_equal(iov[2].iov_base, b);
	assert_int_equal(iov[3].iov_len, 1 + ISCSI_DIGEST_SIZE);
	tr = iov[3].iov_base;
	assert_int_equal(tr[0], 0);
	crc = crc32c(all, sizeof(all)); /* the digest covers the pad byte */
	assert_int_equal(tr[1] | tr[2] << 8 | tr[3] << 16 | (uint32_t)tr[4] << 24, crc);
	assert_int_equal(tx.wire_len, ISCSI_BHS_SIZE + 8 + ISCSI_DIGEST_SIZE);
}

static void test_build_sets_ahs_length(void **state)
{
	uint8_t ahs[8] = {0, ISCSI_AHS_BIDI_RLEN_LEN, ISCSI_AHS_TYPE_BIDI_RLEN};
	struct iscsi_bhs bhs;
	struct pdu_tx tx;
	struct iovec iov[PDU_TX_IOV_EXTRA];

	memset(&bhs, 0, sizeof(bhs));
	assert_int_equal(pdu_tx_build(&tx, &bhs, ahs, 8, NULL, 0, 0, iov, PDU_TX_IOV_EXTRA), 2);
	assert_int_equal(bhs.bhs_total_ahs_len, 2);
	assert_ptr_equal(iov[1].iov_base, ahs);
}

static void test_build_rejects(void **state)
{
	uint8_t ahs[8] = {0};
	struct iscsi_bhs bhs;
	struct pdu_tx tx;
	struct iovec iov[PDU_TX_IOV_EXTRA + 2];
	struct iovec big[2] = {{ahs, ISCSI_DSL_MAX}, {ahs, 1}};

	memset(&bhs, 0, sizeof(bhs));
	assert_int_equal(pdu_tx_build(&tx, &bhs, ahs, 6, NULL, 0, 0, iov, PDU_TX_IOV_EXTRA),
	                 -EINVAL);
	assert_int_equal(pdu_tx_build(&tx, &bhs, NULL, 8, NULL, 0, 0, iov, PDU_TX_IOV_EXTRA),
	                 -EINVAL);
	assert_int_equal(pdu_tx_build(&tx, &bhs, NULL, 0, big, 2, 0, iov, pdu_tx_iov_max(2)),
	                 -EMSGSIZE);
	assert_int_equal(pdu_tx_build(&tx, &bhs, NULL, 0, big, 2, 0, iov, 3), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_layout_offsets),
	        cmocka_unit_test(test_dsl_big_endian_24),
	        cmocka_unit_test(test_pad),
	        cmocka_unit_test(test_opcode_helpers),
	        cmocka_unit_test(test_header_digest_wire_order),
	        cmocka_unit_test(test_build_data_pad_digest),
	        cmocka_unit_test(test_build_sets_ahs_length),
	        cmocka_unit_test(test_build_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
