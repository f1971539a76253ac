# Fuzz harnesses of the PDU core. The pattern, for a harness NAME:
#  - tests/fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput;
#  - tests/fuzz/seeds/NAME/ holds its seeds, written by a committed
#    generator (tests/fuzz/gen-seeds-*), never copied by hand, and listed in
#    EXTRA_DIST so that distcheck has them;
#  - copy the fuzz_pdu_rx block below, replacing pdu_rx by NAME.
# With --enable-fuzzing (CC=clang) fuzz_NAME is a libFuzzer binary:
#     tests/fuzz/fuzz_NAME -max_total_time=60 /tmp/corpus tests/fuzz/seeds/NAME
# Otherwise it is linked with tests/fuzz/replay.c, which runs every file of
# FUZZ_SEED_DIR once, and is a test of make check that fails on a crash
# (sanitizers with --enable-asan make memory errors crashes too).
XI_FUZZ_LDADD = lib/libxcore.la
XI_FUZZ_LINK = $(AM_LDFLAGS) -fsanitize=fuzzer
XI_FUZZ_SEEDS = $(abs_top_srcdir)/tests/fuzz/seeds

EXTRA_DIST += tests/fuzz/seeds/pdu_rx tests/fuzz/seeds/url

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_pdu_rx
tests_fuzz_fuzz_pdu_rx_SOURCES = tests/fuzz/fuzz_pdu_rx.c
tests_fuzz_fuzz_pdu_rx_LDFLAGS = $(XI_FUZZ_LINK)
else
if ENABLE_TESTS
check_PROGRAMS += tests/fuzz/fuzz_pdu_rx
TESTS += tests/fuzz/fuzz_pdu_rx
tests_fuzz_fuzz_pdu_rx_SOURCES = tests/fuzz/fuzz_pdu_rx.c tests/fuzz/replay.c
tests_fuzz_fuzz_pdu_rx_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SEED_DIR='"$(XI_FUZZ_SEEDS)/pdu_rx"'
endif
endif
tests_fuzz_fuzz_pdu_rx_LDADD = $(XI_FUZZ_LDADD)

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_url
tests_fuzz_fuzz_url_SOURCES = tests/fuzz/fuzz_url.c
tests_fuzz_fuzz_url_LDFLAGS = $(XI_FUZZ_LINK)
else
if ENABLE_TESTS
check_PROGRAMS += tests/fuzz/fuzz_url
TESTS += tests/fuzz/fuzz_url
tests_fuzz_fuzz_url_SOURCES = tests/fuzz/fuzz_url.c tests/fuzz/replay.c
tests_fuzz_fuzz_url_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SEED_DIR='"$(XI_FUZZ_SEEDS)/url"'
endif
endif
tests_fuzz_fuzz_url_LDADD = $(XI_FUZZ_LDADD)

# The seed generator checks, as a test, that the committed seeds are current.
if ENABLE_TESTS
check_PROGRAMS += tests/fuzz/gen-seeds-pdu
TESTS += tests/fuzz/gen-seeds-pdu
endif
tests_fuzz_gen_seeds_pdu_SOURCES = tests/fuzz/gen-seeds-pdu.c
tests_fuzz_gen_seeds_pdu_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_SEED_PDU_DIR='"$(XI_FUZZ_SEEDS)/pdu_rx"' -DFUZZ_SEED_URL_DIR='"$(XI_FUZZ_SEEDS)/url"'
tests_fuzz_gen_seeds_pdu_LDADD = $(XI_FUZZ_LDADD)

.PHONY: fuzz-seeds-pdu
fuzz-seeds-pdu: tests/fuzz/gen-seeds-pdu$(EXEEXT)
	$(MKDIR_P) $(srcdir)/tests/fuzz/seeds/pdu_rx $(srcdir)/tests/fuzz/seeds/url
	tests/fuzz/gen-seeds-pdu$(EXEEXT) write $(srcdir)/tests/fuzz/seeds/pdu_rx \
		$(srcdir)/tests/fuzz/seeds/url
