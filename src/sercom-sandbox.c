/* sercom-sandbox: one sandboxed run from the command line (docs/ARCHITECTURE.md section 2),
 * for teachers, tests and benchmarks. Prints isolate-style key:value meta
 * lines to --meta or stderr. Exit 0 when the program was run, whatever its
 * verdict; 2 on a sandbox error (status XX); 64 on a usage error. */
#include "sandbox.h"
#include "util.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

static char *opt_profile, *opt_cpu, *opt_wall, *opt_mem, *opt_fsize, *opt_output, *opt_stack;
static char *opt_tmp, *opt_dir, *opt_stdin, *opt_stdout, *opt_stderr, *opt_meta;
static gint64 opt_procs = -1, opt_nofile = -1, opt_slot, opt_uid_base = 60000;
static char **opt_binds, **opt_env;
static gboolean opt_fresh_netns, opt_verbose, opt_version;

static GOptionEntry entries[] = {
	{ "profile", 0, 0, G_OPTION_ARG_STRING, &opt_profile, "run (default) or build", "P" },
	{ "cpu", 0, 0, G_OPTION_ARG_STRING, &opt_cpu, "CPU time limit (2s, 500ms)", "T" },
	{ "wall", 0, 0, G_OPTION_ARG_STRING, &opt_wall, "wall time limit", "T" },
	{ "mem", 0, 0, G_OPTION_ARG_STRING, &opt_mem, "memory limit (256M)", "SIZE" },
	{ "procs", 0, 0, G_OPTION_ARG_INT64, &opt_procs, "processes and threads", "N" },
	{ "fsize", 0, 0, G_OPTION_ARG_STRING, &opt_fsize, "largest file written", "SIZE" },
	{ "output", 0, 0, G_OPTION_ARG_STRING, &opt_output, "cap of stdout and of stderr", "SIZE" },
	{ "stack", 0, 0, G_OPTION_ARG_STRING, &opt_stack, "stack size", "SIZE" },
	{ "nofile", 0, 0, G_OPTION_ARG_INT64, &opt_nofile, "open files", "N" },
	{ "tmp-size", 0, 0, G_OPTION_ARG_STRING, &opt_tmp, "size of /tmp", "SIZE" },
	{ "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir, "host dir read-write at /work (default: a fresh temp dir)", "DIR" },
	{ "stdin", 0, 0, G_OPTION_ARG_FILENAME, &opt_stdin, "stdin (default /dev/null)", "FILE" },
	{ "stdout", 0, 0, G_OPTION_ARG_FILENAME, &opt_stdout, "capture stdout (default: discard)", "FILE" },
	{ "stderr", 0, 0, G_OPTION_ARG_FILENAME, &opt_stderr, "capture stderr (default: discard)", "FILE" },
	{ "meta", 0, 0, G_OPTION_ARG_FILENAME, &opt_meta, "meta lines (default: stderr)", "FILE" },
	{ "slot", 0, 0, G_OPTION_ARG_INT64, &opt_slot, "worker slot (uid = uid-base + slot)", "N" },
	{ "uid-base", 0, 0, G_OPTION_ARG_INT64, &opt_uid_base, "first sandbox uid (60000)", "UID" },
	{ "bind", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_binds, "extra read-only bind HOST[:INSIDE]", "SPEC" },
	{ "env", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_env, "environment VAR=VALUE (replaces the default)", "VAR=VAL" },
	{ "fresh-netns", 0, 0, G_OPTION_ARG_NONE, &opt_fresh_netns, "a network namespace of the run's own (the default, the slot's, is new per process)", NULL },
	{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "more detail on stderr", NULL },
	{ "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "print the version", NULL },
	{ NULL, 0, 0, 0, NULL, NULL, NULL },
};

static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
	(void)sig;
	cancelled = 1;
}

static bool size_opt(const char *name, const char *v, uint64_t *out)
{
	if (!v)
		return true;
	if (util_parse_size(v, out))
		return true;
	fprintf(stderr, "sercom-sandbox: --%s: bad size '%s'\n", name, v);
	return false;
}

static bool time_opt(const char *name, const char *v, uint64_t *out)
{
	if (!v)
		return true;
	if (util_parse_duration_ms(v, out))
		return true;
	fprintf(stderr, "sercom-sandbox: --%s: bad duration '%s'\n", name, v);
	return false;
}

int main(int argc, char **argv)
{
	/* its outputs are a student program's: not for other users */
	umask(027);
	GError *err = NULL;
	GOptionContext *ctx = g_option_context_new("-- PROG [ARGS...]");
	g_option_context_set_summary(ctx, "Runs PROG in the sercom sandbox and prints isolate-style meta lines.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "sercom-sandbox: %s\n", err->message);
		return EX_USAGE;
	}
	g_option_context_free(ctx);
	if (opt_version) {
		printf("sercom-sandbox %s\n", SERCOM_VERSION);
		return 0;
	}
	log_init("sercom-sandbox", false, opt_verbose);
	int first = 1;
	if (first < argc && strcmp(argv[first], "--") == 0)
		first++;
	if (first >= argc) {
		fprintf(stderr, "sercom-sandbox: no program given (-- PROG ARGS...)\n");
		return EX_USAGE;
	}

	struct sandbox_opts o;
	enum sandbox_profile prof = SB_PROFILE_RUN;
	if (opt_profile && strcmp(opt_profile, "build") == 0)
		prof = SB_PROFILE_BUILD;
	else if (opt_profile && strcmp(opt_profile, "run") != 0) {
		fprintf(stderr, "sercom-sandbox: --profile: run or build, not '%s'\n", opt_profile);
		return EX_USAGE;
	}
	sandbox_opts_init(&o, prof);
	if (!time_opt("cpu", opt_cpu, &o.cpu_ms) || !time_opt("wall", opt_wall, &o.wall_ms) ||
	    !size_opt("mem", opt_mem, &o.memory) || !size_opt("fsize", opt_fsize, &o.file_size) ||
	    !size_opt("output", opt_output, &o.output) || !size_opt("stack", opt_stack, &o.stack) ||
	    !size_opt("tmp-size", opt_tmp, &o.tmp_size))
		return EX_USAGE;
	if (opt_procs >= 0)
		o.procs = (uint64_t)opt_procs;
	if (opt_nofile >= 0)
		o.nofile = (uint64_t)opt_nofile;
	if (opt_slot < 0 || opt_slot > 65535 || opt_uid_base <= 0 || opt_uid_base + opt_slot > 4000000000LL) {
		fprintf(stderr, "sercom-sandbox: bad --slot or --uid-base\n");
		return EX_USAGE;
	}
	o.slot = (int)opt_slot;
	o.uid_base = (uid_t)opt_uid_base;
	o.extra_binds = (const char *const *)opt_binds;
	o.env = (const char *const *)opt_env;
	o.fresh_netns = opt_fresh_netns;
	o.stdin_path = opt_stdin;
	o.stdout_path = opt_stdout;
	o.stderr_path = opt_stderr;
	o.argv = argv + first;

	char *tmpdir = NULL;
	if (opt_dir) {
		o.work_dir = opt_dir;
	} else {
		tmpdir = g_dir_make_tmp("sercom-sandbox-XXXXXX", &err);
		if (!tmpdir) {
			fprintf(stderr, "sercom-sandbox: %s\nstatus:XX\n", err->message);
			return 2;
		}
		o.work_dir = tmpdir;
	}

	FILE *meta = stderr;
	if (opt_meta && !(meta = fopen(opt_meta, "we"))) {
		fprintf(stderr, "sercom-sandbox: %s: %s\n", opt_meta, g_strerror(errno));
		meta = stderr;
	}
	/* SIGTERM, SIGINT, SIGHUP: end the box and clean up (SIGKILL is
	 * covered by the box's PR_SET_PDEATHSIG) */
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	o.cancel = &cancelled;
	struct sandbox_result r;
	bool ok = sandbox_run(&o, &r, &err);
	if (!ok)
		fprintf(stderr, "sercom-sandbox: %s\n", err ? err->message : "sandbox error");
	sandbox_print_meta(meta, &r);
	if (meta != stderr)
		fclose(meta);
	sandbox_result_clear(&r);
	g_clear_error(&err);
	if (tmpdir) {
		util_rm_rf(tmpdir);
		g_free(tmpdir);
	}
	return ok ? 0 : 2;
}
