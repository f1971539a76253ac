#!/bin/bash
# Configuration saved by the daemon comes back at restart: targets, LUNs,
# ACLs and CHAP changed through xtgtadm survive SIGTERM and kill -9, and the
# file written is always whole (old or new, never a mix).
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-inq libiscsi-bin
xi_need_cmd iscsi-ls libiscsi-bin
XTGTD=$top_builddir/target/xtgtd
XTGTADM=$top_builddir/target/xtgtadm
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

PORT=$(xi_free_port)
SOCK=$XI_TMP/ctl.sock
CONF=$XI_TMP/xtgtd.conf
T1=iqn.2026-11.org.xiscsi:keep
T2=iqn.2026-11.org.xiscsi:added
INI=iqn.2026-11.org.xiscsi:friend
adm() { "$XTGTADM" --socket "$SOCK" "$@"; }

start() {
	xi_bg "xtgtd$1" "$XTGTD" -f --control "$SOCK" -c "$CONF"
	XT_PID=$XI_LAST_PID
	xi_wait_port 127.0.0.1 "$PORT"
	for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
	[ -S "$SOCK" ] || xi_fail "no control socket"
}

printf 'listen 127.0.0.1:%s\ntarget %s\n\tlun 0 ram:16M\n' "$PORT" "$T1" >"$CONF"
start 1
truncate -s 8M "$XI_TMP/disk.img"
adm target add "$T2" --alias "after restart" >/dev/null || xi_fail "target add"
adm lun add "$T2" 2 "file:$XI_TMP/disk.img" >/dev/null || xi_fail "lun add file"
adm acl add "$T2" "$INI" >/dev/null || xi_fail "acl add"
adm auth set "$T2" chap bob bob-secret-1234 >/dev/null || xi_fail "auth set"
# Every change is already in the file; config save writes it again.
adm config save >/dev/null || xi_fail "config save"
[ "$(stat -c %a "$CONF")" = 600 ] || xi_fail "config file mode $(stat -c %a "$CONF"), want 600"
grep -q "lun 2 file:$XI_TMP/disk.img" "$CONF" || xi_fail "file lacks the LUN: $(cat "$CONF")"
adm config save "$XI_TMP/copy.conf" >/dev/null || xi_fail "config save PATH"
cmp -s "$CONF" "$XI_TMP/copy.conf" || xi_fail "saved copy differs"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"

start 2
out=$(iscsi-ls -i "$INI" "iscsi://127.0.0.1:$PORT" 2>&1)
grep -q "Target:$T2" <<<"$out" || xi_fail "restart lost $T2: $out"
iscsi-inq -i "$INI" "iscsi://bob%bob-secret-1234@127.0.0.1:$PORT/$T2/2" >/dev/null ||
	xi_fail "restored LUN 2 with CHAP does not answer"
iscsi-inq -i "$INI" "iscsi://127.0.0.1:$PORT/$T2/2" >/dev/null 2>&1 && xi_fail "restart lost CHAP"
iscsi-inq -i iqn.2026-11.org.xiscsi:stranger "iscsi://bob%bob-secret-1234@127.0.0.1:$PORT/$T2/2" \
	>/dev/null 2>&1 && xi_fail "restart lost the ACL"
adm target list | grep -q "after restart" || xi_fail "restart lost the alias"

# kill -9 in the middle of a stream of changes: the file parses, whole.
for i in $(seq 1 40); do
	adm target add "iqn.2026-11.org.xiscsi:burst$i" >/dev/null 2>&1 || true
	adm lun add "iqn.2026-11.org.xiscsi:burst$i" 0 ram:1M >/dev/null 2>&1 || true
done &
BURST=$!
sleep 0.3
kill -KILL "$XT_PID"
wait "$XT_PID" 2>/dev/null
wait "$BURST" 2>/dev/null
ls "$XI_TMP"/xtgtd.conf.tmp.* >/dev/null 2>&1 && rm -f "$XI_TMP"/xtgtd.conf.tmp.*
# The socket file of the killed daemon is still there: replaced.
start 3
out=$(iscsi-ls -i "$INI" "iscsi://127.0.0.1:$PORT" 2>&1)
grep -q "Target:$T2" <<<"$out" || xi_fail "after kill -9, $T2 is gone: $out"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
