# Protocol core shared by the target and the initiator. Knows no network
# socket; ctlsock is the daemons' local control socket (xtgtd, xiscsid).
# Its parts keep their sources and tests in fragments of their own.
noinst_LTLIBRARIES += lib/libxcore.la
lib_libxcore_la_SOURCES = \
	lib/crc32c.c lib/crc32c.h \
	lib/ctlsock.c lib/ctlsock.h
lib_libxcore_la_CFLAGS = $(AM_CFLAGS) $(ISAL_CFLAGS) $(CRYPTO_CFLAGS)
lib_libxcore_la_LIBADD = $(ISAL_LIBS) $(CRYPTO_LIBS)

# Unit tests of lib/ link this; each fragment appends its test programs.
XI_UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
XI_UNIT_LDADD = lib/libxcore.la $(CMOCKA_LIBS)

if ENABLE_TESTS
check_PROGRAMS += tests/unit/test_crc32c
TESTS += tests/unit/test_crc32c
tests_unit_test_crc32c_SOURCES = tests/unit/test_crc32c.c
tests_unit_test_crc32c_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_crc32c_LDADD = $(XI_UNIT_LDADD)
check_PROGRAMS += tests/unit/test_ctlsock
TESTS += tests/unit/test_ctlsock
tests_unit_test_ctlsock_SOURCES = tests/unit/test_ctlsock.c
tests_unit_test_ctlsock_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_ctlsock_LDADD = $(XI_UNIT_LDADD)
endif

include lib/pdu.mk
include lib/login.mk
include lib/scsi.mk
