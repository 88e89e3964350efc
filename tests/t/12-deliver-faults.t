#!/bin/bash
# sercom-deliver under faults. The MTA's contract: exit 0 means "stored, I
# may delete my copy"; anything else means "keep it and retry" (75), so:
#  1. SIGKILL at random moments in 500 deliveries, each killed one delivered
#     again like the MTA would: in the end no half-recorded attempt (every
#     attempts row has its messages row and its submitted/ dir, every
#     Message-ID is recorded exactly once, numbers 1..N without gaps).
#     var/ is on a tmpfs there when we are root (a kill is not a power cut).
#  2. A full disk (a 1 MiB tmpfs as var/): 75 for every failure, 0 only
#     when the mail is recorded, no corruption; after room is made, the
#     retried mails are all stored. (Skipped when a tmpfs cannot be
#     mounted.) Errors must be told on stderr: postfix logs the command's
#     output with the deferral, the admin's only clue.
#  3. A locked database (past the busy timeout), a read-only var/ or
#     var/attempts, a corrupt database, a missing or broken config: 75.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
need_mda

NKILL=${SERCOM_KILL_MAILS:-500}
T=$(mktemp -d "${TMPDIR:-/tmp}/sercom-test.XXXXXX")
MOUNTS=()
cleanup() {
	local m
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; umount "$m" 2>/dev/null; done
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	umount_tmpfs_vars
	rm -rf "$T"
}
trap cleanup EXIT
make_exercises "$T/exercises"
export SERCOM_EXERCISES=$T/exercises
FIX=$SERCOM_TOP/maildir-fixtures/submissions/new
DELIVER=$SERCOM_BIN/sercom-deliver

# --- 1. SIGKILL ------------------------------------------------------------
I=$T/kill
make_instance "$I" || { echo "Bail out! make_instance failed"; exit 1; }
# a kill is not a power cut: fsync is not the subject here, a tmpfs keeps
# 500 deliveries fast
tmpfs_var "$I" && echo "# var/ of the SIGKILL instance on a tmpfs"
mkdir "$T/mails"
froms=(ana@example.edu ana.alumna@gmail.com beto@example.edu carla@example.edu)
mkdir -p "$T/tmpl"
for f in 0 1 2 3; do
	gen_mail "$T/tmpl/$f.0" "@MID@" "${froms[f]}" tp5 $((f * 2))
	gen_mail "$T/tmpl/$f.1" "@MID@" "${froms[f]}" tp1 $((f * 2 + 1))
