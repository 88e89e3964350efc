#!/bin/bash
# 50-compose: replies composed from the state the runner and the MDA leave
# (docs/ARCHITECTURE.md), through the real programs (sercom resend, sercom-runner
# --once) and the maildir transport: headers, parts, both languages,
# rejections, INTERNAL_ERROR with the admin told, robots never answered,
# and the hostile mails of tests/hostile/mail through sercom-deliver.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-postfix.sh"

# our own programs missing or failing is a failure, never a SKIP
for p in sercom sercom-deliver sercom-runner; do
	[ -x "$SERCOM_BIN/$p" ] || { echo "Bail out! $SERCOM_BIN/$p not built"; exit 1; }
done
tmpdir
mkdir -p "$T/ex"
fx_exercise "$T/ex"
I=$T/i
C=$I/sercom.conf
SERCOM_EXERCISES=$T/ex make_instance "$I" || { echo "Bail out! sercom init of the test instance failed"; exit 1; }
R=$I/replies/new

newest() { ls -t "$R"/* 2>/dev/null | head -1; }
count() { ls "$R" 2>/dev/null | wc -l; }

# --- a TESTS_FAILED grading, answered with `sercom resend` ---------------
id=$(fx_attempt "$I" ana@example.edu DONE TESTS_FAILED 1)
fx_failed_report "$I" "$id"
ok "sercom resend composes and sends" quiet sercom -c "$C" resend "$id"
is "$(count)" 1 "one reply in the maildir transport"
f=$(newest)
is "$(mail_header "$f" subject)" "[algo1] Result of attempt 1 (exercise tp1): TESTS FAILED" "Subject"
is "$(mail_header "$f" to)" "ana@example.edu" "To: the student"
like "$(mail_header "$f" reply-to)" "staff@example.edu" "Reply-To: the admin"
is "$(mail_header "$f" return-path)" "<staff@example.edu>" "Return-Path: the admin"
is "$(mail_header "$f" auto-submitted)" "auto-replied" "Auto-Submitted: auto-replied"
is "$(mail_header "$f" x-sercom-attempt)" "$id" "X-Sercom-Attempt"
like "$(mail_header "$f" in-reply-to)" '^<fx0\.[0-9]+@student\.example>$' "In-Reply-To: the submission's Message-ID"
like "$(mail_header "$f" references)" '^<fx0\.[0-9]+@student\.example>$' "References: the submission's Message-ID"
like "$(mail_header "$f" message-id)" '^<.+@example\.edu>$' "Message-ID of our domain"
like "$(mail_header "$f" date)" '[0-9]{4} [0-9:]{8} [+-][0-9]{4}' "Date"
like "$(mail_header "$f" content-type)" '^multipart/mixed' "multipart/mixed"
text=$(mail_part "$f" "")
like "$text" "Build: OK, with warnings" "summary: build result"
like "$text" "02-negative: stdout differs \(see 02-negative.stdout.diff\)" "summary: wrong output names its diff"
like "$text" "03-crash: killed by SIGSEGV \(segmentation fault\)" "summary: signal named"
like "$text" "04-slow: CPU time limit of 2 s exceeded" "summary: CPU limit with the exercise's limit"
like "$text" "05-exit: exit code 3, expected 0" "summary: exit code and the expected one"
like "$(mail_part "$f" make.stderr)" "unused variable" "make.stderr attached"
like "$(mail_part "$f" 02-negative.stdout.diff)" "^--- expected" "the diff attached"
like "$(mail_part "$f" report.html)" "<table" "report.html attached"
ok "private cases never appear" sh -c "! grep -q -e 06-private -e PRIVATE -e secret '$f'"
is "$(sql "$I" "SELECT answered FROM attempts WHERE id = $id")" 1 "attempt marked answered"
is "$(sql "$I" "SELECT state FROM outbox WHERE attempt = $id")" SENT "outbox row SENT"
ok "the reply stays in var/outbox" test -s "$(sql "$I" "SELECT file FROM outbox WHERE attempt = $id")"

# --- Spanish ---------------------------------------------------------------
sed -i 's/^language = .*/language = es/' "$C"
ok "resend in Spanish" quiet sercom -c "$C" resend "$id"
f=$(newest)
is "$(mail_header "$f" subject)" "[algo1] Resultado del intento 1 (ejercicio tp1): FALLA PRUEBAS" "Spanish Subject"
text=$(mail_part "$f" "")
like "$text" "terminado por SIGSEGV" "Spanish summary"
like "$(mail_header "$f" content-type)" '^multipart/mixed' "Spanish reply multipart"
ok "summary is UTF-8" sh -c "grep -qi 'charset=\"\\?utf-8' '$f'"
sed -i 's/^language = .*/language = en/' "$C"

# --- runner --once answers rejections, errors; never robots ------------------
before=$(count)
r1=$(fx_attempt "$I" beto@example.edu REJECTED REJECTED "" missing_required "tp.c Makefile")
r2=$(fx_attempt "$I" ana@example.edu REJECTED REJECTED "" attempts_exhausted 10)
r3=$(fx_attempt "$I" MAILER-DAEMON@example.edu REJECTED REJECTED "" unknown_sender MAILER-DAEMON@example.edu)
e1=$(fx_attempt "$I" carla@example.edu ERROR INTERNAL_ERROR 1)
ok "sercom-runner --once" quiet sercom-runner -c "$C" --once
is "$(( $(count) - before ))" 4 "3 replies + 1 admin notice"
is "$(sql "$I" "SELECT count(*) FROM outbox WHERE recipients LIKE '%MAILER-DAEMON%'")" 0 "no reply to MAILER-DAEMON"
is "$(sql "$I" "SELECT answered FROM attempts WHERE id = $r3")" 1 "the robot's attempt is marked answered"
f=$(grep -l "missing" "$R"/* | head -1)
like "$(mail_part "$f" "")" "Required files are missing: tp.c, Makefile" "missing_required says which files"
f=$(grep -l "X-Sercom-Attempt: $r2\$" "$R"/* | head -1)
like "$(mail_part "$f" "")" "no attempts remain" "attempts_exhausted says none remain"
is "$(mail_header "$f" subject)" "[algo1] Your submission (exercise tp1): REJECTED" "rejection Subject"
is "$(sql "$I" "SELECT count(*) FROM outbox WHERE recipients = 'staff@example.edu' AND attempt IS NULL")" 1 "INTERNAL_ERROR: the admin is told"
f=$(grep -l "X-Sercom-Attempt: $e1\$" "$R"/* | head -1)
is "$(mail_header "$f" subject)" "[algo1] Result of attempt 1 (exercise tp1): INTERNAL ERROR" "INTERNAL_ERROR reply to the student"

# --- hostile mails through the MDA ---------------------------------------------
H=$SERCOM_TOP/tests/hostile/mail
{
	# mallory is a student: the submissions go as far as they can (nul-output
	# is graded where the sandbox runs, and its output differs from 01-basic's)
	sql "$I" "INSERT INTO students VALUES ('m1', 'Mallory'); INSERT INTO student_emails VALUES ('mallory@attacker.example', 'm1');"
	printf 'ok\n' > "$T/ex/tp1/tests/01-basic/stdout"
	last=$(sql "$I" "SELECT coalesce(max(id), 0) FROM outbox")
	for m in subject-crlf-bcc filename-300 nul-output; do
		ok "deliver $m" sercom-deliver -c "$C" -f mallory@attacker.example < "$H/$m.eml"
	done
	ok "deliver mailer-daemon (null sender)" sercom-deliver -c "$C" -f "" < "$H/mailer-daemon.eml"
	ok "sercom-runner --once grades and answers them" quiet sercom-runner -c "$C" --once
	# (plus a notice to staff@ when a grading ends in INTERNAL_ERROR here)
	is "$(sql "$I" "SELECT count(*) FROM outbox WHERE recipients = 'mallory@attacker.example'")" 3 "the three hostile submissions are answered"
	is "$(sql "$I" "SELECT count(*) FROM messages WHERE outcome = 'automatic' AND sender LIKE 'MAILER-DAEMON@%'")" 1 "the bounce is recorded as automatic"
	is "$(sql "$I" "SELECT count(*) FROM outbox WHERE recipients NOT IN ('mallory@attacker.example', 'staff@example.edu') AND id > $last")" 0 "and nobody else is"
	leaked=0
	for f in "$R"/*; do
		mail_headers "$f" | grep -qi -e evil -e '^bcc' -e '^injected' && leaked=1
		[ "$(mail_header "$f" to | wc -l)" = 1 ] || leaked=1
		[ "$(mail_header "$f" subject | wc -l)" = 1 ] || leaked=1
	done
	is "$leaked" 0 "no header of any reply has the injected Bcc, one To, one Subject"
	is "$(sql "$I" "SELECT count(*) FROM outbox WHERE recipients LIKE '%MAILER-DAEMON%' OR recipients = '' OR recipients LIKE '%evil%'")" 0 "no reply to the robot or the victim"
	ok "every reply is 7-bit" sh -c "! LC_ALL=C grep -q -P '[\\x80-\\xff\\x00]' '$R'/*"
	g=$(grep -l 'nul-output-1@attacker.example' "$R"/* | head -1)
	if [ "$(id -u)" = 0 ]; then
		ok "nul-output was graded and its reply has the stdout diff" eval 'mail_part "$g" 01-basic.stdout.diff > "$T/nul.diff"'
		ok "the NUL/invalid UTF-8 output's diff is valid UTF-8 without NUL" sh -c "[ -s '$T/nul.diff' ] && iconv -f utf-8 -t utf-8 '$T/nul.diff' >/dev/null && ! LC_ALL=C grep -q -P '\\x00' '$T/nul.diff'"
	else
		_tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP NOT ROOT: the sandbox cannot grade nul-output here"
	fi
	# archive entry names with a newline and a note line of their own (after
	# the others are graded: a newer submission supersedes a queued one)
	ok "deliver note-lines" sercom-deliver -c "$C" -f mallory@attacker.example < "$H/note-lines.eml"
	ok "sercom-runner --once grades note-lines" quiet sercom-runner -c "$C" --once
	note=$(sql "$I" "SELECT a.note FROM attempts a JOIN messages m ON a.message = m.id WHERE m.message_id = 'note-lines-1@attacker.example'")
	is "$(printf '%s\n' "$note" | grep -vc '^\(ignored\|skipped\): ')" 0 "note-lines: every line of the attempt's note is one of ours"
	like "$note" 'skipped: .*FORGED-1.*; .*evil.*FORGED-2.*zip-slip' "note-lines: both entries are listed as left out"
	g=$(grep -l 'note-lines-1@attacker.example' "$R"/* | head -1)
	mail_part "$g" "" > "$T/note-lines.txt" 2>/dev/null
	is "$(grep -c '^Left out of the archives' "$T/note-lines.txt")" 1 "note-lines: the reply says once what was left out"
	is "$(grep -c -e '^FORGED' -e '^skipped:' -e '^ignored:' -e '^Ignored' "$T/note-lines.txt")" 0 "note-lines: no forged line in the reply"
}

[ -n "$SERCOM_KEEP" ] && cp -r "$I/replies" "$SERCOM_KEEP"
done_testing
