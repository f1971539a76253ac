/* The negotiation table (lib/negotiate.c): every RFC 7143 section 6.2 / 13 rule. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/negotiate.h"

struct fx {
	struct xi_params local;
	struct xi_params res;
	struct neg_ctx neg;
	struct keys *in;
	struct keys *out;
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	params_init(&f.local);
	f.in = keys_new();
	f.out = keys_new();
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	keys_free(f->in);
	keys_free(f->out);
	return 0;
}

/* A target (responder) on a leading connection with f->local as its limits. */
static void as_target(struct fx *f)
{
	neg_init(&f->neg, true, true, &f->local, &f->res);
}

static void as_initiator(struct fx *f)
{
	neg_init(&f->neg, false, true, &f->local, &f->res);
}

static int feed(struct fx *f, enum neg_stage stage, const char *name, const char *value)
{
	keys_clear(f->in);
	keys_clear(f->out);
	assert_int_equal(keys_add(f->in, name, value), 0);
	return neg_process(&f->neg, stage, f->in, f->out);
}

static const char *answer(struct fx *f, const char *name)
{
	return keys_find(f->out, name);
}

static void test_min_takes_smaller_local(void **state)
{
	struct fx *f = *state;

	f->local.max_burst_length = 262144;
	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxBurstLength", "1048576"), 0);
	assert_string_equal(answer(f, "MaxBurstLength"), "262144");
	assert_int_equal(f->res.max_burst_length, 262144);
}

static void test_min_takes_smaller_offer(void **state)
{
	struct fx *f = *state;

	f->local.max_burst_length = 1048576;
	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxBurstLength", "65536"), 0);
	assert_string_equal(answer(f, "MaxBurstLength"), "65536");
}

static void test_hex_number_accepted(void **state)
{
	struct fx *f = *state;

	f->local.max_burst_length = 1048576;
	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxBurstLength", "0x10000"), 0);
	assert_string_equal(answer(f, "MaxBurstLength"), "65536");
}

static void test_max_takes_larger(void **state)
{
	struct fx *f = *state;

	f->local.default_time2wait = 5;
	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "DefaultTime2Wait", "1"), 0);
	assert_string_equal(answer(f, "DefaultTime2Wait"), "5");
	assert_int_equal(f->res.default_time2wait, 5);
}

static void test_and(void **state)
{
	struct fx *f = *state;

	f->local.immediate_data = false;
	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "ImmediateData", "Yes"), 0);
	assert_string_equal(answer(f, "ImmediateData"), "No");
	assert_false(f->res.immediate_data);
}

static void test_and_both_yes(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "ImmediateData", "Yes"), 0);
	assert_string_equal(answer(f, "ImmediateData"), "Yes");
}

static void test_or(void **state)
{
	struct fx *f = *state;

	f->local.initial_r2t = true;
	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "InitialR2T", "No"), 0);
	assert_string_equal(answer(f, "InitialR2T"), "Yes");
}

static void test_or_both_no(void **state)
{
	struct fx *f = *state;

	f->local.initial_r2t = false;
	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "InitialR2T", "No"), 0);
	assert_string_equal(answer(f, "InitialR2T"), "No");
	assert_false(f->res.initial_r2t);
}

static void test_bool_garbage_rejected(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "DataPDUInOrder", "yes"), 0);
	assert_string_equal(answer(f, "DataPDUInOrder"), NEG_REJECT);
	assert_true(f->res.data_pdu_in_order); /* default kept */
}

static void test_list_first_acceptable(void **state)
{
	struct fx *f = *state;

	as_target(f);
	neg_set_list(&f->neg, NEG_HEADER_DIGEST, "None,CRC32C");
	/* The proposer's order wins (RFC 7143 section 6.2.1). */
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "HeaderDigest", "CRC32C,None"), 0);
	assert_string_equal(answer(f, "HeaderDigest"), "CRC32C");
	assert_int_equal(f->res.header_digest, XI_DIGEST_CRC32C);
}

