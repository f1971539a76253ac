# Shared by tests/integration/vm-*.sh: sourced after tests/integration/lib.sh.
# Builds (or reuses) the VM from tests/vm/build-vm and boots it under QEMU's
# TCG (KVM aborts on the machines this runs on); the guest's serial console
# goes to $XI_TMP/NAME.log and says "XI-VM: ..." at each step.

VM_CACHE=${XI_VM_CACHE:-$top_builddir/tests/vm/cache}

# vm_prepare: skips (77) unless root, QEMU and a built VM are at hand.
vm_prepare() {
	local out rc
	xi_need_root "the VM tests build an initramfs and boot a kernel"
	xi_need_cmd qemu-system-x86_64 qemu-system-x86
	out=$("$top_srcdir/tests/vm/build-vm" "$VM_CACHE" 2>&1)
	rc=$?
	[ "$rc" -eq 77 ] && xi_skip "VM not built: $out"
	[ "$rc" -eq 0 ] || xi_fail "tests/vm/build-vm: $out"
	[ -n "$out" ] && echo "$out"
	[ -f "$VM_CACHE/vmlinuz" ] && [ -f "$VM_CACHE/initrd.img" ] ||
		xi_skip "no VM in $VM_CACHE"
	return 0
}

# vm_boot NAME SECONDS NETDEV_OPTIONS KERNEL_ARGS...: QEMU in the background,
# killed after SECONDS whatever the guest does; its PID in $VM_PID.
vm_boot() {
	local name=$1 secs=$2 netdev=$3
	shift 3
	VM_LOG=$XI_TMP/$name.log
	: >"$VM_LOG"
	timeout -s KILL "$secs" qemu-system-x86_64 -accel tcg -m 512 -smp 1 \
		-nodefaults -display none -no-reboot \
		-serial "file:$VM_LOG" \
		-kernel "$VM_CACHE/vmlinuz" -initrd "$VM_CACHE/initrd.img" \
		-append "console=ttyS0 panic=-1 loglevel=4 $*" \
		-netdev "user,id=n0$netdev" -device virtio-net-pci,netdev=n0 \
		</dev/null >"$XI_TMP/$name-qemu.log" 2>&1 &
	VM_PID=$!
	XI_PIDS="$XI_PIDS $VM_PID"
}

# vm_wait MARKER SECONDS: until the guest prints "XI-VM: MARKER"; fails at
# the guest's "XI-VM: FAIL", when QEMU ends first, or after SECONDS.
# vm_wait_boot SECONDS: the same for BOOTED, but a VM that never comes up
# (QEMU refuses to start, the kernel panics) skips the test instead.
vm_wait_boot() {
	local secs=$1
	for _ in $(seq 1 $((secs * 5))); do
		grep -aq '^XI-VM: BOOTED' "$VM_LOG" && return 0
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.2
	done
	grep -aq '^XI-VM: BOOTED' "$VM_LOG" && return 0
	xi_skip "the VM did not start: $(tail -n 3 "$XI_TMP"/*-qemu.log "$VM_LOG" | tr '\n' ' ')"
}

vm_wait() {
	local marker=$1 secs=$2
	for _ in $(seq 1 $((secs * 5))); do
		grep -aq "^XI-VM: $marker" "$VM_LOG" && return 0
		grep -aq '^XI-VM: FAIL' "$VM_LOG" &&
			xi_fail "guest: $(grep -a '^XI-VM: FAIL' "$VM_LOG" | head -n 1)"
		kill -0 "$VM_PID" 2>/dev/null || {
			sleep 0.2
			grep -aq "^XI-VM: $marker" "$VM_LOG" && return 0
			xi_fail "QEMU ended before '$marker': $(tail -n 5 "$XI_TMP"/*-qemu.log "$VM_LOG")"
		}
		sleep 0.2
	done
	xi_fail "no '$marker' from the guest after ${secs}s: $(tail -n 5 "$VM_LOG")"
}
