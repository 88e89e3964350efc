#!/usr/bin/env bash
# Issue 16, Shows: the Debian package. `make deb` builds it (or SERCOM_DEB
# names one); lintian finds no error; it installs into a fresh Debian 12
# root (a debootstrap chroot); there `sercom --help`, `sercom-runner
# --help` and `sercom init` work, the runner's unit is installed and not
# enabled, the man pages, the conffile, the user sercom and /var/lib/sercom
# (0750) are in place; a purge leaves nothing but what policy keeps: the
# user sercom (it may still own files), and a course's data and the
# teacher's exercises when there are any (debian/sercom.postrm).
#
# The chroot: a debootstrap of bookworm (minbase) with the package's
# dependencies, made once and kept under $SERCOM_CHROOT_CACHE (default
# /var/cache/sercom-tests), then copied fresh for each run. Making it needs
# the Debian archive; using it does not.
# The chroot's own postfix (no inet listener: master_service_disable) takes
# a mail to tp+nope@example.edu through the pipe(8) route of the installed
# /usr/share/sercom/filters/master.cf, as user sercom, into the spool; the
# reply (REJECTED: no such exercise) goes back through postfix's sendmail
# to a local mailbox: `sercom-runner --once` records and answers it, as the
# unit's runner would (with /proc mounted in the root for its sandbox).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "installing a package into a chroot needs root"
for t in dpkg-buildpackage dh debootstrap chroot flock; do
	command -v "$t" >/dev/null || skip_all "$t missing (make deps installs it)"
done
tmpdir
R=$T/root
# processes whose root is the chroot (its postfix)
root_procs() { for p in /proc/[0-9]*; do [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && echo "${p#/proc/}"; done; }
no_root_procs() { [ -z "$(root_procs)" ]; }
cleanup() {
	mountpoint -q "$R/proc" 2>/dev/null && umount "$R/proc"
	if [ -x "$R/usr/sbin/postfix" ] && ! no_root_procs; then
		chroot "$R" /usr/sbin/postfix stop >/dev/null 2>&1
		wait_for 20 no_root_procs || echo "# processes left in the chroot: $(root_procs)"
	fi
	rm -rf "$T"
}
trap cleanup EXIT
CACHE=${SERCOM_CHROOT_CACHE:-/var/cache/sercom-tests}
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }

# --- make install: the unit and the man pages too --------------------------
if make -C "$SERCOM_TOP" install DESTDIR="$T/inst" PREFIX=/usr/local > "$T/install-make.log" 2>&1; then
	I=$T/inst/usr/local
	is "$(sed -n 's/^ExecStart=//p' "$I/lib/systemd/system/sercom-runner.service" 2>&1)" \
		"/usr/local/bin/sercom-runner" "make install: the unit, running \$(PREFIX)/bin/sercom-runner"
	is "$(cd "$I/share/man" 2>/dev/null && ls man*/* | tr '\n' ' ')" \
		"man1/sercom-sandbox.1 man1/sercom.1 man5/sercom-exercise.5 man5/sercom.conf.5 man8/sercom-deliver.8 man8/sercom-runner.8 " \
		"make install: the six man pages"
	ok "make install: the templates in \$(PREFIX)/share/sercom/templates" test -s "$I/share/sercom/templates/en/strings.ini"
else
	tail -5 "$T/install-make.log" | sed 's/^/# /'
	echo "Bail out! make install failed"; exit 1
fi

# --- the package ----------------------------------------------------------
if [ -n "${SERCOM_DEB:-}" ]; then
	DEB=$SERCOM_DEB
else
	# a build of our own; SANITIZE of `make check SANITIZE=1` must not
	# reach it (the Makefile's deb target drops it too)
	if ! env -u SANITIZE -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$SERCOM_TOP" deb > "$T/build.log" 2>&1; then
		tail -20 "$T/build.log" | sed 's/^/# /'
		echo "Bail out! make deb failed"; exit 1
	fi
	DEB=$(sed -n 's/^built //p' "$T/build.log")
	DEB=$SERCOM_TOP/$DEB
fi
ok "make deb built $(basename "$DEB")" test -s "$DEB"
like "$(basename "$DEB")" '^sercom_[0-9][^_]*_[a-z0-9]+\.deb$' "the name is sercom_VERSION_ARCH.deb"

if command -v lintian >/dev/null; then
	# lintian refuses nothing as root, it only warns about it
	lintian --fail-on error --tag-display-limit 0 "$DEB" > "$T/lintian.out" 2>&1; rc=$?
	grep -v '^running with root' "$T/lintian.out" | sed 's/^/# lintian: /'
	is "$rc" 0 "lintian: no error"
	is "$(grep -c '^E: ' "$T/lintian.out")" 0 "lintian: no E: line"
else
	skip "lintian missing (make deps installs it)"
	skip "lintian missing"
