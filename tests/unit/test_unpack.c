/* Unit tests of unpack: archives built here with libarchive's writer (zip,
 * tar.gz, tar.bz2, tar.xz, 7z), normal extraction and every attack the
 * module names: zip-slip, absolute paths, symlink escape, hardlinks and
 * devices, zip bombs (stopped early), entry floods, corrupt archives. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "mime.h"
#include "unpack.h"
#include "util.h"

/* ---- archive building ---------------------------------------------------- */

struct ent {
	const char *path;
	mode_t type;        /* AE_IFREG (0 = regular), AE_IFDIR, AE_IFLNK, AE_IFCHR... */
	const char *data;   /* content of a regular file */
	uint64_t zeros;     /* or this many zero bytes */
	const char *link;   /* symlink target */
	const char *hardlink;
	bool nosize; /* do not announce the size (zip data descriptor) */
};

static la_ssize_t grow(struct archive *a, void *ud, const void *buf, size_t n)
{
	g_byte_array_append(ud, buf, (guint)n);
	return (la_ssize_t)n;
}

enum fmt { ZIP, TAR_GZ, TAR_BZ2, TAR_XZ, SEVENZ, TAR };

static GByteArray *make_archive(enum fmt fmt, const struct ent *ents, size_t n)
{
	struct archive *a = archive_write_new();
	switch (fmt) {
	case ZIP: archive_write_set_format_zip(a); break;
	case SEVENZ: archive_write_set_format_7zip(a); break;
	default: archive_write_set_format_pax_restricted(a); break;
	}
	if (fmt == TAR_GZ)
		archive_write_add_filter_gzip(a);
	if (fmt == TAR_BZ2)
		archive_write_add_filter_bzip2(a);
	if (fmt == TAR_XZ)
		archive_write_add_filter_xz(a);
	archive_write_set_bytes_in_last_block(a, 1);
	GByteArray *out = g_byte_array_new();
	assert_int_equal(archive_write_open(a, out, NULL, grow, NULL), ARCHIVE_OK);
	static char zeros[65536];
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, ents[i].path);
		mode_t t = ents[i].type ? ents[i].type : AE_IFREG;
		archive_entry_set_filetype(e, t);
		archive_entry_set_perm(e, t == AE_IFDIR ? 0777 : 04777);
		archive_entry_set_uid(e, 0);
		if (t == AE_IFLNK)
			archive_entry_set_symlink(e, ents[i].link);
		if (ents[i].hardlink)
			archive_entry_set_hardlink(e, ents[i].hardlink);
		if (t == AE_IFCHR)
			archive_entry_set_rdev(e, makedev(1, 3));
		uint64_t size = ents[i].data ? strlen(ents[i].data) : ents[i].zeros;
		if (t == AE_IFREG && !ents[i].hardlink && !ents[i].nosize)
			archive_entry_set_size(e, (la_int64_t)size);
		assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
		if (ents[i].data)
			archive_write_data(a, ents[i].data, size);
		for (uint64_t done = 0; done < ents[i].zeros;) {
			size_t k = MIN(sizeof zeros, ents[i].zeros - done);
			assert_true(archive_write_data(a, zeros, k) > 0);
			done += k;
		}
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return out;
}

/* ---- fixtures -------------------------------------------------------------- */

struct fx {
	char *top;  /* parent: nothing may appear here but dest/ */
	char *dest; /* the attempt directory */
	int dfd;
	GPtrArray *names, *notes;
	GHashTable *renamed;
	struct unpack_stats st;
	char *why;
};

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);
	f->top = g_dir_make_tmp("test_unpack.XXXXXX", NULL);
	f->dest = g_build_filename(f->top, "dest", NULL);
	mkdir(f->dest, 0755);
	f->dfd = open(f->dest, O_RDONLY | O_DIRECTORY);
	f->names = g_ptr_array_new_with_free_func(g_free);
	f->notes = g_ptr_array_new_with_free_func(g_free);
	f->renamed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	close(f->dfd);
	util_rm_rf(f->top);
	g_free(f->top);
	g_free(f->dest);
	g_ptr_array_unref(f->names);
	g_ptr_array_unref(f->notes);
	g_hash_table_destroy(f->renamed);
	g_free(f->why);
	g_free(f);
	return 0;
}

