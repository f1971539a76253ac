/* What the target and initiator login state machines share; not for other modules. */
#ifndef XI_LOGIN_INT_H
#define XI_LOGIN_INT_H

#include "keys.h"
#include "login.h"

/* Keys received in the current PDU sequence, keys to send, and the saved bytes. */
struct login_io {
	struct keys *rx;
	struct keys *tx;
	uint8_t *buf;
};

int login_io_init(struct login_io *io);
void login_io_free(struct login_io *io);
/*
 * Write the tx keys into the data segment of out (which must have its BHS
 * filled) and empty tx and rx for the next step. -EMSGSIZE over LOGIN_MAX_DATA.
 */
int login_io_emit(struct login_io *io, struct login_pdu *out);
/* Whether the list holds a CHAP_* key. */
bool login_has_chap_keys(const struct keys *k);

static inline uint8_t login_csg(uint8_t flags)
{
	return (uint8_t)((flags & ISCSI_LOGIN_CSG_MASK) >> ISCSI_LOGIN_CSG_SHIFT);
}

static inline uint8_t login_nsg(uint8_t flags)
{
	return (uint8_t)(flags & ISCSI_LOGIN_NSG_MASK);
}

static inline uint8_t login_flags(bool transit, uint8_t csg, uint8_t nsg)
{
	return (uint8_t)((transit ? ISCSI_FLAG_LOGIN_TRANSIT | nsg : 0) |
	                 (csg << ISCSI_LOGIN_CSG_SHIFT));
}

/*
 * RFC 7143 section 11.12.1: with T set, the next stage must follow the
 * current one; 2 is reserved, and nothing follows full feature phase.
 */
static inline bool login_transit_ok(uint8_t csg, uint8_t nsg)
{
	if (csg == ISCSI_STAGE_SECURITY)
		return nsg == ISCSI_STAGE_OPERATIONAL || nsg == ISCSI_STAGE_FULL;
	if (csg == ISCSI_STAGE_OPERATIONAL)
		return nsg == ISCSI_STAGE_FULL;
	return false;
}

#endif
