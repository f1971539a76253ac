/*
 * Control operations on a running xtgtd. See target/admin.h for the rules
 * that let reactor threads keep reading targets and LUNs without a lock.
 */
#include "target/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "target/conn.h"
#include "target/lu.h"
#include "target/portal.h"
#include "target/session.h"

/* What a reader may still hold: freed at exit. */
struct admin_retired {
	void **ptrs; /* arrays and strings */
	size_t nptrs, ptrs_cap;
	struct tgt_lu **lus; /* LUNs removed while sessions used their target */
	size_t nlus, lus_cap;
};

struct tgt_admin {
	struct admin_retired r;
	time_t started;
	char err[512];
	const char *code; /* machine-readable error class */
	char *save_path;  /* config.save: where to write after the lock */
};

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	void *p;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static void retire_ptr(struct tgt_admin *a, void *p)
{
	if (!p)
		return;
	if (grow((void **)&a->r.ptrs, &a->r.ptrs_cap, a->r.nptrs, sizeof(void *))) {
		/* Leaking is safe; freeing what a reader holds is not. */
		return;
	}
	a->r.ptrs[a->r.nptrs++] = p;
}

static void retire_lu(struct tgt_admin *a, struct tgt_lu *lu)
{
	if (grow((void **)&a->r.lus, &a->r.lus_cap, a->r.nlus, sizeof(*a->r.lus)))
		return;
	a->r.lus[a->r.nlus++] = lu;
}

int tgt_admin_init(struct tgt_daemon *d)
{
	d->admin = calloc(1, sizeof(*d->admin));
	if (!d->admin)
		return -ENOMEM;
	d->admin->started = time(NULL);
	return 0;
}

void tgt_admin_free(struct tgt_daemon *d)
{
	struct tgt_admin *a = d->admin;
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->r.nlus; i++)
		tgt_lu_close(a->r.lus[i]);
	for (i = 0; i < a->r.nptrs; i++)
		free(a->r.ptrs[i]);
	free(a->r.lus);
	free(a->r.ptrs);
	free(a->save_path);
	free(a);
	d->admin = NULL;
}

/* Errors: a message for people, a code for programs (xtgtadm --if-exists). */
#define ERR_INVALID  "invalid"
#define ERR_NOTFOUND "not_found"
#define ERR_EXISTS   "exists"
#define ERR_BUSY     "busy"
#define ERR_INTERNAL "internal"

__attribute__((format(printf, 3, 4))) static json_t *fail(struct tgt_admin *a, const char *code,
                                                          const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->err, sizeof(a->err), fmt, ap);
	va_end(ap);
	a->code = code;
	return NULL;
}

/* A string that the configuration file can hold as one token. */
static bool token_ok(const char *s, bool spaces)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s == '"' || *s == '\n' || *s == '\r' || (unsigned char)*s < 0x20)
			return false;
		if (!spaces && (*s == ' ' || *s == '\t' || *s == '#'))
			return false;
	}
	return true;
}

static const char *arg_str(json_t *args, const char *key)
{
	json_t *v = json_object_get(args, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool arg_bool(json_t *args, const char *key)
{
	return json_is_true(json_object_get(args, key));
}

/* Required string argument. */
static const char *need_str(struct tgt_admin *a, json_t *args, const char *key)
{
	const char *s = arg_str(args, key);

	if (!s || !*s)
		fail(a, ERR_INVALID, "missing string argument \"%s\"", key);
	return s && *s ? s : NULL;
}

static int arg_uint(struct tgt_admin *a, json_t *args, const char *key, long long max,
                    long long *out, bool required)
{
	json_t *v = json_object_get(args, key);

	if (!v) {
		if (required) {
			fail(a, ERR_INVALID, "missing number argument \"%s\"", key);
			return -EINVAL;
		}
		return 1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
		fail(a, ERR_INVALID, "argument \"%s\" must be a number from 0 to %lld", key, max);
		return -EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

static const char *auth_name(const struct tgt_target *t)
{
	if (!t->chap.user)
		return "none";
	return t->chap_mutual.user ? "mutual-chap" : "chap";
}

static struct tgt_target *find_target(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	const char *name = need_str(a, args, "target");
	struct tgt_target *t;

	if (!name)
		return NULL;
	t = tgt_target_find(d, name);
	if (!t)
		fail(a, ERR_NOTFOUND, "no target '%s'", name);
	return t;
}

/* Tell the threads to end every session of target t (or only the session
 * with tsih, when tsih is not 0). Each thread finds its connections again:
 * the session may end before the request runs. */
struct drop_req {
	struct tgt_thread *th;
	const struct tgt_target *t;
	uint16_t tsih;
};

static void drop_on_thread(void *arg)
{
	struct drop_req *r = arg;
	struct tgt_conn *c, *next;

	for (c = r->th->conns; c; c = next) {
		next = c->next;
		if (!c->sess || c->closing || c->sess->discovery)
			continue;
		if (r->tsih ? c->sess->tsih == r->tsih : c->sess->target == r->t)
			tgt_conn_close(c, r->tsih ? "session dropped by the administrator"
			                          : "target or LUN removed by the administrator");
	}
	free(r);
}

static unsigned drop_sessions(struct tgt_daemon *d, const struct tgt_target *t, uint16_t tsih)
{
	unsigned i, posted = 0;

	for (i = 0; i < d->nthreads; i++) {
		struct drop_req *r = calloc(1, sizeof(*r));

		if (!r)
			continue;
		r->th = &d->threads[i];
		r->t = t;
		r->tsih = tsih;
		if (xt_group_post(d->threads[i].g, drop_on_thread, r)) {
			free(r);
			continue;
		}
		posted++;
	}
	return posted;
}

/*
 * Work that must run on every reactor thread before the control thread goes
 * on (a listener is made or closed on its group's thread; a task table is
 * read by its thread only), or that keeps every reactor thread still while
 * the control thread changes what they read without a lock (a store that
 * moves, a LU's size): the RCU-like grace period, done by posting. These run
 * without objs_lock: a reactor thread waiting for that lock could not run
 * its posted work. The control thread is the only writer of the objects, so
 * it reads them without the lock too.
 */
struct thread_call;

struct call_slot {
	struct thread_call *call;
	struct tgt_thread *th;
};

struct thread_call {
	pthread_mutex_t m;
	pthread_cond_t cv;
	unsigned posted;  /* jobs queued */
	unsigned arrived; /* jobs that ran fn (and now wait, when parking) */
	unsigned left;    /* jobs finished */
	bool park;
	bool release;
	void (*fn)(struct tgt_thread *th, void *arg);
	void *arg;
	struct call_slot slots[];
};

static void call_on_thread(void *p)
{
	struct call_slot *sl = p;
	struct thread_call *c = sl->call;

	if (c->fn)
		c->fn(sl->th, c->arg);
	pthread_mutex_lock(&c->m);
	c->arrived++;
	pthread_cond_broadcast(&c->cv);
	while (c->park && !c->release)
		pthread_cond_wait(&c->cv, &c->m);
	c->left++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->m);
}

static void call_wait(struct thread_call *c, const unsigned *counter)
{
	struct timespec ts;
	int waited = 0;

	pthread_mutex_lock(&c->m);
	while (*counter < c->posted) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		if (pthread_cond_timedwait(&c->cv, &c->m, &ts) == ETIMEDOUT)
			log_warn("admin: waiting for %u reactor thread%s (%d s)",
			         c->posted - *counter, c->posted - *counter == 1 ? "" : "s",
			         waited += 5);
	}
	pthread_mutex_unlock(&c->m);
}

/* Post fn to every thread; with park, each then waits for threads_release().
 * Returns when every thread has run fn. NULL on ENOMEM (nothing waits). */
static struct thread_call *threads_call(struct tgt_daemon *d,
                                        void (*fn)(struct tgt_thread *th, void *arg), void *arg,
                                        bool park, bool *all)
{
	struct thread_call *c = calloc(1, sizeof(*c) + d->nthreads * sizeof(c->slots[0]));
	unsigned i;

	*all = false;
	if (!c)
		return NULL;
	pthread_mutex_init(&c->m, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->fn = fn;
	c->arg = arg;
	c->park = park;
	for (i = 0; i < d->nthreads; i++) {
		c->slots[i] = (struct call_slot){.call = c, .th = &d->threads[i]};
		pthread_mutex_lock(&c->m);
		c->posted++;
		pthread_mutex_unlock(&c->m);
		if (xt_group_post(d->threads[i].g, call_on_thread, &c->slots[i])) {
			pthread_mutex_lock(&c->m);
			c->posted--;
			pthread_mutex_unlock(&c->m);
		}
	}
	*all = c->posted == d->nthreads;
	call_wait(c, &c->arrived);
	return c;
}

static void threads_release(struct thread_call *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->m);
	c->release = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->m);
	call_wait(c, &c->left);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->m);
	free(c);
}

