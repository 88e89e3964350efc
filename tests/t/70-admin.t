#!/usr/bin/env bash
# Issue 6, Shows: every `sercom` admin command against a populated instance
# (the tp1 submissions delivered through sercom-deliver and graded by
# sercom-runner --once; replies go to the instance's maildir: transport).
# Text tables must be aligned (by characters: names are UTF-8), csv/json
# must parse, and each command must do what docs/ARCHITECTURE.md section 2 says.
. "$(dirname "$0")/lib.sh"

for p in sercom sercom-deliver sercom-runner; do
	[ -x "$SERCOM_BIN/$p" ] || skip_all "$SERCOM_BIN/$p not built"
done
command -v python3 >/dev/null || skip_all "python3 missing"
[ "$(id -u)" = 0 ] || skip_all "the runner's sandbox needs root"
tmpdir
# a uid range of its own: other instances may grade at the same time
export SERCOM_UID_BASE=${SERCOM_UID_BASE:-$((64000 + ($$ % 250) * 4))}
I=$T/i
C=$I/sercom.conf
S() { "$SERCOM_BIN/sercom" -c "$C" "$@"; }
# runner: sercom-runner --once, its log kept aside (first errors as comments)
runner() {
	local rc=0
	"$SERCOM_BIN/sercom-runner" -c "$C" --once > "$T/runner.log" 2>&1 || rc=$?
	grep -m3 'error:' "$T/runner.log" | sed 's/^/# runner: /'
	return $rc
}
SUBS=$SERCOM_TOP/tests/t/submissions/tp1

# mail FROM SUBJECT MESSAGE-ID FILE...: a submission (attachments base64)
mail() {
	local from=$1 subj=$2 mid=$3 b="=_b$RANDOM" f
	shift 3
	printf 'From: %s\nTo: tp+tp1@example.edu\nSubject: %s\nMessage-ID: <%s>\nDate: %s\nMIME-Version: 1.0\n' \
		"$from" "$subj" "$mid" "$(LC_ALL=C date -R)"
	printf 'Content-Type: multipart/mixed; boundary="%s"\n\n--%s\nContent-Type: text/plain\n\nhere\n' "$b" "$b"
	for f in "$@"; do
		printf -- '--%s\nContent-Type: text/x-csrc; name="%s"\nContent-Disposition: attachment; filename="%s"\n' "$b" "${f##*/}" "${f##*/}"
		printf 'Content-Transfer-Encoding: base64\n\n'
		base64 "$f"
	done
	printf -- '--%s--\n' "$b"
}

