/* sandbox: one untrusted run in a box. See sandbox.h.
 *
 * Theory of operation
 * -------------------
 * The caller (root) prepares everything that needs memory or may fail in
 * an ordinary way: file descriptors of every bind source, of stdin, of the
 * output pipes, of the cgroup files; the seccomp program (compiled once per
 * process with libseccomp and exported as raw BPF); the exec candidates.
 * Then it clones, with a raw clone(2) (no glibc fork handlers: the runner
 * may have threads holding malloc locks), a child in new PID, mount, IPC
 * and UTS namespaces, and either a new network namespace or the slot's
 * shared empty one (made once per process and slot, joined with setns).
 * Between clone and exec the children call async-signal-safe syscalls
 * only and report failures as fixed-size records on a pipe.
 *
 * The clone child is the PID namespace's init ("box init", pid 1, still
 * root). It joins the run's cgroups, makes every mount private, mounts a
 * tmpfs as the new root, binds the read-only directories, the work dir
 * (read-write, nosuid, nodev), a fresh /proc (hidepid=2), a /tmp tmpfs and
 * device nodes, pivot_roots into it and detaches the old root, remounts /
 * read-only. It then forks the program (pid 2), which drops to the slot's
 * uid: setsid, stdio, rlimits, bounding set emptied, setgroups, setresgid,
 * setresuid, capabilities cleared, no_new_privs, the seccomp filter, fds
 * above 2 marked close-on-exec, execve. Init stays root and undumpable and
 * waits: it reaps orphans, and when pid 2 exits it writes its wait status
 * to the parent and exits, which makes the kernel kill every remaining
 * process of the namespace (fork bombs, daemons, stopped children).
 *
 * Forbidden syscalls return SECCOMP_RET_USER_NOTIF: the program's filter
 * listener fd is passed to init over a socketpair before exec; init reads
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
 * dies and the kernel kills the namespace; mounts live only in the dead
 * mount namespace; no host directory is created except the per-uid
 * cgroups, removed after each run (a cgroup left by a caller killed with
 * SIGKILL is removed by the next run of the same uid).
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
	char host[PATH_MAX];   /* the source, opened by init (a mount of the
	                        * caller's namespace cannot be bound) */
	char source[64];       /* /proc/self/fd/N, filled by init */
	int fd;                /* -1 for a symlink */
	char link[PATH_MAX];   /* symlink text when fd < 0 */
	bool rw, is_dir;
};

struct box {
	const struct sandbox_opts *o;
	uid_t uid;
	struct box_bind *binds;
	size_t nbinds;
	char tmp_opts[64];
	char **exec_paths;      /* candidates for argv[0] */
	char *const *envp;
	int stdin_fd, out_r, out_w, err_r, err_w, rep_r, rep_w, life_r, life_w;
	int netns_fd;           /* -1: CLONE_NEWNET */
	int cg_procs[3];
	int ncg_procs;
	struct rlimit rl_cpu, rl_as, rl_fsize, rl_nofile, rl_nproc, rl_stack;
	bool set_as;
};

/* ---- per-process caches ------------------------------------------------- */

static struct sock_fprog sb_filter;  /* seccomp BPF, built once */
static int sb_ncpu;
static int *sb_netns;                /* shared netns fd per slot, -1 unset */
static int sb_nnetns;

enum cg_kind { CG_NONE, CG_V1, CG_V2 };
static struct {
	bool probed;
	enum cg_kind kind;
	char *mem, *pids, *cpu;      /* v1 bases; v2: mem only */
} sb_cg;

/* =========================================================================
 * Box side: async-signal-safe code only (no malloc, no stdio, no locks).
 * ========================================================================= */

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
	ssize_t w = write(fd, &r, sizeof r);
	(void)w;
}

__attribute__((noreturn)) static void box_die(struct box *b, const char *what)
{
	box_report(b->rep_w, REP_ERR, what, errno);
	_exit(127);
}

/* mkdir -p of a path relative to the cwd; the last component is a file
 * when !is_dir. */
static int box_mkpath(const char *path, bool is_dir)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (n >= sizeof buf)
		return -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (is_dir)
		return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
	int fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static long box_clone(unsigned long flags, int *pidfd)
{
	/* raw clone without a new stack behaves like fork(2) */
	return syscall(SYS_clone, flags, NULL, pidfd, NULL, NULL);
}

