/*
 * File store: a regular file or a block device.
 *
 * I/O: READ, WRITE and SYNCHRONIZE CACHE from a reactor thread go to that
 * thread's own io_uring (one per thread, shared by every file store, so
 * the per-I/O path takes no lock); the ring signals the reactor's wake
 * eventfd and a transport poller reaps it on the same thread. Everything
 * else (COMPARE AND WRITE, WRITE SAME, copies, sanitize, threads with no
 * reactor) and every store opened with aio=sync or where io_uring is
 * unavailable uses pread/pwrite on the calling thread.
 *
 * Durability: without O_DSYNC the page cache (and the disk's cache) is a
 * volatile write cache, so the LU advertises WCE=1 and FUA / SYNCHRONIZE
 * CACHE reach RWF_DSYNC / fdatasync before GOOD. With O_DIRECT on a block
 * device the device's own cache decides (queue/write_cache in sysfs); on
 * a regular file block allocation still needs fdatasync, so WCE stays 1.
 *
 * O_DIRECT needs buffers, offsets and lengths aligned to what the file or
 * device asks (statx STATX_DIOALIGN, BLKSSZGET). The LU's block size must
 * be a multiple of the offset alignment, else open refuses. Task buffers
 * are page aligned (target/session.c); any other buffer goes through an
 * aligned bounce buffer on the synchronous path.
 *
 * UNMAP punches holes; GET LBA STATUS walks SEEK_DATA/SEEK_HOLE.
 *
 * XTGTD_NO_URING=1 in the environment makes io_uring count as unavailable
 * (for tests of the fallback).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <liburing.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/log.h"
#include "target/bs.h"
#include "transport/transport.h"

/* SQEs per thread ring; the completion queue is twice that. */
#define FILE_RING_DEPTH 256
/* Resubmissions of one I/O after -EAGAIN / -EINTR before it fails. */
#define FILE_RETRY_MAX 64
/* Completions handled per poller pass, so one ring cannot starve sockets. */
#define FILE_REAP_MAX 256
/* Bounce buffer for O_DIRECT on an unaligned buffer, bytes per pass. */
#define FILE_BOUNCE_MAX (1u << 20)

struct bs_file {
	int fd;
	bool blockdev;
	bool dsync;
	bool direct;
	bool uring;
	uint32_t dio_mem_align; /* O_DIRECT: buffer address and length */
	uint32_t dio_off_align; /* O_DIRECT: file offset and length */
};

