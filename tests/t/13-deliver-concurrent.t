#!/bin/bash
# 8 concurrent deliverers x 100 mails (as postfix runs many local(8) at
# once) while two ingesters (sercom recover in a loop) race for
# var/mail/new: 800 messages, 800 attempts, every exit 0, every mail
# recorded once (one pass at a time: the lock of src/intake.c); attempt
# numbers per student and exercise are 1..N with no repeat and no gap
# (assigned inside BEGIN IMMEDIATE); exactly one QUEUED attempt per student
# and exercise, the newest, the others SUPERSEDED. Then one ingester pass
# per mail (each the database's only connection): the WAL stays small.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
need_mda

P=${SERCOM_CONC_PROCS:-8}
N=${SERCOM_CONC_MAILS:-100}
T=$(mktemp -d "${TMPDIR:-/tmp}/sercom-test.XXXXXX")
trap 'umount_tmpfs_vars; rm -rf "$T"' EXIT
make_exercises "$T/exercises"
SERCOM_EXERCISES=$T/exercises make_instance "$T/inst" || { echo "Bail out! make_instance failed"; exit 1; }
I=$T/inst
# the subject is the lock and the numbering, not fsync latency: on a tmpfs
# (when root) 800 deliveries fit the time budget of a test
[ "${SERCOM_CONC_DISK:-0}" = 1 ] || { tmpfs_var "$I" && echo "# var/ on a tmpfs (SERCOM_CONC_DISK=1: on disk)"; }
froms=(ana@example.edu ana.alumna@gmail.com beto@example.edu carla@example.edu)
mkdir -p "$T/tmpl"
for f in 0 1 2 3; do
	for ex in tp1 tp5; do
		gen_mail "$T/tmpl/$f.$ex" "@MID@" "${froms[f]}" $ex $((f + 1))
	done
done
exs=(tp1 tp5)
for p in $(seq 1 "$P"); do
	mkdir -p "$T/m/$p"
	for k in $(seq 1 "$N"); do
		from_template "$T/tmpl/$(( (p + k) % 4 )).${exs[(p + k / 4) % 2]}" "$T/m/$p/$k" "c$p-$k@example.edu"
	done
done

# two ingesters, racing each other and the deliverers
rm -f "$T/stop"
for r in 1 2; do
	( while [ ! -e "$T/stop" ]; do "$SERCOM_BIN/sercom" -c "$I/sercom.conf" recover > /dev/null 2>> "$T/ingest.err"; done ) &
	ingesters="${ingesters:-} $!"
done
t0=$(date +%s%N)
pids=
for p in $(seq 1 "$P"); do
	(
		for k in $(seq 1 "$N"); do
			"$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" < "$T/m/$p/$k" 2>> "$T/err.$p"
			echo "$k $?"
		done > "$T/rc.$p"
	) &
	pids="$pids $!"
done
wait $pids
total=$((P * N))
touch "$T/stop"
wait $ingesters
ingest "$I"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# $total deliveries by $P concurrent deliverers, recorded by 2 racing ingesters, in $ms ms"

nonzero=$(cat "$T"/rc.* | awk '$2 != 0' | wc -l)
is "$nonzero" 0 "all $total deliveries exit 0"
[ "$nonzero" = 0 ] || { cat "$T"/rc.* | awk '$2 != 0' | head -3 | sed 's/^/#   /'; cat "$T"/err.* | head -5 | sed 's/^/#   /'; }
is "$(sql "$I" "SELECT count(*) FROM messages")" "$total" "$total messages rows"
is "$(sql "$I" "SELECT count(DISTINCT message_id) FROM messages WHERE outcome = 'queued'")" "$total" "$total distinct Message-IDs, all queued"
is "$(sql "$I" "SELECT count(*) FROM attempts")" "$total" "$total attempts"
is "$(sql "$I" "SELECT count(*) FROM (SELECT student, exercise, number FROM attempts GROUP BY 1, 2, 3 HAVING count(*) > 1)")" 0 \
	"no duplicate number per student and exercise"
is "$(sql "$I" "SELECT student || '/' || exercise || ': ' || count(*) || ' attempts, max ' || max(number) FROM attempts
	GROUP BY student, exercise HAVING count(*) != max(number) OR min(number) != 1 OR count(number) != count(*)")" "" \
	"numbers are exactly 1..N per student and exercise"
echo "# per student/exercise: $(sql "$I" "SELECT student || '/' || exercise || '=' || count(*) FROM attempts GROUP BY student, exercise" | tr '\n' ' ')"
is "$(sql "$I" "SELECT count(*) FROM (SELECT student, exercise FROM attempts WHERE state = 'QUEUED' GROUP BY 1, 2 HAVING count(*) != 1)")" 0 \
	"exactly one QUEUED attempt per student and exercise"
is "$(sql "$I" "SELECT count(*) FROM attempts a WHERE state = 'QUEUED' AND number != (SELECT max(number) FROM attempts b WHERE b.student = a.student AND b.exercise = a.exercise)")" 0 \
	"the QUEUED one is the newest"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE state NOT IN ('QUEUED','SUPERSEDED')")" 0 "the others are SUPERSEDED"
nosub=0
for id in $(sql "$I" "SELECT id FROM attempts"); do
	[ -f "$I/var/attempts/$id/submitted/tp.c" ] || nosub=$((nosub + 1))
done
is "$nosub" 0 "every attempt has its submitted/tp.c"
is "$(ls "$I/var/mail/cur" | wc -l)" "$total" "$total raw mails in var/mail/cur"
is "$(ls "$I/var/mail/new" | wc -l)" 0 "none left in var/mail/new"
is "$(sql "$I" "SELECT count(*) FROM (SELECT spool_file FROM messages GROUP BY spool_file HAVING count(*) > 1)")" 0 \
	"no copy recorded twice by the racing ingesters"
is "$(unstored "$I" "$T"/m/*/*)" "" "every mail's bytes are in a spool file of var/mail/cur"
is "$(sql "$I" 'PRAGMA integrity_check')" ok "integrity_check"

# one mail at a time, as a quiet course sees them: each ingester pass is
# the database's only connection. A WAL that is only checkpointed
# PASSIVE-ly is never reset then, and grew by ~7 pages a mail (4 MB after
# 150 mails).
S=150
for k in $(seq 1 "$S"); do
	from_template "$T/tmpl/$((k % 4)).tp5" "$T/seq.$k" "seq-$k@example.edu"
	deliver "$I" "$T/seq.$k" 2>> "$T/err.seq" || echo "# seq $k: exit $?"
done
# before any sqlite3 command: the shell's last close checkpoints it
wal=$(stat -c %s "$I/var/sercom.db-wal" 2>/dev/null || echo missing)
ok "WAL after $S lone passes: $wal bytes (bound 512 KiB: checkpointed and truncated)" test "$wal" -lt 524288
is "$(sql "$I" "SELECT count(*) FROM messages WHERE message_id LIKE 'seq-%' AND outcome = 'queued'")" "$S" "$S lone deliveries queued"
is "$(unstored "$I" "$T"/seq.*)" "" "the $S lone mails' bytes are in spool files of var/mail/cur"

done_testing