static void test_list_default_accepts_local_only(void **state)
{
	struct fx *f = *state;

	as_target(f); /* local header_digest None */
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "HeaderDigest", "CRC32C,None"), 0);
	assert_string_equal(answer(f, "HeaderDigest"), "None");
}

static void test_list_none_acceptable(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "DataDigest", "CRC32C,Foo"), 0);
	assert_string_equal(answer(f, "DataDigest"), NEG_REJECT);
}

static void test_list_empty_item_rejected(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "DataDigest", "None,,CRC32C"), 0);
	assert_string_equal(answer(f, "DataDigest"), NEG_REJECT);
}

static void test_out_of_range_rejected(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxBurstLength", "511"), 0);
	assert_string_equal(answer(f, "MaxBurstLength"), NEG_REJECT);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "ErrorRecoveryLevel", "3"), 0);
	assert_string_equal(answer(f, "ErrorRecoveryLevel"), NEG_REJECT);
}

static void test_number_syntax_rejected(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxOutstandingR2T", "-1"), 0);
	assert_string_equal(answer(f, "MaxOutstandingR2T"), NEG_REJECT);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxConnections", "4x"), 0);
	assert_string_equal(answer(f, "MaxConnections"), NEG_REJECT);
}

static void test_unknown_not_understood(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "X-com.example.Foo", "1"), 0);
	assert_string_equal(answer(f, "X-com.example.Foo"), NEG_NOT_UNDERSTOOD);
}

static void test_obsolete_marker_keys(void **state)
{
	struct fx *f = *state;

	as_target(f);
	/* RFC 7143 section 13.26: RFC 3720 initiators still send these. */
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "IFMarker", "No"), 0);
	assert_string_equal(answer(f, "IFMarker"), "No");
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "OFMarkInt", "2048~8192"), 0);
	assert_string_equal(answer(f, "OFMarkInt"), NEG_REJECT);
}

static void test_chap_keys_left_to_caller(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_SECURITY, "CHAP_A", "5"), 0);
	assert_int_equal(keys_count(f->out), 0);
}

static void test_irrelevant_in_discovery(void **state)
{
	struct fx *f = *state;

	as_target(f);
	keys_clear(f->in);
	keys_add(f->in, "SessionType", "Discovery");
	keys_add(f->in, "MaxBurstLength", "65536");
	keys_add(f->in, "DefaultTime2Wait", "4");
	assert_int_equal(neg_process(&f->neg, NEG_STAGE_OPERATIONAL, f->in, f->out), 0);
	assert_string_equal(answer(f, "MaxBurstLength"), NEG_IRRELEVANT);
	/* DefaultTime2Wait has no "Irrelevant when discovery" in section 13.15. */
	assert_string_equal(answer(f, "DefaultTime2Wait"), "4");
	assert_int_equal(f->res.session_type, XI_SESSION_DISCOVERY);
}

static void test_first_burst_irrelevant_without_unsolicited_data(void **state)
{
	struct fx *f = *state;

	f->local.immediate_data = false;
	as_target(f);
	keys_clear(f->in);
	keys_add(f->in, "InitialR2T", "Yes");
	keys_add(f->in, "ImmediateData", "Yes");
	keys_add(f->in, "FirstBurstLength", "65536");
	assert_int_equal(neg_process(&f->neg, NEG_STAGE_OPERATIONAL, f->in, f->out), 0);
	assert_string_equal(answer(f, "ImmediateData"), "No");
	assert_string_equal(answer(f, "FirstBurstLength"), NEG_IRRELEVANT);
}

static void test_leading_only_on_added_connection(void **state)
{
	struct fx *f = *state;

	neg_init(&f->neg, true, false, &f->local, &f->res);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxBurstLength", "65536"), 0);
	assert_string_equal(answer(f, "MaxBurstLength"), NEG_IRRELEVANT);
}

