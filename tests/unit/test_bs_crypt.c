/*
 * The encrypting store (target/bs_crypt.c) over a real file and over RAM:
 * data round-trips, what lands in the file is not the plaintext, the key
 * file is private and brings the data back after a reopen, a file with data
 * but no key is refused, and after bs_crypt_rekey (CRYPTO ERASE) the old
 * blocks no longer read back while new writes do; never-written and
 * deallocated blocks read zeros (thin). The io_uring path is run
 * on a real transport group: the decryption happens in its completion.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "target/bs.h"
#include "transport/transport.h"

#define MIB (1u << 20)
#define BLK 4096u

static char path[] = "/tmp/xiscsi-bs-crypt-XXXXXX";
static char keypath[sizeof(path) + 8];

static int setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(keypath, sizeof(keypath), "%s.key", path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(keypath);
	return 0;
}

static int open_crypt(struct tgt_bs *bs, const struct bs_ops *inner, bool fresh, bool sync_io,
                      char *why, size_t whylen)
{
	struct bs_open_args a = {
	        .path = inner == &bs_file_ops ? path : "",
	        .size = MIB,
	        .sync_io = sync_io,
	        .block_size = BLK,
	        .inner = inner,
	        .why = why,
	        .whylen = whylen,
	};

	if (fresh) {
		unlink(path);
		unlink(keypath);
	}
	if (why && whylen)
		*why = '\0';
	return bs_open(bs, &bs_crypt_ops, &a);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + seed);
}

static void raw_read(void *buf, size_t len, off_t off)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void test_file_roundtrip_and_at_rest(void **state)
{
	uint8_t *w = malloc(8 * BLK), *r = malloc(8 * BLK), *raw = malloc(8 * BLK);
	struct tgt_bs bs;
	struct stat st;
	char why[256];

	(void)state;
	assert_int_equal(open_crypt(&bs, &bs_file_ops, true, true, why, sizeof(why)), 0);
	assert_true(bs_is_crypt(&bs));
	assert_true(bs.size == MIB);
	/* The key is private and exactly one XTS key long. */
	assert_int_equal(stat(keypath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, BS_CRYPT_KEY_LEN);

	fill(w, 8 * BLK, 7);
	assert_int_equal(bs_write(&bs, w, 8 * BLK, 16 * BLK, 0), 0);
	assert_int_equal(bs_read(&bs, r, 8 * BLK, 16 * BLK), 0);
	assert_memory_equal(r, w, 8 * BLK);
	/* A part of a block: read from, and patched into, whole blocks. */
	assert_int_equal(bs_read(&bs, r, 100, 16 * BLK + 7), 0);
	assert_memory_equal(r, w + 7, 100);
	memset(raw, 'z', BLK);
	assert_int_equal(bs_write(&bs, raw, BLK, 16 * BLK + 512, 0), 0);
	memcpy(w + 512, raw, BLK);
	assert_int_equal(bs_read(&bs, r, 8 * BLK, 16 * BLK), 0);
	assert_memory_equal(r, w, 8 * BLK);
	/* Past the end: refused. */
	assert_int_equal(bs_read(&bs, r, BLK, MIB), -EINVAL);
	assert_int_equal(bs_flush(&bs), 0);

	/* On disk: ciphertext, and the same plaintext in two blocks (tweak =
	 * LBA) gives two different ciphertexts. */
	raw_read(raw, 8 * BLK, 16 * BLK);
	for (unsigned b = 0; b < 8; b++)
		assert_memory_not_equal(raw + b * BLK, w + b * BLK, BLK);
	memset(w, 'a', 2 * BLK);
	assert_int_equal(bs_write(&bs, w, 2 * BLK, 0, 0), 0);
	raw_read(raw, 2 * BLK, 0);
	assert_memory_not_equal(raw, raw + BLK, BLK);
	assert_memory_not_equal(raw, w, BLK);
	bs_close(&bs);

	/* Reopened: the key file brings the data back. */
	assert_int_equal(open_crypt(&bs, &bs_file_ops, false, true, why, sizeof(why)), 0);
	assert_int_equal(bs_read(&bs, r, 2 * BLK, 0), 0);
	assert_memory_equal(r, w, 2 * BLK);
	bs_close(&bs);

	/* Data without its key: refused, with a reason naming the key. */
	assert_int_equal(unlink(keypath), 0);
	assert_int_equal(open_crypt(&bs, &bs_file_ops, false, true, why, sizeof(why)), -ENOKEY);
	assert_non_null(strstr(why, ".key"));
	free(w);
	free(r);
	free(raw);
}