/* pid 2: drops privileges and executes the program. */
__attribute__((noreturn)) static void box_exec(struct box *b, int sock)
{
	sigset_t none;
	sigemptyset(&none);
	/* ignored signals survive execve: a runner ignoring SIGPIPE must not
	 * change how the student's program behaves */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* TIOCSTI and job-control tricks need a controlling terminal: none */
	setsid();
	if (dup2(b->stdin_fd, 0) < 0 || dup2(b->out_w, 1) < 0 || dup2(b->err_w, 2) < 0)
		box_die(b, "dup2 stdio");

	struct rlimit zero = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &zero) < 0 || setrlimit(RLIMIT_MEMLOCK, &zero) < 0 ||
	    setrlimit(RLIMIT_MSGQUEUE, &zero) < 0 ||
	    setrlimit(RLIMIT_CPU, &b->rl_cpu) < 0 || setrlimit(RLIMIT_FSIZE, &b->rl_fsize) < 0 ||
	    setrlimit(RLIMIT_NOFILE, &b->rl_nofile) < 0 || setrlimit(RLIMIT_NPROC, &b->rl_nproc) < 0 ||
	    setrlimit(RLIMIT_STACK, &b->rl_stack) < 0 ||
	    (b->set_as && setrlimit(RLIMIT_AS, &b->rl_as) < 0))
		box_die(b, "setrlimit");

	/* a setuid binary would still get capabilities from the bounding set
	 * without this; no_new_privs below blocks it a second time */
	for (int c = 0; c <= 63; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			box_die(b, "PR_CAPBSET_DROP");
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* raw syscalls: glibc's set*id broadcast to threads that exist only in
	 * the parent */
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		box_die(b, "setgroups");
	if (syscall(SYS_setresgid, b->uid, b->uid, b->uid) < 0)
		box_die(b, "setresgid");
	if (syscall(SYS_setresuid, b->uid, b->uid, b->uid) < 0)
		box_die(b, "setresuid");
	struct { uint32_t version; int pid; } caphdr = { 0x20080522, 0 };
	struct { uint32_t eff, perm, inh; } capdata[2];
	memset(capdata, 0, sizeof capdata);
	if (syscall(SYS_capset, &caphdr, capdata) < 0)
		box_die(b, "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		box_die(b, "PR_SET_NO_NEW_PRIVS");
	if (chdir("/work") < 0)
		box_die(b, "chdir /work");

	int lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	                       SECCOMP_FILTER_FLAG_NEW_LISTENER, &sb_filter);
	if (lfd < 0)
		box_die(b, "seccomp");
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	char byte = 'L';
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	                     .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &lfd, sizeof(int));
	if (sendmsg(sock, &mh, 0) != 1)
		box_die(b, "sendmsg listener");
	close(lfd);
	close(sock);
	/* only fds 0-2 reach the program; the report pipe stays open until
	 * execve succeeds so an exec error can still be told */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		box_die(b, "close_range");

	int e = ENOENT;
	for (char **p = b->exec_paths; *p; p++) {
		execve(*p, b->o->argv, b->envp);
		if (errno != ENOENT || e == ENOENT)
			e = errno;
	}
	box_report(b->rep_w, REP_EXEC, b->exec_paths[0] ? b->exec_paths[0] : "", e);
	_exit(127);
}

