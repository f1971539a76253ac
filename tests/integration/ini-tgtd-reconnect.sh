#!/bin/bash
# Recovery: tgtd is killed and restarted in the middle of a verified random
# write load, and separately its connection is cut with ss -K. The load
# re-logs in with the same ISID, re-issues what was in flight, and at the end
# reads back every acknowledged write: none may be lost, none may fail.
. "$top_srcdir/tests/integration/ini-lib.sh"

ini_tgtd_start 32

"$XIO" -v "$TGT_URL" load --rw randwrite --bs 4k --qd 16 --time 6s --verify \
	>"$XI_TMP/load1.log" 2>&1 &
load=$!
sleep 2
ini_tgtd_kill
sleep 1
ini_tgtd_start
wait "$load"
rc=$?
cat "$XI_TMP/load1.log"
[ $rc -eq 0 ] || xi_fail "load across a tgtd restart exited $rc"
grep -q "lost: " "$XI_TMP/load1.log" || xi_fail "the connection was never lost: test did nothing"
grep -q ' 0 errors' "$XI_TMP/load1.log" || xi_fail "I/Os failed across the restart"
grep -q '^verify: [0-9]* acknowledged writes read back intact, 0 with unknown' \
	"$XI_TMP/load1.log" || xi_fail "verify after restart"

if command -v ss >/dev/null 2>&1 && ss -K dst 127.0.0.1 dport = 1 >/dev/null 2>&1; then
	"$XIO" -v "$TGT_URL" load --rw randwrite --bs 4k --qd 16 --time 4s --verify \
		>"$XI_TMP/load2.log" 2>&1 &
	load=$!
	sleep 1.5
	ss -K dst 127.0.0.1 dport = "$TGT_PORT" >/dev/null 2>&1
	wait "$load"
	rc=$?
	cat "$XI_TMP/load2.log"
	[ $rc -eq 0 ] || xi_fail "load across ss -K exited $rc"
	grep -q "lost: " "$XI_TMP/load2.log" || echo "note: ss -K did not cut the connection here"
	grep -q '^verify: .* intact' "$XI_TMP/load2.log" || xi_fail "verify after ss -K"
else
	echo "note: ss -K not available (kernel without CONFIG_INET_DIAG_DESTROY), restart case only"
fi

# A target that never comes back: the session gives up after the limit the
# caller set and every command in flight fails with a clear status; none
# hangs, none is dropped silently (the load counts each completion).
"$XIO" -v --set reconnect_timeout_ms=1500 --set reconnect_max_ms=300 "$TGT_URL" load \
	--rw randwrite --bs 4k --qd 16 --time 30s >"$XI_TMP/load3.log" 2>&1 &
load=$!
sleep 1.5
ini_tgtd_kill
start=$SECONDS
wait "$load"
rc=$?
cat "$XI_TMP/load3.log"
[ $rc -eq 3 ] || xi_fail "a load against a dead target exited $rc, want 3 (SCSI/command errors)"
[ $((SECONDS - start)) -lt 20 ] || xi_fail "giving up took $((SECONDS - start)) s"
grep -q "timed out reconnecting" "$XI_TMP/load3.log" ||
	xi_fail "the failed commands do not say why"
exit 0
