#!/bin/bash
# xtgtd's command line and configuration file: help, and for each mistake
# the exact message and exit status 2, before anything is opened.
. "$(dirname "$0")/lib.sh"

XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

# expect_usage "MESSAGE" ARGS...: stderr's first line and status 2.
expect_usage() {
	local want=$1 out rc
	shift
	out=$("$XTGTD" "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq 2 ] || xi_fail "xtgtd $*: exit $rc, want 2 ($out)"
	[ "$(head -n 1 <<<"$out")" = "xtgtd: $want" ] ||
		xi_fail "xtgtd $*: said '$(head -n 1 <<<"$out")', want 'xtgtd: $want'"
	grep -q "^Try 'xtgtd --help'" <<<"$out" || xi_fail "xtgtd $*: no --help hint"
}

"$XTGTD" --help | grep -q -- '--listen' || xi_fail "--help does not list --listen"
"$XTGTD" --help >/dev/null || xi_fail "--help exit status $?"

expect_usage "unknown option '--bogus'" --bogus
expect_usage "option '--threads' needs a value" -f --threads
expect_usage "threads must be a number from 1 to 64, not '0'" --threads 0
expect_usage "--lun 'ram:1G' comes before any --target" --lun ram:1G
expect_usage "bad listen address '[::1' (want HOST:PORT or [IPV6]:PORT)" --listen '[::1'
expect_usage "no target configured (use --target IQN or -c FILE)" -f --listen 127.0.0.1:1
expect_usage "bad target name 'demo' (want iqn.YYYY-MM.domain:id, eui. or naa.)" --target demo
expect_usage "transport 'carrier-pigeon': unknown transport backend (known: tcp, uring, xdp)" \
	--target iqn.2026-11.org.xiscsi:a --transport carrier-pigeon
expect_usage "unexpected argument 'extra'" -f extra

CONF=$XI_TMP/bad.conf
printf '# comment\nlisten 127.0.0.1:3260\n\ntarget iqn.2026-11.org.xiscsi:a\n\tfrobnicate 3\n' >"$CONF"
expect_usage "$CONF:5: unknown directive 'frobnicate'" -c "$CONF"
printf 'target iqn.2026-11.org.xiscsi:a\nlun 0 ram:1M\nlun 0 ram:2M\n' >"$CONF"
expect_usage "$CONF:3: LUN 0 of target 'iqn.2026-11.org.xiscsi:a' defined twice" -c "$CONF"
printf 'threads\n' >"$CONF"
expect_usage "$CONF:1: 'threads' takes 1 argument, 0 given" -c "$CONF"
printf 'chap user short\n' >"$CONF"
expect_usage "$CONF:1: chap comes before any target" -c "$CONF"
expect_usage "cannot open configuration file '$XI_TMP/none.conf': No such file or directory" \
	-c "$XI_TMP/none.conf"

# A LUN spec the SCSI layer refuses stops the daemon with status 1.
PORT=$(xi_free_port)
out=$("$XTGTD" -f --listen "127.0.0.1:$PORT" --target iqn.2026-11.org.xiscsi:a \
	--lun bogus:1G 2>&1)
rc=$?
[ "$rc" -eq 1 ] || xi_fail "bad LUN spec: exit $rc ($out)"
grep -q 'LUN 0' <<<"$out" || xi_fail "bad LUN spec not named: $out"
exit 0
