#!/bin/bash
# xtgtadm lun resize / offline / online against a running xtgtd: READ
# CAPACITY reports the new size, a session open across the resize gets
# CAPACITY DATA HAS CHANGED once, data written before is still there, an
# offline LUN answers NOT READY / MANUAL INTERVENTION REQUIRED (04h/03h) but
# stays in REPORT LUNS, and both survive a restart through the saved file.
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-readcapacity16 libiscsi-bin
xi_need_cmd iscsi-perf libiscsi-bin
xi_need_cmd python3 python3
XTGTD=$top_builddir/target/xtgtd
XTGTADM=$top_builddir/target/xtgtadm
XIO=$top_builddir/initiator/xiscsi-io
MINI="python3 $top_srcdir/tests/integration/xi_mini_ini.py"
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"
[ -x "$XTGTADM" ] || xi_fail "$XTGTADM not built"
[ -x "$XIO" ] || xi_fail "$XIO not built"

PORT=$(xi_free_port)
SOCK=$XI_TMP/ctl.sock
CONF=$XI_TMP/xtgtd.conf
T=iqn.2026-11.org.xiscsi:grow
URL=iscsi://127.0.0.1:$PORT/$T
adm() { "$XTGTADM" --socket "$SOCK" "$@"; }
capacity() {
	iscsi-readcapacity16 "$URL/$1" 2>&1 | sed -n 's/^Total size://p'
}

start() {
	xi_bg "xtgtd$1" "$XTGTD" -f --threads 2 --control "$SOCK" -c "$CONF"
	XT_PID=$XI_LAST_PID
	xi_wait_port 127.0.0.1 "$PORT"
	for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
	[ -S "$SOCK" ] || xi_fail "no control socket"
}

truncate -s 8M "$XI_TMP/disk.img"
printf 'listen 127.0.0.1:%s\ntarget %s\n\tlun 0 ram:16M\n\tlun 1 file:%s\n\tlun 2 ram:8M,ro\n' \
	"$PORT" "$T" "$XI_TMP/disk.img" >"$CONF"
start 1

[ "$(capacity 0)" = 16777216 ] || xi_fail "LUN 0 before: $(capacity 0)"
"$XIO" -q "$URL/1" write 0 8 --pattern 0x5a || xi_fail "write file LUN before resize"

# A session open across the resize: one unit attention, then the new size.
rm -f "$XI_TMP/ready" "$XI_TMP/go"
$MINI 127.0.0.1 "$PORT" "$T" 0 tur tur rc16 "mark:$XI_TMP/ready" "wait:$XI_TMP/go" \
	rc16 rc16 tur >"$XI_TMP/mini1.out" 2>&1 &
MINI_PID=$!
for _ in $(seq 1 100); do [ -e "$XI_TMP/ready" ] && break; sleep 0.1; done
[ -e "$XI_TMP/ready" ] || xi_fail "mini initiator not ready: $(cat "$XI_TMP/mini1.out")"
# Random writes from another session (another thread) while the store
# moves; each acknowledged write is read back at the end (--verify).
xi_bg load "$XIO" -q "$URL/0" load --rw randwrite --qd 16 --time 3s --verify
LOAD_PID=$XI_LAST_PID
sleep 1
adm lun resize "$T" 0 32M >/dev/null || xi_fail "lun resize ram"
touch "$XI_TMP/go"
wait "$MINI_PID" || xi_fail "mini initiator: $(cat "$XI_TMP/mini1.out")"
wait "$LOAD_PID" || xi_fail "writes across the resize: $(cat "$XI_TMP/load.log")"
grep -q 'read back intact, 0 with unknown' "$XI_TMP/load.log" ||
	xi_fail "writes across the resize: $(cat "$XI_TMP/load.log")"
out=$(cat "$XI_TMP/mini1.out")
expect="tur 0x02 6/29/00
tur 0x00 0/00/00
rc16 0x00 0/00/00 16777216
rc16 0x02 6/2a/09
rc16 0x00 0/00/00 33554432
tur 0x00 0/00/00"
[ "$out" = "$expect" ] || xi_fail "session across the resize saw:
$out
want:
$expect"
[ "$(capacity 0)" = 33554432 ] || xi_fail "LUN 0 after: $(capacity 0)"
"$XIO" -q "$URL/0" write 65000 8 --pattern 0x3c || xi_fail "write in the grown range"
"$XIO" -q "$URL/0" verify-pattern 65000 8 --pattern 0x3c || xi_fail "read in the grown range"
adm --json lun list "$T" | grep -q '"lun":0,"spec":"ram:32M"' ||
	xi_fail "spec not updated: $(adm --json lun list "$T")"

# A file LUN: the file grows (sparse), the data stays.
adm lun resize "$T" 1 24M >/dev/null || xi_fail "lun resize file"
[ "$(stat -c %s "$XI_TMP/disk.img")" = 25165824 ] || xi_fail "file not grown: $(stat -c %s "$XI_TMP/disk.img")"
[ "$(capacity 1)" = 25165824 ] || xi_fail "LUN 1 after: $(capacity 1)"
"$XIO" -q "$URL/1" verify-pattern 0 8 --pattern 0x5a || xi_fail "data lost by the file resize"

