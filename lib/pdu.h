/*
 * iSCSI PDU wire layouts, RFC 7143 section 11.
 *
 * One byte-exact struct per Basic Header Segment (BHS) type, fields prefixed
 * by the struct (FreeBSD style), 24-bit fields as uint8_t[3], multi-byte
 * integers in network byte order (convert with be32toh/htobe32 or the
 * helpers below). No bitfields: flags are masks with names.
 */
#ifndef XI_PDU_H
#define XI_PDU_H

#include <stddef.h>
#include <stdint.h>

/* 11.2.1: every PDU starts with a 48-byte Basic Header Segment. */
#define ISCSI_BHS_SIZE 48
/* 11.2.3 and 13.1: HeaderDigest / DataDigest are CRC32C, 4 bytes each. */
#define ISCSI_DIGEST_SIZE 4
/* 11.2.1: TotalAHSLength counts 4-byte words in one byte: at most 1020 bytes. */
#define ISCSI_AHS_MAX_SIZE (255 * 4)
/* 11.2.1: DataSegmentLength is 24 bits. */
#define ISCSI_DSL_MAX 0xffffffu
/* 13.12: MaxRecvDataSegmentLength default when not negotiated. */
#define ISCSI_MAX_RECV_DSL_DEFAULT 8192u
/* 13.8: the IANA-assigned iSCSI TCP port, used when a portal names none. */
#define ISCSI_DEFAULT_PORT 3260
/* 11.2.1.3 (and 11.9, 11.17): the reserved Initiator/Target Task Tag value. */
#define ISCSI_RESERVED_TAG 0xffffffffu

/* 13.1 / 13.2: which digests a connection negotiated; flags for pdu_rx and pdu_tx. */
#define PDU_DIGEST_HEADER 0x1u
#define PDU_DIGEST_DATA   0x2u

/* 11.1: the data segment is padded to a multiple of 4 bytes. */
static inline uint32_t pdu_pad_len(uint32_t len)
{
	return (4u - (len & 3u)) & 3u;
}

static inline uint32_t pdu_padded_len(uint32_t len)
{
	return len + pdu_pad_len(len);
}

/* Opcodes, 11.2.1.2. The I bit marks immediate delivery (11.2.1). */
#define ISCSI_OP_IMMEDIATE 0x40
#define ISCSI_OP_MASK      0x3f

/* Initiator opcodes */
#define ISCSI_OP_NOP_OUT        0x00
#define ISCSI_OP_SCSI_CMD       0x01
#define ISCSI_OP_TASK_MGMT_REQ  0x02
#define ISCSI_OP_LOGIN_REQ      0x03
#define ISCSI_OP_TEXT_REQ       0x04
#define ISCSI_OP_SCSI_DATA_OUT  0x05
#define ISCSI_OP_LOGOUT_REQ     0x06
#define ISCSI_OP_SNACK_REQ      0x10
#define ISCSI_OP_VENDOR_I_FIRST 0x1c
#define ISCSI_OP_VENDOR_I_LAST  0x1e

/* Target opcodes */
#define ISCSI_OP_NOP_IN         0x20
#define ISCSI_OP_SCSI_RSP       0x21
#define ISCSI_OP_TASK_MGMT_RSP  0x22
#define ISCSI_OP_LOGIN_RSP      0x23
#define ISCSI_OP_TEXT_RSP       0x24
#define ISCSI_OP_SCSI_DATA_IN   0x25
#define ISCSI_OP_LOGOUT_RSP     0x26
#define ISCSI_OP_R2T            0x31
#define ISCSI_OP_ASYNC_MSG      0x32
#define ISCSI_OP_VENDOR_T_FIRST 0x3c
#define ISCSI_OP_VENDOR_T_LAST  0x3e
#define ISCSI_OP_REJECT         0x3f

/* 11.2.1: the Final bit, byte 1 bit 0, shared by most PDUs. */
#define ISCSI_FLAG_FINAL 0x80

