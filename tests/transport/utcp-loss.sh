#!/bin/sh
# The loss test, quick form: the engine's impair mode drops 1%, duplicates
# 0.5% and reorders 1% of frames both ways while 64 MiB go each way between
# it and the kernel's TCP, every byte verified. The 1 GiB run is
#   UTCP_LOSS_BYTES=1G tests/transport/utcp-loss.sh
. "${top_srcdir:-.}/tests/transport/utcp-netns"
utcp_setup
utcp_run -b "${UTCP_LOSS_BYTES:-64M}" -d 10000 -u 5000 -r 10000 -s "${UTCP_LOSS_SEED:-1}" loss ||
	xi_fail "utcp_tap exited $?"
