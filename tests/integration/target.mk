# Integration tests of xtgtd, driven by real initiators (libiscsi's tools, QEMU).
XI_TARGET_IT = \
	tests/integration/xtgtd-cli.sh \
	tests/integration/xtgtd-discovery.sh \
	tests/integration/xtgtd-io.sh \
	tests/integration/xtgtd-bs-file.sh \
	tests/integration/xtgtd-crypt-dev.sh \
	tests/integration/xtgtd-malformed.sh \
	tests/integration/xtgtd-sigterm.sh \
	tests/integration/xtgtd-conformance.sh \
	tests/integration/xtgtd-auth.sh \
	tests/integration/xtgtd-protocol.sh \
	tests/integration/xtgtd-ffp.sh \
	tests/integration/xtgtadm-ops.sh \
	tests/integration/xtgtadm-persist.sh \
	tests/integration/xtgtadm-socket.sh \
	tests/integration/xtgtadm-portal.sh \
	tests/integration/xtgtadm-lun.sh \
	tests/integration/xtgtadm-auth.sh
TESTS += $(XI_TARGET_IT)
EXTRA_DIST += $(XI_TARGET_IT) tests/integration/xi_mini_ini.py
EXTRA_DIST += tests/integration/conformance-matrix.sh tests/integration/bench-xtgtd-vs-tgtd
XI_TARGET_IT += tests/integration/xtgtd-aptpl.sh
