/*
 * Persistent reservations, SPC-5 5.14, 6.16 (PERSISTENT RESERVE IN) and
 * 6.17 (PERSISTENT RESERVE OUT). Registrations are keyed by the initiator
 * port name and the relative target port, i.e. the I_T nexus, so a session
 * that logs in again finds its registration. State lives in lu->pr under
 * lu->lock; lu->pr_active lets commands skip the lock when nothing is held.
 *
 * APTPL (SPC-5 5.14.5) on LUs backed by a regular file: the state is kept
 * in PATH.pr (written to a temporary file, synced and renamed on every
 * change while the last REGISTER or REGISTER AND MOVE set APTPL) and read
 * back when the LU opens. Elsewhere PTPL_C is 0 and APTPL is refused.
 * Not supported, and said so in REPORT CAPABILITIES: SPEC_I_PT (SIP_C=0),
 * ALL_TG_PT (ATP_C=0). PREEMPT AND ABORT preempts;
 * aborting the preempted tasks is the daemon's part. REGISTER AND MOVE
 * takes an iSCSI TransportID with an ISID (format 01b) naming a port of
 * this target port.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cdb.h"
#include "lib/sense.h"
#include "target/scsi.h"

#define PR_SCOPE_LU      0x0
#define PROUT_PARAM_LEN  24
#define PROUT_SPEC_I_PT  0x08
#define PROUT_ALL_TG_PT  0x04
#define PROUT_APTPL      0x01
#define PROUT_MOVE_UNREG 0x02 /* REGISTER AND MOVE byte 17, SPC-5 6.17.4 */
#define PRIN_R_HOLDER    0x01
/* REPORT CAPABILITIES, SPC-5 6.16.4: TMV and the type mask. */
#define PR_CAP_TMV    0x80
#define PR_CAP_PTPL_C 0x01 /* byte 2 */
#define PR_CAP_PTPL_A 0x01 /* byte 3 */
/* First line of a PATH.pr file. */
#define PR_FILE_MAGIC "xiscsi-pr 1"
#define PR_CAP_LEN    8
/* TransportID for iSCSI with ISID, SPC-5 7.6.4.6: FORMAT CODE 01b. */
#define TID_ISCSI_ISID (0x40 | DESIG_PROTOCOL_ISCSI)

struct pr_id {
	char tid[TGT_PR_TID_MAX];
	uint16_t rel_port;
};

static void pr_whoami(const struct scsi_task *t, struct pr_id *id)
{
	if (t->port && t->port->initiator_port)
		snprintf(id->tid, sizeof(id->tid), "%s", t->port->initiator_port);
	else
		snprintf(id->tid, sizeof(id->tid), "nexus:%llu", (unsigned long long)t->nexus);
	id->rel_port = t->port ? t->port->rel_port_id : 0;
}

static int pr_find(const struct tgt_pr *pr, const struct pr_id *id)
{
	for (unsigned i = 0; i < pr->nregs; i++)
		if (pr->regs[i].rel_port == id->rel_port && strcmp(pr->regs[i].tid, id->tid) == 0)
			return (int)i;
	return -1;
}

static bool pr_all_registrants(uint8_t type)
{
	return type == PR_TYPE_WRITE_EXCLUSIVE_ALL_REG || type == PR_TYPE_EXCLUSIVE_ACCESS_ALL_REG;
}

static bool pr_type_valid(uint8_t type)
{
	switch (type) {
	case PR_TYPE_WRITE_EXCLUSIVE:
	case PR_TYPE_EXCLUSIVE_ACCESS:
	case PR_TYPE_WRITE_EXCLUSIVE_REG_ONLY:
	case PR_TYPE_EXCLUSIVE_ACCESS_REG_ONLY:
	case PR_TYPE_WRITE_EXCLUSIVE_ALL_REG:
	case PR_TYPE_EXCLUSIVE_ACCESS_ALL_REG:
		return true;
	default:
		return false;
	}
}

/* Is registration i a holder of the reservation (SPC-5 5.14.10)? */
static bool pr_is_holder(const struct tgt_pr *pr, int i)
{
	if (!pr->reserved || i < 0)
		return false;
	return pr_all_registrants(pr->type) || pr->holder == i;
}

