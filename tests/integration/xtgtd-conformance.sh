#!/bin/bash
# libiscsi's conformance suite against xtgtd: the iSCSI families (CmdSN
# window, DataSN, task management) and the SCSI suites of the core command
# set. Each suite must run tests and fail none.
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-test-cu libiscsi-bin
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

PORT=$(xi_free_port)
IQN=iqn.2026-11.org.xiscsi:cu
# The suite's second initiator must be allowed in too (open ACL).
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --target "$IQN" --lun ram:64M
XT_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$PORT"
URL=iscsi://127.0.0.1:$PORT/$IQN/0

SUITES="iSCSI.iSCSIcmdsn iSCSI.iSCSIdatasn iSCSI.iSCSITMF
	SCSI.TestUnitReady SCSI.ReadCapacity10 SCSI.ReadCapacity16
	SCSI.Read6 SCSI.Read10 SCSI.Read16 SCSI.Write10 SCSI.Write16
	SCSI.ModeSense6 SCSI.Inquiry.EVPD SCSI.Inquiry.SupportedVPD
	SCSI.Inquiry.MandatoryVPDSBC"
failed=""
for s in $SUITES; do
	out=$(timeout 300 iscsi-test-cu -d -t "$s" "$URL" 2>&1)
	# CUnit's summary: "tests  Total  Ran  Passed  Failed  Inactive".
	read -r _ total ran passed nfail _ < <(grep -E '^ +tests ' <<<"$out")
	if [ -z "$ran" ] || [ "$ran" -eq 0 ]; then
		failed="$failed $s(no-test-ran)"
	elif [ "$nfail" -ne 0 ]; then
		failed="$failed $s($nfail/$ran)"
		grep -B2 -A4 FAILED <<<"$out" | head -n 20
	else
		echo "ok: $s: $passed/$ran passed"
	fi
	kill -0 "$XT_PID" 2>/dev/null || xi_fail "xtgtd died during $s"
done
[ -z "$failed" ] || xi_fail "suites with failures:$failed"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
