# target/: xtgtd, xtgtadm. The SCSI layer and backing stores keep their own fragment.
include target/scsi.mk

sbin_PROGRAMS += target/xtgtd
noinst_HEADERS += \
	target/tgt.h target/config.h target/portal.h target/session.h target/conn.h \
	target/admin.h target/ctl.h
target_xtgtd_SOURCES = \
	target/xtgtd.c \
	target/config.c \
	target/portal.c \
	target/session.c \
	target/conn.c \
	target/iscsi_login.c \
	target/iscsi_ffp.c \
	target/discovery.c \
	target/admin.c \
	target/ctl.c
target_xtgtd_CPPFLAGS = $(AM_CPPFLAGS) -DXTGTD_VERSION='"$(PACKAGE_VERSION)"'
target_xtgtd_CFLAGS = $(AM_CFLAGS) -pthread $(JANSSON_CFLAGS)
target_xtgtd_LDADD = target/libxtscsi.la transport/libxt.la lib/libxcore.la $(JANSSON_LIBS) -lpthread

sbin_PROGRAMS += target/xtgtadm
target_xtgtadm_SOURCES = target/xtgtadm.c
target_xtgtadm_CPPFLAGS = $(AM_CPPFLAGS) -DXTGTD_VERSION='"$(PACKAGE_VERSION)"'
target_xtgtadm_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
target_xtgtadm_LDADD = $(JANSSON_LIBS)

if ENABLE_TESTS
check_PROGRAMS += tests/unit/test_tgt_config
TESTS += tests/unit/test_tgt_config
tests_unit_test_tgt_config_SOURCES = tests/unit/test_tgt_config.c target/config.c
tests_unit_test_tgt_config_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_tgt_config_LDADD = transport/libxt.la $(XI_UNIT_LDADD)
# LU changes the control socket makes: resize, offline (target/lu.h).
check_PROGRAMS += tests/unit/test_lu_admin
TESTS += tests/unit/test_lu_admin
tests_unit_test_lu_admin_SOURCES = tests/unit/test_lu_admin.c tests/unit/test_scsi_util.h
tests_unit_test_lu_admin_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_lu_admin_LDADD = $(XI_SCSI_TEST_LDADD)
endif

# The control socket's request handling, fuzzed (tests/fuzz/pdu.mk pattern).
XI_ADMIN_FUZZ_SOURCES = tests/fuzz/fuzz_admin.c target/admin.c target/config.c \
	target/portal.c target/session.c target/conn.c target/iscsi_login.c \
	target/iscsi_ffp.c target/discovery.c
EXTRA_DIST += tests/fuzz/seeds/admin tests/fuzz/gen-seeds-admin.sh
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_admin
tests_fuzz_fuzz_admin_SOURCES = $(XI_ADMIN_FUZZ_SOURCES)
tests_fuzz_fuzz_admin_LDFLAGS = $(XI_FUZZ_LINK)
else
if ENABLE_TESTS
check_PROGRAMS += tests/fuzz/fuzz_admin
TESTS += tests/fuzz/fuzz_admin
tests_fuzz_fuzz_admin_SOURCES = $(XI_ADMIN_FUZZ_SOURCES) tests/fuzz/replay.c
endif
endif
tests_fuzz_fuzz_admin_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SEED_DIR='"$(XI_FUZZ_SEEDS)/admin"'
tests_fuzz_fuzz_admin_CFLAGS = $(AM_CFLAGS) -pthread $(JANSSON_CFLAGS)
tests_fuzz_fuzz_admin_LDADD = target/libxtscsi.la transport/libxt.la lib/libxcore.la \
	$(JANSSON_LIBS) -lpthread

include tests/integration/target.mk
