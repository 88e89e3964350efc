#!/usr/bin/env bash
# make demo: a local instance under var/demo with the example exercise and a
# roster; the demo submissions (maildir-fixtures/demo) delivered through
# sercom-deliver; sercom-runner --once grades them and writes the replies to
# a local Maildir. Everything stays under var/demo.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${SERCOM_BIN:-$top/bin}
demo=$top/var/demo
rm -rf "$demo"
mkdir -p "$demo"
cat > "$demo/sercom.conf" <<CONF
# the demo instance: SQLite and spool under var/demo, replies to a Maildir
[general]
var = var
exercises = $top/conf/exercises
templates = $top/conf/templates
language = en
workers = 2

[mail]
from = Demo Grader <grader@example.edu>
admin = staff@example.edu
prefix = demo
transport = maildir:replies
unknown_sender = reject

[sandbox]
uid_base = 60000
CONF
cat > "$demo/roster.csv" <<CSV
id,name,email,email
s001,Ana Alumna,ana@example.edu,ana.alumna@gmail.com
s002,Beto Barrios,beto@example.edu
s003,Carla Núñez,carla@example.edu
s004,Diego Díaz,diego@example.edu
CSV
conf=$demo/sercom.conf
echo "== instance"
"$bin/sercom" -c "$conf" init
"$bin/sercom" -c "$conf" roster import "$demo/roster.csv"
# the ingester parses the mail and never runs as root: run as root, the
# demo gives var/ to nobody, as a deployment gives it to the MTA's user
if [ "$(id -u)" = 0 ]; then
	chown -R nobody: "$demo/var"
	setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$demo/var" ||
		echo "demo: nobody cannot reach $demo/var: the mails will wait in var/mail/new" >&2
fi
"$bin/sercom" -c "$conf" exercise list
echo
# one mail at a time, graded before the next: a newer submission of the
# same student supersedes a queued one, and the demo should show every verdict
echo "== delivering $(ls "$top/maildir-fixtures/demo/new" | wc -l) mails through sercom-deliver, grading each with sercom-runner --once"
for m in "$top"/maildir-fixtures/demo/new/*; do
	rc=0
	"$bin/sercom-deliver" -c "$conf" < "$m" || rc=$?
	"$bin/sercom-runner" -c "$conf" --once 2>/dev/null
	printf '  %-48s deliver exit %s\n' "$(basename "$m")" "$rc"
done
echo
echo "== attempts (score: public points +private points; grade: both, less any late penalty)"
"$bin/sercom" -c "$conf" attempts
echo
echo "== grades (the best attempt of each student: sercom export grades)"
"$bin/sercom" -c "$conf" export grades --format text
echo
replies=$demo/replies
echo "== replies: $(ls "$replies/new" 2>/dev/null | wc -l) messages in the Maildir $replies"
for r in "$replies"/new/*; do
	[ -f "$r" ] || continue
	printf '  %s  %s\n' "$(grep -m1 '^To:' "$r" | cut -c5-)" "$(grep -m1 '^Subject:' "$r" | cut -c10-)"
done
echo
echo "Read one with: mutt -f $replies   (or any Maildir reader)"
echo "Everything about an attempt: $bin/sercom -c $conf show 1"
