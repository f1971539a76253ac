#!/bin/bash
# xiscsid with this project's target: xiscsiadm discovers, logs in through
# the daemon, -m session shows the session at every print level and as
# JSON, each LUN is an NBD export that qemu-img writes and compares, a LUN
# added at the target appears on --rescan and goes on removal, logout
# removes the session and its sockets, and mistakes get clear errors.
. "$top_srcdir/tests/integration/xiscsid-lib.sh"
[ -x "$XTGTD" ] || xi_skip "target/xtgtd is not built"
[ -x "$XTGTADM" ] || xi_skip "target/xtgtadm is not built"
xi_need_cmd python3 python3
xi_need_cmd qemu-img qemu-utils

# Before xiscsid runs: a clear error and iscsiadm's exit code 20.
out=$("$XADM" -m session 2>&1)
[ $? -eq 20 ] || xi_fail "-m session without xiscsid did not exit 20"
echo "$out" | grep -q "cannot reach xiscsid at $XISCSID_SOCKET" || xi_fail "error said: $out"

PORT=$(xi_free_port)
IQN=iqn.2026-01.io.xiscsi.test:xd
CTL=$XI_TMP/xtgtd.sock
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --control "$CTL" \
	--target "$IQN" --lun ram:32M --lun ram:16M \
	--target "$IQN-chap" --lun ram:8M --chap "alice%alice-secret-12"
xi_wait_port 127.0.0.1 "$PORT" 10
NBD_TCP=$(xi_free_port)
xd_start --nbd-tcp "127.0.0.1:$NBD_TCP"

P="127.0.0.1:$PORT"
"$XADM" -m discovery -t st -p "$P" >/dev/null || xi_fail "discovery"
out=$("$XADM" -m node -T "$IQN" -p "$P" --login) || xi_fail "login: $out"
echo "$out" | grep -qx "Login to \[iface: default, target: $IQN, portal: 127.0.0.1,$PORT\] successful." ||
	xi_fail "login printed: $out"
# A second login to the same node is refused as iscsiadm does (15).
"$XADM" -m node -T "$IQN" -p "$P" --login >/dev/null 2>&1
[ $? -eq 15 ] || xi_fail "a second login to the same node was not refused with 15"

out=$("$XADM" -m session) || xi_fail "-m session"
[ "$out" = "tcp: [1] $P,1 $IQN (non-flash)" ] || xi_fail "-m session -P 0 printed '$out'"
out=$("$XADM" -m session -P 1)
for want in "Target: $IQN (non-flash)" "	Current Portal: $P,1" "		Iface Name: default" \
	"		Iface Initiatorname: $XD_INI" "		SID: 1" "		iSCSI Connection State: LOGGED IN" \
	"		iSCSI Session State: LOGGED_IN"; do
	echo "$out" | grep -qxF "$want" || xi_fail "-P 1 lacks '$want': $out"
done
echo "$out" | grep -q "Negotiated" && xi_fail "-P 1 shows -P 2's parameters"
out=$("$XADM" -m session -P 2)
for want in "		HeaderDigest: None" "		MaxRecvDataSegmentLength: 262144" \
	"		Recovery Timeout: 120" "		CHAP:" "		username: <empty>" "		password: ********"; do
	echo "$out" | grep -qxF "$want" || xi_fail "-P 2 lacks '$want': $out"
done
echo "$out" | grep -q "Attached" && xi_fail "-P 2 shows -P 3's devices"
out=$("$XADM" -m session -r 1 -P 3)
for l in 0 1; do
	echo "$out" | grep -qxF "		scsi1 Channel 00 Id 0 Lun: $l" || xi_fail "-P 3 lacks LUN $l: $out"
	echo "$out" | grep -qF "			Attached NBD export: $XD_NBD/1-lun$l.sock" ||
		xi_fail "-P 3 lacks LUN $l's export: $out"
done
echo "$out" | grep -qF "Size: 33554432 bytes, 512-byte blocks" || xi_fail "-P 3 size: $out"