/* 11.3: SCSI Command flags: Read, Write, task attribute (11.3.1.2). */
#define ISCSI_FLAG_CMD_READ      0x40
#define ISCSI_FLAG_CMD_WRITE     0x20
#define ISCSI_FLAG_CMD_ATTR_MASK 0x07
#define ISCSI_ATTR_UNTAGGED      0
#define ISCSI_ATTR_SIMPLE        1
#define ISCSI_ATTR_ORDERED       2
#define ISCSI_ATTR_HEAD_OF_QUEUE 3
#define ISCSI_ATTR_ACA           4

/* 11.4.1 and 11.7.5: residual flags of SCSI Response and Data-In. */
#define ISCSI_FLAG_RSP_BIDI_OVERFLOW  0x10 /* o */
#define ISCSI_FLAG_RSP_BIDI_UNDERFLOW 0x08 /* u */
#define ISCSI_FLAG_RSP_OVERFLOW       0x04 /* O */
#define ISCSI_FLAG_RSP_UNDERFLOW      0x02 /* U */

/* 11.7.2 / 11.7.3: Data-In Acknowledge and Status bits. */
#define ISCSI_FLAG_DATA_ACK    0x40 /* A */
#define ISCSI_FLAG_DATA_STATUS 0x01 /* S */

/* 11.10.2 / 11.11.2: Text Continue bit. */
#define ISCSI_FLAG_TEXT_CONTINUE 0x40

/* 11.12.2 / 11.13: Login Transit, Continue, Current and Next Stage. */
#define ISCSI_FLAG_LOGIN_TRANSIT  0x80
#define ISCSI_FLAG_LOGIN_CONTINUE 0x40
#define ISCSI_LOGIN_CSG_MASK      0x0c
#define ISCSI_LOGIN_CSG_SHIFT     2
#define ISCSI_LOGIN_NSG_MASK      0x03
/* 11.12.3: stage numbers (2 is reserved). */
#define ISCSI_STAGE_SECURITY    0
#define ISCSI_STAGE_OPERATIONAL 1
#define ISCSI_STAGE_FULL        3
/* 11.12.4: the only version defined. */
#define ISCSI_VERSION 0x00

/* 11.13.5: Login Response Status-Class and Status-Detail, as (class << 8) | detail. */
#define LOGIN_STATUS_CLASS_SUCCESS     0x00
#define LOGIN_STATUS_CLASS_REDIRECTION 0x01
#define LOGIN_STATUS_CLASS_INITIATOR   0x02
#define LOGIN_STATUS_CLASS_TARGET      0x03
#define LOGIN_STATUS(cls, detail)      ((uint16_t)(((cls) << 8) | (detail)))
#define LOGIN_STATUS_CLASS_OF(st)      ((uint8_t)((st) >> 8))
#define LOGIN_STATUS_DETAIL_OF(st)     ((uint8_t)((st)&0xff))

#define LOGIN_STATUS_SUCCESS               0x0000
#define LOGIN_STATUS_TARGET_MOVED_TEMP     0x0101
#define LOGIN_STATUS_TARGET_MOVED_PERM     0x0102
#define LOGIN_STATUS_INITIATOR_ERROR       0x0200
#define LOGIN_STATUS_AUTH_FAILED           0x0201
#define LOGIN_STATUS_AUTHZ_FAILED          0x0202
#define LOGIN_STATUS_NOT_FOUND             0x0203
#define LOGIN_STATUS_TARGET_REMOVED        0x0204
#define LOGIN_STATUS_UNSUPPORTED_VERSION   0x0205
#define LOGIN_STATUS_TOO_MANY_CONNECTIONS  0x0206
#define LOGIN_STATUS_MISSING_PARAMETER     0x0207
#define LOGIN_STATUS_CANT_INCLUDE_IN_SESS  0x0208
#define LOGIN_STATUS_SESS_TYPE_UNSUPPORTED 0x0209
#define LOGIN_STATUS_SESS_DOES_NOT_EXIST   0x020a
#define LOGIN_STATUS_INVALID_DURING_LOGIN  0x020b
#define LOGIN_STATUS_TARGET_ERROR          0x0300
#define LOGIN_STATUS_SERVICE_UNAVAILABLE   0x0301
#define LOGIN_STATUS_OUT_OF_RESOURCES      0x0302

