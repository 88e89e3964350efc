#!/usr/bin/env bash
# Issue 6, Shows: `make demo` in a clean copy of the checkout (no build/,
# bin/ or var/): it builds, creates var/demo, delivers the demo Maildir
# through sercom-deliver, grades with sercom-runner --once and prints the
# attempts table and where the replies are. We check that output against
# the instance it left behind.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "the runner's sandbox needs root"
command -v make >/dev/null || skip_all "make missing"
command -v sqlite3 >/dev/null || skip_all "sqlite3 missing"
tmpdir
# the demo's ingester (nobody, see tests/demo.sh) reaches var/ through it
chmod 711 "$T"
D=$T/checkout
mkdir -p "$D"
# the files of the checkout, tracked or new, without what .gitignore
# ignores (build/, bin/, var/); without git, a copy minus those
if [ -d "$SERCOM_TOP/.git" ] && command -v git >/dev/null && command -v cpio >/dev/null; then
	(cd "$SERCOM_TOP" && git ls-files -co --exclude-standard -z | cpio -0pdm --quiet "$D" 2>/dev/null)
else
	tar -C "$SERCOM_TOP" --exclude=./build --exclude=./build-san --exclude=./bin --exclude=./var \
		--exclude=./.git -cf - . | tar -C "$D" -xf -
fi
ok "the copy is clean (no build/, bin/, var/)" test ! -e "$D/bin" -a ! -e "$D/build" -a ! -e "$D/var"
ok "it has the demo Maildir" test -d "$D/maildir-fixtures/demo/new"

# a uid range of its own for the demo's sandbox: other tests may grade now
sed -i "s/^uid_base = 60000\$/uid_base = $((64500 + ($$ % 100) * 4))/" "$D/tests/demo.sh"

start=$(date +%s)
# the demo of the copy, with the copy's programs: not the SERCOM_BIN of
# `make check`, nor its make jobserver, nor SANITIZE=1 (a plain demo)
clean_env="env -u SERCOM_BIN -u SERCOM_TOP -u SANITIZE -u MAKEFLAGS -u MFLAGS -u MAKELEVEL"
(cd "$D" && $clean_env make -j2 demo) > "$T/demo.out" 2> "$T/demo.err"; rc=$?
echo "# make demo: exit $rc in $(($(date +%s) - start)) s"
is "$rc" 0 "make demo exits 0"
[ $rc = 0 ] || tail -20 "$T/demo.err" | sed 's/^/# /'
out=$(cat "$T/demo.out")
db=$D/var/demo/var/sercom.db
ok "it built the programs in the copy" test -x "$D/bin/sercom" -a -x "$D/bin/sercom-deliver" -a -x "$D/bin/sercom-runner"
ok "it made the instance under var/demo" test -f "$D/var/demo/sercom.conf" -a -f "$db"
q() { sqlite3 -batch -noheader "$db" "$1"; }

nmail=$(ls "$D/maildir-fixtures/demo/new" | wc -l)
like "$out" "delivering $nmail mails through sercom-deliver" "it says how many mails it delivers"
is "$(grep -cE '^  [^ ].* exit 0$' "$T/demo.out")" "$nmail" "every demo mail: sercom-deliver exit 0"
is "$(q "SELECT count(*) FROM messages")" "$nmail" "one messages row per demo mail"

# the attempts table: between "== attempts" and the next blank line
awk '/^== attempts/ { on = 1; next } on && /^$/ { exit } on' "$T/demo.out" > "$T/table"
natt=$(q "SELECT count(*) FROM attempts")
is "$(($(wc -l < "$T/table") - 1))" "$natt" "the attempts table has a row per attempt"
like "$(head -1 "$T/table")" "^id +student +email +exercise .*state +verdict" "with a header"
ok "aligned" python3 - "$T/table" <<'PY'
import re, sys
lines = [l.rstrip('\n') for l in open(sys.argv[1], encoding='utf-8') if l.strip()]
starts = [m.start() for m in re.finditer(r'(?<=  )\S', lines[0])]
sys.exit(0 if starts and all(len(l) <= p or l[p - 1] == ' ' for l in lines[1:] for p in starts) else 1)
PY
# each row of the table agrees with the database
bad=0
while IFS='|' read -r id state verdict; do
	verdict=$(printf '%s' "$verdict" | sed 's/[()]/\\&/g')
	grep -qE "^$id +.* $state +$verdict( |\$)" "$T/table" || { echo "# row $id: no '$state $verdict' in the table"; bad=1; }
