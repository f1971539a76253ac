/*
 * Building the daemon's objects from a configuration: targets with their
 * LUNs opened, portals listening on every reactor thread.
 */
#ifndef XISCSI_TARGET_PORTAL_H
#define XISCSI_TARGET_PORTAL_H

#include <stddef.h>

#include "target/tgt.h"

/* Open every target's LUNs. Errors name the target and LUN in err. */
int tgt_targets_build(struct tgt_daemon *d, char *err, size_t errlen);
void tgt_targets_free(struct tgt_daemon *d);

/* Fill p for host:port in portal group tpgt (a numeric address), with no
 * listener yet. Errors are described in err. */
int tgt_portal_init(struct tgt_daemon *d, struct tgt_portal *p, const char *host, uint16_t port,
                    uint16_t tpgt, char *err, size_t errlen);
/* Listen on p from th's group; runs on th's thread (or before it starts). */
int tgt_portal_listen_thread(struct tgt_portal *p, struct tgt_thread *th);
/* Stop accepting on p's listener of th; runs on th's thread. */
void tgt_portal_close_thread(struct tgt_portal *p, struct tgt_thread *th);

/* Resolve the portals (numeric addresses); no socket yet. */
int tgt_portals_build(struct tgt_daemon *d, char *err, size_t errlen);
/* Listen on every portal from every thread's group (SO_REUSEPORT spreads
 * the connections over the threads). */
int tgt_portals_listen(struct tgt_daemon *d, char *err, size_t errlen);
/* Stop accepting on th's listeners; runs on th's thread. */
void tgt_portals_close_thread(struct tgt_thread *th);
void tgt_portals_free(struct tgt_daemon *d);

#endif
