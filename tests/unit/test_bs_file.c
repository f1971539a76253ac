/*
 * The file store (target/bs_file.c) on a real file: what it says about its
 * write cache, O_DIRECT through a bounce buffer for unaligned memory, and
 * the io_uring path on real transport groups (tcp, uring): completion from the
 * group's poll (never inline), FUA writes, flush, and a read the file
 * answers short (the rest reads as zeros). Off a reactor thread the same
 * call completes inline, synchronously.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "target/bs.h"
#include "transport/transport.h"

#define MIB (1u << 20)

static char path[] = "/tmp/xiscsi-bs-file-XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

static int open_store(struct tgt_bs *bs, bool dsync, bool direct, bool sync_io)
{
	char why[256] = "";
	struct bs_open_args a = {
	        .path = path,
	        .size = MIB,
	        .dsync = dsync,
	        .direct = direct,
	        .sync_io = sync_io,
	        .block_size = 512,
	        .why = why,
	        .whylen = sizeof(why),
	};

	unlink(path);
	return bs_open(bs, &bs_file_ops, &a);
}

static bool uring_works(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(2, &ring, 0))
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

static void test_write_cache_honest(void **state)
{
	struct tgt_bs bs;

	/* The page cache is a volatile write cache. */
	assert_int_equal(open_store(&bs, false, false, true), 0);
	assert_true(bs.write_cache);
	assert_true(bs.size == MIB);
	bs_close(&bs);
	/* O_DSYNC: every write is durable when it completes. */
	assert_int_equal(open_store(&bs, true, false, true), 0);
	assert_false(bs.write_cache);
	bs_close(&bs);
	/* O_DIRECT on a regular file: allocation still needs fdatasync. */
	if (open_store(&bs, false, true, true) == 0) {
		assert_true(bs.write_cache);
		bs_close(&bs);
	}
}

static void test_direct_bounce(void **state)
{
	struct tgt_bs bs;
	uint8_t *mem = malloc(3 * 4096 + 1), *in = malloc(3 * 4096 + 1);
	uint8_t check[3 * 4096];
	int fd;

	assert_non_null(mem);
	assert_non_null(in);
	if (open_store(&bs, false, true, true) != 0) {
		free(mem);
		free(in);
		skip(); /* no O_DIRECT where /tmp is */
	}
	/* One byte past an allocation's start is never 512-byte aligned. */
	for (size_t i = 0; i < 3 * 4096; i++)
		mem[1 + i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(bs_write(&bs, mem + 1, 3 * 4096, 8192, BS_IO_F_FUA), 0);
	assert_int_equal(bs_read(&bs, in + 1, 3 * 4096, 8192), 0);
	assert_memory_equal(in + 1, mem + 1, 3 * 4096);
	/* And the file holds it. */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, check, sizeof(check), 8192), (ssize_t)sizeof(check));
	close(fd);
	assert_memory_equal(check, mem + 1, sizeof(check));
	/* A part of a block cannot go direct: refused, not rounded. */
	assert_int_equal(bs_read(&bs, in + 1, 100, 8192), -EINVAL);
	bs_close(&bs);
	free(mem);
	free(in);
}

struct done_rec {
	int calls;
	ssize_t res;
	pthread_t th;
};

static void rec_done(struct bs_io *io)
{
	struct done_rec *d = io->priv;

	d->calls++;
	d->res = io->res;
	d->th = pthread_self();
}

/* Poll g until io completed (bounded: 5 s). */
static void wait_done(struct xt_group *g, struct done_rec *d)
{
	for (int i = 0; i < 500 && !d->calls; i++)
		assert_true(xt_group_poll(g, 64, 10) >= 0);
	assert_int_equal(d->calls, 1);
	assert_true(pthread_equal(d->th, pthread_self()));
}

