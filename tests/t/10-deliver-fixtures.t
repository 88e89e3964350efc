#!/bin/bash
# sercom-deliver over the fixture Maildir (maildir-fixtures/submissions),
# each mail recorded by the ingester (`sercom recover`) after it: for every
# mail, exit 0, the raw bytes in var/mail/cur after our envelope line, one
# messages row with the
# expected outcome, the attempt's state/reason/student/exercise, and the exact
# tree in var/attempts/ID/submitted. Hostile archives (zip-slip, symlinks,
# bombs) must leave nothing outside submitted/. Then the policies that need
# more than one mail: supersede, numbering, max_attempts, message_size,
# unknown_sender = ignore | accept.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
need_mda

FIX=$SERCOM_TOP/maildir-fixtures
[ -f "$FIX/expected.tsv" ] || skip_all "no $FIX/expected.tsv"
tmpdir
make_exercises "$T/exercises"
SERCOM_EXERCISES=$T/exercises make_instance "$T/inst" || { echo "Bail out! make_instance failed"; exit 1; }
I=$T/inst
passwd_links=$(stat -c %h /etc/passwd)
rm -f /tmp/sercom-fixture-*.c

# the stored raw message must be the bytes fed, after our envelope line
same_raw() { # SPOOL FED
	[ -f "$1" ] && head -1 "$1" | grep -q '^sercom-envelope-1 ' && body "$1" | cmp -s - "$2"
}
spool_path() { # the messages.spool_file value, absolute
	case $1 in /*) echo "$1" ;; *) if [ -e "$I/var/$1" ]; then echo "$I/var/$1"; else echo "$I/$1"; fi ;; esac
}
nul() { [ -n "$1" ] && echo "$1" || echo -; }
# files outside every submitted/ dir of the instance (and the exercises)
outside_files() {
	find "$T" \( -path "$I/var/attempts/*/submitted" -prune \) -o \( -type f -o -type l \) ! -path "$T/stderr" -print | sort
}

