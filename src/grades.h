/* grades: the gradebook side of issue 15 (README "Grades"): which
 * attempt counts for a student and exercise, the per-student extensions
 * (`sercom extend`, `sercom extensions`) and `sercom export grades`. The
 * numbers come from score.h; the commands are entries of sercom.c's
 * table, parsed by its option machinery. */
#ifndef SERCOM_GRADES_H
#define SERCOM_GRADES_H

#include "conf.h"
#include "store.h"
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* The attempt that counts for student at exercise: among the graded ones
 * (state DONE, verdict ACCEPTED, TESTS_FAILED or BUILD_FAILED), the best
 * (highest grade, score_final, the latest breaking ties) or the last, per
 * pick ([mail] grade). *attempt_id = 0 when there is none. */
bool grades_counting_attempt_pick(struct store *s, enum grade_pick pick, const char *student,
                                  const char *exercise, int64_t *attempt_id, GError **err);
/* The same with the instance's [mail] grade. */
bool grades_counting_attempt(struct store *s, const struct sercom_conf *c, const char *student,
                             const char *exercise, int64_t *attempt_id, GError **err);

/* SQL functions for the admin's listings, so they show the numbers of
 * score.h: score_text(score, max_score, private_score, private_max,
 * penalty) -> "7/10 +5/5 private -10% late" (NULL when not scored),
 * grade(score, private_score, penalty) -> score_final as score_format
 * writes it, points(x) -> score_format(x). */
bool grades_sql_functions(struct store *s, GError **err);

/* `sercom extend STUDENT EXERCISE --until DATE [--attempts N] [--note T]` */
extern GOptionEntry grades_extend_options[];
int grades_cmd_extend(const struct sercom_conf *c, struct store *s, int argc, char **argv);
/* `sercom extensions [--exercise E] [--student S] [--format F]` */
extern GOptionEntry grades_extensions_options[];
int grades_cmd_extensions(const struct sercom_conf *c, struct store *s, int argc, char **argv);
/* `sercom export grades [--format csv|json|text] [--policy best|last]` */
extern GOptionEntry grades_export_options[];
int grades_cmd_export(const struct sercom_conf *c, struct store *s, int argc, char **argv);

#endif
