/* exercise: the exercise loader. See exercise.h and docs/ARCHITECTURE.md section 4.
 *
 * An exercise directory is written by teachers, usually in a hurry the
 * night before it opens. Everything is checked when it is loaded, and a
 * mistake is an error that names the file, the group and the key: an
 * unknown key (a typo such as `privte = true` would otherwise silently make
 * a hidden case public), a bad value, a case directory with a stray file
 * name. Nothing is guessed. */
#define _GNU_SOURCE
#include "exercise.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const exercise_keys[] = {
	"title", "opens", "closes", "max_attempts", "files", "required", "build",
	"run", "compare", "late", "private_counts", "artifacts",
	"charge_build_failures", "reveal_private", NULL
};
static const char *const case_keys[] = {
	"args", "exit", "private", "points", "group", "compare", "ignore_extra", NULL
};
static const char *const limit_keys[] = {
	"message_size", "unpacked_size", "files", "cpu", "wall", "memory", "output",
	"procs", "file_size", "min_interval", "max_per_day", NULL
};
/* [build-limits] also sizes the build's tmpfs (grade.c) */
static const char *const build_limit_keys[] = {
	"message_size", "unpacked_size", "files", "cpu", "wall", "memory", "output",
	"procs", "file_size", "space", "inodes", NULL
};
/* what a case directory may hold */
static const char *const case_entries[] = {
	"case.conf", "stdin", "stdout", "stderr", "in", "out", NULL
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

static char *join_list(const char *const *list)
{
	return g_strjoinv(", ", (char **)list);
}

/* Rejects groups and keys the loader does not know: a misspelt key is a
 * setting the teacher believes is in force and is not. */
static bool check_keys(GKeyFile *kf, const char *file, const char *const *groups,
                       const char *const *const *keys, GError **err)
{
	g_auto(GStrv) gs = g_key_file_get_groups(kf, NULL);
	for (char **g = gs; *g; g++) {
		int gi = -1;
		for (int i = 0; groups[i]; i++)
			if (!strcmp(groups[i], *g))
				gi = i;
		if (gi < 0) {
			g_autofree char *known = join_list(groups);
			g_set_error(err, SERCOM_ERROR, EINVAL, "%s: [%s]: unknown group (known: %s)", file, *g, known);
			return false;
		}
		g_auto(GStrv) ks = g_key_file_get_keys(kf, *g, NULL, NULL);
		for (char **k = ks; k && *k; k++) {
			if (in_list(keys[gi], *k))
				continue;
			g_autofree char *known = join_list(keys[gi]);
			const char *hint = in_list(limit_keys, *k) ? "; limits go in [limits]"
			                 : in_list(build_limit_keys, *k) ? "; space and inodes go in [build-limits]"
			                 : "";
			g_set_error(err, SERCOM_ERROR, EINVAL, "%s: [%s] %s: unknown key (known: %s)%s",
			            file, *g, *k, known, hint);
			return false;
		}
	}
	return true;
}

static char *get_value(GKeyFile *kf, const char *group, const char *key)
{
	char *v = g_key_file_get_value(kf, group, key, NULL);
	if (v)
		g_strstrip(v);
	return v;
}

/* A space-separated list; NULL-terminated, empty when the key is absent. */
static char **get_list(GKeyFile *kf, const char *group, const char *key)
{
	g_autofree char *v = get_value(kf, group, key);
	GPtrArray *a = g_ptr_array_new();
	if (v) {
		g_auto(GStrv) parts = g_strsplit_set(v, " \t", -1);
		for (char **p = parts; *p; p++)
			if (**p)
				g_ptr_array_add(a, g_strdup(*p));
	}
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

static bool get_args(GKeyFile *kf, const char *file, const char *group, const char *key,
                     const char *def, bool nonempty, char ***out, GError **err)
{
	g_autofree char *v = get_value(kf, group, key);
	GError *e = NULL;
	if (!exercise_parse_args(v ? v : def, out, &e)) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "%s: [%s] %s: %s", file, group, key, e->message);
		g_error_free(e);
		return false;
	}
	if (nonempty && (!**out || !***out)) {
		g_strfreev(*out);
		*out = NULL;
		g_set_error(err, SERCOM_ERROR, EINVAL, "%s: [%s] %s: expected a command, got nothing", file, group, key);
		return false;
	}
	return true;
}

