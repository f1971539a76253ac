#!/bin/bash
# node.startup=automatic: xiscsid logs those nodes in when it starts and
# leaves manual ones alone; -U automatic and -L automatic act on the same
# set; an iface record binds a node to a transport backend.
. "$top_srcdir/tests/integration/xiscsid-lib.sh"
[ -x "$XTGTD" ] || xi_skip "target/xtgtd is not built"
xi_need_cmd python3 python3

PORT=$(xi_free_port)
AUTO=iqn.2026-01.io.xiscsi.test:auto
MAN=iqn.2026-01.io.xiscsi.test:manual
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --target "$AUTO" --lun ram:8M \
	--target "$MAN" --lun ram:8M
xi_wait_port 127.0.0.1 "$PORT" 10
P="127.0.0.1:$PORT"
"$XADM" -m discovery -t st -p "$P" >/dev/null || xi_fail "discovery"
"$XADM" -m node -T "$AUTO" -p "$P" -o update -n node.startup -v automatic || xi_fail "update"

# An iface on io_uring, where this kernel allows it; the auto node uses it.
if "$top_builddir/initiator/xiscsi-io" --transport uring "iscsi://$P/$AUTO/0" capacity >/dev/null 2>&1; then
	TR=uring
else
	TR=tcp
fi
"$XADM" -m iface -I ring0 -o new >/dev/null || xi_fail "iface new"
"$XADM" -m iface -I ring0 -o update -n iface.transport_name -v "$TR" >/dev/null ||
	xi_fail "iface update"
"$XADM" -m iface -I ring0 -o update -n iface.transport_name -v carrier-pigeon 2>/dev/null
[ $? -eq 7 ] || xi_fail "a bad transport name was not refused"
"$XADM" -m iface -I ring0 | grep -qx "iface.transport_name = $TR" || xi_fail "iface show"
"$XADM" -m iface | grep -qx "ring0 $TR,<empty>" || xi_fail "iface list: $("$XADM" -m iface)"
"$XADM" -m node -T "$AUTO" -p "$P" -o update -n iface.iscsi_ifacename -v ring0 ||
	xi_fail "bind the node to ring0"

xd_start
for _ in $(seq 1 100); do
	[ "$(xd_json "[(s['target'], s['phase']) for s in d]")" = "[('$AUTO', 'ready')]" ] && break
	sleep 0.1
done
[ "$(xd_json "[(s['target'], s['iface'], s['transport'], s['phase']) for s in d]")" = \
	"[('$AUTO', 'ring0', '$TR', 'ready')]" ] ||
	xi_fail "after start: $("$XADM" -m session --json)"
[ "$("$XADM" -m session)" = "$TR: [1] $P,1 $AUTO (non-flash)" ] || xi_fail "-m session: $("$XADM" -m session)"
grep -q "startup: 1 automatic login(s) started" "$XI_TMP/xiscsid.log" || xi_fail "startup not logged"

# -L manual logs in the other one; -U automatic logs out only the first.
"$XADM" -m node -L manual >/dev/null || xi_fail "-L manual"
[ "$(xd_json "sorted(s['target'] for s in d)")" = "['$AUTO', '$MAN']" ] || xi_fail "after -L manual"
"$XADM" -m node -U automatic >/dev/null || xi_fail "-U automatic"
[ "$(xd_json "[s['target'] for s in d]")" = "['$MAN']" ] || xi_fail "after -U automatic"
# -L automatic again; -L all then only reports what exists.
"$XADM" -m node -L automatic >/dev/null || xi_fail "-L automatic"
"$XADM" -m node -L all >/dev/null 2>&1 || xi_fail "-L all with both logged in"
[ "$(xd_json "len(d)")" = 2 ] || xi_fail "-L all made duplicates"
# One session by SID: -u.
sid=$(xd_json "[s['sid'] for s in d if s['target']=='$MAN'][0]")
"$XADM" -m session -r "$sid" -u >/dev/null || xi_fail "-m session -r $sid -u"
[ "$(xd_json "[s['target'] for s in d]")" = "['$AUTO']" ] || xi_fail "after -u"

# A record on an iface that does not exist is refused with a reason.
"$XADM" -m node -T "$MAN" -p "$P" -o update -n iface.iscsi_ifacename -v nosuch || xi_fail "update"
out=$("$XADM" -m node -T "$MAN" -p "$P" --login 2>&1) && xi_fail "login on a missing iface worked"
echo "$out" | grep -q "iface 'nosuch': no such iface" || xi_fail "missing iface: $out"
"$XADM" -m iface -I ring0 -o delete || xi_fail "iface delete"
"$XADM" -m iface -I ring0 >/dev/null 2>&1
[ $? -eq 21 ] || xi_fail "a deleted iface is still shown"
xd_stop
exit 0
