#!/bin/bash
# xtgtadm portal add / remove / list against a running xtgtd: a portal added
# at run time accepts logins on every reactor thread and SendTargets names
# it; removed, it accepts nothing and discovery forgets it, while sessions
# that came through it go on (or are dropped with --drop-sessions); the
# portals come back from the saved file at restart.
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-inq libiscsi-bin
xi_need_cmd iscsi-ls libiscsi-bin
xi_need_cmd iscsi-perf libiscsi-bin
XTGTD=$top_builddir/target/xtgtd
XTGTADM=$top_builddir/target/xtgtadm
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"
[ -x "$XTGTADM" ] || xi_fail "$XTGTADM not built"

PORT=$(xi_free_port)
PORT2=$(xi_free_port)
while [ "$PORT2" = "$PORT" ]; do PORT2=$(xi_free_port); done
SOCK=$XI_TMP/ctl.sock
CONF=$XI_TMP/xtgtd.conf
T=iqn.2026-11.org.xiscsi:portals
T9=iqn.2026-11.org.xiscsi:group9
INI=iqn.2026-11.org.xiscsi:friend
adm() { "$XTGTADM" --socket "$SOCK" "$@"; }
refused() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
	xi_bg "xtgtd$1" "$XTGTD" -f --threads 3 --control "$SOCK" -c "$CONF"
	XT_PID=$XI_LAST_PID
	xi_wait_port 127.0.0.1 "$PORT"
	for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
	[ -S "$SOCK" ] || xi_fail "no control socket"
}

printf 'listen 127.0.0.1:%s\ntarget %s\n\tlun 0 ram:16M\ntarget %s\n\ttpgt 9\n\tlun 0 ram:4M\n' \
	"$PORT" "$T" "$T9" >"$CONF"
start 1
refused "$PORT2" || xi_fail "something listens on $PORT2 already"

# Added: it listens, logins through it work, discovery names it.
out=$(adm portal add "127.0.0.1:$PORT2") || xi_fail "portal add: $out"
[ "$out" = created ] || xi_fail "portal add said: $out"
[ "$(adm portal add "127.0.0.1:$PORT2")" = "already present, unchanged" ] ||
	xi_fail "portal add again is not idempotent"
adm portal add "127.0.0.1:$PORT2" --tpgt 9 2>/dev/null && xi_fail "same address in another group"
out=$(adm portal add "127.0.0.1:$PORT" --transport no-such 2>&1) && xi_fail "unknown transport accepted"
grep -q "runs transport" <<<"$out" || xi_fail "transport message: $out"
adm portal add "localhost:$PORT2" 2>/dev/null && xi_fail "a host name accepted"
adm portal list | grep -q "127.0.0.1:$PORT2,1 " || xi_fail "portal list: $(adm portal list)"
# Every thread listens: several logins land on the new portal.
for i in 1 2 3 4 5 6; do
	iscsi-inq "iscsi://127.0.0.1:$PORT2/$T/0" >/dev/null || xi_fail "login $i through the new portal"
done
[ "$(grep -c "accepted on 127.0.0.1:$PORT2" "$XI_TMP/xtgtd1.log")" -ge 6 ] ||
	xi_fail "logins not seen on the new portal"
out=$(iscsi-ls "iscsi://127.0.0.1:$PORT")
grep -q "Target:$T Portal:127.0.0.1:$PORT2,1" <<<"$out" || xi_fail "SendTargets lacks the new portal: $out"
grep -q "Target:$T9 Portal:127.0.0.1:$PORT2" <<<"$out" && xi_fail "group 9 target shown on group 1 portal: $out"
# A portal in group 9 serves the group 9 target only.
PORT3=$(xi_free_port)
adm portal add "127.0.0.1:$PORT3" --tpgt 9 >/dev/null || xi_fail "portal add tpgt 9"
iscsi-inq "iscsi://127.0.0.1:$PORT3/$T9/0" >/dev/null || xi_fail "group 9 login"
iscsi-inq "iscsi://127.0.0.1:$PORT3/$T/0" >/dev/null 2>&1 && xi_fail "group 1 target through group 9"
grep -q "listen 127.0.0.1:$PORT3" "$CONF" || xi_fail "portal not saved: $(cat "$CONF")"

# A port another program holds: refused, nothing half made.
PORT4=$(xi_free_port)
xi_bg holder python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(60)' "$PORT4"
HOLDER_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$PORT4"
out=$(adm portal add "127.0.0.1:$PORT4" 2>&1) && xi_fail "portal on a taken port added"
grep -q 'cannot listen' <<<"$out" || xi_fail "taken port message: $out"
adm portal list | grep -q ":$PORT4," && xi_fail "failed portal listed"
grep -q ":$PORT4" "$CONF" && xi_fail "failed portal saved"
kill "$HOLDER_PID"

