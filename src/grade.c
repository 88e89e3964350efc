/* grade: build and test one attempt. See grade.h.
 *
 * Theory of operation. var/attempts/ID/ holds submitted/ (the MDA's, never
 * written here), output/ (the actual stdout/stderr of each case that did
 * not pass, for staff: a passing one printed what tests/NAME/ expects) and
 * report/ (docs/ARCHITECTURE.md; make.stdout and make.stderr are all that staff
 * keep of the build). Everything else lives in the worker's scratch tmpfs
 * (grade_scratch_mount), in a mount namespace of its own, as fresh tmpfs
 * "areas" mounted for one use and unmounted after it (see "work areas"):
 * build/ (the submission, skeleton/ and the Makefile; the build), then
 * work/ for each case (the artifacts of the build and in/), check/ for
 * each run of a checker; art/ (the artifacts, staged between the build and
 * the cases) and out/ (the captured outputs of the running case) sit on
 * the scratch tmpfs itself, written by us only. `sercom exercise check`
 * grades the teacher's solution the same way, in a scratch of its own.
 * Every program of the student (make, the tests, and the exercise's checker)
 * runs in the sandbox as the worker slot's uid with its area at /work;
 * the expected outputs stay in the exercise dir, which is never bound into
 * the sandbox: the program cannot read the answers, and cannot rewrite them.
 * The sandbox writes the captured stdout/stderr to files outside the work
 * dir, capped, so a program cannot replace what it printed by a file.
 *
 * Why tmpfs areas and not the spool's disk: a build rule fooled by a file
 * name into running a script wrote 3 GB there in 4 s, kept after grading
 * and copied into every case; a case recreated on ext4 made each later
 * file creation slower (freed inodes are scanned); a tree a program left
 * could defeat its removal. An area is capped (the build by [build-limits]
 * space and inodes; a case by its memory limit: tmpfs pages are charged to
 * the box's memory cgroup) and dropped by one umount whatever it holds. */
#define _GNU_SOURCE 1 /* sigabbrev_np */
#include "grade.h"
#include "compare.h"
#include "diff.h"
#include "report.h"
#include "sandbox.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

/* ---- the sandbox, seen through one call ---------------------------------- */

struct run_result {
	enum sandbox_status status;
	int exitcode;          /* -1 when killed */
	int signal;
	uint64_t cpu_ms, wall_ms, max_rss_kib;
	char *message;
};

static void run_result_clear(struct run_result *r)
{
	g_free(r->message);
	memset(r, 0, sizeof *r);
}

/* false only when the sandbox itself could not run (status XX is a result) */
static bool run_sandboxed(const struct grade_ctx *g, bool build, const char *dir, char **argv,
                          const char *in, const char *out, const char *errf,
                          const struct limits *l, struct run_result *rr, GError **err)
{
	struct sandbox_opts o;
	sandbox_opts_init(&o, build ? SB_PROFILE_BUILD : SB_PROFILE_RUN);
	o.work_dir = dir;
	o.argv = argv;
	o.stdin_path = in;
	o.stdout_path = out;
	o.stderr_path = errf;
	o.cpu_ms = l->cpu_ms;
	o.wall_ms = l->wall_ms;
	o.memory = l->memory;
	o.procs = l->procs;
	o.file_size = l->file_size;
	o.output = l->output;
	o.slot = g->slot;
	o.uid_base = g->conf->uid_base;
	o.binds = (const char *const *)g->conf->binds;
	struct sandbox_result r;
	memset(&r, 0, sizeof r);
	memset(rr, 0, sizeof *rr);
	if (!sandbox_run(&o, &r, err)) {
		/* an error of the sandbox is a result (SB_XX) for the caller to
		 * judge: fatal for the build (retried), SANDBOX_ERROR for a case */
		rr->status = SB_XX;
		rr->exitcode = -1;
		rr->message = g_strdup(err && *err ? (*err)->message : "sandbox error");
		g_clear_error(err);
		sandbox_result_clear(&r);
		return true;
	}
	rr->status = r.status;
	rr->exitcode = r.exitcode;
	rr->signal = r.signal;
	rr->cpu_ms = r.cpu_ms;
	rr->wall_ms = r.wall_ms;
	rr->max_rss_kib = r.max_rss_kib;
	/* FORBIDDEN_SYSCALL: the note is the syscall's name (docs/ARCHITECTURE.md) */
	rr->message = g_strdup(r.status == SB_SY && r.syscall ? r.syscall : r.message);
	sandbox_result_clear(&r);
	return true;
}

/* ---- files --------------------------------------------------------------- */

/* Gives a tree to the slot's uid so make and the program may write in it.
 * lchown never follows a symlink (there are none: copy_tree skips them, and
 * a program can only create them in a dir we recreate before the next use). */
static int chown_tree_at(int dfd, uid_t uid)
{
	if (fchown(dfd, uid, uid) < 0)
		return -errno;
	int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return -errno;
	DIR *d = fdopendir(dup);
	if (!d) {
		close(dup);
		return -errno;
	}
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type == DT_DIR) {
			int c = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (c < 0) {
				r = -errno;
				break;
			}
			r = chown_tree_at(c, uid);
			close(c);
		} else if (fchownat(dfd, e->d_name, uid, uid, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
		}
	}
	closedir(d);
	return r;
}

static int chown_tree(const char *path, uid_t uid)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = chown_tree_at(fd, uid);
	close(fd);
	return r;
}

/* Recreates dir empty (a previous grading or case may have left anything). */
static bool fresh_dir(const char *dir, GError **err)
{
	int r = util_rm_rf(dir);
	if (r < 0 && r != -ENOENT) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: cannot remove: %s", dir, g_strerror(-r));
		return false;
	}
	if ((r = util_mkdir_p(dir, 0755)) < 0) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: cannot create: %s", dir, g_strerror(-r));
		return false;
	}
	return true;
}

/* Copies src over dst: every top-level entry of src first removes what dst
 * has under that name, so a student's directory or file of the same name
 * cannot block or survive the exercise's own. */
static bool overlay_tree(const char *src, const char *dst, GError **err)
{
	GDir *d = g_dir_open(src, 0, err);
	if (!d)
		return false;
	const char *name;
	bool ok = true;
	while (ok && (name = g_dir_read_name(d))) {
		g_autofree char *from = g_build_filename(src, name, NULL);
		g_autofree char *to = g_build_filename(dst, name, NULL);
		util_rm_rf(to);
		unlink(to);
		struct stat st;
		if (lstat(from, &st) < 0)
			continue;
		int r = 0;
		if (S_ISDIR(st.st_mode)) {
			r = util_copy_tree(from, to);
		} else if (S_ISREG(st.st_mode)) {
			GError *e2 = NULL;
			gchar *data;
			gsize len;
			if (!g_file_get_contents(from, &data, &len, &e2)) {
				g_propagate_error(err, e2);
				ok = false;
				break;
			}
			int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0755);
			if (fd < 0)
				r = -errno;
			else {
				r = util_write_all(fd, data, len);
				if (close(fd) < 0 && r == 0)
					r = -errno;
			}
			g_free(data);
		}
		if (r < 0) {
			g_set_error(err, SERCOM_ERROR, -r, "%s: cannot copy to %s: %s", from, to, g_strerror(-r));
			ok = false;
		}
	}
	g_dir_close(d);
	return ok;
}

