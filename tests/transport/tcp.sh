#!/bin/sh
# The transport suite on the tcp (epoll) backend.
. "${top_srcdir:-.}/tests/transport/run-suite"
xt_run_suite tcp
