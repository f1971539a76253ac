#!/bin/bash
# A QEMU guest (TCG) whose disk is a LUN exported by xiscsid over NBD
# (-drive file=nbd+unix:///?socket=...,if=virtio): the guest reads the data
# the host wrote into the LUN and prints its MD5, then writes its own data
# and reads it back; the host reads those blocks straight from the target
# with xiscsi-io (another session, not the NBD path) and finds the guest's
# MD5.
. "$top_srcdir/tests/integration/xiscsid-lib.sh"
. "$top_srcdir/tests/vm/vm-lib.sh"
XIO="$top_builddir/initiator/xiscsi-io"
[ -x "$XTGTD" ] || xi_skip "target/xtgtd is not built"
[ -x "$XIO" ] || xi_skip "initiator/xiscsi-io is not built"
xi_need_cmd python3 python3
xi_need_cmd qemu-img qemu-utils
vm_prepare

PORT=$(xi_free_port)
IQN=iqn.2026-01.io.xiscsi.test:vm-nbd
MB=4
SEEK_MB=8
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$PORT" --target "$IQN" --lun ram:64M
xi_wait_port 127.0.0.1 "$PORT" 10
xd_start
"$XADM" -m discovery -t st -p "127.0.0.1:$PORT" >/dev/null || xi_fail "discovery"
"$XADM" -m node -T "$IQN" -p "127.0.0.1:$PORT" --login >/dev/null || xi_fail "login"
SOCK=$(xd_json "d[0]['luns'][0]['nbd']")
[ -S "$SOCK" ] || xi_fail "no NBD export"

head -c $((MB * 1024 * 1024)) /dev/urandom >"$XI_TMP/first.img"
qemu-img convert -n -f raw -O raw "$XI_TMP/first.img" "nbd+unix:///?socket=$SOCK" ||
	xi_fail "qemu-img convert into the export"
want_first=$(md5sum <"$XI_TMP/first.img" | cut -d' ' -f1)

# vm-lib's vm_boot has no disk; the same QEMU command with the export as one.
VM_LOG=$XI_TMP/guest.log
: >"$VM_LOG"
start=$SECONDS
timeout -s KILL 150 qemu-system-x86_64 -accel tcg -m 512 -smp 1 \
	-nodefaults -display none -no-reboot -serial "file:$VM_LOG" \
	-kernel "$VM_CACHE/vmlinuz" -initrd "$VM_CACHE/initrd.img" \
	-append "console=ttyS0 panic=-1 loglevel=4 xi.mode=blk xi.mb=$MB xi.seek_mb=$SEEK_MB" \
	-drive "file=nbd+unix:///?socket=$SOCK,if=virtio,format=raw,cache=none" \
	</dev/null >"$XI_TMP/guest-qemu.log" 2>&1 &
VM_PID=$!
XI_PIDS="$XI_PIDS $VM_PID"
vm_wait_boot 60
vm_wait DISK 30
vm_wait PASS 90
echo "guest: $(grep -a '^XI-VM: \(DISK\|FIRST\|WROTE\|READ\)' "$VM_LOG" | tr '\n' ' ')"
for _ in $(seq 1 100); do
	kill -0 "$VM_PID" 2>/dev/null || break
	sleep 0.2
done
echo "VM run: $((SECONDS - start)) s"

grep -aq "^XI-VM: DISK $((64 * 2048)) sectors" "$VM_LOG" || xi_fail "the guest's disk has the wrong size"
first=$(sed -n 's/^XI-VM: FIRST md5=\([0-9a-f]\{32\}\).*/\1/p' "$VM_LOG" | head -n 1)
[ "$first" = "$want_first" ] || xi_fail "the guest read $first where the host wrote $want_first"
sum=$(sed -n 's/^XI-VM: WROTE .*md5=\([0-9a-f]\{32\}\).*/\1/p' "$VM_LOG" | head -n 1)
[ -n "$sum" ] || xi_fail "the guest printed no checksum"
bs=$("$XIO" "iscsi://127.0.0.1:$PORT/$IQN/0" capacity | sed -n 's/^Block size: //p')
per_mb=$((1048576 / bs))
"$XIO" -q "iscsi://127.0.0.1:$PORT/$IQN/0" read $((SEEK_MB * per_mb)) $((MB * per_mb)) \
	-o "$XI_TMP/back.bin" || xi_fail "xiscsi-io read"
host_sum=$(md5sum <"$XI_TMP/back.bin" | cut -d' ' -f1)
[ "$host_sum" = "$sum" ] || xi_fail "the target holds $host_sum where the guest wrote $sum"
"$XADM" -m node -U all >/dev/null || xi_fail "logout"
xd_stop
echo "PASS: guest read the host's $MB MiB (md5 $first) and wrote $MB MiB (md5 $sum) through xiscsid's NBD export"
exit 0