/* Run fn on every thread and wait; -ENOMEM when a thread could not be
 * reached (fn ran on the others). */
static int threads_run(struct tgt_daemon *d, void (*fn)(struct tgt_thread *th, void *arg),
                       void *arg)
{
	bool all;
	struct thread_call *c = threads_call(d, fn, arg, false, &all);

	if (!c)
		return -ENOMEM;
	threads_release(c);
	return all ? 0 : -ENOMEM;
}

static json_t *target_json(const struct tgt_target *t)
{
	json_t *o = json_object(), *luns = json_array(), *acl = json_array();
	char names[64];
	size_t i;

	for (i = 0; i < t->nluns; i++) {
		const struct tgt_lun *l = &t->luns[i];

		json_array_append_new(
		        luns,
		        json_pack("{s:I,s:s,s:I,s:I,s:b,s:b}", "lun", (json_int_t)l->lun, "spec",
		                  l->spec, "size", (json_int_t)(l->lu->nblocks * l->lu->block_size),
		                  "block_size", (json_int_t)l->lu->block_size, "readonly",
		                  l->lu->readonly, "offline", atomic_load(&l->lu->offline)));
	}
	for (i = 0; i < t->nacl; i++)
		json_array_append_new(acl, json_string(t->acl[i]));
	json_object_set_new(o, "name", json_string(t->name));
	json_object_set_new(o, "alias", t->alias ? json_string(t->alias) : json_null());
	json_object_set_new(o, "tpgt", json_integer(t->tpgt));
	json_object_set_new(o, "luns", luns);
	json_object_set_new(o, "acl", acl);
	json_object_set_new(o, "auth", json_string(auth_name(t)));
	json_object_set_new(o, "chap_user", t->chap.user ? json_string(t->chap.user) : json_null());
	tgt_config_chap_alg_names(t->chap.algs ? t->chap.algs : "5,6,7,8", names, sizeof(names));
	json_object_set_new(o, "chap_algorithms", json_string(names));
	json_object_set_new(o, "sessions", json_integer(atomic_load(&t->sessions)));
	return o;
}

static json_t *cmd_target_list(struct tgt_daemon *d, json_t *args)
{
	json_t *arr = json_array();
	size_t i;

	(void)args;
	for (i = 0; i < d->ntargets; i++)
		if (!d->targets[i].removed)
			json_array_append_new(arr, target_json(&d->targets[i]));
	return arr;
}

/* Free what a removed target slot still holds before it is reused; no
 * session refers to it (sessions == 0). */
static void slot_clear(struct tgt_target *t)
{
	size_t j;

	for (j = 0; j < t->nluns; j++) {
		tgt_lu_close(t->luns[j].lu);
		free(t->luns[j].spec);
	}
	for (j = 0; j < t->nacl; j++)
		free(t->acl[j]);
	free(t->acl);
	free(t->luns);
	free(t->name);
	free(t->alias);
	free(t->chap.user);
	free(t->chap.secret);
	free(t->chap_mutual.user);
	free(t->chap_mutual.secret);
	free(t->chap.algs);
	free(t->chap_mutual.algs);
	memset(t, 0, sizeof(*t));
}

static json_t *cmd_target_add(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	const char *name = need_str(a, args, "target");
	const char *alias = arg_str(args, "alias");
	long long tpgt = TGT_TPGT_DEFAULT;
	struct tgt_target *t;
	bool tpgt_given;
	size_t i;
	int rc;

	if (!name)
		return NULL;
	rc = arg_uint(a, args, "tpgt", 65535, &tpgt, false);
	if (rc < 0)
		return NULL;
	tpgt_given = rc == 0;
	if (tpgt == 0)
		return fail(a, ERR_INVALID, "tpgt must be from 1 to 65535");
	if (strlen(name) > TGT_NAME_MAX || !token_ok(name, false) ||
	    (strncasecmp(name, "iqn.", 4) && strncasecmp(name, "eui.", 4) &&
	     strncasecmp(name, "naa.", 4)))
		return fail(a, ERR_INVALID,
		            "'%s' is not an iSCSI name (iqn., eui. or naa., at most %d bytes)",
		            name, TGT_NAME_MAX);
	if (alias && (strlen(alias) > 255 || !token_ok(alias, true)))
		return fail(a, ERR_INVALID, "bad alias (1 to 255 characters, no quotes)");
	t = tgt_target_find(d, name);
	if (t) {
		bool same = (!tpgt_given || t->tpgt == tpgt) &&
		            (!alias || (t->alias && !strcmp(alias, t->alias)));

		if (!same)
			return fail(a, ERR_EXISTS, "target '%s' exists with other settings", name);
		return json_pack("{s:s,s:b}", "target", t->name, "created", 0);
	}
	/* A removed slot nobody refers to any more, or a new one. */
	for (i = 0; i < d->ntargets; i++)
		if (d->targets[i].removed && atomic_load(&d->targets[i].sessions) == 0)
			break;
	if (i == d->ntargets && d->ntargets == TGT_TARGETS_MAX)
		return fail(a, ERR_BUSY, "too many targets (at most %d)", TGT_TARGETS_MAX);
	t = &d->targets[i];
	if (i < d->ntargets)
		slot_clear(t);
	t->name = strdup(name);
	t->alias = alias ? strdup(alias) : NULL;
	t->tpgt = (uint16_t)tpgt;
	t->luns_cap = 1;
	t->luns = calloc(1, sizeof(*t->luns));
	t->acl = calloc(1, sizeof(*t->acl));
	if (!t->name || !t->luns || !t->acl || (alias && !t->alias)) {
		slot_clear(t);
		t->removed = true;
		if (i == d->ntargets)
			d->ntargets++;
		return fail(a, ERR_INTERNAL, "out of memory");
	}
	if (i == d->ntargets)
		d->ntargets++;
	log_info("admin: target %s added", name);
	return json_pack("{s:s,s:b}", "target", t->name, "created", 1);
}

static json_t *cmd_target_remove(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	struct tgt_target *t = find_target(d, args);
	unsigned n;
	size_t j;

	if (!t)
		return NULL;
	n = atomic_load(&t->sessions);
	if (n && !arg_bool(args, "force"))
		return fail(a, ERR_BUSY, "target '%s' has %u session%s; force drops %s", t->name, n,
		            n == 1 ? "" : "s", n == 1 ? "it" : "them");
	t->removed = true;
	if (n) {
		/* The sessions end on their threads; the LUNs stay open in the
		 * slot until it is reused with no session left, or at exit. */
		drop_sessions(d, t, 0);
	} else {
		for (j = 0; j < t->nluns; j++) {
			tgt_lu_close(t->luns[j].lu);
			free(t->luns[j].spec);
		}
		t->nluns = 0;
	}
	log_info("admin: target %s removed%s", t->name, n ? ", its sessions dropped" : "");
	return json_pack("{s:s,s:i}", "target", t->name, "sessions_dropped", n);
}