/* 11.5.1: Task Management function codes (low 7 bits of byte 1). */
#define ISCSI_TMF_FUNC_MASK          0x7f
#define ISCSI_TMF_ABORT_TASK         1
#define ISCSI_TMF_ABORT_TASK_SET     2
#define ISCSI_TMF_CLEAR_ACA          3
#define ISCSI_TMF_CLEAR_TASK_SET     4
#define ISCSI_TMF_LOGICAL_UNIT_RESET 5
#define ISCSI_TMF_TARGET_WARM_RESET  6
#define ISCSI_TMF_TARGET_COLD_RESET  7
#define ISCSI_TMF_TASK_REASSIGN      8

/* 11.6.1: Task Management response codes. */
#define ISCSI_TMF_RSP_COMPLETE        0
#define ISCSI_TMF_RSP_NO_TASK         1
#define ISCSI_TMF_RSP_NO_LUN          2
#define ISCSI_TMF_RSP_TASK_ALLEGIANT  3
#define ISCSI_TMF_RSP_REASSIGN_UNSUPP 4
#define ISCSI_TMF_RSP_NOT_SUPPORTED   5
#define ISCSI_TMF_RSP_AUTH_FAILED     6
#define ISCSI_TMF_RSP_REJECTED        255

/* 11.14.1: Logout reason codes (low 7 bits of byte 1). */
#define ISCSI_LOGOUT_REASON_MASK         0x7f
#define ISCSI_LOGOUT_CLOSE_SESSION       0
#define ISCSI_LOGOUT_CLOSE_CONNECTION    1
#define ISCSI_LOGOUT_REMOVE_FOR_RECOVERY 2

/* 11.15.1: Logout response codes. */
#define ISCSI_LOGOUT_RSP_SUCCESS         0
#define ISCSI_LOGOUT_RSP_CID_NOT_FOUND   1
#define ISCSI_LOGOUT_RSP_RECOVERY_UNSUPP 2
#define ISCSI_LOGOUT_RSP_CLEANUP_FAILED  3

/* 11.16.1: SNACK types (low 4 bits of byte 1). */
#define ISCSI_SNACK_TYPE_MASK 0x0f
#define ISCSI_SNACK_DATA_R2T  0
#define ISCSI_SNACK_STATUS    1
#define ISCSI_SNACK_DATA_ACK  2
#define ISCSI_SNACK_RDATA     3

/* 11.9.1: Asynchronous Message events. */
#define ISCSI_ASYNC_SCSI_EVENT       0
#define ISCSI_ASYNC_LOGOUT_REQUEST   1
#define ISCSI_ASYNC_CONNECTION_DROP  2
#define ISCSI_ASYNC_SESSION_DROP     3
#define ISCSI_ASYNC_NEGOTIATION_REQ  4
#define ISCSI_ASYNC_TASK_TERMINATION 5
#define ISCSI_ASYNC_VENDOR           255

/* 11.17.1: Reject reasons. */
#define ISCSI_REJECT_RESERVED           0x01
#define ISCSI_REJECT_DATA_DIGEST        0x02
#define ISCSI_REJECT_SNACK              0x03
#define ISCSI_REJECT_PROTOCOL_ERROR     0x04
#define ISCSI_REJECT_CMD_NOT_SUPPORTED  0x05
#define ISCSI_REJECT_IMMEDIATE_TOO_MANY 0x06
#define ISCSI_REJECT_TASK_IN_PROGRESS   0x07
#define ISCSI_REJECT_INVALID_DATA_ACK   0x08
#define ISCSI_REJECT_INVALID_PDU_FIELD  0x09
#define ISCSI_REJECT_OUT_OF_RESOURCES   0x0a
#define ISCSI_REJECT_NEGOTIATION_RESET  0x0b /* deprecated by RFC 7143 */
#define ISCSI_REJECT_WAITING_LOGOUT     0x0c