static void test_first_burst_clamped_to_max_burst(void **state)
{
	struct fx *f = *state;

	f->local.max_burst_length = 1048576;
	f->local.first_burst_length = 1048576;
	as_target(f);
	keys_clear(f->in);
	/* In the wrong order on purpose: the table settles MaxBurstLength first. */
	keys_add(f->in, "FirstBurstLength", "262144");
	keys_add(f->in, "MaxBurstLength", "16384");
	assert_int_equal(neg_process(&f->neg, NEG_STAGE_OPERATIONAL, f->in, f->out), 0);
	assert_string_equal(answer(f, "MaxBurstLength"), "16384");
	assert_string_equal(answer(f, "FirstBurstLength"), "16384");
}

static void test_finish_clamps_first_burst(void **state)
{
	struct fx *f = *state;

	as_initiator(f);
	f->res.max_burst_length = 8192;
	f->res.first_burst_length = 65536;
	assert_int_equal(neg_finish(&f->neg), 0);
	assert_int_equal(f->res.first_burst_length, 8192);
}

static void test_key_twice_is_error(void **state)
{
	struct fx *f = *state;

	f->local.max_burst_length = 1048576;
	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxBurstLength", "65536"), 0);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxBurstLength", "65536"), -EPROTO);
	assert_string_equal(f->neg.err_key, "MaxBurstLength");
}

static void test_same_declaration_repeated_ok(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_SECURITY, "InitiatorName", "iqn.2001-04.com.a"), 0);
	assert_int_equal(feed(f, NEG_STAGE_SECURITY, "InitiatorName", "iqn.2001-04.com.a"), 0);
	assert_int_equal(feed(f, NEG_STAGE_SECURITY, "InitiatorName", "iqn.2001-04.com.b"),
	                 -EPROTO);
}

static void test_mrdsl_declarative_per_direction(void **state)
{
	struct fx *f = *state;

	f->local.max_recv_dsl = 262144;
	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxRecvDataSegmentLength", "16384"), 0);
	/* Not answered: each side declares its own (RFC 7143 section 13.12). */
	assert_null(answer(f, "MaxRecvDataSegmentLength"));
	assert_int_equal(f->res.max_send_dsl, 16384);
	assert_int_equal(f->res.max_recv_dsl, 262144);
}

static void test_mrdsl_out_of_range_is_error(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxRecvDataSegmentLength", "100"),
	                 -EPROTO);
}

static void test_wrong_sender(void **state)
{
	struct fx *f = *state;

	as_initiator(f);
	/* Only an initiator declares InitiatorName. */
	assert_int_equal(feed(f, NEG_STAGE_SECURITY, "InitiatorName", "iqn.x"), -EPROTO);
	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_SECURITY, "TargetPortalGroupTag", "1"), -EPROTO);
}

static void test_operational_key_in_security_stage(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_SECURITY, "MaxBurstLength", "65536"), -EPROTO);
}

static void test_security_key_in_operational_stage(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "AuthMethod", "None"), -EPROTO);
}

static void test_special_value_as_proposal(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "MaxBurstLength", NEG_REJECT), -EPROTO);
}

static void test_send_targets_not_in_login(void **state)
{
	struct fx *f = *state;

	as_target(f);
	assert_int_equal(feed(f, NEG_STAGE_OPERATIONAL, "SendTargets", "All"), -EPROTO);
}

/* The proposer side: an initiator offering and checking the answers. */
static void offer_all(struct fx *f)
{
	as_initiator(f);
	keys_clear(f->out);
	assert_int_equal(neg_offer(&f->neg, NEG_STAGE_OPERATIONAL, f->out), 0);
}

static int answer_with(struct fx *f, const char *name, const char *value)
{
	keys_clear(f->in);
	assert_int_equal(keys_add(f->in, name, value), 0);
	keys_clear(f->out);
	return neg_process(&f->neg, NEG_STAGE_OPERATIONAL, f->in, f->out);
}

static void test_offer_covers_operational_keys(void **state)
{
	struct fx *f = *state;

	offer_all(f);
	for (int id = 0; id < NEG_KEY_COUNT; id++) {
		const struct neg_key *k = &neg_keys[id];

		if (!(k->flags & NEG_F_OPERATIONAL) || k->type == NEG_T_STRING ||
		    id == NEG_SESSION_TYPE || id == NEG_TARGET_PORTAL_GROUP_TAG)
			continue;
		assert_non_null(keys_find(f->out, k->name));
	}
	assert_string_equal(keys_find(f->out, "MaxRecvDataSegmentLength"), "8192");
}

