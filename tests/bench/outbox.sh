#!/bin/bash
# Benchmark of the replies (issue 17), printed by `make bench`: N graded
# attempts (default 200) answered by `sercom-runner --once` (the composer
# writes each reply into the outbox, the transport hands it over), through
# (1) postfix's sendmail and (2) SMTP to postfix's smtpd on 127.0.0.1, a
# private postfix instance (tests/t/lib-postfix.sh). Prints replies
# composed and sent per second for each; the time until postfix has
# delivered them is not ours and is not counted. BENCH_OUTBOX_N sets N.
set -u
TOP=${SERCOM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/t/lib.sh"
. "$TOP/tests/t/lib-postfix.sh"
N=${BENCH_OUTBOX_N:-200}
export SERCOM_UID_BASE=${SERCOM_UID_BASE:-60470}
[ "$(id -u)" = 0 ] || { echo "outbox bench: needs root (a postfix instance)"; exit 0; }
pf_available || { echo "outbox bench: postfix is not installed"; exit 0; }
[ -x "$SERCOM_BIN/sercom-runner" ] || { echo "outbox bench: sercom-runner not built"; exit 1; }
T=$(mktemp -d /tmp/sercom-bench-outbox.XXXXXX)
trap 'pf_stop; rm -rf "$T"' EXIT
now() { date +%s%N; }

pf_setup "$T/pf"
pf_start || { echo "outbox bench: postfix does not start"; exit 1; }
mkdir -p "$T/ex"
fx_exercise "$T/ex"

# run NAME TRANSPORT: a fresh instance, N answered attempts; prints the rate
run() {
	local I=$T/$1 t0 t1 sent ms
	SERCOM_EXERCISES=$T/ex make_instance "$I" >/dev/null || { echo "outbox bench: sercom init failed"; exit 1; }
	sed -i -e 's/^from = .*/from = Course Grader <grader@test.example>/' \
	       -e 's/^admin = .*/admin = staff@test.example/' \
	       -e "s|^transport = .*|transport = $2\\nstarttls = opportunistic|" "$I/sercom.conf"
	sqlite3 "$I/var/sercom.db" "INSERT INTO students VALUES ('t1', 'Ana Test');
	  INSERT INTO student_emails VALUES ('ana@test.example', 't1');"
	local n
	{
		echo "BEGIN;"
		for n in $(seq 1 "$N"); do
			echo "INSERT INTO messages (message_id, spool_file, sender, subject, received, outcome)
			  VALUES ('b$n.$1@student.example', '/nonexistent', 'ana@test.example', 'tp1', strftime('%s','now'), 'queued');
			INSERT INTO attempts (student, email, exercise, number, message, state, verdict, build, grading, queued, finished)
			  VALUES ('t1', 'ana@test.example', 'tp1', $n, last_insert_rowid(), 'DONE', 'ACCEPTED', 'OK', 1,
			          strftime('%s','now'), strftime('%s','now'));"
		done
		echo "COMMIT;"
	} | sqlite3 -batch "$I/var/sercom.db"
	t0=$(now)
	SERCOM_SENDMAIL=$PF/sendmail "$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once >/dev/null 2>"$T/$1.err"
	t1=$(now)
	sent=$(sqlite3 "$I/var/sercom.db" "SELECT count(*) FROM outbox WHERE state = 'SENT' AND attempt IS NOT NULL")
	ms=$(( (t1 - t0) / 1000000 ))
	[ "$sent" = "$N" ] || { echo "outbox bench: $1: $sent of $N sent"; tail -3 "$T/$1.err"; }
	printf '%-9s %4d replies composed and sent in %6d ms: %7.1f replies/s\n' "$1" "$sent" "$ms" \
	       "$(echo "scale=1; $sent * 1000 / ($ms + 1)" | bc)"
}

echo "replies through a loopback postfix (N=$N, one --once run each)"
run sendmail sendmail
run smtp "smtp://127.0.0.1:$PF_PORT"
