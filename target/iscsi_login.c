/*
 * Login phase on a target connection: the socket-free state machine of
 * lib/login.h does the negotiation; this file answers its questions
 * (which target, which ACL, which CHAP secret, which session) and applies
 * the result to the connection (digests, segment lengths, sequence numbers).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/login.h"
#include "lib/pdu_tx.h"
#include "target/conn.h"
#include "target/session.h"

/* What this target receives per PDU and wants per burst (RFC 7143 13.12-13.14).
 * Large values keep the PDU count per I/O low; the initiator's are the
 * bounds for what we send. */
#define TGT_MAX_RECV_DSL        262144u
#define TGT_MAX_BURST_LENGTH    1048576u
#define TGT_FIRST_BURST_LENGTH  262144u
#define TGT_MAX_OUTSTANDING_R2T 16u

struct tgt_login {
	struct login_tgt *sm;
	struct tgt_conn *c;
	struct tgt_session *sess;        /* made by the session callback */
	char initiator[XI_NAME_MAX + 1]; /* as the initiator named itself, for logs */
	/* CHAP_A numbers the target (or discovery) accepts, set by
	 * cb_authorize before the CHAP exchange; the SM points at it. */
	char chap_algs[32];
	/* Failed logins from this address: the first answer waits (below). */
	uint64_t hold_ms;
	bool answered;
	struct xt_timer hold;
	struct tgt_tx *held;
	uint32_t held_len;
};

/*
 * Repeated failed logins from one address are slowed down (issue 9): after
 * LOGIN_FAIL_FREE authentication failures, the first answer to every login
 * from that address waits 1 s, doubling per failure up to LOGIN_HOLD_MAX_MS,
 * so guessing CHAP secrets costs time. A successful login, or
 * LOGIN_FAIL_FORGET_MS without failure, clears the address. The table is
 * small and shared by the reactor threads; the oldest entry is reused.
 */
#define LOGIN_FAIL_SLOTS     64
#define LOGIN_FAIL_FREE      5
#define LOGIN_HOLD_MAX_MS    16000
#define LOGIN_FAIL_FORGET_MS 600000

static struct {
	char host[XT_ADDRSTRLEN];
	unsigned fails;
	uint64_t last_ms;
} login_fails[LOGIN_FAIL_SLOTS];
static pthread_mutex_t login_fails_lock = PTHREAD_MUTEX_INITIALIZER;

/* The peer's address without its port ("1.2.3.4", "[::1]"). */
static void peer_host(const struct tgt_conn *c, char *host, size_t len)
{
	char *colon;

	snprintf(host, len, "%s", c->peer);
	colon = strrchr(host, ':');
	if (colon && (host[0] != '[' || colon[-1] == ']'))
		*colon = '\0';
}

/* fail: count a failure; otherwise forget the address. */
static void login_fail_note(const struct tgt_conn *c, bool fail, uint64_t now)
{
	char host[XT_ADDRSTRLEN];
	int i, slot = -1, oldest = 0;

	peer_host(c, host, sizeof(host));
	pthread_mutex_lock(&login_fails_lock);
	for (i = 0; i < LOGIN_FAIL_SLOTS; i++) {
		if (login_fails[i].fails && !strcmp(login_fails[i].host, host))
			slot = i;
		if (login_fails[i].last_ms < login_fails[oldest].last_ms)
			oldest = i;
	}
	if (!fail) {
		if (slot >= 0)
			login_fails[slot].fails = 0;
	} else {
		if (slot < 0) {
			slot = oldest;
			snprintf(login_fails[slot].host, sizeof(login_fails[slot].host), "%s",
			         host);
			login_fails[slot].fails = 0;
		} else if (now - login_fails[slot].last_ms > LOGIN_FAIL_FORGET_MS) {
			login_fails[slot].fails = 0;
		}
		login_fails[slot].fails++;
		login_fails[slot].last_ms = now;
	}
	pthread_mutex_unlock(&login_fails_lock);
}

