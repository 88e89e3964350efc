/* sandbox-box: everything the sandbox runs between clone and execve: box
 * init (pid 1 of the box), the program child before its execve, and the
 * slot's root helper. See the theory of operation in sandbox.c.
 *
 * The rule of this file: no libc call but the pure string functions
 * (memset, memcpy, strlen: no errno, no lock, no allocation). Init may
 * share the caller's memory (CLONE_VM, sb_init_shares_vm) and the program
 * child shares init's until its execve (vfork-style), while the caller's
 * other threads run on: errno lives in the caller's thread-local storage,
 * malloc and stdio take locks a thread of the caller may hold. So every
 * kernel call is a raw syscall (sb_sys returns -errno), clones go through
 * a small trampoline of our own (sb_raw_clone: glibc's clone() would
 * write errno and run its own start-up code), and this code writes only
 * to its own stack, the static stacks below and the plan (struct box),
 * which the caller no longer reads while the box runs. Failures are
 * reported as fixed-size records on a pipe (struct rep).
 */
#define _GNU_SOURCE
#include "sandbox-int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

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
#define SYS6(n, a, b, c, d, e, f) sb_sys(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define SYS5(n, a, b, c, d, e) SYS6(n, a, b, c, d, e, 0)
#define SYS4(n, a, b, c, d) SYS6(n, a, b, c, d, 0, 0)
#define SYS3(n, a, b, c) SYS6(n, a, b, c, 0, 0, 0)
#define SYS2(n, a, b) SYS6(n, a, b, 0, 0, 0, 0)
#define SYS1(n, a) SYS6(n, a, 0, 0, 0, 0, 0)

/* clone(flags, stack, parent_tid) running fn(arg) on stack in the child,
 * which exits with fn's value; returns the child's pid or -errno in the
 * parent. x86_64 clone takes flags, stack, parent_tid, child_tid, tls in
 * rdi, rsi, rdx, r10, r8: fn and arg ride on the child's stack. */
long sb_raw_clone(unsigned long flags, void *stack_top, int *parent_tid, int (*fn)(void *), void *arg);
__asm__(".text\n"
        ".globl sb_raw_clone\n"
        ".hidden sb_raw_clone\n"
        ".type sb_raw_clone, @function\n"
        "sb_raw_clone:\n"
        "	andq $-16, %rsi\n"
        "	subq $16, %rsi\n"
        "	movq %rcx, 8(%rsi)\n"
        "	movq %r8, 0(%rsi)\n"
        "	movl $56, %eax\n" /* SYS_clone */
        "	xorl %r10d, %r10d\n"
        "	xorl %r8d, %r8d\n"
        "	syscall\n"
        "	testq %rax, %rax\n"
        "	jnz 1f\n"
        "	xorl %ebp, %ebp\n" /* the child: outermost frame */
        "	popq %rdi\n"
        "	popq %rax\n"
        "	callq *%rax\n"
        "	movl %eax, %edi\n"
        "	movl $231, %eax\n" /* SYS_exit_group */
        "	syscall\n"
        "	hlt\n"
        "1:	ret\n"
        ".size sb_raw_clone, .-sb_raw_clone\n");

/* Stacks of init (and of the root helper) and of the program child before
 * its execve. One run at a time per process (sandbox.h). */
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
	/* stdin is never a host fd (readlink of /proc/self/fd/0 would name
	 * the case's file): the caller's sealed copy, or the box's own
	 * /dev/null */
	long in = b->stdin_fd;
	if (in < 0 && (in = SYS3(open, "/dev/null", O_RDONLY | O_CLOEXEC, 0)) < 0)
		box_die(b, "open /dev/null", in);
	if ((rc = SYS2(dup2, in, 0)) < 0 || (rc = SYS2(dup2, b->out_w, 1)) < 0 ||
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
	/* a root process must not let anyone read its memory; with a shared
	 * VM this flag would also change the caller's (and init is root, the
	 * program another uid: /proc/1/{mem,root} need CAP_SYS_PTRACE) */
	if (!b->shared_vm)
		SYS2(prctl, PR_SET_DUMPABLE, 0);
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
	long lfd_l = SYS3(seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, b->filter);
	if (lfd_l < 0)
		box_die(b, "seccomp", lfd_l);
	int lfd = (int)lfd_l;

	/* the program child borrows this memory until its execve (vfork
	 * semantics: init sleeps meanwhile), on a stack of its own */
	long pid = sb_raw_clone(CLONE_VM | CLONE_VFORK | SIGCHLD, sb_exec_stack + SB_STACK, NULL,
	                        box_exec, b);
	if (pid < 0)
		box_die(b, "start program", pid);
	if (b->stdin_fd >= 0)
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

long sb_box_start(struct box *b, bool shared_vm, int *pidfd)
{
	/* no CLONE_NEWNS: init enters a copy of the slot's root instead of a
	 * copy of the caller's mounts */
	unsigned long flags = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD;
	if (b->netns_fd < 0)
		flags |= CLONE_NEWNET;
	if (shared_vm)
		flags |= CLONE_VM;
	b->shared_vm = shared_vm;
	return sb_raw_clone(flags, sb_init_stack + SB_STACK, pidfd, box_init, b);
}

static int box_root_main(void *arg)
{
	SYS2(prctl, PR_SET_PDEATHSIG, SIGKILL);
	box_root_build(arg);
}

long sb_root_helper_start(struct box_root *p)
{
	/* fork-like: the helper has its own copy of the plan and the stack */
	return sb_raw_clone(CLONE_NEWNS | SIGCHLD, sb_init_stack + SB_STACK, NULL, box_root_main, p);
}