/* 11.4.2: SCSI Response "Response" codes. */
#define ISCSI_RSP_COMPLETED      0x00
#define ISCSI_RSP_TARGET_FAILURE 0x01

/*
 * 11.2.2: Additional Header Segment: AHSLength (2), AHSType (1), AHS-specific
 * (1), data, padded to 4 bytes. AHSLength counts from the AHS-specific byte
 * on, as the two defined types show (11.2.2.3: CDB length - 15; 11.2.2.4: 5),
 * so one AHS takes pdu_ahs_size(AHSLength) bytes of TotalAHSLength.
 */
struct iscsi_ahs {
	uint16_t ahs_length;
	uint8_t ahs_type;
	uint8_t ahs_specific;
	uint8_t ahs_data[];
};
#define ISCSI_AHS_HDR_SIZE       4
#define ISCSI_AHS_TYPE_EXT_CDB   1 /* 11.2.2.3: CDB bytes past the first 16 */
#define ISCSI_AHS_TYPE_BIDI_RLEN 2 /* 11.2.2.4: expected bidirectional read length */
#define ISCSI_AHS_BIDI_RLEN_LEN  5 /* AHSLength of the bidi read length AHS */
#define ISCSI_CDB_SIZE           16

static inline uint32_t pdu_ahs_size(uint16_t ahs_length)
{
	return pdu_padded_len(3u + ahs_length);
}

/* 11.2.1: the shape every BHS shares. */
struct iscsi_bhs {
	uint8_t bhs_opcode;
	uint8_t bhs_flags;
	uint8_t bhs_opcode_specific1[2];
	uint8_t bhs_total_ahs_len;
	uint8_t bhs_data_segment_len[3];
	uint8_t bhs_lun[8]; /* or opcode-specific */
	uint32_t bhs_itt;
	uint8_t bhs_opcode_specific2[28];
};
_Static_assert(sizeof(struct iscsi_bhs) == ISCSI_BHS_SIZE, "BHS is 48 bytes");

/* 11.18 NOP-Out */
struct iscsi_bhs_nop_out {
	uint8_t bhsno_opcode;
	uint8_t bhsno_flags;
	uint8_t bhsno_reserved[2];
	uint8_t bhsno_total_ahs_len;
	uint8_t bhsno_data_segment_len[3];
	uint8_t bhsno_lun[8];
	uint32_t bhsno_itt;
	uint32_t bhsno_ttt;
	uint32_t bhsno_cmdsn;
	uint32_t bhsno_expstatsn;
	uint8_t bhsno_reserved2[16];
};
_Static_assert(sizeof(struct iscsi_bhs_nop_out) == ISCSI_BHS_SIZE, "NOP-Out BHS");

/* 11.3 SCSI Command */
struct iscsi_bhs_scsi_command {
	uint8_t bhssc_opcode;
	uint8_t bhssc_flags;
	uint8_t bhssc_reserved[2];
	uint8_t bhssc_total_ahs_len;
	uint8_t bhssc_data_segment_len[3];
	uint8_t bhssc_lun[8];
	uint32_t bhssc_itt;
	uint32_t bhssc_expected_data_transfer_length;
	uint32_t bhssc_cmdsn;
	uint32_t bhssc_expstatsn;
	uint8_t bhssc_cdb[ISCSI_CDB_SIZE];
};
_Static_assert(sizeof(struct iscsi_bhs_scsi_command) == ISCSI_BHS_SIZE, "SCSI Command BHS");