static void test_offer_in_discovery_skips_irrelevant(void **state)
{
	struct fx *f = *state;

	f->local.session_type = XI_SESSION_DISCOVERY;
	offer_all(f);
	assert_null(keys_find(f->out, "MaxBurstLength"));
	assert_null(keys_find(f->out, "InitialR2T"));
	assert_non_null(keys_find(f->out, "HeaderDigest"));
}

static void test_answer_within_min_taken(void **state)
{
	struct fx *f = *state;

	f->local.max_burst_length = 65536;
	offer_all(f);
	assert_int_equal(answer_with(f, "MaxBurstLength", "32768"), 0);
	assert_int_equal(f->res.max_burst_length, 32768);
	/* An answer is not answered back. */
	assert_null(keys_find(f->out, "MaxBurstLength"));
}

static void test_answer_above_min_offer_is_error(void **state)
{
	struct fx *f = *state;

	f->local.max_burst_length = 65536;
	offer_all(f);
	assert_int_equal(answer_with(f, "MaxBurstLength", "131072"), -EPROTO);
}

static void test_answer_below_max_offer_is_error(void **state)
{
	struct fx *f = *state;

	f->local.default_time2wait = 10;
	offer_all(f);
	assert_int_equal(answer_with(f, "DefaultTime2Wait", "5"), -EPROTO);
}

static void test_answer_and_contradicting_offer(void **state)
{
	struct fx *f = *state;

	f->local.immediate_data = false;
	offer_all(f);
	assert_int_equal(answer_with(f, "ImmediateData", "Yes"), -EPROTO);
}

static void test_answer_or_contradicting_offer(void **state)
{
	struct fx *f = *state;

	f->local.initial_r2t = true;
	offer_all(f);
	assert_int_equal(answer_with(f, "InitialR2T", "No"), -EPROTO);
}

static void test_answer_list_not_offered(void **state)
{
	struct fx *f = *state;

	offer_all(f); /* HeaderDigest=None only */
	assert_int_equal(answer_with(f, "HeaderDigest", "CRC32C"), -EPROTO);
}

static void test_answer_list_offered(void **state)
{
	struct fx *f = *state;

	as_initiator(f);
	neg_set_list(&f->neg, NEG_DATA_DIGEST, "CRC32C,None");
	keys_clear(f->out);
	assert_int_equal(neg_offer(&f->neg, NEG_STAGE_OPERATIONAL, f->out), 0);
	assert_string_equal(keys_find(f->out, "DataDigest"), "CRC32C,None");
	assert_int_equal(answer_with(f, "DataDigest", "CRC32C"), 0);
	assert_int_equal(f->res.data_digest, XI_DIGEST_CRC32C);
}

static void test_answer_reject_keeps_default(void **state)
{
	struct fx *f = *state;

	f->local.max_burst_length = 65536;
	offer_all(f);
	assert_int_equal(answer_with(f, "MaxBurstLength", NEG_REJECT), 0);
	assert_int_equal(f->res.max_burst_length, XI_DEFAULT_MAX_BURST_LENGTH);
	assert_true((f->neg.refused >> NEG_MAX_BURST_LENGTH) & 1);
}

static void test_unanswered_deciding_offer_applies(void **state)
{
	struct fx *f = *state;

	f->local.immediate_data = false; /* AND with No: nothing the target says can change it */
	offer_all(f);
	assert_true(neg_waiting(&f->neg));
	assert_int_equal(neg_finish(&f->neg), 0);
	assert_false(f->res.immediate_data);
}

static void test_target_offers_only_non_defaults(void **state)
{
	struct fx *f = *state;

	f->local.immediate_data = false;
	as_target(f);
	keys_clear(f->out);
	assert_int_equal(neg_offer(&f->neg, NEG_STAGE_OPERATIONAL, f->out), 0);
	assert_string_equal(keys_find(f->out, "ImmediateData"), "No");
	assert_null(keys_find(f->out, "MaxBurstLength"));
	assert_non_null(keys_find(f->out, "MaxRecvDataSegmentLength"));
}

