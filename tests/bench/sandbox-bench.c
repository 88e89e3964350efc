/* sandbox-bench: per-run cost of the sandbox module as the runner uses it
 * (in-process sandbox_run), against a bare fork/exec/wait of the same tiny
 * static program and against bwrap --unshare-all with equivalent binds.
 * Usage: sandbox-bench WORKDIR PROG N (PROG is the path inside WORKDIR). */
#define _GNU_SOURCE
#include "sandbox.h"
#include "util.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_argv(char *const *argv)
{
	pid_t p = fork();
	if (p == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static double per_run_us(int64_t t0, int n)
{
	return (double)(util_now_ms() - t0) * 1000.0 / n;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: sandbox-bench WORKDIR PROG N\n");
		return 64;
	}
	log_init("sandbox-bench", false, false);
	const char *work = argv[1], *prog = argv[2];
	int n = atoi(argv[3]);
	char *host_prog = g_build_filename(work, prog, NULL);

	/* warm-up (page cache, seccomp filter, the slot's netns) */
	char *bare_argv[] = { host_prog, NULL };
	run_argv(bare_argv);
	struct sandbox_opts o;
	sandbox_opts_init(&o, SB_PROFILE_RUN);
	char *inside = g_strconcat("/work/", prog, NULL);
	char *sb_argv[] = { inside, NULL };
	o.argv = sb_argv;
	o.work_dir = work;
	o.slot = 31;
	struct sandbox_result r;
	GError *err = NULL;
	if (!sandbox_run(&o, &r, &err) || r.status != SB_OK) {
		fprintf(stderr, "sandbox-bench: warm-up run: %s (%s)\n", err ? err->message : "",
		        sandbox_status_name(r.status));
		return 1;
	}
	sandbox_result_clear(&r);

	int64_t t0 = util_now_ms();
	for (int i = 0; i < n; i++)
		if (run_argv(bare_argv) != 0)
			return 1;
	double bare = per_run_us(t0, n);

	t0 = util_now_ms();
	for (int i = 0; i < n; i++) {
		if (!sandbox_run(&o, &r, &err) || r.status != SB_OK) {
			fprintf(stderr, "sandbox-bench: run %d: %s\n", i, err ? err->message : sandbox_status_name(r.status));
			return 1;
		}
		sandbox_result_clear(&r);
	}
	double shared = per_run_us(t0, n);

	o.fresh_netns = true;
	t0 = util_now_ms();
	for (int i = 0; i < n; i++) {
		if (!sandbox_run(&o, &r, &err) || r.status != SB_OK) {
			fprintf(stderr, "sandbox-bench: run %d: %s\n", i, err ? err->message : sandbox_status_name(r.status));
			return 1;
		}
		sandbox_result_clear(&r);
	}
	double fresh = per_run_us(t0, n);

	/* bwrap with the same view: ro /usr (+ merged-usr links), rw /work,
	 * fresh /proc, minimal /dev, tmpfs /tmp, every namespace */
	char *bw_argv[] = {
		"/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session",
		"--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
		"--symlink", "usr/lib64", "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
		"--symlink", "usr/bin", "/bin", "--bind", (char *)work, "/work",
		"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/work",
		"--uid", "60031", "--gid", "60031", "--cap-drop", "ALL", inside, NULL,
	};
	/* fix the /lib64 link's arguments */
	bw_argv[11] = "/lib64";
	bw_argv[10] = "usr/lib64";
	bw_argv[9] = "--symlink";
	char *bw_fixed[64];
	int k = 0;
	const char *pre[] = { "/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session",
		"--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
		"--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
		"--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
		"--bind", work, "/work", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
		"--chdir", "/work", "--uid", "60031", "--gid", "60031", "--cap-drop", "ALL", NULL };
	for (; pre[k]; k++)
		bw_fixed[k] = (char *)pre[k];
	bw_fixed[k++] = inside;
	bw_fixed[k] = NULL;
	(void)bw_argv;
	double bw = -1;
	if (access("/usr/bin/bwrap", X_OK) == 0 && run_argv(bw_fixed) == 0) {
		t0 = util_now_ms();
		for (int i = 0; i < n; i++)
			if (run_argv(bw_fixed) != 0)
				return 1;
		bw = per_run_us(t0, n);
	}

	printf("runs: %d of %s (static, exits 0)\n", n, prog);
	printf("bare fork/exec/wait:             %8.0f us/run\n", bare);
	printf("sandbox_run, shared slot netns:  %8.0f us/run  overhead %6.0f us\n", shared, shared - bare);
	printf("sandbox_run, netns per run:      %8.0f us/run  overhead %6.0f us\n", fresh, fresh - bare);
	if (bw >= 0) {
		printf("bwrap --unshare-all:             %8.0f us/run  overhead %6.0f us\n", bw, bw - bare);
		printf("bwrap overhead / sandbox overhead: %.1fx\n", (bw - bare) / (shared - bare));
	} else {
		printf("bwrap: not available\n");
	}
	printf("kept: %s\n", shared <= fresh ? "shared netns per slot (made once, setns)" : "netns per run would be faster");
	g_free(inside);
	g_free(host_prog);
	return 0;
}
