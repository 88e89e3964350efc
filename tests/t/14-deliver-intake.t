#!/bin/bash
# The intake (src/intake.c): sercom-deliver spools the mail and hands it to
# var/intake.sock; without a listener it records it itself (sercom-ingest).
# A handoff whose answer is lost leaves the copy to the next intake; a mail
# that killed the intake is tried again, with its envelope, and set aside
# in var/mail/held at the third death; a record that fails keeps its
# envelope; hostile requests are refused (tests/hostile/intake); the
# runner runs the intake as the owner of var/, restarts it and stops it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
need_mda
# Debian's, which every uid may run (not a user's pyenv)
PY=/usr/bin/python3
[ -x $PY ] || skip_all "no $PY"

tmpdir
chmod 755 "$T"
make_exercises "$T/exercises"
SERCOM_EXERCISES=$T/exercises make_instance "$T/inst" || { echo "Bail out! make_instance failed"; exit 1; }
I=$T/inst
S=$I/var/intake.sock
HOSTILE=$SERCOM_TOP/tests/hostile/intake/handoff.py
ipid=
stop_intake() { [ -n "$ipid" ] && { kill "$ipid" 2>/dev/null; wait "$ipid" 2>/dev/null; }; ipid=; }
trap 'stop_intake; [ -n "${rpid:-}" ] && kill -9 "$rpid" 2>/dev/null; rm -rf "$T"' EXIT
serve() { # starts an intake on $I, logging to $I/intake.log
	local k before
	before=$(grep -c 'intake: listening' "$I/intake.log" 2>/dev/null)
	"$SERCOM_BIN/sercom-ingest" -c "$I/sercom.conf" --serve -v 2>> "$I/intake.log" &
	ipid=$!
	for k in $(seq 200); do
		[ "$(grep -c 'intake: listening' "$I/intake.log")" -gt "${before:-0}" ] && return 0
		sleep 0.05
	done
	return 1
}
n=0
mail() { n=$((n + 1)); f=$T/m$n; gen_mail "$f" "intake-$n@example.edu" ana@example.edu tp5; } # sets f
recorded() { sql "$I" "SELECT count(*) FROM messages WHERE message_id = 'intake-$1@example.edu'"; }

# --- handed over
ok "the intake listens" serve
is "$(stat -c '%F %a' "$S")" "socket 600" "var/intake.sock is a socket only its owner may use"
mail
"$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -v < "$f" 2> "$T/err"
is $? 0 "handed over: exit 0"
like "$(cat "$T/err")" 'handed to the intake' "sercom-deliver says it handed the mail over"
p=$(sed -n 's/^sercom-deliver: stored \(.*\): handed to the intake$/\1/p' "$T/err")
wait_recorded "$I" "$p"
is "$(sql "$I" "SELECT outcome FROM messages WHERE spool_file = '$p'")" queued "the intake recorded it: queued"
like "$(cat "$I/intake.log")" "stored $p: queued, attempt" "the intake logs the outcome"
is "$(sql "$I" "SELECT count(*) FROM attempts a JOIN messages m ON a.message = m.id WHERE m.spool_file = '$p' AND a.state = 'QUEUED'")" 1 \
	"one QUEUED attempt"
ok "its files are in var/attempts/ID/submitted" test -f "$I/var/attempts/$(sql "$I" "SELECT a.id FROM attempts a JOIN messages m ON a.message = m.id WHERE m.spool_file = '$p'")/submitted/tp.c"

# --- hostile requests (tests/hostile/intake)
like "$($PY "$HOSTILE" "$S" spool ../../../../etc/passwd)" '^75\|' "a path instead of a spool name: refused"
like "$($PY "$HOSTILE" "$S" spool .hidden)" '^75\|' "a dot name: refused"
like "$($PY "$HOSTILE" "$S" spool '')" '^75\|' "an empty name: refused"
like "$($PY "$HOSTILE" "$S" spool no-such-mail)" '^75\|the intake cannot take .*no-such-mail' "a name that is not spooled: refused"
like "$($PY "$HOSTILE" "$S" --raw 'GET / HTTP/1.0')" '^75\|malformed request' "garbage: answered 75"
before=$(sql "$I" "SELECT count(*) FROM messages")
chmod 666 "$S"
chmod o+rx "$I" "$I/var"
like "$(setpriv --reuid=nobody --regid=nogroup --clear-groups $PY "$HOSTILE" "$S" spool "$(basename "$p")")" \
	"^75\|refused: not the instance's owner" "another uid that reaches the socket: refused (SO_PEERCRED)"
