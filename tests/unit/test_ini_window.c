/* The initiator's CmdSN window, unsolicited-data plan and R2T / Data-In checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "initiator/window.h"

static void test_window_opens_and_closes(void **state)
{
	struct ini_window w;

	ini_window_reset(&w, 10, 10, 12);
	assert_int_equal(ini_window_room(&w), 3);
	assert_int_equal(ini_window_take(&w), 10);
	assert_int_equal(ini_window_take(&w), 11);
	assert_int_equal(ini_window_take(&w), 12);
	assert_false(ini_window_open(&w));
	assert_int_equal(ini_window_room(&w), 0);
	/* The target completes two and widens its window. */
	assert_true(ini_window_update(&w, 12, 14));
	assert_true(ini_window_open(&w));
	assert_int_equal(ini_window_room(&w), 2);
}

static void test_window_ignores_stale_updates(void **state)
{
	struct ini_window w;

	ini_window_reset(&w, 100, 100, 131);
	/* An older PDU overtaken by a newer one must not shrink the window. */
	assert_false(ini_window_update(&w, 90, 120));
	assert_int_equal(w.exp_cmdsn, 100);
	assert_int_equal(w.max_cmdsn, 131);
}

static void test_window_rejects_invalid_max(void **state)
{
	struct ini_window w;

	ini_window_reset(&w, 100, 100, 131);
	/* MaxCmdSN < ExpCmdSN - 1 is invalid (RFC 7143 4.2.2.1): ignored whole. */
	assert_false(ini_window_update(&w, 200, 150));
	assert_int_equal(w.exp_cmdsn, 100);
	assert_int_equal(w.max_cmdsn, 131);
}

static void test_window_empty_is_valid(void **state)
{
	struct ini_window w;

	ini_window_reset(&w, 5, 5, 4); /* MaxCmdSN = ExpCmdSN - 1: no room */
	assert_false(ini_window_open(&w));
	assert_true(ini_window_update(&w, 5, 5));
	assert_true(ini_window_open(&w));
}

static void test_window_wraps(void **state)
{
	struct ini_window w;

	ini_window_reset(&w, 0xfffffffeu, 0xfffffffeu, 1);
	assert_int_equal(ini_window_room(&w), 4);
	assert_int_equal(ini_window_take(&w), 0xfffffffeu);
	assert_int_equal(ini_window_take(&w), 0xffffffffu);
	assert_int_equal(ini_window_take(&w), 0);
	assert_int_equal(ini_window_take(&w), 1);
	assert_false(ini_window_open(&w));
	assert_true(ini_window_update(&w, 2, 33));
	assert_int_equal(ini_window_room(&w), 32);
}

static void test_plan_immediate_and_unsolicited(void **state)
{
	struct ini_unsolicited u;

	/* 1 MiB write, ImmediateData=Yes, InitialR2T=No, FirstBurst 256K, MaxXmit 64K. */
	ini_plan_unsolicited(1 << 20, true, false, 262144, 65536, &u);
	assert_int_equal(u.immediate, 65536);
	assert_int_equal(u.data_out, 262144 - 65536);
}

static void test_plan_initial_r2t_allows_only_immediate(void **state)
{
	struct ini_unsolicited u;

	ini_plan_unsolicited(1 << 20, true, true, 65536, 8192, &u);
	assert_int_equal(u.immediate, 8192);
	assert_int_equal(u.data_out, 0);
}

static void test_plan_no_immediate_data(void **state)
{
	struct ini_unsolicited u;

	ini_plan_unsolicited(4096, false, false, 65536, 8192, &u);
	assert_int_equal(u.immediate, 0);
	assert_int_equal(u.data_out, 4096);
	ini_plan_unsolicited(4096, false, true, 65536, 8192, &u);
	assert_int_equal(u.immediate, 0);
	assert_int_equal(u.data_out, 0);
}

static void test_plan_small_write_fits_in_command(void **state)
{
	struct ini_unsolicited u;

	ini_plan_unsolicited(4096, true, false, 262144, 262144, &u);
	assert_int_equal(u.immediate, 4096);
	assert_int_equal(u.data_out, 0);
}

static void test_r2t_checks(void **state)
{
	assert_int_equal(ini_r2t_check(65536, 0, 65536, 262144), 0);
	assert_int_equal(ini_r2t_check(65536, 8192, 57344, 262144), 0);
	assert_int_equal(ini_r2t_check(65536, 8192, 65536, 262144), -EPROTO); /* past the end */
	assert_int_equal(ini_r2t_check(65536, 70000, 1, 262144), -EPROTO);
	assert_int_equal(ini_r2t_check(65536, 0, 0, 262144), -EPROTO);         /* empty */
	assert_int_equal(ini_r2t_check(1 << 20, 0, 1 << 20, 262144), -EPROTO); /* > MaxBurst */
	/* offset + length overflowing 32 bits must not pass. */
	assert_int_equal(ini_r2t_check(65536, 0xfffff000u, 0x2000, 0xffffffu), -EPROTO);
}

static void test_datain_checks(void **state)
{
	assert_int_equal(ini_datain_check(4096, 0, 4096), 0);
	assert_int_equal(ini_datain_check(4096, 4096, 0), 0);
	assert_int_equal(ini_datain_check(4096, 2048, 4096), -EPROTO);
	assert_int_equal(ini_datain_check(4096, 0xffffff00u, 0x200), -EPROTO);
}

/* A repeated Data-In (same DataSN and offset) is refused: counted twice it overruns the buffer. */
static void test_datain_sequence(void **state)
{
	(void)state;
	assert_int_equal(ini_datain_seq_check(0, 0, true, 0, 0), 0);
	assert_int_equal(ini_datain_seq_check(1, 1, true, 4096, 4096), 0);
	assert_int_equal(ini_datain_seq_check(1, 0, true, 4096, 0), -EPROTO);
	assert_int_equal(ini_datain_seq_check(1, 1, true, 4096, 0), -EPROTO);
	assert_int_equal(ini_datain_seq_check(1, 2, false, 4096, 8192), -EPROTO);
	/* Out of order allowed: the offset may move back, the DataSN may not skip. */
	assert_int_equal(ini_datain_seq_check(1, 1, false, 4096, 0), 0);
}

/* A Text Response with C set must name a TTT and carry text, or SendTargets never ends. */
static void test_text_continue(void **state)
{
	(void)state;
	assert_int_equal(ini_text_continue_check(7, 100), 0);
	assert_int_equal(ini_text_continue_check(0xffffffffu, 100), -EPROTO);
	assert_int_equal(ini_text_continue_check(7, 0), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_window_opens_and_closes),
	        cmocka_unit_test(test_window_ignores_stale_updates),
	        cmocka_unit_test(test_window_rejects_invalid_max),
	        cmocka_unit_test(test_window_empty_is_valid),
	        cmocka_unit_test(test_window_wraps),
	        cmocka_unit_test(test_plan_immediate_and_unsolicited),
	        cmocka_unit_test(test_plan_initial_r2t_allows_only_immediate),
	        cmocka_unit_test(test_plan_no_immediate_data),
	        cmocka_unit_test(test_plan_small_write_fits_in_command),
	        cmocka_unit_test(test_r2t_checks),
	        cmocka_unit_test(test_datain_checks),
	        cmocka_unit_test(test_datain_sequence),
	        cmocka_unit_test(test_text_continue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