static const struct unpack_limits LIM = {
	.max_total_bytes = 50u << 20, .max_files = 200, .max_ratio = 100};

static enum unpack_result run(struct fx *f, const char *name, const void *d, size_t n,
			      const struct unpack_limits *lim)
{
	g_free(f->why);
	f->why = NULL;
	return unpack_file_at(f->dfd, name, d, n, lim ? lim : &LIM, &f->st, f->names,
			      f->notes, f->renamed, &f->why);
}

static char *slurp(struct fx *f, const char *rel)
{
	char *p = g_build_filename(f->dest, rel, NULL), *c = NULL;
	g_file_get_contents(p, &c, NULL, NULL);
	g_free(p);
	return c;
}

static mode_t mode_of(struct fx *f, const char *rel)
{
	char *p = g_build_filename(f->dest, rel, NULL);
	struct stat sb;
	mode_t m = lstat(p, &sb) == 0 ? sb.st_mode : 0;
	g_free(p);
	return m;
}

/* Nothing was written beside dest/ (the escape attacks' target). */
static void assert_nothing_outside(struct fx *f)
{
	GDir *d = g_dir_open(f->top, 0, NULL);
	const char *e;
	while ((e = g_dir_read_name(d)))
		if (strcmp(e, "dest"))
			fail_msg("%s appeared outside the attempt directory", e);
	g_dir_close(d);
}

static bool has_note(struct fx *f, const char *needle)
{
	for (guint i = 0; i < f->notes->len; i++)
		if (strstr(f->notes->pdata[i], needle))
			return true;
	return false;
}

/* ---- tests ----------------------------------------------------------------- */

static void plain_files(void **state)
{
	struct fx *f = *state;
	const char *src = "#include <stdio.h>\nint main(void) { puts(\"hi\"); }\n";
	assert_int_equal(run(f, "tp.c", src, strlen(src), NULL), UNPACK_OK);
	char *c = slurp(f, "tp.c");
	assert_string_equal(c, src);
	g_free(c);
	assert_int_equal(mode_of(f, "tp.c") & 07777, 0640);
	assert_int_equal(f->names->len, 1);
	assert_string_equal(f->names->pdata[0], "tp.c");
	assert_int_equal(f->st.files, 1);
	assert_int_equal(f->st.bytes, strlen(src));

	/* empty and all-zero files are files, not empty tars */
	assert_int_equal(run(f, "empty.txt", "", 0, NULL), UNPACK_OK);
	assert_int_equal(mode_of(f, "empty.txt") & S_IFMT, S_IFREG);
	char zeros[2048] = {0};
	assert_int_equal(run(f, "zeros.bin", zeros, sizeof zeros, NULL), UNPACK_OK);
	c = slurp(f, "zeros.bin");
	assert_non_null(c);
	g_free(c);
	assert_int_equal(f->st.bytes, strlen(src) + sizeof zeros);

	/* a name that is not a single safe component is refused */
	assert_int_not_equal(run(f, "../x.c", "x", 1, NULL), UNPACK_OK);
	assert_nothing_outside(f);
}

