#!/bin/bash
# A submission that writes 50 MB to stdout: OUTPUT_LIMIT, the capture stays
# at the output cap, the runner stays responsive (another attempt queued
# meanwhile is graded, SIGTERM is obeyed) and its memory stays bounded.
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

/usr/bin/time -f '%M' -o "$T/rss" "$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -j 2 -v 2>"$T/r.err" &
tpid=$!
for i in $(seq 50); do [ -p "$I/var/runner.fifo" ] && break; sleep 0.1; done
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
pw=$(sql "$I" "SELECT max(wall_ms) FROM results WHERE attempt = $f1 AND verdict = 'OUTPUT_LIMIT'")
ok "flood stopped quickly (${pw} ms)" [ "${pw:-99999}" -lt 5000 ]
zombies=$(ps -o stat= --ppid "$(pgrep -P $tpid sercom-runner)" 2>/dev/null | grep -c '^Z')
is "$zombies" 0 "no zombies"
kill -TERM "$(pgrep -P $tpid sercom-runner)"
wait $tpid
is "$?" 0 "SIGTERM: exit 0"
rss=$(tail -1 "$T/rss")
echo "# max RSS of the runner and its workers: $rss KiB"
ok "memory bounded (< 64 MB with a 50 MB flood)" [ "$rss" -lt 65536 ]

done_testing