/* Where keys live, and when a key may be made. */
static void test_key_rules(void **state)
{
	char why[256], kp[sizeof(path) + 16];
	uint8_t buf[BLK], out[BLK];
	struct tgt_bs bs;
	struct stat st;
	struct bs_open_args a = {
	        .path = path,
	        .size = MIB,
	        .block_size = BLK,
	        .inner = &bs_file_ops,
	        .why = why,
	        .whylen = sizeof(why),
	};
	int fd;

	(void)state;
	snprintf(kp, sizeof(kp), "%s.other", path);
	/* A store of zeros with no key (truncate -s) gets a new key. */
	unlink(keypath);
	unlink(kp);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MIB), 0);
	close(fd);
	assert_int_equal(bs_open(&bs, &bs_crypt_ops, &a), 0);
	bs_close(&bs);
	assert_int_equal(stat(keypath, &st), 0);

	/* crypt-key=: the key goes there, and only there. */
	unlink(keypath);
	fd = open(path, O_RDWR | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MIB), 0);
	close(fd);
	a.key_path = kp;
	assert_int_equal(bs_open(&bs, &bs_crypt_ops, &a), 0);
	fill(buf, sizeof(buf), 7);
	assert_int_equal(bs_write(&bs, buf, sizeof(buf), 3 * BLK, 0), 0);
	bs_close(&bs);
	assert_int_equal(stat(kp, &st), 0);
	assert_int_equal(stat(keypath, &st), -1);
	assert_int_equal(bs_open(&bs, &bs_crypt_ops, &a), 0);
	assert_int_equal(bs_read(&bs, out, sizeof(out), 3 * BLK), 0);
	assert_memory_equal(buf, out, sizeof(buf));
	bs_close(&bs);
	/* That key lost: the data is not written over with a new one. */
	assert_int_equal(unlink(kp), 0);
	why[0] = '\0';
	assert_int_equal(bs_open(&bs, &bs_crypt_ops, &a), -ENOKEY);
	assert_non_null(strstr(why, ".other"));
	assert_non_null(strstr(why, "offset 12288"));
	assert_int_equal(stat(kp, &st), -1);

	/* Not a regular file (a block device, here a character one): the
	 * key beside it would be in /dev, so crypt-key= is required. */
	a.key_path = NULL;
	a.path = "/dev/null";
	why[0] = '\0';
	assert_int_equal(bs_open(&bs, &bs_crypt_ops, &a), -EINVAL);
	assert_non_null(strstr(why, "crypt-key="));
	assert_int_equal(stat("/dev/null.key", &st), -1);

	/* A RAM store keeps its key in memory: no crypt-key=. */
	a.path = "";
	a.inner = &bs_ram_ops;
	a.key_path = kp;
	why[0] = '\0';
	assert_int_equal(bs_open(&bs, &bs_crypt_ops, &a), -EINVAL);
	assert_non_null(strstr(why, "crypt-key="));
}

static void rekey_check(struct tgt_bs *bs)
{
	uint8_t *w = malloc(4 * BLK), *r = malloc(4 * BLK);

	memset(w, 'a', 4 * BLK);
	assert_int_equal(bs_write(bs, w, 4 * BLK, 0, 0), 0);
	assert_int_equal(bs_read(bs, r, 4 * BLK, 0), 0);
	assert_memory_equal(r, w, 4 * BLK);
	assert_int_equal(bs_crypt_rekey(bs), 0);
	/* Old data: noise now, in every block. */
	assert_int_equal(bs_read(bs, r, 4 * BLK, 0), 0);
	for (unsigned b = 0; b < 4; b++)
		assert_memory_not_equal(r + b * BLK, w + b * BLK, BLK);
	/* New writes work with the new key. */
	fill(w, 4 * BLK, 3);
	assert_int_equal(bs_write(bs, w, 4 * BLK, 4 * BLK, 0), 0);
	assert_int_equal(bs_read(bs, r, 4 * BLK, 4 * BLK), 0);
	assert_memory_equal(r, w, 4 * BLK);
	free(w);
	free(r);
}

