#!/bin/bash
# A target that dies and comes back: xiscsid's session reconnects, counts
# it, and the NBD export reads back what was written before (file LUN).
# A target that stays away: after node.session.timeo.replacement_timeout the
# daemon gives the session up, shows it FAILED with the reason, its export
# answers errors instead of hanging, and a logout clears it.
. "$top_srcdir/tests/integration/xiscsid-lib.sh"
[ -x "$XTGTD" ] || xi_skip "target/xtgtd is not built"
xi_need_cmd python3 python3
xi_need_cmd qemu-img qemu-utils

PORT=$(xi_free_port)
IQN=iqn.2026-01.io.xiscsi.test:restart
P="127.0.0.1:$PORT"
truncate -s 16M "$XI_TMP/lun.img"
xt_start() {
	xi_bg xtgtd "$XTGTD" -f --listen "$P" --target "$IQN" --lun "file:$XI_TMP/lun.img"
	XT_PID=$XI_LAST_PID
	xi_wait_port 127.0.0.1 "$PORT" 10
}
# xd_wait_state PY-CONDITION SECONDS: until the session list satisfies it.
xd_wait_state() {
	for _ in $(seq 1 $(($2 * 10))); do
		[ "$(xd_json "$1")" = True ] && return 0
		sleep 0.1
	done
	xi_fail "after $2 s, not $1: $("$XADM" -m session --json)"
}

xt_start
xd_start
"$XADM" -m discovery -t st -p "$P" >/dev/null || xi_fail "discovery"
"$XADM" -m node -T "$IQN" -p "$P" --login >/dev/null || xi_fail "login"
URL=$(xd_nbd 1 0)
head -c $((2 * 1024 * 1024)) /dev/urandom >"$XI_TMP/a.img"
qemu-img convert -n -f raw -O raw "$XI_TMP/a.img" "$URL" || xi_fail "write before the restart"

# Crash and restart the target on the same portal.
kill -KILL "$XT_PID"
wait "$XT_PID" 2>/dev/null
xd_wait_state "d[0]['state'] != 'logged in'" 10
xt_start
xd_wait_state "d[0]['state'] == 'logged in' and d[0]['reconnects'] >= 1" 20
qemu-img dd -f raw -O raw bs=1M count=2 if="$URL" of="$XI_TMP/back.img" ||
	xi_fail "read through the export after the restart"
cmp "$XI_TMP/a.img" "$XI_TMP/back.img" || xi_fail "data differs after the restart"
"$XADM" -m session -P 1 | grep -qxF "		iSCSI Session State: LOGGED_IN" || xi_fail "-P 1 after reconnect"

# A crash while qemu-img writes through the export (rate-limited to last
# ~2 s): the writes stall, are sent again after the re-login, and qemu-img
# ends without an error; every byte is then where it should be.
head -c $((12 * 1024 * 1024)) /dev/urandom >"$XI_TMP/b.img"
qemu-img convert -r 6M -n -f raw -O raw "$XI_TMP/b.img" "$URL" 2>"$XI_TMP/convert.err" &
QPID=$!
sleep 0.5
kill -0 "$QPID" 2>/dev/null || xi_fail "qemu-img ended before the crash"
kill -KILL "$XT_PID"
wait "$XT_PID" 2>/dev/null
sleep 0.5
xt_start
wait "$QPID" || xi_fail "qemu-img saw an error across the restart: $(cat "$XI_TMP/convert.err")"
qemu-img dd -f raw -O raw bs=1M count=12 if="$URL" of="$XI_TMP/back.img" || xi_fail "read back"
cmp "$XI_TMP/b.img" "$XI_TMP/back.img" || xi_fail "a write was lost across the restart"
cmp -n $((12 * 1024 * 1024)) "$XI_TMP/b.img" "$XI_TMP/lun.img" || xi_fail "the target's file differs"
xd_wait_state "d[0]['reconnects'] >= 2" 10
"$XADM" -m session -r 1 -u >/dev/null || xi_fail "logout"

# Gone for good: a 2 s replacement timeout.
"$XADM" -m node -T "$IQN" -p "$P" -o update -n node.session.timeo.replacement_timeout -v 2 ||
	xi_fail "update replacement_timeout"
"$XADM" -m node -T "$IQN" -p "$P" --login >/dev/null || xi_fail "second login"
sid=$(xd_json "d[0]['sid']")
URL=$(xd_nbd "$sid" 0)
kill -KILL "$XT_PID"
wait "$XT_PID" 2>/dev/null
xd_wait_state "d[0]['state'] == 'failed' and d[0]['error'] is not None" 15
out=$("$XADM" -m session -P 1)
echo "$out" | grep -qxF "		iSCSI Session State: FAILED" || xi_fail "-P 1 does not show FAILED: $out"
echo "$out" | grep -q "		Last Error: ." || xi_fail "-P 1 does not give the reason: $out"
timeout 20 qemu-img dd -f raw -O raw bs=1M count=1 if="$URL" of="$XI_TMP/x.img" 2>/dev/null
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || xi_fail "a read from a failed session's export did not fail cleanly (rc $rc)"
"$XADM" -m session -r "$sid" -u >/dev/null || xi_fail "logout of a failed session"
xd_wait_gone "$XD_NBD/$sid-lun0.sock"
[ "$(xd_json "len(d)")" = 0 ] || xi_fail "the failed session is still listed"
xd_stop
exit 0
