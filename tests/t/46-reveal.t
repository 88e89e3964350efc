#!/bin/bash
# reveal_private = after_close (README "Grades"): when an exercise has
# closed, sercom-runner (--once, and the daemon at start and on its timer)
# mails each student who submitted one final result of the attempt that
# counts, private cases and final score included, once: running it again
# or restarting the runner sends nothing more. A student whose extension
# runs gets nothing until it ends. `sercom reveal EXERCISE` does it by
# hand and refuses before closes. Dates are chosen (closes yesterday,
# tomorrow): nothing sleeps.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-instance.sh"
export SERCOM_UID_BASE=${SERCOM_UID_BASE_46:-${SERCOM_UID_BASE:-64400}}

[ "$(id -u)" = 0 ] || skip_all "the sandbox needs root"
for p in sercom-runner sercom; do
	[ -x "$SERCOM_BIN/$p" ] || { echo "Bail out! $SERCOM_BIN/$p not built"; exit 1; }
done
SUBS=$SERCOM_TOP/tests/t/submissions/tp1
[ -d "$SERCOM_TOP/conf/exercises/tp1" ] && [ -d "$SUBS/correct" ] || skip_all "no example exercise tp1"
tmpdir
I=$T/inst
EX=$T/exercises
yesterday=$(date -d '-1 day' '+%Y-%m-%d %H:%M')
tomorrow=$(date -d '+1 day' '+%Y-%m-%d %H:%M')

# set_rules FILE KEY=VALUE...: the [exercise] group's keys replaced
set_rules() {
	local f=$1; shift
	for kv in "$@"; do
		sed -i "/^${kv%%=*} *=/d" "$f"
		sed -i "s|^\[exercise\]\$|[exercise]\n${kv%%=*} = ${kv#*=}|" "$f"
	done
}
# tp1: the example (public and private cases), closed yesterday
mkdir -p "$EX"
cp -r "$SERCOM_TOP/conf/exercises/tp1" "$EX/tp1"
set_rules "$EX/tp1/exercise.conf" "closes=$yesterday" "reveal_private=after_close" "late=reject"
# tp2: closes tomorrow, revealed by hand
mkdir -p "$EX/tp2/tests/01-a" "$EX/tp2/tests/02-hidden"
printf '[exercise]\ncloses = %s\nreveal_private = after_close\n' "$tomorrow" > "$EX/tp2/exercise.conf"
printf '[case]\nprivate = true\npoints = 3\n' > "$EX/tp2/tests/02-hidden/case.conf"

ok "instance" runner_instance "$I" "$EX"
sql "$I" "INSERT INTO students (id, name) VALUES ('s003','Carla'),('s004','Dani');
          INSERT INTO student_emails (email, student) VALUES ('carla@example.edu','s003'),('dani@example.edu','s004')"

# an attempt as the runner leaves it graded and answered, with its points
# (schema step 5): graded STUDENT EXERCISE SCORE PRIVATE_SCORE PENALTY
graded() {
	sql "$I" "INSERT INTO messages (message_id, spool_file, sender, subject, received, outcome)
	            VALUES ('$1.$2@test', 'none', '$1@example.edu', '$2', strftime('%s','now','-2 days'), 'queued');
	          INSERT INTO attempts (student, email, exercise, number, message, state, verdict, build, grading,
	            queued, finished, answered, score, max_score, private_score, private_max, penalty)
	          VALUES ('$1', (SELECT email FROM student_emails WHERE student = '$1'), '$2', 1, last_insert_rowid(),
	            'DONE', 'TESTS_FAILED', 'OK', 1, strftime('%s','now','-2 days'), strftime('%s','now','-2 days'),
	            1, $3, 4, $4, 3, $5);
	          INSERT INTO results (attempt, grading, seq, case_name, verdict, private, points, score)
	          VALUES (last_insert_rowid(), 1, 1, '02-hidden', 'PASS', 1, 3, 3);"
}
# real grading for Ana (correct) and Beto (fails a private case)
a_ana=$(queue_attempt "$I" tp1 "$SUBS/correct" s001)
a_beto=$(queue_attempt "$I" tp1 "$SUBS/wrong-output" s002)
graded s003 tp1 2 3 50
graded s004 tp1 4 3 0
sql "$I" "INSERT INTO extensions (student, exercise, until, granted_by, granted_at)
          VALUES ('s004', 'tp1', strftime('%s','now','+1 day'), 'staff', strftime('%s','now'))"

finals() { sql "$I" "SELECT count(*) FROM outbox o JOIN reveals r ON r.outbox = o.id"; }
outbox() { sql "$I" "SELECT count(*) FROM outbox"; }
# the decoded subject and text parts of the final mail of STUDENT EXERCISE
final_mail() {
	local f
	f=$(sql "$I" "SELECT o.file FROM outbox o JOIN reveals r ON r.outbox = o.id WHERE r.student = '$1' AND r.exercise = '$2'")
	[ -n "$f" ] || return 1
	python3 - "$f" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
print("Subject:", m["subject"])
for p in m.walk():
    if p.get_content_maintype() == "text":
        print(p.get_filename() or "(body)")
        print(p.get_content())
PY
}

