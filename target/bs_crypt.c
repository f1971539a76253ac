/*
 * Encryption at rest: a store stacked on another (ram or file). Every
 * logical block is one AES-256-XTS data unit (IEEE 1619) whose tweak is its
 * LBA, little-endian, so the inner store only ever holds ciphertext. The
 * 64-byte key comes from RAND_bytes when the LUN is first made; a file LUN
 * keeps it in "<path>.key" or the crypt-key= file (raw, mode 0600, replaced
 * by rename so a crash leaves the old key or the new one, never half), a
 * RAM LUN in memory only. A block device needs crypt-key= (beside it, the
 * key would live in /dev), and a key is only ever made for a store that
 * reads all zeros: a store with data and no key is refused.
 *
 * SANITIZE CRYPTO ERASE is bs_crypt_rekey(): a new key, the old one
 * cleansed, so every block written before decrypts to noise.
 *
 * Reads decrypt in place after the inner read; writes encrypt into a
 * bounce buffer. The asynchronous path wraps the caller's bs_io in one of
 * its own and decrypts in that one's completion, with the key as it was at
 * submission. The key is copied out under a mutex per call, so a rekey
 * never races a half-done transfer into a mixed key.
 *
 * A block whose stored bytes are all zeros reads as zeros, not decrypted:
 * it was never written, or deallocated (thin: the inner store's unmap and
 * lba_status pass through, and it zeroes or frees the blocks). A real
 * ciphertext block is all zeros with odds of 2^-4096. So a fresh LUN reads
 * zeros as a plain one does, LBPRZ holds, and a write next to a
 * deallocated block (same RAM granule or file system block) leaves that
 * block reading zeros. What this tells is only which blocks hold zeros on
 * the medium, which thin provisioning tells anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "target/bs.h"

struct bs_crypt {
	struct tgt_bs inner;
	uint32_t block_size;
	unsigned block_shift;
	pthread_mutex_t key_lock;
	uint8_t key[BS_CRYPT_KEY_LEN];
	/* "" for a key in memory only (RAM store). */
	char key_path[PATH_MAX];
};

/* One asynchronous transfer: the inner store's bs_io and what to finish. */
struct crypt_io {
	struct bs_io io;
	struct bs_io *orig;
	struct bs_crypt *c;
	void *bounce;
	uint8_t key[BS_CRYPT_KEY_LEN];
};

__attribute__((format(printf, 2, 3))) static void set_why(const struct bs_open_args *a,
                                                          const char *fmt, ...)
{
	va_list ap;

	if (!a->why || !a->whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(a->why, a->whylen, fmt, ap);
	va_end(ap);
}

static void key_get(struct bs_crypt *c, uint8_t *key)
{
	pthread_mutex_lock(&c->key_lock);
	memcpy(key, c->key, BS_CRYPT_KEY_LEN);
	pthread_mutex_unlock(&c->key_lock);
}

/*
 * En- or decrypt len bytes (whole blocks) of in into out (may be the same),
 * the first block being the one at byte offset off.
 */
static int crypt_blocks(const struct bs_crypt *c, const uint8_t *key, bool enc, const void *in,
                        void *out, size_t len, uint64_t off)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint64_t lba = off >> c->block_shift;
	const uint8_t *src = in;
	uint8_t *dst = out;
	int rc = -EIO;

	if (!ctx)
		return -ENOMEM;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_xts(), NULL, key, NULL, enc) != 1)
		goto out;
	for (size_t at = 0; at < len; at += c->block_size, lba++) {
		uint8_t iv[16] = {0};
		int outl;

		/* All zeros is no ciphertext (2^-4096 odds): never written. */
		if (!enc && src[at] == 0 &&
		    memcmp(src + at, src + at + 1, c->block_size - 1) == 0) {
			if (dst != src)
				memset(dst + at, 0, c->block_size);
			continue;
		}
		for (int i = 0; i < 8; i++)
			iv[i] = (uint8_t)(lba >> (8 * i));
		if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc) != 1 ||
		    EVP_CipherUpdate(ctx, dst + at, &outl, src + at, (int)c->block_size) != 1 ||
		    outl != (int)c->block_size)
			goto out;
	}
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static bool aligned(const struct bs_crypt *c, size_t len, uint64_t off)
{
	return ((len | off) & (c->block_size - 1)) == 0;
}

/* Write the key beside the data, atomically: a temporary, fsync, rename. */
static int key_store(const char *path, const uint8_t *key)
{
	char tmp[PATH_MAX + 8];
	char dir[PATH_MAX];
	char *slash;
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (fchmod(fd, 0600) || write(fd, key, BS_CRYPT_KEY_LEN) != BS_CRYPT_KEY_LEN || fsync(fd))
		rc = errno ? -errno : -EIO;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	/* The rename is durable once the directory is. */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd))
			rc = -errno;
		close(fd);
	}
	return rc;
}