static uint64_t login_hold_ms(const struct tgt_conn *c, uint64_t now)
{
	char host[XT_ADDRSTRLEN];
	uint64_t ms = 0;
	int i;

	peer_host(c, host, sizeof(host));
	pthread_mutex_lock(&login_fails_lock);
	for (i = 0; i < LOGIN_FAIL_SLOTS; i++) {
		unsigned n = login_fails[i].fails;

		if (!n || strcmp(login_fails[i].host, host) ||
		    now - login_fails[i].last_ms > LOGIN_FAIL_FORGET_MS || n < LOGIN_FAIL_FREE)
			continue;
		ms = n - LOGIN_FAIL_FREE >= 5 ? LOGIN_HOLD_MAX_MS
		                              : 1000ull << (n - LOGIN_FAIL_FREE);
		if (ms > LOGIN_HOLD_MAX_MS)
			ms = LOGIN_HOLD_MAX_MS;
	}
	pthread_mutex_unlock(&login_fails_lock);
	return ms;
}

static int chap_copy(const struct tgt_cfg_chap *ch, const char *user, char *name, size_t name_cap,
                     uint8_t *secret, size_t *secret_len)
{
	size_t n;

	if (!ch->user || !ch->secret)
		return -ENOENT;
	if (user && strcmp(user, ch->user))
		return -ENOENT;
	if (name) {
		if (strlen(ch->user) >= name_cap)
			return -ENOENT;
		strcpy(name, ch->user);
	}
	n = strlen(ch->secret);
	if (n > *secret_len)
		return -ENOENT;
	memcpy(secret, ch->secret, n);
	*secret_len = n;
	return 0;
}

static unsigned auth_flags(const struct tgt_cfg_chap *chap, const struct tgt_cfg_chap *mutual)
{
	if (!chap->user)
		return LOGIN_AUTH_ALLOW_NONE;
	return LOGIN_AUTH_ALLOW_CHAP | (mutual && mutual->user ? LOGIN_AUTH_REQUIRE_MUTUAL : 0);
}

static int cb_authorize(void *ctx, const char *target_name, const char *initiator_name,
                        enum xi_session_type type, unsigned int *auth)
{
	struct tgt_login *l = ctx;
	struct tgt_daemon *d = l->c->th->d;
	struct tgt_target *t;
	int rc = 0;

	snprintf(l->initiator, sizeof(l->initiator), "%s", initiator_name);
	if (type == XI_SESSION_DISCOVERY) {
		pthread_rwlock_rdlock(&d->objs_lock);
		*auth = auth_flags(&d->cfg->discovery_chap, NULL);
		if (d->cfg->discovery_chap.algs)
			snprintf(l->chap_algs, sizeof(l->chap_algs), "%s",
			         d->cfg->discovery_chap.algs);
		pthread_rwlock_unlock(&d->objs_lock);
		return 0;
	}
	pthread_rwlock_rdlock(&d->objs_lock);
	t = tgt_target_find(d, target_name);
	if (!t) {
		rc = -ENOENT;
	} else if (t->tpgt != l->c->portal->tpgt) {
		/* RFC 7143 11.13.5: reachable through another portal group only. */
		rc = -ENOENT;
	} else if (!tgt_target_allows(t, initiator_name)) {
		rc = -EACCES;
	} else {
		*auth = auth_flags(&t->chap, &t->chap_mutual);
		if (t->chap.algs)
			snprintf(l->chap_algs, sizeof(l->chap_algs), "%s", t->chap.algs);
	}
	pthread_rwlock_unlock(&d->objs_lock);
	if (rc)
		log_info("conn %s: login of %s to %s refused: %s", l->c->peer, initiator_name,
		         target_name, rc == -ENOENT ? "no such target" : "not in the ACL");
	return rc;
}

static int cb_chap_secret(void *ctx, const char *target_name, const char *initiator_name,
                          bool mutual, const char *user, char *name, size_t name_cap,
                          uint8_t *secret, size_t *secret_len)
{
	struct tgt_login *l = ctx;
	struct tgt_daemon *d = l->c->th->d;
	struct tgt_target *t;
	int rc;

	if (!target_name || !*target_name)
		return mutual ? -ENOENT
		              : chap_copy(&d->cfg->discovery_chap, user, NULL, 0, secret,
		                          secret_len);
	pthread_rwlock_rdlock(&d->objs_lock);
	t = tgt_target_find(d, target_name);
	if (!t)
		rc = -ENOENT;
	else if (mutual)
		rc = chap_copy(&t->chap_mutual, NULL, name, name_cap, secret, secret_len);
	else
		rc = chap_copy(&t->chap, user, NULL, 0, secret, secret_len);
	pthread_rwlock_unlock(&d->objs_lock);
	return rc;
}

