/* unpack: one submitted file -> files in the attempt's directory. See
 * unpack.h.
 *
 * Theory of operation. libarchive only reads here; we never hand paths to
 * archive_write_disk. Each entry's path is checked component by component
 * and created with openat()/mkdirat() relative to the attempt directory,
 * opening every intermediate directory with O_NOFOLLOW|O_DIRECTORY and
 * every file with O_CREAT|O_EXCL|O_NOFOLLOW. That is the effect of
 * ARCHIVE_EXTRACT_SECURE_NODOTDOT | SECURE_SYMLINKS | SECURE_NOABSOLUTEPATHS
 * with no owner/permission/time restoration, without its time-of-check to
 * time-of-use window: there is no path string that could be re-resolved
 * through a symlink between a check and a use.
 *
 * Attacks, and the defence against each:
 * - zip-slip ("../../etc/cron.d/x" entries): any ".." component refuses the
 *   entry; "\" counts as a separator too ("..\..\x" from Windows tools).
 * - absolute paths ("/etc/passwd", "C:/x"): a leading "/" refuses the entry;
 *   "C:" is just a name on Linux.
 * - symlink escape (an entry "d -> /etc" then "d/passwd"): symlinks are
 *   never created, and O_NOFOLLOW on every component refuses to walk
 *   through one that is already there.
 * - hardlinks (a link to /etc/shadow, or to a file the runner rewrites),
 *   device nodes, fifos, sockets: never created, skipped with a note.
 * - zip bomb (42.zip, 1 GB of zeros in 1 MB): the byte, file and ratio
 *   limits are checked on every decompressed block, so extraction stops
 *   after at most one block past the limit; nested archives are written as
 *   files, never unpacked recursively.
 * - decompressors run as external programs (libarchive's lrzip, lzop,
 *   grzip fallbacks): only built-in filters are enabled.
 * - entry floods (10^6 empty or skipped entries): entries count against
 *   max_files whether written or skipped.
 * - names that are code: the exercise's Makefile hands the submitted
 *   names to a shell and to make, so "a`sh<e.h`.c", "@x.c" (a gcc response
 *   file) or "-x.c" would run or inject something at build time. Every
 *   path component goes through the rule of attachment names
 *   (mime_clean_name in mime.c); a component with a control character
 *   (a forged line in the reply) is refused, as ".." is. A renamed entry
 *   never replaces a file: it takes the next free "stem_N.ext", and the
 *   caller is told which name became which. */
#define _GNU_SOURCE
#include "unpack.h"
#include "mime.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 65536
#define RATIO_FLOOR (1u << 20) /* below this, any ratio is fine */
#define MAX_DEPTH 32           /* directory levels inside an archive */
#define MAX_PATH_BYTES 1024
#define MAX_NOTES 50

struct job {
	int dirfd;
	const char *name;
	size_t packed;
	const struct unpack_limits *lim;
	struct unpack_stats *st;
	GPtrArray *names, *notes;
	GHashTable *renamed; /* cleaned relative path -> the name shown */
	char *why;
	uint64_t archive_bytes; /* decompressed bytes of this archive */
	uint64_t entries;
	bool macos_noted;
};

