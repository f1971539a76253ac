#!/bin/bash
# xtgtadm against a running xtgtd: targets, LUNs, ACLs and CHAP changed at
# run time, each checked with a real initiator (libiscsi's tools); session
# list and drop with a live iscsi-perf session.
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-inq libiscsi-bin
xi_need_cmd iscsi-ls libiscsi-bin
xi_need_cmd iscsi-perf libiscsi-bin
XTGTD=$top_builddir/target/xtgtd
XTGTADM=$top_builddir/target/xtgtadm
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"
[ -x "$XTGTADM" ] || xi_fail "$XTGTADM not built"

PORT=$(xi_free_port)
SOCK=$XI_TMP/ctl.sock
BASE=iqn.2026-11.org.xiscsi:base
NEW=iqn.2026-11.org.xiscsi:new
INI=iqn.2026-11.org.xiscsi:friend
STRANGER=iqn.2026-11.org.xiscsi:stranger
adm() { "$XTGTADM" --socket "$SOCK" "$@"; }

xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --control "$SOCK" \
	--target "$BASE" --lun ram:16M
XT_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$PORT"
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || xi_fail "no control socket at $SOCK"

# The socket is for root (or the daemon's user) only.
[ "$(stat -c %a "$SOCK")" = 600 ] || xi_fail "socket mode $(stat -c %a "$SOCK"), want 600"

# A target and a LUN added at run time are seen by discovery and answer.
adm target add "$NEW" --alias "added live" >/dev/null || xi_fail "target add"
adm target add "$NEW" --alias "added live" >/dev/null || xi_fail "target add again is not idempotent"
adm target add "$NEW" --alias "other" 2>/dev/null && xi_fail "target add with other settings succeeded"
adm lun add "$NEW" 0 ram:32M >/dev/null || xi_fail "lun add"
adm lun add "$NEW" 0 ram:32M >/dev/null || xi_fail "lun add again is not idempotent"
out=$(adm lun add "$NEW" 0 ram:64M 2>&1) && xi_fail "lun add over another LUN succeeded"
grep -q 'has LUN 0 already' <<<"$out" || xi_fail "lun clash message: $out"
out=$(adm lun add "$NEW" 1 bogus:1G 2>&1) && xi_fail "bad LUN spec accepted"
out=$(iscsi-ls -s "iscsi://127.0.0.1:$PORT" 2>&1)
grep -q "Target:$NEW" <<<"$out" || xi_fail "iscsi-ls does not see $NEW: $out"
iscsi-inq "iscsi://127.0.0.1:$PORT/$NEW/0" >/dev/null || xi_fail "iscsi-inq on the new LUN"
adm --json target list | grep -q "\"name\":\"$NEW\"" || xi_fail "target list --json lacks $NEW"
adm target list | grep -q "added live" || xi_fail "target list lacks the alias"

# ACL: the first entry closes the target to everyone else.
adm acl add "$NEW" "$INI" >/dev/null || xi_fail "acl add"
out=$(iscsi-inq -i "$STRANGER" "iscsi://127.0.0.1:$PORT/$NEW/0" 2>&1) &&
	xi_fail "initiator outside the ACL let in"
iscsi-inq -i "$INI" "iscsi://127.0.0.1:$PORT/$NEW/0" >/dev/null ||
	xi_fail "initiator in the ACL refused"
adm acl add "$NEW" "$STRANGER" >/dev/null || xi_fail "acl add stranger"
iscsi-inq -i "$STRANGER" "iscsi://127.0.0.1:$PORT/$NEW/0" >/dev/null ||
	xi_fail "initiator allowed at run time still refused"
adm acl remove "$NEW" "$STRANGER" >/dev/null || xi_fail "acl remove"
adm acl remove "$NEW" "$STRANGER" 2>/dev/null && xi_fail "removing an absent ACL entry succeeded"
adm acl remove "$NEW" "$STRANGER" --if-exists >/dev/null || xi_fail "--if-exists did not exit 0"
iscsi-inq -i "$STRANGER" "iscsi://127.0.0.1:$PORT/$NEW/0" >/dev/null 2>&1 &&
	xi_fail "initiator removed from the ACL let in"

# CHAP set at run time is enforced, and "none" lifts it.
adm auth set "$NEW" chap alice alice-secret-12 >/dev/null || xi_fail "auth set chap"
adm auth set "$NEW" chap alice short 2>/dev/null && xi_fail "a 5-byte CHAP secret accepted"
out=$(iscsi-inq -i "$INI" "iscsi://127.0.0.1:$PORT/$NEW/0" 2>&1) && xi_fail "no CHAP let in"
out=$(iscsi-inq -i "$INI" "iscsi://alice%wrong-secret-99@127.0.0.1:$PORT/$NEW/0" 2>&1) &&
	xi_fail "wrong CHAP secret let in"
