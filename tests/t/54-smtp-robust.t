#!/bin/bash
# 54-smtp-robust: replies leave exactly once, never in clear by surprise,
# never hold up grading (issue 17), against small misbehaving SMTP servers
# on loopback (smtp-misbehave.py; a real postfix cannot be made to
# misbehave): no STARTTLS ([mail] starttls required and opportunistic), a
# `sercom outbox flush` during a slow send (one copy), a sendmail that
# never exits (killed at [mail] timeout), a send killed
# mid-DATA ("may already have been sent"), a greeting that never comes
# (the next attempt is graded meanwhile; the timeout says so), 530 to MAIL
# and 502 to EHLO (retried, reported once, not FAILED; HELO),
# `outbox retry --failed`, mistyped transport URLs (the password nowhere)
# and roster addresses sercom could never answer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-instance.sh"
. "$(dirname "$0")/lib-postfix.sh"
export SERCOM_UID_BASE=${SERCOM_UID_BASE_54:-${SERCOM_UID_BASE:-60540}}

for p in sercom sercom-runner; do
	[ -x "$SERCOM_BIN/$p" ] || { echo "Bail out! $SERCOM_BIN/$p not built"; exit 1; }
done
command -v python3 >/dev/null || skip_all "python3 is not installed"
tmpdir
trap 'for p in $(cat "$T/pids" 2>/dev/null); do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
FAKE=$SERCOM_TOP/tests/t/smtp-misbehave.py

# srv MODE NAME: a fake server in $T/srv-NAME; its port in $T/srv-NAME/port
srv() {
	local d=$T/srv-$2
	mkdir -p "$d"
	python3 "$FAKE" "$1" "$d" 2>>"$T/fake.err" &
	echo $! >> "$T/pids"
	wait_for 20 test -s "$d/port"
}
port() { cat "$T/srv-$1/port"; }
msgs() { ls "$T/srv-$1" | grep -c '^msg\.'; }
srvlog() { cat "$T/srv-$1/log" 2>/dev/null; }

mkdir -p "$T/ex"
fx_exercise "$T/ex"
I=$T/i
C=$I/sercom.conf
SERCOM_EXERCISES=$T/ex make_instance "$I" || { echo "Bail out! sercom init"; exit 1; }
setkey() { sed -i -e "/^$1 = /d" -e "s|^\[mail\]\$|[mail]\n$1 = $2|" "$C"; }
delkey() { sed -i "/^$1 = /d" "$C"; }
S() { "$SERCOM_BIN/sercom" -c "$C" "$@"; }
# reply TO: a fresh DONE attempt answered with `sercom resend`; prints its id
reply() {
	local id n
	n=$(sql "$I" "SELECT coalesce(max(number), 0) + 1 FROM attempts")
	id=$(fx_attempt "$I" "$1" DONE ACCEPTED "$n")
	S resend "$id" >/dev/null 2>>"$T/resend.err"
	echo "$id"
}
state() { sql "$I" "SELECT state FROM outbox WHERE attempt = $1"; }
lasterr() { sql "$I" "SELECT last_error FROM outbox WHERE attempt = $1"; }

for m in plain gate auth530 ehlo502 helo502; do
	ok "fake server $m listens" srv $m $m
done

# --- no STARTTLS ---------------------------------------------------------------
setkey transport "smtp://127.0.0.1:$(port plain)"
id=$(reply ana@example.edu)
is "$(state "$id")" PENDING "starttls = required (the default with tls_verify): not sent in clear"
like "$(lasterr "$id")" "server offers no STARTTLS" "last_error says the server offers no STARTTLS"
is "$(msgs plain)" 0 "the server received no message"
is "$(srvlog plain | grep -cv '^\(CONNECT\|EHLO .*\|QUIT\)$')" 0 "nothing but EHLO and QUIT went out"
is "$(sql "$I" "SELECT server_error FROM outbox WHERE attempt = $id")" 1 "counted as a server problem"
like "$(S stats)" "replies held by a mail server problem: 1" "sercom stats shows it"
like "$(S stats --prometheus -)" "sercom_outbox_server_error 1" "and the metrics"

