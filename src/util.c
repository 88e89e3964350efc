/* util: helpers shared by every program. See util.h. */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

G_DEFINE_QUARK(sercom-error-quark, sercom_error)

void util_close_fd(int fd)
{
	close(fd);
}

int util_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int util_read_fd(int fd, size_t max, GByteArray **out)
{
	GByteArray *b = g_byte_array_new();
	guint8 chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			g_byte_array_unref(b);
			return e;
		}
		if (n == 0)
			break;
		if (b->len + (size_t)n > max) {
			g_byte_array_unref(b);
			return -EFBIG;
		}
		g_byte_array_append(b, chunk, (guint)n);
	}
	*out = b;
	return 0;
}

int util_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int util_mkdir_p(const char *path, mode_t mode)
{
	return g_mkdir_with_parents(path, (int)mode) < 0 ? -errno : 0;
}

/* Removes a tree with a bounded number of descriptors, whatever its depth.
 *
 * The attack: a student's program that runs mkdir("d"); chdir("d") 1,500
 * times leaves a tree a recursive walk cannot remove with one descriptor
 * per level and the default 1,024 (EMFILE), and every later use of that
 * directory fails. So the walk holds one descriptor for the directory it
 * is in (plus one for reading it): it goes down with openat(name) and back
 * up with openat(".."), checking that ".." is the directory it came from
 * (the (st_dev, st_ino) remembered for each level, on the heap); on a
 * mismatch (the tree was moved while we walked) it stops with -ESTALE
 * rather than remove what lies elsewhere. It never crosses into another
 * filesystem (-EXDEV) and never follows a symlink: openat/unlinkat with
 * O_NOFOLLOW, so a link swapped in cannot make it delete host files.
 * It stops at the first error. */
struct rm_level {
	dev_t dev;
	ino_t ino;
	char *name;   /* of this level in its parent */
};

/* Empties dirfd of what it can remove at once (files, empty dirs); the
 * first non-empty subdirectory's name goes to *sub (g_free), NULL when
 * dirfd is empty. */
static int rm_entries(int dirfd, char **sub)
{
	*sub = NULL;
	int dup = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return -errno;
	DIR *d = fdopendir(dup);
	if (!d) {
		close(dup);
		return -errno;
	}
	/* the dup shares dirfd's offset, at the end after an earlier pass */
	rewinddir(d);
	int r = 0;
	struct dirent *e;
	while (!*sub && (errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			r = -errno;
			break;
		}
		if (unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			continue;
		if (errno != ENOTEMPTY && errno != EEXIST && errno != EACCES && errno != EPERM) {
			r = -errno;
			break;
		}
		*sub = g_strdup(e->d_name);
	}
	if (r == 0 && !*sub && errno)
		r = -errno;   /* readdir failed */
	closedir(d);
	return r;
}

static bool same_dir(int fd, dev_t dev, ino_t ino)
{
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static int rm_tree_fd(int top)
{
	struct stat st;
	if (fstat(top, &st) < 0)
		return -errno;
	const dev_t dev = st.st_dev;
	GArray *up = g_array_new(FALSE, FALSE, sizeof(struct rm_level));
	int cur = top, r = 0;
	for (;;) {
		char *sub = NULL;
		if ((r = rm_entries(cur, &sub)) < 0)
			break;
		if (sub) {
			/* down one level; remember where we were */
			int c = openat(cur, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (c < 0 || fstat(c, &st) < 0) {
				r = -errno;
				if (c >= 0)
					close(c);
				g_free(sub);
				break;
			}
			if (st.st_dev != dev) {
				r = -EXDEV;
				close(c);
				g_free(sub);
				break;
			}
			/* a student may have made the directory unwritable for us */
			fchmod(c, 0700);
			struct stat here;
			if (fstat(cur, &here) < 0) {
				r = -errno;
				close(c);
				g_free(sub);
				break;
			}
			struct rm_level lv = { here.st_dev, here.st_ino, sub };
			g_array_append_val(up, lv);
			if (cur != top)
				close(cur);
			cur = c;
			continue;
		}
		if (up->len == 0)
			break;   /* the top is empty */
		/* this level is empty: up to its parent, then remove it */
		struct rm_level *lv = &g_array_index(up, struct rm_level, up->len - 1);
		int p = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (p < 0) {
			r = -errno;
			break;
		}
		if (!same_dir(p, lv->dev, lv->ino)) {
			close(p);
			r = -ESTALE;
			break;
		}
		close(cur);   /* never top: we are below it */
		if (up->len == 1) {
			/* back at the top: the caller's descriptor again */
			close(p);
			cur = top;
		} else {
			cur = p;
		}
		if (unlinkat(cur, lv->name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
			r = -errno;
			g_free(lv->name);
			g_array_set_size(up, up->len - 1);
			break;
		}
		g_free(lv->name);
		g_array_set_size(up, up->len - 1);
	}
	if (cur != top)
		close(cur);
	for (guint i = 0; i < up->len; i++)
		g_free(g_array_index(up, struct rm_level, i).name);
	g_array_free(up, TRUE);
	return r;
}

int util_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fchmod(fd, 0700);
	int r = rm_tree_fd(fd);
	close(fd);
	if (r == 0 && rmdir(path) < 0)
		r = -errno;
	return r;
}

int util_copy_fd(int in, int out)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		int r = util_write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

static int copy_file_at(int sfd, const char *name, int dfd, mode_t mode)
{
	int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
	if (out < 0) {
		int e = -errno;
		close(in);
		return e;
	}
	int r = util_copy_fd(in, out);
	close(in);
	if (close(out) < 0 && r == 0)
		r = -errno;
	return r;
}

static int copy_tree_at(int sfd, int dfd)
{
	DIR *d = fdopendir(sfd);
	if (!d) {
		close(sfd);
		return -errno;
	}
	int r = 0;
	struct dirent *e;
	while ((e = readdir(d)) && r == 0) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		if (S_ISREG(st.st_mode)) {
			r = copy_file_at(sfd, e->d_name, dfd, st.st_mode);
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dfd, e->d_name, 0755) < 0 && errno != EEXIST) {
				r = -errno;
				break;
			}
			int s2 = openat(sfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int d2 = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0) {
				r = -errno;
				if (s2 >= 0) close(s2);
				if (d2 >= 0) close(d2);
				break;
			}
			r = copy_tree_at(s2, d2);
			close(d2);
		}
		/* symlinks, fifos, devices: never copied (they could point out of
		 * the tree or block the reader) */
	}
	closedir(d);
	return r;
}

