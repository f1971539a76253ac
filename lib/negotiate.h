/*
 * Table-driven negotiation of the RFC 7143 section 13 keys (and AuthMethod,
 * section 12.1). One table row per key; one engine for both sides: the same
 * code answers a peer's proposal (responder) and checks the peer's answer to
 * ours (proposer), RFC 7143 sections 6.1 and 6.2.
 *
 * CHAP_* keys are not in the table: the login state machine hands them to
 * chap.c. neg_process() leaves them alone.
 */
#ifndef XI_NEGOTIATE_H
#define XI_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "params.h"

/* RFC 7143 section 6.2: the special answer values. */
#define NEG_NOT_UNDERSTOOD "NotUnderstood"
#define NEG_IRRELEVANT     "Irrelevant"
#define NEG_REJECT         "Reject"

/* How the value is written, RFC 7143 section 6.1. */
enum neg_type {
	NEG_T_BOOL,   /* Yes / No */
	NEG_T_NUMBER, /* decimal or 0x hex, within [min, max] */
	NEG_T_LIST,   /* comma-separated choices, the answer is one of them */
	NEG_T_STRING, /* free text (names, aliases, addresses) */
};

/* How the result is formed, RFC 7143 section 6.2.1 and 6.2.2. */
enum neg_result {
	NEG_R_AND,         /* boolean: both must want Yes */
	NEG_R_OR,          /* boolean: either may ask for Yes */
	NEG_R_MIN,         /* numerical: the smaller value */
	NEG_R_MAX,         /* numerical: the larger value */
	NEG_R_LIST,        /* first of the proposer's values the responder accepts */
	NEG_R_DECLARATIVE, /* stated by the sender, not answered */
};

/* Who may send the key, RFC 7143 section 13 "Senders". */
#define NEG_BY_INITIATOR 0x1
#define NEG_BY_TARGET    0x2
#define NEG_BY_BOTH      (NEG_BY_INITIATOR | NEG_BY_TARGET)

/* Where the key may appear, RFC 7143 section 13 "Use" and section 6.3. */
#define NEG_F_SECURITY    0x01 /* allowed in the security negotiation stage */
#define NEG_F_OPERATIONAL 0x02 /* allowed in the operational negotiation stage */
#define NEG_F_FFP         0x04 /* allowed in Text requests in full feature phase */
#define NEG_F_LEADING     0x08 /* LO: only on the leading connection of a session */
#define NEG_F_DISC_IRREL  0x10 /* Irrelevant when SessionType=Discovery */
#define NEG_F_ANSWERED    0x20 /* the login SM, not the engine, answers it (e.g. SendTargets) */

/* Where the result lands in struct xi_params. */
enum neg_store {
	NEG_S_NONE,
	NEG_S_BOOL,
	NEG_S_U32,
	NEG_S_U16,
	NEG_S_ENUM, /* an int-sized enum; the value is the index in `choices` */
	NEG_S_STRING,
};

struct neg_key {
	const char *name;
	enum neg_type type;
	enum neg_result result;
	uint8_t senders;
	uint8_t flags;
	uint32_t min;
	uint32_t max;
	/* NEG_S_ENUM: choice names indexed by enum value, NULL-terminated. */
	const char *const *choices;
	enum neg_store store;
	size_t offset; /* into struct xi_params */
	size_t size;   /* NEG_S_STRING: buffer size */
};

