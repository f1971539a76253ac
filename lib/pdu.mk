# lib/pdu.mk: PDU layouts, the receive parser and builder, LUNs, serial
# numbers, names, URLs and logging. Appends to lib_libxcore_la_SOURCES,
# check_PROGRAMS and TESTS.
lib_libxcore_la_SOURCES += \
	lib/pdu.h lib/serial.h \
	lib/pdu_rx.c lib/pdu_rx.h \
	lib/pdu_tx.c lib/pdu_tx.h \
	lib/lun.c lib/lun.h \
	lib/url.c lib/url.h \
	lib/names.c lib/names.h \
	lib/log.c lib/log.h

if ENABLE_TESTS
XI_PDU_TESTS = \
	tests/unit/test_pdu \
	tests/unit/test_pdu_rx \
	tests/unit/test_serial \
	tests/unit/test_lun \
	tests/unit/test_url \
	tests/unit/test_names \
	tests/unit/test_log
check_PROGRAMS += $(XI_PDU_TESTS)
TESTS += $(XI_PDU_TESTS)

tests_unit_test_pdu_SOURCES = tests/unit/test_pdu.c
tests_unit_test_pdu_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_pdu_LDADD = $(XI_UNIT_LDADD)

tests_unit_test_pdu_rx_SOURCES = tests/unit/test_pdu_rx.c
tests_unit_test_pdu_rx_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_pdu_rx_LDADD = $(XI_UNIT_LDADD)

tests_unit_test_serial_SOURCES = tests/unit/test_serial.c
tests_unit_test_serial_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_serial_LDADD = $(XI_UNIT_LDADD)

tests_unit_test_lun_SOURCES = tests/unit/test_lun.c
tests_unit_test_lun_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_lun_LDADD = $(XI_UNIT_LDADD)

tests_unit_test_url_SOURCES = tests/unit/test_url.c
tests_unit_test_url_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_url_LDADD = $(XI_UNIT_LDADD)

tests_unit_test_names_SOURCES = tests/unit/test_names.c
tests_unit_test_names_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_names_LDADD = $(XI_UNIT_LDADD)

tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_log_LDADD = $(XI_UNIT_LDADD)
endif
