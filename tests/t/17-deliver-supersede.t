#!/bin/bash
# 17-deliver-supersede: a newer submission replaces the student's attempt
# still QUEUED for the same exercise (docs/ARCHITECTURE.md section 5, SUPERSEDED), and
# only that one: not another exercise's, not another student's, not one
# already graded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
need_mda
tmpdir
make_exercises "$T/exercises"
I=$T/inst
SERCOM_EXERCISES=$T/exercises make_instance "$I" || { echo "Bail out! make_instance failed"; exit 1; }

# state MESSAGE-ID: the state of the attempt the mail made
state() { sql "$I" "SELECT a.state FROM attempts a JOIN messages m ON a.message = m.id WHERE m.message_id = '$1'"; }
send() { # send MESSAGE-ID FROM EXERCISE
	gen_mail "$T/$1" "$1" "$2" "$3"
	deliver "$I" "$T/$1"; is $? 0 "$1 ($3 from $2): exit 0"
}
send ana-tp1-a "Ana <ana@example.edu>" tp1
send ana-tp5-a "Ana <ana@example.edu>" tp5
send beto-tp1-a "Beto <beto@example.edu>" tp1
is "$(state ana-tp1-a):$(state ana-tp5-a):$(state beto-tp1-a)" "QUEUED:QUEUED:QUEUED" \
	"three exercises or students: three attempts waiting"
send ana-tp1-b "Ana <ana@example.edu>" tp1
is "$(state ana-tp1-a)" SUPERSEDED "Ana's newer tp1 supersedes her queued tp1"
is "$(state ana-tp1-b)" QUEUED "and waits itself"
is "$(state ana-tp5-a)" QUEUED "Ana's tp5 is not superseded by her tp1"
is "$(state beto-tp1-a)" QUEUED "Beto's tp1 is not superseded by Ana's"
# an attempt already graded stays as it was
sql "$I" "UPDATE attempts SET state = 'DONE', verdict = 'ACCEPTED' WHERE id = (SELECT a.id FROM attempts a JOIN messages m ON a.message = m.id WHERE m.message_id = 'beto-tp1-a')"
send beto-tp1-b "Beto <beto@example.edu>" tp1
is "$(state beto-tp1-a)" DONE "a graded attempt is never superseded"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE state = 'QUEUED'")" 3 "exactly three attempts wait: ana tp1, ana tp5, beto tp1"
done_testing
