#!/bin/bash
# The file store's I/O paths, driven by real initiators on the tcp transport
# (which has no io_uring of its own, so a ring in the daemon is the store's):
#  - aio=uring (the default) and direct (O_DIRECT): qemu-img convert and
#    compare of 64 MiB of random data, the backing file holding the same
#    bytes, qemu-io writes with FUA and a flush (SYNCHRONIZE CACHE),
#    libiscsi's DPO/FUA, async read/write and COMPARE AND WRITE tests (the
#    synchronous path, through a bounce buffer under O_DIRECT), iscsi-perf
#    for 5 seconds with no error;
#  - XTGTD_NO_URING=1: one clear warning, no ring, data still intact;
#  - direct on a device whose blocks are larger than the LU's is refused
#    with a reason (a 4096-byte-sector loop device; root only).
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-perf libiscsi-bin
xi_need_cmd iscsi-test-cu libiscsi-bin
xi_need_cmd qemu-img qemu-utils
xi_need_cmd qemu-io qemu-utils
qemu-img --help 2>/dev/null | grep -q iscsi || xi_skip "qemu-img has no iSCSI driver (qemu-block-extra)"
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"
IQN=iqn.2026-11.org.xiscsi:bsfile
LOOP=""
trap 'rc=$?; [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null; (exit $rc); xi_cleanup' EXIT

head -c 64M /dev/urandom >"$XI_TMP/src.img"

# start NAME SPEC [ENV=VAL...]: xtgtd on two tcp reactor threads, one LUN.
start() {
	local name=$1 spec=$2
	shift 2
	PORT=$(xi_free_port)
	xi_bg "$name" env "$@" "$XTGTD" -f --transport tcp --threads 2 \
		--listen "127.0.0.1:$PORT" --target "$IQN" --lun "$spec"
	XT_PID=$XI_LAST_PID
	xi_wait_port 127.0.0.1 "$PORT"
	URL=iscsi://127.0.0.1:$PORT/$IQN/0
}

# io_uring instances the daemon holds.
rings() {
	local n=0 f
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "anon_inode:[io_uring]" ] && n=$((n + 1))
	done
	echo "$n"
}

# roundtrip NAME IMG: data written through the LUN is what the file holds.
roundtrip() {
	local name=$1 img=$2 out
	timeout 120 qemu-img convert -n -f raw -O raw "$XI_TMP/src.img" "$URL" ||
		xi_fail "$name: qemu-img convert"
	out=$(timeout 120 qemu-img compare -f raw -F raw "$XI_TMP/src.img" "$URL" 2>&1) ||
		xi_fail "$name: qemu-img compare: $out"
	grep -q 'Images are identical' <<<"$out" || xi_fail "$name: qemu-img compare: $out"
	# FUA writes (qemu-io -f) and a flush: SBC-4 WRITE with FUA, SYNCHRONIZE CACHE.
	out=$(timeout 60 qemu-io -f raw -c 'write -f -P 0x6b 1M 256k' -c 'read -P 0x6b 1M 256k' \
		-c 'write -P 0x39 5M 1M' -c flush -c 'read -P 0x39 5M 1M' "$URL" 2>&1) ||
		xi_fail "$name: qemu-io: $out"
	grep -qi 'fail\|error\|mismatch' <<<"$out" && xi_fail "$name: qemu-io: $out"
	# The backing file holds what was written, past the store's own cache.
	python3 - "$XI_TMP/src.img" "$img" <<-'EOF' || xi_fail "$name: backing file differs"
		import sys
		src = bytearray(open(sys.argv[1], 'rb').read())
		src[1 << 20:(1 << 20) + (256 << 10)] = b'\x6b' * (256 << 10)
		src[5 << 20:6 << 20] = b'\x39' * (1 << 20)
		with open(sys.argv[2], 'rb') as f:
		    sys.exit(0 if f.read(len(src)) == bytes(src) else 1)
	EOF
}

# cu NAME TEST...: libiscsi's tests pass (and at least one ran).
cu() {
	local name=$1 t out ran nfail
	shift
	for t in "$@"; do
		out=$(timeout 120 iscsi-test-cu -d -t "$t" "$URL" 2>&1)
		read -r _ _ ran _ nfail _ < <(grep -E '^ +tests ' <<<"$out")
		[ "${ran:-0}" -gt 0 ] && [ "${nfail:-1}" -eq 0 ] ||
			xi_fail "$name: iscsi-test-cu $t: $(tail -n 25 <<<"$out")"
	done
}

