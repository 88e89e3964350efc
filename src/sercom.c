/* sercom: the admin command (DESIGN section 2). `sercom [-c CONF] [-v]
 * COMMAND ARGS...`: one function per command over the library; each
 * parses its own options with GOptionContext and has --help. Exit status:
 * 0 done, 1 failed (message on stderr), 64 usage. */
#include "conf.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct admin {
	const char *conf_path;
	struct sercom_conf *conf;
	struct store *store;
};

struct command {
	const char *name;
	int (*run)(struct admin *a, int argc, char **argv);
	const char *args;
	const char *help;
	GOptionEntry *options; /* the command's own options (static storage) */
};

static int fail(GError *err)
{
	fprintf(stderr, "sercom: %s\n", err->message);
	g_error_free(err);
	return 1;
}

/* Parses a command's options; false (after printing why) on a usage error. */
static bool parse_options(const struct command *cmd, GOptionEntry *entries, int *argc, char ***argv)
{
	g_autofree char *prg = g_strdup_printf("sercom %s", cmd->name);
	g_set_prgname(prg);
	GOptionContext *ctx = g_option_context_new(cmd->args);
	g_option_context_set_summary(ctx, cmd->help);
	if (entries)
		g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	bool ok = g_option_context_parse(ctx, argc, argv, &err);
	if (!ok) {
		fprintf(stderr, "sercom %s: %s (see sercom %s --help)\n", cmd->name, err->message, cmd->name);
		g_error_free(err);
	}
	g_option_context_free(ctx);
	return ok;
}

static struct store *open_store(struct admin *a, GError **err)
{
	if (!a->store)
		a->store = store_open(a->conf->db_path, 10000, err);
	return a->store;
}

static int cmd_init(struct admin *a, int argc, char **argv)
{
	GError *err = NULL;
	const struct sercom_conf *c = a->conf;
	if (argc > 1) {
		fprintf(stderr, "usage: sercom init\n");
		return 64;
	}
	int r;
	if ((r = util_mkdir_p(c->var, 0755)) < 0 || (r = util_mkdir_p(c->attempts_dir, 0755)) < 0) {
		fprintf(stderr, "sercom init: %s: %s\n", c->var, g_strerror(-r));
		return 1;
	}
	if (!spool_init(c->mail_dir, &err) || !spool_init(c->outbox_dir, &err))
		return fail(err);
	/* the MDA may run as the MTA's user: it needs to write the FIFO */
	if ((mkfifo(c->fifo_path, 0620) < 0 && errno != EEXIST) || chmod(c->fifo_path, 0622) < 0) {
		fprintf(stderr, "sercom init: %s: %s\n", c->fifo_path, g_strerror(errno));
		return 1;
	}
	if (!open_store(a, &err))
		return fail(err);
	printf("instance ready: %s (database %s, schema version %d)\n", c->var, c->db_path,
	       store_schema_version());
	return 0;
}

static int cmd_roster(struct admin *a, int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "import")) {
		fprintf(stderr, "usage: sercom roster import FILE.csv\n");
		return 64;
	}
	GError *err = NULL;
	struct store *s = open_store(a, &err);
	if (!s)
		return fail(err);
	int n = store_roster_import(s, argv[2], &err);
	if (n < 0)
		return fail(err);
	printf("imported %d students from %s\n", n, argv[2]);
	return 0;
}

static const struct command commands[] = {
	{ "init", cmd_init, "", "Creates the instance's var/ tree (mail, attempts, outbox, FIFO) and database.", NULL },
	{ "roster", cmd_roster, "import FILE.csv",
	  "Loads students from a CSV with the header id,name,email (more email columns allowed).\n"
	  "Existing students are updated; addresses are compared case-insensitively.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sercom [-c CONF] [-v] COMMAND [ARGS...]\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->args);
	fprintf(f, "\n`sercom COMMAND --help` tells more. CONF defaults to $SERCOM_CONF, then /etc/sercom/sercom.conf.\n");
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL;
	bool verbose = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc)
			conf_path = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			conf_path = argv[i] + 9;
		else if (!strcmp(argv[i], "-v"))
			verbose = true;
		else if (!strcmp(argv[i], "--version")) {
			printf("sercom %s\n", SERCOM_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "sercom: unknown option %s\n", argv[i]);
			usage(stderr);
			return 64;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 64;
	}
	const struct command *cmd = NULL;
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, argv[i]))
			cmd = c;
	if (!cmd) {
		fprintf(stderr, "sercom: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return 64;
	}
	log_init("sercom", false, verbose);
	int cargc = argc - i;
	char **cargv = argv + i;
	/* --help of a command works without a configuration */
	if (!parse_options(cmd, cmd->options, &cargc, &cargv))
		return 64;
	struct admin a = { .conf_path = conf_path };
	GError *err = NULL;
	a.conf = conf_load(conf_path, &err);
	if (!a.conf)
		return fail(err);
	int r = cmd->run(&a, cargc, cargv);
	store_close(a.store);
	conf_free(a.conf);
	return r;
}
