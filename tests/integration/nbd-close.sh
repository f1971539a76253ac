#!/bin/bash
# Closing the export (SIGTERM to xiscsi-io nbd) with requests in flight:
# every request gets exactly one reply - data, ESHUTDOWN, or EIO when the
# target is stuck - before the socket closes; no client is left hanging.
# And a session that gives up for good (target gone past the reconnect
# limit) fails what waits and what comes next with EIO, at once.
. "$top_srcdir/tests/integration/nbd-lib.sh"

xi_need_cmd python3 python3
xi_need_cmd qemu-io qemu-utils
nbd_xtgtd_start ram:64M

# 1. A target that answers: 256 pipelined READs, then SIGTERM at once.
nbd_export_start nbd1 "$NBD_ISCSI/0"
python3 "$NBD_CLIENT" "$NBD_SOCK" inflight 256 >"$XI_TMP/c1.txt" 2>&1 &
cli=$!
for _ in $(seq 1 100); do grep -q sent "$XI_TMP/c1.txt" && break; sleep 0.05; done
kill -TERM "$NBD_PID"
nbd_wait_exit "$cli" 30 || xi_fail "client still waiting 30 s after the close"
cat "$XI_TMP/c1.txt"
[ "$NBD_RC" -eq 0 ] || xi_fail "a request got no reply when the export closed"
nbd_wait_exit "$NBD_PID" 20 || xi_fail "xiscsi-io nbd did not exit after SIGTERM"
[ "$NBD_RC" -eq 0 ] || xi_fail "xiscsi-io nbd exited $NBD_RC"
[ -e "$NBD_SOCK" ] && xi_fail "socket left behind"

# 2. A target that is stuck (SIGSTOP): requests wait; SIGTERM starts the
# close, a second SIGTERM gives up on the target and fails them with EIO.
nbd_export_start nbd2 "$NBD_ISCSI/0"
kill -STOP "$NBD_TPID"
python3 "$NBD_CLIENT" "$NBD_SOCK" inflight 64 >"$XI_TMP/c2.txt" 2>&1 &
cli=$!
for _ in $(seq 1 100); do grep -q sent "$XI_TMP/c2.txt" && break; sleep 0.05; done
sleep 0.5
kill -TERM "$NBD_PID"
sleep 1
kill -0 "$cli" 2>/dev/null || xi_fail "requests ended while the target was stopped"
kill -TERM "$NBD_PID"
nbd_wait_exit "$cli" 30 || xi_fail "client still waiting after the forced close"
kill -CONT "$NBD_TPID"
cat "$XI_TMP/c2.txt"
[ "$NBD_RC" -eq 0 ] || xi_fail "a request got no reply when the export was forced closed"
grep -q 'by error: \[(5, 64)\]' "$XI_TMP/c2.txt" || xi_fail "want 64 EIO replies"
nbd_wait_exit "$NBD_PID" 20 || xi_fail "xiscsi-io nbd did not exit after the second SIGTERM"

# 3. fio through the export when it closes: errors, not a hang.
if nbd_need_fio_quiet; then
	nbd_export_start nbd3 "$NBD_ISCSI/0"
	"$NBD_FIO" --name=close --ioengine=nbd --uri="$NBD_URI" --rw=randrw --bs=4k \
		--iodepth=32 --size=64M --time_based --runtime=30 \
		--output="$XI_TMP/fio.txt" &
	fio=$!
	sleep 1
	kill -TERM "$NBD_PID"
	nbd_wait_exit "$fio" 20 || xi_fail "fio still running 20 s after the export closed"
	[ "$NBD_RC" -ne 0 ] || xi_fail "fio saw no error from a closed export"
	nbd_wait_exit "$NBD_PID" 20 || xi_fail "xiscsi-io nbd did not exit"
	[ "$NBD_RC" -eq 0 ] || xi_fail "xiscsi-io nbd exited $NBD_RC"
else
	echo "note: no fio with the nbd engine, fio case skipped"
fi

# 4. The target goes away for good: requests wait while the session tries
# to reconnect, then fail with EIO when it gives up; later ones fail at once.
nbd_export_start nbd4 "$NBD_ISCSI/0" --set reconnect_timeout_ms=1500 --set reconnect_max_ms=300
nbd_xtgtd_kill
python3 "$NBD_CLIENT" "$NBD_SOCK" inflight 16 >"$XI_TMP/c4.txt" 2>&1 &
cli=$!
for _ in $(seq 1 100); do grep -q 'session failed' "$XI_TMP/nbd4.log" && break; sleep 0.1; done
grep -q 'session failed' "$XI_TMP/nbd4.log" || xi_fail "the session never gave up"
start=$SECONDS
out=$(timeout 10 qemu-io -f raw -c 'read 0 4k' "$NBD_URI" 2>&1) && xi_fail "a read after the session failed: $out"
echo "$out" | grep -q 'Input/output error' || xi_fail "want EIO after the session failed: $out"
[ $((SECONDS - start)) -lt 5 ] || xi_fail "EIO after the session failed took $((SECONDS - start)) s"
kill -TERM "$NBD_PID"
nbd_wait_exit "$cli" 20 || xi_fail "client still waiting after the session failed"
cat "$XI_TMP/c4.txt"
[ "$NBD_RC" -eq 0 ] || xi_fail "a request got no reply after the session failed"
grep -q 'by error: \[(5, 16)\]' "$XI_TMP/c4.txt" || xi_fail "want 16 EIO replies"
nbd_wait_exit "$NBD_PID" 20 || xi_fail "xiscsi-io nbd did not exit"
exit 0
