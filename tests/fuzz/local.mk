# tests/fuzz: libFuzzer harnesses. With --enable-fuzzing (CC=clang) each is a
# fuzzer binary; otherwise each is linked with a replay driver and runs its
# seed corpus as an ordinary test. The parts of lib/ add their harnesses in
# fragments of their own.
include tests/fuzz/pdu.mk
include tests/fuzz/login.mk
