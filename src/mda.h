/* mda: the start of the two MDA programs, sercom-deliver and sercom-ingest
 * (DESIGN section 2): the same options, and the same exit status on a
 * usage error or a crash path, 75, never 64 or 1: postfix bounces on any
 * other code, and a bounced homework is lost. */
#ifndef SERCOM_MDA_H
#define SERCOM_MDA_H

#include <glib.h>

struct mda_args {
	char *conf_path;        /* -c */
	char *exercise;         /* -e */
	char *sender;           /* -f, else $SENDER ("" = null sender; NULL unknown) */
	char *recipient;        /* -r, else $RECIPIENT */
	const char *extension;  /* $EXTENSION (postfix local(8)) */
	gboolean verbose;       /* -v */
};

/* Sends the crash signals (SIGSEGV, SIGABRT of a library...) to crash,
 * which must _exit(75); ignores SIGPIPE (a closed pipe from the MTA must
 * not kill us silently with 141); parses the options, with extra ones
 * (NULL or { NULL }-terminated). Returns -1 to go on, else the status to
 * exit with: 75 after a usage error, 0 after --version. */
int mda_start(const char *prog, const char *summary, const GOptionEntry *extra, void (*crash)(int),
              int *argc, char ***argv, struct mda_args *a);
void mda_args_clear(struct mda_args *a);

#endif
