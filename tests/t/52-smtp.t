#!/bin/bash
# 52-smtp: the smtp:// and smtps:// transports (libetpan) against our own
# postfix's smtpd on 127.0.0.1 (lib-postfix.sh): plain SMTP, a permanent
# 550 (FAILED at once, the admin told), no password over an unencrypted
# line, STARTTLS with the certificate verified against the system store
# (refused: a test CA), against [mail] tls_ca (sent), or not at all with
# tls_verify = no, AUTH with a wrong and a right password, and smtps.
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
sed -i -e 's/^from = .*/from = Course Grader <grader@test.example>/' \
       -e 's/^admin = .*/admin = staff@test.example/' "$C"
# roster students only are answered (no backscatter): nobody-here is one
# whose mailbox the server does not have (the 550 below)
sqlite3 "$I/var/sercom.db" "INSERT INTO students VALUES ('t1', 'Ana Test'); INSERT INTO student_emails VALUES ('ana@test.example', 't1');
  INSERT INTO students VALUES ('t2', 'Nobody Here'); INSERT INTO student_emails VALUES ('nobody-here@test.example', 't2');"

# setkey KEY VALUE: sets a key of [mail]
setkey() {
	sed -i -e "/^$1 = /d" -e "s|^\[mail\]\$|[mail]\n$1 = $2|" "$C"
}
delkey() { sed -i "/^$1 = /d" "$C"; }
# reply TO: a fresh DONE attempt answered with `sercom resend`; prints its id
reply() {
	local id n
	n=$(sql "$I" "SELECT coalesce(max(number), 0) + 1 FROM attempts")
	id=$(fx_attempt "$I" "$1" DONE ACCEPTED "$n")
	sercom -c "$C" resend "$id" >/dev/null 2>&1
	echo "$id"
}
state() { sql "$I" "SELECT state FROM outbox WHERE attempt = $1"; }
lasterr() { sql "$I" "SELECT last_error FROM outbox WHERE attempt = $1"; }

# --- plain SMTP ----------------------------------------------------------------
# this postfix offers no STARTTLS yet: in clear only when asked for
# ([mail] starttls = required otherwise; tests/t/54-smtp-robust.t)
setkey starttls opportunistic
setkey transport "smtp://127.0.0.1:$PF_PORT"
id=$(reply ana@test.example)
is "$(state "$id")" SENT "smtp:// sent"
ok "delivered to ana's Maildir" pf_wait ana 1 30
f=$(find "$PF/vmail/ana/new" -type f | head -1)
is "$(mail_header "$f" subject)" "[algo1] Result of attempt 1 (exercise tp1): ACCEPTED" "Subject through SMTP"
like "$(mail_header "$f" return-path)" "^<grader\+bounce-[0-9]+-[0-9a-f]{16}@test\.example>\$" "MAIL FROM: the from address +bounce-ROW-MAC (README Bounces)"
ok "the body survived SMTP (dot-stuffing, CRLF)" sh -c "grep -q 'Well done' '$f'"

# --- a permanent refusal ---------------------------------------------------------
id=$(reply nobody-here@test.example)
is "$(state "$id")" FAILED "550 from RCPT: FAILED at once, not retried"
like "$(lasterr "$id")" "RCPT TO.*550" "last_error has the server's answer"
ok "the admin is told (notice delivered to staff)" pf_wait staff 1 30
ok "the notice names the recipient" sh -c "grep -rq 'nobody-here@test.example' '$PF/vmail/staff/new'"

# --- no password in clear ----------------------------------------------------------
setkey transport "smtp://grader%40test.example:$PF_PASS@127.0.0.1:$PF_PORT"
id=$(reply ana@test.example)
is "$(state "$id")" PENDING "AUTH without STARTTLS: not sent"
like "$(lasterr "$id")" "refusing to send the password in clear" "and says why"
sql "$I" "UPDATE outbox SET state = 'FAILED' WHERE attempt = $id"

# --- STARTTLS, certificates, AUTH ------------------------------------------------------
ok "TLS, SASL and an smtps port configured" pf_tls
delkey starttls
setkey transport "smtp://127.0.0.1:$PF_PORT"
id=$(reply ana@test.example)
is "$(state "$id")" PENDING "STARTTLS with a certificate the system does not trust: refused"
like "$(lasterr "$id")" "TLS: certificate of 127.0.0.1 not trusted" "last_error says so"
sql "$I" "UPDATE outbox SET state = 'FAILED' WHERE attempt = $id"

setkey tls_ca "$PF/tls/ca.pem"
before=$(pf_count ana)
# only what postfix logs from here on: the refused attempt above completed
# a handshake too, and its line must not pass for this one's
log0=$(wc -l < "$PF/maillog")
id=$(reply ana@test.example)
is "$(state "$id")" SENT "STARTTLS verified against tls_ca: sent"
ok "delivered" pf_wait ana $((before + 1)) 30
ok "postfix saw TLS on this connection" eval 'tail -n +$((log0 + 1)) "$PF/maillog" | grep -q "TLS connection established from localhost"'


delkey tls_ca
setkey tls_verify no
id=$(reply ana@test.example)
is "$(state "$id")" SENT "tls_verify = no: sent without verification"
delkey tls_verify

setkey tls_ca "$PF/tls/ca.pem"
setkey transport "smtp://grader%40test.example:wrong@127.0.0.1:$PF_PORT"
id=$(reply ana@test.example)
is "$(state "$id")" PENDING "AUTH with a wrong password: not sent"
like "$(lasterr "$id")" "AUTH" "last_error names AUTH"
sql "$I" "UPDATE outbox SET state = 'FAILED' WHERE attempt = $id"
setkey transport "smtp://grader%40test.example:$PF_PASS@127.0.0.1:$PF_PORT"
id=$(reply ana@test.example)
is "$(state "$id")" SENT "AUTH after STARTTLS: sent"
ok "postfix logged the SASL login" grep -q "sasl_username=grader@test.example" "$PF/maillog"

setkey transport "smtps://127.0.0.1:$PF_TLS_PORT"
before=$(pf_count ana)
id=$(reply ana@test.example)
is "$(state "$id")" SENT "smtps:// (TLS from the first byte) verified: sent"
ok "delivered" pf_wait ana $((before + 1)) 30
delkey tls_ca
id=$(reply ana@test.example)
is "$(state "$id")" PENDING "smtps:// with an untrusted certificate: refused"

done_testing
