#!/bin/bash
# Full feature phase edge cases driven byte by byte over bash's /dev/tcp,
# each answered per RFC 7143 while an iscsi-perf session keeps working:
# CmdSN numbers used by PDUs that are not queued (NOP-Out, TMF, Logout,
# Text, aborted and rejected commands) must not stall the window (3.2.2.1,
# 11.5.1); Data-Out sequences that end early, overrun or are rejected
# (11.7, 11.8); reserved tags; the per-session buffer budget.
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-perf libiscsi-bin
xi_need_cmd od coreutils
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

PORT=$(xi_free_port)
IQN=iqn.2026-11.org.xiscsi:ffp
IQN2=iqn.2026-11.org.xiscsi:ffp-chap
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --target "$IQN" --lun ram:64M \
	--target "$IQN2" --chap 'alice%alice-secret-12' --lun ram:1M
XT_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$PORT"
URL=iscsi://127.0.0.1:$PORT/$IQN/0

# A healthy session runs beside all of it.
timeout 120 iscsi-perf -m 8 -t 10 "$URL" >"$XI_TMP/perf.log" 2>&1 &
PERF=$!

hex() {
	local b s=""
	for b in "$@"; do s="$s\\x$b"; done
	printf '%s' "$s"
}
zeros() { local i; for ((i = 0; i < $1; i++)); do printf '00 '; done; }
be32() { printf '%02x %02x %02x %02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
be24() { printf '%02x %02x %02x' $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
read_bytes() { timeout "${2:-5}" dd bs=1 count="$1" status=none <&3 | od -An -v -tx1 | tr -s ' \n' ' '; }
# send_pdu "BHS HEX BYTES (48)" DATA: text data segment, \001 for NUL.
send_pdu() {
	local data=$2 len=${#2}
	local pad=$(((4 - len % 4) % 4))
	printf "$(hex $1)" >&3
	[ "$len" -gt 0 ] && printf '%s' "$data" | tr '\001' '\000' >&3
	[ "$pad" -gt 0 ] && printf "$(hex $(zeros $pad))" >&3
	return 0
}
# send_zeros N: a data segment of N zero bytes (N a multiple of 4).
send_zeros() { head -c "$1" /dev/zero >&3; }
# read_pdu [timeout]: HDR (48 hex bytes), DATA (text, NUL as newline).
# The target's NOP-In pings are answered and skipped.
read_pdu() {
	local len pad
	HDR=($(read_bytes 48 "${1:-5}"))
	while [ "${#HDR[@]}" -eq 48 ] && [ "${HDR[0]}" = 20 ] &&
		[ "${HDR[16]}${HDR[17]}${HDR[18]}${HDR[19]}" = ffffffff ]; do
		send_pdu "40 80 00 00 00 00 00 00 $(zeros 8) ff ff ff ff ${HDR[*]:20:4} $(be32 $CMDSN) $(zeros 20)" ""
		HDR=($(read_bytes 48 "${1:-5}"))
	done
	[ "${#HDR[@]}" -eq 48 ] || return 1
	len=$((16#${HDR[5]}${HDR[6]}${HDR[7]}))
	pad=$(((4 - len % 4) % 4))
	DATA=""
	if [ $((len + pad)) -gt 0 ]; then
		timeout 5 dd bs=1 count=$((len + pad)) status=none <&3 >"$XI_TMP/seg"
		DATA=$(head -c "$len" "$XI_TMP/seg" | tr '\000' '\n')
	fi
	return 0
}
itt_of() { echo "${HDR[16]}${HDR[17]}${HDR[18]}${HDR[19]}"; }
hexn() { printf '%08x' "$1"; }
field32() { echo $((16#${HDR[$1]}${HDR[$1 + 1]}${HDR[$1 + 2]}${HDR[$1 + 3]})); }
# expect NAME OPCODE ITT: the next PDU has this opcode and ITT.
expect() {
	read_pdu || xi_fail "$1: no answer (the CmdSN window stalled?)"
	[ "${HDR[0]}" = "$2" ] && [ "$(itt_of)" = "$(hexn "$3")" ] ||
		xi_fail "$1: got opcode ${HDR[0]} ITT $(itt_of), want $2 ITT $(hexn "$3"): ${HDR[*]}"
}
# login KEYS: a one-step login (T=1, CSG=1, NSG=3) with these keys.
ISID=10
login() {
	local keys=$1
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	ISID=$((ISID + 1))
	CMDSN=1
	send_pdu "43 87 00 00 00 $(be24 ${#keys}) 80 00 00 00 00 $(printf %02x $ISID) 00 00 $(be32 1) 00 00 00 00 $(be32 1) $(be32 0) $(zeros 16)" "$keys"
	read_pdu || xi_fail "no Login Response"
	local i
	for i in 1 2 3 4; do
		[ "${HDR[0]}" = 23 ] && [ "${HDR[36]}" = 00 ] || xi_fail "login failed: ${HDR[*]:0:40} $DATA"
		[ "${HDR[1]}" = 87 ] && return 0
		# The target proposed keys of its own: take its values.
		keys=$(printf '%s\n' "$DATA" | grep = | tr '\n' '\001')
		send_pdu "43 87 00 00 00 $(be24 ${#keys}) 80 00 00 00 00 $(printf %02x $ISID) 00 00 $(be32 1) 00 00 00 00 $(be32 1) $(be32 $(($(field32 24) + 1))) $(zeros 16)" "$keys"
		read_pdu || xi_fail "no Login Response"
	done
	xi_fail "login did not end: ${HDR[*]:0:8} $DATA"
}
NORMAL="InitiatorName=iqn.2026-11.org.xiscsi:ffp-bytes"$'\x01'"TargetName=$IQN"$'\x01'"SessionType=Normal"$'\x01'"HeaderDigest=None"$'\x01'"DataDigest=None"$'\x01'
# Offered by us, so that the target only answers: with InitialR2T=No and
# ImmediateData=Yes every kind of write data can be sent.
NORMAL="$NORMAL""InitialR2T=No"$'\x01'"ImmediateData=Yes"$'\x01'"FirstBurstLength=65536"$'\x01'"MaxBurstLength=65536"$'\x01'"MaxOutstandingR2T=1"$'\x01'"MaxRecvDataSegmentLength=262144"$'\x01'"ErrorRecoveryLevel=0"$'\x01'
# scsi_cmd IMM(0/40) FLAGS ITT EDTL CMDSN CDB-HEX [DSL]: a SCSI Command.
scsi_cmd() {
	local cdb="$6" n
	n=$(wc -w <<<"$cdb")
	printf "$(hex $(printf %02x $((0x01 | $1))) $2 00 00 00 $(be24 "${7:-0}") $(zeros 8) $(be32 "$3") $(be32 "$4") $(be32 "$5") $(zeros 4) $cdb $(zeros $((16 - n))))" >&3
}
TUR="00 00 00 00 00 00"
# tur ITT CMDSN: a non-immediate TEST UNIT READY.
tur() { scsi_cmd 0 81 "$1" 0 "$2" "$TUR"; }
# ping ITT: an immediate NOP-Out; its NOP-In is the next PDU when nothing
# else was answered in between.
ping_() { send_pdu "40 80 00 00 00 00 00 00 $(zeros 8) $(be32 "$1") ff ff ff ff $(be32 $CMDSN) $(zeros 20)" ""; }
# tmf IMM FUNC ITT REFITT CMDSN REFCMDSN
tmf() {
	printf "$(hex $(printf %02x $((0x02 | $1))) $(printf %02x $((0x80 | $2))) 00 00 00 00 00 00 $(zeros 8) $(be32 "$3") $(be32 "$4") $(be32 "$5") $(zeros 4) $(be32 "$6") $(zeros 12))" >&3
}

# ---- T3: a non-immediate NOP-Out ahead of ExpCmdSN, in the window, is
# answered at once; its CmdSN must count as used, or the commands after it
# wait forever.
login "$NORMAL"
send_pdu "00 80 00 00 00 00 00 00 $(zeros 8) $(be32 10) ff ff ff ff $(be32 2) $(zeros 20)" ""
expect "NOP-Out at CmdSN 2" 20 10
tur 11 1
expect "TUR at CmdSN 1" 21 11
tur 12 3
expect "TUR at CmdSN 3, after the NOP-Out's 2" 21 12
[ "$(field32 28)" = 4 ] || xi_fail "ExpCmdSN $(field32 28) after CmdSN 3, want 4"

# ---- T4: ABORT TASK on a command still queued for its CmdSN turn: its
# CmdSN counts as received (11.5.1).
tur 20 5
tmf 64 1 21 20 4 5
expect "ABORT TASK of a queued command" 22 21
[ "${HDR[2]}" = 00 ] || xi_fail "ABORT TASK of a queued command: response ${HDR[2]}"
tur 22 4
expect "TUR at CmdSN 4" 21 22
tur 23 6
expect "TUR at CmdSN 6, after the aborted 5" 21 23
# The never-received path: a TMF at CmdSN 8 aborts RefCmdSN 7 that never
# came; both numbers are used, and 7 arriving late is a duplicate.
tmf 0 1 30 99 8 7
expect "ABORT TASK of a command never received" 22 30
[ "${HDR[2]}" = 00 ] || xi_fail "ABORT TASK never received: response ${HDR[2]}, want 00"
tur 31 9
expect "TUR at CmdSN 9, after the TMF's 8 and the aborted 7" 21 31
tur 99 7
ping_ 32
expect "the late command 7 is ignored" 20 32
# A non-immediate Logout ahead of ExpCmdSN (10 missing) is answered too.
printf "$(hex 06 81 00 00 00 00 00 00 $(zeros 8) $(be32 40) 00 00 00 00 $(be32 11) $(zeros 20))" >&3
expect "Logout at CmdSN 11" 26 40
exec 3>&-

# ---- T5: Text in a discovery session goes through the window, and a
# rejected SCSI Command still uses its CmdSN (11.17.1).
login "InitiatorName=iqn.2026-11.org.xiscsi:ffp-disc"$'\x01'"SessionType=Discovery"$'\x01'"HeaderDigest=None"$'\x01'"DataDigest=None"$'\x01'
scsi_cmd 0 81 50 0 1 "$TUR"
expect "SCSI Command in discovery" 3f 0xffffffff
read_bytes 0 >/dev/null
[ "${HDR[2]}" = 04 ] || xi_fail "SCSI Command in discovery: reason ${HDR[2]}, want 04"
ST="SendTargets=All"$'\x01'
send_pdu "04 80 00 00 00 $(be24 ${#ST}) $(zeros 8) $(be32 51) ff ff ff ff $(be32 2) $(zeros 20)" "$ST"
expect "Text at CmdSN 2" 24 51
[ "$(field32 28)" = 3 ] || xi_fail "ExpCmdSN $(field32 28) after Text 2, want 3"
# Outside the window (MaxCmdSN is ExpCmdSN + queue depth - 1): ignored.
send_pdu "04 80 00 00 00 $(be24 ${#ST}) $(zeros 8) $(be32 52) ff ff ff ff $(be32 100000) $(zeros 20)" "$ST"
ping_ 53
expect "Text outside the window is ignored" 20 53
exec 3>&-

# write10 ITT EDTL CMDSN FLAGS [DSL]: WRITE(10) of EDTL bytes at LBA 0.
write10() {
	local blocks=$(($2 / 512))
	scsi_cmd 0 "$4" "$1" "$2" "$3" "2a 00 00 00 00 00 00 $(printf '%02x %02x' $((blocks >> 8 & 255)) $((blocks & 255))) 00" "${5:-0}"
}
# data_out ITT TTT-HEX DATASN OFFSET LEN FLAGS: a Data-Out of LEN zeros.
data_out() {
	printf "$(hex 05 "$6" 00 00 00 $(be24 "$5") $(zeros 8) $(be32 "$1") $2 $(zeros 8) $(zeros 4) $(be32 "$3") $(be32 "$4") $(zeros 4))" >&3
	send_zeros "$5"
}
ttt_of() { echo "${HDR[20]} ${HDR[21]} ${HDR[22]} ${HDR[23]}"; }
expect_reject() {
	expect "$1" 3f 0xffffffff
	[ "${HDR[2]}" = "$2" ] || xi_fail "$1: Reject reason ${HDR[2]}, want $2"
}

login "$NORMAL"
tur 1 1
expect "first TUR (unit attention)" 21 1
CMDSN=2

# ---- T9: ITT 0xffffffff is reserved (11.2.1.8): Reject, and the
# command's CmdSN is still used.
scsi_cmd 0 81 0xffffffff 0 $CMDSN "$TUR"
CMDSN=$((CMDSN + 1))
expect_reject "SCSI Command with the reserved ITT" 04
tur 2 $CMDSN
CMDSN=$((CMDSN + 1))
expect "TUR after the reserved-ITT command" 21 2

# ---- T7: immediate data filling FirstBurstLength with F clear: the
# unsolicited burst is over, the rest is solicited by R2T (13.14).
write10 60 131072 $CMDSN 21 65536
send_zeros 65536
CMDSN=$((CMDSN + 1))
expect "write with FirstBurstLength of immediate data, F clear" 31 60
[ "$(field32 40)" = 65536 ] || xi_fail "R2T offset $(field32 40), want 65536"
data_out 60 "$(ttt_of)" 0 65536 65536 80
expect "write completed by the R2T's data" 21 60
[ "${HDR[3]}" = 00 ] || xi_fail "write status ${HDR[3]}"

# The same with unsolicited Data-Out: FirstBurstLength reached, F clear.
write10 59 131072 $CMDSN 21
CMDSN=$((CMDSN + 1))
data_out 59 "ff ff ff ff" 0 0 65536 00
expect "unsolicited Data-Out filling FirstBurstLength, F clear" 31 59
[ "$(field32 40)" = 65536 ] || xi_fail "R2T offset $(field32 40), want 65536"
data_out 59 "$(ttt_of)" 0 65536 65536 80
expect "write completed after the unsolicited burst" 21 59
[ "${HDR[3]}" = 00 ] || xi_fail "write status ${HDR[3]}"

# ---- T8: a Data-Out rejected (wrong TTT) does not move DataSN on: the
# right one with the same DataSN is taken.
write10 61 8192 $CMDSN a1
CMDSN=$((CMDSN + 1))
expect "write for the DataSN test" 31 61
TTT=$(ttt_of)
data_out 61 "7f 7f 7f 7f" 0 0 4096 00
expect_reject "Data-Out with a wrong TTT" 04
data_out 61 "$TTT" 0 0 4096 00
data_out 61 "$TTT" 1 4096 4096 80
expect "write after a rejected Data-Out" 21 61
[ "${HDR[3]}" = 00 ] || xi_fail "write after a rejected Data-Out: status ${HDR[3]}, want 00"

# ---- T6: F set before the R2T's range is filled: Reject, and the
# command ends with CHECK CONDITION (ERL 0 cannot ask for the gap again).
write10 62 8192 $CMDSN a1
CMDSN=$((CMDSN + 1))
expect "write for the early-F test" 31 62
data_out 62 "$(ttt_of)" 0 0 4096 80
expect_reject "Data-Out with F before the R2T's end" 04
expect "write with an unfilled R2T" 21 62
[ "${HDR[3]}" = 02 ] || xi_fail "write with an unfilled R2T: status ${HDR[3]}, want 02"

# ---- Data beyond the burst (11.7.5, 13.13, 13.14): Reject, then the
# initiator aborts the task.
write10 63 131072 $CMDSN a1
CMDSN=$((CMDSN + 1))
expect "write for the R2T overrun test" 31 63
[ "$(field32 44)" = 65536 ] || xi_fail "R2T length $(field32 44), want MaxBurstLength 65536"
data_out 63 "$(ttt_of)" 0 0 69632 80
expect_reject "Data-Out past the R2T's range" 04
tmf 64 1 64 63 $CMDSN $((CMDSN - 1))
expect "ABORT TASK after the overrun" 22 64
write10 65 131072 $CMDSN 21
CMDSN=$((CMDSN + 1))
data_out 65 "ff ff ff ff" 0 0 69632 80
expect_reject "unsolicited Data-Out past FirstBurstLength" 04
tmf 64 1 66 65 $CMDSN $((CMDSN - 1))
expect "ABORT TASK after the unsolicited overrun" 22 66

# ---- Wrong CmdSN (3.2.2.1): outside the window, or already used, the
# command is silently ignored.
tur 70 $((CMDSN + 100000))
tur 71 $((CMDSN - 1))
ping_ 72
expect "commands with a wrong CmdSN are ignored" 20 72
tur 73 $CMDSN
CMDSN=$((CMDSN + 1))
expect "TUR after the wrong CmdSNs" 21 73
exec 3>&-

# ---- T1: task buffers are bounded per session (256 MiB by default): a
# command past the budget is answered TASK SET FULL, nothing crashes.
login "$NORMAL"
for i in 1 2 3 4; do
	write10 $((80 + i)) 67108864 $CMDSN a1
	CMDSN=$((CMDSN + 1))
	expect "64 MiB write $i" 31 $((80 + i))
done
write10 85 67108864 $CMDSN a1
CMDSN=$((CMDSN + 1))
expect "64 MiB write past the budget" 21 85
[ "${HDR[3]}" = 28 ] || xi_fail "write past the budget: status ${HDR[3]}, want TASK SET FULL (28)"
# Buffers over 1 MiB are freed when their task ends: after ABORT TASK SET
# the tasks that held them serve four queued TESTs UNIT READY (CmdSN ahead
# of the write's), and a new 64 MiB write fits the budget again.
tmf 64 2 86 0xffffffff $CMDSN 0
expect "ABORT TASK SET" 22 86
for i in 1 2 3 4; do tur $((86 + i)) $((CMDSN + i)); done
write10 91 67108864 $CMDSN a1
CMDSN=$((CMDSN + 5))
got=""
for i in 1 2 3 4 5; do
	read_pdu || xi_fail "after ABORT TASK SET: answer $i missing"
	got="$got ${HDR[0]}/$(itt_of)/${HDR[3]}"
done
grep -q " 31/0000005b/" <<<"$got" || xi_fail "64 MiB write after the abort not solicited: $got"
exec 3>&-

# ---- A login that skips stages (11.12, 11.13.5): initiator error.
# login_refused NAME FLAGS KEYS
login_refused() {
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	send_pdu "43 $2 00 00 00 $(be24 ${#3}) 80 00 00 00 00 77 00 00 $(be32 1) 00 00 00 00 $(be32 1) $(be32 0) $(zeros 16)" "$3"
	read_pdu || xi_fail "$1: no Login Response"
	[ "${HDR[0]}" = 23 ] && [ "${HDR[36]}" = 02 ] ||
		xi_fail "$1: want a login reject with class 02 (initiator error): ${HDR[*]:0:40}"
	exec 3>&-
}
login_refused "CSG=FullFeature" 8f "$NORMAL"
CHAPKEYS="InitiatorName=iqn.2026-11.org.xiscsi:ffp-bytes"$'\x01'"TargetName=$IQN2"$'\x01'"SessionType=Normal"$'\x01'
login_refused "operational stage first when CHAP is required" 87 "$CHAPKEYS"
login_refused "security straight to full feature, AuthMethod=None" 83 "$CHAPKEYS""AuthMethod=None"$'\x01'

kill -0 "$XT_PID" || xi_fail "xtgtd died"
wait "$PERF" || xi_fail "iscsi-perf failed beside the byte-level sessions: $(tail -c 400 "$XI_TMP/perf.log")"
grep -q finished "$XI_TMP/perf.log" || xi_fail "iscsi-perf did not finish"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
