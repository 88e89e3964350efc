/* sercom-deliver: the MDA. Reads one message on stdin, stores it, records
 * it (queued, rejected, ignored, automatic, duplicate) and exits 0; exits
 * 75 (EX_TEMPFAIL) on any doubt, so the MTA keeps the message and retries.
 * Postfix bounces on any other code, and a bounced homework is lost: so
 * even a usage error or a crash path is 75 here, never 64 or 1. */
#include "conf.h"
#include "ingest.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A crash path (SIGSEGV, SIGABRT of a library) must still be 75. */
static void crash_handler(int sig)
{
	(void)sig;
	_exit(EX_TEMPFAIL_);
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
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "sercom-deliver: %s\n", err->message);
		return EX_TEMPFAIL_;
	}
	g_option_context_free(ctx);
	if (version) {
		printf("sercom-deliver %s\n", SERCOM_VERSION);
		return 0;
	}
	log_init("sercom-deliver", true, verbose);

	struct ingest_opts o = {
		.exercise = exercise,
		.extension = g_getenv("EXTENSION"),
		.sender = sender ? sender : g_getenv("SENDER"),
		.recipient = recipient ? recipient : g_getenv("RECIPIENT"),
	};
	struct sercom_conf *c = conf_load(conf_path, &err);
	if (!c) {
		log_error("%s", err->message);
		return EX_TEMPFAIL_;
	}
	int status = EX_TEMPFAIL_;
	struct store *s = NULL;
	struct ingest_result res = { 0 };
	if (!spool_init(c->mail_dir, &err) || util_mkdir_p(c->attempts_dir, 0755) < 0)
		goto out;
	s = store_open(c->db_path, 30000, &err);
	if (!s)
		goto out;
	if (!ingest_fd(c, s, 0, &o, &res, &err))
		goto out;
	log_info("stored %s: %s%s%s%s, attempt %lld", res.spool_path, ingest_outcome_name(res.outcome),
	         res.reason ? " (" : "", res.reason ? res.reason : "", res.reason ? ")" : "",
	         (long long)res.attempt_id);
	if (res.outcome == INGEST_QUEUED || res.outcome == INGEST_REJECTED)
		ingest_wake_runner(c);
	status = 0;
out:
	if (err) {
		log_error("%s (exit 75: the MTA will retry)", err->message);
		g_error_free(err);
	}
	ingest_result_clear(&res);
	store_close(s);
	conf_free(c);
	return status;
}