static json_t *cmd_lun_list(struct tgt_daemon *d, json_t *args)
{
	struct tgt_target *t = find_target(d, args);
	json_t *o, *l;

	if (!t)
		return NULL;
	o = target_json(t);
	l = json_incref(json_object_get(o, "luns"));
	json_decref(o);
	return l;
}

/* Replace t's LUN array by one with entry (number, spec, lu) added, or with
 * number removed (lu NULL). Publication order: see tgt_target_lun(). */
static int luns_replace(struct tgt_admin *a, struct tgt_target *t, uint32_t number, char *spec,
                        struct tgt_lu *lu)
{
	size_t n = t->nluns, cap, i, k = 0;
	struct tgt_lun *nl, *old = t->luns;

	cap = lu ? n + 1 : n;
	if (cap < t->luns_cap)
		cap = t->luns_cap;
	nl = calloc(cap ? cap : 1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (lu && k == i && t->luns[i].lun > number) {
			nl[k++] = (struct tgt_lun){.lun = number, .spec = spec, .lu = lu};
		}
		if (!lu && t->luns[i].lun == number)
			continue;
		nl[k++] = t->luns[i];
	}
	if (lu && k == n)
		nl[k++] = (struct tgt_lun){.lun = number, .spec = spec, .lu = lu};
	/* Slots past the count: copies of the last entry, so that a reader with
	 * the old, larger count finds valid LUs there. */
	for (i = k; i < cap && k; i++)
		nl[i] = nl[k - 1];
	t->luns_cap = cap;
	if (lu) {
		__atomic_store_n(&t->luns, nl, __ATOMIC_RELEASE);
		__atomic_store_n(&t->nluns, k, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&t->nluns, k, __ATOMIC_RELEASE);
		__atomic_store_n(&t->luns, nl, __ATOMIC_RELEASE);
	}
	retire_ptr(a, old);
	return 0;
}

/* SPC-5 6.33 / SAM-5 5.14: REPORTED LUNS DATA HAS CHANGED on every LUN of
 * the target, so that initiators rescan. */
static void luns_changed(struct tgt_target *t)
{
	size_t i;

	for (i = 0; i < t->nluns; i++)
		tgt_lu_ua_raise(t->luns[i].lu, TGT_UA_LUNS_CHANGED, UINT64_MAX);
}

static json_t *cmd_lun_add(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	struct tgt_target *t;
	const char *spec_s = need_str(a, args, "spec");
	long long number;
	struct tgt_lu_spec spec;
	struct tgt_lu *lu = NULL;
	struct tgt_lun *have = NULL;
	char why[256] = "", *spec_copy;
	size_t i;
	int rc;

	if (!spec_s)
		return NULL;
	if (arg_uint(a, args, "lun", TGT_LUN_MAX, &number, true))
		return NULL;
	if (!token_ok(spec_s, false))
		return fail(a, ERR_INVALID, "LUN spec must be one word without quotes");
	rc = tgt_lu_spec_parse(spec_s, &spec, why, sizeof(why));
	if (rc)
		return fail(a, ERR_INVALID, "LUN spec '%s': %s", spec_s, why);
	t = find_target(d, args);
	if (!t)
		return NULL;
	for (i = 0; i < t->nluns; i++)
		if (t->luns[i].lun == (uint64_t)number)
			have = &t->luns[i];
	if (have) {
		if (strcmp(have->spec, spec_s))
			return fail(a, ERR_EXISTS, "target '%s' has LUN %lld already, as '%s'",
			            t->name, number, have->spec);
		return json_pack("{s:s,s:I,s:b}", "target", t->name, "lun", (json_int_t)number,
		                 "created", 0);
	}
	rc = tgt_lu_open(&lu, &spec, t->name, (uint64_t)number, why, sizeof(why));
	if (rc)
		return fail(a, ERR_INVALID, "LUN %lld (%s): %s", number, spec_s,
		            *why ? why : strerror(-rc));
	spec_copy = strdup(spec_s);
	if (!spec_copy || luns_replace(a, t, (uint32_t)number, spec_copy, lu)) {
		free(spec_copy);
		tgt_lu_close(lu);
		return fail(a, ERR_INTERNAL, "out of memory");
	}
	luns_changed(t);
	log_info("admin: target %s LUN %lld added (%s)", t->name, number, spec_s);
	return json_pack("{s:s,s:I,s:b}", "target", t->name, "lun", (json_int_t)number, "created",
	                 1);
}

static json_t *cmd_lun_remove(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	struct tgt_target *t;
	struct tgt_lun gone = {0};
	long long number;
	unsigned n;
	size_t i;
	bool found = false;

	if (arg_uint(a, args, "lun", TGT_LUN_MAX, &number, true))
		return NULL;
	t = find_target(d, args);
	if (!t)
		return NULL;
	for (i = 0; i < t->nluns; i++)
		if (t->luns[i].lun == (uint64_t)number) {
			gone = t->luns[i];
			found = true;
		}
	if (!found)
		return fail(a, ERR_NOTFOUND, "target '%s' has no LUN %lld", t->name, number);
	n = atomic_load(&t->sessions);
	if (n && !arg_bool(args, "force"))
		return fail(a, ERR_BUSY,
		            "LUN %lld of '%s' is in use by %u session%s; force drops %s", number,
		            t->name, n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
	if (luns_replace(a, t, (uint32_t)number, NULL, NULL))
		return fail(a, ERR_INTERNAL, "out of memory");
	if (n) {
		/* Tasks in flight may still point at the LU: close it at exit. */
		drop_sessions(d, t, 0);
		retire_lu(a, gone.lu);
		retire_ptr(a, gone.spec);
	} else {
		tgt_lu_close(gone.lu);
		retire_ptr(a, gone.spec);
	}
	luns_changed(t);
	log_info("admin: target %s LUN %lld removed", t->name, number);
	return json_pack("{s:s,s:I,s:i}", "target", t->name, "lun", (json_int_t)number,
	                 "sessions_dropped", n);
}

/* The LUN entry args name ("target", "lun"); NULL after fail(). */
static struct tgt_lun *find_lun(struct tgt_daemon *d, json_t *args, struct tgt_target **tout)
{
	struct tgt_admin *a = d->admin;
	struct tgt_target *t;
	long long number;
	size_t i;

	if (arg_uint(a, args, "lun", TGT_LUN_MAX, &number, true))
		return NULL;
	t = find_target(d, args);
	if (!t)
		return NULL;
	*tout = t;
	for (i = 0; i < t->nluns; i++)
		if (t->luns[i].lun == (uint64_t)number)
			return &t->luns[i];
	fail(a, ERR_NOTFOUND, "target '%s' has no LUN %lld", t->name, number);
	return NULL;
}

/* A size as people write it: the largest unit (K, M, G, T) that divides it. */
static void size_text(uint64_t size, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && !(size & ((1ull << (10 * (u + 2))) - 1)))
		u++;
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)size);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)(size >> (10 * (u + 1))),
		         units[u]);
}

/* The spec with its size replaced (ram:SIZE, null:SIZE) or set (file:
 * size=SIZE, when it had one), so that a restart opens the new size.
 * Other options stay as written. */
static char *spec_with_size(const char *spec, enum tgt_bs_type type, uint64_t size)
{
	const char *arg = strchr(spec, ':') + 1, *rest = arg + strcspn(arg, ","), *opt;
	size_t cap = strlen(spec) + 64, len;
	char num[32], *out;

	size_text(size, num, sizeof(num));
	out = malloc(cap);
	if (!out)
		return NULL;
	if (type != TGT_BS_FILE) {
		snprintf(out, cap, "%.*s%s%s", (int)(arg - spec), spec, num, rest);
		return out;
	}
	/* file:PATH[,opt]...: size= replaced where it is. */
	len = (size_t)snprintf(out, cap, "%.*s", (int)(rest - spec), spec);
	for (opt = rest; *opt == ',' && len < cap;) {
		size_t n = strcspn(opt + 1, ",");

		if (n >= 5 && !strncmp(opt + 1, "size=", 5))
			len += (size_t)snprintf(out + len, cap - len, ",size=%s", num);
		else
			len += (size_t)snprintf(out + len, cap - len, ",%.*s", (int)n, opt + 1);
		opt += n + 1;
	}
	return out;
}