static void normal_extraction(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {
		{.path = "tp1/", .type = AE_IFDIR},
		{.path = "tp1/tp.c", .data = "int main(void) { return 0; }\n"},
		{.path = "tp1/include/tp.h", .data = "#pragma once\n"},
		{.path = "Makefile", .data = "all:\n\tcc tp.c\n"},
		{.path = "__MACOSX/tp1/._tp.c", .data = "\0\5\26\7junk"},
		{.path = "tp1/._tp.c", .data = "\0\5\26\7junk"},
		{.path = "tp1/.DS_Store", .data = "Bud1"},
	};
	const char *names[] = {"a.zip", "a.tar.gz", "a.tar.bz2", "a.tar.xz", "a.7z", "a.tar"};
	for (enum fmt fmt = ZIP; fmt <= TAR; fmt++) {
		char sub[32];
		snprintf(sub, sizeof sub, "f%d", fmt);
		mkdirat(f->dfd, sub, 0755);
		int sfd = openat(f->dfd, sub, O_RDONLY | O_DIRECTORY);
		GByteArray *ar = make_archive(fmt, ents, G_N_ELEMENTS(ents));
		GPtrArray *got = g_ptr_array_new_with_free_func(g_free);
		char *why = NULL;
		struct unpack_stats st = {0};
		enum unpack_result r = unpack_file_at(sfd, names[fmt], ar->data, ar->len, &LIM,
						      &st, got, NULL, NULL, &why);
		if (r != UNPACK_OK)
			fail_msg("%s: %s", names[fmt], why);
		assert_int_equal(got->len, 3);
		char *rel = g_strdup_printf("%s/tp1/tp.c", sub);
		char *c = slurp(f, rel);
		assert_string_equal(c, "int main(void) { return 0; }\n");
		/* no permission restoration: 0640 files, 0750 dirs */
		assert_int_equal(mode_of(f, rel) & 07777, 0640);
		g_free(c);
		g_free(rel);
		rel = g_strdup_printf("%s/tp1/include", sub);
		assert_int_equal(mode_of(f, rel) & 07777, 0750);
		g_free(rel);
		rel = g_strdup_printf("%s/Makefile", sub);
		c = slurp(f, rel);
		assert_string_equal(c, "all:\n\tcc tp.c\n");
		g_free(c);
		g_free(rel);
		/* macOS metadata is not submitted */
		rel = g_strdup_printf("%s/__MACOSX", sub);
		assert_int_equal(mode_of(f, rel), 0);
		g_free(rel);
		rel = g_strdup_printf("%s/tp1/._tp.c", sub);
		assert_int_equal(mode_of(f, rel), 0);
		g_free(rel);
		/* the archive itself is not kept */
		assert_int_equal(mode_of(f, names[fmt]), 0);
		assert_int_equal(st.bytes, 29 + 13 + 14);
		g_ptr_array_unref(got);
		g_byte_array_unref(ar);
		close(sfd);
	}
	assert_nothing_outside(f);
}

static void zip_slip_and_absolute(void **state)
{
	struct fx *f = *state;
	char *abs_target = g_build_filename(f->top, "abs_evil.c", NULL);
	const struct ent ents[] = {
		{.path = "../evil.c", .data = "pwned"},
		{.path = "a/../../evil2.c", .data = "pwned"},
		{.path = "..\\..\\evil3.c", .data = "pwned"},
		{.path = abs_target, .data = "pwned"},
		{.path = "ok.c", .data = "fine"},
	};
	for (enum fmt fmt = ZIP; fmt <= TAR_GZ; fmt++) {
		GByteArray *ar = make_archive(fmt, ents, G_N_ELEMENTS(ents));
		assert_int_equal(run(f, "slip.zip", ar->data, ar->len, NULL), UNPACK_OK);
		g_byte_array_unref(ar);
		assert_nothing_outside(f);
		char *c = slurp(f, "ok.c");
		assert_string_equal(c, "fine");
		g_free(c);
		assert_true(has_note(f, "zip-slip"));
		assert_true(has_note(f, "absolute"));
	}
	assert_false(g_file_test(abs_target, G_FILE_TEST_EXISTS));
	g_free(abs_target);
}

