/* casewords: what happened to a test case, in the language's words
 * ([case] and [signal] of strings.ini, conf/templates/README). The one
 * rule of the reply (compose.c), the after-close mail and report.html
 * (report.c): a case reads the same in all three. */
#ifndef SERCOM_CASEWORDS_H
#define SERCOM_CASEWORDS_H

#include "conf.h"
#include "exercise.h"
#include "tpl.h"
#include "verdict.h"
#include <stdint.h>

/* One case's result, as the results row has it. */
struct case_outcome {
	const char *name;      /* the case's name */
	enum case_verdict verdict;
	int64_t exit_code;
	int64_t signal;
	const char *note;      /* one line, or NULL */
	const char *diffs;     /* space-separated diff file names, or NULL */
};

/* The words of one differing output of a WRONG_OUTPUT case (diff: its diff
 * file's name): the reply names the attachment, the page does not. */
typedef char *(*casewords_differs_fn)(const struct tpl *t, const char *case_name, const char *diff,
                                      void *data);

/* The case's result in words: "passed", "CPU time limit of 2 s exceeded",
 * "killed by SIGSEGV (segmentation fault)", "stdout differs (see ...)".
 * limits: the case's (tc's when known, else the instance's); tc may be
 * NULL (a case gone from the exercise). g_free. */
char *casewords(const struct tpl *t, const struct case_outcome *o, const struct test_case *tc,
                const struct limits *limits, casewords_differs_fn differs, void *data);

#endif
