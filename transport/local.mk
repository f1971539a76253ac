# transport: one completion-based API (transport.h) and its backends. Knows
# nothing of iSCSI. A new backend adds its source here and a line in the
# registry of transport.c; the test suite runs unchanged on it.
noinst_LTLIBRARIES += transport/libxt.la
noinst_HEADERS += transport/transport.h
transport_libxt_la_SOURCES = transport/transport.c transport/tcp.c transport/uring.c
transport_libxt_la_SOURCES += transport/utcp.c transport/utcp_in.c transport/utcp_out.c
noinst_HEADERS += transport/utcp_int.h
transport_libxt_la_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) -pthread
transport_libxt_la_LIBADD = $(URING_LIBS) -lpthread

# xdp: AF_XDP (libxdp, libbpf) and its XDP program, built for the BPF target
# and embedded in xdp.c (.incbin); the engine under it is utcp.c.
EXTRA_DIST += transport/xdp_kern.c
noinst_HEADERS += transport/utcp.h
if HAVE_XDP
transport_libxt_la_SOURCES += transport/xdp.c
transport_libxt_la_CFLAGS += $(XDP_CFLAGS) -DXT_WITH_XDP
transport_libxt_la_LIBADD += $(XDP_LIBS)
CLEANFILES += transport/xdp_kern.o
BPF_CLANG = clang
transport/xdp_kern.o: transport/xdp_kern.c transport/$(am__dirstamp)
	$(AM_V_GEN)$(BPF_CLANG) -target bpf -O2 -g -Wall -Werror \
		-I/usr/include/`$(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu` \
		-c $(srcdir)/transport/xdp_kern.c -o $@
# (through a variable, so that automake keeps its own rule for the object)
XDP_KERN_USER = transport/libxt_la-xdp.lo
$(XDP_KERN_USER): transport/xdp_kern.o
endif

include tests/transport/local.mk
include tests/integration/xdp.mk
