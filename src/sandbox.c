/* sandbox: one untrusted run in a box. See sandbox.h.
 *
 * Theory of operation
 * -------------------
 * The caller (root) prepares everything that needs memory or may fail in
 * an ordinary way: stdin, the output pipes, a detached copy of the work
 * dir's mount (open_tree), the slot's cgroups (made on the slot's first
 * run, kept until the process exits) and the slot's box root (below); the
 * seccomp program (compiled once per process with libseccomp and exported
 * as raw BPF); the exec candidates. Then it clones a child in new PID, IPC
 * and UTS namespaces, and either a new network namespace or the slot's
 * shared empty one (made once per process and slot, joined with setns).
 * The clone shares the caller's memory (CLONE_VM, as
 * posix_spawn does): on this machine copying page tables for a fork costs
 * more than every namespace and mount of the run together. So between
 * clone and execve the box code makes raw syscalls only (no errno, no
 * malloc, no locks: the caller's threads run on) and reports failures as
 * fixed-size records on a pipe.
 *
 * The box root is made once per slot (and list of binds) by a helper in a
 * mount namespace of its own, kept alive by an fd: every mount private, a
 * tmpfs as the new root, the read-only binds (nosuid, nodev), mount points
 * and device nodes, pivot_root into it and the old root detached, /
 * remounted read-only (box_root_build).
 *
 * The clone child is the PID namespace's init ("box init", pid 1, still
 * root). It enters a copy of the slot's box root (setns, then unshare: its
 * mounts go to its own copy), attaches the work dir there (read-write,
 * nosuid, nodev), mounts a fresh /proc (hidepid=2) and a /tmp tmpfs,
 * installs the seccomp filter on itself. It then starts the
 * program (pid 2, vfork-style: init sleeps until its execve), which
 * inherits the filter, joins the run's cgroups (init stays out of them:
 * see box_exec) and drops to the slot's uid: setsid, stdio, rlimits,
 * bounding set emptied, setgroups, setresgid, setresuid, capabilities
 * cleared, no_new_privs, fds above 2 marked close-on-exec, execve. Init
 * stays root (the program's uid differs, so /proc/1/{mem,root,fd} need CAP_SYS_PTRACE it lacks) and
 * waits: it reaps orphans, and when pid 2 exits it writes its wait status
 * to the parent and exits, which makes the kernel kill every remaining
 * process of the namespace (fork bombs, daemons, stopped children).
 *
 * Forbidden syscalls return SECCOMP_RET_USER_NOTIF: init installs the
 * filter on itself once its mounts are done (the program inherits it) and
 * keeps the listener fd; init reads
 * the notification (syscall number and ABI), reports SY with the name and
 * exits, killing the box while the offending call is still blocked, so the
 * call never runs. Syscalls of a foreign ABI (i386 int 0x80, x32) hit the
 * filter's bad-arch action, SECCOMP_RET_KILL_PROCESS: the program dies of
 * SIGSYS, reported as SY with no name. clone3 answers ENOSYS (its flags are
 * behind a pointer the filter cannot read) so glibc falls back to clone,
 * whose namespace flags the filter can see.
 *
 * The parent polls the two output pipes, a pidfd of init and a timer: it
 * copies output to the capture files up to the cap (OL kills the box at
 * once), kills init at the wall deadline (WT) and when the cgroup's CPU
 * usage passes the limit (TO; the next check comes when the remaining CPU
 * could be spent by every CPU at once, so a sleeping program costs nothing).
 * RLIMIT_CPU is a second line for each process. Memory is a cgroup limit
 * (v1 memory.limit_in_bytes + memsw, or v2 memory.max); an OOM kill counted
 * by the cgroup means ML. Without cgroups the run falls back to RLIMIT_AS
 * (with a warning once). Processes are bounded by the pids cgroup and by
 * RLIMIT_NPROC on the slot's uid.
 *
 * Clean-up: init has PR_SET_PDEATHSIG(SIGKILL), so if the caller dies, init
 * dies and the kernel kills the namespace; a run's mounts live only in its
 * dead mount namespace, the box roots only as long as the caller holds
 * their fds; no host directory is created except the per-slot
 * cgroups "sercom-box-UID" (under the caller's own cgroup on v1), removed
 * by sandbox_cleanup() at exit; one left by a caller killed with SIGKILL is
 * emptied and reused by the next process that runs that slot, and removed
 * at its exit. Between runs of a slot the memory cgroup is emptied
 * (force_empty, when more than 1 MiB of page cache is left) and the peak
 * reset; CPU and OOM counts are differences. The kernel must have
 * open_tree, move_mount (5.2) and mount_setattr (5.12).
 *
 * Two processes must never run the same uid at once (two instances on one
 * host need distinct uid_base ranges): they would share cgroups and
 * RLIMIT_NPROC counts.
 *
 * Not defended here: disk space of the work dir (a program may write
 * file_size bytes per file until the CPU or wall limit); the caller must
 * open files the program left in the work dir with O_NOFOLLOW|O_NONBLOCK
 * (symlinks to host paths, FIFOs).
 */
#define _GNU_SOURCE
#include "sandbox.h"
#include "util.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

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

/* ---- the plan the parent prepares for the children ---------------------- */

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

struct box {
	const struct sandbox_opts *o;
	uid_t uid;
	int root_fd;            /* the slot's prepared mount namespace */
	int work_tree;          /* detached copy of the work dir (open_tree) */
	char tmp_opts[64];
	char **exec_paths;      /* candidates for argv[0] */
	char *const *envp;
	int stdin_fd, out_r, out_w, err_r, err_w, rep_r, rep_w, life_r, life_w;
	int netns_fd;           /* -1: CLONE_NEWNET */
	int cg_procs[3];
	int ncg_procs;
	struct rlimit rl_cpu, rl_as, rl_fsize, rl_nofile, rl_nproc, rl_stack;
	bool set_as;
	uint64_t ignored;       /* signals the caller ignores (bit s-1) */
	int last_cap;           /* highest capability number of the kernel */
};

/* ---- per-process caches ------------------------------------------------- */

static struct sock_fprog sb_filter;  /* seccomp BPF, built once */
static int sb_ncpu;
static int *sb_netns;                /* shared netns fd per slot, -1 unset */
static int sb_nnetns;
struct sb_root {
	char *key;                       /* the binds it was built with */
	int fd;                          /* its mount namespace, -1 unset */
};
static struct sb_root *sb_roots;     /* prepared box root per slot */
static int sb_nroots;

enum cg_kind { CG_NONE, CG_V1, CG_V2 };
static struct {
	bool probed;
	enum cg_kind kind;
	char *mem, *pids, *cpu;      /* v1 bases; v2: mem only */
} sb_cg;

/* =========================================================================
 * Box side. Init and the program child share the caller's memory until the
 * program's execve (clone with CLONE_VM, like posix_spawn): on this
 * hypervisor a fork's page-table copy costs more than all the namespace
 * work. So this code makes raw syscalls only (sb_sys returns -errno and
 * never writes errno, which lives in the caller's thread-local storage),
 * writes only to its own stack, the static stacks below and fields of the
 * plan the caller no longer reads, and takes no lock.
 * ========================================================================= */

#if defined(__x86_64__)
#define SB_SHARED_VM 1
static inline long sb_sys(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;
	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
	                 : "rcx", "r11", "memory");
	return ret;
}
#else
/* elsewhere: glibc's syscall() and a fork-like clone (private memory) */
#define SB_SHARED_VM 0
static long sb_sys(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long r = syscall(n, a1, a2, a3, a4, a5, a6);
	return r < 0 ? -errno : r;
}
#endif
#define SYS6(n, a, b, c, d, e, f) sb_sys(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define SYS5(n, a, b, c, d, e) SYS6(n, a, b, c, d, e, 0)
#define SYS4(n, a, b, c, d) SYS6(n, a, b, c, d, 0, 0)
#define SYS3(n, a, b, c) SYS6(n, a, b, c, 0, 0, 0)
#define SYS2(n, a, b) SYS6(n, a, b, 0, 0, 0, 0)
#define SYS1(n, a) SYS6(n, a, 0, 0, 0, 0, 0)

/* Stacks of init and of the program child before its execve. One run at
 * a time per process (sandbox.h). */
#define SB_STACK (256 * 1024)
static char sb_init_stack[SB_STACK] __attribute__((aligned(64)));
static char sb_exec_stack[SB_STACK] __attribute__((aligned(64)));

__attribute__((noreturn)) static void box_exit(int code)
{
	for (;;)
		SYS1(exit_group, code);
}

static void box_report(int fd, int type, const char *what, int err)
{
	struct rep r;
	memset(&r, 0, sizeof r);
	r.type = type;
	r.err = err;
	if (what) {
		size_t n = strlen(what);
		if (n >= sizeof r.what)
			n = sizeof r.what - 1;
		memcpy(r.what, what, n);
	}
	SYS3(write, fd, &r, sizeof r);
}

/* rc: the -errno of the failed call */
__attribute__((noreturn)) static void box_fail(int rep_w, const char *what, long rc)
{
	box_report(rep_w, REP_ERR, what, (int)-rc);
	box_exit(127);
}

__attribute__((noreturn)) static void box_die(struct box *b, const char *what, long rc)
{
	box_fail(b->rep_w, what, rc);
}

/* mkdir -p of a path relative to the cwd; the last component is a file
 * when !is_dir. -errno. */
