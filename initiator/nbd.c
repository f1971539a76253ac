/*
 * NBD server for one LUN of a libxiscsi session (see nbd.h).
 *
 * Wire protocol: the NBD protocol's fixed newstyle handshake and its
 * transmission phase (NetworkBlockDevice/nbd doc/proto.md), with
 * structured replies when the client asks for them. Everything the client
 * sends is checked against the state it is in and against the limits
 * below before it is used.
 *
 * Requests are not split at a granularity finer than the LUN's logical
 * block: offset and length of READ, WRITE, TRIM and WRITE_ZEROES must be
 * multiples of it, and NBD_INFO_BLOCK_SIZE advertises it as the minimum
 * block size (qemu, libnbd and the kernel honour that). A misaligned
 * request fails with EINVAL; no read-modify-write is done, so two
 * clients can never race on a shared block behind each other's back.
 *
 * Object lifetime: the caller's epoll loop may hold events for a
 * descriptor we have just closed, in the batch it is dispatching. So a
 * client (and in the end the export) is never freed where it dies: it
 * goes on a list that an eventfd "reaper" frees two epoll rounds later,
 * when no batch can still point at it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "initiator/nbd_int.h"

/* ----------------------------------------------------------- helpers */

void xi_nbd_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xiscsi nbd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void reap_arm(struct xi_nbd_export *e)
{
	uint64_t one = 1;

	if (write(e->reap_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		xi_nbd_log("reaper eventfd: %s", strerror(errno));
}

static void client_update_events(struct nbd_client *c);
static void client_read(struct nbd_client *c);
static bool rx_paused(const struct nbd_client *c);
static void client_flush(struct nbd_client *c);
static void client_kill(struct nbd_client *c, const char *why);
static void client_maybe_finish(struct nbd_client *c);

/* ---------------------------------------------------------------- tx */

static void out_release(struct nbd_out *o);

static void client_queue(struct nbd_client *c, struct nbd_out *o)
{
	if (c->dead) {
		out_release(o);
		return;
	}
	o->next = NULL;
	*c->txt = o;
	c->txt = &o->next;
	if (!c->flushing)
		client_flush(c);
}

/* An option reply (proto.md "Option reply"), data copied. */
static int opt_reply(struct nbd_client *c, uint32_t type, const void *data, uint32_t len)
{
	struct nbd_out *o = malloc(sizeof(*o) + 20 + len);

	if (!o) {
		client_kill(c, "out of memory");
		return -ENOMEM;
	}
	memset(o, 0, sizeof(*o));
	put64(o->data, NBD_MAGIC_REP);
	put32(o->data + 8, c->opt);
	put32(o->data + 12, type);
	put32(o->data + 16, len);
	if (len)
		memcpy(o->data + 20, data, len);
	o->iov[0].iov_base = o->data;
	o->iov[0].iov_len = 20 + len;
	o->niov = 1;
	client_queue(c, o);
	return 0;
}

static int opt_error(struct nbd_client *c, uint32_t type, const char *msg)
{
	return opt_reply(c, type, msg, (uint32_t)strlen(msg));
}

static int raw_send(struct nbd_client *c, const void *data, size_t len)
{
	struct nbd_out *o = malloc(sizeof(*o) + len);

	if (!o) {
		client_kill(c, "out of memory");
		return -ENOMEM;
	}
	memset(o, 0, sizeof(*o));
	memcpy(o->data, data, len);
	o->iov[0].iov_base = o->data;
	o->iov[0].iov_len = len;
	o->niov = 1;
	client_queue(c, o);
	return 0;
}

static void client_flush(struct nbd_client *c)
{
	if (c->flushing)
		return; /* a release below queued more: the loop sends it */
	c->flushing = true;
	while (c->txh && !c->dead) {
		struct iovec iov[64];
		struct msghdr mh;
		int n = 0;
		size_t skip = c->txoff;
		ssize_t w;

		for (struct nbd_out *o = c->txh; o && n < 62; o = o->next) {
			for (int i = 0; i < o->niov; i++) {
				if (skip >= o->iov[i].iov_len) {
					skip -= o->iov[i].iov_len;
					continue;
				}
				iov[n].iov_base = (uint8_t *)o->iov[i].iov_base + skip;
				iov[n].iov_len = o->iov[i].iov_len - skip;
				skip = 0;
				n++;
			}
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)n;
		w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* The client went away: nothing to say about it. */
			client_kill(c,
			            errno == EPIPE || errno == ECONNRESET ? NULL : strerror(errno));
			c->flushing = false;
			return;
		}
		c->txoff += (size_t)w;
		while (c->txh) {
			struct nbd_out *o = c->txh;
			size_t tot = 0;

			for (int i = 0; i < o->niov; i++)
				tot += o->iov[i].iov_len;
			if (c->txoff < tot)
				break;
			c->txoff -= tot;
			c->txh = o->next;
			if (!c->txh)
				c->txt = &c->txh;
			out_release(o);
		}
	}
	c->flushing = false;
	/* What was sent may lift a pause (a request slot, an option answered).
	 * Reading was off or data waits in the buffer: go on now; otherwise
	 * epoll calls when more arrives. */
	if (!c->dead && !rx_paused(c) && (!(c->events & EPOLLIN) || c->rpos < c->rlen))
		client_read(c);
	if (!c->dead) {
		client_update_events(c);
		client_maybe_finish(c);
	}
}

/* ----------------------------------------------------------- requests */

static void req_free(struct nbd_req *r)
{
	struct nbd_client *c = r->c;

	c->reqs--;
	c->bytes -= r->bytes;
	c->e->inflight--;
	if (r->pieces != &r->one)
		free(r->pieces);
	free(r->buf);
	free(r);
}

static void out_release(struct nbd_out *o)
{
	if (o->req) {
		struct nbd_client *c = o->req->c;

		req_free(o->req);
		if (c->dead)
			client_maybe_finish(c);
		return;
	}
	free(o);
}

static const char *nbd_errname(int err)
{
	switch (err) {
	case NBD_EPERM:
		return "EPERM";
	case NBD_EIO:
		return "EIO";
	case NBD_ENOMEM:
		return "ENOMEM";
	case NBD_EINVAL:
		return "EINVAL";
	case NBD_ENOSPC:
		return "ENOSPC";
	case NBD_EOVERFLOW:
		return "EOVERFLOW";
	case NBD_ENOTSUP:
		return "ENOTSUP";
	case NBD_ESHUTDOWN:
		return "ESHUTDOWN";
	}
	return "error";
}

/* Queue the reply for r: simple or structured (proto.md "Transmission"). */
void xi_nbd_req_reply(struct nbd_req *r)
{
	struct nbd_client *c = r->c;
	struct nbd_out *o = &r->out;

	if (r->err)
		c->e->errors++;
	if (r->admitted) {
		struct xi_nbd_export *e = c->e;

		r->admitted = false;
		e->scsi_bytes -= r->len;
		while (e->waith &&
		       (!e->scsi_bytes || e->scsi_bytes + e->waith->len <= EXPORT_MAX_BYTES)) {
			struct nbd_req *w = e->waith;

			e->waith = w->wnext;
			if (!e->waith)
				e->waitt = &e->waith;
			xi_nbd_req_start(w);
		}
	}
	if (c->dead) {
		req_free(r);
		client_maybe_finish(c);
		return;
	}
	memset(o, 0, sizeof(*o));
	o->req = r;
	o->iov[0].iov_base = r->hdr;
	o->niov = 1;
	if (!c->structured) {
		put32(r->hdr, NBD_MAGIC_SIMPLE);
		put32(r->hdr + 4, (uint32_t)r->err);
		put64(r->hdr + 8, r->handle);
		o->iov[0].iov_len = 16;
		if (r->type == NBD_CMD_READ && !r->err) {
			o->iov[1].iov_base = r->buf;
			o->iov[1].iov_len = r->len;
			o->niov = 2;
		}
	} else {
		put32(r->hdr, NBD_MAGIC_STRUCTED);
		put16(r->hdr + 4, NBD_REPLY_FLAG_DONE);
		put64(r->hdr + 8, r->handle);
		if (r->err) {
			size_t ml = strlen(r->msg);

			if (!ml) {
				snprintf(r->msg, sizeof(r->msg), "%s", nbd_errname(r->err));
				ml = strlen(r->msg);
			}
			put16(r->hdr + 6, NBD_REPLY_TYPE_ERROR);
			put32(r->hdr + 16, (uint32_t)(6 + ml));
			put32(r->hdr + 20, (uint32_t)r->err);
			put16(r->hdr + 24, (uint16_t)ml);
			o->iov[0].iov_len = 26;
			o->iov[1].iov_base = r->msg;
			o->iov[1].iov_len = ml;
			o->niov = 2;
		} else if (r->type == NBD_CMD_READ) {
			put16(r->hdr + 6, NBD_REPLY_TYPE_OFFSET_DATA);
			put32(r->hdr + 16, 8 + r->len);
			put64(r->hdr + 20, r->off);
			o->iov[0].iov_len = 28;
			o->iov[1].iov_base = r->buf;
			o->iov[1].iov_len = r->len;
			o->niov = 2;
		} else {
			put16(r->hdr + 6, NBD_REPLY_TYPE_NONE);
			put32(r->hdr + 16, 0);
			o->iov[0].iov_len = 20;
		}
	}
	client_queue(c, o);
}

void xi_nbd_req_fail(struct nbd_req *r, int err, const char *msg)
{
	if (!r->err) {
		r->err = err;
		snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
	}
}

/* The NBD error for a request as received, before anything is submitted. */
static int req_check(const struct nbd_client *c, const struct nbd_req *r, const char **msg)
{
	const struct xi_nbd_export *e = c->e;
	bool ro = e->opt_read_only || e->wp;
	bool writes = r->type == NBD_CMD_WRITE || r->type == NBD_CMD_TRIM ||
	              r->type == NBD_CMD_WRITE_ZEROES;

	if (e->closing) {
		*msg = "export is shutting down";
		return NBD_ESHUTDOWN;
	}
	if (e->lost) {
		*msg = "iSCSI session lost";
		return NBD_EIO;
	}
	switch (r->type) {
	case NBD_CMD_READ:
	case NBD_CMD_WRITE:
		if (r->len == 0) {
			*msg = "zero-length request";
			return NBD_EINVAL;
		}
		if (r->len > NBD_MAX_REQUEST) {
			*msg = "request larger than the maximum block size (32 MiB)";
			return r->type == NBD_CMD_READ && (r->flags & NBD_CMD_FLAG_DF)
			               ? NBD_EOVERFLOW
			               : NBD_EINVAL;
		}
		break;
	case NBD_CMD_FLUSH:
		return 0;
	case NBD_CMD_TRIM:
		if (!(e->thin && e->lbpu)) {
			*msg = "the LUN does not support UNMAP";
			return NBD_EINVAL;
		}
		break;
	case NBD_CMD_WRITE_ZEROES:
		break;
	default:
		*msg = "unknown command";
		return NBD_EINVAL;
	}
	if (writes && ro) {
		*msg = "export is read-only";
		return NBD_EPERM;
	}
	if (r->off % e->bsz || r->len % e->bsz) {
		*msg = "offset and length must be multiples of the LUN's block size";
		return NBD_EINVAL;
	}
	if (r->off > e->size || r->len > e->size - r->off) {
		*msg = "request goes past the end of the export";
		return r->type == NBD_CMD_READ ? NBD_EINVAL : NBD_ENOSPC;
	}
	return 0;
}

/* ------------------------------------------------------------------ rx */

static void rx_expect(struct nbd_client *c, enum rx_state st, void *dst, size_t need)
{
	c->st = st;
	c->dst = dst;
	c->need = need;
	c->got = 0;
}

static void rx_discard(struct nbd_client *c, uint64_t n)
{
	c->st = RX_DISCARD;
	c->discard = n;
	c->dst = NULL;
	c->need = c->got = 0;
}

static uint16_t tx_flags(const struct nbd_client *c)
{
	const struct xi_nbd_export *e = c->e;
	uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |
	             NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_CAN_MULTI_CONN;

	/* One iSCSI session behind every connection: a flush on one covers all. */
	if (e->opt_read_only || e->wp)
		f |= NBD_FLAG_READ_ONLY;
	if (e->thin && e->lbpu)
		f |= NBD_FLAG_SEND_TRIM;
	if (c->structured)
		f |= NBD_FLAG_SEND_DF; /* a READ always gets exactly one chunk */
	return f;
}

static bool name_ok(const struct xi_nbd_export *e, const uint8_t *name, uint32_t len)
{
	return !e->name[0] || (strlen(e->name) == len && !memcmp(e->name, name, len));
}

static void enter_transmission(struct nbd_client *c)
{
	c->transmission = true;
	free(c->optbuf);
	c->optbuf = NULL;
	rx_expect(c, RX_REQ_HDR, c->hdr, 28);
}

static void next_option(struct nbd_client *c)
{
	free(c->optbuf);
	c->optbuf = NULL;
	rx_expect(c, RX_OPT_HDR, c->hdr, 16);
}

/* 0: the option is answered; 1: it waits for the LUN probe. */
static int need_probe(struct nbd_client *c)
{
	struct xi_nbd_export *e = c->e;

	if (e->probe == PROBE_DONE)
		return 0;
	if (e->probe == PROBE_FAILED && c->st == RX_OPT_WAIT)
		return 0; /* this option already waited for one probe: answer it */
	if (e->probe != PROBE_RUNNING)
		xi_nbd_probe_start(e);
	if (e->probe == PROBE_RUNNING) {
		c->st = RX_OPT_WAIT;
		return 1;
	}
	return 0;
}

static void opt_info(struct nbd_client *c)
{
	struct xi_nbd_export *e = c->e;
	const uint8_t *d = c->optbuf;
	uint32_t len = c->optlen, nl, nreq;
	uint8_t info[14];

	/* NBD_OPT_INFO/GO data: name length, name, request count, requests. */
	if (len < 6 || (nl = get32(d)) > len - 6 ||
	    (nreq = get16(d + 4 + nl), 6 + nl + 2 * nreq != len)) {
		opt_error(c, NBD_REP_ERR_INVALID, "malformed NBD_OPT_INFO/GO data");
		next_option(c);
		return;
	}
	if (!name_ok(e, d + 4, nl)) {
		opt_error(c, NBD_REP_ERR_UNKNOWN, "no export of that name");
		next_option(c);
		return;
	}
	if (e->closing) {
		opt_error(c, NBD_REP_ERR_SHUTDOWN, "export is shutting down");
		next_option(c);
		return;
	}
	if (need_probe(c))
		return;
	if (e->probe != PROBE_DONE) {
		opt_error(c, NBD_REP_ERR_UNKNOWN, "the LUN cannot be read (READ CAPACITY failed)");
		next_option(c);
		return;
	}
	put16(info, NBD_INFO_EXPORT);
	put64(info + 2, e->size);
	put16(info + 10, tx_flags(c));
	opt_reply(c, NBD_REP_INFO, info, 12);
	/* Sent whether asked or not: the minimum is the LUN's logical block. */
	put16(info, NBD_INFO_BLOCK_SIZE);
	put32(info + 2, e->bsz);
	put32(info + 6, e->pref_bsz);
	put32(info + 10, NBD_MAX_REQUEST);
	opt_reply(c, NBD_REP_INFO, info, 14);
	opt_reply(c, NBD_REP_ACK, NULL, 0);
	if (c->opt == NBD_OPT_GO)
		enter_transmission(c);
	else
		next_option(c);
}

static void opt_export_name(struct nbd_client *c)
{
	struct xi_nbd_export *e = c->e;
	uint8_t buf[10 + 124];

	if (!name_ok(e, c->optbuf, c->optlen)) {
		client_kill(c, "NBD_OPT_EXPORT_NAME: no export of that name");
		return;
	}
	if (e->closing) {
		client_kill(c, NULL);
		return;
	}
	if (need_probe(c))
		return;
	if (e->probe != PROBE_DONE) {
		client_kill(c, "the LUN cannot be read (READ CAPACITY failed)");
		return;
	}
	memset(buf, 0, sizeof(buf));
	put64(buf, e->size);
	put16(buf + 8, tx_flags(c));
	raw_send(c, buf, c->no_zeroes ? 10 : sizeof(buf));
	if (!c->dead)
		enter_transmission(c);
}

static void opt_handle(struct nbd_client *c)
{
	struct xi_nbd_export *e = c->e;

	if (c->opt_too_big) {
		c->opt_too_big = false;
		if (c->opt == NBD_OPT_EXPORT_NAME)
			client_kill(c, "NBD_OPT_EXPORT_NAME: name too long");
		else
			opt_error(c, NBD_REP_ERR_TOO_BIG, "option data too long");
		if (!c->dead)
			next_option(c);
		return;
	}
	switch (c->opt) {
	case NBD_OPT_EXPORT_NAME:
		opt_export_name(c);
		return;
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		opt_info(c);
		return;
	case NBD_OPT_ABORT:
		opt_reply(c, NBD_REP_ACK, NULL, 0);
		c->st = RX_STOP;
		return;
	case NBD_OPT_LIST:
		if (c->optlen) {
			opt_error(c, NBD_REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
		} else {
			uint32_t nl = (uint32_t)strlen(e->name);
			uint8_t *b = malloc(4 + nl);

			if (!b) {
				client_kill(c, "out of memory");
				return;
			}
			put32(b, nl);
			memcpy(b + 4, e->name, nl);
			opt_reply(c, NBD_REP_SERVER, b, 4 + nl);
			free(b);
			opt_reply(c, NBD_REP_ACK, NULL, 0);
		}
		break;
	case NBD_OPT_STRUCTURED_REPLY:
		if (c->optlen) {
			opt_error(c, NBD_REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data");
		} else {
			c->structured = true;
			opt_reply(c, NBD_REP_ACK, NULL, 0);
		}
		break;
	default:
		opt_error(c, NBD_REP_ERR_UNSUP, "option not supported");
		break;
	}
	if (!c->dead)
		next_option(c);
}

/* A request header has arrived (proto.md "Request message"). */
static void req_header(struct nbd_client *c)
{
	struct xi_nbd_export *e = c->e;
	struct nbd_req *r;
	const char *msg = NULL;
	int err;

	if (get32(c->hdr) != NBD_MAGIC_REQUEST) {
		client_kill(c, "bad request magic");
		return;
	}
	if (get16(c->hdr + 6) == NBD_CMD_DISC) {
		c->st = RX_STOP; /* replies still owed go out, then the socket closes */
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		client_kill(c, "out of memory");
		return;
	}
	r->c = c;
	r->flags = get16(c->hdr + 4);
	r->type = get16(c->hdr + 6);
	r->handle = get64(c->hdr + 8);
	r->off = get64(c->hdr + 16);
	r->len = get32(c->hdr + 24);
	c->reqs++;
	e->inflight++;
	err = req_check(c, r, &msg);
	if (!err && (r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE)) {
		r->buf = malloc(r->len);
		if (!r->buf) {
			err = NBD_ENOMEM;
			msg = "out of memory";
		} else {
			r->bytes = r->len;
			c->bytes += r->len;
		}
	}
	if (err)
		xi_nbd_req_fail(r, err, msg);
	if (r->type == NBD_CMD_WRITE) {
		/* The payload follows the header whatever we think of the request. */
		c->cur = r;
		if (err)
			rx_discard(c, r->len);
		else
			rx_expect(c, RX_REQ_DATA, r->buf, r->len);
		return;
	}
	if (err)
		xi_nbd_req_reply(r);
	else
		xi_nbd_req_start(r);
}

/* The bytes the current state waited for are in. */
static void rx_step(struct nbd_client *c)
{
	switch (c->st) {
	case RX_CFLAGS: {
		uint32_t f = get32(c->hdr);

		if (f & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
			client_kill(c, "unknown client flags");
			return;
		}
		c->no_zeroes = f & NBD_FLAG_C_NO_ZEROES;
		next_option(c);
		return;
	}
	case RX_OPT_HDR:
		if (get64(c->hdr) != NBD_MAGIC_OPT) {
			client_kill(c, "bad option magic");
			return;
		}
		c->opt = get32(c->hdr + 8);
		c->optlen = get32(c->hdr + 12);
		if (c->optlen > NBD_MAX_OPTION) {
			c->opt_too_big = true;
			if (c->opt == NBD_OPT_EXPORT_NAME) {
				opt_handle(c);
				return;
			}
			rx_discard(c, c->optlen);
			return;
		}
		c->optbuf = malloc(c->optlen + 1);
		if (!c->optbuf) {
			client_kill(c, "out of memory");
			return;
		}
		rx_expect(c, RX_OPT_DATA, c->optbuf, c->optlen);
		return;
	case RX_OPT_DATA:
		opt_handle(c);
		return;
	case RX_REQ_HDR:
		rx_expect(c, RX_REQ_HDR, c->hdr, 28); /* the next header, unless a payload */
		req_header(c);
		return;
	case RX_REQ_DATA: {
		struct nbd_req *r = c->cur;

		const char *msg = NULL;
		int err;

		c->cur = NULL;
		rx_expect(c, RX_REQ_HDR, c->hdr, 28);
		err = req_check(c, r, &msg); /* the export may be closing by now */
		if (err)
			xi_nbd_req_fail(r, err, msg);
		if (r->err)
			xi_nbd_req_reply(r);
		else
			xi_nbd_req_start(r);
		return;
	}
	case RX_DISCARD:
		if (c->transmission) {
			struct nbd_req *r = c->cur;

			c->cur = NULL;
			rx_expect(c, RX_REQ_HDR, c->hdr, 28);
			xi_nbd_req_reply(r);
		} else {
			opt_handle(c);
		}
		return;
	case RX_OPT_WAIT:
	case RX_STOP:
		return;
	}
}

static bool rx_paused(const struct nbd_client *c)
{
	switch (c->st) {
	case RX_CFLAGS:
	case RX_OPT_HDR:
		return c->txh != NULL; /* one option at a time: its replies go out first */
	case RX_OPT_WAIT:
	case RX_STOP:
		return true;
	case RX_REQ_HDR:
		return c->reqs >= CLIENT_MAX_REQS || c->bytes >= CLIENT_MAX_BYTES;
	default:
		return false;
	}
}

static void rx_eof(struct nbd_client *c)
{
	if (c->cur) {
		req_free(c->cur);
		c->cur = NULL;
	}
	c->st = RX_STOP;
}

/* read() into dst; false when nothing more can be read now. */
static bool rx_read(struct nbd_client *c, void *dst, size_t len, size_t *got)
{
	for (;;) {
		ssize_t n = read(c->fd, dst, len);

		if (n > 0) {
			*got = (size_t)n;
			return true;
		}
		if (n == 0) {
			rx_eof(c);
			return false;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			client_kill(c, errno == ECONNRESET ? NULL : strerror(errno));
		return false;
	}
}

static void client_read(struct nbd_client *c)
{
	int reads = READ_BUDGET;
	bool drained = false;

	if (c->reading)
		return; /* a reply sent from inside the loop below: it goes on by itself */
	c->reading = true;
	while (!c->dead && !rx_paused(c)) {
		size_t avail = c->rlen - c->rpos, n;

		if (c->st == RX_DISCARD ? c->discard == 0 : c->got >= c->need) {
			rx_step(c);
			continue;
		}
		if (avail) {
			if (c->st == RX_DISCARD) {
				n = avail < c->discard ? avail : (size_t)c->discard;
				c->discard -= n;
			} else {
				n = avail < c->need - c->got ? avail : c->need - c->got;
				memcpy(c->dst + c->got, c->rbuf + c->rpos, n);
				c->got += n;
			}
			c->rpos += n;
			continue;
		}
		/* A short read emptied the socket: level-triggered epoll says when
		 * there is more, no need to ask read() for its EAGAIN. */
		if (drained || reads-- == 0)
			break;
		if (c->st != RX_DISCARD && c->need - c->got >= RBUF_SIZE / 2) {
			/* Large payloads land in place. */
			size_t want = c->need - c->got;

			if (!rx_read(c, c->dst + c->got, want, &n))
				break;
			c->got += n;
			drained = n < want;
		} else {
			if (!rx_read(c, c->rbuf, RBUF_SIZE, &n))
				break;
			c->rpos = 0;
			c->rlen = n;
			drained = n < RBUF_SIZE;
		}
	}
	c->reading = false;
	if (!c->dead) {
		client_update_events(c);
		client_maybe_finish(c);
	}
}

/* ------------------------------------------------------------- clients */

static void client_update_events(struct nbd_client *c)
{
	struct epoll_event ev;
	uint32_t want = (rx_paused(c) ? 0 : EPOLLIN) | (c->txh ? EPOLLOUT : 0);

	if (c->dead || want == c->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = &c->evh;
	if (epoll_ctl(c->e->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
	else
		client_kill(c, strerror(errno));
}

static void client_free(struct nbd_client *c)
{
	free(c->rbuf);
	free(c->optbuf);
	free(c);
}

/* Dead and idle: to the reaper. Alive and done: close it. */
static void client_maybe_finish(struct nbd_client *c)
{
	struct xi_nbd_export *e = c->e;

	if (c->dead) {
		if (!c->reqs && !c->queued_dead) {
			c->queued_dead = true;
			c->next = e->dead1;
			e->dead1 = c;
			reap_arm(e);
		}
		return;
	}
	if (c->reqs || c->txh)
		return;
	if (e->closing && c->transmission && c->st != RX_STOP && !c->draining) {
		/* Requests already in the socket get their ESHUTDOWN before it closes. */
		c->draining = true;
		client_read(c);
		c->draining = false;
		if (c->dead || c->reqs || c->txh)
			return;
	}
	if (c->st == RX_STOP || (e->closing && c->transmission))
		client_kill(c, NULL);
}

static void client_kill(struct nbd_client *c, const char *why)
{
	struct xi_nbd_export *e = c->e;

	if (c->dead)
		return;
	if (why)
		xi_nbd_log("client %d: %s; closing it", c->fd, why);
	c->dead = true;
	epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	for (struct nbd_client **p = &e->clients; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	e->nclients--;
	while (c->txh) {
		struct nbd_out *o = c->txh;

		c->txh = o->next;
		if (o->req)
			req_free(o->req);
		else
			free(o);
	}
	c->txt = &c->txh;
	if (c->cur) {
		req_free(c->cur);
		c->cur = NULL;
	}
	client_maybe_finish(c);
}

static void client_fn(struct xi_evh *h, uint32_t events)
{
	struct nbd_client *c = (struct nbd_client *)h;

	if (c->dead)
		return;
	if (events & EPOLLERR) {
		client_kill(c, NULL); /* reset by the client */
		return;
	}
	if (events & EPOLLOUT)
		client_flush(c);
	if (!c->dead && (events & (EPOLLIN | EPOLLHUP)))
		client_read(c);
	if (!c->dead && (events & EPOLLHUP) && rx_paused(c))
		client_kill(c, NULL); /* gone both ways: no reply can reach it */
}

static void client_new(struct xi_nbd_export *e, int fd)
{
	struct nbd_client *c = calloc(1, sizeof(*c));
	struct epoll_event ev;
	uint8_t greet[18];

	if (!c || !(c->rbuf = malloc(RBUF_SIZE))) {
		xi_nbd_log("out of memory for a client");
		free(c);
		close(fd);
		return;
	}
	c->evh.fn = client_fn;
	c->e = e;
	c->fd = fd;
	c->txt = &c->txh;
	c->events = EPOLLIN;
	rx_expect(c, RX_CFLAGS, c->hdr, 4);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &c->evh;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		xi_nbd_log("epoll: %s", strerror(errno));
		client_free(c);
		close(fd);
		return;
	}
	c->next = e->clients;
	e->clients = c;
	e->nclients++;
	/* Fixed newstyle greeting (proto.md "Newstyle negotiation"). */
	put64(greet, NBD_MAGIC_INIT);
	put64(greet + 8, NBD_MAGIC_OPT);
	put16(greet + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	raw_send(c, greet, sizeof(greet));
}

static void listen_fn(struct xi_evh *h, uint32_t events)
{
	struct nbd_listener *l = (struct nbd_listener *)h;
	struct xi_nbd_export *e = l->e;

	(void)events;
	for (int i = 0; i < 16 && l->fd >= 0; i++) {
		int one = 1;
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				xi_nbd_log("accept: %s", strerror(errno));
			return;
		}
		if (e->closing || e->nclients >= e->max_clients) {
			xi_nbd_log("client refused: %s",
			           e->closing ? "shutting down" : "too many clients");
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		client_new(e, fd);
	}
}

/* --------------------------------------------------------------- probe */

static void wake_waiters(struct xi_nbd_export *e)
{
	struct nbd_client *c = e->clients;

	while (c) {
		struct nbd_client *next = c->next; /* c may die below */

		if (c->st == RX_OPT_WAIT) {
			opt_handle(c);
			if (!c->dead)
				client_read(c);
		}
		c = next;
	}
}

void xi_nbd_probe_finish(struct xi_nbd_export *e, bool ok)
{
	e->probe = ok ? PROBE_DONE : PROBE_FAILED;
	if (ok) {
		xi_nbd_log("LUN %" PRIu64 ": %" PRIu64 " bytes, block %u, max transfer %u%s%s%s",
		           e->lun, e->size, e->bsz, e->max_xfer,
		           e->thin && e->lbpu ? ", UNMAP" : "",
		           e->thin && e->lbpws ? ", WRITE SAME UNMAP" : "",
		           e->wp ? ", write-protected" : "");
	}
	if (e->closing)
		reap_arm(e);
	else
		wake_waiters(e);
}

/* ------------------------------------------------------------ sockets */

static int listen_unix(const char *path, int *out)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, err;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		xi_nbd_log("socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		int t;

		if (!S_ISSOCK(st.st_mode)) {
			xi_nbd_log("%s exists and is not a socket", path);
			return -EEXIST;
		}
		t = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (t >= 0 && connect(t, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(t);
			xi_nbd_log("%s: another server listens there", path);
			return -EADDRINUSE;
		}
		if (t >= 0)
			close(t);
		unlink(path); /* stale */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177); /* the socket is created 0600 */
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (!err && listen(fd, 64))
		err = -errno;
	if (err) {
		xi_nbd_log("%s: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* "HOST:PORT" or "[V6]:PORT", numeric. */
static int listen_tcp(const char *addr, bool allow_remote, int *out)
{
	char host[256], *port;
	struct addrinfo hints, *ai = NULL;
	int fd, one = 1, err;

	if (strlen(addr) >= sizeof(host))
		return -EINVAL;
	strcpy(host, addr);
	if (host[0] == '[') {
		char *end = strchr(host, ']');

		if (!end || end[1] != ':')
			goto bad;
		*end = '\0';
		port = end + 2;
		memmove(host, host + 1, strlen(host + 1) + 1);
	} else {
		port = strrchr(host, ':');
		if (!port)
			goto bad;
		*port++ = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (!*port || getaddrinfo(host, port, &hints, &ai) || !ai)
		goto bad;
	if (!allow_remote && !is_loopback(ai->ai_addr)) {
		xi_nbd_log("--tcp %s: not a loopback address (remote clients are not allowed)",
		           addr);
		freeaddrinfo(ai);
		return -EPERM;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		freeaddrinfo(ai);
		return err;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	err = bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64) ? -errno : 0;
	freeaddrinfo(ai);
	if (err) {
		xi_nbd_log("%s: %s", addr, strerror(-err));
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
bad:
	xi_nbd_log("bad TCP address '%s': want HOST:PORT or [IPV6]:PORT, numeric", addr);
	return -EINVAL;
}

/* ---------------------------------------------------------- the export */

static void export_free(struct xi_nbd_export *e)
{
	for (int i = 0; i < e->nls; i++) {
		if (e->ls[i].fd >= 0) {
			epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->ls[i].fd, NULL);
			close(e->ls[i].fd);
		}
	}
	if (e->reap_fd >= 0) {
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->reap_fd, NULL);
		close(e->reap_fd);
	}
	free(e->zeros);
	free(e->name);
	free(e->unix_path);
	free(e->tcp_addr);
	free(e);
}

static void reap_fn(struct xi_evh *h, uint32_t events)
{
	struct xi_nbd_export *e =
	        (struct xi_nbd_export *)((char *)h - offsetof(struct xi_nbd_export, reap_evh));
	uint64_t v;

	(void)events;
	if (read(e->reap_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		xi_nbd_log("reaper eventfd: %s", strerror(errno));
	/* Freed one round after they were queued: no batch still names them. */
	while (e->dead2) {
		struct nbd_client *c = e->dead2;

		e->dead2 = c->next;
		client_free(c);
	}
	e->dead2 = e->dead1;
	e->dead1 = NULL;
	if (e->closing)
		e->reap_passes++;
	if (!e->closing) {
		if (e->dead2)
			reap_arm(e);
		return;
	}
	if (e->clients || e->dead2 || e->probe == PROBE_RUNNING || e->inflight) {
		if (e->dead2)
			reap_arm(e);
		return;
	}
	if (e->reap_passes < 2) {
		reap_arm(e);
		return;
	}
	{
		void (*done)(void *) = e->done;
		void *arg = e->done_arg;

		export_free(e);
		if (done)
			done(arg);
	}
}

int xi_nbd_export_new(struct xiscsi_loop *loop, struct xiscsi_session *s, uint64_t lun,
                      const struct xi_nbd_opts *opts, int epfd, struct xi_nbd_export **out)
{
	struct xi_nbd_export *e;
	struct epoll_event ev;
	int err;

	if (!loop || !s || !opts || !out || epfd < 0 || (!opts->unix_path && !opts->tcp_addr))
		return -EINVAL;
	if (opts->name && strlen(opts->name) > NBD_MAX_NAME)
		return -ENAMETOOLONG;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->loop = loop;
	e->s = s;
	e->lun = lun;
	e->epfd = epfd;
	e->reap_fd = -1;
	e->waitt = &e->waith;
	e->opt_read_only = opts->read_only;
	e->max_clients = opts->max_clients ? opts->max_clients : 16;
	e->name = strdup(opts->name ? opts->name : "");
	e->unix_path = opts->unix_path ? strdup(opts->unix_path) : NULL;
	e->tcp_addr = opts->tcp_addr ? strdup(opts->tcp_addr) : NULL;
	if (!e->name || (opts->unix_path && !e->unix_path) || (opts->tcp_addr && !e->tcp_addr)) {
		err = -ENOMEM;
		goto fail;
	}
	e->reap_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->reap_fd < 0) {
		err = -errno;
		goto fail;
	}
	e->reap_evh.fn = reap_fn;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &e->reap_evh;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, e->reap_fd, &ev)) {
		err = -errno;
		close(e->reap_fd);
		e->reap_fd = -1;
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		const char *where = i == 0 ? e->unix_path : e->tcp_addr;
		struct nbd_listener *l = &e->ls[e->nls];

		if (!where)
			continue;
		l->fd = -1;
		err = i == 0 ? listen_unix(where, &l->fd)
		             : listen_tcp(where, opts->allow_remote, &l->fd);
		if (err)
			goto fail;
		l->evh.fn = listen_fn;
		l->e = e;
		e->nls++;
		ev.data.ptr = &l->evh;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, l->fd, &ev)) {
			err = -errno;
			goto fail;
		}
	}
	xi_nbd_probe_start(e);
	*out = e;
	return 0;
fail:
	if (e->nls && e->unix_path && e->ls[0].fd >= 0)
		unlink(e->unix_path);
	export_free(e);
	return err;
}

void xi_nbd_export_close(struct xi_nbd_export *e, void (*done)(void *arg), void *arg)
{
	struct nbd_client *c;

	e->done = done;
	e->done_arg = arg;
	if (e->closing)
		return;
	e->closing = true;
	for (int i = 0; i < e->nls; i++) {
		if (e->ls[i].fd < 0)
			continue;
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->ls[i].fd, NULL);
		close(e->ls[i].fd);
		e->ls[i].fd = -1;
	}
	if (e->unix_path)
		unlink(e->unix_path);
	c = e->clients;
	while (c) {
		struct nbd_client *next = c->next;

		/* In transmission: what is in flight is answered, new requests get ESHUTDOWN. */
		if (!c->transmission)
			client_kill(c, NULL);
		else
			client_maybe_finish(c);
		c = next;
	}
	reap_arm(e);
}

void xi_nbd_export_session_lost(struct xi_nbd_export *e)
{
	e->lost = true;
}

void xi_nbd_export_info(const struct xi_nbd_export *e, struct xi_nbd_info *out)
{
	memset(out, 0, sizeof(*out));
	out->unix_path = e->unix_path;
	out->tcp_addr = e->tcp_addr;
	out->name = e->name;
	out->size = e->probe == PROBE_DONE ? e->size : 0;
	out->block_size = e->probe == PROBE_DONE ? e->bsz : 0;
	out->clients = e->nclients;
	out->inflight = e->inflight;
	out->reads = e->reads;
	out->writes = e->writes;
	out->flushes = e->flushes;
	out->trims = e->trims;
	out->zeroes = e->zeroes;
	out->errors = e->errors;
	out->bytes_read = e->bytes_read;
	out->bytes_written = e->bytes_written;
}
