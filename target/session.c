/*
 * Sessions: registry (TSIH, reinstatement), task pool, CmdSN window.
 */
#include "target/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/serial.h"
#include "target/conn.h"
#include "target/lu.h"

int tgt_session_new(struct tgt_daemon *d, struct tgt_thread *th, const uint8_t isid[6],
                    const char *initiator, struct tgt_session **out)
{
	struct tgt_session *s, *it;
	unsigned tries;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->th = th;
	memcpy(s->isid, isid, sizeof(s->isid));
	snprintf(s->initiator, sizeof(s->initiator), "%s", initiator);
	pthread_mutex_lock(&d->sess_lock);
	/* RFC 7143 11.12.5: TSIH 0 is reserved; pick one not in use. */
	for (tries = 0; tries < 65536; tries++) {
		uint16_t t = ++d->next_tsih;

		if (!t)
			continue;
		for (it = d->sessions; it; it = it->next)
			if (it->tsih == t)
				break;
		if (!it) {
			s->tsih = t;
			break;
		}
	}
	if (!s->tsih) {
		pthread_mutex_unlock(&d->sess_lock);
		free(s);
		return -EBUSY;
	}
	s->nexus = ++d->next_nexus;
	s->next = d->sessions;
	d->sessions = s;
	d->nsessions++;
	pthread_mutex_unlock(&d->sess_lock);
	*out = s;
	return 0;
}

bool tgt_session_find_isid(struct tgt_daemon *d, const char *initiator, const uint8_t isid[6],
                           const struct tgt_session *self, struct tgt_session **found)
{
	struct tgt_session *it;

	for (it = d->sessions; it; it = it->next) {
		if (it == self || it->discovery)
			continue;
		if (!memcmp(it->isid, isid, 6) && !strcasecmp(it->initiator, initiator)) {
			*found = it;
			return true;
		}
	}
	return false;
}

static void task_release_bufs(struct tgt_task *t)
{
	free(t->buf);
	free(t->iov);
	free(t->hdrs);
	free(t->ptx);
}

void tgt_session_free(struct tgt_session *s)
{
	struct tgt_daemon *d = s->d;
	struct tgt_session **pp;
	unsigned i;

	pthread_mutex_lock(&d->sess_lock);
	for (pp = &d->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			d->nsessions--;
			break;
		}
	}
	pthread_mutex_unlock(&d->sess_lock);
	if (s->target) {
		/* SAM-5: the I_T nexus ends with the session; its reservations
		 * and pending unit attentions go with it. */
		for (i = 0; i < s->target->nluns; i++)
			tgt_lu_nexus_gone(s->target->luns[i].lu, s->nexus);
		atomic_fetch_sub(&s->target->sessions, 1);
	}
	for (i = 0; i < s->npool; i++)
		task_release_bufs(&s->pool[i]);
	free(s->pool);
	free(s->hash);
	free(s->consumed);
	free(s);
}

/* REPORT LUNS (SPC-5 6.33) lists the LUNs of the session's target. */
static size_t session_lun_list(void *arg, uint64_t *luns, size_t max)
{
	const struct tgt_target *t = arg;
	size_t i;

	for (i = 0; i < t->nluns && i < max; i++)
		luns[i] = t->luns[i].lun;
	return t->nluns;
}

void tgt_session_set_target(struct tgt_session *s, struct tgt_target *t)
{
	s->target = t;
	s->port.target_name = t->name;
	s->port.tpgt = t->tpgt;
	s->port.rel_port_id = 1;
	/* Persistent reservations key registrations by the initiator port,
	 * so they outlive the session as SPC-5 5.14.7 asks. */
	snprintf(s->iport, sizeof(s->iport), "%s,i,0x%02x%02x%02x%02x%02x%02x", s->initiator,
	         s->isid[0], s->isid[1], s->isid[2], s->isid[3], s->isid[4], s->isid[5]);
	s->port.initiator_port = s->iport;
	s->port.lun_list = session_lun_list;
	s->port.lun_list_arg = t;
}

int tgt_session_start(struct tgt_session *s, unsigned queue_depth)
{
	unsigned i;

	s->queue_depth = queue_depth;
	s->npool = queue_depth + TGT_TASK_EXTRA;
	s->pool = calloc(s->npool, sizeof(*s->pool));
	s->hash = calloc(TGT_TASK_HASH, sizeof(*s->hash));
	/* The window ahead of ExpCmdSN never holds more than queue_depth
	 * numbers (tgt_session_max_cmdsn). */
	s->consumed_cap = queue_depth;
	s->consumed = calloc(s->consumed_cap, sizeof(*s->consumed));
	if (!s->pool || !s->hash || !s->consumed)
		return -ENOMEM;
	if (!s->buf_budget)
		s->buf_budget = TGT_SESSION_BUF_BUDGET;
	for (i = s->npool; i-- > 0;) {
		s->pool[i].sess = s;
		s->pool[i].next = s->free_tasks;
		s->free_tasks = &s->pool[i];
	}
	s->max_cmdsn = s->exp_cmdsn + queue_depth - 1;
	return 0;
}

struct tgt_task *tgt_task_get(struct tgt_session *s)
{
	struct tgt_task *t = s->free_tasks;

