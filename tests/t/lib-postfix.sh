# lib-postfix.sh: a private postfix instance for the TAP tests (sourced).
# Never touches the system's /etc/postfix or its queue: everything lives under
# $PF (config_directory $PF/etc, queue_directory $PF/queue). The instance
# listens only on 127.0.0.1:$PF_PORT (smtpd) and delivers every address of
# the domain test.example with virtual(8) into $PF/vmail/LOCALPART/ (a Maildir,
# owned by nobody), so no system user is created. Nothing leaves the host:
# other domains go to error(8).
#
# Usage: pf_available || skip_all "..."; pf_setup DIR; pf_start; ...; pf_stop
# Needs root (postfix master runs as root and drops to mail_owner).

pf_available() {
	[ -x /usr/sbin/postfix ] && [ -x /usr/sbin/sendmail ] && [ -d /usr/lib/postfix/sbin ] &&
		id postfix >/dev/null 2>&1
}

# pf_free_port: an unused TCP port on 127.0.0.1.
pf_free_port() {
	perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0) or die; print $s->sockport, "\n"'
}

# pf_setup DIR: writes the instance's main.cf and master.cf.
pf_setup() {
	PF=$1
	PF_PORT=$(pf_free_port)
	mkdir -p "$PF/etc" "$PF/queue" "$PF/data" "$PF/vmail"
	chmod 755 "$PF" "$PF/etc"
	# the parents must be traversable by postfix and nobody (mktemp -d makes
	# 0700 dirs); stop at the first one that already is
	local d=$PF
	while [ "$d" != / ]; do
		d=$(dirname "$d")
		[ -n "$(find "$d" -maxdepth 0 -perm -o+x)" ] && break
		chmod o+x "$d"
	done
	chown postfix "$PF/data"
	chown nobody:nogroup "$PF/vmail" 2>/dev/null || chown 65534:65534 "$PF/vmail"
	local nobody_uid nobody_gid
	nobody_uid=$(id -u nobody 2>/dev/null || echo 65534)
	nobody_gid=$(id -g nobody 2>/dev/null || echo 65534)
	cat > "$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = sercom-test.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
relayhost =
default_transport = error:no mail leaves the test instance
virtual_mailbox_domains = test.example
virtual_mailbox_base = $PF/vmail
virtual_mailbox_maps = texthash:$PF/etc/vmailbox
virtual_uid_maps = static:$nobody_uid
virtual_gid_maps = static:$nobody_gid
virtual_minimum_uid = 1
smtpd_tls_security_level = none
smtp_tls_security_level = none
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
syslog_name = postfix-sercom-test
biff = no
delay_warning_time = 0
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
smtpd_banner = \$myhostname ESMTP
EOF
	# every local part of test.example has a Maildir (trailing /)
	for u in ana beto carla staff grader; do echo "$u@test.example $u/"; done > "$PF/etc/vmailbox"
	cat > "$PF/etc/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	# sendmail(1) of this instance: what SERCOM_SENDMAIL points at
	cat > "$PF/sendmail" <<EOF
#!/bin/sh
exec /usr/sbin/sendmail -C "$PF/etc" "\$@"
EOF
	chmod 755 "$PF/sendmail"
	postfix -c "$PF/etc" set-permissions >/dev/null 2>&1
	postfix -c "$PF/etc" check 2>>"$PF/check.log"
}

pf_start() {
	postfix -c "$PF/etc" start >>"$PF/start.log" 2>&1 || { cat "$PF/start.log" >&2; return 1; }
	# wait (bounded) until smtpd answers
	wait_for 30 pf_listening && return 0
	echo "# postfix did not listen on $PF_PORT" >&2
	return 1
}

pf_listening() {
	perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(PeerAddr => "127.0.0.1:'"$PF_PORT"'") ? 0 : 1)'
}

# the master process is gone (its files can be removed)
pf_master_gone() {
	! { [ -e "$PF/queue/pid/master.pid" ] && kill -0 "$(cat "$PF/queue/pid/master.pid" 2>/dev/null)" 2>/dev/null; }
}

pf_stop() {
	[ -n "$PF" ] && postfix -c "$PF/etc" stop >/dev/null 2>&1
	# wait for the master to go, so its files can be removed
	[ -z "$PF" ] || wait_for 30 pf_master_gone
}

# pf_flush: asks the queue manager to try the deferred mail now.
pf_flush() { postqueue -c "$PF/etc" -f >/dev/null 2>&1; }

