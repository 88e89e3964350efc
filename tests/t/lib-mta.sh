# lib-mta.sh: a private postfix instance (tests/t/lib-postfix.sh) extended
# with local(8) delivery for a course account, and a sercom instance fed by
# one of the routes of filters/ (the files of filters/ are used as shipped,
# with only their paths rewritten). Source after lib.sh.
#
# Nothing outside the temp dir is touched except /etc/passwd and /etc/group
# (one test user sxPIDc, the course account, removed at exit): postfix runs
# with its own config_directory, queue_directory and data_directory under
# $T, listens on 127.0.0.1 only, and is stopped at exit. Students and staff
# are virtual(8) mailboxes of lib-postfix.sh (ana@, beto@, staff@test.example,
# Maildirs under $PF/vmail); the course account is local: sercom.test.
#
# After mta_start ROUTE:
#   T            the temp dir (mode 755: the course user traverses it)
#   PF           lib-postfix.sh's instance dir (sendmail -C "$PF/etc")
#   INST         the sercom instance (owned by $COURSE; sercom.conf, var/)
#   COURSE       local user owning the instance and receiving submissions
#   STU1 STU2    ana, beto (roster s001, s002); STAFF the [mail] admin
#   ROBOT        the address a student mails tp1 submissions to
#   DOM          the robot's (local) domain, VDOM the students' domain

. "$(dirname "${BASH_SOURCE[0]}")/lib-postfix.sh"
DOM=sercom.test
VDOM=test.example

mta_skip_unless_ready() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (a local user, postfix)"
	PATH="$PATH:/usr/sbin:/sbin"
	pf_available || skip_all "postfix not installed"
	local p
	for p in postqueue postalias postmap postconf useradd userdel perl; do
		command -v "$p" >/dev/null 2>&1 || skip_all "$p not installed"
	done
	for p in sercom sercom-deliver sercom-runner; do
		[ -x "$SERCOM_BIN/$p" ] || skip_all "$SERCOM_BIN/$p not built"
	done
}

# mta_ok DESC CMD...: ok, and the end of postfix's log when it fails
mta_ok() {
	local before=$_tap_fail
	ok "$@"
	[ "$_tap_fail" = "$before" ] || mta_show_log
}

# mta_diag MSG...: TAP comments
mta_diag() { printf '# %s\n' "$@"; }

# mta_wait SECONDS CMD...: CMD true within SECONDS (lib.sh's wait_for:
# a deadline of the clock, not a count of polls).
mta_wait() { wait_for "$@"; }

_mta_users=()
_mta_adduser() {
	local u=$1 home=$T/home/$1
	mkdir -p "$home"
	# a user of that name left by a killed run of ours (same pid): remove
	# it; anyone else's: refuse
	if id "$u" >/dev/null 2>&1; then
		case $(getent passwd "$u" | cut -d: -f6) in
		"${TMPDIR:-/tmp}"/sercom-mta.*/home/"$u") userdel "$u" || return 1 ;;
		*) echo "# user $u exists and is not a leftover of this test" >&2; return 1 ;;
		esac
	fi
	useradd -M -d "$home" -s /bin/sh "$u" || return 1
	_mta_users+=("$u")
	chown "$u:" "$home"
	chmod 755 "$home"
}

