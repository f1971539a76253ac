/*
 * Every operational value a session or connection negotiates during login,
 * RFC 7143 section 13. One struct serves both sides; negotiate.c fills it.
 */
#ifndef XI_PARAMS_H
#define XI_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 7143 section 4.2.7.1: an iSCSI name is at most 223 bytes. */
#define XI_NAME_MAX 223
/* RFC 7143 sections 13.6 and 13.7: aliases are text values, at most 255 bytes. */
#define XI_ALIAS_MAX 255

/* RFC 7143 section 13.1: HeaderDigest and DataDigest values. */
enum xi_digest {
	XI_DIGEST_NONE = 0,
	XI_DIGEST_CRC32C = 1,
};

/* RFC 7143 section 13.21. */
enum xi_session_type {
	XI_SESSION_NORMAL = 0,
	XI_SESSION_DISCOVERY = 1,
};

/* RFC 7143 section 13.22 (AuthMethod); only these two are implemented. */
enum xi_auth_method {
	XI_AUTH_NONE = 0,
	XI_AUTH_CHAP = 1,
};

/* RFC 7143 section 13 defaults and ranges. */
#define XI_DEFAULT_MAX_CONNECTIONS      1
#define XI_MAX_MAX_CONNECTIONS          65535
#define XI_DEFAULT_INITIAL_R2T          true
#define XI_DEFAULT_IMMEDIATE_DATA       true
#define XI_DEFAULT_MAX_RECV_DSL         8192
#define XI_MIN_MAX_RECV_DSL             512
#define XI_MAX_MAX_RECV_DSL             16777215 /* 2**24 - 1 */
#define XI_DEFAULT_MAX_BURST_LENGTH     262144
#define XI_DEFAULT_FIRST_BURST_LENGTH   65536
#define XI_MIN_BURST_LENGTH             512
#define XI_MAX_BURST_LENGTH             16777215
#define XI_DEFAULT_TIME2WAIT            2
#define XI_DEFAULT_TIME2RETAIN          20
#define XI_MAX_TIME2                    3600
#define XI_DEFAULT_MAX_OUTSTANDING_R2T  1
#define XI_MAX_MAX_OUTSTANDING_R2T      65535
#define XI_DEFAULT_DATA_PDU_IN_ORDER    true
#define XI_DEFAULT_DATA_SEQ_IN_ORDER    true
#define XI_DEFAULT_ERROR_RECOVERY_LEVEL 0
#define XI_MAX_ERROR_RECOVERY_LEVEL     2

struct xi_params {
	enum xi_digest header_digest;
	enum xi_digest data_digest;
	uint32_t max_connections;
	bool initial_r2t;
	bool immediate_data;
	/*
	 * MaxRecvDataSegmentLength is declarative per direction (RFC 7143
	 * section 13.12): max_recv_dsl is what this side declared it receives,
	 * max_send_dsl what the peer declared, the most each PDU we send may hold.
	 */
	uint32_t max_recv_dsl;
	uint32_t max_send_dsl;
	uint32_t max_burst_length;
	uint32_t first_burst_length;
	uint32_t default_time2wait;
	uint32_t default_time2retain;
	uint32_t max_outstanding_r2t;
	bool data_pdu_in_order;
	bool data_sequence_in_order;
	uint32_t error_recovery_level;
	enum xi_session_type session_type;
	enum xi_auth_method auth_method;
	char target_name[XI_NAME_MAX + 1];
	char initiator_name[XI_NAME_MAX + 1];
	char target_alias[XI_ALIAS_MAX + 1];
	char initiator_alias[XI_ALIAS_MAX + 1];
	/* RFC 7143 section 13.9: sent by the target in its first login response. */
	uint16_t tpgt;
	bool tpgt_set;
};

/* Fill p with the RFC 7143 section 13 defaults; names and aliases empty. */
void params_init(struct xi_params *p);

#endif