static void pr_set_reserved(struct tgt_lu *lu, bool on)
{
	lu->pr.reserved = on;
	if (!on)
		lu->pr.holder = -1;
	atomic_store_explicit(&lu->pr_active, on, memory_order_release);
}

/* Drop registration i; a holder's going releases (SPC-5 5.14.11.2.3). */
static void pr_remove(struct tgt_lu *lu, int i)
{
	struct tgt_pr *pr = &lu->pr;
	int last = (int)pr->nregs - 1;

	if (pr->reserved && !pr_all_registrants(pr->type) && pr->holder == i)
		pr_set_reserved(lu, false);
	if (i != last) {
		pr->regs[i] = pr->regs[last];
		if (pr->holder == last)
			pr->holder = i;
	}
	pr->nregs--;
	if (pr->reserved && pr_all_registrants(pr->type) && pr->nregs == 0)
		pr_set_reserved(lu, false);
}

bool pr_conflict(struct tgt_lu *lu, const struct scsi_task *t, uint32_t flags)
{
	struct pr_id id;
	bool conflict = false;
	int r;

	if (!atomic_load_explicit(&lu->pr_active, memory_order_acquire) || (flags & SCSI_F_PR_OK))
		return false;
	pr_whoami(t, &id);
	pthread_mutex_lock(&lu->lock);
	if (!lu->pr.reserved)
		goto out;
	r = pr_find(&lu->pr, &id);
	switch (lu->pr.type) {
	case PR_TYPE_WRITE_EXCLUSIVE:
		conflict = !pr_is_holder(&lu->pr, r) && (flags & SCSI_F_PR_WRITE);
		break;
	case PR_TYPE_EXCLUSIVE_ACCESS:
		conflict = !pr_is_holder(&lu->pr, r);
		break;
	case PR_TYPE_WRITE_EXCLUSIVE_REG_ONLY:
	case PR_TYPE_WRITE_EXCLUSIVE_ALL_REG:
		conflict = r < 0 && (flags & SCSI_F_PR_WRITE);
		break;
	default:
		conflict = r < 0;
		break;
	}
out:
	pthread_mutex_unlock(&lu->lock);
	return conflict;
}

/* An iSCSI TransportID for the name (SPC-5 7.6.4.6); returns its length. */
static size_t pr_tid(uint8_t *b, const char *name)
{
	size_t n = strlen(name) + 1;

	/* At least 20 bytes of name, a multiple of 4 (SPC-5 table 510). */
	while (n % 4 || n < 20)
		n++;
	memset(b, 0, 4 + n);
	b[0] = TID_ISCSI_ISID;
	put_be16(b + 2, (uint16_t)n);
	memcpy(b + 4, name, strlen(name));
	return 4 + n;
}

/*
 * Write the state to lu->pr_path when APTPL is on, or remove a stale file
 * when it is off. Under lu->lock. Returns 0 or -errno.
 */
