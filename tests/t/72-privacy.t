#!/usr/bin/env bash
# Issue 16, Shows: the instance is private by default. An instance set up
# as README "Installing for a real course" says (the example exercises
# copied with cp -r, `sercom init`, a submission delivered and graded),
# then another user of the machine (nobody) tries what a student with a
# shell account tried: `sercom show`, `sercom export grades`, `cat` of a
# submission and of an exercise's tests. Each gets "Permission denied".
# The instance also has no templates/ of its own: the built-in ones answer.
. "$(dirname "$0")/lib.sh"

for p in sercom sercom-deliver sercom-runner; do
	[ -x "$SERCOM_BIN/$p" ] || skip_all "$SERCOM_BIN/$p not built"
done
[ "$(id -u)" = 0 ] || skip_all "needs root (a second user, the runner's sandbox)"
command -v setpriv >/dev/null || skip_all "setpriv missing"
command -v useradd >/dev/null || skip_all "useradd missing"
tmpdir
export SERCOM_UID_BASE=${SERCOM_UID_BASE:-$((64000 + ($$ % 250) * 4))}
# the course's owner: a user of its own (the instance must not be nobody's,
# nobody is the outsider here)
OWNER=sx$$p
useradd -M -d /nonexistent -s /usr/sbin/nologin "$OWNER" || skip_all "useradd failed"
trap 'userdel "$OWNER" 2>/dev/null; rm -rf "$T"' EXIT
# everyone may reach the instance's directory: what protects it is var/
# and the exercises' own modes, not a private parent
chmod 755 "$T"
I=$T/i
C=$I/sercom.conf
mkdir -p "$I"
(umask 022 && cp -r "$SERCOM_TOP/conf/exercises" "$I/exercises")
cat > "$C" <<CONF
[general]
var = var
exercises = exercises
language = en

[mail]
from = Course Grader <tp@example.edu>
admin = staff@example.edu
prefix = algo1
transport = maildir:replies

[sandbox]
uid_base = $SERCOM_UID_BASE
CONF
chmod 644 "$C"
printf 'id,name,email\ns001,Ana Alumna,ana@example.edu\n' > "$I/roster.csv"
S() { "$SERCOM_BIN/sercom" -c "$C" "$@"; }
# as nobody, with no group of the instance
outsider() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

S init > "$T/init.out" 2> "$T/init.err"
ok "init: exit 0" test $? = 0
like "$(cat "$T/init.err")" "exercises/.* can be read by every user" "init warns that the copied exercises are world-readable"
is "$(stat -c %a "$I/var")" 750 "init: var/ is 0750"
# what the warning asks (the owner's group must still read them: the
# ingester runs as the owner of var/)
chown -R "$OWNER:" "$I/var"
chgrp -R "$OWNER" "$I/exercises" && chmod -R o-rwx,g+rX "$I/exercises"
S init > /dev/null 2> "$T/init2.err"
is "$(grep -c 'every user' "$T/init2.err")" 0 "init: no warning once the exercises are private"
S roster import "$I/roster.csv" > /dev/null

# a submission, delivered as the MTA would and graded
b="=_b$RANDOM"
{
	printf 'From: ana@example.edu\nTo: tp+tp1@example.edu\nSubject: tp1\nMessage-ID: <p1@example.edu>\n'
	printf 'Date: %s\nMIME-Version: 1.0\n' "$(LC_ALL=C date -R)"
	printf 'Content-Type: multipart/mixed; boundary="%s"\n\n--%s\nContent-Type: text/plain\n\nhere\n' "$b" "$b"
	printf -- '--%s\nContent-Type: text/x-csrc; name="tp.c"\nContent-Disposition: attachment; filename="tp.c"\n' "$b"
	printf 'Content-Transfer-Encoding: base64\n\n'
	base64 "$SERCOM_TOP/tests/t/submissions/tp1/correct/tp.c"
	printf -- '--%s--\n' "$b"
} | setpriv --reuid="$OWNER" --regid="$OWNER" --init-groups -- "$SERCOM_BIN/sercom-deliver" -c "$C" -e tp1
ok "delivered as the owner" test $? = 0
"$SERCOM_BIN/sercom-runner" -c "$C" --once > "$T/runner.log" 2>&1
ok "graded and answered (built-in templates)" test "$(sqlite3 -batch -noheader "$I/var/sercom.db" \
	"SELECT state || ' ' || answered FROM attempts WHERE id = 1")" = "DONE 1"
ok "a reply was written" test -n "$(ls "$I/replies/new" 2>/dev/null)"

SUB=$(ls -d "$I"/var/attempts/1/submitted/tp.c)
TEST=$(ls "$I"/exercises/tp1/tests/07-private-many/* | head -1)
ok "the files exist for the owner" test -f "$SUB" -a -f "$TEST"

err=$(outsider "$SERCOM_BIN/sercom" -c "$C" show 1 2>&1 >/dev/null); rc=$?
ok "outsider: sercom show fails" test $rc != 0
like "$err" "Permission denied" "outsider: sercom show says Permission denied"
err=$(outsider "$SERCOM_BIN/sercom" -c "$C" show s001 tp1 1 2>&1 >/dev/null)
like "$err" "Permission denied" "outsider: sercom show STUDENT EXERCISE N says Permission denied"
err=$(outsider "$SERCOM_BIN/sercom" -c "$C" export grades 2>&1 >/dev/null); rc=$?
ok "outsider: sercom export fails" test $rc != 0
like "$err" "Permission denied" "outsider: sercom export grades says Permission denied"
err=$(outsider cat "$SUB" 2>&1 >/dev/null)
like "$err" "Permission denied" "outsider: cat of a submission: Permission denied"
err=$(outsider cat "$TEST" 2>&1 >/dev/null)
like "$err" "Permission denied" "outsider: cat of an exercise's private test: Permission denied"

# nothing the programs made is for others, whoever made it
others=$(find "$I/var" "$I/replies" -perm /o=rwx ! -type p ! -type l | head -3)
is "$others" "" "no file or directory of var/ or the replies is open to others (the FIFO aside)"
# the owner still reads it all
out=$(setpriv --reuid="$OWNER" --regid="$OWNER" --init-groups -- "$SERCOM_BIN/sercom" -c "$C" show s001 tp1 1)
like "$out" "state +DONE" "the owner: sercom show s001 tp1 1 works"

done_testing
