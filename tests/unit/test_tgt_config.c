/*
 * xtgtd's command line and configuration file parser (target/config.c):
 * what each flag and directive builds, and the message each mistake gets.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "target/config.h"

static int parse(struct tgt_config *cfg, char *err, size_t errlen, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	char *a;

	argv[argc++] = (char *)"xtgtd";
	va_start(ap, errlen);
	while ((a = va_arg(ap, char *)) && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	tgt_config_init(cfg);
	return tgt_config_parse_args(cfg, argc, argv, err, errlen);
}

static void test_flags_build_targets_and_luns(void **state)
{
	struct tgt_config cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(&cfg, err, sizeof(err), "-f", "--listen", "127.0.0.1:3260",
	                       "--target", "iqn.2026-11.org.xiscsi:demo", "--lun", "ram:1G",
	                       "--lun", "file:/var/lib/xiscsi/disk0.img,size=10G", "--target",
	                       "iqn.2026-11.org.xiscsi:two", "--lun", "null:1T", "--threads", "4",
	                       "--transport", "tcp", NULL),
	                 0);
	assert_true(cfg.foreground);
	assert_int_equal(cfg.nportals, 1);
	assert_string_equal(cfg.portals[0].host, "127.0.0.1");
	assert_int_equal(cfg.portals[0].port, 3260);
	assert_int_equal(cfg.ntargets, 2);
	assert_int_equal(cfg.targets[0].nluns, 2);
	assert_int_equal(cfg.targets[0].luns[0].lun, 0);
	assert_int_equal(cfg.targets[0].luns[1].lun, 1);
	assert_string_equal(cfg.targets[0].luns[1].spec, "file:/var/lib/xiscsi/disk0.img,size=10G");
	/* Each --lun attaches to the last --target, numbered from 0 there. */
	assert_int_equal(cfg.targets[1].nluns, 1);
	assert_int_equal(cfg.targets[1].luns[0].lun, 0);
	assert_int_equal(cfg.threads, 4);
	assert_string_equal(cfg.transport, "tcp");
	tgt_config_free(&cfg);
}