chmod 600 "$S"
is "$(sql "$I" "SELECT count(*) FROM messages")" "$before" "no hostile request recorded anything"
ok "the intake survived them" kill -0 "$ipid"

# --- stopped: sercom-deliver records the mail itself
records_itself() { # LABEL: a mail delivered with nobody listening
	mail
	"$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -v < "$f" 2> "$T/err"
	is $? 0 "$1: exit 0"
	like "$(cat "$T/err")" 'no intake listens' "$1: sercom-deliver records it itself"
	is "$(recorded $n)" 1 "$1: recorded at once"
}
stop_intake
ok "a stopped intake removes its socket" test ! -e "$S"
like "$(cat "$I/intake.log")" 'intake: stopped' "the intake logs its stop"
records_itself "no intake"

# --- killed: its socket stays, nobody listens on it
serve
kill -9 "$ipid"; wait "$ipid" 2>/dev/null; ipid=
ok "a killed intake leaves its socket" test -S "$S"
records_itself "stale socket"

# --- the answer is lost (the intake died before it took the copy): 75,
# the copy removed, and the MTA's retry recorded as any other mail
serve
kill -STOP "$ipid"
mail
"$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" < "$f" 2> "$T/err" &
dpid=$!
sleep 0.5
kill -9 "$ipid"; kill -CONT "$ipid" 2>/dev/null; wait "$ipid" 2>/dev/null; ipid=
wait "$dpid"
is $? 75 "intake killed before it answered: exit 75 (the MTA retries)"
like "$(cat "$T/err")" 'did not answer' "sercom-deliver says the intake did not answer"
is "$(grep -l "intake-$n@example.edu" "$I"/var/mail/new/* 2>/dev/null | wc -l)" 0 "its copy is removed"
serve
"$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -v < "$f" 2> "$T/err"
is $? 0 "the MTA's retry: exit 0"
wait_recorded "$I" "$(sed -n 's/^sercom-deliver: stored \(.*\): handed to the intake$/\1/p' "$T/err")"
is "$(sql "$I" "SELECT group_concat(outcome) FROM messages WHERE message_id = 'intake-$n@example.edu'")" queued \
	"the retry is recorded, once"
stop_intake

# --- a mail that killed the intake: the marker a dying intake leaves
# (DEATHS LEN PATH, then the envelope's packet, src/intake.c). The mails
# name no exercise (a +nada address and Subject): only the envelope's
# -e tp5 makes them QUEUED, so a record without its envelope shows.
spool_by_hand() { # FILE: a copy in var/mail/new, as sercom-deliver leaves it
	local dst
	dst=$I/var/mail/new/$(date +%s).M$n.P$$.test
	cp "$1" "$dst"
	echo "$dst"
}
nada() { n=$((n + 1)); f=$T/m$n; gen_mail "$f" "intake-$n@example.edu" ana@example.edu nada; } # sets f
write_marker() { # DEATHS PATH: the marker, with the envelope -e tp5
	printf 'sercom-handoff-1\0spool\0%s\0exercise\0tp5\0' "$(basename "$2")" > "$T/packet"
	{ printf '%d %d %s\n' "$1" "$(wc -c < "$T/packet")" "$2"; cat "$T/packet"; } > "$I/var/intake.current"
}
state_of() { sql "$I" "SELECT a.state || ' ' || a.exercise FROM attempts a JOIN messages m ON a.message = m.id WHERE m.message_id = 'intake-$1@example.edu'"; }
nada; once=$(spool_by_hand "$f")
write_marker 1 "$once"
serve
like "$(cat "$I/intake.log")" "$once: the last intake died recording it \(2 of 3\): once more" "killed once: tried once more"
is "$(recorded $n)" 1 "killed once: recorded by the next intake"
is "$(state_of $n)" "QUEUED tp5" "with the envelope the marker kept (-e tp5)"
stop_intake
is "$(tr -d '\0' < "$I/var/intake.current")" "" "the marker is cleared after the record"
nada; thrice=$(spool_by_hand "$f")
write_marker 2 "$thrice"
serve
like "$(cat "$I/intake.log")" "$thrice: killed 3 intakes" "killed 3 times: set aside"
ok "killed 3 times: moved to var/mail/held" test -f "$I/var/mail/held/new/$(basename "$thrice")"
ok "killed 3 times: not in var/mail/new" test ! -e "$thrice"
is "$(recorded $n)" 0 "killed 3 times: not recorded (the log line is for the staff)"
ok "the intake serves on after it" kill -0 "$ipid"

