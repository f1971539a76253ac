# Shared helpers for integration tests: sourced, never run.
# A test exits 0 on pass, 1 on failure, 77 to skip (with a reason on stdout).
# Everything a test starts is stopped, and its scratch directory removed,
# however it ends.

set -u

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"

XI_PIDS=""
# Test daemons stay off the system's control socket unless a test asks for one.
export XTGTD_CONTROL=none
XI_TMP=$(mktemp -d "${TMPDIR:-/tmp}/xiscsi-test.XXXXXX")

xi_cleanup() {
	local rc=$?
	for pid in $XI_PIDS; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $XI_PIDS; do
		# Give a daemon two seconds to finish, then stop it for good.
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$XI_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f (last 40 lines)"
			tail -n 40 "$f"
		done
	fi
	rm -rf "$XI_TMP"
	exit "$rc"
}
trap xi_cleanup EXIT
trap 'exit 1' INT TERM

xi_skip() {
	echo "SKIP: $*"
	exit 77
}

xi_fail() {
	echo "FAIL: $*"
	exit 1
}

xi_need_root() {
	[ "$(id -u)" -eq 0 ] || xi_skip "needs root: $*"
}

# xi_need_cmd COMMAND PACKAGE
xi_need_cmd() {
	command -v "$1" >/dev/null 2>&1 || xi_skip "$1 not found (Debian package $2)"
}

# A TCP port on 127.0.0.1 that nothing listens on now.
# Ports are drawn below the kernel's ephemeral range (ip_local_port_range),
# so no outgoing connection of a parallel test can be holding the one drawn
# when the daemon binds it.
xi_free_port() {
	local p lo=10000 hi=32767 eph
	eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$eph" -gt 12000 ] 2>/dev/null && hi=$((eph - 1))
	for _ in $(seq 1 200); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	xi_fail "no free port found"
}

# xi_bg NAME COMMAND...: run in the background, output to $XI_TMP/NAME.log.
xi_bg() {
	local name=$1
	shift
	"$@" >"$XI_TMP/$name.log" 2>&1 &
	XI_PIDS="$XI_PIDS $!"
	XI_LAST_PID=$!
}

# xi_wait_port HOST PORT [SECONDS]: until something accepts there.
xi_wait_port() {
	local host=$1 port=$2 secs=${3:-10} i
	for i in $(seq 1 $((secs * 10))); do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	xi_fail "nothing listens on $host:$port after ${secs}s"
}

# xi_stop PID: SIGTERM and wait; returns the process's exit status.
xi_stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}
