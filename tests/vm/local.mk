# VM tests: the Linux kernel's initiator and target (LIO) in a QEMU guest
# built from Debian packages by tests/vm/build-vm (cached in tests/vm/cache).
XI_VM_IT = \
	tests/integration/vm-kernel-initiator.sh \
	tests/integration/vm-lio.sh
TESTS += $(XI_VM_IT)
EXTRA_DIST += $(XI_VM_IT) tests/vm/build-vm tests/vm/init tests/vm/vm-lib.sh \
	tests/vm/README.md
