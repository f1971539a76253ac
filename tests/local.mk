# Shared test harness: the shell library integration tests source.
EXTRA_DIST += tests/integration/lib.sh
include tests/fuzz/local.mk
include tests/vm/local.mk