static int arg_size(struct tgt_admin *a, json_t *args, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(args, key);

	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && !tgt_config_parse_size(json_string_value(v), out) && *out)
		return 0;
	fail(a, ERR_INVALID, "argument \"%s\" must be a size in bytes, or with K, M, G, T", key);
	return -EINVAL;
}

struct resize_job {
	struct tgt_lu *lu;
	const struct tgt_lu_spec *spec;
	uint64_t size;
	int rc;
	char why[256];
};

static json_t *cmd_lun_resize(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	struct tgt_target *t = NULL;
	struct tgt_lun *l = find_lun(d, args, &t);
	struct tgt_lu_spec spec;
	struct thread_call *park;
	uint64_t size, old;
	char why[256] = "", *nspec;
	bool all;
	int rc;

	if (!l || arg_size(a, args, "size", &size))
		return NULL;
	if (tgt_lu_spec_parse(l->spec, &spec, why, sizeof(why)))
		return fail(a, ERR_INTERNAL, "LUN spec '%s': %s", l->spec, why);
	old = l->lu->nblocks << l->lu->block_shift;
	if (size % l->lu->block_size)
		return fail(a, ERR_INVALID, "size %llu is not a multiple of the %u-byte block",
		            (unsigned long long)size, l->lu->block_size);
	/* Data past a new end would be lost while initiators may still hold
	 * it in their caches and file systems: shrinking is for remove+add. */
	if (size < old)
		return fail(a, ERR_INVALID,
		            "LUN %llu of '%s' has %llu bytes; shrinking is refused (remove and "
		            "add the LUN to start smaller)",
		            (unsigned long long)l->lun, t->name, (unsigned long long)old);
	if (l->lu->readonly)
		return fail(a, ERR_INVALID, "LUN %llu of '%s' is read-only",
		            (unsigned long long)l->lun, t->name);
	if (size == old)
		return json_pack("{s:s,s:I,s:I,s:b}", "target", t->name, "lun", (json_int_t)l->lun,
		                 "size", (json_int_t)size, "changed", 0);
	nspec = spec_with_size(l->spec, spec.type, size);
	if (!nspec)
		return fail(a, ERR_INTERNAL, "out of memory");
	rc = tgt_lu_resize_prepare(l->lu, &spec, size, why, sizeof(why));
	if (rc) {
		free(nspec);
		return fail(a, rc == -ENOTSUP ? ERR_INVALID : ERR_INTERNAL, "LUN %llu: %s",
		            (unsigned long long)l->lun, why);
	}
	/* Every reactor thread waits while the store and the LBA range
	 * change: none is inside a read or write of this LU meanwhile (a
	 * store that completes later touches its file, not the mapping). */
	park = threads_call(d, NULL, NULL, true, &all);
	if (!park) {
		free(nspec);
		return fail(a, ERR_INTERNAL, "out of memory");
	}
	rc = all ? tgt_lu_resize(l->lu, &spec, size, why, sizeof(why)) : -ENOMEM;
	threads_release(park);
	if (rc) {
		free(nspec);
		return fail(a, rc == -EBUSY ? ERR_BUSY : ERR_INVALID, "LUN %llu: %s",
		            (unsigned long long)l->lun, *why ? why : strerror(-rc));
	}
	pthread_rwlock_wrlock(&d->objs_lock);
	retire_ptr(a, l->spec);
	l->spec = nspec;
	pthread_rwlock_unlock(&d->objs_lock);
	log_info("admin: target %s LUN %llu resized from %llu to %llu bytes", t->name,
	         (unsigned long long)l->lun, (unsigned long long)old, (unsigned long long)size);
	return json_pack("{s:s,s:I,s:I,s:b}", "target", t->name, "lun", (json_int_t)l->lun, "size",
	                 (json_int_t)size, "changed", 1);
}

/* Commands of one LU in the SCSI layer on a thread (counted there: only
 * that thread touches its task tables). */
struct inflight_job {
	struct tgt_lu *lu;
	_Atomic unsigned n;
};

static void count_on_thread(struct tgt_thread *th, void *arg)
{
	struct inflight_job *j = arg;
	struct tgt_conn *c;
	unsigned i, n = 0;

	for (c = th->conns; c; c = c->next) {
		struct tgt_session *s = c->sess;

		if (!s || s->discovery || !s->pool)
			continue;
		for (i = 0; i < s->npool; i++)
			if (s->pool[i].state == TGT_TASK_EXEC && s->pool[i].st.lu_ == j->lu)
				n++;
	}
	atomic_fetch_add(&j->n, n);
}

/* How long "lun offline" waits for the commands already in the SCSI layer. */
#define ADMIN_OFFLINE_WAIT_MS 30000

static json_t *cmd_lun_state(struct tgt_daemon *d, json_t *args, bool offline)
{
	struct tgt_admin *a = d->admin;
	struct tgt_target *t = NULL;
	struct tgt_lun *l = find_lun(d, args, &t);
	struct inflight_job j = {0};
	struct timespec ms = {0, 10 * 1000 * 1000};
	bool was;
	int waited;

	if (!l)
		return NULL;
	pthread_rwlock_wrlock(&d->objs_lock);
	was = atomic_exchange(&l->lu->offline, offline);
	pthread_rwlock_unlock(&d->objs_lock);
	if (!offline) {
		/* SPC-5 table 30: NOT READY TO READY CHANGE, MEDIUM MAY HAVE
		 * CHANGED, so initiators read the capacity and data again. */
		if (was)
			tgt_lu_ua_raise(l->lu, TGT_UA_MEDIUM_CHANGED, UINT64_MAX);
		log_info("admin: target %s LUN %llu online", t->name, (unsigned long long)l->lun);
		return json_pack("{s:s,s:I,s:b,s:b}", "target", t->name, "lun", (json_int_t)l->lun,
		                 "offline", 0, "changed", was);
	}
	/* Commands that passed the check before it was set finish first: the
	 * reply comes when none of this LU is left in the SCSI layer. */
	j.lu = l->lu;
	for (waited = 0;; waited += 10) {
		atomic_store(&j.n, 0);
		if (threads_run(d, count_on_thread, &j))
			return fail(a, ERR_INTERNAL, "out of memory");
		if (!atomic_load(&j.n) || waited >= ADMIN_OFFLINE_WAIT_MS)
			break;
		nanosleep(&ms, NULL);
	}
	log_info("admin: target %s LUN %llu offline%s", t->name, (unsigned long long)l->lun,
	         atomic_load(&j.n) ? " (commands still in flight)" : "");
	return json_pack("{s:s,s:I,s:b,s:b,s:I}", "target", t->name, "lun", (json_int_t)l->lun,
	                 "offline", 1, "changed", !was, "in_flight", (json_int_t)atomic_load(&j.n));
}

static json_t *cmd_lun_offline(struct tgt_daemon *d, json_t *args)
{
	return cmd_lun_state(d, args, true);
}

static json_t *cmd_lun_online(struct tgt_daemon *d, json_t *args)
{
	return cmd_lun_state(d, args, false);
}

static json_t *cmd_acl_list(struct tgt_daemon *d, json_t *args)
{
	struct tgt_target *t = find_target(d, args);
	json_t *arr;
	size_t i;

	if (!t)
		return NULL;
	arr = json_array();
	for (i = 0; i < t->nacl; i++)
		json_array_append_new(arr, json_string(t->acl[i]));
	return arr;
}