while IFS=$'\t' read -r file args outcome state reason student exercise check comment; do
	case $file in '#'*|'') continue ;; esac
	f=$FIX/submissions/new/$file
	name=${file#*_}; name=${name%.sercom-fixtures}
	eval "set -- $( [ "$args" = - ] || echo "$args")"
	before_files=$(outside_files)
	last=$(sql "$I" "SELECT coalesce(max(id),0) FROM messages")
	t0=$(date +%s%N)
	deliver "$I" "$f" "$@" 2> "$T/stderr"
	rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	is "$rc" 0 "$name: exit 0 ($comment)"
	[ $rc = 0 ] || sed 's/^/#   stderr: /' "$T/stderr" | head -5
	is "$(sql "$I" "SELECT count(*) FROM messages WHERE id > $last")" 1 "$name: one messages row"
	mid=$(sql "$I" "SELECT max(id) FROM messages")
	like "$(sql "$I" "SELECT outcome FROM messages WHERE id = $mid")" "^($outcome)\$" "$name: outcome $outcome"
	sp=$(spool_path "$(sql "$I" "SELECT spool_file FROM messages WHERE id = $mid")")
	ok "$name: raw message stored byte for byte ($sp)" same_raw "$sp" "$f"
	case $sp in "$I/var/mail/cur/"*) ok "$name: spool file in var/mail/cur" true ;;
		*) ok "$name: spool file in var/mail/cur (got $sp)" false ;; esac
	is "$(ls "$I/var/mail/new")" "" "$name: nothing left in var/mail/new"
	n_att=$(sql "$I" "SELECT count(*) FROM attempts WHERE message = $mid")
	if [ "$state" = - ]; then
		is "$n_att" 0 "$name: no attempt"
	else
		is "$n_att" 1 "$name: one attempt"
		IFS='|' read -r aid astate areason astudent aexercise anumber aemail < <(sql "$I" \
			"SELECT id, state, coalesce(reason,''), coalesce(student,''), coalesce(exercise,''), coalesce(number,''), email FROM attempts WHERE message = $mid")
		echo "# $name: attempt $aid $astate $areason $(sql "$I" "SELECT coalesce(detail,'') || ' ' || coalesce(note,'') FROM attempts WHERE id = $aid")"
		like "$astate" "^($state)\$" "$name: state $state"
		like "$(nul "$areason")" "^($reason)\$" "$name: reason $reason"
		is "$(nul "$astudent")" "$student" "$name: student $student"
		is "$(nul "$aexercise")" "$exercise" "$name: exercise $exercise"
		if [ "$student" != - ] && [ "$exercise" != - ]; then
			like "$anumber" '^[0-9]+$' "$name: numbered attempt"
		else
			is "$anumber" "" "$name: no number without student and exercise"
		fi
		like "$aemail" '@' "$name: attempts.email is the address to answer ($aemail)"
		sub=$I/var/attempts/$aid/submitted
		if [ -d "$FIX/expected/$file" ]; then
			ok "$name: submitted/ holds exactly the expected files" diff -r "$FIX/expected/$file" "$sub"
			[ -d "$sub" ] && diff -r "$FIX/expected/$file" "$sub" 2>&1 | head -5 | sed 's/^/#   /'
		fi
	fi
	after_files=$(outside_files)
	# the MDA may keep its own files beside submitted/ (not hostile names)
	new_outside=$(comm -13 <(echo "$before_files") <(echo "$after_files") |
		grep -v "^$I/var/mail/\|^$I/var/sercom.db\|^$I/var/runner.fifo$" |
		{ if [ -n "$aid" ]; then grep -v "^$I/var/attempts/$aid/" || true; else cat; fi; })
	case $check in
	zipslip)
		is "$new_outside" "" "$name: nothing written outside submitted/ and the spool"
		ok "$name: nothing escaped to /tmp" test ! -e /tmp/sercom-fixture-zipslip.c -a ! -e /tmp/sercom-fixture-abs.c
		ok "$name: no evil*.c anywhere but submitted/" test -z "$(find "$T" -path "$I/var/attempts/*/submitted" -prune -o -name 'evil*' -print)"
		if [ "$astate" = QUEUED ]; then
			ok "$name: queued: tp.c stored" test -f "$sub/tp.c"
			ok "$name: queued: no entry stored outside the tree" test -z "$(cd "$sub" && find . -name 'evil*' -path '*..*')"
			# the reply tells the student which entries were left out
			like "$(sql "$I" "SELECT note FROM attempts WHERE id = $aid")" 'skipped: .*evil.c refused: ".." in path \(zip-slip\).*absolute path' \
				"$name: queued: the refused entries are in the attempt's note"
		fi
		;;
	symlink)
		is "$(find "$T" -type l)" "" "$name: no symlink created"
		is "$(find "$T" -samefile /etc/passwd 2>/dev/null)" "" "$name: no hard link to /etc/passwd"
		ok "$name: nothing written through a symlink" test ! -e /tmp/sercom-fixture-symlink.c
		is "$new_outside" "" "$name: nothing written outside submitted/ and the spool"
		is "$(stat -c %h /etc/passwd)" "$passwd_links" "$name: no new hard link to /etc/passwd anywhere"
		if [ "$astate" = QUEUED ]; then
			ok "$name: queued: tp.c stored" test -f "$sub/tp.c"
			like "$(sql "$I" "SELECT note FROM attempts WHERE id = $aid")" 'skipped: .*symbolic link .*passwd.* skipped' \
				"$name: queued: the skipped links are in the attempt's note"
		fi
		;;
	bomb)
		# the mechanism, not the machine's speed: refused before it was
		# unpacked (its reason is in expected.tsv), nothing big written
		echo "# $name: rejected in ${ms} ms"
		kb=$(du -sc "$I/var/attempts/$aid" "$I"/var/attempts/.stage* 2>/dev/null | tail -1 | cut -f1)
		ok "$name: nothing big left in var/attempts/$aid or a staging dir (${kb} KiB)" test "$kb" -lt 1024
		;;
	dup)
		mid_hdr=$(sql "$I" "SELECT message_id FROM messages WHERE id = $mid")
		is "$mid_hdr" fx25.dup@example.edu "$name: Message-ID recorded without <>"
		is "$(sql "$I" "SELECT count(*) FROM attempts a JOIN messages m ON a.message = m.id WHERE m.message_id = '$mid_hdr'")" 1 \
			"$name: one attempt for the Message-ID"
		;;
	folder)
		for x in tp.c aux.c aux.h; do
			ok "$name: $x found under submitted/" test -n "$(find "$sub" -name "$x" -type f)"
		done
		;;
	supersede)
		is "$(sql "$I" "SELECT count(*) FROM attempts WHERE student = 's001' AND exercise = 'tp1' AND state = 'QUEUED'")" 1 \
			"$name: one QUEUED tp1 attempt left for s001"
		is "$(sql "$I" "SELECT state FROM attempts WHERE id = $aid")" QUEUED "$name: the newest is the QUEUED one"
		is "$(sql "$I" "SELECT count(*) FROM attempts WHERE student = 's001' AND exercise = 'tp1' AND id < $aid AND state NOT IN ('SUPERSEDED','REJECTED')")" 0 \
			"$name: the older QUEUED ones are SUPERSEDED"
		;;
	esac
	case $check in zipslip|symlink|bomb) ;; *)
		is "$new_outside" "" "$name: nothing but the spool and attempts/$aid written" ;;
	esac
	aid=; astate=
done < "$FIX/expected.tsv"

# --- numbering: per student and exercise, 1..N without gaps or repeats
bad=$(sql "$I" "SELECT student, exercise, count(*), max(number), count(DISTINCT number) FROM attempts
	WHERE number IS NOT NULL GROUP BY student, exercise HAVING count(*) != max(number) OR count(*) != count(DISTINCT number) OR min(number) != 1")
is "$bad" "" "numbers are 1..N per student and exercise"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE state = 'QUEUED' GROUP BY student, exercise HAVING count(*) > 1")" "" \
	"at most one QUEUED attempt per student and exercise"
is "$(sql "$I" 'PRAGMA integrity_check')" ok "integrity_check"
is "$(sql "$I" 'PRAGMA foreign_key_check')" "" "foreign_key_check"

# --- max_attempts = 2 (tp4): attempts count once graded (the runner is
# simulated by marking them DONE)
for k in 1 2 3; do
	gen_mail "$T/m4.$k" "tp4-$k@example.edu" "carla@example.edu" tp4
	deliver "$I" "$T/m4.$k"; is $? 0 "tp4 mail $k: exit 0"
	last_state=$(sql "$I" "SELECT state || ':' || coalesce(reason,'') FROM attempts WHERE id = (SELECT max(id) FROM attempts)")
	sql "$I" "UPDATE attempts SET state = 'DONE', verdict = 'TESTS_FAILED' WHERE exercise = 'tp4' AND state = 'QUEUED'"
	if [ $k -le 2 ]; then is "$last_state" "QUEUED:" "tp4 mail $k queued"
	else is "$last_state" "REJECTED:attempts_exhausted" "tp4 mail 3: attempts_exhausted"; fi
done

# --- message_size: a mail over the limit is rejected too_large; its copy
# keeps the first message_size bytes (the headers say who to answer), and
# the envelope the real size
sed -i '/^\[general\]/i [limits]\nmessage_size = 1M\n' "$I/sercom.conf"
gen_mail "$T/big" "big@example.edu" "beto@example.edu" tp1 1500
size=$(stat -c %s "$T/big")
last=$(sql "$I" "SELECT max(id) FROM messages")
deliver "$I" "$T/big"; is $? 0 "1.5 MB mail over message_size = 1M: exit 0"
is "$(sql "$I" "SELECT m.outcome || ':' || a.state || ':' || a.reason || ':' || a.detail FROM messages m JOIN attempts a ON a.message = m.id WHERE m.id > $last")" \
	"rejected:REJECTED:too_large:message:1048576:$size" "over message_size: rejected too_large, with the limit and the size"
is "$(sql "$I" "SELECT a.email FROM messages m JOIN attempts a ON a.message = m.id WHERE m.id > $last")" \
	"beto@example.edu" "over message_size: answered to its From:"
sp=$(spool_path "$(sql "$I" "SELECT spool_file FROM messages WHERE id > $last")")
is "$(body "$sp" | wc -c)" 1048576 "over message_size: the copy keeps its first 1 MiB"
like "$(head -1 "$sp")" "size=0*$size truncated=1 " "over message_size: the envelope has the real size, truncated"
body "$sp" | cmp -s - <(head -c 1048576 "$T/big"); is $? 0 "over message_size: those are its first bytes"
# a mail of exactly message_size is whole, and not too large
sed 's/big@example.edu/edge@example.edu/' "$T/big" | head -c 1048576 > "$T/edge"
last=$(sql "$I" "SELECT max(id) FROM messages")
deliver "$I" "$T/edge"; is $? 0 "a mail of exactly message_size: exit 0"
sp=$(spool_path "$(sql "$I" "SELECT spool_file FROM messages WHERE id > $last")")
body "$sp" | cmp -s - "$T/edge"; is $? 0 "a mail of exactly message_size: kept whole"
like "$(head -1 "$sp")" " truncated=0 " "a mail of exactly message_size: not marked truncated"
isnt_reason=$(sql "$I" "SELECT coalesce(a.reason, '') FROM attempts a WHERE a.message > $last")
ok "a mail of exactly message_size: not too_large ($isnt_reason)" test "$isnt_reason" != too_large
sed -i '/^\[limits\]$/,/^$/d' "$I/sercom.conf"

# --- unknown_sender = ignore / accept
unk=$FIX/submissions/new/$(cd "$FIX/submissions/new" && ls | grep unknown-sender)
sed 's/fx10.unknown@evil.example/fx10.ignore@evil.example/' "$unk" > "$T/unk-ignore"
sed 's/fx10.unknown@evil.example/fx10.accept@evil.example/' "$unk" > "$T/unk-accept"
sed -i 's/^unknown_sender = reject/unknown_sender = ignore/' "$I/sercom.conf"
last=$(sql "$I" "SELECT max(id) FROM messages")
deliver "$I" "$T/unk-ignore"; is $? 0 "unknown_sender = ignore: exit 0"
is "$(sql "$I" "SELECT outcome FROM messages WHERE id > $last")" ignored "unknown_sender = ignore: outcome ignored"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE message > $last AND state IN ('QUEUED','REJECTED')")" 0 \
	"unknown_sender = ignore: nothing to grade or answer"
sed -i 's/^unknown_sender = ignore/unknown_sender = accept/' "$I/sercom.conf"
last=$(sql "$I" "SELECT max(id) FROM messages")
deliver "$I" "$T/unk-accept"; is $? 0 "unknown_sender = accept: exit 0"
is "$(sql "$I" "SELECT m.outcome || ':' || a.state FROM messages m JOIN attempts a ON a.message = m.id WHERE m.id > $last")" \
	"queued:QUEUED" "unknown_sender = accept: queued"

# --- the envelope recipient: -r and $RECIPIENT carry the +tag; a typo in
# an explicit choice is answered, not guessed from the Subject
opte=$FIX/submissions/new/$(cd "$FIX/submissions/new" && ls | grep option-e)
for how in "-r entregas+tp1@example.edu" "RECIPIENT=entregas+tp1@example.edu" "-e tp7"; do
	tag=$(echo "$how" | tr -c 'a-zA-Z0-9\n' '-')
	subj=; case $how in -e*) subj=" tp1" ;; esac
	sed "s/fx19.opte@example.edu/fx19$tag@example.edu/; s/^Subject: mi entrega/Subject: mi entrega$subj/" "$opte" > "$T/rcpt"
	last=$(sql "$I" "SELECT max(id) FROM messages")
	deliver "$I" "$T/rcpt" $how; is $? 0 "recipient $how: exit 0"
	got=$(sql "$I" "SELECT a.state || ':' || coalesce(a.reason,'') || ':' || coalesce(a.exercise,'') FROM attempts a WHERE a.message > $last")
	case $how in
	-e*) is "$got" "REJECTED:unknown_exercise:" "$how: unknown_exercise, not the Subject's tp1" ;;
	*) is "$got" "QUEUED::tp1" "$how: exercise tp1 from the envelope recipient" ;;
	esac
done

# --- a duplicate is the same Message-ID AND the same bytes: an MTA's retry
# is graded once, a different mail that reuses a Message-ID (broken
# clients do) is recorded as its own and graded
gen_mail "$T/reuse.1" "reused@example.edu" ana@example.edu tp5
sed 's/Hola, va el tp5/Hola, va el tp5 (otra vez, corregido)/' "$T/reuse.1" > "$T/reuse.2"
outcomes_after() { sql "$I" "SELECT group_concat(outcome, ' ') FROM (SELECT outcome FROM messages WHERE id > $1 ORDER BY id)"; }
last=$(sql "$I" "SELECT max(id) FROM messages")
for f in reuse.1 reuse.1 reuse.2 reuse.2; do deliver "$I" "$T/$f"; done
is "$(outcomes_after "$last")" "queued duplicate queued duplicate" \
	"a Message-ID reused by other bytes: its own mail, graded; the same bytes again: duplicate"
is "$(sql "$I" "SELECT count(*) FROM attempts a JOIN messages m ON a.message = m.id WHERE m.id > $last")" 2 \
	"the two different mails have an attempt each, the retries none"
is "$(sql "$I" "SELECT count(*) FROM messages WHERE id > $last AND (digest IS NULL OR length(digest) != 64)")" 0 \
	"every mail's digest is stored (a SHA-256), Message-ID or not"
# a mail recorded before schema 3 has no digest: its spool file is read
sql "$I" "UPDATE messages SET digest = NULL WHERE id > $last"
last=$(sql "$I" "SELECT max(id) FROM messages")
sed 's/Hola, va el tp5/Hola, va el tp5 (tercera)/' "$T/reuse.1" > "$T/reuse.3"
for f in reuse.1 reuse.3; do deliver "$I" "$T/$f"; done
is "$(outcomes_after "$last")" "duplicate queued" \
	"against a row without digest (schema 2): the same bytes are a duplicate, other bytes queued"

# nothing lost, as bytes: every mail fed whole (all but the one cut at
# message_size, checked above) is in a spool file of var/mail/cur
is "$(unstored "$I" "$FIX"/submissions/new/* "$T"/m4.* "$T/edge" "$T"/unk-* "$T/rcpt" "$T"/reuse.*)" "" \
	"every mail's bytes are in a spool file of var/mail/cur"

# --- command line
"$SERCOM_BIN/sercom-deliver" --help > "$T/help" 2>&1; is $? 0 "--help exits 0"
like "$(cat "$T/help")" '-e' "--help names the options"
"$SERCOM_BIN/sercom-deliver" --version > /dev/null 2>&1; is $? 0 "--version exits 0"

done_testing
