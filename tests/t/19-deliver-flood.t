#!/bin/bash
# 19-deliver-flood: 2,000 mails from one student and 500 from addresses
# not on the roster (issue 14). All are stored; the student gets one
# graded attempt and one rate_limited answer (min_interval), not 2,000
# replies; an authenticated stranger matching trusted gets one answer a
# day, everyone else none; 100 mails forged in Beto's name get one answer,
# to Beto. The envelope sender is stored with each message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
. "$(dirname "$0")/lib-auth.sh"
need_mda
[ "$(id -u)" = 0 ] || skip_all "needs root (tmpfs var, the runner's sandbox)"
tmpdir
trap 'umount_tmpfs_vars; rm -rf "$T"' EXIT
make_exercises "$T/exercises"
I=$T/inst
SERCOM_EXERCISES=$T/exercises make_instance "$I" || { echo "Bail out! make_instance failed"; exit 1; }
# an hour: the whole flood falls in one interval however slow the machine
sed -i '/^\[mail\]/a trusted = ^[^@]+@example\\.edu$\nauthenticate = require\nauthserv_id = mx.example.edu' "$I/sercom.conf"
printf '\n[limits]\nmin_interval = 60m\n' >> "$I/sercom.conf"
tmpfs_var "$I" 1G || { echo "Bail out! no tmpfs"; exit 1; }

printf 'int main(void){return 0;}\n' > "$T/tp.c"
PASS='Authentication-Results: mx.example.edu; dkim=pass header.d=example.edu'
# one template per sender, the Message-ID made unique with sed
auth_mail "$T/ana.tpl" "@MID@" "Ana <ana@example.edu>" tp1 "$T/tp.c" "$PASS"
auth_mail "$T/beto.tpl" "@MID@" "Beto <beto@example.edu>" "tp1 FORGED" "$T/tp.c" ""
auth_mail "$T/x1.tpl" "@MID@" "X1 <x1@example.edu>" tp1 "$T/tp.c" "$PASS"
auth_mail "$T/x2.tpl" "@MID@" "X2 <x2@example.edu>" tp1 "$T/tp.c" "$PASS"
auth_mail "$T/x3.tpl" "@MID@" "X3 <x3@example.edu>" tp1 "$T/tp.c" ""
auth_mail "$T/v1.tpl" "@MID@" "Victim <victim@external.example>" "BUY PILLS" "$T/tp.c" "$PASS"
auth_mail "$T/v2.tpl" "@MID@" "Victim2 <v2@external.example>" tp1 "$T/tp.c" ""

flood() { # flood TEMPLATE N ENVELOPE-SENDER
	local i=0
	while [ $i -lt "$2" ]; do
		sed "s/@MID@/$1-$i/g" "$T/$1.tpl" | "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -f "$3" || return 1
		i=$((i + 1))
	done
}
start=$(date +%s.%N)
ok "2,000 mails from Ana delivered" flood ana 2000 ana@example.edu
ok "100 mails forged as Beto's delivered" flood beto 100 attacker@evil.example
for s in x1 x2 x3 v1 v2; do flood $s 100 "$s@bounce.example" || break; done
ok "500 mails from 5 addresses not on the roster delivered" test $? = 0
"$SERCOM_BIN/sercom" -c "$I/sercom.conf" recover >/dev/null 2>"$T/recover.log"
end=$(date +%s.%N)
echo "# 2,600 deliveries + recording: $(echo "$end - $start" | bc) s"
is "$(sql "$I" "SELECT count(*) FROM messages")" 2600 "all 2,600 mails are stored"
is "$(sql "$I" "SELECT count(*) FROM messages WHERE envelope_sender IS NULL")" 0 "each with its envelope sender"
is "$(sql "$I" "SELECT count(*) FROM messages WHERE envelope_sender = 'attacker@evil.example'")" 100 \
	"the forger's envelope sender is on the forged mails"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE student = 's001' AND state = 'QUEUED'")" 1 "Ana: one attempt queued"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE student = 's001' AND reason = 'rate_limited'")" 1999 \
	"the 1,999 others REJECTED(rate_limited)"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE student = 's002' AND reason = 'unauthenticated'")" 100 \
	"Beto: 100 REJECTED(unauthenticated)"

SERCOM_UID_BASE=$SERCOM_UID_BASE "$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once 2>"$T/runner.log" ||
	tail -5 "$T/runner.log" | sed 's/^/# /'
replies "$I" > "$T/replies"
sed 's/^/# /' "$T/replies"
n() { grep -c "$1" "$T/replies"; }
is "$(wc -l < "$T/replies")" 5 "five replies in all"
is "$(grep 'ana@example.edu' "$T/replies" | grep -c 'attempt 1 (exercise tp1): TESTS FAILED')" 1 "Ana: the graded one"
is "$(grep 'ana@example.edu' "$T/replies" | grep -c REJECTED)" 1 "Ana: one rate_limited answer"
is "$(n beto@example.edu)" 1 "Beto: one answer about the mails forged in his name"
is "$(n x1@example.edu):$(n x2@example.edu)" "1:1" "an authenticated stranger matching trusted: one answer each"
is "$(n -e x3@ -e external.example -e evil.example -e bounce.example)" 0 \
	"no reply to an unauthenticated stranger, outside trusted, a forger or an envelope sender"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE quiet IS NOT NULL")" 2595 "the 2,595 others are kept, unanswered"
is "$(sql "$I" "SELECT count(*) FROM attempts WHERE answered = 0")" 0 "and none waits to be answered"
done_testing
