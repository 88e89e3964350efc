/* sandbox-bench: per-run cost of the sandbox module as the runner uses it
 * (in-process sandbox_run), against a bare fork/exec/wait of the same tiny
 * static program and against bwrap --unshare-all with equivalent binds.
 * Also the designs measured against the kept ones: a network namespace per
 * run (fresh_netns) instead of the slot's checked one, and box init as a
 * fork-like clone (its own copy of the caller's memory) instead of
 * CLONE_VM. SANDBOX_BENCH_HEAP_MB=N first touches N MiB of heap, as a
 * long-running runner's worker has (a fork copies its page tables).
 * Usage: sandbox-bench WORKDIR PROG N (PROG is the path inside WORKDIR). */
#define _GNU_SOURCE
#include "sandbox-int.h"
#include "util.h"
#include "log.h"

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* user + system microseconds of this process and its reaped children */
static double cpu_now(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) * 1e6 +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec + b.ru_stime.tv_usec);
}

static const char *load(void)
{
	static char buf[128];
	FILE *f = fopen("/proc/loadavg", "r");
	if (!f || !fgets(buf, sizeof buf, f))
		g_strlcpy(buf, "?\n", sizeof buf);
	if (f)
		fclose(f);
	return buf;
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
	const char *heap_mb = getenv("SANDBOX_BENCH_HEAP_MB");
	size_t heap = heap_mb ? (size_t)atoi(heap_mb) << 20 : 0;
	char *ballast = heap ? malloc(heap) : NULL;
	if (ballast)
		memset(ballast, 1, heap);
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
	/* the uid range of this checkout (tests and other benches use theirs) */
	const char *ub = getenv("SERCOM_UID_BASE");
	if (ub && atoi(ub) > 0)
		o.uid_base = (uid_t)atoi(ub);
	char box_uid[16];
	g_snprintf(box_uid, sizeof box_uid, "%u", (unsigned)(o.uid_base + (uid_t)o.slot));
	struct sandbox_result r;
	GError *err = NULL;
	if (!sandbox_run(&o, &r, &err) || r.status != SB_OK) {
		fprintf(stderr, "sandbox-bench: warm-up run: %s (%s)\n", err ? err->message : "",
		        sandbox_status_name(r.status));
		return 1;
	}
	sandbox_result_clear(&r);

	/* bwrap with the same view: ro /usr (+ merged-usr links), rw /work,
	 * fresh /proc, minimal /dev, tmpfs /tmp, every namespace */
	char *bw[64];
	int k = 0;
	const char *pre[] = { "/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session",
		"--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
		"--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
		"--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
		"--bind", work, "/work", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
		"--chdir", "/work", "--uid", box_uid, "--gid", box_uid, "--cap-drop", "ALL", NULL };
	for (; pre[k]; k++)
		bw[k] = (char *)pre[k];
	bw[k++] = inside;
	bw[k] = NULL;
	bool have_bw = access("/usr/bin/bwrap", X_OK) == 0 && run_argv(bw) == 0;

	/* interleaved rounds, so a load change on a shared machine hits every
	 * method alike; wall and CPU (self + children, user + system) */
	enum { BARE, SPAWN, SHARED, FRESH, ALTINIT, BWRAP, NM };
	const bool kept_vm = sb_init_shares_vm;
	const char *const names[NM] = {
		"bare fork/exec/wait", "bare posix_spawn/wait (vfork)", "sandbox_run (as kept)",
		"sandbox_run, netns per run", kept_vm ? "sandbox_run, init fork-like" : "sandbox_run, init CLONE_VM",
		"bwrap --unshare-all",
	};
	double wall[NM] = { 0 }, cpu[NM] = { 0 };
	const int round = 25;
	for (int done = 0; done < n; done += round) {
		int m = MIN(round, n - done);
		for (int meth = 0; meth < NM; meth++) {
			if (meth == BWRAP && !have_bw)
				continue;
			o.fresh_netns = meth == FRESH;
			sb_init_shares_vm = meth == ALTINIT ? !kept_vm : kept_vm;
			double c0 = cpu_now(), t0 = wall_now();
			for (int i = 0; i < m; i++) {
				if (meth == BARE || meth == BWRAP) {
					if (run_argv(meth == BARE ? bare_argv : bw) != 0)
						return 1;
					continue;
				}
				if (meth == SPAWN) {
					pid_t sp;
					int st;
					if (posix_spawn(&sp, bare_argv[0], NULL, NULL, bare_argv, environ) != 0 ||
					    waitpid(sp, &st, 0) != sp || st != 0)
						return 1;
					continue;
				}
				if (!sandbox_run(&o, &r, &err) || r.status != SB_OK) {
					fprintf(stderr, "sandbox-bench: %s\n", err ? err->message : sandbox_status_name(r.status));
					return 1;
				}
				sandbox_result_clear(&r);
			}
			wall[meth] += wall_now() - t0;
			cpu[meth] += cpu_now() - c0;
		}
	}
	printf("runs: %d of a tiny static program per method, interleaved in rounds of %d\n", n, round);
	printf("load average at the end: %s", load());
	printf("heap touched before the runs: %zu MiB; kept: slot netns checked after each run, init %s\n",
	       heap >> 20, kept_vm ? "CLONE_VM" : "fork-like");
	printf("overhead: over bare fork/exec/wait (the brief's baseline); in brackets over posix_spawn\n");
	printf("%-32s %12s %12s %22s %22s\n", "method", "wall us/run", "cpu us/run", "wall overhead", "cpu overhead");
	for (int meth = 0; meth < NM; meth++) {
		if (meth == BWRAP && !have_bw) {
			printf("%-32s not available\n", names[meth]);
			continue;
		}
		double w = wall[meth] / n, c = cpu[meth] / n;
		printf("%-32s %12.0f %12.0f %12.0f [%7.0f] %12.0f [%7.0f]\n", names[meth], w, c,
		       w - wall[BARE] / n, w - wall[SPAWN] / n, c - cpu[BARE] / n, c - cpu[SPAWN] / n);
	}
	if (have_bw) {
		double base = MIN(wall[BARE], wall[SPAWN]);
		double so = (wall[SHARED] - base) / n, bo = (wall[BWRAP] - base) / n;
		if (so > 0)
			printf("bwrap overhead / sandbox overhead (wall, over the faster bare): %.1fx\n", bo / so);
		else
			printf("sandbox_run is faster than the faster bare spawn; bwrap overhead %.0f us/run\n", bo);
	}
	double base = MIN(wall[BARE], wall[SPAWN]) / n;
	printf("netns per run: +%.0f us/run wall, +%.0f us/run cpu over the slot's checked netns\n",
	       (wall[FRESH] - wall[SHARED]) / n, (cpu[FRESH] - cpu[SHARED]) / n);
	/* what CLONE_VM saves: fork-like minus CLONE_VM */
	double vm_w = (kept_vm ? 1 : -1) * (wall[ALTINIT] - wall[SHARED]) / n;
	double vm_c = (kept_vm ? 1 : -1) * (cpu[ALTINIT] - cpu[SHARED]) / n;
	double vm_over = (kept_vm ? wall[SHARED] : wall[ALTINIT]) / n - base;
	printf("init CLONE_VM saves %.0f us/run wall (%.0f%% of its overhead), %.0f us/run cpu, over a fork-like init\n",
	       vm_w, vm_over > 0 ? 100 * vm_w / vm_over : 0.0, vm_c);
	free(ballast);
	g_free(inside);
	g_free(host_prog);
	return 0;
}
