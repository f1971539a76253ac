#!/bin/bash
# QEMU's and libnbd's tools through the NBD export of an xtgtd LUN: nbdinfo
# sees the size, block sizes and flags; 64 MiB of random data written by
# qemu-img convert compare equal and come back out through nbdcopy;
# qemu-io's write-zeroes, FUA writes and flush; a thin LUN offers TRIM and
# reads zeros after it; a read-only export on loopback TCP refuses writes, a
# write-protected LUN is read-only by itself; a 4 KiB-block LUN advertises
# 4096 as the minimum block size and qemu honours it for a 512-byte write.
. "$top_srcdir/tests/integration/nbd-lib.sh"

xi_need_cmd qemu-img qemu-utils
xi_need_cmd qemu-io qemu-utils
xi_need_cmd nbdinfo libnbd-bin
xi_need_cmd nbdcopy libnbd-bin
xi_need_cmd python3 python3

nbd_xtgtd_start ram:64M "file:$XI_TMP/thin.img,size=16M,thin" ram:8M,ro ram:16M,bs=4096
nbd_export_start nbd "$NBD_ISCSI/0"
[ "$(stat -c %a "$NBD_SOCK")" = 600 ] || xi_fail "socket mode $(stat -c %a "$NBD_SOCK"), want 600"
"$XIO" "$NBD_ISCSI/0" nbd --socket "$NBD_SOCK" >"$XI_TMP/dup.log" 2>&1 &&
	xi_fail "a second export took over a live socket"
grep -q 'another server listens there' "$XI_TMP/dup.log" || xi_fail "$(cat "$XI_TMP/dup.log")"

nbdinfo --json "$NBD_URI" >"$XI_TMP/info.json" || xi_fail "nbdinfo"
python3 - "$XI_TMP/info.json" <<'PY' || xi_fail "nbdinfo: $(cat "$XI_TMP/info.json")"
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
want = {"export-size": 64 << 20, "block_size_minimum": 512, "block_size_maximum": 32 << 20,
        "is_read_only": False, "can_flush": True, "can_fua": True, "can_zero": True,
        "can_multi_conn": True, "can_trim": False}
bad = {k: e.get(k) for k, v in want.items() if e.get(k) != v}
if bad or e.get("block_size_preferred", 0) < 512:
    print("unexpected:", bad, e)
    sys.exit(1)
PY

head -c $((64 << 20)) /dev/urandom >"$XI_TMP/src.bin"
qemu-img convert -n -f raw -O raw "$XI_TMP/src.bin" "$NBD_URI" || xi_fail "qemu-img convert"
qemu-img compare -f raw -F raw "$XI_TMP/src.bin" "$NBD_URI" || xi_fail "qemu-img compare"
nbdcopy "$NBD_URI" "$XI_TMP/out.bin" || xi_fail "nbdcopy out"
cmp "$XI_TMP/src.bin" "$XI_TMP/out.bin" || xi_fail "nbdcopy read back differs"

# Read-only, on a loopback TCP port as well as the socket.
TPORT=$(xi_free_port)
nbd_export_start ro "$NBD_ISCSI/0" --read-only --tcp "127.0.0.1:$TPORT"
nbdinfo --json "nbd://127.0.0.1:$TPORT" | grep -q '"is_read_only": true' ||
	xi_fail "read-only export not read-only over TCP"
qemu-img compare -f raw -F raw "$XI_TMP/src.bin" "nbd://127.0.0.1:$TPORT" ||
	xi_fail "compare over TCP"
nbdcopy "$XI_TMP/src.bin" "$NBD_URI" 2>/dev/null && xi_fail "a read-only export took writes"
"$XIO" "$NBD_ISCSI/0" nbd --socket "$XI_TMP/x.sock" --tcp "10.1.2.3:$TPORT" \
	>"$XI_TMP/remote.log" 2>&1 && xi_fail "a non-loopback --tcp was accepted"
grep -q 'not a loopback address' "$XI_TMP/remote.log" || xi_fail "$(cat "$XI_TMP/remote.log")"
NBD_URI="nbd+unix:///?socket=$XI_TMP/nbd.sock"
out=$(qemu-io -f raw -c 'write -z 1M 3M' -c 'read -P 0 1M 3M' -c 'write -f -P 0x5a 0 64k' \
	-c 'read -P 0x5a 0 64k' -c 'write -z -f 8M 512' -c 'read -P 0 8M 512' -c 'flush' \
	"$NBD_URI" 2>&1) || xi_fail "qemu-io: $out"
echo "$out" | grep -qi 'fail\|error' && xi_fail "qemu-io: $out"

# A thin file LUN: UNMAP is offered as TRIM; deallocated blocks read zeros.
nbd_export_start thin "$NBD_ISCSI/1"
nbdinfo --json "$NBD_URI" | grep -q '"can_trim": true' || xi_fail "thin LUN without TRIM"
out=$(qemu-io -f raw -c 'write -P 0x77 0 1M' -c 'discard 0 1M' -c 'read -P 0 0 1M' \
	"$NBD_URI" 2>&1) || xi_fail "qemu-io discard: $out"
echo "$out" | grep -qi 'fail\|error' && xi_fail "qemu-io discard: $out"

# A stale socket (its server killed) is replaced.
nbd_export_start stale "$NBD_ISCSI/0"
kill -KILL "$NBD_PID"
wait "$NBD_PID" 2>/dev/null
[ -S "$NBD_SOCK" ] || xi_fail "no stale socket left to test with"
nbd_export_start stale "$NBD_ISCSI/0"
nbdinfo --size "$NBD_URI" | grep -qx $((64 << 20)) || xi_fail "export on a stale socket"

# A write-protected LUN (MODE SENSE WP): read-only without --read-only.
nbd_export_start wp "$NBD_ISCSI/2"
nbdinfo --json "$NBD_URI" | grep -q '"is_read_only": true' || xi_fail "WP LUN not read-only"

# 4 KiB logical blocks: the minimum block size says so; qemu aligns for us.
nbd_export_start b4k "$NBD_ISCSI/3"
nbdinfo --json "$NBD_URI" | grep -q '"block_size_minimum": 4096' ||
	xi_fail "4K LUN: $(nbdinfo --json "$NBD_URI")"
head -c $((16 << 20)) /dev/urandom >"$XI_TMP/src4k.bin"
qemu-img convert -n -f raw -O raw "$XI_TMP/src4k.bin" "$NBD_URI" || xi_fail "convert to 4K LUN"
qemu-img compare -f raw -F raw "$XI_TMP/src4k.bin" "$NBD_URI" || xi_fail "compare 4K LUN"
out=$(qemu-io -f raw -c 'write -P 0x33 512 512' -c 'read -P 0x33 512 512' \
	"$NBD_URI" 2>&1) || xi_fail "qemu-io 4K: $out"
echo "$out" | grep -qi 'fail\|error' && xi_fail "qemu-io 4K: $out"
printf '\063%.0s' $(seq 1 512) | dd of="$XI_TMP/src4k.bin" bs=512 seek=1 conv=notrunc 2>/dev/null
qemu-img compare -f raw -F raw "$XI_TMP/src4k.bin" "$NBD_URI" ||
	xi_fail "the 512-byte write changed more than its 512 bytes"
nbd_export_stop b4k
exit 0