done < <(q "SELECT id, state, coalesce(verdict, '') || CASE WHEN reason IS NOT NULL THEN '(' || reason || ')' ELSE '' END FROM attempts")
is "$bad" 0 "the table shows each attempt's state and verdict"
# and each graded attempt's score (tp1: 10 public points, 5 private) and grade
bad=0
while IFS='|' read -r id sc psc; do
	grep -qE "^$id +.* $sc/10 \+$psc/5 private +[0-9.]+ " "$T/table" || { echo "# row $id: no score $sc/10 +$psc/5"; bad=1; }
done < <(q "SELECT id, CAST(score AS INTEGER), CAST(private_score AS INTEGER) FROM attempts WHERE state = 'DONE' AND score IS NOT NULL")
is "$bad" 0 "the table shows each graded attempt's score"
ok "some attempt is graded with a score" test "$(q "SELECT count(*) FROM attempts WHERE score IS NOT NULL")" -gt 0
like "$out" "== grades" "it prints the grades"
like "$(awk '/^== grades/ { getline; print; exit }' "$T/demo.out")" "^id +name +email +tp1 +total" "one column per exercise and a total"

# the demo students' verdicts (maildir-fixtures/make_fixtures.py, demo_mails)
v() { q "SELECT a.state || ' ' || coalesce(a.verdict, '') || coalesce(' ' || a.reason, '') FROM attempts a JOIN messages m ON m.id = a.message WHERE m.message_id = '$1'"; }
# (superseded is fine: the demo delivers everything before grading)
like "$(v demo01@example.edu)" "^(DONE ACCEPTED|SUPERSEDED )$" "ana's correct tp.c is ACCEPTED"
like "$(v demo06@otro.example)" "^REJECTED REJECTED unknown_sender$" "the unknown sender is REJECTED (unknown_sender)"
like "$(v demo08@example.edu)" "^REJECTED REJECTED no_files$" "the mail without attachment is REJECTED (no_files)"
like "$(v demo05@example.edu)" "^DONE (ACCEPTED|TESTS_FAILED|BUILD_FAILED)$" "beto's zip is graded"
like "$(v demo07@example.edu)" "^DONE (ACCEPTED|TESTS_FAILED|BUILD_FAILED)$" "carla's modular submission is graded"
is "$(q "SELECT group_concat(m.message_id) FROM attempts a JOIN messages m ON m.id = a.message WHERE a.reason = 'unknown_sender'")" \
	"demo06@otro.example" "only the stranger is an unknown sender (ana's second address is in the roster)"
is "$(q "SELECT count(*) FROM attempts WHERE state IN ('QUEUED', 'RUNNING', 'ERROR') OR verdict = 'INTERNAL_ERROR'")" 0 \
	"nothing left queued, nothing in error"

# the replies
replies=$D/var/demo/replies
nrep=$(find "$replies/new" -type f 2>/dev/null | wc -l)
like "$out" "== replies: $nrep messages in the Maildir $replies" "it says where the replies are"
is "$nrep" "$(q "SELECT count(*) FROM outbox WHERE state = 'SENT'")" "one file per sent reply"
# attempts.quiet: kept and never answered (a stranger: no backscatter)
is "$nrep" "$(q "SELECT count(*) FROM attempts WHERE answered = 1 AND quiet IS NULL")" "one reply per answered attempt"
is "$(q "SELECT count(*) FROM attempts WHERE reason = 'unknown_sender' AND quiet IS NULL")" 0 \
	"the unknown sender is not answered"
ok "at least one reply" test "$nrep" -ge 1
bad=0
for r in "$replies"/new/*; do
	[ -f "$r" ] || continue
	grep -qE '^In-Reply-To: <demo0[0-9]@' "$r" || { echo "# not threaded: $r"; bad=1; }
	grep -q '^Reply-To: .*staff@example.edu' "$r" || { echo "# no Reply-To staff: $r"; bad=1; }
done
is "$bad" 0 "every reply is threaded to its demo mail, with Reply-To staff"
is "$(grep -cE '^  [^ ]+@[^ ]+  \[demo\] ' "$T/demo.out")" "$nrep" "the output lists every reply (To and Subject)"
like "$out" "show 1" "it tells how to look at an attempt"
like "$out" "$D/bin/sercom -c $D/var/demo/sercom.conf show 1" "the hint names the copy's programs"
"$D/bin/sercom" -c "$D/var/demo/sercom.conf" show 1 > "$T/show1" 2>&1
is "$?" 0 "its hint works: sercom show 1"

# again: the demo starts over (same attempts), without rebuilding
summary="SELECT group_concat(m.message_id || '=' || a.state || '/' || coalesce(a.verdict, ''), ' ') FROM (SELECT * FROM attempts ORDER BY id) a JOIN messages m ON m.id = a.message"
first=$(q "$summary")
(cd "$D" && $clean_env make demo) > "$T/demo2.out" 2>&1; rc=$?
is "$rc" 0 "make demo a second time"
is "$(q "$summary")" "$first" "same attempts and verdicts the second time"
done_testing
