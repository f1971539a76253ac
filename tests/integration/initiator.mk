# Integration tests of the initiator: against tgtd (root only) and xtgtd.
INI_IT = \
	tests/integration/ini-tgtd-io.sh \
	tests/integration/ini-tgtd-reconnect.sh \
	tests/integration/ini-tgtd-discovery.sh \
	tests/integration/ini-tgtd-chap.sh \
	tests/integration/ini-tgtd-api.sh \
	tests/integration/ini-xtgtd-io.sh \
	tests/integration/ini-fake-proto.sh
TESTS += $(INI_IT)
EXTRA_DIST += $(INI_IT) tests/integration/ini-lib.sh tests/integration/ini_fake_tgt.py

# The asynchronous API exercised by ini-tgtd-api.sh, through the public header only.
check_PROGRAMS += tests/integration/ini-api
tests_integration_ini_api_SOURCES = tests/integration/ini-api.c
tests_integration_ini_api_LDADD = initiator/libxiscsi.la

# fio-jobs/three-config in a few seconds (root; skips without fio, the engine or namespaces).
TESTS += tests/integration/three-config-smoke.sh
EXTRA_DIST += tests/integration/three-config-smoke.sh
