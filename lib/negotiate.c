#include "negotiate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(enum xi_digest) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum xi_session_type) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum xi_auth_method) == sizeof(int), "enum stored as int");
_Static_assert(NEG_KEY_COUNT <= 32, "key bitmaps are 32 bits");

/* Indexed by enum xi_digest, enum xi_session_type, enum xi_auth_method. */
static const char *const digest_choices[] = {"None", "CRC32C", NULL};
static const char *const session_choices[] = {"Normal", "Discovery", NULL};
static const char *const auth_choices[] = {"None", "CHAP", NULL};

#define OFF(f) offsetof(struct xi_params, f)
#define SZ(f)  sizeof(((struct xi_params *)0)->f)

#define OPER     NEG_F_OPERATIONAL
#define ANYSTAGE (NEG_F_SECURITY | NEG_F_OPERATIONAL)
/* Most session-wide keys of section 13: LO, and Irrelevant in discovery. */
#define SESSION (NEG_F_OPERATIONAL | NEG_F_LEADING | NEG_F_DISC_IRREL)

/* One row per key; the section numbers are those of RFC 7143. */
const struct neg_key neg_keys[NEG_KEY_COUNT] = {
        /* 13.1 */
        [NEG_HEADER_DIGEST] = {"HeaderDigest", NEG_T_LIST, NEG_R_LIST, NEG_BY_BOTH, OPER, 0, 0,
                               digest_choices, NEG_S_ENUM, OFF(header_digest), 0},
        [NEG_DATA_DIGEST] = {"DataDigest", NEG_T_LIST, NEG_R_LIST, NEG_BY_BOTH, OPER, 0, 0,
                             digest_choices, NEG_S_ENUM, OFF(data_digest), 0},
        /* 13.2 */
        [NEG_MAX_CONNECTIONS] = {"MaxConnections", NEG_T_NUMBER, NEG_R_MIN, NEG_BY_BOTH, SESSION, 1,
                                 XI_MAX_MAX_CONNECTIONS, NULL, NEG_S_U32, OFF(max_connections), 0},
        /* 13.3: a Text request key of full feature phase; the target daemon answers it. */
        [NEG_SEND_TARGETS] = {"SendTargets", NEG_T_STRING, NEG_R_DECLARATIVE, NEG_BY_INITIATOR,
                              NEG_F_FFP | NEG_F_ANSWERED, 0, 0, NULL, NEG_S_NONE, 0, 0},
        /* 13.4, 13.5: declared by the initiator in its first login request. */
        [NEG_TARGET_NAME] = {"TargetName", NEG_T_STRING, NEG_R_DECLARATIVE, NEG_BY_INITIATOR,
                             ANYSTAGE, 0, 0, NULL, NEG_S_STRING, OFF(target_name), SZ(target_name)},
        [NEG_INITIATOR_NAME] = {"InitiatorName", NEG_T_STRING, NEG_R_DECLARATIVE, NEG_BY_INITIATOR,
                                ANYSTAGE, 0, 0, NULL, NEG_S_STRING, OFF(initiator_name),
                                SZ(initiator_name)},
        /* 13.6, 13.7 */
        [NEG_TARGET_ALIAS] = {"TargetAlias", NEG_T_STRING, NEG_R_DECLARATIVE, NEG_BY_TARGET,
                              ANYSTAGE | NEG_F_FFP, 0, 0, NULL, NEG_S_STRING, OFF(target_alias),
                              SZ(target_alias)},
        [NEG_INITIATOR_ALIAS] = {"InitiatorAlias", NEG_T_STRING, NEG_R_DECLARATIVE,
                                 NEG_BY_INITIATOR, ANYSTAGE | NEG_F_FFP, 0, 0, NULL, NEG_S_STRING,
                                 OFF(initiator_alias), SZ(initiator_alias)},
        /* 13.8: in redirections and SendTargets answers; the SMs read it themselves. */
        [NEG_TARGET_ADDRESS] = {"TargetAddress", NEG_T_STRING, NEG_R_DECLARATIVE, NEG_BY_TARGET,
                                ANYSTAGE | NEG_F_FFP | NEG_F_ANSWERED, 0, 0, NULL, NEG_S_NONE, 0,
                                0},
        /* 13.9 */
        [NEG_TARGET_PORTAL_GROUP_TAG] = {"TargetPortalGroupTag", NEG_T_NUMBER, NEG_R_DECLARATIVE,
                                         NEG_BY_TARGET, ANYSTAGE, 0, 65535, NULL, NEG_S_U16,
                                         OFF(tpgt), 0},
        /* 13.10, 13.11 */
        [NEG_INITIAL_R2T] = {"InitialR2T", NEG_T_BOOL, NEG_R_OR, NEG_BY_BOTH, SESSION, 0, 1, NULL,
                             NEG_S_BOOL, OFF(initial_r2t), 0},
        [NEG_IMMEDIATE_DATA] = {"ImmediateData", NEG_T_BOOL, NEG_R_AND, NEG_BY_BOTH, SESSION, 0, 1,
                                NULL, NEG_S_BOOL, OFF(immediate_data), 0},
        /* 13.12: declarative, one value per direction. */
        [NEG_MAX_RECV_DSL] = {"MaxRecvDataSegmentLength", NEG_T_NUMBER, NEG_R_DECLARATIVE,
                              NEG_BY_BOTH, OPER | NEG_F_FFP, XI_MIN_MAX_RECV_DSL,
                              XI_MAX_MAX_RECV_DSL, NULL, NEG_S_U32, OFF(max_send_dsl), 0},
        /* 13.13, 13.14: MaxBurstLength comes first so FirstBurstLength can be clamped to it. */
        [NEG_MAX_BURST_LENGTH] = {"MaxBurstLength", NEG_T_NUMBER, NEG_R_MIN, NEG_BY_BOTH, SESSION,
                                  XI_MIN_BURST_LENGTH, XI_MAX_BURST_LENGTH, NULL, NEG_S_U32,
                                  OFF(max_burst_length), 0},
        [NEG_FIRST_BURST_LENGTH] = {"FirstBurstLength", NEG_T_NUMBER, NEG_R_MIN, NEG_BY_BOTH,
                                    SESSION, XI_MIN_BURST_LENGTH, XI_MAX_BURST_LENGTH, NULL,
                                    NEG_S_U32, OFF(first_burst_length), 0},
        /* 13.15, 13.16: not Irrelevant in discovery sessions. */
        [NEG_DEFAULT_TIME2WAIT] = {"DefaultTime2Wait", NEG_T_NUMBER, NEG_R_MAX, NEG_BY_BOTH,
                                   OPER | NEG_F_LEADING, 0, XI_MAX_TIME2, NULL, NEG_S_U32,
                                   OFF(default_time2wait), 0},
        [NEG_DEFAULT_TIME2RETAIN] = {"DefaultTime2Retain", NEG_T_NUMBER, NEG_R_MIN, NEG_BY_BOTH,
                                     OPER | NEG_F_LEADING, 0, XI_MAX_TIME2, NULL, NEG_S_U32,
                                     OFF(default_time2retain), 0},
        /* 13.17 */
        [NEG_MAX_OUTSTANDING_R2T] = {"MaxOutstandingR2T", NEG_T_NUMBER, NEG_R_MIN, NEG_BY_BOTH,
                                     SESSION, 1, XI_MAX_MAX_OUTSTANDING_R2T, NULL, NEG_S_U32,
                                     OFF(max_outstanding_r2t), 0},
        /* 13.18, 13.19 */
        [NEG_DATA_PDU_IN_ORDER] = {"DataPDUInOrder", NEG_T_BOOL, NEG_R_OR, NEG_BY_BOTH, SESSION, 0,
                                   1, NULL, NEG_S_BOOL, OFF(data_pdu_in_order), 0},
        [NEG_DATA_SEQUENCE_IN_ORDER] = {"DataSequenceInOrder", NEG_T_BOOL, NEG_R_OR, NEG_BY_BOTH,
                                        SESSION, 0, 1, NULL, NEG_S_BOOL,
                                        OFF(data_sequence_in_order), 0},
        /* 13.20 */
        [NEG_ERROR_RECOVERY_LEVEL] = {"ErrorRecoveryLevel", NEG_T_NUMBER, NEG_R_MIN, NEG_BY_BOTH,
                                      OPER | NEG_F_LEADING, 0, XI_MAX_ERROR_RECOVERY_LEVEL, NULL,
                                      NEG_S_U32, OFF(error_recovery_level), 0},
        /* 13.21 */
        [NEG_SESSION_TYPE] = {"SessionType", NEG_T_LIST, NEG_R_DECLARATIVE, NEG_BY_INITIATOR,
                              ANYSTAGE | NEG_F_LEADING, 0, 0, session_choices, NEG_S_ENUM,
                              OFF(session_type), 0},
        /* 12.1 and 13.22: security stage only. */
        [NEG_AUTH_METHOD] = {"AuthMethod", NEG_T_LIST, NEG_R_LIST, NEG_BY_BOTH, NEG_F_SECURITY, 0,
                             0, auth_choices, NEG_S_ENUM, OFF(auth_method), 0},
};

