#!/usr/bin/env python3
"""A scripted iSCSI target that misbehaves on purpose, to see libxiscsi
treat RFC 7143 protocol errors as errors: one LUN of 1 MiB, no CHAP, no
digests, InitialR2T=Yes, ImmediateData=No, MaxOutstandingR2T=1.

  ini_fake_tgt.py PORT SCENARIO LOGFILE

Scenarios (what happens to the first SCSI command it applies to, a write for
r2tsn and reject, on the first connection; all else is served correctly):
  ou      SCSI Response with both residual Overflow and Underflow set
  r2tsn   an R2T whose R2TSN is 1, not 0
  reject  Reject (data digest error) of the first Data-Out
  async4  Asynchronous Message event 4 (renegotiate), command unanswered

One line per event goes to LOGFILE ("login N", "dataout", "eof N").
Stops after 20 s or 4 connections.
"""
import socket
import struct
import sys
import time

port, scenario, logfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
BLOCKS, BS = 2048, 512
disk = bytearray(BLOCKS * BS)
log = open(logfile, "a", buffering=1)
deadline = time.time() + 20


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def recv_pdu(c):
    bhs = recv_exact(c, 48)
    ahs = bhs[4] * 4
    dsl = int.from_bytes(bhs[5:8], "big")
    recv_exact(c, ahs)
    data = recv_exact(c, (dsl + 3) & ~3)[:dsl]
    return bhs, data


class Conn:
    def __init__(self, c):
        self.c = c
        self.statsn = 1
        self.misbehaved = False

    def send(self, bhs, data=b"", advance=True):
        bhs[5:8] = len(data).to_bytes(3, "big")
        bhs[24:28] = self.statsn.to_bytes(4, "big")
        if advance:
            self.statsn += 1
        bhs[28:32] = self.expcmdsn.to_bytes(4, "big")
        bhs[32:36] = (self.expcmdsn + 31).to_bytes(4, "big")
        self.c.sendall(bytes(bhs) + data + b"\0" * (-len(data) % 4))


KEYS = {
    "HeaderDigest": "None", "DataDigest": "None", "ErrorRecoveryLevel": "0",
    "InitialR2T": "Yes", "ImmediateData": "No", "MaxRecvDataSegmentLength": "8192",
    "MaxBurstLength": "262144", "FirstBurstLength": "65536", "MaxOutstandingR2T": "1",
    "MaxConnections": "1", "DataPDUInOrder": "Yes", "DataSequenceInOrder": "Yes",
    "DefaultTime2Wait": None, "DefaultTime2Retain": None, "IFMarker": "No", "OFMarker": "No",
    "AuthMethod": "None",
}


def login(k, req, data):
    k.expcmdsn = int.from_bytes(req[24:28], "big")
    while True:
        csg, nsg, transit = (req[1] >> 2) & 3, req[1] & 3, req[1] & 0x80
        keys = [kv.split("=", 1) for kv in data.decode().split("\0") if "=" in kv]
        out = ["TargetPortalGroupTag=1"] if csg != 3 else []
        for name, value in keys:
            if name in KEYS:  # None: the offered value (any result function takes it)
                out.append(name + "=" + (KEYS[name] or value))
        rsp = bytearray(48)
        rsp[0] = 0x23
        rsp[1] = req[1] & 0xcf | (csg << 2)
        rsp[8:14] = req[8:14]
        rsp[14:16] = (7).to_bytes(2, "big")  # TSIH
        rsp[16:20] = req[16:20]
        k.send(rsp, ("\0".join(out) + "\0").encode() if out else b"")
        if transit and nsg == 3:
            return
        req, data = recv_pdu(k.c)


def scsi_rsp(k, itt, status=0, flags=0x80, residual=0, data=b""):
    r = bytearray(48)
    r[0] = 0x21
    r[1] = flags
    r[3] = status
    r[16:20] = itt
    r[44:48] = residual.to_bytes(4, "big")
    k.send(r, data)


def data_in(k, itt, payload):
    d = bytearray(48)
    d[0] = 0x25
    d[1] = 0x81  # F, S
    d[16:20] = itt
    d[20:24] = b"\xff\xff\xff\xff"
    k.send(d, payload)


def r2t(k, itt, r2tsn, off, length):
    r = bytearray(48)
    r[0] = 0x31
    r[1] = 0x80
    r[16:20] = itt
    r[20:24] = (0x1000 + r2tsn).to_bytes(4, "big")
    r[36:40] = r2tsn.to_bytes(4, "big")
    r[40:44] = off.to_bytes(4, "big")
    r[44:48] = length.to_bytes(4, "big")
    k.send(r, advance=False)


