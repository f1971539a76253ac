#!/bin/bash
# Persistent reservations made with APTPL outlive xtgtd (SPC-5 5.14.5): an
# initiator port registers with APTPL and takes a WRITE EXCLUSIVE
# reservation on a file-backed LUN; xtgtd stops and starts again; the same
# initiator port (same name and ISID) finds its key and the reservation,
# and a second initiator's WRITE meets RESERVATION CONFLICT. Without APTPL
# nothing is kept. The SCSI commands go through a small initiator below
# (libiscsi's tools have no PERSISTENT RESERVE OUT).
. "$(dirname "$0")/lib.sh"

xi_need_cmd python3 python3
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

IQN=iqn.2026-11.org.xiscsi:aptpl
IMG=$XI_TMP/disk.img
truncate -s 8M "$IMG"

cat >"$XI_TMP/pr.py" <<'EOF'
# pr.py HOST PORT TARGET INITIATOR ISID_HEX STEP...: one session, one line per
# step: "STEP STATUS [VALUE]". Steps: register-aptpl:KEY, register:KEY
# (re-register the same key with APTPL clear), reserve-we:KEY, keys,
# reservation, write. Data-out goes as immediate data (24 bytes or one block).
import socket, struct, sys

host, port, target, initiator, isid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], bytes.fromhex(sys.argv[5])
sock = socket.create_connection((host, port), timeout=20)

def rx(n):
    b = b""
    while len(b) < n:
        c = sock.recv(n - len(b))
        if not c:
            raise SystemExit("pr.py: connection closed")
        b += c
    return b

def pdu():
    bhs = rx(48)
    dsl = int.from_bytes(bhs[5:8], "big")
    rx(bhs[4] * 4)
    return bhs, rx((dsl + 3) & ~3)[:dsl]

keys = ["InitiatorName=" + initiator, "TargetName=" + target, "SessionType=Normal",
        "HeaderDigest=None", "DataDigest=None", "ErrorRecoveryLevel=0", "InitialR2T=No",
        "ImmediateData=Yes", "MaxRecvDataSegmentLength=65536", "MaxBurstLength=262144",
        "FirstBurstLength=65536", "MaxOutstandingR2T=1", "MaxConnections=1",
        "DataPDUInOrder=Yes", "DataSequenceInOrder=Yes", "DefaultTime2Wait=0",
        "DefaultTime2Retain=0"]
data = ("\0".join(keys) + "\0").encode()
for _ in range(5):
    bhs = bytearray(48)
    bhs[0] = 0x43
    bhs[1] = 0x80 | (1 << 2) | 3
    bhs[5:8] = len(data).to_bytes(3, "big")
    bhs[8:14] = isid
    sock.sendall(bytes(bhs) + data + b"\0" * (-len(data) % 4))
    rsp, got = pdu()
    if rsp[36]:
        raise SystemExit("pr.py: login refused %02x%02x" % (rsp[36], rsp[37]))
    if rsp[1] & 0x80 and rsp[1] & 3 == 3:
        break
    data = b"".join(k + b"\0" for k in got.split(b"\0") if k and not k.startswith(
        (b"TargetPortalGroupTag=", b"MaxRecvDataSegmentLength=", b"TargetAlias=")))
statsn, cmdsn = struct.unpack(">II", rsp[24:32])
itt = 1

def command(cdb, alloc=0, out=b""):
    global itt, statsn, cmdsn
    bhs = bytearray(48)
    bhs[0] = 0x01
    bhs[1] = 0x80 | (0x40 if alloc else 0) | (0x20 if out else 0) | 1
    bhs[5:8] = len(out).to_bytes(3, "big")
    struct.pack_into(">IIII", bhs, 16, itt, alloc or len(out), cmdsn, statsn + 1)
    bhs[32:32 + len(cdb)] = cdb
    sock.sendall(bytes(bhs) + out + b"\0" * (-len(out) % 4))
    itt += 1
    cmdsn += 1
    got = b""
    while True:
        rsp, seg = pdu()
        if rsp[0] & 0x3f == 0x25:
            got += seg
            if rsp[1] & 0x01:
                statsn = struct.unpack(">I", rsp[24:28])[0]
                return rsp[3], got
        elif rsp[0] & 0x3f == 0x21:
            statsn = struct.unpack(">I", rsp[24:28])[0]
            return rsp[3], got

