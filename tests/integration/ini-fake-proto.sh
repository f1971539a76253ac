#!/bin/bash
# libxiscsi against a scripted target that breaks RFC 7143 on purpose
# (ini_fake_tgt.py): a SCSI Response with both O and U, an R2T out of
# R2TSN order, a Reject of a Data-Out, and Asynchronous event 4. Each must
# end as an error or a re-login, never as silent success or a hang.
. "$top_srcdir/tests/integration/ini-lib.sh"
xi_need_cmd python3 python3

FAKE="$top_srcdir/tests/integration/ini_fake_tgt.py"
head -c 4096 /dev/urandom >"$XI_TMP/w.bin"

# run_case SCENARIO XIO-ARGS...: start the fake target, run xiscsi-io -v
# against it (at most 15 s); leaves $rc, $XI_TMP/SCENARIO.err and .events.
run_case() {
	local sc=$1 port i
	shift
	port=$(xi_free_port)
	: >"$XI_TMP/$sc.events"
	xi_bg "fake-$sc" python3 "$FAKE" "$port" "$sc" "$XI_TMP/$sc.events"
	for i in $(seq 1 50); do
		grep -q listening "$XI_TMP/$sc.events" && break
		sleep 0.1
	done
	grep -q listening "$XI_TMP/$sc.events" || xi_fail "$sc: the fake target did not start"
	timeout 15 "$XIO" -q -v --set reconnect_timeout_ms=5000 \
		"iscsi://127.0.0.1:$port/iqn.2026-01.io.xiscsi.test:fake/0" "$@" \
		>/dev/null 2>"$XI_TMP/$sc.err"
	rc=$?
	[ "$rc" -ne 124 ] || xi_fail "$sc: xiscsi-io hung: $(cat "$XI_TMP/$sc.err")"
}

# 11.4.5.1: O and U together: the command fails with a protocol error.
run_case ou inquiry
[ "$rc" -eq 3 ] || xi_fail "ou: want exit 3 (SCSI error), got $rc: $(cat "$XI_TMP/ou.err")"
grep -q "bad residual flags" "$XI_TMP/ou.err" || xi_fail "ou: no error: $(cat "$XI_TMP/ou.err")"

# 11.8.6: an R2T with R2TSN 1 first: no Data-Out for it, the link is dropped
# and the write, re-issued after the re-login, succeeds.
run_case r2tsn write 8 8 -i "$XI_TMP/w.bin"
grep -q "R2T out of sequence" "$XI_TMP/r2tsn.err" ||
	xi_fail "r2tsn: no protocol error: $(cat "$XI_TMP/r2tsn.err")"
first=$(grep -m1 -n -E '^(dataout|login 2)$' "$XI_TMP/r2tsn.events")
[ "${first#*:}" = "login 2" ] ||
	xi_fail "r2tsn: data sent for a bad R2T: $(tr '\n' ' ' <"$XI_TMP/r2tsn.events")"
[ "$rc" -eq 0 ] || xi_fail "r2tsn: the re-issued write failed ($rc): $(cat "$XI_TMP/r2tsn.err")"

# 11.17.1 / 7.8: a Data-Out rejected for a data digest error fails the write.
run_case reject write 8 8 -i "$XI_TMP/w.bin"
[ "$rc" -eq 3 ] || xi_fail "reject: want exit 3, got $rc: $(cat "$XI_TMP/reject.err")"
grep -q "rejected a Data-Out" "$XI_TMP/reject.err" ||
	xi_fail "reject: no error: $(cat "$XI_TMP/reject.err")"

# 11.9.1 event 4: renegotiation by a new login; the command goes through on it.
run_case async4 write 8 8 -i "$XI_TMP/w.bin"
[ "$rc" -eq 0 ] || xi_fail "async4: write failed ($rc): $(cat "$XI_TMP/async4.err")"
grep -qx "login 2" "$XI_TMP/async4.events" ||
	xi_fail "async4: no second login: $(tr '\n' ' ' <"$XI_TMP/async4.events")"
grep -q "renegotiate" "$XI_TMP/async4.err" || xi_fail "async4: not logged: $(cat "$XI_TMP/async4.err")"
echo "protocol errors from the fake target handled"