static bool get_compare(GKeyFile *kf, const char *file, const char *group, const char *exercise_dir,
                        struct compare_spec *spec, GError **err)
{
	g_autofree char *v = get_value(kf, group, "compare");
	if (!v)
		return true;
	struct compare_spec s;
	GError *e = NULL;
	if (!compare_spec_parse(v, &s, &e)) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "%s: [%s] compare: %s", file, group, e->message);
		g_error_free(e);
		return false;
	}
	if (s.mode == CMP_CHECKER) {
		g_autofree char *prog = g_build_filename(exercise_dir, s.checker, NULL);
		if (!g_file_test(prog, G_FILE_TEST_IS_REGULAR)) {
			g_set_error(err, SERCOM_ERROR, ENOENT, "%s: [%s] compare: checker %s: no such file in the exercise",
			            file, group, s.checker);
			compare_spec_clear(&s);
			return false;
		}
	}
	compare_spec_clear(spec);
	*spec = s;
	return true;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* path when it exists with the right type; an error when it exists with
 * another (a symlink included: an exercise is copied into sandboxes, and a
 * link could point anywhere on the host). */
static bool optional_entry(const char *dir, const char *name, bool want_dir, char **out, GError **err)
{
	*out = NULL;
	g_autofree char *p = g_build_filename(dir, name, NULL);
	struct stat st;
	if (lstat(p, &st) < 0) {
		if (errno == ENOENT)
			return true;
		g_set_error(err, SERCOM_ERROR, errno, "%s: %s", p, g_strerror(errno));
		return false;
	}
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "%s: expected a %s", p,
		            want_dir ? "directory" : "regular file (not a link)");
		return false;
	}
	*out = g_steal_pointer(&p);
	return true;
}

/* artifacts: globs of the build dir's files that each case's work dir
 * gets (grade.c); by default the program `run` names when it is a path
 * relative to the build dir (./tp: tp). Paths relative to the build dir,
 * without "." or ".." components: a glob walks down, never up or out. */
static bool get_artifacts(GKeyFile *kf, const char *file, struct exercise *e, GError **err)
{
	e->artifacts = get_list(kf, "exercise", "artifacts");
	if (!e->artifacts[0] && e->run[0][0] != '/' && strchr(e->run[0], '/')) {
		const char *p = e->run[0];
		while (g_str_has_prefix(p, "./"))
			p += 2;
		g_strfreev(e->artifacts);
		e->artifacts = g_new0(char *, 2);
		e->artifacts[0] = g_strdup(p);
	}
	for (char **a = e->artifacts; *a; a++) {
		g_auto(GStrv) parts = g_strsplit(*a, "/", -1);
		bool ok = **a != '/';
		for (char **c = parts; ok && *c; c++)
			ok = **c && strcmp(*c, ".") && strcmp(*c, "..");
		if (!ok) {
			g_set_error(err, SERCOM_ERROR, EINVAL,
			            "%s: [exercise] artifacts: expected globs of paths inside the build dir "
			            "(no leading /, no . or .. components), got '%s'", file, *a);
			return false;
		}
	}
	return true;
}

static void case_free(struct test_case *t)
{
	if (!t)
		return;
	g_free(t->name);
	g_free(t->dir);
	g_strfreev(t->args);
	compare_spec_clear(&t->compare);
	g_free(t->stdin_path);
	g_free(t->group);
	g_free(t->stdout_path);
	g_free(t->stderr_path);
	g_free(t->in_dir);
	g_free(t->out_dir);
	g_free(t);
}

static bool load_case(const struct exercise *e, const char *tests_dir, const char *name,
                      struct test_case **out, GError **err)
{
	struct test_case *t = g_new0(struct test_case, 1);
	t->name = g_strdup(name);
	t->dir = g_build_filename(e->dir, "tests", name, NULL);
	t->exit_kind = EXIT_EXPECT_CODE;
	t->exit_code = 0;
	t->points = 1;
	t->limits = e->limits;
	compare_spec_copy(&t->compare, &e->compare);
	g_autofree char *shown_dir = g_build_filename(tests_dir, name, NULL);
	g_autofree char *file = g_build_filename(shown_dir, "case.conf", NULL);
	g_autofree char *conf_path = g_build_filename(t->dir, "case.conf", NULL);
	g_autofree char *ex = NULL, *pts = NULL;
	GKeyFile *kf = NULL;
	bool ok = false;