static void add_note(struct job *j, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void add_note(struct job *j, const char *fmt, ...)
{
	if (!j->notes || j->notes->len > MAX_NOTES)
		return;
	if (j->notes->len == MAX_NOTES) {
		g_ptr_array_add(j->notes, g_strdup("(more notes omitted)"));
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	g_ptr_array_add(j->notes, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

static enum unpack_result fail(struct job *j, enum unpack_result r, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static enum unpack_result fail(struct job *j, enum unpack_result r, const char *fmt, ...)
{
	if (!j->why) {
		va_list ap;
		va_start(ap, fmt);
		j->why = g_strdup_vprintf(fmt, ap);
		va_end(ap);
	}
	return r;
}

const char *unpack_result_name(enum unpack_result r)
{
	switch (r) {
	case UNPACK_OK: return "ok";
	case UNPACK_BAD_ARCHIVE: return "bad_archive";
	case UNPACK_TOO_LARGE: return "too_large";
	case UNPACK_IO_ERROR: return "io_error";
	}
	return "?";
}

/* Printable copy of an entry path for notes (controls -> '?'). */
static char *printable(const char *s)
{
	char *v = g_utf8_make_valid(s ? s : "", MIN(strlen(s ? s : ""), 300));
	for (char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return v;
}

/* Splits an archive path into components cleaned by the name rule.
 * NULL (with *reason) when the entry must be refused: absolute, "..",
 * controls, too deep or long. *renamed: the rule changed a component. */
static char **split_path(const char *path, const char **reason, bool *renamed)
{
	*renamed = false;
	if (!path || !*path) {
		*reason = "empty path";
		return NULL;
	}
	if (strlen(path) > MAX_PATH_BYTES) {
		*reason = "path too long";
		return NULL;
	}
	if (path[0] == '/' || path[0] == '\\') {
		*reason = "absolute path";
		return NULL;
	}
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	char **parts = g_strsplit_set(path, "/\\", -1);
	for (char **p = parts; *p; p++) {
		if (!**p || !strcmp(*p, "."))
			continue;
		if (!strcmp(*p, "..")) {
			*reason = "\"..\" in path (zip-slip)";
			goto refuse;
		}
		if (!util_safe_filename(*p)) {
			*reason = "control character or over-long name";
			goto refuse;
		}
		char *clean = mime_clean_name(*p);
		if (!clean) {
			*reason = "a name of dots only";
			goto refuse;
		}
		*renamed |= strcmp(clean, *p) != 0;
		if (out->len >= MAX_DEPTH) {
			g_free(clean);
			*reason = "too deeply nested";
			goto refuse;
		}
		g_ptr_array_add(out, clean);
	}
	g_strfreev(parts);
	if (out->len == 0) {
		*reason = "empty path";
		g_ptr_array_unref(out);
		return NULL;
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
refuse:
	g_strfreev(parts);
	g_ptr_array_unref(out);
	return NULL;
}

/* Whether dir/leaf is in use: on disk, or promised to a renamed file. */
struct leaf_ctx {
	struct job *j;
	const char *dir; /* relative, "" for the top */
};

static bool leaf_taken(const char *leaf, void *data)
{
	struct leaf_ctx *t = data;
	g_autofree char *rel = *t->dir ? g_strconcat(t->dir, "/", leaf, NULL) : g_strdup(leaf);
	struct stat sb;
	return (t->j->renamed && g_hash_table_contains(t->j->renamed, rel)) ||
	       fstatat(t->j->dirfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Names that clean to the same never overwrite each other: a renamed
 * file, or one whose name a renamed file took, gets the next free leaf
 * (comps' last element is replaced). Returns whether the file's name is
 * not the one it came with. */
static bool settle_leaf(struct job *j, char **comps, bool renamed)
{
	size_t n = g_strv_length(comps);
	g_autofree char *rel = g_strjoinv("/", comps);
	if (!renamed && !(j->renamed && g_hash_table_contains(j->renamed, rel)))
		return false;
	char *leaf = comps[n - 1];
	comps[n - 1] = NULL;
	g_autofree char *dir = g_strjoinv("/", comps);
	comps[n - 1] = leaf;
	struct leaf_ctx t = {j, dir};
	char *u = mime_unique_name(leaf, leaf_taken, &t);
	if (strcmp(u, leaf)) {
		g_free(comps[n - 1]);
		comps[n - 1] = u;
		return true;
	}
	g_free(u);
	return renamed;
}

/* Tells the caller which name became which (after the file was written). */
static void note_rename(struct job *j, char **comps, const char *raw)
{
	if (j->renamed)
		g_hash_table_replace(j->renamed, g_strjoinv("/", comps), mime_shown_name(raw));
}

/* Opens (creating with 0750 when missing) the directory comps[0..n) below
 * dirfd, never following a symlink. -errno on failure; -E2BIG when creating
 * one more directory would pass max_files (directories count as files). */
static int open_dirs(struct job *j, char **comps, size_t n)
{
	int fd = dup(j->dirfd);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		int nfd = openat(fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT) {
			if (j->lim->max_files && j->st->files + 1 > j->lim->max_files) {
				close(fd);
				return -E2BIG;
			}
			if (mkdirat(fd, comps[i], 0750) < 0 && errno != EEXIST) {
				int e = -errno;
				close(fd);
				return e;
			}
			nfd = openat(fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (nfd >= 0) {
				/* exact mode whatever the MDA's umask: the
				 * owner's and its group's, never other users'
				 * (a student's code; the grader copies it) */
				fchmod(nfd, 0750);
				j->st->files++;
			}
		}
		int e = -errno;
		close(fd);
		if (nfd < 0)
			return e;
		fd = nfd;
	}
	return fd;
}

static bool over_limits(struct job *j, uint64_t more_bytes, bool archive)
{
	const struct unpack_limits *l = j->lim;
	if (l->max_total_bytes && j->st->bytes + more_bytes > l->max_total_bytes) {
		fail(j, UNPACK_TOO_LARGE, "%s: the submitted files exceed %" G_GUINT64_FORMAT
		     " bytes", j->name, l->max_total_bytes);
		return true;
	}
	if (archive && l->max_ratio) {
		uint64_t allowed = MAX((uint64_t)RATIO_FLOOR, l->max_ratio * (uint64_t)j->packed);
		if (j->archive_bytes + more_bytes > allowed) {
			fail(j, UNPACK_TOO_LARGE, "%s: expands more than %" G_GUINT64_FORMAT
			     " times its size (a zip bomb?)", j->name, l->max_ratio);
			return true;
		}
	}
	return false;
}

/* Creates comps (relative path) as an empty 0640 regular file; replaces an
 * earlier regular file of the same name. Returns the fd or -errno; *parent
 * gets the directory fd (close it) and leaf is comps' last element. */
static int create_file(struct job *j, char **comps, int *parent)
{
	size_t n = g_strv_length(comps);
	int pfd = open_dirs(j, comps, n - 1);
	if (pfd < 0)
		return pfd;
	const char *leaf = comps[n - 1];
	int fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0 && errno == EEXIST) {
		struct stat sb;
		if (fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
		    unlinkat(pfd, leaf, 0) == 0)
			fd = openat(pfd, leaf,
				    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		else
			errno = EEXIST;
	}
	if (fd < 0) {
		int e = -errno;
		close(pfd);
		return e;
	}
	fchmod(fd, 0640);
	*parent = pfd;
	return fd;
}

static void record_name(struct job *j, const char *rel)
{
	if (!j->names)
		return;
	for (guint i = 0; i < j->names->len; i++)
		if (!strcmp(j->names->pdata[i], rel)) {
			add_note(j, "%s was replaced by a later file of the same name", rel);
			return;
		}
	g_ptr_array_add(j->names, g_strdup(rel));
}

static bool is_io_errno(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EIO || e == EROFS || e == ENOMEM ||
	       e == EMFILE || e == ENFILE || e == EACCES || e == EPERM;
}

static enum unpack_result write_plain(struct job *j, const void *data, size_t len)
{
	if (!util_safe_filename(j->name))
		return fail(j, UNPACK_IO_ERROR, "unsafe file name refused");
	if (j->lim->max_files && j->st->files + 1 > j->lim->max_files)
		return fail(j, UNPACK_TOO_LARGE, "%s: more than %" G_GUINT64_FORMAT " files",
			    j->name, j->lim->max_files);
	if (over_limits(j, len, false))
		return UNPACK_TOO_LARGE;
	char *leaf = g_strdup(j->name);
	char *comps[] = {leaf, NULL};
	bool renamed = settle_leaf(j, comps, false);
	int pfd = -1;
	int fd = create_file(j, comps, &pfd);
	if (fd < 0) {
		g_free(comps[0]);
		if (fd == -EEXIST || fd == -EISDIR || fd == -ENOTDIR || fd == -ELOOP) {
			add_note(j, "%s was not written: a directory of that name exists",
				 j->name);
			return UNPACK_OK;
		}
		return fail(j, UNPACK_IO_ERROR, "%s: %s", j->name, g_strerror(-fd));
	}
	int r = util_write_all(fd, data, len);
	if (r == 0 && close(fd) < 0)
		r = -errno;
	else if (r < 0)
		close(fd);
	close(pfd);
	if (r < 0) {
		g_free(comps[0]);
		return fail(j, UNPACK_IO_ERROR, "%s: %s", j->name, g_strerror(-r));
	}
	j->st->files++;
	j->st->bytes += len;
	if (renamed)
		note_rename(j, comps, j->name);
	record_name(j, comps[0]);
	g_free(comps[0]);
	return UNPACK_OK;
}

/* Copies the current entry's data into fd, checking the limits on every
 * block. */
static enum unpack_result copy_data(struct job *j, struct archive *a, int fd,
				    const char *rel)
{
	char *buf = g_malloc(BLOCK);
	enum unpack_result res = UNPACK_OK;
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, BLOCK);
		if (n == 0)
			break;
		if (n < 0) {
			res = fail(j, UNPACK_BAD_ARCHIVE, "%s: cannot read %s: %s", j->name, rel,
				   archive_error_string(a) ? archive_error_string(a)
							   : "corrupt data");
			break;
		}
		if (over_limits(j, (uint64_t)n, true)) {
			res = UNPACK_TOO_LARGE;
			break;
		}
		int r = util_write_all(fd, buf, (size_t)n);
		if (r < 0) {
			res = fail(j, UNPACK_IO_ERROR, "%s: writing %s: %s", j->name, rel,
				   g_strerror(-r));
			break;
		}
		j->archive_bytes += (uint64_t)n;
		j->st->bytes += (uint64_t)n;
	}
	g_free(buf);
	return res;
}

static enum unpack_result extract_entry(struct job *j, struct archive *a,
					struct archive_entry *e)
{
	const char *path = archive_entry_pathname_utf8(e);
	if (!path)
		path = archive_entry_pathname(e);
	g_autofree char *shown = printable(path);
	mode_t type = archive_entry_filetype(e);

	if (archive_entry_hardlink(e)) {
		add_note(j, "%s: hard link %s skipped", j->name, shown);
		return UNPACK_OK;
	}
	if (type == AE_IFLNK) {
		add_note(j, "%s: symbolic link %s skipped", j->name, shown);
		return UNPACK_OK;
	}
	if (type != AE_IFREG && type != AE_IFDIR) {
		add_note(j, "%s: special file %s (device, fifo or socket) skipped", j->name,
			 shown);
		return UNPACK_OK;
	}
	const char *reason = NULL;
	bool renamed;
	char **comps = split_path(path, &reason, &renamed);
	if (!comps) {
		add_note(j, "%s: entry %s refused: %s", j->name, shown, reason);
		return UNPACK_OK;
	}
	if (type == AE_IFREG)
		renamed = settle_leaf(j, comps, renamed);
	g_autofree char *rel = g_strjoinv("/", comps);
	enum unpack_result res = UNPACK_OK;
	/* macOS Finder's archives carry AppleDouble copies ("__MACOSX/._tp.c")
	 * that a *.c rule would pick up and fail to compile. */
	const char *leaf = comps[g_strv_length(comps) - 1];
	if (!strcmp(comps[0], "__MACOSX") || !strcmp(leaf, ".DS_Store") ||
	    (type == AE_IFREG && g_str_has_prefix(leaf, "._"))) {
		if (!j->macos_noted)
			add_note(j, "%s: macOS metadata (__MACOSX, ._*, .DS_Store) skipped",
				 j->name);
		j->macos_noted = true;
		g_strfreev(comps);
		return UNPACK_OK;
	}

	if (type == AE_IFDIR) {
		int fd = open_dirs(j, comps, g_strv_length(comps));
		if (fd >= 0)
			close(fd);
		else if (fd == -E2BIG)
			res = fail(j, UNPACK_TOO_LARGE, "%s: more than %" G_GUINT64_FORMAT
				   " files", j->name, j->lim->max_files);
		else if (is_io_errno(-fd))
			res = fail(j, UNPACK_IO_ERROR, "%s: creating %s: %s", j->name, rel,
				   g_strerror(-fd));
		else
			add_note(j, "%s: directory %s skipped: %s", j->name, rel,
				 g_strerror(-fd));
		g_strfreev(comps);
		return res;
	}
	if (j->lim->max_files && j->st->files + 1 > j->lim->max_files) {
		g_strfreev(comps);
		return fail(j, UNPACK_TOO_LARGE, "%s: more than %" G_GUINT64_FORMAT " files",
			    j->name, j->lim->max_files);
	}
	/* A size announced in the header is checked before writing a byte;
	 * the real size is checked on every block anyway (headers lie). */
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
	    over_limits(j, (uint64_t)archive_entry_size(e), true)) {
		g_strfreev(comps);
		return UNPACK_TOO_LARGE;
	}
	int pfd = -1;
	int fd = create_file(j, comps, &pfd);
	if (fd < 0) {
		if (fd == -E2BIG)
			res = fail(j, UNPACK_TOO_LARGE, "%s: more than %" G_GUINT64_FORMAT
				   " files", j->name, j->lim->max_files);
		else if (is_io_errno(-fd))
			res = fail(j, UNPACK_IO_ERROR, "%s: creating %s: %s", j->name, rel,
				   g_strerror(-fd));
		else
			add_note(j, "%s: %s skipped: %s", j->name, rel, g_strerror(-fd));
		g_strfreev(comps);
		return res;
	}
	j->st->files++;
	res = copy_data(j, a, fd, rel);
	if (close(fd) < 0 && res == UNPACK_OK)
		res = fail(j, UNPACK_IO_ERROR, "%s: writing %s: %s", j->name, rel,
			   g_strerror(errno));
	if (res == UNPACK_OK && renamed)
		note_rename(j, comps, path);
	if (res == UNPACK_OK)
		record_name(j, rel);
	else
		/* do not leave a truncated file that looks complete */
		unlinkat(pfd, comps[g_strv_length(comps) - 1], 0);
	close(pfd);
	g_strfreev(comps);
	return res;
}

static struct archive *reader_new(bool raw)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	if (raw) {
		archive_read_support_format_raw(a);
	} else {
		archive_read_support_format_zip(a);
		archive_read_support_format_tar(a);
		archive_read_support_format_gnutar(a);
		archive_read_support_format_7zip(a);
	}
	/* Built-in decompressors only (see the top of the file). */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_compress(a);
	return a;
}

/* Strips a compression suffix: "tp.c.gz" -> "tp.c". */
static char *strip_compression_suffix(const char *name)
{
	static const char *const sfx[] = {".gz", ".bz2", ".xz", ".lzma", ".zst", ".Z"};
	size_t n = strlen(name);
	for (size_t i = 0; i < G_N_ELEMENTS(sfx); i++) {
		size_t l = strlen(sfx[i]);
		if (n > l && g_ascii_strcasecmp(name + n - l, sfx[i]) == 0)
			return g_strndup(name, n - l);
	}
	return g_strconcat(name, ".out", NULL);
}

/* A compressed single file (tp.c.gz): decompressed under its name without
 * the suffix. */
static enum unpack_result unpack_raw(struct job *j, const void *data, size_t len)
{
	struct archive *a = reader_new(true);
	if (!a)
		return fail(j, UNPACK_IO_ERROR, "%s: out of memory", j->name);
	enum unpack_result res = UNPACK_OK;
	struct archive_entry *e;
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		res = fail(j, UNPACK_BAD_ARCHIVE, "%s: %s", j->name,
			   archive_error_string(a) ? archive_error_string(a)
						   : "unreadable compressed file");
		archive_read_free(a);
		return res;
	}
	char *comps[] = {strip_compression_suffix(j->name), NULL};
	bool renamed = settle_leaf(j, comps, false);
	g_autofree char *leaf = comps[0];
	if (!util_safe_filename(leaf)) {
		archive_read_free(a);
		return fail(j, UNPACK_BAD_ARCHIVE, "%s: unusable name", j->name);
	}
	if (j->lim->max_files && j->st->files + 1 > j->lim->max_files) {
		archive_read_free(a);
		return fail(j, UNPACK_TOO_LARGE, "%s: more than %" G_GUINT64_FORMAT " files",
			    j->name, j->lim->max_files);
	}
	int pfd = -1;
	int fd = create_file(j, comps, &pfd);
	if (fd < 0) {
		archive_read_free(a);
		return fail(j, is_io_errno(-fd) ? UNPACK_IO_ERROR : UNPACK_BAD_ARCHIVE,
			    "%s: creating %s: %s", j->name, leaf, g_strerror(-fd));
	}
	j->st->files++;
	res = copy_data(j, a, fd, leaf);
	if (close(fd) < 0 && res == UNPACK_OK)
		res = fail(j, UNPACK_IO_ERROR, "%s: %s", leaf, g_strerror(errno));
	if (res == UNPACK_OK && renamed)
		note_rename(j, comps, j->name);
	if (res == UNPACK_OK)
		record_name(j, leaf);
	else
		unlinkat(pfd, leaf, 0);
	close(pfd);
	archive_read_free(a);
	return res;
}

/* libarchive converts entry names to the charset of the current locale:
 * in the C locale an MDA runs in (nothing calls setlocale), a zip entry
 * flagged UTF-8 ("niño.c" from any current zip tool) cannot be converted
 * and comes without a name. Archives are read in C.UTF-8, set for the
 * calling thread only (uselocale), so nothing else of the process
 * changes. (locale_t)0 when the C library has no C.UTF-8. */
static locale_t utf8_locale(void)
{
	static gsize once;
	static locale_t loc;
	if (g_once_init_enter(&once)) {
		loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
		g_once_init_leave(&once, 1);
	}
	return loc;
}

enum unpack_result unpack_file_at(int dirfd, const char *name, const void *data,
				  size_t len, const struct unpack_limits *lim,
				  struct unpack_stats *inout, GPtrArray *names_out,
				  GPtrArray *notes_out, GHashTable *renamed, char **why)
{
	static const struct unpack_limits none;
	struct unpack_stats scratch = {0};
	struct job j = {
		.dirfd = dirfd,
		.name = name ? name : "",
		.packed = len,
		.lim = lim ? lim : &none,
		.st = inout ? inout : &scratch,
		.names = names_out,
		.notes = notes_out,
		.renamed = renamed,
	};
	enum unpack_result res = UNPACK_OK;
	if (!data)
		data = "";
	locale_t loc = utf8_locale();
	locale_t old = loc ? uselocale(loc) : (locale_t)0;

	/* An empty file is a file: libarchive would call it an empty tar. */
	if (len == 0) {
		res = write_plain(&j, data, len);
		goto out;
	}
	struct archive *a = reader_new(false);
	if (!a) {
		res = fail(&j, UNPACK_IO_ERROR, "%s: out of memory", j.name);
		goto out;
	}
	struct archive_entry *e;
	int r = archive_read_open_memory(a, data, len);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(a, &e);
	if (r == ARCHIVE_EOF) {
		/* A format was recognised but holds nothing (e.g. a file
		 * of zero blocks): keep the bytes as they came. */
		archive_read_free(a);
		res = write_plain(&j, data, len);
		goto out;
	}
	if (r < ARCHIVE_WARN) {
		bool recognised = archive_format(a) != 0;
		bool compressed = archive_filter_count(a) > 1;
		bool unrecognised = !recognised && archive_errno(a) == EILSEQ /* ARCHIVE_ERRNO_FILE_FORMAT: "Unrecognized archive format" */;
		const char *msg = archive_error_string(a);
		if (unrecognised && !compressed) {
			/* Not an archive: a .c, a Makefile, a PDF... */
			archive_read_free(a);
			res = write_plain(&j, data, len);
		} else if (unrecognised) {
			/* A compressed file that holds no archive: tp.c.gz */
			archive_read_free(a);
			res = unpack_raw(&j, data, len);
		} else {
			/* A known format or compression that breaks before
			 * its first entry (truncated, corrupt, encrypted) */
			res = fail(&j, UNPACK_BAD_ARCHIVE, "%s: not a readable archive: %s",
				   j.name, msg ? msg : "corrupt");
			archive_read_free(a);
		}
		goto out;
	}
	/* An archive: one entry at a time. */
	for (;;) {
		if (++j.entries > (lim && lim->max_files ? 4 * lim->max_files + 16 : UINT64_MAX)) {
			res = fail(&j, UNPACK_TOO_LARGE, "%s: too many entries", j.name);
			break;
		}
		res = extract_entry(&j, a, e);
		if (res != UNPACK_OK)
			break;
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			const char *msg = archive_error_string(a);
			res = fail(&j, UNPACK_BAD_ARCHIVE, "%s: corrupt archive: %s", j.name,
				   msg ? msg : "unreadable entry");
			break;
		}
	}
	archive_read_free(a);
out:
	if (loc)
		uselocale(old);
	if (res != UNPACK_OK && why) {
		*why = j.why ? j.why : g_strdup(unpack_result_name(res));
		j.why = NULL;
	}
	g_free(j.why);
	return res;
}

enum unpack_result unpack_file(const char *dir, const char *name, const void *data,
			       size_t len, const struct unpack_limits *lim,
			       struct unpack_stats *inout, GPtrArray *names_out,
			       GPtrArray *notes_out, GHashTable *renamed, char **why)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (why)
			*why = g_strdup_printf("%s: %s", dir, g_strerror(errno));
		return UNPACK_IO_ERROR;
	}
	enum unpack_result r = unpack_file_at(fd, name, data, len, lim, inout, names_out,
					      notes_out, renamed, why);
	close(fd);
	return r;
}
