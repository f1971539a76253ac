#!/bin/bash
# The NBD export against a raw client that sends what real clients never
# do: malformed and oversized options, misaligned, out-of-range and oversized
# requests, bad magic. Each gets the error the NBD protocol names (or the
# connection is closed where it says so), and the server serves on.
. "$top_srcdir/tests/integration/nbd-lib.sh"

xi_need_cmd python3 python3
nbd_xtgtd_start ram:64M
nbd_export_start nbd "$NBD_ISCSI/0" --name lun0
python3 "$NBD_CLIENT" "$NBD_SOCK" protocol lun0 $((64 << 20)) || xi_fail "protocol checks"
kill -0 "$NBD_PID" || xi_fail "xiscsi-io nbd died"
nbd_export_stop nbd
exit 0
