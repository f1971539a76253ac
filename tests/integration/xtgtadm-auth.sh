#!/bin/bash
# xtgtadm auth set ... --algorithms: the CHAP_A list a target (or discovery)
# accepts, enforced at login with real initiators (libiscsi offers MD5 only,
# xiscsi-io offers what --set chap_algorithms says), saved and restored at
# restart; and repeated authentication failures from one address make its
# next logins wait.
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-inq libiscsi-bin
xi_need_cmd iscsi-ls libiscsi-bin
XTGTD=$top_builddir/target/xtgtd
XTGTADM=$top_builddir/target/xtgtadm
XIO=$top_builddir/initiator/xiscsi-io
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"
[ -x "$XTGTADM" ] || xi_fail "$XTGTADM not built"
[ -x "$XIO" ] || xi_fail "$XIO not built"

PORT=$(xi_free_port)
SOCK=$XI_TMP/ctl.sock
CONF=$XI_TMP/xtgtd.conf
T=iqn.2026-11.org.xiscsi:algs
SECRET=alice-secret-12
URL=iscsi://alice%$SECRET@127.0.0.1:$PORT/$T/0
adm() { "$XTGTADM" --socket "$SOCK" "$@"; }
# xio ALGS: log in offering the CHAP_A list ALGS (numbers, lib/chap.h).
xio() { "$XIO" -q --set "chap_algorithms=$1" "$URL" inquiry >/dev/null 2>&1; }
libiscsi() { iscsi-inq "$URL" 2>&1; }

start() {
	xi_bg "xtgtd$1" "$XTGTD" -f --control "$SOCK" -c "$CONF"
	XT_PID=$XI_LAST_PID
	xi_wait_port 127.0.0.1 "$PORT"
	for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
	[ -S "$SOCK" ] || xi_fail "no control socket"
}

printf 'listen 127.0.0.1:%s\ntarget %s\n\tlun 0 ram:4M\n\tchap alice "%s"\n' \
	"$PORT" "$T" "$SECRET" >"$CONF"
start 1
libiscsi >/dev/null || xi_fail "CHAP with every algorithm allowed refused libiscsi"

# SHA-256 and SHA3-256 only: libiscsi's MD5 is refused, SHA-1 too.
out=$(adm --json auth set "$T" chap alice "$SECRET" --algorithms sha256,sha3-256) ||
	xi_fail "auth set --algorithms: $out"
grep -q '"algorithms":"sha256,sha3-256"' <<<"$out" || xi_fail "auth set reply: $out"
out=$(libiscsi) && xi_fail "MD5 login let in with sha256,sha3-256 allowed"
grep -q 'Authentication failure' <<<"$out" || xi_fail "refused MD5 login: $out"
xio 7 || xi_fail "SHA-256 login refused"
xio 6 && xi_fail "SHA-1 login let in with sha256,sha3-256 allowed"
xio 8 || xi_fail "SHA3-256 login refused"
xio 6,5,8 || xi_fail "a list with an allowed algorithm in it refused"
adm --json target list | grep -q '"chap_algorithms":"sha256,sha3-256"' ||
	xi_fail "target list lacks the algorithms"
grep -q 'chap-algorithms sha256,sha3-256' "$CONF" || xi_fail "not saved: $(cat "$CONF")"

# Bad lists and misuse are refused and change nothing.
out=$(adm auth set "$T" chap alice "$SECRET" --algorithms sha512 2>&1) && xi_fail "sha512 accepted"
grep -q 'bad CHAP algorithm list' <<<"$out" || xi_fail "bad list message: $out"
adm auth set "$T" chap alice "$SECRET" --algorithms "md5,,sha1" 2>/dev/null && xi_fail "empty item accepted"
adm auth set "$T" none --algorithms md5 2>/dev/null && xi_fail "algorithms with none accepted"
xio 7 || xi_fail "a refused auth set changed the algorithms"