static void test_file_rekey(void **state)
{
	uint8_t oldkey[BS_CRYPT_KEY_LEN], newkey[BS_CRYPT_KEY_LEN];
	uint8_t *r = malloc(4 * BLK), *w = malloc(4 * BLK);
	struct tgt_bs bs;
	char why[256];
	int fd;

	(void)state;
	assert_int_equal(open_crypt(&bs, &bs_file_ops, true, true, why, sizeof(why)), 0);
	fd = open(keypath, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, oldkey, sizeof(oldkey)), (ssize_t)sizeof(oldkey));
	close(fd);
	rekey_check(&bs);
	bs_close(&bs);
	/* The new key was persisted: a reopen reads the new data. */
	fd = open(keypath, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, newkey, sizeof(newkey)), (ssize_t)sizeof(newkey));
	close(fd);
	assert_memory_not_equal(oldkey, newkey, sizeof(oldkey));
	assert_int_equal(open_crypt(&bs, &bs_file_ops, false, true, why, sizeof(why)), 0);
	fill(w, 4 * BLK, 3);
	assert_int_equal(bs_read(&bs, r, 4 * BLK, 4 * BLK), 0);
	assert_memory_equal(r, w, 4 * BLK);
	bs_close(&bs);
	free(r);
	free(w);
}

static void test_ram_rekey(void **state)
{
	struct tgt_bs bs;
	char why[256];

	(void)state;
	assert_int_equal(open_crypt(&bs, &bs_ram_ops, true, true, why, sizeof(why)), 0);
	/* No key file for RAM. */
	assert_int_equal(access(keypath, F_OK), -1);
	rekey_check(&bs);
	bs_close(&bs);
}

/* Never written and deallocated blocks read zeros, before and after a rekey. */
static void test_zeros_and_unmap(void **state)
{
	uint8_t *w = malloc(32 * BLK), *r = malloc(32 * BLK), *z = calloc(1, 32 * BLK);
	const struct bs_ops *inner[] = {&bs_ram_ops, &bs_file_ops};
	struct tgt_bs bs;
	char why[256];

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(open_crypt(&bs, inner[i], true, true, why, sizeof(why)), 0);
		assert_true(bs.ops->unmap != NULL);
		assert_int_equal(bs_read(&bs, r, 32 * BLK, 0), 0);
		assert_memory_equal(r, z, 32 * BLK);
		/* Plaintext zeros are stored as ciphertext, and read back as zeros. */
		assert_int_equal(bs_write(&bs, z, BLK, 0, 0), 0);
		if (inner[i] == &bs_file_ops) {
			raw_read(w, BLK, 0);
			assert_memory_not_equal(w, z, BLK);
		}
		fill(w, 32 * BLK, 5);
		assert_int_equal(bs_write(&bs, w, 32 * BLK, 0, 0), 0);
		/* Whole granules freed, a single block in the middle zeroed. */
		assert_int_equal(bs_unmap(&bs, 0, 16 * BLK), 0);
		assert_int_equal(bs_unmap(&bs, 20 * BLK, BLK), 0);
		assert_int_equal(bs_read(&bs, r, 32 * BLK, 0), 0);
		assert_memory_equal(r, z, 16 * BLK);
		assert_memory_equal(r + 16 * BLK, w + 16 * BLK, 4 * BLK);
		assert_memory_equal(r + 20 * BLK, z, BLK);
		assert_memory_equal(r + 21 * BLK, w + 21 * BLK, 11 * BLK);
		/* A neighbour written later leaves the deallocated block at zeros. */
		assert_int_equal(bs_write(&bs, w, BLK, 21 * BLK, 0), 0);
		assert_int_equal(bs_read(&bs, r, BLK, 20 * BLK), 0);
		assert_memory_equal(r, z, BLK);
		/* After a rekey: written blocks noise, the rest still zeros. */
		assert_int_equal(bs_crypt_rekey(&bs), 0);
		assert_int_equal(bs_read(&bs, r, 32 * BLK, 0), 0);
		assert_memory_equal(r, z, 16 * BLK);
		assert_memory_not_equal(r + 16 * BLK, w + 16 * BLK, BLK);
		assert_memory_not_equal(r + 16 * BLK, z, BLK);
		assert_memory_equal(r + 20 * BLK, z, BLK);
		bs_close(&bs);
	}
	free(w);
	free(r);
	free(z);
}

