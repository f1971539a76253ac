# fio-jobs/: fio job files, the comparative benchmark (run-bench, compare,
# report.py), get-fio, and the xiscsi fio ioengine. See fio-jobs/README.md.
EXTRA_DIST += fio-jobs/README.md fio-jobs/get-fio fio-jobs/run-bench fio-jobs/compare \
	fio-jobs/report.py fio-jobs/test-fio-verify.sh \
	fio-jobs/randread-4k-qd1.fio fio-jobs/randread-4k-qd32.fio \
	fio-jobs/randwrite-4k-qd1.fio fio-jobs/randwrite-4k-qd32.fio \
	fio-jobs/seqread-128k-qd32.fio fio-jobs/seqwrite-128k-qd32.fio \
	fio-jobs/randrw-4k-70-30-qd32.fio fio-jobs/verify.fio \
	fio-jobs/engine/xiscsi.c

# The engine is an external fio ioengine (ioengine=external:PATH): fio ships
# no headers, so it is compiled against the configured fio tree that will
# load it (./configure --with-fio-src=DIR, DIR from fio-jobs/get-fio); fio
# refuses it unless its ops version is that tree's FIO_IOOPS_VERSION. The
# fio tree comes first on the include path so its "lib/..." are its own.
if HAVE_FIO_SRC
noinst_LTLIBRARIES += fio-jobs/engine/xiscsi.la
fio_jobs_engine_xiscsi_la_SOURCES = fio-jobs/engine/xiscsi.c
fio_jobs_engine_xiscsi_la_CPPFLAGS = -include $(FIO_SRC)/config-host.h -I$(FIO_SRC) \
	-D_GNU_SOURCE -D_LARGEFILE_SOURCE -D_FILE_OFFSET_BITS=64 $(AM_CPPFLAGS)
fio_jobs_engine_xiscsi_la_LIBADD = initiator/libxiscsi.la
# -rpath makes libtool build a shared object although nothing installs it.
fio_jobs_engine_xiscsi_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-rpath $(abs_builddir)/fio-jobs/engine

# fio is given a plain .so path; copy it out of libtool's .libs/.
fio-jobs/engine/xiscsi.so: fio-jobs/engine/xiscsi.la
	$(AM_V_GEN)cp -f fio-jobs/engine/.libs/xiscsi.so $@
noinst_DATA = fio-jobs/engine/xiscsi.so
CLEANFILES += fio-jobs/engine/xiscsi.so
endif

# Smoke test: a short verify job through fio's libiscsi engine (and ours,
# when built) against xtgtd and tgtd. Skips, saying why, without the fio
# tree from fio-jobs/get-fio; it never fetches anything itself.
TESTS += fio-jobs/test-fio-verify.sh

# The Dom0 / DomU / DomU-with-bypass experiment (issue 12); its smoke test is in tests/integration/initiator.mk.
EXTRA_DIST += fio-jobs/three-config
