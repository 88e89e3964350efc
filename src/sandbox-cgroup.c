/* sandbox-cgroup: the worker slots' cgroups (v1 memory, pids and cpuacct
 * below the caller's own; or v2 memory and pids), made on a slot's first
 * run and kept until the process exits; the run's limits, the CPU, OOM
 * and peak counters read as differences, the clean-up of slots a killed
 * caller left. See the theory of operation in sandbox.c. */
#define _GNU_SOURCE
#include "sandbox-int.h"
#include "util.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int sb_ncpu(void)
{
	static int n; /* sysconf reads /sys on every call */
	if (!n)
		n = (int)MAX(1, sysconf(_SC_NPROCESSORS_ONLN));
	return n;
}

static struct {
	bool probed;
	enum cg_kind kind;
	char *mem, *pids, *cpu;      /* v1 bases; v2: mem only */
} sb_cg;

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

enum cg_kind sb_cg_probe(void)
{
	if (sb_cg.probed)
		return sb_cg.kind;
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
		return sb_cg.kind;
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
			return sb_cg.kind;
	}
	sb_cg.kind = CG_NONE;
	log_warn("sandbox: no usable cgroup (v1 memory+pids+cpuacct or v2 memory+pids): "
	         "memory is limited by RLIMIT_AS and processes by RLIMIT_NPROC only");
	return sb_cg.kind;
}

/* One slot's cgroups (struct sb_cgslot), made on the slot's first run
 * and kept until the process exits: creating a v1 memory cgroup costs
 * milliseconds, more than the whole rest of a run. Runs of one slot never
 * overlap, and every process of a run is dead when it ends, so the next
 * run finds them empty; counters are read as differences. */
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

void sandbox_release_slot(int slot, uid_t uid_base)
{
	if (slot < 0 || slot > 65535)
		return;
	sb_cg_probe();
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
	g_autofree char *f = g_build_filename(dir, file, NULL);
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
		uint64_t stock = (uint64_t)sb_ncpu() * 64 * 4096;
		if (user > stock + (1u << 20) && pwrite(cg->empty_fd, "0", 1, 0) < 0)
			log_debug("sandbox: memory.force_empty: %s", g_strerror(errno));
	}
	if (cg->peak_fd >= 0 && pwrite(cg->peak_fd, "0", 1, 0) < 0)
		return sb_fail(err, errno, "resetting memory.max_usage_in_bytes: %s", g_strerror(errno));
	return true;
}

/* CPU ms used by the slot's cgroup so far; -1 if unknown. */
int64_t sb_cg_cpu_ms(struct sb_cgslot *cg)
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

struct sb_cgslot *sb_cg_for_run(int slot, uid_t uid, const struct sandbox_opts *o, GError **err)
{
	struct sb_cgslot *cg = sb_cg_slot(slot, uid, err);
	if (!cg || sb_cg_prepare(cg, o, err))
		return cg;
	/* removed under us: another process with the same uid (two instances
	 * sharing a uid range, a misconfiguration) or an admin; make it again
	 * once */
	if (!err || !*err || (*err)->code != ENOENT)
		return NULL;
	log_warn("%s; making the cgroups of uid %u again", (*err)->message, (unsigned)uid);
	g_clear_error(err);
	sb_cg_slot_free(cg, false);
	if (!(cg = sb_cg_slot(slot, uid, err)) || !sb_cg_prepare(cg, o, err))
		return NULL;
	return cg;
}

uint64_t sb_cg_ooms(struct sb_cgslot *cg)
{
	return cg ? sb_pread_key(cg->oom_fd, "oom_kill") : 0;
}

uint64_t sb_cg_peak(struct sb_cgslot *cg)
{
	return cg && cg->peak_fd >= 0 ? sb_pread_key(cg->peak_fd, NULL) : 0;
}

void sb_cg_free_all(void)
{
	for (int i = 0; i < sb_ncgslots; i++)
		if (sb_cgslots[i].made)
			sb_cg_slot_free(&sb_cgslots[i], true);
	g_clear_pointer(&sb_cgslots, g_free);
	sb_ncgslots = 0;
}
