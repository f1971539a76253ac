#!/bin/bash
# Malformed input on one connection is answered per RFC 7143 (Reject, or the
# connection is dropped when no PDU boundary can be trusted) while another
# session keeps working: garbage before login, a truncated header, an
# unknown opcode, a SCSI command in a discovery session, an oversize data
# segment.
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-perf libiscsi-bin
xi_need_cmd iscsi-inq libiscsi-bin
xi_need_cmd od coreutils
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

PORT=$(xi_free_port)
IQN=iqn.2026-11.org.xiscsi:bad
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --target "$IQN" --lun ram:64M
XT_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$PORT"
URL=iscsi://127.0.0.1:$PORT/$IQN/0

# A healthy session runs through all of it.
timeout 60 iscsi-perf -m 8 -t 6 "$URL" >"$XI_TMP/perf.log" 2>&1 &
PERF=$!

# hex BYTE...: the bytes, as printf escapes.
hex() {
	local b s=""
	for b in "$@"; do s="$s\\x$b"; done
	printf '%s' "$s"
}
zeros() { local i; for ((i = 0; i < $1; i++)); do printf '00 '; done; }
# read_bytes N: N bytes from fd 3 as hex words, or nothing on EOF/timeout.
read_bytes() { timeout 5 dd bs=1 count="$1" status=none <&3 | od -An -v -tx1 | tr -s ' \n' ' '; }
# expect_eof: the target closed fd 3.
expect_eof() {
	local got
	got=$(timeout 5 dd bs=1 count=1 status=none <&3 | od -An -tx1)
	[ -z "$got" ] || xi_fail "$1: connection still open (read $got)"
}

# 1. Garbage where a Login Request belongs: dropped, nothing answered.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf "$(hex $(for i in $(seq 48); do printf 'ff '; done))" >&3
expect_eof "garbage before login"
exec 3>&-

# 2. A truncated header, then the peer goes away: nothing to do but close.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf "$(hex 43 87 00 00 00 00 00 10)" >&3
exec 3>&-

# 3. A discovery login, then PDUs the full feature phase must refuse.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
KEYS="InitiatorName=iqn.2026-11.org.xiscsi:malformed"$'\x01'"SessionType=Discovery"$'\x01'"HeaderDigest=None"$'\x01'"DataDigest=None"$'\x01'
DSL=${#KEYS}
PAD=$(((4 - DSL % 4) % 4))
# Login Request, 11.12: immediate, T=1 CSG=1 NSG=3, ISID, ITT 1, CmdSN 1.
printf "$(hex 43 87 00 00 00 00 00 "$(printf %02x "$DSL")" 80 00 00 00 00 01 00 00 \
	00 00 00 01 00 00 00 00 00 00 00 01 00 00 00 00 $(zeros 16))" >&3
printf '%s' "$KEYS" | tr '\001' '\000' >&3
printf "$(hex $(zeros $PAD))" >&3
rsp=($(read_bytes 48))
[ "${rsp[0]}" = 23 ] || xi_fail "no Login Response: ${rsp[*]}"
[ "${rsp[36]}" = 00 ] || xi_fail "login refused, class ${rsp[36]} detail ${rsp[37]}"
len=$((16#${rsp[5]}${rsp[6]}${rsp[7]}))
read_bytes $((len + (4 - len % 4) % 4)) >/dev/null

# Opcode 0x1a is not defined (11.2.1.2): Reject, reason "command not supported".
printf "$(hex 1a 80 00 00 00 00 00 00 $(zeros 8) 00 00 00 02 $(zeros 28))" >&3
rsp=($(read_bytes 48))
[ "${rsp[0]}" = 3f ] || xi_fail "unknown opcode: no Reject: ${rsp[*]}"
[ "${rsp[2]}" = 05 ] || xi_fail "unknown opcode: Reject reason ${rsp[2]}, want 05"
read_bytes 48 >/dev/null # the rejected header comes back as data

# A SCSI Command in a discovery session (4.3): Reject, protocol error.
printf "$(hex 01 80 00 00 00 00 00 00 $(zeros 8) 00 00 00 03 00 00 00 00 00 00 00 02 \
	00 00 00 00 12 00 00 00 60 00 $(zeros 10))" >&3
rsp=($(read_bytes 48))
[ "${rsp[0]}" = 3f ] || xi_fail "SCSI command in discovery: no Reject: ${rsp[*]}"
[ "${rsp[2]}" = 04 ] || xi_fail "SCSI command in discovery: reason ${rsp[2]}, want 04"
read_bytes 48 >/dev/null

# A Text Request announcing a 16 MiB data segment, far above what we
# declared (13.12): Reject, then the connection is dropped.
printf "$(hex 04 80 00 00 00 ff ff ff $(zeros 8) 00 00 00 04 ff ff ff ff 00 00 00 02 \
	$(zeros 20))" >&3
rsp=($(read_bytes 48))
[ "${rsp[0]}" = 3f ] || xi_fail "oversize: no Reject: ${rsp[*]}"
read_bytes 48 >/dev/null
expect_eof "oversize data segment"
exec 3>&-

# The daemon and the other session lived through all of it.
wait "$PERF" || xi_fail "iscsi-perf failed beside the bad connections: $(tail -c 400 "$XI_TMP/perf.log")"
grep -q finished "$XI_TMP/perf.log" || xi_fail "iscsi-perf did not finish"
iscsi-inq "$URL" >/dev/null || xi_fail "a new session after the bad ones failed"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
