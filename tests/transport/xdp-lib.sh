# Sourced by the xdp tests: a network namespace with a veth pair for the xdp
# backend, removed on exit however the test ends.
#
#   xdp_ns_setup TAG [split]
#
# makes namespace h2-TAG-PID with the pair h2k<->h2x (one namespace), or
# with 'split' two namespaces: h2-TAG-PID-k holding h2k and h2-TAG-PID-x
# holding h2x. h2k (the kernel's end) gets $XDP_PEER_IP/24 and has TX
# checksum offload turned off (a veth hands the kernel's partial checksums
# to XDP as they are); h2x stays without a kernel address: the xdp stack
# owns $XDP_IP on it. Exports XISCSI_XDP_IF and XISCSI_XDP_IP for the
# backend, and XDP_NS, XDP_NS_K, XDP_NS_X. The namespaces go on exit
# (trap), unless XDP_TRAP=0: then the caller runs xdp_ns_cleanup itself.

xdp_skip() {
	echo "SKIP: $*"
	exit 77
}

xdp_ns_cleanup() {
	for ns in $XDP_NS_LIST; do
		ip netns del "$ns" 2>/dev/null
	done
}

xdp_ns_setup() {
	tag=$1
	[ "$(id -u)" -eq 0 ] || xdp_skip "xdp tests need root (network namespaces, XDP)"
	command -v ip >/dev/null 2>&1 || xdp_skip "ip not found (Debian package iproute2)"
	command -v ethtool >/dev/null 2>&1 || xdp_skip "ethtool not found (Debian package ethtool)"
	XT_TEST=${XT_TEST:-${top_builddir:-.}/tests/transport/xt_test}
	[ -x "$XT_TEST" ] || xdp_skip "xt_test is not built"
	"$XT_TEST" xdp backends >/dev/null 2>&1 ||
		[ $? -ne 77 ] || xdp_skip "the xdp backend is not built (needs libxdp, libbpf)"
	sub=$(( $$ % 250 + 1 ))
	XDP_NS=h2-$tag-$$
	XDP_PEER_IP=10.201.$sub.1
	XDP_IP=10.201.$sub.2
	if [ "${XDP_TRAP:-1}" = 1 ]; then
		trap 'rc=$?; xdp_ns_cleanup; exit $rc' EXIT
		trap 'exit 1' INT TERM
	fi
	if [ "${2:-}" = split ]; then
		XDP_NS_K=$XDP_NS-k
		XDP_NS_X=$XDP_NS-x
	else
		XDP_NS_K=$XDP_NS
		XDP_NS_X=$XDP_NS
	fi
	XDP_NS_LIST="$XDP_NS_K"
	ip netns add "$XDP_NS_K" 2>/dev/null || xdp_skip "cannot create a network namespace"
	if [ "$XDP_NS_X" != "$XDP_NS_K" ]; then
		XDP_NS_LIST="$XDP_NS_K $XDP_NS_X"
		ip netns add "$XDP_NS_X" || xdp_skip "cannot create a second network namespace"
	fi
	ip -n "$XDP_NS_K" link add h2k type veth peer name h2x netns "$XDP_NS_X" ||
		xdp_skip "cannot create a veth pair"
	ip -n "$XDP_NS_K" link set h2k up &&
		ip -n "$XDP_NS_X" link set h2x up &&
		ip -n "$XDP_NS_K" addr add "$XDP_PEER_IP/24" dev h2k &&
		ip netns exec "$XDP_NS_K" ethtool -K h2k tx off >/dev/null ||
		xdp_skip "cannot configure the veth pair"
	XISCSI_XDP_IF=h2x
	XISCSI_XDP_IP=$XDP_IP/24
	export XISCSI_XDP_IF XISCSI_XDP_IP XDP_NS XDP_NS_K XDP_NS_X XDP_PEER_IP XDP_IP
}
