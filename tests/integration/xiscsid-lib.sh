# Shared by the xiscsid tests (xiscsid-*.sh): sourced, never run.
# A private xiscsid: its control socket, NBD sockets and node records all
# under $XI_TMP, so tests never touch /run/xiscsi or /var/lib/xiscsi.
# Source ini-lib.sh (for tgtd) before this file, never after: each lib.sh
# makes its own scratch directory.
declare -F xi_skip >/dev/null || . "$top_srcdir/tests/integration/lib.sh"

XISCSID="$top_builddir/initiator/xiscsid"
XADM="$top_builddir/initiator/xiscsiadm"
XTGTD="$top_builddir/target/xtgtd"
XTGTADM="$top_builddir/target/xtgtadm"
[ -x "$XISCSID" ] || xi_skip "initiator/xiscsid is not built"
[ -x "$XADM" ] || xi_skip "initiator/xiscsiadm is not built"

export XISCSI_ROOT="$XI_TMP/root"
export XISCSID_SOCKET="$XI_TMP/run/xiscsid.sock"
XD_NBD="$XI_TMP/run/nbd"
XD_INI=iqn.2026-01.io.xiscsi.test:host

# xd_start [ARGS...]: xiscsid in the foreground, until its socket answers.
xd_start() {
	xi_bg xiscsid "$XISCSID" -f --run-dir "$XI_TMP/run" -i "$XD_INI" "$@"
	XD_PID=$XI_LAST_PID
	for _ in $(seq 1 100); do
		[ -S "$XISCSID_SOCKET" ] && return 0
		kill -0 "$XD_PID" 2>/dev/null || break
		sleep 0.1
	done
	xi_fail "xiscsid did not open $XISCSID_SOCKET"
}

# xd_stop: SIGTERM; xiscsid logs every session out and exits 0.
xd_stop() {
	xi_stop "$XD_PID" || xi_fail "xiscsid exited $? on SIGTERM"
}

# xd_json PYTHON-EXPR: evaluate EXPR over `-m session --json` (as d).
xd_json() {
	"$XADM" -m session --json | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# xd_nbd SID LUN: the NBD URL of that LUN's export, as xiscsid reports it.
xd_nbd() {
	xd_json "[l['nbd_url'] for s in d if s['sid']==$1 for l in s['luns'] if l['lun']==$2][0]"
}

# xd_wait_gone PATH: a socket xiscsid should have removed.
xd_wait_gone() {
	for _ in $(seq 1 50); do
		[ -e "$1" ] || return 0
		sleep 0.1
	done
	xi_fail "$1 is still there"
}