# MD5 only; then no list at all: every algorithm again.
adm auth set "$T" chap alice "$SECRET" --algorithms md5 >/dev/null || xi_fail "auth set md5"
libiscsi >/dev/null || xi_fail "MD5 login refused with md5 allowed"
xio 7 && xi_fail "SHA-256 login let in with md5 only"
adm auth set "$T" chap alice "$SECRET" >/dev/null || xi_fail "auth set without algorithms"
xio 7 || xi_fail "SHA-256 refused after the list was lifted"
grep -q 'chap-algorithms' "$CONF" && xi_fail "lifted list still saved: $(cat "$CONF")"

# Discovery has its own list.
adm auth set discovery chap disco disco-secret-123 --algorithms sha1 >/dev/null ||
	xi_fail "auth set discovery --algorithms"
out=$(iscsi-ls "iscsi://disco%disco-secret-123@127.0.0.1:$PORT" 2>&1) &&
	xi_fail "MD5 discovery let in with sha1 only"
adm auth set discovery chap disco disco-secret-123 --algorithms md5,sha1 >/dev/null ||
	xi_fail "auth set discovery md5,sha1"
iscsi-ls "iscsi://disco%disco-secret-123@127.0.0.1:$PORT" | grep -q "Target:$T" ||
	xi_fail "MD5 discovery refused with md5,sha1 allowed"
grep -q 'discovery-chap-algorithms md5,sha1' "$CONF" || xi_fail "discovery list not saved"

# Restart: the lists come back.
adm auth set "$T" chap alice "$SECRET" --algorithms sha3-256 >/dev/null || xi_fail "auth set sha3"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
start 2
libiscsi >/dev/null && xi_fail "restart lost the target's list (MD5 let in)"
xio 8 || xi_fail "restart: SHA3-256 refused"
iscsi-ls "iscsi://disco%disco-secret-123@127.0.0.1:$PORT" | grep -q "Target:$T" ||
	xi_fail "restart: discovery with MD5 refused"
adm auth set discovery none >/dev/null || xi_fail "auth set discovery none"

# Repeated failures from one address: after five, the next login's first
# answer waits a second (and the failures are logged with the address).
# Whether a login was held is read from the log, not from a clock: only
# the hold itself is timed (it is at least a second, however loaded the
# machine is).
ms() { echo $(($(date +%s%N) / 1000000)); }
holds() { grep -c 'earlier logins from this address failed' "$XI_TMP/xtgtd2.log"; }
adm auth set "$T" chap alice "$SECRET" >/dev/null || xi_fail "auth set, all algorithms"
for i in 1 2 3 4 5; do
	iscsi-inq "iscsi://alice%wrong-secret-$i@127.0.0.1:$PORT/$T/0" >/dev/null 2>&1 &&
		xi_fail "wrong secret $i let in"
done
[ "$(holds)" = 0 ] || xi_fail "a login was held before five failures"
t0=$(ms)
iscsi-inq "iscsi://alice%wrong-secret-6@127.0.0.1:$PORT/$T/0" >/dev/null 2>&1 &&
	xi_fail "wrong secret 6 let in"
[ $(($(ms) - t0)) -ge 950 ] || xi_fail "sixth failed login took only $(($(ms) - t0)) ms"
[ "$(holds)" = 1 ] || xi_fail "hold not logged"
grep -q 'login of .* failed: .*0x0201' "$XI_TMP/xtgtd2.log" || xi_fail "failure not logged"
# After six failures the wait is two seconds.
t0=$(ms)
libiscsi >/dev/null || xi_fail "right secret refused after failures"
[ $(($(ms) - t0)) -ge 1950 ] || xi_fail "login after six failures waited only $(($(ms) - t0)) ms"
[ "$(holds)" = 2 ] || xi_fail "second hold not logged"
# That success cleared the address.
libiscsi >/dev/null || xi_fail "right secret refused"
[ "$(holds)" = 2 ] || xi_fail "a successful login did not clear the address"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
