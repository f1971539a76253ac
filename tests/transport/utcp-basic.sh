#!/bin/sh
# The userspace TCP engine against the kernel's TCP over a TAP device:
# active and passive open, 16 MiB each way at once with both sides pausing
# their reader (zero windows), half-close either side first, RSTs either
# way and to closed ports, refused connects, an address ARP never answers.
. "${top_srcdir:-.}/tests/transport/utcp-netns"
utcp_setup
utcp_run -b 16M connect accept bulk halfclose reset refused unreach ||
	xi_fail "utcp_tap exited $?"
