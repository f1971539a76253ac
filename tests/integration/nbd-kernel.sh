#!/bin/bash
# The kernel's NBD client (nbd-client + the nbd module) on an export: 16 MiB
# of random data written through /dev/nbdN with O_DIRECT, read back through
# the device, and compared with the LUN itself through qemu-img over iSCSI,
# so the bytes are known to have reached the target. Needs root, the nbd
# module and nbd-client; skips saying which is missing (the kernels of the
# project's CI machines have no nbd module).
. "$top_srcdir/tests/integration/nbd-lib.sh"

[ "$(id -u)" -eq 0 ] || xi_skip "needs root for the nbd module and /dev/nbdN"
command -v nbd-client >/dev/null || xi_skip "nbd-client is not installed (apt-get install nbd-client)"
if ! [ -e /sys/module/nbd ]; then
	modprobe nbd nbds_max=4 2>"$XI_TMP/modprobe.err" ||
		xi_skip "this kernel has no nbd module ($(uname -r): $(head -c 200 "$XI_TMP/modprobe.err"))"
fi
dev=""
for d in /sys/block/nbd*; do
	[ -e "$d/pid" ] && continue # in use
	dev=/dev/$(basename "$d")
	break
done
[ -n "$dev" ] && [ -b "$dev" ] || xi_skip "no free /dev/nbdN"
command -v qemu-img >/dev/null || xi_skip "qemu-img is not installed"

nbd_xtgtd_start ram:64M
port=$(xi_free_port)
nbd_export_start nbd "$NBD_ISCSI/0" --tcp "127.0.0.1:$port" --name lun0
disconnect() { nbd-client -d "$dev" >/dev/null 2>&1; }
trap 'disconnect; xi_cleanup' EXIT

nbd-client 127.0.0.1 "$port" "$dev" -N lun0 -b 512 >"$XI_TMP/nbd-client.log" 2>&1 ||
	xi_fail "nbd-client: $(cat "$XI_TMP/nbd-client.log")"
for _ in $(seq 1 50); do
	[ "$(cat "/sys/block/$(basename "$dev")/size" 2>/dev/null)" = 131072 ] && break
	sleep 0.1
done
[ "$(cat "/sys/block/$(basename "$dev")/size")" = 131072 ] ||
	xi_fail "$dev is not 64 MiB: $(cat "/sys/block/$(basename "$dev")/size") sectors"

head -c 16M /dev/urandom >"$XI_TMP/src"
dd if="$XI_TMP/src" of="$dev" bs=1M oflag=direct conv=fsync status=none || xi_fail "write to $dev"
dd if="$dev" of="$XI_TMP/back" bs=1M count=16 iflag=direct status=none || xi_fail "read from $dev"
cmp "$XI_TMP/src" "$XI_TMP/back" || xi_fail "$dev read back other bytes than were written"
disconnect

qemu-img convert -f raw -O raw "$NBD_ISCSI/0" "$XI_TMP/lun" || xi_fail "qemu-img convert of the LUN"
cmp -n $((16 << 20)) "$XI_TMP/src" "$XI_TMP/lun" || xi_fail "the LUN does not hold what went through $dev"
nbd_export_stop nbd
exit 0
