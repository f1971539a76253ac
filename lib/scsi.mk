# lib/scsi.mk: SCSI definitions, CDB helpers and sense data (SPC-5, SBC-4).
lib_libxcore_la_SOURCES += \
	lib/scsi.h lib/cdb.h lib/sense.c lib/sense.h

if ENABLE_TESTS
check_PROGRAMS += tests/unit/test_sense
TESTS += tests/unit/test_sense
tests_unit_test_sense_SOURCES = tests/unit/test_sense.c
tests_unit_test_sense_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_sense_LDADD = $(XI_UNIT_LDADD)
endif