static long box_mkpath(const char *path, bool is_dir)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (n >= sizeof buf)
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	long rc;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		rc = SYS2(mkdir, buf, 0755);
		if (rc < 0 && rc != -EEXIST)
			return rc;
		*p = '/';
	}
	if (is_dir) {
		rc = SYS2(mkdir, buf, 0755);
		return rc == -EEXIST ? 0 : rc;
	}
	rc = SYS3(open, buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (rc < 0)
		return rc;
	SYS1(close, rc);
	return 0;
}

static int box_exec(void *arg);

/* pid 2: drops privileges and executes the program. */
static int box_exec(void *arg)
{
	struct box *b = arg;
	long rc;
	/* ignored signals survive execve: a runner ignoring SIGPIPE must not
	 * change how the student's program behaves (raw rt_sigaction: the
	 * kernel's struct, handler first). Handlers are reset by execve
	 * itself; the caller listed the ignored ones (this copy of its signal
	 * table was made at clone time, after that). */
	struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } dfl = { 0 };
	for (int s = 1; s <= 64; s++)
		if ((b->ignored >> (s - 1)) & 1)
			SYS4(rt_sigaction, s, &dfl, NULL, 8);
	uint64_t none = 0;
	SYS4(rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);

	/* The program joins the run's cgroups, init does not. Init shares the
	 * caller's memory (CLONE_VM), and when the kernel's OOM killer picks
	 * a process it kills every process sharing its memory: init in the
	 * box's memory cgroup, scored by the caller's few MB, was the victim
	 * whenever the program filled the cgroup with memory that is not its
	 * own (files in a tmpfs work dir or /tmp, pipe buffers, kernel
	 * objects), and the kernel killed the runner's worker with it. Out of
	 * the cgroup, init is never a candidate: the victims are the program
	 * and its descendants, and an OOM kill is ML again. (Its CPU, kernel
	 * memory and pid are not the program's either: the counts are the
	 * program's own.) This child still shares init's memory until its
	 * execve, but the OOM killer passes over vfork children. */
	for (int i = 0; i < b->ncg_procs; i++)
		if ((rc = SYS3(write, b->cg_procs[i], "0", 1)) != 1)
			box_die(b, "join cgroup", rc);

	/* TIOCSTI and job-control tricks need a controlling terminal: none */
	SYS1(setsid, 0);
	if ((rc = SYS2(dup2, b->stdin_fd, 0)) < 0 || (rc = SYS2(dup2, b->out_w, 1)) < 0 ||
	    (rc = SYS2(dup2, b->err_w, 2)) < 0)
		box_die(b, "dup2 stdio", rc);

	struct rlimit zero = { 0, 0 };
	static const int zeroed[] = { RLIMIT_CORE, RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE };
	for (size_t i = 0; i < G_N_ELEMENTS(zeroed); i++)
		if ((rc = SYS4(prlimit64, 0, zeroed[i], &zero, NULL)) < 0)
			box_die(b, "setrlimit", rc);
	const struct { int res; const struct rlimit *rl; } lim[] = {
		{ RLIMIT_CPU, &b->rl_cpu }, { RLIMIT_FSIZE, &b->rl_fsize },
		{ RLIMIT_NOFILE, &b->rl_nofile }, { RLIMIT_NPROC, &b->rl_nproc },
		{ RLIMIT_STACK, &b->rl_stack }, { RLIMIT_AS, &b->rl_as },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(lim); i++)
		if ((lim[i].res != RLIMIT_AS || b->set_as) &&
		    (rc = SYS4(prlimit64, 0, lim[i].res, lim[i].rl, NULL)) < 0)
			box_die(b, "setrlimit", rc);

	/* a setuid binary would still get capabilities from the bounding set
	 * without this; no_new_privs below blocks it a second time */
	for (int c = 0; c <= b->last_cap; c++)
		if ((rc = SYS2(prctl, PR_CAPBSET_DROP, c)) < 0 && rc != -EINVAL)
			box_die(b, "PR_CAPBSET_DROP", rc);
	SYS5(prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if ((rc = SYS2(setgroups, 0, NULL)) < 0)
		box_die(b, "setgroups", rc);
	if ((rc = SYS3(setresgid, b->uid, b->uid, b->uid)) < 0)
		box_die(b, "setresgid", rc);
	if ((rc = SYS3(setresuid, b->uid, b->uid, b->uid)) < 0)
		box_die(b, "setresuid", rc);
	struct { uint32_t version; int pid; } caphdr = { 0x20080522, 0 };
	struct { uint32_t eff, perm, inh; } capdata[2];
	memset(capdata, 0, sizeof capdata);
	if ((rc = SYS2(capset, &caphdr, capdata)) < 0)
		box_die(b, "capset", rc);
	if ((rc = SYS5(prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) < 0)
		box_die(b, "PR_SET_NO_NEW_PRIVS", rc);
	if ((rc = SYS1(chdir, "/work")) < 0)
		box_die(b, "chdir /work", rc);

	/* only fds 0-2 reach the program; the report pipe stays open until
	 * execve succeeds so an exec error can still be told */
	if ((rc = SYS3(close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC)) < 0)
		box_die(b, "close_range", rc);

	long e = -ENOENT;
	for (char **p = b->exec_paths; *p; p++) {
		rc = SYS3(execve, *p, b->o->argv, b->envp);
		if (rc != -ENOENT || e == -ENOENT)
			e = rc;
	}
	box_report(b->rep_w, REP_EXEC, b->exec_paths[0] ? b->exec_paths[0] : "", (int)-e);
	box_exit(127);
}

/* The root helper (a fork-like child in a mount namespace of its own,
 * made once per slot and list of binds): builds the box's root and stays
 * until the caller holds its namespace. Every run enters a copy of it
 * (box_enter_root). The root is read-only before any run sees it: a
 * tmpfs with the read-only binds, the mount points and device nodes,
 * pivot_rooted and the old root detached, remounted read-only. So runs of
 * the slot share nothing a program can write: each run's /work, /proc and
 * /tmp are mounted in the run's own copy, and no program can change a
 * mount (no capabilities; the mount family is denied by the filter).
 * Building it for every run cost 0.4-0.6 ms (binds, remounts, pivot_root
 * and the detach of the caller's mounts, which waits for an RCU grace
 * period). Raw syscalls: the caller may have threads. */
__attribute__((noreturn)) static void box_root_build(struct box_root *p)
{
	long rc;
	int fd = p->rep_w;
	SYS1(close, p->rep_r);
	SYS1(close, p->go_w);
	/* the modes below are the ones asked for (device nodes 0666) */
	SYS1(umask, 0);
	/* mounts made below must not propagate back to the host, and host
	 * mounts must not appear in the box later */
	if ((rc = SYS5(mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) < 0)
		box_fail(fd, "make / private", rc);
	/* sources are opened before the root tmpfs covers /tmp, so a bind
	 * under the host /tmp stays reachable (a mount of the caller's
	 * namespace, which an fd from the caller would name, cannot be bound) */
	for (size_t i = 0; i < p->nbinds; i++) {
		struct box_bind *m = &p->binds[i];
		if (m->fd < 0)
			continue;
		if ((rc = SYS3(open, m->host, O_PATH | O_CLOEXEC, 0)) < 0)
			box_fail(fd, m->host, rc);
		m->fd = (int)rc;
		char *q = m->source;
		memcpy(q, "/proc/self/fd/", 14);
		q += 14;
		char digits[16];
		int nd = 0;
		for (int v = m->fd; nd == 0 || v; v /= 10)
			digits[nd++] = (char)('0' + v % 10);
		while (nd)
			*q++ = digits[--nd];
		*q = '\0';
	}
	/* the new root is mounted over /tmp of this private namespace only */
	if ((rc = SYS5(mount, "sercom-box", "/tmp", "tmpfs", MS_NOSUID, "size=1m,nr_inodes=512,mode=0755")) < 0)
		box_fail(fd, "mount root tmpfs", rc);
	if ((rc = SYS1(chdir, "/tmp")) < 0)
		box_fail(fd, "chdir new root", rc);
	for (size_t i = 0; i < p->nbinds; i++) {
		struct box_bind *m = &p->binds[i];
		if (m->fd < 0) {
			if ((rc = box_mkpath(m->target, true)) < 0 || (rc = SYS1(rmdir, m->target)) < 0 ||
			    (rc = SYS2(symlink, m->link, m->target)) < 0)
				box_fail(fd, m->target, rc);
			continue;
		}
		if ((rc = box_mkpath(m->target, m->is_dir)) < 0)
			box_fail(fd, m->target, rc);
		if ((rc = SYS5(mount, m->source, m->target, NULL, MS_BIND, NULL)) < 0)
			box_fail(fd, m->target, rc);
		/* a bind keeps the source's flags; the remount applies ours.
		 * nosuid and nodev: a setuid binary or device node in a bound
		 * directory grants nothing */
		if ((rc = SYS5(mount, NULL, m->target, NULL,
		               MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_RDONLY, NULL)) < 0)
			box_fail(fd, m->target, rc);
		SYS1(close, m->fd);
	}
	if ((rc = SYS2(mkdir, "proc", 0555)) < 0 || (rc = SYS2(mkdir, "dev", 0755)) < 0 ||
	    (rc = SYS2(mkdir, "tmp", 01777)) < 0 || (rc = SYS2(mkdir, "work", 0755)) < 0)
		box_fail(fd, "mkdir proc dev tmp work", rc);
	/* minimal /dev: no disks, no /dev/tty (TIOCSTI), no kmsg */
	static const struct { const char *name; unsigned maj, min; } devs[] = {
		{ "dev/null", 1, 3 }, { "dev/zero", 1, 5 }, { "dev/full", 1, 7 },
		{ "dev/random", 1, 8 }, { "dev/urandom", 1, 9 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(devs); i++)
		if ((rc = SYS4(mknodat, AT_FDCWD, devs[i].name, S_IFCHR | 0666,
		               makedev(devs[i].maj, devs[i].min))) < 0)
			box_fail(fd, devs[i].name, rc);
	static const char *const links[][2] = {
		{ "/proc/self/fd", "dev/fd" }, { "/proc/self/fd/0", "dev/stdin" },
		{ "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(links); i++)
		if ((rc = SYS2(symlink, links[i][0], links[i][1])) < 0)
			box_fail(fd, links[i][1], rc);
	/* the old root stays stacked under "." until detached: the chroot
	 * escape (chdir("..") out of a chroot) has nowhere to go; a run's
	 * setns() into this namespace starts at its root */
	if ((rc = SYS2(pivot_root, ".", ".")) < 0)
		box_fail(fd, "pivot_root", rc);
	if ((rc = SYS2(umount2, ".", MNT_DETACH)) < 0)
		box_fail(fd, "detach old root", rc);
	if ((rc = SYS1(chdir, "/")) < 0)
		box_fail(fd, "chdir /", rc);
	if ((rc = SYS5(mount, NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL)) < 0)
		box_fail(fd, "remount / read-only", rc);
	box_report(fd, REP_EXIT, NULL, 0);
	char c;
	while (SYS3(read, p->go_r, &c, 1) == -EINTR)
		;
	box_exit(0);
}

/* Init's view: a copy of the slot's prepared root, then this run's
 * mounts in the copy only. */
static void box_enter_root(struct box *b)
{
	long rc;
	if ((rc = SYS2(setns, b->root_fd, CLONE_NEWNS)) < 0)
		box_die(b, "setns into the box root", rc);
	if ((rc = SYS1(unshare, CLONE_NEWNS)) < 0)
		box_die(b, "unshare the box root", rc);
	/* the work dir: the caller's detached copy of it (read-write, nosuid,
	 * nodev, private), attached here */
	if ((rc = SYS5(move_mount, b->work_tree, "", AT_FDCWD, "/work", MOVE_MOUNT_F_EMPTY_PATH)) < 0)
		box_die(b, "mount /work", rc);
	/* a fresh proc of the new PID namespace: /proc/1/root of a host process
	 * is not reachable; hidepid=2 hides init (root) from the program */
	if ((rc = SYS5(mount, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")) < 0)
		box_die(b, "mount /proc", rc);
	if ((rc = SYS5(mount, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, b->tmp_opts)) < 0)
		box_die(b, "mount /tmp", rc);
	if ((rc = SYS1(chdir, "/")) < 0)
		box_die(b, "chdir /", rc);
}

/* pid 1 of the box. */
static int box_init(void *arg)
{
	struct box *b = arg;
	long rc;
	/* the caller killed (even with SIGKILL) must take the box with it */
	if ((rc = SYS2(prctl, PR_SET_PDEATHSIG, SIGKILL)) < 0)
		box_die(b, "PR_SET_PDEATHSIG", rc);
	SYS1(close, b->life_w);
	struct pollfd lp = { b->life_r, POLLIN, 0 };
	if (SYS3(poll, &lp, 1, 0) != 0)
		box_exit(126); /* the caller died before PDEATHSIG was armed */
#if !SB_SHARED_VM
	/* a root process must not let anyone read its memory; with a shared
	 * VM this flag would also change the caller's (and init is root, the
	 * program another uid: /proc/1/{mem,root} need CAP_SYS_PTRACE) */
	SYS2(prctl, PR_SET_DUMPABLE, 0);
#endif
	SYS1(umask, 0);
	SYS1(close, b->out_r);
	SYS1(close, b->err_r);
	SYS1(close, b->rep_r);

	if (b->netns_fd >= 0 && (rc = SYS2(setns, b->netns_fd, CLONE_NEWNET)) < 0)
		box_die(b, "setns net", rc);
	box_enter_root(b);
	if ((rc = SYS2(sethostname, "sercom-box", 10)) < 0)
		box_die(b, "sethostname", rc);

	uint64_t chld = 1ULL << (SIGCHLD - 1);
	SYS4(rt_sigprocmask, SIG_BLOCK, &chld, NULL, 8);
	long sfd = SYS4(signalfd4, -1, &chld, 8, SFD_CLOEXEC);
	if (sfd < 0)
		box_die(b, "signalfd", sfd);

	/* the filter goes on init (root: no no_new_privs needed), after its
	 * mounts, and the program inherits it; init keeps the listener (it is
	 * close-on-exec for the program). Nothing init calls from here on is
	 * denied. */
	long lfd_l = SYS3(seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &sb_filter);
	if (lfd_l < 0)
		box_die(b, "seccomp", lfd_l);
	int lfd = (int)lfd_l;

	/* the program child borrows this memory until its execve (vfork
	 * semantics: init sleeps meanwhile), on a stack of its own */
	int pid = clone(box_exec, sb_exec_stack + SB_STACK,
	                (SB_SHARED_VM ? CLONE_VM | CLONE_VFORK : 0) | SIGCHLD, b);
	if (pid < 0) /* glibc's clone sets errno: the caller's, best effort */
		box_die(b, "start program", errno ? -errno : -EAGAIN);
	SYS1(close, b->stdin_fd);
	SYS1(close, b->out_w);
	SYS1(close, b->err_w);

	struct pollfd pf[2] = { { (int)sfd, POLLIN, 0 }, { lfd, POLLIN, 0 } };
	for (;;) {
		long n = SYS3(poll, pf, lfd >= 0 ? 2 : 1, -1);
		if (n == -EINTR)
			continue;
		if (n < 0)
			box_die(b, "init poll", n);
		if (lfd >= 0 && (pf[1].revents & POLLIN)) {
			union {
				struct seccomp_notif n;
				char pad[512];
			} u;
			memset(&u, 0, sizeof u);
			if (SYS3(ioctl, lfd, SECCOMP_IOCTL_NOTIF_RECV, &u.n) == 0) {
				struct rep r;
				memset(&r, 0, sizeof r);
				r.type = REP_SYSCALL;
				r.nr = u.n.data.nr;
				r.arch = u.n.data.arch;
				SYS3(write, b->rep_w, &r, sizeof r);
				/* exiting kills the namespace; the call never runs */
				box_exit(0);
			}
		} else if (lfd >= 0 && (pf[1].revents & (POLLHUP | POLLERR | POLLNVAL))) {
			SYS1(close, lfd);
			lfd = -1;
		}
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			SYS3(read, sfd, &si, sizeof si);
			int st;
			long w;
			while ((w = SYS4(wait4, -1, &st, WNOHANG, NULL)) > 0) {
				if (w != pid)
					continue; /* an orphan reparented to init */
				struct rep rp;
				memset(&rp, 0, sizeof rp);
				rp.type = REP_EXIT;
				rp.status = st;
				SYS3(write, b->rep_w, &rp, sizeof rp);
				box_exit(0);
			}
		}
	}
}

/* =========================================================================
 * Caller side.
 * ========================================================================= */

static const char *const sb_default_binds[] = {
	"/usr", "/lib", "/lib64", "/bin", "/etc/alternatives", NULL
};
/* A fixed allowlist: the caller's environment (SERCOM_CONF, SMTP
 * credentials, LD_PRELOAD of a debugging session) never reaches the
 * program. */
static const char *const sb_default_env[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/work", "TMPDIR=/tmp",
	"LANG=C.UTF-8", "LC_ALL=C.UTF-8", NULL
};

const char *sandbox_status_name(enum sandbox_status s)
{
	static const char *const names[] = { "OK", "RE", "SG", "TO", "WT", "ML", "OL", "SY", "XX" };
	return (unsigned)s < G_N_ELEMENTS(names) ? names[s] : "XX";
}

void sandbox_opts_init(struct sandbox_opts *o, enum sandbox_profile profile)
{
	memset(o, 0, sizeof *o);
	o->profile = profile;
	o->uid_base = 60000;
	o->nofile = 64;
	o->stack = 8u << 20;
	if (profile == SB_PROFILE_BUILD) {
		o->cpu_ms = 30000;
		o->wall_ms = 60000;
		o->memory = 1024u << 20;
		o->procs = 64;
		o->file_size = 64u << 20;
		o->output = 1u << 20;
		o->nofile = 256;
		o->tmp_size = 256u << 20;
	} else {
		o->cpu_ms = 2000;
		o->wall_ms = 10000;
		o->memory = 256u << 20;
		o->procs = 1;
		o->file_size = 10u << 20;
		o->output = 1u << 20;
		o->tmp_size = 16u << 20;
	}
}

void sandbox_result_clear(struct sandbox_result *r)
{
	g_free(r->message);
	g_free(r->syscall);
	r->message = r->syscall = NULL;
}

void sandbox_print_meta(FILE *f, const struct sandbox_result *r)
{
	fprintf(f, "status:%s\n", sandbox_status_name(r->status));
	fprintf(f, "exitcode:%d\n", r->exitcode);
	if (r->signal)
		fprintf(f, "signal:%d\n", r->signal);
	fprintf(f, "time:%" G_GUINT64_FORMAT "\n", r->cpu_ms);
	fprintf(f, "time-wall:%" G_GUINT64_FORMAT "\n", r->wall_ms);
	fprintf(f, "max-rss:%" G_GUINT64_FORMAT "\n", r->max_rss_kib);
	fprintf(f, "stdout-bytes:%" G_GUINT64_FORMAT "\n", r->stdout_bytes);
	fprintf(f, "stderr-bytes:%" G_GUINT64_FORMAT "\n", r->stderr_bytes);
	fprintf(f, "output-truncated:%d\n", r->output_truncated ? 1 : 0);
	if (r->syscall)
		fprintf(f, "syscall:%s\n", r->syscall);
	if (r->message) {
		/* one line: the message may quote program-controlled text */
		GString *m = g_string_new(NULL);
		for (const char *p = r->message; *p; p++)
			g_string_append_c(m, (*p == '\n' || *p == '\r') ? ' ' : *p);
		fprintf(f, "message:%s\n", m->str);
		g_string_free(m, TRUE);
	}
}

static bool sb_fail(GError **err, int e, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool sb_fail(GError **err, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, SERCOM_ERROR, e, "sandbox: %s", m);
	g_free(m);
	return false;
}

/* ---- seccomp ------------------------------------------------------------ */

/* Each entry names the attack it stops. */
static const char *const sb_denied[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", /* other boxes' memory */
	"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",  /* chroot/mount escapes */
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"unshare", "setns",                               /* user-ns privilege, ns hopping */
	"keyctl", "add_key", "request_key",               /* kernel keyring is not namespaced */
	"bpf", "perf_event_open",                         /* kernel attack surface, side channels */
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "vhangup",
	"io_uring_setup", "io_uring_enter", "io_uring_register", /* bypasses seccomp, CVE-rich */
	"userfaultfd",                                    /* stalls kernel races open */
	"clock_settime", "clock_adjtime", "adjtimex", "settimeofday", /* host clock */
	"open_by_handle_at", "name_to_handle_at",         /* "shocker" escape */
	"fanotify_init", "iopl", "ioperm", "lookup_dcookie", "uselib",
	"sethostname", "setdomainname", "nfsservctl",
	NULL
};

static bool sb_build_filter(GError **err)
{
	if (sb_filter.filter)
		return true;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return sb_fail(err, ENOMEM, "seccomp_init failed");
	int rc = 0;
	/* foreign ABIs (int 0x80, x32): the whole ABI is denied; libseccomp's
	 * x86_64 filter sends x32 numbers to the bad-arch action too */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* a binary tree of syscall numbers instead of a list: the same
	 * decisions, and the kernel's per-syscall action cache, computed by
	 * running the filter for every syscall number when it is installed
	 * (on every run), costs half as much (0.2 ms -> 0.1 ms here). Older
	 * libseccomp lacks the attribute: the list then. */
	if (rc == 0 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) != 0)
		log_debug("sandbox: libseccomp without binary-tree filters");
	for (const char *const *n = sb_denied; rc == 0 && *n; n++) {
		int nr = seccomp_syscall_resolve_name(*n);
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0);
	}
	/* network: only AF_UNIX (an empty netns already has no route; this
	 * also closes netlink, packet and vsock to the kernel) */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socket), 1,
		                      SCMP_A0(SCMP_CMP_NE, AF_UNIX));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socketpair), 1,
		                      SCMP_A0(SCMP_CMP_NE, AF_UNIX));
	/* TIOCSTI pushes input into a terminal's queue: the classic escape to
	 * the shell that started the sandbox; TIOCLINUX the same on a VT */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(ioctl), 1,
		                      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(ioctl), 1,
		                      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
	/* new namespaces through clone flags (user namespaces give root-like
	 * capabilities over fresh kernel code) */
	static const unsigned long nsflags[] = {
		CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
		CLONE_NEWNET, CLONE_NEWCGROUP, 0x00000080 /* CLONE_NEWTIME */,
	};
	for (size_t i = 0; rc == 0 && i < G_N_ELEMENTS(nsflags); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(clone), 1,
		                      SCMP_A0(SCMP_CMP_MASKED_EQ, nsflags[i], nsflags[i]));
	/* clone3 passes its flags in memory the filter cannot read */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc != 0) {
		seccomp_release(ctx);
		return sb_fail(err, -rc, "building the seccomp filter: %s", g_strerror(-rc));
	}
	int fd = memfd_create("sercom-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		seccomp_release(ctx);
		return sb_fail(err, errno, "memfd_create: %s", g_strerror(errno));
	}
	rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	GByteArray *bpf = NULL;
	if (rc == 0 && lseek(fd, 0, SEEK_SET) == 0)
		rc = util_read_fd(fd, 1u << 20, &bpf);
	close(fd);
	if (rc != 0 || !bpf || bpf->len == 0 || bpf->len % sizeof(struct sock_filter)) {
		if (bpf)
			g_byte_array_unref(bpf);
		return sb_fail(err, rc ? -rc : EINVAL, "exporting the seccomp filter failed");
	}
	sb_filter.len = (unsigned short)(bpf->len / sizeof(struct sock_filter));
	sb_filter.filter = (struct sock_filter *)g_byte_array_free(bpf, FALSE);
	return true;
}

