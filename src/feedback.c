/* feedback: the command line, the beginning of the inputs and the
 * resources of a failing case, as plain text (feedback.h). */
#define _GNU_SOURCE /* memrchr */
#include "feedback.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* deepest in/ subdirectory listed: a case's inputs are a few files */
#define LIST_MAX_DEPTH 8

/* Characters no shell splits or expands: a word made of them is shown bare. */
static bool word_is_plain(const char *w)
{
	if (!*w)
		return false;
	for (const char *p = w; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("_-./=:,+@%^", *p) && (unsigned char)*p < 0x80)
			return false;
	return true;
}

static bool word_has_control(const char *w)
{
	for (const char *p = w; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* bash's $'...' quoting: a newline in an argument shows as \n, so the
 * command stays one line of the reply and can be pasted into a shell */
static void append_ansi_c(GString *o, const char *w)
{
	g_string_append(o, "$'");
	for (const char *p = w; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '\n')
			g_string_append(o, "\\n");
		else if (ch == '\t')
			g_string_append(o, "\\t");
		else if (ch == '\r')
			g_string_append(o, "\\r");
		else if (ch == '\\' || ch == '\'')
			g_string_append_printf(o, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			g_string_append_printf(o, "\\x%02x", ch);
		else
			g_string_append_c(o, (char)ch);
	}
	g_string_append_c(o, '\'');
}

static void append_word(GString *o, const char *word)
{
	g_autofree char *w = g_utf8_make_valid(word, -1);
	if (o->len)
		g_string_append_c(o, ' ');
	if (word_is_plain(w)) {
		g_string_append(o, w);
	} else if (word_has_control(w)) {
		append_ansi_c(o, w);
	} else {
		g_autofree char *q = g_shell_quote(w);
		g_string_append(o, q);
	}
}

char *feedback_command_line(char *const *run, char *const *args)
{
	GString *o = g_string_new(NULL);
	for (char *const *p = run; p && *p; p++)
		append_word(o, *p);
	for (char *const *p = args; p && *p; p++)
		append_word(o, *p);
	return g_string_free(o, FALSE);
}

void feedback_excerpt_clear(struct feedback_excerpt *x)
{
	g_free(x->text);
	memset(x, 0, sizeof *x);
}

/* Where the shown part of buf[0..n) ends: after max_lines lines, or at
 * the last line end when the bytes were cut (a line broken in the middle
 * reads as a different input), else at n. */
static size_t excerpt_end(const char *buf, size_t n, unsigned max_lines, bool bytes_cut, unsigned *lines)
{
	*lines = 0;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n')
			continue;
		if (++*lines == max_lines)
			return i + 1;
	}
	if (!bytes_cut) {
		if (n && buf[n - 1] != '\n')
			++*lines;
		return n;
	}
	const char *nl = memrchr(buf, '\n', n);
	if (nl && (size_t)(nl - buf + 1) > n / 2)
		return (size_t)(nl - buf + 1);
	/* one long line: cut at a character boundary */
	const char *end = NULL;
	g_utf8_validate(buf, (gssize)n, &end);
	++*lines;
	return (size_t)(end - buf);
}

bool feedback_excerpt_read(const char *path, unsigned max_lines, size_t max_bytes,
                           struct feedback_excerpt *out, GError **err)
{
	memset(out, 0, sizeof *out);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;
		if (fd >= 0)
			close(fd);
		g_set_error(err, SERCOM_ERROR, e, "%s: %s", path, fd < 0 ? g_strerror(e) : "not a regular file");
		return false;
	}
	out->size = (uint64_t)sb.st_size;
	size_t want = out->size < max_bytes ? (size_t)out->size : max_bytes;
	g_autofree char *buf = g_malloc(want + 1);
	size_t n = 0;
	while (n < want) {
		ssize_t got = pread(fd, buf + n, want - n, (off_t)n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	bool bytes_cut = out->size > n;
	const char *bad = NULL;
	/* invalid UTF-8 only in the last 3 bytes of a cut read is a
	 * character the cap split, not binary */
	if (memchr(buf, 0, n) || (!g_utf8_validate(buf, (gssize)n, &bad) &&
	                          !(bytes_cut && (size_t)(bad - buf) + 4 > n))) {
		out->binary = true;
		return true;
	}
	size_t end = excerpt_end(buf, n, max_lines, bytes_cut, &out->lines);
	out->cut = end < out->size;
	out->text = g_strndup(buf, end);
	if (end && out->text[end - 1] != '\n') {
		char *t = g_strconcat(out->text, "\n", NULL);
		g_free(out->text);
		out->text = t;
	}
	return true;
}

static void list_into(const char *top, const char *rel, int depth, GPtrArray *out)
{
	g_autofree char *dir = rel ? g_build_filename(top, rel, NULL) : g_strdup(top);
	GDir *d = g_dir_open(dir, 0, NULL);
	if (!d)
		return;
	const char *n;
	while ((n = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, n, NULL);
		g_autofree char *r = rel ? g_build_filename(rel, n, NULL) : g_strdup(n);
		struct stat sb;
		if (lstat(path, &sb) < 0)
			continue;
		if (S_ISREG(sb.st_mode))
			g_ptr_array_add(out, g_steal_pointer(&r));
		else if (S_ISDIR(sb.st_mode) && depth < LIST_MAX_DEPTH)
			list_into(top, r, depth + 1, out);
	}
	g_dir_close(d);
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *feedback_list_files(const char *dir)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	if (dir)
		list_into(dir, NULL, 0, out);
	g_ptr_array_sort(out, cmp_str);
	return out;
}

char *feedback_format_ms(uint64_t ms)
{
	if (ms < 1000)
		return g_strdup_printf("%llu ms", (unsigned long long)ms);
	g_autofree char *s = g_strdup_printf("%llu.%02llu", (unsigned long long)(ms / 1000),
	                                     (unsigned long long)((ms % 1000 + 5) / 10 > 99 ? 99 : (ms % 1000 + 5) / 10));
	/* "1.50" -> "1.5", "2.00" -> "2" */
	size_t n = strlen(s);
	while (s[n - 1] == '0')
		s[--n] = 0;
	if (s[n - 1] == '.')
		s[--n] = 0;
	return g_strdup_printf("%s s", s);
}

char *feedback_format_size(uint64_t b)
{
	static const char *const units[] = { "KiB", "MiB", "GiB" };
	if (b < 1024)
		return g_strdup_printf("%llu bytes", (unsigned long long)b);
	int u = b >= (1ull << 30) ? 2 : b >= (1u << 20) ? 1 : 0;
	uint64_t tenths = (b * 10 + (1ull << (10 * (u + 1))) / 2) >> (10 * (u + 1));
	return g_strdup_printf("%llu.%llu %s", (unsigned long long)(tenths / 10),
	                       (unsigned long long)(tenths % 10), units[u]);
}