fi

# --- the chroot -----------------------------------------------------------
# Depends without versions and alternatives: what the chroot needs
deps=$( { dpkg-deb -f "$DEB" Depends | tr ',' '\n'; echo postfix; } |
	sed -E 's/\|.*//; s/\(.*\)//; s/ //g' | grep . | sort -u | tr '\n' ' ')
key=$(printf '%s' "$deps" | sha256sum | cut -c1-12)
BASE=$CACHE/bookworm-minbase
DEPS=$CACHE/bookworm-deps-$key
mkdir -p "$CACHE"
make_cache() {
	if [ ! -d "$BASE" ]; then
		rm -rf "$BASE.tmp"
		debootstrap --variant=minbase bookworm "$BASE.tmp" http://deb.debian.org/debian > "$T/debootstrap.log" 2>&1 ||
			{ tail -5 "$T/debootstrap.log" | sed 's/^/# /'; return 1; }
		mv "$BASE.tmp" "$BASE"
	fi
	if [ ! -d "$DEPS" ]; then
		rm -rf "$DEPS.tmp"
		cp -a "$BASE" "$DEPS.tmp"
		cp /etc/resolv.conf "$DEPS.tmp/etc/resolv.conf"
		# nothing a package installs in the chroot starts a service
		printf '#!/bin/sh\nexit 101\n' > "$DEPS.tmp/usr/sbin/policy-rc.d"
		chmod 755 "$DEPS.tmp/usr/sbin/policy-rc.d"
		printf 'Acquire::Check-Valid-Until "false";\n' > "$DEPS.tmp/etc/apt/apt.conf.d/99sercom-test"
		printf 'postfix postfix/main_mailer_type select Local only\npostfix postfix/mailname string example.edu\n' \
			> "$DEPS.tmp/tmp/preseed"
		chroot "$DEPS.tmp" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
			sh -c "debconf-set-selections /tmp/preseed && apt-get update -q && apt-get install -y -q --no-install-recommends $deps && apt-get clean" \
			> "$T/apt.log" 2>&1 || { tail -5 "$T/apt.log" | sed 's/^/# /'; return 1; }
		mv "$DEPS.tmp" "$DEPS"
	fi
}
# one maker at a time: two runs share the cache
if ! ( flock 9; make_cache ) 9> "$CACHE/lock"; then
	skip_all "could not make the Debian 12 chroot under $CACHE (the archive unreachable?)"
fi
cp -a "$DEPS" "$R"

# every path of the root but the package system's own records and logs,
# and /run (a tmpfs at boot: adduser leaves its lock file there)
paths() {
	(cd "$R" && find . -xdev \( -path ./var/lib/dpkg -o -path ./var/log -o -path ./var/cache/debconf \
		-o -path ./tmp -o -path ./var/cache/apt -o -path ./run \) -prune -o -print) | sort
}
paths > "$T/before"

# --- install --------------------------------------------------------------
cp "$DEB" "$R/tmp/sercom.deb"
in_root dpkg -i /tmp/sercom.deb > "$T/install.log" 2>&1; rc=$?
is "$rc" 0 "dpkg -i installs it in a fresh Debian 12 root"
[ $rc = 0 ] || sed 's/^/# /' "$T/install.log"

like "$(in_root sercom --help 2>&1)" '^  init' "sercom --help from the installed tree"
like "$(in_root sercom-runner --help 2>&1)" '--once' "sercom-runner --help from the installed tree"
like "$(in_root sercom-deliver --help 2>&1)" '--recipient' "sercom-deliver --help from the installed tree"
like "$(in_root sercom-sandbox --help 2>&1)" '--profile' "sercom-sandbox --help from the installed tree"

pw=$(in_root getent passwd sercom)
like "$pw" '^sercom:x:[0-9]+:[0-9]+:[^:]*:/var/lib/sercom:/usr/sbin/nologin$' "the user sercom exists, home /var/lib/sercom, no shell"
uid=$(echo "$pw" | cut -d: -f3)
ok "sercom is a system user (uid $uid < 1000)" test "${uid:-1000}" -lt 1000
is "$(stat -c '%a %u %g' "$R/var/lib/sercom" 2>&1)" "750 $uid $(echo "$pw" | cut -d: -f4)" "/var/lib/sercom: mode 0750, owned by sercom (uid and gid)"
is "$(in_root stat -c '%a %U %G' /var/lib/sercom 2>&1)" "750 sercom sercom" "... by name inside the root"
like "$(in_root dpkg-query -W -f='${Conffiles}' sercom)" '/etc/sercom/sercom\.conf [0-9a-f]{32}' "/etc/sercom/sercom.conf is a conffile"
is "$(in_root stat -c '%a %U %G' /etc/sercom/sercom.conf 2>&1)" "640 root sercom" "sercom.conf: root:sercom 0640 (it may hold an SMTP password)"
is "$(in_root stat -c '%a %U %G' /etc/sercom/exercises 2>&1)" "750 root sercom" "/etc/sercom/exercises: root:sercom 0750"
like "$(grep -v '^#' "$R/etc/sercom/sercom.conf")" 'var = /var/lib/sercom' "sercom.conf names /var/lib/sercom"
ok "sercom.conf is commented (every [mail] key is)" \
	sh -c "! sed -n '/^\[mail\]/,/^\[/p' '$R/etc/sercom/sercom.conf' | grep -q '^[a-z]'"

