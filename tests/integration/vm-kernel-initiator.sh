#!/bin/bash
# The Linux kernel's initiator (iscsi_tcp, logged in by iscsistart) in a VM
# against xtgtd: the guest writes 4 MiB of random data, reads it back past its
# page cache and compares; then our own initiator reads the same blocks from
# xtgtd and must find the checksum the guest printed.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/vm/vm-lib.sh"

XTGTD="$top_builddir/target/xtgtd"
XIO="$top_builddir/initiator/xiscsi-io"
[ -x "$XTGTD" ] || xi_skip "target/xtgtd is not built"
[ -x "$XIO" ] || xi_skip "initiator/xiscsi-io is not built"
vm_prepare

PORT=$(xi_free_port)
IQN=iqn.2026-01.io.xiscsi.test:vm-kernel
MB=4
SEEK_MB=1
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --target "$IQN" --lun ram:64M
xi_wait_port 127.0.0.1 "$PORT" 10

# QEMU's user network maps the guest's 10.0.2.2 to the host's loopback.
start=$SECONDS
vm_boot guest 150 "" xi.mode=initiator "xi.target=$IQN" "xi.portal=10.0.2.2:$PORT" \
	"xi.mb=$MB" "xi.seek_mb=$SEEK_MB"
vm_wait_boot 60
vm_wait LOGGED-IN 60
vm_wait PASS 90
echo "guest: $(grep -a '^XI-VM: \(LOGGED-IN\|WROTE\|READ\)' "$VM_LOG" | tr '\n' ' ')"
for _ in $(seq 1 100); do
	kill -0 "$VM_PID" 2>/dev/null || break
	sleep 0.2
done
kill -0 "$VM_PID" 2>/dev/null && xi_fail "the guest did not power off"
echo "VM run: $((SECONDS - start)) s"

sum=$(sed -n 's/^XI-VM: WROTE .*md5=\([0-9a-f]\{32\}\).*/\1/p' "$VM_LOG" | head -n 1)
[ -n "$sum" ] || xi_fail "the guest printed no checksum"
# Block numbers in the LUN's own block size, as xtgtd reports it.
bs=$("$XIO" "iscsi://127.0.0.1:$PORT/$IQN/0" capacity | sed -n 's/^Block size: //p')
[ -n "$bs" ] || xi_fail "capacity through xiscsi-io"
per_mb=$((1048576 / bs))
"$XIO" -q "iscsi://127.0.0.1:$PORT/$IQN/0" read $((SEEK_MB * per_mb)) $((MB * per_mb)) \
	-o "$XI_TMP/back.bin" || xi_fail "xiscsi-io read"
host_sum=$(md5sum <"$XI_TMP/back.bin" | cut -d' ' -f1)
[ "$host_sum" = "$sum" ] ||
	xi_fail "xtgtd holds $host_sum where the kernel initiator wrote $sum"
echo "PASS: kernel initiator wrote and read $MB MiB intact (md5 $sum), xiscsi-io agrees"
exit 0