/* ---- network namespace -------------------------------------------------- */

/* The slot's empty netns, made once: an empty namespace has only a down
 * loopback. Sharing it between runs of one slot is safe because every
 * process of a run dies with it (its abstract sockets with them); runs of
 * different slots, which may be concurrent, never share one, so abstract
 * unix sockets cannot connect two boxes. */
static int sb_slot_netns(int slot, GError **err)
{
	if (slot < 0 || slot > 65535) {
		sb_fail(err, EINVAL, "slot %d out of range", slot);
		return -1;
	}
	if (slot >= sb_nnetns) {
		int n = slot + 1;
		sb_netns = g_renew(int, sb_netns, n);
		for (int i = sb_nnetns; i < n; i++)
			sb_netns[i] = -1;
		sb_nnetns = n;
	}
	if (sb_netns[slot] >= 0)
		return sb_netns[slot];
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		sb_fail(err, errno, "pipe: %s", g_strerror(errno));
		return -1;
	}
	/* fork-like raw clone: the child only reads a pipe */
	long pid = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		char c;
		close(p[1]);
		ssize_t r = read(p[0], &c, 1); /* until the parent has the fd */
		_exit(r < 0);
	}
	close(p[0]);
	int fd = -1, e = errno;
	if (pid > 0) {
		char path[64];
		g_snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		e = errno;
	}
	close(p[1]);
	if (pid > 0)
		while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
			;
	if (fd < 0) {
		sb_fail(err, e, "creating the network namespace: %s", g_strerror(e));
		return -1;
	}
	sb_netns[slot] = fd;
	return fd;
}

