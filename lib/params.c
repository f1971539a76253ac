#include "params.h"

#include <string.h>

void params_init(struct xi_params *p)
{
	memset(p, 0, sizeof(*p));
	p->header_digest = XI_DIGEST_NONE;
	p->data_digest = XI_DIGEST_NONE;
	p->max_connections = XI_DEFAULT_MAX_CONNECTIONS;
	p->initial_r2t = XI_DEFAULT_INITIAL_R2T;
	p->immediate_data = XI_DEFAULT_IMMEDIATE_DATA;
	p->max_recv_dsl = XI_DEFAULT_MAX_RECV_DSL;
	p->max_send_dsl = XI_DEFAULT_MAX_RECV_DSL;
	p->max_burst_length = XI_DEFAULT_MAX_BURST_LENGTH;
	p->first_burst_length = XI_DEFAULT_FIRST_BURST_LENGTH;
	p->default_time2wait = XI_DEFAULT_TIME2WAIT;
	p->default_time2retain = XI_DEFAULT_TIME2RETAIN;
	p->max_outstanding_r2t = XI_DEFAULT_MAX_OUTSTANDING_R2T;
	p->data_pdu_in_order = XI_DEFAULT_DATA_PDU_IN_ORDER;
	p->data_sequence_in_order = XI_DEFAULT_DATA_SEQ_IN_ORDER;
	p->error_recovery_level = XI_DEFAULT_ERROR_RECOVERY_LEVEL;
	p->session_type = XI_SESSION_NORMAL;
	p->auth_method = XI_AUTH_NONE;
}