mta_cleanup() {
	local pid u
	[ -n "${MTA_KEEP:-}" ] && { echo "# kept $T (MTA_KEEP): stop with postfix -c $PF/etc stop; userdel ${_mta_users[*]}"; return; }
	# our master, by the pid it wrote; killed only if `postfix stop` did
	# not end it and the pid is still a postfix master (not a reused pid)
	pid=$(tr -d ' ' 2>/dev/null < "$T/pf/queue/pid/master.pid")
	[ -n "${PF:-}" ] && [ -f "$PF/etc/main.cf" ] && pf_stop
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
	   [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/lib/postfix/sbin/master ]; then
		kill -9 "$pid"
	fi
	for u in "${_mta_users[@]}"; do
		# a delivery agent still running as the user (killed by id, never by name)
		for pid in $(pgrep -u "$u" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		userdel "$u" >/dev/null 2>&1 || userdel -f "$u" >/dev/null 2>&1
	done
	[ -n "${T:-}" ] && rm -rf "$T"
}

# mta_start ROUTE: ROUTE is aliases | forward | pipe | procmail | maildrop.
mta_start() {
	local route=$1
	T=$(mktemp -d "${TMPDIR:-/tmp}/sercom-mta.XXXXXX")
	trap mta_cleanup EXIT
	# a killed test still stops its postfix and removes its user
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	chmod 755 "$T"
	U=sx$$
	COURSE=${U}c
	STU1=ana STU2=beto STAFF=staff
	_mta_adduser "$COURSE" || return 1

	# the program the delivery agents run as $COURSE: a copy, so a checkout
	# under a private home (/root in CI) does not matter
	mkdir -p "$T/bin"
	install -m 755 "$SERCOM_BIN/sercom-deliver" "$T/bin/"

	pf_setup "$T/pf" || return 1
	mta_instance || return 1

	# local(8) for the course account's domain, next to lib-postfix.sh's
	# virtual domain
	local E=$PF/etc
	postconf -c "$E" -e "mydestination = $DOM" "recipient_delimiter = +" "home_mailbox = Maildir/" \
		"alias_maps = hash:$E/aliases" "alias_database = hash:$E/aliases" \
		"transport_maps = hash:$E/transport" "mailbox_command_maps = hash:$E/mailbox_command" \
		"local_recipient_maps = proxy:unix:passwd.byname \$alias_maps" \
		"queue_run_delay = 300s" "minimal_backoff_time = 300s" "maximal_backoff_time = 600s" || return 1
	grep -q '^local[[:space:]]' "$E/master.cf" ||
		echo 'local     unix  -       n       n       -       -       local' >> "$E/master.cf"
	: > "$E/aliases"
	: > "$E/transport"
	: > "$E/mailbox_command"
	ROBOT=$COURSE+tp1@$DOM
	local home=$T/home/$COURSE
	case $route in
	aliases)
		sed -e "s|/usr/local/bin/sercom-deliver|$T/bin/sercom-deliver|" \
		    -e "s|/etc/sercom/sercom.conf|$INST/sercom.conf|" "$SERCOM_TOP/filters/aliases" > "$E/aliases"
		ROBOT=tp+tp1@$DOM
		;;
	forward)
		sed -e "s|/usr/local/bin/sercom-deliver|$T/bin/sercom-deliver|" \
		    -e "s|/home/course/sercom/sercom.conf|$INST/sercom.conf|" "$SERCOM_TOP/filters/dot-forward" > "$home/.forward"
		chown "$COURSE:" "$home/.forward"
		;;
	pipe)
		# the master.cf entry of filters/ (its service line and the
		# indented lines after it)
		awk '/^sercom[ \t]/ { on = 1; print; next } on && /^[ \t]/ { print; next } { on = 0 }' \
			"$SERCOM_TOP/filters/master.cf" |
			sed -e "s|user=sercom|user=$COURSE|" -e "s|/usr/local/bin/sercom-deliver|$T/bin/sercom-deliver|" \
			    -e "s|/etc/sercom/sercom.conf|$INST/sercom.conf|" >> "$E/master.cf"
		postconf -c "$E" -e "sercom_destination_recipient_limit = 1"
		printf '%s@%s sercom:\n' "$COURSE" "$DOM" > "$E/transport"
		;;
	procmail)
		sed -e "s|/usr/local/bin/sercom-deliver|$T/bin/sercom-deliver|" -e 's|^# DEFAULT=|DEFAULT=|' \
			"$SERCOM_TOP/filters/procmailrc" > "$home/.procmailrc"
		chown "$COURSE:" "$home/.procmailrc"
		chmod 644 "$home/.procmailrc"
		printf '%s /usr/bin/procmail -a "$EXTENSION"\n' "$COURSE" > "$E/mailbox_command"
		;;
	maildrop)
		sed -e "s|/usr/local/bin/sercom-deliver|$T/bin/sercom-deliver|" -e 's|^# DEFAULT=|DEFAULT=|' \
			"$SERCOM_TOP/filters/maildroprc" > "$home/.mailfilter"
		# maildrop delivers into a Maildir only when it exists
		mkdir -p "$home/Maildir/new" "$home/Maildir/cur" "$home/Maildir/tmp"
		chown -R "$COURSE:" "$home/Maildir"
		chown "$COURSE:" "$home/.mailfilter"
		chmod 600 "$home/.mailfilter"
		printf '%s /usr/bin/maildrop\n' "$COURSE" > "$E/mailbox_command"
		;;
	*) echo "mta_start: unknown route $route" >&2; return 1 ;;
	esac
	postalias "$E/aliases" && postmap "$E/transport" && postmap "$E/mailbox_command" || return 1
	# local(8) runs alias commands as the owner of the alias database
	chown "$COURSE" "$E/aliases.db"
	postfix -c "$E" check >/dev/null 2>&1
	pf_start
}