/* 0, -ENOENT when there is no key file, or another -errno with a reason. */
static int key_load(const char *path, uint8_t *key, const struct bs_open_args *a)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size != BS_CRYPT_KEY_LEN) {
		close(fd);
		set_why(a, "crypt key %s: not a regular file of 64 bytes", path);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		close(fd);
		set_why(a, "crypt key %s is readable by others: chmod 600 it", path);
		return -EPERM;
	}
	n = read(fd, key, BS_CRYPT_KEY_LEN);
	close(fd);
	if (n != BS_CRYPT_KEY_LEN) {
		OPENSSL_cleanse(key, BS_CRYPT_KEY_LEN);
		set_why(a, "crypt key %s: short read", path);
		return -EIO;
	}
	return 0;
}

/* A fresh key whose two XTS halves differ (OpenSSL refuses equal ones). */
static int key_new(uint8_t *key)
{
	do {
		if (RAND_bytes(key, BS_CRYPT_KEY_LEN) != 1)
			return -EIO;
	} while (CRYPTO_memcmp(key, key + BS_CRYPT_KEY_LEN / 2, BS_CRYPT_KEY_LEN / 2) == 0);
	return 0;
}

/* Close the inner store, wipe the key, free. */
static void crypt_free(struct bs_crypt *c)
{
	bs_close(&c->inner);
	OPENSSL_cleanse(c->key, sizeof(c->key));
	pthread_mutex_destroy(&c->key_lock);
	free(c);
}

/* Does the inner store hold any nonzero byte? 0 no, 1 yes (*at: where),
 * or -errno. Read whole, in large pieces: this runs only when a key is
 * about to be made for a store that may already hold data. */
static int holds_data(struct tgt_bs *inner, uint64_t *at)
{
	const size_t chunk = 1u << 20;
	uint8_t *buf = malloc(chunk);
	uint64_t off;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	for (off = 0; off < inner->size && rc == 0; off += chunk) {
		size_t n = inner->size - off < chunk ? (size_t)(inner->size - off) : chunk;
		size_t i;

		rc = bs_read(inner, buf, n, off);
		if (rc)
			break;
		for (i = 0; i < n && !buf[i]; i++)
			;
		if (i < n) {
			*at = off + i;
			rc = 1;
		}
	}
	free(buf);
	return rc;
}

static int crypt_open(struct tgt_bs *bs, const struct bs_open_args *a)
{
	struct bs_open_args ia = *a;
	const char *kp = a->key_path && *a->key_path ? a->key_path : NULL; /* crypt-key= */
	struct bs_crypt *c;
	bool fresh = false;
	struct stat st;
	uint64_t at = 0;
	int rc;

	if (!a->inner || a->inner == &bs_crypt_ops ||
	    (a->block_size != 512 && a->block_size != 4096))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->key_lock, NULL);
	c->block_size = a->block_size;
	c->block_shift = a->block_size == 4096 ? 12 : 9;
	if (kp && !(a->path && *a->path)) {
		set_why(a, "crypt-key= is for file stores; a RAM store keeps its key in memory");
		rc = -EINVAL;
		goto fail;
	}
	if (a->path && *a->path) {
		/* Beside a block device the key would sit in /dev, which is
		 * gone at the next boot, and the data with it. */
		if (!kp && stat(a->path, &st) == 0 && !S_ISREG(st.st_mode)) {
			set_why(a,
			        "crypt on %s (not a regular file) needs crypt-key=PATH: a key "
			        "file on a persistent file system",
			        a->path);
			rc = -EINVAL;
			goto fail;
		}
		if (snprintf(c->key_path, sizeof(c->key_path), "%s%s", kp ? kp : a->path,
		             kp ? "" : ".key") >= (int)sizeof(c->key_path)) {
			rc = -ENAMETOOLONG;
			goto fail;
		}
		rc = key_load(c->key_path, c->key, a);
		if (rc == -ENOENT) {
			fresh = true;
		} else if (rc) {
			if (a->why && a->whylen && !*a->why)
				set_why(a, "crypt key %s: %s", c->key_path, strerror(-rc));
			goto fail;
		}
	} else {
		fresh = true;
	}
	if (fresh && (rc = key_new(c->key)) != 0) {
		set_why(a, "crypt: RAND_bytes failed");
		goto fail;
	}
	ia.inner = NULL;
	rc = bs_open(&c->inner, a->inner, &ia);
	if (rc) {
		c->inner.ops = NULL;
		goto fail;
	}
	if (fresh && *c->key_path) {
		/* Data without its key would be noise: never start over it. A
		 * store that reads all zeros holds nothing (and a fresh crypt
		 * LUN reads zeros where nothing was written: see the top). */
		rc = holds_data(&c->inner, &at);
		if (rc == 1) {
			set_why(a,
			        "crypt: %s holds data (a nonzero byte at offset %llu) but its key "
			        "%s is missing; refusing to open (a new encrypted LUN needs a "
			        "store of zeros)",
			        a->path, (unsigned long long)at, c->key_path);
			rc = -ENOKEY;
			goto fail;
		}
		if (rc) {
			set_why(a, "crypt: cannot read %s to check it is empty: %s", a->path,
			        strerror(-rc));
			goto fail;
		}
		rc = key_store(c->key_path, c->key);
		if (rc) {
			set_why(a, "crypt: cannot write key %s: %s", c->key_path, strerror(-rc));
			goto fail;
		}
	}
	bs->priv = c;
	/* A trailing partial block is no data unit: the LU never reaches it. */
	bs->size = c->inner.size & ~(uint64_t)(c->block_size - 1);
	bs->write_cache = c->inner.write_cache;
	bs->unmap_granularity = c->inner.unmap_granularity;
	return 0;
