#!/bin/bash
# xtgtd on the xdp transport (AF_XDP + utcp, its own address on a veth end
# in one namespace, from --xdp-if/--xdp-ip the first time and from the
# XISCSI_XDP_* environment the second) serving an initiator on kernel
# sockets in another:
# 256 MiB of random data written and read back by xiscsi-io (tcp),
# verified, then compared with qemu-img. Then the crash case: xtgtd killed
# with SIGKILL leaves no XDP program on the interface (the BPF link dies
# with the process); a stale copy of the program attached the old way
# (netlink) is replaced by the next start, which serves again.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/xdp-lib.sh" tgt

# The first daemon gets its interface and address as options, with the
# environment cleared; the second (below) from XISCSI_XDP_IF/XISCSI_XDP_IP.
xi_bg xtgtd ip netns exec "$XDP_NS_X" env -u XISCSI_XDP_QUIET -u XISCSI_XDP_IF -u XISCSI_XDP_IP \
	"$XTGTD" -f --transport xdp --xdp-if h2x:0 --xdp-ip "$XDP_IP/24" --listen "$XDP_IP:3260" \
	--target "$XDP_IQN" --lun "ram:${XDP_MIB}M"
xdp_wait_port "$XDP_NS_K" "$XDP_IP" 3260
grep -q "^xdp: h2x queue 0: " "$XI_TMP/xtgtd.log" || xi_fail "no xdp setup line in the log"
URL=iscsi://$XDP_IP:3260/$XDP_IQN/0
xdp_io_round in_k "$URL" "$URL" --transport tcp

kill -KILL "$XI_LAST_PID"
wait "$XI_LAST_PID" 2>/dev/null
for _ in $(seq 1 20); do
	in_x ip link show h2x | grep -q 'prog/xdp' || break
	sleep 0.1
done
in_x ip link show h2x | grep -q 'prog/xdp' && xi_fail "an XDP program is left after SIGKILL"
KERN_OBJ=$top_builddir/transport/xdp_kern.o
if [ -f "$KERN_OBJ" ] && in_x ip link set dev h2x xdpdrv obj "$KERN_OBJ" sec xdp 2>/dev/null; then
	stale=yes
else
	stale=no
	echo "note: ip cannot attach $KERN_OBJ here: the stale-program case is not tested"
fi
XDP_MIB=4
xi_bg xtgtd2 ip netns exec "$XDP_NS_X" env -u XISCSI_XDP_QUIET "$XTGTD" -f --transport xdp \
	--listen "$XDP_IP:3260" --target "$XDP_IQN" --lun "ram:${XDP_MIB}M"
xdp_wait_port "$XDP_NS_K" "$XDP_IP" 3260
if [ $stale = yes ]; then
	grep -q "removed a stale xi_xdp_steer program" "$XI_TMP/xtgtd2.log" ||
		xi_fail "the stale program was not replaced: $(cat "$XI_TMP/xtgtd2.log")"
fi
xdp_io_round in_k "$URL" "$URL" --transport tcp
exit 0
