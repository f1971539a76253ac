#!/bin/bash
# The loss test over the real AF_XDP path: xiscsi-io on the xdp transport
# with the engine's impair mode on (1% of frames dropped, 0.5% duplicated,
# 1% reordered, both ways) against xtgtd on the kernel's TCP in another
# namespace. Random data written and read back (64 MiB each way by
# default; XDP_LOSS_MIB=512 moves 1 GiB), every byte compared, then a
# verified random-write load. The engine's counters must show the damage
# and the retransmissions that repaired it.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/xdp-lib.sh" loss

MIB=${XDP_LOSS_MIB:-64}
IMPAIR="drop=10000,dup=5000,reorder=10000,seed=${XDP_LOSS_SEED:-1}"
xi_bg xtgtd ip netns exec "$XDP_NS_K" "$XTGTD" -f --listen "$XDP_PEER_IP:3260" \
	--target "$XDP_IQN" --lun "ram:${MIB}M"
xdp_wait_port "$XDP_NS_K" "$XDP_PEER_IP" 3260
URL=iscsi://$XDP_PEER_IP:3260/$XDP_IQN/0
# in_x_lossy COMMAND...: in the xdp namespace, impaired, with the counters.
in_x_lossy() {
	in_x env -u XISCSI_XDP_QUIET XISCSI_XDP_IMPAIR="$IMPAIR" XISCSI_XDP_STATS=1 "$@"
}

head -c $((MIB * 1024 * 1024)) /dev/urandom >"$XI_TMP/src.img"
in_x_lossy timeout 300 "$XIO" -q --transport xdp "$URL" write --offset 0 \
	-i "$XI_TMP/src.img" 2>"$XI_TMP/w.log" || xi_fail "write of $MIB MiB: $(tail -5 "$XI_TMP/w.log")"
in_x_lossy timeout 300 "$XIO" -q --transport xdp "$URL" read --offset 0 \
	--length $((MIB * 1024 * 1024)) -o "$XI_TMP/back.img" 2>"$XI_TMP/r.log" ||
	xi_fail "read of $MIB MiB: $(tail -5 "$XI_TMP/r.log")"
cmp "$XI_TMP/src.img" "$XI_TMP/back.img" || xi_fail "the $MIB MiB read back differ"
out=$(in_x_lossy timeout 300 "$XIO" -q --transport xdp -d both "$URL" load --rw randwrite \
	--bs 16k --qd 16 --count 4000 --verify 2>&1) || xi_fail "verified load: $out"
echo "$out" | grep -q '^verify: .* intact' || xi_fail "verify: $out"
for f in w r; do
	grep -h '^xdp: h2x: rx' "$XI_TMP/$f.log" || xi_fail "no counters in $f.log"
	# impaired D/U/R: all three happened, and the damage was repaired.
	grep -q 'impaired [1-9][0-9]*/[1-9][0-9]*/[1-9][0-9]*' "$XI_TMP/$f.log" ||
		xi_fail "the impair mode did not act: $(cat "$XI_TMP/$f.log")"
done
grep -q 'retransmits [1-9]' "$XI_TMP/w.log" || xi_fail "no retransmission while writing"
echo "$out" | grep '^xdp: h2x: rx'
exit 0
