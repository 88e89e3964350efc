/* score: the points of an attempt and the late rule (README "Grades";
 * docs/ARCHITECTURE.md section 6). Pure functions: grading, the intake's
 * policy, the composer, report.html and `sercom export grades` all take
 * their numbers from here, so a grade is computed by one rule.
 *
 *  - A case is worth its `points` (case.conf, default 1) and earns them
 *    when it passes. Cases naming the same `group` (case.conf) earn their
 *    points only when every case of the group passes (CMS-style subtasks).
 *    A group is all public or all private (exercise_load checks it).
 *  - Public and private points are kept apart: score/max_score are the
 *    public cases', private_score/private_max the private cases'.
 *  - The grade is (score + private_score) less the late penalty.
 *  - Late: a mail received after the student's deadline (their extension's
 *    `until` when they have one, else the exercise's `closes`) is late by
 *    the whole days begun since. `late = reject` refuses it; `accept`
 *    grades it in full; `penalty PCT per day [max DAYS]` takes PCT percent
 *    per day off the grade (never below zero), and refuses it past DAYS. */
#ifndef SERCOM_SCORE_H
#define SERCOM_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum late_mode { LATE_REJECT, LATE_ACCEPT, LATE_PENALTY };
struct late_rule {
	enum late_mode mode;
	double pct_per_day;  /* LATE_PENALTY */
	int max_days;        /* LATE_PENALTY; 0: no limit */
};

struct score_case {
	const char *group;   /* NULL: counts alone */
	double points;
	bool is_private;
	bool passed;
	double earned;       /* out: points, or 0 (failed, or its group failed) */
};

struct score_total {
	double score, max_score;            /* public cases */
	double private_score, private_max;  /* private cases */
};

/* Fills each case's earned points and the totals. */
void score_cases(struct score_case *cases, size_t n, struct score_total *out);

/* The student's deadline: ext_until when set (> 0), else closes (0: none). */
int64_t score_deadline(int64_t closes, int64_t ext_until);
/* Whole days begun after deadline at received (a minute late is 1 day);
 * 0 when on time or when there is no deadline. */
int score_late_days(int64_t deadline, int64_t received);
/* Whether a mail late_days late is graded (false: refused as closed). */
bool score_late_allowed(const struct late_rule *r, int late_days);
/* The percent taken off: pct_per_day * late_days under LATE_PENALTY,
 * at most 100; 0 otherwise. */
double score_penalty(const struct late_rule *r, int late_days);
/* The grade: (score + private_score) * (100 - penalty) / 100, rounded to
 * two decimals. */
double score_final(double score, double private_score, double penalty);
/* A number of points as people write it: "7", "7.5", "6.75" (at most two
 * decimals, no trailing zeros, '.' whatever the locale). g_free. */
char *score_format(double v);

#endif
