#!/bin/bash
# The initiator on the xdp transport (AF_XDP + utcp, its own address on a
# veth end in one namespace) against xtgtd on kernel sockets in another:
# 256 MiB of random data written and read back by xiscsi-io --transport
# xdp, verified, then compared with qemu-img over kernel sockets.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/xdp-lib.sh" ini

xi_bg xtgtd ip netns exec "$XDP_NS_K" "$XTGTD" -f --listen "$XDP_PEER_IP:3260" --target "$XDP_IQN" \
	--lun "ram:${XDP_MIB}M"
xdp_wait_port "$XDP_NS_K" "$XDP_PEER_IP" 3260
URL=iscsi://$XDP_PEER_IP:3260/$XDP_IQN/0
xdp_io_round in_x "$URL" "$URL" --transport xdp
exit 0