# mta_instance: the sercom instance in $COURSE's home, self-contained (its
# own copy of the exercises and templates: readable by $COURSE).
mta_instance() {
	INST=$T/home/$COURSE/sercom
	mkdir -p "$INST"
	cp -r "$SERCOM_TOP/conf/exercises" "$INST/exercises"
	cp -r "$SERCOM_TOP/conf/templates" "$INST/templates"
	cat > "$INST/sercom.conf" <<CONF
[general]
var = var
exercises = exercises
templates = templates
language = en
workers = 2

[mail]
from = Course Grader <$COURSE@$DOM>
admin = $STAFF@$VDOM
prefix = algo1
transport = sendmail
unknown_sender = reject

[sandbox]
# a uid range of its own: other instances (tests) may grade at the same time
uid_base = ${SERCOM_UID_BASE:-$((62000 + ($$ % 500) * 4))}
CONF
	cat > "$INST/roster.csv" <<CSV
id,name,email
s001,Ana Alumna,$STU1@$VDOM
s002,Beto Barrios,$STU2@$VDOM
CSV
	"$SERCOM_BIN/sercom" -c "$INST/sercom.conf" init >/dev/null &&
	"$SERCOM_BIN/sercom" -c "$INST/sercom.conf" roster import "$INST/roster.csv" >/dev/null || return 1
	chown -R "$COURSE:" "$T/home/$COURSE"
}

# mta_runner: grades everything queued and sends the replies through the
# private postfix. The runner runs as root (the sandbox needs it); the
# instance stays $COURSE's, as in production where the MDA runs as the
# course user (files the runner created are handed back).
mta_runner() {
	local rc=0
	SERCOM_SENDMAIL=$PF/sendmail "$SERCOM_BIN/sercom-runner" -c "$INST/sercom.conf" --once \
		> "$T/runner.out" 2>&1 || rc=$?
	chown -R "$COURSE:" "$INST/var"
	[ $rc = 0 ] || { mta_diag "sercom-runner --once exit $rc:"; tail -20 "$T/runner.out" | sed 's/^/# /'; }
	# the first errors, for whoever reads a failed verdict check below
	grep -m3 'error:' "$T/runner.out" | sed 's/^/# runner: /'
	return $rc
}

# msql QUERY: on the instance's database
msql() { sqlite3 -batch -noheader "$INST/var/sercom.db" "$1"; }

