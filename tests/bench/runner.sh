#!/bin/bash
# Benchmark of the runner (issue 4), printed by `make bench`:
#  (1) N submissions (default 100) x 10 cases of tests/bench/exercises/tp10
#      graded end to end (delivered with sercom-deliver when it is built,
#      else queued as the MDA leaves them; then sercom-runner --once -j 1:
#      sandboxed build and runs, comparisons, results, reports, replies)
#      against the same builds and runs done bare (plain fork/exec of make
#      and ./tp, cmp; no sandbox, no database), in the same run.
#      Target: sandboxed throughput >= 0.8x bare.
#  (2) the same work graded with -j 2 against -j 1. Target >= 1.7x.
# The machine may be shared (CI, other jobs): the work is cut in ROUNDS
# and the variants alternate round by round, so a burst of foreign load
# hits them alike instead of falsifying one of them.
set -u
TOP=${SERCOM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/t/lib.sh"
. "$TOP/tests/t/lib-instance.sh"
N=${BENCH_N:-100}
ROUNDS=${BENCH_ROUNDS:-5}
PER=$((N / ROUNDS))
N=$((PER * ROUNDS))
# a uid range of its own (tests may run meanwhile)
export SERCOM_UID_BASE=${SERCOM_UID_BASE:-60440}
EXDIR=$TOP/tests/bench/exercises
EX=$EXDIR/tp10
[ "$(id -u)" = 0 ] || { echo "runner bench: needs root (sandbox)"; exit 0; }
[ -x "$SERCOM_BIN/sercom-runner" ] || { echo "runner bench: sercom-runner not built"; exit 1; }
T=$(mktemp -d /tmp/sercom-bench.XXXXXX)
[ -n "${BENCH_KEEP:-}" ] && echo "keeping $T" || trap 'rm -rf "$T"' EXIT
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

# ---- bare: the same work, plain fork/exec ----
# One fork/exec of make and of ./tp per case; the expected outputs are read
# once and compared in the shell (no cmp, no basename: the baseline must not
# pay forks the runner does not).
BPASS=0
CASES=(); EXPECT=()
for c in "$EX"/tests/*/; do
	c=${c%/}; CASES+=("$c")
	IFS= read -r -d '' e < "$c/stdout"; EXPECT+=("$e")
done
bare() { # first last
	local d=$T/bare i k out
	mkdir -p "$d"
	for i in $(seq "$1" "$2"); do
		mkdir "$d/$i"
		cp "$EX/solution/tp.c" "$EX/Makefile" "$d/$i/"
		(cd "$d/$i" && exec make -s >make.out 2>make.err) || continue
		for k in "${!CASES[@]}"; do
			"$d/$i/tp" < "${CASES[$k]}/stdin" > "$d/$i/$k.out" 2>"$d/$i/$k.err"
			IFS= read -r -d '' out < "$d/$i/$k.out"
			[ "$out" = "${EXPECT[$k]}" ] && BPASS=$((BPASS + 1))
		done
	done
}

# ---- sandboxed: instances, attempts by distinct students (the MDA
# supersedes a student's older queued attempt) ----
mail() { # student number
	cat <<EOF
From: Student $1 <st$1@example.edu>
To: grader+tp10@example.edu
Subject: tp10
Message-ID: <bench-$1-$RANDOM$RANDOM@example.edu>
Date: $(date -R)
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b0undary"

--b0undary
Content-Type: text/plain; charset=us-ascii

my homework
--b0undary
Content-Type: text/x-csrc; name="tp.c"
Content-Disposition: attachment; filename="tp.c"

$(cat "$EX/solution/tp.c")
--b0undary--
EOF
}

instance() { # dir
	runner_instance "$1" "$EXDIR" || return 1
	# the mail is recorded by the ingester, never as root (src/intake.c)
	instance_owner "$1"
	{
		echo "BEGIN;"
		for i in $(seq "$N"); do
			echo "INSERT OR IGNORE INTO students (id, name) VALUES ('st$i', 'Student $i');"
			echo "INSERT OR IGNORE INTO student_emails (email, student) VALUES ('st$i@example.edu', 'st$i');"
		done
		echo "COMMIT;"
	} | sqlite3 -batch -cmd ".timeout 20000" "$1/var/sercom.db"
}

DELIVER=$([ -x "$SERCOM_BIN/sercom-deliver" ] && echo 1 || echo 0)
# the mails are written before the clock starts: the MTA hands over a
# message, it does not pay for composing it (nor does bare)
mkdir -p "$T/mails"
for i in $(seq "$N"); do mail "$i" > "$T/mails/$i"; done
deliver() { # dir first last
	mkdir -p "$T/sub"; cp "$EX/solution/tp.c" "$T/sub/"
	for i in $(seq "$2" "$3"); do
		if [ "$DELIVER" = 1 ]; then
			"$SERCOM_BIN/sercom-deliver" -c "$1/sercom.conf" -e tp10 -f "st$i@example.edu" < "$T/mails/$i" || return 1
		else
			queue_attempt "$1" tp10 "$T/sub" "st$i" >/dev/null || return 1
		fi
	done
}

grade() { # dir jobs
	"$SERCOM_BIN/sercom-runner" -c "$1/sercom.conf" --once -j "$2" 2>>"$1/runner.err"
}

how=$([ "$DELIVER" = 1 ] && echo "sercom-deliver" || echo "sqlite queueing (no sercom-deliver)")
echo "runner bench: $N submissions x 10 cases of tp10 in $ROUNDS rounds; delivery by $how; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

A=$T/j1; B=$T/j2
instance "$A" && instance "$B" || { echo "instance failed"; exit 1; }
bare_ms=0; del_ms=0; j1_ms=0; j2_ms=0
for r in $(seq 0 $((ROUNDS - 1))); do
	first=$((r * PER + 1)); last=$(((r + 1) * PER))
	t0=$(now); bare "$first" "$last"; t1=$(now)
	bare_ms=$((bare_ms + $(ms "$t0" "$t1")))
	t0=$(now); deliver "$A" "$first" "$last" || { echo "delivery failed"; exit 1; }; t1=$(now)
	grade "$A" 1; t2=$(now)
	del_ms=$((del_ms + $(ms "$t0" "$t1"))); j1_ms=$((j1_ms + $(ms "$t1" "$t2")))
	deliver "$B" "$first" "$last" || exit 1
	t0=$(now); grade "$B" 2; t1=$(now)
	j2_ms=$((j2_ms + $(ms "$t0" "$t1")))
done

spass=$(sql "$A" "SELECT count(*) FROM results WHERE verdict = 'PASS'")
acc1=$(sql "$A" "SELECT count(*) FROM attempts WHERE verdict = 'ACCEPTED'")
acc2=$(sql "$B" "SELECT count(*) FROM attempts WHERE verdict = 'ACCEPTED'")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
e2e_ms=$((del_ms + j1_ms))
echo "  bare (make + ./tp + cmp, serial):   ${bare_ms} ms  ($BPASS/$((N * 10)) cases pass)"
echo "  sandboxed -j 1, grading only:       ${j1_ms} ms  ($spass/$((N * 10)) PASS, $acc1/$N ACCEPTED)"
echo "  sandboxed -j 1, delivery + grading: ${e2e_ms} ms  (delivery ${del_ms} ms)"
echo "  (1) throughput sandboxed/bare: grading $(ratio "$bare_ms" "$j1_ms")x, end to end $(ratio "$bare_ms" "$e2e_ms")x  (target >= 0.8x)"
echo "  sandboxed -j 2, grading only:       ${j2_ms} ms  ($acc2/$N ACCEPTED)"
echo "  (2) -j 2 / -j 1 throughput: $(ratio "$j1_ms" "$j2_ms")x  (target >= 1.7x)"
echo "  load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other jobs on the machine weigh on both ratios)"
for i in "$A" "$B"; do
	[ "$(sql "$i" "SELECT count(*) FROM attempts WHERE verdict = 'ACCEPTED'")" = "$N" ] && continue
	echo "  $i: not all ACCEPTED: $(sql "$i" "SELECT group_concat(s, ', ') FROM (SELECT state || '/' || COALESCE(verdict, reason, '-') || ' ' || count(*) AS s FROM attempts GROUP BY state, verdict, reason)")"
	grep -i 'error' "$i/runner.err" | sort | uniq -c | sort -rn | head -5
done
[ "$acc1" = "$N" ] && [ "$acc2" = "$N" ]
