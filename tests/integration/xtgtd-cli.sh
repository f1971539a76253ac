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
"$XTGTD" --help | grep -q -- "--xdp-csum MODE" || xi_fail "--help does not list the transport options"
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

# Transport options: a bad value is refused with its name; good ones reach
# the listeners' connections (the target's SO_SNDBUF/SO_RCVBUF, as ss shows
# them: the kernel doubles what was asked) and the initiator's through
# xiscsi_loop_new_opts(), and config save writes them back.
T=iqn.2026-11.org.xiscsi:a
expect_usage "transport option sndbuf: bad value '1Q' (see xiscsi-transport(7))" \
	--target "$T" --sndbuf 1Q
expect_usage "transport option busy-poll: bad value 'soon' (see xiscsi-transport(7))" \
	--busy-poll=soon
printf 'xdp-mode fast\n' >"$CONF"
expect_usage "$CONF:1: transport option xdp-mode: bad value 'fast' (see xiscsi-transport(7))" \
	-c "$CONF"
printf 'busy-poll 5 6\n' >"$CONF"
expect_usage "$CONF:1: 'busy-poll' takes 0 to 1 arguments, 2 given" -c "$CONF"

IO=$top_builddir/initiator/xiscsi-io
XTGTADM=$top_builddir/target/xtgtadm
[ -x "$IO" ] && [ -x "$XTGTADM" ] || xi_fail "xiscsi-io or xtgtadm not built"
out=$("$IO" --sqpoll-idle soon "iscsi://127.0.0.1:1/$T/0" capacity 2>&1)
rc=$?
[ "$rc" -eq 1 ] || xi_fail "xiscsi-io with a bad --sqpoll-idle: exit $rc, want 1 ($out)"
grep -q 'transport option sqpoll-idle: bad value "soon"' <<<"$out" ||
	xi_fail "xiscsi-io did not name the bad option: $out"

PORT=$(xi_free_port)
SOCK=$XI_TMP/ctl.sock
printf 'listen 127.0.0.1:%s\nsndbuf 1M\nbusy-poll\ntarget %s\nlun 0 ram:16M\n' "$PORT" "$T" \
	>"$CONF"
xi_bg xtgtd "$XTGTD" -f --control "$SOCK" -c "$CONF" --rcvbuf 256K --send-hwm 8M
XT_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$PORT"
URL=iscsi://127.0.0.1:$PORT/$T/0
TR=(--transport uring --sqpoll-idle 10)
if ! "$IO" "${TR[@]}" "$URL" capacity >/dev/null 2>"$XI_TMP/uring.err"; then
	echo "note: uring with SQPOLL unusable here ($(head -n 1 "$XI_TMP/uring.err")); tcp --busy-poll"
	TR=(--transport tcp --busy-poll=20)
fi
"$IO" "${TR[@]}" --rcvbuf 512K -q "$URL" load --rw randwrite --bs 4k --qd 8 --time 2s \
	--verify >"$XI_TMP/io.out" 2>&1 &
IO_PID=$!
skmem= iskmem=
for _ in $(seq 1 20); do
	sleep 0.1
	skmem=$(ss -tmnH state established "( sport = :$PORT )" 2>/dev/null)
	iskmem=$(ss -tmnH state established "( dport = :$PORT )" 2>/dev/null)
	grep -q 'rb' <<<"$skmem" && grep -q 'rb' <<<"$iskmem" && break
done
wait "$IO_PID" || xi_fail "xiscsi-io ${TR[*]} load --verify: exit $? ($(cat "$XI_TMP/io.out"))"
grep -q ' 0 errors' "$XI_TMP/io.out" || xi_fail "load had errors: $(cat "$XI_TMP/io.out")"
grep -q 'read back intact' "$XI_TMP/io.out" || xi_fail "no verify line: $(cat "$XI_TMP/io.out")"
# The kernel doubles SO_SNDBUF/SO_RCVBUF, after capping them at wmem_max/rmem_max.
kbuf() {
	local v=$1 max
	max=$(cat "/proc/sys/net/core/$2" 2>/dev/null || echo "$v")
	[ "$v" -gt "$max" ] && v=$max
	echo $((2 * v))
}
if [ -n "$skmem" ] && [ -n "$iskmem" ]; then
	t_rb=$(kbuf $((256 * 1024)) rmem_max)
	t_tb=$(kbuf $((1024 * 1024)) wmem_max)
	i_rb=$(kbuf $((512 * 1024)) rmem_max)
	grep -q "rb$t_rb,.*tb$t_tb," <<<"$skmem" ||
		xi_fail "the target's connection lacks sndbuf 1M / rcvbuf 256K (rb$t_rb tb$t_tb): $skmem"
	grep -q "rb$i_rb," <<<"$iskmem" ||
		xi_fail "the initiator's connection lacks rcvbuf 512K (rb$i_rb): $iskmem"
else
	echo "note: no ss output: socket buffer sizes not checked"
fi
"$XTGTADM" --socket "$SOCK" config save "$XI_TMP/saved.conf" >/dev/null || xi_fail "config save"
for l in 'sndbuf 1M' 'busy-poll' 'rcvbuf 256K' 'send-hwm 8M'; do
	grep -qx "$l" "$XI_TMP/saved.conf" ||
		xi_fail "config save lost '$l': $(cat "$XI_TMP/saved.conf")"
done
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
