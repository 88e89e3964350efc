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
#include "mda.h"
#include "spool.h"
#include "util.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
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

/* No intake: sercom-ingest records the copy, with our options (the
 * envelope as resolved here). Returns only when it cannot be run. */
static void ingest_here(const struct mda_args *a, const char *spool_name)
{
	g_autofree char *prog = ingest_program();
	GPtrArray *av = g_ptr_array_new();
	g_ptr_array_add(av, "sercom-ingest");
	add_option(av, "-c", a->conf_path);
	add_option(av, "-e", a->exercise);
	add_option(av, "-f", a->sender);
	add_option(av, "-r", a->recipient);
	if (a->verbose)
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
	struct mda_args a;
	int rc = mda_start("sercom-deliver", "Stores one mailed submission and queues it for grading.\n"
	                   "Exit 0 when stored; 75 (try again later) otherwise.",
	                   NULL, crash_handler, &argc, &argv, &a);
	if (rc >= 0)
		return rc;
	log_init("sercom-deliver", true, a.verbose);

	GError *err = NULL;
	struct sercom_conf *c = conf_load(a.conf_path, &err);
	if (!c) {
		log_error("%s (exit 75: the MTA will retry)", err->message);
		g_error_free(err);
		mda_args_clear(&a);
		return EX_TEMPFAIL_;
	}
	g_autofree char *path = NULL;
	/* a mail over [limits] message_size is only rejected: its head is
	 * enough to answer it (spool.c) */
	if (!spool_init(c->mail_dir, &err) ||
	    !spool_from_fd(c->mail_dir, 0, c->limits.message_size, &path, &err)) {
		log_error("%s (exit 75: the MTA will retry)", err->message);
		g_error_free(err);
		conf_free(c);
		mda_args_clear(&a);
		return EX_TEMPFAIL_;
	}
	g_autofree char *spool_name = g_path_get_basename(path);
	struct handoff_request rq = {
		.spool_name = spool_name,
		.exercise = a.exercise,
		.extension = (char *)a.extension,
		.sender = a.sender,
		.recipient = a.recipient,
	};
	int code = EX_TEMPFAIL_;
	g_autofree char *text = NULL;
	switch (handoff_submit(c->var, &rq, ANSWER_WAIT_MS, &code, &text, &err)) {
	case HANDOFF_NO_INTAKE:
		log_debug("no intake listens: recording %s here", spool_name);
		ingest_here(&a, spool_name);
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
		ingest_here(&a, spool_name);
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
	conf_free(c);
	mda_args_clear(&a);
	return code;
}