static int pr_save(struct tgt_lu *lu)
{
	const struct tgt_pr *pr = &lu->pr;
	char tmp[sizeof(lu->pr_path) + 8];
	FILE *f;
	int rc = 0;

	if (!*lu->pr_path)
		return 0;
	if (!pr->aptpl)
		return unlink(lu->pr_path) && errno != ENOENT ? -errno : 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", lu->pr_path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%s\ngeneration %" PRIu32 "\n", PR_FILE_MAGIC, pr->generation);
	for (unsigned i = 0; i < pr->nregs; i++)
		fprintf(f, "reg %016" PRIx64 " %u %s\n", pr->regs[i].key,
		        (unsigned)pr->regs[i].rel_port, pr->regs[i].tid);
	if (pr->reserved)
		fprintf(f, "res %u %d\n", (unsigned)pr->type, pr->holder);
	if (fflush(f) || fsync(fileno(f)))
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, lu->pr_path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int tgt_lu_pr_load(struct tgt_lu *lu, const char *data_path, char *err, size_t errlen)
{
	struct tgt_pr *pr = &lu->pr;
	char line[TGT_PR_TID_MAX + 64], tid[TGT_PR_TID_MAX];
	unsigned lineno = 0, port, type;
	unsigned long long key;
	struct stat st;
	bool res = false;
	int holder = -1, n;
	FILE *f;

	lu->pr_path[0] = '\0';
	/* Beside a regular file only: not in /dev for a block device. */
	if (stat(data_path, &st) || !S_ISREG(st.st_mode))
		return 0;
	if ((size_t)snprintf(lu->pr_path, sizeof(lu->pr_path), "%s.pr", data_path) >=
	    sizeof(lu->pr_path)) {
		lu->pr_path[0] = '\0';
		return 0;
	}
	f = fopen(lu->pr_path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		n = -errno;
		snprintf(err, errlen, "%s: %s", lu->pr_path, strerror(errno));
		return n;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n'))
			goto bad;
		if (lineno == 1) {
			if (strcmp(line, PR_FILE_MAGIC "\n"))
				goto bad;
		} else if (sscanf(line, "generation %u%n", &type, &n) == 1 && line[n] == '\n') {
			pr->generation = type;
		} else if (sscanf(line, "reg %16llx %5u %255s%n", &key, &port, tid, &n) == 3 &&
		           line[n] == '\n') {
			if (key == 0 || port > UINT16_MAX || res || pr->nregs == TGT_PR_MAX_REGS)
				goto bad;
			pr->regs[pr->nregs].key = key;
			pr->regs[pr->nregs].rel_port = (uint16_t)port;
			pr->regs[pr->nregs].nexus = UINT64_MAX; /* none seen yet */
			snprintf(pr->regs[pr->nregs].tid, sizeof(pr->regs[0].tid), "%s", tid);
			pr->nregs++;
		} else if (sscanf(line, "res %u %d%n", &type, &holder, &n) == 2 &&
		           line[n] == '\n') {
			if (res || !pr_type_valid((uint8_t)type) || type > 0xf ||
			    (pr_all_registrants((uint8_t)type)
			             ? holder != -1
			             : holder < 0 || holder >= (int)pr->nregs))
				goto bad;
			res = true;
		} else {
			goto bad;
		}
	}
	if (ferror(f) || lineno == 0)
		goto bad;
	fclose(f);
	pr->aptpl = true;
	if (res) {
		pr->type = (uint8_t)type;
		pr_set_reserved(lu, true);
		pr->holder = holder;
	}
	return 0;
bad:
	fclose(f);
	pr->nregs = 0;
	pr->generation = 0;
	snprintf(err, errlen, "%s: line %u is not persistent reservation state", lu->pr_path,
	         lineno);
	return -EINVAL;
}

