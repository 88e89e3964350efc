#!/bin/bash
# 31-hostile: every attack program of tests/hostile/ gets its verdict from
# sercom-sandbox, then the host is checked: no stray process of the sandbox
# uids, no leftover mount, cgroup or temp dir, and this script's own
# processes unharmed. Also: the compile bomb pair ends as a failed build,
# and killing sercom-sandbox with SIGKILL leaves nothing running.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
SB="$SERCOM_BIN/sercom-sandbox"
[ -x "$SB" ] || skip_all "no $SB"
# the uid range of this checkout: other suites may run boxes at the same time
UB=${SERCOM_UID_BASE:-60000}
# sb ARGS...: the meta file named by --meta is removed first, so a run
# that writes none is not read as the previous run's
sb() {
	local a prev=
	for a; do [ "$prev" = --meta ] && rm -f "$a"; prev=$a; done
	"$SB" --uid-base "$UB" "$@"
}
command -v gcc >/dev/null || skip_all "no gcc"
tmpdir
H="$SERCOM_TOP/tests/hostile"
SLOT=11; UID_BOX=$((UB + SLOT))

tmp_before=$(ls -d /tmp/sercom-sandbox-* 2>/dev/null | wc -l)
# a bystander of the test's own uid: kill(-1) in a box must not reach it
sleep 300 & bystander=$!

mkdir -p "$T/w" "$T/bin"
for f in "$H"/*.c; do
	n=$(basename "$f" .c)
	case $n in compile-bomb*) continue ;; esac
	# an attack that does not compile tests nothing: a failure
	ok "$n compiles" gcc -O0 -pthread -o "$T/bin/$n" "$f" 2>"$T/$n.cc" ||
		sed "s/^/#   /" "$T/$n.cc" | head -3
done

# listener of the abstract socket in another box (slot SLOT+1)
cat > "$T/listen.c" <<'C'
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, "\0sercom-hostile", 15);
	if (bind(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 15) < 0) return 1;
	listen(s, 8);
	for (;;) { int c = accept(s, 0, 0); if (c >= 0) { write(c, "pwned", 5); close(c); } }
}
C
gcc -o "$T/w/listen" "$T/listen.c"
mkdir -p "$T/w2" && mv "$T/w/listen" "$T/w2/"
"$SB" --uid-base "$UB" --slot $((SLOT + 1)) --dir "$T/w2" --wall 120 --meta "$T/listen.meta" -- ./listen 2>/dev/null &
listener=$!

for f in "$H"/*.c; do
	n=$(basename "$f" .c)
	case $n in compile-bomb*) continue ;; esac
	exp=$(sed -n '1s/.*expect: \([A-Z|]*\).*/\1/p' "$f")
	opts=$(sed -n '2s/.*opts: \(.*\) \*\//\1/p' "$f")
	cp "$T/bin/$n" "$T/w/$n" 2>/dev/null || echo "# $n: not built"
	start=$(date +%s%N)
	# shellcheck disable=SC2086
	sb --slot $SLOT --dir "$T/w" --meta "$T/meta" $opts -- "./$n" >/dev/null 2>"$T/err"
	rc=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	st=$(sed -n 's/^status://p' "$T/meta")
	extra=$(grep -E '^(syscall|message):' "$T/meta" | tr '\n' ' ')
	ok "$n: expect $exp, got $st (exit $rc, ${ms} ms) $extra" \
		bash -c "[ $rc = 0 ] && [[ '$st' =~ ^($exp)\$ ]]"
	# a program that names its call must die at that call, not at another
	# denied one on its way
	want=$(sed -n '1,4s/.*syscall: \([a-z0-9_]*\) \*\//\1/p' "$f" | head -1)
	[ -z "$want" ] || is "$(sed -n 's/^syscall://p' "$T/meta")" "$want" "$n: stopped at $want"
	rm -f "$T/w/$n"
done

# unknown syscalls: numbers libseccomp 2.5.4 cannot name (statmount,
# listmount, mseal, open_tree_attr, file_setattr), a hole of its table and
# numbers no kernel has: SY, named by number, and the call never ran. (Not
# 335 or 336: the kernel passes uretprobe and uprobe by every seccomp
# filter, and they raise SIGILL outside a probe trampoline.)
cp "$T/bin/unknown_syscalls" "$T/w/"
for nr in 457 458 462 467 469 400 1000 100000; do
	sb --slot $SLOT --dir "$T/w" --meta "$T/meta" -- ./unknown_syscalls $nr >/dev/null 2>&1
	is "$(sed -n 's/^status://p' "$T/meta"):$(sed -n 's/^syscall://p' "$T/meta")" "SY:unknown $nr" \
		"unknown syscall $nr: SY"
done

# stdin is never a host fd: the link names no host path, the input reads
# back after a seek, and cannot be written
cp "$T/bin/stdin_readlink" "$T/w/"
printf 'private input of case 07\n' > "$T/case-07.in"
sb --slot $SLOT --dir "$T/w" --stdin "$T/case-07.in" --stdout "$T/out" --meta "$T/meta" -- ./stdin_readlink 2>/dev/null
is "$(sed -n 's/^status://p' "$T/meta")" OK "stdin_readlink ran"
like "$(sed -n 's/^link //p' "$T/out")" '^(/memfd:|pipe:)' "stdin is a copy or a pipe: $(sed -n 's/^link //p' "$T/out")"
ok "readlink of stdin names no host path" bash -c "! grep -qE '$T|case-07' '$T/out'"
is "$(sed -n 's/^seek //p' "$T/out"):$(sed -n 's/^write //p' "$T/out")" "ok:no" "stdin reads back after a seek, and is not writable"
is "$(cat "$T/case-07.in")" "private input of case 07" "the case's input is unchanged"