#define BIT(id) (1u << (id))

const struct neg_key *neg_key_find(const char *name)
{
	for (size_t i = 0; i < NEG_KEY_COUNT; i++)
		if (strcmp(neg_keys[i].name, name) == 0)
			return &neg_keys[i];
	return NULL;
}

int neg_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;
	int base = 10;

	/* RFC 7143 section 6.1: decimal-constant or hex-constant; no sign, no blanks. */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (base == 16 ? !isxdigit((unsigned char)s[0]) : !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0')
		return errno == ERANGE ? -ERANGE : -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static void *field(struct xi_params *p, const struct neg_key *k)
{
	return (char *)p + k->offset;
}

static uint32_t load_value(const struct xi_params *p, const struct neg_key *k)
{
	const char *f = (const char *)p + k->offset;
	int iv;

	switch (k->store) {
	case NEG_S_BOOL:
		return *(const bool *)f ? 1 : 0;
	case NEG_S_U32:
		return *(const uint32_t *)f;
	case NEG_S_U16:
		return *(const uint16_t *)f;
	case NEG_S_ENUM:
		memcpy(&iv, f, sizeof(iv));
		return (uint32_t)iv;
	default:
		return 0;
	}
}

static void store_value(struct xi_params *p, const struct neg_key *k, uint32_t v)
{
	void *f = field(p, k);
	int iv = (int)v;

	switch (k->store) {
	case NEG_S_BOOL:
		*(bool *)f = v != 0;
		break;
	case NEG_S_U32:
		*(uint32_t *)f = v;
		break;
	case NEG_S_U16:
		*(uint16_t *)f = (uint16_t)v;
		if (k == &neg_keys[NEG_TARGET_PORTAL_GROUP_TAG])
			p->tpgt_set = true;
		break;
	case NEG_S_ENUM:
		memcpy(f, &iv, sizeof(iv));
		break;
	default:
		break;
	}
}

/* This side's own value of a key: MaxRecvDataSegmentLength is the one we receive. */
static uint32_t local_value(const struct neg_ctx *n, const struct neg_key *k)
{
	if (k == &neg_keys[NEG_MAX_RECV_DSL])
		return n->local->max_recv_dsl;
	return load_value(n->local, k);
}

void neg_init(struct neg_ctx *n, bool target, bool leading, const struct xi_params *local,
              struct xi_params *res)
{
	memset(n, 0, sizeof(*n));
	n->target = target;
	n->leading = leading;
	n->local = local;
	n->res = res;
	params_init(res);
	res->max_recv_dsl = local->max_recv_dsl;
	res->session_type = local->session_type;
	memcpy(res->target_name, local->target_name, sizeof(res->target_name));
	memcpy(res->initiator_name, local->initiator_name, sizeof(res->initiator_name));
	memcpy(res->target_alias, local->target_alias, sizeof(res->target_alias));
	memcpy(res->initiator_alias, local->initiator_alias, sizeof(res->initiator_alias));
	res->tpgt = local->tpgt;
	res->tpgt_set = local->tpgt_set;
}

int neg_set_list(struct neg_ctx *n, enum neg_key_id id, const char *list)
{
	if ((unsigned)id >= NEG_KEY_COUNT || neg_keys[id].type != NEG_T_LIST)
		return -EINVAL;
	n->lists[id] = list;
	return 0;
}

static bool peer_may_send(const struct neg_ctx *n, const struct neg_key *k)
{
	return (k->senders & (n->target ? NEG_BY_INITIATOR : NEG_BY_TARGET)) != 0;
}

static bool we_may_send(const struct neg_ctx *n, const struct neg_key *k)
{
	return (k->senders & (n->target ? NEG_BY_TARGET : NEG_BY_INITIATOR)) != 0;
}

static bool stage_ok(const struct neg_key *k, enum neg_stage stage)
{
	switch (stage) {
	case NEG_STAGE_SECURITY:
		return (k->flags & NEG_F_SECURITY) != 0;
	case NEG_STAGE_OPERATIONAL:
		return (k->flags & NEG_F_OPERATIONAL) != 0;
	case NEG_STAGE_FFP:
		return (k->flags & NEG_F_FFP) != 0;
	}
	return false;
}

static bool irrelevant(const struct neg_ctx *n, const struct neg_key *k)
{
	/* RFC 7143 section 13: "Irrelevant when: SessionType=Discovery". */
	if ((k->flags & NEG_F_DISC_IRREL) && n->res->session_type == XI_SESSION_DISCOVERY)
		return true;
	/*
	 * RFC 7143 section 13.14: with InitialR2T=Yes and ImmediateData=No no
	 * unsolicited data flows, so FirstBurstLength has nothing to bound.
	 * Both come earlier in the table, so they are settled by now.
	 */
	if (k == &neg_keys[NEG_FIRST_BURST_LENGTH] && n->res->initial_r2t &&
	    !n->res->immediate_data)
		return true;
	/* LO keys on a connection added to a session (RFC 7143 section 13 "Use: LO"). */
	if ((k->flags & NEG_F_LEADING) && !n->leading && k->result != NEG_R_DECLARATIVE)
		return true;
	return false;
}

/* The acceptable (responder) or offered (proposer) list of a list key. */
static const char *our_list(const struct neg_ctx *n, enum neg_key_id id)
{
	const struct neg_key *k = &neg_keys[id];
	uint32_t v;

	if (n->lists[id] != NULL)
		return n->lists[id];
	v = local_value(n, k);
	for (uint32_t i = 0; k->choices[i] != NULL; i++)
		if (i == v)
			return k->choices[i];
	return k->choices[0];
}

/* Whether item (len bytes) is one of the comma-separated values of list. */
static bool list_has(const char *list, const char *item, size_t len)
{
	const char *p = list;

	while (*p != '\0') {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);

		if (l == len && memcmp(p, item, len) == 0)
			return true;
		if (c == NULL)
			break;
		p = c + 1;
	}
	return false;
}

