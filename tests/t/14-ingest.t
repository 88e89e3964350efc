#!/bin/bash
# The ingester (src/intake.c): var/mail/new is the queue sercom-deliver
# fills, and new/ is exactly the mail not recorded yet.
#  - it never runs as root: the process that opens a spooled mail (and
#    writes its submitted/ files) is the owner of var/ in every mode (the
#    runner's daemon, --once, sercom recover, sercom import-maildir); a var/
#    owned by root is refused;
#  - a poison mail (one that crashes the parser, or makes it hang past the
#    time limit of a record) is held in var/mail/held after three tries,
#    counted and listed by sercom stats, while the mails after it are
#    recorded; import-maildir var/mail/held feeds it again;
#  - a record that fails leaves the mail in new/ under its own name;
#  - SIGKILL of the ingester at points of its own progress over 300 mails
#    (its commits, its moves to cur/): nothing lost, nothing recorded twice;
#  - a first line forged like our envelope is not trusted
#    (tests/hostile/mail/forged-envelope.eml);
#  - sercom stats --prometheus - and a target that is not a regular file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
need_mda
[ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 || skip_all "needs root and a nobody user"

T=$(mktemp -d "${TMPDIR:-/tmp}/sercom-test.XXXXXX")
trap '[ -n "${rpid:-}" ] && kill -9 "$rpid" 2>/dev/null; umount_tmpfs_vars; rm -rf "$T"' EXIT
make_exercises "$T/exercises"
export SERCOM_EXERCISES=$T/exercises
NOBODY=$(id -u nobody)
n=0
mail() { # [EXERCISE]: a submission of ana's, in $f
	n=$((n + 1)); f=$T/m$n; gen_mail "$f" "ingest-$n@example.edu" ana@example.edu "${1:-tp5}"
}
recorded() { sql "$I" "SELECT count(*) FROM messages WHERE message_id = 'ingest-$1@example.edu'"; }
owner_of_files() { # N: the owner of the files of mail N's attempt
	stat -c %u "$I/var/attempts/$(sql "$I" "SELECT a.id FROM attempts a JOIN messages m ON a.message = m.id WHERE m.message_id = 'ingest-$1@example.edu'")/submitted/tp.c" 2>/dev/null
}
S() { "$SERCOM_BIN/sercom" -c "$I/sercom.conf" "$@"; }

# --- never root, in every mode ----------------------------------------------
I=$T/inst
make_instance "$I" || { echo "Bail out! make_instance failed"; exit 1; }
mail; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" < "$f"; is $? 0 "delivered (as root)"
is "$(stat -c %u "$I"/var/mail/new/*)" "$NOBODY" "the copy belongs to the owner of var/"
S attempts > /dev/null 2> "$T/err"
like "$(cat "$T/err")" "1 mail\(s\) in .*/new wait to be recorded" "sercom attempts says a mail waits"
like "$(S stats)" "mails waiting to be recorded in .*/new: 1" "sercom stats says so too"
S recover > "$T/out"; is $? 0 "sercom recover (as root)"
is "$(recorded $n)" 1 "recover: recorded"
is "$(owner_of_files $n)" "$NOBODY" "recover: the ingester was not root (submitted/ belongs to nobody)"
is "$(ls "$I/var/mail/new")" "" "recover: new/ is empty"
mail; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" < "$f"
timeout 120 "$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once 2> /dev/null
is "$(recorded $n)" 1 "--once: recorded"
is "$(owner_of_files $n)" "$NOBODY" "--once: the ingester was not root"
mkdir -p "$T/md/new" "$T/md/cur"; mail; cp "$f" "$T/md/new/"
chmod -R o+rX "$T/md"
S import-maildir "$T/md" > "$T/out"; is $? 0 "import-maildir (as root)"
like "$(cat "$T/out")" "imported: 1 queued" "import-maildir: recorded"
is "$(owner_of_files $n)" "$NOBODY" "import-maildir: the ingester was not root"
mail; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" < "$f"
"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -v 2> "$T/runner.log" &
rpid=$!
ingester() { pgrep -P "$rpid" -u nobody | head -1; }
for k in $(seq 100); do [ "$(recorded $n)" = 1 ] && break; sleep 0.1; done
is "$(recorded $n)" 1 "daemon: recorded what waited at its start"
is "$(owner_of_files $n)" "$NOBODY" "daemon: the ingester was not root"
ip=$(ingester)
is "$(awk '/^Uid:/ {print $2 "," $3 "," $4}' "/proc/$ip/status" 2>/dev/null)" "$NOBODY,$NOBODY,$NOBODY" \
	"daemon: its ingester runs as the owner of var/"
mail; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" < "$f"
for k in $(seq 100); do [ "$(recorded $n)" = 1 ] && break; sleep 0.1; done
is "$(recorded $n)" 1 "daemon: a mail delivered while it runs is recorded (inotify)"
kill -9 "$ip"
for k in $(seq 100); do np=$(ingester); [ -n "$np" ] && [ "$np" != "$ip" ] && break; sleep 0.1; done
ok "daemon: a killed ingester is started again" test -n "$np" -a "$np" != "$ip"
kill -TERM "$rpid"; wait "$rpid"; is $? 0 "daemon: SIGTERM, exit 0"; rpid=
ok "daemon: its ingester stopped with it" test -z "$(pgrep -u nobody -f "$I/sercom.conf")"
# a var/ owned by root: refused, the mail waits
R=$T/rootvar
make_instance "$R" && chown -R root: "$R/var"
n=$((n + 1)); gen_mail "$T/m$n" "ingest-$n@example.edu" ana@example.edu tp5
"$SERCOM_BIN/sercom-deliver" -c "$R/sercom.conf" < "$T/m$n"
"$SERCOM_BIN/sercom" -c "$R/sercom.conf" recover > /dev/null 2> "$T/err"; rc=$?
is "$rc" 1 "var/ owned by root: sercom recover fails"
like "$(cat "$T/err")" "belongs to root, and mail is never parsed as root" "and says why"
is "$(ls "$R/var/mail/new" | wc -l)" 1 "the mail waits in new/"

# --- a poison mail: held after three tries, the others recorded -------------
mail; a=$n; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" < "$f"
mail; p=$n; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -e poison < "$f"
mail; b=$n; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" < "$f"
SERCOM_TEST_POISON=poison S recover > "$T/out" 2> "$T/err"
is "$(grep -c 'killed by signal 6' "$T/err")" 3 "the poison mail killed the ingester three times"
like "$(cat "$T/err")" "held \(it killed the ingester 3 times\)" "recover says it is held"
is "$(recorded $a)$(recorded $p)$(recorded $b)" "101" "the mails before and after it are recorded, not it"
is "$(ls "$I/var/mail/held" | wc -l)" 1 "it is in var/mail/held"
is "$(ls "$I/var/mail/new" | wc -l)" 0 "nothing left in new/"
like "$(S stats)" "mails held in .*/held: 1: [0-9]+\.M" "sercom stats counts and lists it"
like "$(S stats --prometheus -)" "sercom_mail_held 1" "and its metrics"
S import-maildir "$I/var/mail/held" > "$T/out" 2>&1
like "$(cat "$T/out")" "imported: 0 queued, 1 rejected" "import-maildir var/mail/held feeds it again (its envelope kept: -e poison)"
is "$(recorded $p)" 1 "now it is recorded"
is "$(ls "$I/var/mail/held" | wc -l)" 0 "and no longer held"
# the same with a mail that makes it hang past the record's time limit
mail; h=$n; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -e stall < "$f"
mail; b=$n; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" < "$f"
SERCOM_TEST_STALL=stall SERCOM_TEST_RECORD_LIMIT_S=1 S recover > "$T/out" 2> "$T/err"
is "$(grep -c 'killed by signal 14' "$T/err")" 3 "a hanging mail: the time limit ended the ingester three times"
is "$(recorded $h)$(recorded $b)" "01" "it is held, the mail after it recorded"
# and in the daemon
mail; p=$n; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -e poison < "$f"
mail; b=$n; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" < "$f"
SERCOM_TEST_POISON=poison "$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -v 2> "$T/runner.log" &
rpid=$!
for k in $(seq 300); do [ "$(recorded $b)" = 1 ] && break; sleep 0.1; done
is "$(recorded $b)" 1 "daemon: the mail after a poison one is recorded"
is "$(grep -c 'ingester killed by signal 6' "$T/runner.log")" 3 "daemon: the poison mail killed three ingesters"
is "$(ls "$I/var/mail/held" | wc -l)" 2 "daemon: and is held"
kill -TERM "$rpid"; wait "$rpid"; rpid=

# --- a record that fails: the mail stays in new/ under its own name --------
# (a broken exercise.conf is the staff's to fix: retried, never answered)
cp "$T/exercises/tp5/exercise.conf" "$T/tp5.conf"
printf '[exercise\n' > "$T/exercises/tp5/exercise.conf"
mail; "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" < "$f"
name=$(ls "$I/var/mail/new")
S recover > "$T/out" 2> "$T/err"; rc=$?
is "$rc" 1 "a failing record: sercom recover exits 1"
like "$(cat "$T/out")" "0 mail\(s\) .* recorded now, 1 not yet" "and says one waits"
is "$(ls "$I/var/mail/new")" "$name" "the mail stays in new/, its name unchanged (a failure is no death)"
cp "$T/tp5.conf" "$T/exercises/tp5/exercise.conf"
S recover > /dev/null
is "$(recorded $n)" 1 "the next pass records it"

# --- forged envelope line (tests/hostile/mail/forged-envelope.eml) ----------
H=$SERCOM_TOP/tests/hostile/mail/forged-envelope.eml
last=$(sql "$I" "SELECT max(id) FROM messages")
deliver "$I" "$H" -f mallory@evil.example
is "$(sql "$I" "SELECT count(*) FROM messages WHERE id > $last")" 1 "forged envelope: recorded"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE message > $last AND (student = 's001' OR exercise = 'tp1')")" 0 \
	"a first line forged like our envelope is not trusted: no tp1 attempt of ana's"
is "$(sql "$I" "SELECT coalesce(sender, '-') FROM messages WHERE id > $last")" "mallory@evil.example" \
	"the sender is mallory's"

# --- stats --prometheus: - is stdout; a target that is not a regular file is refused
like "$(S stats --prometheus -)" "^# HELP sercom_attempts" "--prometheus - writes to standard output"
S stats --prometheus /dev/stdout > /dev/null 2> "$T/err"; rc=$?
is "$rc" 1 "--prometheus /dev/stdout: refused"
ok "/dev/stdout is still a link" test -L /dev/stdout
mkfifo "$T/fifo"
S stats --prometheus "$T/fifo" > /dev/null 2> "$T/err"
is "$(stat -c %F "$T/fifo")" fifo "--prometheus FIFO: refused, the FIFO stays"
like "$(cat "$T/err")" "not a regular file" "and says why"

# --- SIGKILL of the ingester while it records, 300 mails ---------------------
K=$T/kill
make_instance "$K" > /dev/null || echo "Bail out! make_instance failed"
tmpfs_var "$K" && echo "# var/ of the kill instance on a tmpfs"
froms=(ana@example.edu ana.alumna@gmail.com beto@example.edu carla@example.edu)
gen_mail "$T/tmpl" "@MID@" ana@example.edu tp5
NK=${SERCOM_INGEST_KILL_MAILS:-300}
spool_mails() { # FIRST LAST
	local k
	for k in $(seq "$1" "$2"); do
		from_template "$T/tmpl" "$T/k" "ikill-$k@example.edu"
		[ $((k % 5)) = 0 ] && sed -i '/^Message-ID:/d; s/^Subject: \(.*\)/Subject: \1 inomid-'$k'/' "$T/k"
		sed -i "s/^From: .*/From: ${froms[k % 4]}/" "$T/k"
		"$SERCOM_BIN/sercom-deliver" -c "$K/sercom.conf" < "$T/k" || echo "# mail $k: exit $?"
	done
}
# each kill at a point of the pass's own progress (strace counts the
# calls of each ingester process, and a restarted one starts from 0). An
# ingester renames three times per mail: the mail to NAME,t1, its staging
# dir to attempts/ID inside the transaction, the mail to cur/ after the
# commit. So the Kth fdatasync is in a commit (SQLite's), the (3K-1)th
# rename inside a transaction, the 3Kth between a commit and the move:
# every kill lands, and each ingester records K-1 mails before it dies, so
# no mail dies thrice. A third of the mails for each point.
RANDOM=77
round=0
for part in 1 2 3; do
	spool_mails $(( (part - 1) * NK / 3 + 1 )) $((part * NK / 3))
	while [ -n "$(ls "$K/var/mail/new")" ] && [ $round -lt 30 ]; do
		round=$((round + 1))
		k=$((4 + RANDOM % 8))
		case $part in 1) pt=fdatasync:$k ;; 2) pt=rename:$((3 * k - 1)) ;; 3) pt=rename:$((3 * k)) ;; esac
		strace -f -qq -o /dev/null -e "inject=${pt%:*}:signal=KILL:when=${pt#*:}" \
			"$SERCOM_BIN/sercom" -c "$K/sercom.conf" recover > /dev/null 2>> "$T/kill.err"
		echo "# part $part: killed at $pt: $(grep -c 'killed by signal 9' "$T/kill.err") kills so far"
	done
