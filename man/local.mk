# Manual pages, one per program, configuration file and overview.
