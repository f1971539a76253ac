# target SCSI layer (spc, sbc, backing stores)