setkey starttls opportunistic
out=$(S outbox flush 2>&1)
is "$(state "$id")" SENT "starttls = opportunistic: sent in clear"
is "$(msgs plain)" 1 "one message received"
is "$(sql "$I" "SELECT server_error FROM outbox WHERE attempt = $id")" 0 "the problem mark is cleared"

# --- a flush during a slow send: exactly one copy ---------------------------------
setkey transport "smtp://127.0.0.1:$(port gate)"
S resend "$(fx_attempt "$I" ana@example.edu DONE ACCEPTED 90)" >/dev/null 2>"$T/slow.err" &
slow=$!
in_data() { srvlog gate | grep -q DATA-END; }
ok "the slow send reached the end of DATA" wait_for 30 in_data
like "$(S outbox)" "being sent" "sercom outbox shows the row being sent"
out=$(S outbox flush 2>&1)
like "$out" "^0 sent" "a flush meanwhile sends nothing"
touch "$T/srv-gate/gate"
wait $slow
gone_gate() { [ "$(srvlog gate | grep -c DATA-END)" -ge 1 ]; }
wait_for 10 gone_gate
is "$(msgs gate)" 1 "exactly one copy reached the server"
is "$(sql "$I" "SELECT state FROM outbox WHERE attempt = (SELECT max(id) FROM attempts)")" SENT "and the row is SENT"

# --- a send killed between DATA and the 250 ---------------------------------------
rm -f "$T/srv-gate/gate"
# the program itself in the background (not a function's subshell): the
# kill must reach it
"$SERCOM_BIN/sercom" -c "$C" resend "$(fx_attempt "$I" ana@example.edu DONE ACCEPTED 91)" >/dev/null 2>"$T/kill.err" &
victim=$!
two_data() { [ "$(srvlog gate | grep -c DATA-END)" -ge 2 ]; }
ok "the second slow send reached the end of DATA" wait_for 30 two_data
kill -9 $victim
wait $victim 2>/dev/null
kid=$(sql "$I" "SELECT id FROM outbox WHERE attempt = (SELECT max(id) FROM attempts)")
is "$(sql "$I" "SELECT sending IS NOT NULL FROM outbox WHERE id = $kid")" 1 "the killed send left its hold"
out=$(S outbox flush 2>&1)
is "$(sql "$I" "SELECT state FROM outbox WHERE id = $kid")" PENDING "flush leaves a held row alone"
# the hold outlives the claim lease (the sender is dead): aged by hand
sql "$I" "UPDATE outbox SET sending = sending - 100000 WHERE id = $kid"
like "$(S outbox)" "may already have been sent" "sercom outbox: a cut-off send may already have been sent"
touch "$T/srv-gate/gate"
out=$(S outbox flush 2>&1)
is "$(sql "$I" "SELECT state FROM outbox WHERE id = $kid")" SENT "resent after the lease"
like "$out" "may already have been sent" "the resend says it may already have been sent"
like "$(S outbox --format csv | grep "^$kid,")" "may already have been sent" "and the row keeps saying so"

# --- 530 to MAIL FROM, 502 to EHLO ------------------------------------------------
setkey transport "smtp://127.0.0.1:$(port auth530)"
: > "$T/resend.err"
a1=$(reply ana@example.edu)
a2=$(reply beto@example.edu)
is "$(state "$a1") $(state "$a2")" "PENDING PENDING" "530 5.7.0: retried, not FAILED"
like "$(lasterr "$a1")" "MAIL FROM: 530" "last_error has the 530"
sql "$I" "UPDATE outbox SET next_try = 0 WHERE state = 'PENDING'"
S outbox flush >/dev/null 2>>"$T/resend.err"
is "$(grep -c 'replies cannot be sent' "$T/resend.err")" 1 "the problem is reported once, not once per reply or try"
is "$(srvlog auth530 | grep -c '^MAIL')" 3 "after one refusal the other replies wait (no MAIL for each)"
is "$(sql "$I" "SELECT count(*) FROM outbox WHERE state = 'FAILED'")" 0 "nothing FAILED (the admin notice neither)"
like "$(S stats)" "replies held by a mail server problem: 2" "sercom stats counts them"

setkey transport "smtp://127.0.0.1:$(port ehlo502)"
out=$(S outbox flush 2>&1)
is "$(state "$a1") $(state "$a2")" "SENT SENT" "502 to EHLO: sent with HELO"
like "$(srvlog ehlo502)" "HELO " "the server saw HELO"
is "$(msgs ehlo502)" 2 "two messages"

