#!/bin/bash
# Access control at login: CHAP (libiscsi's user%secret@ URLs) and
# initiator ACLs, which also decide what SendTargets shows.
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-inq libiscsi-bin
xi_need_cmd iscsi-ls libiscsi-bin
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

PORT=$(xi_free_port)
C=iqn.2026-11.org.xiscsi:chap
A=iqn.2026-11.org.xiscsi:acl
OK_INI=iqn.2026-11.org.xiscsi:allowed
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" \
	--target "$C" --chap 'alice%alice-secret-12' --lun ram:16M \
	--target "$A" --acl "$OK_INI" --lun ram:16M
XT_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$PORT"

iscsi-inq "iscsi://alice%alice-secret-12@127.0.0.1:$PORT/$C/0" >/dev/null ||
	xi_fail "CHAP with the right secret refused"
out=$(iscsi-inq "iscsi://alice%not-the-secret@127.0.0.1:$PORT/$C/0" 2>&1) &&
	xi_fail "CHAP with a wrong secret let in"
grep -q 'Authentication failure' <<<"$out" || xi_fail "wrong secret: $out"
out=$(iscsi-inq "iscsi://127.0.0.1:$PORT/$C/0" 2>&1) && xi_fail "no CHAP let in"
grep -q 'Authentication failure' <<<"$out" || xi_fail "no CHAP: $out"

iscsi-inq -i "$OK_INI" "iscsi://127.0.0.1:$PORT/$A/0" >/dev/null ||
	xi_fail "initiator in the ACL refused"
out=$(iscsi-inq -i iqn.2026-11.org.xiscsi:stranger "iscsi://127.0.0.1:$PORT/$A/0" 2>&1) &&
	xi_fail "initiator outside the ACL let in"
grep -qi 'authoriz' <<<"$out" || xi_fail "ACL refusal: $out"

# SendTargets lists the ACL'd target only to the initiator it allows.
out=$(iscsi-ls -i iqn.2026-11.org.xiscsi:stranger "iscsi://127.0.0.1:$PORT" 2>&1)
grep -q "Target:$A" <<<"$out" && xi_fail "discovery shows $A to a stranger: $out"
grep -q "Target:$C" <<<"$out" || xi_fail "discovery hides $C: $out"
out=$(iscsi-ls -i "$OK_INI" "iscsi://127.0.0.1:$PORT" 2>&1)
grep -q "Target:$A" <<<"$out" || xi_fail "discovery hides $A from $OK_INI: $out"

grep -q 'login of iqn.2026-11.org.xiscsi:stranger failed' "$XI_TMP/xtgtd.log" ||
	xi_fail "refused login not logged with the initiator's name"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