U=$R/lib/systemd/system/sercom-runner.service
ok "the unit is installed: /lib/systemd/system/sercom-runner.service" test -f "$U"
is "$(sed -n 's/^ExecStart=//p' "$U")" "/usr/bin/sercom-runner" "the unit runs /usr/bin/sercom-runner"
like "$(sed -n 's/^ExecReload=//p' "$U")" 'kill -HUP' "the unit reloads with SIGHUP"
ok "the binary the unit names is there" test -x "$R/usr/bin/sercom-runner"
# never started by the package: not enabled (no wants/ link), so
# deb-systemd-invoke starts it neither now nor after an upgrade
is "$(find "$R/etc/systemd" -name 'sercom-runner*' 2>/dev/null)" "" "the unit is not enabled (no link under /etc/systemd)"
if command -v systemctl >/dev/null; then
	like "$(systemctl --root="$R" is-enabled sercom-runner.service 2>&1)" '^disabled' "systemctl --root: disabled"
else
	skip "systemctl missing"
fi

for m in man1/sercom.1 man1/sercom-sandbox.1 man5/sercom.conf.5 man5/sercom-exercise.5 \
	man8/sercom-deliver.8 man8/sercom-runner.8; do
	f=$R/usr/share/man/$m.gz
	n=$(basename "$m"); n=${n%.[0-9]}
	like "$(LC_ALL=C MANWIDTH=120 man -l "$f" 2>&1 | col -b | sed -n '/^NAME/,/^[A-Z]/p')" "^ +$n -+ " "installed man page $m renders"
done
ok "the built-in templates: /usr/share/sercom/templates/en/strings.ini" test -s "$R/usr/share/sercom/templates/en/strings.ini"
ok "the example exercise: /usr/share/sercom/examples/exercises/tp1" test -s "$R/usr/share/sercom/examples/exercises/tp1/exercise.conf"
ok "the filters, with the installed path" grep -q 'argv=/usr/bin/sercom-deliver' "$R/usr/share/sercom/filters/master.cf"
is "$(grep -rl /usr/local "$R/usr/share/sercom/filters" "$U")" "" "no /usr/local path in the filters and the unit"

# --- purge a package that ran no course ------------------------------------
in_root dpkg --purge sercom > "$T/purge.log" 2>&1; rc=$?
is "$rc" 0 "dpkg --purge"
[ $rc = 0 ] || sed 's/^/# /' "$T/purge.log"
paths > "$T/after"
# the user's lines change passwd, group, shadow and gshadow; adduser's and
# shadow's backups (passwd-...) are the only new paths policy allows
left=$(comm -13 "$T/before" "$T/after" | grep -Ev '^\./etc/(passwd|group|shadow|gshadow)-$' | tr '\n' ' ')
is "$left" "" "nothing is left after the purge"
gone=$(comm -23 "$T/before" "$T/after" | tr '\n' ' ')
is "$gone" "" "nothing of the root is gone"
like "$(in_root getent passwd sercom)" '^sercom:' "the user sercom is kept (policy: files may still be its)"
is "$(in_root dpkg-statoverride --list 2>&1 | grep sercom)" "" "no permission override of ours is left"

# --- a course: install again, init, record a mail, purge ------------------
in_root dpkg -i /tmp/sercom.deb > "$T/install2.log" 2>&1; rc=$?
is "$rc" 0 "installs again over the kept user"
[ $rc = 0 ] || sed 's/^/# /' "$T/install2.log"
cp -r "$R/usr/share/sercom/examples/exercises/tp1" "$R/etc/sercom/exercises/"
cat >> "$R/etc/sercom/sercom.conf" <<'EOF'
[mail]
from = Course Grader <grader@example.edu>
admin = staff@example.edu
transport = maildir:/var/lib/sercom/replies
EOF
out=$(in_root runuser -u sercom -- sercom init 2>&1); rc=$?
echo "$out" | sed 's/^/# init: /'
is "$rc" 0 "sercom init, as user sercom, in the installed tree"
ok "init made the database" test -s "$R/var/lib/sercom/sercom.db"
is "$(in_root stat -c '%a %U' /var/lib/sercom 2>&1)" "750 sercom" "/var/lib/sercom is still 0750 sercom"
like "$(in_root runuser -u sercom -- sercom exercise list 2>&1)" 'tp1' "sercom exercise list finds /etc/sercom/exercises/tp1"
if in_root sercom --help 2>&1 | grep -q '^  doctor'; then
	out=$(in_root runuser -u sercom -- sercom doctor 2>&1); rc=$?
	echo "$out" | sed 's/^/# doctor: /'
	# no MTA route and no runner in this root: the doctor must say so
	ok "sercom doctor runs and finds problems (exit $rc)" test "$rc" -ne 0 -a -n "$out"
