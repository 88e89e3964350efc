#!/bin/bash
# Issue 15, Shows: `sercom export grades` (CSV and JSON) checked against
# grades computed by hand for a small course: 5 students, 2 exercises with
# points and a group (the cases of tp1), a late penalty, extensions (one
# turns a would-be `closed` rejection into a graded late attempt) and a
# build failure under charge_build_failures = no that gives its attempt
# back. Every mail goes through sercom-deliver and the intake, every
# attempt is graded by sercom-runner --once. Also `sercom extend`,
# `sercom extensions`, the score in `attempts`/`show`, and a regrade
# recomputing the score. README "Grades".
. "$(dirname "$0")/lib.sh"

for p in sercom sercom-deliver sercom-runner; do
	[ -x "$SERCOM_BIN/$p" ] || { echo "Bail out! $SERCOM_BIN/$p not built"; exit 1; }
done
[ "$(id -u)" = 0 ] || skip_all "the runner's sandbox needs root"
command -v python3 >/dev/null || skip_all "python3 missing"
tmpdir
export SERCOM_UID_BASE=${SERCOM_UID_BASE:-$((64000 + ($$ % 250) * 4))}
TP1=$SERCOM_TOP/conf/exercises/tp1
SUBS=$SERCOM_TOP/tests/t/submissions/tp1
I=$T/i
C=$I/sercom.conf
S() { "$SERCOM_BIN/sercom" -c "$C" "$@"; }
now=$(date +%s)
when() { date -d "@$((now + $1))" '+%Y-%m-%d %H:%M'; }

# ---- the course ------------------------------------------------------------
# alpha: tp1's cases (public 10 points, the group "errors" = 04 + 06; private
# 5), closed 36 hours ago (a mail now is 2 days late), 10% per day up to 1
# day: without an extension a mail now is refused as closed.
# beta: tp1's public cases only (10 points), closed 12 hours ago (1 day
# late: 25% off), 2 attempts, build failures not charged.
mkdir -p "$T/ex"
exercise() {
	local name=$1; shift
	mkdir -p "$T/ex/$name"
	cp -r "$TP1/Makefile" "$TP1/solution" "$TP1/tests" "$T/ex/$name/"
	{ printf '[exercise]\ntitle = %s\nfiles = *.c *.h\nrequired = tp.c\n' "$name"
	  printf '%s\n' "$@"
	  sed -n '/^\[limits\]/,$p' "$TP1/exercise.conf"; } > "$T/ex/$name/exercise.conf"
}
exercise alpha "closes = $(when -129600)" "late = penalty 10 per day max 1"
exercise beta "closes = $(when -43200)" "late = penalty 25 per day" "max_attempts = 2" "charge_build_failures = no"
rm -r "$T/ex/beta/tests/07-private-many" "$T/ex/beta/tests/08-private-negative"

# the submissions: tp1's, plus "noerr", the solution exiting 5 instead of 1
# on empty input: it fails 06-no-numbers alone, so the group "errors"
# (04 passes) earns nothing: 10 - 2 = 8 public points
mkdir -p "$T/noerr"
sed 's/return 1;/return 5;/' "$TP1/solution/tp.c" > "$T/noerr/tp.c"
ok "noerr differs from the solution" eval '! cmp -s "$TP1/solution/tp.c" "$T/noerr/tp.c"'
src() { case $1 in noerr) echo "$T/noerr/tp.c" ;; *) echo "$SUBS/$1/tp.c" ;; esac; }

SERCOM_EXERCISES=$T/ex make_instance "$I" || { echo "Bail out! could not make the instance"; exit 1; }
printf 'id,name,email\ns004,Diego Díaz,diego@example.edu\ns005,Eva Estévez,eva@example.edu\n' > "$T/roster2.csv"
S roster import "$T/roster2.csv" > /dev/null || { echo "Bail out! roster"; exit 1; }

declare -A ADDR=([s001]=ana@example.edu [s002]=beto@example.edu [s003]=carla@example.edu
                 [s004]=diego@example.edu [s005]=eva@example.edu)
