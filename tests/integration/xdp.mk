# Integration tests of the xdp transport: xtgtd and xiscsi-io across a veth
# pair between two namespaces, each way round (root; skip without XDP).
XDP_IT = tests/integration/xdp-ini.sh tests/integration/xdp-tgt.sh tests/integration/xdp-loss.sh
TESTS += $(XDP_IT)
EXTRA_DIST += $(XDP_IT) tests/integration/xdp-lib.sh tests/integration/xdp.mk
