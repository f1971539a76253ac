# target/: xtgtd, xtgtadm. The SCSI layer and backing stores keep their own fragment.
include target/scsi.mk