n=0
# submit STUDENT EXERCISE SUBMISSION: one mail through sercom-deliver, then
# graded by sercom-runner --once (one at a time: a queued attempt would be
# superseded by the next); the attempt id in R
submit() {
	local b="=_b$RANDOM" f
	n=$((n + 1))
	f=$(src "$3")
	{ printf 'From: %s <%s>\nTo: tp+%s@example.edu\nSubject: %s\nMessage-ID: <g%s.%s@test>\nDate: %s\nMIME-Version: 1.0\n' \
		"$1" "${ADDR[$1]}" "$2" "$2" "$n" "$$" "$(LC_ALL=C date -R)"
	  printf 'Content-Type: multipart/mixed; boundary="%s"\n\n--%s\nContent-Type: text/plain\n\nhere\n' "$b" "$b"
	  printf -- '--%s\nContent-Type: text/x-csrc; name="tp.c"\nContent-Disposition: attachment; filename="tp.c"\n' "$b"
	  printf 'Content-Transfer-Encoding: base64\n\n'; base64 "$f"; printf -- '--%s--\n' "$b"; } > "$T/m$n"
	"$SERCOM_BIN/sercom-deliver" -c "$C" < "$T/m$n" || return 1
	"$SERCOM_BIN/sercom-runner" -c "$C" --once > "$T/runner.log" 2>&1 || return 1
	R=$(sql "$I" "SELECT a.id FROM attempts a JOIN messages m ON m.id = a.message WHERE m.message_id = 'g$n.$$@test'")
}
att() { sql "$I" "SELECT $2 FROM attempts WHERE id = $1"; }

# ---- extensions ---------------------------------------------------------------
S extend s001 alpha > /dev/null 2>&1; is "$?" 64 "extend without --until: usage error"
S extend s001 alpha --until tomorrow > /dev/null 2>"$T/err"; is "$?" 64 "extend --until with a bad date: usage error"
like "$(cat "$T/err")" "YYYY-MM-DD HH:MM" "which says the date's format"
S extend s999 alpha --until "$(when 3600)" > /dev/null 2>"$T/err"; is "$?" 65 "extend an unknown student: EX_DATAERR"
like "$(cat "$T/err")" "s999" "naming the student"
S extend s001 nosuch --until "$(when 3600)" > /dev/null 2>"$T/err"; is "$?" 65 "extend an unknown exercise: EX_DATAERR"
S extend s001 alpha --until "$(when 3600)" --attempts 0 > /dev/null 2>&1; is "$?" 64 "--attempts 0: usage error"
is "$(sql "$I" "SELECT count(*) FROM extensions")" 0 "nothing recorded by the refused ones"

# Ana (alpha): first a week more, then replaced by "12 hours ago": her
# mail will be 1 day late (10% off) instead of refused
out=$(SUDO_USER=teacher1 S extend s001 ALPHA --until "$(when 604800)" --note "sick leave"); is "$?" 0 "extend s001 ALPHA"
like "$out" "s001 may submit alpha until $(when 604800)" "it says what it granted (the exercise's own name)"
out=$(S extend ana@example.edu alpha --until "$(when -43200)" 2>"$T/err"); is "$?" 0 "extend again (the student by address)"
like "$(cat "$T/err")" "is in the past" "a date in the past is granted, with a note"
like "$out" "replaced: until $(when 604800), note: sick leave \(granted by teacher1" "it says what it replaced"
is "$(sql "$I" "SELECT count(*) || ' ' || (until = strftime('%s', '$(when -43200)', 'utc')) || ' ' || granted_by FROM extensions WHERE student = 's001'")" \
	"1 1 $(id -un)" "one row, the new date, granted by the caller"
# Carla (alpha): on time, but 1 attempt; Diego (alpha): 1 day late; Eva (beta): on time
S extend s003 alpha --until "$(when 172800)" --attempts 1 > /dev/null &&
S extend s004 alpha --until "$(when -43200)" > /dev/null 2>&1 &&
S extend s005 beta --until "$(when 86400)" --note "exchange student" > /dev/null
is "$?" 0 "three more extensions"
S extensions --format csv > "$T/x.csv"; is "$?" 0 "extensions --format csv"
is "$(python3 -c '
import csv, sys
print(" ".join(r["exercise"] + ":" + r["student"] + ":" + (r["attempts"] or "-") for r in csv.DictReader(open(sys.argv[1], encoding="utf-8", newline=""))))' "$T/x.csv")" \
	"alpha:s001:- alpha:s003:1 alpha:s004:- beta:s005:-" "the extensions listed"
like "$(S extensions --exercise beta)" "s005 +Eva Estévez +beta .*exchange student" "extensions --exercise (text)"
is "$(S extensions --student carla@example.edu --format json | python3 -c 'import json,sys; print([r["student"] for r in json.load(sys.stdin)])')" \
	"['s003']" "extensions --student ADDRESS (json)"

