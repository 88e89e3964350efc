/* util: small helpers shared by every program: I/O that retries, durable
 * writes, parsing of sizes, durations and dates of the configuration. */
#ifndef SERCOM_UTIL_H
#define SERCOM_UTIL_H

#include <glib.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#define SERCOM_VERSION "0.1.0"

/* Error domain for every sercom module: GError codes are errno values. */
#define SERCOM_ERROR (sercom_error_quark())
GQuark sercom_error_quark(void);

/* An fd closed when it goes out of scope, by GLib's g_auto(): g_auto(UtilFd)
 * fd = open(...). (GLib's own g_autofd came with 2.76, after Debian 12's.) */
typedef int UtilFd;
void util_close_fd(int fd);
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(UtilFd, util_close_fd, -1)

/* Writes all of buf, retrying on EINTR and short writes; -errno on failure. */
int util_write_all(int fd, const void *buf, size_t len);
/* Copies in to its end into out; 0, or -errno. */
int util_copy_fd(int in, int out);
/* Reads fd to EOF into *out, refusing more than max bytes (-EFBIG). */
int util_read_fd(int fd, size_t max, GByteArray **out);
/* fsyncs a directory so a new entry in it survives a crash; -errno. */
int util_fsync_dir(const char *dir);
/* mkdir -p with mode; -errno. */
int util_mkdir_p(const char *path, mode_t mode);
/* Removes a tree without following symlinks (openat-based); -errno. */
int util_rm_rf(const char *path);
/* Copies a tree (regular files, dirs; symlinks are skipped) ; -errno. */
int util_copy_tree(const char *from, const char *to);

/* "10M" -> bytes (K, M, G, binary). false on bad syntax. */
bool util_parse_size(const char *s, uint64_t *out);
/* "2s", "500ms", "1m", bare number = seconds -> milliseconds. */
bool util_parse_duration_ms(const char *s, uint64_t *out);
/* "YYYY-MM-DD HH:MM" local time, or with ISO 8601 offset -> unix time. */
bool util_parse_date(const char *s, int64_t *out);
/* Formats unix time as "YYYY-MM-DD HH:MM" local time (g_free the result). */
char *util_format_date(int64_t t);

/* Monotonic milliseconds, for durations. */
int64_t util_now_ms(void);
/* Wall-clock unix seconds. */
int64_t util_now(void);

/* Resolves path against base_dir when relative (g_free the result). */
char *util_resolve(const char *base_dir, const char *path);
/* True when name is a safe single path component (no /, not . or .., no NUL,
 * no control characters) */
bool util_safe_filename(const char *name);
/* Whether addr is one plain address sercom may hand to sendmail or SMTP
 * as a recipient (the roster, the composer and the transport all ask):
 * local@domain, printable ASCII or UTF-8, no blanks, quotes, list or route
 * syntax, not starting with "-" (an option to sendmail). */
bool util_address_ok(const char *addr);

#endif