struct drop_req {
	struct tgt_thread *th;
	uint16_t tsih;
};

/* Runs on the thread that owns the session being reinstated: only that
 * thread touches its connections, so the session is found again by TSIH
 * (it may have ended meanwhile). */
static void drop_session(void *arg)
{
	struct drop_req *r = arg;
	struct tgt_conn *c, *next;

	for (c = r->th->conns; c; c = next) {
		next = c->next;
		if (c->sess && c->sess->tsih == r->tsih && !c->closing)
			tgt_conn_close(c, "session reinstated by a new login with the same ISID");
	}
	free(r);
}

static int cb_session(void *ctx, const struct login_session_req *req, uint16_t *tsih)
{
	struct tgt_login *l = ctx;
	struct tgt_conn *c = l->c;
	struct tgt_daemon *d = c->th->d;
	const struct xi_params *p = req->params;
	struct tgt_session *s, *old = NULL;
	struct tgt_target *t;
	int rc;

	if (req->tsih) {
		/* MaxConnections is 1 here: no connection joins a session. */
		bool found = false;

		pthread_mutex_lock(&d->sess_lock);
		for (s = d->sessions; s; s = s->next)
			if (s->tsih == req->tsih)
				found = true;
		pthread_mutex_unlock(&d->sess_lock);
		return found ? -EMLINK : -ENOENT;
	}
	rc = tgt_session_new(d, c->th, req->isid, p->initiator_name, &s);
	if (rc)
		return rc;
	s->discovery = p->session_type == XI_SESSION_DISCOVERY;
	s->params = *p;
	s->conn = c;
	s->exp_cmdsn = req->cmdsn;
	if (!s->discovery) {
		pthread_rwlock_rdlock(&d->objs_lock);
		t = tgt_target_find(d, p->target_name);
		if (t) {
			tgt_session_set_target(s, t);
			atomic_fetch_add(&t->sessions, 1);
		}
		pthread_rwlock_unlock(&d->objs_lock);
		if (!t) {
			tgt_session_free(s);
			return -ENOENT;
		}
		/* RFC 7143 6.3.5: a new login with the I_T nexus of a live
		 * session replaces it; the old connection is dropped. */
		pthread_mutex_lock(&d->sess_lock);
		if (tgt_session_find_isid(d, s->initiator, s->isid, s, &old)) {
			struct drop_req *r = malloc(sizeof(*r));

			if (r) {
				r->th = old->th;
				r->tsih = old->tsih;
				if (xt_group_post(old->th->g, drop_session, r))
					free(r);
			}
		}
		pthread_mutex_unlock(&d->sess_lock);
	}
	rc = tgt_session_start(s, s->discovery ? 1 : d->cfg->queue_depth);
	if (rc) {
		tgt_session_free(s);
		return rc;
	}
	l->sess = s;
	*tsih = s->tsih;
	return 0;
}

static const struct login_tgt_ops login_ops = {
        .authorize = cb_authorize,
        .chap_secret = cb_chap_secret,
        .session = cb_session,
};

