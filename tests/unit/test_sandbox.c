/* test_sandbox: the sandbox module in-process, as the runner uses it:
 * several runs in one slot (the slot's cgroups and netns are reused, so
 * the CPU, OOM and peak counters must be per run, and nothing a run left
 * in the netns may reach the next), status names, meta; without root: the
 * verdict's precedence, and the seccomp program run in a classic-BPF
 * interpreter for every syscall number. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sandbox-int.h"
#include "util.h"
#include "log.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static char *work;
static uid_t uid_base = 60000; /* SERCOM_UID_BASE: this checkout's range */

/* A file of the checkout: under $SERCOM_TOP, else the current dir (make
 * runs the tests from the top). */
static char *repo_file(const char *rel)
{
	const char *top = g_getenv("SERCOM_TOP");
	return g_build_filename(top ? top : ".", rel, NULL);
}

static char *cg_dir(const char *ctl, int slot)
{
	return g_strdup_printf("/sys/fs/cgroup/%s/sercom-box-%u", ctl, (unsigned)(uid_base + (uid_t)slot));
}

static void run_sh(const char *script, struct sandbox_opts *o, struct sandbox_result *r)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	o->argv = argv;
	o->work_dir = work;
	o->slot = 41;
	o->uid_base = uid_base;
	GError *err = NULL;
	bool ok = sandbox_run(o, r, &err);
	if (!ok)
		print_error("sandbox_run: %s\n", err ? err->message : "?");
	assert_true(ok);
	g_clear_error(&err);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(sandbox_status_name(SB_OK), "OK");
	assert_string_equal(sandbox_status_name(SB_ML), "ML");
	assert_string_equal(sandbox_status_name(SB_XX), "XX");
	assert_string_equal(sandbox_status_name((enum sandbox_status)99), "XX");
}

static void test_defaults(void **state)
{
	(void)state;
	struct sandbox_opts o;
	sandbox_opts_init(&o, SB_PROFILE_RUN);
	assert_int_equal(o.uid_base, 60000);
	assert_false(o.fresh_netns);
	assert_int_equal(o.cpu_ms, 2000);
	assert_int_equal(o.procs, 1);
	sandbox_opts_init(&o, SB_PROFILE_BUILD);
	assert_true(o.procs > 1);
	assert_true(o.memory >= (512u << 20));
}

/* OK, ML, OK, TO, OK in one slot: counters do not leak between runs */
static void test_slot_reuse(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	struct sandbox_opts o;
	struct sandbox_result r;

	sandbox_opts_init(&o, SB_PROFILE_RUN);
	o.procs = 8;
	run_sh("exit 0", &o, &r);
	assert_int_equal(r.status, SB_OK);
	sandbox_result_clear(&r);

	o.memory = 64u << 20;
	/* dd touches its whole 200 MB buffer */
	run_sh("dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null", &o, &r);
	assert_int_equal(r.status, SB_ML);
	sandbox_result_clear(&r);

	run_sh("exit 0", &o, &r);
	assert_int_equal(r.status, SB_OK); /* the OOM counter is per run */
	assert_true(r.max_rss_kib < (64u << 10));
	sandbox_result_clear(&r);

	o.cpu_ms = 300;
	run_sh("while :; do :; done", &o, &r);
	assert_int_equal(r.status, SB_TO);
	assert_true(r.cpu_ms >= 300);
	sandbox_result_clear(&r);

	run_sh("exit 0", &o, &r);
	assert_int_equal(r.status, SB_OK); /* the CPU counter is per run */
	assert_true(r.cpu_ms < 300);
	sandbox_result_clear(&r);

	/* the slot's pids cgroup removed behind our back: made again */
	g_autofree char *pids = cg_dir("pids", 41);
	if (rmdir(pids) == 0) {
		o.procs = 9;
		run_sh("exit 0", &o, &r);
		assert_int_equal(r.status, SB_OK);
		sandbox_result_clear(&r);
	}

	run_sh("exit 5", &o, &r);
	assert_int_equal(r.status, SB_RE);
	assert_int_equal(r.exitcode, 5);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	sandbox_print_meta(f, &r);
	fclose(f);
	assert_non_null(strstr(buf, "status:RE\n"));
	assert_non_null(strstr(buf, "exitcode:5\n"));
	free(buf);
	sandbox_result_clear(&r);
}

