#!/bin/bash
# CHAP against tgtd: one-way (the target checks us) and mutual (we check the
# target too); a wrong secret, a missing secret and a target that proves
# itself with the wrong secret all fail the login with a reason.
. "$top_srcdir/tests/integration/ini-lib.sh"

ini_tgtd_start 16
H="127.0.0.1:$TGT_PORT"
tgtadm_ --op new --mode account --user alice --password alicesecret12
tgtadm_ --op bind --mode account --tid 1 --user alice

"$XIO" "iscsi://$H/$TGT_IQN/1" capacity >/dev/null 2>"$XI_TMP/err.txt"
[ $? -eq 2 ] || xi_fail "login without CHAP was not refused"
"$XIO" "iscsi://alice%wrongsecret12@$H/$TGT_IQN/1" capacity >/dev/null 2>"$XI_TMP/err.txt"
[ $? -eq 2 ] || xi_fail "a wrong CHAP secret was not refused"
grep -q "authentication failed" "$XI_TMP/err.txt" ||
	xi_fail "the refusal does not say why: $(cat "$XI_TMP/err.txt")"

out=$("$XIO" "iscsi://alice%alicesecret12@$H/$TGT_IQN/1" capacity) ||
	xi_fail "one-way CHAP login: $out"
echo "$out" | grep -qx 'Blocks: 32768' || xi_fail "one-way CHAP: capacity: $out"
head -c 65536 /dev/urandom >"$XI_TMP/r.bin"
"$XIO" -q "iscsi://alice%alicesecret12@$H/$TGT_IQN/1" write 8 128 -i "$XI_TMP/r.bin" ||
	xi_fail "write under CHAP"
"$XIO" -q "iscsi://alice%alicesecret12@$H/$TGT_IQN/1" compare 8 128 -i "$XI_TMP/r.bin" \
	>/dev/null || xi_fail "compare under CHAP"

# Mutual: the target answers our challenge with its own secret.
tgtadm_ --op new --mode account --user tgtuser --password tgtsecret1234
tgtadm_ --op bind --mode account --tid 1 --user tgtuser --outgoing
M="target_user=tgtuser&target_password=tgtsecret1234"
out=$("$XIO" "iscsi://alice%alicesecret12@$H/$TGT_IQN/1?$M" capacity) ||
	xi_fail "mutual CHAP login: $out"
echo "$out" | grep -qx 'Blocks: 32768' || xi_fail "mutual CHAP: capacity: $out"
"$XIO" "iscsi://alice%alicesecret12@$H/$TGT_IQN/1?target_user=tgtuser&target_password=notthesecret" \
	capacity >/dev/null 2>"$XI_TMP/err.txt"
[ $? -eq 2 ] || xi_fail "a target with the wrong mutual secret was accepted"
grep -q "mutual CHAP" "$XI_TMP/err.txt" || xi_fail "mutual refusal: $(cat "$XI_TMP/err.txt")"
exit 0
