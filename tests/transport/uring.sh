#!/bin/sh
# The transport suite on the io_uring backend.
. "${top_srcdir:-.}/tests/transport/run-suite"
xt_run_suite uring