# --- a record that fails (var/attempts is not a directory): the envelope
# is kept in var/mail/envelope/NAME; the next intake records it with it
mv "$I/var/attempts" "$I/var/attempts.off"
touch "$I/var/attempts"
nada
"$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -e tp5 -v < "$f" 2> "$T/err"
is $? 0 "a record that will fail: exit 0 (the copy is the intake's)"
p=$(sed -n 's/^sercom-deliver: stored \(.*\): handed to the intake$/\1/p' "$T/err")
for k in $(seq 100); do grep -q "$p: not recorded yet" "$I/intake.log" && break; sleep 0.05; done
like "$(cat "$I/intake.log")" "$p: not recorded yet \(tried again in a minute\)" "the intake logs the failure"
ok "the copy stays in var/mail/new" test -f "$p"
ok "its envelope is kept in var/mail/envelope" test -f "$I/var/mail/envelope/$(basename "$p")"
stop_intake
rm "$I/var/attempts"
mv "$I/var/attempts.off" "$I/var/attempts"
serve
is "$(recorded $n)" 1 "the next intake records it at its start"
is "$(state_of $n)" "QUEUED tp5" "with the kept envelope (-e tp5)"
ok "and removes the envelope" test ! -e "$I/var/mail/envelope/$(basename "$p")"
stop_intake
# the same, recorded by `sercom recover` (no intake any more)
serve
mv "$I/var/attempts" "$I/var/attempts.off"
touch "$I/var/attempts"
nada
"$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -e tp5 -v < "$f" 2> "$T/err"
p=$(sed -n 's/^sercom-deliver: stored \(.*\): handed to the intake$/\1/p' "$T/err")
for k in $(seq 100); do grep -q "$p: not recorded yet" "$I/intake.log" && break; sleep 0.05; done
stop_intake
rm "$I/var/attempts"
mv "$I/var/attempts.off" "$I/var/attempts"
touch -d '-2 minutes' "$p"
"$SERCOM_BIN/sercom" -c "$I/sercom.conf" recover > "$T/recover" 2>&1
is "$(state_of $n)" "QUEUED tp5" "sercom recover records a failed record with its kept envelope"
ok "and removes the envelope" test ! -e "$I/var/mail/envelope/$(basename "$p")"
"$SERCOM_BIN/sercom" -c "$I/sercom.conf" import-maildir --exercise tp5 "$I/var/mail/held" > "$T/import" 2>&1
like "$(cat "$T/import")" 'imported: 1 queued' "a held mail is fed again with sercom import-maildir"

# --- SIGKILL of the intake at random moments in 300 deliveries, each
# mail delivered again on a non-zero exit (as the MTA does); then one more
# intake, whose start records what the last kill left. Nothing is lost:
# every mail is recorded exactly once, or set aside in var/mail/held
# (killed three intakes); nothing is half recorded.
NK=${SERCOM_INTAKE_KILL_MAILS:-300}
K=$T/kill
make_instance "$K" > /dev/null || echo "Bail out! make_instance failed"
for k in $(seq 1 "$NK"); do gen_mail "$T/k$k" "ikill-$k@example.edu" "${froms[k % 4]:-ana@example.edu}" tp5; done
# (stderr: bash's "Killed" notices)
( while [ ! -e "$T/stop-serving" ]; do "$SERCOM_BIN/sercom-ingest" -c "$K/sercom.conf" --serve; done ) 2>/dev/null &
loop=$!
(
	RANDOM=77
	while [ ! -e "$T/stop-serving" ]; do
		sleep "0.$(printf '%03d' $((5 + RANDOM % 60)))"
		pkill -KILL -f "sercom-ingest -c $K/sercom.conf --serve" && echo x >> "$T/kills"
	done
) &
killer=$!
badrc=0 gaveup=0
for k in $(seq 1 "$NK"); do
	tries=0
	while :; do
		"$SERCOM_BIN/sercom-deliver" -c "$K/sercom.conf" < "$T/k$k" 2>/dev/null
		rc=$?
		[ $rc = 0 ] && break
		[ $rc = 75 ] || badrc=$((badrc + 1))
		tries=$((tries + 1))
		[ $tries -ge 5 ] && { gaveup=$((gaveup + 1)); break; }
	done
