# Protocol core shared by the target and the initiator. Knows no socket.
noinst_LTLIBRARIES += lib/libxcore.la
lib_libxcore_la_SOURCES = \
	lib/crc32c.c lib/crc32c.h
lib_libxcore_la_CFLAGS = $(AM_CFLAGS) $(ISAL_CFLAGS) $(CRYPTO_CFLAGS)
lib_libxcore_la_LIBADD = $(ISAL_LIBS) $(CRYPTO_LIBS)

if ENABLE_TESTS
XI_UNIT_TESTS_LIB = \
	tests/unit/test_crc32c
check_PROGRAMS += $(XI_UNIT_TESTS_LIB)
TESTS += $(XI_UNIT_TESTS_LIB)
tests_unit_test_crc32c_SOURCES = tests/unit/test_crc32c.c
tests_unit_test_crc32c_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_crc32c_LDADD = lib/libxcore.la $(CMOCKA_LIBS)
endif