static void test_ipv6_listen(void **state)
{
	char *host = NULL;
	uint16_t port = 0;

	(void)state;
	assert_int_equal(tgt_config_parse_hostport("[::1]:3261", &host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 3261);
	free(host);
	assert_int_equal(tgt_config_parse_hostport("::1", &host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, TGT_PORT_DEFAULT);
	free(host);
	assert_int_equal(tgt_config_parse_hostport("[::1]x", &host, &port), -EINVAL);
	assert_int_equal(tgt_config_parse_hostport("1.2.3.4:70000", &host, &port), -EINVAL);
}

static void test_bad_flag_messages(void **state)
{
	struct tgt_config cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(&cfg, err, sizeof(err), "--frob", NULL), -EINVAL);
	assert_string_equal(err, "unknown option '--frob'");
	tgt_config_free(&cfg);
	assert_int_equal(parse(&cfg, err, sizeof(err), "--lun", "ram:1G", NULL), -EINVAL);
	assert_string_equal(err, "--lun 'ram:1G' comes before any --target");
	tgt_config_free(&cfg);
	assert_int_equal(parse(&cfg, err, sizeof(err), "--threads", "x", NULL), -EINVAL);
	assert_string_equal(err, "threads must be a number from 1 to 64, not 'x'");
	tgt_config_free(&cfg);
	assert_int_equal(parse(&cfg, err, sizeof(err), "--queue-depth", "0", NULL), -EINVAL);
	assert_string_equal(err, "queue-depth must be a number from 1 to 4096, not '0'");
	tgt_config_free(&cfg);
	assert_int_equal(parse(&cfg, err, sizeof(err), "--target", "iqn.2026-11.x:a", "--chap",
	                       "user%short", NULL),
	                 -EINVAL);
	assert_string_equal(err, "CHAP secret must be 12 to 255 characters long");
	tgt_config_free(&cfg);
}

static void test_config_text(void **state)
{
	struct tgt_config cfg;
	char err[256] = "";
	static const char text[] = "# comment\n"
	                           "listen [::1]:3262\n"
	                           "threads 2\n"
	                           "log-level debug\n"
	                           "target iqn.2026-11.org.xiscsi:a\n"
	                           "\talias \"disk a\"\n"
	                           "\tlun 3 ram:1G\n"
	                           "\tlun ram:2G   # numbered after the highest: 4\n"
	                           "\tacl iqn.1994-05.com.redhat:client\n"
	                           "\tchap alice alice-secret-123\n"
	                           "discovery-chap bob bob-secret-1234\n";

	(void)state;
	tgt_config_init(&cfg);
	assert_int_equal(tgt_config_load_string(&cfg, text, "t.conf", err, sizeof(err)), 0);
	assert_int_equal(cfg.portals[0].port, 3262);
	assert_string_equal(cfg.portals[0].host, "::1");
	assert_int_equal(cfg.threads, 2);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(cfg.targets[0].alias, "disk a");
	assert_int_equal(cfg.targets[0].luns[0].lun, 3);
	assert_int_equal(cfg.targets[0].luns[1].lun, 4);
	assert_int_equal(cfg.targets[0].nacl, 1);
	assert_string_equal(cfg.targets[0].chap.user, "alice");
	assert_string_equal(cfg.discovery_chap.secret, "bob-secret-1234");
	assert_int_equal(tgt_config_finish(&cfg, err, sizeof(err)), 0);
	tgt_config_free(&cfg);
}

static void test_config_errors_name_the_line(void **state)
{
	struct tgt_config cfg;
	char err[256] = "";

	(void)state;
	tgt_config_init(&cfg);
	assert_int_equal(
	        tgt_config_load_string(&cfg, "threads 2\n\nbogus 1\n", "x.conf", err, sizeof(err)),
	        -EINVAL);
	assert_string_equal(err, "x.conf:3: unknown directive 'bogus'");
	tgt_config_free(&cfg);
	tgt_config_init(&cfg);
	assert_int_equal(tgt_config_load_string(&cfg, "lun ram:1G\n", "x.conf", err, sizeof(err)),
	                 -EINVAL);
	assert_string_equal(err, "x.conf:1: lun 'ram:1G' comes before any target");
	tgt_config_free(&cfg);
	tgt_config_init(&cfg);
	assert_int_equal(tgt_config_load_string(&cfg, "alias \"open\n", "x.conf", err, sizeof(err)),
	                 -EINVAL);
	assert_string_equal(err, "x.conf:1: unterminated or misplaced quote");
	tgt_config_free(&cfg);
	tgt_config_init(&cfg);
	assert_int_equal(tgt_config_load_string(&cfg, "listen a b\n", "x.conf", err, sizeof(err)),
	                 -EINVAL);
	assert_string_equal(err, "x.conf:1: 'listen' takes 1 argument, 2 given");
	tgt_config_free(&cfg);
}

static void test_finish_needs_a_target_and_defaults_the_portal(void **state)
{
	struct tgt_config cfg;
	char err[256] = "";

	(void)state;
	tgt_config_init(&cfg);
	assert_int_equal(tgt_config_finish(&cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no target configured (use --target IQN or -c FILE)");
	assert_int_equal(
	        tgt_config_load_string(&cfg, "target iqn.2026-11.x:y\n", "c", err, sizeof(err)), 0);
	assert_int_equal(tgt_config_finish(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nportals, 1);
	assert_string_equal(cfg.portals[0].host, "0.0.0.0");
	assert_int_equal(cfg.portals[0].port, 3260);
	tgt_config_free(&cfg);
}

static void test_sizes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(tgt_config_parse_size("1G", &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(tgt_config_parse_size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(tgt_config_parse_size("10TiB", &v), 0);
	assert_int_equal(v, 10ull << 40);
	assert_int_equal(tgt_config_parse_size("1Q", &v), -EINVAL);
	assert_int_equal(tgt_config_parse_size("99999999999P", &v), -ERANGE);
}

/* chap-algorithms and discovery-chap-algorithms: names or numbers into
 * CHAP_A numbers, kept when chap comes after; offline marks a known LUN. */
static void test_chap_algorithms_and_offline(void **state)
{
	struct tgt_config cfg;
	char err[256] = "", names[64], *algs = NULL;
	const char *text = "discovery-chap-algorithms SHA1,5\n"
	                   "target iqn.2026-11.x:y\n"
	                   "\tlun 0 ram:1M\n"
	                   "\tlun 3 ram:1M\n"
	                   "\toffline 3\n"
	                   "\tchap-algorithms sha3-256,sha256,7\n"
	                   "\tchap alice \"alice-secret-12\"\n";

	(void)state;
	tgt_config_init(&cfg);
	assert_int_equal(tgt_config_load_string(&cfg, text, "a.conf", err, sizeof(err)), 0);
	assert_string_equal(cfg.discovery_chap.algs, "5,6");
	assert_string_equal(cfg.targets[0].chap.algs, "7,8");
	assert_string_equal(cfg.targets[0].chap.user, "alice");
	assert_false(cfg.targets[0].luns[0].offline);
	assert_true(cfg.targets[0].luns[1].offline);
	tgt_config_chap_alg_names(cfg.targets[0].chap.algs, names, sizeof(names));
	assert_string_equal(names, "sha256,sha3-256");
	tgt_config_free(&cfg);

	assert_int_equal(tgt_config_parse_chap_algs("md5,", &algs), -EINVAL);
	assert_int_equal(tgt_config_parse_chap_algs(",md5", &algs), -EINVAL);
	assert_int_equal(tgt_config_parse_chap_algs("sha512", &algs), -EINVAL);
	assert_int_equal(tgt_config_parse_chap_algs("9", &algs), -EINVAL);
	assert_int_equal(tgt_config_parse_chap_algs("", &algs), -EINVAL);
	assert_null(algs);

	tgt_config_init(&cfg);
	assert_int_equal(tgt_config_load_string(&cfg, "target iqn.2026-11.x:y\noffline 0\n", "b",
	                                        err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "b:2: offline 0"));
	tgt_config_free(&cfg);
	tgt_config_init(&cfg);
	assert_int_equal(
	        tgt_config_load_string(&cfg, "chap-algorithms md5\n", "c", err, sizeof(err)),
	        -EINVAL);
	tgt_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_flags_build_targets_and_luns),
	        cmocka_unit_test(test_ipv6_listen),
	        cmocka_unit_test(test_bad_flag_messages),
	        cmocka_unit_test(test_config_text),
	        cmocka_unit_test(test_config_errors_name_the_line),
	        cmocka_unit_test(test_finish_needs_a_target_and_defaults_the_portal),
	        cmocka_unit_test(test_sizes),
	        cmocka_unit_test(test_chap_algorithms_and_offline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