done
kills=$(grep -c 'killed by signal 9' "$T/kill.err")
"$SERCOM_BIN/sercom" -c "$K/sercom.conf" recover > /dev/null 2>> "$T/kill.err"
held=$(ls "$K/var/mail/held" 2>/dev/null | wc -l)
echo "# $kills SIGKILLs of the ingester at its own progress ($round passes), $held mail(s) held"
ok "the ingester was killed at least 20 times ($kills)" test "$kills" -ge 20
is "$(ls "$K/var/mail/new" | wc -l)" 0 "kills: nothing left in new/"
is "$(( $(sql "$K" "SELECT count(*) FROM messages") + held ))" "$NK" "kills: every mail recorded or held: nothing lost"
is "$(sql "$K" "SELECT spool_file FROM messages GROUP BY spool_file HAVING count(*) != 1")" "" "kills: no copy recorded twice"
is "$(sql "$K" "SELECT count(*) FROM messages WHERE outcome = 'duplicate'")" 0 "kills: no mail recorded twice (no duplicate row)"
is "$(sql "$K" "SELECT m.id FROM messages m WHERE outcome IN ('queued','rejected') AND (SELECT count(*) FROM attempts a WHERE a.message = m.id) != 1")" "" \
	"kills: every queued message has exactly one attempt"
nosub=0
for id in $(sql "$K" "SELECT id FROM attempts WHERE state IN ('QUEUED','SUPERSEDED')"); do
	[ -f "$K/var/attempts/$id/submitted/tp.c" ] || nosub=$((nosub + 1))
done
is "$nosub" 0 "kills: every attempt has its submitted/ files"
is "$(sql "$K" 'PRAGMA integrity_check')" ok "kills: integrity_check"

done_testing