static int choice_index(const struct neg_key *k, const char *item, size_t len)
{
	for (int i = 0; k->choices[i] != NULL; i++)
		if (strlen(k->choices[i]) == len && memcmp(k->choices[i], item, len) == 0)
			return i;
	return -1;
}

static int parse_bool(const char *v, uint32_t *out)
{
	if (strcmp(v, "Yes") == 0) {
		*out = 1;
		return 0;
	}
	if (strcmp(v, "No") == 0) {
		*out = 0;
		return 0;
	}
	return -EINVAL;
}

static bool special_value(const char *v)
{
	return strcmp(v, NEG_NOT_UNDERSTOOD) == 0 || strcmp(v, NEG_IRRELEVANT) == 0 ||
	       strcmp(v, NEG_REJECT) == 0;
}

static int add_value(struct keys *out, const struct neg_key *k, uint32_t v)
{
	if (k->type == NEG_T_BOOL)
		return keys_add(out, k->name, v ? "Yes" : "No");
	if (k->type == NEG_T_LIST)
		return keys_add(out, k->name, k->choices[v]);
	return keys_add_u32(out, k->name, v);
}

static int fail(struct neg_ctx *n, const struct neg_key *k)
{
	n->err_key = k->name;
	return -EPROTO;
}

/* A declaration from the peer: stored, never answered (RFC 7143 section 6.2). */
static int take_declaration(struct neg_ctx *n, const struct neg_key *k, const char *v)
{
	uint32_t num;
	int idx;

	switch (k->type) {
	case NEG_T_STRING:
		if (k->store != NEG_S_STRING)
			return 0;
		if (strlen(v) >= k->size)
			return fail(n, k);
		memcpy(field(n->res, k), v, strlen(v) + 1);
		return 0;
	case NEG_T_NUMBER:
		if (neg_parse_u32(v, k->min, k->max, &num) < 0)
			return fail(n, k);
		store_value(n->res, k, num);
		return 0;
	case NEG_T_LIST:
		idx = choice_index(k, v, strlen(v));
		if (idx < 0)
			return fail(n, k);
		store_value(n->res, k, (uint32_t)idx);
		return 0;
	default:
		return fail(n, k);
	}
}

