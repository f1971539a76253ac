# lib/pdu.mk: appends to lib_libxcore_la_SOURCES, check_PROGRAMS and TESTS