static void box_mounts(struct box *b)
{
	/* mounts made below must not propagate back to the host, and host
	 * mounts must not appear in the box later */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		box_die(b, "make / private");
	/* sources are opened before the root tmpfs covers /tmp, so a work dir
	 * under the host /tmp stays reachable */
	for (size_t i = 0; i < b->nbinds; i++) {
		struct box_bind *m = &b->binds[i];
		if (m->fd < 0)
			continue;
		m->fd = open(m->host, O_PATH | O_CLOEXEC);
		if (m->fd < 0)
			box_die(b, m->host);
		char *p = m->source;
		memcpy(p, "/proc/self/fd/", 14);
		p += 14;
		char digits[16];
		int nd = 0;
		for (int v = m->fd; nd == 0 || v; v /= 10)
			digits[nd++] = (char)('0' + v % 10);
		while (nd)
			*p++ = digits[--nd];
		*p = '\0';
	}
	/* the new root is mounted over /tmp of this private namespace only */
	if (mount("sercom-box", "/tmp", "tmpfs", MS_NOSUID, "size=1m,nr_inodes=512,mode=0755") < 0)
		box_die(b, "mount root tmpfs");
	if (chdir("/tmp") < 0)
		box_die(b, "chdir new root");
	for (size_t i = 0; i < b->nbinds; i++) {
		struct box_bind *m = &b->binds[i];
		if (m->fd < 0) {
			if (box_mkpath(m->target, true) < 0 || rmdir(m->target) < 0 ||
			    symlink(m->link, m->target) < 0)
				box_die(b, m->target);
			continue;
		}
		if (box_mkpath(m->target, m->is_dir) < 0)
			box_die(b, m->target);
		if (mount(m->source, m->target, NULL, MS_BIND, NULL) < 0)
			box_die(b, m->target);
		/* a bind keeps the source's flags; the remount applies ours.
		 * nosuid and nodev: a setuid binary or device node in a bound
		 * directory grants nothing */
		unsigned long fl = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV;
		if (!m->rw)
			fl |= MS_RDONLY;
		if (mount(NULL, m->target, NULL, fl, NULL) < 0)
			box_die(b, m->target);
	}
	if (mkdir("proc", 0555) < 0 || mkdir("dev", 0755) < 0 || mkdir("tmp", 01777) < 0)
		box_die(b, "mkdir proc dev tmp");
	/* a fresh proc of the new PID namespace: /proc/1/root of a host process
	 * is not reachable; hidepid=2 hides init (root) from the program */
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0)
		box_die(b, "mount /proc");
	if (mount("tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, b->tmp_opts) < 0)
		box_die(b, "mount /tmp");
	/* minimal /dev: no disks, no /dev/tty (TIOCSTI), no kmsg */
	static const struct { const char *name; unsigned maj, min; } devs[] = {
		{ "dev/null", 1, 3 }, { "dev/zero", 1, 5 }, { "dev/full", 1, 7 },
		{ "dev/random", 1, 8 }, { "dev/urandom", 1, 9 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(devs); i++)
		if (mknod(devs[i].name, S_IFCHR | 0666, makedev(devs[i].maj, devs[i].min)) < 0)
			box_die(b, devs[i].name);
	if (symlink("/proc/self/fd", "dev/fd") < 0 || symlink("/proc/self/fd/0", "dev/stdin") < 0 ||
	    symlink("/proc/self/fd/1", "dev/stdout") < 0 || symlink("/proc/self/fd/2", "dev/stderr") < 0)
		box_die(b, "dev symlinks");
	/* the old root stays stacked under "." until detached: the chroot
	 * escape (chdir("..") out of a chroot) has nowhere to go */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		box_die(b, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		box_die(b, "detach old root");
	if (chdir("/") < 0)
		box_die(b, "chdir /");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL) < 0)
		box_die(b, "remount / read-only");
}

/* pid 1 of the box. */
__attribute__((noreturn)) static void box_init(struct box *b)
{
	/* the caller killed (even with SIGKILL) must take the box with it */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		box_die(b, "PR_SET_PDEATHSIG");
	close(b->life_w);
	struct pollfd lp = { b->life_r, POLLIN, 0 };
	if (poll(&lp, 1, 0) != 0)
		_exit(126); /* the caller died before PDEATHSIG was armed */
	/* the program runs as another uid, but a root process must not let
	 * anyone read its memory or /proc/1/{root,fd} */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	umask(0);
	close(b->out_r);
	close(b->err_r);
	close(b->rep_r);

	for (int i = 0; i < b->ncg_procs; i++)
		if (write(b->cg_procs[i], "0", 1) != 1)
			box_die(b, "join cgroup");
	if (b->netns_fd >= 0 && setns(b->netns_fd, CLONE_NEWNET) < 0)
		box_die(b, "setns net");
	box_mounts(b);
	if (sethostname("sercom-box", 10) < 0)
		box_die(b, "sethostname");

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		box_die(b, "socketpair");
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
	if (sfd < 0)
		box_die(b, "signalfd");

	long pid = box_clone(SIGCHLD, NULL);
	if (pid < 0)
		box_die(b, "fork program");
	if (pid == 0) {
		close(sv[0]);
		box_exec(b, sv[1]);
	}
	close(sv[1]);
	close(b->stdin_fd);
	close(b->out_w);
	close(b->err_w);

	/* the listener arrives before execve, or never (setup failed) */
	int lfd = -1;
	{
		char byte;
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &byte, 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
		                     .msg_control = cbuf, .msg_controllen = sizeof cbuf };
		ssize_t n;
		do
			n = recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
		struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
		if (cm && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&lfd, CMSG_DATA(cm), sizeof(int));
		close(sv[0]);
	}

	struct pollfd pf[2] = { { sfd, POLLIN, 0 }, { lfd, POLLIN, 0 } };
	for (;;) {
		int n = poll(pf, lfd >= 0 ? 2 : 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			box_die(b, "init poll");
		}
		if (lfd >= 0 && (pf[1].revents & POLLIN)) {
			union {
				struct seccomp_notif n;
				char pad[512];
			} u;
			memset(&u, 0, sizeof u);
			if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &u.n) == 0) {
				struct rep r;
				memset(&r, 0, sizeof r);
				r.type = REP_SYSCALL;
				r.nr = u.n.data.nr;
				r.arch = u.n.data.arch;
				ssize_t w = write(b->rep_w, &r, sizeof r);
				(void)w;
				/* exiting kills the namespace; the call never runs */
				_exit(0);
			}
		} else if (lfd >= 0 && (pf[1].revents & (POLLHUP | POLLERR | POLLNVAL))) {
			close(lfd);
			lfd = -1;
		}
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			ssize_t r = read(sfd, &si, sizeof si);
			(void)r;
			int st;
			pid_t w;
			while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
				if (w != pid)
					continue; /* an orphan reparented to init */
				struct rep rp;
				memset(&rp, 0, sizeof rp);
				rp.type = REP_EXIT;
				rp.status = st;
				ssize_t wr = write(b->rep_w, &rp, sizeof rp);
				(void)wr;
				_exit(0);
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
	long pid = box_clone(CLONE_NEWNET | SIGCHLD, NULL);
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

