/* sandbox: one untrusted run in a box. See sandbox.h.
 *
 * Theory of operation
 * -------------------
 * The caller (root) prepares everything that needs memory or may fail in
 * an ordinary way: a sealed copy of stdin, the output pipes, a detached
 * copy of the work dir's mount (open_tree), the slot's cgroups (made on
 * the slot's first run, kept until the process exits: sandbox-cgroup.c),
 * the slot's box root and network namespace (below); the seccomp program
 * (compiled once per process: sandbox-seccomp.c); the exec candidates.
 * Then it clones box init in new PID, IPC and UTS namespaces, joined to
 * the slot's network namespace (sandbox-box.c holds all the code that
 * runs between that clone and the program's execve, raw syscalls only).
 * Init borrows the caller's memory (CLONE_VM, as posix_spawn does):
 * copying the caller's page tables for a fork cost more than every
 * namespace and mount of the run together (SB_INIT_SHARES_VM below).
 *
 * The box root is made once per slot (and list of binds) by a helper in a
 * mount namespace of its own, kept alive by an fd: every mount private, a
 * tmpfs as the new root, the read-only binds (nosuid, nodev), mount points
 * and device nodes, pivot_root into it and the old root detached, /
 * remounted read-only (box_root_build).
 *
 * The network namespace is the slot's, empty (a down loopback), made once
 * per process and slot. No run can leave anything in it for a later run:
 * what is named per network namespace and reachable without privileges
 * is abstract unix sockets (the filter denies every other family; routes,
 * links and net sysctls need CAP_NET_ADMIN over it, which no program has).
 * Every process of a run is dead when the run ends, so any unix socket
 * still in the namespace was kept alive by the run itself (an attack: its
 * fd in flight to itself over SCM_RIGHTS, a garbage cycle the kernel frees
 * only when it next collects). After each run the caller reads the
 * namespace's socket table (net/unix, opened inside it); when it holds any
 * socket, the namespace is retired and the slot's next run gets a new one.
 * A new namespace for every run (opts.fresh_netns) costs ~0.8 ms of kernel
 * work (sysctl tables, the loopback device, its teardown): more than the
 * rest of the run.
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
 * stays root (the program's uid differs, so /proc/1/{mem,root,fd} need
 * CAP_SYS_PTRACE it lacks) and waits: it reaps orphans, and when pid 2
 * exits it writes its wait status to the parent and exits, which makes the
 * kernel kill every remaining process of the namespace (fork bombs,
 * daemons, stopped children).
 *
 * Stdin is never a host fd (readlink of /proc/self/fd/0 would name the
 * case's file on the host): a regular file is copied into a sealed memfd
 * reopened read-only (seekable like the file), /dev/null is the box's own.
 *
 * Forbidden syscalls return SECCOMP_RET_USER_NOTIF: init installs the
 * filter on itself once its mounts are done (the program inherits it) and
 * keeps the listener fd; init reads the notification (syscall number and
 * ABI), reports SY with the name and exits, killing the box while the
 * offending call is still blocked, so the call never runs. Every number
 * libseccomp cannot name is forbidden too (sandbox-seccomp.c). Syscalls of
 * a foreign ABI (i386 int 0x80, x32) hit the filter's bad-arch action,
 * SECCOMP_RET_KILL_PROCESS: the program dies of SIGSYS, reported as SY with
 * no name. clone3 answers ENOSYS (its flags are behind a pointer the
 * filter cannot read) so glibc falls back to clone, whose namespace flags
 * the filter can see.
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
 * RLIMIT_NPROC on the slot's uid. The verdict is sb_verdict's, from what
 * was observed (first match wins: sandbox.h).
 *
 * Clean-up: init has PR_SET_PDEATHSIG(SIGKILL), so if the caller dies, init
 * dies and the kernel kills the namespace; a run's mounts live only in its
 * dead mount namespace, the box roots and network namespaces only as long
 * as the caller holds their fds; no host directory is created except the
 * per-slot cgroups "sercom-box-UID" (under the caller's own cgroup on v1),
 * removed by sandbox_cleanup() at exit; one left by a caller killed with
 * SIGKILL is emptied and reused by the next process that runs that slot,
 * and removed at its exit. Between runs of a slot the memory cgroup is
 * emptied (force_empty, when more than 1 MiB of page cache is left) and the
 * peak reset; CPU and OOM counts are differences. The kernel must have
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
#include "sandbox-int.h"
#include "util.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

/* Init borrows the caller's memory (CLONE_VM) rather than getting a copy
 * (a fork-like clone, only the program child vfork-style): make bench
 * (tests/bench/sandbox.sh) measured the copy at +525..+772 us of wall time
 * per run (42-55% of the whole overhead; CPU +235..+367 us) for the bench's
 * small process, and +2.4..+4.2 ms with 32 MiB of touched heap, as a
 * runner's worker has: the page tables are copied, then both sides take
 * copy-on-write faults. The price is sandbox-box.c's rule (raw syscalls,
 * no libc) and init's OOM exposure (see box_exec). */