	/* stray names first: "stdout.txt" or "expected" would otherwise leave
	 * a case that checks nothing */
	GDir *d = g_dir_open(t->dir, 0, NULL);
	if (d) {
		const char *n;
		while ((n = g_dir_read_name(d))) {
			if (!in_list(case_entries, n)) {
				g_autofree char *known = join_list(case_entries);
				g_set_error(err, SERCOM_ERROR, EINVAL, "%s/%s: unexpected file in a case (known: %s)",
				            shown_dir, n, known);
				g_dir_close(d);
				goto out;
			}
		}
		g_dir_close(d);
	}

	if (is_file(conf_path)) {
		GError *e2 = NULL;
		/* by the path as given, which the message names */
		kf = conf_keyfile_load(file, &e2);
		if (!kf) {
			g_propagate_error(err, e2);
			goto out;
		}
		static const char *const groups[] = { "case", "limits", NULL };
		static const char *const *const keys[] = { case_keys, limit_keys };
		if (!check_keys(kf, file, groups, keys, err))
			goto out;
		if (!get_args(kf, file, "case", "args", "", false, &t->args, err))
			goto out;
		ex = get_value(kf, "case", "exit");
		if (ex) {
			char *end;
			long v = strtol(ex, &end, 10);
			if (!strcmp(ex, "nonzero")) {
				t->exit_kind = EXIT_EXPECT_NONZERO;
			} else if (!strcmp(ex, "any")) {
				t->exit_kind = EXIT_EXPECT_ANY;
			} else if (*ex && !*end && v >= 0 && v <= 255) {
				t->exit_code = (int)v;
			} else {
				g_set_error(err, SERCOM_ERROR, EINVAL,
				            "%s: [case] exit: expected a number, 'nonzero' or 'any', got '%s'", file, ex);
				goto out;
			}
		}
		if (!conf_get_bool(kf, file, "case", "private", &t->is_private, err) ||
		    !conf_get_bool(kf, file, "case", "ignore_extra", &t->ignore_extra, err))
			goto out;
		pts = get_value(kf, "case", "points");
		if (pts) {
			char *end;
			double v = g_ascii_strtod(pts, &end);
			if (!*pts || *end || !isfinite(v) || v < 0) {
				g_set_error(err, SERCOM_ERROR, EINVAL,
				            "%s: [case] points: expected a number >= 0, got '%s'", file, pts);
				goto out;
			}
			t->points = v;
		}
		t->group = get_value(kf, "case", "group");
		if (t->group && !*t->group)
			g_clear_pointer(&t->group, g_free);
		if (!get_compare(kf, file, "case", e->dir, &t->compare, err))
			goto out;
		if (!conf_read_limits(kf, file, "limits", &t->limits, err))
			goto out;
	} else {
		t->args = g_new0(char *, 1);
	}