/* a supervisor's clean-up of a slot: the dirs go, the next run makes them */
static void test_release_slot(void **state)
{
	(void)state;
	if (geteuid() != 0 || access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) != 0) {
		skip();
		return;
	}
	struct sandbox_opts o;
	struct sandbox_result r;
	sandbox_opts_init(&o, SB_PROFILE_RUN);
	run_sh("exit 0", &o, &r);
	sandbox_result_clear(&r);
	g_autofree char *pids = cg_dir("pids", 41);
	g_autofree char *cpu = cg_dir("cpuacct", 41);
	assert_int_equal(access(pids, F_OK), 0);
	sandbox_release_slot(41, uid_base);
	assert_int_not_equal(access(pids, F_OK), 0);
	run_sh("exit 0", &o, &r);
	assert_int_equal(r.status, SB_OK);
	sandbox_result_clear(&r);
	sandbox_release_slot(41, uid_base);
	assert_int_not_equal(access(cpu, F_OK), 0);
}

static void test_sandbox_error(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	struct sandbox_opts o;
	struct sandbox_result r;
	sandbox_opts_init(&o, SB_PROFILE_RUN);
	char *argv[] = { "/bin/true", NULL };
	o.argv = argv;
	o.work_dir = "/nonexistent/work";
	GError *err = NULL;
	assert_false(sandbox_run(&o, &r, &err));
	assert_int_equal(r.status, SB_XX);
	assert_non_null(err);
	assert_non_null(r.message);
	g_clear_error(&err);
	sandbox_result_clear(&r);
}

/* ---- the verdict: every pair of sandbox.h's order ------------------------- */

/* What an observation sets, so that two conditions combined do not
 * overwrite each other. */
enum { F_SETUP = 1, F_KILLED = 2, F_EXITED = 4, F_SIGNAL = 8, F_CPU = 16, F_OOMS = 32,
       F_SYSCALL = 64, F_EXEC = 128, F_EXITCODE = 256 };
struct cond {
	const char *what;
	unsigned fields;
	void (*set)(struct sb_observed *);
};
static void c_setup(struct sb_observed *o) { o->setup_failed = true; }
static void c_cancel(struct sb_observed *o) { o->killed = SB_KILL_CANCEL; }
static void c_noreport(struct sb_observed *o) { o->exited = false; }
static void c_kill_cpu(struct sb_observed *o) { o->killed = SB_KILL_CPU; }
static void c_sigxcpu(struct sb_observed *o) { o->signal = SIGXCPU; }
static void c_cpu_over(struct sb_observed *o) { o->cpu_ms = o->cpu_limit_ms + 1; }
static void c_kill_wall(struct sb_observed *o) { o->killed = SB_KILL_WALL; }
static void c_oom(struct sb_observed *o) { o->ooms = 1; }
static void c_kill_output(struct sb_observed *o) { o->killed = SB_KILL_OUTPUT; }
static void c_sigxfsz(struct sb_observed *o) { o->signal = SIGXFSZ; }
static void c_syscall(struct sb_observed *o) { o->forbidden_syscall = true; }
static void c_sigsys(struct sb_observed *o) { o->signal = SIGSYS; }
static void c_sigsegv(struct sb_observed *o) { o->signal = SIGSEGV; }
static void c_sigkill(struct sb_observed *o) { o->signal = SIGKILL; }
static void c_exec(struct sb_observed *o) { o->exec_failed = true; }
static void c_exitcode(struct sb_observed *o) { o->exitcode = 3; }

