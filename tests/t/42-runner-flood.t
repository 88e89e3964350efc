#!/bin/bash
# A submission that writes 50 MB to stdout: OUTPUT_LIMIT, the capture stays
# at the output cap, the runner stays responsive (another attempt queued
# meanwhile is graded, SIGTERM is obeyed) and its memory does not grow with
# the flood (its peak, by GNU time, against a run without one). No bound
# on time but deadlines that only guard against a hang.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-instance.sh"
# a uid range of its own: scripts may run side by side (prove -j)
export SERCOM_UID_BASE=${SERCOM_UID_BASE_42:-60420}

[ "$(id -u)" = 0 ] || skip_all "the sandbox needs root"
[ -x "$SERCOM_BIN/sercom-runner" ] || skip_all "sercom-runner not built"
SUBS=$SERCOM_TOP/tests/t/submissions/tp1
[ -d "$SERCOM_TOP/conf/exercises/tp1" ] && [ -d "$SUBS/flood" ] || skip_all "no example exercise tp1"
[ -x /usr/bin/time ] || skip_all "no GNU time"
tmpdir
I=$T/inst
ok "instance" runner_instance "$I"
# the baseline: the peak RSS of the runner and its children (gcc, the
# boxes) grading one correct submission, without a flood
B=$T/base
ok "baseline instance" runner_instance "$B"
b=$(queue_attempt "$B" tp1 "$SUBS/correct")
/usr/bin/time -f '%M' -o "$T/rss.base" "$SERCOM_BIN/sercom-runner" -c "$B/sercom.conf" --once -j 2 2>"$T/b.err"
is "$(sql "$B" "SELECT verdict FROM attempts WHERE id = $b")" ACCEPTED "baseline: graded"

/usr/bin/time -f '%M' -o "$T/rss" "$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -j 2 -v 2>"$T/r.err" &
tpid=$!
wait_for() { # SECONDS CMD...: a deadline, only a hang guard
	local end=$(( $(date +%s) + $1 )); shift
	until "$@"; do [ "$(date +%s)" -le $end ] || return 1; sleep 0.1; done
}
fifo_ready() { [ -p "$I/var/runner.fifo" ]; }
ok "the daemon's FIFO is made" wait_for 30 fifo_ready
rpid=$(pgrep -P $tpid -x sercom-runner)
# without it the zombie check and the SIGTERM below would test nothing
ok "the runner runs under GNU time (pid $rpid)" test -n "$rpid"
f1=$(queue_attempt "$I" tp1 "$SUBS/flood")
f2=$(queue_attempt "$I" tp1 "$SUBS/flood" s002)
poke "$I"
ok "flood claimed" wait_state "$I" "$f1" RUNNING 20
c=$(queue_attempt "$I" tp1 "$SUBS/correct")
t0=$(date +%s%N)
poke "$I"
ok "an attempt queued during the floods is graded" wait_state "$I" "$c" DONE 120
echo "# correct graded $(( ($(date +%s%N) - t0) / 1000000 )) ms after its poke"
ok "flood 1 done" wait_state "$I" "$f1" DONE 120
ok "flood 2 done" wait_state "$I" "$f2" DONE 120
is "$(sql "$I" "SELECT verdict FROM attempts WHERE id = $c")" ACCEPTED "the other attempt is ACCEPTED"
is "$(sql "$I" "SELECT verdict FROM attempts WHERE id = $f1")" TESTS_FAILED "flood: TESTS_FAILED"
like "$(case_verdicts "$I" "$f1")" "=OUTPUT_LIMIT" "flood: OUTPUT_LIMIT"
big=$(find "$I/var/attempts/$f1" -type f -size +2M | head -3)
is "$big" "" "no file over 2 MB kept (capture capped at the 1 MB output limit)"
# the mechanism, not the time it took: every case of both floods killed at
# the output cap (not by the wall limit), the kept output within the cap
# (256K in tp1's exercise.conf)
for f in $f1 $f2; do
	is "$(sql "$I" "SELECT group_concat(DISTINCT verdict) FROM results WHERE attempt = $f")" OUTPUT_LIMIT \
		"flood $f: OUTPUT_LIMIT on every case (killed at the cap)"
done
echo "# flood cases took $(sql "$I" "SELECT min(wall_ms) || '-' || max(wall_ms) FROM results WHERE attempt IN ($f1, $f2)") ms"
kept=$(find "$I/var/attempts/$f1/output" -name '*.stdout' -type f | wc -l)
ok "flood: the stdout of its cases kept ($kept files)" test "$kept" -gt 0
is "$(find "$I/var/attempts/$f1/output" -name '*.stdout' -size +256k)" "" "flood: each kept stdout within the 256K cap"
is "$(ps -o stat= --ppid "$rpid" | grep -c '^Z')" 0 "no zombies"
kill -TERM "$rpid"
wait $tpid
is "$?" 0 "SIGTERM: exit 0"
rss=$(tail -1 "$T/rss") base=$(tail -1 "$T/rss.base")
echo "# peak RSS of the runner and its children: $rss KiB with two 50 MB floods, $base KiB without"
# a flood held in memory adds 50 MB to the peak; 16 MB of slack for the rest
ok "memory does not grow with the flood ($rss KiB, baseline $base KiB)" test "$rss" -lt $((base + 16384))

done_testing