static json_t *cmd_acl_add(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	struct tgt_target *t;
	const char *ini = need_str(a, args, "initiator");
	char **nacl, *copy;
	size_t i;

	if (!ini)
		return NULL;
	if (strlen(ini) > TGT_NAME_MAX || !token_ok(ini, false))
		return fail(a, ERR_INVALID, "'%s' is not an initiator name", ini);
	t = find_target(d, args);
	if (!t)
		return NULL;
	for (i = 0; i < t->nacl; i++)
		if (!strcasecmp(t->acl[i], ini))
			return json_pack("{s:s,s:s,s:b}", "target", t->name, "initiator", ini,
			                 "created", 0);
	/* Readers hold objs_lock: the array may be replaced in place. */
	nacl = realloc(t->acl, (t->nacl + 1) * sizeof(*nacl));
	copy = strdup(ini);
	if (!nacl || !copy) {
		if (nacl)
			t->acl = nacl;
		free(copy);
		return fail(a, ERR_INTERNAL, "out of memory");
	}
	t->acl = nacl;
	t->acl[t->nacl++] = copy;
	log_info("admin: target %s: initiator %s allowed%s", t->name, ini,
	         t->nacl == 1 ? " (the target is no longer open to all)" : "");
	return json_pack("{s:s,s:s,s:b}", "target", t->name, "initiator", ini, "created", 1);
}

static json_t *cmd_acl_remove(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	struct tgt_target *t;
	const char *ini = need_str(a, args, "initiator");
	size_t i;

	if (!ini)
		return NULL;
	t = find_target(d, args);
	if (!t)
		return NULL;
	for (i = 0; i < t->nacl; i++) {
		if (strcasecmp(t->acl[i], ini))
			continue;
		free(t->acl[i]);
		memmove(&t->acl[i], &t->acl[i + 1], (t->nacl - i - 1) * sizeof(*t->acl));
		t->nacl--;
		log_info("admin: target %s: initiator %s removed from the ACL%s", t->name, ini,
		         t->nacl ? "" : " (the target is open to all now)");
		return json_pack("{s:s,s:s,s:i}", "target", t->name, "initiator", ini, "remaining",
		                 (int)t->nacl);
	}
	return fail(a, ERR_NOTFOUND, "initiator '%s' is not in the ACL of '%s'", ini, t->name);
}

/* Replace a CHAP pair. The discovery pair is read by logins without the
 * lock: its old strings are retired, not freed. */
static int chap_replace(struct tgt_admin *a, struct tgt_cfg_chap *c, const char *user,
                        const char *secret, bool retire)
{
	char *u = user ? strdup(user) : NULL, *s = secret ? strdup(secret) : NULL;

	if ((user && !u) || (secret && !s)) {
		free(u);
		free(s);
		return -ENOMEM;
	}
	if (retire) {
		retire_ptr(a, c->user);
		retire_ptr(a, c->secret);
	} else {
		if (c->secret)
			explicit_bzero(c->secret, strlen(c->secret));
		free(c->user);
		free(c->secret);
	}
	c->user = u;
	c->secret = s;
	return 0;
}

static bool chap_arg_ok(struct tgt_admin *a, const char *user, const char *secret, const char *what)
{
	size_t n;

	if (!user || !secret) {
		fail(a, ERR_INVALID, "%s needs a user and a secret", what);
		return false;
	}
	n = strlen(secret);
	if (!token_ok(user, false) || strlen(user) > 255) {
		fail(a, ERR_INVALID, "%s user name must be one word without quotes", what);
		return false;
	}
	/* RFC 7143 9.2.1: secrets of at least 96 bits (12 bytes). */
	if (n < TGT_CHAP_SECRET_MIN || n > TGT_CHAP_SECRET_MAX || !token_ok(secret, true)) {
		fail(a, ERR_INVALID, "%s secret must be %d to %d characters, without quotes", what,
		     TGT_CHAP_SECRET_MIN, TGT_CHAP_SECRET_MAX);
		return false;
	}
	return true;
}

static json_t *cmd_auth_set(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	const char *method = need_str(a, args, "method");
	const char *tname = arg_str(args, "target");
	const char *user = arg_str(args, "user"), *secret = arg_str(args, "secret");
	const char *muser = arg_str(args, "mutual_user"), *msecret = arg_str(args, "mutual_secret");
	const char *algs_s = arg_str(args, "algorithms");
	bool discovery = !tname || !strcmp(tname, "discovery");
	struct tgt_target *t = NULL;
	struct tgt_cfg_chap *c;
	char *algs = NULL, names[64];
	bool chap;

	if (!method)
		return NULL;
	if (!strcmp(method, "none"))
		chap = false;
	else if (!strcmp(method, "chap"))
		chap = true;
	else
		return fail(a, ERR_INVALID, "auth method must be none or chap, not '%s'", method);
	if (chap && !chap_arg_ok(a, user, secret, "chap"))
		return NULL;
	if (chap && (muser || msecret) && !chap_arg_ok(a, muser, msecret, "mutual chap"))
		return NULL;
	if (discovery && (muser || msecret))
		return fail(a, ERR_INVALID, "discovery takes one-way CHAP only");
	if (algs_s && !chap)
		return fail(a, ERR_INVALID, "algorithms go with chap, not with none");
	if (algs_s) {
		int rc = tgt_config_parse_chap_algs(algs_s, &algs);

		if (rc == -ENOMEM)
			return fail(a, ERR_INTERNAL, "out of memory");
		if (rc)
			return fail(a, ERR_INVALID,
			            "bad CHAP algorithm list '%s' (md5, sha1, sha256, sha3-256, "
			            "comma separated)",
			            algs_s);
	}
	if (!discovery) {
		t = find_target(d, args);
		if (!t) {
			free(algs);
			return NULL;
		}
	}
	if (discovery) {
		if (chap_replace(a, &d->cfg->discovery_chap, chap ? user : NULL,
		                 chap ? secret : NULL, true)) {
			free(algs);
			return fail(a, ERR_INTERNAL, "out of memory");
		}
	} else if (chap_replace(a, &t->chap, chap ? user : NULL, chap ? secret : NULL, false) ||
	           chap_replace(a, &t->chap_mutual, chap ? muser : NULL, chap ? msecret : NULL,
	                        false)) {
		free(algs);
		return fail(a, ERR_INTERNAL, "out of memory");
	}
	/* The accepted CHAP_A list: what was given, else all four. Logins read
	 * it under the read lock; an old list is retired, not freed. */
	c = discovery ? &d->cfg->discovery_chap : &t->chap;
	retire_ptr(a, c->algs);
	c->algs = algs;
	tgt_config_chap_alg_names(algs ? algs : "5,6,7,8", names, sizeof(names));
	log_info("admin: %s%s: authentication %s%s%s", discovery ? "discovery" : "target ",
	         discovery ? "" : t->name,
	         !chap   ? "none"
	         : muser ? "mutual CHAP"
	                 : "CHAP",
	         chap ? ", algorithms " : "", chap ? names : "");
	return json_pack("{s:s,s:s,s:s?}", "target", discovery ? "discovery" : t->name, "auth",
	                 !chap   ? "none"
	                 : muser ? "mutual-chap"
	                         : "chap",
	                 "algorithms", chap ? names : NULL);
}

static const char *digest_name(enum xi_digest dg)
{
	return dg == XI_DIGEST_CRC32C ? "CRC32C" : "None";
}

