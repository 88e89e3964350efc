#!/bin/bash
# sercom-runner grades the example exercise tp1 for real (sandbox, make,
# gcc): correct, wrong-output, crashing, looping, non-compiling,
# warning-only and file-writing submissions each get the right verdicts;
# report dir per docs/ARCHITECTURE.md; private cases never in report.html; the
# daemon wakes on the FIFO, reaps its workers and stops on SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-instance.sh"
# a uid range of its own: scripts may run side by side (prove -j)
export SERCOM_UID_BASE=${SERCOM_UID_BASE_40:-60400}
not() { ! "$@"; }

[ "$(id -u)" = 0 ] || skip_all "the sandbox needs root"
# our programs not built is a failure, not a thing the machine cannot do
for p in sercom-runner sercom-deliver; do
	[ -x "$SERCOM_BIN/$p" ] || { echo "Bail out! $SERCOM_BIN/$p not built"; exit 1; }
done
SUBS=$SERCOM_TOP/tests/t/submissions/tp1
[ -d "$SERCOM_TOP/conf/exercises/tp1" ] && [ -d "$SUBS/correct" ] || skip_all "no example exercise tp1"
tmpdir
I=$T/inst

out=$("$SERCOM_BIN/sercom-runner" --help 2>&1); rc=$?
is "$rc" 0 "--help exits 0"
like "$out" "--once" "--help lists --once"
like "$("$SERCOM_BIN/sercom-runner" --version)" "^sercom-runner [0-9]" "--version"
"$SERCOM_BIN/sercom-runner" --bogus >/dev/null 2>&1
is "$?" 64 "unknown option: usage error 64"
"$SERCOM_BIN/sercom-runner" -c "$T/nope.conf" --once 2>"$T/err"
is "$?" 75 "missing config: 75"
like "$(cat "$T/err")" "nope.conf" "the error names the config file"

ok "instance" runner_instance "$I"
declare -A ID
for s in correct wrong-output crash loop nocompile warning writes-file fill-workdir; do
	ID[$s]=$(queue_attempt "$I" tp1 "$SUBS/$s")