/* The responder role: answer a proposal with the result, RFC 7143 section 6.2. */
static int answer_proposal(struct neg_ctx *n, enum neg_key_id id, const char *v, struct keys *out)
{
	const struct neg_key *k = &neg_keys[id];
	uint32_t offer, mine = local_value(n, k), r;

	switch (k->type) {
	case NEG_T_BOOL:
		if (parse_bool(v, &offer) < 0)
			return keys_add(out, k->name, NEG_REJECT);
		r = k->result == NEG_R_AND ? (offer && mine) : (offer || mine);
		break;
	case NEG_T_NUMBER:
		if (neg_parse_u32(v, k->min, k->max, &offer) < 0)
			return keys_add(out, k->name, NEG_REJECT);
		if (k->result == NEG_R_MIN)
			r = offer < mine ? offer : mine;
		else
			r = offer > mine ? offer : mine;
		/* RFC 7143 section 13.14: FirstBurstLength MUST NOT exceed MaxBurstLength. */
		if (id == NEG_FIRST_BURST_LENGTH && r > n->res->max_burst_length)
			r = n->res->max_burst_length;
		break;
	case NEG_T_LIST: {
		const char *acc = our_list(n, id);
		const char *p = v;
		int idx = -1;

		/* The first of the proposer's values that we accept (section 6.2.1). */
		for (size_t guard = 0; guard < KEYS_LARGE_VALUE_MAX && *p != '\0'; guard++) {
			const char *c = strchr(p, ',');
			size_t l = c ? (size_t)(c - p) : strlen(p);

			if (l == 0)
				return keys_add(out, k->name, NEG_REJECT);
			if (idx < 0 && list_has(acc, p, l))
				idx = choice_index(k, p, l);
			if (c == NULL)
				break;
			p = c + 1;
		}
		if (idx < 0)
			return keys_add(out, k->name, NEG_REJECT);
		r = (uint32_t)idx;
		break;
	}
	default:
		return keys_add(out, k->name, NEG_IRRELEVANT);
	}
	store_value(n->res, k, r);
	return add_value(out, k, r);
}

