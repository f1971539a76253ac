#!/bin/bash
# xiscsid with tgtd (the distribution's target): login through xiscsiadm,
# tgtd's controller LUN 0 is listed but not exported, its disk LUN 1 is;
# qemu-img writes and compares through the export and the file behind
# tgtd's LUN holds the same bytes; -U all logs out; SIGTERM exits cleanly.
. "$top_srcdir/tests/integration/ini-lib.sh"
. "$top_srcdir/tests/integration/xiscsid-lib.sh"
xi_need_cmd python3 python3
xi_need_cmd qemu-img qemu-utils

ini_tgtd_start 32
xd_start
P="127.0.0.1:$TGT_PORT"
"$XADM" -m discovery -t st -p "$P" >/dev/null || xi_fail "discovery"
out=$("$XADM" -m node -L all) || xi_fail "-L all: $out"
echo "$out" | grep -qx "Login to \[iface: default, target: $TGT_IQN, portal: 127.0.0.1,$TGT_PORT\] successful." ||
	xi_fail "-L all printed: $out"
[ "$("$XADM" -m session)" = "tcp: [1] $P,1 $TGT_IQN (non-flash)" ] || xi_fail "-m session"

out=$("$XADM" -m session -P 3)
echo "$out" | grep -qxF "		scsi1 Channel 00 Id 0 Lun: 0" || xi_fail "LUN 0 not listed: $out"
echo "$out" | grep -qF "			No NBD export (controller)" || xi_fail "LUN 0 is not shown as a controller: $out"
echo "$out" | grep -qF "			Attached NBD export: $XD_NBD/1-lun1.sock" || xi_fail "LUN 1 export: $out"
[ -e "$XD_NBD/1-lun0.sock" ] && xi_fail "the controller LUN was exported"
[ "$(xd_json "[(l['lun'], l['type_name'], l.get('size')) for l in d[0]['luns']]")" = \
	"[(0, 'controller', None), (1, 'disk', 33554432)]" ] || xi_fail "--json LUNs: $("$XADM" -m session --json)"

URL=$(xd_nbd 1 1)
head -c $((8 * 1024 * 1024)) /dev/urandom >"$XI_TMP/src.img"
qemu-img convert -n -f raw -O raw "$XI_TMP/src.img" "$URL" || xi_fail "qemu-img convert"
qemu-img compare -f raw -F raw "$XI_TMP/src.img" "$URL" || xi_fail "qemu-img compare"
# tgtd wrote through to its file: the first 8 MiB are ours.
cmp -n $((8 * 1024 * 1024)) "$XI_TMP/src.img" "$XI_TMP/disk.img" || xi_fail "tgtd's file differs"

out=$("$XADM" -m node -U all) || xi_fail "-U all: $out"
echo "$out" | grep -q "^Logout of \[sid: 1, target: $TGT_IQN" || xi_fail "-U all printed: $out"
xd_wait_gone "$XD_NBD/1-lun1.sock"
[ "$(xd_json "len(d)")" = 0 ] || xi_fail "a session is left after -U all"

# SIGTERM with a session up: logged out, then exit 0.
"$XADM" -m node -T "$TGT_IQN" -p "$P" --login >/dev/null || xi_fail "login again"
xd_stop
grep -q "session 2: ended" "$XI_TMP/xiscsid.log" || xi_fail "SIGTERM did not log the session out"
exit 0