#define SB_INIT_SHARES_VM true

/* ---- per-process caches ------------------------------------------------- */

struct sb_root {
	char *key;                       /* the binds it was built with */
	int fd;                          /* its mount namespace, -1 unset */
};
static struct sb_root *sb_roots;     /* prepared box root per slot */
static int sb_nroots;

struct sb_netns {
	int fd;                          /* the namespace, -1 unset */
	int unix_fd;                     /* its net/unix, opened inside it */
};
static struct sb_netns *sb_nets;     /* per slot */
static int sb_nnets;

bool sb_init_shares_vm = SB_INIT_SHARES_VM;

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

bool sb_fail(GError **err, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, SERCOM_ERROR, e, "sandbox: %s", m);
	g_free(m);
	return false;
}

static void sb_netns_close(struct sb_netns *n)
{
	if (n->fd >= 0)
		close(n->fd);
	if (n->unix_fd >= 0)
		close(n->unix_fd);
	n->fd = n->unix_fd = -1;
}

void sandbox_cleanup(void)
{
	sb_cg_free_all();
	for (int i = 0; i < sb_nnets; i++)
		sb_netns_close(&sb_nets[i]);
	g_clear_pointer(&sb_nets, g_free);
	sb_nnets = 0;
	for (int i = 0; i < sb_nroots; i++) {
		if (sb_roots[i].fd >= 0)
			close(sb_roots[i].fd);
		g_free(sb_roots[i].key);
	}
	g_clear_pointer(&sb_roots, g_free);
	sb_nroots = 0;
}

/* ---- the slot's network namespace (theory of operation) --------------------- */

/* A new empty netns: this thread enters it just long enough to open it and
 * its socket table (a process's /proc/.../net is that of its namespace),
 * and goes back. */
static bool sb_netns_new(struct sb_netns *n, GError **err)
{
	g_auto(UtilFd) self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return sb_fail(err, errno, "/proc/thread-self/ns/net: %s", g_strerror(errno));
	if (unshare(CLONE_NEWNET) < 0)
		return sb_fail(err, errno, "creating a network namespace: %s", g_strerror(errno));
	n->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int e = errno;
	if (n->fd >= 0) {
		n->unix_fd = open("/proc/thread-self/net/unix", O_RDONLY | O_CLOEXEC);
		e = errno;
	}
	if (setns(self, CLONE_NEWNET) < 0) {
		/* only ENOMEM could: the caller must not go on without its network */
		log_error("sandbox: cannot return to the caller's network namespace: %s",
		          g_strerror(errno));
		abort();
	}
	if (n->fd < 0 || n->unix_fd < 0) {
		sb_netns_close(n);
		return sb_fail(err, e, "opening the new network namespace: %s", g_strerror(e));
	}
	return true;
}

/* The slot's netns fd, made on first use or after the last one retired. */
static int sb_slot_netns(int slot, GError **err)
{
	if (slot >= sb_nnets) {
		sb_nets = g_renew(struct sb_netns, sb_nets, slot + 1);
		for (int i = sb_nnets; i <= slot; i++)
			sb_nets[i].fd = sb_nets[i].unix_fd = -1;
		sb_nnets = slot + 1;
	}
	if (sb_nets[slot].fd < 0 && !sb_netns_new(&sb_nets[slot], err))
		return -1;
	return sb_nets[slot].fd;
}