def prout(sa, typ, key, sark, aptpl):
    p = struct.pack(">QQ4xB3x", key, sark, 1 if aptpl else 0)
    return command(bytes([0x5f, sa, typ, 0, 0, 0, 0, 0, 24, 0]), out=p)

command(bytes(6))  # the power-on unit attention
for step in sys.argv[6:]:
    name, _, arg = step.partition(":")
    value = ""
    if name == "register-aptpl":
        status, _ = prout(0x06, 0, 0, int(arg, 16), True)
    elif name == "register":
        status, _ = prout(0x00, 0, int(arg, 16), int(arg, 16), False)
    elif name == "reserve-we":
        status, _ = prout(0x01, 0x01, int(arg, 16), 0, False)
    elif name == "keys":
        status, d = command(bytes([0x5e, 0, 0, 0, 0, 0, 0, 0, 64, 0]), 64)
        n = int.from_bytes(d[4:8], "big") // 8 if len(d) >= 8 else 0
        value = " " + ",".join("%x" % int.from_bytes(d[8 + 8 * i:16 + 8 * i], "big") for i in range(n))
    elif name == "reservation":
        status, d = command(bytes([0x5e, 1, 0, 0, 0, 0, 0, 0, 64, 0]), 64)
        if len(d) >= 24 and int.from_bytes(d[4:8], "big"):
            value = " %x/%d" % (int.from_bytes(d[8:16], "big"), d[21] & 0x0f)
        else:
            value = " none"
    elif name == "write":
        status, _ = command(bytes([0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0]), out=bytes(512))
    else:
        raise SystemExit("pr.py: unknown step " + step)
    print("%s 0x%02x%s" % (step, status, value), flush=True)
EOF

PORT=$(xi_free_port)
start() {
	xi_bg "xtgtd$1" "$XTGTD" -f --listen "127.0.0.1:$PORT" --target "$IQN" --lun "file:$IMG"
	XT_PID=$XI_LAST_PID
	xi_wait_port 127.0.0.1 "$PORT"
}
pr() {
	timeout 30 python3 "$XI_TMP/pr.py" 127.0.0.1 "$PORT" "$IQN" "$@" 2>&1
}
A=iqn.2026-11.org.xiscsi:aptpl-a
B=iqn.2026-11.org.xiscsi:aptpl-b
ISID_A=400000000a01
ISID_B=400000000b01

start 1
out=$(pr "$A" "$ISID_A" register-aptpl:abc1 reserve-we:abc1 reservation)
grep -qx 'reservation 0x00 abc1/1' <<<"$out" || xi_fail "register with APTPL, reserve: $out"
[ -s "$IMG.pr" ] || xi_fail "no $IMG.pr after a registration with APTPL"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"

start 2
out=$(pr "$A" "$ISID_A" keys reservation write)
grep -qx 'keys 0x00 abc1' <<<"$out" && grep -qx 'reservation 0x00 abc1/1' <<<"$out" &&
	grep -qx 'write 0x00' <<<"$out" || xi_fail "after the restart, the holder: $out"
out=$(pr "$B" "$ISID_B" write)
grep -qx 'write 0x18' <<<"$out" || xi_fail "after the restart, another initiator's WRITE: $out"
echo "ok: registration and WRITE EXCLUSIVE reservation kept across a restart"
# The same key registered again with APTPL clear: nothing kept any more.
out=$(pr "$A" "$ISID_A" register:abc1)
grep -qx 'register:abc1 0x00' <<<"$out" || xi_fail "REGISTER with APTPL clear: $out"
[ ! -e "$IMG.pr" ] || xi_fail "$IMG.pr still there with APTPL clear"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"

start 3
out=$(pr "$A" "$ISID_A" keys reservation)
grep -qx 'keys 0x00 ' <<<"$out" && grep -qx 'reservation 0x00 none' <<<"$out" ||
	xi_fail "after a restart with APTPL clear: $out"
echo "ok: nothing kept once APTPL is clear"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"
exit 0