setkey transport "smtp://127.0.0.1:$(port helo502)"
a3=$(reply ana@example.edu)
is "$(state "$a3")" PENDING "502 to EHLO and HELO: retried, not FAILED"
like "$(lasterr "$a3")" "HELO: 502" "and says HELO was refused"

# --- outbox retry --failed ----------------------------------------------------------
sql "$I" "UPDATE outbox SET state = 'FAILED' WHERE attempt = $a3"
S outbox retry >/dev/null 2>&1
is "$?" 64 "outbox retry without --failed: usage"
setkey transport "smtp://127.0.0.1:$(port plain)"
before=$(msgs plain)
out=$(S outbox retry --failed 2>&1)
like "$out" "1 failed reply to send again" "retry --failed counts them"
is "$(state "$a3")" SENT "a FAILED reply sent again"
is "$(msgs plain)" $((before + 1)) "delivered"

# --- a greeting that never comes, with the runner grading meanwhile -----------------
if [ "$(id -u)" = 0 ] && [ -d "$SERCOM_TOP/conf/exercises/tp1" ]; then
	ok "fake silent server" srv silent silent
	R=$T/r
	ok "runner instance" runner_instance "$R"
	RC=$R/sercom.conf
	sed -i -e "s|^transport = .*|transport = smtp://127.0.0.1:$(port silent)\nstarttls = opportunistic\ntimeout = 15s|" "$RC"
	SUBS=$SERCOM_TOP/tests/t/submissions/tp1
	"$SERCOM_BIN/sercom-runner" -c "$RC" -j 1 -v 2>"$T/runner.err" &
	rpid=$!
	fifo() { [ -p "$R/var/runner.fifo" ]; }
	ok "runner: FIFO ready" wait_for 30 fifo
	g1=$(queue_attempt "$R" tp1 "$SUBS/correct")
	poke "$R"
	ok "runner: the first attempt is graded" wait_state "$R" "$g1" DONE 60
	held() { [ "$(sql "$R" "SELECT count(*) FROM outbox WHERE sending IS NOT NULL")" = 1 ]; }
	ok "its reply is being sent (the server never greets)" wait_for 30 held
	g2=$(queue_attempt "$R" tp1 "$SUBS/correct" s002)
	poke "$R"
	ok "runner: the next attempt is graded meanwhile" wait_state "$R" "$g2" DONE 60
	is "$(sql "$R" "SELECT count(*) FROM outbox o JOIN attempts a ON a.id = o.attempt WHERE a.id = $g1 AND o.sending IS NOT NULL")" 1 \
		"while the first reply still waits for the greeting"
	timed_out() { sql "$R" "SELECT last_error FROM outbox WHERE attempt = $g1" | grep -q 'within 15 s (timeout)'; }
	ok "the wait ends at [mail] timeout, and says so" wait_for 60 timed_out
	kill -TERM $rpid
	gone() { ! kill -0 $rpid 2>/dev/null; }
	ok "one SIGTERM stops the runner" wait_for 60 gone
	wait $rpid
	is "$?" 0 "exit 0"
	# smtps:// to the same silent server: the TLS handshake has the limit too
	setkey transport "smtps://127.0.0.1:$(port silent)"
	setkey timeout 2s
	t0=$(date +%s)
	id=$(reply ana@example.edu)
	like "$(lasterr "$id")" "connect: no answer from 127.0.0.1 within 2 s \(timeout\)" "smtps: a handshake never answered ends at the timeout"
	is "$(( $(date +%s) - t0 < 30 ))" 1 "in seconds, not libetpan's minutes"
	delkey timeout
else
	skip "the runner test needs root and the example exercise tp1"
fi

# --- a sendmail that never exits -----------------------------------------------------
printf '#!/bin/sh\necho $$ > "%s/hung.pid"\ncat > /dev/null\nexec sleep 600\n' "$T" > "$T/hung-sendmail"
chmod 755 "$T/hung-sendmail"
setkey transport sendmail
setkey timeout 2s
t0=$(date +%s)
id=$(n=$(sql "$I" "SELECT coalesce(max(number), 0) + 1 FROM attempts"); i=$(fx_attempt "$I" ana@example.edu DONE ACCEPTED "$n")
     SERCOM_SENDMAIL=$T/hung-sendmail S resend "$i" >/dev/null 2>>"$T/resend.err"; echo "$i")