iscsi-inq -i "$INI" "iscsi://alice%alice-secret-12@127.0.0.1:$PORT/$NEW/0" >/dev/null ||
	xi_fail "right CHAP secret refused"
adm config show | grep -q alice-secret-12 && xi_fail "config show prints the secret"
adm config show --secrets | grep -q alice-secret-12 || xi_fail "config show --secrets hides it"
adm auth set "$NEW" none >/dev/null || xi_fail "auth set none"
iscsi-inq -i "$INI" "iscsi://127.0.0.1:$PORT/$NEW/0" >/dev/null || xi_fail "auth none still asks CHAP"

# Discovery CHAP, set and lifted at run time.
adm auth set discovery chap disco disco-secret-123 >/dev/null || xi_fail "auth set discovery"
iscsi-ls "iscsi://127.0.0.1:$PORT" >/dev/null 2>&1 && xi_fail "discovery without CHAP let in"
iscsi-ls "iscsi://disco%disco-secret-123@127.0.0.1:$PORT" | grep -q "Target:$BASE" ||
	xi_fail "discovery with CHAP refused"
adm auth set discovery none >/dev/null || xi_fail "auth set discovery none"
iscsi-ls "iscsi://127.0.0.1:$PORT" | grep -q "Target:$BASE" || xi_fail "discovery still asks CHAP"

# A live session is listed with its initiator and counters, and dropped.
xi_bg perf iscsi-perf -i "$INI" -m 4 -x 0 "iscsi://127.0.0.1:$PORT/$NEW/0"
PERF_PID=$XI_LAST_PID
tsih=""
for _ in $(seq 1 50); do
	tsih=$(adm --json session list | python3 -c '
import json, sys
r = json.load(sys.stdin)["result"]
print(" ".join(str(s["tsih"]) for s in r if s["initiator"] == sys.argv[1] and s["commands"] > 0))' "$INI")
	[ -n "$tsih" ] && break
	sleep 0.1
done
[ -n "$tsih" ] || xi_fail "session list does not show the iscsi-perf session: $(adm --json session list)"
adm session list | grep -q "$INI" || xi_fail "session list table lacks $INI"
# A LUN in use is not removed without --force.
out=$(adm lun remove "$NEW" 0 2>&1) && xi_fail "LUN in use removed without --force"
grep -q 'in use' <<<"$out" || xi_fail "busy LUN message: $out"
adm session drop "$tsih" >/dev/null || xi_fail "session drop"
for _ in $(seq 1 50); do
	adm --json session list | grep -q "\"tsih\":$tsih," || break
	sleep 0.1
done
adm --json session list | grep -q "\"tsih\":$tsih," && xi_fail "session $tsih still listed after drop"
grep -q 'session dropped by the administrator' "$XI_TMP/xtgtd.log" || xi_fail "drop not logged"
# iscsi-perf may not reconnect (-x 0): the drop ends it.
for _ in $(seq 1 50); do kill -0 "$PERF_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$PERF_PID" 2>/dev/null
adm session drop 4242 2>/dev/null && xi_fail "dropping an absent session succeeded"

# --force removes a LUN in use and drops the sessions using its target.
adm lun add "$NEW" 5 ram:4M >/dev/null || xi_fail "lun add 5"
xi_bg perf2 iscsi-perf -i "$INI" -m 4 -x 0 "iscsi://127.0.0.1:$PORT/$NEW/5"
PERF_PID=$XI_LAST_PID
for _ in $(seq 1 50); do
	adm --json target list | grep -q "\"name\":\"$NEW\".*\"sessions\":1" && break
	sleep 0.1
done
adm lun remove "$NEW" 5 2>/dev/null && xi_fail "LUN 5 in use removed without --force"
adm lun remove "$NEW" 5 --force >/dev/null || xi_fail "lun remove --force"
for _ in $(seq 1 50); do kill -0 "$PERF_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PERF_PID" 2>/dev/null && xi_fail "session on a force-removed LUN not dropped"
adm lun list "$NEW" | grep -q ram:4M && xi_fail "LUN 5 still listed"

# Removal: LUN then target; the daemon keeps serving the others.
adm lun remove "$NEW" 0 >/dev/null || xi_fail "lun remove"
adm target remove "$NEW" >/dev/null || xi_fail "target remove"
adm target remove "$NEW" 2>/dev/null && xi_fail "removing an absent target succeeded"
adm target remove "$NEW" --if-exists >/dev/null || xi_fail "--if-exists on target remove"
out=$(iscsi-ls "iscsi://127.0.0.1:$PORT" 2>&1)
grep -q "Target:$NEW" <<<"$out" && xi_fail "removed target still discovered: $out"
iscsi-inq "iscsi://127.0.0.1:$PORT/$BASE/0" >/dev/null || xi_fail "base target broken"
adm stats >/dev/null || xi_fail "stats"

xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
[ -e "$SOCK" ] && xi_fail "control socket left behind"
exit 0