static void test_verdict_precedence(void **state)
{
	(void)state;
	/* sandbox.h's order, and each status's ways of being observed */
	static const struct {
		enum sandbox_status st;
		struct cond c[3];
	} order[] = {
		{ SB_XX, { { "setup error", F_SETUP, c_setup }, { "cancel", F_KILLED, c_cancel },
		           /* no report matters only when the box was not killed */
		           { "no report", F_EXITED | F_KILLED | F_SYSCALL, c_noreport } } },
		{ SB_TO, { { "CPU kill", F_KILLED, c_kill_cpu }, { "SIGXCPU", F_SIGNAL, c_sigxcpu },
		           { "CPU over", F_CPU, c_cpu_over } } },
		{ SB_WT, { { "wall kill", F_KILLED, c_kill_wall } } },
		{ SB_ML, { { "OOM kill", F_OOMS, c_oom } } },
		{ SB_OL, { { "output kill", F_KILLED, c_kill_output }, { "SIGXFSZ", F_SIGNAL, c_sigxfsz } } },
		{ SB_SY, { { "notified", F_SYSCALL, c_syscall }, { "SIGSYS", F_SIGNAL, c_sigsys } } },
		{ SB_SG, { { "SIGSEGV", F_SIGNAL, c_sigsegv }, { "SIGKILL", F_SIGNAL, c_sigkill } } },
		{ SB_RE, { { "exec error", F_EXEC, c_exec }, { "exit 3", F_EXITCODE, c_exitcode } } },
	};
	const struct sb_observed base = { .exited = true, .cpu_limit_ms = 1000, .cpu_ms = 10 };
	assert_int_equal(sb_verdict(&base), SB_OK);
	size_t n = G_N_ELEMENTS(order);
	for (size_t i = 0; i < n; i++) {
		for (const struct cond *a = order[i].c; a < order[i].c + 3 && a->set; a++) {
			struct sb_observed ob = base;
			a->set(&ob);
			if (sb_verdict(&ob) != order[i].st)
				fail_msg("%s alone: %s", a->what, sandbox_status_name(sb_verdict(&ob)));
		}
		/* every later status: observed together, the earlier one wins */
		for (size_t j = i + 1; j < n; j++) {
			int combos = 0;
			for (const struct cond *a = order[i].c; a < order[i].c + 3 && a->set; a++)
				for (const struct cond *b = order[j].c; b < order[j].c + 3 && b->set; b++) {
					if (a->fields & b->fields)
						continue;
					struct sb_observed ob = base;
					b->set(&ob);
					a->set(&ob);
					if (sb_verdict(&ob) != order[i].st)
						fail_msg("%s with %s: %s, not %s", a->what, b->what,
						         sandbox_status_name(sb_verdict(&ob)),
						         sandbox_status_name(order[i].st));
					combos++;
				}
			if (combos == 0)
				fail_msg("no way to observe %s with %s", sandbox_status_name(order[i].st),
				         sandbox_status_name(order[j].st));
		}
	}
}

/* ---- the seccomp program, run in userspace -------------------------------- */

/* A classic-BPF interpreter (what the kernel runs for seccomp). */
static uint32_t bpf_run(const struct sock_fprog *p, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	for (unsigned pc = 0; pc < p->len; pc++) {
		const struct sock_filter *f = &p->filter[pc];
		uint32_t k = f->k, v = BPF_SRC(f->code) == BPF_X ? x : k;
		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t val = 0;
			if (BPF_MODE(f->code) == BPF_ABS) {
				assert_true(k % 4 == 0 && k + 4 <= sizeof *d);
				memcpy(&val, (const char *)d + k, 4);
			} else if (BPF_MODE(f->code) == BPF_IMM) {
				val = k;
			} else if (BPF_MODE(f->code) == BPF_MEM) {
				assert_true(k < BPF_MEMWORDS);
				val = mem[k];
			} else if (BPF_MODE(f->code) == BPF_LEN) {
				val = sizeof *d;
			} else {
				fail_msg("load mode %#x", f->code);
			}
			*(BPF_CLASS(f->code) == BPF_LD ? &a : &x) = val;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			assert_true(k < BPF_MEMWORDS);
			mem[k] = BPF_CLASS(f->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD: a += v; break;
			case BPF_SUB: a -= v; break;
			case BPF_MUL: a *= v; break;
			case BPF_DIV: assert_true(v != 0); a /= v; break;
			case BPF_AND: a &= v; break;
			case BPF_OR: a |= v; break;
			case BPF_XOR: a ^= v; break;
			case BPF_LSH: a <<= v; break;
			case BPF_RSH: a >>= v; break;
			case BPF_NEG: a = -a; break;
			default: fail_msg("alu op %#x", f->code);
			}
			break;
		case BPF_JMP:
			if (BPF_OP(f->code) == BPF_JA) {
				pc += k;
				break;
			}
			bool t = false;
			switch (BPF_OP(f->code)) {
			case BPF_JEQ: t = a == v; break;
			case BPF_JGT: t = a > v; break;
			case BPF_JGE: t = a >= v; break;
			case BPF_JSET: t = (a & v) != 0; break;
			default: fail_msg("jump op %#x", f->code);
			}
			pc += t ? f->jt : f->jf;
			break;
		case BPF_RET:
			return BPF_RVAL(f->code) == BPF_A ? a : k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		default:
			fail_msg("class %#x", f->code);
		}
	}
	fail_msg("the program ran off its end");
	return 0;
}

