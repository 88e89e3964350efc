#!/bin/bash
# Issue 11, "No student can touch another's grading": the runner's work
# areas. Submissions are queued straight into the instance (queue_attempt
# bypasses the intake), so hostile names reach the runner as they would
# with a naive intake.
#  1. a program leaves a tree 1,500 directories deep in its work dir
#     (tests/hostile/deep_tree.c); another student's correct submission,
#     graded next on the same slot (-j 1) by a runner started under
#     `ulimit -n 1024`, is ACCEPTED at its first try;
#  2. a build rule fooled by the name a`sh<e.h`.c runs a script that writes
#     without end: BUILD_FAILED with a note naming the cap, var/ does not
#     grow, the build's tmpfs is gone;
#  3. the same with a gcc response file (@x.c: -wrapper /bin/sh,w.h), and
#     with a script that makes files without end (the inodes cap);
#  4. the example Makefile (conf/exercises/tp1) is not fooled by either;
#  6. afterwards: no mount, no box process, no box cgroup left;
#  5. a slot whose work area cannot be unmounted retires, and its attempt
#     goes back to the queue without a try counted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-instance.sh"
# a uid range of its own: scripts may run side by side (prove -j)
export SERCOM_UID_BASE=${SERCOM_UID_BASE_43:-60430}
not() { ! "$@"; }