/* After a run (every process of it dead): a socket left in the slot's
 * netns was kept alive by the run, e.g. an abstract socket whose fd is in
 * flight to itself, named after a private case's input; the next run of
 * the slot could read the name or connect. Such a namespace is retired,
 * never entered again (the socket keeps it until the kernel collects it). */
static void sb_slot_netns_settle(int slot)
{
	if (slot >= sb_nnets || sb_nets[slot].fd < 0)
		return;
	/* net/unix: a header line, then one line per socket */
	char buf[512];
	ssize_t n = pread(sb_nets[slot].unix_fd, buf, sizeof buf - 1, 0);
	if (n > 0) {
		buf[n] = '\0';
		char *nl = strchr(buf, '\n');
		if (nl && nl[1] == '\0')
			return;
	}
	log_info("sandbox: slot %d: a unix socket outlived the run (or its table is unreadable): "
	         "its network namespace is retired", slot);
	sb_netns_close(&sb_nets[slot]);
}

/* ---- stdin ------------------------------------------------------------------ */

/* *fd: a read-only fd on a sealed memfd copy of path (a regular file), or
 * -1 for the box's own /dev/null (path NULL or the host's /dev/null). The
 * program never gets a host fd: readlink(/proc/self/fd/0) of a host file
 * names the case on the host, and the copy is the run's alone. */
