# tests/fuzz: harnesses (libFuzzer with --enable-fuzzing; seed replay otherwise)