	if (!optional_entry(t->dir, "stdin", false, &t->stdin_path, err) ||
	    !optional_entry(t->dir, "stdout", false, &t->stdout_path, err) ||
	    !optional_entry(t->dir, "stderr", false, &t->stderr_path, err) ||
	    !optional_entry(t->dir, "in", true, &t->in_dir, err) ||
	    !optional_entry(t->dir, "out", true, &t->out_dir, err))
		goto out;
	ok = true;
out:
	if (kf)
		g_key_file_free(kf);
	if (!ok) {
		case_free(t);
		return false;
	}
	*out = t;
	return true;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A group is all public or all private: its points count toward one part
 * of the score (score.h), and a student must never see half a group. */
static bool check_groups(const struct exercise *e, const char *shown_tests, GError **err)
{
	for (guint i = 0; i < e->cases->len; i++) {
		const struct test_case *a = e->cases->pdata[i];
		for (guint j = 0; a->group && j < i; j++) {
			const struct test_case *b = e->cases->pdata[j];
			if (b->group && !strcmp(a->group, b->group) && a->is_private != b->is_private) {
				g_set_error(err, SERCOM_ERROR, EINVAL,
				            "%s/%s/case.conf: [case] group: group '%s' mixes public and private cases (%s is %s)",
				            shown_tests, a->name, a->group, b->name, b->is_private ? "private" : "public");
				return false;
			}
		}
	}
	return true;
}

static bool load_cases(struct exercise *e, const char *shown_dir, GError **err)
{
	e->cases = g_ptr_array_new_with_free_func((GDestroyNotify)case_free);
	g_autofree char *tests = g_build_filename(e->dir, "tests", NULL);
	g_autofree char *shown_tests = g_build_filename(shown_dir, "tests", NULL);
	if (!is_dir(tests)) {
		log_debug("%s: no tests/ directory: submissions are only built", shown_tests);
		return true;
	}
	GError *e2 = NULL;
	GDir *d = g_dir_open(tests, 0, &e2);
	if (!d) {
		g_set_error(err, SERCOM_ERROR, EACCES, "%s: %s", shown_tests, e2->message);
		g_error_free(e2);
		return false;
	}
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *n;
	while ((n = g_dir_read_name(d))) {
		if (n[0] == '.')
			continue;   /* .gitkeep and editors' droppings */
		g_autofree char *p = g_build_filename(tests, n, NULL);
		if (!is_dir(p)) {
			log_warn("%s/%s: not a directory (or a symlink), ignored", shown_tests, n);
			continue;
		}
		if (!util_safe_filename(n)) {
			g_set_error(err, SERCOM_ERROR, EINVAL, "%s: a case name must be a plain file name", shown_tests);
			g_dir_close(d);
			g_ptr_array_free(names, TRUE);
			return false;
		}
		g_ptr_array_add(names, g_strdup(n));
	}
	g_dir_close(d);
	qsort(names->pdata, names->len, sizeof(char *), cmp_names);
	for (guint i = 0; i < names->len; i++) {
		struct test_case *t;
		if (!load_case(e, shown_tests, names->pdata[i], &t, err)) {
			g_ptr_array_free(names, TRUE);
			return false;
		}
		g_ptr_array_add(e->cases, t);
	}
	g_ptr_array_free(names, TRUE);
	return check_groups(e, shown_tests, err);
}

void exercise_free(struct exercise *e)
{
	if (!e)
		return;
	g_free(e->name);
	g_free(e->dir);
	g_free(e->title);
	g_strfreev(e->files);
	g_strfreev(e->required);
	g_strfreev(e->build);
	g_strfreev(e->run);
	g_strfreev(e->artifacts);
	compare_spec_clear(&e->compare);
	g_free(e->makefile);
	g_free(e->skeleton_dir);
	g_free(e->solution_dir);
	if (e->cases)
		g_ptr_array_free(e->cases, TRUE);
	g_free(e);
}

/* late = reject | accept | penalty PCT per day [max DAYS] (score.h) */
static bool get_late(GKeyFile *kf, const char *file, struct late_rule *r, GError **err)
{
	g_autofree char *late = get_value(kf, "exercise", "late");
	memset(r, 0, sizeof *r);
	r->mode = LATE_REJECT;
	if (!late || !strcmp(late, "reject"))
		return true;
	if (!strcmp(late, "accept")) {
		r->mode = LATE_ACCEPT;
		return true;
	}
	g_auto(GStrv) w = g_strsplit_set(late, " \t", -1);
	GPtrArray *words = g_ptr_array_new();
	for (char **p = w; *p; p++)
		if (**p)
			g_ptr_array_add(words, *p);
	char **v = (char **)words->pdata;
	guint n = words->len;
	char *end = NULL, *end2 = NULL;
	bool ok = (n == 4 || n == 6) && !strcmp(v[0], "penalty") && !strcmp(v[2], "per") && !strcmp(v[3], "day");
	if (ok) {
		r->pct_per_day = g_ascii_strtod(v[1], &end);
		ok = *v[1] && !*end && isfinite(r->pct_per_day) && r->pct_per_day >= 0 && r->pct_per_day <= 100;
	}
	if (ok && n == 6) {
		long d = strtol(v[5], &end2, 10);
		ok = !strcmp(v[4], "max") && *v[5] && !*end2 && d >= 1 && d <= 3650;
		r->max_days = (int)d;
	}
	g_ptr_array_free(words, TRUE);
	if (!ok) {
		g_set_error(err, SERCOM_ERROR, EINVAL,
		            "%s: [exercise] late: expected reject, accept or 'penalty PCT per day [max DAYS]' "
		            "(PCT 0 to 100), got '%s'", file, late);
		return false;
	}
	r->mode = LATE_PENALTY;
	return true;
}

/* reveal_private = never | after_close */
static bool get_reveal(GKeyFile *kf, const char *file, bool *after_close, GError **err)
{
	g_autofree char *v = get_value(kf, "exercise", "reveal_private");
	*after_close = v && !strcmp(v, "after_close");
	if (v && !*after_close && strcmp(v, "never")) {
		g_set_error(err, SERCOM_ERROR, EINVAL,
		            "%s: [exercise] reveal_private: expected never or after_close, got '%s'", file, v);
		return false;
	}
	return true;
}

static struct exercise *load(const struct sercom_conf *c, const char *dir, bool with_cases, GError **err)
{
	struct exercise *e = g_new0(struct exercise, 1);
	e->dir = g_canonicalize_filename(dir, NULL);
	e->name = g_path_get_basename(e->dir);
	g_autofree char *file = g_build_filename(dir, "exercise.conf", NULL);
	GKeyFile *kf = NULL;
	bool ok = false;
	if (c) {
		e->limits = c->limits;
		e->build_limits = c->build_limits;
	} else {
		conf_default_limits(&e->limits);
		conf_default_build_limits(&e->build_limits);
	}
	e->compare.mode = CMP_EXACT;