# mta_submission FROM TO SUBJECT MESSAGE-ID FILE...: a multipart message
# with FILEs attached (base64), on stdout.
mta_submission() {
	local from=$1 to=$2 subj=$3 mid=$4 b="=_sercom_test_$RANDOM$RANDOM" f
	shift 4
	printf 'From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\nDate: %s\nMIME-Version: 1.0\n' \
		"$from" "$to" "$subj" "$mid" "$(LC_ALL=C date -R)"
	printf 'Content-Type: multipart/mixed; boundary="%s"\n\nThis is a MIME message.\n\n' "$b"
	printf -- '--%s\nContent-Type: text/plain; charset=utf-8\n\nMy submission.\n\n' "$b"
	for f in "$@"; do
		printf -- '--%s\nContent-Type: application/octet-stream; name="%s"\n' "$b" "${f##*/}"
		printf 'Content-Disposition: attachment; filename="%s"\nContent-Transfer-Encoding: base64\n\n' "${f##*/}"
		base64 "$f"
		echo
	done
	printf -- '--%s--\n' "$b"
}

# mta_send FROM TO (message on stdin): through the private postfix.
mta_send() { /usr/sbin/sendmail -C "$PF/etc" -i -f "$1" -- "$2"; }

# mbox USER: USER's Maildir (the course account's ~/Maildir, or a virtual one)
mbox() { if [ "$1" = "$COURSE" ]; then echo "$T/home/$1/Maildir"; else echo "$PF/vmail/$1"; fi; }
# maildir_count USER: messages in USER's Maildir new/
maildir_count() { find "$(mbox "$1")/new" -type f 2>/dev/null | wc -l; }
# maildir_files USER: their paths, oldest first
maildir_files() { ls -tr "$(mbox "$1")/new"/* 2>/dev/null; }
# maildir_grep USER REGEX: the files of USER's new/ matching REGEX
maildir_grep() { grep -l -E -- "$2" "$(mbox "$1")/new"/* 2>/dev/null; }
maildir_has() { maildir_grep "$@" >/dev/null; }

# header FILE NAME: the (unfolded) value of the first NAME: header
header() {
	awk -v h="$2" 'BEGIN { IGNORECASE = 1; hl = tolower(h) ":" }
		/^$/ { exit }
		found && /^[ \t]/ { sub(/^[ \t]+/, " "); v = v $0; next }
		found { exit }
		tolower(substr($0, 1, length(hl))) == hl { v = substr($0, length(hl) + 1); sub(/^[ \t]+/, "", v); found = 1 }
		END { print v }' "$1"
}

# queued_for ADDRESS: true when the postfix queue holds mail for ADDRESS
queued_for() { postqueue -c "$PF/etc" -p 2>/dev/null | grep -qF "$1"; }
queue_empty() { postqueue -c "$PF/etc" -p 2>/dev/null | grep -q 'Mail queue is empty'; }
# deferred_for ADDRESS: in the queue with a deferral reason
deferred_for() { postqueue -c "$PF/etc" -p 2>/dev/null | grep -B1 -F "$1" | grep -q '^ *('; }

# stored MESSAGE-ID: the number of messages rows with that id
# sercom-deliver only queues the mail in var/mail/new: `sercom recover`
# records what waits there (as the owner of var/, like the runner's
# ingester) before we look
stored() { mta_sercom recover >/dev/null 2>&1; msql "SELECT count(*) FROM messages WHERE message_id = '$1'"; }
stored_once() { [ "$(stored "$1")" = 1 ]; }

mta_show_log() { [ -f "$PF/maillog" ] && tail -n "${1:-15}" "$PF/maillog" | sed 's/^/# /'; }

# ---- the route test (60-63): one submission path, end to end -------------

# mta_break HOW / mta_fix HOW: make sercom-deliver fail (it must exit 75 and
# postfix must keep the message), then repair it.
mta_break() {
	case $1 in
	missing-conf) mv "$INST/sercom.conf" "$INST/sercom.conf.off" ;;
	bad-conf) cp -p "$INST/sercom.conf" "$INST/sercom.conf.off" && printf '[general\nvar = \n' > "$INST/sercom.conf" ;;
	unreadable-conf) chmod 000 "$INST/sercom.conf" ;;
	var-denied) chmod 000 "$INST/var" ;;
	esac
}
mta_fix() {
	case $1 in
	missing-conf | bad-conf) mv -f "$INST/sercom.conf.off" "$INST/sercom.conf" ;;
	unreadable-conf) chmod 644 "$INST/sercom.conf" ;;
	var-denied) chmod 755 "$INST/var" ;;
	esac
}

_count_is() { [ "$("$1" "$2")" = "$3" ]; }

# flush_until_stored MID: postqueue -f, again every 2 s, until the message
# is stored (30 s at most). In 2 of 4 full `make check` runs a single flush
# left the message queued for 30 s (never alone; a race with qmgr still
# handling the deferral is the likely cause); the backoff of 300 s keeps
# postfix itself from retrying, so still only a flush delivers it.
flush_until_stored() {
	local n=15
	while [ $n -gt 0 ]; do
		postqueue -c "$PF/etc" -f
		mta_wait 2 stored_once "$1" && return 0
		n=$((n - 1))
	done
	return 1
}

# attempt_of MESSAGE-ID COLUMNS: columns of the attempt made from that mail
attempt_of() {
	msql "SELECT $2 FROM attempts a JOIN messages m ON m.id = a.message WHERE m.message_id = '$1' ORDER BY a.id"
}

# mta_route_test ROUTE BREAK: the Shows of issue 6 for one route.
mta_route_test() {
	local route=$1 brk=$2
	mta_skip_unless_ready
	[ -d "$SERCOM_TOP/conf/exercises/tp1/solution" ] || skip_all "no conf/exercises/tp1/solution"
	local sol=() f wrong
	for f in "$SERCOM_TOP"/conf/exercises/tp1/solution/*; do [ -f "$f" ] && sol+=("$f"); done
	wrong=$SERCOM_TOP/tests/t/submissions/tp1/wrong-output/tp.c
	[ -f "$wrong" ] || skip_all "no $wrong"

	if ! mta_start "$route"; then
		echo "Bail out! could not start the private postfix ($route)"
		mta_show_log
		exit 1
	fi
	echo "# route $route: submissions to $ROBOT, instance $INST"
	local bare=${ROBOT%%+*}@$DOM
	local m1=sub1.$U@$DOM m2=sub2.$U@$DOM m3=sub3.$U@$DOM md=dispute.$U@$DOM

	# (1) two submissions: tp1 named by the +extension; by the Subject when
	# the address has none (an empty ${extension}/$EXTENSION)
	mta_submission "Ana Alumna <$STU1@$VDOM>" "$ROBOT" "my tp1" "$m1" "${sol[@]}" | mta_send "$STU1@$VDOM" "$ROBOT"
	mta_submission "Beto <$STU2@$VDOM>" "$bare" "tp1 second try" "$m2" "$wrong" | mta_send "$STU2@$VDOM" "$bare"
	mta_ok "$route: submission to $ROBOT stored by sercom-deliver" mta_wait 30 stored_once "$m1"
	mta_ok "$route: submission to $bare (exercise in Subject) stored" mta_wait 30 stored_once "$m2"
	is "$(attempt_of "$m1" "student || ' ' || exercise || ' ' || state")" "s001 tp1 QUEUED" "$route: attempt 1 queued for s001/tp1"
	is "$(attempt_of "$m2" "student || ' ' || exercise || ' ' || state")" "s002 tp1 QUEUED" "$route: attempt 2 queued for s002/tp1"
	ok "$route: postfix queue empty (delivered, not deferred)" mta_wait 10 queue_empty
	is "$(maildir_count "$COURSE")" 0 "$route: nothing fell through to the course account's mailbox"

	# (2) the runner grades and replies through postfix
	ok "$route: sercom-runner --once" mta_runner
	is "$(attempt_of "$m1" "state || ' ' || verdict")" "DONE ACCEPTED" "$route: the solution is ACCEPTED"
	like "$(attempt_of "$m2" "state || ' ' || verdict")" "^DONE (TESTS_FAILED|BUILD_FAILED)$" "$route: the wrong submission fails"
	ok "$route: a reply reached student 1's Maildir" mta_wait 30 _count_is maildir_count "$STU1" 1
	ok "$route: a reply reached student 2's Maildir" mta_wait 30 _count_is maildir_count "$STU2" 1
	local r1 r2 id1
	r1=$(maildir_files "$STU1" | tail -1)
	r2=$(maildir_files "$STU2" | tail -1)
	id1=$(attempt_of "$m1" a.id)
	if [ -n "$r1" ] && [ -n "$r2" ]; then
		is "$(header "$r1" In-Reply-To)" "<$m1>" "$route: reply 1 threaded (In-Reply-To)"
		like "$(header "$r1" References)" "<$m1>" "$route: reply 1 threaded (References)"
		is "$(header "$r2" In-Reply-To)" "<$m2>" "$route: reply 2 threaded (In-Reply-To)"
		like "$(header "$r1" Reply-To)" "$STAFF@$VDOM" "$route: Reply-To is the admin"
		like "$(header "$r1" To)" "$STU1@$VDOM" "$route: To is the student"
		like "$(header "$r1" Subject)" "^\[algo1\].*ACCEPTED" "$route: Subject names the verdict"
		like "$(header "$r2" Subject)" "(TESTS FAILED|BUILD FAILED|DOES NOT BUILD|FAIL)" "$route: Subject 2 names the failure"
		is "$(header "$r1" X-Sercom-Attempt)" "$id1" "$route: X-Sercom-Attempt"
		is "$(header "$r1" Auto-Submitted)" "auto-replied" "$route: Auto-Submitted"
		like "$(header "$r1" Return-Path)" "^<$COURSE\+bounce-[0-9]+-[0-9a-f]{16}@$DOM>\$" "$route: envelope sender (Return-Path): the from address +bounce-ROW-MAC"
	else
		for f in 1 2 3 4 5 6 7 8 9 10; do ok "$route: reply headers (no reply)" false; done
	fi

	# (3) the student answers the reply: it goes to staff, never to the robot
	local rt nmsg natt
	rt=$(header "$r1" Reply-To | sed -E 's/.*<([^>]*)>.*/\1/')
	nmsg=$(msql "SELECT count(*) FROM messages")
	natt=$(msql "SELECT count(*) FROM attempts")
	printf 'From: Ana Alumna <%s>\nTo: %s\nSubject: Re: %s\nMessage-ID: <%s>\nIn-Reply-To: <%s>\nReferences: <%s> <%s>\nDate: %s\n\nI think case 2 is wrong.\n' \
		"$STU1@$VDOM" "${rt:-nobody@$DOM}" "$(header "$r1" Subject)" "$md" "$(header "$r1" Message-ID | tr -d '<>')" \
		"$m1" "$(header "$r1" Message-ID | tr -d '<>')" "$(LC_ALL=C date -R)" | mta_send "$STU1@$VDOM" "${rt:-nobody@$DOM}"
	ok "$route: the answer to the reply reached the admin's Maildir" mta_wait 30 maildir_has "$STAFF" "$md"
	ok "$route: postfix queue empty" mta_wait 10 queue_empty
	is "$(msql "SELECT count(*) FROM messages")" "$nmsg" "$route: the robot got no new message"
	is "$(msql "SELECT count(*) FROM attempts")" "$natt" "$route: no new attempt"

	# (4) never lose: sercom-deliver fails (exit 75) -> postfix defers and
	# keeps the message; once repaired, a flush delivers it exactly once
	mta_break "$brk"
	mta_submission "Beto <$STU2@$VDOM>" "$ROBOT" "fixed" "$m3" "${sol[@]}" | mta_send "$STU2@$VDOM" "$ROBOT"
	mta_ok "$route ($brk): postfix defers the submission (in the queue with a reason)" mta_wait 30 deferred_for "$ROBOT"
	postqueue -c "$PF/etc" -p 2>/dev/null | grep -A1 -B1 -F "$ROBOT" | sed 's/^/#   /'
	is "$(maildir_count "$STU2")" 1 "$route ($brk): no bounce to the student"
	is "$(maildir_count "$COURSE")" 0 "$route ($brk): nothing fell through to the course mailbox"
	mta_fix "$brk"
	is "$(stored "$m3")" 0 "$route ($brk): not stored while broken"
	mta_ok "$route: after the repair and postqueue -f, stored" flush_until_stored "$m3"
	ok "$route: queue empty after the flush" mta_wait 10 queue_empty
	ok "$route: sercom-runner --once" mta_runner
	is "$(attempt_of "$m3" "state || ' ' || verdict")" "DONE ACCEPTED" "$route: graded once, ACCEPTED"
	ok "$route: the second reply reached student 2" mta_wait 30 _count_is maildir_count "$STU2" 2
	local r3
	r3=$(maildir_grep "$STU2" "^In-Reply-To: <$m3>")
	ok "$route: it answers the deferred submission" test -n "$r3"
	is "$(msql "SELECT count(*) FROM outbox WHERE recipients NOT LIKE '%$STAFF@%'")" "$(msql "SELECT count(*) FROM attempts")" \
		"$route: one reply per attempt (no duplicate)"
	is "$(maildir_count "$COURSE")" 0 "$route: the course account's mailbox stayed empty"

	# (5) loop protection: our own reply, sent back to the robot (a student
	# forwarding to the course address), makes no attempt and no reply
	nmsg=$(msql "SELECT count(*) FROM messages")
	natt=$(msql "SELECT count(*) FROM attempts")
	local nout rmid
	nout=$(msql "SELECT count(*) FROM outbox")
	rmid=$(header "$r1" Message-ID | tr -d '<>')
	mta_send "$STAFF@$VDOM" "$ROBOT" < "$r1"
	case $route in
	procmail | maildrop)
		ok "$route: a reply of ours sent to the robot stays in the course mailbox" \
			mta_wait 30 _count_is maildir_count "$COURSE" 1
		is "$(stored "$rmid")" 0 "$route: the robot never saw it" ;;
	*)
		ok "$route: a reply of ours sent to the robot is stored" mta_wait 30 stored_once "$rmid"
		is "$(msql "SELECT outcome FROM messages WHERE message_id = '$rmid'")" automatic "$route: as automatic mail" ;;
	esac
	ok "$route: queue empty" mta_wait 10 queue_empty
	ok "$route: sercom-runner --once" mta_runner
	is "$(msql "SELECT count(*) FROM attempts")" "$natt" "$route: no attempt from our own reply"
	is "$(msql "SELECT count(*) FROM outbox")" "$nout" "$route: and no reply to it"
	done_testing
}