/* 11.5 Task Management Function Request */
struct iscsi_bhs_task_mgmt_request {
	uint8_t bhstmr_opcode;
	uint8_t bhstmr_function; /* F bit | function */
	uint8_t bhstmr_reserved[2];
	uint8_t bhstmr_total_ahs_len;
	uint8_t bhstmr_data_segment_len[3];
	uint8_t bhstmr_lun[8];
	uint32_t bhstmr_itt;
	uint32_t bhstmr_referenced_task_tag;
	uint32_t bhstmr_cmdsn;
	uint32_t bhstmr_expstatsn;
	uint32_t bhstmr_refcmdsn;
	uint32_t bhstmr_expdatasn;
	uint8_t bhstmr_reserved2[8];
};
_Static_assert(sizeof(struct iscsi_bhs_task_mgmt_request) == ISCSI_BHS_SIZE, "TMF Request BHS");

/* 11.12 Login Request */
struct iscsi_bhs_login_request {
	uint8_t bhslr_opcode;
	uint8_t bhslr_flags;
	uint8_t bhslr_version_max;
	uint8_t bhslr_version_min;
	uint8_t bhslr_total_ahs_len;
	uint8_t bhslr_data_segment_len[3];
	uint8_t bhslr_isid[6];
	uint16_t bhslr_tsih;
	uint32_t bhslr_itt;
	uint16_t bhslr_cid;
	uint16_t bhslr_reserved;
	uint32_t bhslr_cmdsn;
	uint32_t bhslr_expstatsn;
	uint8_t bhslr_reserved2[16];
};
_Static_assert(sizeof(struct iscsi_bhs_login_request) == ISCSI_BHS_SIZE, "Login Request BHS");

/* 11.10 Text Request */
struct iscsi_bhs_text_request {
	uint8_t bhstr_opcode;
	uint8_t bhstr_flags;
	uint8_t bhstr_reserved[2];
	uint8_t bhstr_total_ahs_len;
	uint8_t bhstr_data_segment_len[3];
	uint8_t bhstr_lun[8];
	uint32_t bhstr_itt;
	uint32_t bhstr_ttt;
	uint32_t bhstr_cmdsn;
	uint32_t bhstr_expstatsn;
	uint8_t bhstr_reserved2[16];
};
_Static_assert(sizeof(struct iscsi_bhs_text_request) == ISCSI_BHS_SIZE, "Text Request BHS");

/* 11.7.1 SCSI Data-Out */
struct iscsi_bhs_data_out {
	uint8_t bhsdo_opcode;
	uint8_t bhsdo_flags;
	uint8_t bhsdo_reserved[2];
	uint8_t bhsdo_total_ahs_len;
	uint8_t bhsdo_data_segment_len[3];
	uint8_t bhsdo_lun[8];
	uint32_t bhsdo_itt;
	uint32_t bhsdo_ttt;
	uint32_t bhsdo_reserved2;
	uint32_t bhsdo_expstatsn;
	uint32_t bhsdo_reserved3;
	uint32_t bhsdo_datasn;
	uint32_t bhsdo_buffer_offset;
	uint32_t bhsdo_reserved4;
};
_Static_assert(sizeof(struct iscsi_bhs_data_out) == ISCSI_BHS_SIZE, "Data-Out BHS");

/* 11.14 Logout Request */
struct iscsi_bhs_logout_request {
	uint8_t bhslo_opcode;
	uint8_t bhslo_reason; /* F bit | reason code */
	uint8_t bhslo_reserved[2];
	uint8_t bhslo_total_ahs_len;
	uint8_t bhslo_data_segment_len[3];
	uint8_t bhslo_reserved2[8];
	uint32_t bhslo_itt;
	uint16_t bhslo_cid;
	uint16_t bhslo_reserved3;
	uint32_t bhslo_cmdsn;
	uint32_t bhslo_expstatsn;
	uint8_t bhslo_reserved4[16];
};
_Static_assert(sizeof(struct iscsi_bhs_logout_request) == ISCSI_BHS_SIZE, "Logout Request BHS");

