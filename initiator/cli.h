/* Helpers the command-line tools share: numbers, sizes, durations, messages. */
#ifndef XI_INI_CLI_H
#define XI_INI_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Decimal or 0x hex, whole string, within [min, max]. 0 or -EINVAL/-ERANGE. */
int cli_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "4096", "4k", "1M", "2g" (powers of 1024). */
int cli_size(const char *s, uint64_t *out);
/* "5", "5s", "500ms", "2m": milliseconds. */
int cli_duration_ms(const char *s, uint64_t *out);
/* Monotonic clock in nanoseconds. */
uint64_t cli_now_ns(void);

#endif