struct sb_cgrun {
	char *dirs[3];
	int ndirs;
	char *cpu_file;   /* v1 cpuacct.usage (ns), v2 cpu.stat */
	char *peak_file;
	char *oom_file;
	int cpu_fd;
};

static bool sb_write_file(const char *dir, const char *file, const char *val, GError **err)
{
	char *path = g_build_filename(dir, file, NULL);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int e = fd < 0 ? errno : 0;
	if (fd >= 0) {
		if (util_write_all(fd, val, strlen(val)) < 0)
			e = errno ? errno : EIO;
		close(fd);
	}
	if (e)
		sb_fail(err, e, "%s: %s", path, g_strerror(e));
	g_free(path);
	return e == 0;
}

/* Kills what a killed caller may have left in a stale cgroup, removes it. */
static void sb_cg_remove(const char *dir)
{
	if (rmdir(dir) == 0 || errno == ENOENT)
		return;
	char *procs = g_build_filename(dir, "cgroup.procs", NULL);
	char *text = NULL;
	if (g_file_get_contents(procs, &text, NULL, NULL)) {
		char **pids = g_strsplit(text, "\n", -1);
		for (char **p = pids; *p; p++)
			if (**p)
				kill((pid_t)atoi(*p), SIGKILL);
		g_strfreev(pids);
	}
	g_free(text);
	g_free(procs);
	/* killed tasks leave the cgroup as they exit; a bounded wait */
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++) {
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
}

static void sb_cg_free(struct sb_cgrun *cg)
{
	for (int i = 0; i < cg->ndirs; i++) {
		if (rmdir(cg->dirs[i]) < 0 && errno != ENOENT)
			sb_cg_remove(cg->dirs[i]);
		g_free(cg->dirs[i]);
	}
	if (cg->cpu_fd >= 0)
		close(cg->cpu_fd);
	g_free(cg->cpu_file);
	g_free(cg->peak_file);
	g_free(cg->oom_file);
	memset(cg, 0, sizeof *cg);
	cg->cpu_fd = -1;
}

static bool sb_cg_mkdir(struct sb_cgrun *cg, const char *base, const char *name, GError **err)
{
	char *dir = g_build_filename(base, name, NULL);
	if (mkdir(dir, 0700) < 0 && errno == EEXIST) {
		sb_cg_remove(dir); /* left by a caller that was killed */
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			int e = errno;
			g_free(dir);
			return sb_fail(err, e, "cgroup %s: %s", name, g_strerror(e));
		}
	} else if (errno != 0 && access(dir, F_OK) != 0) {
		int e = errno;
		g_free(dir);
		return sb_fail(err, e, "cgroup %s: %s", base, g_strerror(e));
	}
	cg->dirs[cg->ndirs++] = dir;
	return true;
}

