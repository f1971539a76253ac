# fuzz harnesses of the PDU core