static void symlinks_hardlinks_devices(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {
		{.path = "link", .type = AE_IFLNK, .link = ".."},
		{.path = "link/escaped.c", .data = "pwned"},
		{.path = "etc", .type = AE_IFLNK, .link = "/etc"},
		{.path = "etc/sercom-test-passwd", .data = "pwned"},
		{.path = "hard", .hardlink = "/etc/passwd"},
		{.path = "null", .type = AE_IFCHR},
		{.path = "fifo", .type = AE_IFIFO},
		{.path = "ok.c", .data = "fine"},
	};
	GByteArray *ar = make_archive(TAR, ents, G_N_ELEMENTS(ents));
	assert_int_equal(run(f, "links.tar", ar->data, ar->len, NULL), UNPACK_OK);
	g_byte_array_unref(ar);
	assert_nothing_outside(f);
	assert_false(g_file_test("/etc/sercom-test-passwd", G_FILE_TEST_EXISTS));
	/* no symlink, hardlink, device or fifo was created */
	assert_int_equal(mode_of(f, "link") & S_IFMT, S_IFDIR); /* "link/escaped.c" made a dir */
	assert_int_equal(mode_of(f, "etc") & S_IFMT, S_IFDIR);
	assert_int_equal(mode_of(f, "hard"), 0);
	assert_int_equal(mode_of(f, "null"), 0);
	assert_int_equal(mode_of(f, "fifo"), 0);
	assert_true(has_note(f, "symbolic link"));
	assert_true(has_note(f, "hard link"));
	assert_true(has_note(f, "special file"));
	char *c = slurp(f, "ok.c");
	assert_string_equal(c, "fine");
	g_free(c);

	/* a symlink already in the directory is never followed */
	char *outside = g_build_filename(f->top, "outside", NULL);
	mkdir(outside, 0755);
	assert_int_equal(symlinkat(outside, f->dfd, "pre"), 0);
	const struct ent e2[] = {{.path = "pre/x.c", .data = "pwned"}};
	ar = make_archive(ZIP, e2, 1);
	assert_int_equal(run(f, "pre.zip", ar->data, ar->len, NULL), UNPACK_OK);
	g_byte_array_unref(ar);
	char *x = g_build_filename(outside, "x.c", NULL);
	assert_false(g_file_test(x, G_FILE_TEST_EXISTS));
	g_free(x);
	/* nor as a plain file's name */
	assert_int_equal(symlinkat("../outside/y.c", f->dfd, "y.c"), 0);
	assert_int_equal(run(f, "y.c", "pwned", 5, NULL), UNPACK_OK);
	x = g_build_filename(outside, "y.c", NULL);
	assert_false(g_file_test(x, G_FILE_TEST_EXISTS));
	g_free(x);
	g_free(outside);
}

static void zip_bomb(void **state)
{
	struct fx *f = *state;
	/* 1 GiB of zeros: about 1 MB zipped */
	const struct ent ents[] = {{.path = "zeros.bin", .zeros = 1ull << 30}};
	GByteArray *ar = make_archive(ZIP, ents, 1);
	print_message("# 1 GiB of zeros zipped to %u bytes\n", ar->len);
	int64_t t0 = util_now_ms();
	assert_int_equal(run(f, "bomb.zip", ar->data, ar->len, NULL), UNPACK_TOO_LARGE);
	int64_t ms = util_now_ms() - t0;
	print_message("# stopped after %" G_GINT64_FORMAT " ms: %s\n", ms, f->why);
	assert_true(ms < 3000);
	assert_non_null(f->why);
	/* stopped at the limit, not after writing the whole thing; the
	 * truncated file is removed */
	assert_true(f->st.bytes <= LIM.max_total_bytes + 65536);
	assert_int_equal(mode_of(f, "zeros.bin"), 0);
	g_byte_array_unref(ar);

	/* the ratio alone: 20 MB of zeros within a 1 GB budget */
	const struct ent e2[] = {{.path = "z.bin", .zeros = 20u << 20}};
	ar = make_archive(TAR_XZ, e2, 1);
	struct unpack_limits lim = {.max_total_bytes = 1u << 30, .max_files = 200,
				    .max_ratio = 100};
	memset(&f->st, 0, sizeof f->st);
	assert_int_equal(run(f, "z.tar.xz", ar->data, ar->len, &lim), UNPACK_TOO_LARGE);
	assert_non_null(strstr(f->why, "times"));
	assert_true(f->st.bytes <= MAX(100 * (uint64_t)ar->len, 1u << 20) + 65536);
	g_byte_array_unref(ar);
}