# Refusals: shrinking, a size that is no multiple of the block, read-only.
out=$(adm lun resize "$T" 0 16M 2>&1) && xi_fail "shrink accepted"
grep -q 'shrinking is refused' <<<"$out" || xi_fail "shrink message: $out"
adm lun resize "$T" 0 33554433 2>/dev/null && xi_fail "odd size accepted"
adm lun resize "$T" 2 16M 2>/dev/null && xi_fail "read-only LUN resized"
adm lun resize "$T" 9 16M 2>/dev/null && xi_fail "absent LUN resized"
adm --json lun resize "$T" 0 32M | grep -q '"changed":false' || xi_fail "same size not idempotent"
# A block device decides its own size (a loop device, where we may make one).
truncate -s 4M "$XI_TMP/blk.img"
if [ "$(id -u)" = 0 ] && LOOP=$(losetup -f --show "$XI_TMP/blk.img" 2>/dev/null); then
	rc=0
	adm lun add "$T" 5 "file:$LOOP" >/dev/null || rc=1
	out=$(adm lun resize "$T" 5 8M 2>&1) && rc=2
	adm lun remove "$T" 5 --force >/dev/null 2>&1
	losetup -d "$LOOP"
	[ $rc = 0 ] || xi_fail "block device LUN: add failed or resize accepted ($rc): $out"
	grep -q 'block devices are not resized' <<<"$out" || xi_fail "block device message: $out"
fi

# Offline: NOT READY for medium commands, REPORT LUNS still lists it.
rm -f "$XI_TMP/ready" "$XI_TMP/go"
$MINI 127.0.0.1 "$PORT" "$T" 0 tur tur "mark:$XI_TMP/ready" "wait:$XI_TMP/go" \
	tur rc16 luns sense "mark:$XI_TMP/ready2" "wait:$XI_TMP/go2" tur tur rc16 \
	>"$XI_TMP/mini2.out" 2>&1 &
MINI_PID=$!
for _ in $(seq 1 100); do [ -e "$XI_TMP/ready" ] && break; sleep 0.1; done
[ -e "$XI_TMP/ready" ] || xi_fail "mini initiator not ready: $(cat "$XI_TMP/mini2.out")"
# Commands in flight when it goes offline finish first.
xi_bg perf2 iscsi-perf -m 16 -x 0 "$URL/0"
PERF_PID=$XI_LAST_PID
sleep 0.5
out=$(adm --json lun offline "$T" 0) || xi_fail "lun offline: $out"
grep -q '"in_flight":0' <<<"$out" || xi_fail "offline answered with commands in flight: $out"
touch "$XI_TMP/go"
for _ in $(seq 1 100); do [ -e "$XI_TMP/ready2" ] && break; sleep 0.1; done
adm lun list "$T" | grep -q '^ *0 .* offline ' || xi_fail "lun list does not say offline"
grep -q "offline 0" "$CONF" || xi_fail "offline not saved: $(cat "$CONF")"
out=$(iscsi-readcapacity16 "$URL/0" 2>&1) && xi_fail "offline LUN answered READ CAPACITY"
grep -q '0x0403' <<<"$out" || xi_fail "offline sense: $out"
[ "$(capacity 1)" = 25165824 ] || xi_fail "LUN 1 affected by LUN 0 offline"
adm lun online "$T" 0 >/dev/null || xi_fail "lun online"
touch "$XI_TMP/go2"
wait "$MINI_PID" || xi_fail "mini initiator: $(cat "$XI_TMP/mini2.out")"
kill -TERM "$PERF_PID" 2>/dev/null
out=$(cat "$XI_TMP/mini2.out")
expect="tur 0x02 6/29/00
tur 0x00 0/00/00
tur 0x02 2/04/03
rc16 0x02 2/04/03
luns 0x00 0/00/00 0,1,2
sense 0x00 0/00/00 2/04/03
tur 0x02 6/28/00
tur 0x00 0/00/00
rc16 0x00 0/00/00 33554432"
[ "$out" = "$expect" ] || xi_fail "session across offline/online saw:
$out
want:
$expect"

# Restart: the new sizes and the offline state come back from the file.
adm lun offline "$T" 1 >/dev/null || xi_fail "lun offline 1"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
start 2
[ "$(capacity 0)" = 33554432 ] || xi_fail "restart lost the ram size: $(capacity 0)"
out=$($MINI 127.0.0.1 "$PORT" "$T" 1 tur tur 2>&1)
[ "$out" = "tur 0x02 6/29/00
tur 0x02 2/04/03" ] || xi_fail "restart lost the offline state: $out"
adm lun online "$T" 1 >/dev/null || xi_fail "lun online 1"
[ "$(capacity 1)" = 25165824 ] || xi_fail "restart lost the file size: $(capacity 1)"
"$XIO" -q "$URL/1" verify-pattern 0 8 --pattern 0x5a || xi_fail "file data after restart"
grep -q "offline" "$CONF" && xi_fail "online not saved: $(cat "$CONF")"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