static json_t *cmd_session_list(struct tgt_daemon *d, json_t *args)
{
	json_t *arr = json_array();
	struct tgt_session *s;
	char isid[13];

	(void)args;
	pthread_mutex_lock(&d->sess_lock);
	/* A session's connection is freed after the session leaves this list
	 * (conn_free), so s->conn is valid here. Counters are the thread's,
	 * read without its knowledge: a snapshot, not a transaction. */
	for (s = d->sessions; s; s = s->next) {
		const struct xi_params *p = &s->params;
		json_t *params;

		snprintf(isid, sizeof(isid), "%02x%02x%02x%02x%02x%02x", s->isid[0], s->isid[1],
		         s->isid[2], s->isid[3], s->isid[4], s->isid[5]);
		params = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:b,s:b,s:I,s:I}", "HeaderDigest",
		                   digest_name(p->header_digest), "DataDigest",
		                   digest_name(p->data_digest), "MaxRecvDataSegmentLength",
		                   (json_int_t)p->max_recv_dsl, "MaxXmitDataSegmentLength",
		                   (json_int_t)p->max_send_dsl, "MaxBurstLength",
		                   (json_int_t)p->max_burst_length, "FirstBurstLength",
		                   (json_int_t)p->first_burst_length, "InitialR2T", p->initial_r2t,
		                   "ImmediateData", p->immediate_data, "MaxOutstandingR2T",
		                   (json_int_t)p->max_outstanding_r2t, "ErrorRecoveryLevel",
		                   (json_int_t)p->error_recovery_level);
		json_array_append_new(
		        arr, json_pack("{s:i,s:s,s:s,s:s,s:s?,s:b,s:i,s:I,s:I,s:I,s:I,s:o}", "tsih",
		                       s->tsih, "isid", isid, "initiator", s->initiator, "address",
		                       s->conn ? s->conn->peer : "", "target",
		                       s->target ? s->target->name : NULL, "discovery",
		                       s->discovery, "connections", s->conn ? 1 : 0, "in_flight",
		                       (json_int_t)s->nbusy, "commands", (json_int_t)s->cmds,
		                       "bytes_in", (json_int_t)s->bytes_in, "bytes_out",
		                       (json_int_t)s->bytes_out, "params", params));
	}
	pthread_mutex_unlock(&d->sess_lock);
	return arr;
}

static json_t *cmd_session_drop(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	struct tgt_session *s;
	long long tsih;
	struct tgt_thread *th = NULL;
	struct drop_req *r;

	if (arg_uint(a, args, "tsih", 65535, &tsih, true))
		return NULL;
	pthread_mutex_lock(&d->sess_lock);
	for (s = d->sessions; s; s = s->next)
		if (s->tsih == tsih)
			th = s->th;
	pthread_mutex_unlock(&d->sess_lock);
	if (!th)
		return fail(a, ERR_NOTFOUND, "no session with TSIH %lld", tsih);
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail(a, ERR_INTERNAL, "out of memory");
	r->th = th;
	r->tsih = (uint16_t)tsih;
	if (xt_group_post(th->g, drop_on_thread, r)) {
		free(r);
		return fail(a, ERR_INTERNAL, "cannot reach the session's thread");
	}
	log_info("admin: session TSIH %lld dropped", tsih);
	return json_pack("{s:I}", "tsih", (json_int_t)tsih);
}

static json_t *cmd_stats(struct tgt_daemon *d, json_t *args)
{
	struct tgt_session *s;
	uint64_t cmds = 0, in = 0, out = 0, busy = 0;
	unsigned nsess = 0, ndisc = 0;
	size_t i, ntargets = 0, nluns = 0;

	(void)args;
	for (i = 0; i < d->ntargets; i++) {
		if (d->targets[i].removed)
			continue;
		ntargets++;
		nluns += d->targets[i].nluns;
	}
	pthread_mutex_lock(&d->sess_lock);
	for (s = d->sessions; s; s = s->next) {
		if (s->discovery)
			ndisc++;
		else
			nsess++;
		cmds += s->cmds;
		in += s->bytes_in;
		out += s->bytes_out;
		busy += s->nbusy;
	}
	pthread_mutex_unlock(&d->sess_lock);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "uptime_s",
	                 (json_int_t)(time(NULL) - d->admin->started), "targets",
	                 (json_int_t)ntargets, "luns", (json_int_t)nluns, "portals",
	                 (json_int_t)d->nportals, "threads", (json_int_t)d->nthreads, "sessions",
	                 (json_int_t)nsess, "discovery_sessions", (json_int_t)ndisc, "commands",
	                 (json_int_t)cmds, "bytes_in", (json_int_t)in, "bytes_out", (json_int_t)out,
	                 "transport", d->cfg->transport ? d->cfg->transport : "default");
}

static const char *daemon_transport(struct tgt_daemon *d)
{
	return d->cfg->transport ? d->cfg->transport : "default";
}

static json_t *cmd_portal_list(struct tgt_daemon *d, json_t *args)
{
	json_t *arr = json_array();
	size_t i;

	(void)args;
	for (i = 0; i < d->nportals; i++)
		json_array_append_new(
		        arr, json_pack("{s:s,s:i,s:i,s:s,s:s}", "host", d->portals[i].host, "port",
		                       d->portals[i].port, "tpgt", d->portals[i].tpgt, "portal",
		                       d->portals[i].text, "transport", daemon_transport(d)));
	return arr;
}

/* "ip:port" of a portal's text, without ",tpgt". */
static bool portal_same_addr(const struct tgt_portal *p, const char *addr)
{
	size_t n = strlen(addr);

	return !strncmp(p->text, addr, n) && p->text[n] == ',';
}

/* The address args name, parsed and normalized ("ip:port"). */
static int portal_arg(struct tgt_admin *a, json_t *args, char **host, uint16_t *port, char *norm,
                      size_t normlen)
{
	const char *addr = need_str(a, args, "address");
	struct sockaddr_storage ss;
	socklen_t len;
	int rc;

	if (!addr)
		return -EINVAL;
	rc = tgt_config_parse_hostport(addr, host, port);
	if (rc == -ENOMEM) {
		fail(a, ERR_INTERNAL, "out of memory");
		return rc;
	}
	if (rc || xt_addr_parse(*host, *port, &ss, &len)) {
		free(*host);
		*host = NULL;
		fail(a, ERR_INVALID,
		     "'%s' is not a listen address (numeric IPV4[:PORT] or [IPV6][:PORT])", addr);
		return -EINVAL;
	}
	xt_addr_format((struct sockaddr *)&ss, norm, normlen);
	return 0;
}

struct portal_job {
	struct tgt_portal *p;
	int rc[TGT_THREADS_MAX];
	_Atomic unsigned dropped;
};

static void listen_on_thread(struct tgt_thread *th, void *arg)
{
	struct portal_job *j = arg;

	j->rc[th->idx] = tgt_portal_listen_thread(j->p, th);
}

static void unlisten_on_thread(struct tgt_thread *th, void *arg)
{
	struct portal_job *j = arg;

	tgt_portal_close_thread(j->p, th);
}

/* Connections that came in through the portal whose listeners array is
 * j->p->listeners (shared by every copy of the portal's entry). */
static void drop_portal_on_thread(struct tgt_thread *th, void *arg)
{
	struct portal_job *j = arg;
	struct tgt_conn *c, *next;
	unsigned n = 0;

	for (c = th->conns; c; c = next) {
		next = c->next;
		if (c->closing || !c->portal || c->portal->listeners != j->p->listeners)
			continue;
		if (c->sess && !c->sess->discovery)
			n++;
		tgt_conn_close(c, "portal removed by the administrator");
	}
	atomic_fetch_add(&j->dropped, n);
}

static bool transport_ok(struct tgt_daemon *d, json_t *args)
{
	const char *tr = arg_str(args, "transport");

	if (!tr || !*tr || !strcmp(tr, daemon_transport(d)))
		return true;
	fail(d->admin, ERR_INVALID,
	     "xtgtd runs transport '%s' on its threads; a portal on '%s' needs a daemon "
	     "started with --transport %s",
	     daemon_transport(d), tr, tr);
	return false;
}

