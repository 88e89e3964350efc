/* exercise: loads an exercise definition directory (docs/ARCHITECTURE.md section 4):
 * exercise.conf, Makefile, skeleton/, solution/, tests/NAME/ cases. Errors
 * name the file and key. Also the shell-like argument parser of case.conf
 * (the original system's rules) and the accepted/required file rules.
 *
 * The rules a teacher meets (each mistake is an error naming file, group
 * and key, e.g. "exercises/tp1/tests/02/case.conf: [case] exit: expected a
 * number, 'nonzero' or 'any', got 'x'"):
 *  - exercise.conf groups: [exercise] (title, opens, closes, max_attempts,
 *    files, required, build, run, artifacts, compare, late, private_counts,
 *    charge_build_failures, reveal_private),
 *    [limits], [build-limits] (which also takes space and inodes: the
 *    build's tmpfs). case.conf groups: [case] (args, exit, private, points,
 *    group, compare, ignore_extra) and [limits]: a case's limit overrides go in its
 *    own [limits] group, as in exercise.conf. Unknown groups and keys are
 *    errors: a misspelt `privte = true` would otherwise publish a case.
 *  - Defaults: title = the directory name, build = make, run = ./tp,
 *    artifacts = the program run names when it is a relative path (tp),
 *    compare = exact, late = reject, private_counts = false,
 *    charge_build_failures = yes, reveal_private = never, no dates, no
 *    attempt limit; a case: no args, exit 0, public, 1 point, the
 *    exercise's compare, ignore_extra = false. case.conf may be absent.
 *  - A case directory holds only case.conf, stdin, stdout, stderr, in/,
 *    out/ (regular files and directories, never symlinks); anything else is
 *    an error ("stdout.txt" would leave a case checking nothing). Cases run
 *    in strcmp order of their names; names starting with '.' are skipped.
 *  - files/required globs (fnmatch, FNM_PERIOD): a glob with a '/' matches
 *    the whole relative path, one without matches the last component (so
 *    `*.c` accepts src/list.c). */
#ifndef SERCOM_EXERCISE_H
#define SERCOM_EXERCISE_H

#include "compare.h"   /* enum compare_mode, struct compare_spec */
#include "conf.h"
#include "score.h"   /* struct late_rule */
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

enum exit_expect { EXIT_EXPECT_CODE, EXIT_EXPECT_NONZERO, EXIT_EXPECT_ANY };
struct test_case {
	char *name;          /* directory name, e.g. "02-negative" */
	char *dir;           /* absolute path of tests/NAME */
	char **args;         /* NULL-terminated, after the program */
	enum exit_expect exit_kind;
	int exit_code;       /* EXIT_EXPECT_CODE */
	bool is_private;
	double points;
	char *group;         /* case.conf group: points count only when every
	                      * case of the group passes (score.h); NULL: none */
	bool ignore_extra;   /* unexpected new files in the work dir are fine */
	struct compare_spec compare;
	struct limits limits;        /* exercise limits with case overrides */
	char *stdin_path;    /* NULL when absent (then stdin is /dev/null) */
	char *stdout_path;   /* expected; NULL = not checked */
	char *stderr_path;
	char *in_dir;        /* NULL when absent */
	char *out_dir;
};

struct exercise {
	char *name;          /* directory basename */
	char *dir;           /* absolute path */
	char *title;
	int64_t opens;       /* unix time; 0 = always open */
	int64_t closes;      /* unix time; 0 = never closes */
	int max_attempts;    /* 0 = unlimited */
	char **files;        /* globs of accepted files (NULL-terminated) */
	char **required;     /* globs that must each match a submitted file */
	char **build;        /* argv of the build command (default: make) */
	char **run;          /* argv of the program (default: ./tp) */
	char **artifacts;    /* globs of the build dir's files each case gets
	                      * (default: run[0] when a relative path: tp) */
	struct compare_spec compare;  /* default for cases */
	struct late_rule late;       /* late = reject | accept | penalty ... */
	bool charge_build_failures;  /* a BUILD_FAILED attempt counts against
	                              * max_attempts (default yes) */
	bool reveal_after_close;     /* reveal_private = after_close */
	bool private_counts; /* private cases count toward ACCEPTED */
	struct limits limits;        /* instance [limits] + exercise [limits] */
	struct limits build_limits;  /* instance [build-limits] + exercise's */
	char *makefile;      /* path, NULL if absent */
	char *skeleton_dir;  /* NULL if absent */
	char *solution_dir;  /* NULL if absent */
	GPtrArray *cases;    /* struct test_case *, in name order */
};

/* Loads the exercise in dir with the instance's limits as defaults. */
struct exercise *exercise_load(const struct sercom_conf *c, const char *dir, GError **err);
/* Loads exercise.conf alone (no cases): the rules the MDA applies to a
 * submission, without reading every case.conf once per mail. */
struct exercise *exercise_load_rules(const struct sercom_conf *c, const char *dir, GError **err);
/* Loads conf->exercises/NAME, NAME matched case-insensitively; NULL with
 * err (code ENOENT) when there is no such exercise. */
struct exercise *exercise_find(const struct sercom_conf *c, const char *name, GError **err);
/* Names of the exercises under conf->exercises, sorted (g_strfreev). */
char **exercise_list_names(const struct sercom_conf *c);
void exercise_free(struct exercise *e);

/* Splits s with the original system's shell-like rules (params_to_list()):
 * spaces separate words (tabs and newlines too, here); "..." and '...'
 * group and may be glued to other text (a"b c" is one word `ab c`); a
 * backslash escapes everywhere, quotes included: \n and \t are newline and
 * tab, any other \c is c (\" \' \\ "\ "). Differences from the original,
 * both errors it let pass silently: an unclosed quote or a trailing
 * backslash is an error, and "" is always an empty word. *argv is
 * NULL-terminated (g_strfreev), NULL on error. */
bool exercise_parse_args(const char *s, char ***argv, GError **err);
/* Whether name matches one of the exercise's `files` globs (all when none). */
bool exercise_file_accepted(const struct exercise *e, const char *name);
/* Globs of `required` that match none of names: a NULL-terminated list
 * (g_strfreev), empty when every rule is met. */
char **exercise_missing_required(const struct exercise *e, char **names);

#endif
