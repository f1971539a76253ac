/*
 * NBD exports of iSCSI LUNs: one export serves one LUN of one logged-in
 * libxiscsi session to NBD clients (qemu, fio's nbd engine, nbdcopy,
 * nbd-client) on a unix socket and optionally a loopback TCP port.
 *
 * Newstyle fixed handshake; NBD_OPT_GO/INFO/EXPORT_NAME/LIST/ABORT,
 * structured replies when the client asks for them; READ, WRITE (FUA),
 * FLUSH (SYNCHRONIZE CACHE), TRIM (UNMAP where the LUN allows it),
 * WRITE_ZEROES (WRITE SAME), DISC. Many requests in flight, mapped onto
 * the session's command queue.
 *
 * Event loop: the export lives on the thread of the session's
 * xiscsi_loop. It does not own a loop; it registers its descriptors in
 * the caller's epoll set 'epfd' with data.ptr pointing at a struct
 * xi_evh, and the caller's loop dispatches: for each epoll event e,
 *     struct xi_evh *h = e.data.ptr; h->fn(h, e.events);
 * (xiscsid and `xiscsi-io URL nbd` both run such a loop around
 * xiscsi_loop_fd()).
 */
#ifndef XI_NBD_H
#define XI_NBD_H

#include <stdbool.h>
#include <stdint.h>

#include <xiscsi/xiscsi.h>

struct xi_evh {
	void (*fn)(struct xi_evh *h, uint32_t events);
};

struct xi_nbd_export;

struct xi_nbd_opts {
	const char *name;      /* export name clients ask for; "" accepts any */
	const char *unix_path; /* socket path (created 0600, replaced if stale) */
	const char *tcp_addr;  /* "127.0.0.1:10809" or NULL; loopback only unless allow_remote */
	bool allow_remote;
	bool read_only;
	unsigned max_clients; /* 0 = 16 */
};

/* Serve 'lun' of 's' (logged in, on the loop 'loop'). Reads the capacity
 * and block limits from the LUN. 0 or -errno (message through
 * xiscsi's log). */
/* The LUN is read asynchronously (READ CAPACITY(16), VPD B0h/B2h, MODE
 * SENSE(10)), so this may be called from a session callback; the sockets
 * are listening when it returns 0, and clients' GO/INFO/EXPORT_NAME wait
 * for that probe. xi_nbd_export_info() reports size 0 until it is done. */
int xi_nbd_export_new(struct xiscsi_loop *loop, struct xiscsi_session *s, uint64_t lun,
                      const struct xi_nbd_opts *opts, int epfd, struct xi_nbd_export **out);

/* Stop listening, end every client: requests in flight complete or fail
 * with an NBD error first (never a dropped reply), then the sockets close.
 * 'done' runs when all is finished (may run before this returns). */
void xi_nbd_export_close(struct xi_nbd_export *e, void (*done)(void *arg), void *arg);

/* The session went away for good (logout, failed): fail new requests with
 * EIO; clients stay connected until close. While the session reconnects
 * requests just wait. */
void xi_nbd_export_session_lost(struct xi_nbd_export *e);

struct xi_nbd_info {
	const char *unix_path, *tcp_addr, *name;
	uint64_t size;
	uint32_t block_size;
	unsigned clients;
	unsigned inflight;
	uint64_t reads, writes, flushes, trims, zeroes, errors;
	uint64_t bytes_read, bytes_written;
};
void xi_nbd_export_info(const struct xi_nbd_export *e, struct xi_nbd_info *out);

#endif