static json_t *cmd_portal_add(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	struct tgt_portal *np, *p;
	struct portal_job *j;
	char norm[XT_ADDRSTRLEN], why[256] = "", *host = NULL;
	long long tpgt = TGT_TPGT_DEFAULT;
	uint16_t port;
	size_t i;
	unsigned t;
	int rc, first_err = 0;

	if (arg_uint(a, args, "tpgt", 65535, &tpgt, false) < 0)
		return NULL;
	if (tpgt == 0)
		return fail(a, ERR_INVALID, "tpgt must be from 1 to 65535");
	if (!transport_ok(d, args) || portal_arg(a, args, &host, &port, norm, sizeof(norm)))
		return NULL;
	for (i = 0; i < d->nportals; i++) {
		if (!portal_same_addr(&d->portals[i], norm))
			continue;
		free(host);
		if (d->portals[i].tpgt != tpgt)
			return fail(a, ERR_EXISTS, "portal %s exists in portal group %u", norm,
			            d->portals[i].tpgt);
		return json_pack("{s:s,s:b}", "portal", d->portals[i].text, "created", 0);
	}
	np = calloc(d->nportals + 1, sizeof(*np));
	j = calloc(1, sizeof(*j));
	if (!np || !j) {
		free(np);
		free(j);
		free(host);
		return fail(a, ERR_INTERNAL, "out of memory");
	}
	if (d->nportals)
		memcpy(np, d->portals, d->nportals * sizeof(*np));
	p = &np[d->nportals];
	rc = tgt_portal_init(d, p, host, port, (uint16_t)tpgt, why, sizeof(why));
	free(host);
	if (rc) {
		free(np);
		free(j);
		return fail(a, rc == -ENOMEM ? ERR_INTERNAL : ERR_INVALID, "%s",
		            *why ? why : strerror(-rc));
	}
	/* Listeners first, on every thread as at startup; the portal is
	 * published (discovery shows it) once all of them listen. */
	j->p = p;
	rc = threads_run(d, listen_on_thread, j);
	for (t = 0; t < d->nthreads && !first_err; t++)
		first_err = j->rc[t];
	if (rc || first_err) {
		/* A listener that worked may have taken a connection, which
		 * points at p: retired, not freed. */
		threads_run(d, unlisten_on_thread, j);
		retire_ptr(a, p->host);
		retire_ptr(a, p->listeners);
		retire_ptr(a, np);
		free(j);
		return fail(a, ERR_INVALID, "cannot listen on %s: %s", norm,
		            strerror(-(first_err ? first_err : rc)));
	}
	pthread_rwlock_wrlock(&d->objs_lock);
	retire_ptr(a, d->portals);
	d->portals = np;
	d->nportals++;
	pthread_rwlock_unlock(&d->objs_lock);
	free(j);
	log_info("admin: listening on %s (%s)", p->text, daemon_transport(d));
	return json_pack("{s:s,s:b}", "portal", p->text, "created", 1);
}

static json_t *cmd_portal_remove(struct tgt_daemon *d, json_t *args)
{
	struct tgt_admin *a = d->admin;
	struct tgt_portal gone, *np;
	struct portal_job *j;
	char norm[XT_ADDRSTRLEN], *host = NULL;
	uint16_t port;
	size_t i, k;
	bool drop = arg_bool(args, "drop_sessions");

	if (portal_arg(a, args, &host, &port, norm, sizeof(norm)))
		return NULL;
	free(host);
	for (i = 0; i < d->nportals; i++)
		if (portal_same_addr(&d->portals[i], norm))
			break;
	if (i == d->nportals)
		return fail(a, ERR_NOTFOUND, "no portal %s", norm);
	/* A daemon with no portal would take 0.0.0.0:3260 at its next start. */
	if (d->nportals == 1)
		return fail(a, ERR_BUSY, "%s is the last portal; add another first", norm);
	np = calloc(d->nportals - 1, sizeof(*np));
	j = calloc(1, sizeof(*j));
	if (!np || !j) {
		free(np);
		free(j);
		return fail(a, ERR_INTERNAL, "out of memory");
	}
	gone = d->portals[i];
	for (k = 0; k < d->nportals; k++)
		if (k != i)
			np[k < i ? k : k - 1] = d->portals[k];
	/* Discovery stops naming it, then every thread stops accepting on it.
	 * The entries that listeners and connections point at stay (retired). */
	pthread_rwlock_wrlock(&d->objs_lock);
	retire_ptr(a, d->portals);
	d->portals = np;
	d->nportals--;
	pthread_rwlock_unlock(&d->objs_lock);
	j->p = &gone;
	threads_run(d, unlisten_on_thread, j);
	if (drop)
		threads_run(d, drop_portal_on_thread, j);
	retire_ptr(a, gone.host);
	retire_ptr(a, gone.listeners);
	log_info("admin: portal %s removed%s", gone.text,
	         drop ? ", its connections dropped" : "; its sessions go on");
	{
		json_t *r = json_pack("{s:s,s:I}", "portal", gone.text, "sessions_dropped",
		                      (json_int_t)atomic_load(&j->dropped));

		free(j);
		return r;
	}
}

/* --- configuration text ------------------------------------------------ */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (int tries = 0; tries < 2; tries++) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = (b->cap ? b->cap * 2 : 4096) + (size_t)n + 1;
		char *np = realloc(b->p, ncap);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

static void sb_chap(struct sbuf *b, const char *indent, const char *directive,
                    const struct tgt_cfg_chap *c, int with_secrets)
{
	if (!c->user)
		return;
	sb_printf(b, "%s%s %s \"%s\"\n", indent, directive, c->user,
	          with_secrets ? c->secret : "********");
}

static void sb_algs(struct sbuf *b, const char *indent, const char *directive,
                    const struct tgt_cfg_chap *c)
{
	char names[64];

	if (!c->algs)
		return;
	tgt_config_chap_alg_names(c->algs, names, sizeof(names));
	sb_printf(b, "%s%s %s\n", indent, directive, names);
}

char *tgt_admin_config_text(struct tgt_daemon *d, int with_secrets)
{
	const struct tgt_config *cfg = d->cfg;
	struct sbuf b = {0};
	size_t i, j;

	sb_printf(&b, "# xtgtd configuration, written by the daemon (xtgtadm config save).\n"
	              "# See xtgtd.conf(5).\n");
	for (i = 0; i < d->nportals; i++) {
		const struct tgt_portal *p = &d->portals[i];

		if (strchr(p->host, ':'))
			sb_printf(&b, "listen [%s]:%u\n", p->host, p->port);
		else
			sb_printf(&b, "listen %s:%u\n", p->host, p->port);
		if (p->tpgt != TGT_TPGT_DEFAULT)
			sb_printf(&b, "tpgt %u\n", p->tpgt);
	}
	if (cfg->transport)
		sb_printf(&b, "transport %s\n", cfg->transport);
	for (i = 0; i < cfg->ntransport_opts; i++) {
		const char *o = cfg->transport_opts[i], *eq = strchr(o, '=');

		if (eq)
			sb_printf(&b, "%.*s %s\n", (int)(eq - o), o, eq + 1);
		else
			sb_printf(&b, "%s\n", o);
	}
	sb_printf(&b, "threads %u\nqueue-depth %u\nnop-interval %u\nnop-timeout %u\nlog-level %d\n",
	          cfg->threads, cfg->queue_depth, cfg->nop_interval_s, cfg->nop_timeout_s,
	          cfg->log_level);
	sb_chap(&b, "", "discovery-chap", &cfg->discovery_chap, with_secrets);
	sb_algs(&b, "", "discovery-chap-algorithms", &cfg->discovery_chap);
	for (i = 0; i < d->ntargets; i++) {
		const struct tgt_target *t = &d->targets[i];

		if (t->removed)
			continue;
		sb_printf(&b, "\ntarget %s\n", t->name);
		if (t->alias)
			sb_printf(&b, "\talias \"%s\"\n", t->alias);
		if (t->tpgt != TGT_TPGT_DEFAULT)
			sb_printf(&b, "\ttpgt %u\n", t->tpgt);
		for (j = 0; j < t->nluns; j++) {
			sb_printf(&b, "\tlun %llu %s\n", (unsigned long long)t->luns[j].lun,
			          t->luns[j].spec);
			if (atomic_load(&t->luns[j].lu->offline))
				sb_printf(&b, "\toffline %llu\n",
				          (unsigned long long)t->luns[j].lun);
		}
		for (j = 0; j < t->nacl; j++)
			sb_printf(&b, "\tacl %s\n", t->acl[j]);
		sb_chap(&b, "\t", "chap", &t->chap, with_secrets);
		sb_chap(&b, "\t", "mutual-chap", &t->chap_mutual, with_secrets);
		sb_algs(&b, "\t", "chap-algorithms", &t->chap);
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int tgt_admin_write_atomic(const char *path, const char *text)
{
	char tmp[4096], dirbuf[4096];
	size_t len = strlen(text), off = 0;
	int fd = -1, dfd = -1, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* 0600: the file holds CHAP secrets. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd)) {
		rc = -errno;
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		rc = -errno;
		goto out;
	}
	fd = -1;
	/* rename() replaces the old file whole: a crash leaves one or the other. */
	if (rename(tmp, path)) {
		rc = -errno;
		goto out;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd))
			rc = -errno;
		close(dfd);
	}
	return rc;
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

