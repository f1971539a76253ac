/*
 * The control socket of xtgtd (man/xtgtd.8, CONTROL SOCKET): a unix stream
 * socket served by a thread of its own, so that an administrator never
 * waits on, nor delays, a reactor thread. One JSON request per line in, one
 * JSON reply per line out (target/admin.h).
 */
#ifndef XISCSI_TARGET_CTL_H
#define XISCSI_TARGET_CTL_H

#include <stddef.h>

#include "target/tgt.h"

#define TGT_CTL_PATH_DEFAULT "/run/xiscsi/xtgtd.sock"
/* Administrators connected at once; one more is told to come back later. */
#define TGT_CTL_CLIENTS_MAX 8

struct tgt_ctl;

/* Create the socket (its directory 0700 when missing, the socket 0600) and
 * start serving. Errors are described in err. */
int tgt_ctl_start(struct tgt_daemon *d, const char *path, struct tgt_ctl **out, char *err,
                  size_t errlen);
/* Stop the thread, close every client, remove the socket file. */
void tgt_ctl_stop(struct tgt_ctl *ctl);

#endif
