# target SCSI layer (spc, sbc, backing stores): a convenience library that
# xtgtd links. It knows no PDU and no socket.
noinst_LTLIBRARIES += target/libxtscsi.la
target_libxtscsi_la_SOURCES = \
	target/scsi.h target/scsi.c target/spc.c target/sbc.c target/pr.c target/xcopy.c \
	target/lu.h target/lu.c \
	target/bs.h target/bs_ram.c target/bs_file.c target/bs_null.c target/bs_crypt.c
target_libxtscsi_la_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(CRYPTO_CFLAGS)
# bs_file.c reaps its io_uring from transport pollers (xt_poller_add):
# whoever links this library links transport/libxt.la too.
target_libxtscsi_la_LIBADD = lib/libxcore.la $(URING_LIBS) $(CRYPTO_LIBS) -lpthread

if ENABLE_TESTS
XI_SCSI_TEST_LDADD = target/libxtscsi.la transport/libxt.la lib/libxcore.la $(CMOCKA_LIBS) -lpthread
check_PROGRAMS += tests/unit/test_scsi_spc tests/unit/test_scsi_sbc tests/unit/test_scsi_lu \
	tests/unit/test_scsi_pr tests/unit/test_scsi_xcopy
TESTS += tests/unit/test_scsi_spc tests/unit/test_scsi_sbc tests/unit/test_scsi_lu \
	tests/unit/test_scsi_pr tests/unit/test_scsi_xcopy
tests_unit_test_scsi_spc_SOURCES = tests/unit/test_scsi_spc.c tests/unit/test_scsi_util.h
tests_unit_test_scsi_spc_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_scsi_spc_LDADD = $(XI_SCSI_TEST_LDADD)
tests_unit_test_scsi_sbc_SOURCES = tests/unit/test_scsi_sbc.c tests/unit/test_scsi_util.h
tests_unit_test_scsi_sbc_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_scsi_sbc_LDADD = $(XI_SCSI_TEST_LDADD)
tests_unit_test_scsi_lu_SOURCES = tests/unit/test_scsi_lu.c
tests_unit_test_scsi_lu_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_scsi_lu_LDADD = $(XI_SCSI_TEST_LDADD)
tests_unit_test_scsi_pr_SOURCES = tests/unit/test_scsi_pr.c tests/unit/test_scsi_util.h
tests_unit_test_scsi_pr_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_scsi_pr_LDADD = $(XI_SCSI_TEST_LDADD)
check_PROGRAMS += tests/unit/test_bs_file
TESTS += tests/unit/test_bs_file
tests_unit_test_bs_file_SOURCES = tests/unit/test_bs_file.c
tests_unit_test_bs_file_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(URING_CFLAGS)
tests_unit_test_bs_file_LDADD = $(XI_SCSI_TEST_LDADD) $(URING_LIBS)
check_PROGRAMS += tests/unit/test_bs_crypt
TESTS += tests/unit/test_bs_crypt
tests_unit_test_bs_crypt_SOURCES = tests/unit/test_bs_crypt.c
tests_unit_test_bs_crypt_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_bs_crypt_LDADD = $(XI_SCSI_TEST_LDADD) $(CRYPTO_LIBS)
tests_unit_test_scsi_xcopy_SOURCES = tests/unit/test_scsi_xcopy.c tests/unit/test_scsi_util.h
tests_unit_test_scsi_xcopy_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_scsi_xcopy_LDADD = $(XI_SCSI_TEST_LDADD)
endif