done
ncases=$(ls -d "$SERCOM_TOP"/conf/exercises/tp1/tests/*/ | wc -l)

start=$(date +%s)
"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once -j 2 2>"$T/once.err"
is "$?" 0 "--once grades the queue and exits 0"
echo "# graded 8 submissions in $(( $(date +%s) - start )) s"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE state != 'DONE'")" 0 "every attempt DONE"

v() { sql "$I" "SELECT verdict || ' ' || COALESCE(build, '-') FROM attempts WHERE id = ${ID[$1]}"; }
cv() { case_verdicts "$I" "${ID[$1]}"; }
nres() { sql "$I" "SELECT count(*) FROM results WHERE attempt = ${ID[$1]}"; }
R() { echo "$I/var/attempts/${ID[$1]}/report"; }

# correct
is "$(v correct)" "ACCEPTED OK" "correct: ACCEPTED, built without warnings"
is "$(nres correct)" "$ncases" "correct: one results row per case ($ncases)"
is "$(sql "$I" "SELECT count(*) FROM results WHERE attempt = ${ID[correct]} AND verdict != 'PASS'")" 0 "correct: every case PASS"
ok "correct: private cases are run and stored" \
   [ "$(sql "$I" "SELECT count(*) FROM results WHERE attempt = ${ID[correct]} AND private = 1")" -gt 0 ]
ok "correct: times and memory measured" \
   [ "$(sql "$I" "SELECT count(*) FROM results WHERE attempt = ${ID[correct]} AND wall_ms > 0 AND max_rss_kib > 0")" -gt 0 ]
ok "correct: no report.html when nothing failed" [ ! -e "$(R correct)/report.html" ]
is "$(sql "$I" "SELECT started IS NOT NULL AND finished >= started AND tries = 1 AND grading = 1 FROM attempts WHERE id = ${ID[correct]}")" 1 \
   "correct: started, finished, one try, grading 1"

# wrong output
is "$(v wrong-output)" "TESTS_FAILED OK" "wrong-output: TESTS_FAILED"
like "$(cv wrong-output)" "=WRONG_OUTPUT" "wrong-output: a case WRONG_OUTPUT"
d=$(sql "$I" "SELECT diffs FROM results WHERE attempt = ${ID[wrong-output]} AND verdict = 'WRONG_OUTPUT' AND private = 0 LIMIT 1")
like "$d" "\.stdout\.diff|\.file\..*\.diff" "wrong-output: results.diffs names the diff"
f=${d%% *}
ok "wrong-output: the diff file exists" [ -s "$(R wrong-output)/$f" ]
like "$(head -3 "$(R wrong-output)/$f")" "^--- " "wrong-output: unified diff"
ok "wrong-output: report.html written" [ -s "$(R wrong-output)/report.html" ]
like "$(sql "$I" "SELECT note FROM results WHERE attempt = ${ID[wrong-output]} AND verdict = 'WRONG_OUTPUT' LIMIT 1")" "differs" \
   "wrong-output: the note says what differs"
# private cases: stored apart, never in report.html
# (the wrong-output submission fails a private case: tests/t/submissions)
p1=$(sql "$I" "SELECT case_name FROM results WHERE attempt = ${ID[wrong-output]} AND private = 1 AND verdict != 'PASS' ORDER BY seq LIMIT 1")
ok "wrong-output fails a private case ($p1)" test -n "$p1"
private_diff() { [ -n "$p1" ] && ls "$(R wrong-output)/private/" | grep -qF "$p1."; }
ok "private failing case: diffs under report/private/" private_diff
ok "private case name absent from report.html" not grep -qF "${p1:-no private case}" "$(R wrong-output)/report.html"
like "$(sql "$I" "SELECT diffs FROM results WHERE attempt = ${ID[wrong-output]} AND case_name = '$p1'")" "^private/" \
   "private diffs listed as private/..."
ok "private/full.html lists the private case" grep -qF "${p1:-no private case}" "$(R wrong-output)/private/full.html"

# crash
is "$(v crash)" "TESTS_FAILED OK" "crash: TESTS_FAILED"
like "$(cv crash)" "=SIGNAL" "crash: a case SIGNAL"
like "$(sql "$I" "SELECT signal || ' ' || note FROM results WHERE attempt = ${ID[crash]} AND verdict = 'SIGNAL' LIMIT 1")" \
     "^(11|6|8|7) .*SIG(SEGV|ABRT|FPE|BUS)" "crash: the signal number and its name"

# loop
is "$(v loop)" "TESTS_FAILED OK" "loop: TESTS_FAILED"
# the mechanism, not the machine's speed: every case stopped by the CPU
# limit (1 s of tp1; a loaded machine gives it less CPU a second), none by
# the wall limit (5 s)
is "$(sql "$I" "SELECT group_concat(DISTINCT verdict) FROM results WHERE attempt = ${ID[loop]}")" TIME_LIMIT \
   "loop: TIME_LIMIT on every case (the CPU limit applied, not the wall limit)"

# build failure
is "$(v nocompile)" "BUILD_FAILED FAILED" "nocompile: BUILD_FAILED"
is "$(nres nocompile)" 0 "nocompile: no case run"
like "$(cat "$(R nocompile)/make.stderr")" "error" "nocompile: compiler output in report/make.stderr"

# warnings only
like "$(v warning)" "^(ACCEPTED|TESTS_FAILED) WARNINGS$" "warning: built WITH WARNINGS"
like "$(cat "$(R warning)/make.stderr")" "warning:" "warning: the warnings kept in make.stderr"

# writes a file (and tries to write outside its work dir)
is "$(v writes-file)" "TESTS_FAILED OK" "writes-file: TESTS_FAILED"
is "$(sql "$I" "SELECT count(*) FROM results WHERE attempt = ${ID[writes-file]} AND verdict = 'WRONG_OUTPUT' AND note LIKE '%unexpected file notes.txt%'")" \
   "$ncases" "writes-file: every case WRONG_OUTPUT for the unexpected notes.txt"
ok "writes-file: nothing escaped the sandbox" \
   [ -z "$(find /tmp/sercom-escaped.txt /var/tmp/sercom-escaped.txt "$I/var" -name '*escaped.txt' 2>/dev/null)" ]

# fills its work dir (a tmpfs charged to the box's memory cgroup)
is "$(v fill-workdir)" "TESTS_FAILED OK" "fill-workdir: TESTS_FAILED, not INTERNAL_ERROR"
is "$(sql "$I" "SELECT group_concat(DISTINCT verdict) FROM results WHERE attempt = ${ID[fill-workdir]}")" MEMORY_LIMIT \
   "fill-workdir: MEMORY_LIMIT on every case (the program was the OOM victim)"
is "$(sql "$I" "SELECT tries FROM attempts WHERE id = ${ID[fill-workdir]}")" 1 "fill-workdir: graded at the first try (no worker killed)"
ok "no worker died" not grep -q "killed by signal" "$T/once.err"

# the program never saw the expected outputs: the work dirs are gone and
# nothing of tests/ was copied next to the build
ok "no work dir left behind" [ ! -e "$I/var/attempts/${ID[correct]}/work" ]
# the work dirs were on each worker's own tmpfs, mounted over var/work in
# its mount namespace: the host sees the empty mount point only
ok "var/work: an empty mount point on the host" test -d "$I/var/work" -a -z "$(ls -A "$I/var/work" 2>&1)"
not_mounted() { ! grep -q " $I/var/work " /proc/self/mountinfo; }
ok "the scratch tmpfs never shows on the host" not_mounted
# output/ keeps what staff need: the outputs of the cases that did not pass
is "$(ls "$I/var/attempts/${ID[correct]}/output" | wc -l)" 0 "correct: every case passed, no output kept"
wo=$(sql "$I" "SELECT case_name FROM results WHERE attempt = ${ID[wrong-output]} AND verdict != 'PASS' ORDER BY seq LIMIT 1")
ok "wrong-output: the stdout of failing case $wo kept in output/" [ -f "$I/var/attempts/${ID[wrong-output]}/output/$wo.stdout" ]
pass1=$(sql "$I" "SELECT case_name FROM results WHERE attempt = ${ID[wrong-output]} AND verdict = 'PASS' ORDER BY seq LIMIT 1")
ok "wrong-output: nothing kept for passing case $pass1" \
   test -n "$pass1" -a ! -e "$I/var/attempts/${ID[wrong-output]}/output/$pass1.stdout"

# the exercise's Makefile wins over a student's
mkdir -p "$T/evil"
cp "$SUBS/correct/"* "$T/evil/"
printf 'tp:\n\techo pwned > pwned; printf "int main(void){return 0;}" > x.c; cc -o tp x.c\n' > "$T/evil/Makefile"
evil=$(queue_attempt "$I" tp1 "$T/evil")
"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once 2>>"$T/once.err"
is "$(sql "$I" "SELECT verdict FROM attempts WHERE id = $evil")" ACCEPTED "a student's Makefile is replaced by the exercise's"
# make echoes each command it runs: the student's recipe would show there
ok "the student's Makefile did not run" not grep -q pwned "$I/var/attempts/$evil/report/make.stdout"
like "$(cat "$I/var/attempts/$evil/report/make.stdout")" "gcc .*'\./tp\.c'" "the exercise's recipe ran (quoted names)"
# the build ran in a tmpfs of the worker: nothing of it on the spool's disk
ok "no build dir left on the spool's disk" [ ! -e "$I/var/attempts/$evil/build" ]

# replies: the composer answers every graded attempt
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE answered = 0")" 0 "every attempt answered"
is "$(sql "$I" "SELECT count(*) FROM outbox WHERE state = 'SENT'")" 9 "9 replies sent"
ok "replies in the maildir transport" [ "$(ls "$I/replies/new" 2>/dev/null | wc -l)" -ge 9 ]

# the daemon: FIFO wake-up, reaping, SIGTERM
"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -j 2 -v 2>"$T/daemon.err" &
rpid=$!
fifo_ready() { [ -p "$I/var/runner.fifo" ]; }
wait_for() { # SECONDS CMD...: a deadline, only a hang guard
	local end=$(( $(date +%s) + $1 )); shift
	until "$@"; do [ "$(date +%s)" -le $end ] || return 1; sleep 0.1; done
}
ok "daemon: its FIFO is made" wait_for 30 fifo_ready
a=$(queue_attempt "$I" tp1 "$SUBS/correct" s002)
poke "$I"
ok "daemon: a poke gets the attempt graded" wait_state "$I" "$a" DONE 60
# the worker's exit is reaped after the commit that wait_state saw
no_zombie() { ! ps -o stat= --ppid $rpid | grep -q '^Z'; }
ok "daemon: no zombie workers" wait_for 30 no_zombie
ok "daemon: alive while idle" kill -0 $rpid
# the worker logs its verdict just after the commit that wait_state saw
logged() { grep -q "attempt $a: ACCEPTED" "$T/daemon.err"; }
wait_for 30 logged
kill -TERM $rpid
gone() { ! kill -0 $rpid 2>/dev/null; }
ok "daemon: SIGTERM stops it" wait_for 30 gone
wait $rpid
is "$?" 0 "daemon: exit 0 after SIGTERM"
ok "daemon: logs to stderr with -v" grep -q "attempt $a: ACCEPTED" "$T/daemon.err"

# SIGTERM while grading: the running attempt finishes, nothing is claimed after
b1=$(queue_attempt "$I" tp1 "$SUBS/loop" s002)
b2=$(queue_attempt "$I" tp1 "$SUBS/correct" s002)
"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -j 1 2>>"$T/daemon.err" &
rpid=$!
ok "SIGTERM mid-grading: the loop is being graded" wait_state "$I" "$b1" RUNNING 60
kill -TERM $rpid
wait $rpid
is "$?" 0 "SIGTERM mid-grading: exit 0"
is "$(sql "$I" "SELECT state FROM attempts WHERE id = $b1")" DONE "SIGTERM mid-grading: the running attempt finished"
is "$(sql "$I" "SELECT state FROM attempts WHERE id = $b2")" QUEUED "SIGTERM mid-grading: the next one stays queued"

# compare = checker:PROG: the exercise's checker runs in the sandbox
C=$T/chk
ok "checker instance" runner_instance "$C" "$SERCOM_TOP/tests/t/exercises"
c1=$(queue_attempt "$C" chk "$SERCOM_TOP/tests/t/exercises/chk/solution")
c2=$(queue_attempt "$C" chk "$SERCOM_TOP/tests/t/runner-submissions/chk-wrong" s002)
"$SERCOM_BIN/sercom-runner" -c "$C/sercom.conf" --once 2>>"$T/once.err"
is "$(sql "$C" "SELECT verdict FROM attempts WHERE id = $c1")" ACCEPTED "checker: a value within the tolerance passes"
is "$(sql "$C" "SELECT verdict FROM attempts WHERE id = $c2")" TESTS_FAILED "checker: a value out of it fails"
like "$(sql "$C" "SELECT verdict || ': ' || note FROM results WHERE attempt = $c2")" "^WRONG_OUTPUT: .*got 1.5, want 1.41421" \
     "checker: its stdout is the note"

# end to end through the MDA when it is built: a real mail, delivered by
# sercom-deliver (which pokes the FIFO), graded by the daemon, answered
{
	# the daemon's ingester records the mail as the owner of var/, never root
	instance_owner "$I"
	"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -j 2 2>>"$T/daemon.err" &
	rpid=$!
	ok "e2e: the daemon's FIFO is made" wait_for 30 fifo_ready
	before=$(ls "$I/replies/new" 2>/dev/null | wc -l)
	{
		printf 'From: Beto <beto@example.edu>\nTo: grader+tp1@example.edu\nSubject: tp1 homework\n'
		printf 'Message-ID: <e2e-%s@example.edu>\nMIME-Version: 1.0\n' "$$"
		printf 'Content-Type: multipart/mixed; boundary="XyZ"\n\n--XyZ\nContent-Type: text/plain\n\nhere it is\n'
		printf -- '--XyZ\nContent-Type: text/x-csrc; name="tp.c"\nContent-Disposition: attachment; filename="tp.c"\n\n'
		cat "$SUBS/wrong-output/tp.c"
		printf -- '\n--XyZ--\n'
	} | "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -f beto@example.edu
	is "$?" 0 "e2e: sercom-deliver stored the mail"
	# recorded by the daemon's ingester after sercom-deliver's exit
	e2e_recorded() {
		m=$(sql "$I" "SELECT a.id FROM attempts a JOIN messages g ON g.id = a.message WHERE g.message_id = 'e2e-$$@example.edu'")
		[ -n "$m" ]
	}
	ok "e2e: recorded by the daemon's ingester" wait_for 60 e2e_recorded || { stat -c "# %U %n" "$I/var" "$I/var/mail" "$I/var/mail/new"; sed "s/^/# daemon: /" "$T/daemon.err" | tail -12; }
	ok "e2e: delivered, poked, graded" wait_state "$I" "$m" DONE 60
	is "$(sql "$I" "SELECT verdict FROM attempts WHERE id = $m")" TESTS_FAILED "e2e: TESTS_FAILED"
	replied() { [ "$(ls "$I/replies/new" | wc -l)" -gt "$before" ]; }
	ok "e2e: the reply is in the maildir" wait_for 30 replied
	kill -TERM $rpid; wait $rpid
}

if [ $_tap_fail != 0 ]; then echo "# runner log:"; sed 's/^/# /' "$T/once.err" | tail -30; fi
done_testing