static json_t *cmd_config_show(struct tgt_daemon *d, json_t *args)
{
	char *text = tgt_admin_config_text(d, arg_bool(args, "secrets"));
	json_t *r;

	if (!text)
		return fail(d->admin, ERR_INTERNAL, "out of memory");
	r = json_pack("{s:s}", "text", text);
	free(text);
	return r;
}

static json_t *cmd_config_save(struct tgt_daemon *d, json_t *args)
{
	const char *path = arg_str(args, "path");

	if (!path || !*path)
		path = d->cfg->config_file;
	if (!path)
		return fail(d->admin, ERR_INVALID,
		            "no configuration file: xtgtd was started without -c; give a path");
	if (path[0] != '/')
		return fail(d->admin, ERR_INVALID, "path must be absolute, not '%s'", path);
	/* Written by tgt_admin_exec() once the lock is released. */
	free(d->admin->save_path);
	d->admin->save_path = strdup(path);
	if (!d->admin->save_path)
		return fail(d->admin, ERR_INTERNAL, "out of memory");
	return json_pack("{s:s}", "path", path);
}

/* --- dispatch ----------------------------------------------------------- */

struct admin_cmd {
	const char *name;
	json_t *(*fn)(struct tgt_daemon *d, json_t *args);
	bool changes; /* saved to the -c file afterwards */
	/* Runs without objs_lock: waits for the reactor threads (threads_call),
	 * takes the write lock itself for what they read. */
	bool unlocked;
};

static const struct admin_cmd admin_cmds[] = {
        {"target.add", cmd_target_add, true, false},
        {"target.remove", cmd_target_remove, true, false},
        {"target.list", cmd_target_list, false, false},
        {"lun.add", cmd_lun_add, true, false},
        {"lun.remove", cmd_lun_remove, true, false},
        {"lun.list", cmd_lun_list, false, false},
        {"lun.resize", cmd_lun_resize, true, true},
        {"lun.offline", cmd_lun_offline, true, true},
        {"lun.online", cmd_lun_online, true, true},
        {"acl.add", cmd_acl_add, true, false},
        {"acl.remove", cmd_acl_remove, true, false},
        {"acl.list", cmd_acl_list, false, false},
        {"auth.set", cmd_auth_set, true, false},
        {"portal.add", cmd_portal_add, true, true},
        {"portal.remove", cmd_portal_remove, true, true},
        {"portal.list", cmd_portal_list, false, false},
        {"session.list", cmd_session_list, false, false},
        {"session.drop", cmd_session_drop, false, false},
        {"stats", cmd_stats, false, false},
        {"config.show", cmd_config_show, false, false},
        {"config.save", cmd_config_save, false, false},
};

static char *reply_error(const char *code, const char *msg)
{
	json_t *r = json_pack("{s:b,s:s,s:s}", "ok", 0, "error", msg, "code", code);
	char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;

	json_decref(r);
	return s;
}

char *tgt_admin_exec(struct tgt_daemon *d, const char *req, size_t len)
{
	struct tgt_admin *a = d->admin;
	json_error_t jerr;
	json_t *root, *args, *result = NULL, *reply;
	const char *cmd;
	const struct admin_cmd *c = NULL;
	char msg[600], *out, *text = NULL;
	size_t i;

	root = json_loadb(req, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(msg, sizeof(msg), "malformed JSON at column %d: %s", jerr.column,
		         jerr.text);
		return reply_error(ERR_INVALID, msg);
	}
	cmd = json_string_value(json_object_get(root, "cmd"));
	args = json_object_get(root, "args");
	if (!json_is_object(root) || !cmd) {
		json_decref(root);
		return reply_error(ERR_INVALID, "request must be an object with a string \"cmd\"");
	}
	if (args && !json_is_object(args)) {
		json_decref(root);
		return reply_error(ERR_INVALID, "\"args\" must be an object");
	}
	for (i = 0; i < sizeof(admin_cmds) / sizeof(admin_cmds[0]); i++)
		if (!strcmp(admin_cmds[i].name, cmd))
			c = &admin_cmds[i];
	if (!c) {
		snprintf(msg, sizeof(msg), "unknown command '%.200s'", cmd);
		json_decref(root);
		return reply_error(ERR_INVALID, msg);
	}
	{
		json_t *empty = json_object();

		a->code = ERR_INTERNAL;
		snprintf(a->err, sizeof(a->err), "out of memory");
		if (c->unlocked) {
			result = c->fn(d, args ? args : empty);
			pthread_rwlock_wrlock(&d->objs_lock);
		} else {
			pthread_rwlock_wrlock(&d->objs_lock);
			result = c->fn(d, args ? args : empty);
		}
		/* Every change is saved at once, so a restart (or a crash)
		 * finds what was running. The text is taken under the lock,
		 * written after it: a reactor thread waiting to log someone
		 * in must not wait for fsync. Only this thread saves, so the
		 * files land in the order of the changes. */
		if ((result && c->changes && d->cfg->config_file) || (result && a->save_path))
			text = tgt_admin_config_text(d, 1);
		pthread_rwlock_unlock(&d->objs_lock);
		if (a->save_path) {
			/* config.save: its reply says whether the file is there. */
			int rc = text ? tgt_admin_write_atomic(a->save_path, text) : -ENOMEM;

			if (rc) {
				json_decref(result);
				result = fail(a, ERR_INTERNAL, "cannot write %s: %s", a->save_path,
				              strerror(-rc));
			} else {
				log_info("admin: configuration saved to %s", a->save_path);
			}
			free(a->save_path);
			a->save_path = NULL;
			if (text) {
				explicit_bzero(text, strlen(text));
				free(text);
				text = NULL;
			}
		}
		if (text) {
			int rc = tgt_admin_write_atomic(d->cfg->config_file, text);

			if (rc)
				log_error("admin: cannot save %s: %s", d->cfg->config_file,
				          strerror(-rc));
			explicit_bzero(text, strlen(text));
			free(text);
		} else if (result && c->changes && d->cfg->config_file) {
			log_error("admin: cannot save %s: out of memory", d->cfg->config_file);
		}
		json_decref(empty);
	}
	json_decref(root);
	if (!result)
		return reply_error(a->code, a->err);
	reply = json_pack("{s:b,s:o}", "ok", 1, "result", result);
	out = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	json_decref(reply);
	return out;
}