/* Index of a key in the table, for the per-connection bitmaps. */
enum neg_key_id {
	NEG_HEADER_DIGEST,
	NEG_DATA_DIGEST,
	NEG_MAX_CONNECTIONS,
	NEG_SEND_TARGETS,
	NEG_TARGET_NAME,
	NEG_INITIATOR_NAME,
	NEG_TARGET_ALIAS,
	NEG_INITIATOR_ALIAS,
	NEG_TARGET_ADDRESS,
	NEG_TARGET_PORTAL_GROUP_TAG,
	NEG_INITIAL_R2T,
	NEG_IMMEDIATE_DATA,
	NEG_MAX_RECV_DSL,
	NEG_MAX_BURST_LENGTH,
	NEG_FIRST_BURST_LENGTH,
	NEG_DEFAULT_TIME2WAIT,
	NEG_DEFAULT_TIME2RETAIN,
	NEG_MAX_OUTSTANDING_R2T,
	NEG_DATA_PDU_IN_ORDER,
	NEG_DATA_SEQUENCE_IN_ORDER,
	NEG_ERROR_RECOVERY_LEVEL,
	NEG_SESSION_TYPE,
	NEG_AUTH_METHOD,
	NEG_KEY_COUNT,
};

extern const struct neg_key neg_keys[NEG_KEY_COUNT];

/* The login stage a PDU belongs to: the CSG codes of RFC 7143 section 11.12.3. */
enum neg_stage {
	NEG_STAGE_SECURITY = 0,
	NEG_STAGE_OPERATIONAL = 1,
	NEG_STAGE_FFP = 3,
};

/* One side's negotiation state for one connection's login. */
struct neg_ctx {
	bool target;                   /* this side is the target */
	bool leading;                  /* leading connection of its session (TSIH 0) */
	const struct xi_params *local; /* what this side wants / accepts */
	struct xi_params *res;         /* the results */
	/* Comma-separated acceptable values of list keys; NULL: the one in local. */
	const char *lists[NEG_KEY_COUNT];
	uint32_t received; /* keys the peer sent (bit = enum neg_key_id) */
	uint32_t offered;  /* keys this side proposed */
	uint32_t answered; /* offered keys the peer answered */
	uint32_t refused;  /* answered Reject, Irrelevant or NotUnderstood */
	/* The key that caused the last error, for the log. */
	const char *err_key;
};

/* Start a negotiation; res is set to params_init() defaults plus local's names. */
void neg_init(struct neg_ctx *n, bool target, bool leading, const struct xi_params *local,
              struct xi_params *res);
/* Set the acceptable/offered list of a list key (the string must outlive n). */
int neg_set_list(struct neg_ctx *n, enum neg_key_id id, const char *list);

const struct neg_key *neg_key_find(const char *name);

/*
 * Propose this side's values of every key that applies in `stage` (and that
 * the peer did not propose first): the proposer role. Declarative keys
 * (MaxRecvDataSegmentLength) are declared. Returns 0 or -errno.
 */
int neg_offer(struct neg_ctx *n, enum neg_stage stage, struct keys *out);
/* Propose one key (used by the login SM for AuthMethod and the like). */
int neg_offer_key(struct neg_ctx *n, enum neg_key_id id, struct keys *out);

/*
 * Handle the keys of one received PDU sequence: answers to our proposals
 * are checked and recorded, proposals are answered into out (NotUnderstood,
 * Irrelevant and Reject included). Keys whose name starts with "CHAP_" are
 * skipped. Returns 0, or -EPROTO for a protocol error the login must fail
 * on (a key sent twice, by the wrong side, in the wrong stage, an answer
 * outside what was offered), with n->err_key naming the key.
 */
int neg_process(struct neg_ctx *n, enum neg_stage stage, const struct keys *in, struct keys *out);

/* Whether a proposal of ours still waits for its answer. */
bool neg_waiting(const struct neg_ctx *n);

/*
 * End of negotiation: offered keys left unanswered take the offered value
 * when it alone decides the result (RFC 7143 section 6.2.2), otherwise
 * keep the default; FirstBurstLength is clamped to MaxBurstLength (section
 * 13.14). Returns 0 or -EPROTO.
 */
int neg_finish(struct neg_ctx *n);

/* Parse an RFC 7143 section 6.1 numerical value (decimal, or 0x hex); 0 or -EINVAL/-ERANGE. */
int neg_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

#endif
