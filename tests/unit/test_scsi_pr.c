/* Persistent reservations through scsi_task_exec(): target/pr.c (SPC-5 5.14). */
#include <unistd.h>

#include "tests/unit/test_scsi_util.h"

#define KEY_A 0xaaaa
#define KEY_B 0xbbbb
/* REGISTER AND MOVE byte 17 (SPC-5 6.17.4). */
#define PROUT_MOVE_UNREG_BIT 0x02

static struct scsi_port port_a, port_b;

static const struct scsi_port *port_of(uint64_t nexus)
{
	port_a = test_port;
	port_a.initiator_port = "iqn.2026-11.org.xiscsi:a,i,0x400000000001";
	port_b = test_port;
	port_b.initiator_port = "iqn.2026-11.org.xiscsi:b,i,0x400000000002";
	return nexus == NEXUS_A ? &port_a : &port_b;
}

static uint8_t run(struct tgt_lu *lu, uint64_t nexus, const uint8_t *cdb, unsigned len,
                   const void *out, uint32_t out_len, void *in, uint32_t in_len,
                   struct scsi_task *t)
{
	memset(t, 0, sizeof(*t));
	t->port = port_of(nexus);
	t->nexus = nexus;
	t->cdb = cdb;
	t->cdb_len = len;
	t->data_out = out;
	t->data_out_len = out_len;
	t->data_in = in;
	t->data_in_len = in_len;
	t->done = test_task_done;
	test_done_calls = 0;
	scsi_task_exec(lu, t);
	assert_int_equal(test_done_calls, 1);
	return t->status;
}

static uint8_t prout(struct tgt_lu *lu, uint64_t nexus, uint8_t sa, uint8_t type, uint64_t key,
                     uint64_t sark, uint8_t flags20, struct scsi_task *t)
{
	uint8_t cdb[10] = {PERSISTENT_RESERVE_OUT, sa, type};
	uint8_t p[24] = {0};

	put_be32(cdb + 5, sizeof(p));
	put_be64(p, key);
	put_be64(p + 8, sark);
	p[20] = flags20;
	return run(lu, nexus, cdb, 10, p, sizeof(p), NULL, 0, t);
}

static uint8_t prin(struct tgt_lu *lu, uint64_t nexus, uint8_t sa, uint8_t *b, uint16_t alloc,
                    struct scsi_task *t)
{
	uint8_t cdb[10] = {PERSISTENT_RESERVE_IN, sa};

	put_be16(cdb + 7, alloc);
	return run(lu, nexus, cdb, 10, NULL, 0, b, alloc, t);
}

static uint8_t rw(struct tgt_lu *lu, uint64_t nexus, bool write, struct scsi_task *t)
{
	static uint8_t buf[512];
	uint8_t cdb[10] = {write ? WRITE_10 : READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};

	if (write)
		return run(lu, nexus, cdb, 10, buf, sizeof(buf), NULL, 0, t);
	return run(lu, nexus, cdb, 10, NULL, 0, buf, sizeof(buf), t);
}

/* A LU with both nexuses past their power-on unit attention and registered. */
static struct tgt_lu *registered_lu(void)
{
	struct tgt_lu *lu = open_lu("ram:1M", 0);
	struct scsi_task t;