done
for k in $(seq 1 "$NKILL"); do
	case $((k % 10)) in
	# archives: the kill may land in the unpacking
	3) sed "s/fx03.zip@example.edu/kill-$k@example.edu/" "$FIX"/*_zip.sercom-fixtures > "$T/mails/$k" ;;
	7) sed "s/fx04.targz@mail.gmail.com/kill-$k@example.edu/" "$FIX"/*_tar-gz.sercom-fixtures > "$T/mails/$k" ;;
	*) from_template "$T/tmpl/$((k % 4)).$((k % 2))" "$T/mails/$k" "kill-$k@example.edu" ;;
	esac
done
killed=0 retried=0 gaveup=0 badrc=0
RANDOM=4242
for k in $(seq 1 "$NKILL"); do
	f=$T/mails/$k
	if [ $((RANDOM % 4)) != 0 ]; then
		# a simple command in the background is exec'd by the forked
		# shell: $! is sercom-deliver itself
		{
			"$DELIVER" -c "$I/sercom.conf" < "$f" 2>/dev/null &
			pid=$!
			# 0 to 4 ms after the start: a delivery on a tmpfs takes about 3
			sleep "0.$(printf '%04d' $((RANDOM % 41)))"
			kill -KILL $pid
			wait $pid
			rc=$?
		} 2>/dev/null  # bash's "Killed" notices
	else
		"$DELIVER" -c "$I/sercom.conf" < "$f" 2>/dev/null
		rc=$?
	fi
	[ $rc = 137 ] && killed=$((killed + 1))
	tries=0
	while [ $rc != 0 ] && [ $tries -lt 5 ]; do
		case $rc in 75|137) ;; *) badrc=$((badrc + 1)); echo "# mail $k: exit $rc" ;; esac
		tries=$((tries + 1)); retried=$((retried + 1))
		"$DELIVER" -c "$I/sercom.conf" < "$f" 2> "$T/stderr"
		rc=$?
	done
	if [ $rc != 0 ]; then gaveup=$((gaveup + 1)); echo "# mail $k: still exit $rc after 5 retries"; sed 's/^/#   /' "$T/stderr" | head -3; fi
done
echo "# $killed of $NKILL deliveries killed by SIGKILL, $retried redeliveries"
ok "SIGKILL: at least 100 deliveries were really killed ($killed)" test "$killed" -ge $((NKILL / 5))
is "$badrc" 0 "SIGKILL: no exit status but 0, 75 (and 137 for the killed)"
is "$gaveup" 0 "SIGKILL: every mail stored once redelivered"
is "$(sql "$I" "SELECT count(DISTINCT message_id) FROM messages WHERE message_id LIKE 'kill-%'")" "$NKILL" \
	"SIGKILL: every Message-ID recorded"
is "$(sql "$I" "SELECT message_id || ' x' || count(*) FROM messages WHERE outcome != 'duplicate' GROUP BY message_id HAVING count(*) != 1")" "" \
	"SIGKILL: every Message-ID recorded exactly once (others only as duplicate)"
is "$(sql "$I" "SELECT count(*) FROM messages WHERE outcome NOT IN ('queued','rejected','duplicate')")" 0 \
	"SIGKILL: outcomes are queued, rejected or duplicate"
is "$(sql "$I" "SELECT count(*) FROM attempts a LEFT JOIN messages m ON m.id = a.message WHERE m.id IS NULL")" 0 \
	"SIGKILL: no attempts row without its messages row"
is "$(sql "$I" "SELECT m.message_id FROM messages m WHERE outcome IN ('queued','rejected') AND (SELECT count(*) FROM attempts a WHERE a.message = m.id) != 1")" "" \
	"SIGKILL: every queued/rejected message has exactly one attempt"
is "$(sql "$I" "SELECT count(*) FROM attempts a JOIN messages m ON m.id = a.message WHERE m.outcome = 'duplicate'")" 0 \
	"SIGKILL: duplicates have no attempt"
nosub=0
for id in $(sql "$I" "SELECT id FROM attempts WHERE state IN ('QUEUED','SUPERSEDED')"); do
	[ -f "$I/var/attempts/$id/submitted/tp.c" ] || { nosub=$((nosub + 1)); echo "# attempt $id: no submitted/tp.c"; }
done
is "$nosub" 0 "SIGKILL: every queued attempt has its submitted/ files"
nospool=0
while read -r sp; do
	case $sp in /*) ;; *) sp=$I/var/$sp; [ -e "$sp" ] || sp=$I/${sp#"$I"/var/} ;; esac
	[ -f "$sp" ] || { nospool=$((nospool + 1)); echo "# missing spool file $sp"; }
done < <(sql "$I" "SELECT spool_file FROM messages")
is "$nospool" 0 "SIGKILL: every messages row has its raw mail in var/mail"
is "$(sql "$I" "SELECT student || '/' || exercise FROM attempts WHERE number IS NOT NULL GROUP BY student, exercise
	HAVING count(*) != max(number) OR count(*) != count(DISTINCT number) OR min(number) != 1")" "" \
	"SIGKILL: numbers 1..N per student and exercise, no gap, no repeat"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE state = 'QUEUED' GROUP BY student, exercise HAVING count(*) > 1")" "" \
	"SIGKILL: at most one QUEUED attempt per student and exercise"
is "$(sql "$I" 'PRAGMA integrity_check')" ok "SIGKILL: integrity_check"
is "$(sql "$I" 'PRAGMA foreign_key_check')" "" "SIGKILL: foreign_key_check"
# garbage a kill may leave (harmless, reported): tmp files, unrecorded
# spool files, attempt dirs without a row
orph=$(comm -23 <(ls "$I/var/attempts" | sort) <(sql "$I" "SELECT id FROM attempts" | sort) | wc -l)
unrec=$(comm -23 <(ls "$I/var/mail/new" | sort) <(sql "$I" "SELECT spool_file FROM messages" | sed 's,.*/,,' | sort) | wc -l)
echo "# left by the kills: $(ls "$I/var/mail/tmp" | wc -l) files in var/mail/tmp, $unrec unrecorded files in var/mail/new, $orph dirs in var/attempts without a row"

