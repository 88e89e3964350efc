/* unpack: puts one submitted file into an attempt's directory, unpacking
 * it when its content is an archive (zip, tar, 7z; gzip, bzip2, xz, lzma,
 * zstd, compress filters) with libarchive.
 *
 * The archive is hostile until proven otherwise: nothing is ever written
 * outside the directory, no symlink, hardlink, device or fifo is created,
 * and the limits are enforced while data is decompressed. */
#ifndef SERCOM_UNPACK_H
#define SERCOM_UNPACK_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

struct unpack_limits {
	uint64_t max_total_bytes; /* all files of the attempt (0: no limit) */
	uint64_t max_files;       /* files and directories of the attempt (0: no limit) */
	uint64_t max_ratio;       /* unpacked / packed size of one archive (0: no
				   * limit); archives unpacking to less than
				   * 1 MiB are never refused for their ratio */
};

/* Running totals over every file of one attempt (the caller zeroes it once
 * and passes it to each unpack_file call). */
struct unpack_stats {
	uint64_t files;
	uint64_t bytes;
};

enum unpack_result {
	UNPACK_OK,          /* written (maybe with entries skipped: see notes) */
	UNPACK_BAD_ARCHIVE, /* an archive that cannot be read to its end */
	UNPACK_TOO_LARGE,   /* a limit was hit: stopped early */
	UNPACK_IO_ERROR,    /* the directory could not be written (disk full...):
			     * a temporary failure of ours, not the student's */
};

/* Writes name (a safe base name, e.g. from mime_safe_name) into the
 * directory dirfd: as is for a plain file, or its entries for an archive
 * (below dirfd, every path component cleaned by mime_clean_name). Appends
 * each relative path written (regular files only) to names_out (g_free'd
 * strings; may be NULL) and a human note for each skipped entry to
 * notes_out (may be NULL). renamed (may be NULL; pass the same table to
 * every call of one attempt, with g_free'd keys and values): each file
 * written under another name than it came with gets an entry, its
 * relative path -> the name it came with (mime_shown_name); a renamed file
 * never replaces a file, and no file replaces one named in the table. On
 * any result but UNPACK_OK sets *why (g_free) to a one-line reason naming
 * the file; files written before the failure stay. */
enum unpack_result unpack_file_at(int dirfd, const char *name, const void *data,
				  size_t len, const struct unpack_limits *lim,
				  struct unpack_stats *inout, GPtrArray *names_out,
				  GPtrArray *notes_out, GHashTable *renamed, char **why);
/* Same with a directory path (opened without following a symlink). */
enum unpack_result unpack_file(const char *dir, const char *name, const void *data,
			       size_t len, const struct unpack_limits *lim,
			       struct unpack_stats *inout, GPtrArray *names_out,
			       GPtrArray *notes_out, GHashTable *renamed, char **why);
/* Short name of a result, for logs ("ok", "bad_archive", ...). */
const char *unpack_result_name(enum unpack_result r);

#endif