static uint32_t action(const struct sock_fprog *p, uint32_t arch, uint32_t nr, uint64_t a0, uint64_t a1)
{
	struct seccomp_data d = { .nr = (int)nr, .arch = arch, .args = { a0, a1 } };
	return bpf_run(p, &d) & SECCOMP_RET_ACTION_FULL;
}

/* Allowed for some arguments: those a rule tests (socket's family,
 * ioctl's request, clone's flags) at a harmless and at a zero value. */
static bool allowed(const struct sock_fprog *p, uint32_t nr)
{
	return action(p, AUDIT_ARCH_X86_64, nr, 0, 0) == SECCOMP_RET_ALLOW ||
	       action(p, AUDIT_ARCH_X86_64, nr, AF_UNIX, 1) == SECCOMP_RET_ALLOW;
}

static void test_seccomp_program(void **state)
{
	(void)state;
	GError *err = NULL;
	const struct sock_fprog *p = sb_seccomp_filter(&err);
	assert_non_null(p);
	int max = sb_seccomp_max_known();
	assert_true(max >= 334 && max < 1023);

	/* the reviewed list: "NR NAME" lines */
	g_autofree char *path = repo_file("tests/unit/sandbox-allowed-syscalls.txt");
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		text = g_strdup("");
	char *names[1024] = { NULL };
	char **lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		unsigned nr;
		char nm[64];
		if (**l != '#' && sscanf(*l, "%u %63s", &nr, nm) == 2 && nr < 1024)
			names[nr] = g_strdup(nm);
	}
	g_strfreev(lines);
	GString *missing = g_string_new(NULL);
	int nallowed = 0;
	for (uint32_t nr = 0; nr < 1024; nr++) {
		/* x32 numbers and foreign ABIs: the whole ABI is killed */
		if (action(p, AUDIT_ARCH_X86_64, nr | 0x40000000u, 0, 0) != SECCOMP_RET_KILL_PROCESS)
			fail_msg("x32 %u is not killed", nr);
		if (action(p, AUDIT_ARCH_I386, nr, 0, 0) != SECCOMP_RET_KILL_PROCESS)
			fail_msg("i386 %u is not killed", nr);
		if (!allowed(p, nr))
			continue;
		nallowed++;
		char *nm = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, (int)nr);
		if (!nm || !names[nr] || strcmp(nm, names[nr]) != 0)
			g_string_append_printf(missing, "%u %s\n", nr, nm ? nm : "(no name)");
		free(nm);
	}
	if (missing->len) {
		/* the whole list: cmocka cuts long failure messages */
		print_message("allowed but not on %s (the reviewed list):\n", path);
		char **ml = g_strsplit(missing->str, "\n", -1);
		for (char **l = ml; *l; l++)
			if (**l)
				print_message("%s\n", *l);
		g_strfreev(ml);
		fail_msg("allowed syscalls not on the reviewed list");
	}
	g_string_free(missing, TRUE);
	for (int i = 0; i < 1024; i++)
		g_free(names[i]);
	assert_true(nallowed > 250); /* the list is not vacuous */

	/* the denylist, by name */
	for (const char *const *n = sb_denied; *n; n++) {
		int nr = seccomp_syscall_resolve_name(*n);
		if (nr >= 0 && allowed(p, (uint32_t)nr))
			fail_msg("%s (%d) is allowed", *n, nr);
	}
	/* what libseccomp 2.5.4 cannot name: statmount, listmount, mseal,
	 * open_tree_attr, file_setattr; the hole; past the highest known
	 * number, to the x32 bit. Denied as SY (USER_NOTIF), not allowed. */
	static const uint32_t unknown[] = { 457, 458, 462, 467, 469, 335, 423, 1000, 100000, 0x3fffffffu };
	for (size_t i = 0; i < G_N_ELEMENTS(unknown); i++)
		if (action(p, AUDIT_ARCH_X86_64, unknown[i], 0, 0) != SECCOMP_RET_USER_NOTIF)
			fail_msg("%u is not denied as SY", unknown[i]);
	for (uint32_t nr = (uint32_t)max + 1; nr < 1024; nr++)
		assert_false(allowed(p, nr));
	for (uint32_t nr = 0; nr < 1024; nr++) {
		char *nm = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, (int)nr);
		if (!nm && action(p, AUDIT_ARCH_X86_64, nr, 0, 0) != SECCOMP_RET_USER_NOTIF)
			fail_msg("unnamed %u is not denied", nr);
		free(nm);
	}
	/* the argument rules */
	assert_int_equal(action(p, AUDIT_ARCH_X86_64, SCMP_SYS(socket), AF_INET, 0), SECCOMP_RET_USER_NOTIF);
	assert_int_equal(action(p, AUDIT_ARCH_X86_64, SCMP_SYS(socket), AF_UNIX, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(action(p, AUDIT_ARCH_X86_64, SCMP_SYS(ioctl), 0, TIOCSTI), SECCOMP_RET_USER_NOTIF);
	assert_int_equal(action(p, AUDIT_ARCH_X86_64, SCMP_SYS(clone), CLONE_NEWUSER, 0), SECCOMP_RET_USER_NOTIF);
	assert_int_equal(action(p, AUDIT_ARCH_X86_64, SCMP_SYS(clone3), 0, 0), SECCOMP_RET_ERRNO);
	/* an unknown architecture: killed */
	assert_int_equal(action(p, 0, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
}

/* ---- a socket left in the slot's netns never reaches a later run ---------- */

static void run_prog(int slot, char *const *argv, const char *in, const char *out, struct sandbox_result *r)
{
	struct sandbox_opts o;
	sandbox_opts_init(&o, SB_PROFILE_RUN);
	o.argv = argv;
	o.work_dir = work;
	o.slot = slot;
	o.uid_base = uid_base;
	o.stdin_path = in;
	o.stdout_path = out;
	GError *err = NULL;
	if (!sandbox_run(&o, r, &err))
		fail_msg("sandbox_run: %s", err ? err->message : "?");
}

static void test_abstract_leak(void **state)
{
	(void)state;
	g_autofree char *src = repo_file("tests/hostile/abstract_leak.c");
	g_autofree char *prog = g_build_filename(work, "abstract_leak", NULL);
	g_autofree char *cmd = g_strdup_printf("gcc -O2 -o '%s' '%s' 2>/dev/null", prog, src);
	if (geteuid() != 0 || system(cmd) != 0) {
		skip();
		return;
	}
	g_autofree char *in = g_build_filename(work, "..", "test-sandbox-secret.in", NULL);
	g_autofree char *out = g_build_filename(work, "..", "test-sandbox-probe.out", NULL);
	g_assert(g_file_set_contents(in, "private-case-input", -1, NULL));
	struct sandbox_result r;
	char *plant[] = { "/work/abstract_leak", NULL };
	/* the slot's netns is made on its first run: the plant's run */
	run_prog(43, plant, in, NULL, &r);
	assert_int_equal(r.status, SB_OK);
	sandbox_result_clear(&r);
	/* the next run of that slot, and a run of another slot, in this
	 * process (as the runner's worker runs case after case) */
	char *probe[] = { "/work/abstract_leak", "probe", "private-case-input", NULL };
	for (int slot = 43; slot <= 44; slot++) {
		run_prog(slot, probe, NULL, out, &r);
		g_autofree char *seen = NULL;
		g_file_get_contents(out, &seen, NULL, NULL);
		if (r.status != SB_OK || !seen || strstr(seen, "private-case-input"))
			fail_msg("slot %d: %s exit %d: %s", slot, sandbox_status_name(r.status), r.exitcode,
			         seen ? seen : "");
		assert_string_equal(seen, "free\n");
		sandbox_result_clear(&r);
	}
	unlink(in);
	unlink(out);
	unlink(prog);
}

int main(void)
{
	log_init("test_sandbox", false, false);
	const char *ub = g_getenv("SERCOM_UID_BASE");
	if (ub && atoi(ub) > 0)
		uid_base = (uid_t)atoi(ub);
	work = g_dir_make_tmp("test-sandbox-XXXXXX", NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_slot_reuse),
		cmocka_unit_test(test_release_slot),
		cmocka_unit_test(test_sandbox_error),
		cmocka_unit_test(test_verdict_precedence),
		cmocka_unit_test(test_seccomp_program),
		cmocka_unit_test(test_abstract_leak),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	sandbox_cleanup();
	util_rm_rf(work);
	g_free(work);
	return rc;
}