# aligned FILE: a text table whose columns all start where the header's do
aligned() {
	python3 - "$1" <<'PY'
import re, sys
lines = [l.rstrip('\n') for l in open(sys.argv[1], encoding='utf-8')]
lines = [l for l in lines if l.strip()]
if len(lines) < 2:
    print("# fewer than 2 lines"); sys.exit(1)
head = lines[0]
starts = [m.start() for m in re.finditer(r'(?<=  )\S', head)]
if not starts:
    print("# no columns in header: %r" % head); sys.exit(1)
bad = 0
for l in lines[1:]:
    for p in starts:
        if len(l) > p and l[p - 1] != ' ':
            print("# misaligned at column %d: %r" % (p, l)); bad = 1; break
sys.exit(bad)
PY
}
# csv_ok FILE NCOLS_MIN: parses, every row as wide as the header
csv_rows() {
	python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8", newline="")))
w = len(rows[0])
assert all(len(r) == w for r in rows), "ragged csv"
print(len(rows) - 1)' "$1"
}
json_len() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
print(len(d) if isinstance(d, (list, dict)) else -1)' "$1"
}
replies() { find "$I/replies/new" -type f 2>/dev/null | wc -l; }
# replies_to ADDRESS: how many replies in the maildir are addressed to ADDRESS
replies_to() { grep -l "^To:.*$1" "$I/replies/new"/* 2>/dev/null | wc -l; }
newest_reply() { ls -t "$I/replies/new"/* 2>/dev/null | head -1; }

# ---- --help of everything, errors --------------------------------------
ok "sercom --help exits 0" eval 'S --help > /dev/null'
like "$(S --version)" "^sercom [0-9]" "sercom --version"
for c in init roster exercise attempts show regrade resend override export stats outbox purge import-maildir; do
	out=$("$SERCOM_BIN/sercom" "$c" --help 2>&1); rc=$?
	is "$rc" 0 "sercom $c --help exits 0 (without a config)"
	like "$out" "[Uu]sage|$c" "sercom $c --help prints a usage"
done
"$SERCOM_BIN/sercom" -c "$T/nonexistent.conf" attempts > "$T/out" 2> "$T/err"; rc=$?
ok "a missing config fails (exit $rc)" test "$rc" != 0
like "$(cat "$T/err")" "nonexistent.conf" "and the error names the file"
S frobnicate > /dev/null 2>&1; is "$?" 64 "an unknown command is a usage error (64)"

# ---- a populated instance ----------------------------------------------
make_instance "$I"; rc=$?
is "$rc" 0 "make_instance (init, roster import)"
[ $rc = 0 ] || { echo "Bail out! could not make the instance"; exit 1; }
out=$(S init 2>&1); is "$?" 0 "init again is harmless"
like "$out" "instance ready" "init says the instance is ready"
cat > "$T/roster2.csv" <<CSV
id,name,email
s004,Diego Díaz,diego@example.edu
CSV
out=$(S roster import "$T/roster2.csv"); is "$?" 0 "roster import of a second file"
like "$out" "imported 1 student" "roster import counts"
i=0
for s in "Ana Alumna <ana@example.edu>:correct" "Beto Barrios <beto@example.edu>:wrong-output" \
         "Carla <carla@example.edu>:nocompile" "Diego <diego@example.edu>:correct" "Eve <eve@evil.example>:correct"; do
	i=$((i + 1))
	mail "${s%:*}" "tp1" "adm$i.$$@test" "$SUBS/${s##*:}/tp.c" > "$T/m$i"
	"$SERCOM_BIN/sercom-deliver" -c "$C" < "$T/m$i"
	is "$?" 0 "sercom-deliver stores submission $i (${s##*:})"
done
ok "sercom-runner --once" runner
verdicts=$(sql "$I" "SELECT group_concat(coalesce(student, '-') || '=' || coalesce(verdict, state), ' ') FROM (SELECT * FROM attempts ORDER BY id)")
is "$verdicts" "s001=ACCEPTED s002=TESTS_FAILED s003=BUILD_FAILED s004=ACCEPTED -=REJECTED" "the verdicts"
# Eve is not on the roster and not authenticated: kept, never answered
# (no backscatter, docs/ARCHITECTURE.md section 6)
is "$(replies)" 4 "one reply per attempt in the maildir transport, none to the stranger"
ID_ANA=$(sql "$I" "SELECT id FROM attempts WHERE student = 's001'")
ID_BETO=$(sql "$I" "SELECT id FROM attempts WHERE student = 's002'")

# ---- exercise list / check ---------------------------------------------
S exercise list > "$T/ex.txt"; is "$?" 0 "exercise list"
like "$(cat "$T/ex.txt")" "tp1" "lists tp1"
ok "exercise list: aligned" aligned "$T/ex.txt"
S exercise list --format csv > "$T/ex.csv"; is "$(csv_rows "$T/ex.csv")" 1 "exercise list --format csv: 1 row"
S exercise list --format json > "$T/ex.json"; is "$(json_len "$T/ex.json")" 1 "exercise list --format json parses"

S exercise check "$SERCOM_TOP/conf/exercises/tp1" > "$T/check.out" 2>&1; rc=$?
is "$rc" 0 "exercise check conf/exercises/tp1 exits 0"
like "$(cat "$T/check.out")" "solution: ACCEPTED" "and says ACCEPTED"
like "$(cat "$T/check.out")" "private" "and lists the private cases"
mkdir -p "$T/broken"
cp -r "$SERCOM_TOP/conf/exercises/tp1" "$T/broken/tp1"
sed -i 's/^cpu = 1s/cpu = banana/' "$T/broken/tp1/exercise.conf"
S exercise check "$T/broken/tp1" > "$T/check.out" 2>&1; rc=$?
ok "exercise check of a bad limit fails (exit $rc)" test "$rc" != 0
like "$(cat "$T/check.out")" "exercise.conf" "the error names the file"
like "$(cat "$T/check.out")" "cpu" "the error names the key"
cp -r "$SERCOM_TOP/conf/exercises/tp1" "$T/broken/tp1b"
cp "$SUBS/wrong-output/tp.c" "$T/broken/tp1b/solution/tp.c"
S exercise check "$T/broken/tp1b" > "$T/check.out" 2>&1; rc=$?
is "$rc" 1 "exercise check of a wrong solution exits 1"
like "$(cat "$T/check.out")" "solution: TESTS_FAILED" "and says TESTS_FAILED"

# ---- attempts ----------------------------------------------------------
S attempts > "$T/a.txt"; is "$?" 0 "attempts"
ok "attempts: aligned" aligned "$T/a.txt"
is "$(grep -c . "$T/a.txt")" 6 "attempts: header + 5 rows"
S attempts --format csv > "$T/a.csv"; is "$(csv_rows "$T/a.csv")" 5 "attempts --format csv: 5 rows"
S attempts --format json > "$T/a.json"; is "$(json_len "$T/a.json")" 5 "attempts --format json: 5 objects"
is "$(python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))[0].keys()) == sorted(["id","student","email","exercise","n","state","verdict","score","grade","queued","finished","reply"]))' "$T/a.json")" True "attempts json keys"
S attempts --student s001 --format csv > "$T/a.csv"; is "$(csv_rows "$T/a.csv")" 1 "attempts --student s001"
S attempts --student ana@example.edu --format csv > "$T/a.csv"; is "$(csv_rows "$T/a.csv")" 1 "attempts --student ADDRESS"
S attempts --exercise TP1 --format csv > "$T/a.csv"; is "$(csv_rows "$T/a.csv")" 5 "attempts --exercise TP1 (the rejected one names tp1 too)"
S attempts --state rejected --format csv > "$T/a.csv"; is "$(csv_rows "$T/a.csv")" 1 "attempts --state rejected"
S attempts --format yaml > /dev/null 2>&1; is "$?" 64 "attempts --format yaml is a usage error"

# ---- show --------------------------------------------------------------
S show "$ID_BETO" > "$T/show.txt"; is "$?" 0 "show ID"
like "$(cat "$T/show.txt")" "private" "show includes the private cases"
like "$(cat "$T/show.txt")" "$I/var/attempts/$ID_BETO/report" "show gives the report path"
like "$(cat "$T/show.txt")" "WRONG_OUTPUT" "show has the case verdicts"
like "$(cat "$T/show.txt")" "adm2.$$@test" "show has the Message-ID"
S show 9999 > /dev/null 2> "$T/err"; rc=$?
is "$rc" 1 "show of a missing attempt exits 1"
like "$(cat "$T/err")" "9999" "and says which"

# ---- regrade (history kept) -------------------------------------------
out=$(S regrade "$ID_BETO"); is "$?" 0 "regrade ID"
like "$out" "1 attempt queued" "regrade says so"
is "$(sql "$I" "SELECT state FROM attempts WHERE id = $ID_BETO")" QUEUED "the attempt is queued again"
ok "sercom-runner --once" runner
is "$(sql "$I" "SELECT state || ' ' || verdict || ' ' || grading FROM attempts WHERE id = $ID_BETO")" "DONE TESTS_FAILED 2" "regraded: grading 2"
is "$(sql "$I" "SELECT count(DISTINCT grading) FROM results WHERE attempt = $ID_BETO")" 2 "the results of grading 1 are kept"
like "$(sql "$I" "SELECT what || ' ' || verdict FROM history WHERE attempt = $ID_BETO")" "^regrade TESTS_FAILED$" "history has the old verdict"
is "$(replies)" 5 "the regrade was answered"
out=$(S regrade --exercise tp1); is "$?" 0 "regrade --exercise tp1"
like "$out" "4 attempts queued" "regrade --exercise counts the graded attempts"
ok "sercom-runner --once" runner
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE exercise = 'tp1' AND state = 'DONE'")" 4 "all graded again"
S regrade 9999 > /dev/null 2>&1; is "$?" 1 "regrade of a missing attempt exits 1"
S regrade > /dev/null 2>&1; is "$?" 64 "regrade without ID is a usage error"

# ---- resend, outbox ---------------------------------------------------
n=$(replies_to ana@example.edu)
out=$(S resend "$ID_ANA"); is "$?" 0 "resend ID"
is "$(replies_to ana@example.edu)" $((n + 1)) "resend delivered a new reply to the student"
like "$(grep -m1 '^In-Reply-To:' "$(newest_reply)")" "adm1.$$@test" "the resent reply is threaded to the submission"
S outbox > "$T/o.txt"; is "$?" 0 "outbox (list)"
ok "outbox list: aligned" aligned "$T/o.txt"
S outbox list --format csv > "$T/o.csv"; is "$(csv_rows "$T/o.csv")" "$(sql "$I" "SELECT count(*) FROM outbox")" "outbox list --format csv: one row per reply"
S outbox list --format json > "$T/o.json"; ok "outbox list --format json parses" test "$(json_len "$T/o.json")" -ge 1
# a transport failure: the maildir cannot be written (a file in the way)
mv "$I/replies" "$I/replies.away"; : > "$I/replies"
S resend "$ID_ANA" > /dev/null 2>&1
is "$(sql "$I" "SELECT count(*) FROM outbox WHERE state = 'PENDING' AND attempt = $ID_ANA AND recipients LIKE '%ana@example.edu%'")" 1 "a failed send stays PENDING"
npend=$(sql "$I" "SELECT count(*) FROM outbox WHERE state = 'PENDING'")
like "$(S outbox list)" "PENDING" "outbox list shows it"
out=$(S outbox flush 2>&1); is "$?" 1 "outbox flush with the transport still broken exits 1"
like "$out" "0 sent, $npend still waiting" "and says $npend still waiting"
rm "$I/replies"; mv "$I/replies.away" "$I/replies"
n=$(replies_to ana@example.edu)
out=$(S outbox flush); is "$?" 0 "outbox flush once repaired"
like "$out" "$npend sent, 0 still waiting" "outbox flush reports"
is "$(replies_to ana@example.edu)" $((n + 1)) "the waiting reply was delivered"
is "$(sql "$I" "SELECT count(*) FROM outbox WHERE state != 'SENT'")" 0 "every reply SENT"

# ---- override ---------------------------------------------------------
n=$(replies_to beto@example.edu)
out=$(S override "$ID_BETO" --verdict accepted --note "Case 2 expected output was wrong; accepted by staff.")
is "$?" 0 "override ID --verdict --note"
is "$(sql "$I" "SELECT verdict FROM attempts WHERE id = $ID_BETO")" ACCEPTED "the verdict is changed"
is "$(sql "$I" "SELECT what FROM history WHERE attempt = $ID_BETO ORDER BY rowid DESC LIMIT 1")" override "history records the override"
is "$(replies_to beto@example.edu)" $((n + 1)) "override mails the student"
r=$(ls -t $(grep -l "^To:.*beto@example.edu" "$I/replies/new"/*) | head -1)
like "$(grep -m1 '^To:' "$r")" "beto@example.edu" "to the student"
like "$(cat "$r")" "accepted by staff" "with the staff note"
like "$(grep -m1 '^Subject:' "$r")" "ACCEPTED" "and the new verdict"
S override "$ID_BETO" --verdict GREAT --note x > /dev/null 2>&1; is "$?" 64 "override with an unknown verdict is a usage error"
S override "$ID_BETO" --verdict ACCEPTED > /dev/null 2>&1; is "$?" 64 "override without --note is a usage error"

# ---- export grades ----------------------------------------------------
S export grades > "$T/g.csv"; is "$?" 0 "export grades (csv by default)"
is "$(head -1 "$T/g.csv" | tr -d '\r')" "id,name,email,tp1,total" "one column per exercise, and the total"
is "$(csv_rows "$T/g.csv")" 4 "one row per student"
is "$(python3 -c '
import csv, sys
print(" ".join(r["id"] + "=" + r["tp1"] for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))))' "$T/g.csv")" \
	"s001=15 s002=15 s003=0 s004=15" "the grades (the override to ACCEPTED gives every point)"
like "$(cat "$T/g.csv")" "Diego Díaz" "UTF-8 names survive"
S export grades --format text > "$T/g.txt"; is "$?" 0 "export grades --format text"
ok "export grades text: aligned (UTF-8 names)" aligned "$T/g.txt"
S export grades --format json > "$T/g.json"; is "$(json_len "$T/g.json")" 4 "export grades --format json"

# ---- stats ------------------------------------------------------------
S stats > "$T/st.txt"; is "$?" 0 "stats"
like "$(cat "$T/st.txt")" "tp1" "stats by exercise"
like "$(cat "$T/st.txt")" "queue length 0" "stats gives the queue length"
head -n "$(grep -c '  ' "$T/st.txt")" "$T/st.txt" > "$T/st.table"
ok "stats table aligned" aligned "$T/st.table"
S stats --format json > "$T/st.json"; ok "stats --format json parses" test "$(json_len "$T/st.json")" -ge 1
S stats --format csv > "$T/st.csv"; ok "stats --format csv parses" test "$(csv_rows "$T/st.csv")" -ge 1
mkdir -p "$T/prom"
out=$(S stats --prometheus "$T/prom/sercom.prom"); is "$?" 0 "stats --prometheus FILE"
ok "the textfile is written (no temp file left)" test -s "$T/prom/sercom.prom" -a ! -e "$T/prom/sercom.prom.tmp"
ok "it is valid textfile-collector format" python3 - "$T/prom/sercom.prom" <<'PY'
import re, sys
types = {}
ok = True
for l in open(sys.argv[1]):
    l = l.rstrip('\n')
    if l.startswith('# HELP ') or l.startswith('# TYPE '):
        p = l.split(' ', 3)
        if l.startswith('# TYPE '):
            types[p[2]] = p[3]
        continue
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.]+([eE][-+]?[0-9]+)?|NaN|[+-]Inf)$', l)
    if not m or m.group(1) not in types:
        print("# bad line: %r" % l); ok = False
sys.exit(0 if ok and 'sercom_queue_length' in types else 1)
PY
like "$(cat "$T/prom/sercom.prom")" 'sercom_attempts\{exercise="tp1",state="done"\} 4' "the prom file counts the done attempts"

# ---- import-maildir ---------------------------------------------------
nf=$(ls "$SERCOM_TOP/maildir-fixtures/submissions/new" "$SERCOM_TOP/maildir-fixtures/submissions/cur" 2>/dev/null | grep -vc ':$\|^$')
na=$(sql "$I" "SELECT count(*) FROM messages")
S import-maildir "$SERCOM_TOP/maildir-fixtures/submissions" > "$T/imp.out" 2>&1; rc=$?
is "$rc" 0 "import-maildir maildir-fixtures/submissions exits 0"
tail -1 "$T/imp.out" | sed 's/^/# /'
like "$(tail -1 "$T/imp.out")" "^imported: [0-9]+ queued, [0-9]+ rejected" "it reports the outcomes"
is "$(tail -1 "$T/imp.out" | grep -oE '[0-9]+' | awk '{ s += $1 } END { print s }')" "$nf" "every file of the Maildir has an outcome"
is "$(($(sql "$I" "SELECT count(*) FROM messages") - na))" "$nf" "one messages row per file"
# the expected outcome of each fixture the MDA takes without arguments
# (maildir-fixtures/expected.tsv; "a|b" means either)
if [ -f "$SERCOM_TOP/maildir-fixtures/expected.tsv" ]; then
	bad=$(awk -F'\t' 'NR == FNR { if (!/^#/ && $2 == "-") want[$1] = $3; next }
		{ f = $1; sub(/:$/, "", f); n = split(f, p, "/"); f = p[n]
		  if (f in want && $2 !~ "^(" want[f] ")$") printf "%s: %s (expected %s) ", f, $2, want[f] }' \
		"$SERCOM_TOP/maildir-fixtures/expected.tsv" FS=' ' "$T/imp.out")
	is "$bad" "" "each fixture's outcome as maildir-fixtures/expected.tsv says"
fi
out=$(S import-maildir "$SERCOM_TOP/maildir-fixtures/submissions" 2>&1)
like "$(echo "$out" | tail -1)" "^imported: 0 queued, 0 rejected, 0 ignored, 0 automatic, [1-9][0-9]* duplicate" "importing again: only duplicates"
# an mboxrd file (GMime's parser splits it): the second message's body has
# a line ">From the start", quoted in the mbox; each message is stored
# byte for byte as it was before it went into the mbox
mail "Ana <ana@example.edu>" tp1 "mbox1.$$@test" "$SUBS/correct/tp.c" > "$T/m1"
{ mail "Beto <beto@example.edu>" tp1 "mbox2.$$@test" "$SUBS/correct/tp.c"; printf 'From the start\n'; } > "$T/m2"
{ printf 'From ana@example.edu Sat Jan  1 00:00:00 2026\n'; cat "$T/m1"
  printf '\nFrom beto@example.edu Sat Jan  1 00:00:01 2026\n'; sed 's/^\(>*From \)/>\1/' "$T/m2"; } > "$T/sub.mbox"
chmod 600 "$T/sub.mbox"   # root's: opened before the import parses as the owner of var/
out=$(S import-maildir "$T/sub.mbox" 2>&1); is "$?" 0 "import-maildir of an mbox"
like "$(echo "$out" | tail -1)" "^imported: 2 queued" "both messages of the mbox queued"
stored() { tail -n +2 "$(grep -l "$1" "$I"/var/mail/cur/* | head -1)"; }
is "$(stored "mbox1.$$@test" | md5sum)" "$(printf '%s\n' "$(cat "$T/m1")" | md5sum)" "the first message stored as it was (the blank separator line dropped)"
is "$(stored "mbox2.$$@test" | md5sum)" "$(md5sum < "$T/m2")" "the second stored as it was, its >From unquoted"
printf 'not an mbox\n' > "$T/not.mbox"
out=$(S import-maildir "$T/not.mbox" 2>&1); is "$?" 1 "import-maildir of a file that is no mbox exits 1"
like "$out" "no message" "and says so"
S import-maildir "$T/nothing" > /dev/null 2>&1; is "$?" 1 "import-maildir of a missing path exits 1"

# ---- purge ------------------------------------------------------------
ok "sercom-runner --once (the imported ones)" runner
nat=$(sql "$I" "SELECT count(*) FROM attempts"); nres=$(sql "$I" "SELECT count(*) FROM results")
# ten days ago for the first five attempts
sql "$I" "UPDATE attempts SET finished = finished - 864000, queued = queued - 864000 WHERE id <= 5;
          UPDATE outbox SET sent = sent - 864000 WHERE attempt <= 5" 
old_files=$(sql "$I" "SELECT count(*) FROM outbox WHERE attempt <= 5 AND state = 'SENT'")
out=$(S purge --older-than 5); is "$?" 0 "purge --older-than 5"
like "$out" "purged the artifacts of 5 attempts" "purge counts the attempts"
ok "the old attempts' directories are gone" test ! -e "$I/var/attempts/1" -a ! -e "$I/var/attempts/5"
ok "the newer ones stay" test -d "$I/var/attempts/6"
is "$(sql "$I" "SELECT count(*) FROM attempts")" "$nat" "purge keeps the attempts rows"
is "$(sql "$I" "SELECT count(*) FROM results")" "$nres" "and the results rows"
gone=0
for f in $(sql "$I" "SELECT file FROM outbox WHERE attempt <= 5"); do [ -e "$f" ] || gone=$((gone + 1)); done
is "$gone" "$old_files" "the old sent replies' files are gone"
S export grades > "$T/g2.csv"
like "$(cat "$T/g2.csv")" "s002,Beto Barrios,beto@example.edu,15,15" "grades still exported after the purge"
S show 1 > /dev/null; is "$?" 0 "show of a purged attempt still works"
S purge > /dev/null 2>&1; is "$?" 64 "purge without --older-than is a usage error"

# ---- terminal controls (tests/hostile/escape_names.c) -------------------
# a program that names files with escape sequences and prints one: what
# show and attempts print carries no raw control byte (table.c)
mail "Ana Alumna <ana@example.edu>" "tp1 \033[2J" "esc.$$@test" "$SERCOM_TOP/tests/hostile/escape_names.c" |
	sed 's/name="escape_names.c"/name="tp.c"/; s/filename="escape_names.c"/filename="tp.c"/' > "$T/mesc"
"$SERCOM_BIN/sercom-deliver" -c "$C" < "$T/mesc"; is "$?" 0 "sercom-deliver stores the escape-names submission"
ok "sercom-runner --once (escape names)" runner
ID_ESC=$(sql "$I" "SELECT a.id FROM attempts a JOIN messages m ON m.id = a.message WHERE m.message_id = 'esc.$$@test'")
ok "the runner recorded the escape file names" \
	test "$(sql "$I" "SELECT count(*) FROM results WHERE attempt = '$ID_ESC' AND instr(note, char(27)) > 0")" -gt 0
S show "$ID_ESC" > "$T/show-esc.txt" 2>&1; is "$?" 0 "show of the escape-names attempt"
S attempts --student s001 > "$T/att-esc.txt" 2>&1
S attempts --student s001 --format csv > "$T/att-esc.csv" 2>&1
for f in show-esc.txt att-esc.txt att-esc.csv; do
	is "$(LC_ALL=C tr -d '\t\n' < "$T/$f" | LC_ALL=C tr -d '\r' | LC_ALL=C tr -d ' -~\200-\377' | wc -c)" 0 "$f: no control byte but tab, newline and CSV's CR"
done
like "$(cat "$T/show-esc.txt")" 'unexpected file \\x1b\[2J\\x1b\[1;31mHACKED' "show names the file, escaped"
like "$(cat "$T/show-esc.txt")" 'bell\\x07\\rspoof' "a lone CR and a bell are escaped"
like "$(cat "$T/show-esc.txt")" 'csi\\u009b2J' "a C1 control is escaped"
ok "CSV keeps its CRLF line ends" grep -q $'\r$' "$T/att-esc.csv"

done_testing
