/* mda: the MDA programs' start. See mda.h. */
#include "mda.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int mda_start(const char *prog, const char *summary, const GOptionEntry *extra, void (*crash)(int),
              int *argc, char ***argv, struct mda_args *a)
{
	static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	for (size_t i = 0; i < G_N_ELEMENTS(crash_signals); i++)
		signal(crash_signals[i], crash);
	signal(SIGPIPE, SIG_IGN);

	memset(a, 0, sizeof *a);
	gboolean version = FALSE;
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &a->conf_path, "configuration file (default $SERCOM_CONF, /etc/sercom/sercom.conf)", "CONF" },
		{ "exercise", 'e', 0, G_OPTION_ARG_STRING, &a->exercise, "the exercise (else $EXTENSION, recipient +tag, Subject)", "EXERCISE" },
		{ "sender", 'f', 0, G_OPTION_ARG_STRING, &a->sender, "envelope sender (else $SENDER)", "SENDER" },
		{ "recipient", 'r', 0, G_OPTION_ARG_STRING, &a->recipient, "envelope recipient (else $RECIPIENT)", "RECIPIENT" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &a->verbose, "details on stderr", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, "print the version", NULL },
		{ NULL },
	};
	GOptionContext *ctx = g_option_context_new("< MESSAGE");
	g_option_context_set_summary(ctx, summary);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (extra)
		g_option_context_add_main_entries(ctx, extra, NULL);
	GError *err = NULL;
	gboolean parsed = g_option_context_parse(ctx, argc, argv, &err);
	g_option_context_free(ctx);
	if (!parsed) {
		fprintf(stderr, "%s: %s\n", prog, err->message);
		g_error_free(err);
		mda_args_clear(a);
		return EX_TEMPFAIL_;
	}
	if (version) {
		printf("%s %s\n", prog, SERCOM_VERSION);
		mda_args_clear(a);
		return 0;
	}
	if (!a->sender)
		a->sender = g_strdup(g_getenv("SENDER"));
	if (!a->recipient)
		a->recipient = g_strdup(g_getenv("RECIPIENT"));
	a->extension = g_getenv("EXTENSION");
	return -1;
}

void mda_args_clear(struct mda_args *a)
{
	g_free(a->conf_path);
	g_free(a->exercise);
	g_free(a->sender);
	g_free(a->recipient);
	memset(a, 0, sizeof *a);
}