# pf_idle: nothing waits in the instance (maildrop, incoming, active,
# deferred): every message handed to it was delivered or bounced.
pf_idle() {
	[ -z "$(ls -A "$PF/queue/maildrop" 2>/dev/null)" ] &&
		postqueue -c "$PF/etc" -p 2>/dev/null | grep -q 'Mail queue is empty'
}

# pf_count USER: messages in USER@test.example's Maildir.
pf_count() { find "$PF/vmail/$1/new" "$PF/vmail/$1/cur" -type f 2>/dev/null | wc -l; }

# pf_wait USER N [SECONDS]: waits until USER has N messages, asking the
# queue manager to retry deferred mail every 2 s meanwhile.
pf_wait() {
	_pf_next_flush=$((SECONDS + 2))
	wait_for "${3:-30}" _pf_has "$1" "$2"
}
_pf_has() {
	[ "$(pf_count "$1")" -ge "$2" ] && return 0
	if [ "$SECONDS" -ge "$_pf_next_flush" ]; then
		pf_flush
		_pf_next_flush=$((SECONDS + 2))
	fi
	return 1
}

# ---- fixtures shared by 50-53: an exercise and attempts written straight
# into the database the way the MDA and the runner would (docs/ARCHITECTURE.md) ----

# fx_exercise DIR: exercise tp1 with five public cases and a private one.
fx_exercise() {
	local d=$1/tp1 c
	mkdir -p "$d"
	printf '[exercise]\ntitle = Sum\nmax_attempts = 50\nfiles = *.c *.h\nrequired = tp.c\n[limits]\ncpu = 2s\n' > "$d/exercise.conf"
	printf 'tp: tp.c\n\tcc -o tp tp.c\n' > "$d/Makefile"
	for c in 01-basic 02-negative 03-crash 04-slow 05-exit; do
		mkdir -p "$d/tests/$c"; printf '[case]\nexit = 0\n' > "$d/tests/$c/case.conf"
	done
	mkdir -p "$d/tests/06-private"; printf '[case]\nexit = 0\nprivate = true\n' > "$d/tests/06-private/case.conf"
}

# fx_attempt INST EMAIL STATE VERDICT [NUMBER] [REASON] [DETAIL]: a message and
# an attempt row; prints the attempt id.
fx_attempt() {
	local i=$1 email=$2 state=$3 verdict=$4 number=${5:-NULL} reason=${6:-} detail=${7:-}
	sqlite3 -batch "$i/var/sercom.db" <<SQL
PRAGMA foreign_keys = ON;
INSERT INTO messages (message_id, spool_file, sender, subject, received, outcome)
  VALUES ('fx' || (SELECT count(*) FROM messages) || '.' || abs(random()) || '@student.example', '/nonexistent',
          '$email', 'tp1', strftime('%s','now'), 'queued');
INSERT INTO attempts (student, email, exercise, number, message, state, reason, detail, verdict, build, grading, queued, finished)
  VALUES ((SELECT student FROM student_emails WHERE email = '$email'), '$email', 'tp1', $number,
          last_insert_rowid(), '$state', nullif('$reason',''), nullif('$detail',''), '$verdict', 'OK', 1,
          strftime('%s','now'), strftime('%s','now'));
SELECT last_insert_rowid();
SQL
}

# fx_failed_report INST ID: results + report/ of a TESTS_FAILED grading.
fx_failed_report() {
	local i=$1 id=$2 r=$1/var/attempts/$2/report
	mkdir -p "$r/private"
	sqlite3 -batch "$i/var/sercom.db" <<SQL
UPDATE attempts SET verdict = 'TESTS_FAILED', build = 'WARNINGS' WHERE id = $id;
INSERT INTO results (attempt, grading, seq, case_name, verdict, exit_code, signal, note, diffs, private) VALUES
 ($id, 1, 1, '01-basic', 'PASS', 0, NULL, NULL, NULL, 0),
 ($id, 1, 2, '02-negative', 'WRONG_OUTPUT', 0, NULL, 'stdout differs at line 2', '02-negative.stdout.diff', 0),
 ($id, 1, 3, '03-crash', 'SIGNAL', NULL, 11, NULL, NULL, 0),
 ($id, 1, 4, '04-slow', 'TIME_LIMIT', NULL, 9, NULL, NULL, 0),
 ($id, 1, 5, '05-exit', 'WRONG_EXIT', 3, NULL, NULL, NULL, 0),
 ($id, 1, 6, '06-private', 'WRONG_OUTPUT', 0, NULL, 'secret', 'private/06-private.stdout.diff', 1);
SQL
	printf 'tp.c:3:9: warning: unused variable \x27x\x27\n' > "$r/make.stderr"
	printf -- '--- expected\n+++ yours\n@@ -1,3 +1,3 @@\n -1\n--2\n+2\n -3\n' > "$r/02-negative.stdout.diff"
	printf -- '--- expected\n+++ yours\n-PRIVATE-EXPECTED\n' > "$r/private/06-private.stdout.diff"
	cp "${SERCOM_TOP}/tests/golden/report.html" "$r/report.html"
}