# --- 2. full disk ------------------------------------------------------------
mkdir -p "$T/probe"
if ! mount -t tmpfs -o size=1M tmpfs "$T/probe" 2>/dev/null; then
	echo "# cannot mount a tmpfs (not root, or no CAP_SYS_ADMIN): full-disk tests skipped"
else
	umount "$T/probe"
	I=$T/full
	make_instance "$I" || echo "Bail out! make_instance failed"
	mv "$I/var" "$I/var.orig" && mkdir "$I/var"
	mount -t tmpfs -o size=1M,mode=0755 tmpfs "$I/var" && MOUNTS+=("$I/var")
	cp -a "$I/var.orig/." "$I/var/"
	echo "# var/ on a 1 MiB tmpfs, $(df -k --output=avail "$I/var" | tail -1) KiB free"
	n0=0 n75=0 nother=0 lies=0 unrecorded=0 failed=()
	for k in $(seq 1 60); do
		gen_mail "$T/full-$k" "full-$k@example.edu" "${froms[k % 4]}" tp5 30
		"$DELIVER" -c "$I/sercom.conf" < "$T/full-$k" 2> "$T/stderr"
		rc=$?
		rows=$(sql "$I" "SELECT count(*) FROM messages WHERE message_id = 'full-$k@example.edu'" 2>/dev/null)
		case $rc in
		0) n0=$((n0 + 1)); [ "$rows" = 1 ] || { unrecorded=$((unrecorded + 1)); echo "# full-$k: exit 0 but $rows rows"; } ;;
		75) n75=$((n75 + 1)); failed+=("$k"); [ "$rows" = 0 ] || { lies=$((lies + 1)); echo "# full-$k: exit 75 but recorded"; }
		    [ $n75 = 1 ] && sed 's/^/#   first 75: /' "$T/stderr" | head -2 ;;
		*) nother=$((nother + 1)); failed+=("$k"); echo "# full-$k: exit $rc"; sed 's/^/#   /' "$T/stderr" | head -3 ;;
		esac
	done
	echo "# full disk: $n0 stored, $n75 exit 75, $nother other"
	ok "full disk: the disk did fill up (some exit 75)" test "$n75" -gt 0
	is "$nother" 0 "full disk: no exit status but 0 and 75"
	is "$unrecorded" 0 "full disk: exit 0 only when recorded"
	is "$lies" 0 "full disk: exit 75 only when not recorded (no duplicate on retry)"
	is "$(sql "$I" 'PRAGMA integrity_check')" ok "full disk: integrity_check"
	mount -o remount,size=64M "$I/var"
	again=0
	for k in "${failed[@]}"; do
		"$DELIVER" -c "$I/sercom.conf" < "$T/full-$k" 2>/dev/null || again=$((again + 1))
	done
	is "$again" 0 "full disk: once there is room, every retried mail is stored"
	is "$(sql "$I" "SELECT count(DISTINCT message_id) FROM messages WHERE message_id LIKE 'full-%' AND outcome != 'duplicate'")" 60 \
		"full disk: all 60 Message-IDs recorded"
	is "$(sql "$I" "SELECT count(*) FROM messages WHERE message_id LIKE 'full-%' AND outcome != 'duplicate'")" 60 \
		"full disk: each once"
	nosub=0
	for id in $(sql "$I" "SELECT id FROM attempts WHERE state IN ('QUEUED','SUPERSEDED')"); do
		[ -f "$I/var/attempts/$id/submitted/tp.c" ] || nosub=$((nosub + 1))
	done
	is "$nosub" 0 "full disk: every queued attempt has its submitted/ files"
	is "$(sql "$I" 'PRAGMA integrity_check')" ok "full disk: integrity_check after the retries"
	umount "$I/var" && MOUNTS=()

	# --- read-only var/ and var/attempts (root ignores modes: remount ro)
	I=$T/ro
	make_instance "$I" || echo "Bail out! make_instance failed"
	gen_mail "$T/ro-1" "ro-1@example.edu" beto@example.edu tp1
	for sub in var var/attempts var/mail; do
		mount --bind "$I/$sub" "$I/$sub" && mount -o remount,ro,bind "$I/$sub" && MOUNTS=("$I/$sub")
		"$DELIVER" -c "$I/sercom.conf" < "$T/ro-1" 2> "$T/stderr"
		is $? 75 "read-only $sub: exit 75"
		like "$(cat "$T/stderr")" '.' "read-only $sub: says why on stderr"
		umount "$I/$sub"; MOUNTS=()
		is "$(sql "$I" "SELECT count(*) FROM messages")" 0 "read-only $sub: nothing recorded"
	done
	"$DELIVER" -c "$I/sercom.conf" < "$T/ro-1"; is $? 0 "writable again: exit 0"
	is "$(sql "$I" "SELECT outcome FROM messages")" queued "writable again: recorded once, queued"