static void too_many_files(void **state)
{
	struct fx *f = *state;
	struct ent *ents = g_new0(struct ent, 300);
	for (int i = 0; i < 300; i++) {
		ents[i].path = g_strdup_printf("d/f%03d.c", i);
		ents[i].data = "x";
	}
	GByteArray *ar = make_archive(TAR_GZ, ents, 300);
	assert_int_equal(run(f, "many.tar.gz", ar->data, ar->len, NULL), UNPACK_TOO_LARGE);
	assert_true(f->st.files <= LIM.max_files);
	assert_non_null(strstr(f->why, "files"));
	/* directories count too: nested levels of one file each */
	struct ent deep[40];
	GString *path = g_string_new(NULL);
	for (int i = 0; i < 40; i++) {
		g_string_append_printf(path, "d%d/", i);
		deep[i] = (struct ent){.path = g_strdup_printf("%sf.c", path->str), .data = "x"};
	}
	GByteArray *ar3 = make_archive(ZIP, deep, 40);
	struct unpack_limits lim = {.max_files = 20};
	memset(&f->st, 0, sizeof f->st);
	assert_int_equal(run(f, "deep.zip", ar3->data, ar3->len, &lim), UNPACK_TOO_LARGE);
	assert_true(f->st.files <= 20);
	for (int i = 0; i < 40; i++)
		g_free((char *)deep[i].path);
	g_string_free(path, TRUE);
	g_byte_array_unref(ar3);

	/* 10000 skipped entries (symlinks) are an entry flood: stopped too */
	struct ent *links = g_new0(struct ent, 10000);
	for (int i = 0; i < 10000; i++) {
		links[i].path = ents[i % 300].path;
		links[i].type = AE_IFLNK;
		links[i].link = "x";
	}
	GByteArray *ar2 = make_archive(TAR, links, 10000);
	memset(&f->st, 0, sizeof f->st);
	assert_int_equal(run(f, "links.tar", ar2->data, ar2->len, NULL), UNPACK_TOO_LARGE);
	assert_true(f->notes->len <= 51);
	for (int i = 0; i < 300; i++)
		g_free((char *)ents[i].path);
	g_free(ents);
	g_free(links);
	g_byte_array_unref(ar);
	g_byte_array_unref(ar2);
}

static void corrupt_archives(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {
		{.path = "a.c", .data = "int a;\n"},
		{.path = "b.c", .zeros = 200000},
		{.path = "c.c", .data = "int c;\n"},
	};
	for (enum fmt fmt = ZIP; fmt <= SEVENZ; fmt++) {
		GByteArray *ar = make_archive(fmt, ents, G_N_ELEMENTS(ents));
		/* truncated in the middle */
		enum unpack_result r = run(f, "cut.bin", ar->data, ar->len / 2, NULL);
		if (r != UNPACK_BAD_ARCHIVE)
			fail_msg("format %d truncated: %s (%s)", fmt, unpack_result_name(r),
				 f->why ? f->why : "-");
		assert_non_null(f->why);
		/* garbage in the middle */
		for (guint i = ar->len / 3; i < ar->len / 3 + 64 && i < ar->len; i++)
			ar->data[i] ^= 0x5a;
		r = run(f, "bad.bin", ar->data, ar->len, NULL);
		if (r != UNPACK_BAD_ARCHIVE)
			print_message("# format %d with garbage: %s\n", fmt, unpack_result_name(r));
		assert_true(r == UNPACK_BAD_ARCHIVE || r == UNPACK_OK);
		g_byte_array_unref(ar);
	}
	assert_nothing_outside(f);
}

/* A compressed single file (no archive inside), as archive_write raw;
 * zeros: that many 'A' bytes after data. */
static GByteArray *gzip_bytes(const char *data, size_t len, uint64_t zeros)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_raw(a);
	archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	GByteArray *out = g_byte_array_new();
	archive_write_open(a, out, NULL, grow, NULL);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_pathname(e, "x");
	archive_write_header(a, e);
	if (data)
		archive_write_data(a, data, len);
	/* 'A's, not zeros: zero blocks read as the end of an empty tar */
	static char z[65536];
	memset(z, 'A', sizeof z);
	for (uint64_t done = 0; done < zeros; done += sizeof z)
		archive_write_data(a, z, sizeof z);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return out;
}

static void compressed_single_file(void **state)
{
	struct fx *f = *state;
	GString *src = g_string_new(NULL);
	for (int i = 0; i < 20000; i++)
		g_string_append_printf(src, "int x%d = %d;\n", i, i * 7919 % 1000);
	GByteArray *out = gzip_bytes(src->str, src->len, 0);
	assert_int_equal(run(f, "tp.c.gz", out->data, out->len, NULL), UNPACK_OK);
	char *c = slurp(f, "tp.c");
	assert_string_equal(c, src->str);
	g_free(c);
	/* truncated: refused, not written as garbage */
	assert_int_equal(run(f, "u.c.gz", out->data, out->len / 2, NULL), UNPACK_BAD_ARCHIVE);
	assert_int_equal(mode_of(f, "u.c"), 0);
	assert_int_equal(mode_of(f, "u.c.gz"), 0);
	g_byte_array_unref(out);
	g_string_free(src, TRUE);

	/* a gzip bomb announces no size at all: stopped while decompressing,
	 * on the block that crosses the limit */
	out = gzip_bytes(NULL, 0, 256u << 20);
	memset(&f->st, 0, sizeof f->st);
	int64_t t0 = util_now_ms();
	assert_int_equal(run(f, "zeros.bin.gz", out->data, out->len, NULL), UNPACK_TOO_LARGE);
	int64_t ms = util_now_ms() - t0;
	print_message("# 256 MiB gzip bomb (%u bytes) stopped after %" G_GINT64_FORMAT
		      " ms, %" G_GUINT64_FORMAT " bytes: %s\n", out->len, ms, f->st.bytes, f->why);
	assert_true(ms < 3000);
	assert_true(f->st.bytes <= MAX(100 * (uint64_t)out->len, 1u << 20) + 65536);
	assert_int_equal(mode_of(f, "zeros.bin"), 0);
	g_byte_array_unref(out);
}

