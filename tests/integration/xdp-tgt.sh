#!/bin/bash
# xtgtd on the xdp transport (AF_XDP + utcp, its own address on a veth end
# in one namespace) serving an initiator on kernel sockets in another:
# 256 MiB of random data written and read back by xiscsi-io (tcp),
# verified, then compared with qemu-img.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/xdp-lib.sh" tgt

xi_bg xtgtd ip netns exec "$XDP_NS_X" env -u XISCSI_XDP_QUIET "$XTGTD" -f --transport xdp --listen "$XDP_IP:3260" --target "$XDP_IQN" \
	--lun "ram:${XDP_MIB}M"
xdp_wait_port "$XDP_NS_K" "$XDP_IP" 3260
grep -q "^xdp: h2x queue 0: " "$XI_TMP/xtgtd.log" || xi_fail "no xdp setup line in the log"
URL=iscsi://$XDP_IP:3260/$XDP_IQN/0
xdp_io_round in_k "$URL" "$URL" --transport tcp
exit 0