static void async_round(bool direct, const char *backend)
{
	struct xt_group_opts go = {.opts_size = sizeof(go)};
	struct xt_group *g;
	struct tgt_bs bs;
	struct done_rec d;
	struct bs_io io;
	uint8_t *wbuf = NULL, *rbuf = NULL;
	int fd;

	if (!uring_works())
		skip();
	if (xt_group_new(backend, &go, &g) != 0) {
		assert_string_not_equal(backend, "tcp");
		skip(); /* a backend not built */
	}
	if (open_store(&bs, false, direct, false) != 0) {
		assert_true(direct);
		xt_group_destroy(g);
		skip();
	}
	/* The store finds its reactor through the poll running on this thread. */
	assert_true(xt_group_poll(g, 64, 0) >= 0);
	assert_int_equal(posix_memalign((void **)&wbuf, 4096, 64 * 1024), 0);
	assert_int_equal(posix_memalign((void **)&rbuf, 4096, 64 * 1024), 0);
	for (size_t i = 0; i < 64 * 1024; i++)
		wbuf[i] = (uint8_t)(i * 13 + 1);

	memset(&d, 0, sizeof(d));
	io = (struct bs_io){.op = BS_IO_WRITE,
	                    .flags = BS_IO_F_FUA,
	                    .buf = wbuf,
	                    .len = 64 * 1024,
	                    .off = 128 * 1024,
	                    .done = rec_done,
	                    .priv = &d};
	bs_submit(&bs, &io);
	/* Taken by the ring: it completes from the poll, not inline. */
	assert_int_equal(d.calls, 0);
	wait_done(g, &d);
	assert_true(d.res == 64 * 1024);

	memset(&d, 0, sizeof(d));
	io = (struct bs_io){.op = BS_IO_FLUSH, .done = rec_done, .priv = &d};
	bs_submit(&bs, &io);
	assert_int_equal(d.calls, 0);
	wait_done(g, &d);
	assert_true(d.res == 0);

	memset(&d, 0, sizeof(d));
	memset(rbuf, 0xee, 64 * 1024);
	io = (struct bs_io){.op = BS_IO_READ,
	                    .buf = rbuf,
	                    .len = 64 * 1024,
	                    .off = 128 * 1024,
	                    .done = rec_done,
	                    .priv = &d};
	bs_submit(&bs, &io);
	assert_int_equal(d.calls, 0);
	wait_done(g, &d);
	assert_true(d.res == 64 * 1024);
	assert_memory_equal(rbuf, wbuf, 64 * 1024);

	/* The file shrinks under the LU: the read comes back short, goes on
	 * from there, and reads zeros past the end. */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 128 * 1024 + 4096), 0);
	close(fd);
	memset(&d, 0, sizeof(d));
	memset(rbuf, 0xee, 64 * 1024);
	io = (struct bs_io){.op = BS_IO_READ,
	                    .buf = rbuf,
	                    .len = 16 * 1024,
	                    .off = 128 * 1024,
	                    .done = rec_done,
	                    .priv = &d};
	bs_submit(&bs, &io);
	wait_done(g, &d);
	assert_true(d.res == 16 * 1024);
	assert_memory_equal(rbuf, wbuf, 4096);
	for (size_t i = 4096; i < 16 * 1024; i++)
		assert_int_equal(rbuf[i], 0);

	free(wbuf);
	free(rbuf);
	bs_close(&bs);
	xt_group_destroy(g);
}

static void test_async_buffered(void **state)
{
	async_round(false, "tcp");
}

static void test_async_direct(void **state)
{
	async_round(true, "tcp");
}

/* The uring transport reads the same wake eventfd from its own ring. */
static void test_async_on_uring_group(void **state)
{
	async_round(false, "uring");
}

static void *off_reactor(void *arg)
{
	struct tgt_bs *bs = arg;
	static uint8_t buf[4096] __attribute__((aligned(4096)));
	struct done_rec d = {0};
	struct bs_io io = {.op = BS_IO_WRITE,
	                   .buf = buf,
	                   .len = sizeof(buf),
	                   .off = 0,
	                   .done = rec_done,
	                   .priv = &d};

	memset(buf, 0x5a, sizeof(buf));
	bs_submit(bs, &io);
	/* No reactor on this thread: done already ran, synchronously. */
	return (void *)(intptr_t)(d.calls == 1 && d.res == (ssize_t)sizeof(buf));
}

static void test_sync_off_reactor(void **state)
{
	struct tgt_bs bs;
	pthread_t th;
	void *ok;

	assert_int_equal(open_store(&bs, false, false, false), 0);
	assert_int_equal(pthread_create(&th, NULL, off_reactor, &bs), 0);
	assert_int_equal(pthread_join(th, &ok), 0);
	assert_true(ok != NULL);
	bs_close(&bs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_write_cache_honest),
	        cmocka_unit_test(test_direct_bounce),
	        cmocka_unit_test(test_async_buffered),
	        cmocka_unit_test(test_async_direct),
	        cmocka_unit_test(test_async_on_uring_group),
	        cmocka_unit_test(test_sync_off_reactor),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
