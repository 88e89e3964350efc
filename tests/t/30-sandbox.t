#!/bin/bash
# 30-sandbox: sercom-sandbox's contract (docs/ARCHITECTURE.md section 2): meta lines,
# captured and capped output, stdin, exit codes, the build profile with gcc
# and make, XX with exit 2 for errors of the sandbox itself, two slots at
# once.
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
tmpdir
W="$T/w"; mkdir -p "$W"
SLOT=21
# /bin/sh forks: run-profile default is one process
P="--procs 8"
meta() { sed -n "s/^$1://p" "$T/meta"; }

ok "--version" bash -c "'$SB' --version | grep -q 'sercom-sandbox'"
ok "--help" bash -c "'$SB' --help | grep -q -- '--profile'"
sb >/dev/null 2>&1; is "$?" 64 "no program: usage error 64"

# a plain program, stdout and stderr captured, meta to a file
sb --slot $SLOT --dir "$W" --stdout "$T/out" --stderr "$T/err" --meta "$T/meta" -- \
	/bin/sh -c 'echo hello; echo oops >&2; exit 0'
is "$?" 0 "exit 0 when the program ran"
is "$(meta status)" OK "status OK"
is "$(cat "$T/out")" hello "stdout captured"
is "$(cat "$T/err")" oops "stderr captured"
is "$(meta stdout-bytes)" 6 "stdout-bytes"
is "$(meta stderr-bytes)" 5 "stderr-bytes"
like "$(cat "$T/meta")" 'time:[0-9]+' "time in the meta lines"
like "$(cat "$T/meta")" 'time-wall:[0-9]+' "time-wall"
like "$(cat "$T/meta")" 'max-rss:[1-9][0-9]*' "max-rss"

# stdin, the environment, the work dir
printf 'abc\n' > "$T/in"
sb $P --slot $SLOT --dir "$W" --stdin "$T/in" --stdout "$T/out" --meta "$T/meta" -- \
	/bin/sh -c 'read x; echo "$x $HOME $(pwd) $(id -u) $(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"; echo made > /work/f'
is "$(cat "$T/out")" "abc /work /work $((UB + SLOT)) sercom-box" "stdin, HOME, cwd, uid, hostname"
is "$(cat "$W/f")" made "files written to /work reach the host dir"
is "$(stat -c %u "$W")" 0 "the work dir's owner is given back"
sb --slot $SLOT --dir "$W" --env FOO=bar --stdout "$T/out" -- /usr/bin/env 2>/dev/null
is "$(cat "$T/out")" "FOO=bar" "--env replaces the environment"
sb --slot $SLOT --dir "$W" --stdout "$T/out" -- /usr/bin/env 2>/dev/null
like "$(cat "$T/out")" '^PATH=' "default environment: a fixed allowlist"
ok "the host environment does not leak" bash -c "! grep -q SERCOM_TOP '$T/out'"

# the minimal /dev works for the program (not root): the nodes are 0666
sb --slot $SLOT --procs 8 --dir "$W" --stdout "$T/out" --meta "$T/meta" -- /bin/sh -c \
	'echo x > /dev/null && head -c 3 /dev/zero | wc -c && head -c 3 /dev/urandom | wc -c && stat -c %a /dev/null /dev/zero /dev/full /dev/random /dev/urandom | sort -u && ls /dev | wc -l'
is "$(meta status)" OK "writing /dev/null, reading /dev/zero and /dev/urandom"
is "$(tr '\n' ' ' < "$T/out")" "3 3 666 9 " "the device nodes are rw for everyone; only null zero full random urandom and the fd links"

# exit codes and signals
sb --slot $SLOT --dir "$W" --meta "$T/meta" -- /bin/sh -c 'exit 7'
is "$(meta status):$(meta exitcode)" "RE:7" "non-zero exit: RE with the code"
sb --slot $SLOT --dir "$W" --meta "$T/meta" -- /bin/sh -c 'kill -SEGV $$'
is "$(meta status):$(meta signal)" "SG:11" "a signal: SG with its number"
sb --slot $SLOT --dir "$W" --meta "$T/meta" -- /nonexistent
is "$(meta status)" RE "a missing program: RE"
like "$(meta message)" 'cannot execute' "... with a message"

# output cap: the file holds exactly the cap, the rest is counted
sb $P --slot $SLOT --dir "$W" --output 1000 --stdout "$T/out" --meta "$T/meta" -- \
	/bin/sh -c 'head -c 5000 /dev/zero'
