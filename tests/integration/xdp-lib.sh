# Sourced by the xdp integration tests (after lib.sh): two namespaces joined
# by a veth pair, the kernel's end in $XDP_NS_K (lo up, $XDP_PEER_IP) and the
# xdp end in $XDP_NS_X (the xdp stack owns $XDP_IP there). Everything goes
# when the test ends: daemons first (lib.sh), then the namespaces.
XDP_TRAP=0
. "$top_srcdir/tests/transport/xdp-lib.sh"
XTGTD=$top_builddir/target/xtgtd
XIO=$top_builddir/initiator/xiscsi-io
[ -x "$XTGTD" ] || xi_skip "target/xtgtd is not built"
[ -x "$XIO" ] || xi_skip "initiator/xiscsi-io is not built"
xdp_ns_setup "$1" split
trap 'rc=$?; xdp_ns_cleanup; (exit $rc); xi_cleanup' EXIT
ip -n "$XDP_NS_K" link set lo up

# xdp_wait_port NS HOST PORT: until something accepts there (10 s).
xdp_wait_port() {
	for _ in $(seq 1 100); do
		ip netns exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null && return 0
		sleep 0.1
	done
	xi_fail "nothing listens on $2:$3 in $1 after 10 s"
}

# in_k / in_x COMMAND...: run in the kernel's or the xdp namespace.
in_k() { ip netns exec "$XDP_NS_K" "$@"; }
in_x() { ip netns exec "$XDP_NS_X" "$@"; }

XDP_MIB=${XDP_MIB:-256}
XDP_IQN=iqn.2026-12.org.xiscsi.test:xdp

# xdp_io_round SIDE URL: write $XDP_MIB MiB of random data through
# xiscsi-io run by SIDE (in_k or in_x, with its transport options), read it
# back, compare; then qemu-img (kernel sockets, from the kernel's
# namespace) compares the LUN with the source.
xdp_io_round() {
	local side=$1 url=$2 qurl=$3
	shift 3
	head -c $((XDP_MIB * 1024 * 1024)) /dev/urandom >"$XI_TMP/src.img"
	$side timeout 120 "$XIO" -q "$@" "$url" write --offset 0 -i "$XI_TMP/src.img" ||
		xi_fail "xiscsi-io $* write of $XDP_MIB MiB"
	$side timeout 120 "$XIO" -q "$@" "$url" read --offset 0 \
		--length $((XDP_MIB * 1024 * 1024)) -o "$XI_TMP/back.img" ||
		xi_fail "xiscsi-io $* read of $XDP_MIB MiB"
	cmp "$XI_TMP/src.img" "$XI_TMP/back.img" || xi_fail "the $XDP_MIB MiB read back differ"
	if command -v qemu-img >/dev/null 2>&1 && qemu-img --help 2>/dev/null | grep -q iscsi; then
		out=$(in_k timeout 120 qemu-img compare -f raw -F raw "$XI_TMP/src.img" "$qurl" 2>&1) ||
			xi_fail "qemu-img compare: $out"
		echo "qemu-img compare: $out"
	else
		echo "note: qemu-img with iSCSI not found (qemu-utils, qemu-block-extra): compare skipped"
	fi
	rm -f "$XI_TMP/src.img" "$XI_TMP/back.img"
}
