#!/bin/bash
# The initiator against this project's own target: discovery, INQUIRY,
# capacity, random data written and read back, CHAP, and a verified load
# with digests, on every transport backend xtgtd and libxiscsi were built with.
. "$top_srcdir/tests/integration/ini-lib.sh"

XTGTD="$top_builddir/target/xtgtd"
[ -x "$XTGTD" ] || xi_skip "target/xtgtd is not built"
[ -x "$XADM" ] || xi_skip "initiator/xiscsiadm is not built"

PORT=$(xi_free_port)
IQN=iqn.2026-01.io.xiscsi.test:own
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --target "$IQN" --lun ram:32M \
	--target "$IQN-chap" --lun ram:8M --chap alice%alicesecret12
xi_wait_port 127.0.0.1 "$PORT" 10
URL="iscsi://127.0.0.1:$PORT/$IQN/0"

out=$(XISCSI_ROOT="$XI_TMP/root" "$XADM" -m discovery -t st -p "127.0.0.1:$PORT") ||
	xi_fail "discovery: $out"
echo "$out" | grep -qx "127.0.0.1:$PORT,1 $IQN" || xi_fail "discovery printed: $out"

"$XIO" "$URL" inquiry >"$XI_TMP/inq.txt" || xi_fail "inquiry"
grep -q '^Device type: 0x00' "$XI_TMP/inq.txt" || xi_fail "inquiry: $(cat "$XI_TMP/inq.txt")"
"$XIO" "$URL" capacity | grep -qx 'Bytes: 33554432' || xi_fail "capacity"

head -c $((3 * 1024 * 1024)) /dev/urandom >"$XI_TMP/r.bin"
"$XIO" -q "$URL" write 0 6144 -i "$XI_TMP/r.bin" || xi_fail "write"
"$XIO" -q "$URL" read 0 6144 -o "$XI_TMP/back.bin" || xi_fail "read"
cmp "$XI_TMP/r.bin" "$XI_TMP/back.bin" || xi_fail "read back differs"

"$XIO" "iscsi://127.0.0.1:$PORT/$IQN-chap/0" capacity >/dev/null 2>&1 &&
	xi_fail "CHAP target let us in without CHAP"
"$XIO" "iscsi://alice%alicesecret12@127.0.0.1:$PORT/$IQN-chap/0" capacity >/dev/null ||
	xi_fail "CHAP login to xtgtd"

for t in tcp uring; do
	if ! "$XIO" --transport "$t" "$URL" capacity >/dev/null 2>&1; then
		echo "note: transport $t not usable here, skipped"
		continue
	fi
	out=$("$XIO" --transport "$t" -d both "$URL" load --rw randwrite --bs 8k --qd 16 \
		--count 4000 --verify) || xi_fail "$t: verified load: $out"
	echo "$out" | grep -q '^verify: .* intact' || xi_fail "$t: verify: $out"
done
exit 0
