/* sandbox-int.h: what the sandbox's files share, for them and its unit
 * test only (the public interface is sandbox.h).
 *
 *   sandbox.c          sandbox_run and its steps: the plan, stdin, the
 *                      slot's root and network namespace, the watch loop,
 *                      the verdict (sb_verdict, a pure function)
 *   sandbox-box.c      everything between clone and execve (raw syscalls)
 *   sandbox-cgroup.c   the slots' cgroups: limits, counters, clean-up
 *   sandbox-seccomp.c  the filter, compiled once per process
 */
#ifndef SERCOM_SANDBOX_INT_H
#define SERCOM_SANDBOX_INT_H

#include "sandbox.h"

#include <limits.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#if !defined(__x86_64__)
#error "the sandbox's box code makes raw x86_64 syscalls (sandbox-box.c)"
#endif

bool sb_fail(GError **err, int e, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* ---- records from the box to the parent (one write each, < PIPE_BUF) --- */

enum rep_type { REP_ERR = 1, REP_EXEC, REP_EXIT, REP_SYSCALL };
struct rep {
	int type;
	int err;       /* errno of REP_ERR/REP_EXEC */
	int status;    /* wait status of REP_EXIT */
	int nr;        /* REP_SYSCALL */
	uint32_t arch;
	char what[160];
};

/* ---- the plan the parent prepares for the box --------------------------- */

struct box_bind {
	char target[PATH_MAX]; /* relative to the new root */
	char host[PATH_MAX];   /* the source, opened by the root helper (a
	                        * mount of the caller's namespace cannot be
	                        * bound) */
	char source[64];       /* /proc/self/fd/N, filled by the helper */
	int fd;                /* -1 for a symlink */
	char link[PATH_MAX];   /* symlink text when fd < 0 */
	bool is_dir;
};

/* What the root helper builds, once per slot and list of binds. */
struct box_root {
	struct box_bind *binds; /* all read-only */
	size_t nbinds;
	int rep_w;              /* failure record, or REP_EXIT when built */
	int go_r;               /* EOF: the caller holds the namespace */
	int rep_r, go_w;        /* the caller's ends, closed by the helper */
};

/* One run's plan: read by box init and the program child, never written
 * by the caller while they run. */
struct box {
	const struct sandbox_opts *o;
	const struct sock_fprog *filter;
	uid_t uid;
	int root_fd;            /* the slot's prepared mount namespace */
	int work_tree;          /* detached copy of the work dir (open_tree) */
	char tmp_opts[64];
	char **exec_paths;      /* candidates for argv[0] */
	char *const *envp;
	int stdin_fd;           /* sealed copy of the input; -1: the box's /dev/null */
	int out_r, out_w, err_r, err_w, rep_r, rep_w, life_r, life_w;
	int netns_fd;           /* the slot's netns; -1: CLONE_NEWNET */
	int cg_procs[3];
	int ncg_procs;
	struct rlimit rl_cpu, rl_as, rl_fsize, rl_nofile, rl_nproc, rl_stack;
	bool set_as;
	uint64_t ignored;       /* signals the caller ignores (bit s-1) */
	int last_cap;           /* highest capability number of the kernel */
	bool shared_vm;         /* init shares the caller's memory */
};

/* sandbox-box.c. Both return a pid or -errno. */
/* Box init in new PID, IPC and UTS namespaces (and a new netns when
 * b->netns_fd < 0); *pidfd gets its pidfd. shared_vm: init borrows the
 * caller's memory (CLONE_VM) instead of a copy of it. */
long sb_box_start(struct box *b, bool shared_vm, int *pidfd);
/* The slot's root helper (box_root_build) in a mount namespace of its own. */
long sb_root_helper_start(struct box_root *p);
/* Design under measurement (tests/bench/sandbox-bench.c): true, init
 * shares the caller's memory; see sandbox-box.c. */
extern bool sb_init_shares_vm;

/* sandbox-seccomp.c */
/* The filter: libseccomp's denylist behind a prologue that denies every
 * number libseccomp cannot name. Built once per process. */
const struct sock_fprog *sb_seccomp_filter(GError **err);
/* The highest x86_64 syscall number libseccomp names (the prologue denies
 * every number above it); -1 before the filter is built. */
int sb_seccomp_max_known(void);
/* The names the filter denies (NULL-terminated). */
extern const char *const sb_denied[];
/* "name", or "unknown N" for a number libseccomp cannot name (g_free). */
char *sb_seccomp_name(uint32_t arch, int nr);

/* sandbox-cgroup.c */
enum cg_kind { CG_NONE, CG_V1, CG_V2 };
struct sb_cgslot {
	bool made;
	char *dirs[3];
	int ndirs;
	int procs_fd[3];
	int cpu_fd;          /* v1 cpuacct.usage (ns), v2 cpu.stat */
	int peak_fd;         /* v1 memory.max_usage_in_bytes (reset per run) */
	int empty_fd;        /* v1 memory.force_empty */
	int usage_fd;        /* v1 memory.usage_in_bytes */
	int kmem_fd;         /* v1 memory.kmem.usage_in_bytes, -1 if absent */
	int oom_fd;          /* v1 memory.oom_control, v2 memory.events */
	uint64_t memory, procs; /* limits in force */
};
/* Probes once which cgroups there are; CG_NONE logs a warning. */
enum cg_kind sb_cg_probe(void);
/* The slot's cgroups, made on its first run and kept; with the run's
 * limits and the peak reset. NULL with *err. */
struct sb_cgslot *sb_cg_for_run(int slot, uid_t uid, const struct sandbox_opts *o, GError **err);
/* CPU ms used by the slot's cgroup so far; -1 if unknown. */
int64_t sb_cg_cpu_ms(struct sb_cgslot *cg);
/* OOM kills counted by the slot's memory cgroup so far. */
uint64_t sb_cg_ooms(struct sb_cgslot *cg);
/* Peak memory of the run in bytes, 0 if unknown. */
uint64_t sb_cg_peak(struct sb_cgslot *cg);
/* Online CPUs, read once. */
int sb_ncpu(void);
/* Closes (and removes) every slot's cgroups. */
void sb_cg_free_all(void);

/* sandbox.c: the verdict from what was observed, first match wins. */
enum sb_kill { SB_KILL_NONE, SB_KILL_WALL, SB_KILL_CPU, SB_KILL_OUTPUT, SB_KILL_CANCEL };
struct sb_observed {
	bool setup_failed;      /* a REP_ERR: the box could not be set up */
	bool exited;            /* a REP_EXIT: init saw the program end */
	bool forbidden_syscall; /* a REP_SYSCALL: the filter stopped a call */
	bool exec_failed;       /* a REP_EXEC: argv[0] could not be executed */
	enum sb_kill killed;    /* why the caller killed the box, if it did */
	int signal;             /* that ended the program (0: exited) */
	int exitcode;
	uint64_t cpu_ms, cpu_limit_ms; /* limit 0: none */
	uint64_t ooms;          /* OOM kills of the run's memory cgroup */
};
enum sandbox_status sb_verdict(const struct sb_observed *ob);

#endif
