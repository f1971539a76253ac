/*
 * xiscsi-io: one-shot SCSI commands and a small load generator on libxiscsi.
 *
 *   xiscsi-io [OPTIONS] URL COMMAND [ARGS]     or     xiscsi-io COMMAND URL [ARGS] [OPTIONS]
 *
 * Exit status: 0 success, 1 usage, 2 connect or login failed, 3 a SCSI
 * command failed, 4 data did not compare, 5 local I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xiscsi/xiscsi.h>

#include "initiator/cli.h"
#include "initiator/nbd.h"

enum {
	EXIT_USAGE = 1,
	EXIT_LOGIN = 2,
	EXIT_SCSI = 3,
	EXIT_MISCOMPARE = 4,
	EXIT_LOCAL = 5,
};

/* Largest single SCSI transfer the tool issues; longer requests are split. */
#define CHUNK_MAX (1024 * 1024)

struct args {
	const char *transport;
	const char *initiator;
	const char *digests;
	const char *in_file;
	const char *out_file;
	int pattern; /* -1: none */
	const char *rw;
	uint64_t bs;
	uint64_t qd;
	uint64_t time_ms;
	uint64_t count;
	uint64_t offset, length;
	bool have_offset, have_length;
	bool json;
	bool verify;
	bool quiet;
	int verbose;
	int page;       /* -1: standard inquiry + VPD list */
	char *sets[32]; /* --set KEY=VALUE, applied in order */
	int nsets;
	const char *topts[33]; /* transport options NAME[=VALUE], NULL-terminated */
	char topt_buf[32][80];
	int ntopts;
	const char *nbd_socket;
	const char *nbd_tcp;
	const char *nbd_name;
	bool read_only;
	const char *url;
	const char *cmd;
	char **pos; /* command arguments */
	int npos;
};

struct ctx {
	struct xiscsi_loop *loop;
	struct xiscsi_session *s;
	uint64_t lun;
	struct xiscsi_capacity cap;
	struct xiscsi_opts o;
};

static const char *prog = "xiscsi-io";

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s [OPTIONS] URL COMMAND [ARGS]   (or COMMAND URL [ARGS])\n"
	        "URL: iscsi://[user[%%secret]@]host[:port]/target-iqn/lun\n"
	        "commands:\n"
	        "  inquiry [--page N]               standard INQUIRY and the VPD page list\n"
	        "  capacity | readcap                READ CAPACITY(16)\n"
	        "  luns                             REPORT LUNS\n"
	        "  read LBA COUNT [-o FILE]          COUNT blocks to FILE (default stdout)\n"
	        "  read --offset BYTES --length BYTES [-o FILE]\n"
	        "  write LBA COUNT (-i FILE | --pattern BYTE)   FILE '-' is stdin\n"
	        "  write --offset BYTES (-i FILE | --pattern BYTE --length BYTES)\n"
	        "  compare LBA COUNT -i FILE         LUN blocks against FILE\n"
	        "  verify-pattern LBA COUNT --pattern BYTE\n"
	        "  load | bench [--rw read|write|randread|randwrite] [--bs 4k] [--qd 32]\n"
	        "               [--time 5s | --count N] [--json] [--verify]\n"
	        "               --verify (writes): stamp every block, read each acknowledged\n"
	        "               write back at the end and check it\n"
	        "  nbd --socket PATH [--tcp ADDR] [--name N] [--read-only]\n"
	        "                                   serve the LUN over NBD until SIGINT/SIGTERM\n"
	        "options:\n"
	        "  --transport NAME       tcp, uring, xdp (default: tcp or $XISCSI_TRANSPORT)\n"
	        "transport options (xiscsi-transport(7)):\n"
	        "  --busy-poll[=US]       spin up to US microseconds before sleeping\n"
	        "  --rx-buf BYTES         size of each receive buffer (default 128K)\n"
	        "  --sndbuf BYTES         SO_SNDBUF (default: kernel autotuning)\n"
	        "  --rcvbuf BYTES         SO_RCVBUF (default: kernel autotuning)\n"
	        "  --sqpoll-idle MS       uring: kernel submission thread, idle time\n"
	        "  --zc-threshold BYTES   uring/xdp: zero-copy sends from this size\n"
	        "  --xdp-if IF[:QUEUE]    xdp: interface and queue to take\n"
	        "  --xdp-ip ADDR/PREFIX   xdp: our IPv4 address on that link\n"
	        "  --xdp-gw ADDR          xdp: IPv4 gateway for peers off the link\n"
	        "  --xdp-frames N         xdp: UMEM frames of 4 KiB (8192)\n"
	        "  --xdp-mode MODE        xdp: auto, native or skb attach\n"
	        "  --xdp-bind MODE        xdp: auto, copy or zerocopy socket\n"
	        "  --xdp-csum MODE        xdp: verify or trust received checksums\n"
	        "  --transport-opt NAME[=VALUE]  any of these by name\n"
	        "other options:\n"
	        "  --initiator-name IQN   our iSCSI name\n"
	        "  -d, --digests WHICH    none, header, data, both (CRC32C)\n"
	        "      --set KEY=VALUE    any login key (MaxBurstLength=...) or library setting\n"
	        "                         (queue_depth, nop_interval_ms, reconnect_timeout_ms, "
	        "...)\n"
	        "  -v, --verbose          library diagnostics (twice: debug)\n"
	        "  -q, --quiet            no progress line\n"
	        "  -h, --help\n"
	        "exit: 0 ok, 1 usage, 2 connect/login, 3 SCSI error, 4 miscompare, 5 local I/O\n",
	        prog);
}

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(try %s --help)\n", prog);
	return EXIT_USAGE;
}