static bool sb_cg_setup(struct sb_cgrun *cg, struct box *b, GError **err)
{
	const struct sandbox_opts *o = b->o;
	char name[64], val[32];
	g_snprintf(name, sizeof name, "sercom-box-%u", (unsigned)b->uid);
	if (sb_cg.kind == CG_V1) {
		errno = 0;
		if (!sb_cg_mkdir(cg, sb_cg.mem, name, err))
			return false;
		errno = 0;
		if (!sb_cg_mkdir(cg, sb_cg.pids, name, err))
			return false;
		errno = 0;
		if (!sb_cg_mkdir(cg, sb_cg.cpu, name, err))
			return false;
		if (o->memory) {
			g_snprintf(val, sizeof val, "%" G_GUINT64_FORMAT, o->memory);
			if (!sb_write_file(cg->dirs[0], "memory.limit_in_bytes", val, err))
				return false;
			/* without memsw the box could page out to swap past the
			 * limit; absent when the kernel has no swap accounting */
			char *sw = g_build_filename(cg->dirs[0], "memory.memsw.limit_in_bytes", NULL);
			bool has = access(sw, F_OK) == 0;
			g_free(sw);
			if (has && !sb_write_file(cg->dirs[0], "memory.memsw.limit_in_bytes", val, err))
				return false;
		}
		if (o->procs) {
			g_snprintf(val, sizeof val, "%" G_GUINT64_FORMAT, o->procs + 1); /* + init */
			if (!sb_write_file(cg->dirs[1], "pids.max", val, err))
				return false;
		}
		cg->cpu_file = g_build_filename(cg->dirs[2], "cpuacct.usage", NULL);
		cg->peak_file = g_build_filename(cg->dirs[0], "memory.max_usage_in_bytes", NULL);
		cg->oom_file = g_build_filename(cg->dirs[0], "memory.oom_control", NULL);
	} else {
		errno = 0;
		if (!sb_cg_mkdir(cg, sb_cg.mem, name, err))
			return false;
		if (o->memory) {
			g_snprintf(val, sizeof val, "%" G_GUINT64_FORMAT, o->memory);
			if (!sb_write_file(cg->dirs[0], "memory.max", val, err))
				return false;
			/* absent without swap accounting */
			sb_write_file(cg->dirs[0], "memory.swap.max", "0", NULL);
		}
		if (o->procs) {
			g_snprintf(val, sizeof val, "%" G_GUINT64_FORMAT, o->procs + 1);
			if (!sb_write_file(cg->dirs[0], "pids.max", val, err))
				return false;
		}
		cg->cpu_file = g_build_filename(cg->dirs[0], "cpu.stat", NULL);
		cg->peak_file = g_build_filename(cg->dirs[0], "memory.peak", NULL);
		cg->oom_file = g_build_filename(cg->dirs[0], "memory.events", NULL);
	}
	cg->cpu_fd = open(cg->cpu_file, O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < cg->ndirs; i++) {
		char *p = g_build_filename(cg->dirs[i], "cgroup.procs", NULL);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		int e = errno;
		g_free(p);
		if (fd < 0)
			return sb_fail(err, e, "cgroup %s: %s", cg->dirs[i], g_strerror(e));
		b->cg_procs[b->ncg_procs++] = fd;
	}
	return true;
}

