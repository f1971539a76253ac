/*
 * Generates the seed corpora of fuzz_pdu_rx and fuzz_url, so that no seed
 * is a hand-copied blob. PDU streams are built with the real builder.
 *
 *   gen-seeds-pdu write PDU_DIR URL_DIR   (re)writes the seed files
 *   gen-seeds-pdu check PDU_DIR URL_DIR   exit 1 unless they match
 *   gen-seeds-pdu                         check the directories it was built for
 *
 * `make fuzz-seeds-pdu` rewrites the committed seeds after a change here;
 * make check fails while they are stale.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>

#include "lib/pdu.h"
#include "lib/pdu_tx.h"

#define SEED_MAX 8192

/* The 4-byte configuration fuzz_pdu_rx reads first; see its CFG_* bits. */
#define CFG_HDR   0x01
#define CFG_DATA  0x02
#define CFG_PLACE 0x04
#define CFG_STOP  0x08
#define CFG_FLIP  0x10

struct seed {
	uint8_t buf[SEED_MAX];
	size_t len;
};

static bool check_mode;
static int failures;

static void seed_cfg(struct seed *s, uint8_t cfg, uint8_t chunk, uint16_t max_data_minus_1)
{
	s->buf[0] = cfg;
	s->buf[1] = chunk;
	s->buf[2] = (uint8_t)(max_data_minus_1 >> 8);
	s->buf[3] = (uint8_t)max_data_minus_1;
	s->len = 4;
}

static void seed_pdu(struct seed *s, const struct iscsi_bhs *hdr, const void *ahs, uint32_t ahs_len,
                     const void *data, uint32_t dlen, unsigned int digests)
{
	struct iscsi_bhs bhs = *hdr;
	struct pdu_tx tx;
	struct iovec d = {.iov_base = (void *)data, .iov_len = dlen};
	struct iovec iov[PDU_TX_IOV_EXTRA + 1];
	int n = pdu_tx_build(&tx, &bhs, ahs, ahs_len, &d, 1, digests, iov, PDU_TX_IOV_EXTRA + 1);

	if (n < 0 || s->len + tx.wire_len > SEED_MAX) {
		fprintf(stderr, "gen-seeds-pdu: cannot build a seed PDU\n");
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		memcpy(s->buf + s->len, iov[i].iov_base, iov[i].iov_len);
		s->len += iov[i].iov_len;
	}
}

