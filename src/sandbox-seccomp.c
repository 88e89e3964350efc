/* sandbox-seccomp: the box's seccomp filter, compiled once per process.
 *
 * libseccomp compiles a denylist (sb_denied, the socket, ioctl and clone
 * rules) with ALLOW as the default. A denylist alone lets through what
 * libseccomp does not know: 2.5.4 names x86_64 numbers up to 456 only,
 * and the kernel has more (statmount 457, listmount 458, mseal 462,
 * open_tree_attr 467, file_setattr 469: new kernel code a student could
 * reach unreviewed). So a hand-written prologue goes in front of
 * libseccomp's exported program: on x86_64, every number above the
 * highest one libseccomp names, and every unnamed hole below it, is
 * denied like a listed call. Numbers with the x32 bit (and negative ones)
 * and foreign architectures fall through to libseccomp's own bad-arch
 * path, SECCOMP_RET_KILL_PROCESS. tests/unit/test_sandbox.c runs the
 * final program for every number and checks the allowed ones against
 * tests/unit/sandbox-allowed-syscalls.txt.
 *
 * Denied calls return SECCOMP_RET_USER_NOTIF: box init reads the number
 * from the listener and ends the box before the call runs (sandbox.c).
 */
#define _GNU_SOURCE
#include "sandbox-int.h"
#include "util.h"
#include "log.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

/* Each entry names the attack it stops. */
const char *const sb_denied[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", /* other boxes' memory */
	"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",  /* chroot/mount escapes */
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"unshare", "setns",                               /* user-ns privilege, ns hopping */
	"keyctl", "add_key", "request_key",               /* kernel keyring is not namespaced */
	"bpf", "perf_event_open",                         /* kernel attack surface, side channels */
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "vhangup",
	"io_uring_setup", "io_uring_enter", "io_uring_register", /* bypasses seccomp, CVE-rich */
	"userfaultfd",                                    /* stalls kernel races open */
	"clock_settime", "clock_adjtime", "adjtimex", "settimeofday", /* host clock */
	"open_by_handle_at", "name_to_handle_at",         /* "shocker" escape */
	"fanotify_init", "iopl", "ioperm", "lookup_dcookie", "uselib",
	"modify_ldt",                                     /* 16-bit segments: old CVEs, no use */
	"sethostname", "setdomainname", "nfsservctl",
	NULL
};

static struct sock_fprog sb_filter;
static int sb_max_known = -1;

/* Numbers above 1023 are not in any kernel yet; the prologue denies them
 * anyway (everything above the highest known number). */
#define SB_SCAN_NR 1024

int sb_seccomp_max_known(void)
{
	return sb_max_known;
}

char *sb_seccomp_name(uint32_t arch, int nr)
{
	char *nm = seccomp_syscall_resolve_num_arch(arch, nr);
	char *res = nm ? g_strdup(nm) : g_strdup_printf("unknown %d", nr);
	free(nm);
	return res;
}

/* libseccomp's denylist, exported as raw BPF. */
static GByteArray *sb_compile_denylist(GError **err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		sb_fail(err, ENOMEM, "seccomp_init failed");
		return NULL;
	}
	/* foreign ABIs (int 0x80, x32): the whole ABI is denied; libseccomp's
	 * x86_64 filter sends x32 numbers to the bad-arch action too */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
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
		/* a name this libseccomp does not know has no number it knows
		 * either: the prologue denies it */
		if (nr != __NR_SCMP_ERROR)
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
		sb_fail(err, -rc, "building the seccomp filter: %s", g_strerror(-rc));
		return NULL;
	}
	int fd = memfd_create("sercom-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		seccomp_release(ctx);
		sb_fail(err, errno, "memfd_create: %s", g_strerror(errno));
		return NULL;
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
		sb_fail(err, rc ? -rc : EINVAL, "exporting the seccomp filter failed");
		return NULL;
	}
	return bpf;
}

#define INSN(code, k) ((struct sock_filter)BPF_STMT((code), (k)))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP((code), (k), (jt), (jf)))

/* The prologue: unknown x86_64 numbers to USER_NOTIF, the rest on to the
 * program that follows it (L below). NULL if libseccomp's table has too
 * many holes for 8-bit jumps. */
static GArray *sb_prologue(void)
{
	/* the holes: runs of numbers below the highest known one that
	 * libseccomp cannot name (335-423 on x86_64) */
	struct hole { int lo, hi; };
	GArray *holes = g_array_new(FALSE, FALSE, sizeof(struct hole));
	int max = -1, lo = -1;
	for (int nr = 0; nr < SB_SCAN_NR; nr++) {
		char *nm = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
		if (nm && lo >= 0) {
			struct hole h = { lo, nr - 1 };
			g_array_append_val(holes, h);
			lo = -1;
		} else if (!nm && lo < 0) {
			lo = nr;
		}
		if (nm)
			max = nr;
		free(nm);
	}
	sb_max_known = max;
	/* every jump must reach L within 255 instructions */
	guint nh = holes->len;
	if (nh > 100) {
		g_array_free(holes, TRUE);
		return NULL;
	}
	GArray *p = g_array_new(FALSE, FALSE, sizeof(struct sock_filter));
	const guint after = 5 + 2 * nh + 1; /* index of L */
	const guint deny = after - 1;
	struct sock_filter f[] = {
		INSN(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, (uint8_t)(after - 2)),
		INSN(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* x32 numbers (and negative ones): libseccomp's bad-arch action */
		JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, (uint8_t)(after - 4), 0),
		JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max, (uint8_t)(deny - 5), (uint8_t)(nh ? 0 : after - 5)),
	};
	g_array_append_vals(p, f, G_N_ELEMENTS(f));
	for (guint i = 0; i < nh; i++) {
		const struct hole *h = &g_array_index(holes, struct hole, i);
		guint at = p->len; /* of the JGE */
		/* below this hole: below the later ones too */
		struct sock_filter two[] = {
			JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)h->lo, 0, (uint8_t)(after - at - 1)),
			JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)h->hi, (uint8_t)(i + 1 < nh ? 0 : after - at - 2),
			     (uint8_t)(deny - at - 2)),
		};
		g_array_append_vals(p, two, 2);
	}
	struct sock_filter ret = INSN(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	g_array_append_val(p, ret);
	g_assert(p->len == after);
	g_array_free(holes, TRUE);
	return p;
}

const struct sock_fprog *sb_seccomp_filter(GError **err)
{
	if (sb_filter.filter)
		return &sb_filter;
	GByteArray *bpf = sb_compile_denylist(err);
	if (!bpf)
		return NULL;
	GArray *p = sb_prologue();
	if (!p) {
		g_byte_array_unref(bpf);
		sb_fail(err, E2BIG, "libseccomp's syscall table has too many holes");
		return NULL;
	}
	g_array_append_vals(p, bpf->data, bpf->len / sizeof(struct sock_filter));
	g_byte_array_unref(bpf);
	if (p->len > BPF_MAXINSNS) {
		g_array_free(p, TRUE);
		sb_fail(err, E2BIG, "the seccomp filter has too many instructions");
		return NULL;
	}
	sb_filter.len = (unsigned short)p->len;
	sb_filter.filter = (struct sock_filter *)(void *)g_array_free(p, FALSE);
	return &sb_filter;
}