static bool copy_file(const char *from, const char *to, GError **err)
{
	gchar *data;
	gsize len;
	if (!g_file_get_contents(from, &data, &len, err))
		return false;
	struct stat st;
	mode_t mode = stat(from, &st) == 0 ? (st.st_mode & 0755) : 0644;
	int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	int r = fd < 0 ? -errno : util_write_all(fd, data, len);
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	g_free(data);
	if (r < 0) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: cannot write: %s", to, g_strerror(-r));
		return false;
	}
	return true;
}

/* Relative paths of the regular files under dir (recursively), into set.
 * On a work dir the program shaped (1,500 nested directories), the walk
 * ends where a path passes PATH_MAX or the descriptors run out: bounded,
 * and the area's inode cap bounds its breadth; what it misses is not
 * reported as an unexpected file. */
static void list_files(const char *dir, const char *rel, GHashTable *set)
{
	g_autofree char *path = rel ? g_build_filename(dir, rel, NULL) : g_strdup(dir);
	GDir *d = g_dir_open(path, 0, NULL);
	if (!d)
		return;
	const char *name;
	while ((name = g_dir_read_name(d))) {
		char *r2 = rel ? g_build_filename(rel, name, NULL) : g_strdup(name);
		g_autofree char *full = g_build_filename(dir, r2, NULL);
		struct stat st;
		if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			list_files(dir, r2, set);
			g_free(r2);
		} else {
			g_hash_table_add(set, r2);
		}
	}
	g_dir_close(d);
}

/* Reads at most max bytes of a regular file (never follows a symlink the
 * program may have left in its work dir). NULL with *why when unreadable. */
static GBytes *read_capped(const char *path, uint64_t max, char **why)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*why = g_strdup(errno == ELOOP ? "is a symlink" : errno == ENOENT ? "missing" : g_strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*why = g_strdup("not a regular file");
		return NULL;
	}
	GByteArray *b = NULL;
	int r = util_read_fd(fd, (size_t)max, &b);
	close(fd);
	if (r == -EFBIG) {
		*why = g_strdup_printf("larger than %llu bytes", (unsigned long long)max);
		return NULL;
	}
	if (r < 0) {
		*why = g_strdup(g_strerror(-r));
		return NULL;
	}
	return g_byte_array_free_to_bytes(b);
}

/* read_capped of dir/rel where no component may be a symlink: a program
 * that leaves "res -> /var/lib/sercom/attempts/OTHER/submitted" in its work
 * dir must not get another student's file diffed into its reply. */
static GBytes *read_beneath(const char *dir, const char *rel, uint64_t max, char **why)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*why = g_strdup(g_strerror(errno));
		return NULL;
	}
	char **parts = g_strsplit(rel, "/", -1);
	guint n = g_strv_length(parts);
	for (guint i = 0; i + 1 < n; i++) {
		int c = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (c < 0) {
			*why = g_strdup(errno == ENOENT ? "missing" : errno == ELOOP || errno == ENOTDIR
			                ? "missing (a path component is not a directory)" : g_strerror(errno));
			g_strfreev(parts);
			return NULL;
		}
		fd = c;
	}
	g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d/%s", fd, n ? parts[n - 1] : "");
	g_strfreev(parts);
	GBytes *b = read_capped(proc, max, why);
	close(fd);
	return b;
}

static bool write_text(const char *path, const char *s, GError **err)
{
	return g_file_set_contents(path, s, -1, err);
}

/* ---- comparisons and diffs ----------------------------------------------- */

struct case_report {
	GString *note;         /* "stdout differs; out.txt missing" */
	GString *diffs;        /* names relative to report/ */
	GPtrArray *captions;   /* the results.diffs name of each fragment */
	GPtrArray *html;
};