/* The proposer role: check the peer's answer against what we offered. */
static int check_answer(struct neg_ctx *n, enum neg_key_id id, const char *v)
{
	const struct neg_key *k = &neg_keys[id];
	uint32_t mine = local_value(n, k), a;
	int idx;

	n->answered |= BIT(id);
	/* RFC 7143 section 6.2: the offer did not take; the default stays. */
	if (special_value(v)) {
		n->refused |= BIT(id);
		return 0;
	}
	switch (k->type) {
	case NEG_T_BOOL:
		if (parse_bool(v, &a) < 0)
			return fail(n, k);
		/* An AND offered No, or an OR offered Yes, decides the result alone. */
		if (k->result == NEG_R_AND && !mine && a)
			return fail(n, k);
		if (k->result == NEG_R_OR && mine && !a)
			return fail(n, k);
		break;
	case NEG_T_NUMBER:
		if (neg_parse_u32(v, k->min, k->max, &a) < 0)
			return fail(n, k);
		if ((k->result == NEG_R_MIN && a > mine) || (k->result == NEG_R_MAX && a < mine))
			return fail(n, k);
		break;
	case NEG_T_LIST:
		/* The answer is one value, one of those offered. */
		if (strchr(v, ',') != NULL || !list_has(our_list(n, id), v, strlen(v)))
			return fail(n, k);
		idx = choice_index(k, v, strlen(v));
		if (idx < 0)
			return fail(n, k);
		a = (uint32_t)idx;
		break;
	default:
		return fail(n, k);
	}
	store_value(n->res, k, a);
	return 0;
}

