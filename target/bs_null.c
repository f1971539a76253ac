/* Null store: reads zeros, discards writes. For measuring the stack alone. */
#include <string.h>

#include "target/bs.h"

static int null_open(struct tgt_bs *bs, const struct bs_open_args *a)
{
	if (a->size == 0)
		return -EINVAL;
	bs->size = a->size;
	bs->write_cache = false;
	bs->unmap_granularity = 4096;
	return 0;
}

static void null_close(struct tgt_bs *bs)
{
}

static int null_read(struct tgt_bs *bs, void *buf, size_t len, uint64_t off)
{
	memset(buf, 0, len);
	return 0;
}

static int null_write(struct tgt_bs *bs, const void *buf, size_t len, uint64_t off, unsigned flags)
{
	return 0;
}

static int null_flush(struct tgt_bs *bs)
{
	return 0;
}

static int null_unmap(struct tgt_bs *bs, uint64_t off, uint64_t len)
{
	return 0;
}

/* Nothing is ever stored, so every block reads as deallocated zeros. */
static int null_lba_status(struct tgt_bs *bs, uint64_t off, bool *mapped, uint64_t *run)
{
	*mapped = false;
	*run = bs->size - off;
	return 0;
}

const struct bs_ops bs_null_ops = {
        .name = "null",
        .open = null_open,
        .close = null_close,
        .read = null_read,
        .write = null_write,
        .flush = null_flush,
        .unmap = null_unmap,
        .lba_status = null_lba_status,
};
