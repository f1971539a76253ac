/*
 * Fuzz harness for the control socket's request handling: each input is
 * one or more request lines, run in order by tgt_admin_exec() against a
 * daemon with no reactor thread and no portal. Inputs that would open
 * backing stores or write files (lun.add, config.save, file:) are skipped:
 * they reach the LU and file system code, not the request parser, and a
 * fuzzed ram:16T would only measure the allocator.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "target/admin.h"
#include "target/portal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has(const uint8_t *data, size_t size, const char *needle)
{
	size_t n = strlen(needle);

	return size >= n && memmem(data, size, needle, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tgt_config cfg;
	struct tgt_daemon d;
	char err[256];
	size_t off = 0;
	unsigned lines = 0;

	if (size > TGT_ADMIN_REQUEST_MAX || has(data, size, "lun.add") ||
	    has(data, size, "config.save") || has(data, size, "file:"))
		return 0;
	tgt_config_init(&cfg);
	memset(&d, 0, sizeof(d));
	d.cfg = &cfg;
	pthread_rwlock_init(&d.objs_lock, NULL);
	pthread_mutex_init(&d.sess_lock, NULL);
	if (tgt_admin_init(&d) || tgt_targets_build(&d, err, sizeof(err)))
		goto out;
	while (off < size && lines++ < 64) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
		char *reply = tgt_admin_exec(&d, (const char *)data + off, len);

		/* Every request has a one-line reply. */
		if (!reply || strchr(reply, '\n'))
			abort();
		free(reply);
		off += len + 1;
	}
out:
	tgt_portals_free(&d);
	tgt_admin_free(&d);
	tgt_targets_free(&d);
	pthread_rwlock_destroy(&d.objs_lock);
	pthread_mutex_destroy(&d.sess_lock);
	tgt_config_free(&cfg);
	return 0;
}