static void note_add(GString *note, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void note_add(GString *note, const char *fmt, ...)
{
	if (note->len)
		g_string_append(note, "; ");
	va_list ap;
	va_start(ap, fmt);
	g_string_append_vprintf(note, fmt, ap);
	va_end(ap);
}

struct grading {
	const struct grade_ctx *g;
	const struct exercise *e;
	char *adir, *build, *work, *output, *check, *report, *private_dir;
	char *captures;                       /* out/ on the scratch tmpfs */
	char *art;                            /* the artifacts, staged */
	uint64_t art_bytes, art_files;        /* what a work dir copies of art/ */
	bool build_mounted, work_mounted, check_mounted;
	GHashTable *diff_html;                /* results.diffs name -> side by side */
	struct tpl *tpl;                      /* the pages' words (report.h) */
	struct report_diff_words words;
	uint64_t diff_max;
	int64_t renewed_ms;                   /* last lease renewal */
};

/* ---- work areas ------------------------------------------------------- */

/* Each attempt's build dir, each case's work dir and each checker's dir is
 * a FRESH tmpfs, mounted for that use and unmounted after it, in the
 * worker's own mount namespace (grade_scratch_mount): nobody else sees it,
 * and it dies with the worker. Not a tree to delete: a program that left
 * 1,500 nested directories (one descriptor per level for a recursive
 * removal, past the 1,024 of a service) or a million files costs one
 * umount to drop, and cannot make the slot's next attempt, another
 * student's, fail. An area that cannot be mounted or unmounted is the
 * slot's failure, never the attempt's: GRADE_SLOT_ERROR (the runner
 * retires the slot and gives the attempt back without counting a try). */

#define AREA_SLACK ((uint64_t)16 << 20)   /* bytes beyond the estimate */
#define AREA_INODES 16384                  /* inodes beyond the estimate */

G_DEFINE_QUARK(grade-slot-error-quark, grade_slot_error)

static bool area_open(const struct grading *gr, const char *path, bool *mounted,
                      uint64_t bytes, uint64_t inodes, GError **err)
{
	char opts[96];
	g_snprintf(opts, sizeof opts, "size=%" G_GUINT64_FORMAT ",nr_inodes=%" G_GUINT64_FORMAT
	           ",mode=0755", bytes, inodes);
	if (mount("sercom-area", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		g_set_error(err, GRADE_SLOT_ERROR, errno, "%s: mounting a tmpfs (%s): %s", path, opts,
		            g_strerror(errno));
		return false;
	}
	*mounted = true;
	return true;
}

/* Unmounts the area if mounted. A failure replaces *err: it is the slot's. */
static bool area_close(const char *path, bool *mounted, GError **err)
{
	if (!*mounted)
		return true;
	*mounted = false;
	if (umount2(path, UMOUNT_NOFOLLOW) == 0)
		return true;
	int e = errno;
	g_clear_error(err);
	g_set_error(err, GRADE_SLOT_ERROR, e, "%s: unmounting: %s", path, g_strerror(e));
	return false;
}

static bool areas_close(struct grading *gr, GError **err)
{
	bool ok = area_close(gr->work, &gr->work_mounted, err);
	ok = area_close(gr->check, &gr->check_mounted, err) && ok;
	return area_close(gr->build, &gr->build_mounted, err) && ok;
}

bool grade_scratch_mount(const char *dir, GError **err)
{
	if (unshare(CLONE_NEWNS) < 0) {
		g_set_error(err, GRADE_SLOT_ERROR, errno, "unshare(CLONE_NEWNS): %s", g_strerror(errno));
		return false;
	}
	/* slave: host mounts made later still show here; ours never go back */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		g_set_error(err, GRADE_SLOT_ERROR, errno, "making / a slave mount: %s", g_strerror(errno));
		return false;
	}
	/* 0700 root: only root passes; the box binds its dir by path, as root.
	 * It holds the mount points of the areas, out/ and art/ (resized for
	 * each attempt by scratch_prepare) */
	if (mount("sercom-scratch", dir, "tmpfs", MS_NOSUID | MS_NODEV,
	          "size=16m,nr_inodes=1024,mode=0700") < 0) {
		g_set_error(err, GRADE_SLOT_ERROR, errno, "%s: mounting a tmpfs: %s", dir, g_strerror(errno));
		return false;
	}
	static const char *const points[] = { "build", "work", "check" };
	for (size_t i = 0; i < G_N_ELEMENTS(points); i++) {
		g_autofree char *p = g_build_filename(dir, points[i], NULL);
		if (mkdir(p, 0700) < 0) {
			g_set_error(err, GRADE_SLOT_ERROR, errno, "%s: %s", p, g_strerror(errno));
			return false;
		}
	}
	return true;
}

/* What a tmpfs needs to hold a copy of path: pages of its regular files,
 * and inodes (what util_copy_tree copies). For the exercise's files only
 * (one descriptor per level). */
static void tree_usage(const char *path, uint64_t *bytes, uint64_t *inodes)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	(*inodes)++;
	if (S_ISREG(st.st_mode))
		*bytes += ((uint64_t)st.st_size + 4095) & ~(uint64_t)4095;
	if (!S_ISDIR(st.st_mode))
		return;
	GDir *d = g_dir_open(path, 0, NULL);
	if (!d)
		return;
	const char *name;
	while ((name = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(path, name, NULL);
		tree_usage(p, bytes, inodes);
	}
	g_dir_close(d);
}

static uint64_t mem_or_default(const struct limits *l)
{
	return l->memory ? l->memory : (uint64_t)1 << 30;
}

/* an output cap, 0 = none */
static uint64_t cap_or_default(uint64_t cap)
{
	return cap ? cap : (uint64_t)256 << 20;
}

/* Empties out/ and art/ on the scratch tmpfs (written by us only: the
 * captures and the staged artifacts) and sizes it for this attempt: the
 * artifacts (at most what the build area holds), the captures of a case
 * and of a checker. */
static bool scratch_prepare(struct grading *gr, GError **err)
{
	const struct exercise *e = gr->e;
	int r = util_rm_rf(gr->captures);
	if (r == 0)
		r = util_rm_rf(gr->art);
	if (r < 0) {
		g_set_error(err, GRADE_SLOT_ERROR, -r, "%s: emptying: %s", gr->g->scratch, g_strerror(-r));
		return false;
	}
	uint64_t caps = 0;
	for (guint i = 0; i < e->cases->len; i++) {
		const struct test_case *tc = g_ptr_array_index(e->cases, i);
		uint64_t c = 2 * cap_or_default(tc->limits.output);
		if (tc->compare.mode == CMP_CHECKER)
			c += 2 * cap_or_default(e->build_limits.output);
		caps = MAX(caps, c);
	}
	char opts[96];
	g_snprintf(opts, sizeof opts, "size=%" G_GUINT64_FORMAT ",nr_inodes=%" G_GUINT64_FORMAT,
	           e->build_limits.space + caps + AREA_SLACK, e->build_limits.inodes + 1024);
	if (mount(NULL, gr->g->scratch, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, opts) < 0) {
		g_set_error(err, GRADE_SLOT_ERROR, errno, "%s: resizing the scratch tmpfs (%s): %s",
		            gr->g->scratch, opts, g_strerror(errno));
		return false;
	}
	if ((r = util_mkdir_p(gr->captures, 0700)) < 0 || (r = util_mkdir_p(gr->art, 0700)) < 0) {
		g_set_error(err, GRADE_SLOT_ERROR, -r, "%s: %s", gr->g->scratch, g_strerror(-r));
		return false;
	}
	return true;
}

/* Runs the exercise's checker in the sandbox on (input, expected, actual):
 * exit 0 = same, 1 = differs, with its stdout as the note. The checker is
 * the teacher's program, but it reads the student's output: it runs boxed
 * too, in a dir of its own, and a checker that fails otherwise is a
 * sandbox error of the case, not a verdict on the student. */
static int run_checker(struct grading *gr, const struct test_case *tc, const char *expected,
                       GBytes *actual, char **note, GError **err)
{
	const char *prog = tc->compare.checker;
	g_autofree char *src = g_build_filename(gr->e->dir, prog, NULL);
	/* its area holds the checker, input, expected, actual and what the
	 * checker may write (its memory: the build limits, see below) */
	uint64_t bytes = 0, inodes = 0;
	tree_usage(src, &bytes, &inodes);
	if (tc->stdin_path)
		tree_usage(tc->stdin_path, &bytes, &inodes);
	tree_usage(expected, &bytes, &inodes);
	bytes += g_bytes_get_size(actual) + mem_or_default(&gr->e->build_limits) + AREA_SLACK;
	if (!area_close(gr->check, &gr->check_mounted, err) ||
	    !area_open(gr, gr->check, &gr->check_mounted, bytes, inodes + AREA_INODES, err))
		return -1;
	g_autofree char *base = g_path_get_basename(prog);
	g_autofree char *dst = g_build_filename(gr->check, base, NULL);
	g_autofree char *in = g_build_filename(gr->check, "input", NULL);
	g_autofree char *exp = g_build_filename(gr->check, "expected", NULL);
	g_autofree char *act = g_build_filename(gr->check, "actual", NULL);
	if (!copy_file(src, dst, err))
		return -1;
	chmod(dst, 0755);
	if (tc->stdin_path ? !copy_file(tc->stdin_path, in, err) : !write_text(in, "", err))
		return -1;
	if (!copy_file(expected, exp, err))
		return -1;
	gsize alen;
	const void *adata = g_bytes_get_data(actual, &alen);
	if (!g_file_set_contents(act, adata ? adata : "", (gssize)alen, err))
		return -1;
	int r = chown_tree(gr->check, gr->g->conf->uid_base + gr->g->slot);
	if (r < 0) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: chown: %s", gr->check, g_strerror(-r));
		return -1;
	}
	g_autofree char *prog_arg = g_strconcat("./", base, NULL);
	char *argv[] = { prog_arg, "input", "expected", "actual", NULL };
	g_autofree char *out = g_build_filename(gr->captures, "checker.stdout", NULL);
	g_autofree char *errf = g_build_filename(gr->captures, "checker.stderr", NULL);
	struct run_result rr;
	/* the teacher's program may be a script that forks (sh, awk, python):
	 * the build limits, not the student's one process */
	if (!run_sandboxed(gr->g, false, gr->check, argv, "/dev/null", out, errf,
	                   &gr->e->build_limits, &rr, err))
		return -1;
	char *why = NULL;
	GBytes *o = read_capped(out, 4096, &why);
	g_free(why);
	gsize olen = 0;
	const char *od = o ? g_bytes_get_data(o, &olen) : NULL;
	char *txt = g_strndup(od ? od : "", olen);
	g_strstrip(txt);
	/* one line, printable: it ends up in a note shown to staff */
	for (char *p = txt; *p; p++)
		if ((unsigned char)*p < 32)
			*p = ' ';
	if (o)
		g_bytes_unref(o);
	int res;
	if (rr.status == SB_OK && rr.exitcode == 0)
		res = 1;
	else if (rr.status == SB_RE && rr.exitcode == 1)
		res = 0;
	else {
		g_set_error(err, SERCOM_ERROR, EIO, "checker %s failed (%s, exit %d, signal %d)%s%s",
		            prog, sandbox_status_name(rr.status), rr.exitcode, rr.signal,
		            rr.message ? ": " : "", rr.message ? rr.message : "");
		res = -1;
	}
	*note = txt;
	run_result_clear(&rr);
	return res;
}

