#!/bin/bash
# sercom-deliver under faults. The MTA's contract: exit 0 means "stored, I
# may delete my copy"; anything else means "keep it and retry" (75), so:
#  1. SIGKILL at 500 points of 500 deliveries, each chosen from the
#     delivery's own progress (strace kills it at the Nth call of a system
#     call every delivery makes: every kill lands, on any machine), each
#     killed one delivered again like the MTA would; then the ingester
#     records var/mail/new: every mail recorded exactly once (mails with a
#     Message-ID and without one: a kill after the link and before exit 0
#     makes the MTA's retry a second copy, found by its digest), no
#     half-recorded attempt, integrity_check ok. var/ is on a tmpfs there
#     when we are root (a kill is not a power cut).
#  2. A full disk (a 1 MiB tmpfs as var/): 75 for every failure and no
#     copy left by it, 0 only when the mail is in var/mail/new; the
#     ingester on the full disk leaves what it cannot record in new/ (a
#     retry, not a loss); after room is made, all are recorded once.
#  3. A read-only var/ or var/mail, a missing or broken config: 75 with
#     the cause on stderr (postfix logs it with the deferral). A locked or
#     corrupt database is the ingester's: the MDA still says 0, and the
#     mail waits in new/ until the database is usable.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
need_mda
command -v strace >/dev/null || skip_all "no strace (make deps)"

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

# --- 0. durability, as system calls -------------------------------------------
# exit 0 promises the mail survives a power cut: its bytes are fsync'd,
# then linked into var/mail/new, then new/ is fsync'd (the name), all
# before the exit. Seen in strace, not inferred from the files.
I=$T/sync
make_instance "$I" || { echo "Bail out! make_instance failed"; exit 1; }
gen_mail "$T/sync-1" "sync-1@example.edu" ana@example.edu tp1
# (a SANITIZE=1 build: LeakSanitizer cannot run under ptrace and would
# turn the exit status into 1; the leak check is the other tests')
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
strace -f -y -qq -e trace=$DURABLE_TRACE -o "$T/sync.strace" "$DELIVER" -c "$I/sercom.conf" < "$T/sync-1"
is $? 0 "durability: the traced delivery exits 0"
is "$(durable_events "$T/sync.strace")" "W F L D X0" \
	"durability: the copy written, fsync'd, linked into new/, new/ fsync'd, then exit 0"
ingest "$I"
is "$(unstored "$I" "$T/sync-1")" "" "durability: its bytes are the spool file's"