/* ---- cgroups ------------------------------------------------------------ */

/* The cgroup path of this process for a v1 controller, "" for the root. */
static char *sb_own_cgroup(const char *controller)
{
	char *text = NULL;
	if (!g_file_get_contents("/proc/self/cgroup", &text, NULL, NULL))
		return g_strdup("");
	char *res = NULL;
	char **lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l && !res; l++) {
		char **f = g_strsplit(*l, ":", 3);
		if (g_strv_length(f) == 3) {
			char **ctl = g_strsplit(f[1], ",", -1);
			if (controller ? g_strv_contains((const char *const *)ctl, controller) : f[1][0] == '\0')
				res = g_strdup(strcmp(f[2], "/") ? f[2] : "");
			g_strfreev(ctl);
		}
		g_strfreev(f);
	}
	g_strfreev(lines);
	g_free(text);
	return res ? res : g_strdup("");
}

static void sb_probe_cgroups(void)
{
	if (sb_cg.probed)
		return;
	sb_cg.probed = true;
	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0 &&
	    access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) == 0 &&
	    access("/sys/fs/cgroup/cpuacct/cpuacct.usage", F_OK) == 0) {
		char *m = sb_own_cgroup("memory"), *p = sb_own_cgroup("pids"), *c = sb_own_cgroup("cpuacct");
		sb_cg.kind = CG_V1;
		/* below our own cgroups, so limits set on the caller still bind */
		sb_cg.mem = g_strconcat("/sys/fs/cgroup/memory", m, NULL);
		sb_cg.pids = g_strconcat("/sys/fs/cgroup/pids", p, NULL);
		sb_cg.cpu = g_strconcat("/sys/fs/cgroup/cpuacct", c, NULL);
		g_free(m);
		g_free(p);
		g_free(c);
		return;
	}
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
		/* v2: the root cgroup may hold processes and children alike (the
		 * "no internal processes" rule binds only below it) */
		char *ctl = NULL;
		g_file_get_contents("/sys/fs/cgroup/cgroup.controllers", &ctl, NULL, NULL);
		if (ctl && strstr(ctl, "memory") && strstr(ctl, "pids")) {
			int fd = open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
			bool ok = fd >= 0 && write(fd, "+memory +pids", 13) == 13;
			if (fd >= 0) {
				ssize_t w = write(fd, "+cpu", 4); /* optional */
				(void)w;
				close(fd);
			}
			if (ok) {
				sb_cg.kind = CG_V2;
				sb_cg.mem = g_strdup("/sys/fs/cgroup");
			}
		}
		g_free(ctl);
		if (sb_cg.kind == CG_V2)
			return;
	}
	sb_cg.kind = CG_NONE;
	log_warn("sandbox: no usable cgroup (v1 memory+pids+cpuacct or v2 memory+pids): "
	         "memory is limited by RLIMIT_AS and processes by RLIMIT_NPROC only");
}

