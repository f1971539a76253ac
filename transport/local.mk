# transport: one completion-based API (transport.h) and its backends. Knows
# nothing of iSCSI. A new backend adds its source here and a line in the
# registry of transport.c; the test suite runs unchanged on it.
noinst_LTLIBRARIES += transport/libxt.la
noinst_HEADERS += transport/transport.h
transport_libxt_la_SOURCES = transport/transport.c transport/tcp.c transport/uring.c
transport_libxt_la_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) -pthread
transport_libxt_la_LIBADD = $(URING_LIBS) -lpthread

include tests/transport/local.mk
