/* libFuzzer target over the MDA's parse path: one input is one mail, parsed
 * by mime_parse_buffer with tight caps; every file it yields is then put
 * through unpack into a scratch directory, so archive attachments reach
 * libarchive and our path checks too. The raw input is also unpacked as a
 * file of its own: mutations of the raw archive seeds (corpus/raw-*) reach
 * the archive code far faster than through base64 inside a mail. A crash, a sanitizer report, a leak
 * or a timeout is a finding. The same input is also read as a header
 * block by the Authentication-Results reader (authres.c: the parser and
 * the walk over the trace fields), and as one field value; and as a
 * delivery status notification (bounce.c), whose reason must stay one
 * line of printable text. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "authres.h"
#include "bounce.h"
#include "mime.h"
#include "unpack.h"
#include "util.h"

static char *scratch;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void remove_scratch(void)
{
	util_rm_rf(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	mime_init();
	char tmpl[] = "/tmp/fuzz_mime.XXXXXX";
	if (!mkdtemp(tmpl))
		abort();
	scratch = strdup(tmpl);
	atexit(remove_scratch);
	return 0;
}

/* authres over the raw input: never a pass without a field naming a
 * pass (in any case, across comments), and "how" is always set */
static void fuzz_authres(const uint8_t *data, size_t size)
{
	static char *ids[] = { "mx.example.edu", NULL };
	char *how = NULL;
	bool pass = authres_check((const char *)data, size, ids, "ana@example.edu", &how);
	char *low = g_malloc(size + 1); /* NUL bytes included */
	for (size_t i = 0; i < size; i++)
		low[i] = g_ascii_tolower((char)data[i]);
	if (!how || (pass && (!memmem(low, size, "pass", 4) || !memmem(low, size, "authentication-results:", 23))))
		abort();
	g_free(low);
	g_free(how);
	authres_free(authres_parse((const char *)data, size));
}

static void fuzz_bounce(const uint8_t *data, size_t size)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer((const char *)data, size);
	struct bounce_dsn *d = bounce_dsn_read(s);
	g_object_unref(s);
	if (!d)
		return;
	char *r = bounce_dsn_reason(d);
	if (strlen(r) > 500 || !g_utf8_validate(r, -1, NULL))
		abort();
	for (const char *p = r; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	g_free(r);
	bounce_dsn_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_authres(data, size);
	fuzz_bounce(data, size);
	const struct mime_limits mlim = {
		.max_parts = 200, .max_depth = 20, .max_file_bytes_total = 8u << 20};
	struct mime_info *m = mime_parse_buffer(data, size, &mlim, NULL);
	if (!m)
		return 0;
	/* invariants the MDA relies on */
	if (!m->recipients || !m->files || !m->notes)
		abort();
	uint64_t sum = 0;
	for (guint i = 0; i < m->files->len; i++) {
		struct mime_file *f = m->files->pdata[i];
		if (!util_safe_filename(f->name) || !g_utf8_validate(f->name, -1, NULL))
			abort();
		sum += g_bytes_get_size(f->data);
	}
	if (sum != m->files_bytes || sum > mlim.max_file_bytes_total)
		abort();
	if (m->subject && strpbrk(m->subject, "\r\n"))
		abort();

	char *dir = g_build_filename(scratch, "w", NULL);
	mkdir(dir, 0755);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0) {
		const struct unpack_limits ulim = {
			.max_total_bytes = 16u << 20, .max_files = 100, .max_ratio = 100};
		struct unpack_stats st = {0};
		GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
		GPtrArray *notes = g_ptr_array_new_with_free_func(g_free);
		for (guint i = 0; i <= m->files->len; i++) {
			const char *name = "input.bin";
			gsize n = size;
			const void *d = data;
			if (i < m->files->len) {
				struct mime_file *f = m->files->pdata[i];
				name = f->name;
				d = g_bytes_get_data(f->data, &n);
			}
			char *why = NULL;
			enum unpack_result r = unpack_file_at(dfd, name, d, n, &ulim, &st,
							      names, notes, NULL, &why);
			g_free(why);
			if (r == UNPACK_TOO_LARGE || r == UNPACK_IO_ERROR)
				break;
		}
		if (st.bytes > ulim.max_total_bytes + 65536 || st.files > ulim.max_files)
			abort();
		for (guint i = 0; i < names->len; i++) {
			const char *rel = names->pdata[i];
			if (rel[0] == '/')
				abort();
			char **comps = g_strsplit(rel, "/", -1);
			for (char **c = comps; *c; c++)
				if (!**c || !strcmp(*c, "..") || !strcmp(*c, "."))
					abort();
			g_strfreev(comps);
		}
		g_ptr_array_unref(names);
		g_ptr_array_unref(notes);
		close(dfd);
	}
	util_rm_rf(dir);
	g_free(dir);
	/* nothing may ever appear beside w/ */
	GDir *d = g_dir_open(scratch, 0, NULL);
	if (d) {
		if (g_dir_read_name(d))
			abort();
		g_dir_close(d);
	}
	mime_info_free(m);
	return 0;
}
