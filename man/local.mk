# Manual pages, one per program, configuration file and overview.
dist_man_MANS += man/xiscsi-transport.7
dist_man_MANS += man/xtgtd.8 man/xtgtd.conf.5 man/xtgtadm.8
dist_man_MANS += man/libxiscsi.3 man/xiscsi-io.1 man/xiscsiadm.8
dist_man_MANS += man/xiscsid.8
