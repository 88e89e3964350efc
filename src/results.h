/* results: the machine-readable result of an attempt, results.json
 * (README "results.json"; the schema is tests/results.schema.json).
 * Field names follow the Gradescope autograder's results.json where it
 * has one (score, max_score, execution_time, output, tests[] with name,
 * score, max_score, status, output, visibility); the rest are sercom's.
 * Every graded reply attaches it (public cases only); `sercom show ID
 * --format json` prints it with the private cases.
 *
 * Pure: the caller (compose.c) reads the database and the exercise; this
 * module only writes JSON (RFC 8259: strings escaped, made valid UTF-8;
 * points written as people read them, "5.6" and not 5.5999999999999996). */
#ifndef SERCOM_RESULTS_H
#define SERCOM_RESULTS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct results_case {
	const char *name;
	const char *verdict;    /* PASS, WRONG_OUTPUT, TIME_LIMIT... */
	const char *output;     /* what happened, in the course's words */
	const char *group;      /* NULL: none */
	bool is_private;
	double points, earned;
	bool scored;            /* earned known; false: graded before points */
	int64_t cpu_ms, wall_ms, max_rss_kib;  /* -1: not measured */
	uint64_t limit_cpu_ms, limit_wall_ms, limit_memory_kib;  /* 0: unknown */
};

struct results_attempt {
	int64_t id;             /* the global attempt id */
	int64_t number;         /* the student's; 0: none */
	const char *exercise;
	const char *student;    /* NULL: not on the roster */
	const char *verdict;    /* ACCEPTED, TESTS_FAILED, BUILD_FAILED... */
	const char *output;     /* the summary line, in the course's words */
	bool scored;            /* score fields known (attempts.score set) */
	double score, max_score;        /* what is shown: public points,
	                                 * plus the private when included */
	bool private_included;  /* score and tests[] include the private cases */
	int late_days;
	double penalty;         /* percent off */
	double grade;           /* score less the penalty (score_final) */
	double execution_time;  /* seconds */
	const struct results_case *cases;  /* the cases to list, in order */
	size_t n_cases;
};

/* The JSON text (pretty, ends with a newline). g_free. */
char *results_json(const struct results_attempt *r);

#endif