static void totals_across_files(void **state)
{
	struct fx *f = *state;
	struct unpack_limits lim = {.max_total_bytes = 10, .max_files = 2};
	assert_int_equal(run(f, "a.c", "123456", 6, &lim), UNPACK_OK);
	assert_int_equal(run(f, "b.c", "123456", 6, &lim), UNPACK_TOO_LARGE);
	assert_int_equal(run(f, "c.c", "1", 1, &lim), UNPACK_OK);
	assert_int_equal(run(f, "d.c", "1", 1, &lim), UNPACK_TOO_LARGE);
	assert_int_equal(f->st.files, 2);
	assert_int_equal(f->st.bytes, 7);
	/* a directory path that is a symlink is refused */
	char *ln = g_build_filename(f->top, "ln", NULL);
	assert_int_equal(symlink(f->dest, ln), 0);
	char *why = NULL;
	assert_int_equal(unpack_file(ln, "e.c", "x", 1, NULL, NULL, NULL, NULL, NULL, &why),
			 UNPACK_IO_ERROR);
	g_free(why);
	unlink(ln);
	g_free(ln);
	assert_int_equal(unpack_file(f->dest, "e.c", "x", 1, NULL, NULL, NULL, NULL, NULL, NULL),
			 UNPACK_OK);
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file below dir (relative paths, sorted, space-joined). */
static void list_files(const char *top, const char *rel, GPtrArray *out)
{
	char *dir = rel ? g_build_filename(top, rel, NULL) : g_strdup(top);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *e;
	while (d && (e = g_dir_read_name(d))) {
		char *r = rel ? g_build_filename(rel, e, NULL) : g_strdup(e);
		char *p = g_build_filename(top, r, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR))
			list_files(top, r, out);
		else
			g_ptr_array_add(out, g_strdup(r));
		g_free(p);
		g_free(r);
	}
	if (d)
		g_dir_close(d);
	g_free(dir);
}

static char *files_of(const char *top)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	list_files(top, NULL, a);
	g_ptr_array_sort(a, cmp_str);
	GString *o = g_string_new(NULL);
	for (guint i = 0; i < a->len; i++)
		g_string_append_printf(o, "%s%s", i ? " " : "", (char *)a->pdata[i]);
	g_ptr_array_free(a, TRUE);
	return g_string_free(o, FALSE);
}

/* Entry names that are code for the shell or make the build runs
 * (unpack.c): every component is renamed by the one rule of mime.c, two
 * names that clean to the same do not overwrite each other, ".." and
 * controls are refused, UTF-8 letters stay. */
