/* tp1 reference solution: reads numbers, prints their count, sum and
 * average.
 *
 *   tp [--label TEXT] [--precise] [--input FILE] [--file FILE]
 *
 * Numbers come from stdin (or FILE with --input), separated by any
 * whitespace. Output:
 *   [TEXT]
 *   count: N
 *   sum: S
 *   average: A
 * S and A with two decimals, or with --precise with 17 significant digits.
 * --file writes the result to FILE instead of stdout.
 * Errors (stderr, exit status): a token that is not a number:
 * "tp: not a number: TOKEN" (2); no numbers at all: "tp: no numbers" (1);
 * a file that cannot be opened: "tp: FILE: reason" (3). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *label = NULL, *in = NULL, *out = NULL;
	int precise = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--label") && i + 1 < argc)
			label = argv[++i];
		else if (!strcmp(argv[i], "--input") && i + 1 < argc)
			in = argv[++i];
		else if (!strcmp(argv[i], "--file") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--precise"))
			precise = 1;
		else {
			fprintf(stderr, "usage: tp [--label TEXT] [--precise] [--input FILE] [--file FILE]\n");
			return 64;
		}
	}
	FILE *fin = stdin, *fout = stdout;
	if (in && !(fin = fopen(in, "r"))) {
		fprintf(stderr, "tp: %s: %s\n", in, strerror(errno));
		return 3;
	}
	char tok[256];
	long count = 0;
	double sum = 0;
	while (fscanf(fin, "%255s", tok) == 1) {
		char *end;
		double v = strtod(tok, &end);
		if (end == tok || *end) {
			fprintf(stderr, "tp: not a number: %s\n", tok);
			return 2;
		}
		sum += v;
		count++;
	}
	if (count == 0) {
		fprintf(stderr, "tp: no numbers\n");
		return 1;
	}
	if (out && !(fout = fopen(out, "w"))) {
		fprintf(stderr, "tp: %s: %s\n", out, strerror(errno));
		return 3;
	}
	if (label)
		fprintf(fout, "%s\n", label);
	fprintf(fout, "count: %ld\n", count);
	if (precise)
		fprintf(fout, "sum: %.17g\naverage: %.17g\n", sum, sum / count);
	else
		fprintf(fout, "sum: %.2f\naverage: %.2f\n", sum, sum / count);
	return fclose(fout) == 0 ? 0 : 3;
}
