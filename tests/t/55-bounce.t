#!/usr/bin/env bash
# 55-bounce: issue 16's bounce test (README "Bounces", src/bounce.h). A
# private postfix (lib-mta.sh, the pipe(8) route of filters/master.cf)
# routes the course address, +extensions included, to sercom-deliver.
# 1. A reply to a nonexistent local user: postfix's local(8) bounces it, the
#    delivery status notification comes back through postfix to the reply's
#    envelope sender (from +bounce-ROW-MAC), reaches sercom-deliver, and
#    the ingester marks that outbox row BOUNCED with the Status and
#    Diagnostic-Code; the notification is kept as a message of outcome
#    bounce, creates no attempt and is never answered.
# 2. Staff see it: `sercom outbox` (and next_try only for rows that wait),
#    `sercom stats`, the Prometheus metrics.
# 3. Forged notifications (tests/hostile/mail/forged-dsn.eml) sent by a
#    student about another student's reply: a wrong MAC, their own MAC on
#    the other row's id, their own address quoting the other attempt. None
#    changes a row; the same mail with their own address and attempt does
#    mark their own row (the forgeries failed for the MAC, not the form).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mta.sh"
mta_skip_unless_ready

if ! mta_start pipe; then
	echo "Bail out! could not start the private postfix (pipe)"
	mta_show_log
	exit 1
fi
NOSUCH=nosuch$U@$DOM
msql "INSERT INTO students VALUES ('s003', 'Nadie'); INSERT INTO student_emails VALUES ('$NOSUCH', 's003');"

# reply ATTEMPT-ID: composes and hands the reply to postfix; prints its outbox row
reply() {
	mta_sercom resend "$1" >/dev/null 2>&1
	msql "SELECT id FROM outbox WHERE attempt = $1"
}
ingested() { mta_sercom recover >/dev/null 2>&1; }
state_is() { ingested; [ "$(msql "SELECT state FROM outbox WHERE id = $1")" = "$2" ]; }

# --- 1. a real bounce, through postfix ------------------------------------------
a_ana=$(fx_attempt "$INST" "$STU1@$VDOM" DONE ACCEPTED 1)
a_beto=$(fx_attempt "$INST" "$STU2@$VDOM" DONE ACCEPTED 1)
a_none=$(fx_attempt "$INST" "$NOSUCH" DONE ACCEPTED 1)
chown -R "$COURSE:" "$INST/var"
ob_ana=$(reply "$a_ana")
ob_beto=$(reply "$a_beto")
nmsg=$(msql "SELECT count(*) FROM messages")
natt=$(msql "SELECT count(*) FROM attempts")
ob_none=$(reply "$a_none")
ok "the replies are in the outbox ($ob_ana $ob_beto $ob_none)" test -n "$ob_ana" -a -n "$ob_beto" -a -n "$ob_none"
mta_ok "ana's reply delivered" mta_wait 30 _count_is maildir_count "$STU1" 1
mta_ok "beto's reply delivered" mta_wait 30 _count_is maildir_count "$STU2" 1
like "$(msql "SELECT sender FROM outbox WHERE id = $ob_none")" "^$COURSE\+bounce-$ob_none-[0-9a-f]{16}@$DOM\$" \
	"the reply's envelope sender names its row (from +bounce-ROW-MAC)"
mta_ok "the bounce comes back and the row becomes BOUNCED" wait_for 60 state_is "$ob_none" BOUNCED
like "$(msql "SELECT bounce FROM outbox WHERE id = $ob_none")" "^5\.1\.1 .*unknown user.*\($NOSUCH\)\$" \
	"the reason: the failed recipient's Status and Diagnostic-Code"
is "$(msql "SELECT count(*) FROM outbox WHERE id = $ob_none AND bounced IS NOT NULL")" 1 "when it bounced"
is "$(msql "SELECT state FROM outbox WHERE id IN ($ob_ana, $ob_beto)" | tr '\n' ' ')" "SENT SENT " \
	"the delivered replies stay SENT"