# mta_sercom ARGS...: the admin command on the instance, its replies sent
# through the private postfix (files it creates handed back to $COURSE).
mta_sercom() {
	local rc=0
	SERCOM_SENDMAIL=$PF/sendmail "$SERCOM_BIN/sercom" -c "$INST/sercom.conf" "$@" || rc=$?
	chown -R "$COURSE:" "$INST/var"
	return $rc
}

# ---- milters (66-mta-dkim.t): a private opendkim in front of the private
# postfix. Nothing of the system's mail setup is read or changed: the
# milter has its own config file under $T, reads the public key from a file
# (TestPublicKeys: no DNS), listens on a free port of 127.0.0.1 and is
# stopped, by its pid, at exit (mta_milter_cleanup). ----------------------

_mta_milter_pids=()

# dkim_key DIR DOMAIN SELECTOR: a test key pair, DIR/SELECTOR.private, and
# DIR/keys, the TestPublicKeys file: "SELECTOR._domainkey.DOMAIN TXT-record"
# (the record opendkim-genkey writes for the zone, its strings joined).
dkim_key() {
	local d=$1 dom=$2 sel=$3
	mkdir -p "$d"
	opendkim-genkey -D "$d" -d "$dom" -s "$sel" -b 2048 || return 1
	printf '%s._domainkey.%s %s\n' "$sel" "$dom" \
		"$(sed -n 's/[^"]*"\([^"]*\)"[^"]*/\1/gp' "$d/$sel.txt" | tr -d '\n\t')" >> "$d/keys"
}

