#!/bin/bash
# Protocol paths libiscsi's tools do not take, driven byte by byte over
# bash's /dev/tcp: a SendTargets answer longer than the initiator's
# MaxRecvDataSegmentLength, split with the C bit and fetched again by TTT
# (RFC 7143 11.10, 11.11); NOP-Out echoed by NOP-In (11.18, 11.19); and the
# target's own NOP-In ping, whose answer missing drops the connection.
. "$(dirname "$0")/lib.sh"

xi_need_cmd od coreutils
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

NTARGETS=12
PORT=$(xi_free_port)
{
	echo "listen 127.0.0.1:$PORT"
	echo "nop-interval 1"
	echo "nop-timeout 2"
	for i in $(seq 1 $NTARGETS); do
		echo "target iqn.2026-11.org.xiscsi:target-with-a-long-name-number-$i"
		echo "	lun ram:1M"
	done
} >"$XI_TMP/xtgtd.conf"
xi_bg xtgtd "$XTGTD" -f -c "$XI_TMP/xtgtd.conf"
XT_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$PORT"

hex() {
	local b s=""
	for b in "$@"; do s="$s\\x$b"; done
	printf '%s' "$s"
}
zeros() { local i; for ((i = 0; i < $1; i++)); do printf '00 '; done; }
be32() { printf '%02x %02x %02x %02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
be24() { printf '%02x %02x %02x' $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
read_bytes() { timeout "${2:-5}" dd bs=1 count="$1" status=none <&3 | od -An -v -tx1 | tr -s ' \n' ' '; }
# send_pdu "BHS HEX BYTES (48)" DATA: data segment given with \001 for NUL.
send_pdu() {
	local data=$2 len=${#2}
	local pad=$(((4 - len % 4) % 4))
	printf "$(hex $1)" >&3
	[ "$len" -gt 0 ] && printf '%s' "$data" | tr '\001' '\000' >&3
	[ "$pad" -gt 0 ] && printf "$(hex $(zeros $pad))" >&3
	return 0
}
# read_pdu [timeout]: HDR (array of 48 hex bytes) and DATA (text, NUL as \n).
# While PONG=1 the target's NOP-In pings are answered and skipped: a slow
# machine may idle past nop-interval between two steps.
PONG=1
read_pdu() {
	local len pad
	HDR=($(read_bytes 48 "${1:-5}"))
	while [ "$PONG" = 1 ] && [ "${#HDR[@]}" -eq 48 ] && [ "${HDR[0]}" = 20 ] &&
		[ "${HDR[16]}${HDR[17]}${HDR[18]}${HDR[19]}" = ffffffff ]; do
		# 11.18: the answer is immediate, ITT reserved, the ping's TTT back.
		send_pdu "40 80 00 00 00 00 00 00 $(zeros 8) ff ff ff ff ${HDR[*]:20:4} $(be32 $CMDSN) $(zeros 20)" ""
		HDR=($(read_bytes 48 "${1:-5}"))
	done
	[ "${#HDR[@]}" -eq 48 ] || return 1
	len=$((16#${HDR[5]}${HDR[6]}${HDR[7]}))
	pad=$(((4 - len % 4) % 4))
	DATA=""
	if [ $((len + pad)) -gt 0 ]; then
		# Whole segment first: a reader that stops early would leave the
		# padding in the stream.
		timeout 5 dd bs=1 count=$((len + pad)) status=none <&3 >"$XI_TMP/seg"
		DATA=$(head -c "$len" "$XI_TMP/seg" | tr '\000' '\n')
	fi
	return 0
}

CMDSN=1
# Discovery login declaring MaxRecvDataSegmentLength=512: the target must
# cut every Text Response to 512 bytes.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
KEYS="InitiatorName=iqn.2026-11.org.xiscsi:bytes"$'\x01'"SessionType=Discovery"$'\x01'"HeaderDigest=None"$'\x01'"DataDigest=None"$'\x01'"MaxRecvDataSegmentLength=512"$'\x01'
send_pdu "43 87 00 00 00 $(be24 ${#KEYS}) 80 00 00 00 00 02 00 00 $(be32 1) 00 00 00 00 $(be32 1) $(be32 0) $(zeros 16)" "$KEYS"
read_pdu || xi_fail "no Login Response"
[ "${HDR[0]}" = 23 ] && [ "${HDR[36]}" = 00 ] || xi_fail "login failed: ${HDR[*]:0:40}"
STATSN=$((16#${HDR[24]}${HDR[25]}${HDR[26]}${HDR[27]}))

ANSWER=""
TTT="ff ff ff ff"
DATA_IN="SendTargets=All"$'\x01'
for i in $(seq 1 100); do
	send_pdu "04 80 00 00 00 $(be24 ${#DATA_IN}) $(zeros 8) $(be32 7) $TTT $(be32 $CMDSN) $(be32 $((STATSN + 1))) $(zeros 16)" "$DATA_IN"
	CMDSN=$((CMDSN + 1))
	read_pdu || xi_fail "no Text Response to piece $i"
	[ "${HDR[0]}" = 24 ] || xi_fail "piece $i: header ${HDR[*]} prev data: $ANSWER"
	STATSN=$((16#${HDR[24]}${HDR[25]}${HDR[26]}${HDR[27]}))
	len=$((16#${HDR[5]}${HDR[6]}${HDR[7]}))
	[ "$len" -le 512 ] || xi_fail "piece $i holds $len bytes, above our MaxRecvDataSegmentLength"
	ANSWER="$ANSWER$DATA"
	if [ "${HDR[1]}" = 80 ]; then
		break
	fi
	[ "${HDR[1]}" = 40 ] || xi_fail "piece $i: flags ${HDR[1]}, want C (40) or F (80)"
	# 11.10.4: ask for the rest with the TTT and an empty request.
	TTT="${HDR[20]} ${HDR[21]} ${HDR[22]} ${HDR[23]}"
	DATA_IN=""
done
[ "$i" -gt 1 ] || xi_fail "the answer was not split (one piece)"
n=$(grep -c '^TargetName=' <<<"$ANSWER")
[ "$n" -eq "$NTARGETS" ] || xi_fail "SendTargets gave $n targets in $i pieces, want $NTARGETS"
grep -q "^TargetAddress=127.0.0.1:$PORT,1$" <<<"$ANSWER" || xi_fail "no TargetAddress: $ANSWER"

# NOP-Out with a ping ITT: the NOP-In echoes ITT and data.
PING="hello-ping"
send_pdu "40 80 00 00 00 $(be24 ${#PING}) $(zeros 8) $(be32 9) ff ff ff ff $(be32 $CMDSN) $(be32 $((STATSN + 1))) $(zeros 16)" "$PING"
read_pdu || xi_fail "no NOP-In for our NOP-Out"
[ "${HDR[0]}" = 20 ] || xi_fail "NOP-Out answered with opcode ${HDR[0]}"
[ "${HDR[19]}" = 09 ] || xi_fail "NOP-In ITT ${HDR[*]:16:4}, want 9"
[ "$DATA" = "$PING" ] || xi_fail "NOP-In data '$DATA', want '$PING'"

# Now idle: after nop-interval the target pings (TTT not reserved) ...
PONG=0
read_pdu 4 || xi_fail "no NOP-In ping after nop-interval"
[ "${HDR[0]}" = 20 ] || xi_fail "ping opcode ${HDR[0]}"
[ "${HDR[20]}${HDR[21]}${HDR[22]}${HDR[23]}" != ffffffff ] || xi_fail "ping with reserved TTT"
[ "${HDR[16]}${HDR[17]}${HDR[18]}${HDR[19]}" = ffffffff ] || xi_fail "ping ITT not reserved"
# ... and, unanswered, drops the connection after nop-timeout.
got=$(timeout 6 dd bs=1 count=1 status=none <&3 | od -An -tx1)
[ -z "$got" ] || xi_fail "connection still open after an unanswered ping"
exec 3>&-
grep -q 'ping unanswered' "$XI_TMP/xtgtd.log" || xi_fail "drop not logged"

# DataDigest=CRC32C, then a NOP-Out whose data digest is wrong: the target
# answers with a Reject, reason "data digest error" (RFC 7143 7.8, 11.17),
# and the connection goes on: the next ping is answered.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
CMDSN=1
PONG=1
KEYS="InitiatorName=iqn.2026-11.org.xiscsi:digest"$'\x01'"SessionType=Discovery"$'\x01'"HeaderDigest=None"$'\x01'"DataDigest=CRC32C"$'\x01'
send_pdu "43 87 00 00 00 $(be24 ${#KEYS}) 80 00 00 00 00 03 00 00 $(be32 1) 00 00 00 00 $(be32 1) $(be32 0) $(zeros 16)" "$KEYS"
read_pdu || xi_fail "no Login Response (digest session)"
[ "${HDR[0]}" = 23 ] && [ "${HDR[36]}" = 00 ] || xi_fail "digest login failed: ${HDR[*]:0:40}"
grep -q '^DataDigest=CRC32C$' <<<"$DATA" || xi_fail "DataDigest not CRC32C: $DATA"
send_pdu "40 80 00 00 00 00 00 04 $(zeros 8) $(be32 5) ff ff ff ff $(be32 $CMDSN) $(zeros 20)" "abcd"
printf "$(hex 00 00 00 00)" >&3 # a data digest that cannot match
rsp=($(read_bytes 48))
[ "${rsp[0]}" = 3f ] || xi_fail "bad data digest: no Reject: ${rsp[*]}"
[ "${rsp[2]}" = 02 ] || xi_fail "bad data digest: Reject reason ${rsp[2]}, want 02"
read_bytes 52 >/dev/null # the rejected header and its data digest
send_pdu "40 80 00 00 00 00 00 00 $(zeros 8) $(be32 6) ff ff ff ff $(be32 $CMDSN) $(zeros 20)" ""
rsp=($(read_bytes 48))
[ "${rsp[0]}" = 20 ] && [ "${rsp[19]}" = 06 ] || xi_fail "no NOP-In after the digest error: ${rsp[*]}"
# The same refused data digest on a non-immediate NOP-Out: its CmdSN is
# still used (11.17.1), or ExpCmdSN would stall below it.
send_pdu "00 80 00 00 00 00 00 04 $(zeros 8) $(be32 7) ff ff ff ff $(be32 $CMDSN) $(zeros 20)" "abcd"
printf "$(hex 00 00 00 00)" >&3
rsp=($(read_bytes 48))
[ "${rsp[0]}" = 3f ] && [ "${rsp[2]}" = 02 ] || xi_fail "non-immediate bad digest: no Reject: ${rsp[*]}"
read_bytes 52 >/dev/null
send_pdu "40 80 00 00 00 00 00 00 $(zeros 8) $(be32 8) ff ff ff ff $(be32 $((CMDSN + 1))) $(zeros 20)" ""
rsp=($(read_bytes 48))
[ "${rsp[0]}" = 20 ] && [ "${rsp[19]}" = 08 ] || xi_fail "no NOP-In after the second digest error: ${rsp[*]}"
[ "${rsp[28]}${rsp[29]}${rsp[30]}${rsp[31]}" = "$(printf %08x $((CMDSN + 1)))" ] ||
	xi_fail "ExpCmdSN ${rsp[*]:28:4} after a refused NOP-Out at CmdSN $CMDSN, want $((CMDSN + 1))"
exec 3>&-

kill -0 "$XT_PID" || xi_fail "xtgtd died"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
