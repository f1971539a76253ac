/*
 * The initiator's checks of target PDUs that RFC 7143 calls protocol
 * errors: residual flags of a response, R2T order and MaxOutstandingR2T,
 * what a Reject and an Asynchronous Message make the session do.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "initiator/window.h"
#include "lib/pdu.h"

static void test_rsp_flags(void **state)
{
	(void)state;
	assert_int_equal(ini_rsp_flags_check(ISCSI_FLAG_FINAL, false), 0);
	assert_int_equal(ini_rsp_flags_check(ISCSI_FLAG_RSP_UNDERFLOW, false), 0);
	assert_int_equal(ini_rsp_flags_check(ISCSI_FLAG_RSP_OVERFLOW, false), 0);
	/* 11.4.5.1: O and U together are a malformed response. */
	assert_int_equal(
	        ini_rsp_flags_check(ISCSI_FLAG_RSP_OVERFLOW | ISCSI_FLAG_RSP_UNDERFLOW, false),
	        -EPROTO);
	/* o/u on a command that was not bidirectional. */
	assert_int_equal(ini_rsp_flags_check(ISCSI_FLAG_RSP_BIDI_OVERFLOW, false), -EPROTO);
	assert_int_equal(ini_rsp_flags_check(ISCSI_FLAG_RSP_BIDI_UNDERFLOW, false), -EPROTO);
	assert_int_equal(ini_rsp_flags_check(ISCSI_FLAG_RSP_BIDI_UNDERFLOW, true), 0);
	assert_int_equal(
	        ini_rsp_flags_check(ISCSI_FLAG_RSP_BIDI_OVERFLOW | ISCSI_FLAG_RSP_BIDI_UNDERFLOW,
	                            true),
	        -EPROTO);
}

static void test_r2t_sequence(void **state)
{
	(void)state;
	assert_int_equal(ini_r2t_seq_check(0, 0, 0, 1), 0);
	assert_int_equal(ini_r2t_seq_check(3, 3, 1, 4), 0);
	/* 11.8.6: a gap or a repeat in R2TSN. */
	assert_int_equal(ini_r2t_seq_check(0, 1, 0, 1), -EPROTO);
	assert_int_equal(ini_r2t_seq_check(2, 1, 0, 1), -EPROTO);
	/* 13.17: one more R2T than MaxOutstandingR2T while the others wait. */
	assert_int_equal(ini_r2t_seq_check(1, 1, 1, 1), -EPROTO);
	assert_int_equal(ini_r2t_seq_check(4, 4, 4, 4), -EPROTO);
	/* 0 (not negotiated) means the default 1. */
	assert_int_equal(ini_r2t_seq_check(1, 1, 1, 0), -EPROTO);
	assert_int_equal(ini_r2t_seq_check(1, 1, 0, 0), 0);
}

static void test_r2t_range(void **state)
{
	(void)state;
	/* Past the end of the transfer, above MaxBurstLength, or empty. */
	assert_int_equal(ini_r2t_check(8192, 4096, 8192, 262144), -EPROTO);
	assert_int_equal(ini_r2t_check(1 << 20, 0, 262145, 262144), -EPROTO);
	assert_int_equal(ini_r2t_check(8192, 0, 0, 262144), -EPROTO);
	assert_int_equal(ini_r2t_check(8192, 0xfffff000u, 8192, 262144), -EPROTO);
	assert_int_equal(ini_r2t_check(8192, 4096, 4096, 262144), 0);
}

static void test_reject_action(void **state)
{
	(void)state;
	assert_int_equal(ini_reject_action(ISCSI_OP_SCSI_CMD, ISCSI_REJECT_PROTOCOL_ERROR),
	                 INI_REJECT_FAIL_TASK);
	/* 11.17.1 / 7.8: a rejected Data-Out cannot be sent again at ERL 0. */
	assert_int_equal(ini_reject_action(ISCSI_OP_SCSI_DATA_OUT, ISCSI_REJECT_DATA_DIGEST),
	                 INI_REJECT_FAIL_TASK_DROP);
	assert_int_equal(ini_reject_action(ISCSI_OP_SCSI_DATA_OUT, ISCSI_REJECT_PROTOCOL_ERROR),
	                 INI_REJECT_FAIL_TASK_DROP);
	assert_int_equal(ini_reject_action(ISCSI_OP_NOP_OUT, ISCSI_REJECT_PROTOCOL_ERROR),
	                 INI_REJECT_IGNORE);
}

static void test_async_action(void **state)
{
	(void)state;
	assert_int_equal(ini_async_action(ISCSI_ASYNC_LOGOUT_REQUEST), INI_ASYNC_RECONNECT);
	assert_int_equal(ini_async_action(ISCSI_ASYNC_SESSION_DROP), INI_ASYNC_RECONNECT);
	/* 11.9.1 event 4: renegotiate, which a new login does. */
	assert_int_equal(ini_async_action(ISCSI_ASYNC_NEGOTIATION_REQ), INI_ASYNC_RECONNECT);
	assert_int_equal(ini_async_action(ISCSI_ASYNC_SCSI_EVENT), INI_ASYNC_IGNORE);
	assert_int_equal(ini_async_action(ISCSI_ASYNC_VENDOR), INI_ASYNC_IGNORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rsp_flags),    cmocka_unit_test(test_r2t_sequence),
	        cmocka_unit_test(test_r2t_range),    cmocka_unit_test(test_reject_action),
	        cmocka_unit_test(test_async_action),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