perf() {
	local out
	out=$(timeout 30 iscsi-perf -m 32 -t 5 "$URL" 2>&1) || xi_fail "$1: iscsi-perf: $out"
	grep -q 'finished' <<<"$out" || xi_fail "$1: iscsi-perf did not finish: $out"
}

# --- aio=uring, page cache ---
start uring "file:$XI_TMP/uring.img,size=96M,aio=uring"
roundtrip uring "$XI_TMP/uring.img"
[ "$(rings "$XT_PID")" -ge 1 ] || xi_fail "uring: the daemon holds no io_uring after I/O"
cu uring SCSI.Write10.DpoFua SCSI.Write16.DpoFua SCSI.Write10.Async SCSI.Read10.Async \
	SCSI.CompareAndWrite.DpoFua
perf uring
grep -q 'io_uring unavailable' "$XI_TMP/uring.log" && xi_fail "uring: fell back: $(cat "$XI_TMP/uring.log")"
xi_stop "$XT_PID" || xi_fail "uring: xtgtd exit status $? after SIGTERM"
echo "ok: aio=uring"

# --- O_DIRECT through the ring ---
rm -f "$XI_TMP/direct.img"
if ! dd if=/dev/zero of="$XI_TMP/probe.img" bs=4096 count=1 oflag=direct 2>/dev/null; then
	echo "note: no O_DIRECT on the file system of $XI_TMP, direct not tested"
else
	start direct "file:$XI_TMP/direct.img,size=96M,direct"
	roundtrip direct "$XI_TMP/direct.img"
	[ "$(rings "$XT_PID")" -ge 1 ] || xi_fail "direct: the daemon holds no io_uring after I/O"
	cu direct SCSI.Write16.DpoFua SCSI.Write10.Async SCSI.CompareAndWrite.DpoFua
	perf direct
	xi_stop "$XT_PID" || xi_fail "direct: xtgtd exit status $? after SIGTERM"
	echo "ok: direct"
fi

# --- no io_uring: one clear line, the synchronous path ---
start nouring "file:$XI_TMP/nouring.img,size=96M" XTGTD_NO_URING=1
out=$(timeout 60 qemu-io -f raw -c 'write -f -P 0x21 0 1M' -c flush -c 'read -P 0x21 0 1M' \
	"$URL" 2>&1) || xi_fail "nouring: qemu-io: $out"
grep -qi 'fail\|error\|mismatch' <<<"$out" && xi_fail "nouring: qemu-io: $out"
n=$(grep -c 'io_uring unavailable (XTGTD_NO_URING is set)' "$XI_TMP/nouring.log")
[ "$n" -eq 1 ] || xi_fail "nouring: expected one fallback line, got $n: $(cat "$XI_TMP/nouring.log")"
[ "$(rings "$XT_PID")" -eq 0 ] || xi_fail "nouring: the daemon holds an io_uring"
xi_stop "$XT_PID" || xi_fail "nouring: xtgtd exit status $? after SIGTERM"
echo "ok: XTGTD_NO_URING fallback"

# --- direct with blocks smaller than the device's: refused, with the reason ---
if [ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null 2>&1 &&
	truncate -s 8M "$XI_TMP/4k.img" &&
	LOOP=$(losetup --find --show --sector-size 4096 --direct-io=on "$XI_TMP/4k.img" 2>/dev/null); then
	PORT=$(xi_free_port)
	out=$(timeout 10 "$XTGTD" -f --transport tcp --listen "127.0.0.1:$PORT" --target "$IQN" \
		--lun "file:$LOOP,direct" 2>&1 </dev/null)
	rc=$?
	[ "$rc" -ne 0 ] || xi_fail "4k: direct with 512-byte blocks on a 4096-byte device was accepted"
	grep -q 'needs 4096-byte aligned blocks' <<<"$out" || xi_fail "4k: no reason given: $out"
	start direct4k "file:$LOOP,direct,bs=4096"
	out=$(timeout 60 qemu-io -f raw -c 'write -f -P 0x4c 0 64k' -c flush -c 'read -P 0x4c 0 64k' \
		"$URL" 2>&1) || xi_fail "4k: qemu-io: $out"
	grep -qi 'fail\|error\|mismatch' <<<"$out" && xi_fail "4k: qemu-io: $out"
	xi_stop "$XT_PID" || xi_fail "4k: xtgtd exit status $? after SIGTERM"
	echo "ok: direct alignment check"
else
	LOOP=""
	echo "note: no 4096-byte-sector loop device (needs root and losetup), alignment refusal not tested"
fi
exit 0