# ---- the mails ------------------------------------------------------------------
submit s001 alpha correct; A1=$R         # 1 day late by her extension
submit s002 alpha correct; A2=$R         # 2 days late, no extension: closed
submit s003 alpha noerr; A3=$R           # on time
submit s003 alpha correct; A4=$R         # her 1 attempt is used
submit s004 alpha wrong-output; A5=$R    # 1 day late by his extension
submit s001 beta nocompile; B1=$R        # build failure: not charged
submit s001 beta wrong-output; B2=$R
submit s001 beta correct; B3=$R          # the 2nd charged attempt: accepted
submit s001 beta correct; B4=$R          # the 3rd: exhausted
submit s002 beta correct; B5=$R
submit s002 beta noerr; B6=$R            # last < best
submit s004 beta nocompile; B7=$R
submit s005 beta wrong-output; B8=$R     # on time by her extension
ok "13 attempts recorded" test "$(sql "$I" "SELECT count(*) FROM attempts")" = 13
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE state NOT IN ('DONE', 'REJECTED')")" 0 "every attempt graded or rejected"

is "$(att "$A1" "state || ' ' || verdict || ' ' || late_days || ' ' || penalty")" "DONE ACCEPTED 1 10.0" \
	"the extension turns a would-be closed mail into a graded late attempt (1 day, 10%)"
is "$(att "$A2" "state || ' ' || reason")" "REJECTED closed" "without one, the same mail is refused as closed"
is "$(att "$A2" detail)" "$(sql "$I" "SELECT strftime('%s', '$(when -129600)', 'utc')")" "its detail is the exercise's closes"
is "$(att "$A3" "verdict || ' ' || late_days || ' ' || penalty")" "TESTS_FAILED 0 0.0" "on time by the extension: no penalty"
is "$(att "$A4" "state || ' ' || reason || ' ' || detail")" "REJECTED attempts_exhausted 1" "the extension's budget (1) replaces max_attempts"
is "$(att "$B1" "verdict || ' charged=' || charged")" "BUILD_FAILED charged=0" "a build failure under charge_build_failures = no is not charged"
is "$(att "$B3" "state || ' ' || verdict")" "DONE ACCEPTED" "so a third mail still fits a budget of 2"
is "$(att "$B4" "state || ' ' || reason")" "REJECTED attempts_exhausted" "and the next is refused"
is "$(att "$B7" "charged")" 0 "Diego's build failure: not charged either"
is "$(att "$B2" "charged || ' ' || late_days || ' ' || penalty")" "1 1 25.0" "beta without an extension: 1 day late, 25%"
is "$(att "$B8" "late_days || ' ' || penalty")" "0 0.0" "Eva's extension: on time"

# the points: correct 10 + 5 private; noerr loses the group "errors" (04
# passes, 06 fails): 8 + 5; nocompile: 0 of 10 + 5
sc() { att "$1" "score || '/' || max_score || ' ' || private_score || '/' || private_max"; }
is "$(sc "$A1")" "10.0/10.0 5.0/5.0" "correct: every point"
is "$(sc "$A3")" "8.0/10.0 5.0/5.0" "noerr: the group scores zero because one case fails"
is "$(sql "$I" "SELECT group_concat(case_name || '=' || score || '/' || points || coalesce(':' || grp, ''), ' ') FROM (SELECT * FROM results WHERE attempt = $A3 AND case_name IN ('04-bad-input', '06-no-numbers', '05-files') ORDER BY seq)")" \
	"04-bad-input=0.0/1.0:errors 05-files=3.0/3.0 06-no-numbers=0.0/1.0:errors" \
	"results rows: points, score (04 passed but its group failed), group"
is "$(sc "$B1")" "0.0/10.0 0.0/0.0" "a build failure: nothing of what the exercise is worth"
is "$(sc "$B6")" "8.0/10.0 0.0/0.0" "beta has no private cases"
# wrong-output averages with integers: what it fails is tp1's business; its
# points are read here once and the expected grades below use them
WP=$(att "$A5" "score"); WV=$(att "$A5" "private_score")
is "$(att "$B2" score)" "$WP" "wrong-output earns the same public points in both exercises"

# ---- the listings -------------------------------------------------------------
S attempts --student s001 --exercise alpha > "$T/att.txt"
like "$(cat "$T/att.txt")" "10/10 \+5/5 private -10% late +13\.5" "attempts: score, private, penalty and grade"
S show "$A3" > "$T/show.txt"
like "$(cat "$T/show.txt")" "score +8/10 \+5/5 private" "show: the score"
like "$(cat "$T/show.txt")" "grade +13" "show: the grade"
like "$(cat "$T/show.txt")" "06-no-numbers +WRONG_EXIT +public +0/1 +errors" "show: each case's points and group"
like "$(S show "$B1")" "charged +no" "show: a build failure that is not charged"

