#!/usr/bin/env bash
# Issue 16, Shows: `sercom doctor`. A healthy instance behind the real
# postfix pipe(8) route (lib-mta.sh) with a runner and a syslog socket
# gives exit 0; then each problem is made on purpose, named by the doctor
# with its fix, exit 1, and undone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mta.sh"
mta_skip_unless_ready
command -v python3 >/dev/null || skip_all "python3 missing"
export SERCOM_UID_BASE=${SERCOM_UID_BASE:-$((64000 + ($$ % 250) * 4))}
mta_start pipe || { echo "1..0 # SKIP postfix did not start"; exit 0; }
C=$INST/sercom.conf
# postconf, postmap of our private postfix (the variable every postfix
# command honours)
export MAIL_CONFIG=$PF/etc
# a syslog socket of our own: the machine may have none
export SERCOM_SYSLOG_SOCKET=$T/log.sock
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])' "$SERCOM_SYSLOG_SOCKET"
unset JOURNAL_STREAM INVOCATION_ID
chmod -R o-rwx "$INST/exercises"

"$SERCOM_BIN/sercom-runner" -c "$C" -j 1 2> "$T/runner.err" &
rpid=$!
trap 'kill $rpid 2>/dev/null; wait $rpid 2>/dev/null; mta_cleanup' EXIT
fifo_open() { [ -p "$INST/var/runner.fifo" ] && grep -q started "$T/runner.err"; }
wait_for 30 fifo_open

D() { "$SERCOM_BIN/sercom" -c "$C" doctor > "$T/doc.out" 2>&1; }
# healthy PATTERN-OF-WHAT-WAS-MADE: exit 0 again once undone
healthy() {
	D; local rc=$?
	is "$rc" 0 "$1"
	[ $rc = 0 ] || sed 's/^/# /' "$T/doc.out"
}
# named DESC REGEX: exit 1 and the problem named, with a fix line
named() {
	D; local rc=$?
	is "$rc" 1 "$1: exit 1"
	like "$(grep -A1 '^problem:' "$T/doc.out")" "$2" "$1: named"
	ok "$1: a fix is given" grep -q '^    fix: ' "$T/doc.out"
}

healthy "a healthy instance: exit 0"
like "$(cat "$T/doc.out")" "reaches sercom-deliver: pipe\(8\) service sercom .* as user $COURSE" "the route found, with its user"

cp "$C" "$T/conf.bak"
printf '[general\n' >> "$C"
named "a broken config" "config does not load: .*sercom.conf"
cp "$T/conf.bak" "$C"

sed -i 's/^language = .*/language = xx/' "$C"
named "a missing language" "no templates for language 'xx'"
cp "$T/conf.bak" "$C"

mkdir "$INST/exercises/empty"
cp "$INST/exercises/tp1/exercise.conf" "$INST/exercises/empty/"
chmod -R o-rwx "$INST/exercises/empty"
named "an exercise without cases" "exercise empty"
rm -rf "$INST/exercises/empty"

chmod o+rx "$INST/var"
named "a world-readable var/" "var.* can be read by every user"
chmod o-rx "$INST/var"

chmod o+rx "$INST/exercises" "$INST/exercises/tp1" "$INST/exercises/tp1/tests"
named "world-readable exercises" "exercises.* can be read by every user"
chmod -R o-rwx "$INST/exercises"

chown -R root: "$INST/var"
named "var/ owned by root" "belongs to root"
chown -R "$COURSE:" "$INST/var"

_mta_adduser "${U}x" || true
chown -R "${U}x:" "$INST/var"
named "var/ owned by another user than the MTA's" "runs sercom-deliver as $COURSE, but .* belongs to ${U}x"
chown -R "$COURSE:" "$INST/var"

: > "$PF/etc/transport" && postmap "$PF/etc/transport"
named "no MTA route" "postfix does not deliver $COURSE@$DOM"
printf '%s@%s sercom:\n' "$COURSE" "$DOM" > "$PF/etc/transport" && postmap "$PF/etc/transport"

SERCOM_SYSLOG_SOCKET=$T/none named "no syslog socket, not under systemd" "no syslog socket"

healthy "everything undone: exit 0 again"

kill $rpid; wait $rpid 2>/dev/null
named "no runner" "no runner is running"

done_testing
