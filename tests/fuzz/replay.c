/*
 * Runs a libFuzzer harness without libFuzzer: LLVMFuzzerTestOneInput on
 * every file named on the command line or found (non-recursively) in the
 * directories named there. With no arguments it reads FUZZ_SEED_DIR, set
 * at build time, so the harness runs as a plain test in `make check`.
 * Exit 0 when every input ran, 1 on an unreadable input or no input at
 * all; a crash is the harness's own failure (sanitizers make it loud).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (16u << 20) /* seeds are small; refuse anything odd */

static int run_file(const char *path, unsigned *count)
{
	struct stat st;
	uint8_t *buf = NULL;
	FILE *f = NULL;
	int r = -1;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: not a readable regular file\n", path);
		goto out;
	}
	/* malloc(0) may return NULL; keep one byte so the harness gets a real pointer. */
	buf = malloc((size_t)st.st_size + 1);
	f = fopen(path, "rb");
	if (!buf || !f || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, (size_t)st.st_size);
	(*count)++;
	r = 0;
out:
	if (f)
		fclose(f);
	free(buf);
	return r;
}

static int run_path(const char *path, unsigned *count)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path, count);
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char file[4096];

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(file, sizeof(file), "%s/%s", path, de->d_name) >= (int)sizeof(file)) {
			r = -1;
			continue;
		}
		if (run_file(file, count) != 0)
			r = -1;
	}
	closedir(d);
	return r;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int r = 0;

	if (argc < 2) {
#ifdef FUZZ_SEED_DIR
		r = run_path(FUZZ_SEED_DIR, &count);
#else
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 1;
#endif
	}
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count) != 0)
			r = -1;
	printf("replay: %u inputs\n", count);
	if (count == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	return r == 0 ? 0 : 1;
}
