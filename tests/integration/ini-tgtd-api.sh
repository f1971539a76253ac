#!/bin/bash
# libxiscsi's asynchronous API against tgtd (see ini-api.c).
. "$top_srcdir/tests/integration/ini-lib.sh"
API="$top_builddir/tests/integration/ini-api"
[ -x "$API" ] || xi_skip "tests/integration/ini-api is not built (make check builds it)"
ini_tgtd_start 16
"$API" "$TGT_URL" || xi_fail "API checks failed"
exit 0