int util_copy_tree(const char *from, const char *to)
{
	int r = util_mkdir_p(to, 0755);
	if (r < 0)
		return r;
	int s = open(from, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s < 0)
		return -errno;
	int d = open(to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0) {
		int e = -errno;
		close(s);
		return e;
	}
	r = copy_tree_at(s, d);
	close(d);
	return r;
}

/* A non-negative number and what follows it (blanks skipped): the shared
 * start of sizes and durations. */
static bool parse_number(const char *s, double *v, const char **unit)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	*v = g_ascii_strtod(s, &end);
	if (errno || end == s || *v < 0)
		return false;
	while (*end == ' ')
		end++;
	*unit = end;
	return true;
}

bool util_parse_size(const char *s, uint64_t *out)
{
	double v, mul = 1;
	const char *end;
	if (!parse_number(s, &v, &end))
		return false;
	switch (g_ascii_toupper(*end)) {
	case 0: break;
	case 'K': mul = 1024.0; end++; break;
	case 'M': mul = 1024.0 * 1024; end++; break;
	case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
	default: return false;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return false;
	*out = (uint64_t)(v * mul);
	return true;
}

bool util_parse_duration_ms(const char *s, uint64_t *out)
{
	double v, mul;
	const char *end;
	if (!parse_number(s, &v, &end))
		return false;
	if (!*end || !strcmp(end, "s"))
		mul = 1000;
	else if (!strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mul = 60000;
	else if (!strcmp(end, "h"))
		mul = 3600000;
	else
		return false;
	*out = (uint64_t)(v * mul + 0.5);
	return true;
}

bool util_parse_date(const char *s, int64_t *out)
{
	if (!s)
		return false;
	g_autofree char *t = g_strstrip(g_strdup(s));
	int y, mo, d, h = 0, mi = 0, n = 0;
	if (sscanf(t, "%d-%d-%d%n", &y, &mo, &d, &n) != 3)
		return false;
	const char *rest = t + n;
	if (*rest == ' ' || *rest == 'T') {
		int n2 = 0;
		if (sscanf(rest + 1, "%d:%d%n", &h, &mi, &n2) != 2)
			return false;
		rest += 1 + n2;
		if (*rest == ':') { /* seconds are accepted and ignored */
			int sec, n3 = 0;
			if (sscanf(rest + 1, "%d%n", &sec, &n3) != 1)
				return false;
			rest += 1 + n3;
		}
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59)
		return false;
	GTimeZone *tz;
	if (!*rest) {
		tz = g_time_zone_new_local();
	} else {
		tz = g_time_zone_new_identifier(rest);
		if (!tz)
			return false;
	}
	GDateTime *dt = g_date_time_new(tz, y, mo, d, h, mi, 0);
	g_time_zone_unref(tz);
	if (!dt)
		return false;
	*out = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return true;
}

char *util_format_date(int64_t t)
{
	GDateTime *dt = g_date_time_new_from_unix_local(t);
	if (!dt)
		return g_strdup("?");
	char *s = g_date_time_format(dt, "%Y-%m-%d %H:%M");
	g_date_time_unref(dt);
	return s;
}

int64_t util_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_now(void)
{
	return (int64_t)time(NULL);
}

char *util_resolve(const char *base_dir, const char *path)
{
	if (g_path_is_absolute(path) || !base_dir)
		return g_strdup(path);
	return g_build_filename(base_dir, path, NULL);
}

bool util_safe_filename(const char *name)
{
	if (!name || !*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	if (strlen(name) > 255)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Attack: a recipient "a@b, c@d" or one with a line break would let a
 * forged From: add recipients (sendmail parses its arguments as address
 * lists) or SMTP commands; "-oQ/tmp/x@host" would be an option to
 * sendmail; a quoted local part ("a b"@host) is legal but no MTA path we
 * use keeps it intact, so it is never answered. */
bool util_address_ok(const char *addr)
{
	size_t n = addr ? strlen(addr) : 0;
	if (n < 3 || n > 254 || addr[0] == '-' || addr[0] == '@')
		return false;
	const char *at = strchr(addr, '@');
	if (!at || at != strrchr(addr, '@') || !at[1] || at[1] == '.' || at[1] == '-')
		return false;
	for (const char *p = addr; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr(",;:<>()[]\\\"", *p))
			return false;
	return g_utf8_validate(addr, -1, NULL);
}