is "$(state "$id")" PENDING "sendmail that never exits: the reply waits"
like "$(lasterr "$id")" "no exit within 2 s \(timeout\): killed" "and says it timed out"
is "$(( $(date +%s) - t0 < 30 ))" 1 "the send gave up at the timeout"
hung_gone() { ! kill -0 "$(cat "$T/hung.pid")" 2>/dev/null; }
ok "the hung sendmail was killed" wait_for 10 hung_gone
delkey timeout

# --- mistyped transport URLs: the password nowhere ----------------------------------
PW=Sekr1tPassw0rd
for url in "SMTP://grader:$PW@127.0.0.1:25" "smtp:/grader:$PW@127.0.0.1" "smtp://grader:$PW@" "smtp://grader:$PW@:25"; do
	setkey transport "$url"
	out=$("$SERCOM_BIN/sercom-runner" -c "$C" --once 2>&1); rc=$?
	is "$rc" 75 "runner refuses to start: $(printf '%s' "$url" | sed "s/$PW/PW/")"
	like "$out" "\[mail\] transport" "the error names the key"
	all=$out
	for cmd in "outbox" "stats" "attempts" "show $a1" "outbox flush" "outbox retry --failed" "resend $a1"; do
		all="$all$(S $cmd 2>&1)"
	done
	is "$(printf '%s' "$all" | grep -c "$PW")" 0 "no password in the output of the runner and every admin command"
done
is "$(grep -rl "$PW" "$I/var" "$T"/*.err 2>/dev/null | wc -l)" 0 "no password in var/ (database, outbox) or the logs"

setkey transport "smtp://grader:$PW@127.0.0.1:$(port plain)"
chmod 644 "$C"
like "$(S outbox 2>&1 >/dev/null)" "every local user can read it" "a world-readable config with a password: warned"
chmod 640 "$C"
is "$(S outbox 2>&1 >/dev/null | grep -c 'can read it')" 0 "mode 640: no warning"

# --- roster addresses sercom could never answer --------------------------------------
setkey transport "smtp://127.0.0.1:$(port plain)"
printf 'id,name,email\nx1,Ok,ok1@example.edu\nx2,Dash,-oQ/tmp/x@example.edu\n' > "$T/r1.csv"
out=$(S roster import "$T/r1.csv" 2>&1); rc=$?
is "$rc" 1 "roster with an option for an address: refused"
like "$out" "r1.csv:3: '-oQ/tmp/x@example.edu' is not an address" "with the line number"
is "$(sql "$I" "SELECT count(*) FROM students WHERE id IN ('x1','x2')")" 0 "nothing of that roster imported"
printf 'id,name,email\nx3,Quote,"""a b""@example.edu"\n' > "$T/r2.csv"
out=$(S roster import "$T/r2.csv" 2>&1); rc=$?
is "$rc" 1 "roster with a quoted local part: refused"
like "$out" "r2.csv:2:" "with the line number"
# one already in the database (imported by an older sercom): graded, not
# answered, and it says so
sql "$I" "INSERT INTO students VALUES ('x9', 'Old'); INSERT INTO student_emails VALUES ('-oQ/tmp/y@example.edu', 'x9');"
bad=$(fx_attempt "$I" "-oQ/tmp/y@example.edu" DONE ACCEPTED 1)
notices=$(sql "$I" "SELECT count(*) FROM outbox WHERE attempt IS NULL")
S outbox flush >/dev/null 2>&1
"$SERCOM_BIN/sercom-runner" -c "$C" --once 2>>"$T/once.err"
like "$(S attempts --format csv | grep "^$bad,")" "no \(invalid address\)" "sercom attempts: not answered, and why"
like "$(S show "$bad")" "no reply +invalid address" "sercom show says so"
is "$(sql "$I" "SELECT count(*) FROM outbox WHERE attempt IS NULL")" $((notices + 1)) "the admin is told"
like "$(sql "$I" "SELECT file FROM outbox WHERE attempt IS NULL ORDER BY id DESC LIMIT 1" | xargs cat)" \
	"not answered" "the notice says the attempt was not answered"

done_testing