static void file_set_why(const struct bs_open_args *a, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void file_set_why(const struct bs_open_args *a, const char *fmt, ...)
{
	va_list ap;

	if (!a->why || !a->whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(a->why, a->whylen, fmt, ap);
	va_end(ap);
}

/* ---- io_uring availability, decided once per process ---- */

static pthread_once_t uring_once = PTHREAD_ONCE_INIT;
static int uring_err; /* 0: usable */

static void uring_probe(void)
{
	struct io_uring ring;
	const char *env = getenv("XTGTD_NO_URING");

	if (env && *env && strcmp(env, "0") != 0) {
		uring_err = -ENOTSUP;
		return;
	}
	uring_err = io_uring_queue_init(2, &ring, 0);
	if (uring_err == 0)
		io_uring_queue_exit(&ring);
}

static const char *uring_why(int err)
{
	switch (err) {
	case -ENOTSUP:
		return "XTGTD_NO_URING is set";
	case -EPERM:
		return "not permitted (sysctl kernel.io_uring_disabled?)";
	case -ENOSYS:
		return "not in this kernel";
	default:
		return strerror(-err);
	}
}

/* 0 when file stores can use io_uring; the first refusal is logged once. */
static int uring_usable(void)
{
	static atomic_bool logged;

	pthread_once(&uring_once, uring_probe);
	if (uring_err && !atomic_exchange(&logged, true))
		log_warn("file stores: io_uring unavailable (%s); using synchronous "
		         "pread/pwrite on the reactor threads",
		         uring_why(uring_err));
	return uring_err;
}

/* ---- one ring per reactor thread ---- */

struct file_ring {
	struct io_uring ring;
	struct xt_group *g; /* the reactor whose wake eventfd the ring signals */
	struct xt_poller poller;
	unsigned queued;   /* SQEs prepared, not yet submitted */
	unsigned inflight; /* I/Os accepted and not yet completed */
};

static __thread struct file_ring *tl_ring;
static __thread bool tl_ring_failed;
static pthread_key_t ring_key;
static pthread_once_t ring_key_once = PTHREAD_ONCE_INIT;

static int ring_poll(void *arg);
static void ring_sync_finish(struct bs_io *io);

/* Thread exit: what is still in flight completes first (bounded). */
static void ring_free(void *arg)
{
	struct file_ring *r = arg;
	struct __kernel_timespec ts = {.tv_sec = 1};

	for (int i = 0; i < 30 && r->inflight; i++) {
		struct io_uring_cqe *cqe;

		if (r->queued) {
			io_uring_submit(&r->ring);
			r->queued = 0;
		}
		if (io_uring_wait_cqe_timeout(&r->ring, &cqe, &ts) == 0)
			ring_poll(r);
	}
	/* The reactor's thread is ending: no one polls the group any more. */
	if (r->g)
		xt_poller_del(r->g, &r->poller);
	io_uring_queue_exit(&r->ring);
	free(r);
	tl_ring = NULL;
}

static void ring_key_make(void)
{
	pthread_key_create(&ring_key, ring_free);
}

/* The group is being destroyed: its eventfd goes, its poller list too. */
static void ring_unbind(void *arg)
{
	struct file_ring *r = arg;

	io_uring_unregister_eventfd(&r->ring);
	r->g = NULL;
}

static int ring_bind(struct file_ring *r, struct xt_group *g)
{
	int rc;

	if (r->g) {
		xt_poller_del(r->g, &r->poller);
		io_uring_unregister_eventfd(&r->ring);
	}
	r->g = NULL;
	rc = io_uring_register_eventfd(&r->ring, xt_group_wake_fd(g));
	if (rc)
		return rc;
	r->g = g;
	r->poller.fn = ring_poll;
	r->poller.fini = ring_unbind;
	r->poller.arg = r;
	xt_poller_add(g, &r->poller);
	return 0;
}

/* This thread's ring, made on first use; NULL off a reactor thread. */
static struct file_ring *ring_get(void)
{
	struct xt_group *g = xt_group_current();
	struct file_ring *r = tl_ring;
	int rc;

	if (!g || tl_ring_failed)
		return NULL;
	if (r) {
		/* The thread's group was replaced (tests): follow it. */
		if (r->g != g && (r->inflight || ring_bind(r, g)))
			return NULL;
		return r;
	}
	pthread_once(&ring_key_once, ring_key_make);
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	rc = io_uring_queue_init(FILE_RING_DEPTH, &r->ring, 0);
	if (rc) {
		free(r);
		tl_ring_failed = true;
		log_warn("file stores: no io_uring for this reactor thread (%s); "
		         "synchronous I/O on it",
		         strerror(-rc));
		return NULL;
	}
	rc = ring_bind(r, g);
	if (rc) {
		io_uring_queue_exit(&r->ring);
		free(r);
		tl_ring_failed = true;
		log_warn("file stores: cannot signal the reactor from io_uring (%s); "
		         "synchronous I/O on this thread",
		         strerror(-rc));
		return NULL;
	}
	tl_ring = r;
	pthread_setspecific(ring_key, r);
	return r;
}

/* Queue the rest of io (from io->done_ on). 0, or -EBUSY with no SQE. */
static int ring_prep(struct file_ring *r, struct bs_io *io)
{
	struct bs_file *f = io->bs_->priv;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe) {
		/* The queue is full of prepared SQEs: hand them over first. */
		if (io_uring_submit(&r->ring) >= 0)
			r->queued = 0;
		sqe = io_uring_get_sqe(&r->ring);
		if (!sqe)
			return -EBUSY;
	}
	switch (io->op) {
	case BS_IO_READ:
		io_uring_prep_read(sqe, f->fd, (uint8_t *)io->buf + io->done_,
		                   (unsigned)(io->len - io->done_), io->off + io->done_);
		break;
	case BS_IO_WRITE:
		io_uring_prep_write(sqe, f->fd, (const uint8_t *)io->buf + io->done_,
		                    (unsigned)(io->len - io->done_), io->off + io->done_);
		/* RWF_DSYNC makes this one write durable, the FUA bit (SBC-4 5.40). */
		if ((io->flags & BS_IO_F_FUA) && !f->dsync)
			sqe->rw_flags = RWF_DSYNC;
		break;
	default:
		io_uring_prep_fsync(sqe, f->fd, IORING_FSYNC_DATASYNC);
		break;
	}
	io_uring_sqe_set_data(sqe, io);
	r->queued++;
	return 0;
}

static void ring_finish(struct file_ring *r, struct bs_io *io, ssize_t res)
{
	r->inflight--;
	io->res = res;
	io->done(io);
}

static void ring_complete(struct file_ring *r, struct bs_io *io, int res)
{
	if ((res == -EAGAIN || res == -EINTR) && io->tries_++ < FILE_RETRY_MAX) {
		if (ring_prep(r, io) == 0)
			return;
		r->inflight--;
		ring_sync_finish(io);
		return;
	}
	if (res < 0) {
		ring_finish(r, io, res);
		return;
	}
	if (io->op == BS_IO_FLUSH) {
		ring_finish(r, io, 0);
		return;
	}
	if (res == 0) {
		if (io->op == BS_IO_WRITE) {
			ring_finish(r, io, -EIO);
			return;
		}
		/* Past the end of a file shorter than the LU: zeros. */
		memset((uint8_t *)io->buf + io->done_, 0, io->len - io->done_);
		io->done_ = io->len;
	} else {
		io->done_ += (size_t)res;
	}
	if (io->done_ < io->len) {
		/* A short transfer: the rest goes again. */
		if (ring_prep(r, io) == 0)
			return;
		r->inflight--;
		ring_sync_finish(io);
		return;
	}
	ring_finish(r, io, (ssize_t)io->len);
}

static unsigned ring_reap(struct file_ring *r)
{
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	/* One at a time: a completion may queue the rest of a short I/O. */
	while (n < FILE_REAP_MAX && io_uring_peek_cqe(&r->ring, &cqe) == 0) {
		struct bs_io *io = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&r->ring, cqe);
		n++;
		ring_complete(r, io, res);
	}
	return n;
}

