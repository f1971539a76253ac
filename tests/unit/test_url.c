/* iSCSI URLs as libiscsi writes them, and host:port portals. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/url.h"

static void test_minimal(void **state)
{
	struct url_iscsi u;

	assert_int_equal(url_parse("iscsi://127.0.0.1/iqn.2001-04.com.example:disk/0", &u), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 3260);
	assert_string_equal(u.target, "iqn.2001-04.com.example:disk");
	assert_int_equal(u.lun, 0);
	assert_string_equal(u.user, "");
	assert_string_equal(u.secret, "");
	assert_int_equal(u.header_digest, URL_DIGEST_UNSET);
}

static void test_full(void **state)
{
	struct url_iscsi u;

	assert_int_equal(
	        url_parse("iscsi://alice%s3cret@host.example:3261/iqn.2001-04.com.example:d/16383",
	                  &u),
	        0);
	assert_string_equal(u.user, "alice");
	assert_string_equal(u.secret, "s3cret");
	assert_string_equal(u.host, "host.example");
	assert_int_equal(u.port, 3261);
	assert_int_equal(u.lun, 16383);
}

/* The first '%' splits; later ones belong to the secret, taken literally. */
static void test_secret_with_percent(void **state)
{
	struct url_iscsi u;

	assert_int_equal(url_parse("iscsi://bob%pa%25ss@h/iqn.2001-04.com.example/1", &u), 0);
	assert_string_equal(u.user, "bob");
	assert_string_equal(u.secret, "pa%25ss");
}

static void test_colon_separator(void **state)
{
	struct url_iscsi u;

	assert_int_equal(url_parse("iscsi://bob:pw@h/iqn.2001-04.com.example/1", &u), 0);
	assert_string_equal(u.user, "bob");
	assert_string_equal(u.secret, "pw");
}

static void test_ipv6(void **state)
{
	struct url_iscsi u;

	assert_int_equal(url_parse("iscsi://[::1]:3262/iqn.2001-04.com.example/2", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 3262);
	assert_int_equal(url_parse("iscsi://[fe80::1]/iqn.2001-04.com.example/2", &u), 0);
	assert_string_equal(u.host, "fe80::1");
	assert_int_equal(u.port, 3260);
}

static void test_target_percent_decoded(void **state)
{
	struct url_iscsi u;

	assert_int_equal(url_parse("iscsi://h/iqn.2001-04.com.example%3adisk/3", &u), 0);
	assert_string_equal(u.target, "iqn.2001-04.com.example:disk");
	assert_int_equal(url_parse("iscsi://h/iqn.x%3/3", &u), -EINVAL);
	assert_int_equal(url_parse("iscsi://h/iqn.x%zz/3", &u), -EINVAL);
	assert_int_equal(url_parse("iscsi://h/iqn.x%00/3", &u), -EINVAL);
}

static void test_query(void **state)
{
	struct url_iscsi u;

	assert_int_equal(url_parse("iscsi://a%b@h/iqn.2001-04.com.example/0?header_digest=crc32c&"
	                           "target_user=t&target_password=tp&iser",
	                           &u),
	                 0);
	assert_int_equal(u.header_digest, URL_DIGEST_CRC32C);
	assert_string_equal(u.target_user, "t");
	assert_string_equal(u.target_secret, "tp");
	assert_int_equal(url_parse("iscsi://h/iqn.2001-04.com.example/0?header_digest=md5", &u),
	                 -EINVAL);
}

static void test_bad(void **state)
{
	static const char *const bad[] = {
	        "",
	        "http://h/iqn.2001-04.com.example/0",
	        "iscsi://",
	        "iscsi://h",
	        "iscsi://h/",
	        "iscsi://h/iqn.2001-04.com.example", /* LUN required, as in libiscsi */
	        "iscsi://h/iqn.2001-04.com.example/",
	        "iscsi://h//0", /* no target */
	        "iscsi://h/iqn.2001-04.com.example/x",
	        "iscsi://h/iqn.2001-04.com.example/-1",
	        "iscsi://h/iqn.2001-04.com.example/16384", /* past flat space */
	        "iscsi://h/iqn.2001-04.com.example/1 ",
	        "iscsi://h:0/iqn.2001-04.com.example/1",
	        "iscsi://h:65536/iqn.2001-04.com.example/1",
	        "iscsi://h:/iqn.2001-04.com.example/1",
	        "iscsi://h:x/iqn.2001-04.com.example/1",
	        "iscsi://[::1/iqn.2001-04.com.example/1",
	        "iscsi://[::1]x/iqn.2001-04.com.example/1",
	        "iscsi://[]/iqn.2001-04.com.example/1",
	        "iscsi://:3260/iqn.2001-04.com.example/1",
	        "iscsi://user@h/iqn.2001-04.com.example/1", /* user without secret */
	        "iscsi://%pw@h/iqn.2001-04.com.example/1",  /* secret without user */
	        "iscsi://u%@h/iqn.2001-04.com.example/1",
	};
	struct url_iscsi u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = url_parse(bad[i], &u);

		if (r != -EINVAL)
			fail_msg("accepted or wrong error %d: \"%s\"", r, bad[i]);
	}
	assert_int_equal(url_parse(NULL, &u), -EINVAL);
}

