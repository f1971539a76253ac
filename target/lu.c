/* Logical units: LUN spec parsing, profile, and per-LU SCSI state. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/scsi.h"
#include "target/lu.h"

#define NEXUS_TOMBSTONE UINT64_MAX

/* Every open LU of the daemon, for tgt_lu_get_by_naa(). */
static pthread_mutex_t lu_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tgt_lu *lu_reg_head;

/* How long tgt_lu_close() waits for a copy that still uses the LU. */
#define LU_CLOSE_WAIT_MS 60000

static void lu_register(struct tgt_lu *lu)
{
	pthread_mutex_lock(&lu_reg_lock);
	lu->reg_next = lu_reg_head;
	lu_reg_head = lu;
	pthread_mutex_unlock(&lu_reg_lock);
}

static void lu_unregister(struct tgt_lu *lu)
{
	struct timespec ms = {0, 1000000};

	pthread_mutex_lock(&lu_reg_lock);
	for (struct tgt_lu **pp = &lu_reg_head; *pp; pp = &(*pp)->reg_next) {
		if (*pp == lu) {
			*pp = lu->reg_next;
			break;
		}
	}
	pthread_mutex_unlock(&lu_reg_lock);
	/* No new lookup finds it now; wait for the copies that did. */
	for (int i = 0; i < LU_CLOSE_WAIT_MS && atomic_load(&lu->users); i++)
		nanosleep(&ms, NULL);
}

struct tgt_lu *tgt_lu_get_by_naa(const char *target_name, const uint8_t naa[8])
{
	struct tgt_lu *lu;

	pthread_mutex_lock(&lu_reg_lock);
	for (lu = lu_reg_head; lu; lu = lu->reg_next) {
		if (memcmp(lu->naa, naa, sizeof(lu->naa)) == 0 &&
		    strcmp(lu->target_name, target_name ? target_name : "") == 0) {
			atomic_fetch_add(&lu->users, 1);
			break;
		}
	}
	pthread_mutex_unlock(&lu_reg_lock);
	return lu;
}