fi

# --- 3. locked and broken databases, broken config -----------------------------
I=$T/lock
make_instance "$I" || echo "Bail out! make_instance failed"
gen_mail "$T/lock-1" "lock-1@example.edu" carla@example.edu tp1
# a writer that holds the lock longer than the MDA's busy timeout (30 s)
mkfifo "$T/holder.in"
sqlite3 "$I/var/sercom.db" < "$T/holder.in" > "$T/holder.out" 2>&1 &
HOLDER=$!
exec 7> "$T/holder.in"
printf 'BEGIN EXCLUSIVE;\n' >&7
# wait until the lock is really held (a second writer fails at once)
for _ in $(seq 50); do
	sqlite3 "$I/var/sercom.db" 'BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null || break
	sleep 0.1
done
t0=$(date +%s)
"$DELIVER" -c "$I/sercom.conf" < "$T/lock-1" 2> "$T/stderr"
rc=$?
t1=$(date +%s)
is $rc 75 "database locked past the busy timeout: exit 75 (after $((t1 - t0)) s)"
like "$(cat "$T/stderr")" 'lock|busy' "locked: says so on stderr"
printf 'COMMIT;\n' >&7
exec 7>&-
wait $HOLDER; HOLDER=
is "$(sql "$I" "SELECT count(*) FROM messages")" 0 "locked: nothing recorded"
"$DELIVER" -c "$I/sercom.conf" < "$T/lock-1"; is $? 0 "lock released: exit 0"
is "$(sql "$I" "SELECT count(*) FROM messages WHERE message_id = 'lock-1@example.edu'")" 1 "lock released: recorded once"

# a database that is not one
I=$T/corrupt
make_instance "$I" || echo "Bail out! make_instance failed"
head -c 8192 /dev/urandom > "$I/var/sercom.db"; rm -f "$I/var/sercom.db-wal" "$I/var/sercom.db-shm"
"$DELIVER" -c "$I/sercom.conf" < "$T/lock-1" 2> "$T/stderr"
is $? 75 "corrupt database: exit 75"
like "$(cat "$T/stderr")" 'sercom.db' "corrupt database: the error names the file"

# a database written by a newer sercom (user_version ahead)
I=$T/newer
make_instance "$I" || echo "Bail out! make_instance failed"
sql "$I" "PRAGMA user_version = 999"
"$DELIVER" -c "$I/sercom.conf" < "$T/lock-1" 2> "$T/stderr"
is $? 75 "database from a newer version: exit 75"

# configuration errors are 75 too: a bounced homework is a lost homework
"$DELIVER" -c "$T/nonexistent.conf" < "$T/lock-1" 2> "$T/stderr"
is $? 75 "missing config: exit 75"
like "$(cat "$T/stderr")" 'nonexistent.conf' "missing config: the error names the file"
I=$T/badconf
make_instance "$I" || echo "Bail out! make_instance failed"
printf '[limits]\nmessage_size = lots\n' >> "$I/sercom.conf"
"$DELIVER" -c "$I/sercom.conf" < "$T/lock-1" 2> "$T/stderr"
is $? 75 "bad config value: exit 75"
like "$(cat "$T/stderr")" 'message_size' "bad config value: the error names the key"
"$DELIVER" -c "$T/lock/sercom.conf" --no-such-option < "$T/lock-1" 2>/dev/null
is $? 75 "unknown option: exit 75, not 64"
"$DELIVER" -c "$T/lock/sercom.conf" < /dev/null 2>/dev/null
rc=$?
like "$rc" '^(0|75)$' "empty stdin: exit 0 or 75 (got $rc)"

done_testing
