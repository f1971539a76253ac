# Shared by the initiator's integration tests (ini-*.sh): sourced, never run.
# Starts a private tgtd (its own control port and portal) with one file LUN.
. "$top_srcdir/tests/integration/lib.sh"

XIO="$top_builddir/initiator/xiscsi-io"
XADM="$top_builddir/initiator/xiscsiadm"
TGT_IQN=iqn.2026-01.io.xiscsi.test:disk

[ -x "$XIO" ] || xi_skip "initiator/xiscsi-io is not built"

# A tgtd control port whose socket nobody uses (tgtd: /var/run/tgtd/socket.N).
ini_free_ctl() {
	local c
	for _ in $(seq 1 100); do
		c=$((1000 + RANDOM % 30000))
		[ -e "/var/run/tgtd/socket.$c" ] || [ -e "/var/run/tgtd/socket.$c.lock" ] || {
			echo "$c"
			return 0
		}
	done
	xi_fail "no free tgtd control port"
}

tgtadm_() {
	tgtadm -C "$TGT_CTL" --lld iscsi "$@" >>"$XI_TMP/tgtadm.log" 2>&1 ||
		xi_fail "tgtadm $*: $(tail -n 1 "$XI_TMP/tgtadm.log")"
}

# ini_tgtd_start [SIZE_MB]: tgtd on 127.0.0.1:$TGT_PORT serving $TGT_IQN LUN 1.
ini_tgtd_start() {
	local size=${1:-64}
	xi_need_root "tgtd binds its control socket under /var/run"
	xi_need_cmd tgtd tgt
	xi_need_cmd tgtadm tgt
	: "${TGT_PORT:=$(xi_free_port)}"
	: "${TGT_CTL:=$(ini_free_ctl)}"
	[ -f "$XI_TMP/disk.img" ] || truncate -s "${size}M" "$XI_TMP/disk.img"
	xi_bg tgtd tgtd -f -C "$TGT_CTL" --iscsi "portal=127.0.0.1:$TGT_PORT"
	TGT_PID=$XI_LAST_PID
	xi_wait_port 127.0.0.1 "$TGT_PORT" 10
	tgtadm_ --op new --mode target --tid 1 -T "$TGT_IQN"
	tgtadm_ --op new --mode logicalunit --tid 1 --lun 1 -b "$XI_TMP/disk.img"
	tgtadm_ --op bind --mode target --tid 1 -I ALL
	TGT_URL="iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/1"
}

# Stop that tgtd at once (SIGKILL, as a crash would).
ini_tgtd_kill() {
	kill -KILL "$TGT_PID" 2>/dev/null
	wait "$TGT_PID" 2>/dev/null
	rm -f "/var/run/tgtd/socket.$TGT_CTL" "/var/run/tgtd/socket.$TGT_CTL.lock"
}
