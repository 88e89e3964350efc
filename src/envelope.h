/* envelope: the first line of every file in var/mail, written by
 * sercom-deliver (and by `sercom import-maildir`), read by the ingester.
 *
 * Why a line of our own and not a header: a header is something the mail
 * itself can carry, so a student could forge "-e tp9" or a sender. The
 * first line of the spool file is always ours: the message starts on the
 * line after it, byte for byte what the MTA gave us.
 *
 *   sercom-envelope-1 size=00000000000000012345 truncated=0 time=1767261600
 *   [sender=V] [recipient=V] [exercise=V] [extension=V]\n
 *
 * (one line). size is the message's real size, written last at a fixed
 * offset (the MDA only knows it at the end of stdin); truncated=1 when the
 * copy keeps only the first [limits] message_size bytes of it. A value is
 * %XX-escaped (bytes <= ' ', >= 0x7f, and '%'); an absent key is unknown,
 * "sender=" is the null sender.
 *
 * Plain C, no GLib: sercom-deliver links the C library alone. */
#ifndef SERCOM_ENVELOPE_H
#define SERCOM_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENVELOPE_MAGIC "sercom-envelope-1 "
/* where the 20 digits of size= and the flag of truncated= are */
#define ENVELOPE_SIZE_OFFSET (sizeof ENVELOPE_MAGIC - 1 + 5)
#define ENVELOPE_SIZE_DIGITS 20
#define ENVELOPE_TRUNC_OFFSET (ENVELOPE_SIZE_OFFSET + ENVELOPE_SIZE_DIGITS + 11)
/* the longest first line the ingester reads (the MTA gives the values;
 * longer ones are cut by envelope_format) */
#define ENVELOPE_MAX 8192
#define ENVELOPE_VALUE_MAX 1000

struct envelope {
	uint64_t size;         /* of the message, the real one */
	bool truncated;        /* the copy holds its first bytes only */
	int64_t time;          /* when the MDA got it (seconds) */
	char *sender;          /* -f, $SENDER ("" null sender; NULL unknown) */
	char *recipient;       /* -r, $RECIPIENT */
	char *exercise;        /* -e */
	char *extension;       /* $EXTENSION (postfix local(8)) */
};

/* The line for e (with its '\n') into buf; its length, or 0 when buf is
 * too small. */
size_t envelope_format(const struct envelope *e, char *buf, size_t size);
/* Writes size and truncated over those of a line envelope_format made
 * (fixed offsets: the line keeps its length). */
void envelope_patch(char *line, uint64_t size, bool truncated);
/* Parses the first line of a spool file (line without its '\n', len
 * bytes) into e (malloc'd strings: envelope_clear). false when it is not
 * an envelope line. */
bool envelope_parse(const char *line, size_t len, struct envelope *e);
void envelope_clear(struct envelope *e);
/* The name of a new spool file into buf: TIME.MUSEC.PPID.QCOUNT.RRANDOM.HOST,
 * unique across hosts and processes (maildir(5)); the fixed-width time
 * first makes the names' order the ingester's: oldest first. count tells
 * apart the files one process makes in one microsecond. */
void envelope_spool_name(char *buf, size_t size, unsigned count);

#endif
