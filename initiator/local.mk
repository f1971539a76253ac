# initiator/: libxiscsi (installed, public header include/xiscsi/xiscsi.h),
# xiscsi-io and xiscsiadm. Only xiscsi_* symbols leave the library
# (initiator/libxiscsi.sym); the protocol core and the transport are linked in.
lib_LTLIBRARIES += initiator/libxiscsi.la
initiator_libxiscsi_la_SOURCES = \
	initiator/ini.h \
	initiator/window.c initiator/window.h \
	initiator/opts.c \
	initiator/session.c \
	initiator/login.c \
	initiator/task.c \
	initiator/discovery.c \
	initiator/sync.c
initiator_libxiscsi_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
initiator_libxiscsi_la_CPPFLAGS = $(AM_CPPFLAGS) -DPACKAGE_VERSION=\"$(PACKAGE_VERSION)\"
initiator_libxiscsi_la_LIBADD = lib/libxcore.la transport/libxt.la
initiator_libxiscsi_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 \
	-Wl,--version-script=$(top_srcdir)/initiator/libxiscsi.sym
EXTRA_initiator_libxiscsi_la_DEPENDENCIES = initiator/libxiscsi.sym
EXTRA_DIST += initiator/libxiscsi.sym

xiscsiincludedir = $(includedir)/xiscsi
xiscsiinclude_HEADERS = include/xiscsi/xiscsi.h

# NBD exports of LUNs (nbd.h): `xiscsi-io URL nbd` and xiscsid serve them.
# Built on the public API only, so it links against libxiscsi like any user.
noinst_LTLIBRARIES += initiator/libxinbd.la
initiator_libxinbd_la_SOURCES = initiator/nbd.c initiator/nbd_scsi.c initiator/nbd.h \
	initiator/nbd_int.h

bin_PROGRAMS += initiator/xiscsi-io
initiator_xiscsi_io_SOURCES = initiator/xiscsi-io.c initiator/cli.c initiator/cli.h
initiator_xiscsi_io_LDADD = initiator/libxinbd.la initiator/libxiscsi.la -lm


sbin_PROGRAMS += initiator/xiscsiadm
initiator_xiscsiadm_SOURCES = initiator/xiscsiadm.c initiator/xiscsiadm.h \
	initiator/xiscsiadm_sess.c initiator/noderec.c initiator/noderec.h
initiator_xiscsiadm_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
# Names and portals are checked with the protocol core's own rules.
initiator_xiscsiadm_LDADD = initiator/libxiscsi.la lib/libxcore.la $(JANSSON_LIBS)

include tests/integration/initiator.mk
include tests/integration/nbd.mk

# Unit tests of what needs no network: options and URLs through the public
# API, the CmdSN window and burst/R2T bookkeeping, node records.
if ENABLE_TESTS
INI_UNIT = tests/unit/test_ini_opts tests/unit/test_ini_window tests/unit/test_ini_noderec \
	tests/unit/test_ini_proto
check_PROGRAMS += $(INI_UNIT)
TESTS += $(INI_UNIT)
tests_unit_test_ini_opts_SOURCES = tests/unit/test_ini_opts.c
tests_unit_test_ini_opts_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_ini_opts_LDADD = initiator/libxiscsi.la $(CMOCKA_LIBS)
tests_unit_test_ini_window_SOURCES = tests/unit/test_ini_window.c initiator/window.c
tests_unit_test_ini_window_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_ini_window_LDADD = $(XI_UNIT_LDADD)
tests_unit_test_ini_noderec_SOURCES = tests/unit/test_ini_noderec.c initiator/noderec.c
tests_unit_test_ini_noderec_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_ini_noderec_LDADD = $(XI_UNIT_LDADD)
tests_unit_test_ini_proto_SOURCES = tests/unit/test_ini_proto.c initiator/window.c
tests_unit_test_ini_proto_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_ini_proto_LDADD = $(XI_UNIT_LDADD)
endif

# xiscsid: holds sessions for xiscsiadm, exports their LUNs over NBD.
sbin_PROGRAMS += initiator/xiscsid
initiator_xiscsid_SOURCES = initiator/xiscsid.c initiator/xiscsid.h initiator/xiscsid_ctl.c \
	initiator/xiscsid_sess.c initiator/noderec.c initiator/noderec.h
initiator_xiscsid_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
initiator_xiscsid_LDADD = initiator/libxinbd.la initiator/libxiscsi.la lib/libxcore.la \
	$(JANSSON_LIBS)

# xiscsid with real targets (xtgtd; tgtd as root), node.startup, logout under
# I/O, and a QEMU guest whose disk is an export.
XD_IT = \
	tests/integration/xiscsid-xtgtd.sh \
	tests/integration/xiscsid-tgtd.sh \
	tests/integration/xiscsid-startup.sh \
	tests/integration/xiscsid-logout-io.sh \
	tests/integration/xiscsid-reconnect.sh \
	tests/integration/xiscsid-vm.sh
TESTS += $(XD_IT)
EXTRA_DIST += $(XD_IT) tests/integration/xiscsid-lib.sh tests/integration/xiscsid-nbd-client.py

# systemd unit for xiscsid, with the installed sbindir.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = initiator/xiscsid.service
CLEANFILES += initiator/xiscsid.service
EXTRA_DIST += initiator/xiscsid.service.in
initiator/xiscsid.service: initiator/xiscsid.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) initiator && sed -e 's|@sbindir[@]|$(sbindir)|g' $(srcdir)/initiator/xiscsid.service.in >$@
