/* xiscsiadm's node records: layout, round trip, validation, listing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "initiator/noderec.h"

static char root[256];

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/test_ini_noderec.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_init_validates_names(void **state)
{
	struct noderec r;

	assert_int_equal(noderec_init(&r, "../../etc", "127.0.0.1", 3260, 1), -EINVAL);
	assert_int_equal(noderec_init(&r, "iqn.2026-01.a:b", "../x", 3260, 1), -EINVAL);
	assert_int_equal(noderec_init(&r, "iqn.2026-01.a:b", "a/b", 3260, 1), -EINVAL);
	assert_int_equal(noderec_init(&r, "iqn.2026-01.a:b", "..", 3260, 1), -EINVAL);
	assert_int_equal(noderec_init(&r, "iqn.2026-01.a:b", "127.0.0.1", 0, 1), -EINVAL);
	assert_int_equal(noderec_init(&r, "iqn.2026-01.a:b", "::1", 3260, 1), 0);
	noderec_free(&r);
}

static void test_save_load_round_trip(void **state)
{
	struct noderec r, back;
	char path[512];
	struct stat st;

	assert_int_equal(noderec_init(&r, "iqn.2026-01.a:b", "127.0.0.1", 3262, 5), 0);
	assert_int_equal(noderec_set(&r, "node.session.auth.username", "alice"), 0);
	assert_int_equal(noderec_set(&r, "node.session.auth.password", "a b = c"), 0);
	assert_int_equal(noderec_set(&r, "node.conn[0].iscsi.DataDigest", "CRC32C"), 0);
	assert_int_equal(noderec_save(root, &r), 0);
	snprintf(path, sizeof(path), "%s/nodes/iqn.2026-01.a:b/127.0.0.1,3262,5/default", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0077, 0); /* secrets inside: owner only */
	/* Any TPGT finds it; a wrong one does not. */
	assert_int_equal(noderec_load(root, "iqn.2026-01.a:b", "127.0.0.1", 3262, -1, &back), 0);
	assert_int_equal(back.tpgt, 5);
	assert_string_equal(noderec_get(&back, "node.session.auth.username"), "alice");
	assert_string_equal(noderec_get(&back, "node.session.auth.password"), "a b = c");
	assert_string_equal(noderec_get(&back, "node.conn[0].iscsi.DataDigest"), "CRC32C");
	assert_string_equal(noderec_get(&back, "node.session.auth.username_in"), "");
	noderec_free(&back);
	assert_int_equal(noderec_load(root, "iqn.2026-01.a:b", "127.0.0.1", 3262, 4, &back),
	                 -ENOENT);
	assert_int_equal(noderec_delete(root, &r), 0);
	assert_int_equal(noderec_load(root, "iqn.2026-01.a:b", "127.0.0.1", 3262, -1, &back),
	                 -ENOENT);
	noderec_free(&r);
}

static void test_set_validates(void **state)
{
	struct noderec r;

	assert_int_equal(noderec_init(&r, "iqn.2026-01.a:b", "h", 3260, 1), 0);
	assert_int_equal(noderec_set(&r, "node.bogus", "1"), -ENOENT);
	assert_int_equal(noderec_set(&r, "node.name", "iqn.2026-01.x:y"), -EPERM);
	assert_int_equal(noderec_set(&r, "node.conn[0].address", "10.0.0.1"), -EPERM);
	assert_int_equal(noderec_set(&r, "node.session.queue_depth", "0"), -EINVAL);
	assert_int_equal(noderec_set(&r, "node.session.queue_depth", "-1"), -EINVAL);
	assert_int_equal(noderec_set(&r, "node.session.queue_depth", "12x"), -EINVAL);
	assert_int_equal(noderec_set(&r, "node.session.iscsi.ImmediateData", "yes please"),
	                 -EINVAL);
	assert_int_equal(noderec_set(&r, "node.startup", "sometimes"), -EINVAL);
	/* A newline in a value would forge a second key in the file. */
	assert_int_equal(noderec_set(&r, "node.session.auth.username", "a\nnode.name = x"),
	                 -EINVAL);
	assert_int_equal(noderec_set(&r, "node.startup", "automatic"), 0);
	assert_string_equal(noderec_get(&r, "node.startup"), "automatic");
	noderec_free(&r);
}

static int count_cb(const struct noderec *r, void *arg)
{
	char *seen = arg;

	strcat(seen, r->name);
	strcat(seen, "@");
	strcat(seen, r->host);
	strcat(seen, ";");
	return 0;
}

static void test_foreach_sorted(void **state)
{
	static const char *const names[] = {"iqn.2026-01.z:last", "iqn.2026-01.a:first"};
	char seen[512] = "";

	for (int i = 0; i < 2; i++) {
		struct noderec r;

		assert_int_equal(noderec_init(&r, names[i], "::1", 3260, 1), 0);
		assert_int_equal(noderec_save(root, &r), 0);
		noderec_free(&r);
	}
	assert_int_equal(noderec_foreach(root, count_cb, seen), 2);
	assert_string_equal(seen, "iqn.2026-01.a:first@::1;iqn.2026-01.z:last@::1;");
}

static void test_print_masks_secrets(void **state)
{
	struct noderec r;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(noderec_init(&r, "iqn.2026-01.a:b", "h", 3260, 1), 0);
	assert_int_equal(noderec_set(&r, "node.session.auth.password", "topsecret"), 0);
	f = open_memstream(&text, &len);
	noderec_print(&r, f, false);
	fclose(f);
	assert_null(strstr(text, "topsecret"));
	assert_non_null(strstr(text, "node.session.auth.password = ********"));
	free(text);
	noderec_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_init_validates_names),
	        cmocka_unit_test_setup_teardown(test_save_load_round_trip, setup, teardown),
	        cmocka_unit_test(test_set_validates),
	        cmocka_unit_test_setup_teardown(test_foreach_sorted, setup, teardown),
	        cmocka_unit_test(test_print_masks_secrets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