static int login_start(struct tgt_conn *c)
{
	struct tgt_login *l = calloc(1, sizeof(*l));
	struct login_tgt_config cfg;
	struct tgt_target *t;
	int rc;

	if (!l)
		return -ENOMEM;
	l->c = c;
	/* All four until cb_authorize knows the target (lib/chap.h numbers). */
	snprintf(l->chap_algs, sizeof(l->chap_algs), "5,6,7,8");
	l->hold_ms = login_hold_ms(c, c->th->g->now_ms);
	memset(&cfg, 0, sizeof(cfg));
	params_init(&cfg.local);
	cfg.local.max_recv_dsl = TGT_MAX_RECV_DSL;
	cfg.local.max_burst_length = TGT_MAX_BURST_LENGTH;
	cfg.local.first_burst_length = TGT_FIRST_BURST_LENGTH;
	cfg.local.max_outstanding_r2t = TGT_MAX_OUTSTANDING_R2T;
	cfg.local.initial_r2t = false;
	cfg.local.immediate_data = true;
	cfg.local.error_recovery_level = 0;
	cfg.local.max_connections = 1;
	cfg.local.tpgt = c->portal->tpgt;
	cfg.local.tpgt_set = true;
	/* The alias of the first target of the group; the SM sends it only
	 * on a normal session. */
	pthread_rwlock_rdlock(&c->th->d->objs_lock);
	t = c->th->d->ntargets ? &c->th->d->targets[0] : NULL;
	if (t && t->alias)
		snprintf(cfg.local.target_alias, sizeof(cfg.local.target_alias), "%s", t->alias);
	pthread_rwlock_unlock(&c->th->d->objs_lock);
	cfg.header_digests = "None,CRC32C";
	cfg.data_digests = "None,CRC32C";
	cfg.cmdsn_window = c->th->d->cfg->queue_depth;
	cfg.chap_algs = l->chap_algs;
	cfg.initial_statsn = 1;
	cfg.ops = &login_ops;
	cfg.ctx = l;
	rc = login_tgt_new(&l->sm, &cfg);
	if (rc) {
		free(l);
		return rc;
	}
	c->login = l;
	return 0;
}

void tgt_login_free(struct tgt_conn *c)
{
	struct tgt_login *l = c->login;

	if (!l)
		return;
	xt_timer_cancel(&l->hold);
	if (l->held) {
		free(l->held->data);
		l->held->data = NULL;
		l->held->next = c->tx_free;
		c->tx_free = l->held;
	}
	login_tgt_free(l->sm);
	if (l->sess && c->sess != l->sess)
		tgt_session_free(l->sess);
	free(l);
	c->login = NULL;
}

/* A tx holding a copy of a login response: the SM's data is valid only
 * until its next step, and the send may outlive it. NULL when out of memory. */
static struct tgt_tx *login_tx_copy(struct tgt_conn *c, const struct login_pdu *out)
{
	struct tgt_tx *tx = tgt_tx_get(c);

	if (!tx)
		return NULL;
	tx->bhs = out->bhs;
	if (out->data_len) {
		tx->data = malloc(out->data_len);
		if (!tx->data) {
			tx->next = c->tx_free;
			c->tx_free = tx;
			return NULL;
		}
		memcpy(tx->data, out->data, out->data_len);
	}
	return tx;
}

static int send_login_pdu(struct tgt_conn *c, const struct login_pdu *out)
{
	struct tgt_tx *tx = login_tx_copy(c, out);

	if (!tx)
		return -ENOMEM;
	return tgt_tx_send(c, tx, tx->data, out->data_len);
}

static void hold_done(struct xt_timer *tm, void *arg)
{
	struct tgt_login *l = arg;
	struct tgt_conn *c = l->c;
	struct tgt_tx *tx = l->held;

	(void)tm;
	l->held = NULL;
	if (c->closing) {
		free(tx->data);
		tx->data = NULL;
		tx->next = c->tx_free;
		c->tx_free = tx;
		return;
	}
	if (tgt_tx_send(c, tx, tx->data, l->held_len)) {
		tgt_conn_close(c, "login failed (internal error)");
		return;
	}
	xt_conn_resume_recv(c->xc);
}

/* The first answer to a login from an address with failures behind it
 * leaves after l->hold_ms; nothing more is read meanwhile. */
static int hold_login_pdu(struct tgt_conn *c, const struct login_pdu *out)
{
	struct tgt_login *l = c->login;
	struct tgt_tx *tx = login_tx_copy(c, out);

	if (!tx)
		return -ENOMEM;
	l->held = tx;
	l->held_len = out->data_len;
	log_info("conn %s: earlier logins from this address failed; answering in %llu ms", c->peer,
	         (unsigned long long)l->hold_ms);
	xt_conn_pause_recv(c->xc);
	return xt_timer_start(c->th->g, &l->hold, l->hold_ms, 0, hold_done, l);
}

