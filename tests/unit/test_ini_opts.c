/* libxiscsi options: defaults, URLs, setting keys by name, and option checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <xiscsi/xiscsi.h>

static void test_defaults(void **state)
{
	struct xiscsi_opts o;

	xiscsi_opts_init(&o, sizeof(o));
	assert_int_equal(o.size, sizeof(o));
	assert_int_equal(o.port, 3260);
	assert_true(o.immediate_data);
	assert_false(o.initial_r2t);
	assert_int_equal(o.max_recv_data_segment_length, 262144);
	assert_int_equal(o.first_burst_length, 262144);
	assert_true(o.max_burst_length >= 16 * 1024 * 1024 - 1024);
	assert_int_equal(o.queue_depth, 128);
	assert_true(o.reissue_on_reconnect);
	assert_null(o.target_name);
}

static void test_url_full(void **state)
{
	struct xiscsi_opts o;
	uint64_t lun = 99;

	xiscsi_opts_init(&o, sizeof(o));
	assert_int_equal(xiscsi_opts_parse_url(
	                         &o, "iscsi://bob%s3cret@10.0.0.1:3262/iqn.2026-01.a:b/7", &lun),
	                 0);
	assert_string_equal(o.host, "10.0.0.1");
	assert_int_equal(o.port, 3262);
	assert_string_equal(o.target_name, "iqn.2026-01.a:b");
	assert_string_equal(o.chap_user, "bob");
	assert_string_equal(o.chap_secret, "s3cret");
	assert_int_equal(lun, 7);
	xiscsi_opts_clear(&o);
}

static void test_url_ipv6_and_portal_only(void **state)
{
	struct xiscsi_opts o;
	uint64_t lun = 5;

	xiscsi_opts_init(&o, sizeof(o));
	assert_int_equal(xiscsi_opts_parse_url(&o, "iscsi://[::1]:3300/iqn.2026-01.a:b/0", &lun),
	                 0);
	assert_string_equal(o.host, "::1");
	assert_int_equal(o.port, 3300);
	xiscsi_opts_clear(&o);
	xiscsi_opts_init(&o, sizeof(o));
	assert_int_equal(xiscsi_opts_parse_url(&o, "iscsi://127.0.0.1", &lun), 0);
	assert_null(o.target_name);
	assert_int_equal(o.port, 3260);
	assert_int_equal(lun, 0);
	xiscsi_opts_clear(&o);
}

static void test_url_mutual_chap(void **state)
{
	struct xiscsi_opts o;

	xiscsi_opts_init(&o, sizeof(o));
	assert_int_equal(xiscsi_opts_parse_url(&o,
	                                       "iscsi://u%pw@h/iqn.2026-01.a:b/1?target_user=t&"
	                                       "target_password=tp",
	                                       NULL),
	                 0);
	assert_string_equal(o.chap_mutual_user, "t");
	assert_string_equal(o.chap_mutual_secret, "tp");
	xiscsi_opts_clear(&o);
}

static void test_url_rejects(void **state)
{
	static const char *const bad[] = {
	        "http://h/iqn.2026-01.a:b/1",    "iscsi://",
	        "iscsi://h:0/iqn.2026-01.a:b/1", "iscsi://h:70000/iqn.2026-01.a:b/1",
	        "iscsi://h/iqn.2026-01.a:b/x",   "iscsi://h/iqn.2026-01.a:b/99999",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xiscsi_opts o;

		xiscsi_opts_init(&o, sizeof(o));
		assert_int_equal(xiscsi_opts_parse_url(&o, bad[i], NULL), -EINVAL);
		xiscsi_opts_clear(&o);
	}
}

static void test_set_by_rfc_and_field_name(void **state)
{
	struct xiscsi_opts o;

	xiscsi_opts_init(&o, sizeof(o));
	assert_int_equal(xiscsi_opts_set(&o, "MaxBurstLength", "1048576"), 0);
	assert_int_equal(o.max_burst_length, 1048576);
	assert_int_equal(xiscsi_opts_set(&o, "first_burst_length", "0x10000"), 0);
	assert_int_equal(o.first_burst_length, 65536);
	assert_int_equal(xiscsi_opts_set(&o, "InitialR2T", "Yes"), 0);
	assert_true(o.initial_r2t);
	assert_int_equal(xiscsi_opts_set(&o, "HeaderDigest", "CRC32C,None"), 0);
	assert_int_equal(o.header_digest, XISCSI_DIGEST_PREFER_CRC32C);
	assert_int_equal(xiscsi_opts_set(&o, "SessionType", "Discovery"), 0);
	assert_int_equal(o.session_type, XISCSI_SESSION_DISCOVERY);
	assert_int_equal(xiscsi_opts_set(&o, "node.session.auth.username", "me"), 0);
	assert_string_equal(o.chap_user, "me");
	assert_int_equal(xiscsi_opts_set(&o, "queue_depth", "64"), 0);
	assert_int_equal(o.queue_depth, 64);
	xiscsi_opts_clear(&o);
}

static void test_set_refuses(void **state)
{
	struct xiscsi_opts o;

	xiscsi_opts_init(&o, sizeof(o));
	assert_int_equal(xiscsi_opts_set(&o, "NoSuchKey", "1"), -ENOENT);
	/* RFC 7143 13.12: MaxRecvDataSegmentLength is 512..2^24-1. */
	assert_int_equal(xiscsi_opts_set(&o, "MaxRecvDataSegmentLength", "511"), -ERANGE);
	assert_int_equal(xiscsi_opts_set(&o, "MaxRecvDataSegmentLength", "16777216"), -ERANGE);
	assert_int_equal(xiscsi_opts_set(&o, "MaxRecvDataSegmentLength", "12k"), -EINVAL);
	assert_int_equal(xiscsi_opts_set(&o, "ImmediateData", "maybe"), -EINVAL);
	assert_int_equal(xiscsi_opts_set(&o, "DataDigest", "MD5"), -EINVAL);
	assert_int_equal(xiscsi_opts_set(&o, "queue_depth", "0"), -ERANGE);
	/* Nothing changed by the refusals. */
	assert_int_equal(o.max_recv_data_segment_length, 262144);
	assert_true(o.immediate_data);
	xiscsi_opts_clear(&o);
}