static bool sb_open_stdin(const char *path, int *fd, GError **err)
{
	*fd = -1;
	if (!path)
		return true;
	g_auto(UtilFd) in = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0)
		return sb_fail(err, errno, "stdin %s: %s", path, g_strerror(errno));
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		return true;
	if (!S_ISREG(st.st_mode))
		return sb_fail(err, EINVAL, "stdin %s: not a regular file", path);
	g_auto(UtilFd) mfd = memfd_create("sercom-stdin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return sb_fail(err, errno, "stdin: memfd_create: %s", g_strerror(errno));
	int rc = util_copy_fd(in, mfd);
	if (rc < 0)
		return sb_fail(err, -rc, "stdin %s: copying: %s", path, g_strerror(-rc));
	/* sealed: no run can change its own input, even through a reopened
	 * /proc/self/fd/0 */
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return sb_fail(err, errno, "stdin: sealing: %s", g_strerror(errno));
	char self[64];
	g_snprintf(self, sizeof self, "/proc/self/fd/%d", mfd);
	if ((*fd = open(self, O_RDONLY | O_CLOEXEC)) < 0)
		return sb_fail(err, errno, "stdin: reopening the copy: %s", g_strerror(errno));
	return true;
}

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
	g_autofree char *b1 = g_strjoinv("\n", (char **)binds);
	g_autofree char *b2 = extra ? g_strjoinv("\n", (char **)extra) : g_strdup("");
	g_autofree char *key = g_strconcat(b1, "\n\n", b2, NULL);
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
	pid = sb_root_helper_start(&p);
	if (pid < 0) {
		sb_fail(err, (int)-pid, "starting the box root helper: %s", g_strerror((int)-pid));
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

/* ---- the verdict ---------------------------------------------------------- */

enum sandbox_status sb_verdict(const struct sb_observed *ob)
{
	/* errors of the sandbox itself, not verdicts on the program */
	if (ob->setup_failed || ob->killed == SB_KILL_CANCEL)
		return SB_XX;
	if (!ob->exited && !ob->forbidden_syscall && ob->killed == SB_KILL_NONE)
		return SB_XX; /* init ended without a report */
	/* then sandbox.h's order: the limits before what they caused (a CPU
	 * kill ends in SIGKILL, an output kill too) */
	if (ob->killed == SB_KILL_CPU || ob->signal == SIGXCPU ||
	    (ob->cpu_limit_ms && ob->cpu_ms > ob->cpu_limit_ms))
		return SB_TO;
	if (ob->killed == SB_KILL_WALL)
		return SB_WT;
	if (ob->ooms > 0)
		return SB_ML;
	if (ob->killed == SB_KILL_OUTPUT || ob->signal == SIGXFSZ)
		return SB_OL;
	if (ob->forbidden_syscall || ob->signal == SIGSYS)
		return SB_SY;
	if (ob->signal)
		return SB_SG;
	if (ob->exec_failed || ob->exitcode)
		return SB_RE;
	return SB_OK;
}

/* ---- the run, step by step ---------------------------------------------- */

struct sb_run {
	const struct sandbox_opts *o;
	struct sandbox_result *r;
	struct box b;                /* the plan; read by init while it runs */
	struct sb_cgslot *cg;
	int64_t cpu0, t0;
	uint64_t oom0;
	int out_fd, errf_fd, pidfd, work_fd;
	struct stat work_st;
	bool chowned;
	long pid;                    /* init */
	int init_status;
	struct rusage ru;
	struct rep sysrec, errrec;
	struct sb_observed ob;
};

static void run_init(struct sb_run *run, const struct sandbox_opts *o, struct sandbox_result *r)
{
	memset(run, 0, sizeof *run);
	memset(r, 0, sizeof *r);
	r->status = SB_XX;
	run->o = o;
	run->r = r;
	struct box *b = &run->b;
	b->o = o;
	b->stdin_fd = b->out_r = b->out_w = b->err_r = b->err_w = -1;
	b->rep_r = b->rep_w = b->life_r = b->life_w = b->netns_fd = -1;
	b->root_fd = b->work_tree = -1;
	run->out_fd = run->errf_fd = run->pidfd = run->work_fd = -1;
	run->pid = -1;
}

static bool run_check(struct sb_run *run, GError **err)
{
	const struct sandbox_opts *o = run->o;
	if (geteuid() != 0)
		return sb_fail(err, EPERM, "must run as root");
	if (!o->argv || !o->argv[0] || !o->work_dir)
		return sb_fail(err, EINVAL, "no program or no work dir");
	if (!(run->b.filter = sb_seccomp_filter(err)))
		return false;
	sb_cg_probe();
	run->b.uid = o->uid_base + (uid_t)o->slot;
	if (o->slot < 0 || o->slot > 65535 || run->b.uid < o->uid_base || run->b.uid == 0)
		return sb_fail(err, EINVAL, "bad uid_base %u + slot %d", (unsigned)o->uid_base, o->slot);
	return true;
}

/* The work dir: its top owned by the box uid for the run; a detached copy
 * of its mount, which init attaches in its own namespace (a path would
 * have to be resolved there, where the caller's mounts are gone). */
static bool run_take_work_dir(struct sb_run *run, GError **err)
{
	const struct sandbox_opts *o = run->o;
	run->work_fd = open(o->work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (run->work_fd < 0 || fstat(run->work_fd, &run->work_st) < 0)
		return sb_fail(err, errno, "work dir %s: %s", o->work_dir, g_strerror(errno));
	if (fchown(run->work_fd, run->b.uid, run->b.uid) < 0)
		return sb_fail(err, errno, "chown work dir %s: %s", o->work_dir, g_strerror(errno));
	run->chowned = true;
	run->b.work_tree = (int)syscall(SYS_open_tree, AT_FDCWD, o->work_dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (run->b.work_tree < 0)
		return sb_fail(err, errno, "work dir %s: open_tree: %s", o->work_dir, g_strerror(errno));
	/* read-write whatever the spool's mount says; nosuid and nodev: a
	 * setuid binary or device node the program made grants nothing;
	 * private: nothing propagates in or out */
	struct mount_attr ma = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
		                 .attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC,
		                 .propagation = MS_PRIVATE };
	if (syscall(SYS_mount_setattr, run->b.work_tree, "", AT_EMPTY_PATH, &ma, sizeof ma) < 0)
		return sb_fail(err, errno, "work dir %s: mount_setattr: %s", o->work_dir, g_strerror(errno));
	g_snprintf(run->b.tmp_opts, sizeof run->b.tmp_opts, "size=%" G_GUINT64_FORMAT ",mode=1777",
	           o->tmp_size ? o->tmp_size : (uint64_t)16 << 20);
	return true;
}

/* The read-only binds: the slot's prepared root, made once. */
static bool run_slot_root(struct sb_run *run, GError **err)
{
	const struct sandbox_opts *o = run->o;
	const char *const *binds = o->binds ? o->binds : sb_default_binds;
	run->b.root_fd = sb_slot_root(o->slot, binds, o->extra_binds, err);
	return run->b.root_fd >= 0;
}

/* What the program child does: exec candidates, environment, limits, the
 * signals and capabilities it resets. */
static bool run_plan_exec(struct sb_run *run)
{
	const struct sandbox_opts *o = run->o;
	struct box *b = &run->b;
	/* argv[0] as is, or searched in the box PATH (the box's view of
	 * /usr/bin is the host's, read-only) */
	b->envp = (char *const *)(o->env ? o->env : sb_default_env);
	GPtrArray *c = g_ptr_array_new();
	const char *a0 = o->argv[0];
	if (strchr(a0, '/')) {
		g_ptr_array_add(c, g_strdup(a0));
	} else {
		const char *path = "/usr/local/bin:/usr/bin:/bin";
		for (char *const *e = b->envp; *e; e++)
			if (g_str_has_prefix(*e, "PATH="))
				path = *e + 5;
		char **dirs = g_strsplit(path, ":", -1);
		for (char **d = dirs; *d; d++)
			if (**d)
				g_ptr_array_add(c, g_build_filename(*d, a0, NULL));
		g_strfreev(dirs);
	}
	g_ptr_array_add(c, NULL);
	b->exec_paths = (char **)g_ptr_array_free(c, FALSE);

	uint64_t cpu_s = o->cpu_ms ? (o->cpu_ms + 999) / 1000 : 0;
	sb_rl(&b->rl_cpu, cpu_s);
	if (cpu_s)
		b->rl_cpu.rlim_max = cpu_s + 1; /* SIGXCPU first, SIGKILL a second later */
	sb_rl(&b->rl_fsize, o->file_size);
	sb_rl(&b->rl_nofile, o->nofile ? o->nofile : 64);
	sb_rl(&b->rl_nproc, o->procs);
	sb_rl(&b->rl_stack, o->stack);
	sb_rl(&b->rl_as, o->memory);
	b->set_as = sb_cg_probe() == CG_NONE && o->memory;

	/* the caller's ignored signals, and the bounding set up to the
	 * kernel's last capability (63 when it cannot be read: then every bit
	 * is dropped, the EINVALs ignored) */
	for (int s = 1; s <= 64; s++) {
		struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } k;
		if (s != SIGKILL && s != SIGSTOP && syscall(SYS_rt_sigaction, s, NULL, &k, 8) == 0 &&
		    k.handler == (void *)SIG_IGN)
			b->ignored |= (uint64_t)1 << (s - 1);
	}
	static int last_cap = -1;
	if (last_cap < 0) {
		g_autofree char *t = NULL;
		last_cap = 63;
		if (g_file_get_contents("/proc/sys/kernel/cap_last_cap", &t, NULL, NULL)) {
			int64_t v = g_ascii_strtoll(t, NULL, 10);
			if (v > 0 && v < 63)
				last_cap = (int)v;
		}
	}
	b->last_cap = last_cap;
	return true;
}

static bool sb_pipe(int *r, int *w, GError **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return sb_fail(err, errno, "pipe: %s", g_strerror(errno));
	*r = p[0];
	*w = p[1];
	return true;
}

/* Stdin, the capture files, the output, report and life pipes. */
static bool run_open_stdio(struct sb_run *run, GError **err)
{
	const struct sandbox_opts *o = run->o;
	struct box *b = &run->b;
	if (!sb_open_stdin(o->stdin_path, &b->stdin_fd, err))
		return false;
	if (o->stdout_path &&
	    (run->out_fd = open(o->stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return sb_fail(err, errno, "stdout %s: %s", o->stdout_path, g_strerror(errno));
	if (o->stderr_path &&
	    (run->errf_fd = open(o->stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return sb_fail(err, errno, "stderr %s: %s", o->stderr_path, g_strerror(errno));
	if (!sb_pipe(&b->out_r, &b->out_w, err) || !sb_pipe(&b->err_r, &b->err_w, err) ||
	    !sb_pipe(&b->rep_r, &b->rep_w, err) || !sb_pipe(&b->life_r, &b->life_w, err))
		return false;
	fcntl(b->out_r, F_SETFL, O_NONBLOCK);
	fcntl(b->err_r, F_SETFL, O_NONBLOCK);
	return true;
}

/* The slot's network namespace, or (fresh_netns) one of the run's own. */
static bool run_netns(struct sb_run *run, GError **err)
{
	if (run->o->fresh_netns)
		return true;
	run->b.netns_fd = sb_slot_netns(run->o->slot, err);
	return run->b.netns_fd >= 0;
}

/* The slot's cgroups with the run's limits; the counters' start. */
static bool run_cgroups(struct sb_run *run, GError **err)
{
	if (sb_cg_probe() == CG_NONE)
		return true;
	if (!(run->cg = sb_cg_for_run(run->o->slot, run->b.uid, run->o, err)))
		return false;
	for (int i = 0; i < run->cg->ndirs; i++)
		run->b.cg_procs[run->b.ncg_procs++] = run->cg->procs_fd[i];
	run->cpu0 = MAX(0, sb_cg_cpu_ms(run->cg));
	run->oom0 = sb_cg_ooms(run->cg);
	return true;
}

static bool run_start_box(struct sb_run *run, GError **err)
{
	struct box *b = &run->b;
	run->t0 = util_now_ms();
	run->pid = sb_box_start(b, sb_init_shares_vm, &run->pidfd);
	if (run->pid < 0)
		return sb_fail(err, (int)-run->pid, "clone: %s", g_strerror((int)-run->pid));
	/* the parent's copies of the box's ends; b stays as it is while init
	 * (which may share this memory) still reads it */
	close(b->out_w);
	close(b->err_w);
	close(b->rep_w);
	close(b->life_r);
	close(b->work_tree);
	if (b->stdin_fd >= 0)
		close(b->stdin_fd);
	return true;
}

/* Until init ends: output to the capture files, the limits enforced. */
static void run_watch(struct sb_run *run)
{
	const struct sandbox_opts *o = run->o;
	struct box *b = &run->b;
	struct sandbox_result *r = run->r;
	enum sb_kill why = SB_KILL_NONE;
	bool over = false, init_done = false;
	int64_t wall_end = o->wall_ms ? run->t0 + (int64_t)o->wall_ms : INT64_MAX;
	int ncpu = sb_ncpu();
	struct pollfd pf[3];
	while (!init_done) {
		int64_t now = util_now_ms();
		int64_t timeout = wall_end == INT64_MAX ? -1 : MAX(0, wall_end - now);
		int64_t used = o->cpu_ms ? sb_cg_cpu_ms(run->cg) : -1;
		enum sb_kill kill_now = SB_KILL_NONE;
		if (used >= 0) {
			used = MAX(0, used - run->cpu0);
			if ((uint64_t)used > o->cpu_ms)
				kill_now = SB_KILL_CPU;
			/* no CPU limit can pass before every CPU spent the rest */
			int64_t next = MAX(10, ((int64_t)o->cpu_ms - used) / ncpu);
			timeout = timeout < 0 ? next : MIN(timeout, next);
		}
		if (kill_now == SB_KILL_NONE && o->cancel && *o->cancel)
			kill_now = SB_KILL_CANCEL;
		else if (kill_now == SB_KILL_NONE && now >= wall_end)
			kill_now = SB_KILL_WALL;
		if (kill_now != SB_KILL_NONE && why == SB_KILL_NONE) {
			why = kill_now;
			kill((pid_t)run->pid, SIGKILL);
		}
		int n = 0;
		if (b->out_r >= 0)
			pf[n++] = (struct pollfd){ b->out_r, POLLIN, 0 };
		if (b->err_r >= 0)
			pf[n++] = (struct pollfd){ b->err_r, POLLIN, 0 };
		pf[n++] = (struct pollfd){ run->pidfd, POLLIN, 0 };
		if (why != SB_KILL_NONE)
			timeout = -1; /* killed: wait for the end */
		int rc = poll(pf, (nfds_t)n, timeout > INT_MAX ? INT_MAX : (int)timeout);
		if (rc < 0 && errno != EINTR && why == SB_KILL_NONE) {
			why = SB_KILL_WALL;
			kill((pid_t)run->pid, SIGKILL);
		}
		for (int i = 0; rc > 0 && i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == run->pidfd)
				init_done = true;
			else if (pf[i].fd == b->out_r && !sb_pump(b->out_r, run->out_fd, o->output, &r->stdout_bytes, &over))
				sb_close(&b->out_r);
			else if (pf[i].fd == b->err_r && !sb_pump(b->err_r, run->errf_fd, o->output, &r->stderr_bytes, &over))
				sb_close(&b->err_r);
		}
		/* a flood is stopped at once, not after the CPU limit */
		if (over && why == SB_KILL_NONE) {
			why = SB_KILL_OUTPUT;
			kill((pid_t)run->pid, SIGKILL);
		}
	}
	run->ob.killed = why;
	r->output_truncated = over;
}

/* Init is gone, with every process of the box: its status, the rest of
 * the output, the box's records, the counters. */
static void run_collect(struct sb_run *run)
{
	const struct sandbox_opts *o = run->o;
	struct box *b = &run->b;
	struct sandbox_result *r = run->r;
	while (wait4((pid_t)run->pid, &run->init_status, 0, &run->ru) < 0 && errno == EINTR)
		;
	b->out_w = b->err_w = b->rep_w = b->life_r = b->stdin_fd = b->work_tree = -1; /* closed */
	r->wall_ms = (uint64_t)(util_now_ms() - run->t0);
	bool over = r->output_truncated;
	if (b->out_r >= 0)
		fcntl(b->out_r, F_SETFL, 0);
	if (b->err_r >= 0)
		fcntl(b->err_r, F_SETFL, 0);
	while (b->out_r >= 0 && sb_pump(b->out_r, run->out_fd, o->output, &r->stdout_bytes, &over))
		;
	while (b->err_r >= 0 && sb_pump(b->err_r, run->errf_fd, o->output, &r->stderr_bytes, &over))
		;
	r->output_truncated = over;
	if (!o->fresh_netns)
		sb_slot_netns_settle(o->slot);

	struct sb_observed *ob = &run->ob;
	struct rep rec, exitrec = { 0 };
	while (read(b->rep_r, &rec, sizeof rec) == (ssize_t)sizeof rec) {
		if (rec.type == REP_EXIT)
			exitrec = rec;
		else if (rec.type == REP_SYSCALL)
			run->sysrec = rec;
		else if (!run->errrec.type)
			run->errrec = rec;
	}
	ob->exited = exitrec.type == REP_EXIT;
	ob->forbidden_syscall = run->sysrec.type == REP_SYSCALL;
	ob->setup_failed = run->errrec.type == REP_ERR;
	ob->exec_failed = run->errrec.type == REP_EXEC;
	if (ob->exited && WIFEXITED(exitrec.status))
		r->exitcode = WEXITSTATUS(exitrec.status);
	else if (ob->exited && WIFSIGNALED(exitrec.status))
		r->signal = WTERMSIG(exitrec.status);
	else if (!ob->exited && WIFSIGNALED(run->init_status))
		r->signal = WTERMSIG(run->init_status);

	int64_t cpu = sb_cg_cpu_ms(run->cg);
	const struct rusage *ru = &run->ru;
	r->cpu_ms = cpu >= 0 ? (uint64_t)MAX(0, cpu - run->cpu0)
	                     : (uint64_t)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000 +
	                           (uint64_t)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000;
	uint64_t peak = sb_cg_peak(run->cg);
	r->max_rss_kib = peak ? peak / 1024 : (uint64_t)ru->ru_maxrss;
	ob->ooms = run->cg ? sb_cg_ooms(run->cg) - run->oom0 : 0;
	ob->signal = r->signal;
	ob->exitcode = r->exitcode;
	ob->cpu_ms = r->cpu_ms;
	ob->cpu_limit_ms = o->cpu_ms;
}

/* The verdict and its words; false (with *err) for XX. */
static bool run_judge(struct sb_run *run, GError **err)
{
	struct sandbox_result *r = run->r;
	const struct sb_observed *ob = &run->ob;
	const struct rep *e = &run->errrec;
	r->status = sb_verdict(ob);
	switch (r->status) {
	case SB_XX:
		if (ob->setup_failed) {
			r->message = g_strdup_printf("box setup: %.*s: %s", (int)sizeof e->what, e->what,
			                             g_strerror(e->err));
			g_set_error(err, SERCOM_ERROR, e->err, "sandbox: %s", r->message);
		} else if (ob->killed == SB_KILL_CANCEL) {
			r->message = g_strdup("cancelled");
			g_set_error(err, SERCOM_ERROR, EINTR, "sandbox: run cancelled");
		} else {
			r->message = g_strdup_printf("box init ended without a report (wait status %d)",
			                             run->init_status);
			g_set_error(err, SERCOM_ERROR, EIO, "sandbox: %s", r->message);
		}
		return false;
	case SB_TO:
		r->message = g_strdup("CPU time limit exceeded");
		break;
	case SB_WT:
		r->message = g_strdup("wall time limit exceeded");
		break;
	case SB_ML:
		r->message = g_strdup("memory limit exceeded");
		break;
	case SB_OL:
		r->message = g_strdup(ob->killed == SB_KILL_OUTPUT ? "output limit exceeded"
		                                                   : "file size limit exceeded");
		break;
	case SB_SY:
		if (ob->forbidden_syscall) {
			r->syscall = sb_seccomp_name(run->sysrec.arch, run->sysrec.nr);
			r->message = g_strdup_printf("forbidden syscall %s", r->syscall);
			if (!r->signal)
				r->signal = SIGKILL;
		} else {
			r->message = g_strdup("killed by SIGSYS (a syscall of a foreign ABI?)");
		}
		break;
	case SB_SG:
		r->message = g_strdup_printf("killed by signal %d (%s)", r->signal, g_strsignal(r->signal));
		break;
	case SB_RE:
		if (ob->exec_failed)
			r->message = g_strdup_printf("cannot execute %.*s: %s", (int)sizeof e->what, e->what,
			                             g_strerror(e->err));
		else
			r->message = g_strdup_printf("exited with status %d", r->exitcode);
		break;
	case SB_OK:
		break;
	}
	return true;
}

/* Closes what the run opened and gives the work dir back. */
static void run_finish(struct sb_run *run, bool ok, GError **err)
{
	struct sandbox_result *r = run->r;
	struct box *b = &run->b;
	if (!ok && !r->message && err && *err)
		r->message = g_strdup((*err)->message);
	if (!ok)
		r->status = SB_XX;
	int *fds[] = { &b->stdin_fd, &b->out_r, &b->out_w, &b->err_r, &b->err_w, &b->rep_r, &b->rep_w,
		       &b->life_r, &b->life_w, &b->work_tree, &run->pidfd, &run->out_fd, &run->errf_fd };
	for (size_t i = 0; i < G_N_ELEMENTS(fds); i++)
		sb_close(fds[i]);
	if (run->chowned && fchown(run->work_fd, run->work_st.st_uid, run->work_st.st_gid) < 0)
		log_warn("sandbox: giving back %s: %s", run->o->work_dir, g_strerror(errno));
	sb_close(&run->work_fd);
	g_strfreev(b->exec_paths);
}

bool sandbox_run(const struct sandbox_opts *o, struct sandbox_result *r, GError **err)
{
	struct sb_run run;
	run_init(&run, o, r);
	bool ok = run_check(&run, err) &&
	          run_take_work_dir(&run, err) &&
	          run_slot_root(&run, err) &&
	          run_plan_exec(&run) &&
	          run_open_stdio(&run, err) &&
	          run_netns(&run, err) &&
	          run_cgroups(&run, err) &&
	          run_start_box(&run, err);
	if (ok) {
		run_watch(&run);
		run_collect(&run);
		ok = run_judge(&run, err);
	}
	run_finish(&run, ok, err);
	return ok;
}
