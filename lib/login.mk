# lib/login.mk: text keys, negotiation table, CHAP and the login state machines.
# Appends to lib_libxcore_la_SOURCES, check_PROGRAMS and TESTS.
lib_libxcore_la_SOURCES += \
	lib/keys.c lib/keys.h \
	lib/params.c lib/params.h \
	lib/negotiate.c lib/negotiate.h \
	lib/chap.c lib/chap.h \
	lib/login.c lib/login.h lib/login_int.h lib/login_tgt.c lib/login_ini.c

if ENABLE_TESTS
XI_LOGIN_TESTS = tests/unit/test_keys tests/unit/test_negotiate tests/unit/test_chap
check_PROGRAMS += $(XI_LOGIN_TESTS)
TESTS += $(XI_LOGIN_TESTS)
tests_unit_test_keys_SOURCES = tests/unit/test_keys.c
tests_unit_test_keys_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_keys_LDADD = $(XI_UNIT_LDADD)
tests_unit_test_negotiate_SOURCES = tests/unit/test_negotiate.c
tests_unit_test_negotiate_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_negotiate_LDADD = $(XI_UNIT_LDADD)
tests_unit_test_chap_SOURCES = tests/unit/test_chap.c
tests_unit_test_chap_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_chap_LDADD = $(XI_UNIT_LDADD)
endif

if ENABLE_TESTS
check_PROGRAMS += tests/unit/test_login
TESTS += tests/unit/test_login
tests_unit_test_login_SOURCES = tests/unit/test_login.c
tests_unit_test_login_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_login_LDADD = $(XI_UNIT_LDADD)
endif
