/* sandbox: runs one untrusted program (a student's, or the build of one)
 * inside Linux namespaces, a private read-only root, a per-slot uid,
 * rlimits, cgroup limits and a seccomp filter, and reports an
 * isolate-style verdict. See the theory of operation in sandbox.c.
 *
 * Called in-process by the runner (one run at a time per worker slot; the
 * slot picks the uid, the cgroups and the network namespace, so two
 * concurrent runs must use different slots; the slot's netns is replaced
 * whenever a run leaves a socket in it) and by sercom-sandbox.
 * Not thread-safe: one sandbox_run at a time per process (the box borrows
 * the caller's memory and static stacks until its execve), from a thread
 * that outlives the run (init's PR_SET_PDEATHSIG follows that thread).
 * Must run as root (real uid 0 with all capabilities). */
#ifndef SERCOM_SANDBOX_H
#define SERCOM_SANDBOX_H

#include <glib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Verdict on one run, first match wins in this order below OK. */
enum sandbox_status {
	SB_OK, /* exited 0 */
	SB_RE, /* exited non-zero */
	SB_SG, /* killed by a signal */
	SB_TO, /* CPU time limit */
	SB_WT, /* wall time limit */
	SB_ML, /* memory limit (cgroup OOM kill) */
	SB_OL, /* output limit (a stream over its cap, or RLIMIT_FSIZE) */
	SB_SY, /* forbidden system call (seccomp) */
	SB_XX, /* error of the sandbox itself, not a verdict on the program */
};

enum sandbox_profile {
	SB_PROFILE_RUN,   /* one test case: tight limits, small /tmp */
	SB_PROFILE_BUILD, /* make + gcc: more processes, memory, /tmp */
};

struct sandbox_opts {
	enum sandbox_profile profile;
	const char *work_dir;         /* host dir bound read-write at /work (cwd);
	                               * its top is chowned to the box uid for the
	                               * run and given back afterwards */
	char *const *argv;            /* argv[0]: path inside the box, or a name
	                               * searched in the box PATH */
	const char *const *env;       /* NULL: the fixed default allowlist */
	const char *stdin_path;       /* NULL: /dev/null; else a regular file,
	                               * which the program reads from a sealed
	                               * copy (never the host file's fd) */
	const char *stdout_path;      /* NULL: discarded (still counted) */
	const char *stderr_path;      /* NULL: discarded (still counted) */
	uint64_t cpu_ms;              /* 0 = unlimited, for every limit */
	uint64_t wall_ms;
	uint64_t memory;              /* bytes (cgroup; RLIMIT_AS fallback) */
	uint64_t procs;               /* tasks (processes + threads) of the box */
	uint64_t file_size;           /* RLIMIT_FSIZE bytes */
	uint64_t output;              /* bytes per captured stream */
	uint64_t nofile;              /* RLIMIT_NOFILE */
	uint64_t stack;               /* RLIMIT_STACK bytes */
	uint64_t tmp_size;            /* bytes of the /tmp tmpfs */
	int slot;                     /* uid = uid_base + slot */
	uid_t uid_base;
	const char *const *binds;     /* read-only host dirs at the same path;
	                               * NULL: /usr /lib /lib64 /bin
	                               * /etc/alternatives; missing ones are
	                               * skipped, symlinks recreated */
	const char *const *extra_binds; /* more read-only binds, "HOST" or
	                               * "HOST:INSIDE" (e.g. the exercise dir) */
	bool fresh_netns;             /* a new empty netns for this run instead
	                               * of the slot's (which no run can leave
	                               * anything in either): ~0.8 ms more
	                               * (benchmarks) */
	const volatile sig_atomic_t *cancel; /* non-zero (set by a signal handler
	                               * installed without SA_RESTART): kill the
	                               * box, clean up, return XX "cancelled" */
};

struct sandbox_result {
	enum sandbox_status status;
	int exitcode;                 /* when exited */
	int signal;                   /* when killed (0 otherwise) */
	uint64_t cpu_ms;              /* user+system of every process */
	uint64_t wall_ms;
	uint64_t max_rss_kib;         /* v1: the memory cgroup's peak (page cache
	                               * included); else the largest process's */
	uint64_t stdout_bytes;        /* produced, including discarded bytes */
	uint64_t stderr_bytes;
	bool output_truncated;
	char *message;                /* NULL or human text (g_free) */
	char *syscall;                /* SY: the syscall's name (g_free) */
};

/* Fills *o with the defaults of profile (docs/ARCHITECTURE.md section 3 limits). */
void sandbox_opts_init(struct sandbox_opts *o, enum sandbox_profile profile);
/* Runs o->argv in a fresh box and fills *r. Returns false, with *err set
 * and r->status SB_XX, only for errors of the sandbox itself. */
bool sandbox_run(const struct sandbox_opts *o, struct sandbox_result *r, GError **err);
/* Removes the slots' cgroups and closes the shared network namespaces
 * (also registered with atexit on first use; call it before _exit). */
void sandbox_cleanup(void);
/* Removes the cgroups of uid_base + slot whoever made them, killing what
 * is left in them: for a supervisor whose worker of that slot died without
 * sandbox_cleanup (SIGKILL, crash), and at its start for every slot. Must
 * not be called while a run of that slot is under way anywhere. */
void sandbox_release_slot(int slot, uid_t uid_base);
/* Frees what sandbox_run allocated in *r (not r itself). */
void sandbox_result_clear(struct sandbox_result *r);
/* "OK", "RE", ... */
const char *sandbox_status_name(enum sandbox_status s);
/* Writes the isolate-style key:value lines of r. */
void sandbox_print_meta(FILE *f, const struct sandbox_result *r);

#endif
