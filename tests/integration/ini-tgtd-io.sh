#!/bin/bash
# xiscsi-io against tgtd: INQUIRY, capacity, LUNs, random data written and read
# back (through xiscsi-io and, when qemu-img is there, through libiscsi as an
# independent reader, both ways), digests, and a short load run.
. "$top_srcdir/tests/integration/ini-lib.sh"

ini_tgtd_start 64

out=$("$XIO" "$TGT_URL" inquiry) || xi_fail "inquiry: $out"
echo "$out" | grep -q '^Vendor: IET' || xi_fail "inquiry: no tgtd vendor in: $out"
echo "$out" | grep -q '^VPD pages: 0x00' || xi_fail "inquiry: no VPD page list in: $out"

out=$("$XIO" capacity "$TGT_URL") || xi_fail "capacity: $out"
echo "$out" | grep -qx 'Blocks: 131072' || xi_fail "capacity: want 131072 blocks: $out"
echo "$out" | grep -qx 'Block size: 512' || xi_fail "capacity: want 512-byte blocks: $out"

out=$("$XIO" "$TGT_URL" luns) || xi_fail "luns: $out"
echo "$out" | grep -qx 1 || xi_fail "REPORT LUNS lacks LUN 1: $out"

head -c $((4 * 1024 * 1024)) /dev/urandom >"$XI_TMP/rand.bin"
"$XIO" -q "$TGT_URL" write 2048 8192 -i "$XI_TMP/rand.bin" || xi_fail "write failed"
"$XIO" -q "$TGT_URL" compare 2048 8192 -i "$XI_TMP/rand.bin" >/dev/null ||
	xi_fail "compare after write failed"
"$XIO" -q "$TGT_URL" read --offset $((2048 * 512)) --length 4M -o "$XI_TMP/back.bin" ||
	xi_fail "read failed"
cmp "$XI_TMP/back.bin" "$XI_TMP/rand.bin" || xi_fail "read back differs from what was written"
# The backing file is the ground truth: the bytes are where the LBA says.
dd if="$XI_TMP/disk.img" bs=512 skip=2048 count=8192 2>/dev/null | cmp - "$XI_TMP/rand.bin" ||
	xi_fail "tgtd's backing file does not hold the data at LBA 2048"

# A miscompare must be reported as one.
head -c 512 /dev/urandom >"$XI_TMP/other.bin"
"$XIO" -q "$TGT_URL" compare 2048 1 -i "$XI_TMP/other.bin" 2>/dev/null
[ $? -eq 4 ] || xi_fail "compare against different data did not exit 4"

# Header and data digests (CRC32C) through a write and a compare; tgtd
# answers None unless the target allows CRC32C.
tgtadm_ --op update --mode target --tid 1 -n HeaderDigest -v CRC32C,None
tgtadm_ --op update --mode target --tid 1 -n DataDigest -v CRC32C,None
head -c $((1024 * 1024)) /dev/urandom >"$XI_TMP/rand2.bin"
"$XIO" -q -d both "$TGT_URL" write 0 2048 -i "$XI_TMP/rand2.bin" || xi_fail "write with digests"
"$XIO" -q -d both "$TGT_URL" compare 0 2048 -i "$XI_TMP/rand2.bin" >/dev/null ||
	xi_fail "compare with digests"

# An independent reader and writer: QEMU's libiscsi driver.
if command -v qemu-img >/dev/null 2>&1 && qemu-img --help | grep -q iscsi 2>/dev/null ||
	command -v qemu-img >/dev/null 2>&1; then
	dd if=/dev/zero of="$XI_TMP/lun.img" bs=1M count=64 2>/dev/null
	dd if="$XI_TMP/rand.bin" of="$XI_TMP/lun.img" bs=512 seek=2048 conv=notrunc 2>/dev/null
	dd if="$XI_TMP/rand2.bin" of="$XI_TMP/lun.img" bs=512 seek=0 conv=notrunc 2>/dev/null
	if qemu-img compare -f raw -F raw "$XI_TMP/lun.img" "$TGT_URL" >"$XI_TMP/qemu.log" 2>&1; then
		echo "qemu-img (libiscsi) reads what xiscsi-io wrote"
	elif grep -qi "unknown protocol\|not supported\|Unknown driver" "$XI_TMP/qemu.log"; then
		echo "note: qemu-img has no iSCSI driver here (qemu-block-extra), skipped"
	else
		xi_fail "qemu-img compare: $(cat "$XI_TMP/qemu.log")"
	fi
	if ! grep -qi "unknown protocol\|not supported\|Unknown driver" "$XI_TMP/qemu.log"; then
		head -c $((2 * 1024 * 1024)) /dev/urandom >"$XI_TMP/rand3.bin"
		cp "$XI_TMP/rand3.bin" "$XI_TMP/rand3.img"
		truncate -s 64M "$XI_TMP/rand3.img"
		qemu-img convert -n -f raw -O raw "$XI_TMP/rand3.img" "$TGT_URL" ||
			xi_fail "qemu-img convert to the LUN"
		"$XIO" -q "$TGT_URL" compare 0 4096 -i "$XI_TMP/rand3.bin" >/dev/null ||
			xi_fail "xiscsi-io does not read what qemu-img (libiscsi) wrote"
	fi
fi

# A short load run: every I/O completes without error (speed is not asserted).
out=$("$XIO" "$TGT_URL" load --rw randread --bs 4k --qd 32 --count 20000 --json) ||
	xi_fail "load randread: $out"
echo "$out" | grep -q '"ios":20000,"errors":0' || xi_fail "load randread: $out"
out=$("$XIO" "$TGT_URL" load --rw randwrite --bs 64k --qd 8 --count 2000 --verify) ||
	xi_fail "load randwrite --verify: $out"
echo "$out" | grep -q '^verify: [0-9]* acknowledged writes read back intact' ||
	xi_fail "load randwrite --verify: $out"

# Unsolicited Data-Out: with InitialR2T=No and FirstBurstLength 256 KiB a
# 1 MiB write is 64 KiB immediate, 192 KiB unsolicited Data-Out, then R2Ts.
tgtadm_ --op update --mode target --tid 1 -n InitialR2T -v No
tgtadm_ --op update --mode target --tid 1 -n FirstBurstLength -v 262144
tgtadm_ --op update --mode target --tid 1 -n MaxRecvDataSegmentLength -v 65536
out=$("$XIO" -vv "$TGT_URL" load --rw randwrite --bs 1M --qd 4 --count 100 --verify 2>&1) ||
	xi_fail "unsolicited data load: $out"
echo "$out" | grep -q 'InitialR2T 0' || xi_fail "InitialR2T=No was not negotiated: $out"
echo "$out" | grep -q '^verify: [0-9]* acknowledged writes read back intact' ||
	xi_fail "unsolicited data verify: $out"

# Usage errors are named and exit 1.
"$XIO" "$TGT_URL" load --qd zero 2>"$XI_TMP/err.txt"
[ $? -eq 1 ] && grep -q -- "--qd wants" "$XI_TMP/err.txt" || xi_fail "bad --qd not reported"
"$XIO" iscsi://127.0.0.1:1/iqn.2026-01.x:none/1 inquiry 2>"$XI_TMP/err.txt"
[ $? -eq 2 ] && grep -q "cannot log in" "$XI_TMP/err.txt" || xi_fail "refused connect not exit 2"
exit 0
