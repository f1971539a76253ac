/* iSCSI name validation, RFC 7143 4.2.7. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/names.h"

static void test_good(void **state)
{
	static const char *const good[] = {
	        "iqn.2001-04.com.example",
	        "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309",
	        "iqn.2001-04.com.example:storage.tape1.sys1.xyz",
	        "iqn.2003-01.org.linux-iscsi.host:sn.1234",
	        "iqn.1994-05.com.redhat:5e1f2a3b4c5d",
	        "eui.02004567A425678D",
	        "eui.02004567a425678d",
	        "naa.52004567BA64678D",
	        "naa.62004567BA64678D0123456789ABCDEF",
	        "iqn.2001-04.com.example:caf\xc3\xa9", /* UTF-8 is allowed */
	};
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (names_check(good[i], &why) != 0)
			fail_msg("rejected \"%s\": %s", good[i], why);
		assert_true(names_valid(good[i]));
	}
}

static void test_bad(void **state)
{
	static const char *const bad[] = {
	        "",
	        "iqn",
	        "iqn.",
	        "iqn.2001.com.example",
	        "iqn.2001-4.com.example",
	        "iqn.2001-13.com.example",
	        "iqn.2001-00.com.example",
	        "iqn.2001-04",
	        "iqn.2001-04.",
	        "iqn.2001-04com.example",
	        "iqn.2001-04.com..example",
	        "iqn.2001-04.com.example.",
	        "iqn.2001-04.Com.example",
	        "iqn.2001-04.com.example:Disk",
	        "iqn.2001-04.com.example:",
	        "iqn.2001-04.com.example:a b",
	        "iqn.2001-04.com.example:a_b",
	        "iqn.2001-04.com_x.example:a",
	        "eui.02004567A425678",
	        "eui.02004567A425678DE",
	        "eui.02004567A425678G",
	        "naa.52004567BA64678D01",
	        "naa.",
	        "IQN.2001-04.com.example",
	        "foo.bar",
	};
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (names_check(bad[i], &why) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(why);
	}
	assert_int_equal(names_check(NULL, NULL), -EINVAL);
}

static void test_length_limit(void **state)
{
	char name[300];
	const char *why = NULL;
	size_t base;

	strcpy(name, "iqn.2001-04.com.example:");
	base = strlen(name);
	memset(name + base, 'a', 223 - base);
	name[223] = '\0';
	assert_int_equal(names_check(name, &why), 0);
	name[223] = 'a';
	name[224] = '\0';
	assert_int_equal(names_check(name, &why), -EINVAL);
	assert_string_equal(why, "longer than 223 bytes");
}

static void test_reason_names_the_problem(void **state)
{
	const char *why = NULL;

	assert_int_equal(names_check("iqn.2001-04.com.example:Disk", &why), -EINVAL);
	assert_non_null(strstr(why, "uppercase"));
	assert_int_equal(names_check("iqn.2001-13.com.example", &why), -EINVAL);
	assert_non_null(strstr(why, "month"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_good),
	        cmocka_unit_test(test_bad),
	        cmocka_unit_test(test_length_limit),
	        cmocka_unit_test(test_reason_names_the_problem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