def answer(k, cmd, bad):
    """Serve one SCSI command; bad: misbehave as the scenario says."""
    itt, cdb = cmd[16:20], cmd[32:48]
    edtl = int.from_bytes(cmd[20:24], "big")
    k.expcmdsn = int.from_bytes(cmd[24:28], "big") + 1
    op = cdb[0]
    if bad and scenario == "ou":
        k.misbehaved = True
        scsi_rsp(k, itt, flags=0x80 | 0x04 | 0x02, residual=4)
        return
    if bad and scenario == "async4":
        k.misbehaved = True
        a = bytearray(48)
        a[0] = 0x32
        a[1] = 0x80
        a[16:20] = b"\xff\xff\xff\xff"
        a[36] = 4
        a[38:40] = (0).to_bytes(2, "big")  # Parameter1
        a[42:44] = (5).to_bytes(2, "big")  # Parameter3: seconds to renegotiate
        k.send(a)
        return
    if op == 0x12:  # INQUIRY
        inq = bytearray(36)
        inq[2], inq[3], inq[4] = 5, 2, 31
        inq[8:16] = b"FAKE    "
        inq[16:32] = b"PROTO-ERR       "
        inq[32:36] = b"0001"
        if cdb[1] & 1:
            inq = bytearray([0, cdb[2], 0, 1, 0])
        data_in(k, itt, bytes(inq[:min(edtl, len(inq))]))
    elif op in (0x25, 0x9e):  # READ CAPACITY 10 / 16
        if op == 0x25:
            cap = struct.pack(">II", BLOCKS - 1, BS)
        else:
            cap = struct.pack(">QI", BLOCKS - 1, BS) + bytes(20)
        data_in(k, itt, cap[:edtl])
    elif op in (0x2a, 0x8a) and edtl:  # WRITE 10 / 16
        lba = int.from_bytes(cdb[2:6] if op == 0x2a else cdb[2:10], "big")
        if bad and scenario == "r2tsn":
            k.misbehaved = True
            r2t(k, itt, 1, 0, edtl)
        else:
            r2t(k, itt, 0, 0, edtl)
        got = b""
        while len(got) < edtl:
            do, data = recv_pdu(k.c)
            if do[0] & 0x3f != 0x05:
                raise SystemExit("fake target: wanted a Data-Out, got opcode %02x" % do[0])
            log.write("dataout\n")
            if bad and scenario == "reject":
                k.misbehaved = True
                rj = bytearray(48)
                rj[0] = 0x3f
                rj[1] = 0x80
                rj[2] = 0x02  # data digest error
                rj[16:20] = b"\xff\xff\xff\xff"
                k.send(rj, bytes(do))
                return
            got += data
        disk[lba * BS:lba * BS + edtl] = got
        scsi_rsp(k, itt)
    else:
        scsi_rsp(k, itt)


def serve(c, n):
    k = Conn(c)
    req, data = recv_pdu(c)
    login(k, req, data)
    log.write("login %d\n" % n)
    while True:
        pdu, data = recv_pdu(c)
        op = pdu[0] & 0x3f
        if op == 0x01:  # SCSI Command
            answer(k, pdu, n == 1 and not k.misbehaved)
        elif op == 0x00:  # NOP-Out
            k.expcmdsn = int.from_bytes(pdu[24:28], "big") + (0 if pdu[0] & 0x40 else 1)
            if pdu[16:20] != b"\xff\xff\xff\xff":
                n_in = bytearray(48)
                n_in[0], n_in[1] = 0x20, 0x80
                n_in[16:20] = pdu[16:20]
                n_in[20:24] = b"\xff\xff\xff\xff"
                k.send(n_in)
        elif op == 0x06:  # Logout
            lo = bytearray(48)
            lo[0], lo[1] = 0x26, 0x80
            lo[16:20] = pdu[16:20]
            k.send(lo)
            return


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(4)
log.write("listening\n")
for n in range(1, 5):
    srv.settimeout(max(0.1, deadline - time.time()))
    try:
        c, _ = srv.accept()
    except socket.timeout:
        break
    c.settimeout(max(0.1, deadline - time.time()))
    try:
        serve(c, n)
    except (EOFError, ConnectionError, socket.timeout):
        pass
    log.write("eof %d\n" % n)
    c.close()
