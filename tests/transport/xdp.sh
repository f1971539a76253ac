#!/bin/sh
# The transport suite on the xdp backend (AF_XDP + the utcp engine), its
# peer on kernel sockets (tcp). Both run in one process, in a network
# namespace made here: a veth pair whose kernel end has 10.201.S.1/24 and
# whose other end the xdp group takes (address 10.201.S.2, answered by the
# engine). The suite's IPv4 address becomes the kernel end's (XT_TEST_ADDR);
# loopback stays down there, so the IPv6 test skips with its reason.
# Exit 77 (skip) with the reason where namespaces or XDP cannot be set up.
. "${top_srcdir:-.}/tests/transport/xdp-lib.sh"

xdp_ns_setup xt
XT_TEST_ADDR=$XDP_PEER_IP
export XT_TEST_ADDR
ip netns exec "$XDP_NS" ${XT_WRAP:-} "$XT_TEST" xdp --peer tcp "$@"