/* One slot's cgroups, made on the slot's first run and kept until the
 * process exits: creating a v1 memory cgroup costs milliseconds, more than
 * the whole rest of a run. Runs of one slot never overlap, and every
 * process of a run is dead when it ends, so the next run finds them empty;
 * counters are read as differences. */
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
static struct sb_cgslot *sb_cgslots;
static int sb_ncgslots;

static bool sb_write_file(const char *dir, const char *file, const char *val, GError **err)
{
	char *path = g_build_filename(dir, file, NULL);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int e = fd < 0 ? errno : 0;
	if (fd >= 0) {
		int rc = util_write_all(fd, val, strlen(val));
		if (rc < 0)
			e = -rc;
		close(fd);
	}
	if (e)
		sb_fail(err, e, "%s: %s", path, g_strerror(e));
	g_free(path);
	return e == 0;
}

/* Kills what a caller killed with SIGKILL may have left in a cgroup of
 * this slot (PDEATHSIG should have done it already). */
static void sb_cg_kill_stale(const char *dir)
{
	char *procs = g_build_filename(dir, "cgroup.procs", NULL);
	char *text = NULL;
	if (g_file_get_contents(procs, &text, NULL, NULL) && text[0]) {
		log_warn("sandbox: killing processes left in %s", dir);
		char **pids = g_strsplit(text, "\n", -1);
		for (char **p = pids; *p; p++)
			if (**p)
				kill((pid_t)atoi(*p), SIGKILL);
		g_strfreev(pids);
	}
	g_free(text);
	g_free(procs);
}

static void sb_cg_remove(const char *dir)
{
	/* killed tasks leave the cgroup as they exit; a bounded wait */
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++) {
		sb_cg_kill_stale(dir);
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
}

/* Closes and forgets the slot's cgroups; removes them when remove. */
static void sb_cg_slot_free(struct sb_cgslot *cg, bool remove)
{
	for (int i = 0; i < cg->ndirs; i++) {
		if (cg->procs_fd[i] >= 0)
			close(cg->procs_fd[i]);
		if (remove)
			sb_cg_remove(cg->dirs[i]);
		g_free(cg->dirs[i]);
	}
	if (cg->cpu_fd >= 0)
		close(cg->cpu_fd);
	if (cg->peak_fd >= 0)
		close(cg->peak_fd);
	if (cg->empty_fd >= 0)
		close(cg->empty_fd);
	if (cg->usage_fd >= 0)
		close(cg->usage_fd);
	if (cg->kmem_fd >= 0)
		close(cg->kmem_fd);
	if (cg->oom_fd >= 0)
		close(cg->oom_fd);
	memset(cg, 0, sizeof *cg);
}

void sandbox_cleanup(void)
{
	for (int i = 0; i < sb_ncgslots; i++)
		if (sb_cgslots[i].made)
			sb_cg_slot_free(&sb_cgslots[i], true);
	g_clear_pointer(&sb_cgslots, g_free);
	sb_ncgslots = 0;
	for (int i = 0; i < sb_nnetns; i++)
		if (sb_netns[i] >= 0)
			close(sb_netns[i]);
	g_clear_pointer(&sb_netns, g_free);
	sb_nnetns = 0;
	for (int i = 0; i < sb_nroots; i++) {
		if (sb_roots[i].fd >= 0)
			close(sb_roots[i].fd);
		g_free(sb_roots[i].key);
	}
	g_clear_pointer(&sb_roots, g_free);
	sb_nroots = 0;
}

void sandbox_release_slot(int slot, uid_t uid_base)
{
	if (slot < 0 || slot > 65535)
		return;
	sb_probe_cgroups();
	if (slot < sb_ncgslots && sb_cgslots[slot].made)
		sb_cg_slot_free(&sb_cgslots[slot], false);
	if (sb_cg.kind == CG_NONE)
		return;
	char name[64];
	g_snprintf(name, sizeof name, "sercom-box-%u", (unsigned)(uid_base + (uid_t)slot));
	const char *bases[] = { sb_cg.mem, sb_cg.pids, sb_cg.cpu };
	for (size_t i = 0; i < G_N_ELEMENTS(bases); i++) {
		if (!bases[i])
			continue;
		char *dir = g_build_filename(bases[i], name, NULL);
		if (rmdir(dir) < 0 && errno == EBUSY)
			sb_cg_remove(dir); /* processes a killed caller left */
		g_free(dir);
	}
}

static bool sb_cg_mkdir(struct sb_cgslot *cg, const char *base, const char *name, GError **err)
{
	char *dir = g_build_filename(base, name, NULL);
	if (mkdir(dir, 0700) < 0) {
		if (errno != EEXIST) {
			int e = errno;
			g_free(dir);
			return sb_fail(err, e, "cgroup %s: %s", base, g_strerror(e));
		}
		sb_cg_kill_stale(dir); /* left by a caller that was killed */
	}
	cg->procs_fd[cg->ndirs] = -1;
	cg->dirs[cg->ndirs++] = dir;
	return true;
}

/* An fd on a cgroup control file, -1 when it is absent (a counter this
 * kernel does not keep). */
static int sb_cg_open(const char *dir, const char *file, int flags)
{
	cleanup_free char *f = g_build_filename(dir, file, NULL);
	return open(f, flags | O_CLOEXEC);
}

static struct sb_cgslot *sb_cg_slot(int slot, uid_t uid, GError **err)
{
	static bool registered;
	if (slot >= sb_ncgslots) {
		sb_cgslots = g_renew(struct sb_cgslot, sb_cgslots, slot + 1);
		memset(sb_cgslots + sb_ncgslots, 0, sizeof *sb_cgslots * (size_t)(slot + 1 - sb_ncgslots));
		sb_ncgslots = slot + 1;
	}
	struct sb_cgslot *cg = &sb_cgslots[slot];
	if (cg->made)
		return cg;
	if (!registered) {
		atexit(sandbox_cleanup);
		registered = true;
	}
	char name[64];
	/* named by uid: unique among concurrent runs, as the uid must be */
	g_snprintf(name, sizeof name, "sercom-box-%u", (unsigned)uid);
	cg->cpu_fd = cg->peak_fd = cg->empty_fd = cg->usage_fd = cg->kmem_fd = cg->oom_fd = -1;
	/* limits unknown (a stale cgroup keeps its last ones): the first run
	 * writes them all */
	cg->memory = cg->procs = UINT64_MAX;
	cg->made = true;
	bool ok;
	if (sb_cg.kind == CG_V1) {
		ok = sb_cg_mkdir(cg, sb_cg.mem, name, err) && sb_cg_mkdir(cg, sb_cg.pids, name, err) &&
		     sb_cg_mkdir(cg, sb_cg.cpu, name, err);
		if (ok) {
			cg->cpu_fd = sb_cg_open(cg->dirs[2], "cpuacct.usage", O_RDONLY);
			cg->peak_fd = sb_cg_open(cg->dirs[0], "memory.max_usage_in_bytes", O_RDWR);
			cg->empty_fd = sb_cg_open(cg->dirs[0], "memory.force_empty", O_WRONLY);
			cg->usage_fd = sb_cg_open(cg->dirs[0], "memory.usage_in_bytes", O_RDONLY);
			cg->kmem_fd = sb_cg_open(cg->dirs[0], "memory.kmem.usage_in_bytes", O_RDONLY);
			cg->oom_fd = sb_cg_open(cg->dirs[0], "memory.oom_control", O_RDONLY);
		}
	} else {
		ok = sb_cg_mkdir(cg, sb_cg.mem, name, err);
		if (ok) {
			cg->cpu_fd = sb_cg_open(cg->dirs[0], "cpu.stat", O_RDONLY);
			cg->oom_fd = sb_cg_open(cg->dirs[0], "memory.events", O_RDONLY);
		}
	}
	/* v1: the program child joins through "tasks", moving only itself (a
	 * single thread; its children inherit the cgroups). The kernel moves
	 * the current thread without the global threadgroup lock that a write
	 * to cgroup.procs takes for writing, which waits for an RCU grace
	 * period: 0.2-1.6 ms per run and cgroup on this machine. v2 has no
	 * "tasks" outside threaded cgroups. */
	for (int i = 0; ok && i < cg->ndirs; i++) {
		char *p = g_build_filename(cg->dirs[i], sb_cg.kind == CG_V1 ? "tasks" : "cgroup.procs", NULL);
		cg->procs_fd[i] = open(p, O_WRONLY | O_CLOEXEC);
		if (cg->procs_fd[i] < 0)
			ok = sb_fail(err, errno, "%s: %s", p, g_strerror(errno));
		g_free(p);
	}
	if (!ok) {
		sb_cg_slot_free(cg, true);
		return NULL;
	}
	return cg;
}

/* The number of a cgroup file (key NULL), or of its line "KEY N". */
static uint64_t sb_pread_key(int fd, const char *key)
{
	char text[1024];
	ssize_t n = fd >= 0 ? pread(fd, text, sizeof text - 1, 0) : -1;
	if (n <= 0)
		return 0;
	text[n] = '\0';
	if (!key)
		return g_ascii_strtoull(text, NULL, 10);
	uint64_t v = 0;
	size_t kl = strlen(key);
	for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, kl) == 0 && l[kl] == ' ')
			v = g_ascii_strtoull(l + kl + 1, NULL, 10);
	return v;
}

