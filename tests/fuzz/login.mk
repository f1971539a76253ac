# Fuzz harnesses of keys, negotiation, login and CHAP, in the pattern of
# tests/fuzz/pdu.mk (see its top): fuzz_NAME.c, seeds/NAME/ written by the
# committed generator gen-seeds-login.c (`make fuzz-seeds-login`).
EXTRA_DIST += tests/fuzz/seeds/keys tests/fuzz/seeds/login_tgt tests/fuzz/seeds/login_ini \
	tests/fuzz/seeds/chap

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_keys
tests_fuzz_fuzz_keys_SOURCES = tests/fuzz/fuzz_keys.c
tests_fuzz_fuzz_keys_LDFLAGS = $(XI_FUZZ_LINK)
else
if ENABLE_TESTS
check_PROGRAMS += tests/fuzz/fuzz_keys
TESTS += tests/fuzz/fuzz_keys
tests_fuzz_fuzz_keys_SOURCES = tests/fuzz/fuzz_keys.c tests/fuzz/replay.c
tests_fuzz_fuzz_keys_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SEED_DIR='"$(XI_FUZZ_SEEDS)/keys"'
endif
endif
tests_fuzz_fuzz_keys_LDADD = $(XI_FUZZ_LDADD)

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_login_tgt
tests_fuzz_fuzz_login_tgt_SOURCES = tests/fuzz/fuzz_login_tgt.c
tests_fuzz_fuzz_login_tgt_LDFLAGS = $(XI_FUZZ_LINK)
else
if ENABLE_TESTS
check_PROGRAMS += tests/fuzz/fuzz_login_tgt
TESTS += tests/fuzz/fuzz_login_tgt
tests_fuzz_fuzz_login_tgt_SOURCES = tests/fuzz/fuzz_login_tgt.c tests/fuzz/replay.c
tests_fuzz_fuzz_login_tgt_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SEED_DIR='"$(XI_FUZZ_SEEDS)/login_tgt"'
endif
endif
tests_fuzz_fuzz_login_tgt_LDADD = $(XI_FUZZ_LDADD)

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_login_ini
tests_fuzz_fuzz_login_ini_SOURCES = tests/fuzz/fuzz_login_ini.c
tests_fuzz_fuzz_login_ini_LDFLAGS = $(XI_FUZZ_LINK)
else
if ENABLE_TESTS
check_PROGRAMS += tests/fuzz/fuzz_login_ini
TESTS += tests/fuzz/fuzz_login_ini
tests_fuzz_fuzz_login_ini_SOURCES = tests/fuzz/fuzz_login_ini.c tests/fuzz/replay.c
tests_fuzz_fuzz_login_ini_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SEED_DIR='"$(XI_FUZZ_SEEDS)/login_ini"'
endif
endif
tests_fuzz_fuzz_login_ini_LDADD = $(XI_FUZZ_LDADD)

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_chap
tests_fuzz_fuzz_chap_SOURCES = tests/fuzz/fuzz_chap.c
tests_fuzz_fuzz_chap_LDFLAGS = $(XI_FUZZ_LINK)
else
if ENABLE_TESTS
check_PROGRAMS += tests/fuzz/fuzz_chap
TESTS += tests/fuzz/fuzz_chap
tests_fuzz_fuzz_chap_SOURCES = tests/fuzz/fuzz_chap.c tests/fuzz/replay.c
tests_fuzz_fuzz_chap_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SEED_DIR='"$(XI_FUZZ_SEEDS)/chap"'
endif
endif
tests_fuzz_fuzz_chap_LDADD = $(XI_FUZZ_LDADD)

# The seed generator checks, as a test, that the committed seeds are current.
if ENABLE_TESTS
check_PROGRAMS += tests/fuzz/gen-seeds-login
TESTS += tests/fuzz/gen-seeds-login
endif
tests_fuzz_gen_seeds_login_SOURCES = tests/fuzz/gen-seeds-login.c
tests_fuzz_gen_seeds_login_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_SEED_ROOT='"$(XI_FUZZ_SEEDS)"'
tests_fuzz_gen_seeds_login_LDADD = $(XI_FUZZ_LDADD)

.PHONY: fuzz-seeds-login
fuzz-seeds-login: tests/fuzz/gen-seeds-login$(EXEEXT)
	$(MKDIR_P) $(srcdir)/tests/fuzz/seeds/keys $(srcdir)/tests/fuzz/seeds/login_tgt \
		$(srcdir)/tests/fuzz/seeds/login_ini $(srcdir)/tests/fuzz/seeds/chap
	tests/fuzz/gen-seeds-login$(EXEEXT) write $(srcdir)/tests/fuzz/seeds
