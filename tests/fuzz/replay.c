/* Replays a fuzz corpus through a libFuzzer entry point under the normal
 * (gcc, sanitizer) build, so every seed and every committed crash
 * reproducer runs in `make check`. The corpus directory is
 * $JN_SRCDIR/tests/fuzz/corpus/NAME for a program called replay-NAME;
 * arguments, when given, are files or directories to run instead.
 * Prints TAP: one test per corpus. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "# cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	/* Exact-size heap copy so ASan catches any read past the end. */
	uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
	size_t got = n > 0 ? fread(buf, 1, (size_t)n, f) : 0;
	fclose(f);
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	return 0;
}

static int run_path(const char *path, int *count)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "# %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096];
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		if (run_path(sub, count) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');
	self = self ? self + 1 : argv[0];
	const char *name = strncmp(self, "lt-", 3) == 0 ? self + 3 : self;
	if (strncmp(name, "replay-", 7) == 0)
		name += 7;
	int count = 0, rc = 0, first = 1;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	printf("1..1\n");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tap") == 0)
			continue;
		first = 0;
		if (run_path(argv[i], &count) < 0)
			rc = 1;
	}
	if (first) {
		const char *src = getenv("JN_SRCDIR");
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", src ? src : ".", name);
		if (run_path(dir, &count) < 0)
			rc = 1;
	}
	if (count == 0)
		rc = 1; /* an empty corpus tests nothing */
	printf("%s 1 - %s corpus: %d inputs replayed\n", rc ? "not ok" : "ok", name, count);
	return rc;
}