void tgt_lu_put(struct tgt_lu *lu)
{
	if (lu)
		atomic_fetch_sub(&lu->users, 1);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int tgt_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	unsigned shift = 0;

	/* strtoull accepts a sign and leading blanks; a size has neither. */
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (shift && end[1] != '\0')
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

static int copy_str(char *dst, size_t dstlen, const char *src, size_t n)
{
	if (n >= dstlen)
		return -ENAMETOOLONG;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* INQUIRY strings are printable ASCII (SPC-5 4.3.1). */
static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static int spec_option(struct tgt_lu_spec *spec, const char *opt, size_t n, char *err,
                       size_t errlen)
{
	char buf[TGT_LU_PATH_MAX];
	const char *val;
	size_t klen;

	if (copy_str(buf, sizeof(buf), opt, n)) {
		set_err(err, errlen, "option too long");
		return -EINVAL;
	}
	val = strchr(buf, '=');
	klen = val ? (size_t)(val - buf) : n;
	if (val)
		val++;
#define KEY_IS(k) (klen == sizeof(k) - 1 && memcmp(buf, k, klen) == 0)
	if (KEY_IS("ro") || KEY_IS("thin") || KEY_IS("removable") || KEY_IS("sync") ||
	    KEY_IS("direct") || KEY_IS("crypt")) {
		if (val) {
			set_err(err, errlen, "option '%.*s' takes no value", (int)klen, buf);
			return -EINVAL;
		}
		if (KEY_IS("ro"))
			spec->readonly = true;
		else if (KEY_IS("thin"))
			spec->thin = true;
		else if (KEY_IS("removable"))
			spec->removable = true;
		else if (KEY_IS("direct"))
			spec->direct = true;
		else if (KEY_IS("crypt"))
			spec->crypt = true;
		else
			spec->dsync = true;
		return 0;
	}
	if (!val) {
		set_err(err, errlen,
		        "unknown option '%s' (size=, bs=, ro, thin, removable, sync, "
		        "direct, aio=, crypt, crypt-key=, product=, serial=)",
		        buf);
		return -EINVAL;
	}
	if (KEY_IS("crypt-key")) {
		if (!*val || copy_str(spec->crypt_key, sizeof(spec->crypt_key), val, strlen(val))) {
			set_err(err, errlen, "crypt-key= needs a path (at most %d bytes)",
			        TGT_LU_PATH_MAX - 1);
			return -EINVAL;
		}
	} else if (KEY_IS("size")) {
		if (tgt_parse_size(val, &spec->size) || spec->size == 0) {
			set_err(err, errlen, "bad size '%s' (a number with K, M, G or T)", val);
			return -EINVAL;
		}
	} else if (KEY_IS("bs")) {
		if (strcmp(val, "512") == 0) {
			spec->block_size = 512;
		} else if (strcmp(val, "4096") == 0 || strcmp(val, "4K") == 0) {
			spec->block_size = 4096;
		} else {
			set_err(err, errlen, "bad block size '%s' (512 or 4096)", val);
			return -EINVAL;
		}
	} else if (KEY_IS("aio")) {
		if (strcmp(val, "uring") && strcmp(val, "sync")) {
			set_err(err, errlen, "bad aio '%s' (uring or sync)", val);
			return -EINVAL;
		}
		spec->aio_sync = strcmp(val, "sync") == 0;
	} else if (KEY_IS("pbs")) {
		uint64_t pbs;

		/* Physical block size: logical blocks share it (SBC-4 4.6.2). */
		if (tgt_parse_size(val, &pbs) || pbs < 512 || pbs > 65536 || (pbs & (pbs - 1))) {
			set_err(err, errlen,
			        "bad physical block size '%s' (a power of two, 512 to 64K)", val);
			return -EINVAL;
		}
		spec->phys_block_size = (uint32_t)pbs;
	} else if (KEY_IS("product")) {
		if (copy_str(spec->product, sizeof(spec->product), val, strlen(val)) ||
		    !printable(val)) {
			set_err(err, errlen, "product '%s': at most 16 printable ASCII characters",
			        val);
			return -EINVAL;
		}
	} else if (KEY_IS("serial")) {
		if (copy_str(spec->serial, sizeof(spec->serial), val, strlen(val)) ||
		    !printable(val) || !*val) {
			set_err(err, errlen, "serial '%s': 1 to 32 printable ASCII characters",
			        val);
			return -EINVAL;
		}
	} else {
		set_err(err, errlen, "unknown option '%.*s'", (int)klen, buf);
		return -EINVAL;
	}
#undef KEY_IS
	return 0;
}

int tgt_lu_spec_parse(const char *str, struct tgt_lu_spec *spec, char *err, size_t errlen)
{
	const char *colon, *arg, *p;
	size_t tlen, alen;
	int rc;

	memset(spec, 0, sizeof(*spec));
	spec->block_size = 512;
	if (!str || !(colon = strchr(str, ':'))) {
		set_err(err, errlen,
		        "expected TYPE:ARG, e.g. ram:1G, file:/path,size=10G, null:1T");
		return -EINVAL;
	}
	tlen = (size_t)(colon - str);
	if (tlen == 3 && memcmp(str, "ram", 3) == 0) {
		spec->type = TGT_BS_RAM;
	} else if (tlen == 4 && memcmp(str, "file", 4) == 0) {
		spec->type = TGT_BS_FILE;
	} else if (tlen == 4 && memcmp(str, "null", 4) == 0) {
		spec->type = TGT_BS_NULL;
	} else {
		set_err(err, errlen, "unknown store '%.*s' (ram, file, null)", (int)tlen, str);
		return -EINVAL;
	}
	arg = colon + 1;
	alen = strcspn(arg, ",");
	if (spec->type == TGT_BS_FILE) {
		if (alen == 0) {
			set_err(err, errlen, "file: needs a path");
			return -EINVAL;
		}
		if (copy_str(spec->path, sizeof(spec->path), arg, alen)) {
			set_err(err, errlen, "file path too long");
			return -EINVAL;
		}
	} else if (alen) {
		char sz[64];

		if (copy_str(sz, sizeof(sz), arg, alen) || tgt_parse_size(sz, &spec->size) ||
		    spec->size == 0) {
			set_err(err, errlen, "bad size '%.*s' (a number with K, M, G or T)",
			        (int)alen, arg);
			return -EINVAL;
		}
	}
	/* Options, bounded by the string's length. */
	for (p = arg + alen; *p == ',';) {
		size_t n;

		p++;
		n = strcspn(p, ",");
		if (n == 0) {
			set_err(err, errlen, "empty option");
			return -EINVAL;
		}
		rc = spec_option(spec, p, n, err, errlen);
		if (rc)
			return rc;
		p += n;
	}
	if (spec->type != TGT_BS_FILE && spec->size == 0) {
		set_err(err, errlen, "%s store needs a size, e.g. %s:1G",
		        spec->type == TGT_BS_RAM ? "ram" : "null",
		        spec->type == TGT_BS_RAM ? "ram" : "null");
		return -EINVAL;
	}
	if ((spec->direct || spec->aio_sync) && spec->type != TGT_BS_FILE) {
		set_err(err, errlen, "direct and aio= are for file stores only");
		return -EINVAL;
	}
	if (spec->crypt && spec->type == TGT_BS_NULL) {
		set_err(err, errlen, "crypt is for ram and file stores only");
		return -EINVAL;
	}
	if (*spec->crypt_key && (!spec->crypt || spec->type != TGT_BS_FILE)) {
		set_err(err, errlen, "crypt-key= goes with crypt on a file store");
		return -EINVAL;
	}
	if (spec->phys_block_size && spec->phys_block_size < spec->block_size) {
		set_err(err, errlen, "physical block size %u is below the %u-byte logical block",
		        spec->phys_block_size, spec->block_size);
		return -EINVAL;
	}
	if (spec->size && spec->size < spec->block_size) {
		set_err(err, errlen, "size %llu is below one %u-byte block",
		        (unsigned long long)spec->size, spec->block_size);
		return -EINVAL;
	}
	return 0;
}

/* FNV-1a, 64 bits: stable across builds and hosts, which is all we need. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

int tgt_lu_open(struct tgt_lu **out, const struct tgt_lu_spec *spec, const char *target_name,
                uint64_t lun, char *err, size_t errlen)
{
	const struct bs_ops *ops;
	struct bs_open_args a = {0};
	struct tgt_lu *lu;
	uint8_t lunb[8];
	uint64_t h;
	int rc;

	if (spec->block_size != 512 && spec->block_size != 4096) {
		set_err(err, errlen, "block size %u: 512 or 4096", spec->block_size);
		return -EINVAL;
	}
	lu = calloc(1, sizeof(*lu));
	if (!lu)
		return -ENOMEM;
	pthread_mutex_init(&lu->lock, NULL);
	pthread_mutex_init(&lu->caw_lock, NULL);
	switch (spec->type) {
	case TGT_BS_RAM:
		ops = &bs_ram_ops;
		break;
	case TGT_BS_FILE:
		ops = &bs_file_ops;
		break;
	default:
		ops = &bs_null_ops;
		break;
	}
	a.path = spec->path;
	a.size = spec->size;
	a.rdonly = spec->readonly;
	a.dsync = spec->dsync;
	a.direct = spec->direct;
	a.sync_io = spec->aio_sync;
	a.block_size = spec->block_size;
	if (spec->crypt) {
		a.inner = ops;
		a.key_path = spec->crypt_key;
		ops = &bs_crypt_ops;
	}
	a.why = err;
	a.whylen = errlen;
	if (err && errlen)
		*err = '\0';
	rc = bs_open(&lu->bs, ops, &a);
	if (rc) {
		lu->bs.ops = NULL;
		if (!err || !errlen || !*err)
			set_err(err, errlen, "%s store%s%s: %s", ops->name, *spec->path ? " " : "",
			        spec->path, strerror(-rc));
		goto out;
	}
	lu->lun = lun;
	lu->block_size = spec->block_size;
	lu->block_shift = spec->block_size == 4096 ? 12 : 9;
	if (spec->phys_block_size > spec->block_size)
		lu->lbppbe = (unsigned)__builtin_ctz(spec->phys_block_size) - lu->block_shift;
	lu->nblocks = lu->bs.size >> lu->block_shift;
	if (lu->nblocks == 0) {
		set_err(err, errlen, "store is smaller than one %u-byte block", spec->block_size);
		rc = -EINVAL;
		goto out;
	}
	lu->readonly = spec->readonly;
	lu->thin = spec->thin;
	lu->crypt = spec->crypt;
	if (lu->thin && !bs_can_unmap(&lu->bs)) {
		set_err(err, errlen, "%s store cannot deallocate: no thin provisioning", ops->name);
		rc = -EINVAL;
		goto out;
	}
	lu->removable = spec->removable;
	snprintf(lu->vendor, sizeof(lu->vendor), "%s", TGT_LU_VENDOR);
	snprintf(lu->product, sizeof(lu->product), "%s",
	         *spec->product ? spec->product : TGT_LU_PRODUCT);
	snprintf(lu->revision, sizeof(lu->revision), "%s", TGT_LU_REVISION);
	h = fnv1a(0xcbf29ce484222325ull, target_name ? target_name : "",
	          strlen(target_name ? target_name : "") + 1);
	for (int i = 0; i < 8; i++)
		lunb[i] = (uint8_t)(lun >> (56 - 8 * i));
	h = fnv1a(h, lunb, sizeof(lunb));
	if (*spec->serial)
		snprintf(lu->serial, sizeof(lu->serial), "%s", spec->serial);
	else
		snprintf(lu->serial, sizeof(lu->serial), "%016llx", (unsigned long long)h);
	/* NAA 3: top nibble 3, then 60 locally assigned bits. */
	lu->naa[0] = (uint8_t)(0x30 | ((h >> 60) & 0x0f));
	for (int i = 1; i < 8; i++)
		lu->naa[i] = (uint8_t)(h >> (56 - 8 * i));
	atomic_init(&lu->wce, lu->bs.write_cache);
	atomic_init(&lu->d_sense, false);
	atomic_init(&lu->swp, false);
	atomic_init(&lu->medium_present, true);
	atomic_init(&lu->reserved_by, 0);
	atomic_init(&lu->pr_active, false);
	lu->pr.holder = -1;
	/* APTPL (SPC-5 5.14.5): reservations kept beside a file store. */
	if (spec->type == TGT_BS_FILE) {
		rc = tgt_lu_pr_load(lu, spec->path, err, errlen);
		if (rc)
			goto out;
	}
	snprintf(lu->target_name, sizeof(lu->target_name), "%s", target_name ? target_name : "");
	atomic_init(&lu->users, 0);
	lu_register(lu);
	*out = lu;
	lu = NULL;
out:
	if (lu) {
		bs_close(&lu->bs);
		pthread_mutex_destroy(&lu->lock);
		pthread_mutex_destroy(&lu->caw_lock);
		free(lu);
	}
	return rc;
}

void tgt_lu_close(struct tgt_lu *lu)
{
	if (!lu)
		return;
	lu_unregister(lu);
	atomic_store(&lu->sanitize_stop, true);
	if (lu->sanitize_th_live)
		pthread_join(lu->sanitize_th, NULL);
	bs_close(&lu->bs);
	pthread_mutex_destroy(&lu->lock);
	pthread_mutex_destroy(&lu->caw_lock);
	free(lu);
}

static unsigned nexus_hash(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (unsigned)key & (TGT_LU_NEXUS_SLOTS - 1);
}

/* Lock-free: slots are only ever written under lu->lock. */
static struct tgt_lu_nexus *nexus_find(struct tgt_lu *lu, uint64_t key)
{
	unsigned h = nexus_hash(key);

	for (unsigned i = 0; i < TGT_LU_NEXUS_SLOTS; i++) {
		struct tgt_lu_nexus *n = &lu->nexus[(h + i) & (TGT_LU_NEXUS_SLOTS - 1)];
		uint64_t k = atomic_load_explicit(&n->key, memory_order_acquire);

		if (k == key)
			return n;
		if (k == 0)
			return NULL;
	}
	return NULL;
}

/* Under lu->lock. A new nexus starts with the power-on UA (SAM-5 6.2). */
static struct tgt_lu_nexus *nexus_insert(struct tgt_lu *lu, uint64_t key)
{
	unsigned h = nexus_hash(key);

	for (unsigned i = 0; i < TGT_LU_NEXUS_SLOTS; i++) {
		struct tgt_lu_nexus *n = &lu->nexus[(h + i) & (TGT_LU_NEXUS_SLOTS - 1)];
		uint64_t k = atomic_load_explicit(&n->key, memory_order_relaxed);

		if (k == 0 || k == NEXUS_TOMBSTONE) {
			atomic_store_explicit(&n->ua, TGT_UA_POWER_ON, memory_order_relaxed);
			n->prevent = false;
			atomic_store_explicit(&n->key, key, memory_order_release);
			return n;
		}
	}
	return NULL;
}

static const uint16_t ua_asc[] = {
        ASC_POWER_ON_RESET,
        ASC_POWER_ON_RESET,
        ASC_TARGET_RESET_OCCURRED,
        ASC_I_T_NEXUS_LOSS_OCCURRED,
        ASC_MODE_PARAMETERS_CHANGED,
        ASC_CAPACITY_DATA_HAS_CHANGED,
        ASC_RESERVATIONS_RELEASED,
        ASC_NOT_READY_TO_READY_CHANGE,
        ASC_REPORTED_LUNS_DATA_CHANGED,
        ASC_RESERVATIONS_PREEMPTED,
        ASC_REGISTRATIONS_PREEMPTED,
};

uint16_t tgt_lu_ua_take(struct tgt_lu *lu, uint64_t nexus, bool consume)
{
	uint64_t key = nexus + 1;
	struct tgt_lu_nexus *n;
	uint32_t pending;
	uint16_t asc = 0;
	unsigned bit;

	if (key == 0 || key == NEXUS_TOMBSTONE)
		return 0;
	n = nexus_find(lu, key);
	if (n && atomic_load_explicit(&n->ua, memory_order_relaxed) == 0)
		return 0;
	pthread_mutex_lock(&lu->lock);
	if (!n)
		n = nexus_find(lu, key);
	if (!n)
		n = nexus_insert(lu, key);
	if (!n)
		goto out; /* table full: this nexus goes without unit attentions */
	pending = atomic_load_explicit(&n->ua, memory_order_relaxed);
	if (!pending)
		goto out;
	bit = (unsigned)__builtin_ctz(pending);
	if (bit < sizeof(ua_asc) / sizeof(ua_asc[0]))
		asc = ua_asc[bit];
	if (consume) {
		/* One reset report covers every reset condition before it. */
		uint32_t clear = (1u << bit) & TGT_UA_ANY_RESET ? TGT_UA_ANY_RESET : 1u << bit;

		atomic_fetch_and_explicit(&n->ua, ~clear, memory_order_relaxed);
	}
out:
	pthread_mutex_unlock(&lu->lock);
	return asc;
}

void tgt_lu_ua_raise(struct tgt_lu *lu, enum tgt_ua ua, uint64_t except)
{
	uint64_t except_key = except + 1;

	pthread_mutex_lock(&lu->lock);
	for (unsigned i = 0; i < TGT_LU_NEXUS_SLOTS; i++) {
		uint64_t k = atomic_load_explicit(&lu->nexus[i].key, memory_order_relaxed);

		if (k == 0 || k == NEXUS_TOMBSTONE || (except != UINT64_MAX && k == except_key))
			continue;
		atomic_fetch_or_explicit(&lu->nexus[i].ua, (uint32_t)ua, memory_order_relaxed);
	}
	pthread_mutex_unlock(&lu->lock);
}

void tgt_lu_set_prevent(struct tgt_lu *lu, uint64_t nexus, bool prevent)
{
	struct tgt_lu_nexus *n;

	pthread_mutex_lock(&lu->lock);
	n = nexus_find(lu, nexus + 1);
	if (!n)
		n = nexus_insert(lu, nexus + 1);
	if (n && n->prevent != prevent) {
		n->prevent = prevent;
		if (prevent)
			lu->prevent++;
		else if (lu->prevent)
			lu->prevent--;
	}
	pthread_mutex_unlock(&lu->lock);
}

void tgt_lu_ua_raise_one(struct tgt_lu *lu, enum tgt_ua ua, uint64_t nexus)
{
	struct tgt_lu_nexus *n;

	pthread_mutex_lock(&lu->lock);
	n = nexus_find(lu, nexus + 1);
	if (n)
		atomic_fetch_or_explicit(&n->ua, (uint32_t)ua, memory_order_relaxed);
	pthread_mutex_unlock(&lu->lock);
}

void tgt_lu_reset(struct tgt_lu *lu, enum tgt_ua ua)
{
	pthread_mutex_lock(&lu->lock);
	atomic_store(&lu->reserved_by, 0);
	lu->prevent = 0;
	for (unsigned i = 0; i < TGT_LU_NEXUS_SLOTS; i++)
		lu->nexus[i].prevent = false;
	/* SPC-5 6.13: a reset returns mode parameters to their defaults. */
	atomic_store(&lu->wce, lu->bs.write_cache);
	atomic_store(&lu->d_sense, false);
	atomic_store(&lu->swp, false);
	pthread_mutex_unlock(&lu->lock);
	tgt_lu_ua_raise(lu, ua, UINT64_MAX);
}

void tgt_lu_nexus_gone(struct tgt_lu *lu, uint64_t nexus)
{
	uint64_t key = nexus + 1;
	struct tgt_lu_nexus *n;

	pthread_mutex_lock(&lu->lock);
	if (atomic_load(&lu->reserved_by) == key)
		atomic_store(&lu->reserved_by, 0);
	n = nexus_find(lu, key);
	if (n) {
		if (n->prevent && lu->prevent)
			lu->prevent--;
		n->prevent = false;
		atomic_store_explicit(&n->ua, 0, memory_order_relaxed);
		atomic_store_explicit(&n->key, NEXUS_TOMBSTONE, memory_order_release);
	}
	/* Held copy results belong to the nexus (SPC-4 6.4.1). */
	for (int i = 0; i < TGT_XCOPY_HELD; i++)
		if (lu->xcopy_held[i].nexus == key)
			lu->xcopy_held[i].nexus = 0;
	pthread_mutex_unlock(&lu->lock);
}

int tgt_lu_resize_prepare(struct tgt_lu *lu, const struct tgt_lu_spec *spec, uint64_t new_size,
                          char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = 0;

	(void)lu;
	if (spec->type != TGT_BS_FILE)
		return 0;
	fd = open(spec->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		set_err(err, errlen, "cannot open %s: %s", spec->path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		set_err(err, errlen, "%s: %s", spec->path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		/* A block device's size is the device's: resize it, not us. */
		rc = -ENOTSUP;
		set_err(err, errlen, "%s is not a regular file: block devices are not resized",
		        spec->path);
	} else if ((uint64_t)st.st_size < new_size && ftruncate(fd, (off_t)new_size)) {
		/* Grown sparse, as at open: the new blocks read as zeros. */
		rc = -errno;
		set_err(err, errlen, "cannot grow %s: %s", spec->path, strerror(errno));
	}
	close(fd);
	return rc;
}

int tgt_lu_resize(struct tgt_lu *lu, const struct tgt_lu_spec *spec, uint64_t new_size, char *err,
                  size_t errlen)
{
	uint64_t old = lu->nblocks << lu->block_shift;
	int rc = 0;

	if (new_size % lu->block_size || new_size < old) {
		set_err(err, errlen, "new size must be a multiple of %u bytes, not below %llu",
		        lu->block_size, (unsigned long long)old);
		return -EINVAL;
	}
	if (atomic_load(&lu->sanitizing)) {
		set_err(err, errlen, "a SANITIZE is running on this LUN");
		return -EBUSY;
	}
	if (new_size == old)
		return 0;
	if (lu->bs.ops->resize) {
		rc = lu->bs.ops->resize(&lu->bs, new_size);
		if (rc) {
			set_err(err, errlen, "%s store: %s", lu->bs.ops->name, strerror(-rc));
			return rc;
		}
	} else if (spec->type == TGT_BS_FILE || spec->type == TGT_BS_NULL) {
		lu->bs.size = new_size;
	} else {
		set_err(err, errlen, "%s store cannot change its size", lu->bs.ops->name);
		return -ENOTSUP;
	}
	/* The store is grown before the LBA range that reaches it. */
	__atomic_store_n(&lu->nblocks, new_size >> lu->block_shift, __ATOMIC_RELEASE);
	/* SBC-4 4.6 / SPC-5 table 30: CAPACITY DATA HAS CHANGED, once per nexus. */
	tgt_lu_ua_raise(lu, TGT_UA_CAPACITY_CHANGED, UINT64_MAX);
	return 0;
}