static void test_parse_u32(void **state)
{
	uint32_t v;

	assert_int_equal(neg_parse_u32("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(neg_parse_u32("0xFF", 0, 255, &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(neg_parse_u32("0x100", 0, 255, &v), -ERANGE);
	assert_int_equal(neg_parse_u32("", 0, 10, &v), -EINVAL);
	assert_int_equal(neg_parse_u32("0x", 0, 10, &v), -EINVAL);
	assert_int_equal(neg_parse_u32(" 1", 0, 10, &v), -EINVAL);
	assert_int_equal(neg_parse_u32("+1", 0, 10, &v), -EINVAL);
	assert_int_equal(neg_parse_u32("99999999999999999999999", 0, 10, &v), -ERANGE);
}

static void test_table_is_complete(void **state)
{
	/* Every key of issue 3's list is a row, found by name. */
	static const char *const names[] = {
	        "HeaderDigest",
	        "DataDigest",
	        "MaxConnections",
	        "SendTargets",
	        "TargetName",
	        "InitiatorName",
	        "TargetAlias",
	        "InitiatorAlias",
	        "TargetAddress",
	        "TargetPortalGroupTag",
	        "InitialR2T",
	        "ImmediateData",
	        "MaxRecvDataSegmentLength",
	        "MaxBurstLength",
	        "FirstBurstLength",
	        "DefaultTime2Wait",
	        "DefaultTime2Retain",
	        "MaxOutstandingR2T",
	        "DataPDUInOrder",
	        "DataSequenceInOrder",
	        "ErrorRecoveryLevel",
	        "SessionType",
	        "AuthMethod",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_non_null(neg_key_find(names[i]));
	assert_null(neg_key_find("CHAP_A"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	        T(test_min_takes_smaller_local),
	        T(test_min_takes_smaller_offer),
	        T(test_hex_number_accepted),
	        T(test_max_takes_larger),
	        T(test_and),
	        T(test_and_both_yes),
	        T(test_or),
	        T(test_or_both_no),
	        T(test_bool_garbage_rejected),
	        T(test_list_first_acceptable),
	        T(test_list_default_accepts_local_only),
	        T(test_list_none_acceptable),
	        T(test_list_empty_item_rejected),
	        T(test_out_of_range_rejected),
	        T(test_number_syntax_rejected),
	        T(test_unknown_not_understood),
	        T(test_obsolete_marker_keys),
	        T(test_chap_keys_left_to_caller),
	        T(test_irrelevant_in_discovery),
	        T(test_first_burst_irrelevant_without_unsolicited_data),
	        T(test_leading_only_on_added_connection),
	        T(test_first_burst_clamped_to_max_burst),
	        T(test_finish_clamps_first_burst),
	        T(test_key_twice_is_error),
	        T(test_same_declaration_repeated_ok),
	        T(test_mrdsl_declarative_per_direction),
	        T(test_mrdsl_out_of_range_is_error),
	        T(test_wrong_sender),
	        T(test_operational_key_in_security_stage),
	        T(test_security_key_in_operational_stage),
	        T(test_special_value_as_proposal),
	        T(test_send_targets_not_in_login),
	        T(test_offer_covers_operational_keys),
	        T(test_offer_in_discovery_skips_irrelevant),
	        T(test_answer_within_min_taken),
	        T(test_answer_above_min_offer_is_error),
	        T(test_answer_below_max_offer_is_error),
	        T(test_answer_and_contradicting_offer),
	        T(test_answer_or_contradicting_offer),
	        T(test_answer_list_not_offered),
	        T(test_answer_list_offered),
	        T(test_answer_reject_keeps_default),
	        T(test_unanswered_deciding_offer_applies),
	        T(test_target_offers_only_non_defaults),
	        T(test_parse_u32),
	        T(test_table_is_complete),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