# --json: the same facts, machine-readable.
[ "$(xd_json "len(d), d[0]['sid'], d[0]['target'], d[0]['tsih'] > 0, [l['size'] for l in d[0]['luns']]")" = \
	"1 1 $IQN True [33554432, 16777216]" ] || xi_fail "--json: $("$XADM" -m session --json)"
[ -S "$XD_NBD/1-lun0.sock" ] || xi_fail "no NBD socket for LUN 0"
[ "$(stat -c %a "$XD_NBD/1-lun0.sock")" = 600 ] || xi_fail "the NBD socket is not 0600"
[ "$(stat -c %a "$XISCSID_SOCKET")" = 600 ] || xi_fail "the control socket is not 0600"

# Data through the export, checked by qemu-img and by the target's own view
# (a second export of the same LUN is read back after a rescan below).
URL=$(xd_nbd 1 1)
head -c $((16 * 1024 * 1024)) /dev/urandom >"$XI_TMP/src.img"
qemu-img convert -n -f raw -O raw "$XI_TMP/src.img" "$URL" || xi_fail "qemu-img convert to $URL"
qemu-img compare -f raw -F raw "$XI_TMP/src.img" "$URL" || xi_fail "qemu-img compare with $URL"
[ "$(qemu-img info --output=json "$URL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" = 16777216 ] ||
	xi_fail "qemu-img info: wrong size"
# --nbd-tcp: each export also on a loopback port, handed out in turn.
TURL=$(xd_json "[l['nbd_tcp_url'] for l in d[0]['luns'] if l['lun']==1][0]")
case $TURL in nbd://127.0.0.1:*/) ;; *) xi_fail "no TCP export: $TURL" ;; esac
qemu-img compare -f raw -F raw "$XI_TMP/src.img" "$TURL" || xi_fail "qemu-img compare over TCP"
"$XADM" -m session -P 3 | grep -qF "			Attached NBD export: $TURL" || xi_fail "-P 3 lacks the TCP export"

# A LUN added at the target appears on rescan, and goes when removed.
"$XTGTADM" --socket "$CTL" lun add "$IQN" 2 ram:8M >/dev/null || xi_fail "xtgtadm lun add"
out=$("$XADM" -m session -r 1 --rescan) || xi_fail "rescan: $out"
[ "$(xd_json "[l['lun'] for l in d[0]['luns']]")" = "[0, 1, 2]" ] || xi_fail "LUN 2 not found by rescan"
[ -S "$XD_NBD/1-lun2.sock" ] || xi_fail "no export for the new LUN 2"
"$XTGTADM" --socket "$CTL" lun remove "$IQN" 2 --force >/dev/null || xi_fail "xtgtadm lun remove"
"$XADM" -m session -r 1 --rescan >/dev/null || xi_fail "second rescan"
xd_wait_gone "$XD_NBD/1-lun2.sock"
[ "$(xd_json "[l['lun'] for l in d[0]['luns']]")" = "[0, 1]" ] || xi_fail "LUN 2 still listed"

# Errors: no such session, bad SID, login to a node with no record.
"$XADM" -m session -r 9 --rescan >/dev/null 2>&1
[ $? -eq 21 ] || xi_fail "rescan of an unknown SID did not exit 21"
"$XADM" -m session -r x >/dev/null 2>&1
[ $? -eq 7 ] || xi_fail "-r x was not refused with 7"
"$XADM" -m node -T "$IQN-none" -p "$P" --login >/dev/null 2>&1
[ $? -eq 21 ] || xi_fail "login without a record did not exit 21"

# The control socket: malformed lines get errors and the connection lives
# on; a line over 64 KiB ends it; other users are refused (SO_PEERCRED).
python3 - "$XISCSID_SOCKET" <<'PY' || xi_fail "control socket errors"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
def ask(line):
    f.write(line + "\n"); f.flush()
    return json.loads(f.readline())
for line, code in (("{nope", "invalid"), ('{"cmd":"fly"}', "invalid"), ('[1]', "invalid"),
                   ('{"cmd":"logout","args":{"sid":"x"}}', "invalid"),
                   ('{"cmd":"logout","args":{"sid":77}}', "not_found"),
                   ('{"cmd":"login","args":{"record":{"node.name":"../x","node.conn[0].address":"h"}}}', "invalid"),
                   ('{"cmd":"login","args":{"target":"iqn.2026-01.a:b","address":"127.0.0.1","options":{"bogus":"1"}}}', "invalid")):
    r = ask(line)
    assert r["ok"] is False and r["code"] == code and r["error"], (line, r)
assert ask('{"cmd":"status"}')["result"]["sessions"] == 1
f.write("x" * 70000); f.flush()
r = f.readline()
assert json.loads(r)["error"].startswith("request too large"), r
assert f.readline() == "", "the connection stayed open after a line over the limit"
PY
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
	chmod 755 "$XI_TMP" "$XI_TMP/run"
	chmod 666 "$XISCSID_SOCKET"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$XADM" -m session 2>&1)
	chmod 600 "$XISCSID_SOCKET"
	chmod 700 "$XI_TMP/run"
	echo "$out" | grep -q "permission denied" || xi_fail "another user was not refused: $out"
fi

# Logout: the session and its exports go.
out=$("$XADM" -m node -T "$IQN" -p "$P" --logout) || xi_fail "logout: $out"
echo "$out" | grep -qx "Logout of \[sid: 1, target: $IQN, portal: 127.0.0.1,$PORT\] successful." ||
	xi_fail "logout printed: $out"
xd_wait_gone "$XD_NBD/1-lun0.sock"
xd_wait_gone "$XD_NBD/1-lun1.sock"
"$XADM" -m session >/dev/null 2>&1
[ $? -eq 21 ] || xi_fail "-m session after logout did not say 'no sessions' (21)"
[ "$(xd_json "len(d)")" = 0 ] || xi_fail "--json after logout"
"$XADM" -m node -T "$IQN" -p "$P" --logout >/dev/null 2>&1
[ $? -eq 21 ] || xi_fail "a second logout did not exit 21"

# CHAP through the record: -P 2 names the users and masks the secrets, as
# iscsiadm does, and neither -P 2 nor --json carries a secret.
C=$IQN-chap
for kv in node.session.auth.authmethod=CHAP node.session.auth.username=alice \
	node.session.auth.password=alice-secret-12; do
	"$XADM" -m node -T "$C" -p "$P" -o update -n "${kv%%=*}" -v "${kv#*=}" ||
		xi_fail "update $kv"
done
out=$("$XADM" -m node -T "$C" -p "$P" --login 2>&1) || xi_fail "CHAP login: $out"
out=$("$XADM" -m session -P 2)
for want in "		CHAP:" "		username: alice" "		password: ********" "		username_in: <empty>" \
	"		password_in: ********"; do
	echo "$out" | grep -qxF "$want" || xi_fail "CHAP -P 2 lacks '$want': $out"
done
echo "$out" | grep -q "alice-secret" && xi_fail "-P 2 shows the CHAP secret"
"$XADM" -m session --json | grep -q "alice-secret" && xi_fail "--json shows the CHAP secret"
[ "$(xd_json "d[0]['chap']['username']")" = alice ] || xi_fail "--json lacks the CHAP user"
"$XADM" -m node -T "$C" -p "$P" --logout >/dev/null || xi_fail "CHAP logout"
[ "$(xd_json "len(d)")" = 0 ] || xi_fail "the CHAP session stayed"

# A login that cannot succeed: nothing listens; one attempt only.
"$XADM" -m node -T "$IQN" -p 127.0.0.1:1 -o new >/dev/null || xi_fail "-o new"
"$XADM" -m node -T "$IQN" -p 127.0.0.1:1 -o update -n node.session.initial_login_retry_max -v 0 ||
	xi_fail "update retry max"
out=$("$XADM" -m node -T "$IQN" -p 127.0.0.1:1 --login 2>&1)
[ $? -eq 4 ] || xi_fail "login to a dead portal did not exit 4: $out"
echo "$out" | grep -q "Could not log into \[iface: default, target: $IQN, portal: 127.0.0.1,1\]" ||
	xi_fail "dead portal: $out"
[ "$(xd_json "len(d)")" = 0 ] || xi_fail "a failed login left a session"

xd_stop
[ -e "$XISCSID_SOCKET" ] && xi_fail "xiscsid left its control socket"
exit 0
