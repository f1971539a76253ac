# fuzz harnesses of keys, login and CHAP