	/* the exercise directory itself may be a link (into the teachers' git
	 * checkout); what lies inside it may not */
	if (!g_file_test(e->dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(err, SERCOM_ERROR, ENOENT, "%s: no such exercise directory", dir);
		goto out;
	}
	GError *e2 = NULL;
	kf = conf_keyfile_load(file, &e2);
	if (!kf) {
		g_propagate_error(err, e2);
		goto out;
	}
	static const char *const groups[] = { "exercise", "limits", "build-limits", NULL };
	static const char *const *const keys[] = { exercise_keys, limit_keys, build_limit_keys };
	if (!check_keys(kf, file, groups, keys, err))
		goto out;
	if (!g_key_file_has_group(kf, "exercise")) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "%s: missing the [exercise] group", file);
		goto out;
	}
	e->title = get_value(kf, "exercise", "title");
	if (!e->title || !*e->title) {
		g_free(e->title);
		e->title = g_strdup(e->name);
	}
	int64_t n = 0;
	if (!conf_get_date(kf, file, "exercise", "opens", &e->opens, err) ||
	    !conf_get_date(kf, file, "exercise", "closes", &e->closes, err) ||
	    !conf_get_int(kf, file, "exercise", "max_attempts", &n, err))
		goto out;
	if (n < 0 || n > INT32_MAX) {
		g_set_error(err, SERCOM_ERROR, EINVAL,
		            "%s: [exercise] max_attempts: expected a number >= 0 (0 = unlimited), got '%lld'",
		            file, (long long)n);
		goto out;
	}
	e->max_attempts = (int)n;
	if (e->opens && e->closes && e->closes <= e->opens) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "%s: [exercise] closes: it is not after opens", file);
		goto out;
	}
	e->files = get_list(kf, "exercise", "files");
	e->required = get_list(kf, "exercise", "required");
	if (!get_args(kf, file, "exercise", "build", "make", true, &e->build, err) ||
	    !get_args(kf, file, "exercise", "run", "./tp", true, &e->run, err) ||
	    !get_compare(kf, file, "exercise", e->dir, &e->compare, err))
		goto out;
	if (!get_artifacts(kf, file, e, err))
		goto out;
	if (!get_late(kf, file, &e->late, err) || !get_reveal(kf, file, &e->reveal_after_close, err))
		goto out;
	e->charge_build_failures = true;
	if (!conf_get_bool(kf, file, "exercise", "charge_build_failures", &e->charge_build_failures, err))
		goto out;
	if (!conf_get_bool(kf, file, "exercise", "private_counts", &e->private_counts, err) ||
	    !conf_read_limits(kf, file, "limits", &e->limits, err) ||
	    !conf_read_limits(kf, file, "build-limits", &e->build_limits, err))
		goto out;
	if (!optional_entry(e->dir, "Makefile", false, &e->makefile, err) ||
	    !optional_entry(e->dir, "skeleton", true, &e->skeleton_dir, err) ||
	    !optional_entry(e->dir, "solution", true, &e->solution_dir, err))
		goto out;
	if (!with_cases)
		e->cases = g_ptr_array_new();
	else if (!load_cases(e, dir, err))
		goto out;
	ok = true;
out:
	if (kf)
		g_key_file_free(kf);
	if (!ok) {
		exercise_free(e);
		return NULL;
	}
	return e;
}

struct exercise *exercise_load(const struct sercom_conf *c, const char *dir, GError **err)
{
	return load(c, dir, true, err);
}

struct exercise *exercise_load_rules(const struct sercom_conf *c, const char *dir, GError **err)
{
	return load(c, dir, false, err);
}

