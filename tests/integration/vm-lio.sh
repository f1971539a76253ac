#!/bin/bash
# Our initiator against the Linux kernel's target (LIO) in a VM: LIO serves a
# 64 MiB RAM disk in demo mode; xiscsiadm discovers it, xiscsi-io logs in,
# asks INQUIRY and the capacity, writes 4 MiB of random data, reads them back
# and compares.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/vm/vm-lib.sh"

XIO="$top_builddir/initiator/xiscsi-io"
XADM="$top_builddir/initiator/xiscsiadm"
[ -x "$XIO" ] || xi_skip "initiator/xiscsi-io is not built"
[ -x "$XADM" ] || xi_skip "initiator/xiscsiadm is not built"
vm_prepare

HPORT=$(xi_free_port)
IQN=iqn.2003-01.org.linux-iscsi.xiscsi-vm:lio
start=$SECONDS
# restrict=on: the guest reaches nothing; only the forwarded portal is open.
vm_boot lio 180 ",restrict=on,hostfwd=tcp:127.0.0.1:$HPORT-:3260" \
	xi.mode=lio "xi.target=$IQN" xi.mb=64
vm_wait_boot 60
vm_wait READY 90
echo "LIO ready after $((SECONDS - start)) s"
URL="iscsi://127.0.0.1:$HPORT/$IQN/0"

# LIO answers with the portal it knows, 10.0.2.15:3260 inside the VM: the
# name is what counts, the address is not ours to reach.
out=$(XISCSI_ROOT="$XI_TMP/root" "$XADM" -m discovery -t st -p "127.0.0.1:$HPORT") ||
	xi_fail "discovery: $out"
echo "$out" | grep -q ",1 $IQN\$" || xi_fail "discovery printed: $out"

"$XIO" "$URL" inquiry >"$XI_TMP/inq.txt" || xi_fail "inquiry: $(cat "$XI_TMP/inq.txt")"
grep -q '^Device type: 0x00' "$XI_TMP/inq.txt" || xi_fail "inquiry: $(cat "$XI_TMP/inq.txt")"
grep -q '^Vendor: LIO-ORG' "$XI_TMP/inq.txt" || xi_fail "not LIO: $(cat "$XI_TMP/inq.txt")"
"$XIO" "$URL" capacity >"$XI_TMP/cap.txt" || xi_fail "capacity"
grep -qx 'Bytes: 67108864' "$XI_TMP/cap.txt" || xi_fail "capacity: $(cat "$XI_TMP/cap.txt")"
bs=$(sed -n 's/^Block size: //p' "$XI_TMP/cap.txt")
blocks=$((4 * 1048576 / bs))
lba=$((1048576 / bs))

head -c $((4 * 1048576)) /dev/urandom >"$XI_TMP/r.bin"
"$XIO" -q "$URL" write "$lba" "$blocks" -i "$XI_TMP/r.bin" || xi_fail "write"
"$XIO" -q "$URL" read "$lba" "$blocks" -o "$XI_TMP/back.bin" || xi_fail "read"
cmp -s "$XI_TMP/r.bin" "$XI_TMP/back.bin" || xi_fail "read back differs"
"$XIO" -q "$URL" compare "$lba" "$blocks" -i "$XI_TMP/r.bin" || xi_fail "compare"
# With both digests, which LIO checks on every PDU.
"$XIO" -q -d both "$URL" compare "$lba" "$blocks" -i "$XI_TMP/r.bin" ||
	xi_fail "compare with header and data digests"
echo "PASS: xiscsi-io against LIO: discovery, inquiry, capacity, 4 MiB written and read back ($((SECONDS - start)) s)"
exit 0
