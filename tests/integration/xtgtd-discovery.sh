#!/bin/bash
# SendTargets through libiscsi's iscsi-ls: every target with its portal and
# portal group tag, LUNs listed per target, IPv6 portals in brackets.
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-ls libiscsi-bin
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

PORT=$(xi_free_port)
A=iqn.2026-11.org.xiscsi:alpha
B=iqn.2026-11.org.xiscsi:beta
cat >"$XI_TMP/xtgtd.conf" <<CONF
# two targets, the second with three LUNs
listen 127.0.0.1:$PORT
target $A
	lun ram:16M
target $B
	alias beta-disk
	lun 0 ram:8M
	lun 1 null:1G
	lun 5 ram:4M
CONF
xi_bg xtgtd "$XTGTD" -f -c "$XI_TMP/xtgtd.conf"
XT_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$PORT"

out=$(timeout 20 iscsi-ls -s "iscsi://127.0.0.1:$PORT") || xi_fail "iscsi-ls: $out"
grep -q "^Target:$A Portal:127.0.0.1:$PORT,1$" <<<"$out" || xi_fail "no $A: $out"
grep -q "^Target:$B Portal:127.0.0.1:$PORT,1$" <<<"$out" || xi_fail "no $B: $out"
[ "$(grep -c '^Lun:' <<<"$out")" -eq 4 ] || xi_fail "expected 4 LUNs in all: $out"
grep -q '^Lun:5 ' <<<"$out" || xi_fail "LUN 5 of $B missing: $out"

# IPv6 loopback, where the kernel has it.
if (exec 3<>/dev/tcp/::1/1) 2>&1 | grep -q 'Cannot assign\|not available\|Address family'; then
	echo "note: no IPv6 loopback, [::1] portal not tested"
else
	PORT6=$(xi_free_port)
	xi_bg xtgtd6 "$XTGTD" -f --listen "[::1]:$PORT6" --target "$A" --lun ram:4M
	XT6_PID=$XI_LAST_PID
	for _ in $(seq 1 50); do
		(exec 3<>"/dev/tcp/::1/$PORT6") 2>/dev/null && break
		sleep 0.1
	done
	out=$(timeout 20 iscsi-ls -s "iscsi://[::1]:$PORT6") || xi_fail "iscsi-ls over IPv6: $out"
	grep -q "^Target:$A Portal:\[::1\]:$PORT6,1$" <<<"$out" || xi_fail "IPv6 portal: $out"
	xi_stop "$XT6_PID" || xi_fail "xtgtd (IPv6) exit status $?"
fi

xi_stop "$XT_PID" || xi_fail "xtgtd exit status $? after SIGTERM"
exit 0