"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once -j 2 2>"$T/once.err"
is "$?" 0 "--once grades, answers and reveals"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE id IN ($a_ana, $a_beto) AND state = 'DONE' AND answered = 1")" 2 \
   "both graded and answered"
is "$(finals)" 3 "one final mail each for Ana, Beto, Carla (Dani's extension runs)"
is "$(sql "$I" "SELECT group_concat(student, ' ') FROM (SELECT student FROM reveals WHERE exercise = 'tp1' ORDER BY student)")" \
   "s001 s002 s003" "reveals: the three students"
is "$(sql "$I" "SELECT count(*) FROM outbox o JOIN reveals r ON r.outbox = o.id WHERE o.state = 'SENT'")" 3 "the final mails are sent"

ana=$(final_mail s001 tp1)
like "$ana" "Subject: \[algo1\] Final result \(exercise tp1\)" "Ana: subject Final result"
like "$ana" "Private test cases:" "Ana: the private cases are listed"
like "$ana" "07-private-many: passed" "Ana: a private case by name"
beto=$(final_mail s002 tp1)
p1=$(sql "$I" "SELECT case_name FROM results WHERE attempt = $a_beto AND private = 1 AND verdict != 'PASS' ORDER BY seq LIMIT 1")
ok "Beto fails a private case ($p1)" test -n "$p1"
like "$beto" "^  $p1: [a-z ]*differs" "Beto: his failing private case and what differs"
like "$beto" "^${p1}\.[a-z.]*diff\$" "Beto: its diff attached"
is "$(sql "$I" "SELECT attempt FROM reveals WHERE student = 's002'")" "$a_beto" "Beto: the attempt that counts"
carla=$(final_mail s003 tp1)
like "$carla" "Final score: 2.5 of 7 points" "Carla: the final score with her late penalty (2 + 3 less 50%)"
like "$carla" "02-hidden: passed \(3 of 3 points\)" "Carla: a private case with its points"
is "$(sql "$I" "SELECT count(*) FROM reveals WHERE student = 's004'")" 0 "Dani: nothing while the extension runs"

# again: nothing more
n0=$(outbox)
"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once 2>>"$T/once.err"
is "$(outbox)" "$n0" "--once again: no new outbox row"

# the daemon restarted, Dani's extension over: Dani's mail, nobody else's
sql "$I" "UPDATE extensions SET until = strftime('%s','now','-1 minute') WHERE student = 's004'"
"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -j 1 -v 2>"$T/daemon.err" &
rpid=$!
dani_sent() { [ "$(sql "$I" "SELECT count(*) FROM outbox o JOIN reveals r ON r.outbox = o.id WHERE r.student = 's004' AND o.state = 'SENT'")" = 1 ]; }
ok "daemon: at start, Dani's final mail once her extension is over" wait_for 30 dani_sent
kill -TERM $rpid
gone() { ! kill -0 $rpid 2>/dev/null; }
ok "daemon: stops on SIGTERM" wait_for 30 gone
wait $rpid
is "$(outbox)" $((n0 + 1)) "daemon: one outbox row more (Dani's), none for the others"
is "$(finals)" 4 "four final mails in all"

# by hand: tp2 closes tomorrow
graded s001 tp2 1 2 0
S() { "$SERCOM_BIN/sercom" -c "$I/sercom.conf" "$@"; }
out=$(S reveal tp2 2>&1); rc=$?
is "$rc" 64 "sercom reveal before closes: refused"
like "$out" "closes on .*--force" "the refusal says when and how to force"
out=$(S reveal tp2 --dry-run --force 2>&1); rc=$?
is "$rc" 0 "--dry-run --force: exit 0"
like "$out" "s001	ana@example.edu	attempt [0-9]+ \(#1\)	would get the final mail" "--dry-run says who gets a mail"
is "$(sql "$I" "SELECT count(*) FROM reveals WHERE exercise = 'tp2'")" 0 "--dry-run queues nothing"
set_rules "$EX/tp2/exercise.conf" "closes=$yesterday"
out=$(S reveal tp2 2>&1); rc=$?
is "$rc" 0 "sercom reveal after closes: exit 0"
like "$out" "s001	ana@example.edu	.*final mail queued" "it says who got it"
like "$(final_mail s001 tp2)" "Final score: 3 of 7 points" "the by-hand final mail has the final score"
n1=$(outbox)
out=$(S reveal tp2 2>&1)
like "$out" "0 final mail\(s\) queued" "sercom reveal again: nothing"
is "$(outbox)" "$n1" "no new outbox row"
out=$(S reveal nope 2>&1); rc=$?
is "$rc" 65 "an unknown exercise: exit 65"
like "$(S --help)" "reveal" "sercom --help lists reveal"

done_testing
