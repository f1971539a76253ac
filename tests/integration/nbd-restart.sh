#!/bin/bash
# xtgtd is killed and started again (same port, same file LUN) while fio
# writes through the NBD export: the session reconnects and re-issues what
# was in flight, NBD requests just wait, fio sees no error, and every block
# it wrote verifies afterwards.
. "$top_srcdir/tests/integration/nbd-lib.sh"

nbd_need_fio
truncate -s 64M "$XI_TMP/disk.img"
nbd_xtgtd_start "file:$XI_TMP/disk.img"
nbd_export_start nbd "$NBD_ISCSI/0"

# 24 MiB at 8 MiB/s: about three seconds of writes, then the verify pass.
"$NBD_FIO" --name=restart --ioengine=nbd --uri="$NBD_URI" --rw=randwrite --bs=4k \
	--iodepth=16 --size=24M --rate=8m --verify=crc32c --verify_state_save=0 --do_verify=1 --verify_fatal=1 \
	--output="$XI_TMP/fio.txt" &
fio=$!
sleep 1
nbd_xtgtd_kill
sleep 1
nbd_xtgtd_start "file:$XI_TMP/disk.img"
nbd_wait_exit "$fio" 60 || xi_fail "fio still running 60 s after the restart"
cat "$XI_TMP/fio.txt"
[ "$NBD_RC" -eq 0 ] || xi_fail "fio exited $NBD_RC across the restart"
grep -q 'err= 0' "$XI_TMP/fio.txt" || xi_fail "fio saw errors"
grep -q 'reconnecting' "$XI_TMP/nbd.log" || xi_fail "the session never lost its connection"
grep -q 'logged in' "$XI_TMP/nbd.log" || xi_fail "the session did not log in again"
kill -0 "$NBD_PID" || xi_fail "xiscsi-io nbd died"
nbd_export_stop nbd
exit 0
