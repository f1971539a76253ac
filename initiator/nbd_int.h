/*
 * Internals of the NBD export (nbd.h): nbd.c holds the sockets, the
 * handshake and the requests as they come and go; nbd_scsi.c what a
 * request and the LUN probe send to the target. Nothing else includes it.
 */
#ifndef XI_NBD_INT_H
#define XI_NBD_INT_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "initiator/nbd.h"

/* ------------------------------------------------------ protocol values */

#define NBD_MAGIC_INIT     0x4e42444d41474943ull /* "NBDMAGIC" */
#define NBD_MAGIC_OPT      0x49484156454f5054ull /* "IHAVEOPT" */
#define NBD_MAGIC_REP      0x0003e889045565a9ull
#define NBD_MAGIC_REQUEST  0x25609513u
#define NBD_MAGIC_SIMPLE   0x67446698u
#define NBD_MAGIC_STRUCTED 0x668e33efu

/* Handshake flags (server) and client flags. */
#define NBD_FLAG_FIXED_NEWSTYLE   (1u << 0)
#define NBD_FLAG_NO_ZEROES        (1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE (1u << 0)
#define NBD_FLAG_C_NO_ZEROES      (1u << 1)

/* Transmission flags. */
#define NBD_FLAG_HAS_FLAGS         (1u << 0)
#define NBD_FLAG_READ_ONLY         (1u << 1)
#define NBD_FLAG_SEND_FLUSH        (1u << 2)
#define NBD_FLAG_SEND_FUA          (1u << 3)
#define NBD_FLAG_SEND_TRIM         (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_SEND_DF           (1u << 7)
#define NBD_FLAG_CAN_MULTI_CONN    (1u << 8)

enum nbd_opt {
	NBD_OPT_EXPORT_NAME = 1,
	NBD_OPT_ABORT = 2,
	NBD_OPT_LIST = 3,
	NBD_OPT_INFO = 6,
	NBD_OPT_GO = 7,
	NBD_OPT_STRUCTURED_REPLY = 8,
};

#define NBD_REP_ACK          1u
#define NBD_REP_SERVER       2u
#define NBD_REP_INFO         3u
#define NBD_REP_ERR_UNSUP    (0x80000000u + 1)
#define NBD_REP_ERR_POLICY   (0x80000000u + 2)
#define NBD_REP_ERR_INVALID  (0x80000000u + 3)
#define NBD_REP_ERR_UNKNOWN  (0x80000000u + 6)
#define NBD_REP_ERR_SHUTDOWN (0x80000000u + 7)
#define NBD_REP_ERR_TOO_BIG  (0x80000000u + 9)

#define NBD_INFO_EXPORT     0
#define NBD_INFO_BLOCK_SIZE 3

enum nbd_cmd {
	NBD_CMD_READ = 0,
	NBD_CMD_WRITE = 1,
	NBD_CMD_DISC = 2,
	NBD_CMD_FLUSH = 3,
	NBD_CMD_TRIM = 4,
	NBD_CMD_WRITE_ZEROES = 6,
};

#define NBD_CMD_FLAG_FUA     (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE (1u << 1)
#define NBD_CMD_FLAG_DF      (1u << 2)

#define NBD_REPLY_FLAG_DONE        (1u << 0)
#define NBD_REPLY_TYPE_NONE        0
#define NBD_REPLY_TYPE_OFFSET_DATA 1
#define NBD_REPLY_TYPE_ERROR       0x8001

/* NBD error values (proto.md "Error values"), not the host's errno. */
enum {
	NBD_EPERM = 1,
	NBD_EIO = 5,
	NBD_ENOMEM = 12,
	NBD_EINVAL = 22,
	NBD_ENOSPC = 28,
	NBD_EOVERFLOW = 75,
	NBD_ENOTSUP = 95,
	NBD_ESHUTDOWN = 108,
};

/* -------------------------------------------------------------- limits */

#define NBD_MAX_REQUEST  (32u << 20) /* largest READ/WRITE payload accepted */
#define NBD_MAX_OPTION   4096u       /* largest option data (a name is at most 4096 bytes) */
#define NBD_MAX_NAME     4096u
#define CLIENT_MAX_REQS  256u         /* requests in flight per client before reading stops */
#define CLIENT_MAX_BYTES (128u << 20) /* buffer bytes in flight per client */
#define DEFAULT_MAX_XFER (8u << 20)   /* one SCSI command, when VPD B0 says nothing */
#define ZERO_BUF         (1u << 20)   /* fallback WRITE_ZEROES: writes of this buffer */
#define RBUF_SIZE        (64u << 10)
/* READ/WRITE data at the target at once, all clients together: xtgtd
 * answers TASK SET FULL past 256 MiB a session, and xiscsid puts every
 * LUN of a target on one session. Requests beyond it wait their turn. */
#define EXPORT_MAX_BYTES (64u << 20)
#define BUSY_RETRIES     8
#define READ_BUDGET      16 /* read() calls per readiness event: others get their turn */

/* ------------------------------------------------------------ objects */

struct nbd_req;
struct nbd_client;

/* Something queued for sending: a request's reply or an option reply. */
struct nbd_out {
	struct nbd_out *next;
	struct iovec iov[3];
	int niov;
	struct nbd_req *req; /* NULL: the out is its own allocation */
	uint8_t data[];
};

