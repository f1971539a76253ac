# The NBD export of a LUN (initiator/nbd.c through `xiscsi-io URL nbd`):
# raw protocol checks, qemu-img/nbdinfo/nbdcopy, fio's nbd engine, a target
# restart under load, closing with requests in flight, tgtd behind it, and
# the kernel's nbd-client where the kernel has the nbd module.
NBD_IT = \
	tests/integration/nbd-protocol.sh \
	tests/integration/nbd-qemu.sh \
	tests/integration/nbd-fio.sh \
	tests/integration/nbd-restart.sh \
	tests/integration/nbd-close.sh \
	tests/integration/nbd-tgtd.sh \
	tests/integration/nbd-kernel.sh
TESTS += $(NBD_IT)
EXTRA_DIST += $(NBD_IT) tests/integration/nbd-lib.sh tests/integration/nbd-client.py \
	fio-jobs/nbd-compare
