/* lib/ctlsock: the control sockets' file handling and line buffering. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/ctlsock.h"

struct seen {
	char lines[4][32];
	int n, stop_at;
};

static int take(void *arg, const char *line, size_t len)
{
	struct seen *s = arg;

	assert_true(s->n < 4 && len < sizeof(s->lines[0]));
	memcpy(s->lines[s->n], line, len);
	s->lines[s->n][len] = '\0';
	return ++s->n == s->stop_at;
}

/* CR before LF dropped, empty lines skipped, the partial line kept. */
static void test_lines_split(void **state)
{
	char buf[64];
	struct xi_ctl_lines b = {.buf = buf, .cap = sizeof(buf)};
	struct seen s = {0};
	const char *in = "a\r\n\n\r\nbc\npart";

	(void)state;
	memcpy(buf, in, strlen(in));
	b.len = strlen(in);
	assert_int_equal(xi_ctl_lines_each(&b, take, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[0], "a");
	assert_string_equal(s.lines[1], "bc");
	assert_int_equal(b.len, 4);
	assert_memory_equal(buf, "part", 4);
	assert_false(xi_ctl_lines_full(&b));
}

/* A nonzero return stops at that line; the lines after it stay. */
static void test_lines_stop(void **state)
{
	char buf[64];
	struct xi_ctl_lines b = {.buf = buf, .cap = sizeof(buf)};
	struct seen s = {.stop_at = 1};
	const char *in = "one\ntwo\n";

	(void)state;
	memcpy(buf, in, strlen(in));
	b.len = strlen(in);
	assert_int_equal(xi_ctl_lines_each(&b, take, &s), 1);
	assert_int_equal(b.len, 4);
	assert_memory_equal(buf, "two\n", 4);
	s.stop_at = 0;
	assert_int_equal(xi_ctl_lines_each(&b, take, &s), 0);
	assert_string_equal(s.lines[1], "two");
	assert_int_equal(b.len, 0);
}

/* A socket file nobody listens on is replaced; a live one is refused. The
 * socket is 0600 and its missing directory is made 0700. */
static void test_listen(void **state)
{
	char dir[] = "/tmp/xi_ctlsock_XXXXXX", path[96], err[256] = "";
	struct stat st;
	int fd, fd2, c, a;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run/t.sock", dir);
	fd = xi_ctl_listen(path, 0, 4, "tester", err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(err, sizeof(err), "%s/run", dir);
	assert_int_equal(stat(err, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* Our own uid passes the SO_PEERCRED check; a line goes through whole. */
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		char got[8] = "";

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
		a = xi_ctl_accept(fd, 0, "denied");
		assert_true(a >= 0);
		assert_int_equal(xi_ctl_send_line(a, "ok"), 0);
		assert_int_equal(recv(c, got, sizeof(got), MSG_DONTWAIT), 3);
		assert_memory_equal(got, "ok\n", 3);
		close(a);
	}
	close(c);

	fd2 = xi_ctl_listen(path, 0, 4, "tester", err, sizeof(err));
	assert_int_equal(fd2, -EADDRINUSE);
	assert_non_null(strstr(err, "in use by another tester"));
	close(fd); /* the file stays: stale now */
	fd2 = xi_ctl_listen(path, 0, 4, "tester", err, sizeof(err));
	assert_true(fd2 >= 0);
	close(fd2);
	unlink(path);
	snprintf(err, sizeof(err), "%s/run", dir);
	rmdir(err);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lines_split),
	        cmocka_unit_test(test_lines_stop),
	        cmocka_unit_test(test_listen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
