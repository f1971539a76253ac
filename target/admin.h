/*
 * Run-time administration of xtgtd: the operations the control socket
 * (target/ctl.h, man/xtgtd.8 CONTROL SOCKET) offers, one JSON request in,
 * one JSON reply out. Every change takes d->objs_lock for writing; arrays
 * that reactor threads read without the lock are replaced, never edited in
 * place, and the old ones are kept until the daemon exits.
 */
#ifndef XISCSI_TARGET_ADMIN_H
#define XISCSI_TARGET_ADMIN_H

#include <stddef.h>

#include "target/tgt.h"

/* Largest request line the control socket accepts. */
#define TGT_ADMIN_REQUEST_MAX 65536

int tgt_admin_init(struct tgt_daemon *d);
/* Close what was retired (removed LUNs, replaced arrays); after the reactor
 * threads have stopped, before tgt_targets_free(). */
void tgt_admin_free(struct tgt_daemon *d);

/*
 * Execute one request line (JSON text, len bytes, need not be terminated).
 * Returns the reply as a malloc'ed, NUL-terminated single line without the
 * newline: {"ok":true,"result":...} or {"ok":false,"error":"...","code":"..."}.
 * NULL only when memory runs out.
 */
char *tgt_admin_exec(struct tgt_daemon *d, const char *req, size_t len);

/* The running configuration in man/xtgtd.conf.5 syntax (secrets included
 * when with_secrets). malloc'ed; NULL on ENOMEM. Caller holds objs_lock. */
char *tgt_admin_config_text(struct tgt_daemon *d, int with_secrets);

/* Write text to path atomically: temp file in the same directory (mode
 * 0600), fsync, rename, fsync of the directory. 0 or -errno. */
int tgt_admin_write_atomic(const char *path, const char *text);

#endif
