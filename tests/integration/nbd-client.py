#!/usr/bin/env python3
"""A raw NBD client for the tests of the NBD export (xiscsi-io nbd).

It speaks the protocol byte by byte so that it can send what libnbd and
qemu never send: malformed options, misaligned and oversized requests, bad
magic. Scenarios:

  nbd-client.py SOCKET protocol NAME SIZE   every check below; exit 1 at the first failure
  nbd-client.py SOCKET inflight N           N pipelined 64 KiB READs; prints "sent" once
                                            they are out, then counts replies until EOF:
                                            exit 0 only if every request got exactly one
"""
import os
import socket
import struct
import sys

NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
REPMAGIC = 0x0003E889045565A9
REQ_MAGIC = 0x25609513
SIMPLE_MAGIC = 0x67446698
STRUCT_MAGIC = 0x668E33EF

OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_INFO, OPT_GO, OPT_STRUCTURED = 1, 2, 3, 6, 7, 8
REP_ACK, REP_SERVER, REP_INFO = 1, 2, 3
ERR = 0x80000000
REP_ERR_UNSUP, REP_ERR_INVALID, REP_ERR_UNKNOWN, REP_ERR_TOO_BIG = ERR + 1, ERR + 3, ERR + 6, ERR + 9
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM, CMD_WRITE_ZEROES = 0, 1, 2, 3, 4, 6
FLAG_FUA = 1
EPERM, EIO, EINVAL, ENOSPC, ESHUTDOWN = 1, 5, 22, 28, 108
F_READ_ONLY, F_SEND_TRIM = 1 << 1, 1 << 5


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(20)
        self.s.connect(path)
        self.handle = 0

    def recv(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise EOFError("server closed after %d of %d bytes" % (len(b), n))
            b += c
        return b

    def eof(self):
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True

    def greet(self, cflags=3):
        magic, opt, hflags = struct.unpack(">QQH", self.recv(18))
        if magic != NBDMAGIC or opt != IHAVEOPT or (hflags & 3) != 3:
            fail("greeting: %x %x flags %x" % (magic, opt, hflags))
        self.s.sendall(struct.pack(">I", cflags))

    def opt(self, opt, data=b"", length=None):
        n = len(data) if length is None else length
        self.s.sendall(struct.pack(">QII", IHAVEOPT, opt, n) + data)

    def reply(self):
        magic, opt, rtype, n = struct.unpack(">QIII", self.recv(20))
        if magic != REPMAGIC:
            fail("option reply magic %x" % magic)
        return opt, rtype, self.recv(n)

    def info_data(self, name, reqs=()):
        nb = name.encode()
        return struct.pack(">I", len(nb)) + nb + struct.pack(">H", len(reqs)) + b"".join(
            struct.pack(">H", r) for r in reqs)

    def go(self, name, opt=OPT_GO):
        self.opt(opt, self.info_data(name, (3,)))
        infos = {}
        while True:
            o, t, d = self.reply()
            if t == REP_ACK:
                return infos
            if t != REP_INFO:
                fail("GO answered %x %r" % (t, d))
            infos[struct.unpack(">H", d[:2])[0]] = d

    def send_req(self, cmd, off, length, payload=b"", flags=0, handle=None):
        if handle is None:
            self.handle += 1
            handle = self.handle
        self.s.sendall(struct.pack(">IHHQQI", REQ_MAGIC, flags, cmd, handle, off, length) + payload)
        return handle

    def simple(self, read_len=0):
        magic, err, handle = struct.unpack(">IIQ", self.recv(16))
        if magic != SIMPLE_MAGIC:
            fail("simple reply magic %x" % magic)
        data = self.recv(read_len) if (read_len and err == 0) else b""
        return err, handle, data

    def chunk(self):
        magic, flags, ctype, handle, n = struct.unpack(">IHHQI", self.recv(20))
        if magic != STRUCT_MAGIC:
            fail("structured reply magic %x" % magic)
        return flags, ctype, handle, self.recv(n)

    def cmd(self, cmd, off, length, payload=b"", flags=0):
        h = self.send_req(cmd, off, length, payload, flags)
        err, rh, data = self.simple(length if cmd == CMD_READ else 0)
        if rh != h:
            fail("reply for handle %d, want %d" % (rh, h))
        return err, data


def protocol(path, name, size):
    c = Conn(path)
    c.greet()
    c.opt(99)
    check(c.reply()[1] == REP_ERR_UNSUP, "unknown option: NBD_REP_ERR_UNSUP")
    c.opt(OPT_LIST, b"x")
    check(c.reply()[1] == REP_ERR_INVALID, "NBD_OPT_LIST with data: NBD_REP_ERR_INVALID")
    c.opt(OPT_LIST)
    o, t, d = c.reply()
    check(t == REP_SERVER and d[4:] == name.encode(), "NBD_OPT_LIST names the export")
    check(c.reply()[1] == REP_ACK, "NBD_OPT_LIST ends with ACK")
    c.opt(OPT_INFO, struct.pack(">IH", 100, 0))
    check(c.reply()[1] == REP_ERR_INVALID, "INFO whose name length overruns: INVALID")
    c.opt(OPT_INFO, c.info_data(name, (3,)) + b"zz")
    check(c.reply()[1] == REP_ERR_INVALID, "INFO with trailing bytes: INVALID")
    c.opt(OPT_INFO, b"\0" * (1 << 20))
    check(c.reply()[1] == REP_ERR_TOO_BIG, "1 MiB of option data: NBD_REP_ERR_TOO_BIG")
    c.opt(OPT_GO, c.info_data(name + "-not"))
    check(c.reply()[1] == REP_ERR_UNKNOWN, "GO for another name: NBD_REP_ERR_UNKNOWN")
    c.opt(OPT_STRUCTURED, b"x")
    check(c.reply()[1] == REP_ERR_INVALID, "STRUCTURED_REPLY with data: INVALID")
    infos = c.go(name, OPT_INFO)
    xsize, tflags = struct.unpack(">QH", infos[0][2:12])
    bmin, bpref, bmax = struct.unpack(">III", infos[3][2:14])
    check(xsize == size, "INFO: size %d" % xsize)
    check((bmin, bmax) == (512, 32 << 20) and bpref >= bmin, "INFO: block sizes %d/%d/%d" %
          (bmin, bpref, bmax))
    c.go(name)
    print("transmission, simple replies")

    err, data = c.cmd(CMD_READ, 0, 4096)
    check(err == 0 and len(data) == 4096, "READ 4 KiB")
    check(c.cmd(CMD_READ, 0, 100)[0] == EINVAL, "misaligned READ: EINVAL")
    check(c.cmd(CMD_READ, size, 4096)[0] == EINVAL, "READ past the end: EINVAL")
    check(c.cmd(CMD_READ, (1 << 64) - 4096, 4096)[0] == EINVAL, "READ at 2^64-4096: EINVAL")
    check(c.cmd(CMD_READ, 0, 64 << 20)[0] == EINVAL, "64 MiB READ: EINVAL")
    check(c.cmd(CMD_READ, 0, 0)[0] == EINVAL, "zero-length READ: EINVAL")
    check(c.cmd(CMD_WRITE, size, 4096, b"\1" * 4096)[0] == ENOSPC, "WRITE past the end: ENOSPC")
    check(c.cmd(CMD_WRITE, 1, 4096, b"\1" * 4096)[0] == EINVAL, "misaligned WRITE: EINVAL")
    big = 40 << 20
    h = c.send_req(CMD_WRITE, 0, big, b"\2" * big)
    check(c.simple()[0] == EINVAL, "40 MiB WRITE: EINVAL, its payload skipped")
    check(c.cmd(42, 0, 4096)[0] == EINVAL, "unknown command: EINVAL")
    if not (tflags & F_SEND_TRIM):
        check(c.cmd(CMD_TRIM, 0, 4096)[0] == EINVAL, "TRIM not advertised: EINVAL")
    pat = os.urandom(8192)
    check(c.cmd(CMD_WRITE, 8192, 8192, pat, FLAG_FUA)[0] == 0, "WRITE with FUA")
    check(c.cmd(CMD_READ, 8192, 8192)[1] == pat, "read back what was written")
    check(c.cmd(CMD_WRITE_ZEROES, 8192, 4096)[0] == 0, "WRITE_ZEROES 4 KiB")
    check(c.cmd(CMD_READ, 8192, 8192)[1] == b"\0" * 4096 + pat[4096:], "zeroed exactly 4 KiB")
    check(c.cmd(CMD_WRITE_ZEROES, 0, 2 << 20, flags=FLAG_FUA)[0] == 0, "WRITE_ZEROES 2 MiB, FUA")
    check(c.cmd(CMD_READ, 0, 2 << 20)[1] == b"\0" * (2 << 20), "2 MiB read back as zeros")
    check(c.cmd(CMD_WRITE, 4 << 20, 8192, pat)[0] == 0, "WRITE 8 KiB at 4 MiB")
    check(c.cmd(CMD_FLUSH, 0, 0)[0] == 0, "FLUSH")
    handles = [c.send_req(CMD_READ, (i * 4096) % size, 4096) for i in range(200)]
    got = []
    for _ in handles:
        err, h, _ = c.simple(4096)
        if err:
            fail("pipelined READ failed: %d" % err)
        got.append(h)
    check(sorted(got) == handles, "200 pipelined READs: one reply each")
    # 256 MiB of 32 MiB requests at once: more than the export lets reach the
    # target together and more than it buffers for one client; all complete.
    half = size // 2
    blobs = [os.urandom(1 << 20) * (half >> 20) for _ in range(2)]
    hw = [c.send_req(CMD_WRITE, i * half, half, blobs[i]) for i in range(2)]
    got = sorted(c.simple()[:2] for _ in hw)
    check(got == [(0, h) for h in hw], "two pipelined 32 MiB WRITEs")
    hr = {c.send_req(CMD_READ, (i % 2) * half, half): i % 2 for i in range(6)}
    for _ in hr:
        err, h, data = c.simple(half)
        if err or data != blobs[hr[h]]:
            fail("32 MiB READ %d: error %d or wrong data" % (h, err))
    check(True, "six pipelined 32 MiB READs read back the writes")
    check(c.cmd(CMD_WRITE, 4 << 20, 8192, pat)[0] == 0, "WRITE 8 KiB at 4 MiB again")
    c.send_req(CMD_DISC, 0, 0)
    check(c.eof(), "DISC: the server closes")

    c = Conn(path)
    c.greet()
    c.opt(OPT_STRUCTURED)
    check(c.reply()[1] == REP_ACK, "STRUCTURED_REPLY: ACK")
    c.go(name)
    h = c.send_req(CMD_READ, 4 << 20, 8192)
    flags, ctype, rh, d = c.chunk()
    check(flags & 1 and ctype == 1 and rh == h and d[8:] == pat and
          struct.unpack(">Q", d[:8])[0] == 4 << 20, "structured READ: one OFFSET_DATA chunk, DONE")
    h = c.send_req(CMD_READ, 7, 512)
    flags, ctype, rh, d = c.chunk()
    err, mlen = struct.unpack(">IH", d[:6])
    check(flags & 1 and ctype == 0x8001 and err == EINVAL and mlen == len(d) - 6 and mlen > 0,
          "structured error chunk: EINVAL with a message (%s)" % d[6:].decode())
    h = c.send_req(CMD_FLUSH, 0, 0)
    flags, ctype, rh, d = c.chunk()
    check(flags & 1 and ctype == 0 and rh == h and d == b"", "structured FLUSH: NONE chunk")
    c.s.sendall(b"\xde\xad" * 14)
    check(c.eof(), "bad request magic: the server closes")

    c = Conn(path)
    c.greet()
    c.opt(OPT_EXPORT_NAME, name.encode())
    xsize, tflags = struct.unpack(">QH", c.recv(10))
    check(xsize == size, "NBD_OPT_EXPORT_NAME: size, no zeroes after NO_ZEROES")
    check(c.cmd(CMD_READ, 0, 512)[0] == 0, "READ after EXPORT_NAME")

    c = Conn(path)
    c.greet()
    c.opt(OPT_ABORT)
    check(c.reply()[1] == REP_ACK and c.eof(), "ABORT: ACK, then closed")

    c = Conn(path)
    c.greet()
    c.opt(OPT_EXPORT_NAME, b"x" * 5000)
    check(c.eof(), "EXPORT_NAME of 5000 bytes: closed")

    c = Conn(path)
    c.greet(cflags=0x80)
    check(c.eof(), "unknown client flags: closed")

    c = Conn(path)
    c.greet()
    c.go(name)
    check(c.cmd(CMD_READ, 0, 4096)[0] == 0, "the server still serves after all that")
    return 0


def inflight(path, n):
    c = Conn(path)
    c.s.settimeout(60)
    c.greet()
    c.go("")
    handles = set(c.send_req(CMD_READ, (i * 65536) % (8 << 20), 65536) for i in range(n))
    print("sent", flush=True)
    errs = {}
    seen = set()
    while True:
        try:
            err, h, _ = c.simple(65536)
        except EOFError:
            break
        except ConnectionResetError:
            break
        if h in seen or h not in handles:
            fail("reply for handle %d twice or never sent" % h)
        seen.add(h)
        errs[err] = errs.get(err, 0) + 1
    print("replies=%d of %d, by error: %s" % (len(seen), n, sorted(errs.items())), flush=True)
    if seen != handles:
        fail("%d requests never got a reply" % (len(handles) - len(seen)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[2] == "protocol":
        sys.exit(protocol(sys.argv[1], sys.argv[3], int(sys.argv[4])))
    if len(sys.argv) == 4 and sys.argv[2] == "inflight":
        sys.exit(inflight(sys.argv[1], int(sys.argv[3])))
    print(__doc__)
    sys.exit(2)