# IPv6, where the loopback has it; the address is compared normalized.
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then
	PORT6=$(xi_free_port)
	adm portal add "[::1]:$PORT6" >/dev/null || xi_fail "portal add [::1]"
	iscsi-inq "iscsi://[::1]:$PORT6/$T/0" >/dev/null || xi_fail "login through [::1]"
	grep -q "listen \[::1\]:$PORT6" "$CONF" || xi_fail "IPv6 portal not saved: $(cat "$CONF")"
	adm portal remove "[0:0::1]:$PORT6" >/dev/null || xi_fail "portal remove [0:0::1]"
	grep -q "::1" "$CONF" && xi_fail "IPv6 portal still saved"
fi

# Removed: a session through it goes on, new connections are refused.
xi_bg perf iscsi-perf -i "$INI" -m 4 -x 0 "iscsi://127.0.0.1:$PORT2/$T/0"
PERF_PID=$XI_LAST_PID
for _ in $(seq 1 50); do
	adm session list | grep -q "$INI" && break
	sleep 0.1
done
adm --json portal remove "127.0.0.1:$PORT2" | grep -q '"sessions_dropped":0' ||
	xi_fail "portal remove"
refused "$PORT2" || xi_fail "removed portal still accepts"
out=$(iscsi-ls "iscsi://127.0.0.1:$PORT")
grep -q "$PORT2" <<<"$out" && xi_fail "SendTargets still names the removed portal: $out"
commands() {
	adm --json session list | python3 -c '
import json, sys
print(sum(s["commands"] for s in json.load(sys.stdin)["result"] if s["initiator"] == sys.argv[1]))' "$INI"
}
c1=$(commands)
for _ in $(seq 1 100); do
	c2=$(commands)
	[ "$c2" -gt "$c1" ] && break
	sleep 0.1
done
[ "$c2" -gt "$c1" ] || xi_fail "the session through the removed portal stopped ($c1 -> $c2)"
kill -0 "$PERF_PID" 2>/dev/null || xi_fail "iscsi-perf ended with the portal"
kill -TERM "$PERF_PID"
adm portal remove "127.0.0.1:$PORT2" 2>/dev/null && xi_fail "removing an absent portal succeeded"
adm portal remove "127.0.0.1:$PORT2" --if-exists >/dev/null || xi_fail "--if-exists"

# --drop-sessions ends the sessions that came through it.
adm portal add "127.0.0.1:$PORT2" >/dev/null || xi_fail "portal add again"
xi_bg perf2 iscsi-perf -i "$INI" -m 4 -x 0 "iscsi://127.0.0.1:$PORT2/$T/0"
PERF_PID=$XI_LAST_PID
for _ in $(seq 1 50); do
	adm session list | grep -q "$INI" && break
	sleep 0.1
done
# A session through the first portal is not touched.
xi_bg perf3 iscsi-perf -i "$INI-2" -m 4 -x 0 "iscsi://127.0.0.1:$PORT/$T/0"
PERF3_PID=$XI_LAST_PID
for _ in $(seq 1 50); do
	adm session list | grep -q "$INI-2" && break
	sleep 0.1
done
adm --json portal remove "127.0.0.1:$PORT2" --drop-sessions | grep -q '"sessions_dropped":1' ||
	xi_fail "portal remove --drop-sessions"
for _ in $(seq 1 50); do kill -0 "$PERF_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PERF_PID" 2>/dev/null && xi_fail "session through the removed portal not dropped"
kill -0 "$PERF3_PID" 2>/dev/null || xi_fail "session through the other portal dropped"
kill -TERM "$PERF3_PID"
grep -q 'portal removed by the administrator' "$XI_TMP/xtgtd1.log" || xi_fail "drop not logged"

# The last portal of the daemon stays.
adm portal remove "127.0.0.1:$PORT3" >/dev/null || xi_fail "portal remove group 9"
out=$(adm portal remove "127.0.0.1:$PORT" 2>&1) && xi_fail "last portal removed"
grep -q 'last portal' <<<"$out" || xi_fail "last portal message: $out"

# Restart: the saved portals, no more, no less.
adm portal add "127.0.0.1:$PORT2" >/dev/null || xi_fail "portal add before restart"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
start 2
xi_wait_port 127.0.0.1 "$PORT2"
iscsi-inq "iscsi://127.0.0.1:$PORT2/$T/0" >/dev/null || xi_fail "restart lost the added portal"
refused "$PORT3" || xi_fail "restart brought back a removed portal"
[ "$(adm portal list | grep -c 127.0.0.1)" = 2 ] || xi_fail "portal list after restart: $(adm portal list)"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
