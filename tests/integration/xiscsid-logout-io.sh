#!/bin/bash
# Logout while an NBD client has writes in flight: the logout finishes, the
# client is answered (every request completes or fails with an error reply,
# so the client ends instead of hanging), the daemon stays up, and a fresh
# login to the same node works and serves I/O. qemu-img first, then a bare
# NBD client that checks each reply on the wire and that every write
# acknowledged is on the target.
. "$top_srcdir/tests/integration/xiscsid-lib.sh"
[ -x "$XTGTD" ] || xi_skip "target/xtgtd is not built"
xi_need_cmd python3 python3
xi_need_cmd qemu-img qemu-utils
[ -x "$top_builddir/initiator/xiscsi-io" ] || xi_skip "initiator/xiscsi-io is not built"

PORT=$(xi_free_port)
IQN=iqn.2026-01.io.xiscsi.test:busy
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --target "$IQN" --lun ram:256M
xi_wait_port 127.0.0.1 "$PORT" 10
xd_start
P="127.0.0.1:$PORT"
"$XADM" -m discovery -t st -p "$P" >/dev/null || xi_fail "discovery"

head -c $((256 * 1024 * 1024)) /dev/urandom >"$XI_TMP/src.img"
for round in 1 2; do
	"$XADM" -m node -T "$IQN" -p "$P" --login >/dev/null || xi_fail "login (round $round)"
	sid=$(xd_json "d[0]['sid']")
	URL=$(xd_nbd "$sid" 0)
	# -r: 32 MiB/s, so that the writes are still going when the logout comes.
	qemu-img convert -r 32M -n -f raw -O raw "$XI_TMP/src.img" "$URL" 2>"$XI_TMP/convert.err" &
	QPID=$!
	# Wait until writes are under way (bytes written by the export grow).
	for _ in $(seq 1 100); do
		w=$(xd_json "d[0]['luns'][0]['nbd_stats']['bytes_written']")
		[ "$w" -gt 0 ] && break
		sleep 0.05
	done
	[ "$w" -gt 0 ] || xi_fail "no write reached the export"
	kill -0 "$QPID" 2>/dev/null || xi_fail "qemu-img finished before the logout; nothing was in flight"
	timeout 30 "$XADM" -m session -r "$sid" -u >/dev/null || xi_fail "logout with I/O in flight"
	# The client is answered and ends (with an error: its disk went away).
	for _ in $(seq 1 100); do
		kill -0 "$QPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$QPID" 2>/dev/null && xi_fail "qemu-img still hangs 10 s after the logout"
	wait "$QPID"
	echo "round $round: qemu-img exit $? after $w bytes: $(head -c 200 "$XI_TMP/convert.err")"
	kill -0 "$XD_PID" 2>/dev/null || xi_fail "xiscsid died"
	[ "$(xd_json "len(d)")" = 0 ] || xi_fail "the session is still listed"
	xd_wait_gone "$XD_NBD/$sid-lun0.sock"
done

# The same on the wire, with our own NBD client: 256 writes of 256 KiB
# pipelined, a logout meanwhile; each request the server read is answered,
# and every write acknowledged without error is on the target.
"$XADM" -m node -T "$IQN" -p "$P" --login >/dev/null || xi_fail "login for the wire check"
sid=$(xd_json "d[0]['sid']")
python3 "$top_srcdir/tests/integration/xiscsid-nbd-client.py" "$XD_NBD/$sid-lun0.sock" 256 262144 \
	"$XADM" -m session -r "$sid" -u >"$XI_TMP/acked.txt" || xi_fail "NBD requests under logout"
[ -s "$XI_TMP/acked.txt" ] || echo "note: the logout came before any write was acknowledged"
"$top_builddir/initiator/xiscsi-io" -q "iscsi://$P/$IQN/0" read --offset 0 --length $((256 * 262144)) \
	-o "$XI_TMP/lun.bin" || xi_fail "read the LUN back"
python3 - "$XI_TMP/lun.bin" "$XI_TMP/acked.txt" <<'PY' || xi_fail "an acknowledged write is not on the target"
import sys
data = open(sys.argv[1], "rb").read()
for line in open(sys.argv[2]):
    h = int(line)
    chunk = data[(h - 1) * 262144:h * 262144]
    assert chunk == bytes([h & 0xFF]) * 262144, "write %d lost" % h
PY
echo "acknowledged writes found on the target: $(wc -l <"$XI_TMP/acked.txt")"

# The node still works: a fourth session writes 4 MiB and reads them back.
"$XADM" -m node -T "$IQN" -p "$P" --login >/dev/null || xi_fail "login after the rounds"
URL=$(xd_nbd "$(xd_json "d[0]['sid']")" 0)
head -c $((4 * 1024 * 1024)) /dev/urandom >"$XI_TMP/small.img"
qemu-img convert -n -f raw -O raw "$XI_TMP/small.img" "$URL" || xi_fail "convert after logouts"
qemu-img dd -f raw -O raw bs=1M count=4 if="$URL" of="$XI_TMP/back.img" ||
	xi_fail "read back after logouts"
cmp "$XI_TMP/small.img" "$XI_TMP/back.img" || xi_fail "read back differs after logouts"
xd_stop
exit 0