static bool same_declaration(const struct neg_ctx *n, const struct neg_key *k, const char *v)
{
	const char *f;
	uint32_t num;

	if (k->store == NEG_S_STRING) {
		f = (const char *)n->res + k->offset;
		return strcmp(f, v) == 0;
	}
	if (k->type == NEG_T_NUMBER)
		return neg_parse_u32(v, k->min, k->max, &num) == 0 && num == load_value(n->res, k);
	if (k->type == NEG_T_LIST)
		return choice_index(k, v, strlen(v)) == (int)load_value(n->res, k);
	return false;
}

static int process_key(struct neg_ctx *n, enum neg_stage stage, enum neg_key_id id, const char *v,
                       struct keys *out)
{
	const struct neg_key *k = &neg_keys[id];
	bool answer = (n->offered & BIT(id)) && !(n->answered & BIT(id)) &&
	              k->result != NEG_R_DECLARATIVE;

	if (answer)
		return check_answer(n, id, v);
	if (n->received & BIT(id)) {
		/*
		 * RFC 7143 section 6.2: a key is negotiated or declared once per
		 * login. Some initiators repeat their names in every request;
		 * an identical declaration is harmless.
		 */
		if (k->result == NEG_R_DECLARATIVE && same_declaration(n, k, v))
			return 0;
		return fail(n, k);
	}
	n->received |= BIT(id);
	if (!peer_may_send(n, k) || !stage_ok(k, stage) || special_value(v))
		return fail(n, k);
	if (k->flags & NEG_F_ANSWERED)
		return 0;
	if (irrelevant(n, k))
		return keys_add(out, k->name, NEG_IRRELEVANT);
	if (k->result == NEG_R_DECLARATIVE)
		return take_declaration(n, k, v);
	return answer_proposal(n, id, v, out);
}

/*
 * RFC 7143 section 13.26: the RFC 3720 marker keys are obsolete, yet old
 * initiators (open-iscsi) still offer IFMarker=No and OFMarker=No. Those
 * two may be answered "No", which every RFC 3720 peer understands; the
 * interval keys MUST be answered Reject.
 */
static const char *obsolete_answer(const char *name)
{
	if (strcmp(name, "IFMarker") == 0 || strcmp(name, "OFMarker") == 0)
		return "No";
	if (strcmp(name, "IFMarkInt") == 0 || strcmp(name, "OFMarkInt") == 0)
		return NEG_REJECT;
	return NULL;
}