int pr_in(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint8_t sa = cdb[1] & 0x1f;
	uint32_t alloc = get_be16(cdb + 7);
	static __thread uint8_t b[8 + TGT_PR_MAX_REGS * (24 + 4 + TGT_PR_TID_MAX + 4)];
	struct tgt_pr *pr = &lu->pr;
	size_t off = 8;

	if (sa > PRIN_READ_FULL_STATUS)
		return scsi_task_bad_cdb(t, 1, 4);
	memset(b, 0, 8);
	pthread_mutex_lock(&lu->lock);
	put_be32(b, pr->generation);
	switch (sa) {
	case PRIN_READ_KEYS:
		for (unsigned i = 0; i < pr->nregs; i++, off += 8)
			put_be64(b + off, pr->regs[i].key);
		break;
	case PRIN_READ_RESERVATION:
		if (pr->reserved) {
			memset(b + off, 0, 16);
			/* All-registrants types report key zero (SPC-5 6.16.3.2). */
			if (!pr_all_registrants(pr->type) && pr->holder >= 0)
				put_be64(b + off, pr->regs[pr->holder].key);
			b[off + 13] = PR_SCOPE_LU << 4 | pr->type;
			off += 16;
		}
		break;
	case PRIN_REPORT_CAPABILITIES:
		memset(b, 0, PR_CAP_LEN);
		put_be16(b, PR_CAP_LEN);
		if (*lu->pr_path)
			b[2] |= PR_CAP_PTPL_C;
		b[3] = PR_CAP_TMV | (pr->aptpl ? PR_CAP_PTPL_A : 0);
		/* WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX; then EX_AC_AR. */
		b[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
		b[5] = 0x01;
		off = PR_CAP_LEN;
		break;
	default:
		for (unsigned i = 0; i < pr->nregs; i++) {
			uint8_t *d = b + off;

			memset(d, 0, 24);
			put_be64(d, pr->regs[i].key);
			if (pr_is_holder(pr, (int)i)) {
				d[12] = PRIN_R_HOLDER;
				d[13] = PR_SCOPE_LU << 4 | pr->type;
			}
			put_be16(d + 18, pr->regs[i].rel_port);
			size_t n = pr_tid(d + 24, pr->regs[i].tid);
			put_be32(d + 20, (uint32_t)n);
			off += 24 + n;
		}
		break;
	}
	pthread_mutex_unlock(&lu->lock);
	if (sa != PRIN_REPORT_CAPABILITIES)
		put_be32(b + 4, (uint32_t)(off - 8));
	return scsi_task_data(t, b, alloc < off ? alloc : (uint32_t)off);
}

static int conflict(struct scsi_task *t)
{
	t->status = SAM_STAT_RESERVATION_CONFLICT;
	return 0;
}

/*
 * The I_T nexus an iSCSI TransportID names (SPC-5 7.6.4.6, format 01b:
 * "<iSCSI name>,i,0x<ISID>", NUL-terminated, in ADDITIONAL LENGTH bytes).
 * Returns 0, or the offset in the TransportID of the field in error.
 */
static int pr_parse_tid(const uint8_t *tid, uint32_t len, char *out, size_t outlen)
{
	uint16_t n;
	const char *name = (const char *)tid + 4;
	size_t slen;

	if (len < 4)
		return 1;
	if (tid[0] != TID_ISCSI_ISID)
		return 1;
	n = get_be16(tid + 2);
	if (n == 0 || n % 4 || (uint32_t)n + 4 > len)
		return 2;
	slen = strnlen(name, n);
	if (slen == n || slen >= outlen || !strstr(name, ",i,0x"))
		return 4;
	memcpy(out, name, slen + 1);
	return 0;
}

/*
 * REGISTER AND MOVE, SPC-5 5.14.9: the reservation holder registers the
 * I_T nexus the TransportID names (with the service action reservation key
 * unless it is registered already) and hands it the reservation, same type
 * and scope; with UNREG its own registration then goes.
 */
static int pr_register_and_move(struct tgt_lu *lu, struct scsi_task *t, uint32_t plen)
{
	const uint8_t *p = t->data_out;
	struct tgt_pr *pr = &lu->pr;
	struct pr_id id, dst;
	uint64_t key, sark;
	uint32_t tlen;
	int r, d, bad, rc = 0;

	if (plen < PROUT_PARAM_LEN)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	tlen = get_be32(p + 20);
	if (tlen > plen - PROUT_PARAM_LEN)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	if ((p[17] & PROUT_APTPL) && !*lu->pr_path)
		return scsi_task_bad_param(t, 17, 0);
	key = get_be64(p);
	sark = get_be64(p + 8);
	pr_whoami(t, &id);
	bad = pr_parse_tid(p + PROUT_PARAM_LEN, tlen, dst.tid, sizeof(dst.tid));
	dst.rel_port = get_be16(p + 18);

	pthread_mutex_lock(&lu->lock);
	r = pr_find(pr, &id);
	if (r < 0 || key != pr->regs[r].key) {
		rc = conflict(t);
		goto out;
	}
	pr->regs[r].nexus = t->nexus;
	/* Only the holder of a reservation with one holder moves it. */
	if (!pr->reserved || pr_all_registrants(pr->type) || pr->holder != r) {
		rc = conflict(t);
		goto out;
	}
	if (sark == 0) {
		rc = scsi_task_bad_param(t, 8, -1);
		goto out;
	}
	if (bad) {
		rc = scsi_task_bad_param(t, (uint16_t)(PROUT_PARAM_LEN + bad - 1), -1);
		goto out;
	}
	/* A port of this target: the one the command came through. */
	if (dst.rel_port != id.rel_port) {
		rc = scsi_task_bad_param(t, 18, -1);
		goto out;
	}
	d = pr_find(pr, &dst);
	if (d == r) {
		/* Moving to itself is an error (SPC-5 5.14.9). */
		rc = scsi_task_bad_param(t, PROUT_PARAM_LEN + 4, -1);
		goto out;
	}
	if (d < 0) {
		struct tgt_pr_reg *g;

		if (pr->nregs == TGT_PR_MAX_REGS) {
			rc = scsi_task_check(t, SK_ILLEGAL_REQUEST,
			                     ASC_INSUFFICIENT_REGISTRATION_RESOURCES);
			goto out;
		}
		d = (int)pr->nregs++;
		g = &pr->regs[d];
		g->key = sark;
		/* Not seen yet: no nexus to tell of later changes until it
		 * sends a PERSISTENT RESERVE OUT. */
		g->nexus = UINT64_MAX;
		g->rel_port = dst.rel_port;
		snprintf(g->tid, sizeof(g->tid), "%s", dst.tid);
	}
	pr->holder = d;
	if (p[17] & PROUT_MOVE_UNREG)
		pr_remove(lu, r); /* not the holder any more: the reservation stays */
	pr->generation++;
	pr->aptpl = p[17] & PROUT_APTPL;
	if (pr_save(lu))
		rc = scsi_task_errno(t, -EIO, true);
	else
		scsi_task_good(t);
out:
	pthread_mutex_unlock(&lu->lock);
	return rc;
}

/* Registrants other than `except` that are to hear of a change. */
static void pr_ua_others(struct tgt_lu *lu, int except, uint64_t *nexus, unsigned *n)
{
	for (unsigned i = 0; i < lu->pr.nregs; i++)
		if ((int)i != except)
			nexus[(*n)++] = lu->pr.regs[i].nexus;
}

int pr_out(struct tgt_lu *lu, struct scsi_task *t)
{
	const uint8_t *cdb = t->cdb;
	uint8_t sa = cdb[1] & 0x1f, scope = cdb[2] >> 4, type = cdb[2] & 0x0f;
	uint32_t plen = get_be32(cdb + 5);
	const uint8_t *p = t->data_out;
	uint64_t key, sark;
	struct tgt_pr *pr = &lu->pr;
	struct pr_id id;
	uint64_t ua_nexus[TGT_PR_MAX_REGS];
	unsigned ua_n = 0;
	enum tgt_ua ua = 0;
	int r, rc = 0;

	if (sa == PROUT_REGISTER_AND_MOVE)
		return pr_register_and_move(lu, t, plen);
	if (sa > PROUT_REGISTER_AND_IGNORE)
		return scsi_task_bad_cdb(t, 1, 4);
	if (plen != PROUT_PARAM_LEN)
		return scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	if (p[20] & PROUT_SPEC_I_PT)
		return scsi_task_bad_param(t, 20, 3);
	if (p[20] & PROUT_ALL_TG_PT)
		return scsi_task_bad_param(t, 20, 2);
	if ((p[20] & PROUT_APTPL) && !*lu->pr_path)
		return scsi_task_bad_param(t, 20, 0);
	key = get_be64(p);
	sark = get_be64(p + 8);
	pr_whoami(t, &id);

	pthread_mutex_lock(&lu->lock);
	r = pr_find(pr, &id);
	if (r >= 0)
		pr->regs[r].nexus = t->nexus;
	switch (sa) {
	case PROUT_REGISTER:
	case PROUT_REGISTER_AND_IGNORE:
		if (r < 0) {
			if (sa == PROUT_REGISTER && key != 0) {
				rc = conflict(t);
				goto out;
			}
			if (sark == 0)
				goto good;
			if (pr->nregs == TGT_PR_MAX_REGS) {
				rc = scsi_task_check(t, SK_ILLEGAL_REQUEST,
				                     ASC_INSUFFICIENT_REGISTRATION_RESOURCES);
				goto out;
			}
			struct tgt_pr_reg *g = &pr->regs[pr->nregs++];
			g->key = sark;
			g->nexus = t->nexus;
			g->rel_port = id.rel_port;
			snprintf(g->tid, sizeof(g->tid), "%s", id.tid);
		} else {
			if (sa == PROUT_REGISTER && key != pr->regs[r].key) {
				rc = conflict(t);
				goto out;
			}
			if (sark == 0) {
				bool was_ro = pr->reserved && pr->holder == r &&
				              (pr->type == PR_TYPE_WRITE_EXCLUSIVE_REG_ONLY ||
				               pr->type == PR_TYPE_EXCLUSIVE_ACCESS_REG_ONLY);

				pr_remove(lu, r);
				/* SPC-5 5.14.11.2.3: a registrants-only release is told. */
				if (was_ro) {
					ua = TGT_UA_RESERVATIONS_RELEASED;
					pr_ua_others(lu, -1, ua_nexus, &ua_n);
				}
			} else {
				pr->regs[r].key = sark;
			}
		}
		pr->generation++;
		pr->aptpl = p[20] & PROUT_APTPL;
		goto good;
	default:
		break;
	}
	/* Everything else needs a registered nexus with the right key. */
	if (r < 0 || key != pr->regs[r].key) {
		rc = conflict(t);
		goto out;
	}
	if (sa != PROUT_CLEAR && (scope != PR_SCOPE_LU || !pr_type_valid(type))) {
		rc = scsi_task_bad_cdb(t, 2, -1);
		goto out;
	}
	switch (sa) {
	case PROUT_RESERVE:
		if (!pr->reserved) {
			pr->type = type;
			pr_set_reserved(lu, true);
			pr->holder = pr_all_registrants(type) ? -1 : r;
		} else if (!pr_is_holder(pr, r) || pr->type != type) {
			rc = conflict(t);
			goto out;
		}
		goto good;
	case PROUT_RELEASE:
		if (!pr->reserved || !pr_is_holder(pr, r))
			goto good;
		if (pr->type != type) {
			rc = scsi_task_check(t, SK_ILLEGAL_REQUEST, ASC_INVALID_RELEASE_OF_PR);
			goto out;
		}
		if (type != PR_TYPE_WRITE_EXCLUSIVE && type != PR_TYPE_EXCLUSIVE_ACCESS) {
			ua = TGT_UA_RESERVATIONS_RELEASED;
			pr_ua_others(lu, r, ua_nexus, &ua_n);
		}
		pr_set_reserved(lu, false);
		goto good;
	case PROUT_CLEAR:
		ua = TGT_UA_RESERVATIONS_PREEMPTED;
		pr_ua_others(lu, r, ua_nexus, &ua_n);
		pr->nregs = 0;
		pr_set_reserved(lu, false);
		pr->generation++;
		goto good;
	default: {
		/* PREEMPT and PREEMPT AND ABORT, SPC-5 5.14.11.4. */
		bool all_reg = pr->reserved && pr_all_registrants(pr->type);
		bool takes = false;
		unsigned removed = 0;

		if (sark == 0 && !all_reg) {
			rc = scsi_task_bad_param(t, 8, -1);
			goto out;
		}
		if (all_reg && sark == 0) {
			/* Every other registrant goes; this nexus holds the new type. */
			for (int i = (int)pr->nregs - 1; i >= 0; i--) {
				if (i == pr_find(pr, &id))
					continue;
				ua_nexus[ua_n++] = pr->regs[i].nexus;
				pr_remove(lu, i);
			}
			r = pr_find(pr, &id);
			takes = true;
		} else {
			bool hit_holder = pr->reserved && !all_reg && pr->holder >= 0 &&
			                  pr->regs[pr->holder].key == sark;

			for (int i = (int)pr->nregs - 1; i >= 0; i--) {
				if (pr->regs[i].key != sark || i == pr_find(pr, &id))
					continue;
				ua_nexus[ua_n++] = pr->regs[i].nexus;
				pr_remove(lu, i);
				removed++;
				r = pr_find(pr, &id);
			}
			if (!removed && !hit_holder) {
				rc = conflict(t);
				goto out;
			}
			takes = hit_holder;
		}
		ua = TGT_UA_REGISTRATIONS_PREEMPTED;
		if (takes) {
			pr->type = type;
			pr_set_reserved(lu, true);
			pr->holder = pr_all_registrants(type) ? -1 : r;
		}
		pr->generation++;
		goto good;
	}
	}
good:
	/* The state in memory stands; the initiator hears it was not kept. */
	if (pr_save(lu))
		rc = scsi_task_errno(t, -EIO, true);
	else
		scsi_task_good(t);
out:
	pthread_mutex_unlock(&lu->lock);
	for (unsigned i = 0; i < ua_n; i++)
		if (ua_nexus[i] != t->nexus && ua_nexus[i] != UINT64_MAX)
			tgt_lu_ua_raise_one(lu, ua, ua_nexus[i]);
	return rc;
}
