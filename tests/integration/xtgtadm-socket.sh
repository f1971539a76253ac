#!/bin/bash
# The control socket is hard to abuse: malformed JSON, an oversize request
# and an unknown command get clear errors and the daemon keeps serving; a
# peer that is neither root nor the daemon's user is refused even when the
# file mode would let it connect.
. "$(dirname "$0")/lib.sh"

XTGTD=$top_builddir/target/xtgtd
XTGTADM=$top_builddir/target/xtgtadm
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"
xi_need_cmd python3 python3

PORT=$(xi_free_port)
SOCK=$XI_TMP/ctl.sock
T=iqn.2026-11.org.xiscsi:sock
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --control "$SOCK" --target "$T" --lun ram:1M
XT_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$PORT"
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ "$(stat -c %a "$SOCK")" = 600 ] || xi_fail "socket mode is not 0600"

# raw LINE...: send each line on one connection, print the replies.
raw() {
	python3 - "$SOCK" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
data = b""
for line in sys.argv[2:]:
    s.sendall(line.encode() + b"\n")
    while data.count(b"\n") < sys.argv[2:].index(line) + 1:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
sys.stdout.write(data.decode())
PY
}

out=$(raw '{"cmd":' '{"cmd":"no.such"}' '[1,2]' '{"cmd":"target.add","args":{"target":"bad name"}}' '{"cmd":"stats"}')
grep -q '"error":"malformed JSON' <<<"$out" || xi_fail "malformed JSON: $out"
grep -q "unknown command 'no.such'" <<<"$out" || xi_fail "unknown command: $out"
grep -q 'must be an object' <<<"$out" || xi_fail "non-object request: $out"
grep -q 'is not an iSCSI name' <<<"$out" || xi_fail "bad name: $out"
[ "$(grep -c '"ok":false' <<<"$out")" = 4 ] || xi_fail "want 4 errors: $out"
grep -q '"ok":true' <<<"$out" || xi_fail "same connection stopped serving: $out"

# A line over the 64 KiB limit ends that client with a message.
out=$(python3 - "$SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
try:
    s.sendall(b'{"cmd":"stats","pad":"' + b"x" * 70000)
except OSError:
    pass
print(s.recv(4096).decode())
PY
)
grep -q 'request too large' <<<"$out" || xi_fail "oversize request: $out"
"$XTGTADM" --socket "$SOCK" stats >/dev/null || xi_fail "daemon stopped serving after abuse"

# Usage errors exit 2, a refused request 1, no daemon 3.
"$XTGTADM" --socket "$SOCK" lun add "$T" notanumber ram:1M 2>/dev/null
[ $? -eq 2 ] || xi_fail "usage error exit status"
"$XTGTADM" --socket "$SOCK" lun remove "$T" 9 2>/dev/null
[ $? -eq 1 ] || xi_fail "refused request exit status"
"$XTGTADM" --socket "$XI_TMP/nothing.sock" stats 2>/dev/null
[ $? -eq 3 ] || xi_fail "no daemon exit status"
"$XTGTADM" --help | grep -q 'auth set' || xi_fail "--help"

# SO_PEERCRED: open the file up, connect as nobody: still refused.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$XI_TMP"
	chmod 666 "$SOCK"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$XTGTADM" --socket "$SOCK" stats 2>&1)
	rc=$?
	chmod 600 "$SOCK"
	chmod 700 "$XI_TMP"
	[ $rc -eq 1 ] || xi_fail "non-root peer: exit $rc: $out"
	grep -q 'permission denied' <<<"$out" || xi_fail "non-root peer not refused: $out"
	grep -q 'control: connection from uid 65534 refused' "$XI_TMP/xtgtd.log" ||
		xi_fail "refusal not logged"
else
	echo "note: not root, the SO_PEERCRED check is not exercised"
fi

xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