is "$(meta status)" OL "over the output cap: OL"
is "$(stat -c %s "$T/out")" 1000 "the capture file holds the cap"
is "$(meta output-truncated)" 1 "output-truncated:1"

# a child that fills the pipe while the parent never reads must not hang
sb $P --slot $SLOT --dir "$W" --output 4M --meta "$T/meta" -- /bin/sh -c 'head -c 3000000 /dev/urandom'
is "$(meta status):$(meta stdout-bytes)" "OK:3000000" "3 MB through the pipe, read while running"

# CPU time is the box's total, wall time measured
sb --slot $SLOT --dir "$W" --cpu 300ms --wall 5 --meta "$T/meta" -- /bin/sh -c 'while :; do :; done'
is "$(meta status)" TO "CPU limit below a second: TO"
# the mechanism, not the machine's speed: the CPU limit was reached (the
# wall limit of 5 s would also say TO, before using 300 ms of CPU on a
# machine loaded enough)
ok "TO after the 300 ms of CPU were used ($(meta time) ms CPU, $(meta time-wall) ms wall)" test "$(meta time)" -ge 300

# errors of the sandbox itself: XX and exit 2
sb --slot $SLOT --dir "$T/nonexistent" --meta "$T/meta" -- /bin/true 2>/dev/null
is "$?" 2 "missing work dir: exit 2"
is "$(meta status)" XX "... status XX"
sb --slot $SLOT --dir "$W" --bind /nonexistent-dir --meta "$T/meta" -- /bin/true 2>/dev/null
is "$?:$(meta status)" "2:XX" "missing extra bind: XX"

# extra read-only bind at another path
mkdir -p "$T/ex" && echo data > "$T/ex/file"
sb $P --slot $SLOT --dir "$W" --bind "$T/ex:/exercise" --stdout "$T/out" --meta "$T/meta" -- \
	/bin/sh -c 'cat /exercise/file; echo x > /exercise/new || echo ro'
is "$(cat "$T/out" | tr '\n' ' ')" "data ro " "extra bind at /exercise, read-only"

# the build profile: make and gcc work, the result runs in the run profile
B="$T/build"; mkdir -p "$B"
printf '#include <stdio.h>\nint main(void){int a,b;if(scanf("%%d %%d",&a,&b)!=2)return 1;printf("%%d\\n",a+b);return 0;}\n' > "$B/sum.c"
printf 'sum: sum.c\n\tgcc -O2 -Wall -o sum sum.c\n' > "$B/Makefile"
sb --profile build --slot $SLOT --dir "$B" --stderr "$T/make.err" --meta "$T/meta" -- make
is "$(meta status)" OK "make + gcc in the build profile"
[ "$(meta status)" = OK ] || sed 's/^/# /' "$T/make.err"
echo "2 40" > "$T/in"
sb --slot $SLOT --dir "$B" --stdin "$T/in" --stdout "$T/out" --meta "$T/meta" -- ./sum
is "$(cat "$T/out")" 42 "the built program runs"

# two slots at once do not disturb each other: each box waits for a file
# that this script writes only once both are running (both uids have a
# process at one instant); slots run one after the other would never
# both be there, and the first would end on its wall limit
mkdir -p "$T/w1" "$T/w2"
rm -f "$T/w1/go" "$T/w2/go"
wait_go='while [ ! -e /work/go ]; do sleep 0.05; done; echo went'
sb $P --slot $((SLOT + 1)) --dir "$T/w1" --wall 60 --stdout "$T/o1" --meta "$T/m1" -- /bin/sh -c "$wait_go" &
p1=$!
sb $P --slot $((SLOT + 2)) --dir "$T/w2" --wall 60 --stdout "$T/o2" --meta "$T/m2" -- /bin/sh -c "$wait_go" &
p2=$!
both_running() { pgrep -u $((UB + SLOT + 1)) >/dev/null && pgrep -u $((UB + SLOT + 2)) >/dev/null; }
end=$(( $(date +%s) + 30 ))
until both_running || [ "$(date +%s)" -gt $end ]; do sleep 0.05; done
ok "two slots run concurrently: both boxes running at one instant" both_running
touch "$T/w1/go" "$T/w2/go"
wait $p1; r1=$?; wait $p2; r2=$?
is "$r1:$r2:$(sed -n 's/^status://p' "$T/m1"):$(sed -n 's/^status://p' "$T/m2"):$(cat "$T/o1"):$(cat "$T/o2")" "0:0:OK:OK:went:went" \
	"two slots: both ended OK once released"

# the unit-style in-process driver (1 run per call, like the runner)
done_testing
