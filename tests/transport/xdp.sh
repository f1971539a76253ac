#!/bin/sh
# The transport suite on the xdp backend (AF_XDP + the utcp engine), its
# peer on kernel sockets (tcp). Both run in one process, in a network
# namespace made here: a veth pair whose kernel end has 10.201.S.1/24 and
# whose other end the xdp group takes (address 10.201.S.2, answered by the
# engine). The suite's IPv4 address becomes the kernel end's (XT_TEST_ADDR);
# loopback stays down there, so the IPv6 test skips with its reason.
# Before the suite, groups that cannot be made must say why. Exit 77 (skip)
# with the reason where namespaces or XDP cannot be set up.
. "${top_srcdir:-.}/tests/transport/xdp-lib.sh"

xdp_ns_setup xt
XT_TEST_ADDR=$XDP_PEER_IP
export XT_TEST_ADDR
# Refusals say why: no address, a bad option in the environment.
out=$(ip netns exec "$XDP_NS" env -u XISCSI_XDP_IP -u XISCSI_XDP_QUIET "$XT_TEST" xdp timers 2>&1) &&
	{ echo "FAIL: a group without an address was made: $out"; exit 1; }
echo "$out" | grep -q 'no address: give --xdp-ip' || { echo "FAIL: no reason given: $out"; exit 1; }
out=$(ip netns exec "$XDP_NS" env -u XISCSI_XDP_QUIET XISCSI_XDP_OPTS=xdp-frames=64,no-such=1 \
	"$XT_TEST" xdp timers 2>&1) && { echo "FAIL: a bad option was taken: $out"; exit 1; }
echo "$out" | grep -q 'no-such: no such option' || { echo "FAIL: no reason given: $out"; exit 1; }
out=$(ip netns exec "$XDP_NS" env -u XISCSI_XDP_QUIET XISCSI_XDP_IF=h2-none \
	"$XT_TEST" xdp timers 2>&1) && { echo "FAIL: a missing interface was taken: $out"; exit 1; }
echo "$out" | grep -q 'h2-none: no such interface' || { echo "FAIL: no reason given: $out"; exit 1; }
ip netns exec "$XDP_NS" ${XT_WRAP:-} "$XT_TEST" xdp --peer tcp "$@"