# mail_headers FILE: the header block of a message, unfolded, one per line.
mail_headers() {
	perl -ne 'last if /^\r?$/; s/\r?\n$//; if (/^[ \t]/) { s/^[ \t]+/ /; $h .= $_ } else { print "$h\n" if defined $h; $h = $_ } END { print "$h\n" if defined $h }' "$1"
}

# mail_header FILE NAME: the values of header NAME (case-insensitive).
mail_header() { mail_headers "$1" | perl -ne 'BEGIN { $n = lc shift } print "$2\n" if /^([^:]+):\s?(.*)$/ && lc($1) eq $n' "$2"; }

# mail_part FILE NAME: the decoded body of the MIME part whose filename is
# NAME (simple names only), from a multipart/mixed message; NAME "" is the
# first part without a file name (the summary).
mail_part() {
	perl -MMIME::Base64 -MMIME::QuotedPrint -e '
		my ($file, $want) = @ARGV; local $/; open my $f, "<", $file or die; my $m = <$f>;
		my ($b) = $m =~ /boundary="?([^";\s]+)"?/i or die "no boundary";
		for my $p (split /^--\Q$b\E(?:--)?\r?$/m, $m) {
			my ($h, $body) = split /\r?\n\r?\n/, $p, 2; next unless defined $body;
			$body =~ s/\r?\n\z//;  # the line break before a boundary is part of it
			$h =~ s/\r?\n[ \t]+/ /g;
			my $fn = $h =~ /filename="?([^";\r\n]+)"?/i ? $1 : "";
			next if $h =~ /content-type:\s*multipart/i;
			next unless $h =~ /content-type/i && $fn eq $want;
			if ($h =~ /transfer-encoding:\s*base64/i) { print decode_base64($body) }
			elsif ($h =~ /transfer-encoding:\s*quoted-printable/i) { print decode_qp($body) }
			else { print $body }
			exit 0;
		}
		exit 1' "$1" "$2"
}

# pf_tls: a test CA and a server certificate (localhost, 127.0.0.1), STARTTLS
# offered on the smtpd port, a second smtpd port $PF_TLS_PORT with TLS from
# the first byte (smtps), and SASL AUTH (cyrus, sasldb) after STARTTLS only,
# for user grader@test.example with password $PF_PASS. Then reloads.
pf_tls() {
	local t=$PF/tls
	PF_PASS=s3cret-pass
	PF_TLS_PORT=$(pf_free_port)
	mkdir -p "$t" "$PF/etc/sasl"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Sercom Test CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null || return 1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$t/srv.key" -out "$t/srv.csr" 2>/dev/null || return 1
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$t/ext"
	openssl x509 -req -in "$t/srv.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
		-out "$t/srv.pem" -extfile "$t/ext" 2>/dev/null || return 1
	chmod 600 "$t/srv.key"
	cat > "$PF/etc/sasl/smtpd.conf" <<EOC
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $PF/etc/sasldb2
EOC
	echo "$PF_PASS" | saslpasswd2 -f "$PF/etc/sasldb2" -p -c -u test.example grader || return 1
	chown postfix "$PF/etc/sasldb2"
	postconf -c "$PF/etc" -e \
		"smtpd_tls_cert_file = $t/srv.pem" "smtpd_tls_key_file = $t/srv.key" \
		"smtpd_tls_security_level = may" "smtpd_tls_auth_only = yes" "smtpd_tls_loglevel = 1" \
		"smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = cyrus" "smtpd_sasl_path = smtpd" \
		"cyrus_sasl_config_path = $PF/etc/sasl" "smtpd_sasl_local_domain =" \
		"smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject"
	echo "127.0.0.1:$PF_TLS_PORT inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt" >> "$PF/etc/master.cf"
	postfix -c "$PF/etc" reload >/dev/null 2>&1
	local i
	for i in $(seq 1 50); do
		perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(PeerAddr => "127.0.0.1:'"$PF_TLS_PORT"'") ? 0 : 1)' && return 0
		sleep 0.1
	done
	return 1
}

# quiet CMD...: runs CMD with its output discarded (for `ok "desc" quiet CMD`:
# a redirection after `ok` would swallow the TAP line too).
quiet() { "$@" >/dev/null 2>&1; }