static void hostile_entry_names(void **state)
{
	struct fx *f = *state;
	const struct ent ents[] = {
		{.path = "a b/x;y.c", .data = "1"},
		{.path = "a_b/x_y.c", .data = "2"},
		{.path = "@r.c", .data = "-wrapper /bin/sh,w.h"},
		{.path = "-o.c", .data = "3"},
		{.path = "a`sh<e.h`.c", .data = "4"},
		{.path = "$(id)/%.c", .data = "5"},
		{.path = "ok/../../evil.c", .data = "6"},
		{.path = "ctl\nskipped: x.c", .data = "7"},
		{.path = "ni\xc3\xb1o/ejercicio_\xc3\xb1.c", .data = "8"},
		{.path = "tp.c", .data = "9"},
	};
	const enum fmt fmts[] = {ZIP, TAR_GZ};
	for (size_t k = 0; k < G_N_ELEMENTS(fmts); k++) {
		char sub[8];
		snprintf(sub, sizeof sub, "f%zu", k);
		mkdirat(f->dfd, sub, 0755);
		int sfd = openat(f->dfd, sub, O_RDONLY | O_DIRECTORY);
		GByteArray *ar = make_archive(fmts[k], ents, G_N_ELEMENTS(ents));
		GHashTable *ren = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		GPtrArray *notes = g_ptr_array_new_with_free_func(g_free);
		struct unpack_stats st = {0};
		char *why = NULL;
		assert_int_equal(unpack_file_at(sfd, k ? "h.tar.gz" : "h.zip", ar->data, ar->len, &LIM,
						&st, NULL, notes, ren, &why), UNPACK_OK);
		char *top = g_build_filename(f->dest, sub, NULL);
		char *got = files_of(top);
		assert_string_equal(got, "__id_/_.c _o.c _r.c a_b/x_y.c a_b/x_y_2.c a_sh_e.h_.c "
				    "ni\xc3\xb1o/ejercicio_\xc3\xb1.c tp.c");
		/* the first of the two a_b/x_y.c is the renamed one */
		char *c = slurp(f, k ? "f1/a_b/x_y.c" : "f0/a_b/x_y.c");
		assert_string_equal(c, "1");
		g_free(c);
		/* which name became which */
		GPtrArray *pairs = g_ptr_array_new_with_free_func(g_free);
		GHashTableIter it;
		gpointer kk, vv;
		g_hash_table_iter_init(&it, ren);
		while (g_hash_table_iter_next(&it, &kk, &vv))
			g_ptr_array_add(pairs, g_strdup_printf("%s<-%s", (char *)kk, (char *)vv));
		g_ptr_array_sort(pairs, cmp_str);
		GString *p = g_string_new(NULL);
		for (guint i = 0; i < pairs->len; i++)
			g_string_append_printf(p, "%s|", (char *)pairs->pdata[i]);
		assert_string_equal(p->str, "__id_/_.c<-$(id)/%.c|_o.c<--o.c|_r.c<-@r.c|"
				    "a_b/x_y.c<-a b/x;y.c|a_b/x_y_2.c<-a_b/x_y.c|a_sh_e.h_.c<-a`sh<e.h`.c|");
		g_string_free(p, TRUE);
		g_ptr_array_free(pairs, TRUE);
		/* ".." and the control character: refused and told */
		bool slip = false, ctl = false;
		for (guint i = 0; i < notes->len; i++) {
			slip |= strstr(notes->pdata[i], "zip-slip") != NULL;
			ctl |= strstr(notes->pdata[i], "control character") != NULL;
		}
		assert_true(slip && ctl);
		/* a later file does not take the name a renamed one got */
		assert_int_equal(unpack_file_at(sfd, "_r.c", "plain", 5, &LIM, &st, NULL, notes, ren, &why),
				 UNPACK_OK);
		c = slurp(f, k ? "f1/_r.c" : "f0/_r.c");
		assert_string_equal(c, "-wrapper /bin/sh,w.h");
		g_free(c);
		c = slurp(f, k ? "f1/_r_2.c" : "f0/_r_2.c");
		assert_string_equal(c, "plain");
		g_free(c);
		assert_string_equal(g_hash_table_lookup(ren, "_r_2.c"), "_r.c");
		g_free(got);
		g_free(top);
		g_free(why);
		g_ptr_array_free(notes, TRUE);
		g_hash_table_destroy(ren);
		g_byte_array_free(ar, TRUE);
		close(sfd);
	}
	assert_nothing_outside(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(plain_files, setup, teardown),
		cmocka_unit_test_setup_teardown(normal_extraction, setup, teardown),
		cmocka_unit_test_setup_teardown(zip_slip_and_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_entry_names, setup, teardown),
		cmocka_unit_test_setup_teardown(symlinks_hardlinks_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(zip_bomb, setup, teardown),
		cmocka_unit_test_setup_teardown(too_many_files, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt_archives, setup, teardown),
		cmocka_unit_test_setup_teardown(compressed_single_file, setup, teardown),
		cmocka_unit_test_setup_teardown(totals_across_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
