#!/bin/bash
# A runner killed with SIGKILL mid-grading, then started again: the attempt
# is graded once, its results are not duplicated, its worker died with the
# supervisor. A worker killed alone: the supervisor releases its attempt at
# once and it is graded again. The retry budget ends in ERROR.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-instance.sh"
# a uid range of its own: scripts may run side by side (prove -j)
export SERCOM_UID_BASE=${SERCOM_UID_BASE_41:-60410}

[ "$(id -u)" = 0 ] || skip_all "the sandbox needs root"
[ -x "$SERCOM_BIN/sercom-runner" ] || skip_all "sercom-runner not built"
SUBS=$SERCOM_TOP/tests/t/submissions/tp1
[ -d "$SERCOM_TOP/conf/exercises/tp1" ] && [ -d "$SUBS/loop" ] || skip_all "no example exercise tp1"
tmpdir
I=$T/inst
ok "instance" runner_instance "$I"
ncases=$(ls -d "$SERCOM_TOP"/conf/exercises/tp1/tests/*/ | wc -l)

workers_of() { ps -o pid= --ppid "$1" | tr -d ' '; }
wait_for() { # SECONDS CMD...: a deadline, only a hang guard
	local end=$(( $(date +%s) + $1 )); shift
	until "$@"; do [ "$(date +%s)" -le $end ] || return 1; sleep 0.1; done
}
# dead or a zombie (a container's pid 1 may not reap orphans)
all_dead() {
	local p
	for p in "$@"; do [ -e /proc/$p ] && ! grep -q '^[0-9]* ([^)]*) Z' /proc/$p/stat && return 1; done
	return 0
}
# no process charged to slot 0's pids cgroup (cgroup v1): a zombie box
# there would make the slot's next box fail to fork (INTERNAL_ERROR)
slot_pids() { cat /sys/fs/cgroup/pids/sercom-box-$SERCOM_UID_BASE/pids.current 2>/dev/null || echo 0; }
slot_empty() { [ "$(slot_pids)" = 0 ]; }

# 1. SIGKILL the supervisor while its worker grades (the loop submission
# takes a CPU limit per case: long enough to be caught mid-way)
a=$(queue_attempt "$I" tp1 "$SUBS/loop")
"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -j 1 2>"$T/r1.err" &
rpid=$!
ok "attempt claimed" wait_state "$I" "$a" RUNNING 30
# let the build finish and a case end (the work dirs are on the worker's
# own tmpfs: the outputs kept for a case that did not pass are the sign)
case_ended() { ls "$I/var/attempts/$a/output/"*.stdout >/dev/null 2>&1; }
ok "a case ended (its output kept)" wait_for 60 case_ended
w=$(workers_of $rpid)
# without a worker the checks below would pass on nothing
ok "a worker was grading when the supervisor was killed ($w)" test -n "$w"
kill -KILL $rpid
wait $rpid 2>/dev/null
is "$(sql "$I" "SELECT state FROM attempts WHERE id = $a")" RUNNING "killed mid-grading: still RUNNING (lease held)"
ok "the worker died with its supervisor" wait_for 30 all_dead $w
ok "nothing left charged to the slot's pids cgroup ($(slot_pids))" wait_for 30 slot_empty
is "$(sql "$I" "SELECT count(*) FROM results WHERE attempt = $a")" 0 "nothing half-written"

"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once -j 1 -v 2>"$T/r2.err"
is "$?" 0 "restart --once exits 0"
like "$(cat "$T/r2.err")" "gone: releasing|released" "the dead worker's attempt released at start-up"
is "$(sql "$I" "SELECT state || ' ' || tries || ' ' || grading FROM attempts WHERE id = $a")" "DONE 2 1" \
   "graded once: DONE, 2 claims, grading 1"
is "$(sql "$I" "SELECT count(*) FROM results WHERE attempt = $a")" "$ncases" "results not duplicated ($ncases rows)"
# (INTERNAL_ERROR here was a zombie box charged to the slot's pids
# cgroup, checked above: the killed worker's boxes are killed by their
# PDEATHSIG and leave the cgroup as they die, whoever reaps them)
is "$(sql "$I" "SELECT verdict FROM attempts WHERE id = $a")" TESTS_FAILED "the regrade's verdict is the real one"
is "$(sql "$I" "SELECT group_concat(DISTINCT verdict) FROM results WHERE attempt = $a")" TIME_LIMIT \
   "the regrade: TIME_LIMIT on every case, no SANDBOX_ERROR ($(sql "$I" "SELECT note FROM results WHERE attempt = $a AND verdict != 'TIME_LIMIT' LIMIT 1"))"
is "$(sql "$I" "SELECT count(DISTINCT case_name) FROM results WHERE attempt = $a")" "$ncases" "one row per case"

# 2. SIGKILL only the worker: the supervisor releases and regrades at once
b=$(queue_attempt "$I" tp1 "$SUBS/loop")
"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -j 1 -v 2>"$T/r3.err" &
rpid=$!
ok "attempt claimed" wait_state "$I" "$b" RUNNING 30
w=$(workers_of $rpid)
ok "a worker to kill ($w)" test -n "$w"
kill -KILL $w
ok "regraded after the worker's death" wait_state "$I" "$b" DONE 90
is "$(sql "$I" "SELECT tries || ' ' || grading FROM attempts WHERE id = $b")" "2 1" "2 claims, one grading"
is "$(sql "$I" "SELECT count(*) FROM results WHERE attempt = $b")" "$ncases" "results not duplicated"
is "$(sql "$I" "SELECT group_concat(DISTINCT verdict) FROM results WHERE attempt = $b")" TIME_LIMIT \
   "the killed worker's sandbox left nothing that breaks the next run (reaped by the supervisor)"
like "$(cat "$T/r3.err")" "killed by signal 9" "the supervisor logged the dead worker"
kill -TERM $rpid; wait $rpid

# 3. the retry budget: a worker killed at every claim ends in ERROR
c=$(queue_attempt "$I" tp1 "$SUBS/loop")
for n in 1 2 3; do
	"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -j 1 2>>"$T/r4.err" &
	rpid=$!
	# RUNNING with this runner's claim (the previous one is released first)
	claimed() { [ "$(sql "$I" "SELECT state || tries FROM attempts WHERE id = $c")" = "RUNNING$n" ]; }
	ok "claim $n of the attempt" wait_for 60 claimed
	w=$(workers_of $rpid)
	kill -KILL $rpid; wait $rpid 2>/dev/null
	ok "claim $n: its worker died with the supervisor" wait_for 30 all_dead $w
done
"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once -j 1 2>>"$T/r4.err"
is "$(sql "$I" "SELECT state || ' ' || verdict FROM attempts WHERE id = $c")" "ERROR INTERNAL_ERROR" \
   "after 3 lost claims: ERROR / INTERNAL_ERROR"
is "$(sql "$I" "SELECT count(*) FROM results WHERE attempt = $c")" 0 "no results for it"

if [ $_tap_fail != 0 ]; then for f in "$T"/r*.err; do echo "# $f:"; sed 's/^/#   /' "$f" | tail -20; done; fi
done_testing
