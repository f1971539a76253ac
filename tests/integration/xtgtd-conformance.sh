#!/bin/bash
# libiscsi's conformance suite against xtgtd. First a 1 MiB write through
# QEMU's libiscsi client: immediate data, unsolicited Data-Out up to
# FirstBurstLength, then R2Ts (RFC 7143 13.13, 13.14) must all add up. Then
# iscsi-test-cu's SCSI and iSCSI families over the LUN profiles, by
# conformance-matrix.sh (see there: which profiles, what fails the test).
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-test-cu libiscsi-bin
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

PORT=$(xi_free_port)
IQN=iqn.2026-11.org.xiscsi:cu
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --target "$IQN" --lun ram:16M
XT_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$PORT"
URL=iscsi://127.0.0.1:$PORT/$IQN

if command -v qemu-io >/dev/null 2>&1; then
	out=$(timeout 60 qemu-io -f raw -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M' \
		-c 'write -P 0xcd 1536k 3M' -c 'read -P 0xcd 1536k 3M' "$URL/0" 2>&1)
	grep -q 'read 1048576/1048576' <<<"$out" && grep -q 'read 3145728/3145728' <<<"$out" &&
		! grep -qi 'pattern verification failed' <<<"$out" ||
		xi_fail "1 MiB / 3 MiB write through qemu-io: $out"
	echo "ok: qemu-io 1 MiB and 3 MiB writes read back"
else
	echo "note: qemu-io not found (qemu-utils): large-write check not run"
fi

xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"

# The suite itself: conformance-matrix.sh serves the LUN profiles behind
# two portals and fails on any failed test (the make-check subset; the whole
# matrix with tgtd beside it under XI_CONFORMANCE_FULL=1).
"$(dirname "$0")/conformance-matrix.sh"
