/*
 * File store: a regular file or a block device, through pread/pwrite.
 * Durability is what the kernel gives: without O_DSYNC the page cache (and
 * the disk's cache) is a volatile write cache, so the LU advertises WCE=1
 * and SYNCHRONIZE CACHE / FUA reach fdatasync or RWF_DSYNC before GOOD.
 * UNMAP punches holes; GET LBA STATUS walks SEEK_DATA/SEEK_HOLE.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "target/bs.h"

struct bs_file {
	int fd;
	bool blockdev;
	bool dsync;
};

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
	/* A missing file is created only when a size says how big. */
	if (!a->rdonly && a->size)
		flags |= O_CREAT;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->dsync = a->dsync;
	f->fd = open(a->path, flags, 0600);
	if (f->fd < 0) {
		rc = -errno;
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
	bs->write_cache = !a->dsync;
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

static int file_read(struct tgt_bs *bs, void *buf, size_t len, uint64_t off)
{
	struct bs_file *f = bs->priv;
	uint8_t *p = buf;

	/* Bounded: each pass moves at least one byte or returns. */
	while (len) {
		ssize_t n = pread(f->fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			/* Past the end of a file shorter than the LU: zeros. */
			for (size_t i = 0; i < len; i++)
				p[i] = 0;
			return 0;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int file_write(struct tgt_bs *bs, const void *buf, size_t len, uint64_t off, unsigned flags)
{
	struct bs_file *f = bs->priv;
	const uint8_t *p = buf;
	/* RWF_DSYNC makes this one write durable, the FUA bit (SBC-4 5.40). */
	int rwf = (flags & BS_IO_F_FUA) && !f->dsync ? RWF_DSYNC : 0;

	while (len) {
		struct iovec iov = {.iov_base = (void *)p, .iov_len = len};
		ssize_t n = pwritev2(f->fd, &iov, 1, (off_t)off, rwf);

		if (n < 0) {
			if (errno == EINTR)
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

static int file_flush(struct tgt_bs *bs)
{
	struct bs_file *f = bs->priv;

	return fdatasync(f->fd) == 0 ? 0 : -errno;
}

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
};