static void apply_params(struct tgt_conn *c, const struct xi_params *p)
{
	unsigned dig = 0;

	if (p->header_digest == XI_DIGEST_CRC32C)
		dig |= PDU_DIGEST_HEADER;
	if (p->data_digest == XI_DIGEST_CRC32C)
		dig |= PDU_DIGEST_DATA;
	/* RFC 7143 13.1: digests start with the first PDU after the final
	 * Login Response, both ways. */
	c->digests = dig;
	pdu_rx_set_digests(&c->rx, dig);
	c->max_recv_dsl = p->max_recv_dsl ? p->max_recv_dsl : ISCSI_MAX_RECV_DSL_DEFAULT;
	c->max_send_dsl = p->max_send_dsl ? p->max_send_dsl : ISCSI_MAX_RECV_DSL_DEFAULT;
	pdu_rx_set_max_data(&c->rx, c->max_recv_dsl);
}

int tgt_login_pdu(struct tgt_conn *c, struct pdu_in *pdu)
{
	struct login_pdu out;
	const struct login_info *info;
	struct tgt_login *l;
	int rc;

	if (pdu_opcode(pdu->bhs) != ISCSI_OP_LOGIN_REQ) {
		/* RFC 7143 6.3: only Login Requests until login completes; the
		 * connection is dropped (no Reject can be sent before login). */
		log_info("conn %s: opcode 0x%02x during login, closing", c->peer,
		         pdu_opcode(pdu->bhs));
		tgt_conn_close(c, NULL);
		return PDU_RX_STOP;
	}
	if (!c->login && (rc = login_start(c)))
		return rc;
	l = c->login;
	memset(&out, 0, sizeof(out));
	rc = login_tgt_rx(l->sm, pdu->bhs, pdu->data, pdu->data_len, &out);
	if (rc < 0) {
		tgt_conn_close(c, "login failed (internal error)");
		return PDU_RX_STOP;
	}
	if (out.present) {
		int src;

		if (rc == LOGIN_CONTINUE && l->hold_ms && !l->answered)
			src = hold_login_pdu(c, &out);
		else
			src = send_login_pdu(c, &out);
		l->answered = true;
		if (src)
			return src;
	}
	if (rc == LOGIN_CONTINUE)
		return 0;
	if (rc == LOGIN_FAILED) {
		uint16_t st = login_tgt_status(l->sm);

		/* Authentication failures (a wrong CHAP secret, a response
		 * or algorithm refused) are counted per address: guessing a
		 * secret is what the hold slows down (login_fails). */
		if (st == LOGIN_STATUS_AUTH_FAILED)
			login_fail_note(c, true, c->th->g->now_ms);

		log_info("conn %s: login of %s failed: %s (0x%04x)", c->peer,
		         l->initiator[0] ? l->initiator : "(unnamed initiator)",
		         login_status_name(st), st);
		/* RFC 7143 11.13.5: the target closes after a failed login. */
		c->state = TGT_CONN_LOGOUT;
		if (!c->sends_in_flight)
			tgt_conn_close(c, NULL);
		return PDU_RX_STOP;
	}
	/* LOGIN_DONE */
	info = login_tgt_info(l->sm);
	c->sess = l->sess;
	l->sess = NULL;
	if (!c->sess) {
		tgt_conn_close(c, "login finished without a session");
		return PDU_RX_STOP;
	}
	login_fail_note(c, false, c->th->g->now_ms);
	c->cid = info->cid;
	c->statsn = info->statsn;
	c->sess->params = *login_tgt_params(l->sm);
	c->sess->exp_cmdsn = info->cmdsn;
	c->sess->max_cmdsn = info->max_cmdsn;
	apply_params(c, &c->sess->params);
	c->state = TGT_CONN_FFP;
	log_info("conn %s: %s session TSIH %u for %s%s%s, digests %s/%s, MRDSL %u/%u", c->peer,
	         c->sess->discovery ? "discovery" : "normal", c->sess->tsih, c->sess->initiator,
	         c->sess->discovery ? "" : " on ",
	         c->sess->discovery ? "" : c->sess->params.target_name,
	         c->digests & PDU_DIGEST_HEADER ? "CRC32C" : "None",
	         c->digests & PDU_DIGEST_DATA ? "CRC32C" : "None", c->max_recv_dsl,
	         c->max_send_dsl);
	tgt_login_free(c);
	return 0;
}