fail:
	crypt_free(c);
	return rc;
}

static void crypt_close(struct tgt_bs *bs)
{
	if (bs->priv)
		crypt_free(bs->priv);
	bs->priv = NULL;
}

static int read_aligned(struct bs_crypt *c, void *buf, size_t len, uint64_t off)
{
	uint8_t key[BS_CRYPT_KEY_LEN];
	int rc = bs_read(&c->inner, buf, len, off);

	if (rc)
		return rc;
	key_get(c, key);
	rc = crypt_blocks(c, key, false, buf, buf, len, off);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

static int write_aligned(struct bs_crypt *c, const void *buf, size_t len, uint64_t off,
                         unsigned flags)
{
	uint8_t key[BS_CRYPT_KEY_LEN];
	void *bounce;
	int rc;

	/* Block aligned for a file store opened O_DIRECT. */
	if (posix_memalign(&bounce, 4096, len ? len : 1))
		return -ENOMEM;
	key_get(c, key);
	rc = crypt_blocks(c, key, true, buf, bounce, len, off);
	OPENSSL_cleanse(key, sizeof(key));
	if (!rc)
		rc = bs_write(&c->inner, bounce, len, off, flags);
	free(bounce);
	return rc;
}

/*
 * A part of a block (the SCSI layer cuts a transfer to the initiator's
 * expected length): the whole blocks around it are read and decrypted,
 * and for a write patched, encrypted and written back. Such a write is
 * not atomic against another write to the same block.
 */
static int crypt_partial(struct bs_crypt *c, void *rbuf, const void *wbuf, size_t len, uint64_t off,
                         unsigned flags)
{
	uint64_t a0 = off & ~(uint64_t)(c->block_size - 1);
	uint64_t a1 = (off + len + c->block_size - 1) & ~(uint64_t)(c->block_size - 1);
	uint8_t *tmp;
	int rc;

	if (posix_memalign((void **)&tmp, 4096, (size_t)(a1 - a0)))
		return -ENOMEM;
	rc = read_aligned(c, tmp, (size_t)(a1 - a0), a0);
	if (!rc && rbuf)
		memcpy(rbuf, tmp + (off - a0), len);
	if (!rc && wbuf) {
		memcpy(tmp + (off - a0), wbuf, len);
		rc = write_aligned(c, tmp, (size_t)(a1 - a0), a0, flags);
	}
	OPENSSL_cleanse(tmp, (size_t)(a1 - a0));
	free(tmp);
	return rc;
}

static bool in_range(const struct tgt_bs *bs, size_t len, uint64_t off)
{
	return off <= bs->size && len <= bs->size - off;
}

static int crypt_read(struct tgt_bs *bs, void *buf, size_t len, uint64_t off)
{
	struct bs_crypt *c = bs->priv;

	if (!in_range(bs, len, off))
		return -EINVAL;
	if (!aligned(c, len, off))
		return crypt_partial(c, buf, NULL, len, off, 0);
	return read_aligned(c, buf, len, off);
}

static int crypt_write(struct tgt_bs *bs, const void *buf, size_t len, uint64_t off, unsigned flags)
{
	struct bs_crypt *c = bs->priv;

	if (!in_range(bs, len, off))
		return -EINVAL;
	if (!aligned(c, len, off))
		return crypt_partial(c, NULL, buf, len, off, flags);
	return write_aligned(c, buf, len, off, flags);
}

static int crypt_flush(struct tgt_bs *bs)
{
	struct bs_crypt *c = bs->priv;

	return bs_flush(&c->inner);
}

/* Deallocated blocks read zeros from the inner store, and so from here. */
static int crypt_unmap(struct tgt_bs *bs, uint64_t off, uint64_t len)
{
	struct bs_crypt *c = bs->priv;

	return bs_unmap(&c->inner, off, len);
}

static int crypt_lba_status(struct tgt_bs *bs, uint64_t off, bool *mapped, uint64_t *run)
{
	struct bs_crypt *c = bs->priv;

	return bs_lba_status(&c->inner, off, mapped, run);
}

static void crypt_io_done(struct bs_io *io)
{
	struct crypt_io *w = (struct crypt_io *)io;
	struct bs_io *orig = w->orig;

	orig->res = io->res;
	if (io->op == BS_IO_READ && io->res >= 0) {
		if ((size_t)io->res != orig->len)
			orig->res = -EIO;
		else if (crypt_blocks(w->c, w->key, false, orig->buf, orig->buf, orig->len,
		                      orig->off))
			orig->res = -EIO;
	}
	OPENSSL_cleanse(w->key, sizeof(w->key));
	free(w->bounce);
	free(w);
	orig->done(orig);
}

static int crypt_submit(struct tgt_bs *bs, struct bs_io *io)
{
	struct bs_crypt *c = bs->priv;
	struct crypt_io *w;
	int rc;

	/* Without an asynchronous inner store, bs_submit() does it inline. */
	if (!c->inner.ops->submit)
		return -EOPNOTSUPP;
	/* A part of a block goes the synchronous way (crypt_partial). */
	if (io->op != BS_IO_FLUSH && !aligned(c, io->len, io->off))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->orig = io;
	w->c = c;
	w->io.op = io->op;
	w->io.flags = io->flags;
	w->io.buf = io->buf;
	w->io.len = io->len;
	w->io.off = io->off;
	w->io.done = crypt_io_done;
	key_get(c, w->key);
	if (io->op == BS_IO_WRITE) {
		if (posix_memalign(&w->bounce, 4096, io->len ? io->len : 1)) {
			w->bounce = NULL;
			rc = -ENOMEM;
			goto fail;
		}
		rc = crypt_blocks(c, w->key, true, io->buf, w->bounce, io->len, io->off);
		if (rc)
			goto fail;
		w->io.buf = w->bounce;
	}
	w->io.bs_ = &c->inner;
	rc = c->inner.ops->submit(&c->inner, &w->io);
	if (rc == 0)
		return 0;
fail:
	/* Refused: the caller falls back to crypt_read / crypt_write. */
	OPENSSL_cleanse(w->key, sizeof(w->key));
	free(w->bounce);
	free(w);
	return rc ? rc : -EIO;
}

static int crypt_resize(struct tgt_bs *bs, uint64_t size)
{
	struct bs_crypt *c = bs->priv;
	int rc;

	if (size & (c->block_size - 1))
		return -EINVAL;
	if (c->inner.ops->resize) {
		rc = c->inner.ops->resize(&c->inner, size);
		if (rc)
			return rc;
	} else {
		/* File stores are grown through their path by the LU. */
		c->inner.size = size;
	}
	bs->size = size;
	return 0;
}

const struct bs_ops bs_crypt_ops = {
        .name = "crypt",
        .open = crypt_open,
        .close = crypt_close,
        .read = crypt_read,
        .write = crypt_write,
        .flush = crypt_flush,
        .unmap = crypt_unmap,
        .lba_status = crypt_lba_status,
        .submit = crypt_submit,
        .resize = crypt_resize,
};

bool bs_is_crypt(const struct tgt_bs *bs)
{
	return bs->ops == &bs_crypt_ops;
}

int bs_crypt_rekey(struct tgt_bs *bs)
{
	struct bs_crypt *c;
	uint8_t key[BS_CRYPT_KEY_LEN];
	int rc;

	if (!bs_is_crypt(bs))
		return -EOPNOTSUPP;
	c = bs->priv;
	rc = key_new(key);
	if (rc)
		return rc;
	/* The new key is durable before the old one is forgotten. */
	if (*c->key_path && (rc = key_store(c->key_path, key)) != 0) {
		OPENSSL_cleanse(key, sizeof(key));
		return rc;
	}
	pthread_mutex_lock(&c->key_lock);
	OPENSSL_cleanse(c->key, sizeof(c->key));
	memcpy(c->key, key, sizeof(key));
	pthread_mutex_unlock(&c->key_lock);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}