char **exercise_list_names(const struct sercom_conf *c)
{
	GPtrArray *a = g_ptr_array_new();
	GDir *d = c && c->exercises ? g_dir_open(c->exercises, 0, NULL) : NULL;
	if (d) {
		const char *n;
		while ((n = g_dir_read_name(d))) {
			if (n[0] == '.' || !util_safe_filename(n))
				continue;
			g_autofree char *conf = g_build_filename(c->exercises, n, "exercise.conf", NULL);
			if (is_file(conf))
				g_ptr_array_add(a, g_strdup(n));
		}
		g_dir_close(d);
	}
	qsort(a->pdata, a->len, sizeof(char *), cmp_names);
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

struct exercise *exercise_find(const struct sercom_conf *c, const char *name, GError **err)
{
	/* the name comes from mail (+tag, Subject): never a path */
	if (!name || !util_safe_filename(name)) {
		g_set_error(err, SERCOM_ERROR, ENOENT, "no exercise named '%s'", name ? name : "");
		return NULL;
	}
	g_auto(GStrv) names = exercise_list_names(c);
	for (char **n = names; *n; n++) {
		if (g_ascii_strcasecmp(*n, name))
			continue;
		g_autofree char *dir = g_build_filename(c->exercises, *n, NULL);
		return exercise_load(c, dir, err);
	}
	g_set_error(err, SERCOM_ERROR, ENOENT, "no exercise named '%s'", name);
	return NULL;
}

bool exercise_parse_args(const char *s, char ***argv, GError **err)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	GString *cur = NULL;   /* NULL between words: "" '' make an empty word */
	char quote = 0;
	size_t quote_at = 0;
	const char *p = s ? s : "";
	for (; *p; p++) {
		char ch = *p;
		if (ch == '\\') {
			/* as the original params_to_list(): \n and \t are control
			 * characters, any other escaped character stands for
			 * itself (\" \' \\ and "\ " included), inside quotes too */
			char nx = p[1];
			if (!nx) {
				g_set_error(err, SERCOM_ERROR, EINVAL, "a backslash ends the arguments");
				goto fail;
			}
			if (!cur)
				cur = g_string_new(NULL);
			g_string_append_c(cur, nx == 'n' ? '\n' : nx == 't' ? '\t' : nx);
			p++;
			continue;
		}
		if (quote) {
			if (ch == quote)
				quote = 0;
			else
				g_string_append_c(cur, ch);
			continue;
		}
		if (ch == '"' || ch == '\'') {
			quote = ch;
			quote_at = (size_t)(p - (s ? s : ""));
			if (!cur)
				cur = g_string_new(NULL);
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
			if (cur)
				g_ptr_array_add(a, g_string_free(cur, FALSE));
			cur = NULL;
			continue;
		}
		if (!cur)
			cur = g_string_new(NULL);
		g_string_append_c(cur, ch);
	}
	if (quote) {
		g_set_error(err, SERCOM_ERROR, EINVAL, "unclosed %c quote (opened at character %zu)", quote, quote_at + 1);
		goto fail;
	}
	if (cur)
		g_ptr_array_add(a, g_string_free(cur, FALSE));
	g_ptr_array_add(a, NULL);
	g_ptr_array_set_free_func(a, NULL);
	*argv = (char **)g_ptr_array_free(a, FALSE);
	return true;
fail:
	if (cur)
		g_string_free(cur, TRUE);
	g_ptr_array_free(a, TRUE);
	*argv = NULL;
	return false;
}

/* A glob with a slash matches the whole relative path; one without matches
 * the last component, so `*.c` accepts src/list.c as a teacher expects. */
static bool glob_match(const char *glob, const char *name)
{
	if (strchr(glob, '/'))
		return fnmatch(glob, name, FNM_PATHNAME | FNM_PERIOD) == 0;
	const char *base = strrchr(name, '/');
	return fnmatch(glob, base ? base + 1 : name, FNM_PERIOD) == 0;
}

bool exercise_file_accepted(const struct exercise *e, const char *name)
{
	if (!e->files || !e->files[0])
		return true;
	for (char **g = e->files; *g; g++)
		if (glob_match(*g, name))
			return true;
	return false;
}

char **exercise_missing_required(const struct exercise *e, char **names)
{
	GPtrArray *a = g_ptr_array_new();
	for (char **g = e->required; g && *g; g++) {
		bool found = false;
		for (char **n = names; n && *n && !found; n++)
			found = glob_match(*g, *n);
		if (!found)
			g_ptr_array_add(a, g_strdup(*g));
	}
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}
