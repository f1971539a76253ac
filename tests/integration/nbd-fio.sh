#!/bin/bash
# fio's nbd engine (libnbd) through the NBD export: random 4 KiB writes at
# queue depth 32 verified with crc32c, and two jobs on two connections at
# once (the export offers multi-conn) writing 64 KiB blocks, verified.
. "$top_srcdir/tests/integration/nbd-lib.sh"

nbd_need_fio
nbd_xtgtd_start ram:64M
nbd_export_start nbd "$NBD_ISCSI/0"

"$NBD_FIO" --name=rand --ioengine=nbd --uri="$NBD_URI" --rw=randwrite --bs=4k \
	--iodepth=32 --size=32M --verify=crc32c --verify_state_save=0 --do_verify=1 --verify_fatal=1 \
	--output="$XI_TMP/fio1.txt" || xi_fail "fio randwrite+verify: $(cat "$XI_TMP/fio1.txt")"
grep -q 'err= 0' "$XI_TMP/fio1.txt" || xi_fail "fio: $(cat "$XI_TMP/fio1.txt")"

"$NBD_FIO" --name=two --ioengine=nbd --uri="$NBD_URI" --rw=write --bs=64k --iodepth=16 \
	--numjobs=2 --size=16M --offset_increment=24M --verify=crc32c --verify_state_save=0 --do_verify=1 \
	--verify_fatal=1 --output="$XI_TMP/fio2.txt" ||
	xi_fail "fio two connections: $(cat "$XI_TMP/fio2.txt")"
[ "$(grep -c 'err= 0' "$XI_TMP/fio2.txt")" -eq 2 ] || xi_fail "fio: $(cat "$XI_TMP/fio2.txt")"
kill -0 "$NBD_PID" || xi_fail "xiscsi-io nbd died"
nbd_export_stop nbd
exit 0
