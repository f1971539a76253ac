# tests/transport: the suite every backend passes unchanged (xt_test BACKEND)
# and the benchmark (xt_bench). A new backend adds one wrapper script below.
XT_TEST_LDADD = transport/libxt.la -lpthread

check_PROGRAMS += tests/transport/xt_test
tests_transport_xt_test_SOURCES = tests/transport/xt_test.c
tests_transport_xt_test_CFLAGS = $(AM_CFLAGS) -pthread
tests_transport_xt_test_LDADD = $(XT_TEST_LDADD)

noinst_PROGRAMS += tests/transport/xt_bench
tests_transport_xt_bench_SOURCES = tests/transport/xt_bench.c
tests_transport_xt_bench_CFLAGS = $(AM_CFLAGS) -pthread
tests_transport_xt_bench_LDADD = $(XT_TEST_LDADD)

TESTS += tests/transport/tcp.sh tests/transport/uring.sh tests/transport/xdp.sh
EXTRA_DIST += tests/transport/tcp.sh tests/transport/uring.sh tests/transport/run-suite tests/transport/run-bench \
	tests/transport/README.md tests/transport/xdp.sh tests/transport/xdp-lib.sh tests/transport/run-bench-xdp \
	tests/transport/profile-pingpong

# utcp: the userspace TCP engine over a TAP device against the kernel's TCP,
# in a network namespace the scripts make (skipped where they cannot).
check_PROGRAMS += tests/transport/utcp_tap
tests_transport_utcp_tap_SOURCES = tests/transport/utcp_tap.c
tests_transport_utcp_tap_LDADD = $(XT_TEST_LDADD)
TESTS += tests/transport/utcp-basic.sh tests/transport/utcp-loss.sh
EXTRA_DIST += tests/transport/utcp-netns tests/transport/utcp-basic.sh tests/transport/utcp-loss.sh \
	tests/transport/utcp-bench tests/transport/lwip_tap.c

# utcp without a kernel: two engines back to back in memory (cmocka).
if ENABLE_TESTS
check_PROGRAMS += tests/unit/test_utcp
TESTS += tests/unit/test_utcp
tests_unit_test_utcp_SOURCES = tests/unit/test_utcp.c
tests_unit_test_utcp_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_utcp_LDADD = transport/libxt.la $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test_utcp_csum
TESTS += tests/unit/test_utcp_csum
tests_unit_test_utcp_csum_SOURCES = tests/unit/test_utcp_csum.c
tests_unit_test_utcp_csum_CFLAGS = $(XI_UNIT_CFLAGS)
tests_unit_test_utcp_csum_LDADD = $(CMOCKA_LIBS)
endif
