# lib.sh: shared helpers of the TAP scripts (sourced). Like mblaze's t/lib.sh.
# Env from the Makefile: SERCOM_BIN (built programs), SERCOM_TOP (checkout).
: "${SERCOM_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${SERCOM_BIN:=$SERCOM_TOP/bin}"
export SERCOM_TOP SERCOM_BIN
PATH="$SERCOM_BIN:$PATH"

_tap_n=0
_tap_fail=0
plan() { echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
# ok CMD...: passes when CMD exits 0; the description is the command line,
# or the text after `--desc`. Usage: ok "desc" cmd args...
ok() {
	local desc=$1; shift
	_tap_n=$((_tap_n + 1))
	if "$@"; then echo "ok $_tap_n - $desc"; else echo "not ok $_tap_n - $desc"; _tap_fail=$((_tap_fail + 1)); fi
}
# is GOT EXPECTED DESC
is() {
	_tap_n=$((_tap_n + 1))
	if [ "$1" = "$2" ]; then echo "ok $_tap_n - $3"
	else echo "not ok $_tap_n - $3"; echo "#   got:      '$1'"; echo "#   expected: '$2'"; _tap_fail=$((_tap_fail + 1)); fi
}
# like GOT REGEX DESC
like() {
	_tap_n=$((_tap_n + 1))
	if printf '%s' "$1" | grep -Eq -- "$2"; then echo "ok $_tap_n - $3"
	else echo "not ok $_tap_n - $3"; echo "#   got: '$(printf '%s' "$1" | head -c 400)'"; echo "#   expected to match: '$2'"; _tap_fail=$((_tap_fail + 1)); fi
}
# skip REASON: one test skipped for a thing the machine cannot do (not
# root, no cgroup v1), never for a failure of our programs; loud in the
# TAP output and in prove's summary
skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n # SKIP $*"
	echo "# SKIPPED: $*" >&2
}
# wait_for SECONDS CMD...: true as soon as CMD succeeds; false when it has
# not by the deadline (a hang guard, never a timing: CMD is the condition).
# The one poll of the test libraries: CMD is asked again every 50 ms until
# it holds or the clock passes the deadline (a loaded machine only waits
# longer, never fails sooner).
wait_for() {
	local end=$(( $(date +%s) + $1 )); shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.05
	done
}
done_testing() { echo "1..$_tap_n"; [ $_tap_fail = 0 ]; }

# A temp dir removed at exit.
tmpdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/sercom-test.XXXXXX")
	trap 'rm -rf "$T"' EXIT
}

# make_instance DIR [extra conf lines...]: an instance with the example
# exercises of the checkout, a roster, replies to a local Maildir.
make_instance() {
	local d=$1; shift
	mkdir -p "$d"
	cat > "$d/sercom.conf" <<CONF
[general]
var = var
exercises = ${SERCOM_EXERCISES:-$SERCOM_TOP/conf/exercises}
templates = $SERCOM_TOP/conf/templates
language = ${SERCOM_LANGUAGE:-en}
workers = 2

[mail]
from = Course Grader <grader@example.edu>
admin = staff@example.edu
prefix = algo1
transport = maildir:replies
unknown_sender = reject

[sandbox]
uid_base = ${SERCOM_UID_BASE:-60000}
CONF
	for l in "$@"; do printf '%s\n' "$l" >> "$d/sercom.conf"; done
	cat > "$d/roster.csv" <<CSV
id,name,email,email
s001,Ana Alumna,ana@example.edu,ana.alumna@gmail.com
s002,Beto Barrios,beto@example.edu,
s003,Carla Núñez,carla@example.edu,
CSV
	# the exercises of a test are the checkout's, readable by all: init's
	# warning about it (README "Installing for a real course") is expected
	"$SERCOM_BIN/sercom" -c "$d/sercom.conf" init 2>&1 >/dev/null | grep -v 'can be read by every user' >&2
	[ "${PIPESTATUS[0]}" = 0 ] &&
	"$SERCOM_BIN/sercom" -c "$d/sercom.conf" roster import "$d/roster.csv" >/dev/null || return 1
	instance_owner "$d"
}

# instance_owner DIR [USER]: run as root, gives the instance's var/ to a
# user (nobody), as a deployment gives it to the user the MTA delivers
# as: the ingester, which parses mail, never runs as root and refuses a
# var/ owned by root (src/intake.c). The dirs above it must let it in.
instance_owner() {
	[ "$(id -u)" = 0 ] || return 0
	chmod o+x "$(dirname "$1")"
	chown -R "${2:-nobody}:" "$1/var"
}

# sql INSTANCE_DIR QUERY: runs a query on the instance's database.
sql() { sqlite3 -batch -noheader "$1/var/sercom.db" "$2"; }
