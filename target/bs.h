/*
 * Backing stores: one template (tgt's bs_* and HAProxy's ops struct), one
 * short file per store. The SCSI layer calls only the inline wrappers below,
 * never bs->ops->x directly.
 *
 * Every store implements the synchronous calls; a store that can complete
 * asynchronously (io_uring) also sets ops->submit, and the READ/WRITE fast
 * path goes through bs_submit(), which falls back to the synchronous calls
 * and completes inline when submit is NULL or refuses the I/O (non-zero:
 * no reactor on this thread, a buffer O_DIRECT cannot take, no ring). An
 * accepted I/O completes on the thread that submitted it, from that
 * thread's reactor (xt_group_poll), never from inside submit. Offsets and
 * lengths are bytes.
 */
#ifndef XISCSI_TARGET_BS_H
#define XISCSI_TARGET_BS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tgt_bs;

enum bs_io_op {
	BS_IO_READ,
	BS_IO_WRITE,
	BS_IO_FLUSH,
};

/* BS_IO_WRITE only: the data is on stable storage before completion (FUA). */
#define BS_IO_F_FUA 0x1

struct bs_io {
	enum bs_io_op op;
	unsigned flags;
	void *buf;
	size_t len;
	uint64_t off;
	/* Set by the store before done(): bytes moved, or -errno. */
	ssize_t res;
	void (*done)(struct bs_io *io);
	void *priv;
	/* The store's own while in flight: bs_submit() sets bs_. */
	struct tgt_bs *bs_;
	size_t done_;    /* bytes moved so far (short transfers go on) */
	unsigned tries_; /* -EAGAIN / -EINTR resubmissions */
};

/* What the LU asks of a store when it opens it. */
struct bs_open_args {
	const char *path; /* file stores only */
	uint64_t size;    /* bytes; 0: the size of the existing file or device */
	bool rdonly;
	bool dsync;          /* every write durable on completion: no volatile cache */
	bool direct;         /* O_DIRECT: no page cache (file stores) */
	bool sync_io;        /* no io_uring: pread/pwrite on the calling thread */
	uint32_t block_size; /* the LU's logical block size, for O_DIRECT alignment */
	/* bs_crypt_ops only: the store it encrypts into (ram or file), and
	 * where a file store's key lives (NULL or "": "<path>.key"). */
	const struct bs_ops *inner;
	const char *key_path;
	/* A one-line reason when open fails for more than errno says. */
	char *why;
	size_t whylen;
};

struct bs_ops {
	const char *name;
	/* Fill bs->size, bs->write_cache, bs->unmap_granularity, bs->priv. */
	int (*open)(struct tgt_bs *bs, const struct bs_open_args *a);
	void (*close)(struct tgt_bs *bs);
	/* Whole-length transfers: a short count is an error (-EIO). */
	int (*read)(struct tgt_bs *bs, void *buf, size_t len, uint64_t off);
	int (*write)(struct tgt_bs *bs, const void *buf, size_t len, uint64_t off, unsigned flags);
	int (*flush)(struct tgt_bs *bs);
	/* Deallocate; later reads of the range return zeros. NULL: no thin support. */
	int (*unmap)(struct tgt_bs *bs, uint64_t off, uint64_t len);
	/*
	 * Provisioning state at off: *mapped, and in *run the length in bytes
	 * (at least 1, at most the end of the store) that shares it.
	 */
	int (*lba_status)(struct tgt_bs *bs, uint64_t off, bool *mapped, uint64_t *run);
	/* Optional asynchronous READ/WRITE/FLUSH: 0 means io->done will run. */
	int (*submit)(struct tgt_bs *bs, struct bs_io *io);
	/*
	 * Optional: grow the store to size bytes (bs->size updated). The
	 * caller (tgt_lu_resize) guarantees that no read, write, unmap or
	 * lba_status runs meanwhile. NULL: the LU sets bs->size itself (null
	 * store; file stores are grown through their path).
	 */
	int (*resize)(struct tgt_bs *bs, uint64_t size);
};

struct tgt_bs {
	const struct bs_ops *ops;
	uint64_t size;
	/* A volatile write cache sits between a completed write and the medium. */
	bool write_cache;
	/* Bytes; unmap of a smaller aligned piece only zeroes it. */
	uint32_t unmap_granularity;
	void *priv;
};

extern const struct bs_ops bs_ram_ops;
extern const struct bs_ops bs_file_ops;
extern const struct bs_ops bs_null_ops;

/*
 * Encryption at rest (bs_crypt.c): AES-256-XTS per logical block, tweak =
 * LBA, over the store in bs_open_args.inner. The key is kept in
 * "<path>.key" for a file store, in memory for RAM. A block stored as all
 * zeros (never written, deallocated) reads as zeros.
 */
#define BS_CRYPT_KEY_LEN 64
extern const struct bs_ops bs_crypt_ops;
bool bs_is_crypt(const struct tgt_bs *bs);
/*
 * Cryptographic erase: a new random key (persisted first for a file store),
 * the old one cleansed; blocks written before now read as noise. The caller
 * keeps reads and writes away meanwhile, or they may see either key.
 */
int bs_crypt_rekey(struct tgt_bs *bs);

static inline int bs_open(struct tgt_bs *bs, const struct bs_ops *ops, const struct bs_open_args *a)
{
	bs->ops = ops;
	bs->priv = NULL;
	return ops->open(bs, a);
}

static inline void bs_close(struct tgt_bs *bs)
{
	if (bs->ops)
		bs->ops->close(bs);
	bs->ops = NULL;
}

static inline int bs_read(struct tgt_bs *bs, void *buf, size_t len, uint64_t off)
{
	return bs->ops->read(bs, buf, len, off);
}

static inline int bs_write(struct tgt_bs *bs, const void *buf, size_t len, uint64_t off,
                           unsigned flags)
{
	return bs->ops->write(bs, buf, len, off, flags);
}

static inline int bs_flush(struct tgt_bs *bs)
{
	return bs->ops->flush(bs);
}

static inline bool bs_can_unmap(const struct tgt_bs *bs)
{
	return bs->ops->unmap != NULL;
}

static inline int bs_unmap(struct tgt_bs *bs, uint64_t off, uint64_t len)
{
	return bs->ops->unmap ? bs->ops->unmap(bs, off, len) : -EOPNOTSUPP;
}

static inline int bs_lba_status(struct tgt_bs *bs, uint64_t off, bool *mapped, uint64_t *run)
{
	if (!bs->ops->lba_status) {
		*mapped = true;
		*run = bs->size - off;
		return 0;
	}
	return bs->ops->lba_status(bs, off, mapped, run);
}

/* Start io; io->done runs exactly once, possibly before this returns. */
static inline void bs_submit(struct tgt_bs *bs, struct bs_io *io)
{
	int rc;

	io->bs_ = bs;
	if (bs->ops->submit && bs->ops->submit(bs, io) == 0)
		return;
	switch (io->op) {
	case BS_IO_READ:
		rc = bs_read(bs, io->buf, io->len, io->off);
		break;
	case BS_IO_WRITE:
		rc = bs_write(bs, io->buf, io->len, io->off, io->flags);
		break;
	default:
		rc = bs_flush(bs);
		break;
	}
	io->res = rc < 0 ? rc : (ssize_t)io->len;
	io->done(io);
}

#endif