else
	skip "sercom doctor not in this build (issue 16, another part)"
fi
# --- through the chroot's postfix -------------------------------------------
printf 'id,name,email\ns001,Ana,ana@example.edu\n' > "$R/tmp/roster.csv"
like "$(in_root runuser -u sercom -- sercom roster import /tmp/roster.csv 2>&1)" 'imported 1' "sercom roster import"
in_root useradd -m ana
in_root postconf -e 'myhostname = mx.example.edu' 'mydestination = example.edu, localhost' \
	'recipient_delimiter = +' 'transport_maps = hash:/etc/postfix/transport' 'alias_maps =' \
	'master_service_disable = inet' 'maillog_file = /var/log/postfix.log'
echo 'tp@example.edu sercom:' > "$R/etc/postfix/transport"
in_root postmap /etc/postfix/transport
# the route exactly as the package installs it
grep -v '^#' "$R/usr/share/sercom/filters/master.cf" | grep . >> "$R/etc/postfix/master.cf"
sed -i 's|^transport = maildir:.*|transport = sendmail|' "$R/etc/sercom/sercom.conf"
in_root postfix start > "$T/postfix.log" 2>&1; rc=$?
is "$rc" 0 "the chroot's postfix starts (no inet listener)"
[ $rc = 0 ] || sed 's/^/# /' "$T/postfix.log"
printf 'From: ana@example.edu\nTo: tp+nope@example.edu\nSubject: my homework\nMessage-ID: <deb-t@example.edu>\n\nhello\n' > "$R/tmp/mail"
in_root sendmail -f ana@example.edu tp+nope@example.edu < "$R/tmp/mail"
spooled() { ls "$R/var/lib/sercom/mail/new" 2>/dev/null | grep -q .; }
ok "postfix's pipe(8) route runs sercom-deliver: the mail is in /var/lib/sercom/mail/new" wait_for 60 spooled
grep 'relay=sercom' "$R/var/log/postfix.log" | sed 's/^/# postfix: /'
# the runner as the unit starts it (root; /proc for its sandbox set-up):
# its ingester records the mail, its composer answers, postfix carries it
mount -t proc proc "$R/proc"
in_root sercom-runner --once > "$T/runner.log" 2>&1; rc=$?
umount "$R/proc"
is "$rc" 0 "sercom-runner --once in the installed root"
[ $rc = 0 ] || sed 's/^/# runner: /' "$T/runner.log"
like "$(in_root runuser -u sercom -- sercom attempts 2>&1)" 'unknown_exercise' "its ingester recorded the mail (REJECTED: no exercise nope)"
replied() { grep -q '^X-Sercom-Attempt: 1' "$R/var/mail/ana" 2>/dev/null; }
ok "the reply reaches ana's mailbox through postfix" wait_for 60 replied
like "$(grep '^Subject:' "$R/var/mail/ana" 2>/dev/null)" 'REJECTED' "its Subject says REJECTED"
like "$(grep '^In-Reply-To:' "$R/var/mail/ana" 2>/dev/null)" 'deb-t@example.edu' "threaded to the student's mail"
in_root postfix stop > /dev/null 2>&1
ok "the chroot's postfix stops" wait_for 30 no_root_procs

in_root dpkg --purge sercom > "$T/purge2.log" 2>&1; rc=$?
is "$rc" 0 "dpkg --purge with a course"
sed 's/^/# purge: /' "$T/purge2.log"
ok "the course's data is kept (/var/lib/sercom/sercom.db)" test -s "$R/var/lib/sercom/sercom.db"
like "$(cat "$T/purge2.log")" 'course data in /var/lib/sercom is kept' "the purge says the data is kept and how to remove it"
ok "the teacher's exercise is kept" test -s "$R/etc/sercom/exercises/tp1/exercise.conf"
ok "the conffile is gone" test ! -e "$R/etc/sercom/sercom.conf"
for p in usr/bin/sercom usr/bin/sercom-deliver usr/bin/sercom-runner usr/bin/sercom-sandbox \
	usr/share/sercom lib/systemd/system/sercom-runner.service usr/share/man/man1/sercom.1.gz usr/share/doc/sercom; do
	ok "/$p is gone" test ! -e "$R/$p"
done

done_testing
