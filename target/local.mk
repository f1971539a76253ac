# target/: xtgtd, xtgtadm. The SCSI layer and backing stores keep their own fragment.
include target/scsi.mk

sbin_PROGRAMS += target/xtgtd
noinst_HEADERS += \
	target/tgt.h target/config.h target/portal.h target/session.h target/conn.h
target_xtgtd_SOURCES = \
	target/xtgtd.c \
	target/config.c \
	target/portal.c \
	target/session.c \
	target/conn.c \
	target/iscsi_login.c \
	target/iscsi_ffp.c \
	target/discovery.c
target_xtgtd_CPPFLAGS = $(AM_CPPFLAGS) -DXTGTD_VERSION='"$(PACKAGE_VERSION)"'
target_xtgtd_CFLAGS = $(AM_CFLAGS) -pthread
target_xtgtd_LDADD = target/libxtscsi.la transport/libxt.la lib/libxcore.la -lpthread

if ENABLE_TESTS
check_PROGRAMS += tests/unit/test_tgt_config
TESTS += tests/unit/test_tgt_config
tests_unit_test_tgt_config_SOURCES = tests/unit/test_tgt_config.c target/config.c
tests_unit_test_tgt_config_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_tgt_config_LDADD = $(XI_UNIT_LDADD)
endif

include tests/integration/target.mk