int neg_process(struct neg_ctx *n, enum neg_stage stage, const struct keys *in, struct keys *out)
{
	size_t count = keys_count(in);
	int rc;

	n->err_key = NULL;
	/* SessionType first: it decides which keys are irrelevant. */
	if (keys_find(in, neg_keys[NEG_SESSION_TYPE].name) != NULL) {
		rc = process_key(n, stage, NEG_SESSION_TYPE,
		                 keys_find(in, neg_keys[NEG_SESSION_TYPE].name), out);
		if (rc < 0)
			return rc;
	}
	/* Table order, so MaxBurstLength is settled before FirstBurstLength. */
	for (int id = 0; id < NEG_KEY_COUNT; id++) {
		const char *v = keys_find(in, neg_keys[id].name);

		if (v == NULL || id == NEG_SESSION_TYPE)
			continue;
		rc = process_key(n, stage, (enum neg_key_id)id, v, out);
		if (rc < 0)
			return rc;
	}
	/* RFC 7143 section 6.2: keys we do not know are answered NotUnderstood. */
	for (size_t i = 0; i < count; i++) {
		const char *name = keys_name(in, i);

		if (strncmp(name, "CHAP_", 5) == 0 || neg_key_find(name) != NULL)
			continue;
		/* A special answer to a key we never sent would loop; drop it. */
		if (special_value(keys_value(in, i)))
			continue;
		if (obsolete_answer(name) != NULL)
			rc = keys_add(out, name, obsolete_answer(name));
		else
			rc = keys_add(out, name, NEG_NOT_UNDERSTOOD);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Whether this side wants to propose the key in this stage. */
static bool want_offer(const struct neg_ctx *n, enum neg_key_id id, enum neg_stage stage)
{
	const struct neg_key *k = &neg_keys[id];
	struct xi_params defaults;

	if (!we_may_send(n, k) || !stage_ok(k, stage) || (k->flags & NEG_F_ANSWERED))
		return false;
	/* A declaration is ours to make whatever the peer declared; a negotiation is one. */
	if ((n->offered & BIT(id)) || (k->result != NEG_R_DECLARATIVE && (n->received & BIT(id))))
		return false;
	if (irrelevant(n, k))
		return false;
	if (k->store == NEG_S_STRING)
		return ((const char *)n->local + k->offset)[0] != '\0';
	if (id == NEG_TARGET_PORTAL_GROUP_TAG)
		return n->local->tpgt_set;
	if (id == NEG_SESSION_TYPE)
		return n->leading;
	if (k->result == NEG_R_DECLARATIVE)
		return true;
	if (!n->target)
		return true;
	/*
	 * A target proposes only what it wants changed from the default: keys
	 * the initiator left alone are otherwise settled at their defaults.
	 */
	params_init(&defaults);
	if (k->type == NEG_T_LIST)
		return n->lists[id] != NULL || local_value(n, k) != load_value(&defaults, k);
	return local_value(n, k) != load_value(&defaults, k);
}

int neg_offer_key(struct neg_ctx *n, enum neg_key_id id, struct keys *out)
{
	const struct neg_key *k;
	int rc;

	if ((unsigned)id >= NEG_KEY_COUNT)
		return -EINVAL;
	k = &neg_keys[id];
	if (k->store == NEG_S_STRING)
		rc = keys_add(out, k->name, (const char *)n->local + k->offset);
	else if (k->type == NEG_T_LIST && k->result == NEG_R_LIST)
		rc = keys_add(out, k->name, our_list(n, id));
	else
		rc = add_value(out, k, local_value(n, k));
	if (rc < 0)
		return rc;
	n->offered |= BIT(id);
	return 0;
}

int neg_offer(struct neg_ctx *n, enum neg_stage stage, struct keys *out)
{
	for (int id = 0; id < NEG_KEY_COUNT; id++) {
		int rc;

		if (!want_offer(n, (enum neg_key_id)id, stage))
			continue;
		rc = neg_offer_key(n, (enum neg_key_id)id, out);
		if (rc < 0)
			return rc;
	}
	return 0;
}

bool neg_waiting(const struct neg_ctx *n)
{
	for (int id = 0; id < NEG_KEY_COUNT; id++)
		if ((n->offered & BIT(id)) && !(n->answered & BIT(id)) &&
		    neg_keys[id].result != NEG_R_DECLARATIVE)
			return true;
	return false;
}

int neg_finish(struct neg_ctx *n)
{
	for (int id = 0; id < NEG_KEY_COUNT; id++) {
		const struct neg_key *k = &neg_keys[id];
		uint32_t mine;

		if (!(n->offered & BIT(id)) || (n->answered & BIT(id)) ||
		    k->result == NEG_R_DECLARATIVE)
			continue;
		/* RFC 7143 section 6.2.2: the offer alone decides; no answer needed. */
		mine = local_value(n, k);
		if ((k->result == NEG_R_AND && !mine) || (k->result == NEG_R_OR && mine))
			store_value(n->res, k, mine);
	}
	/*
	 * RFC 7143 section 13.14: FirstBurstLength MUST NOT exceed
	 * MaxBurstLength. A peer that answered both with MIN can leave them
	 * crossed; the smaller bound is the one both sides can honour.
	 */
	if (n->res->first_burst_length > n->res->max_burst_length)
		n->res->first_burst_length = n->res->max_burst_length;
	return 0;
}