static void test_failure_clears_secret(void **state)
{
	struct url_iscsi u;

	assert_int_equal(url_parse("iscsi://a%secret@h/iqn.2001-04.com.example/x", &u), -EINVAL);
	assert_string_equal(u.secret, "");
}

static void test_portal_url(void **state)
{
	struct url_iscsi u;

	assert_int_equal(url_parse_portal("iscsi://127.0.0.1:3261", &u), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 3261);
	assert_int_equal(url_parse_portal("iscsi://[::1]/", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(url_parse_portal("iscsi://h/iqn.2001-04.com.example/0", &u), -EINVAL);
}

static void test_hostport(void **state)
{
	char host[64];
	uint16_t port;
	int32_t tpgt;

	assert_int_equal(url_parse_hostport("10.0.0.1", host, sizeof(host), &port, 3260, NULL), 0);
	assert_string_equal(host, "10.0.0.1");
	assert_int_equal(port, 3260);
	assert_int_equal(url_parse_hostport("0.0.0.0:3270", host, sizeof(host), &port, 3260, NULL),
	                 0);
	assert_int_equal(port, 3270);
	assert_int_equal(url_parse_hostport("::1", host, sizeof(host), &port, 3260, NULL), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 3260);
	assert_int_equal(url_parse_hostport("[::]:99", host, sizeof(host), &port, 3260, NULL), 0);
	assert_string_equal(host, "::");
	assert_int_equal(port, 99);
	/* 13.8: TargetAddress carries a portal group tag after ','. */
	assert_int_equal(
	        url_parse_hostport("[fe80::2]:3260,7", host, sizeof(host), &port, 3260, &tpgt), 0);
	assert_string_equal(host, "fe80::2");
	assert_int_equal(tpgt, 7);
	assert_int_equal(url_parse_hostport("h", host, sizeof(host), &port, 3260, &tpgt), 0);
	assert_int_equal(tpgt, -1);
	assert_int_equal(url_parse_hostport("h:1,", host, sizeof(host), &port, 3260, &tpgt),
	                 -EINVAL);
	assert_int_equal(url_parse_hostport("h:1,2", host, sizeof(host), &port, 3260, NULL),
	                 -EINVAL);
	assert_int_equal(url_parse_hostport("", host, sizeof(host), &port, 3260, NULL), -EINVAL);
	assert_int_equal(url_parse_hostport("h:99999", host, sizeof(host), &port, 3260, NULL),
	                 -EINVAL);
	assert_int_equal(
	        url_parse_hostport("averyveryverylonghostname", host, 8, &port, 3260, NULL),
	        -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_minimal),
	        cmocka_unit_test(test_full),
	        cmocka_unit_test(test_secret_with_percent),
	        cmocka_unit_test(test_colon_separator),
	        cmocka_unit_test(test_ipv6),
	        cmocka_unit_test(test_target_percent_decoded),
	        cmocka_unit_test(test_query),
	        cmocka_unit_test(test_bad),
	        cmocka_unit_test(test_failure_clears_secret),
	        cmocka_unit_test(test_portal_url),
	        cmocka_unit_test(test_hostport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