# dkim_sign SELECTOR DOMAIN KEYFILE (message on stdin, signed on stdout):
# what the student's provider does on the way out. dkimpy, with Debian's
# python (the one in PATH may be another without the module).
dkim_sign() { /usr/bin/python3 /usr/bin/dkimsign "$@"; }

# _mta_wait_port PORT: until something listens on 127.0.0.1:PORT (10 s)
_mta_wait_port() {
	mta_wait 10 perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(PeerAddr => "127.0.0.1:'"$1"'") ? 0 : 1)'
}

# opendkim_start DIR AUTHSERV-ID KEYS [EXTRA-LINES]: a verifying opendkim
# (Mode v) on a free port, its config and log in DIR; sets OPENDKIM_PORT.
# InternalHosts names a host that never connects: the default (127.0.0.1)
# would take the test's submissions for outgoing mail and not verify them.
opendkim_start() {
	local d=$1 id=$2 keys=$3 extra=${4:-}
	mkdir -p "$d"
	OPENDKIM_PORT=$(pf_free_port)
	echo 192.0.2.1 > "$d/internal"
	cat > "$d/opendkim.conf" <<CONF
Mode            v
AuthservID      $id
Socket          inet:$OPENDKIM_PORT@127.0.0.1
PidFile         $d/opendkim.pid
TestPublicKeys  $keys
InternalHosts   $d/internal
Syslog          no
Background      no
UserID          nobody
$extra
CONF
	opendkim -f -x "$d/opendkim.conf" > "$d/opendkim.log" 2>&1 &
	_mta_milter_pids+=($!)
	_mta_wait_port "$OPENDKIM_PORT" || { sed 's/^/# opendkim: /' "$d/opendkim.log"; return 1; }
}