[ "$(id -u)" = 0 ] || skip_all "the sandbox needs root"
[ -x "$SERCOM_BIN/sercom-runner" ] || skip_all "sercom-runner not built"
command -v gcc >/dev/null || skip_all "no gcc"
EX=$SERCOM_TOP/tests/t/exercises
SUBS=$SERCOM_TOP/tests/t/runner-submissions
tmpdir
I=$T/inst
ok "instance" runner_instance "$I" "$EX"
runner() { "$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once -j 1 "$@" 2>>"$T/runner.err"; }
v() { sql "${2:-$I}" "SELECT verdict || ' ' || tries FROM attempts WHERE id = $1"; }
# the grading's note goes to the history (attempts.note is the MDA's)
note() { sql "${2:-$I}" "SELECT note FROM history WHERE attempt = $1 ORDER BY rowid DESC LIMIT 1"; }
var_kb() { du -sk "$I/var" | cut -f1; }

# ---- 1. the deep tree, then another student on the same slot ----------
mkdir -p "$T/deep"
cp "$SERCOM_TOP/tests/hostile/deep_tree.c" "$T/deep/tp.c"
deep=$(queue_attempt "$I" naive "$T/deep" s001)
good=$(queue_attempt "$I" naive "$EX/naive/solution" s002)
# hard and soft: what a service gets by default (the runner raises its soft
# limit to the hard one, which does not help here)
(ulimit -n 1024 && exec "$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once -j 1 2>>"$T/runner.err")
is "$?" 0 "deep tree: --once under ulimit -n 1024 exits 0"
# the program printed "ok" only once it had made all 1,500 levels: the
# attack really happened, and its case passed (its own verdict)
is "$(v "$deep")" "ACCEPTED 1" "deep tree: the student's own verdict (the tree was made)"
is "$(v "$good")" "ACCEPTED 1" "deep tree: the next student on the same slot ACCEPTED at the first try"
ok "deep tree: no grading failed" not grep -q "grading failed" "$T/runner.err"

# ---- 2. a build that writes without end ---------------------------------
before=$(var_kb)
t0=$(date +%s%N)
fill=$(queue_attempt "$I" naive "$SUBS/build-backquote" s001)
after_queue=$(var_kb)
runner
echo "# graded in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
R=$I/var/attempts/$fill/report
# the script ran (the attack is real) and the cap stopped it, not a time limit
ok "backquote name: the script ran in the build" grep -q SCRIPT-RAN "$R/make.stderr"
like "$(v "$fill")" "^BUILD_FAILED 1$" "backquote name: BUILD_FAILED at the first try"
like "$(note "$fill")" "space cap \(\[build-limits\] space = 64M\)" "backquote name: the note names the cap and its key"
like "$(cat "$R/make.stderr")" "sercom: the build was stopped: .*\[build-limits\] space" "backquote name: make.stderr says it too"
grown=$(( $(var_kb) - after_queue ))
echo "# var/: $before KB before, $after_queue KB queued, $(var_kb) KB after"
ok "backquote name: var/ grew by less than 4 MB ($grown KB)" [ "$grown" -lt 4096 ]
ok "backquote name: no build dir on the spool's disk" [ ! -e "$I/var/attempts/$fill/build" ]

# ---- 3. a gcc response file ---------------------------------------------
rsp=$(queue_attempt "$I" naive "$SUBS/build-response-file" s002)
after_queue=$(var_kb)
runner
R=$I/var/attempts/$rsp/report
ok "response file: the script ran in the build" grep -q SCRIPT-RAN "$R/make.stderr"
like "$(v "$rsp")" "^BUILD_FAILED 1$" "response file: BUILD_FAILED at the first try"
like "$(note "$rsp")" "\[build-limits\] space" "response file: the note names the cap"
grown=$(( $(var_kb) - after_queue ))
ok "response file: var/ grew by less than 4 MB ($grown KB)" [ "$grown" -lt 4096 ]

# and files without end: the inodes cap
many=$(queue_attempt "$I" naive "$SUBS/build-many-files" s002)
runner
ok "many files: the script ran in the build" grep -q SCRIPT-RAN "$I/var/attempts/$many/report/make.stderr"
like "$(v "$many"): $(note "$many")" "^BUILD_FAILED 1: .*cap allows \(\[build-limits\] inodes = 2000\)" \
     "many files: BUILD_FAILED, the note names the inodes cap"

# ---- 4. the example Makefile quotes the names ---------------------------
if [ -d "$SERCOM_TOP/conf/exercises/tp1" ]; then
	TP=$T/tp1ex; mkdir -p "$TP"; cp -r "$SERCOM_TOP/conf/exercises/tp1" "$TP/"
	J=$T/inst-tp1
	ok "tp1 instance" runner_instance "$J" "$TP"
	q1=$(queue_attempt "$J" tp1 "$SUBS/build-backquote")
	q2=$(queue_attempt "$J" tp1 "$SUBS/build-response-file" s002)
	"$SERCOM_BIN/sercom-runner" -c "$J/sercom.conf" --once -j 1 2>>"$T/runner.err"
	for q in "$q1" "$q2"; do
		ok "tp1 (attempt $q): the script did not run" \
		   not grep -q SCRIPT-RAN "$J/var/attempts/$q/report/make.stderr"
		# x.c holds options, not C: an ordinary compile error there
		like "$(v "$q" "$J"): $(note "$q" "$J")" \
		     "^(BUILD_FAILED 1: build exited with [0-9]+|TESTS_FAILED 1|ACCEPTED 1)" \
		     "tp1 (attempt $q): an ordinary verdict, no cap reached"
	done
	like "$(cat "$J/var/attempts/$q1/report/make.stdout")" "'\./a\`sh<e\.h\`\.c'" \
	     "tp1: the name reached gcc quoted, as ./NAME"
fi

# ---- 5. a slot that cannot be reset retires -----------------------------
# A process kept in a case's work area (its cwd, entered in the worker's
# mount namespace) makes the umount after the case fail (EBUSY): the slot
# retires, its attempt goes back to the queue with no try counted, and the
# supervisor, with no slot left, goes on with its other duties.
LOOP=$SERCOM_TOP/tests/t/submissions/tp1/loop
if [ -d "$J/var" ] && [ -d "$LOOP" ] && command -v nsenter >/dev/null; then
	la=$(queue_attempt "$J" tp1 "$LOOP")
	"$SERCOM_BIN/sercom-runner" -c "$J/sercom.conf" -j 1 -v 2>"$T/retire.err" &
	rpid=$!
	wait_state "$J" "$la" RUNNING 30
	# the worker, then a holder inside a mounted work area (its device
	# differs from the scratch's): retried until one is placed in a case
	# hold: one try at placing a holder; true once it sits in the area
	# (it became the sleep), false when the area was not there (it exited)
	hold() {
		local w
		w=$(sed -n 's/.*slot 0: worker \([0-9]*\).*/\1/p' "$T/retire.err" | tail -1)
		[ -n "$w" ] || return 1
		nsenter -t "$w" -m sh -c "cd '$J/var/work/work' 2>/dev/null &&
			[ \"\$(stat -c %d .)\" != \"\$(stat -c %d ..)\" ] && exec sleep 120" &
		hpid=$!
		wait_for 10 sh -c "[ \"\$(cat /proc/$hpid/comm 2>/dev/null)\" = sleep ] || ! kill -0 $hpid 2>/dev/null"
		[ "$(cat /proc/$hpid/comm 2>/dev/null)" = sleep ]
	}
	ok "retire: a process holds a case's work area" wait_for 30 hold
	wait_for 30 grep -q "every slot is retired" "$T/retire.err"
	like "$(cat "$T/retire.err")" "slot 0 retires: .*unmounting: .*busy; attempt $la goes back to the queue" \
	     "retire: the log says why and what happens to the attempt"
	like "$(cat "$T/retire.err")" "every slot is retired" "retire: the supervisor logs that nothing will be graded"
	is "$(sql "$J" "SELECT state || ' ' || tries FROM attempts WHERE id = $la")" "QUEUED 0" \
	   "retire: the attempt is queued again, no try counted"
	ok "retire: the supervisor keeps running" kill -0 $rpid
	kill $hpid 2>/dev/null; wait $hpid 2>/dev/null
	kill -TERM $rpid; wait $rpid
	"$SERCOM_BIN/sercom-runner" -c "$J/sercom.conf" --once -j 1 2>>"$T/runner.err"
	is "$(v "$la" "$J")" "TESTS_FAILED 1" "retire: graded by the next runner, as its first try"
else
	for i in 1 2 3 4 5 6; do ok "# SKIP no nsenter or no tp1" true; done
fi

# ---- 6. nothing left behind ---------------------------------------------
mounted=$(grep -l -F " $T/" /proc/[0-9]*/mountinfo 2>/dev/null)
is "$mounted" "" "no process sees a mount under the test dir (the workers' namespaces are gone)"
left=$(pgrep -u "$SERCOM_UID_BASE,$((SERCOM_UID_BASE + 1))" 2>/dev/null | tr '\n' ' ')
is "$left" "" "no process of the box uids left"
cg=$(find /sys/fs/cgroup/memory /sys/fs/cgroup/pids /sys/fs/cgroup/cpuacct /sys/fs/cgroup/cpu,cpuacct \
     -maxdepth 6 -type d \( -name "sercom-box-$SERCOM_UID_BASE" -o -name "sercom-box-$((SERCOM_UID_BASE + 1))" \) \
     2>/dev/null | sort -u)
is "$cg" "" "no sercom-box cgroup of these uids left"
ok "var/work: an empty mount point on the host" [ -d "$I/var/work" ] && [ -z "$(ls -A "$I/var/work")" ]

if [ $_tap_fail != 0 ]; then echo "# runner log:"; sed 's/^/# /' "$T/runner.err" | tail -30; fi
done_testing
