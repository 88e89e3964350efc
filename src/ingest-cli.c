/* sercom-ingest: the MDA's engine in a process of its own. Reads one
 * message on stdin (or takes one sercom-deliver has spooled, --spooled),
 * records it (queued, rejected, ignored, automatic, duplicate) and exits
 * 0; exits 75 (EX_TEMPFAIL) on any doubt, so the MTA keeps the message and
 * retries. sercom-deliver runs it when no intake listens; it takes the
 * same options, so it is an MDA of its own too. --serve runs the intake
 * (intake.h) in the foreground, as sercom-runner does in a child. */
#include "conf.h"
#include "handoff.h"
#include "ingest.h"
#include "intake.h"
#include "log.h"
#include "mda.h"
#include "spool.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* --spooled: the copy, until it is recorded. A crash removes it, as any
 * other failure does: the MTA delivers its own again, with the envelope. */
static char crash_unlink[4096];

/* A crash path (SIGSEGV, SIGABRT of a library) must still be 75. */
static void crash_handler(int sig)
{
	(void)sig;
	if (crash_unlink[0])
		unlink(crash_unlink);
	_exit(EX_TEMPFAIL_);
}

static int serve(const struct sercom_conf *c)
{
	GError *err = NULL;
	if (!intake_drop_privileges(c, &err)) {
		log_error("%s", err->message);
		g_error_free(err);
		return EX_TEMPFAIL_;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int stop_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (stop_fd < 0) {
		log_error("signalfd: %s", g_strerror(errno));
		return EX_TEMPFAIL_;
	}
	int rc = intake_serve(c, stop_fd);
	close(stop_fd);
	return rc;
}

int main(int argc, char **argv)
{
	g_autofree char *spooled = NULL;
	gboolean serve_mode = FALSE;
	const GOptionEntry extra[] = {
		{ "spooled", 0, 0, G_OPTION_ARG_STRING, &spooled, "record this file of var/mail/new instead of reading stdin", "NAME" },
		{ "serve", 0, 0, G_OPTION_ARG_NONE, &serve_mode, "run the intake in the foreground until SIGTERM", NULL },
		{ NULL },
	};
	struct mda_args a;
	int rc = mda_start("sercom-ingest", "Records one mailed submission and queues it for grading.\n"
	                   "Exit 0 when stored; 75 (try again later) otherwise.",
	                   extra, crash_handler, &argc, &argv, &a);
	if (rc >= 0)
		return rc;
	/* run for sercom-deliver, it logs under that name: one MDA in syslog */
	log_init(spooled ? "sercom-deliver" : "sercom-ingest", true, a.verbose);

	struct ingest_opts o = {
		.exercise = a.exercise,
		.extension = a.extension,
		.sender = a.sender,
		.recipient = a.recipient,
	};
	GError *err = NULL;
	struct sercom_conf *c = conf_load(a.conf_path, &err);
	if (!c) {
		log_error("%s", err->message);
		g_error_free(err);
		mda_args_clear(&a);
		return EX_TEMPFAIL_;
	}
	if (serve_mode) {
		rc = serve(c);
		conf_free(c);
		mda_args_clear(&a);
		return rc;
	}
	int status = EX_TEMPFAIL_;
	struct store *s = NULL;
	struct ingest_result res = { 0 };
	g_autofree char *path = NULL; /* --spooled: the copy, until it is handed on */
	if (spooled && !handoff_valid_spool_name(spooled)) {
		g_set_error(&err, SERCOM_ERROR, EINVAL, "--spooled %s: not a file name of var/mail/new", spooled);
		goto out;
	}
	if (spooled)
		path = g_build_filename(c->mail_dir, "new", spooled, NULL);
	if (!spool_init(c->mail_dir, &err))
		goto out;
	rc = util_mkdir_p(c->attempts_dir, 0755);
	if (rc < 0) {
		g_set_error(&err, SERCOM_ERROR, -rc, "%s: %s", c->attempts_dir, g_strerror(-rc));
		goto out;
	}
	s = store_open(c->db_path, 30000, &err);
	if (!s)
		goto out;
	if (spooled) {
		/* from here ingest_new_copy removes the copy if it fails */
		char *copy = g_steal_pointer(&path);
		g_strlcpy(crash_unlink, copy, sizeof crash_unlink);
		bool ok = ingest_new_copy(c, s, copy, &o, &res, &err);
		crash_unlink[0] = 0;
		g_free(copy);
		if (!ok)
			goto out;
	} else if (!ingest_fd(c, s, 0, &o, &res, &err)) {
		goto out;
	}
	char *text = ingest_describe(&res);
	log_info("%s", text);
	g_free(text);
	if (res.outcome == INGEST_QUEUED || res.outcome == INGEST_REJECTED)
		ingest_wake_runner(c);
	status = 0;
out:
	/* not recorded: the MTA delivers its own copy again */
	if (path)
		unlink(path);
	if (err) {
		log_error("%s (exit 75: the MTA will retry)", err->message);
		g_error_free(err);
	}
	ingest_result_clear(&res);
	store_close(s);
	conf_free(c);
	mda_args_clear(&a);
	return status;
}
