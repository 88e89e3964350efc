#!/bin/bash
# Benchmark of the runner (issue 4), printed by `make bench`:
#  (1) N submissions (default 100) x 10 cases of tests/bench/exercises/tp10
#      graded end to end (delivered with sercom-deliver when it is built,
#      else queued as the MDA leaves them; then sercom-runner --once -j 1:
#      sandboxed build and runs, comparisons, results, reports, replies)
#      against the same builds and runs done bare (plain fork/exec of make
#      and ./tp, cmp; no sandbox, no database), in the same run.
#      Target: sandboxed throughput >= 0.8x bare.
#  (2) the same queue graded with -j 2 against -j 1. Target >= 1.7x.
set -u
TOP=${SERCOM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/t/lib.sh"
. "$TOP/tests/t/lib-instance.sh"
N=${BENCH_N:-100}
EXDIR=$TOP/tests/bench/exercises
EX=$EXDIR/tp10
[ "$(id -u)" = 0 ] || { echo "runner bench: needs root (sandbox)"; exit 0; }
[ -x "$SERCOM_BIN/sercom-runner" ] || { echo "runner bench: sercom-runner not built"; exit 1; }
T=$(mktemp -d /tmp/sercom-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

# ---- bare: the same work, plain fork/exec ----
bare() {
	local d=$T/bare pass=0
	mkdir -p "$d"
	for i in $(seq "$N"); do
		mkdir "$d/$i"
		cp "$EX/solution/tp.c" "$EX/Makefile" "$d/$i/"
		(cd "$d/$i" && make -s >make.out 2>make.err) || continue
		for c in "$EX"/tests/*/; do
			n=$(basename "$c")
			"$d/$i/tp" < "$c/stdin" > "$d/$i/$n.out" 2>"$d/$i/$n.err"
			cmp -s "$c/stdout" "$d/$i/$n.out" && pass=$((pass + 1))
		done
	done
	echo "$pass"
}

# ---- sandboxed: an instance, N attempts by N students ----
mail() { # student number
	cat <<EOF
From: Student $1 <st$1@example.edu>
To: grader+tp10@example.edu
Subject: tp10
Message-ID: <bench-$1-$RANDOM@example.edu>
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
	{
		echo "BEGIN;"
		for i in $(seq "$N"); do
			echo "INSERT OR IGNORE INTO students (id, name) VALUES ('st$i', 'Student $i');"
			echo "INSERT OR IGNORE INTO student_emails (email, student) VALUES ('st$i@example.edu', 'st$i');"
		done
		echo "COMMIT;"
	} | sqlite3 -batch "$1/var/sercom.db"
}

deliver_all() { # dir
	if [ -x "$SERCOM_BIN/sercom-deliver" ]; then
		for i in $(seq "$N"); do
			mail "$i" | "$SERCOM_BIN/sercom-deliver" -c "$1/sercom.conf" -e tp10 -f "st$i@example.edu" || return 1
		done
	else
		for i in $(seq "$N"); do
			mkdir -p "$T/sub"; cp "$EX/solution/tp.c" "$T/sub/"
			queue_attempt "$1" tp10 "$T/sub" "st$i" >/dev/null || return 1
		done
	fi
}

grade() { # dir jobs
	"$SERCOM_BIN/sercom-runner" -c "$1/sercom.conf" --once -j "$2" 2>"$1/runner.err"
}

check() { # dir -> number of PASS rows
	sql "$1" "SELECT count(*) FROM results WHERE verdict = 'PASS'"
}

how=$([ -x "$SERCOM_BIN/sercom-deliver" ] && echo "sercom-deliver" || echo "sqlite queueing (no sercom-deliver)")
echo "runner bench: $N submissions x 10 cases of tp10; delivery by $how; $(nproc) cores"

t0=$(now); bpass=$(bare); t1=$(now)
bare_ms=$(ms "$t0" "$t1")

I1=$T/j1
instance "$I1" || { echo "instance failed"; exit 1; }
t0=$(now); deliver_all "$I1" || { echo "delivery failed"; exit 1; }; t1=$(now)
grade "$I1" 1; t2=$(now)
del_ms=$(ms "$t0" "$t1"); j1_ms=$(ms "$t1" "$t2")
spass=$(check "$I1")
queued=$(sql "$I1" "SELECT count(*) FROM attempts WHERE state = 'QUEUED'")
accepted=$(sql "$I1" "SELECT count(*) FROM attempts WHERE verdict = 'ACCEPTED'")

I2=$T/j2
instance "$I2" || exit 1
deliver_all "$I2" || exit 1
t0=$(now); grade "$I2" 2; t1=$(now)
j2_ms=$(ms "$t0" "$t1")
accepted2=$(sql "$I2" "SELECT count(*) FROM attempts WHERE verdict = 'ACCEPTED'")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
e2e_ms=$((del_ms + j1_ms))
echo "  bare (make + ./tp + cmp, serial):   ${bare_ms} ms  ($bpass/$((N * 10)) cases pass)"
echo "  sandboxed -j 1, grading only:       ${j1_ms} ms  ($spass/$((N * 10)) PASS, $accepted/$N ACCEPTED, $queued left queued)"
echo "  sandboxed -j 1, delivery + grading: ${e2e_ms} ms  (delivery ${del_ms} ms)"
echo "  (1) throughput sandboxed/bare: grading $(ratio "$bare_ms" "$j1_ms")x, end to end $(ratio "$bare_ms" "$e2e_ms")x  (target >= 0.8x)"
echo "  sandboxed -j 2, grading only:       ${j2_ms} ms  ($accepted2/$N ACCEPTED)"
echo "  (2) -j 2 / -j 1 throughput: $(ratio "$j1_ms" "$j2_ms")x  (target >= 1.7x)"
[ "$accepted" = "$N" ] && [ "$accepted2" = "$N" ]