/* The one binary-output rule of the report's diffs (diff.h), so that a
 * file compared by bytes here is the one the diff shows as binary. */
static bool looks_binary(GBytes *b)
{
	gsize n;
	const char *d = g_bytes_get_data(b, &n);
	return d && diff_looks_binary(d, n);
}

/* Compares one expected file with the actual bytes; on a difference adds to
 * the note, writes the diff files and the HTML fragment. label: "stdout",
 * "stderr" or "file NAME"; tag: "stdout", "stderr", "file.NAME". Returns 1
 * same, 0 differs, -1 internal error (a checker that failed). */
static int compare_one(struct grading *gr, const struct test_case *tc, struct case_report *cr,
                       const char *label, const char *tag, const char *expected_path,
                       GBytes *actual, GError **err)
{
	char *why = NULL;
	/* the expected side is the teacher's: a generous cap only */
	GBytes *exp = read_capped(expected_path, 256u << 20, &why);
	if (!exp) {
		g_set_error(err, SERCOM_ERROR, EIO, "%s: %s", expected_path, why);
		g_free(why);
		return -1;
	}
	bool binary = looks_binary(exp) || looks_binary(actual);
	bool same;
	char *detail = NULL;
	if (tc->compare.mode == CMP_CHECKER) {
		int r = run_checker(gr, tc, expected_path, actual, &detail, err);
		if (r < 0) {
			g_bytes_unref(exp);
			return -1;
		}
		same = r == 1;
	} else if (binary) {
		/* binary files by bytes, whatever the mode: "lines" or "float"
		 * mean nothing on them */
		same = g_bytes_equal(exp, actual);
	} else {
		gsize el, al;
		const char *ed = g_bytes_get_data(exp, &el), *ad = g_bytes_get_data(actual, &al);
		same = compare_buffers(&tc->compare, ed ? ed : "", el, ad ? ad : "", al, &detail);
	}
	if (same) {
		g_free(detail);
		g_bytes_unref(exp);
		return 1;
	}
	if (detail && *detail)
		note_add(cr->note, "%s differs (%s)", label, detail);
	else
		note_add(cr->note, "%s differs", label);
	g_free(detail);

	/* the diff: CASE.TAG.diff under report/ or report/private/ */
	g_autofree char *fname = g_strdup_printf("%s.%s.diff", tc->name, tag);
	for (char *p = fname; *p; p++)
		if (*p == '/')
			*p = '_';
	const char *dir = tc->is_private ? gr->private_dir : gr->report;
	g_autofree char *path = g_build_filename(dir, fname, NULL);
	g_autofree char *exp_label = g_strdup_printf("expected/%s/%s", tc->name, label);
	g_autofree char *act_label = g_strdup_printf("actual/%s/%s", tc->name, label);
	gsize el, al;
	const char *ed = g_bytes_get_data(exp, &el), *ad = g_bytes_get_data(actual, &al);
	struct diff *d = diff_buffers(ed ? ed : "", el, ad ? ad : "", al);
	struct diff_options dopt = { .context = 3, .max_output = gr->diff_max,
	                             .old_label = exp_label, .new_label = act_label };
	GString *unified = diff_unified(d, &dopt);
	/* the page's side by side, in the course's language */
	struct diff_options hopt = dopt;
	report_diff_options(&gr->words, &hopt);
	GString *html = diff_html(d, &hopt);
	diff_free(d);
	GError *e2 = NULL;
	if (!write_text(path, unified->str, &e2)) {
		g_propagate_error(err, e2);
		g_string_free(unified, TRUE);
		g_string_free(html, TRUE);
		g_bytes_unref(exp);
		return -1;
	}
	if (cr->diffs->len)
		g_string_append_c(cr->diffs, ' ');
	if (tc->is_private)
		g_string_append(cr->diffs, "private/");
	g_string_append(cr->diffs, fname);
	g_ptr_array_add(cr->captions, g_strdup_printf("%s%s", tc->is_private ? "private/" : "", fname));
	g_ptr_array_add(cr->html, g_string_free(html, FALSE));
	g_string_free(unified, TRUE);
	g_bytes_unref(exp);
	return 0;
}

/* Compares stdout, stderr and the out/ files of a case that ran to its end.
 * Returns 1 all same, 0 something differs, -1 internal error. */