/* Sets the run's limits (only when they changed) and resets the peak. */
static bool sb_cg_prepare(struct sb_cgslot *cg, const struct sandbox_opts *o, GError **err)
{
	char val[32];
	uint64_t mem = o->memory, procs = o->procs;
	if (mem != cg->memory) {
		if (mem)
			g_snprintf(val, sizeof val, "%" G_GUINT64_FORMAT, mem);
		else
			g_strlcpy(val, sb_cg.kind == CG_V1 ? "-1" : "max", sizeof val);
		if (sb_cg.kind == CG_V1) {
			/* memsw (memory + swap) must stay >= the memory limit at
			 * every step, whatever a killed predecessor left here: lift
			 * it, set the limit, then lower it to the limit. Without it
			 * the box could page out to swap past the limit; absent when
			 * the kernel has no swap accounting. */
			char *sw = g_build_filename(cg->dirs[0], "memory.memsw.limit_in_bytes", NULL);
			bool has_sw = access(sw, F_OK) == 0;
			g_free(sw);
			if (has_sw && !sb_write_file(cg->dirs[0], "memory.memsw.limit_in_bytes", "-1", err))
				return false;
			if (!sb_write_file(cg->dirs[0], "memory.limit_in_bytes", val, err))
				return false;
			if (has_sw && mem && !sb_write_file(cg->dirs[0], "memory.memsw.limit_in_bytes", val, err))
				return false;
		} else {
			if (!sb_write_file(cg->dirs[0], "memory.max", val, err))
				return false;
			sb_write_file(cg->dirs[0], "memory.swap.max", "0", NULL);
		}
		cg->memory = mem;
	}
	if (procs != cg->procs) {
		if (procs)
			g_snprintf(val, sizeof val, "%" G_GUINT64_FORMAT, procs); /* init is not in it */
		else
			g_strlcpy(val, "max", sizeof val);
		if (!sb_write_file(cg->dirs[sb_cg.kind == CG_V1 ? 1 : 0], "pids.max", val, err))
			return false;
		cg->procs = procs;
	}
	/* page cache the previous run left charged here (files it wrote)
	 * would count in this run's peak and against its limit: reclaim it,
	 * the cgroup is empty. Not what is left otherwise: kernel objects
	 * freed lazily (kmem) and the per-CPU charge batches (up to 64 pages
	 * per CPU) stay charged after every run, and force_empty cannot
	 * reclaim them: it drained every CPU and retried reclaim in vain, a
	 * quarter of a millisecond on most runs. */
	if (cg->empty_fd >= 0 && cg->usage_fd >= 0) {
		uint64_t user = sb_pread_key(cg->usage_fd, NULL);
		uint64_t kmem = cg->kmem_fd >= 0 ? sb_pread_key(cg->kmem_fd, NULL) : 0;
		user = user > kmem ? user - kmem : 0;
		uint64_t stock = (uint64_t)sb_ncpu * 64 * 4096;
		if (user > stock + (1u << 20) && pwrite(cg->empty_fd, "0", 1, 0) < 0)
			log_debug("sandbox: memory.force_empty: %s", g_strerror(errno));
	}
	if (cg->peak_fd >= 0 && pwrite(cg->peak_fd, "0", 1, 0) < 0)
		return sb_fail(err, errno, "resetting memory.max_usage_in_bytes: %s", g_strerror(errno));
	return true;
}

/* CPU ms used by the slot's cgroup so far; -1 if unknown. */
static int64_t sb_cg_cpu_ms(struct sb_cgslot *cg)
{
	if (!cg || cg->cpu_fd < 0)
		return -1;
	char buf[512];
	ssize_t n = pread(cg->cpu_fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sb_cg.kind == CG_V1)
		return (int64_t)(g_ascii_strtoull(buf, NULL, 10) / 1000000u);
	const char *u = strstr(buf, "usage_usec ");
	return u ? (int64_t)(g_ascii_strtoull(u + 11, NULL, 10) / 1000u) : -1;
}


/* ---- the run -------------------------------------------------------------- */

static bool sb_safe_inside(const char *p)
{
	if (p[0] != '/' || strstr(p, "/../") || g_str_has_suffix(p, "/..") || strlen(p) >= PATH_MAX - 1)
		return false;
	return strcmp(p, "/") != 0;
}

static bool sb_add_bind(struct box_root *b, const char *spec, bool optional, GError **err)
{
	const char *colon = strchr(spec, ':');
	char *host = colon ? g_strndup(spec, (gsize)(colon - spec)) : g_strdup(spec);
	const char *inside = colon ? colon + 1 : host;
	struct box_bind m;
	memset(&m, 0, sizeof m);
	m.fd = -1;
	bool ok = false;
	struct stat st;
	if (!sb_safe_inside(inside)) {
		sb_fail(err, EINVAL, "bind %s: the path inside must be absolute, without ..", spec);
		goto out;
	}
	g_strlcpy(m.target, inside + 1, sizeof m.target);
	if (lstat(host, &st) < 0) {
		if (optional && errno == ENOENT) {
			ok = true;
			goto out;
		}
		sb_fail(err, errno, "bind %s: %s", host, g_strerror(errno));
		goto out;
	}
	if (S_ISLNK(st.st_mode) && !colon) {
		/* merged /usr: /bin -> usr/bin is recreated as the same link */
		ssize_t n = readlink(host, m.link, sizeof m.link - 1);
		if (n <= 0) {
			sb_fail(err, errno, "bind %s: readlink: %s", host, g_strerror(errno));
			goto out;
		}
		m.link[n] = '\0';
	} else {
		if (stat(host, &st) < 0) {
			sb_fail(err, errno, "bind %s: %s", host, g_strerror(errno));
			goto out;
		}
		m.fd = 0; /* opened by the root helper */
		m.is_dir = S_ISDIR(st.st_mode);
		if (g_strlcpy(m.host, host, sizeof m.host) >= sizeof m.host) {
			sb_fail(err, ENAMETOOLONG, "bind %s: path too long", host);
			goto out;
		}
	}
	b->binds = g_renew(struct box_bind, b->binds, b->nbinds + 1);
	b->binds[b->nbinds++] = m;
	ok = true;
out:
	g_free(host);
	return ok;
}

static void sb_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The slot's prepared root (box_root_build), made on its first run and
 * again when the list of binds changes: the fd of its mount namespace. */

static int sb_slot_root(int slot, const char *const *binds, const char *const *extra, GError **err)
{
	if (slot >= sb_nroots) {
		sb_roots = g_renew(struct sb_root, sb_roots, slot + 1);
		for (int i = sb_nroots; i <= slot; i++) {
			sb_roots[i].key = NULL;
			sb_roots[i].fd = -1;
		}
		sb_nroots = slot + 1;
	}
	cleanup_free char *b1 = g_strjoinv("\n", (char **)binds);
	cleanup_free char *b2 = extra ? g_strjoinv("\n", (char **)extra) : g_strdup("");
	cleanup_free char *key = g_strconcat(b1, "\n\n", b2, NULL);
	if (sb_roots[slot].fd >= 0 && !strcmp(sb_roots[slot].key, key))
		return sb_roots[slot].fd;
	if (sb_roots[slot].fd >= 0)
		close(sb_roots[slot].fd);
	g_clear_pointer(&sb_roots[slot].key, g_free);
	sb_roots[slot].fd = -1;

	struct box_root p = { .rep_w = -1, .go_r = -1 };
	int rep[2] = { -1, -1 }, go[2] = { -1, -1 }, fd = -1;
	long pid = -1;
	bool ok = true;
	for (const char *const *q = binds; ok && *q; q++)
		ok = sb_add_bind(&p, *q, true, err);
	for (const char *const *q = extra; ok && q && *q; q++)
		ok = sb_add_bind(&p, *q, false, err);
	if (!ok)
		goto out;
	if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		sb_fail(err, errno, "pipe: %s", g_strerror(errno));
		goto out;
	}
	p.rep_w = rep[1];
	p.go_r = go[0];
	p.rep_r = rep[0];
	p.go_w = go[1];
	/* fork-like raw clone: the helper has its own copy of the plan */
	pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		SYS2(prctl, PR_SET_PDEATHSIG, SIGKILL);
		box_root_build(&p);
	}
	if (pid < 0) {
		sb_fail(err, errno, "starting the box root helper: %s", g_strerror(errno));
		goto out;
	}
	sb_close(&rep[1]);
	sb_close(&go[0]);
	struct rep r = { 0 };
	ssize_t n;
	while ((n = read(rep[0], &r, sizeof r)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof r && r.type == REP_EXIT) {
		char path[64];
		g_snprintf(path, sizeof path, "/proc/%ld/ns/mnt", pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			sb_fail(err, errno, "%s: %s", path, g_strerror(errno));
	} else if (n == (ssize_t)sizeof r && r.type == REP_ERR) {
		sb_fail(err, r.err, "building the box root: %.*s: %s", (int)sizeof r.what, r.what,
		        g_strerror(r.err));
	} else {
		sb_fail(err, EIO, "the box root helper ended without a report");
	}
out:
	sb_close(&go[1]); /* the helper exits */
	sb_close(&go[0]);
	sb_close(&rep[0]);
	sb_close(&rep[1]);
	if (pid > 0)
		while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
			;
	g_free(p.binds);
	if (fd >= 0) {
		sb_roots[slot].fd = fd;
		sb_roots[slot].key = g_steal_pointer(&key);
	}
	return fd;
}

static void sb_rl(struct rlimit *r, uint64_t v)
{
	r->rlim_cur = r->rlim_max = v ? (rlim_t)v : RLIM_INFINITY;
}


/* Copies what is readable on fd to out (up to cap); false at EOF. */
static bool sb_pump(int fd, int out, uint64_t cap, uint64_t *count, bool *over)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	uint64_t before = *count;
	*count += (uint64_t)n;
	uint64_t keep = (uint64_t)n;
	if (cap && *count > cap) {
		*over = true;
		keep = before >= cap ? 0 : cap - before;
	}
	if (out >= 0 && keep)
		util_write_all(out, buf, (size_t)keep);
	return true;
}

