#!/bin/bash
# The NBD export in front of tgtd (the target most distributions ship):
# qemu-img convert and compare through it, and fio's nbd engine verified.
. "$top_srcdir/tests/integration/nbd-lib.sh"

xi_need_cmd qemu-img qemu-utils
ini_tgtd_start 64
nbd_export_start nbd "$TGT_URL"

head -c $((32 << 20)) /dev/urandom >"$XI_TMP/src.bin"
truncate -s 64M "$XI_TMP/src.bin"
qemu-img convert -n -f raw -O raw "$XI_TMP/src.bin" "$NBD_URI" || xi_fail "qemu-img convert"
qemu-img compare -f raw -F raw "$XI_TMP/src.bin" "$NBD_URI" || xi_fail "qemu-img compare"
if nbd_need_fio_quiet; then
	"$NBD_FIO" --name=tgtd --ioengine=nbd --uri="$NBD_URI" --rw=randwrite --bs=4k \
		--iodepth=32 --size=16M --verify=crc32c --verify_state_save=0 --do_verify=1 --verify_fatal=1 \
		--output="$XI_TMP/fio.txt" || xi_fail "fio: $(cat "$XI_TMP/fio.txt")"
	grep -q 'err= 0' "$XI_TMP/fio.txt" || xi_fail "fio: $(cat "$XI_TMP/fio.txt")"
else
	echo "note: no fio with the nbd engine, fio case skipped"
fi
nbd_export_stop nbd
exit 0