is "$(msql "SELECT count(*) FROM messages WHERE outcome = 'bounce'")" 1 "the notification is kept as a message of outcome bounce"
spool=$(msql "SELECT spool_file FROM messages m JOIN outbox o ON o.bounce_message = m.id WHERE o.id = $ob_none")
ok "its raw mail is kept ($spool)" grep -q "^Content-Type: message/delivery-status" "$spool"
like "$(msql "SELECT envelope_sender FROM messages WHERE outcome = 'bounce'")" "^(|<>|MAILER-DAEMON)\$" "it came from the null sender (pipe(8) says MAILER-DAEMON)"
is "$(msql "SELECT count(*) FROM messages")" "$((nmsg + 1))" "one new message: the notification"
is "$(msql "SELECT count(*) FROM attempts")" "$natt" "no attempt made of it"
is "$(msql "SELECT count(*) FROM outbox")" 3 "never answered (no new outbox row)"
ok "postfix's queue is empty" mta_wait 10 queue_empty
is "$(maildir_count "$STAFF")" 0 "nothing landed in the staff's mailbox"

# --- 2. what staff see ---------------------------------------------------------
out=$(mta_sercom outbox --format csv | tr -d '\r')
like "$(echo "$out" | grep "^$ob_none,")" "BOUNCED.*5\.1\.1.*unknown user" "sercom outbox: the BOUNCED row with its reason"
is "$(echo "$out" | head -1)" "id,attempt,recipients,state,tries,created,next_try,sent,last_error,bounce,note" "sercom outbox: the columns"
is "$(echo "$out" | awk -F, -v id="$ob_ana" '$1 == id { print $4 "/" $7 "/" }')" "SENT//" "sercom outbox: no next_try for a SENT row"
is "$(echo "$out" | awk -F, -v id="$ob_none" '$1 == id { print $7 }')" "" "sercom outbox: no next_try for a BOUNCED row"
like "$(mta_sercom outbox)" "BOUNCED" "sercom outbox (text)"
like "$(mta_sercom stats)" "replies bounced \(sercom outbox says why\): 1" "sercom stats counts it"
like "$(mta_sercom stats --prometheus -)" "sercom_outbox_bounced 1" "the Prometheus metrics count it"

# --- 3. forged notifications: a student (beto) about ana's reply ---------------
beto_rp=$(header "$(maildir_files "$STU2" | tail -1)" Return-Path | tr -d '<>')
beto_mac=${beto_rp##*-}; beto_mac=${beto_mac%@*}
like "$beto_rp" "^$COURSE\+bounce-$ob_beto-[0-9a-f]{16}@$DOM\$" "beto knows his own reply's bounce address"
n=0
# forge TO ATTEMPT: sends the hostile mail as beto; true once it is recorded
forge() {
	n=$((n + 1))
	local mid=forged$n.$U@$VDOM
	sed -e "s|@TO@|$1|g" -e "s|@ATTEMPT@|$2|g" -e "s|@RCPT@|$STU1@$VDOM|g" -e "s|@DOMAIN@|$DOM|g" -e "s|@MID@|$mid|g" \
		"$SERCOM_TOP/tests/hostile/mail/forged-dsn.eml" | mta_send "$STU2@$VDOM" "$1"
	postqueue -c "$PF/etc" -f
	wait_for 30 stored_once "$mid" && FORGED_MID=$mid
}
unchanged() {
	is "$(msql "SELECT state || ' ' || coalesce(bounce, '-') FROM outbox WHERE id = $ob_ana")" "SENT -" "$1: ana's reply stays SENT"
	is "$(msql "SELECT state FROM outbox WHERE id = $ob_beto")" "SENT" "$1: beto's reply stays SENT"
	is "$(msql "SELECT outcome FROM messages WHERE message_id = '$FORGED_MID'")" automatic "$1: recorded as automatic mail"
	is "$(msql "SELECT count(*) FROM attempts")" "$natt" "$1: no attempt"
}
ok "a wrong MAC: recorded" forge "$COURSE+bounce-$ob_ana-0123456789abcdef@$DOM" "$a_ana"
unchanged "wrong MAC"
ok "beto's MAC on ana's row: recorded" forge "$COURSE+bounce-$ob_ana-$beto_mac@$DOM" "$a_ana"
unchanged "another row's id"
ok "beto's own address quoting ana's attempt: recorded" forge "$beto_rp" "$a_ana"
unchanged "another attempt quoted"
like "$(msql "SELECT note FROM messages WHERE message_id = '$FORGED_MID'")" "quoting attempt $a_ana" "the note says why"
ok "the same mail about beto's own reply: recorded" forge "$beto_rp" "$a_beto"
is "$(msql "SELECT state FROM outbox WHERE id = $ob_beto")" BOUNCED "it marks beto's own row (the form was right)"
is "$(msql "SELECT state FROM outbox WHERE id = $ob_ana")" SENT "ana's reply is still SENT"
is "$(msql "SELECT count(*) FROM outbox")" 3 "no forged notification was answered"

done_testing