# ---- the grades, by hand --------------------------------------------------------
# alpha (best): s001 correct 1 day late: 15 * 0.9 = 13.5; s002 refused: none;
# s003 noerr on time: 13; s004 wrong-output 1 day late: (WP + WV) * 0.9;
# s005: none.
# beta (best): s001 correct (late, 25% off): 10 * 0.75 = 7.5; s002 best
# correct 7.5 (last: noerr 8 * 0.75 = 6); s003 none; s004 build failure 0;
# s005 wrong-output on time: WP.
num() { python3 -c "v = round(($1) * 100) / 100; print(('%.2f' % v).rstrip('0').rstrip('.'))"; }
s004a=$(num "($WP + $WV) * 0.9")
s005b=$(num "$WP")
tot4=$s004a
expected_best="s001:13.5:7.5:21 s002::7.5:7.5 s003:13::13 s004:$s004a:0:$tot4 s005::$s005b:$s005b"
expected_last="s001:13.5:7.5:21 s002::6:6 s003:13::13 s004:$s004a:0:$tot4 s005::$s005b:$s005b"
csv_grades() {
	python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8", newline="")))
print(" ".join(":".join([r["id"], r["alpha"], r["beta"], r["total"]]) for r in rows))' "$1"
}
S export grades > "$T/g.csv"; is "$?" 0 "export grades (CSV by default)"
is "$(head -1 "$T/g.csv" | tr -d '\r')" "id,name,email,alpha,beta,total" "the header: one column per exercise and a total"
is "$(csv_grades "$T/g.csv")" "$expected_best" "the CSV grades are the hand-computed ones (best)"
like "$(cat "$T/g.csv")" "Eva Estévez" "UTF-8 names"
S export grades --policy last > "$T/gl.csv"
is "$(csv_grades "$T/gl.csv")" "$expected_last" "--policy last: the last graded attempt counts"
S export grades --policy worst > /dev/null 2>&1; is "$?" 64 "--policy worst: usage error"
# [mail] grade = last makes last the export's default
sed '/^\[mail\]/a grade = last' "$C" > "$I/last.conf"
"$SERCOM_BIN/sercom" -c "$I/last.conf" export grades > "$T/gl2.csv"
is "$(csv_grades "$T/gl2.csv")" "$expected_last" "[mail] grade = last: the export's default"
S export grades --format json > "$T/g.json"; is "$?" 0 "export grades --format json"
is "$(python3 - "$T/g.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
def f(v):
    return "" if v is None else ("%.2f" % v).rstrip("0").rstrip(".")
print(" ".join(":".join([r["id"], f(r["alpha"]), f(r["beta"]), f(r["total"])]) for r in d))
PY
)" "$expected_best" "the JSON grades are the same (numbers, null for none)"
is "$(python3 - "$T/g.json" "$A1" "$B3" <<'PY'
import json, sys
d = {r["id"]: r for r in json.load(open(sys.argv[1], encoding="utf-8"))}
a, b = d["s001"]["attempts"]["alpha"], d["s001"]["attempts"]["beta"]
print(a["attempt"] == int(sys.argv[2]), a["verdict"], a["score"], a["max_score"], a["private_score"],
      a["private_max"], a["late_days"], a["penalty"], a["grade"],
      b["attempt"] == int(sys.argv[3]), b["penalty"], b["grade"], d["s002"]["attempts"]["alpha"], d["s005"]["name"])
PY
)" "True ACCEPTED 10 10 5 5 1 10 13.5 True 25 7.5 None Eva Estévez" "JSON: what each grade is made of"
S export grades --format text > "$T/g.txt"; is "$?" 0 "export grades --format text"
like "$(sed -n 2p "$T/g.txt")" "^s001 +Ana Alumna +ana[^ ]* +13\.5 +7\.5 +21" "text: aligned columns"

if command -v soffice >/dev/null; then
	(cd "$T" && HOME=$T timeout 120 soffice --headless --convert-to xlsx g.csv > /dev/null 2>&1)
	ok "the CSV opens in LibreOffice (converted to xlsx)" test -s "$T/g.xlsx"
else
	skip "soffice not installed: the CSV is checked with Python's csv module only"
fi

# ---- a regrade recomputes the score -----------------------------------------------
sql "$I" "UPDATE attempts SET score = 0, private_score = 0 WHERE id = $A3"
S regrade "$A3" > /dev/null && "$SERCOM_BIN/sercom-runner" -c "$C" --once > "$T/runner.log" 2>&1
is "$(att "$A3" "state || ' ' || grading")" "DONE 2" "regraded"
is "$(sc "$A3")" "8.0/10.0 5.0/5.0" "the regrade wrote the score again"
is "$(sql "$I" "SELECT count(*) FROM results WHERE attempt = $A3 AND grading = 2 AND points IS NOT NULL")" \
	"$(sql "$I" "SELECT count(*) FROM results WHERE attempt = $A3 AND grading = 1")" "and the new results rows' points"

done_testing