static int compare_case(struct grading *gr, const struct test_case *tc, struct case_report *cr,
                        const char *out_path, const char *err_path, GHashTable *before,
                        GError **err)
{
	int all = 1;
	const char *streams[2][3] = {
		{ "stdout", tc->stdout_path, out_path },
		{ "stderr", tc->stderr_path, err_path },
	};
	for (int i = 0; i < 2; i++) {
		if (!streams[i][1])
			continue;
		char *why = NULL;
		GBytes *act = read_capped(streams[i][2], tc->limits.output + 1, &why);
		if (!act) {
			/* the sandbox writes the file even when empty */
			act = g_bytes_new(NULL, 0);
			g_free(why);
		}
		int r = compare_one(gr, tc, cr, streams[i][0], streams[i][0], streams[i][1], act, err);
		g_bytes_unref(act);
		if (r < 0)
			return -1;
		if (r == 0)
			all = 0;
	}

	GHashTable *expected = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (tc->out_dir)
		list_files(tc->out_dir, NULL, expected);
	GList *names = g_list_sort(g_hash_table_get_keys(expected), (GCompareFunc)strcmp);
	for (GList *l = names; l; l = l->next) {
		const char *name = l->data;
		g_autofree char *exp = g_build_filename(tc->out_dir, name, NULL);
		char *why = NULL;
		GBytes *act = read_beneath(gr->work, name, tc->limits.file_size + 1, &why);
		if (!act) {
			note_add(cr->note, "%s %s", name, why);
			g_free(why);
			all = 0;
			continue;
		}
		g_autofree char *label = g_strdup_printf("file %s", name);
		g_autofree char *tag = g_strdup_printf("file.%s", name);
		int r = compare_one(gr, tc, cr, label, tag, exp, act, err);
		g_bytes_unref(act);
		if (r < 0) {
			g_list_free(names);
			g_hash_table_destroy(expected);
			return -1;
		}
		if (r == 0)
			all = 0;
	}
	g_list_free(names);

	if (!tc->ignore_extra) {
		GHashTable *after = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		list_files(gr->work, NULL, after);
		GList *an = g_list_sort(g_hash_table_get_keys(after), (GCompareFunc)strcmp);
		for (GList *l = an; l; l = l->next)
			if (!g_hash_table_contains(before, l->data) &&
			    !g_hash_table_contains(expected, l->data)) {
				note_add(cr->note, "unexpected file %s", (const char *)l->data);
				all = 0;
			}
		g_list_free(an);
		g_hash_table_destroy(after);
	}
	g_hash_table_destroy(expected);
	return all;
}

/* ---- one case ------------------------------------------------------------- */

/* The case verdict a sandbox status decides, or CASE_PASS when it
 * decides none (the program ended on its own: exit code and outputs do). */
static enum case_verdict status_verdict(enum sandbox_status s)
{
	switch (s) {
	case SB_XX: return CASE_SANDBOX_ERROR;
	case SB_TO: return CASE_TIME_LIMIT;
	case SB_WT: return CASE_WALL_LIMIT;
	case SB_ML: return CASE_MEMORY_LIMIT;
	case SB_OL: return CASE_OUTPUT_LIMIT;
	case SB_SY: return CASE_FORBIDDEN_SYSCALL;
	case SB_SG: return CASE_SIGNAL;
	default: return CASE_PASS;
	}
}

static bool exit_ok(const struct test_case *tc, int code)
{
	switch (tc->exit_kind) {
	case EXIT_EXPECT_ANY: return true;
	case EXIT_EXPECT_NONZERO: return code != 0;
	default: return code == tc->exit_code;
	}
}

/* The supervisor renews the lease every few seconds; this renewal is for
 * a worker whose supervisor is slow, and tells a worker whose attempt was
 * taken back (expired, requeued by staff) to stop. A transaction per case
 * is not needed for either: once a quarter of the lease (queue_finish()
 * checks the holder again anyway). */
static bool case_renew_lease(struct grading *gr, const struct test_case *tc, GError **err)
{
	const struct grade_ctx *g = gr->g;
	int64_t now = util_now_ms();
	if (!g->store || !g->worker || now - gr->renewed_ms < (int64_t)g->lease_s * 1000 / 4)
		return true;
	int n = queue_renew(g->store, g->worker, g->lease_s, err);
	if (n < 0)
		return false;
	if (n == 0) {
		g_set_error(err, SERCOM_ERROR, ESTALE, "lease lost before case %s", tc->name);
		return false;
	}
	gr->renewed_ms = now;
	return true;
}

/* The case's fresh work area with the artifacts and in/, given to the
 * slot's uid. It holds those and what the program may write: its memory
 * limit (tmpfs pages are charged to the box's memory cgroup, so with
 * cgroups it cannot write more; without, the size is the bound). */
static bool case_area(struct grading *gr, const struct test_case *tc, GError **err)
{
	uint64_t bytes = gr->art_bytes, inodes = gr->art_files;
	if (tc->in_dir)
		tree_usage(tc->in_dir, &bytes, &inodes);
	bytes += mem_or_default(&tc->limits) + AREA_SLACK;
	if (!area_open(gr, gr->work, &gr->work_mounted, bytes, inodes + AREA_INODES, err))
		return false;
	int r = util_copy_tree(gr->art, gr->work);
	if (r == 0 && tc->in_dir)
		r = util_copy_tree(tc->in_dir, gr->work);
	if (r == 0)
		r = chown_tree(gr->work, gr->g->conf->uid_base + gr->g->slot);
	if (r < 0) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: preparing case %s: %s", gr->work, tc->name,
		            g_strerror(-r));
		return false;
	}
	return true;
}

/* The case's side-by-side diffs, by results.diffs name, for report.html
 * and private/full.html (report.c). */
static void case_pages(struct grading *gr, const struct case_report *cr)
{
	for (guint i = 0; i < cr->html->len; i++)
		g_hash_table_replace(gr->diff_html, g_strdup(g_ptr_array_index(cr->captions, i)),
		                     g_strdup(g_ptr_array_index(cr->html, i)));
}

/* What staff may want to see: the outputs of a case that did not pass go
 * to output/ (a file per case on the spool's disk costs more than the rest
 * of a run); the captures are removed either way. */
static bool case_keep_outputs(struct grading *gr, enum case_verdict v, const char *out_path,
                              const char *err_path, GError **err)
{
	const char *caps[] = { out_path, err_path };
	bool kept = true;
	for (size_t i = 0; i < G_N_ELEMENTS(caps); i++) {
		g_autofree char *base = g_path_get_basename(caps[i]);
		g_autofree char *keep = g_build_filename(gr->output, base, NULL);
		if (kept && v != CASE_PASS && access(caps[i], F_OK) == 0)
			kept = copy_file(caps[i], keep, err);
		unlink(caps[i]);
	}
	return kept;
}