# mta_milters MILTER...: the private postfix with smtpd_milters (inet:HOST:PORT,
# in order) and milter_default_action = tempfail (a milter that is down
# defers the mail, never lets it in unverified). Restarted, not reloaded:
# an smtpd spawned before keeps its old settings while it idles.
mta_milters() {
	pf_stop
	postconf -c "$PF/etc" -e "smtpd_milters = $*" "milter_default_action = tempfail" || return 1
	pf_start
}

_mta_gone() { ! kill -0 "$1" 2>/dev/null; }

# mta_milter_cleanup: stops the milters this test started (by pid, and only
# if the pid still is one of them), then mta_cleanup.
mta_milter_cleanup() {
	local pid
	for pid in "${_mta_milter_pids[@]}"; do
		case $(readlink "/proc/$pid/exe" 2>/dev/null) in
		/usr/sbin/opendkim | /usr/sbin/opendmarc) kill "$pid"; mta_wait 5 _mta_gone "$pid" || kill -9 "$pid" ;;
		esac
	done
	mta_cleanup
}

# smtp_send FROM TO (message on stdin): over SMTP to the private postfix's
# smtpd, as mail from another host arrives (sendmail(1) would go through
# pickup, which smtpd_milters do not see). Fails unless the mail was taken.
smtp_send() {
	/usr/bin/python3 -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="mail.test.example", timeout=60)
s.sendmail(sys.argv[2], [sys.argv[3]], sys.stdin.buffer.read())
s.quit()' "$PF_PORT" "$1" "$2"
}
