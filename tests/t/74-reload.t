#!/usr/bin/env bash
# Issue 16: the runner rereads sercom.conf on SIGHUP (the unit's
# ExecReload) and says so in its log; a key changed then takes effect for
# the next reply ([mail] prefix, in its Subject). A config that no longer
# loads is refused and the old one kept. The runner's log goes to stderr
# when there is no syslog socket (README "Where the log is"). Waits on
# conditions only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-instance.sh"
[ -x "$SERCOM_BIN/sercom-runner" ] || skip_all "sercom-runner not built"
[ "$(id -u)" = 0 ] || skip_all "the runner's sandbox needs root"
command -v sqlite3 >/dev/null || skip_all "sqlite3 missing"
tmpdir
export SERCOM_UID_BASE=${SERCOM_UID_BASE:-$((64000 + ($$ % 250) * 4))}
# no syslog here, whatever the machine has: the log must reach stderr
export SERCOM_SYSLOG_SOCKET=$T/no-such-socket
I=$T/i
runner_instance "$I" || skip_all "cannot make an instance"
SUB=$SERCOM_TOP/tests/t/submissions/tp1/correct

# without -v: only the missing syslog socket sends the log to stderr
"$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" -j 1 2> "$T/log" &
rpid=$!
trap 'kill $rpid 2>/dev/null; wait $rpid 2>/dev/null; rm -rf "$T"' EXIT
started() { grep -q "started" "$T/log"; }
ok "no syslog socket: the runner's log is on stderr" wait_for 30 started

answered() { [ "$(sql "$I" "SELECT answered FROM attempts WHERE id = $1")" = 1 ]; }

id1=$(queue_attempt "$I" tp1 "$SUB")
poke "$I"
ok "first attempt answered" wait_for 60 answered "$id1"
# answered is the composed reply; the sender writes the file right after
# (the glob is read again at each look)
has_subject() { grep -qs "^Subject: \\[$1\\]" "$I"/${2:-replies}/new/*; }
ok "with the prefix at start (algo1)" wait_for 30 has_subject algo1

# the prefix reaches the workers, which compose; the transport, the
# sender process, which sends
sed -i -e 's/^prefix = .*/prefix = reloaded1/' -e 's|^transport = .*|transport = maildir:replies2|' "$I/sercom.conf"
kill -HUP $rpid
reloaded() { grep -q "SIGHUP: reloaded $I/sercom.conf" "$T/log"; }
ok "SIGHUP: the log says the configuration was reloaded" wait_for 30 reloaded
id2=$(queue_attempt "$I" tp1 "$SUB")
poke "$I"
ok "second attempt answered" wait_for 60 answered "$id2"
ok "the new prefix and transport took effect" wait_for 30 has_subject reloaded1 replies2

# a broken file: refused, the old configuration kept, the runner alive
cp "$I/sercom.conf" "$T/good.conf"
printf '[general\n' >> "$I/sercom.conf"
kill -HUP $rpid
refused() { grep -q "SIGHUP: .*keeping the configuration in use" "$T/log"; }
ok "SIGHUP with a broken file: refused, said in the log" wait_for 30 refused
ok "the runner is still running" kill -0 $rpid
cp "$T/good.conf" "$I/sercom.conf"

# a runner refuses to start without its templates: one clear error
sed -i 's/^language = .*/language = xx/' "$T/good.conf"
"$SERCOM_BIN/sercom-runner" -c "$T/good.conf" --once 2> "$T/bad.err"
rc=$?
ok "start without the templates of the language: non-zero exit ($rc)" test $rc != 0
like "$(cat "$T/bad.err")" "no templates for language 'xx'" "start without templates: the error names them"

kill -TERM $rpid
gone() { ! kill -0 $rpid 2>/dev/null; }
ok "SIGTERM stops it" wait_for 60 gone
done_testing
