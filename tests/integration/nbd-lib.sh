# Shared by the NBD export tests (nbd-*.sh): sourced, never run.
# Starts xtgtd on a free loopback port and `xiscsi-io URL nbd` in front of it.
. "$top_srcdir/tests/integration/ini-lib.sh"

XTGTD="$top_builddir/target/xtgtd"
NBD_CLIENT="$top_srcdir/tests/integration/nbd-client.py"
NBD_IQN=iqn.2026-01.io.xiscsi.test:nbd

# nbd_xtgtd_start LUNSPEC...: xtgtd serving $NBD_IQN with those LUNs (0, 1, ...);
# again after nbd_xtgtd_kill: the same port.
nbd_xtgtd_start() {
	[ -x "$XTGTD" ] || xi_skip "target/xtgtd is not built"
	: "${NBD_TPORT:=$(xi_free_port)}"
	local args=() l
	for l in "$@"; do
		args+=(--lun "$l")
	done
	xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$NBD_TPORT" --target "$NBD_IQN" "${args[@]}"
	NBD_TPID=$XI_LAST_PID
	xi_wait_port 127.0.0.1 "$NBD_TPORT" 10
	NBD_ISCSI="iscsi://127.0.0.1:$NBD_TPORT/$NBD_IQN"
}

# Stop that xtgtd at once, as a crash would.
nbd_xtgtd_kill() {
	kill -KILL "$NBD_TPID" 2>/dev/null
	wait "$NBD_TPID" 2>/dev/null
}

# nbd_export_start NAME URL [xiscsi-io nbd options...]: serve URL on
# $XI_TMP/NAME.sock; sets NBD_PID, NBD_SOCK, NBD_URI once the LUN answers.
nbd_export_start() {
	local name=$1 url=$2 i
	shift 2
	NBD_SOCK="$XI_TMP/$name.sock"
	NBD_URI="nbd+unix:///?socket=$NBD_SOCK"
	xi_bg "$name" "$XIO" "$url" nbd --socket "$NBD_SOCK" "$@"
	NBD_PID=$XI_LAST_PID
	for i in $(seq 1 100); do
		grep -q 'xiscsi nbd: LUN' "$XI_TMP/$name.log" 2>/dev/null && [ -S "$NBD_SOCK" ] &&
			return 0
		kill -0 "$NBD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$XI_TMP/$name.log"
	xi_fail "xiscsi-io nbd did not come up"
}

# fio with the nbd engine (get-fio builds it with --enable-libnbd), or skip.
nbd_need_fio() {
	local f
	NBD_FIO=""
	for f in "$top_builddir"/fio-jobs/build/fio-*/fio; do
		[ -x "$f" ] && NBD_FIO=$f
	done
	[ -n "$NBD_FIO" ] || xi_skip "no fio built (fio-jobs/get-fio)"
	"$NBD_FIO" --enghelp 2>/dev/null | grep -qw nbd ||
		xi_skip "$NBD_FIO has no nbd engine (libnbd-dev missing when it was built)"
}

# nbd_wait_exit PID SECONDS: true when PID ended within SECONDS; its status in NBD_RC.
nbd_wait_exit() {
	local pid=$1 secs=$2 i
	for i in $(seq 1 $((secs * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			NBD_RC=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# As nbd_need_fio, but false instead of skipping.
nbd_need_fio_quiet() {
	(nbd_need_fio) >/dev/null 2>&1 || return 1
	nbd_need_fio
}

# nbd_export_stop NAME: SIGTERM the export started last as NAME; it must
# close cleanly and exit 0 (under ASan: with no leak and no error report).
nbd_export_stop() {
	kill -TERM "$NBD_PID" 2>/dev/null
	nbd_wait_exit "$NBD_PID" 20 || xi_fail "xiscsi-io nbd ($1) did not exit after SIGTERM"
	[ "$NBD_RC" -eq 0 ] || xi_fail "xiscsi-io nbd ($1) exited $NBD_RC: $(tail -n 20 "$XI_TMP/$1.log")"
	! grep -q 'Sanitizer\|runtime error' "$XI_TMP/$1.log" || xi_fail "$(cat "$XI_TMP/$1.log")"
}
