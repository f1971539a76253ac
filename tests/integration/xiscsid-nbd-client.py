"""A bare NBD client for xiscsid-logout-io.sh: fixed newstyle handshake with
NBD_OPT_GO, then WRITE requests pipelined as fast as the socket takes them
while another thread logs the session out. Checks what "each request
completes or fails cleanly" means on the wire: every reply is whole and
well formed, names a request that was sent, comes once, and the requests
answered are exactly the first K sent (the server reads in order, so none
it read may go unanswered). Prints the handles acknowledged without error,
one per line, so the caller can check those writes reached the target.

usage: xiscsid-nbd-client.py SOCKET COUNT CHUNK LOGOUT-COMMAND...
"""
import socket
import struct
import subprocess
import sys
import threading

OPTS_MAGIC = 0x49484156454F5054
REP_MAGIC = 0x3E889045565A9
REQ_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698
NBD_OPT_GO, NBD_REP_ACK, NBD_REP_INFO = 7, 1, 3
NBD_CMD_WRITE = 1


def recv_exact(s, n):
    """n bytes, or fewer at the end of the stream. A server that closes with
    our unsent requests unread resets the connection; Linux hands over every
    byte queued for us before it reports that, so a reset is an end too."""
    buf = b""
    while len(buf) < n:
        try:
            part = s.recv(n - len(buf))
        except ConnectionResetError:
            return buf
        if not part:
            return buf
        buf += part
    return buf


def fail(msg):
    print("nbd-client: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    path, count, chunk, logout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    hello = recv_exact(s, 18)
    if hello[:16] != b"NBDMAGICIHAVEOPT":
        fail("bad greeting %r" % hello)
    s.sendall(struct.pack(">I", 3))  # FIXED_NEWSTYLE | NO_ZEROES
    s.sendall(struct.pack(">QII", OPTS_MAGIC, NBD_OPT_GO, 6) + struct.pack(">IH", 0, 0))
    size = None
    while True:
        magic, opt, rtype, rlen = struct.unpack(">QIII", recv_exact(s, 20))
        data = recv_exact(s, rlen)
        if magic != REP_MAGIC or opt != NBD_OPT_GO:
            fail("bad option reply")
        if rtype == NBD_REP_INFO and struct.unpack(">H", data[:2])[0] == 0:
            size = struct.unpack(">Q", data[2:10])[0]
        elif rtype == NBD_REP_ACK:
            break
        elif rtype & 0x80000000:
            fail("NBD_OPT_GO refused: %r" % data)
    if size is None or size < count * chunk:
        fail("export too small: %r" % size)

    sent = []  # handles whose request went out whole
    started = threading.Event()

    def sender():
        for h in range(1, count + 1):
            req = struct.pack(">IHHQQI", REQ_MAGIC, 0, NBD_CMD_WRITE, h, (h - 1) * chunk, chunk)
            try:
                s.sendall(req + bytes([h & 0xFF]) * chunk)
            except OSError:
                break
            sent.append(h)
            if h == 4:
                started.set()
        started.set()

    t = threading.Thread(target=sender)
    t.start()
    started.wait(30)
    lo = subprocess.Popen(logout, stdout=subprocess.DEVNULL)

    replies = {}
    while True:
        head = recv_exact(s, 16)
        if not head:
            break
        if len(head) < 16:
            fail("a reply cut short (%d bytes)" % len(head))
        magic, err, handle = struct.unpack(">IIQ", head)
        if magic != SIMPLE_REPLY_MAGIC:
            fail("bad reply magic %#x" % magic)
        if handle in replies:
            fail("two replies for request %d" % handle)
        replies[handle] = err
    t.join(30)
    if lo.wait(60) != 0:
        fail("the logout failed")
    if not replies:
        fail("no reply at all")
    k = len(replies)
    if sorted(replies) != list(range(1, k + 1)):
        fail("answered %r, not the first %d sent" % (sorted(replies), k))
    if any(h not in sent for h in replies):
        fail("a reply for a request that was never sent whole")
    ok = [h for h in sorted(replies) if replies[h] == 0]
    bad = {replies[h] for h in replies if replies[h] != 0}
    print("sent %d, answered %d: %d ok, %d failed with %s" % (len(sent), k, len(ok), k - len(ok), sorted(bad)),
          file=sys.stderr)
    for h in ok:
        print(h)


main()