done
touch "$T/stop-serving"
wait "$killer"
pkill -KILL -f "sercom-ingest -c $K/sercom.conf --serve"
wait "$loop"
kills=$(wc -l < "$T/kills" 2>/dev/null || echo 0)
echo "# $kills SIGKILLs of the intake during $NK deliveries"
ok "the intake was killed at least 10 times ($kills)" test "$kills" -ge 10
is "$badrc" 0 "intake killed: sercom-deliver exits 0 or 75, nothing else"
is "$gaveup" 0 "intake killed: every mail accepted within 5 deliveries"
# the mail the last killed intake was recording is named by its marker
"$SERCOM_BIN/sercom-ingest" -c "$K/sercom.conf" --serve -v 2> "$T/last.log" &
last=$!
for k in $(seq 200); do grep -q 'intake: listening' "$T/last.log" && break; sleep 0.05; done
kill "$last"; wait "$last"
held=$(ls "$K/var/mail/held/new" 2>/dev/null | wc -l)
echo "# the last intake settled $(grep -c 'once more' "$T/last.log") mail; $held set aside in var/mail/held"
is "$(sql "$K" "SELECT count(DISTINCT message_id) FROM messages WHERE message_id LIKE 'ikill-%'")" "$((NK - held))" \
	"intake killed: every Message-ID recorded, but those set aside"
is "$(sql "$K" "SELECT message_id FROM messages WHERE outcome != 'duplicate' GROUP BY message_id HAVING count(*) != 1")" "" \
	"intake killed: each recorded once (others only as duplicate)"
is "$(sql "$K" "SELECT m.message_id FROM messages m WHERE outcome IN ('queued','rejected') AND (SELECT count(*) FROM attempts a WHERE a.message = m.id) != 1")" "" \
	"intake killed: every queued message has exactly one attempt"
nosub=0
for id in $(sql "$K" "SELECT id FROM attempts WHERE state IN ('QUEUED','SUPERSEDED')"); do
	[ -f "$K/var/attempts/$id/submitted/tp.c" ] || nosub=$((nosub + 1))
done
is "$nosub" 0 "intake killed: every attempt has its submitted/ files"
is "$(sql "$K" 'PRAGMA integrity_check')" ok "intake killed: integrity_check"

# --- the runner's intake: the owner of var/, restarted, stopped
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 755 "$T/exercises"
	chown -R nobody:nogroup "$I/var"
	: > "$T/runner.log"
	"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -v 2> "$T/runner.log" &
	rpid=$!
	intake_pid() { pgrep -P "$rpid" -u nobody | head -1; }
	for k in $(seq 100); do [ -S "$S" ] && [ -n "$(intake_pid)" ] && break; sleep 0.05; done
	ip=$(intake_pid)
	ok "the runner starts an intake" test -n "$ip"
	is "$(stat -c %U "$S")" nobody "its socket belongs to the owner of var/"
	is "$(awk '/^Uid:/ {print $2 "," $3 "," $4}' "/proc/$ip/status")" "$(id -u nobody),$(id -u nobody),$(id -u nobody)" \
		"it runs as the owner of var/, not as root"
	mail
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -v < "$f" 2> "$T/err"
	is $? 0 "delivered as the owner: exit 0"
	like "$(cat "$T/err")" 'handed to the intake' "handed to the runner's intake"
	wait_recorded "$I" "$(sed -n 's/^sercom-deliver: stored \(.*\): handed to the intake$/\1/p' "$T/err")"
	is "$(recorded $n)" 1 "recorded by the runner's intake"
	kill -9 "$ip"
	for k in $(seq 100); do np=$(intake_pid); [ -n "$np" ] && [ "$np" != "$ip" ] && [ -S "$S" ] && break; sleep 0.05; done
	ok "a killed intake is started again" test -n "$np" -a "$np" != "$ip"
	like "$(cat "$T/runner.log")" 'intake killed by signal 9: starting another' "the runner logs it"
	kill -TERM "$rpid"
	wait "$rpid"
	is $? 0 "SIGTERM: the runner stops, exit 0"
	ok "its intake stopped with it" test -z "$(pgrep -u nobody -f "$I/sercom.conf")"
	ok "and removed the socket" test ! -e "$S"
	rpid=
else
	echo "# skipped the runner's intake: needs root and a nobody user"
fi

done_testing