static void emit(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[4096];
	uint8_t old[SEED_MAX + 1];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (check_mode) {
		f = fopen(path, "rb");
		n = f ? fread(old, 1, sizeof(old), f) : 0;
		if (!f || n != len || memcmp(old, buf, len) != 0) {
			fprintf(stderr,
			        "gen-seeds-pdu: %s is missing or stale: run make fuzz-seeds-pdu\n",
			        path);
			failures++;
		}
		if (f)
			fclose(f);
		return;
	}
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "gen-seeds-pdu: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static struct iscsi_bhs bhs_of(uint8_t opcode, uint8_t flags, uint32_t itt)
{
	struct iscsi_bhs b;

	memset(&b, 0, sizeof(b));
	b.bhs_opcode = opcode;
	b.bhs_flags = flags;
	b.bhs_itt = htobe32(itt);
	return b;
}

static void gen_pdu_seeds(const char *dir)
{
	static const char login_text[] = "InitiatorName=iqn.2001-04.com.example:host\0"
	                                 "SessionType=Normal\0AuthMethod=None";
	struct seed s;
	struct iscsi_bhs b;
	uint8_t data[600], ahs[20];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 1);

	seed_cfg(&s, 0, 0, 8191);
	b = bhs_of(ISCSI_OP_NOP_OUT | ISCSI_OP_IMMEDIATE, ISCSI_FLAG_FINAL, 1);
	seed_pdu(&s, &b, NULL, 0, NULL, 0, 0);
	emit(dir, "nop-out.bin", s.buf, s.len);

	seed_cfg(&s, 0, 0, 8191);
	b = bhs_of(ISCSI_OP_LOGIN_REQ | ISCSI_OP_IMMEDIATE,
	           ISCSI_FLAG_LOGIN_TRANSIT | (ISCSI_STAGE_OPERATIONAL << ISCSI_LOGIN_CSG_SHIFT) |
	                   ISCSI_STAGE_FULL,
	           0);
	seed_pdu(&s, &b, NULL, 0, login_text, sizeof(login_text), 0);
	emit(dir, "login-request.bin", s.buf, s.len);

	/* A 32-byte CDB: 16 in the BHS, 16 in an extended CDB AHS (11.2.2.3). */
	seed_cfg(&s, CFG_HDR | CFG_DATA, 1, 8191);
	memset(ahs, 0, sizeof(ahs));
	ahs[1] = 17;
	ahs[2] = ISCSI_AHS_TYPE_EXT_CDB;
	b = bhs_of(ISCSI_OP_SCSI_CMD, ISCSI_FLAG_FINAL | ISCSI_FLAG_CMD_WRITE, 2);
	seed_pdu(&s, &b, ahs, sizeof(ahs), data, 37, PDU_DIGEST_HEADER | PDU_DIGEST_DATA);
	emit(dir, "scsi-cmd-ext-cdb-digests-bytewise.bin", s.buf, s.len);

	seed_cfg(&s, CFG_HDR | CFG_DATA | CFG_PLACE, 7, 8191);
	for (uint32_t i = 0; i < 3; i++) {
		b = bhs_of(ISCSI_OP_SCSI_DATA_OUT, i == 2 ? ISCSI_FLAG_FINAL : 0, 3);
		seed_pdu(&s, &b, NULL, 0, data + i * 200, 200, PDU_DIGEST_HEADER | PDU_DIGEST_DATA);
	}
	emit(dir, "data-out-burst-placed.bin", s.buf, s.len);

	/* A bad data digest, then a good PDU that must still parse (RFC 7143 7.8). */
	seed_cfg(&s, CFG_DATA, 0, 8191);
	b = bhs_of(ISCSI_OP_SCSI_DATA_OUT, ISCSI_FLAG_FINAL, 4);
	seed_pdu(&s, &b, NULL, 0, data, 10, PDU_DIGEST_DATA);
	s.buf[s.len - 1] ^= 0xff;
	b = bhs_of(ISCSI_OP_NOP_OUT, ISCSI_FLAG_FINAL, 5);
	seed_pdu(&s, &b, NULL, 0, NULL, 0, PDU_DIGEST_DATA);
	emit(dir, "bad-data-digest.bin", s.buf, s.len);

	seed_cfg(&s, CFG_HDR, 5, 8191);
	b = bhs_of(ISCSI_OP_TEXT_REQ, ISCSI_FLAG_FINAL, 6);
	seed_pdu(&s, &b, NULL, 0, "SendTargets=All", 16, PDU_DIGEST_HEADER);
	s.buf[4 + 20] ^= 1;
	emit(dir, "bad-header-digest.bin", s.buf, s.len);

	seed_cfg(&s, 0, 0, 15);
	b = bhs_of(ISCSI_OP_SCSI_DATA_OUT, ISCSI_FLAG_FINAL, 7);
	seed_pdu(&s, &b, NULL, 0, data, 100, 0);
	emit(dir, "oversize.bin", s.buf, s.len);

	seed_cfg(&s, 0, 3, 8191);
	memset(ahs, 0, 8);
	ahs[1] = ISCSI_AHS_BIDI_RLEN_LEN;
	ahs[2] = ISCSI_AHS_TYPE_BIDI_RLEN;
	ahs[6] = 0x10;
	b = bhs_of(ISCSI_OP_SCSI_CMD, ISCSI_FLAG_FINAL | ISCSI_FLAG_CMD_READ | ISCSI_FLAG_CMD_WRITE,
	           8);
	seed_pdu(&s, &b, ahs, 8, data, 9, 0);
	emit(dir, "bidi-ahs.bin", s.buf, s.len);

	/* Digests switched on after the first PDU, as after a login. */
	seed_cfg(&s, CFG_FLIP | CFG_STOP, 11, 8191);
	b = bhs_of(ISCSI_OP_LOGIN_REQ | ISCSI_OP_IMMEDIATE | 0x03, ISCSI_FLAG_LOGIN_TRANSIT, 9);
	seed_pdu(&s, &b, NULL, 0, login_text, 20, 0);
	b = bhs_of(ISCSI_OP_SCSI_CMD | 0x03, ISCSI_FLAG_FINAL, 10);
	seed_pdu(&s, &b, NULL, 0, data, 33, PDU_DIGEST_HEADER | PDU_DIGEST_DATA);
	emit(dir, "digests-after-login.bin", s.buf, s.len);
}

static void gen_url_seeds(const char *dir)
{
	static const char *const urls[] = {
	        "iscsi://127.0.0.1/iqn.2001-04.com.example:disk/0",
	        "iscsi://alice%s3cret@host.example:3261/iqn.2001-04.com.example:d/16383",
	        "iscsi://bob:pw@[::1]:3262/iqn.2001-04.com.example%3adisk/2",
	        ("iscsi://a%b@h/iqn.2001-04.a.b/0?"
	         "header_digest=crc32c&target_user=t&target_password=p"),
	        "iscsi://[fe80::1]/",
	        "[fe80::2]:3260,7",
	        "0.0.0.0:3260",
	        "eui.02004567A425678D",
	        "naa.62004567BA64678D0123456789ABCDEF",
	};
	char name[32];

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(name, sizeof(name), "url-%02zu.txt", i);
		emit(dir, name, urls[i], strlen(urls[i]));
	}
}

int main(int argc, char **argv)
{
	const char *pdu_dir, *url_dir;

	if (argc == 4 && (strcmp(argv[1], "write") == 0 || strcmp(argv[1], "check") == 0)) {
		check_mode = strcmp(argv[1], "check") == 0;
		pdu_dir = argv[2];
		url_dir = argv[3];
	} else if (argc == 1) {
#if defined(FUZZ_SEED_PDU_DIR) && defined(FUZZ_SEED_URL_DIR)
		check_mode = true;
		pdu_dir = FUZZ_SEED_PDU_DIR;
		url_dir = FUZZ_SEED_URL_DIR;
#else
		fprintf(stderr, "gen-seeds-pdu: built without seed directories\n");
		return 1;
#endif
	} else {
		fprintf(stderr, "usage: %s [write|check PDU_DIR URL_DIR]\n", argv[0]);
		return 1;
	}
	gen_pdu_seeds(pdu_dir);
	gen_url_seeds(url_dir);
	return failures ? 1 : 0;
}