/* CPU ms used by the box so far, from the cgroup; -1 if unknown. */
static int64_t sb_cg_cpu_ms(struct sb_cgrun *cg)
{
	if (cg->cpu_fd < 0)
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

static uint64_t sb_read_key(const char *file, const char *key)
{
	char *text = NULL;
	uint64_t v = 0;
	if (!file || !g_file_get_contents(file, &text, NULL, NULL))
		return 0;
	if (!key) {
		v = g_ascii_strtoull(text, NULL, 10);
	} else {
		size_t kl = strlen(key);
		for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (strncmp(l, key, kl) == 0 && l[kl] == ' ')
				v = g_ascii_strtoull(l + kl + 1, NULL, 10);
	}
	g_free(text);
	return v;
}

/* ---- the run -------------------------------------------------------------- */

static bool sb_safe_inside(const char *p)
{
	if (p[0] != '/' || strstr(p, "/../") || g_str_has_suffix(p, "/..") || strlen(p) >= PATH_MAX - 1)
		return false;
	return strcmp(p, "/") != 0;
}

static bool sb_add_bind(struct box *b, GPtrArray *fds, const char *spec, bool rw, bool optional, GError **err)
{
	const char *colon = strchr(spec, ':');
	char *host = colon ? g_strndup(spec, (gsize)(colon - spec)) : g_strdup(spec);
	const char *inside = colon ? colon + 1 : host;
	struct box_bind m;
	memset(&m, 0, sizeof m);
	m.rw = rw;
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
		m.fd = 0; /* opened by init */
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

static void sb_rl(struct rlimit *r, uint64_t v)
{
	r->rlim_cur = r->rlim_max = v ? (rlim_t)v : RLIM_INFINITY;
}

static void sb_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
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
	struct sb_cgrun cg = { .cpu_fd = -1 };
	GPtrArray *fds = g_ptr_array_new();
	int out_fd = -1, errf_fd = -1, pidfd = -1, work_fd = -1;
	struct stat work_st = { 0 };
	bool chowned = false, ok = false;
	GError *e2 = NULL;
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
	if (o->slot < 0 || b.uid < o->uid_base || b.uid == 0) {
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

	const char *const *binds = o->binds ? o->binds : sb_default_binds;
	for (const char *const *p = binds; *p; p++)
		if (!sb_add_bind(&b, fds, *p, false, true, err))
			goto out;
	for (const char *const *p = o->extra_binds; p && *p; p++)
		if (!sb_add_bind(&b, fds, *p, false, false, err))
			goto out;
	{
		/* by path: a magic /proc/self/fd link would still name the
		 * caller's mount, which cannot be bound in the new namespace */
		struct box_bind m;
		memset(&m, 0, sizeof m);
		m.rw = m.is_dir = true;
		g_strlcpy(m.target, "work", sizeof m.target);
		if (g_strlcpy(m.host, o->work_dir, sizeof m.host) >= sizeof m.host) {
			sb_fail(err, ENAMETOOLONG, "work dir path too long");
			goto out;
		}
		b.binds = g_renew(struct box_bind, b.binds, b.nbinds + 1);
		b.binds[b.nbinds++] = m;
	}
	g_snprintf(b.tmp_opts, sizeof b.tmp_opts, "size=%" G_GUINT64_FORMAT ",mode=1777",
	           o->tmp_size ? o->tmp_size : (uint64_t)16 << 20);

	/* exec candidates: argv[0] as is, or searched in the box PATH */
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

	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD;
	if (o->fresh_netns) {
		flags |= CLONE_NEWNET;
	} else if ((b.netns_fd = sb_slot_netns(o->slot, err)) < 0) {
		goto out;
	}
	if (sb_cg.kind != CG_NONE && !sb_cg_setup(&cg, &b, err))
		goto out;

	int64_t t0 = util_now_ms();
	long pid = box_clone(flags, &pidfd);
	if (pid < 0) {
		sb_fail(err, errno, "clone: %s", g_strerror(errno));
		goto out;
	}
	if (pid == 0)
		box_init(&b);

	/* parent */
	sb_close(&b.out_w);
	sb_close(&b.err_w);
	sb_close(&b.rep_w);
	sb_close(&b.life_r);
	sb_close(&b.stdin_fd);
	for (int i = 0; i < b.ncg_procs; i++)
		sb_close(&b.cg_procs[i]);

	enum { KILL_NONE, KILL_WALL, KILL_CPU, KILL_OUTPUT, KILL_CANCEL } why = KILL_NONE;
	bool over = false, init_done = false;
	int64_t wall_end = o->wall_ms ? t0 + (int64_t)o->wall_ms : INT64_MAX;
	struct pollfd pf[3];
	while (!init_done) {
		int64_t now = util_now_ms();
		int64_t timeout = wall_end == INT64_MAX ? -1 : MAX(0, wall_end - now);
		int64_t used = o->cpu_ms ? sb_cg_cpu_ms(&cg) : -1;
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

	int64_t cpu = sb_cg_cpu_ms(&cg);
	r->cpu_ms = cpu >= 0 ? (uint64_t)cpu
	                     : (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	                           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	uint64_t peak = sb_read_key(cg.peak_file, NULL);
	r->max_rss_kib = peak ? peak / 1024 : (uint64_t)ru.ru_maxrss;
	uint64_t ooms = sb_read_key(cg.oom_file, "oom_kill");

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
	for (int i = 0; i < b.ncg_procs; i++)
		sb_close(&b.cg_procs[i]);
	sb_cg_free(&cg);
	for (guint i = 0; i < fds->len; i++)
		close(GPOINTER_TO_INT(fds->pdata[i]));
	g_ptr_array_free(fds, TRUE);
	if (chowned && fchown(work_fd, work_st.st_uid, work_st.st_gid) < 0)
		log_warn("sandbox: giving back %s: %s", o->work_dir, g_strerror(errno));
	sb_close(&work_fd);
	g_free(b.binds);
	g_strfreev(paths);
	g_clear_error(&e2);
	return ok;
}
