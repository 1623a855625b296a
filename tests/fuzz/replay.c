/*
 * replay.c - a fuzz target as a plain program, without libFuzzer: replays
 * files through LLVMFuzzerTestOneInput() so `make check` (any compiler,
 * and the sanitizer build of tests/run.sh) proves that no input that once
 * crashed a target crashes it again, and that every seed still runs.
 *
 *   fuzz_<name>_replay [FILE|DIR ...]
 *
 * Without arguments: every file of $srcdir/tests/fuzz/regress/<name>/ (if
 * it exists) and $srcdir/tests/fuzz/corpus/<name>/ (names starting with '.' and README
 * skipped).  Prints each input before running it (a crash then names it),
 * and last "fuzz_<name>: N inputs replayed (R regress, C corpus): got no
 * crash, want no crash".  Exit status 0; a crash is an abort or signal;
 * 99 when a directory or file cannot be read.  FUZZ_NAME is set by
 * Makefile.am.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run one file; 0, or -1 when it cannot be read. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;

	if (f == NULL) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	for (;;) {
		if (n == cap) {
			unsigned char *nb = realloc(buf, cap ? cap * 2 : 4096);

			if (nb == NULL)
				abort();
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		size_t r = fread(buf + n, 1, cap - n, f);

		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	printf("replay %s (%zu bytes)\n", path, n);
	fflush(stdout);
	/* A copy of exactly n bytes, as libFuzzer gives, so reading past the
	 * end is an error the sanitizers see. */
	unsigned char *exact = malloc(n ? n : 1);

	if (exact == NULL)
		abort();
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

/* Run path (a file, or every file of a directory in name order); adds the
 * count to *count.  0, or -1 when something cannot be read. */
static int replay_path(const char *path, size_t *count)
{
	struct stat sb;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	DIR *d;
	int rc = 0;

	if (stat(path, &sb) < 0) {
		fprintf(stderr, "replay: no such file or directory: %s\n", path);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char **nv;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "README") == 0)
			continue;
		if ((nv = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (nv[n] = strdup(de->d_name)) == NULL)
			abort();
		names = nv;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char full[4096];

		if ((size_t)snprintf(full, sizeof(full), "%s/%s", path, names[i]) >= sizeof(full) ||
		    replay_file(full) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	*count += n;
	return rc;
}

int main(int argc, char **argv)
{
	size_t regress = 0, corpus = 0, other = 0;
	char path[4096];
	int rc = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (replay_path(argv[i], &other) < 0)
				rc = 99;
	} else {
		struct stat sb;

		/* No regress directory: this target never crashed. */
		if ((size_t)snprintf(path, sizeof(path), "%s/tests/fuzz/regress/%s", fuzz_srcdir(),
				     FUZZ_NAME) < sizeof(path) &&
		    stat(path, &sb) == 0 && replay_path(path, &regress) < 0)
			rc = 99;
		if ((size_t)snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", fuzz_srcdir(),
				     FUZZ_NAME) >= sizeof(path) ||
		    replay_path(path, &corpus) < 0)
			rc = 99;
		if (corpus == 0) {
			fprintf(stderr, "replay: no seed inputs in %s\n", path);
			rc = 99;
		}
	}
	printf(
	    "fuzz_%s: %zu inputs replayed (%zu regress, %zu corpus): got no crash, want no crash\n",
	    FUZZ_NAME, regress + corpus + other, regress, corpus);
	return rc;
}
