/* diffbench: drives the diff module from the command line for the
 * benchmark (tests/bench/diff.sh) and the unit tests.
 *
 *   diffbench [-H] [-c N] [-m MAX] [-t] EXPECTED ACTUAL
 *
 * Writes the unified diff (or with -H the HTML page) to stdout; -m caps the
 * output (0 = unlimited, the default here, to match `diff -u`); -t prints the
 * elapsed milliseconds (read, diff and render) and the line counts to stderr.
 * Exit status like diff: 0 equal, 1 different, 2 trouble. */
#include "diff.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	bool html = false, timing = false;
	struct diff_options o = { .context = 3, .max_output = SIZE_MAX };
	int opt;
	while ((opt = getopt(argc, argv, "Hc:m:t")) != -1) {
		switch (opt) {
		case 'H': html = true; break;
		case 'c': o.context = atoi(optarg); break;
		case 'm': o.max_output = strtoull(optarg, NULL, 10); if (!o.max_output) o.max_output = SIZE_MAX; break;
		case 't': timing = true; break;
		default:
			fprintf(stderr, "usage: diffbench [-H] [-c N] [-m MAX] [-t] EXPECTED ACTUAL\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: diffbench [-H] [-c N] [-m MAX] [-t] EXPECTED ACTUAL\n");
		return 2;
	}
	int64_t t0 = util_now_ms();
	GError *err = NULL;
	struct diff *d = diff_files(argv[optind], argv[optind + 1], &err);
	if (!d) {
		fprintf(stderr, "diffbench: %s\n", err->message);
		return 2;
	}
	GString *out;
	if (html) {
		GString *frag = diff_html(d, &o);
		struct diff_section sec = { "diff", frag->str };
		out = diff_html_page("diffbench", &sec, 1);
		g_string_free(frag, TRUE);
	} else {
		out = diff_unified(d, &o);
	}
	if (util_write_all(1, out->str, out->len) < 0) {
		perror("diffbench: write");
		return 2;
	}
	int64_t t1 = util_now_ms();
	if (timing) {
		size_t del, ins;
		diff_stats(d, &del, &ins);
		fprintf(stderr, "diffbench: %lld ms, -%zu +%zu lines%s%s\n", (long long)(t1 - t0), del, ins,
		        diff_coarse(d) ? ", coarse" : "", diff_binary(d, NULL) ? ", binary" : "");
	}
	int rc = diff_equal(d) ? 0 : 1;
	g_string_free(out, TRUE);
	diff_free(d);
	return rc;
}