# the abstract socket left in flight to itself (a garbage cycle): a later
# run of the slot, and a run of another slot, find the name free. (Each
# sercom-sandbox is a process of its own; test_sandbox runs the same in
# one process, as the runner does.)
cp "$T/bin/abstract_leak" "$T/w/"
printf 's3cret-input' > "$T/secret.in"
sb --slot $SLOT --dir "$T/w" --stdin "$T/secret.in" --meta "$T/meta" -- ./abstract_leak 2>/dev/null
is "$(sed -n 's/^status://p' "$T/meta")" OK "abstract_leak planted its socket"
for s in $SLOT $((SLOT + 3)); do
	sb --slot $s --dir "$T/w" --stdout "$T/out" --meta "$T/meta" -- ./abstract_leak probe s3cret-input 2>/dev/null
	is "$(sed -n 's/^status://p' "$T/meta"):$(tail -1 "$T/out")" "OK:free" "slot $s: the leaked name is free"
done
rm -f "$T/w/unknown_syscalls" "$T/w/stdin_readlink" "$T/w/abstract_leak"

# host-side effects of some attacks
ok "symlink_host: the link exists only inside the work dir" test -L "$T/w/link"
ok "sparse_file: no 2 GB file on the host" bash -c "[ \$(stat -c %s '$T/w/sparse' 2>/dev/null || echo 0) -le $((10 << 20)) ]"
ok "write_outside: nothing written to the host's /usr or /" bash -c '! [ -e /usr/x ] && ! [ -e /x ]'

# compile bombs: build profile, bounded by the build limits (the 120 s
# bound only guards against a hang: the 40 s wall limit ends it first)
for b in compile-bomb-zero compile-bomb-recursive; do
	mkdir -p "$T/b/$b" && cp "$H/$b.c" "$T/b/$b/bomb.c"
	start=$(date +%s)
	sb --profile build --slot $SLOT --dir "$T/b/$b" --mem 256M --cpu 20 --wall 40 \
		--meta "$T/meta" --stderr "$T/b/$b.err" -- gcc -c bomb.c -o bomb.o >/dev/null 2>&1
	rc=$?; secs=$(( $(date +%s) - start ))
	st=$(sed -n 's/^status://p' "$T/meta")
	ok "$b: a failed build (status $st, exit $rc, ${secs}s)" \
		bash -c "[ $rc = 0 ] && [ '$st' != OK ] && [ '$st' != XX ] && [ $secs -le 120 ] && ! [ -e '$T/b/$b/bomb.o' ]"
done

# SIGKILL of sercom-sandbox: PR_SET_PDEATHSIG takes the namespace down
KSLOT=$((SLOT + 2)); KUID=$((UB + KSLOT))
mkdir -p "$T/k"
"$SB" --uid-base "$UB" --slot $KSLOT --dir "$T/k" --wall 60 --procs 4 -- /bin/sh -c 'sleep 100 & sleep 100; wait' >/dev/null 2>&1 &
kpid=$!
for i in $(seq 50); do pgrep -u $KUID >/dev/null && break; sleep 0.1; done
ok "the box of the killed caller was running" bash -c "pgrep -u $KUID >/dev/null"
kill -9 $kpid; wait $kpid 2>/dev/null
for i in $(seq 50); do pgrep -u $KUID >/dev/null || break; sleep 0.1; done
ok "SIGKILL of sercom-sandbox leaves no process of the box" bash -c "! pgrep -u $KUID"
# its cgroup (with the run profile's limits) is reused by the next run of
# the same slot, here with larger limits, and removed when that one exits
sb --profile build --slot $KSLOT --dir "$T/k" --meta "$T/meta" -- /bin/true 2>/dev/null
is "$?:$(sed -n 's/^status://p' "$T/meta")" "0:OK" "the next run of that slot reuses the stale cgroup with new limits"
ok "... and removes it at exit" \
	bash -c "[ -z \"\$(find /sys/fs/cgroup -maxdepth 6 -name 'sercom-box-$KUID' 2>/dev/null)\" ]"

# the listener box: killed through its caller
kill $listener; wait $listener; lrc=$?
is "$lrc" 2 "SIGTERM of sercom-sandbox: the box is cancelled (exit 2, status XX)"

# only this script's uids: other tests may run boxes at the same time
ok "no stray process of the sandbox uids" bash -c "! ps -eo uid= | awk '\$1 >= $UID_BOX && \$1 <= $((KUID + 1)) {f=1} END {exit !f}'"
ok "no leftover cgroup" bash -c "[ -z \"\$(find /sys/fs/cgroup -maxdepth 6 \\( -name sercom-box-$UID_BOX -o -name sercom-box-$((UID_BOX + 1)) -o -name sercom-box-$KUID -o -name sercom-box-$((KUID + 1)) \\) 2>/dev/null)\" ]"
# the box root tmpfs is named sercom-box; other tests may mount their own
ok "no leftover mount" bash -c "! grep -E 'sercom-box|$T' /proc/self/mountinfo /proc/1/mountinfo"
is "$(ls -d /tmp/sercom-sandbox-* 2>/dev/null | wc -l)" "$tmp_before" "no leftover temp dir"
ok "this suite's own processes survived kill(-1)" kill -0 $bystander
kill $bystander
done_testing