/* 11.16 SNACK Request */
struct iscsi_bhs_snack_request {
	uint8_t bhssn_opcode;
	uint8_t bhssn_flags; /* F bit | type */
	uint8_t bhssn_reserved[2];
	uint8_t bhssn_total_ahs_len;
	uint8_t bhssn_data_segment_len[3];
	uint8_t bhssn_lun[8];
	uint32_t bhssn_itt;
	uint32_t bhssn_ttt; /* or SNACK Tag */
	uint32_t bhssn_reserved2;
	uint32_t bhssn_expstatsn;
	uint8_t bhssn_reserved3[8];
	uint32_t bhssn_begrun;
	uint32_t bhssn_runlength;
};
_Static_assert(sizeof(struct iscsi_bhs_snack_request) == ISCSI_BHS_SIZE, "SNACK Request BHS");

/* 11.19 NOP-In */
struct iscsi_bhs_nop_in {
	uint8_t bhsni_opcode;
	uint8_t bhsni_flags;
	uint8_t bhsni_reserved[2];
	uint8_t bhsni_total_ahs_len;
	uint8_t bhsni_data_segment_len[3];
	uint8_t bhsni_lun[8];
	uint32_t bhsni_itt;
	uint32_t bhsni_ttt;
	uint32_t bhsni_statsn;
	uint32_t bhsni_expcmdsn;
	uint32_t bhsni_maxcmdsn;
	uint8_t bhsni_reserved2[12];
};
_Static_assert(sizeof(struct iscsi_bhs_nop_in) == ISCSI_BHS_SIZE, "NOP-In BHS");

/* 11.4 SCSI Response */
struct iscsi_bhs_scsi_response {
	uint8_t bhssr_opcode;
	uint8_t bhssr_flags;
	uint8_t bhssr_response;
	uint8_t bhssr_status;
	uint8_t bhssr_total_ahs_len;
	uint8_t bhssr_data_segment_len[3];
	uint8_t bhssr_reserved[8];
	uint32_t bhssr_itt;
	uint32_t bhssr_snack_tag;
	uint32_t bhssr_statsn;
	uint32_t bhssr_expcmdsn;
	uint32_t bhssr_maxcmdsn;
	uint32_t bhssr_expdatasn;
	uint32_t bhssr_bidirectional_read_residual_count;
	uint32_t bhssr_residual_count;
};
_Static_assert(sizeof(struct iscsi_bhs_scsi_response) == ISCSI_BHS_SIZE, "SCSI Response BHS");

/* 11.6 Task Management Function Response */
struct iscsi_bhs_task_mgmt_response {
	uint8_t bhstmrs_opcode;
	uint8_t bhstmrs_flags;
	uint8_t bhstmrs_response;
	uint8_t bhstmrs_reserved;
	uint8_t bhstmrs_total_ahs_len;
	uint8_t bhstmrs_data_segment_len[3];
	uint8_t bhstmrs_reserved2[8];
	uint32_t bhstmrs_itt;
	uint32_t bhstmrs_reserved3;
	uint32_t bhstmrs_statsn;
	uint32_t bhstmrs_expcmdsn;
	uint32_t bhstmrs_maxcmdsn;
	uint8_t bhstmrs_reserved4[12];
};
_Static_assert(sizeof(struct iscsi_bhs_task_mgmt_response) == ISCSI_BHS_SIZE, "TMF Response BHS");