/*
 * The reactor's poller: submit what this pass queued, reap what is done.
 * While it works the ring does not signal the eventfd (each CQE would wake
 * the reactor once more for nothing); it signals again before the reactor
 * can sleep, and a last reap takes what came in between.
 */
static int ring_poll(void *arg)
{
	struct file_ring *r = arg;
	unsigned n = 0;

	if (!r->inflight)
		return 0;
	io_uring_cq_eventfd_toggle(&r->ring, false);
	for (int pass = 0; pass < 4; pass++) {
		if (r->queued) {
			int rc = io_uring_submit(&r->ring);

			if (rc >= 0)
				r->queued = 0;
		}
		n += ring_reap(r);
		if (!r->queued)
			break;
	}
	io_uring_cq_eventfd_toggle(&r->ring, true);
	n += ring_reap(r);
	/* Queued and not submitted: the next pass must not sleep. */
	return (int)n + (r->queued ? 1 : 0);
}

/* ---- open / close ---- */

/* Does the block device behind st keep a volatile write cache? */
static bool blockdev_write_cache(const struct stat *st)
{
	static const char *const where[] = {"queue/write_cache", "../queue/write_cache"};
	char path[128], val[32];

	/* A partition has no queue of its own: its disk's is one level up. */
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		FILE *fp;

		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major(st->st_rdev),
		         minor(st->st_rdev), where[i]);
		fp = fopen(path, "re");
		if (!fp)
			continue;
		if (!fgets(val, sizeof(val), fp))
			val[0] = '\0';
		fclose(fp);
		if (strncmp(val, "write through", 13) == 0)
			return false;
		if (strncmp(val, "write back", 10) == 0)
			return true;
	}
	/* Unknown: assume a cache, which costs flushes but never data. */
	return true;
}

