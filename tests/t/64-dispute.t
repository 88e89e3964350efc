#!/usr/bin/env bash
# Issue 6, Shows: a dispute handled through a real postfix (pipe(8) route).
# A student's failing submission is answered; the student answers the
# reply, which reaches staff (Reply-To), not the robot; staff find the
# attempt, look at everything (private cases), override the verdict with a
# note: the student gets the new verdict and the note by mail, threaded to
# the submission; the gradebook follows; resend mails the reply again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mta.sh"
mta_skip_unless_ready
wrong=$SERCOM_TOP/tests/t/submissions/tp1/wrong-output/tp.c
[ -f "$wrong" ] || skip_all "no $wrong"
if ! mta_start pipe; then
	echo "Bail out! could not start the private postfix"
	mta_show_log
	exit 1
fi
m1=sub.$U@$VDOM md=dispute.$U@$VDOM
B=$STU2@$VDOM

mta_submission "Beto Barrios <$B>" "$ROBOT" "tp1" "$m1" "$wrong" | mta_send "$B" "$ROBOT"
mta_ok "the submission is stored" mta_wait 30 stored_once "$m1"
ok "sercom-runner --once" mta_runner
id=$(attempt_of "$m1" a.id)
is "$(attempt_of "$m1" "state || ' ' || verdict")" "DONE TESTS_FAILED" "graded TESTS_FAILED"
ok "the reply reached the student" mta_wait 30 _count_is maildir_count "$STU2" 1
r1=$(maildir_files "$STU2" | tail -1)
like "$(header "$r1" Subject)" "TESTS FAILED" "it says TESTS FAILED"

# the student answers the reply
rt=$(header "$r1" Reply-To | sed -E 's/.*<([^>]*)>.*/\1/')
rmid=$(header "$r1" Message-ID | tr -d '<>')
printf 'From: Beto Barrios <%s>\nTo: %s\nSubject: Re: %s\nMessage-ID: <%s>\nIn-Reply-To: <%s>\nReferences: <%s> <%s>\nDate: %s\n\nMy output is right, the expected file has a typo.\n' \
	"$B" "${rt:-nobody@$DOM}" "$(header "$r1" Subject)" "$md" "$rmid" "$m1" "$rmid" "$(LC_ALL=C date -R)" |
	mta_send "$B" "${rt:-nobody@$DOM}"
ok "the dispute reached staff" mta_wait 30 maildir_has "$STAFF" "^Message-ID: <$md>"
d=$(maildir_grep "$STAFF" "^Message-ID: <$md>")
like "$(header "$d" Subject)" "attempt [0-9]+ \(exercise tp1\)" "its Subject names the attempt and exercise"
is "$(stored "$md")" 0 "the robot never saw it"
is "$(msql "SELECT count(*) FROM attempts")" 1 "no new attempt"

# staff find the attempt and look at everything
out=$(mta_sercom attempts --student "$B" --format csv)
is "$(printf '%s\n' "$out" | python3 -c 'import csv,sys; r=list(csv.DictReader(sys.stdin)); print(len(r), r[0]["id"], r[0]["verdict"])')" \
	"1 $id TESTS_FAILED" "sercom attempts --student ADDRESS finds it"
out=$(mta_sercom show "$id")
is "$?" 0 "sercom show ID"
like "$out" "private/" "show has the private cases' diffs"
like "$out" "$m1" "and the submission's Message-ID"

# override: mailed to the student through postfix
note="Your output is right: case 02's expected file had a typo. Accepted."
out=$(mta_sercom override "$id" --verdict ACCEPTED --note "$note" 2>&1)
is "$?" 0 "sercom override ID --verdict ACCEPTED --note"
is "$(msql "SELECT verdict FROM attempts WHERE id = $id")" ACCEPTED "the verdict is ACCEPTED"
is "$(msql "SELECT what || ' ' || verdict FROM history WHERE attempt = $id AND what = 'override'")" "override TESTS_FAILED" \
	"history keeps the old verdict"
ok "the student got a second mail" mta_wait 30 _count_is maildir_count "$STU2" 2
r2=$(maildir_files "$STU2" | tail -1)
like "$(header "$r2" Subject)" "ACCEPTED" "with the new verdict"
like "$(cat "$r2")" "case 02's expected file" "and the staff note"
is "$(header "$r2" In-Reply-To)" "<$m1>" "threaded to the submission"
like "$(header "$r2" Reply-To)" "$STAFF@$VDOM" "Reply-To staff"
is "$(header "$r2" X-Sercom-Attempt)" "$id" "X-Sercom-Attempt"
out=$(mta_sercom export grades)
like "$out" "s002,Beto Barrios,$B,15,15" "the gradebook has it: every point of tp1"

# resend
out=$(mta_sercom resend "$id" 2>&1)
is "$?" 0 "sercom resend ID"
ok "the student got a third mail" mta_wait 30 _count_is maildir_count "$STU2" 3
ok "postfix queue empty" mta_wait 10 queue_empty
is "$(maildir_count "$COURSE")" 0 "nothing in the course account's mailbox"
done_testing