static bool run_case(struct grading *gr, const struct test_case *tc, struct queue_result **out,
                     GError **err)
{
	const struct grade_ctx *g = gr->g;
	if (!case_renew_lease(gr, tc, err) || !case_area(gr, tc, err))
		return false;
	GHashTable *before = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	list_files(gr->work, NULL, before);

	GPtrArray *argv = g_ptr_array_new();
	for (char **a = gr->e->run; a && *a; a++)
		g_ptr_array_add(argv, *a);
	for (char **a = tc->args; a && *a; a++)
		g_ptr_array_add(argv, *a);
	g_ptr_array_add(argv, NULL);
	g_autofree char *out_path = g_strdup_printf("%s/%s.stdout", gr->captures, tc->name);
	g_autofree char *err_path = g_strdup_printf("%s/%s.stderr", gr->captures, tc->name);
	struct run_result rr;
	bool ran = run_sandboxed(g, false, gr->work, (char **)argv->pdata,
	                         tc->stdin_path ? tc->stdin_path : "/dev/null", out_path, err_path,
	                         &tc->limits, &rr, err);
	g_ptr_array_free(argv, TRUE);
	if (!ran) {
		g_hash_table_destroy(before);
		return false;
	}

	struct queue_result *res = g_new0(struct queue_result, 1);
	res->case_name = g_strdup(tc->name);
	res->is_private = tc->is_private;
	res->exit_code = (rr.status == SB_OK || rr.status == SB_RE) ? rr.exitcode : -1;
	res->signal = rr.status == SB_SG ? rr.signal : 0;
	res->cpu_ms = (int64_t)rr.cpu_ms;
	res->wall_ms = (int64_t)rr.wall_ms;
	res->max_rss_kib = (int64_t)rr.max_rss_kib;

	struct case_report cr = { g_string_new(NULL), g_string_new(NULL),
	                          g_ptr_array_new_with_free_func(g_free),
	                          g_ptr_array_new_with_free_func(g_free) };
	/* CASE_PASS: nothing decided yet (the first that applies wins) */
	enum case_verdict v = status_verdict(rr.status);
	if (rr.status == SB_SG)
		note_add(cr.note, "killed by SIG%s", sigabbrev_np(rr.signal) ? sigabbrev_np(rr.signal) : "?");
	else if (v != CASE_PASS && rr.message && *rr.message)
		note_add(cr.note, "%s", rr.message);
	else if (v != CASE_PASS)
		note_add(cr.note, "%s", case_verdict_name(v));

	bool exited = rr.status == SB_OK || rr.status == SB_RE;
	/* "./tp: No such file or directory": the Makefile built something else */
	if (rr.status == SB_RE && rr.message && g_str_has_prefix(rr.message, "cannot execute"))
		note_add(cr.note, "%s", rr.message);
	if (exited && !exit_ok(tc, rr.exitcode)) {
		if (tc->exit_kind == EXIT_EXPECT_NONZERO)
			note_add(cr.note, "exit code 0, expected non-zero");
		else
			note_add(cr.note, "exit code %d, expected %d", rr.exitcode, tc->exit_code);
		if (v == CASE_PASS)
			v = CASE_WRONG_EXIT;
	}
	/* outputs are compared (and diffed, for the student) whenever the
	 * program ended on its own, even when the exit code or a signal already
	 * decided the verdict: the diff often tells why */
	if (exited || rr.status == SB_SG) {
		GError *ce = NULL;
		int same = compare_case(gr, tc, &cr, out_path, err_path, before, &ce);
		if (same < 0 && ce && ce->domain == GRADE_SLOT_ERROR) {
			/* the checker's area: the slot's failure, not the case's */
			g_propagate_error(err, ce);
			g_string_free(cr.note, TRUE);
			g_string_free(cr.diffs, TRUE);
			g_ptr_array_free(cr.captions, TRUE);
			g_ptr_array_free(cr.html, TRUE);
			run_result_clear(&rr);
			g_hash_table_destroy(before);
			queue_result_free(res);
			return false;
		}
		if (same < 0) {
			/* a checker that failed: the case is not the student's fault */
			note_add(cr.note, "%s", ce ? ce->message : "comparison failed");
			g_clear_error(&ce);
			v = CASE_SANDBOX_ERROR;
		} else if (!same && v == CASE_PASS) {
			v = CASE_WRONG_OUTPUT;
		}
	}
	res->verdict = v;
	res->note = g_string_free(cr.note, FALSE);
	res->diffs = g_string_free(cr.diffs, FALSE);
	case_pages(gr, &cr);
	g_ptr_array_free(cr.captions, TRUE);
	g_ptr_array_free(cr.html, TRUE);
	run_result_clear(&rr);
	g_hash_table_destroy(before);
	if (!case_keep_outputs(gr, v, out_path, err_path, err)) {
		queue_result_free(res);
		return false;
	}
	*out = res;
	return true;
}

/* ---- the build ----------------------------------------------------------- */

/* Copies submitted/, then skeleton/ and the Makefile over it. The order is
 * the defence: a student who mails a Makefile (or a skeleton header) of
 * their own would choose what runs as "the build" (e.g. a Makefile whose tp
 * target copies a precomputed answer, or a main.c replacing the teacher's
 * harness); the exercise's files are copied last and replace any entry of
 * the same name, directory or not. */
static bool prepare_build(struct grading *gr, const char *submitted, bool *full, GError **err)
{
	const struct limits *bl = &gr->e->build_limits;
	*full = false;
	if (!area_open(gr, gr->build, &gr->build_mounted, bl->space, bl->inodes, err))
		return false;
	int r = util_copy_tree(submitted, gr->build);
	if (r == -ENOSPC) {
		/* the submission alone passes the cap: the build fails (below) */
		*full = true;
		return true;
	}
	if (r < 0) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: cannot copy submission: %s", submitted,
		            g_strerror(-r));
		return false;
	}
	if (gr->e->skeleton_dir && !overlay_tree(gr->e->skeleton_dir, gr->build, err))
		return false;
	if (gr->e->makefile) {
		g_autofree char *to = g_build_filename(gr->build, "Makefile", NULL);
		util_rm_rf(to);
		unlink(to);
		/* GNU make prefers GNUmakefile and makefile to Makefile */
		g_autofree char *gnu = g_build_filename(gr->build, "GNUmakefile", NULL);
		g_autofree char *low = g_build_filename(gr->build, "makefile", NULL);
		util_rm_rf(gnu);
		unlink(gnu);
		util_rm_rf(low);
		unlink(low);
		if (!copy_file(gr->e->makefile, to, err))
			return false;
	}
	r = chown_tree(gr->build, gr->g->conf->uid_base + gr->g->slot);
	if (r < 0) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: chown: %s", gr->build, g_strerror(-r));
		return false;
	}
	return true;
}

/* Copies the regular files of the build dir whose path matches one of the
 * artifacts globs into art/, making their parent dirs. The build dir is
 * hostile (the build may have run a script): the walk goes down one
 * directory per glob component (bounded by the teacher's glob, not by
 * the tree), never through a symlink, and copies regular files only. */
static int stage_glob(struct grading *gr, int dfd, char **comp, const char *rel)
{
	int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup < 0 ? NULL : fdopendir(dup);
	if (!d) {
		int e = -errno;
		if (dup >= 0)
			close(dup);
		return e;
	}
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    fnmatch(comp[0], e->d_name, FNM_PERIOD) != 0 ||
		    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		g_autofree char *path = rel ? g_build_filename(rel, e->d_name, NULL) : g_strdup(e->d_name);
		if (comp[1] && S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue;
			r = stage_glob(gr, sub, comp + 1, path);
			close(sub);
		} else if (!comp[1] && S_ISREG(st.st_mode)) {
			g_autofree char *to = g_build_filename(gr->art, path, NULL);
			g_autofree char *parent = g_path_get_dirname(to);
			int in = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			int out = -1;
			if (in < 0 || (r = util_mkdir_p(parent, 0755)) < 0 ||
			    (out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			                st.st_mode & 0755)) < 0)
				r = r ? r : -errno;
			else
				r = util_copy_fd(in, out);
			if (out >= 0 && close(out) < 0 && r == 0)
				r = -errno;
			if (in >= 0)
				close(in);
			gr->art_bytes += ((uint64_t)st.st_size + 4095) & ~(uint64_t)4095;
			gr->art_files++;
		}
	}
	closedir(d);
	return r;
}

