/* mime: parses one RFC 5322 message with GMime 3 and extracts what the MDA
 * needs: identity headers, loop-avoidance signals (RFC 3834) and every part
 * that carries a file name, decoded, with a safe base name.
 *
 * Hostile mail is the normal case here: every cap (parts, nesting, decoded
 * bytes) stops collecting and sets a flag instead of failing, so the caller
 * can still record the message and answer it with a reason. */
#ifndef SERCOM_MIME_H
#define SERCOM_MIME_H

#include <glib.h>
#include <gmime/gmime.h>
#include <stdbool.h>
#include <stdint.h>

/* Caps against hostile mail; 0 means "use the default" (see mime.c). */
/* A submission's MIME structure is read up to this many parts and levels of
 * nesting; past them its files are incomplete and it is refused as too
 * large (ingest.c), never graded on part of what was sent. */
enum { MIME_MAX_PARTS = 1000, MIME_MAX_DEPTH = 20 };

struct mime_limits {
	uint64_t max_parts;            /* MIME objects visited (default MIME_MAX_PARTS) */
	uint64_t max_depth;            /* multipart / message nesting (default MIME_MAX_DEPTH) */
	uint64_t max_file_bytes_total; /* sum of decoded file sizes (default 50 MiB) */
};

/* One part that carried a file name. */
struct mime_file {
	char *name;   /* safe base name (mime_clean_name), unique within the message */
	char *renamed_from; /* the name the mail proposed (mime_shown_name) when
			     * the rule or the uniqueness changed it; else NULL */
	GBytes *data; /* decoded content */
};

struct mime_info {
	char *message_id;    /* without <>, no whitespace; NULL if none */
	char *from_addr;     /* first mailbox of From:, domain lowercased; NULL
			      * when there is no usable From: */
	char *from_name;     /* display name of that mailbox, UTF-8; may be NULL */
	char *reply_to_addr; /* first mailbox of Reply-To: (for information only:
			      * replies go to From) */
	char *subject;       /* decoded (RFC 2047) UTF-8, control chars -> ' ' */
	char **recipients;   /* NULL-terminated, never NULL: every address of
			      * Delivered-To (top first), To, Cc, in that order */
	char *in_reply_to;   /* raw header values, unfolded; NULL if absent */
	char *references;
	char *mbox_sender;   /* address of a leading mbox "From " line, or NULL */
	bool automatic;            /* RFC 3834: never answer this message */
	const char *automatic_why; /* static string naming the rule, or NULL */
	GPtrArray *files;    /* struct mime_file *, in message order */
	GPtrArray *notes;    /* char *: human notes on what was skipped */
	uint64_t files_bytes;   /* sum of the sizes of files */
	bool too_large;         /* max_file_bytes_total reached: files incomplete */
	bool too_many_parts;    /* max_parts or max_depth reached: files incomplete */
};

/* Whether addr (local@domain, or a bare local part) is a robot's that must
 * never get an automatic answer (RFC 3834 section 2: mail loops, lists):
 * mailer-daemon, postmaster, noreply and their kin, owner-*, *-request,
 * *-bounces ...; also an empty address or "<>". The one rule of the intake
 * (automatic mail is recorded, never answered) and of the composer (never
 * mails such an address). */
bool mime_robot_address(const char *addr);

/* Initialises GMime once per process (idempotent, thread-safe). */
void mime_init(void);

/* Parses one message from stream (read from its current position; an mbox
 * "From " first line is skipped). Returns NULL with err set only when
 * nothing at all could be read; a malformed message still yields an info
 * with notes. lim may be NULL (defaults). */
struct mime_info *mime_parse(GMimeStream *stream, const struct mime_limits *lim,
			     GError **err);
/* Same over a buffer, which must stay valid until the call returns. */
struct mime_info *mime_parse_buffer(const void *buf, size_t len,
				    const struct mime_limits *lim, GError **err);
/* Frees an info and everything it owns; NULL is accepted. */
void mime_info_free(struct mime_info *info);

/* The rule for a submitted file's name, shared by attachments and archive
 * entries (unpack.c applies it to every path component): one component
 * whose characters are letters and digits of any script (NFC), combining
 * marks, '.', '_', '-', '+', every other one made '_', no leading '-',
 * controls dropped, 1..255 bytes (cut before the extension). Nothing a
 * shell or make reads specially is left (mime.c says which and why).
 * NULL when nothing usable is left ("", ".", "..", only dots). */
char *mime_clean_name(const char *component);
/* A proposed name as a human may be shown it in a note or a reply: valid
 * UTF-8, NFC, control, bidi and line-separator characters as '?'. */
char *mime_shown_name(const char *raw);
/* mime_clean_name of the last component of a file name proposed by a
 * mail ("../../x.c" and "C:\x\y.c" keep only it); "unnamed" when nothing
 * is left. Never returns NULL; g_free the result. */
char *mime_safe_name(const char *proposed);
/* name, or "stem_2.ext", "stem_3.ext"... the first one taken() says is
 * free (names that clean to the same never overwrite each other). */
char *mime_unique_name(const char *name, bool (*taken)(const char *name, void *data), void *data);

#endif