# --- 1. SIGKILL ------------------------------------------------------------
I=$T/kill
make_instance "$I" || { echo "Bail out! make_instance failed"; exit 1; }
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
	3) sed "s/fx03.zip@example.edu/kill-$k@example.edu/" "$FIX"/*_zip.sercom-fixtures > "$T/mails/$k" ;;
	7) sed "s/fx04.targz@mail.gmail.com/kill-$k@example.edu/" "$FIX"/*_tar-gz.sercom-fixtures > "$T/mails/$k" ;;
	# no Message-ID: unique by its Subject
	5|9) from_template "$T/tmpl/$((k % 4)).$((k % 2))" "$T/mails/$k" "nomid-$k@example.edu"
	     sed -i "/^Message-ID:/d; s/^Subject: \(.*\)/Subject: \1 nomid-$k/" "$T/mails/$k" ;;
	*) from_template "$T/tmpl/$((k % 4)).$((k % 2))" "$T/mails/$k" "kill-$k@example.edu" ;;
	esac
done
# the points: system calls every delivery makes, the Nth of each (openat
# 1-2: the dynamic loader, 3: the config, 4: the copy in tmp/, 5: new/ for
# its fsync; read 2-3: the config, 4-5: stdin; write 1: the envelope, 2:
# the message; fsync 1: the copy, 2: new/; close 4: the copy, 5: new/)
points=(openat:1 openat:2 openat:3 openat:4 openat:5 read:2 read:4 read:5 write:1 write:2 pwrite64:1
        fsync:1 fsync:2 link:1 unlink:1 close:3 close:4 close:5)
planned=0 killed=0 retried=0 gaveup=0 badrc=0
RANDOM=4242
for k in $(seq 1 "$NKILL"); do
	f=$T/mails/$k
	if [ $((RANDOM % 5)) != 0 ]; then
		p=${points[RANDOM % ${#points[@]}]}
		planned=$((planned + 1))
		# strace dies of its tracee's signal: 137; (stderr: bash's notice)
		{ strace -qq -o /dev/null -e "inject=${p%:*}:signal=KILL:when=${p#*:}" \
			"$DELIVER" -c "$I/sercom.conf" < "$f"; rc=$?; } 2>/dev/null
		[ $rc = 137 ] || echo "# mail $k: the kill at $p did not land (exit $rc)"
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
echo "# $killed of $NKILL deliveries killed by SIGKILL at a point of their progress, $retried redeliveries"
is "$killed" "$planned" "SIGKILL: every planned kill landed ($killed of $planned)"
is "$badrc" 0 "SIGKILL: no exit status but 0, 75 (and 137 for the killed)"
is "$gaveup" 0 "SIGKILL: every mail stored once redelivered"
ingest "$I" 2> "$T/ingest.err"
is "$(ls "$I/var/mail/new" | wc -l)" 0 "SIGKILL: the ingester took every copy from var/mail/new"
is "$(sql "$I" "SELECT count(DISTINCT message_id) FROM messages WHERE message_id LIKE 'kill-%'")" $((NKILL - NKILL / 5)) \
	"SIGKILL: every Message-ID recorded"
is "$(sql "$I" "SELECT count(DISTINCT subject) FROM messages WHERE message_id IS NULL AND subject LIKE '%nomid-%'")" $((NKILL / 5)) \
	"SIGKILL: every mail without Message-ID recorded"
is "$(sql "$I" "SELECT message_id || ' x' || count(*) FROM messages WHERE outcome != 'duplicate' AND message_id IS NOT NULL GROUP BY message_id HAVING count(*) != 1")" "" \
	"SIGKILL: every Message-ID recorded exactly once (others only as duplicate)"
is "$(sql "$I" "SELECT subject || ' x' || count(*) FROM messages WHERE outcome != 'duplicate' AND message_id IS NULL GROUP BY subject HAVING count(*) != 1")" "" \
	"SIGKILL: every mail without Message-ID recorded exactly once (its second copy as duplicate)"
echo "# duplicates (a kill after the link, then the MTA's retry): $(sql "$I" "SELECT count(*) FROM messages WHERE outcome = 'duplicate'"), of them without Message-ID: $(sql "$I" "SELECT count(*) FROM messages WHERE outcome = 'duplicate' AND message_id IS NULL")"
is "$(sql "$I" "SELECT spool_file FROM messages GROUP BY spool_file HAVING count(*) != 1")" "" \
	"SIGKILL: no copy recorded twice"
is "$(sql "$I" "SELECT count(*) FROM messages WHERE outcome NOT IN ('queued','rejected','duplicate')")" 0 \
	"SIGKILL: outcomes are queued, rejected or duplicate"
is "$(sql "$I" "SELECT count(*) FROM attempts a LEFT JOIN messages m ON m.id = a.message WHERE m.id IS NULL")" 0 \
	"SIGKILL: no attempts row without its messages row"
is "$(sql "$I" "SELECT m.id FROM messages m WHERE outcome IN ('queued','rejected') AND (SELECT count(*) FROM attempts a WHERE a.message = m.id) != 1")" "" \
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
	[ -f "$sp" ] || { nospool=$((nospool + 1)); echo "# missing spool file $sp"; }
done < <(sql "$I" "SELECT spool_file FROM messages")
is "$nospool" 0 "SIGKILL: every messages row has its raw mail in var/mail/cur"
is "$(unstored "$I" "$T"/mails/*)" "" "SIGKILL: every mail's bytes are in a spool file of var/mail/cur"
is "$(sql "$I" "SELECT student || '/' || exercise FROM attempts WHERE number IS NOT NULL GROUP BY student, exercise
	HAVING count(*) != max(number) OR count(*) != count(DISTINCT number) OR min(number) != 1")" "" \
	"SIGKILL: numbers 1..N per student and exercise, no gap, no repeat"
is "$(sql "$I" 'PRAGMA integrity_check')" ok "SIGKILL: integrity_check"
is "$(sql "$I" 'PRAGMA foreign_key_check')" "" "SIGKILL: foreign_key_check"
# garbage a kill may leave (harmless, reported): copies in tmp/ of a kill
# between the link and the unlink
echo "# left by the kills: $(ls "$I/var/mail/tmp" | wc -l) files in var/mail/tmp"

# --- 2. full disk ------------------------------------------------------------
mkdir -p "$T/probe"
if ! mount -t tmpfs -o size=1M tmpfs "$T/probe" 2>/dev/null; then
	skip "cannot mount a tmpfs (not root, or no CAP_SYS_ADMIN): no full-disk or read-only tests"
else
	umount "$T/probe"
	I=$T/full
	make_instance "$I" || echo "Bail out! make_instance failed"
	mv "$I/var" "$I/var.orig" && mkdir "$I/var"
	mount -t tmpfs -o size=1M,mode=0755 tmpfs "$I/var" && MOUNTS+=("$I/var")
	cp -a "$I/var.orig/." "$I/var/" && chown "$(stat -c %u:%g "$I/var.orig")" "$I/var"
	echo "# var/ on a 1 MiB tmpfs, $(df -k --output=avail "$I/var" | tail -1) KiB free"
	n0=0 n75=0 nother=0 lies=0 failed=() stored=()
	for k in $(seq 1 60); do
		gen_mail "$T/full-$k" "full-$k@example.edu" "${froms[k % 4]}" tp5 30
		before=$(ls "$I/var/mail/new" | wc -l)
		"$DELIVER" -c "$I/sercom.conf" < "$T/full-$k" 2> "$T/stderr"
		rc=$?
		after=$(ls "$I/var/mail/new" | wc -l)
		case $rc in
		0) n0=$((n0 + 1)); stored+=("$k"); [ "$after" = $((before + 1)) ] || { lies=$((lies + 1)); echo "# full-$k: exit 0 but no copy in new/"; } ;;
		75) n75=$((n75 + 1)); failed+=("$k"); [ "$after" = "$before" ] || { lies=$((lies + 1)); echo "# full-$k: exit 75 but a copy in new/"; }
		    [ $n75 = 1 ] && sed 's/^/#   first 75: /' "$T/stderr" | head -2 ;;
		*) nother=$((nother + 1)); failed+=("$k"); echo "# full-$k: exit $rc"; sed 's/^/#   /' "$T/stderr" | head -3 ;;
		esac
	done
	echo "# full disk: $n0 stored, $n75 exit 75, $nother other"
	ok "full disk: the disk did fill up (some exit 75)" test "$n75" -gt 0
	is "$nother" 0 "full disk: no exit status but 0 and 75"
	is "$lies" 0 "full disk: exit 0 exactly when the copy is in var/mail/new"
	is "$(ls "$I/var/mail/tmp" | wc -l)" 0 "full disk: a failed delivery leaves no copy in tmp/"
	# the ingester on the full disk: what it cannot record stays in new/
	"$SERCOM_BIN/sercom" -c "$I/sercom.conf" recover > "$T/rec.out" 2> "$T/rec.err"
	left=$(ls "$I/var/mail/new" | wc -l)
	rec=$(sql "$I" "SELECT count(*) FROM messages")
	echo "# ingester on the full disk: $rec recorded, $left left in new/: $(head -1 "$T/rec.err")"
	ok "full disk: the ingester could not record them all" test "$left" -gt 0
	is "$((rec + left))" "$n0" "full disk: every stored mail is recorded or still in new/"
	like "$(cat "$T/rec.out")" "$left not yet" "full disk: sercom recover says how many wait"
	is "$(sql "$I" 'PRAGMA integrity_check')" ok "full disk: integrity_check"
	mount -o remount,size=64M "$I/var"
	ingest "$I"
	is "$(ls "$I/var/mail/new" | wc -l)" 0 "full disk: once there is room, the next pass records the rest"
	again=0
	for k in "${failed[@]}"; do
		"$DELIVER" -c "$I/sercom.conf" < "$T/full-$k" 2>/dev/null || again=$((again + 1))
	done
	ingest "$I"
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
	is "$(unstored "$I" "$T"/full-*)" "" "full disk: every mail's bytes are in a spool file of var/mail/cur"
	umount "$I/var" && MOUNTS=()

	# --- read-only var/ and var/mail (root ignores modes: remount ro)
	I=$T/ro
	make_instance "$I" || echo "Bail out! make_instance failed"
	gen_mail "$T/ro-1" "ro-1@example.edu" beto@example.edu tp1
	for sub in var var/mail; do
		mount --bind "$I/$sub" "$I/$sub" && mount -o remount,ro,bind "$I/$sub" && MOUNTS=("$I/$sub")
		"$DELIVER" -c "$I/sercom.conf" < "$T/ro-1" 2> "$T/stderr"
		is $? 75 "read-only $sub: exit 75"
		like "$(cat "$T/stderr")" 'Read-only' "read-only $sub: says why on stderr"
		umount "$I/$sub"; MOUNTS=()
		is "$(ls "$I/var/mail/new" "$I/var/mail/tmp" | grep -vc ':$\|^$')" 0 "read-only $sub: no copy"
	done
	deliver "$I" "$T/ro-1"; is $? 0 "writable again: exit 0"
	is "$(sql "$I" "SELECT outcome FROM messages")" queued "writable again: recorded once, queued"
fi

# --- 3. locked and broken databases, broken config -----------------------------
I=$T/lock
make_instance "$I" || echo "Bail out! make_instance failed"
gen_mail "$T/lock-1" "lock-1@example.edu" carla@example.edu tp1
# a writer that holds the lock longer than the ingester's busy timeout (30 s)
mkfifo "$T/holder.in"
sqlite3 "$I/var/sercom.db" < "$T/holder.in" > "$T/holder.out" 2>&1 &
HOLDER=$!
exec 7> "$T/holder.in"
printf 'BEGIN EXCLUSIVE;\n' >&7
# the lock is really held: a second writer fails at once
ok "a transaction holds the database lock" \
	wait_for 30 sh -c "! sqlite3 '$I/var/sercom.db' 'BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null"
"$DELIVER" -c "$I/sercom.conf" < "$T/lock-1" 2> "$T/stderr"
is $? 0 "database locked: the MDA does not need it (exit 0)"
t0=$(date +%s)
"$SERCOM_BIN/sercom" -c "$I/sercom.conf" recover > "$T/rec.out" 2> "$T/stderr"
t1=$(date +%s)
# (the instance's path holds "lock": the message itself is matched)
like "$(cat "$T/stderr")" 'sercom\.db: database is locked' "locked past the busy timeout ($((t1 - t0)) s): the ingester says so"
is "$(ls "$I/var/mail/new" | wc -l)" 1 "locked: the mail waits in var/mail/new, under its own name"
printf 'COMMIT;\n' >&7
exec 7>&-
wait $HOLDER; HOLDER=
is "$(sql "$I" "SELECT count(*) FROM messages")" 0 "locked: nothing recorded"
ingest "$I"
is "$(sql "$I" "SELECT count(*) FROM messages WHERE message_id = 'lock-1@example.edu'")" 1 "lock released: the next pass records it, once"

# a database that is not one: the MDA's exit is 0, the ingester's error
# names the file and the mail waits
I=$T/corrupt
make_instance "$I" || echo "Bail out! make_instance failed"
head -c 8192 /dev/urandom > "$I/var/sercom.db"; rm -f "$I/var/sercom.db-wal" "$I/var/sercom.db-shm"
"$DELIVER" -c "$I/sercom.conf" < "$T/lock-1" 2> "$T/stderr"
is $? 0 "corrupt database: the MDA does not read it (exit 0)"
"$SERCOM_BIN/sercom" -c "$I/sercom.conf" recover > /dev/null 2> "$T/stderr"
like "$(cat "$T/stderr")" 'sercom.db' "corrupt database: the ingester's error names the file"
is "$(ls "$I/var/mail/new" | wc -l)" 1 "corrupt database: the mail waits in var/mail/new"

# configuration errors are 75: a bounced homework is a lost homework
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
# an empty mail is a mail (the MTA's to judge, not ours): stored, exit 0
ingest "$T/lock"
"$DELIVER" -c "$T/lock/sercom.conf" < /dev/null 2>/dev/null
is $? 0 "empty stdin: exit 0"
is "$(ls "$T/lock/var/mail/new" | wc -l)" 1 "empty stdin: its copy in var/mail/new"
is "$(body "$T/lock/var/mail/new/"* | wc -c)" 0 "empty stdin: an empty message after the envelope line"

done_testing
