# lib/login.mk: text keys, negotiation table, CHAP and the login state machines.
# Appends to lib_libxcore_la_SOURCES, check_PROGRAMS and TESTS.
lib_libxcore_la_SOURCES += \
	lib/keys.c lib/keys.h \
	lib/params.c lib/params.h \
	lib/negotiate.c lib/negotiate.h \
	lib/chap.c lib/chap.h \
	lib/login.c lib/login.h lib/login_int.h lib/login_tgt.c lib/login_ini.c
