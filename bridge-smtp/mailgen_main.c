/* scop-mailgen: writes a generated mail corpus as .eml files.
 *
 *   scop-mailgen --seed S --count N --out DIR [--start K] [--raw]
 *
 * Without --raw the messages are built trees, encoded (valid mail); with
 * --raw they are the generator's raw, mostly damaged, texts.  File names are
 * <seed>-<n>.eml, so a message can be regenerated from its name. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bridge-smtp/mailgen.h"
#include "bridge-smtp/mime.h"
#include "common/buf.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: scop-mailgen --seed S --count N --out DIR [--start K] [--raw]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "start", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long seed = 1, count = 100, start = 0;
	const char *dir = NULL;
	int raw = 0, c;

	while ((c = getopt_long(argc, argv, "s:n:k:o:rh", opts, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 's': seed = strtoull(optarg, &end, 0); break;
		case 'n': count = strtoull(optarg, &end, 0); break;
		case 'k': start = strtoull(optarg, &end, 0); break;
		case 'o': dir = optarg; break;
		case 'r': raw = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (end && *end) {
			fprintf(stderr, "scop-mailgen: bad number '%s'\n", optarg);
			return 2;
		}
	}
	if (!dir || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "scop-mailgen: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	struct mailgen *g = mailgen_new(seed);
	struct buf b = BUF_INIT;
	if (!g)
		return 1;
	for (unsigned long long i = start; i < start + count; i++) {
		char path[4096];
		buf_reset(&b);
		if (raw) {
			if (mailgen_raw(g, i, &b) < 0)
				goto oom;
		} else {
			struct mime_msg *m = mailgen_build(g, i);
			int r = m ? mime_encode(m, &b) : -1;
			mime_msg_free(m);
			if (r < 0)
				goto oom;
		}
		snprintf(path, sizeof(path), "%s/%llu-%llu.eml", dir, seed, i);
		FILE *f = fopen(path, "wb");
		if (!f || (b.len && fwrite(b.data, 1, b.len, f) != b.len) || fclose(f) != 0) {
			fprintf(stderr, "scop-mailgen: %s: %s\n", path, strerror(errno));
			buf_free(&b);
			mailgen_free(g);
			return 1;
		}
	}
	buf_free(&b);
	mailgen_free(g);
	return 0;
oom:
	fprintf(stderr, "scop-mailgen: out of memory\n");
	buf_free(&b);
	mailgen_free(g);
	return 1;
}