bool sandbox_run(const struct sandbox_opts *o, struct sandbox_result *r, GError **err)
{
	memset(r, 0, sizeof *r);
	r->status = SB_XX;
	struct box b;
	memset(&b, 0, sizeof b);
	b.o = o;
	b.stdin_fd = b.out_r = b.out_w = b.err_r = b.err_w = -1;
	b.rep_r = b.rep_w = b.life_r = b.life_w = b.netns_fd = -1;
	b.root_fd = b.work_tree = -1;
	struct sb_cgslot *cg = NULL;
	int64_t cpu0 = 0;
	uint64_t oom0 = 0;
	int out_fd = -1, errf_fd = -1, pidfd = -1, work_fd = -1, work_tree = -1;
	struct stat work_st = { 0 };
	bool chowned = false, ok = false;
	char **paths = NULL;

	if (geteuid() != 0) {
		sb_fail(err, EPERM, "must run as root");
		goto out;
	}
	if (!o->argv || !o->argv[0] || !o->work_dir) {
		sb_fail(err, EINVAL, "no program or no work dir");
		goto out;
	}
	if (!sb_build_filter(err))
		goto out;
	if (!sb_ncpu)
		sb_ncpu = (int)MAX(1, sysconf(_SC_NPROCESSORS_ONLN));
	sb_probe_cgroups();
	b.uid = o->uid_base + (uid_t)o->slot;
	if (o->slot < 0 || o->slot > 65535 || b.uid < o->uid_base || b.uid == 0) {
		sb_fail(err, EINVAL, "bad uid_base %u + slot %d", (unsigned)o->uid_base, o->slot);
		goto out;
	}

	/* the work dir: bound read-write, its top owned by the box uid */
	work_fd = open(o->work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (work_fd < 0 || fstat(work_fd, &work_st) < 0) {
		sb_fail(err, errno, "work dir %s: %s", o->work_dir, g_strerror(errno));
		goto out;
	}
	if (fchown(work_fd, b.uid, b.uid) < 0) {
		sb_fail(err, errno, "chown work dir %s: %s", o->work_dir, g_strerror(errno));
		goto out;
	}
	chowned = true;

	/* the read-only binds: the slot's prepared root, made once */
	const char *const *binds = o->binds ? o->binds : sb_default_binds;
	if ((b.root_fd = sb_slot_root(o->slot, binds, o->extra_binds, err)) < 0)
		goto out;
	/* the work dir: a detached copy of its mount, which the box's init
	 * attaches in its own namespace (a path would have to be resolved
	 * there, where the caller's mounts are gone) */
	work_tree = b.work_tree = (int)syscall(SYS_open_tree, AT_FDCWD, o->work_dir,
	                                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (work_tree < 0) {
		sb_fail(err, errno, "work dir %s: open_tree: %s", o->work_dir, g_strerror(errno));
		goto out;
	}
	{
		/* read-write whatever the spool's mount says; nosuid and nodev:
		 * a setuid binary or device node the program made grants
		 * nothing; private: nothing propagates in or out */
		struct mount_attr ma = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
		                         .attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC,
		                         .propagation = MS_PRIVATE };
		if (syscall(SYS_mount_setattr, work_tree, "", AT_EMPTY_PATH, &ma, sizeof ma) < 0) {
			sb_fail(err, errno, "work dir %s: mount_setattr: %s", o->work_dir, g_strerror(errno));
			goto out;
		}
	}
	g_snprintf(b.tmp_opts, sizeof b.tmp_opts, "size=%" G_GUINT64_FORMAT ",mode=1777",
	           o->tmp_size ? o->tmp_size : (uint64_t)16 << 20);

	/* exec candidates: argv[0] as is, or searched in the box PATH (the
	 * box's view of /usr/bin is the host's, read-only) */
	b.envp = (char *const *)(o->env ? o->env : sb_default_env);
	{
		GPtrArray *c = g_ptr_array_new();
		const char *a0 = o->argv[0];
		if (strchr(a0, '/')) {
			g_ptr_array_add(c, g_strdup(a0));
		} else {
			const char *path = "/usr/local/bin:/usr/bin:/bin";
			for (char *const *e = b.envp; *e; e++)
				if (g_str_has_prefix(*e, "PATH="))
					path = *e + 5;
			char **dirs = g_strsplit(path, ":", -1);
			for (char **d = dirs; *d; d++)
				if (**d)
					g_ptr_array_add(c, g_build_filename(*d, a0, NULL));
			g_strfreev(dirs);
		}
		g_ptr_array_add(c, NULL);
		paths = b.exec_paths = (char **)g_ptr_array_free(c, FALSE);
	}

	/* limits */
	uint64_t cpu_s = o->cpu_ms ? (o->cpu_ms + 999) / 1000 : 0;
	sb_rl(&b.rl_cpu, cpu_s);
	if (cpu_s)
		b.rl_cpu.rlim_max = cpu_s + 1; /* SIGXCPU first, SIGKILL a second later */
	sb_rl(&b.rl_fsize, o->file_size);
	sb_rl(&b.rl_nofile, o->nofile ? o->nofile : 64);
	sb_rl(&b.rl_nproc, o->procs);
	sb_rl(&b.rl_stack, o->stack);
	sb_rl(&b.rl_as, o->memory);
	b.set_as = sb_cg.kind == CG_NONE && o->memory;

	/* what the program child resets: the caller's ignored signals, and
	 * the bounding set up to the kernel's last capability (63 when it
	 * cannot be read: then every bit is dropped, the EINVALs ignored) */
	for (int s = 1; s <= 64; s++) {
		struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } k;
		if (s != SIGKILL && s != SIGSTOP && syscall(SYS_rt_sigaction, s, NULL, &k, 8) == 0 &&
		    k.handler == (void *)SIG_IGN)
			b.ignored |= (uint64_t)1 << (s - 1);
	}
	static int last_cap = -1;
	if (last_cap < 0) {
		char *t = NULL;
		last_cap = 63;
		if (g_file_get_contents("/proc/sys/kernel/cap_last_cap", &t, NULL, NULL)) {
			int64_t v = g_ascii_strtoll(t, NULL, 10);
			if (v > 0 && v < 63)
				last_cap = (int)v;
		}
		g_free(t);
	}
	b.last_cap = last_cap;

	/* stdio */
	b.stdin_fd = open(o->stdin_path ? o->stdin_path : "/dev/null", O_RDONLY | O_CLOEXEC);
	if (b.stdin_fd < 0) {
		sb_fail(err, errno, "stdin %s: %s", o->stdin_path, g_strerror(errno));
		goto out;
	}
	if (o->stdout_path &&
	    (out_fd = open(o->stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
		sb_fail(err, errno, "stdout %s: %s", o->stdout_path, g_strerror(errno));
		goto out;
	}
	if (o->stderr_path &&
	    (errf_fd = open(o->stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
		sb_fail(err, errno, "stderr %s: %s", o->stderr_path, g_strerror(errno));
		goto out;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		goto pipe_fail;
	b.out_r = p[0], b.out_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		goto pipe_fail;
	b.err_r = p[0], b.err_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		goto pipe_fail;
	b.rep_r = p[0], b.rep_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		goto pipe_fail;
	b.life_r = p[0], b.life_w = p[1];
	fcntl(b.out_r, F_SETFL, O_NONBLOCK);
	fcntl(b.err_r, F_SETFL, O_NONBLOCK);

	/* no CLONE_NEWNS: init enters a copy of the slot's root instead of a
	 * copy of the caller's mounts */
	unsigned long flags = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD;
	if (o->fresh_netns) {
		flags |= CLONE_NEWNET;
	} else if ((b.netns_fd = sb_slot_netns(o->slot, err)) < 0) {
		goto out;
	}
	if (sb_cg.kind != CG_NONE) {
		if (!(cg = sb_cg_slot(o->slot, b.uid, err)))
			goto out;
		if (!sb_cg_prepare(cg, o, err)) {
			/* removed under us: another process with the same uid (two
			 * instances sharing a uid range, a misconfiguration) or an
			 * admin; make it again once */
			if (!err || !*err || (*err)->code != ENOENT)
				goto out;
			log_warn("%s; making the cgroups of uid %u again", (*err)->message,
			         (unsigned)b.uid);
			g_clear_error(err);
			sb_cg_slot_free(cg, false);
			if (!(cg = sb_cg_slot(o->slot, b.uid, err)) || !sb_cg_prepare(cg, o, err))
				goto out;
		}
		for (int i = 0; i < cg->ndirs; i++)
			b.cg_procs[b.ncg_procs++] = cg->procs_fd[i];
		cpu0 = MAX(0, sb_cg_cpu_ms(cg));
		oom0 = sb_pread_key(cg->oom_fd, "oom_kill");
	}

	int64_t t0 = util_now_ms();
	if (SB_SHARED_VM)
		flags |= CLONE_VM; /* no page-table copy: see "Box side" */
	long pid = clone(box_init, sb_init_stack + SB_STACK, (int)flags, &b, &pidfd);
	if (pid < 0) {
		sb_fail(err, errno, "clone: %s", g_strerror(errno));
		goto out;
	}

	/* parent: close its copies of the box's ends, leaving b as it is while
	 * init (which may share this memory) still reads it */
	close(b.out_w);
	close(b.err_w);
	close(b.rep_w);
	close(b.life_r);
	close(b.stdin_fd);
	sb_close(&work_tree); /* init has its own copy of the fd (b is init's) */

	enum { KILL_NONE, KILL_WALL, KILL_CPU, KILL_OUTPUT, KILL_CANCEL } why = KILL_NONE;
	bool over = false, init_done = false;
	int64_t wall_end = o->wall_ms ? t0 + (int64_t)o->wall_ms : INT64_MAX;
	struct pollfd pf[3];
	while (!init_done) {
		int64_t now = util_now_ms();
		int64_t timeout = wall_end == INT64_MAX ? -1 : MAX(0, wall_end - now);
		int64_t used = o->cpu_ms ? sb_cg_cpu_ms(cg) : -1;
		if (used >= 0)
			used = MAX(0, used - cpu0);
		if (used >= 0 && (uint64_t)used > o->cpu_ms && why == KILL_NONE) {
			why = KILL_CPU;
			kill((pid_t)pid, SIGKILL);
		}
		if (used >= 0) {
			/* no CPU limit can pass before every CPU spent the rest */
			int64_t next = MAX(10, ((int64_t)o->cpu_ms - used) / sb_ncpu);
			timeout = timeout < 0 ? next : MIN(timeout, next);
		}
		if (o->cancel && *o->cancel && why == KILL_NONE) {
			why = KILL_CANCEL;
			kill((pid_t)pid, SIGKILL);
		}
		if (now >= wall_end && why == KILL_NONE) {
			why = KILL_WALL;
			kill((pid_t)pid, SIGKILL);
		}
		int n = 0;
		if (b.out_r >= 0)
			pf[n++] = (struct pollfd){ b.out_r, POLLIN, 0 };
		if (b.err_r >= 0)
			pf[n++] = (struct pollfd){ b.err_r, POLLIN, 0 };
		pf[n++] = (struct pollfd){ pidfd, POLLIN, 0 };
		if (why != KILL_NONE)
			timeout = -1; /* killed: wait for the end */
		int rc = poll(pf, (nfds_t)n, timeout > INT_MAX ? INT_MAX : (int)timeout);
		if (rc < 0 && errno != EINTR) {
			kill((pid_t)pid, SIGKILL);
			why = why ? why : KILL_WALL;
		}
		for (int i = 0; rc > 0 && i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == pidfd) {
				init_done = true;
			} else if (pf[i].fd == b.out_r) {
				if (!sb_pump(b.out_r, out_fd, o->output, &r->stdout_bytes, &over))
					sb_close(&b.out_r);
			} else if (pf[i].fd == b.err_r) {
				if (!sb_pump(b.err_r, errf_fd, o->output, &r->stderr_bytes, &over))
					sb_close(&b.err_r);
			}
		}
		/* a flood is stopped at once, not after the CPU limit */
		if (over && why == KILL_NONE) {
			why = KILL_OUTPUT;
			kill((pid_t)pid, SIGKILL);
		}
	}
	int ist = 0;
	struct rusage ru;
	while (wait4((pid_t)pid, &ist, 0, &ru) < 0 && errno == EINTR)
		;
	b.out_w = b.err_w = b.rep_w = b.life_r = b.stdin_fd = -1; /* closed above */
	r->wall_ms = (uint64_t)(util_now_ms() - t0);
	/* every process of the namespace is gone now: drain to EOF */
	if (b.out_r >= 0)
		fcntl(b.out_r, F_SETFL, 0);
	if (b.err_r >= 0)
		fcntl(b.err_r, F_SETFL, 0);
	while (b.out_r >= 0 && sb_pump(b.out_r, out_fd, o->output, &r->stdout_bytes, &over))
		;
	while (b.err_r >= 0 && sb_pump(b.err_r, errf_fd, o->output, &r->stderr_bytes, &over))
		;
	r->output_truncated = over;

	/* records from the box */
	struct rep rec, exitrec = { 0 }, sysrec = { 0 }, errrec = { 0 };
	ssize_t got;
	while ((got = read(b.rep_r, &rec, sizeof rec)) == (ssize_t)sizeof rec) {
		if (rec.type == REP_EXIT)
			exitrec = rec;
		else if (rec.type == REP_SYSCALL)
			sysrec = rec;
		else if (!errrec.type)
			errrec = rec;
	}

	int64_t cpu = sb_cg_cpu_ms(cg);
	if (cpu >= 0)
		cpu = MAX(0, cpu - cpu0);
	r->cpu_ms = cpu >= 0 ? (uint64_t)cpu
	                     : (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	                           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	uint64_t peak = 0;
	if (cg && cg->peak_fd >= 0) {
		char pb[32];
		ssize_t pn = pread(cg->peak_fd, pb, sizeof pb - 1, 0);
		if (pn > 0) {
			pb[pn] = '\0';
			peak = g_ascii_strtoull(pb, NULL, 10);
		}
	}
	r->max_rss_kib = peak ? peak / 1024 : (uint64_t)ru.ru_maxrss;
	uint64_t ooms = cg ? sb_pread_key(cg->oom_fd, "oom_kill") - oom0 : 0;

	if (exitrec.type) {
		if (WIFEXITED(exitrec.status))
			r->exitcode = WEXITSTATUS(exitrec.status);
		else if (WIFSIGNALED(exitrec.status))
			r->signal = WTERMSIG(exitrec.status);
	} else if (WIFSIGNALED(ist)) {
		r->signal = WTERMSIG(ist);
	}

	if (errrec.type == REP_ERR) {
		r->status = SB_XX;
		r->message = g_strdup_printf("box setup: %.*s: %s", (int)sizeof errrec.what,
		                             errrec.what, g_strerror(errrec.err));
		g_set_error(err, SERCOM_ERROR, errrec.err, "sandbox: %s", r->message);
		goto out;
	}
	if (why == KILL_CANCEL) {
		r->message = g_strdup("cancelled");
		g_set_error(err, SERCOM_ERROR, EINTR, "sandbox: run cancelled");
		goto out;
	}
	if (!exitrec.type && !sysrec.type && why == KILL_NONE) {
		r->status = SB_XX;
		r->message = g_strdup_printf("box init ended without a report (wait status %d)", ist);
		g_set_error(err, SERCOM_ERROR, EIO, "sandbox: %s", r->message);
		goto out;
	}
	ok = true;
	if (why == KILL_CPU || r->signal == SIGXCPU || (o->cpu_ms && r->cpu_ms > o->cpu_ms)) {
		r->status = SB_TO;
		r->message = g_strdup("CPU time limit exceeded");
	} else if (why == KILL_WALL) {
		r->status = SB_WT;
		r->message = g_strdup("wall time limit exceeded");
	} else if (ooms > 0) {
		r->status = SB_ML;
		r->message = g_strdup("memory limit exceeded");
	} else if (why == KILL_OUTPUT || r->signal == SIGXFSZ) {
		r->status = SB_OL;
		r->message = g_strdup(why == KILL_OUTPUT ? "output limit exceeded" : "file size limit exceeded");
	} else if (sysrec.type || r->signal == SIGSYS) {
		r->status = SB_SY;
		if (sysrec.type) {
			char *nm = seccomp_syscall_resolve_num_arch(sysrec.arch, sysrec.nr);
			r->syscall = g_strdup(nm ? nm : "unknown");
			free(nm);
			r->message = g_strdup_printf("forbidden syscall %s", r->syscall);
			if (!r->signal)
				r->signal = SIGKILL;
		} else {
			r->message = g_strdup("killed by SIGSYS (a syscall of a foreign ABI?)");
		}
	} else if (r->signal) {
		r->status = SB_SG;
		r->message = g_strdup_printf("killed by signal %d (%s)", r->signal, g_strsignal(r->signal));
	} else if (errrec.type == REP_EXEC) {
		r->status = SB_RE;
		r->message = g_strdup_printf("cannot execute %.*s: %s", (int)sizeof errrec.what,
		                             errrec.what, g_strerror(errrec.err));
	} else if (r->exitcode) {
		r->status = SB_RE;
		r->message = g_strdup_printf("exited with status %d", r->exitcode);
	} else {
		r->status = SB_OK;
	}
	goto out;

pipe_fail:
	sb_fail(err, errno, "pipe: %s", g_strerror(errno));
out:
	if (!ok && !r->message && err && *err)
		r->message = g_strdup((*err)->message);
	if (!ok)
		r->status = SB_XX;
	sb_close(&b.stdin_fd);
	sb_close(&b.out_r);
	sb_close(&b.out_w);
	sb_close(&b.err_r);
	sb_close(&b.err_w);
	sb_close(&b.rep_r);
	sb_close(&b.rep_w);
	sb_close(&b.life_r);
	sb_close(&b.life_w);
	sb_close(&pidfd);
	sb_close(&out_fd);
	sb_close(&errf_fd);
	if (chowned && fchown(work_fd, work_st.st_uid, work_st.st_gid) < 0)
		log_warn("sandbox: giving back %s: %s", o->work_dir, g_strerror(errno));
	sb_close(&work_fd);
	sb_close(&work_tree);
	g_strfreev(paths);
	return ok;
}
