#!/bin/bash
# The initiator on the xdp transport (AF_XDP + utcp, its own address on a
# veth end in one namespace) against xtgtd on kernel sockets in another:
# 256 MiB of random data written and read back by xiscsi-io --transport
# xdp, verified, then compared with qemu-img over kernel sockets. The
# interface and address are given as options (--xdp-if, --xdp-ip) with the
# environment cleared; xdp-tgt.sh keeps the XISCSI_XDP_* variables covered.
# Then xiscsid logs in through an iface bound to that queue and address
# (iface.net_ifacename, iface.queue, iface.ipaddress), again without them.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/xdp-lib.sh" ini
. "$top_srcdir/tests/integration/xiscsid-lib.sh"

# in_x with no XISCSI_XDP_* in the environment: options only.
in_x_noenv() { in_x env -u XISCSI_XDP_IF -u XISCSI_XDP_IP -u XISCSI_XDP_OPTS "$@"; }

xi_bg xtgtd ip netns exec "$XDP_NS_K" "$XTGTD" -f --listen "$XDP_PEER_IP:3260" --target "$XDP_IQN" \
	--lun "ram:${XDP_MIB}M"
xdp_wait_port "$XDP_NS_K" "$XDP_PEER_IP" 3260
URL=iscsi://$XDP_PEER_IP:3260/$XDP_IQN/0
# A bad value is refused before any interface is touched.
out=$(in_x_noenv "$XIO" --transport xdp --xdp-if h2x:0 --xdp-ip 10.0.0.0/33 "$URL" capacity 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q 'transport option xdp-ip: bad value "10.0.0.0/33"' <<<"$out" ||
	xi_fail "a bad --xdp-ip: exit $rc: $out"
xdp_io_round in_x_noenv "$URL" "$URL" --transport xdp --xdp-if h2x:0 --xdp-ip "$XDP_IP/24"

# xiscsid in the xdp namespace; discovery from the kernel's (xiscsiadm
# discovers by itself, on kernel sockets), the login through the iface.
P=$XDP_PEER_IP:3260
in_k "$XADM" -m discovery -t st -p "$P" >/dev/null || xi_fail "discovery"
"$XADM" -m iface -I x0 -o new >/dev/null || xi_fail "iface new"
for kv in iface.transport_name=xdp iface.net_ifacename=h2x iface.queue=0 \
	"iface.ipaddress=$XDP_IP/24"; do
	"$XADM" -m iface -I x0 -o update -n "${kv%%=*}" -v "${kv#*=}" >/dev/null ||
		xi_fail "iface update $kv"
done
"$XADM" -m iface | grep -qx "x0 xdp,h2x:0,$XDP_IP/24" || xi_fail "iface list: $("$XADM" -m iface)"
"$XADM" -m iface -I x0 -o update -n iface.ipaddress -v 300.1.2.3 2>/dev/null
[ $? -eq 7 ] || xi_fail "a bad iface.ipaddress was not refused"
xi_bg xiscsid ip netns exec "$XDP_NS_X" env -u XISCSI_XDP_IF -u XISCSI_XDP_IP -u XISCSI_XDP_QUIET \
	-u XISCSI_XDP_OPTS "$XISCSID" -f --run-dir "$XI_TMP/run" -i "$XD_INI"
XD_PID=$XI_LAST_PID
for _ in $(seq 1 100); do
	[ -S "$XISCSID_SOCKET" ] && break
	sleep 0.1
done
[ -S "$XISCSID_SOCKET" ] || xi_fail "xiscsid did not open its socket"
out=$("$XADM" -m node -T "$XDP_IQN" -p "$P" --login -I x0 2>&1) ||
	xi_fail "login through iface x0: $out"
for _ in $(seq 1 100); do
	[ "$(xd_json "[s['phase'] for s in d]")" = "['ready']" ] && break
	sleep 0.1
done
# Ready means REPORT LUNS, INQUIRY and READ CAPACITY went through that loop.
[ "$(xd_json "[(s['iface'], s['transport'], s['phase'], len(s['luns'])) for s in d]")" = \
	"[('x0', 'xdp', 'ready', 1)]" ] || xi_fail "session: $("$XADM" -m session --json)"
grep -q "xdp: h2x queue 0: " "$XI_TMP/xiscsid.log" || xi_fail "no xdp setup line from xiscsid"
"$XADM" -m node -T "$XDP_IQN" -p "$P" --logout >/dev/null || xi_fail "logout"
xi_stop "$XD_PID" || xi_fail "xiscsid exited $? on SIGTERM"
exit 0