/* Only what the cases need leaves the build area (the artifacts globs of
 * exercise.conf, ./tp by default): a build that wrote gigabytes does not
 * get them copied into every case's work dir. */
static bool stage_artifacts(struct grading *gr, GError **err)
{
	int fd = open(gr->build, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = fd < 0 ? -errno : 0;
	for (char **a = gr->e->artifacts; r == 0 && a && *a; a++) {
		char **comp = g_strsplit(*a, "/", -1);
		r = stage_glob(gr, fd, comp, NULL);
		g_strfreev(comp);
	}
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: staging the artifacts: %s", gr->art, g_strerror(-r));
		return false;
	}
	return true;
}

/* Whether the build filled its area: the tmpfs full after it (a script
 * the build rule was fooled into running, `yes > f`), or a failed build
 * that says it met ENOSPC (a linker that removed its partial output).
 * The note names the cap and the key that raises it. */
static char *build_cap_note(const struct grading *gr, bool failed, const char *merr)
{
	const struct limits *bl = &gr->e->build_limits;
	struct statfs sf;
	bool space = false, inodes = false;
	if (gr->build_mounted && statfs(gr->build, &sf) == 0) {
		space = sf.f_bfree == 0;
		inodes = sf.f_ffree == 0;
	}
	if (!space && !inodes && failed) {
		char *why = NULL;
		GBytes *b = read_capped(merr, 64u << 20, &why);
		g_free(why);
		gsize n = 0;
		const char *d = b ? g_bytes_get_data(b, &n) : NULL;
		space = d && g_strstr_len(d, (gssize)n, g_strerror(ENOSPC));
		if (b)
			g_bytes_unref(b);
	}
	if (inodes)
		return g_strdup_printf("the build made more files than its cap allows "
		                       "([build-limits] inodes = %" G_GUINT64_FORMAT ")", bl->inodes);
	if (space) {
		/* in the key's own syntax: 256M, not 268435456 */
		uint64_t v = bl->space;
		const char *unit = "";
		for (const char *u = "KMG"; *u && v && v % 1024 == 0; u++) {
			v /= 1024;
			unit = u;
		}
		return g_strdup_printf("the build filled its space cap ([build-limits] space = %" G_GUINT64_FORMAT
		                       "%.1s)", v, unit);
	}
	return NULL;
}

static bool has_warning(const char *path)
{
	char *why = NULL;
	GBytes *b = read_capped(path, 64u << 20, &why);
	g_free(why);
	if (!b)
		return false;
	gsize n;
	const char *d = g_bytes_get_data(b, &n);
	bool w = d && g_strstr_len(d, (gssize)n, "warning:") != NULL;
	g_bytes_unref(b);
	return w;
}

static void grading_free(struct grading *gr)
{
	g_free(gr->adir);
	g_free(gr->build);
	g_free(gr->work);
	g_free(gr->output);
	g_free(gr->captures);
	g_free(gr->check);
	g_free(gr->art);
	g_free(gr->report);
	g_free(gr->private_dir);
	g_hash_table_destroy(gr->diff_html);
	tpl_free(gr->tpl);
	report_diff_words_clear(&gr->words);
}

/* report.html when a public case failed (the reply attaches it then);
 * private/full.html, the staff's, when any case failed (report.h) */
static bool write_pages(struct grading *gr, const struct queue_outcome *out, GError **err)
{
	bool pub_failed = false, any_failed = false;
	for (guint i = 0; i < out->results->len; i++) {
		const struct queue_result *r = g_ptr_array_index(out->results, i);
		if (r->verdict != CASE_PASS) {
			any_failed = true;
			pub_failed |= !r->is_private;
		}
	}
	struct report_page page = { .e = gr->e, .o = out, .score = &out->score,
	                            .diff_html = gr->diff_html, .t = gr->tpl };
	g_autofree char *pub = g_build_filename(gr->report, "report.html", NULL);
	g_autofree char *full = g_build_filename(gr->private_dir, "full.html", NULL);
	if (pub_failed && !report_write(pub, &page, err))
		return false;
	page.with_private = true;
	return !any_failed || report_write(full, &page, err);
}

/* Runs the build; a build that failed (or filled its area) sets the
 * BUILD_FAILED outcome and *built false. false only on an error. */
static bool run_build(struct grading *gr, bool full, struct queue_outcome *out, bool *built,
                      GError **err)
{
	const struct exercise *e = gr->e;
	g_autofree char *mout = g_build_filename(gr->report, "make.stdout", NULL);
	g_autofree char *merr = g_build_filename(gr->report, "make.stderr", NULL);
	struct run_result rr = { .status = SB_RE, .exitcode = -1 };
	*built = false;
	int64_t t0 = util_now_ms();
	if (!full && !run_sandboxed(gr->g, true, gr->build, e->build, "/dev/null", mout, merr,
	                            &e->build_limits, &rr, err))
		return false;
	if (rr.status == SB_XX) {
		g_set_error(err, SERCOM_ERROR, EIO, "sandbox error during the build: %s",
		            rr.message ? rr.message : "?");
		run_result_clear(&rr);
		return false;
	}
	log_debug("%s: build %s exit %d in %lld ms", gr->adir, sandbox_status_name(rr.status),
	          rr.exitcode, (long long)(util_now_ms() - t0));
	bool failed = rr.status != SB_OK || rr.exitcode != 0;
	g_autofree char *cap = full ? build_cap_note(gr, true, "/dev/null")
	                              : build_cap_note(gr, failed, merr);
	if (full && !cap)
		cap = g_strdup("the submission alone fills the build's space cap ([build-limits] space)");
	if (!failed && !cap) {
		out->build = has_warning(merr) ? "WARNINGS" : "OK";
		run_result_clear(&rr);
		*built = true;
		return true;
	}
	out->verdict = VERDICT_BUILD_FAILED;
	out->build = "FAILED";
	if (cap)
		out->note = g_strdup_printf("build stopped: %s", cap);
	else if (rr.status == SB_RE)
		out->note = g_strdup_printf("build exited with %d", rr.exitcode);
	else
		out->note = g_strdup_printf("build stopped: %s%s%s", case_verdict_name(status_verdict(rr.status)),
		                            rr.message ? ": " : "", rr.message ? rr.message : "");
	/* the limit hit goes where the student reads the compiler output */
	if (cap || rr.status != SB_RE) {
		FILE *f = fopen(merr, "a");
		if (f) {
			fprintf(f, "\n[sercom: the build was stopped: %s]\n",
			        cap ? cap : case_verdict_name(status_verdict(rr.status)));
			fclose(f);
		}
	}
	run_result_clear(&rr);
	return true;
}

