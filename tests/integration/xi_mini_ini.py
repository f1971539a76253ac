#!/usr/bin/env python3
"""A minimal iSCSI initiator for the xtgtadm tests: one session (no CHAP, no
digests, RFC 7143 login straight to the operational stage), then the SCSI
commands the arguments name, in order, on that one I_T nexus:

  tur          TEST UNIT READY
  rc16         READ CAPACITY(16): prints the capacity in bytes
  luns         REPORT LUNS: prints the LUN numbers
  sense        REQUEST SENSE: prints the KEY/ASC/ASCQ it returns
  wait:FILE    wait (at most 30 s) until FILE exists
  mark:FILE    create FILE

Each command prints one line: "NAME STATUS KEY/ASC/ASCQ [VALUE]", e.g.
"rc16 0x02 6/2a/09" or "rc16 0x00 0/00/00 33554432". Exit 0 once all ran.
libiscsi's tools open a new session per run, so a unit attention raised for
an existing nexus can only be seen this way.
"""
import os
import socket
import struct
import sys
import time

host, port, target, lun = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
steps = sys.argv[5:]
INITIATOR = "iqn.2026-11.org.xiscsi:mini-initiator"

sock = socket.create_connection((host, port), timeout=20)


def recv_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise SystemExit("mini-initiator: connection closed by the target")
        buf += chunk
    return buf


def recv_pdu():
    bhs = recv_exact(48)
    ahs = bhs[4] * 4
    dsl = int.from_bytes(bhs[5:8], "big")
    recv_exact(ahs)
    data = recv_exact((dsl + 3) & ~3)[:dsl]
    return bhs, data


def login():
    keys = [
        "InitiatorName=" + INITIATOR, "TargetName=" + target, "SessionType=Normal",
        "HeaderDigest=None", "DataDigest=None", "ErrorRecoveryLevel=0",
        "InitialR2T=Yes", "ImmediateData=No", "MaxRecvDataSegmentLength=65536",
        "MaxBurstLength=262144", "FirstBurstLength=65536", "MaxOutstandingR2T=1",
        "MaxConnections=1", "DataPDUInOrder=Yes", "DataSequenceInOrder=Yes",
        "DefaultTime2Wait=0", "DefaultTime2Retain=0",
    ]
    data = ("\0".join(keys) + "\0").encode()
    for _ in range(5):
        bhs = bytearray(48)
        bhs[0] = 0x43  # Login Request, immediate
        bhs[1] = 0x80 | (1 << 2) | 3  # T, CSG operational, NSG full feature
        bhs[5:8] = len(data).to_bytes(3, "big")
        bhs[8:14] = bytes([0x80, 0, 0, 0x12, 0x34, 0x56])  # ISID, random format
        sock.sendall(bytes(bhs) + data + b"\0" * (-len(data) % 4))
        rsp, got = recv_pdu()
        if rsp[36] != 0:
            raise SystemExit("mini-initiator: login refused, status %02x%02x" % (rsp[36], rsp[37]))
        if rsp[1] & 0x80 and rsp[1] & 3 == 3:
            return struct.unpack(">III", rsp[24:36])
        # Answer what the target offered on its own (RFC 7143 6.2), with its values.
        offered = [k for k in got.split(b"\0") if k and not k.startswith(
            (b"TargetPortalGroupTag=", b"MaxRecvDataSegmentLength=", b"TargetAlias="))]
        data = b"".join(k + b"\0" for k in offered)
    raise SystemExit("mini-initiator: the login did not finish")


statsn, cmdsn, _ = login()
itt = 1


def command(cdb, alloc):
    global itt, statsn, cmdsn
    bhs = bytearray(48)
    bhs[0] = 0x01
    bhs[1] = 0x80 | (0x40 if alloc else 0) | 1
    bhs[8:16] = bytes([0, lun, 0, 0, 0, 0, 0, 0]) if lun < 256 else bytes(
        [0x40 | (lun >> 8), lun & 0xff, 0, 0, 0, 0, 0, 0])
    struct.pack_into(">IIII", bhs, 16, itt, alloc, cmdsn, statsn + 1)
    bhs[32:32 + len(cdb)] = cdb
    sock.sendall(bytes(bhs))
    itt += 1
    cmdsn += 1
    data = b""
    while True:
        rsp, seg = recv_pdu()
        op = rsp[0] & 0x3f
        if op == 0x25:  # Data-In
            data += seg
            if rsp[1] & 0x01:
                statsn = struct.unpack(">I", rsp[24:28])[0]
                return rsp[3], b"", data
        elif op == 0x21:  # SCSI Response
            statsn = struct.unpack(">I", rsp[24:28])[0]
            sense = b""
            if len(seg) >= 2:
                sense = seg[2:2 + int.from_bytes(seg[0:2], "big")]
            return rsp[3], sense, data


def sense_text(sense):
    if len(sense) >= 14 and sense[0] & 0x7f in (0x70, 0x71):
        return "%x/%02x/%02x" % (sense[2] & 0x0f, sense[12], sense[13])
    if len(sense) >= 4 and sense[0] & 0x7f in (0x72, 0x73):
        return "%x/%02x/%02x" % (sense[1] & 0x0f, sense[2], sense[3])
    return "0/00/00"


for step in steps:
    if step.startswith("wait:"):
        deadline = time.time() + 30
        while not os.path.exists(step[5:]):
            if time.time() > deadline:
                raise SystemExit("mini-initiator: %s never came" % step[5:])
            time.sleep(0.05)
        continue
    if step.startswith("mark:"):
        open(step[5:], "w").close()
        continue
    value = ""
    if step == "tur":
        status, sense, data = command(bytes(6), 0)
    elif step == "rc16":
        status, sense, data = command(bytes([0x9e, 0x10] + [0] * 8 + [0, 0, 0, 32, 0, 0]), 32)
        if status == 0 and len(data) >= 12:
            last, bl = struct.unpack(">QI", data[0:12])
            value = " %d" % ((last + 1) * bl)
    elif step == "sense":
        status, sense, data = command(bytes([0x03, 0, 0, 0, 252, 0]), 252)
        value = " " + sense_text(data)
    elif step == "luns":
        status, sense, data = command(bytes([0xa0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0]), 4096)
        if status == 0 and len(data) >= 8:
            n = int.from_bytes(data[0:4], "big") // 8
            value = " " + ",".join(str(int.from_bytes(data[8 + 8 * i:10 + 8 * i], "big") & 0x3fff)
                                   for i in range(n) if 16 + 8 * i <= len(data))
    else:
        raise SystemExit("mini-initiator: unknown step " + step)
    print("%s 0x%02x %s%s" % (step, status, sense_text(sense), value), flush=True)

# Logout (RFC 7143 11.14): close the session.
bhs = bytearray(48)
bhs[0] = 0x46
bhs[1] = 0x80
struct.pack_into(">III", bhs, 16, itt, 0, 0)
struct.pack_into(">II", bhs, 24, cmdsn, statsn + 1)
sock.sendall(bytes(bhs))
try:
    recv_pdu()
except SystemExit:
    pass
sock.close()
