/*
 * RAM store. One anonymous mapping of the whole size with MAP_NORESERVE: the
 * kernel allocates a page on first write only, untouched pages read as
 * zeros, and MADV_DONTNEED gives pages back on UNMAP (reads then see zeros
 * again). This is safe against concurrent readers and writers without a
 * lock. A bitmap of granules written since the last unmap answers GET LBA
 * STATUS, because the page tables cannot tell a zero page from a written one.
 */
#define _GNU_SOURCE /* mremap */
#define _GNU_SOURCE /* mremap */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "target/bs.h"

/* Tracking granule: the unmap granularity reported in VPD 0xB0. */
#define RAM_GRANULE_SHIFT 16
#define RAM_GRANULE       (1u << RAM_GRANULE_SHIFT)

struct bs_ram {
	uint8_t *mem;
	size_t map_len;
	size_t ngranules;
	_Atomic uint64_t *written; /* one bit per granule */
};

static int ram_open(struct tgt_bs *bs, const struct bs_open_args *a)
{
	struct bs_ram *r;
	int rc = 0;

	if (a->size == 0 || a->size > (uint64_t)SIZE_MAX / 2)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->map_len = (size_t)a->size;
	r->ngranules = (size_t)((a->size + RAM_GRANULE - 1) >> RAM_GRANULE_SHIFT);
	r->written = calloc((r->ngranules + 63) / 64, sizeof(*r->written));
	if (!r->written) {
		rc = -ENOMEM;
		goto out;
	}
	r->mem = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE,
	              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r->mem == MAP_FAILED) {
		rc = -errno;
		r->mem = NULL;
		goto out;
	}
	bs->priv = r;
	bs->size = a->size;
	/* Memory is the medium: a completed write is as stable as it gets. */
	bs->write_cache = false;
	bs->unmap_granularity = RAM_GRANULE;
out:
	if (rc) {
		free(r->written);
		free(r);
	}
	return rc;
}

static void ram_close(struct tgt_bs *bs)
{
	struct bs_ram *r = bs->priv;

	if (!r)
		return;
	munmap(r->mem, r->map_len);
	free(r->written);
	free(r);
	bs->priv = NULL;
}

static int ram_check(const struct tgt_bs *bs, size_t len, uint64_t off)
{
	if (off > bs->size || len > bs->size - off)
		return -EINVAL;
	return 0;
}

static int ram_read(struct tgt_bs *bs, void *buf, size_t len, uint64_t off)
{
	struct bs_ram *r = bs->priv;
	int rc = ram_check(bs, len, off);

	if (rc)
		return rc;
	memcpy(buf, r->mem + off, len);
	return 0;
}

static void ram_mark(struct bs_ram *r, uint64_t off, uint64_t len, bool set)
{
	uint64_t first = off >> RAM_GRANULE_SHIFT;
	uint64_t last = (off + len - 1) >> RAM_GRANULE_SHIFT;

	for (uint64_t g = first; g <= last; g++) {
		uint64_t bit = 1ull << (g & 63);

		if (set) {
			if (!(atomic_load_explicit(&r->written[g >> 6], memory_order_relaxed) &
			      bit))
				atomic_fetch_or_explicit(&r->written[g >> 6], bit,
				                         memory_order_relaxed);
		} else {
			atomic_fetch_and_explicit(&r->written[g >> 6], ~bit, memory_order_relaxed);
		}
	}
}

static int ram_write(struct tgt_bs *bs, const void *buf, size_t len, uint64_t off, unsigned flags)
{
	struct bs_ram *r = bs->priv;
	int rc = ram_check(bs, len, off);

	if (rc || len == 0)
		return rc;
	memcpy(r->mem + off, buf, len);
	ram_mark(r, off, len, true);
	return 0;
}

static int ram_flush(struct tgt_bs *bs)
{
	return 0;
}

static int ram_unmap(struct tgt_bs *bs, uint64_t off, uint64_t len)
{
	struct bs_ram *r = bs->priv;
	int rc = ram_check(bs, (size_t)len, off);
	uint64_t g0, g1;

	if (rc || len == 0)
		return rc;
	/* Whole granules inside the range are released; the edges are zeroed. */
	g0 = (off + RAM_GRANULE - 1) & ~(uint64_t)(RAM_GRANULE - 1);
	g1 = (off + len) & ~(uint64_t)(RAM_GRANULE - 1);
	if (off + len == bs->size)
		g1 = off + len;
	if (g0 >= g1) {
		memset(r->mem + off, 0, (size_t)len);
		return 0;
	}
	if (off < g0)
		memset(r->mem + off, 0, (size_t)(g0 - off));
	if (g1 < off + len)
		memset(r->mem + g1, 0, (size_t)(off + len - g1));
	ram_mark(r, g0, g1 - g0, false);
	/* The mapping starts page aligned and granules are page multiples. */
	size_t dlen = (size_t)(g1 - g0);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t whole = dlen & ~(page - 1);
	if (whole && madvise(r->mem + g0, whole, MADV_DONTNEED) != 0)
		memset(r->mem + g0, 0, whole);
	if (whole < dlen)
		memset(r->mem + g0 + whole, 0, dlen - whole);
	return 0;
}

static int ram_lba_status(struct tgt_bs *bs, uint64_t off, bool *mapped, uint64_t *run)
{
	struct bs_ram *r = bs->priv;
	uint64_t g, end;
	bool m;

	if (off >= bs->size)
		return -EINVAL;
	g = off >> RAM_GRANULE_SHIFT;
	m = (atomic_load_explicit(&r->written[g >> 6], memory_order_relaxed) >> (g & 63)) & 1;
	for (g++; g < r->ngranules; g++) {
		bool mg = (atomic_load_explicit(&r->written[g >> 6], memory_order_relaxed) >>
		           (g & 63)) &
		          1;
		if (mg != m)
			break;
	}
	end = g << RAM_GRANULE_SHIFT;
	if (end > bs->size)
		end = bs->size;
	*mapped = m;
	*run = end - off;
	return 0;
}

/* Grow with no I/O running (bs.h): mremap may move the mapping, and the
 * bitmap is reallocated. The new tail is untouched memory: zeros. */
static int ram_resize(struct tgt_bs *bs, uint64_t size)
{
	struct bs_ram *r = bs->priv;
	size_t ng, words_old, words_new;
	_Atomic uint64_t *w;
	void *mem;

	if (size < bs->size || size > (uint64_t)SIZE_MAX / 2)
		return -EINVAL;
	ng = (size_t)((size + RAM_GRANULE - 1) >> RAM_GRANULE_SHIFT);
	words_old = (r->ngranules + 63) / 64;
	words_new = (ng + 63) / 64;
	if (words_new > words_old) {
		w = realloc(r->written, words_new * sizeof(*w));
		if (!w)
			return -ENOMEM;
		memset(w + words_old, 0, (words_new - words_old) * sizeof(*w));
		r->written = w;
	}
	mem = mremap(r->mem, r->map_len, (size_t)size, MREMAP_MAYMOVE);
	if (mem == MAP_FAILED)
		return -errno;
	r->mem = mem;
	r->map_len = (size_t)size;
	r->ngranules = ng;
	bs->size = size;
	return 0;
}

const struct bs_ops bs_ram_ops = {
        .name = "ram",
        .open = ram_open,
        .close = ram_close,
        .read = ram_read,
        .write = ram_write,
        .flush = ram_flush,
        .unmap = ram_unmap,
        .lba_status = ram_lba_status,
        .resize = ram_resize,
};
