/* Logging: level names, the level filter, and one whole line per message on stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/log.h"

static void test_level_names(void **state)
{
	enum log_level l = LOG_LVL_ERROR;

	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LVL_WARN);
	assert_int_equal(log_level_parse("verbose", &l), -EINVAL);
	assert_int_equal(l, LOG_LVL_WARN);
}

static void test_filter(void **state)
{
	log_setup("t", LOG_LVL_WARN, LOG_SINK_STDERR);
	assert_true(log_enabled(LOG_LVL_ERROR));
	assert_true(log_enabled(LOG_LVL_WARN));
	assert_false(log_enabled(LOG_LVL_INFO));
	assert_int_equal(log_get_level(), LOG_LVL_WARN);
}

/* Captures what the logger writes to stderr while fn runs. */
static size_t capture(void (*fn)(void), char *out, size_t cap)
{
	int p[2], saved;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(p[1], STDERR_FILENO) >= 0);
	fn();
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(p[1]);
	n = read(p[0], out, cap - 1);
	close(p[0]);
	assert_true(n >= 0);
	out[n] = '\0';
	return (size_t)n;
}

static void emit_some(void)
{
	log_setup("xt", LOG_LVL_INFO, LOG_SINK_STDERR);
	log_info("value %d", 42);
	log_debug("hidden %d", 1);
	log_error("bad %s", "thing");
}

static void test_stderr_lines(void **state)
{
	char buf[512];

	capture(emit_some, buf, sizeof(buf));
	assert_string_equal(buf, "xt: info: value 42\nxt: error: bad thing\n");
}

static void emit_long(void)
{
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_setup("xt", LOG_LVL_INFO, LOG_SINK_STDERR);
	log_warn("%s", big);
}

/* An overlong message is cut, yet still ends its line. */
static void test_long_line_truncated(void **state)
{
	char buf[4096];
	size_t n = capture(emit_long, buf, sizeof(buf));

	assert_true(n > 100 && n < 1100);
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', n - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_level_names),
	        cmocka_unit_test(test_filter),
	        cmocka_unit_test(test_stderr_lines),
	        cmocka_unit_test(test_long_line_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