/* The points of the grading (score.h's one rule): each case's worth and
 * earnings on its results row, the totals on the outcome. A case without
 * a result (the build failed) earns nothing; max_score still says what
 * the exercise is worth. */
static void grade_score(const struct exercise *e, struct queue_outcome *out)
{
	g_autofree struct score_case *sc = g_new0(struct score_case, e->cases->len);
	g_autofree struct queue_result **res = g_new0(struct queue_result *, e->cases->len);
	for (guint i = 0; i < e->cases->len; i++) {
		const struct test_case *tc = g_ptr_array_index(e->cases, i);
		/* results are in case order; matched by name all the same */
		for (guint j = 0; out->results && j < out->results->len; j++) {
			struct queue_result *r = g_ptr_array_index(out->results, j);
			if (!strcmp(r->case_name, tc->name))
				res[i] = r;
		}
		sc[i] = (struct score_case){ .group = tc->group, .points = tc->points,
		                             .is_private = tc->is_private,
		                             .passed = res[i] && res[i]->verdict == CASE_PASS };
	}
	score_cases(sc, e->cases->len, &out->score);
	out->scored = true;
	for (guint i = 0; i < e->cases->len; i++) {
		if (!res[i])
			continue;
		res[i]->points = sc[i].points;
		res[i]->earned = sc[i].earned;
		res[i]->group = g_strdup(sc[i].group);
	}
}

static bool run_cases(struct grading *gr, struct queue_outcome *out, GError **err)
{
	const struct exercise *e = gr->e;
	bool all_pass = true, sandbox_error = false;
	for (guint i = 0; i < e->cases->len; i++) {
		const struct test_case *tc = g_ptr_array_index(e->cases, i);
		struct queue_result *res = NULL;
		bool ran = run_case(gr, tc, &res, err);
		/* the case's areas go now, whatever it left in them */
		if (!areas_close(gr, err) || !ran) {
			if (res)
				queue_result_free(res);
			return false;
		}
		g_ptr_array_add(out->results, res);
		if (res->verdict == CASE_SANDBOX_ERROR)
			sandbox_error = true;
		if (res->verdict != CASE_PASS && (!tc->is_private || e->private_counts))
			all_pass = false;
	}
	grade_score(e, out);
	out->verdict = sandbox_error ? VERDICT_INTERNAL_ERROR : all_pass ? VERDICT_ACCEPTED : VERDICT_TESTS_FAILED;
	if (sandbox_error)
		out->note = g_strdup("a case ended with a sandbox error (see its note)");
	return write_pages(gr, out, err);
}

bool grade_dir(const struct grade_ctx *g, const struct exercise *e, const char *attempt_dir,
               struct queue_outcome *out, GError **err)
{
	if (!g->scratch) {
		g_set_error(err, GRADE_SLOT_ERROR, EINVAL, "%s: no scratch tmpfs to grade in", attempt_dir);
		return false;
	}
	const char *area_root = g->scratch;
	struct grading gr = {
		.g = g, .e = e,
		.adir = g_strdup(attempt_dir),
		.build = g_build_filename(area_root, "build", NULL),
		.work = g_build_filename(area_root, "work", NULL),
		.output = g_build_filename(attempt_dir, "output", NULL),
		.check = g_build_filename(area_root, "check", NULL),
		.captures = g_build_filename(g->scratch, "out", NULL),
		.art = g_build_filename(area_root, "art", NULL),
		.report = g_build_filename(attempt_dir, "report", NULL),
		.private_dir = g_build_filename(attempt_dir, "report", "private", NULL),
		.diff_html = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
		.tpl = report_tpl_load(g->conf),
		.diff_max = g->conf->diff_max ? g->conf->diff_max : 64 * 1024,
		.renewed_ms = util_now_ms(), /* the claim set the lease */
	};
	report_diff_words(gr.tpl, &gr.words);
	memset(out, 0, sizeof *out);
	out->results = g_ptr_array_new_with_free_func((GDestroyNotify)queue_result_free);
	g_autofree char *submitted = g_build_filename(attempt_dir, "submitted", NULL);
	bool ok = false, full = false, built = false;
	/* a build dir on the spool's disk, left by a runner before the build
	 * areas */
	g_autofree char *old = g_build_filename(attempt_dir, "build", NULL);
	util_rm_rf(old);
	if (!scratch_prepare(&gr, err))
		goto done;
	if (!fresh_dir(gr.report, err) || !fresh_dir(gr.private_dir, err) ||
	    !fresh_dir(gr.output, err) || !prepare_build(&gr, submitted, &full, err))
		goto done;
	/* the report dir is read by the composer and staff, never by a sandbox */
	chmod(gr.private_dir, 0700);
	if (!run_build(&gr, full, out, &built, err))
		goto done;
	if (built) {
		/* the build area goes before the cases: its files are charged to
		 * the slot's memory cgroup, which the cases' limits share */
		if (!stage_artifacts(&gr, err) ||
		    !area_close(gr.build, &gr.build_mounted, err) ||
		    !run_cases(&gr, out, err))
			goto done;
	} else {
		grade_score(e, out);
		/* README "Grades": a build failure may give the attempt back */
		out->uncharged = !e->charge_build_failures;
	}
	ok = true;
done:
	/* every area goes (a failure to unmount one is the slot's, and so
	 * is the error then) */
	if (!areas_close(&gr, err))
		ok = false;
	if (!ok)
		queue_outcome_clear(out);
	grading_free(&gr);
	return ok;
}

bool grade_attempt(const struct grade_ctx *g, int64_t attempt_id, struct queue_outcome *out,
                   GError **err)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = store_prepare(g->store, "SELECT exercise FROM attempts WHERE id = ?", err);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, attempt_id);
	char *exname = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		exname = g_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	g_autofree char *adir = g_strdup_printf("%s/%lld", g->conf->attempts_dir, (long long)attempt_id);
	GError *e2 = NULL;
	struct exercise *e = exname ? exercise_find(g->conf, exname, &e2) : NULL;
	if (!e) {
		/* the exercise was removed or broken after the mail was queued:
		 * an answer (staff must fix and regrade), not a retry */
		out->verdict = VERDICT_INTERNAL_ERROR;
		out->results = g_ptr_array_new_with_free_func((GDestroyNotify)queue_result_free);
		out->note = g_strdup_printf("exercise %s: %s", exname ? exname : "(none)",
		                            e2 ? e2->message : "not recorded");
		log_error("attempt %lld: %s", (long long)attempt_id, out->note);
		g_clear_error(&e2);
		g_free(exname);
		return true;
	}
	g_free(exname);
	bool ok = grade_dir(g, e, adir, out, err);
	exercise_free(e);
	return ok;
}