enum {
	OPT_TRANSPORT = 256,
	OPT_INITIATOR,
	OPT_PATTERN,
	OPT_RW,
	OPT_BS,
	OPT_QD,
	OPT_TIME,
	OPT_COUNT,
	OPT_OFFSET,
	OPT_LENGTH,
	OPT_JSON,
	OPT_PAGE,
	OPT_VERIFY,
	OPT_SET,
	OPT_SOCKET,
	OPT_TCP,
	OPT_NAME,
	OPT_READ_ONLY,
	OPT_TRANSPORT_OPT,
	OPT_TOPT_FIRST = 512, /* + index into topt_names[] */
};

/* Transport options taken as long flags of their own and handed to
 * xiscsi_loop_new_opts() by name; the library checks the values. */
static const char *const topt_names[] = {
        "busy-poll", "rx-buf", "sndbuf",     "rcvbuf",   "sqpoll-idle", "zc-threshold", "xdp-if",
        "xdp-ip",    "xdp-gw", "xdp-frames", "xdp-mode", "xdp-bind",    "xdp-csum",
};
#define N_TOPT (sizeof(topt_names) / sizeof(topt_names[0]))

static int add_topt(struct args *a, const char *name, const char *value)
{
	char *b;
	int n;

	if (a->ntopts >= 32)
		return bad("%s", "at most 32 transport options");
	b = a->topt_buf[a->ntopts];
	n = value ? snprintf(b, sizeof(a->topt_buf[0]), "%s=%s", name, value)
	          : snprintf(b, sizeof(a->topt_buf[0]), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(a->topt_buf[0]))
		return bad("transport option %s: value too long", name);
	a->topts[a->ntopts++] = b;
	a->topts[a->ntopts] = NULL;
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option base[] = {
	        {"transport", required_argument, NULL, OPT_TRANSPORT},
	        {"initiator-name", required_argument, NULL, OPT_INITIATOR},
	        {"digests", required_argument, NULL, 'd'},
	        {"input", required_argument, NULL, 'i'},
	        {"output", required_argument, NULL, 'o'},
	        {"pattern", required_argument, NULL, OPT_PATTERN},
	        {"rw", required_argument, NULL, OPT_RW},
	        {"bs", required_argument, NULL, OPT_BS},
	        {"qd", required_argument, NULL, OPT_QD},
	        {"time", required_argument, NULL, OPT_TIME},
	        {"seconds", required_argument, NULL, OPT_TIME},
	        {"count", required_argument, NULL, OPT_COUNT},
	        {"offset", required_argument, NULL, OPT_OFFSET},
	        {"length", required_argument, NULL, OPT_LENGTH},
	        {"json", no_argument, NULL, OPT_JSON},
	        {"page", required_argument, NULL, OPT_PAGE},
	        {"verify", no_argument, NULL, OPT_VERIFY},
	        {"set", required_argument, NULL, OPT_SET},
	        {"socket", required_argument, NULL, OPT_SOCKET},
	        {"tcp", required_argument, NULL, OPT_TCP},
	        {"name", required_argument, NULL, OPT_NAME},
	        {"read-only", no_argument, NULL, OPT_READ_ONLY},
	        {"verbose", no_argument, NULL, 'v'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {"transport-opt", required_argument, NULL, OPT_TRANSPORT_OPT},
	};
	struct option lo[sizeof(base) / sizeof(base[0]) + N_TOPT + 1];
	size_t nb = sizeof(base) / sizeof(base[0]);
	const char *eq;
	char name[32];
	uint64_t v;
	int c;

	memcpy(lo, base, sizeof(base));
	for (size_t i = 0; i < N_TOPT; i++)
		lo[nb + i] = (struct option){topt_names[i],
		                             i == 0 ? optional_argument : required_argument, NULL,
		                             OPT_TOPT_FIRST + (int)i};
	memset(&lo[nb + N_TOPT], 0, sizeof(lo[0]));

	a->pattern = -1;
	a->page = -1;
	a->rw = "randread";
	a->bs = 4096;
	a->qd = 32;
	a->time_ms = 5000;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:i:o:vqh", lo, NULL)) != -1) {
		switch (c) {
		case OPT_TRANSPORT:
			a->transport = optarg;
			break;
		case OPT_INITIATOR:
			a->initiator = optarg;
			break;
		case 'd':
			a->digests = optarg;
			break;
		case 'i':
			a->in_file = optarg;
			break;
		case 'o':
			a->out_file = optarg;
			break;
		case OPT_PATTERN:
			if (cli_u64(optarg, 0, 255, &v))
				return bad("--pattern wants a byte value 0..255, not '%s'", optarg);
			a->pattern = (int)v;
			break;
		case OPT_RW:
			if (strcmp(optarg, "read") && strcmp(optarg, "write") &&
			    strcmp(optarg, "randread") && strcmp(optarg, "randwrite"))
				return bad(
				        "--rw wants read, write, randread or randwrite, not '%s'",
				        optarg);
			a->rw = optarg;
			break;
		case OPT_BS:
			if (cli_size(optarg, &v) || v == 0 || v > 16 * 1024 * 1024)
				return bad("--bs wants a size such as 4k (at most 16M), not '%s'",
				           optarg);
			a->bs = v;
			break;
		case OPT_QD:
			if (cli_u64(optarg, 1, 4096, &v))
				return bad("--qd wants 1..4096, not '%s'", optarg);
			a->qd = v;
			break;
		case OPT_TIME:
			if (cli_duration_ms(optarg, &v) || v == 0)
				return bad("--time wants a duration such as 5s or 500ms, not '%s'",
				           optarg);
			a->time_ms = v;
			break;
		case OPT_COUNT:
			if (cli_u64(optarg, 1, UINT64_MAX, &v))
				return bad("--count wants a positive number, not '%s'", optarg);
			a->count = v;
			break;
		case OPT_OFFSET:
			if (cli_size(optarg, &v))
				return bad("--offset wants a byte offset, not '%s'", optarg);
			a->offset = v;
			a->have_offset = true;
			break;
		case OPT_LENGTH:
			if (cli_size(optarg, &v) || v == 0)
				return bad("--length wants a byte count, not '%s'", optarg);
			a->length = v;
			a->have_length = true;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_VERIFY:
			a->verify = true;
			break;
		case OPT_SET:
			if (!strchr(optarg, '=') || a->nsets >= 32)
				return bad("--set wants KEY=VALUE (at most 32), not '%s'", optarg);
			a->sets[a->nsets++] = optarg;
			break;
		case OPT_TRANSPORT_OPT:
			eq = strchr(optarg, '=');
			if ((eq ? (size_t)(eq - optarg) : strlen(optarg)) >= sizeof(name) ||
			    eq == optarg)
				return bad("--transport-opt wants NAME[=VALUE], not '%s'", optarg);
			snprintf(name, sizeof(name), "%.*s",
			         (int)(eq ? (size_t)(eq - optarg) : strlen(optarg)), optarg);
			if (add_topt(a, name, eq ? eq + 1 : NULL))
				return EXIT_USAGE;
			break;
		case OPT_SOCKET:
			a->nbd_socket = optarg;
			break;
		case OPT_TCP:
			a->nbd_tcp = optarg;
			break;
		case OPT_NAME:
			a->nbd_name = optarg;
			break;
		case OPT_READ_ONLY:
			a->read_only = true;
			break;
		case OPT_PAGE:
			if (cli_u64(optarg, 0, 255, &v))
				return bad("--page wants a VPD page number 0..255, not '%s'",
				           optarg);
			a->page = (int)v;
			break;
		case 'v':
			a->verbose++;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			return bad("option %s needs a value", argv[optind - 1]);
		default:
			if (c >= OPT_TOPT_FIRST && c < OPT_TOPT_FIRST + (int)N_TOPT) {
				if (add_topt(a, topt_names[c - OPT_TOPT_FIRST], optarg))
					return EXIT_USAGE;
				break;
			}
			return bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind < 2)
		return bad("%s", "needs a URL and a command");
	if (!strncmp(argv[optind], "iscsi://", 8)) {
		a->url = argv[optind];
		a->cmd = argv[optind + 1];
	} else {
		a->cmd = argv[optind];
		a->url = argv[optind + 1];
	}
	a->pos = argv + optind + 2;
	a->npos = argc - optind - 2;
	return 0;
}

static int open_session(struct ctx *c, const struct args *a)
{
	int err;

	xiscsi_opts_init(&c->o, sizeof(c->o));
	err = xiscsi_opts_parse_url(&c->o, a->url, &c->lun);
	if (err || !c->o.target_name) {
		fprintf(stderr, "%s: bad URL '%s': want iscsi://host[:port]/target-iqn/lun\n", prog,
		        a->url);
		return EXIT_USAGE;
	}
	if (a->initiator)
		c->o.initiator_name = a->initiator;
	if (a->digests) {
		bool h = !strcmp(a->digests, "header") || !strcmp(a->digests, "both") ||
		         !strcasecmp(a->digests, "crc32c");
		bool d = !strcmp(a->digests, "data") || !strcmp(a->digests, "both") ||
		         !strcasecmp(a->digests, "crc32c");

		if (!h && !d && strcmp(a->digests, "none"))
			return bad("-d wants none, header, data or both, not '%s'", a->digests);
		c->o.header_digest = h ? XISCSI_DIGEST_CRC32C : XISCSI_DIGEST_NONE;
		c->o.data_digest = d ? XISCSI_DIGEST_CRC32C : XISCSI_DIGEST_NONE;
	}
	for (int i = 0; i < a->nsets; i++) {
		char key[128];
		const char *eq = strchr(a->sets[i], '=');
		size_t kl = (size_t)(eq - a->sets[i]);

		if (kl >= sizeof(key))
			return bad("--set: key too long in '%s'", a->sets[i]);
		memcpy(key, a->sets[i], kl);
		key[kl] = '\0';
		err = xiscsi_opts_set(&c->o, key, eq + 1);
		if (err == -ENOENT)
			return bad("--set: unknown key '%s'", key);
		if (err)
			return bad("--set: bad value for %s: '%s'", key, eq + 1);
	}
	if (a->qd > c->o.queue_depth)
		c->o.queue_depth = (uint32_t)a->qd;
	xiscsi_set_log_level(a->verbose);
	err = xiscsi_loop_new_opts(a->transport, a->ntopts ? a->topts : NULL, &c->loop);
	if (err == -EINVAL)
		return bad("transport %s: bad or missing transport option (see above)",
		           a->transport ? a->transport : "tcp");
	if (err) {
		const char *why =
		        err == -ENOENT && a->transport ? xiscsi_transport_why(a->transport) : NULL;

		fprintf(stderr, "%s: transport %s: %s\n", prog, a->transport ? a->transport : "tcp",
		        why ? why : strerror(-err));
		return EXIT_USAGE;
	}
	err = xiscsi_session_new(c->loop, &c->o, &c->s);
	if (err) {
		fprintf(stderr, "%s: session options: %s\n", prog, strerror(-err));
		return EXIT_USAGE;
	}
	err = xiscsi_session_connect_sync(c->s);
	if (err) {
		fprintf(stderr, "%s: cannot log in to %s: %s\n", prog, a->url,
		        xiscsi_session_error(c->s));
		return EXIT_LOGIN;
	}
	return 0;
}

static void close_session(struct ctx *c)
{
	if (c->s && xiscsi_session_state(c->s) == XISCSI_STATE_LOGGED_IN)
		xiscsi_session_logout_sync(c->s);
	xiscsi_session_free(c->s);
	xiscsi_loop_free(c->loop);
	xiscsi_opts_clear(&c->o);
}

static int scsi_fail(const char *what, int err, const struct xiscsi_cmd *res)
{
	char buf[256];

	if (err == -EIO && res)
		fprintf(stderr, "%s: %s failed: %s\n", prog, what,
		        xiscsi_cmd_strerror(res, buf, sizeof(buf)));
	else
		fprintf(stderr, "%s: %s failed: %s\n", prog, what, strerror(-err));
	return EXIT_SCSI;
}

static void print_ascii(const char *label, const uint8_t *p, size_t n)
{
	printf("%s", label);
	for (size_t i = 0; i < n; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	putchar('\n');
}

static int cmd_inquiry(struct ctx *c, const struct args *a)
{
	struct xiscsi_cmd res;
	uint8_t buf[255];
	uint32_t got = 0;
	int err;

	memset(buf, 0, sizeof(buf));
	if (a->page >= 0) {
		err = xiscsi_inquiry_sync(c->s, c->lun, true, (uint8_t)a->page, buf, sizeof(buf),
		                          &got, &res);
		if (err)
			return scsi_fail("INQUIRY", err, &res);
		printf("VPD page 0x%02x, %u bytes:\n", a->page, got);
		for (uint32_t i = 0; i < got; i++)
			printf("%02x%s", buf[i], (i % 16 == 15 || i + 1 == got) ? "\n" : " ");
		return 0;
	}
	err = xiscsi_inquiry_sync(c->s, c->lun, false, 0, buf, 96, &got, &res);
	if (err)
		return scsi_fail("INQUIRY", err, &res);
	if (got < 36) {
		fprintf(stderr, "%s: INQUIRY returned %u bytes, want 36\n", prog, got);
		return EXIT_SCSI;
	}
	/* SPC-5 6.7.2 standard INQUIRY data. */
	printf("Peripheral qualifier: %u\n", buf[0] >> 5);
	printf("Device type: 0x%02x\n", buf[0] & 0x1f);
	printf("Removable: %s\n", (buf[1] & 0x80) ? "yes" : "no");
	printf("Version: 0x%02x\n", buf[2]);
	print_ascii("Vendor: ", buf + 8, 8);
	print_ascii("Product: ", buf + 16, 16);
	print_ascii("Revision: ", buf + 32, 4);
	err = xiscsi_inquiry_sync(c->s, c->lun, true, 0, buf, sizeof(buf), &got, &res);
	if (err) {
		printf("VPD pages: none (%s)\n", err == -EIO ? "not supported" : strerror(-err));
		return 0;
	}
	printf("VPD pages:");
	/* SPC-5 7.7.15: the list starts at byte 4, PAGE LENGTH in bytes 2..3. */
	for (uint32_t i = 4; i < got && i < 4u + ((uint32_t)buf[2] << 8 | buf[3]); i++)
		printf(" 0x%02x", buf[i]);
	printf("\n");
	return 0;
}

static int get_capacity(struct ctx *c)
{
	struct xiscsi_cmd res;
	int err = xiscsi_readcap16_sync(c->s, c->lun, &c->cap, &res);

	if (err)
		return scsi_fail("READ CAPACITY(16)", err, &res);
	return 0;
}

static int cmd_capacity(struct ctx *c)
{
	int rc = get_capacity(c);

	if (rc)
		return rc;
	printf("Blocks: %" PRIu64 "\n", c->cap.blocks);
	printf("Block size: %u\n", c->cap.block_size);
	printf("Bytes: %" PRIu64 "\n", c->cap.blocks * c->cap.block_size);
	printf("Thin provisioned: %s\n", c->cap.thin ? "yes" : "no");
	return 0;
}

static int cmd_luns(struct ctx *c)
{
	struct xiscsi_cmd res;
	uint64_t *luns = NULL;
	unsigned n = 0;
	int err = xiscsi_report_luns_sync(c->s, &luns, &n, &res);

	if (err)
		return scsi_fail("REPORT LUNS", err, &res);
	for (unsigned i = 0; i < n; i++)
		printf("%" PRIu64 "\n", luns[i]);
	free(luns);
	return 0;
}

/* The block range of read/write/compare: LBA COUNT, or --offset/--length in bytes. */
static int get_range(struct ctx *c, const struct args *a, bool need_len, uint64_t *lba,
                     uint64_t *blocks)
{
	uint64_t bsz = c->cap.block_size;

	if (a->npos >= 2) {
		if (cli_u64(a->pos[0], 0, UINT64_MAX, lba))
			return bad("LBA '%s' is not a number", a->pos[0]);
		if (cli_u64(a->pos[1], 1, UINT32_MAX, blocks))
			return bad("COUNT '%s' is not a positive number", a->pos[1]);
	} else if (a->have_offset || a->have_length) {
		if (a->offset % bsz || a->length % bsz)
			return bad("--offset and --length must be multiples of the block size%s",
			           "");
		*lba = a->offset / bsz;
		*blocks = a->length / bsz;
		if (need_len && *blocks == 0)
			return bad("%s", "--length is needed");
	} else {
		return bad("%s needs LBA COUNT (or --offset/--length)", a->cmd);
	}
	if (*lba >= c->cap.blocks || (need_len && *blocks > c->cap.blocks - *lba)) {
		fprintf(stderr, "%s: range past the end of the LUN (%" PRIu64 " blocks)\n", prog,
		        c->cap.blocks);
		return EXIT_USAGE;
	}
	return 0;
}

static void progress(const struct args *a, uint64_t done, uint64_t total)
{
	if (a->quiet || !isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\r%" PRIu64 "/%" PRIu64 " MiB (%u%%)", done >> 20, total >> 20,
	        (unsigned)(total ? done * 100 / total : 100));
	if (done == total)
		fputc('\n', stderr);
}

static ssize_t read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

enum xfer_kind { XFER_READ, XFER_WRITE, XFER_COMPARE, XFER_VERIFY };

static int cmd_xfer(struct ctx *c, const struct args *a, enum xfer_kind kind)
{
	uint64_t lba, blocks, done = 0, total;
	uint32_t bsz;
	uint8_t *buf = NULL, *ref = NULL;
	int fd = -1, rc;
	bool own_fd = false;

	rc = get_capacity(c);
	if (rc)
		return rc;
	bsz = c->cap.block_size;
	if (kind == XFER_WRITE && a->npos < 2 && !a->have_length && a->in_file) {
		/* write --offset X -i FILE: the file's size says how much. */
		struct stat st;

		if (stat(a->in_file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
			struct args b = *a;

			b.length = (uint64_t)st.st_size;
			b.have_length = true;
			b.have_offset = true;
			rc = get_range(c, &b, true, &lba, &blocks);
			goto have_range;
		}
	}
	rc = get_range(c, a, true, &lba, &blocks);
have_range:
	if (rc)
		return rc;
	if ((kind == XFER_WRITE && a->pattern < 0 && !a->in_file) ||
	    (kind == XFER_COMPARE && !a->in_file))
		return bad("%s needs -i FILE (or --pattern BYTE for write)", a->cmd);
	if (kind == XFER_VERIFY && a->pattern < 0)
		return bad("%s needs --pattern BYTE", a->cmd);
	total = blocks * bsz;
	buf = malloc(CHUNK_MAX > bsz ? CHUNK_MAX : bsz);
	ref = malloc(CHUNK_MAX > bsz ? CHUNK_MAX : bsz);
	if (!buf || !ref) {
		rc = EXIT_LOCAL;
		goto out;
	}
	if (kind == XFER_READ) {
		if (a->out_file && strcmp(a->out_file, "-")) {
			fd = open(a->out_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			own_fd = true;
		} else {
			fd = STDOUT_FILENO;
		}
	} else if (a->in_file) {
		if (strcmp(a->in_file, "-")) {
			fd = open(a->in_file, O_RDONLY);
			own_fd = true;
		} else {
			fd = STDIN_FILENO;
		}
	}
	if ((a->in_file || kind == XFER_READ) && fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, kind == XFER_READ ? a->out_file : a->in_file,
		        strerror(errno));
		rc = EXIT_LOCAL;
		goto out;
	}
	/* Bounded by the range: each turn moves at least one block. */
	while (done < total) {
		uint32_t n = (uint32_t)(total - done < CHUNK_MAX ? total - done : CHUNK_MAX);
		uint32_t nb = n / bsz;
		struct xiscsi_cmd res;
		int err;

		n = nb * bsz;
		if (kind == XFER_WRITE || kind == XFER_COMPARE) {
			if (a->in_file) {
				ssize_t r = read_full(fd, kind == XFER_WRITE ? buf : ref, n);

				if (r < 0) {
					fprintf(stderr, "%s: %s: %s\n", prog, a->in_file,
					        strerror((int)-r));
					rc = EXIT_LOCAL;
					goto out;
				}
				if ((uint32_t)r < n) {
					fprintf(stderr, "%s: %s ends after %" PRIu64 " bytes\n",
					        prog, a->in_file, done + (uint64_t)r);
					rc = EXIT_LOCAL;
					goto out;
				}
			} else {
				memset(buf, a->pattern, n);
			}
		}
		if (kind == XFER_VERIFY)
			memset(ref, a->pattern, n);
		if (kind == XFER_WRITE)
			err = xiscsi_write_sync(c->s, c->lun, lba, nb, bsz, buf, &res);
		else
			err = xiscsi_read_sync(c->s, c->lun, lba, nb, bsz, buf, &res);
		if (err) {
			rc = scsi_fail(kind == XFER_WRITE ? "WRITE(16)" : "READ(16)", err, &res);
			goto out;
		}
		if (kind == XFER_READ && write_full(fd, buf, n) < 0) {
			fprintf(stderr, "%s: writing output: %s\n", prog, strerror(errno));
			rc = EXIT_LOCAL;
			goto out;
		}
		if ((kind == XFER_COMPARE || kind == XFER_VERIFY) && memcmp(buf, ref, n)) {
			uint32_t i = 0;

			while (i < n && buf[i] == ref[i])
				i++;
			fprintf(stderr, "%s: miscompare at byte %" PRIu64 " (LBA %" PRIu64 ")\n",
			        prog, lba * bsz + i, lba + i / bsz);
			rc = EXIT_MISCOMPARE;
			goto out;
		}
		lba += nb;
		done += n;
		progress(a, done, total);
	}
	if (kind == XFER_WRITE) {
		struct xiscsi_cmd res;
		int err = xiscsi_sync_cache_sync(c->s, c->lun, &res);

		if (err)
			fprintf(stderr, "%s: warning: SYNCHRONIZE CACHE: %s\n", prog,
			        err == -EIO ? xiscsi_cmd_strerror(&res, (char *)ref, 256)
			                    : strerror(-err));
	}
	if (kind == XFER_COMPARE || kind == XFER_VERIFY)
		printf("%" PRIu64 " bytes compare equal\n", total);
	rc = 0;
out:
	if (own_fd && fd >= 0)
		close(fd);
	free(buf);
	free(ref);
	return rc;
}

/* ---------------------------------------------------------------- load */

struct load {
	struct ctx *c;
	const struct args *a;
	bool rnd, write;
	uint64_t span_blocks; /* LBAs the load covers */
	uint32_t nb;          /* blocks per I/O */
	uint64_t next_lba;
	uint64_t rng;
	uint64_t issued, done, errors;
	uint64_t start_ns, stop_ns;
	bool stopping;
	uint64_t hist[64 * 8]; /* latency histogram, log2 buckets with 8 sub-buckets */
	/* --verify: per slot of nb blocks, the generation last acknowledged (0: never). */
	uint32_t *acked;
	uint8_t *busy; /* a write to the slot is in flight */
	uint32_t gen;
	uint64_t unknown; /* writes whose outcome is unknown (failed): not checked */
	char first_err[256];
};

struct load_io {
	struct xiscsi_cmd cmd;
	struct load *l;
	uint8_t *buf;
	uint64_t t0;
	uint64_t slot;
	uint32_t gen;
};

/* Every block of a verified write says where it belongs and which write put it there. */
static void stamp(uint8_t *buf, uint32_t nb, uint32_t bsz, uint64_t lba, uint32_t gen)
{
	for (uint32_t b = 0; b < nb; b++) {
		uint8_t *p = buf + (size_t)b * bsz;
		uint64_t v = lba + b;

		memcpy(p, &v, sizeof(v));
		memcpy(p + 8, &gen, sizeof(gen));
		for (uint32_t i = 12; i < bsz; i++)
			p[i] = (uint8_t)(v * 31 + gen + i);
	}
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static unsigned hist_bucket(uint64_t ns)
{
	unsigned b = 0;

	if (ns < 8)
		return (unsigned)ns;
	b = 63 - (unsigned)__builtin_clzll(ns);
	/* 8 sub-buckets per power of two: about 12 % resolution. */
	return (b - 2) * 8 + (unsigned)((ns >> (b - 3)) & 7);
}

static uint64_t hist_value(unsigned i)
{
	unsigned b = i / 8 + 2, sub = i % 8;

	if (i < 8)
		return i;
	return (1ull << b) + ((uint64_t)sub << (b - 3));
}

static uint64_t percentile(const struct load *l, double p)
{
	uint64_t want = (uint64_t)((double)l->done * p), seen = 0;

	for (unsigned i = 0; i < sizeof(l->hist) / sizeof(l->hist[0]); i++) {
		seen += l->hist[i];
		if (seen > want)
			return hist_value(i);
	}
	return 0;
}

static void load_issue(struct load_io *io);

static void load_done(struct xiscsi_cmd *cmd)
{
	struct load_io *io = cmd->priv;
	struct load *l = io->l;
	uint64_t now = cli_now_ns();
	unsigned b = hist_bucket(now - io->t0);

	if (b >= sizeof(l->hist) / sizeof(l->hist[0]))
		b = sizeof(l->hist) / sizeof(l->hist[0]) - 1;
	l->hist[b]++;
	l->done++;
	if (!xiscsi_cmd_ok(cmd)) {
		if (!l->errors)
			xiscsi_cmd_strerror(cmd, l->first_err, sizeof(l->first_err));
		l->errors++;
		if (l->acked) {
			l->acked[io->slot] = UINT32_MAX; /* outcome unknown */
			l->unknown++;
		}
	} else if (l->acked) {
		l->acked[io->slot] = io->gen;
	}
	if (l->busy)
		l->busy[io->slot] = 0;
	if (l->a->count ? l->issued >= l->a->count : now >= l->stop_ns)
		l->stopping = true;
	if (!l->stopping)
		load_issue(io);
}

static void load_issue(struct load_io *io)
{
	struct load *l = io->l;
	uint64_t lba;
	int err;

	if (l->rnd) {
		lba = (xorshift(&l->rng) % (l->span_blocks / l->nb)) * l->nb;
		/* Never two writes in flight to one slot: the last acknowledged must win. */
		for (int i = 0; l->busy && l->busy[lba / l->nb] && i < 64; i++)
			lba = (xorshift(&l->rng) % (l->span_blocks / l->nb)) * l->nb;
		if (l->busy && l->busy[lba / l->nb])
			return; /* queue deeper than free slots: run with fewer */
	} else {
		if (l->next_lba + l->nb > l->span_blocks)
			l->next_lba = 0;
		lba = l->next_lba;
		l->next_lba += l->nb;
	}
	io->slot = lba / l->nb;
	if (l->acked) {
		io->gen = ++l->gen;
		if (io->gen == UINT32_MAX)
			io->gen = ++l->gen;
		l->busy[io->slot] = 1;
		stamp(io->buf, l->nb, l->c->cap.block_size, lba, io->gen);
	}
	memset(&io->cmd, 0, sizeof(io->cmd));
	io->cmd.lun = l->c->lun;
	if (l->write)
		xiscsi_cdb_write16(&io->cmd, lba, l->nb, false);
	else
		xiscsi_cdb_read16(&io->cmd, lba, l->nb, false);
	xiscsi_cmd_set_buf(&io->cmd, io->buf, l->nb * l->c->cap.block_size);
	io->cmd.cb = load_done;
	io->cmd.priv = io;
	io->t0 = cli_now_ns();
	err = xiscsi_submit(l->c->s, &io->cmd);
	if (err) {
		if (!l->errors)
			snprintf(l->first_err, sizeof(l->first_err), "submit: %s", strerror(-err));
		l->errors++;
		l->stopping = true;
		return;
	}
	l->issued++;
}

/* Read back every slot an acknowledged write touched and check its stamp. */
static int load_verify(struct load *l, uint8_t *buf)
{
	uint32_t bsz = l->c->cap.block_size;
	uint64_t slots = l->span_blocks / l->nb, checked = 0;
	uint8_t *want = malloc((size_t)l->nb * bsz);

	if (!want)
		return EXIT_LOCAL;
	for (uint64_t i = 0; i < slots; i++) {
		uint32_t g = l->acked[i];
		struct xiscsi_cmd res;
		int err;

		if (g == 0 || g == UINT32_MAX)
			continue;
		err = xiscsi_read_sync(l->c->s, l->c->lun, i * l->nb, l->nb, bsz, buf, &res);
		if (err) {
			free(want);
			return scsi_fail("verify READ(16)", err, &res);
		}
		stamp(want, l->nb, bsz, i * l->nb, g);
		if (memcmp(want, buf, (size_t)l->nb * bsz)) {
			uint64_t lba;
			uint32_t got_gen;

			memcpy(&lba, buf, sizeof(lba));
			memcpy(&got_gen, buf + 8, sizeof(got_gen));
			fprintf(stderr,
			        "%s: verify: LBA %" PRIu64 " holds write %u of LBA %" PRIu64
			        ", want write %u: an acknowledged write is lost\n",
			        prog, i * l->nb, got_gen, lba, g);
			free(want);
			return EXIT_MISCOMPARE;
		}
		checked++;
	}
	free(want);
	printf("verify: %" PRIu64 " acknowledged writes read back intact, %" PRIu64
	       " with unknown outcome skipped\n",
	       checked, l->unknown);
	return 0;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmd_load(struct ctx *c, const struct args *a)
{
	struct load *l = calloc(1, sizeof(*l));
	struct load_io *ios = NULL;
	double secs, cpu0, cpu, iops, mbps;
	int rc;

	if (!l)
		return EXIT_LOCAL;
	rc = get_capacity(c);
	if (rc)
		goto out;
	if (a->bs % c->cap.block_size) {
		rc = bad("--bs must be a multiple of the block size%s", "");
		goto out;
	}
	l->c = c;
	l->a = a;
	l->nb = (uint32_t)(a->bs / c->cap.block_size);
	l->span_blocks = c->cap.blocks;
	if (l->span_blocks < l->nb) {
		fprintf(stderr, "%s: LUN smaller than one block of --bs\n", prog);
		rc = EXIT_USAGE;
		goto out;
	}
	l->rnd = !strncmp(a->rw, "rand", 4);
	l->write = strstr(a->rw, "write") != NULL;
	l->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	if (a->verify) {
		if (!l->write) {
			rc = bad("%s", "--verify goes with --rw write or randwrite");
			goto out;
		}
		l->acked = calloc(l->span_blocks / l->nb, sizeof(*l->acked));
		l->busy = calloc(l->span_blocks / l->nb, 1);
		if (!l->acked || !l->busy) {
			rc = EXIT_LOCAL;
			goto out;
		}
	}
	ios = calloc(a->qd, sizeof(*ios));
	if (!ios) {
		rc = EXIT_LOCAL;
		goto out;
	}
	for (uint64_t i = 0; i < a->qd; i++) {
		ios[i].l = l;
		if (posix_memalign((void **)&ios[i].buf, 4096, a->bs)) {
			rc = EXIT_LOCAL;
			goto out;
		}
		memset(ios[i].buf, (int)(0xa5 ^ i), a->bs);
	}
	cpu0 = cpu_seconds();
	l->start_ns = cli_now_ns();
	l->stop_ns = l->start_ns + a->time_ms * 1000000ull;
	for (uint64_t i = 0; i < a->qd && !l->stopping; i++) {
		if (a->count && l->issued >= a->count)
			break;
		load_issue(&ios[i]);
	}
	/* Bounded by --time/--count; every command completes or the session fails. */
	while (l->done < l->issued) {
		int err = xiscsi_loop_poll(c->loop, 256, 100);

		if (err < 0) {
			fprintf(stderr, "%s: poll: %s\n", prog, strerror(-err));
			rc = EXIT_LOCAL;
			goto out;
		}
		if (!a->count && cli_now_ns() >= l->stop_ns)
			l->stopping = true;
	}
	secs = (double)(cli_now_ns() - l->start_ns) / 1e9;
	cpu = cpu_seconds() - cpu0;
	iops = (double)l->done / secs;
	mbps = iops * (double)a->bs / 1e6;
	if (a->json) {
		printf("{\"rw\":\"%s\",\"bs\":%" PRIu64 ",\"qd\":%" PRIu64
		       ",\"transport\":\"%s\",\"seconds\":%.3f,\"ios\":%" PRIu64
		       ",\"errors\":%" PRIu64
		       ",\"iops\":%.0f,\"mbps\":%.1f,\"lat_us\":{\"p50\":%.1f,"
		       "\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f},\"cpu_us_per_io\":%.2f}\n",
		       a->rw, a->bs, a->qd, xiscsi_loop_transport(c->loop), secs, l->done,
		       l->errors, iops, mbps, percentile(l, 0.5) / 1e3, percentile(l, 0.9) / 1e3,
		       percentile(l, 0.99) / 1e3, percentile(l, 0.999) / 1e3,
		       l->done ? cpu * 1e6 / (double)l->done : 0.0);
	} else {
		printf("%s bs=%" PRIu64 " qd=%" PRIu64 " transport=%s: %" PRIu64
		       " I/Os in %.2f s, %" PRIu64 " errors\n",
		       a->rw, a->bs, a->qd, xiscsi_loop_transport(c->loop), l->done, secs,
		       l->errors);
		printf("IOPS: %.0f\nMB/s: %.1f\n", iops, mbps);
		printf("latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f\n",
		       percentile(l, 0.5) / 1e3, percentile(l, 0.9) / 1e3,
		       percentile(l, 0.99) / 1e3, percentile(l, 0.999) / 1e3);
		printf("CPU us per I/O: %.2f\n", l->done ? cpu * 1e6 / (double)l->done : 0.0);
	}
	if (l->errors) {
		fprintf(stderr, "%s: %" PRIu64 " I/Os failed; first: %s\n", prog, l->errors,
		        l->first_err);
		rc = EXIT_SCSI;
	}
	if (l->acked) {
		int vrc = load_verify(l, ios[0].buf);

		if (vrc)
			rc = vrc;
	}
out:
	if (l) {
		free(l->acked);
		free(l->busy);
	}
	if (ios)
		for (uint64_t i = 0; i < a->qd; i++)
			free(ios[i].buf);
	free(ios);
	free(l);
	return rc;
}

/* ----------------------------------------------------------------- nbd */

static volatile sig_atomic_t nbd_signals;

static void nbd_on_signal(int sig)
{
	(void)sig;
	nbd_signals++;
}

struct nbd_loop_h {
	struct xi_evh evh; /* first: epoll data.ptr */
	struct xiscsi_loop *loop;
};

static void nbd_loop_ready(struct xi_evh *h, uint32_t events)
{
	(void)events;
	xiscsi_loop_poll(((struct nbd_loop_h *)h)->loop, 0, 0);
}

static void nbd_state(struct xiscsi_session *s, enum xiscsi_state st, void *arg)
{
	struct xi_nbd_export *e = *(struct xi_nbd_export **)arg;

	(void)s;
	if (st == XISCSI_STATE_RECONNECTING)
		fprintf(stderr, "%s: connection lost, reconnecting; NBD requests wait\n", prog);
	else if (st == XISCSI_STATE_LOGGED_IN)
		fprintf(stderr, "%s: logged in\n", prog);
	else if (st == XISCSI_STATE_FAILED && e) {
		fprintf(stderr, "%s: session failed: %s\n", prog, xiscsi_session_error(s));
		xi_nbd_export_session_lost(e);
	}
}

static void nbd_closed(void *arg)
{
	*(bool *)arg = true;
}

/* Serve the LUN in the foreground: one epoll set for the export and the loop. */
static int cmd_nbd(struct ctx *c, const struct args *a)
{
	struct xi_nbd_export *e = NULL;
	struct xi_nbd_opts no;
	struct nbd_loop_h lh = {.evh = {nbd_loop_ready}, .loop = c->loop};
	struct epoll_event ev;
	struct sigaction sa;
	uint64_t close_at = 0;
	bool closing = false, closed = false, forced = false;
	int epfd, lfd, err, rc;

	if (!a->nbd_socket && !a->nbd_tcp)
		return bad("%s", "nbd needs --socket PATH (or --tcp ADDR)");
	rc = get_capacity(c);
	if (rc)
		return rc;
	lfd = xiscsi_loop_fd(c->loop);
	if (lfd < 0) {
		fprintf(stderr, "%s: transport %s has no pollable descriptor: %s\n", prog,
		        xiscsi_loop_transport(c->loop), strerror(-lfd));
		return EXIT_USAGE;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		fprintf(stderr, "%s: epoll: %s\n", prog, strerror(errno));
		return EXIT_LOCAL;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &lh.evh;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev)) {
		fprintf(stderr, "%s: epoll: %s\n", prog, strerror(errno));
		close(epfd);
		return EXIT_LOCAL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nbd_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&no, 0, sizeof(no));
	no.name = a->nbd_name ? a->nbd_name : "";
	no.unix_path = a->nbd_socket;
	no.tcp_addr = a->nbd_tcp;
	no.read_only = a->read_only;
	err = xi_nbd_export_new(c->loop, c->s, c->lun, &no, epfd, &e);
	if (err) {
		fprintf(stderr, "%s: NBD export: %s\n", prog, strerror(-err));
		close(epfd);
		return EXIT_LOCAL;
	}
	xiscsi_session_set_state_cb(c->s, nbd_state, &e);
	printf("serving %s (%" PRIu64 " bytes) on%s%s%s%s\n", a->url,
	       c->cap.blocks * c->cap.block_size, a->nbd_socket ? " unix:" : "",
	       a->nbd_socket ? a->nbd_socket : "", a->nbd_tcp ? " tcp:" : "",
	       a->nbd_tcp ? a->nbd_tcp : "");
	fflush(stdout);
	/* Until a signal; then until every client's requests are answered. */
	while (!closed) {
		struct epoll_event evs[64];
		int to = xiscsi_loop_next_timeout_ms(c->loop), n;

		if (nbd_signals && !closing) {
			closing = true;
			close_at = cli_now_ns();
			fprintf(stderr, "%s: closing the export\n", prog);
			xi_nbd_export_close(e, nbd_closed, &closed);
		}
		/* A second signal, or requests stuck past 15 s (a target that is gone
		 * for good): end the session, which fails what is in flight. */
		if (closing && !forced && c->s &&
		    (nbd_signals > 1 || cli_now_ns() - close_at > 15000000000ull)) {
			forced = true;
			fprintf(stderr, "%s: failing the requests still in flight\n", prog);
			xi_nbd_export_session_lost(e);
			xiscsi_session_set_state_cb(c->s, NULL, NULL);
			xiscsi_session_free(c->s);
			c->s = NULL;
		}
		if (to < 0 || to > 500)
			to = 500;
		n = epoll_wait(epfd, evs, 64, to);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "%s: epoll_wait: %s\n", prog, strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct xi_evh *h = evs[i].data.ptr;

			h->fn(h, evs[i].events);
		}
		xiscsi_loop_poll(c->loop, 0, 0);
	}
	if (c->s)
		xiscsi_session_set_state_cb(c->s, NULL, NULL);
	close(epfd);
	return closed ? 0 : EXIT_LOCAL;
}

int main(int argc, char **argv)
{
	struct args a;
	struct ctx c;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&c, 0, sizeof(c));
	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (strcmp(a.cmd, "inquiry") && strcmp(a.cmd, "capacity") && strcmp(a.cmd, "readcap") &&
	    strcmp(a.cmd, "luns") && strcmp(a.cmd, "read") && strcmp(a.cmd, "write") &&
	    strcmp(a.cmd, "compare") && strcmp(a.cmd, "verify-pattern") && strcmp(a.cmd, "load") &&
	    strcmp(a.cmd, "bench") && strcmp(a.cmd, "nbd"))
		return bad("unknown command '%s'", a.cmd);
	rc = open_session(&c, &a);
	if (rc)
		goto out;
	if (!strcmp(a.cmd, "inquiry"))
		rc = cmd_inquiry(&c, &a);
	else if (!strcmp(a.cmd, "capacity") || !strcmp(a.cmd, "readcap"))
		rc = cmd_capacity(&c);
	else if (!strcmp(a.cmd, "luns"))
		rc = cmd_luns(&c);
	else if (!strcmp(a.cmd, "read"))
		rc = cmd_xfer(&c, &a, XFER_READ);
	else if (!strcmp(a.cmd, "write"))
		rc = cmd_xfer(&c, &a, XFER_WRITE);
	else if (!strcmp(a.cmd, "compare"))
		rc = cmd_xfer(&c, &a, XFER_COMPARE);
	else if (!strcmp(a.cmd, "verify-pattern"))
		rc = cmd_xfer(&c, &a, XFER_VERIFY);
	else if (!strcmp(a.cmd, "nbd"))
		rc = cmd_nbd(&c, &a);
	else
		rc = cmd_load(&c, &a);
out:
	close_session(&c);
	return rc;
}
