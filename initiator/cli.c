#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "initiator/cli.h"

int cli_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int split_suffix(const char *s, unsigned long long *v, const char **suffix)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (end == s)
		return -EINVAL;
	*suffix = end;
	return 0;
}

int cli_size(const char *s, uint64_t *out)
{
	unsigned long long v, mul = 1;
	const char *suf;
	int err = split_suffix(s, &v, &suf);

	if (err)
		return err;
	if (!strcasecmp(suf, "") || !strcasecmp(suf, "b"))
		mul = 1;
	else if (!strcasecmp(suf, "k") || !strcasecmp(suf, "kib") || !strcasecmp(suf, "kb"))
		mul = 1024;
	else if (!strcasecmp(suf, "m") || !strcasecmp(suf, "mib") || !strcasecmp(suf, "mb"))
		mul = 1024 * 1024;
	else if (!strcasecmp(suf, "g") || !strcasecmp(suf, "gib") || !strcasecmp(suf, "gb"))
		mul = 1024ull * 1024 * 1024;
	else
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

int cli_duration_ms(const char *s, uint64_t *out)
{
	unsigned long long v, mul;
	const char *suf;
	int err = split_suffix(s, &v, &suf);

	if (err)
		return err;
	if (!strcmp(suf, "") || !strcmp(suf, "s"))
		mul = 1000;
	else if (!strcmp(suf, "ms"))
		mul = 1;
	else if (!strcmp(suf, "m"))
		mul = 60000;
	else
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

uint64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