static void never_called(struct xiscsi_cmd *cmd)
{
	fail_msg("a refused command completed");
}

static void test_session_new_checks_options(void **state)
{
	struct xiscsi_loop *loop;
	struct xiscsi_session *s = NULL;
	struct xiscsi_opts o;

	assert_int_equal(xiscsi_loop_new("tcp", &loop), 0);
	xiscsi_opts_init(&o, sizeof(o));
	assert_int_equal(xiscsi_session_new(loop, &o, &s), -EINVAL); /* no host */
	o.host = "127.0.0.1";
	assert_int_equal(xiscsi_session_new(loop, &o, &s), -EINVAL); /* normal, no target */
	o.target_name = "iqn.2026-01.a:b";
	o.chap_user = "u";
	assert_int_equal(xiscsi_session_new(loop, &o, &s), -EINVAL); /* user without secret */
	o.chap_user = NULL;
	assert_int_equal(xiscsi_session_new(loop, &o, &s), 0);
	assert_int_equal(xiscsi_session_state(s), XISCSI_STATE_IDLE);
	/* Not logged in: commands are refused, not queued forever. */
	{
		struct xiscsi_cmd cmd;

		memset(&cmd, 0, sizeof(cmd));
		xiscsi_cdb_tur(&cmd);
		cmd.cb = never_called;
		assert_int_equal(xiscsi_submit(s, &cmd), -ENOTCONN);
	}
	xiscsi_session_free(s);
	xiscsi_loop_free(loop);
}

static void test_unknown_transport(void **state)
{
	struct xiscsi_loop *loop = NULL;

	assert_int_equal(xiscsi_loop_new("carrier-pigeon", &loop), -ENOENT);
	assert_null(loop);
}

static void test_cdb_builders(void **state)
{
	struct xiscsi_cmd c;

	memset(&c, 0, sizeof(c));
	xiscsi_cdb_read16(&c, 0x0102030405060708ull, 0x11223344, true);
	assert_int_equal(c.cdb_len, 16);
	assert_int_equal(c.dir, XISCSI_DIR_READ);
	assert_int_equal(c.cdb[0], 0x88);
	assert_int_equal(c.cdb[1], 0x08); /* FUA */
	assert_int_equal(c.cdb[2], 0x01);
	assert_int_equal(c.cdb[9], 0x08);
	assert_int_equal(c.cdb[10], 0x11);
	assert_int_equal(c.cdb[13], 0x44);
	xiscsi_cdb_write16(&c, 1, 8, false);
	assert_int_equal(c.cdb[0], 0x8a);
	assert_int_equal(c.dir, XISCSI_DIR_WRITE);
	xiscsi_cdb_inquiry(&c, true, 0x83, 255);
	assert_int_equal(c.cdb_len, 6);
	assert_int_equal(c.cdb[1], 1);
	assert_int_equal(c.cdb[2], 0x83);
	assert_int_equal(c.cdb[4], 255);
}

static void test_cmd_strerror_names_sense(void **state)
{
	struct xiscsi_cmd c;
	char buf[200];

	memset(&c, 0, sizeof(c));
	c.status = 0x02;
	c.sense.len = 18;
	c.sense.key = 0x05;
	c.sense.asc = 0x21;
	c.sense.ascq = 0x00;
	xiscsi_cmd_strerror(&c, buf, sizeof(buf));
	assert_non_null(strstr(buf, "CHECK CONDITION"));
	assert_non_null(strstr(buf, "ILLEGAL REQUEST"));
	assert_non_null(strstr(buf, "0x21/0x00"));
	c.result = -ECONNRESET;
	xiscsi_cmd_strerror(&c, buf, sizeof(buf));
	assert_non_null(strstr(buf, "connection lost"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_url_full),
	        cmocka_unit_test(test_url_ipv6_and_portal_only),
	        cmocka_unit_test(test_url_mutual_chap),
	        cmocka_unit_test(test_url_rejects),
	        cmocka_unit_test(test_set_by_rfc_and_field_name),
	        cmocka_unit_test(test_set_refuses),
	        cmocka_unit_test(test_session_new_checks_options),
	        cmocka_unit_test(test_unknown_transport),
	        cmocka_unit_test(test_cdb_builders),
	        cmocka_unit_test(test_cmd_strerror_names_sense),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
