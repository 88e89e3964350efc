#!/bin/bash
# 51-postfix-outbox: replies through a real postfix (a private instance, see
# lib-postfix.sh) into a user's Maildir, and the outbox across an MTA outage.
#
# 1. sendmail transport: `sendmail -C DIR -i -f FROM+bounce-ROW-MAC -- RCPT` of our own
#    postfix; the reply is read back from the user's Maildir.
# 2. postfix stopped, sendmail transport: postfix's sendmail still takes the
#    20 replies (postdrop queues into its maildrop with the master down), so
#    they wait in postfix's queue; started again, each is delivered once.
# 3. postfix stopped, SMTP transport: the 20 replies cannot be handed over
#    (connection refused) and wait in OUR outbox (PENDING rows, files in
#    var/outbox), retried with backoff; started again, `sercom outbox
#    flush` delivers all 20 exactly once, and a second flush sends nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-postfix.sh"

pf_available || skip_all "postfix is not installed"
[ "$(id -u)" = 0 ] || skip_all "needs root to run a postfix instance"
[ -x "$SERCOM_BIN/sercom" ] || skip_all "bin/sercom not built"
tmpdir
trap 'pf_stop; rm -rf "$T"' EXIT
pf_setup "$T/pf"
ok "private postfix starts on 127.0.0.1:$PF_PORT" pf_start

mkdir -p "$T/ex"
fx_exercise "$T/ex"
I=$T/i
C=$I/sercom.conf
SERCOM_EXERCISES=$T/ex make_instance "$I" || { echo "not ok - sercom init"; exit 1; }
# the instance mails as test.example, where our postfix has the Maildirs
sed -i -e 's/^from = .*/from = Course Grader <grader@test.example>/' \
       -e 's/^admin = .*/admin = staff@test.example/' \
       -e 's/^transport = .*/transport = sendmail/' "$C"
sqlite3 "$I/var/sercom.db" "INSERT INTO students VALUES ('t1', 'Ana Test'); INSERT INTO student_emails VALUES ('ana@test.example', 't1');"
export SERCOM_SENDMAIL=$PF/sendmail

# --- 1. one reply through postfix's sendmail -----------------------------------
id=$(fx_attempt "$I" ana@test.example DONE ACCEPTED 1)
ok "resend hands the reply to postfix" quiet sercom -c "$C" resend "$id"
ok "delivered to ana's Maildir" pf_wait ana 1 30
f=$(find "$PF/vmail/ana/new" -type f | head -1)
is "$(mail_header "$f" subject)" "[algo1] Result of attempt 1 (exercise tp1): ACCEPTED" "the reply's Subject in the Maildir"
ob=$(sql "$I" "SELECT id FROM outbox WHERE attempt = $id")
like "$(mail_header "$f" return-path)" "^<grader\+bounce-$ob-[0-9a-f]{16}@test\.example>\$" "envelope sender (-f): the from address, +bounce-ROW-MAC (README Bounces)"
is "$(mail_header "$f" delivered-to)" "ana@test.example" "delivered to the student only"
is "$(mail_header "$f" x-sercom-attempt)" "$id" "X-Sercom-Attempt"
ok "postfix logged to its own maillog" test -s "$PF/maillog"
ok "postfix logged the delivery" grep -q "to=<ana@test.example>.*status=sent" "$PF/maillog"

# 20 graded attempts, not yet answered
mk20() {
	local n
	for n in $(seq 1 20); do fx_attempt "$I" ana@test.example DONE ACCEPTED $(( $1 + n )) >/dev/null; done
}

# --- 2. postfix down, sendmail transport -----------------------------------------
pf_stop
ok "postfix stopped" sh -c "! postfix -c '$PF/etc' status 2>/dev/null"
mk20 100
sercom-runner -c "$C" --once >/dev/null 2>&1
is "$(sql "$I" "SELECT count(*) FROM outbox WHERE state = 'SENT'")" 21 "postfix's sendmail took the 20 (queued in its maildrop)"
is "$(ls "$PF/queue/maildrop" | wc -l)" 20 "they wait in postfix's maildrop"
is "$(pf_count ana)" 1 "nothing delivered while postfix is down"
ok "postfix started again" pf_start
ok "all 20 delivered" pf_wait ana 21 60
ok "postfix's queue is empty" wait_for 60 pf_idle
is "$(pf_count ana)" 21 "exactly once each"

# --- 3. postfix down, SMTP transport: the replies wait in our outbox ----------------
# this postfix has no TLS: clear text asked for ([mail] starttls)
sed -i "s|^transport = .*|transport = smtp://127.0.0.1:$PF_PORT\nstarttls = opportunistic|" "$C"
pf_stop
mk20 200
sercom-runner -c "$C" --once >/dev/null 2>&1
is "$(sql "$I" "SELECT count(*) FROM outbox WHERE state = 'PENDING'")" 20 "20 replies wait in the outbox (PENDING)"
# no connection is the same for every reply: one try, the others wait
is "$(sql "$I" "SELECT sum(tries) FROM outbox WHERE state = 'PENDING'")" 1 "one try for all of them (the server is down)"
like "$(sql "$I" "SELECT last_error FROM outbox WHERE state = 'PENDING' LIMIT 1")" "SMTP connect" "last_error says why"
is "$(sql "$I" "SELECT count(*) FROM outbox WHERE state = 'PENDING' AND next_try > strftime('%s','now') + 30")" 20 "retried later (backoff)"
files=$(sql "$I" "SELECT file FROM outbox WHERE state = 'PENDING'")
ok "their files are in var/outbox/new" sh -c "for f in $(echo $files); do test -s \$f || exit 1; done"
sercom -c "$C" outbox flush >/dev/null 2>&1
is "$(sql "$I" "SELECT count(*) || ' ' || sum(tries) FROM outbox WHERE state = 'PENDING'")" "20 2" "a flush while postfix is down: still waiting, one more try"
ok "postfix started again" pf_start
ok "sercom outbox flush sends them" quiet sercom -c "$C" outbox flush
is "$(sql "$I" "SELECT count(*) FROM outbox WHERE state = 'SENT'")" 41 "every row SENT"
ok "all 20 delivered" pf_wait ana 41 60
sercom -c "$C" outbox flush >/dev/null 2>&1
sercom-runner -c "$C" --once >/dev/null 2>&1
pf_flush
ok "postfix's queue is empty after the flushes" wait_for 60 pf_idle
is "$(pf_count ana)" 41 "exactly once each (no duplicate after more flushes)"
is "$(grep -h '^X-Sercom-Attempt:' "$PF"/vmail/ana/new/* | sort | uniq -d | wc -l)" 0 "no attempt answered twice"

done_testing