/* O_DIRECT alignment of f->fd into f; 0 or -EINVAL when it has none. */
static int dio_align(struct bs_file *f)
{
	struct statx stx;

	if (f->blockdev) {
		int lbs = 0;

		if (ioctl(f->fd, BLKSSZGET, &lbs) != 0)
			return -errno;
		if (lbs <= 0)
			return -EINVAL;
		f->dio_off_align = (uint32_t)lbs;
		f->dio_mem_align = (uint32_t)lbs;
		return 0;
	}
	if (statx(f->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN)) {
		if (!stx.stx_dio_offset_align || !stx.stx_dio_mem_align)
			return -EINVAL; /* the file system says: no direct I/O here */
		f->dio_off_align = stx.stx_dio_offset_align;
		f->dio_mem_align = stx.stx_dio_mem_align;
		return 0;
	}
	/* No answer from statx (before Linux 6.1): a page is always enough. */
	f->dio_off_align = 4096;
	f->dio_mem_align = 4096;
	return 0;
}

static int file_open(struct tgt_bs *bs, const struct bs_open_args *a)
{
	struct bs_file *f;
	struct stat st;
	int flags = O_CLOEXEC | (a->rdonly ? O_RDONLY : O_RDWR);
	int rc = 0;

	if (!a->path || !*a->path)
		return -EINVAL;
	if (a->dsync)
		flags |= O_DSYNC;
	if (a->direct)
		flags |= O_DIRECT;
	/* A missing file is created only when a size says how big. */
	if (!a->rdonly && a->size)
		flags |= O_CREAT;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->dsync = a->dsync;
	f->direct = a->direct;
	f->fd = open(a->path, flags, 0600);
	if (f->fd < 0) {
		rc = -errno;
		if (rc == -EINVAL && a->direct)
			file_set_why(a, "file store %s: O_DIRECT (direct) is not supported there",
			             a->path);
		goto out;
	}
	if (fstat(f->fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t dev_size;

		f->blockdev = true;
		if (ioctl(f->fd, BLKGETSIZE64, &dev_size) != 0) {
			rc = -errno;
			goto out;
		}
		if (a->size > dev_size) {
			rc = -ENOSPC;
			goto out;
		}
		bs->size = a->size ? a->size : dev_size;
	} else if (S_ISREG(st.st_mode)) {
		if (a->size > (uint64_t)st.st_size) {
			if (a->rdonly) {
				rc = -ENOSPC;
				goto out;
			}
			/* Grow sparse: the new tail is a hole, reported deallocated. */
			if (ftruncate(f->fd, (off_t)a->size) != 0) {
				rc = -errno;
				goto out;
			}
		}
		bs->size = a->size ? a->size : (uint64_t)st.st_size;
	} else {
		rc = -EINVAL;
		goto out;
	}
	if (bs->size == 0) {
		rc = -EINVAL;
		goto out;
	}
	if (a->direct) {
		uint32_t lbs = a->block_size ? a->block_size : 512;

		rc = dio_align(f);
		if (rc) {
			file_set_why(a, "file store %s: O_DIRECT (direct) is not supported there",
			             a->path);
			goto out;
		}
		if (f->dio_mem_align > 4096) {
			/* Task buffers are page aligned (target/session.c). */
			file_set_why(a,
			             "file store %s: direct I/O there needs %u-byte aligned "
			             "memory, more than a page (drop direct)",
			             a->path, f->dio_mem_align);
			rc = -EINVAL;
			goto out;
		}
		if (lbs % f->dio_off_align) {
			file_set_why(a,
			             "file store %s: direct I/O there needs %u-byte aligned "
			             "blocks; %u-byte logical blocks do not fit (use bs=4096 or "
			             "drop direct)",
			             a->path, f->dio_off_align, lbs);
			rc = -EINVAL;
			goto out;
		}
	}
	if (a->dsync)
		bs->write_cache = false;
	else if (a->direct && f->blockdev)
		bs->write_cache = blockdev_write_cache(&st);
	else
		bs->write_cache = true;
	f->uring = !a->sync_io && uring_usable() == 0;
	bs->unmap_granularity = st.st_blksize > 0 ? (uint32_t)st.st_blksize : 4096;
	bs->priv = f;
out:
	if (rc) {
		if (f->fd >= 0)
			close(f->fd);
		free(f);
	}
	return rc;
}

static void file_close(struct tgt_bs *bs)
{
	struct bs_file *f = bs->priv;

	if (!f)
		return;
	close(f->fd);
	free(f);
	bs->priv = NULL;
}

/* ---- synchronous path ---- */

static bool dio_aligned(const struct bs_file *f, const void *buf, size_t len, uint64_t off)
{
	return !((uintptr_t)buf % f->dio_mem_align) && !(len % f->dio_off_align) &&
	       !(off % f->dio_off_align);
}

static int file_pread(int fd, uint8_t *p, size_t len, uint64_t off)
{
	/* Bounded: each pass moves at least one byte or returns. */
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0) {
			/* Past the end of a file shorter than the LU: zeros. */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int file_pwrite(int fd, const uint8_t *p, size_t len, uint64_t off, int rwf)
{
	while (len) {
		struct iovec iov = {.iov_base = (void *)p, .iov_len = len};
		ssize_t n = pwritev2(fd, &iov, 1, (off_t)off, rwf);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* O_DIRECT from or into a buffer it cannot take: through an aligned copy. */
static int file_bounce(struct bs_file *f, uint8_t *rbuf, const uint8_t *wbuf, size_t len,
                       uint64_t off, int rwf)
{
	size_t chunk = len < FILE_BOUNCE_MAX ? len : FILE_BOUNCE_MAX;
	uint8_t *b = NULL;
	int rc = 0;

	if (len % f->dio_off_align || off % f->dio_off_align)
		return -EINVAL; /* never from the SCSI layer: blocks are multiples */
	if (posix_memalign((void **)&b, 4096, chunk))
		return -ENOMEM;
	for (size_t done = 0; done < len && !rc; done += chunk) {
		size_t n = len - done < chunk ? len - done : chunk;

		if (rbuf) {
			rc = file_pread(f->fd, b, n, off + done);
			if (!rc)
				memcpy(rbuf + done, b, n);
		} else {
			memcpy(b, wbuf + done, n);
			rc = file_pwrite(f->fd, b, n, off + done, rwf);
		}
	}
	free(b);
	return rc;
}

static int file_read(struct tgt_bs *bs, void *buf, size_t len, uint64_t off)
{
	struct bs_file *f = bs->priv;

	if (f->direct && !dio_aligned(f, buf, len, off))
		return file_bounce(f, buf, NULL, len, off, 0);
	return file_pread(f->fd, buf, len, off);
}

static int file_write(struct tgt_bs *bs, const void *buf, size_t len, uint64_t off, unsigned flags)
{
	struct bs_file *f = bs->priv;
	/* RWF_DSYNC makes this one write durable, the FUA bit (SBC-4 5.40). */
	int rwf = (flags & BS_IO_F_FUA) && !f->dsync ? RWF_DSYNC : 0;

	if (f->direct && !dio_aligned(f, buf, len, off))
		return file_bounce(f, NULL, buf, len, off, rwf);
	return file_pwrite(f->fd, buf, len, off, rwf);
}

static int file_flush(struct tgt_bs *bs)
{
	struct bs_file *f = bs->priv;

	return fdatasync(f->fd) == 0 ? 0 : -errno;
}

/* An I/O the ring could not go on with: the rest, synchronously, now. */
static void ring_sync_finish(struct bs_io *io)
{
	struct tgt_bs *bs = io->bs_;
	int rc;

	switch (io->op) {
	case BS_IO_READ:
		rc = file_read(bs, (uint8_t *)io->buf + io->done_, io->len - io->done_,
		               io->off + io->done_);
		break;
	case BS_IO_WRITE:
		rc = file_write(bs, (const uint8_t *)io->buf + io->done_, io->len - io->done_,
		                io->off + io->done_, io->flags);
		break;
	default:
		rc = file_flush(bs);
		break;
	}
	io->res = rc < 0 ? rc : (ssize_t)io->len;
	io->done(io);
}

/* ---- asynchronous path ---- */

static int file_submit(struct tgt_bs *bs, struct bs_io *io)
{
	struct bs_file *f = bs->priv;
	struct file_ring *r;

	if (!f->uring)
		return -ENOTSUP;
	/* One SQE moves at most UINT_MAX bytes; SCSI transfers are far less. */
	if (io->len > UINT_MAX)
		return -ENOTSUP;
	if (f->direct && io->op != BS_IO_FLUSH && !dio_aligned(f, io->buf, io->len, io->off))
		return -ENOTSUP;
	r = ring_get();
	if (!r)
		return -ENOTSUP;
	io->done_ = 0;
	io->tries_ = 0;
	if (ring_prep(r, io))
		return -EBUSY;
	r->inflight++;
	return 0;
}

/* ---- provisioning ---- */

static int file_unmap(struct tgt_bs *bs, uint64_t off, uint64_t len)
{
	struct bs_file *f = bs->priv;

	if (off > bs->size || len > bs->size - off)
		return -EINVAL;
	if (len == 0)
		return 0;
	/* Punching a hole zeroes partial blocks, so reads after it see zeros. */
	if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) ==
	    0)
		return 0;
	if (f->blockdev && ioctl(f->fd, BLKZEROOUT, (uint64_t[2]){off, len}) == 0)
		return 0;
	return -errno;
}

static int file_lba_status(struct tgt_bs *bs, uint64_t off, bool *mapped, uint64_t *run)
{
	struct bs_file *f = bs->priv;
	off_t data, hole;

	if (off >= bs->size)
		return -EINVAL;
	if (f->blockdev)
		goto all_mapped;
	data = lseek(f->fd, (off_t)off, SEEK_DATA);
	if (data < 0) {
		if (errno != ENXIO)
			goto all_mapped;
		/* No data from off to the end of the file: one hole. */
		*mapped = false;
		*run = bs->size - off;
		return 0;
	}
	if ((uint64_t)data > off) {
		*mapped = false;
		*run = ((uint64_t)data < bs->size ? (uint64_t)data : bs->size) - off;
		return 0;
	}
	hole = lseek(f->fd, (off_t)off, SEEK_HOLE);
	if (hole < 0)
		goto all_mapped;
	*mapped = true;
	*run = ((uint64_t)hole < bs->size ? (uint64_t)hole : bs->size) - off;
	if (*run == 0)
		*run = bs->size - off;
	return 0;
all_mapped:
	/* No way to ask: every block counts as mapped, which is never wrong. */
	*mapped = true;
	*run = bs->size - off;
	return 0;
}

const struct bs_ops bs_file_ops = {
        .name = "file",
        .open = file_open,
        .close = file_close,
        .read = file_read,
        .write = file_write,
        .flush = file_flush,
        .unmap = file_unmap,
        .lba_status = file_lba_status,
        .submit = file_submit,
};
