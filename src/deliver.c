/* sercom-deliver: the MDA. Reads one message on stdin and stores it in
 * var/mail (tmp -> fsync -> new/ -> fsync) before anything else can fail;
 * then hands it to the resident intake when one listens (handoff.h says
 * why), which answers once the copy is its own and records it after
 * (queued, rejected, ignored, automatic, duplicate); else sercom-ingest
 * records it in a process of its own. Exits 0 once the copy is the
 * intake's or recorded, 75 (EX_TEMPFAIL) on any doubt, so the MTA keeps
 * the message and retries.
 * Postfix bounces on any other code, and a bounced homework is lost: so
 * even a usage error or a crash path is 75 here, never 64 or 1.
 *
 * It links neither GMime nor SQLite nor libarchive: its start-up is paid
 * once per mail (see the Makefile). */
#include "conf.h"
#include "handoff.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the intake answers within its own limit (intake.c) plus a queue of
 * other deliveries ahead of this one */
#define ANSWER_WAIT_MS 120000

/* A crash path (SIGSEGV, SIGABRT of a library) must still be 75. */
static void crash_handler(int sig)
{
	(void)sig;
	_exit(EX_TEMPFAIL_);
}

/* sercom-ingest, next to this program (bin/ in the tree, PREFIX/bin). */
static char *ingest_program(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return g_strdup("sercom-ingest");
	self[n] = 0;
	return g_build_filename(dirname(self), "sercom-ingest", NULL);
}

static void add_option(GPtrArray *av, const char *flag, const char *value)
{
	if (!value)
		return;
	g_ptr_array_add(av, (char *)flag);
	g_ptr_array_add(av, (char *)value);
}

/* No intake: sercom-ingest records the copy, with our options. Returns
 * only when it cannot be run. */
static void ingest_here(const char *conf_path, const char *exercise, const char *sender,
                        const char *recipient, bool verbose, const char *spool_name)
{
	g_autofree char *prog = ingest_program();
	GPtrArray *av = g_ptr_array_new();
	g_ptr_array_add(av, "sercom-ingest");
	add_option(av, "-c", conf_path);
	add_option(av, "-e", exercise);
	add_option(av, "-f", sender);
	add_option(av, "-r", recipient);
	if (verbose)
		g_ptr_array_add(av, "-v");
	g_ptr_array_add(av, "--spooled");
	g_ptr_array_add(av, (char *)spool_name);
	g_ptr_array_add(av, NULL);
	execv(prog, (char **)av->pdata);
	/* a sercom-deliver copied alone somewhere: the installed one */
	if (errno == ENOENT)
		execvp("sercom-ingest", (char **)av->pdata);
	log_error("%s (nor sercom-ingest in $PATH): %s", prog, g_strerror(errno));
	g_ptr_array_free(av, TRUE);
}

int main(int argc, char **argv)
{
	static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	for (size_t i = 0; i < G_N_ELEMENTS(crash_signals); i++)
		signal(crash_signals[i], crash_handler);
	/* a closed pipe from the MTA must not kill us silently with 141 */
	signal(SIGPIPE, SIG_IGN);

	g_autofree char *conf_path = NULL, *exercise = NULL, *sender = NULL, *recipient = NULL;
	gboolean verbose = FALSE, version = FALSE;
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file (default $SERCOM_CONF, /etc/sercom/sercom.conf)", "CONF" },
		{ "exercise", 'e', 0, G_OPTION_ARG_STRING, &exercise, "the exercise (else $EXTENSION, recipient +tag, Subject)", "EXERCISE" },
		{ "sender", 'f', 0, G_OPTION_ARG_STRING, &sender, "envelope sender (else $SENDER)", "SENDER" },
		{ "recipient", 'r', 0, G_OPTION_ARG_STRING, &recipient, "envelope recipient (else $RECIPIENT)", "RECIPIENT" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "details on stderr", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, "print the version", NULL },
		{ NULL },
	};
	GOptionContext *ctx = g_option_context_new("< MESSAGE");
	g_option_context_set_summary(ctx, "Stores one mailed submission and queues it for grading.\n"
	                                  "Exit 0 when stored; 75 (try again later) otherwise.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	bool parsed = g_option_context_parse(ctx, &argc, &argv, &err);
	g_option_context_free(ctx);
	if (!parsed) {
		fprintf(stderr, "sercom-deliver: %s\n", err->message);
		g_error_free(err);
		return EX_TEMPFAIL_;
	}
	if (version) {
		printf("sercom-deliver %s\n", SERCOM_VERSION);
		return 0;
	}
	log_init("sercom-deliver", true, verbose);

	struct sercom_conf *c = conf_load(conf_path, &err);
	if (!c) {
		log_error("%s (exit 75: the MTA will retry)", err->message);
		g_error_free(err);
		return EX_TEMPFAIL_;
	}
	g_autofree char *path = NULL;
	if (!spool_init(c->mail_dir, &err) || !spool_from_fd(c->mail_dir, 0, &path, &err)) {
		log_error("%s (exit 75: the MTA will retry)", err->message);
		g_error_free(err);
		conf_free(c);
		return EX_TEMPFAIL_;
	}
	struct handoff_request rq = {
		.spool_name = g_path_get_basename(path),
		.exercise = g_strdup(exercise),
		.extension = g_strdup(g_getenv("EXTENSION")),
		.sender = g_strdup(sender ? sender : g_getenv("SENDER")),
		.recipient = g_strdup(recipient ? recipient : g_getenv("RECIPIENT")),
	};
	int code = EX_TEMPFAIL_;
	g_autofree char *text = NULL;
	switch (handoff_submit(c->var, &rq, ANSWER_WAIT_MS, &code, &text, &err)) {
	case HANDOFF_NO_INTAKE:
		log_debug("no intake listens: recording %s here", rq.spool_name);
		ingest_here(conf_path, exercise, sender, recipient, verbose, rq.spool_name);
		/* cannot run sercom-ingest: not recorded, the MTA retries */
		unlink(path);
		code = EX_TEMPFAIL_;
		break;
	case HANDOFF_ANSWERED:
		if (code == 0) {
			log_info("%s", text);
			break;
		}
		/* refused (a copy it cannot read): still ours to record */
		log_warn("%s: recording it here", text);
		ingest_here(conf_path, exercise, sender, recipient, verbose, rq.spool_name);
		unlink(path);
		code = EX_TEMPFAIL_;
		break;
	case HANDOFF_LOST:
		/* no answer: the intake never took the copy (it answers before
		 * anything else; one that died after marking it finds it gone).
		 * The MTA retries with the envelope. */
		log_error("%s: %s (exit 75: the MTA will retry)", path, err->message);
		g_error_free(err);
		unlink(path);
		code = EX_TEMPFAIL_;
		break;
	}
	handoff_request_clear(&rq);
	conf_free(c);
	return code;
}