	tgt_lu_ua_take(lu, NEXUS_A, true);
	tgt_lu_ua_take(lu, NEXUS_B, true);
	assert_int_equal(prout(lu, NEXUS_A, PROUT_REGISTER, 0, 0, KEY_A, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(prout(lu, NEXUS_B, PROUT_REGISTER, 0, 0, KEY_B, 0, &t), SAM_STAT_GOOD);
	return lu;
}

static void test_register_and_read_keys(void **state)
{
	struct tgt_lu *lu = registered_lu();
	uint8_t b[64];
	struct scsi_task t;

	assert_int_equal(prin(lu, NEXUS_A, PRIN_READ_KEYS, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(get_be32(b), 2); /* generation */
	assert_int_equal(get_be32(b + 4), 16);
	assert_true(get_be64(b + 8) == KEY_A);
	assert_true(get_be64(b + 16) == KEY_B);
	/* REGISTER with a wrong current key conflicts; IGNORE EXISTING does not. */
	assert_int_equal(prout(lu, NEXUS_A, PROUT_REGISTER, 0, 0x1234, 0x5678, 0, &t),
	                 SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(prout(lu, NEXUS_A, PROUT_REGISTER_AND_IGNORE, 0, 0, 0x5678, 0, &t),
	                 SAM_STAT_GOOD);
	assert_int_equal(prin(lu, NEXUS_A, PRIN_READ_KEYS, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_true(get_be64(b + 8) == 0x5678);
	tgt_lu_close(lu);
}

static void test_write_exclusive(void **state)
{
	struct tgt_lu *lu = registered_lu();
	uint8_t b[64];
	struct scsi_task t;

	assert_int_equal(
	        prout(lu, NEXUS_A, PROUT_RESERVE, PR_TYPE_WRITE_EXCLUSIVE, KEY_A, 0, 0, &t),
	        SAM_STAT_GOOD);
	assert_int_equal(rw(lu, NEXUS_A, true, &t), SAM_STAT_GOOD);
	assert_int_equal(rw(lu, NEXUS_B, false, &t), SAM_STAT_GOOD);
	assert_int_equal(rw(lu, NEXUS_B, true, &t), SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(prin(lu, NEXUS_B, PRIN_READ_RESERVATION, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(get_be32(b + 4), 16);
	assert_true(get_be64(b + 8) == KEY_A);
	assert_int_equal(b[8 + 13], PR_TYPE_WRITE_EXCLUSIVE);
	/* Release by a non-holder is GOOD and changes nothing. */
	assert_int_equal(
	        prout(lu, NEXUS_B, PROUT_RELEASE, PR_TYPE_WRITE_EXCLUSIVE, KEY_B, 0, 0, &t),
	        SAM_STAT_GOOD);
	assert_int_equal(rw(lu, NEXUS_B, true, &t), SAM_STAT_RESERVATION_CONFLICT);
	/* The holder must name the type it holds. */
	assert_int_equal(
	        prout(lu, NEXUS_A, PROUT_RELEASE, PR_TYPE_EXCLUSIVE_ACCESS, KEY_A, 0, 0, &t),
	        SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_RELEASE_OF_PR);
	assert_int_equal(
	        prout(lu, NEXUS_A, PROUT_RELEASE, PR_TYPE_WRITE_EXCLUSIVE, KEY_A, 0, 0, &t),
	        SAM_STAT_GOOD);
	assert_int_equal(rw(lu, NEXUS_B, true, &t), SAM_STAT_GOOD);
	tgt_lu_close(lu);
}

static void test_exclusive_access_all_registrants(void **state)
{
	struct tgt_lu *lu = registered_lu();
	struct scsi_task t;
	uint8_t b[64];

	assert_int_equal(prout(lu, NEXUS_A, PROUT_RESERVE, PR_TYPE_EXCLUSIVE_ACCESS_ALL_REG, KEY_A,
	                       0, 0, &t),
	                 SAM_STAT_GOOD);
	/* Every registrant is a holder. */
	assert_int_equal(rw(lu, NEXUS_B, true, &t), SAM_STAT_GOOD);
	assert_int_equal(prin(lu, NEXUS_A, PRIN_READ_RESERVATION, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_true(get_be64(b + 8) == 0);
	/* B unregisters: now it may not even read. */
	assert_int_equal(prout(lu, NEXUS_B, PROUT_REGISTER, 0, KEY_B, 0, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(rw(lu, NEXUS_B, false, &t), SAM_STAT_RESERVATION_CONFLICT);
	/* INQUIRY is never blocked. */
	uint8_t inq[6] = {INQUIRY, 0, 0, 0, 36};
	assert_int_equal(run(lu, NEXUS_B, inq, 6, NULL, 0, b, 36, &t), SAM_STAT_GOOD);
	tgt_lu_close(lu);
}

static void test_preempt_removes_holder(void **state)
{
	struct tgt_lu *lu = registered_lu();
	struct scsi_task t;
	uint8_t b[64];

	assert_int_equal(
	        prout(lu, NEXUS_A, PROUT_RESERVE, PR_TYPE_EXCLUSIVE_ACCESS, KEY_A, 0, 0, &t),
	        SAM_STAT_GOOD);
	assert_int_equal(rw(lu, NEXUS_B, false, &t), SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(
	        prout(lu, NEXUS_B, PROUT_PREEMPT, PR_TYPE_WRITE_EXCLUSIVE, KEY_B, KEY_A, 0, &t),
	        SAM_STAT_GOOD);
	assert_int_equal(prin(lu, NEXUS_B, PRIN_READ_RESERVATION, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_true(get_be64(b + 8) == KEY_B);
	assert_int_equal(b[8 + 13], PR_TYPE_WRITE_EXCLUSIVE);
	/* A was preempted: told so once, then its writes conflict. */
	assert_int_equal(rw(lu, NEXUS_A, false, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_UNIT_ATTENTION, ASC_REGISTRATIONS_PREEMPTED);
	assert_int_equal(rw(lu, NEXUS_A, true, &t), SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(prin(lu, NEXUS_B, PRIN_READ_KEYS, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(get_be32(b + 4), 8);
	/* Preempting a key nobody holds conflicts. */
	assert_int_equal(
	        prout(lu, NEXUS_B, PROUT_PREEMPT, PR_TYPE_WRITE_EXCLUSIVE, KEY_B, 0x999, 0, &t),
	        SAM_STAT_RESERVATION_CONFLICT);
	tgt_lu_close(lu);
}

static void test_unregistered_cannot_reserve(void **state)
{
	struct tgt_lu *lu = open_lu("ram:1M", 0);
	struct scsi_task t;

	tgt_lu_ua_take(lu, NEXUS_A, true);
	assert_int_equal(prout(lu, NEXUS_A, PROUT_RESERVE, PR_TYPE_WRITE_EXCLUSIVE, 0, 0, 0, &t),
	                 SAM_STAT_RESERVATION_CONFLICT);
	tgt_lu_close(lu);
}

static void test_unsupported_options_refused(void **state)
{
	struct tgt_lu *lu = registered_lu();
	struct scsi_task t;
	struct sense_info si;
	uint8_t cdb[10] = {PERSISTENT_RESERVE_OUT, PROUT_REGISTER};
	uint8_t p[28] = {0};

	assert_int_equal(prout(lu, NEXUS_A, PROUT_REGISTER, 0, KEY_A, KEY_A, 0x01, &t),
	                 SAM_STAT_CHECK_CONDITION);
	si = task_sense(&t);
	assert_int_equal(si.asc, ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	assert_int_equal(get_be16(si.sks + 1), 20);
	put_be32(cdb + 5, sizeof(p));
	assert_int_equal(run(lu, NEXUS_A, cdb, 10, p, sizeof(p), NULL, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* A bad type on RESERVE points at the CDB. */
	assert_int_equal(prout(lu, NEXUS_A, PROUT_RESERVE, 0x4, KEY_A, 0, 0, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	tgt_lu_close(lu);
}

static void test_clear_and_capabilities(void **state)
{
	struct tgt_lu *lu = registered_lu();
	struct scsi_task t;
	uint8_t b[64];

	assert_int_equal(
	        prout(lu, NEXUS_A, PROUT_RESERVE, PR_TYPE_EXCLUSIVE_ACCESS, KEY_A, 0, 0, &t),
	        SAM_STAT_GOOD);
	assert_int_equal(prout(lu, NEXUS_A, PROUT_CLEAR, 0, KEY_A, 0, 0, &t), SAM_STAT_GOOD);
	assert_int_equal(rw(lu, NEXUS_B, false, &t), SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_UNIT_ATTENTION, ASC_RESERVATIONS_PREEMPTED);
	assert_int_equal(rw(lu, NEXUS_B, true, &t), SAM_STAT_GOOD);
	assert_int_equal(prin(lu, NEXUS_A, PRIN_READ_KEYS, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(get_be32(b + 4), 0);
	assert_int_equal(prin(lu, NEXUS_A, PRIN_REPORT_CAPABILITIES, b, 8, &t), SAM_STAT_GOOD);
	assert_int_equal(get_be16(b), 8);
	assert_int_equal(b[2] & 0x01, 0); /* PTPL_C: no persistence through power loss */
	tgt_lu_close(lu);
}

static void test_full_status_transport_id(void **state)
{
	struct tgt_lu *lu = registered_lu();
	struct scsi_task t;
	uint8_t b[512];

	assert_int_equal(
	        prout(lu, NEXUS_A, PROUT_RESERVE, PR_TYPE_WRITE_EXCLUSIVE, KEY_A, 0, 0, &t),
	        SAM_STAT_GOOD);
	assert_int_equal(prin(lu, NEXUS_A, PRIN_READ_FULL_STATUS, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_true(get_be64(b + 8) == KEY_A);
	assert_int_equal(b[8 + 12] & 0x01, 1); /* R_HOLDER */
	assert_int_equal(b[8 + 24], 0x45);     /* iSCSI, format with ISID */
	assert_string_equal((const char *)b + 8 + 28, "iqn.2026-11.org.xiscsi:a,i,0x400000000001");
	tgt_lu_close(lu);
}

static void test_registration_survives_new_nexus_id(void **state)
{
	struct tgt_lu *lu = registered_lu();
	struct scsi_task t;
	const uint64_t nexus_a2 = 17;

	assert_int_equal(
	        prout(lu, NEXUS_A, PROUT_RESERVE, PR_TYPE_WRITE_EXCLUSIVE, KEY_A, 0, 0, &t),
	        SAM_STAT_GOOD);
	/* Same initiator port, a new session: still the holder. */
	memset(&t, 0, sizeof(t));
	tgt_lu_ua_take(lu, nexus_a2, true);
	port_of(NEXUS_A);
	uint8_t cdb[10] = {WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	static uint8_t buf[512];
	t.port = &port_a;
	t.nexus = nexus_a2;
	t.cdb = cdb;
	t.cdb_len = 10;
	t.data_out = buf;
	t.data_out_len = sizeof(buf);
	t.done = test_task_done;
	scsi_task_exec(lu, &t);
	assert_int_equal(t.status, SAM_STAT_GOOD);
	tgt_lu_close(lu);
}

static void test_spc2_reserve_conflicts_with_registrations(void **state)
{
	struct tgt_lu *lu = registered_lu();
	uint8_t res[6] = {RESERVE_6};
	struct scsi_task t;

	assert_int_equal(run(lu, NEXUS_A, res, 6, NULL, 0, NULL, 0, &t),
	                 SAM_STAT_RESERVATION_CONFLICT);
	tgt_lu_close(lu);
}

/* REGISTER AND MOVE: a parameter list with the TransportID of `name`. */
static uint8_t prout_move(struct tgt_lu *lu, uint64_t nexus, uint64_t key, uint64_t sark,
                          uint8_t flags17, uint16_t rel_port, const char *name, struct scsi_task *t)
{
	uint8_t cdb[10] = {PERSISTENT_RESERVE_OUT, PROUT_REGISTER_AND_MOVE};
	uint8_t p[24 + 4 + 64] = {0};
	size_t n = strlen(name) + 1;

	while (n % 4)
		n++;
	put_be64(p, key);
	put_be64(p + 8, sark);
	p[17] = flags17;
	put_be16(p + 18, rel_port);
	put_be32(p + 20, (uint32_t)(4 + n));
	p[24] = 0x45; /* iSCSI, format 01b: name,i,0xISID */
	put_be16(p + 26, (uint16_t)n);
	memcpy(p + 28, name, strlen(name));
	put_be32(cdb + 5, (uint32_t)(24 + 4 + n));
	return run(lu, nexus, cdb, 10, p, 24 + 4 + n, NULL, 0, t);
}

static void test_register_and_move(void **state)
{
	struct tgt_lu *lu = open_lu("ram:1M", 0);
	const char *b_name = "iqn.2026-11.org.xiscsi:b,i,0x400000000002";
	uint16_t port = test_port.rel_port_id;
	struct scsi_task t;
	uint8_t b[512];

	tgt_lu_ua_take(lu, NEXUS_A, true);
	tgt_lu_ua_take(lu, NEXUS_B, true);
	assert_int_equal(prout(lu, NEXUS_A, PROUT_REGISTER, 0, 0, KEY_A, 0, &t), SAM_STAT_GOOD);
	/* No reservation to move yet. */
	assert_int_equal(prout_move(lu, NEXUS_A, KEY_A, KEY_B, 0, port, b_name, &t),
	                 SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(
	        prout(lu, NEXUS_A, PROUT_RESERVE, PR_TYPE_WRITE_EXCLUSIVE, KEY_A, 0, 0, &t),
	        SAM_STAT_GOOD);
	/* Wrong key: conflict; key zero for the destination, or moving to
	 * itself: invalid field in the parameter list. */
	assert_int_equal(prout_move(lu, NEXUS_A, KEY_B, KEY_B, 0, port, b_name, &t),
	                 SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(prout_move(lu, NEXUS_A, KEY_A, 0, 0, port, b_name, &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	assert_int_equal(prout_move(lu, NEXUS_A, KEY_A, KEY_B, 0, port,
	                            "iqn.2026-11.org.xiscsi:a,i,0x400000000001", &t),
	                 SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	/* A TransportID without ",i,0x": not an I_T nexus. */
	assert_int_equal(
	        prout_move(lu, NEXUS_A, KEY_A, KEY_B, 0, port, "iqn.2026-11.org.xiscsi:b", &t),
	        SAM_STAT_CHECK_CONDITION);
	assert_sense(&t, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	/* B is registered with KEY_B and holds the reservation; A, with
	 * UNREG, is gone. B writes, A may not. */
	assert_int_equal(
	        prout_move(lu, NEXUS_A, KEY_A, KEY_B, PROUT_MOVE_UNREG_BIT, port, b_name, &t),
	        SAM_STAT_GOOD);
	assert_int_equal(rw(lu, NEXUS_B, true, &t), SAM_STAT_GOOD);
	assert_int_equal(rw(lu, NEXUS_A, true, &t), SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(prin(lu, NEXUS_B, PRIN_READ_RESERVATION, b, 24, &t), SAM_STAT_GOOD);
	assert_true(get_be64(b + 8) == KEY_B);
	assert_int_equal(b[8 + 13] & 0x0f, PR_TYPE_WRITE_EXCLUSIVE);
	assert_int_equal(prin(lu, NEXUS_B, PRIN_READ_KEYS, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(get_be32(b + 4), 8);
	/* The new holder moves it on; a holder of an all-registrants type
	 * cannot. */
	assert_int_equal(
	        prout(lu, NEXUS_B, PROUT_RELEASE, PR_TYPE_WRITE_EXCLUSIVE, KEY_B, 0, 0, &t),
	        SAM_STAT_GOOD);
	assert_int_equal(
	        prout(lu, NEXUS_B, PROUT_RESERVE, PR_TYPE_WRITE_EXCLUSIVE_ALL_REG, KEY_B, 0, 0, &t),
	        SAM_STAT_GOOD);
	assert_int_equal(prout_move(lu, NEXUS_B, KEY_B, KEY_A, 0, port,
	                            "iqn.2026-11.org.xiscsi:a,i,0x400000000001", &t),
	                 SAM_STAT_RESERVATION_CONFLICT);
	tgt_lu_close(lu);
}

/* APTPL on a file-backed LU: the state comes back when the LU opens again. */
static void test_aptpl_survives_reopen(void **state)
{
	char path[64], spec[128], prpath[80], err[256];
	struct tgt_lu_spec sp;
	struct tgt_lu *lu, *bad = NULL;
	struct scsi_task t;
	uint8_t b[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/xiscsi-pr-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s,size=1M", path);
	snprintf(prpath, sizeof(prpath), "%s.pr", path);
	lu = open_lu(spec, 0);
	tgt_lu_ua_take(lu, NEXUS_A, true);
	tgt_lu_ua_take(lu, NEXUS_B, true);
	assert_int_equal(prout(lu, NEXUS_A, PROUT_REGISTER, 0, 0, KEY_A, 0x01, &t), SAM_STAT_GOOD);
	assert_int_equal(prout(lu, NEXUS_B, PROUT_REGISTER, 0, 0, KEY_B, 0x01, &t), SAM_STAT_GOOD);
	assert_int_equal(
	        prout(lu, NEXUS_A, PROUT_RESERVE, PR_TYPE_WRITE_EXCLUSIVE, KEY_A, 0, 0, &t),
	        SAM_STAT_GOOD);
	assert_int_equal(prin(lu, NEXUS_A, PRIN_REPORT_CAPABILITIES, b, 8, &t), SAM_STAT_GOOD);
	assert_int_equal(b[2] & 0x01, 1); /* PTPL_C */
	assert_int_equal(b[3] & 0x01, 1); /* PTPL_A */
	assert_int_equal(access(prpath, R_OK), 0);
	tgt_lu_close(lu);

	/* "Restart": the same registrations, A still holds, B may not write. */
	lu = open_lu(spec, 0);
	tgt_lu_ua_take(lu, NEXUS_A, true);
	tgt_lu_ua_take(lu, NEXUS_B, true);
	assert_int_equal(prin(lu, NEXUS_A, PRIN_READ_KEYS, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(get_be32(b + 4), 16);
	assert_int_equal(prin(lu, NEXUS_B, PRIN_READ_RESERVATION, b, 24, &t), SAM_STAT_GOOD);
	assert_true(get_be64(b + 8) == KEY_A);
	assert_int_equal(b[8 + 13] & 0x0f, PR_TYPE_WRITE_EXCLUSIVE);
	assert_int_equal(rw(lu, NEXUS_B, true, &t), SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(rw(lu, NEXUS_A, true, &t), SAM_STAT_GOOD);
	/* APTPL cleared by the last REGISTER: nothing kept. */
	assert_int_equal(prout(lu, NEXUS_A, PROUT_REGISTER, 0, KEY_A, KEY_A, 0, &t), SAM_STAT_GOOD);
	assert_int_not_equal(access(prpath, F_OK), 0);
	tgt_lu_close(lu);
	lu = open_lu(spec, 0);
	tgt_lu_ua_take(lu, NEXUS_A, true);
	assert_int_equal(prin(lu, NEXUS_A, PRIN_READ_KEYS, b, sizeof(b), &t), SAM_STAT_GOOD);
	assert_int_equal(get_be32(b + 4), 0);
	tgt_lu_close(lu);

	/* A file that is not ours keeps the LU from opening, and says why. */
	f = fopen(prpath, "w");
	assert_non_null(f);
	fputs("xiscsi-pr 1\nreg 0 1 x\n", f);
	fclose(f);
	assert_int_equal(tgt_lu_spec_parse(spec, &sp, err, sizeof(err)), 0);
	assert_int_not_equal(tgt_lu_open(&bad, &sp, TEST_TARGET, 0, err, sizeof(err)), 0);
	assert_null(bad);
	assert_non_null(strstr(err, "line 2"));
	unlink(prpath);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_register_and_read_keys),
	        cmocka_unit_test(test_write_exclusive),
	        cmocka_unit_test(test_exclusive_access_all_registrants),
	        cmocka_unit_test(test_preempt_removes_holder),
	        cmocka_unit_test(test_unregistered_cannot_reserve),
	        cmocka_unit_test(test_unsupported_options_refused),
	        cmocka_unit_test(test_clear_and_capabilities),
	        cmocka_unit_test(test_full_status_transport_id),
	        cmocka_unit_test(test_registration_survives_new_nexus_id),
	        cmocka_unit_test(test_spc2_reserve_conflicts_with_registrations),
	        cmocka_unit_test(test_register_and_move),
	        cmocka_unit_test(test_aptpl_survives_reopen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
