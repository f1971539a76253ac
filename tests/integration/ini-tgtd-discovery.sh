#!/bin/bash
# xiscsiadm against tgtd: SendTargets discovery prints iscsiadm's lines and
# records the nodes; node records round-trip through -o show/update/delete
# (and --json); bad names, keys and values are refused; concurrent writers
# never corrupt a record.
. "$top_srcdir/tests/integration/ini-lib.sh"
[ -x "$XADM" ] || xi_skip "initiator/xiscsiadm is not built"

ini_tgtd_start 16
export XISCSI_ROOT="$XI_TMP/root"
P="127.0.0.1:$TGT_PORT"

out=$("$XADM" -m discovery -t sendtargets -p "$P") || xi_fail "discovery: $out"
[ "$out" = "$P,1 $TGT_IQN" ] || xi_fail "discovery printed '$out', want '$P,1 $TGT_IQN'"
[ -f "$XISCSI_ROOT/nodes/$TGT_IQN/127.0.0.1,$TGT_PORT,1/default" ] ||
	xi_fail "no node record in open-iscsi's layout"
[ -f "$XISCSI_ROOT/send_targets/127.0.0.1,$TGT_PORT/st_config" ] || xi_fail "no discovery record"

out=$("$XADM" -m discovery -t st -p "$P" --json) || xi_fail "discovery --json"
[ "$out" = "[{\"portal\":\"$P\",\"tpgt\":1,\"target\":\"$TGT_IQN\"}]" ] ||
	xi_fail "discovery --json printed $out"

out=$("$XADM" -m node) || xi_fail "-m node"
[ "$out" = "$P,1 $TGT_IQN" ] || xi_fail "-m node printed '$out'"
"$XADM" -m node -P 1 | grep -q "^Target: $TGT_IQN" || xi_fail "-m node -P 1"
"$XADM" -m discoverydb | grep -qx "$P via sendtargets" || xi_fail "-m discoverydb"

N=(-m node -T "$TGT_IQN" -p "$P")
"$XADM" "${N[@]}" -o update -n node.session.auth.authmethod -v CHAP || xi_fail "update authmethod"
"$XADM" "${N[@]}" -o update -n node.session.auth.password -v 'pass word 123' ||
	xi_fail "update password"
"$XADM" "${N[@]}" -o update -n node.conn[0].iscsi.HeaderDigest -v CRC32C,None ||
	xi_fail "update digest"
"$XADM" "${N[@]}" -o update -n node.conn[0].timeo.noop_out_interval -v 7 || xi_fail "update nop"
out=$("$XADM" "${N[@]}" -o show)
echo "$out" | grep -qx 'node.session.auth.authmethod = CHAP' || xi_fail "show: authmethod: $out"
echo "$out" | grep -qx 'node.session.auth.password = \*\*\*\*\*\*\*\*' ||
	xi_fail "show: secret not masked: $out"
echo "$out" | grep -qx 'node.conn\[0\].iscsi.HeaderDigest = CRC32C,None' || xi_fail "show: digest"
echo "$out" | grep -qx 'node.conn\[0\].timeo.noop_out_interval = 7' || xi_fail "show: nop"
"$XADM" "${N[@]}" -o show -S | grep -qx 'node.session.auth.password = pass word 123' ||
	xi_fail "show -S: secret"
# A rediscovery keeps what the user set.
"$XADM" -m discovery -t st -p "$P" >/dev/null || xi_fail "rediscovery"
"$XADM" "${N[@]}" -o show | grep -qx 'node.session.auth.authmethod = CHAP' ||
	xi_fail "rediscovery reset the record"

# Refusals: unknown key, bad value, fixed key, bad name, bad portal; all exit 7.
for args in "-n node.bogus -v 1" "-n node.conn[0].iscsi.HeaderDigest -v MD5" \
	"-n node.session.queue_depth -v 0" "-n node.name -v iqn.2026-01.x:y"; do
	# shellcheck disable=SC2086
	"$XADM" "${N[@]}" -o update $args 2>/dev/null
	[ $? -eq 7 ] || xi_fail "update $args was not refused with 7"
done
"$XADM" -m node -T '../../etc' -p "$P" -o show 2>/dev/null
[ $? -eq 7 ] || xi_fail "a path as target name was not refused"
"$XADM" -m node -T "$TGT_IQN" -p '../x:1' -o show 2>/dev/null
[ $? -eq 7 ] || xi_fail "a path as portal was not refused"

# Concurrent writers: 20 updates in parallel, each a different key value;
# the record stays whole (every key present, one of the values written).
pids=""
for i in $(seq 1 20); do
	"$XADM" "${N[@]}" -o update -n node.session.queue_depth -v "$i" &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p" || xi_fail "a concurrent update failed"
done
out=$("$XADM" "${N[@]}" -o show)
[ "$(echo "$out" | grep -c ' = ')" -eq 28 ] || xi_fail "record damaged by concurrent writers"
echo "$out" | grep -Eq '^node.session.queue_depth = ([1-9]|1[0-9]|20)$' ||
	xi_fail "queue_depth lost under concurrency"

# -o new, delete, and what is left.
"$XADM" -m node -T iqn.2026-01.io.xiscsi.test:other -p 127.0.0.1:3999 -o new >/dev/null ||
	xi_fail "-o new"
[ "$("$XADM" -m node | wc -l)" -eq 2 ] || xi_fail "-o new did not add a record"
"$XADM" "${N[@]}" -o delete || xi_fail "-o delete"
"$XADM" "${N[@]}" -o show 2>/dev/null
[ $? -eq 21 ] || xi_fail "a deleted record is still shown"
[ "$("$XADM" -m node)" = "127.0.0.1:3999,1 iqn.2026-01.io.xiscsi.test:other" ] ||
	xi_fail "-m node after delete"

# Session operations come with xiscsid.
"$XADM" "${N[@]}" --login 2>"$XI_TMP/err.txt"
[ $? -eq 20 ] && grep -q "needs xiscsid" "$XI_TMP/err.txt" || xi_fail "--login error"

# Discovery of a portal where nothing listens: a transport error (4).
"$XADM" -m discovery -t st -p 127.0.0.1:1 2>/dev/null
[ $? -eq 4 ] || xi_fail "discovery of a dead portal did not exit 4"
exit 0