/* 11.13 Login Response */
struct iscsi_bhs_login_response {
	uint8_t bhslrs_opcode;
	uint8_t bhslrs_flags;
	uint8_t bhslrs_version_max;
	uint8_t bhslrs_version_active;
	uint8_t bhslrs_total_ahs_len;
	uint8_t bhslrs_data_segment_len[3];
	uint8_t bhslrs_isid[6];
	uint16_t bhslrs_tsih;
	uint32_t bhslrs_itt;
	uint32_t bhslrs_reserved;
	uint32_t bhslrs_statsn;
	uint32_t bhslrs_expcmdsn;
	uint32_t bhslrs_maxcmdsn;
	uint8_t bhslrs_status_class;
	uint8_t bhslrs_status_detail;
	uint8_t bhslrs_reserved2[10];
};
_Static_assert(sizeof(struct iscsi_bhs_login_response) == ISCSI_BHS_SIZE, "Login Response BHS");

/* 11.11 Text Response */
struct iscsi_bhs_text_response {
	uint8_t bhstrs_opcode;
	uint8_t bhstrs_flags;
	uint8_t bhstrs_reserved[2];
	uint8_t bhstrs_total_ahs_len;
	uint8_t bhstrs_data_segment_len[3];
	uint8_t bhstrs_lun[8];
	uint32_t bhstrs_itt;
	uint32_t bhstrs_ttt;
	uint32_t bhstrs_statsn;
	uint32_t bhstrs_expcmdsn;
	uint32_t bhstrs_maxcmdsn;
	uint8_t bhstrs_reserved2[12];
};
_Static_assert(sizeof(struct iscsi_bhs_text_response) == ISCSI_BHS_SIZE, "Text Response BHS");

/* 11.7.1 SCSI Data-In */
struct iscsi_bhs_data_in {
	uint8_t bhsdi_opcode;
	uint8_t bhsdi_flags;
	uint8_t bhsdi_reserved;
	uint8_t bhsdi_status;
	uint8_t bhsdi_total_ahs_len;
	uint8_t bhsdi_data_segment_len[3];
	uint8_t bhsdi_lun[8];
	uint32_t bhsdi_itt;
	uint32_t bhsdi_ttt;
	uint32_t bhsdi_statsn;
	uint32_t bhsdi_expcmdsn;
	uint32_t bhsdi_maxcmdsn;
	uint32_t bhsdi_datasn;
	uint32_t bhsdi_buffer_offset;
	uint32_t bhsdi_residual_count;
};
_Static_assert(sizeof(struct iscsi_bhs_data_in) == ISCSI_BHS_SIZE, "Data-In BHS");

/* 11.15 Logout Response */
struct iscsi_bhs_logout_response {
	uint8_t bhslors_opcode;
	uint8_t bhslors_flags;
	uint8_t bhslors_response;
	uint8_t bhslors_reserved;
	uint8_t bhslors_total_ahs_len;
	uint8_t bhslors_data_segment_len[3];
	uint8_t bhslors_reserved2[8];
	uint32_t bhslors_itt;
	uint32_t bhslors_reserved3;
	uint32_t bhslors_statsn;
	uint32_t bhslors_expcmdsn;
	uint32_t bhslors_maxcmdsn;
	uint32_t bhslors_reserved4;
	uint16_t bhslors_time2wait;
	uint16_t bhslors_time2retain;
	uint32_t bhslors_reserved5;
};
_Static_assert(sizeof(struct iscsi_bhs_logout_response) == ISCSI_BHS_SIZE, "Logout Response BHS");

/* 11.8 Ready To Transfer */
struct iscsi_bhs_r2t {
	uint8_t bhsr2t_opcode;
	uint8_t bhsr2t_flags;
	uint8_t bhsr2t_reserved[2];
	uint8_t bhsr2t_total_ahs_len;
	uint8_t bhsr2t_data_segment_len[3];
	uint8_t bhsr2t_lun[8];
	uint32_t bhsr2t_itt;
	uint32_t bhsr2t_ttt;
	uint32_t bhsr2t_statsn;
	uint32_t bhsr2t_expcmdsn;
	uint32_t bhsr2t_maxcmdsn;
	uint32_t bhsr2t_r2tsn;
	uint32_t bhsr2t_buffer_offset;
	uint32_t bhsr2t_desired_data_transfer_length;
};
_Static_assert(sizeof(struct iscsi_bhs_r2t) == ISCSI_BHS_SIZE, "R2T BHS");