struct nbd_piece {
	struct xiscsi_cmd cmd;
	struct nbd_req *r;
	uint8_t param[24]; /* UNMAP parameter list: header and one descriptor */
	unsigned tries;    /* resubmissions after BUSY / TASK SET FULL */
};

enum req_phase { PH_MAIN, PH_ZERO_WRITES, PH_SYNC };

struct nbd_req {
	struct nbd_out out; /* the reply; first member */
	struct nbd_client *c;
	uint64_t handle, off;
	uint32_t len;
	uint16_t type, flags;
	uint8_t *buf;
	uint32_t bytes; /* counted in the client's in-flight bytes */
	unsigned pending;
	enum req_phase phase;
	bool unsupported; /* WRITE SAME refused: fall back to writes of zeros */
	bool admitted;    /* its data counts in the export's bytes at the target */
	struct nbd_req *wnext;
	int err; /* NBD error, 0 when fine */
	struct nbd_piece *pieces;
	unsigned npieces;
	struct nbd_piece one;
	uint8_t hdr[32];
	char msg[128];
};

enum rx_state {
	RX_CFLAGS,   /* the client's 32-bit flags after our greeting */
	RX_OPT_HDR,  /* IHAVEOPT, option, length */
	RX_OPT_DATA, /* option data into optbuf */
	RX_OPT_WAIT, /* an option waits for the LUN probe; nothing read */
	RX_REQ_HDR,  /* 28-byte request header */
	RX_REQ_DATA, /* WRITE payload into the request's buffer */
	RX_DISCARD,  /* payload or option data we refuse, skipped */
	RX_STOP,     /* DISC seen, EOF, or abort: read nothing more */
};

struct nbd_client {
	struct xi_evh evh; /* first member: epoll data.ptr */
	struct xi_nbd_export *e;
	struct nbd_client *next;
	int fd;
	uint32_t events;
	enum rx_state st;
	bool transmission, structured, no_zeroes, dead, queued_dead;
	bool reading, flushing, draining;
	/* rx */
	uint8_t *rbuf;
	size_t rpos, rlen;
	uint8_t hdr[32];
	uint8_t *dst; /* NULL while discarding */
	size_t need, got;
	uint64_t discard;
	uint32_t opt, optlen;
	uint8_t *optbuf;
	bool opt_too_big;
	struct nbd_req *cur; /* request whose payload is read or discarded */
	/* tx */
	struct nbd_out *txh, **txt;
	size_t txoff;
	/* in flight */
	unsigned reqs;
	uint64_t bytes;
};

enum probe_state { PROBE_NONE, PROBE_RUNNING, PROBE_DONE, PROBE_FAILED };

struct nbd_listener {
	struct xi_evh evh;
	struct xi_nbd_export *e;
	int fd;
};

struct xi_nbd_export {
	struct xiscsi_loop *loop;
	struct xiscsi_session *s;
	uint64_t lun;
	int epfd;
	char *name, *unix_path, *tcp_addr;
	bool opt_read_only;
	unsigned max_clients;
	struct nbd_listener ls[2];
	int nls;
	struct xi_evh reap_evh;
	int reap_fd;

	/* What the probe learnt of the LUN. */
	enum probe_state probe;
	int probe_step;
	struct xiscsi_cmd pcmd;
	uint8_t pbuf[256];
	uint8_t vpd_list[256];
	uint32_t vpd_count;
	uint64_t size;
	uint32_t bsz;
	uint32_t max_xfer; /* bytes per READ/WRITE command */
	uint32_t pref_bsz;
	uint32_t max_unmap; /* blocks per UNMAP descriptor */
	uint64_t max_ws;    /* blocks per WRITE SAME */
	bool thin, lbpu, lbpws, lbprz, wp;
	bool no_write_same;
	uint8_t *zeros;

	bool lost, closing;
	int reap_passes;
	void (*done)(void *arg);
	void *done_arg;
	struct nbd_client *clients, *dead1, *dead2;
	unsigned nclients;
	unsigned inflight;
	uint64_t scsi_bytes;
	struct nbd_req *waith, **waitt;
	uint64_t reads, writes, flushes, trims, zeroes, errors, bytes_read, bytes_written;
};

static inline void put16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, 2);
}
static inline void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}
static inline void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}
static inline uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}
static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}
static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/* nbd.c */
__attribute__((format(printf, 1, 2))) void xi_nbd_log(const char *fmt, ...);
/* Queue the reply of a request that is done (r->err set or not). */
void xi_nbd_req_reply(struct nbd_req *r);
/* Record the request's first error (an NBD error value) and its message. */
void xi_nbd_req_fail(struct nbd_req *r, int err, const char *msg);
/* The probe of the LUN ended: wake the options that wait for it. */
void xi_nbd_probe_finish(struct xi_nbd_export *e, bool ok);

/* nbd_scsi.c */
/* Send the SCSI commands of a checked request; its reply follows. */
void xi_nbd_req_start(struct nbd_req *r);
/* Read the LUN's capacity and limits (READ CAPACITY(16), VPD B0h/B2h,
 * MODE SENSE(10)), asynchronously; xi_nbd_probe_finish() when done. */
void xi_nbd_probe_start(struct xi_nbd_export *e);

#endif