	if (!t)
		return NULL;
	s->free_tasks = t->next;
	t->next = NULL;
	t->hnext = NULL;
	t->state = TGT_TASK_PENDING;
	t->immediate = false;
	t->aborted = false;
	t->in_window = false;
	t->lun = NULL;
	t->data_len = 0;
	t->received = 0;
	t->r2t_out = 0;
	t->r2t_sn = 0;
	t->r2t_offset = 0;
	t->unsol_limit = 0;
	t->unsol_open = false;
	t->write_len = 0;
	t->digest_error = false;
	t->datasn_expect = 0;
	t->status = 0;
	t->sense_len = 0;
	t->ttt = ISCSI_RESERVED_TAG;
	t->hashed = false;
	t->refused = false;
	t->r2t_base = 0;
	s->nbusy++;
	return t;
}

void tgt_task_put(struct tgt_task *t)
{
	struct tgt_session *s = t->sess;

	if (t->hashed)
		tgt_task_hash_del(t);
	if (t->in_window) {
		s->in_window--;
		t->in_window = false;
	}
	t->state = TGT_TASK_FREE;
	/* A buffer sized for one big command is not kept for the task's next
	 * life: the pool would end up holding the largest EDTL ever seen,
	 * times the queue depth. */
	if (t->buf_cap > TGT_TASK_BUF_KEEP) {
		s->buf_bytes -= t->buf_cap;
		free(t->buf);
		t->buf = NULL;
		t->buf_cap = 0;
	}
	t->next = s->free_tasks;
	s->free_tasks = t;
	s->nbusy--;
}

static unsigned itt_bucket(uint32_t itt)
{
	/* ITTs are often sequential or pointer-like: mix the bits. */
	return (itt * 2654435761u) >> 24 & (TGT_TASK_HASH - 1);
}

struct tgt_task *tgt_task_find(struct tgt_session *s, uint32_t itt)
{
	struct tgt_task *t;

	for (t = s->hash[itt_bucket(itt)]; t; t = t->hnext)
		if (t->itt == itt)
			return t;
	return NULL;
}

void tgt_task_hash_add(struct tgt_task *t)
{
	unsigned b = itt_bucket(t->itt);

	t->hnext = t->sess->hash[b];
	t->sess->hash[b] = t;
	t->hashed = true;
}

void tgt_task_hash_del(struct tgt_task *t)
{
	struct tgt_task **pp;

	for (pp = &t->sess->hash[itt_bucket(t->itt)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	}
	t->hashed = false;
}

int tgt_task_reserve(struct tgt_task *t, uint32_t len)
{
	uint8_t *nb;
	uint32_t cap;

	if (len <= t->buf_cap)
		return 0;
	/* Round up so a workload of mixed sizes settles after a few commands. */
	cap = len < 4096 ? 4096 : len;
	if (cap & (cap - 1) && cap < (1u << 31)) {
		uint32_t p = 4096;

		while (p < cap)
			p <<= 1;
		cap = p;
	}
	if (t->sess->buf_bytes - t->buf_cap + cap > t->sess->buf_budget)
		return -ENOBUFS;
	nb = NULL;
	/* Page aligned: the file store may use O_DIRECT on it. */
	if (posix_memalign((void **)&nb, 4096, cap))
		return -ENOMEM;
	t->sess->buf_bytes -= t->buf_cap;
	free(t->buf);
	t->buf = nb;
	t->buf_cap = cap;
	t->sess->buf_bytes += cap;
	return 0;
}

static int consumed_index(const struct tgt_session *s, uint32_t cmdsn)
{
	unsigned i;

	for (i = 0; i < s->nconsumed; i++)
		if (s->consumed[i] == cmdsn)
			return (int)i;
	return -1;
}

bool tgt_session_cmdsn_is_consumed(const struct tgt_session *s, uint32_t cmdsn)
{
	return consumed_index(s, cmdsn) >= 0;
}

int tgt_session_cmdsn_consume(struct tgt_session *s, uint32_t cmdsn)
{
	if (consumed_index(s, cmdsn) >= 0)
		return 0;
	if (s->nconsumed >= s->consumed_cap) {
		/* Bounded: entries are distinct numbers in (ExpCmdSN, MaxCmdSN],
		 * and the window the login granted may exceed queue_depth (a
		 * discovery session has one task but the same window). */
		unsigned cap = s->consumed_cap ? 2 * s->consumed_cap : 16;
		uint32_t *n;

		if (s->nconsumed >= s->max_cmdsn - s->exp_cmdsn + 1)
			return -ENOSPC;
		n = realloc(s->consumed, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->consumed = n;
		s->consumed_cap = cap;
	}
	s->consumed[s->nconsumed++] = cmdsn;
	return 0;
}

bool tgt_session_cmdsn_unconsume(struct tgt_session *s, uint32_t cmdsn)
{
	int i = consumed_index(s, cmdsn);

	if (i < 0)
		return false;
	s->consumed[i] = s->consumed[--s->nconsumed];
	return true;
}

uint32_t tgt_session_max_cmdsn(struct tgt_session *s)
{
	unsigned used = s->in_window < s->queue_depth ? s->in_window : s->queue_depth;
	uint32_t m = s->exp_cmdsn + (s->queue_depth - used) - 1;

	/* The initiator ignores a smaller MaxCmdSN (RFC 7143 4.2.2.1), so a
	 * window once opened stays open: never report less. */
	if (serial_gt(m, s->max_cmdsn))
		s->max_cmdsn = m;
	return s->max_cmdsn;
}