/* 11.9 Asynchronous Message */
struct iscsi_bhs_async_message {
	uint8_t bhsam_opcode;
	uint8_t bhsam_flags;
	uint8_t bhsam_reserved[2];
	uint8_t bhsam_total_ahs_len;
	uint8_t bhsam_data_segment_len[3];
	uint8_t bhsam_lun[8];
	uint32_t bhsam_itt; /* always ISCSI_RESERVED_TAG */
	uint32_t bhsam_reserved2;
	uint32_t bhsam_statsn;
	uint32_t bhsam_expcmdsn;
	uint32_t bhsam_maxcmdsn;
	uint8_t bhsam_async_event;
	uint8_t bhsam_async_vcode;
	uint16_t bhsam_parameter1;
	uint16_t bhsam_parameter2;
	uint16_t bhsam_parameter3;
	uint32_t bhsam_reserved3;
};
_Static_assert(sizeof(struct iscsi_bhs_async_message) == ISCSI_BHS_SIZE, "Async Message BHS");

/* 11.17 Reject: the data segment carries the rejected PDU's header. */
struct iscsi_bhs_reject {
	uint8_t bhsrj_opcode;
	uint8_t bhsrj_flags;
	uint8_t bhsrj_reason;
	uint8_t bhsrj_reserved;
	uint8_t bhsrj_total_ahs_len;
	uint8_t bhsrj_data_segment_len[3];
	uint8_t bhsrj_reserved2[8];
	uint32_t bhsrj_itt; /* always ISCSI_RESERVED_TAG */
	uint32_t bhsrj_reserved3;
	uint32_t bhsrj_statsn;
	uint32_t bhsrj_expcmdsn;
	uint32_t bhsrj_maxcmdsn;
	uint32_t bhsrj_datasn_r2tsn;
	uint8_t bhsrj_reserved4[8];
};
_Static_assert(sizeof(struct iscsi_bhs_reject) == ISCSI_BHS_SIZE, "Reject BHS");

/* Big-endian 24-bit fields (11.2.1: DataSegmentLength). */
static inline uint32_t pdu_be24_get(const uint8_t b[3])
{
	return ((uint32_t)b[0] << 16) | ((uint32_t)b[1] << 8) | (uint32_t)b[2];
}

static inline void pdu_be24_set(uint8_t b[3], uint32_t v)
{
	b[0] = (uint8_t)(v >> 16);
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)v;
}

static inline uint32_t pdu_dsl_get(const struct iscsi_bhs *bhs)
{
	return pdu_be24_get(bhs->bhs_data_segment_len);
}

/* Values above ISCSI_DSL_MAX are truncated: callers bound lengths first. */
static inline void pdu_dsl_set(struct iscsi_bhs *bhs, uint32_t len)
{
	pdu_be24_set(bhs->bhs_data_segment_len, len);
}

/* Total AHS length in bytes (11.2.1: counted in 4-byte words). */
static inline uint32_t pdu_ahs_len_get(const struct iscsi_bhs *bhs)
{
	return (uint32_t)bhs->bhs_total_ahs_len * 4u;
}

static inline uint8_t pdu_opcode(const struct iscsi_bhs *bhs)
{
	return bhs->bhs_opcode & ISCSI_OP_MASK;
}

static inline int pdu_is_immediate(const struct iscsi_bhs *bhs)
{
	return (bhs->bhs_opcode & ISCSI_OP_IMMEDIATE) != 0;
}

/* Any typed BHS viewed as the generic one (all share the first 20 bytes). */
#define PDU_BHS(p) ((struct iscsi_bhs *)(void *)(p))

#endif
