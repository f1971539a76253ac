# Manual pages, one per program, configuration file and overview.
dist_man_MANS += man/xiscsi-transport.7
