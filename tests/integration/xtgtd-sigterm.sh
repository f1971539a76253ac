#!/bin/bash
# SIGTERM with I/O in flight: xtgtd stops accepting, lets the commands
# finish, closes the sessions and exits 0, within the drain time.
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-perf libiscsi-bin
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

PORT=$(xi_free_port)
IQN=iqn.2026-11.org.xiscsi:term
"$XTGTD" -f --threads 2 --listen "127.0.0.1:$PORT" --target "$IQN" --lun ram:64M \
	>"$XI_TMP/xtgtd.log" 2>&1 &
XT_PID=$!
XI_PIDS="$XI_PIDS $XT_PID"
xi_wait_port 127.0.0.1 "$PORT"

for i in 1 2; do
	timeout 30 iscsi-perf -m 32 -b 64 -t 20 -x 0 "iscsi://127.0.0.1:$PORT/$IQN/0" \
		>"$XI_TMP/perf$i.log" 2>&1 &
	eval "PERF$i=\$!"
done
# Let both reach full queue depth.
for _ in $(seq 1 50); do
	[ "$(grep -c 'normal session' "$XI_TMP/xtgtd.log")" -ge 2 ] && break
	sleep 0.1
done
sleep 1
kill -TERM "$XT_PID"
start=$(date +%s)
wait "$XT_PID"
rc=$?
took=$(($(date +%s) - start))
[ "$rc" -eq 0 ] || xi_fail "xtgtd exit status $rc after SIGTERM"
[ "$took" -le 12 ] || xi_fail "xtgtd took ${took}s to stop"
grep -q 'stopped' "$XI_TMP/xtgtd.log" || xi_fail "no orderly stop in the log"
# Nothing listens any more.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
	xi_fail "port $PORT still accepts after exit"
fi
kill "$PERF1" "$PERF2" 2>/dev/null
wait "$PERF1" "$PERF2" 2>/dev/null
exit 0