struct done_rec {
	int calls;
	ssize_t res;
};

static void rec_done(struct bs_io *io)
{
	struct done_rec *d = io->priv;

	d->calls++;
	d->res = io->res;
}

static void wait_done(struct xt_group *g, struct done_rec *d)
{
	for (int i = 0; i < 500 && !d->calls; i++)
		assert_true(xt_group_poll(g, 64, 10) >= 0);
	assert_int_equal(d->calls, 1);
}

static void test_async_file(void **state)
{
	struct xt_group_opts go = {.opts_size = sizeof(go)};
	uint8_t *w = malloc(16 * BLK), *r = malloc(16 * BLK), *raw = malloc(16 * BLK);
	struct io_uring ring;
	struct xt_group *g;
	struct done_rec d;
	struct tgt_bs bs;
	struct bs_io io;
	char why[256];

	(void)state;
	if (io_uring_queue_init(2, &ring, 0)) {
		free(w);
		free(r);
		free(raw);
		skip();
	}
	io_uring_queue_exit(&ring);
	assert_int_equal(xt_group_new("tcp", &go, &g), 0);
	assert_int_equal(open_crypt(&bs, &bs_file_ops, true, false, why, sizeof(why)), 0);
	assert_true(xt_group_poll(g, 64, 0) >= 0);
	fill(w, 16 * BLK, 11);

	memset(&d, 0, sizeof(d));
	io = (struct bs_io){.op = BS_IO_WRITE,
	                    .buf = w,
	                    .len = 16 * BLK,
	                    .off = 32 * BLK,
	                    .done = rec_done,
	                    .priv = &d};
	bs_submit(&bs, &io);
	/* Taken by the inner store's ring: completes from the poll. */
	assert_int_equal(d.calls, 0);
	wait_done(g, &d);
	assert_true(d.res == 16 * BLK);
	/* The caller's buffer is untouched: the encryption went to a bounce. */
	memcpy(raw, w, 16 * BLK);
	fill(w, 16 * BLK, 11);
	assert_memory_equal(raw, w, 16 * BLK);

	memset(&d, 0, sizeof(d));
	io = (struct bs_io){.op = BS_IO_FLUSH, .done = rec_done, .priv = &d};
	bs_submit(&bs, &io);
	wait_done(g, &d);
	assert_true(d.res == 0);

	memset(&d, 0, sizeof(d));
	memset(r, 0, 16 * BLK);
	io = (struct bs_io){.op = BS_IO_READ,
	                    .buf = r,
	                    .len = 16 * BLK,
	                    .off = 32 * BLK,
	                    .done = rec_done,
	                    .priv = &d};
	bs_submit(&bs, &io);
	assert_int_equal(d.calls, 0);
	wait_done(g, &d);
	assert_true(d.res == 16 * BLK);
	assert_memory_equal(r, w, 16 * BLK);
	raw_read(raw, 16 * BLK, 32 * BLK);
	assert_memory_not_equal(raw, w, 16 * BLK);

	/* After a rekey the asynchronous read gives noise too. */
	assert_int_equal(bs_crypt_rekey(&bs), 0);
	memset(&d, 0, sizeof(d));
	io = (struct bs_io){.op = BS_IO_READ,
	                    .buf = r,
	                    .len = 16 * BLK,
	                    .off = 32 * BLK,
	                    .done = rec_done,
	                    .priv = &d};
	bs_submit(&bs, &io);
	wait_done(g, &d);
	assert_true(d.res == 16 * BLK);
	assert_memory_not_equal(r, w, BLK);
	bs_close(&bs);
	xt_group_destroy(g);
	free(w);
	free(r);
	free(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_file_roundtrip_and_at_rest),
	        cmocka_unit_test(test_file_rekey),
	        cmocka_unit_test(test_key_rules),
	        cmocka_unit_test(test_ram_rekey),
	        cmocka_unit_test(test_zeros_and_unmap),
	        cmocka_unit_test(test_async_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
