#!/bin/bash
# 18-deliver-auth: sender authentication at intake (issue 14), with the
# Authentication-Results fields an MTA would prepend written by hand (the
# real postfix + opendkim is 66-mta-dkim.t): authenticate = require
# grades a mail whose From: our MTA verified, refuses a forged one as
# REJECTED(unauthenticated) and answers only the roster address; results
# the sender wrote (below ours, foreign authserv-id) are ignored; exempt
# addresses pass; strangers are never answered unless trusted and
# authenticated; warn grades and marks. The envelope sender, the
# authentication result, the receipt and the raw SHA-256 are stored;
# `sercom show` and `sercom verify` settle a dispute.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
. "$(dirname "$0")/lib-auth.sh"
need_mda
[ "$(id -u)" = 0 ] || skip_all "needs root (the runner grades in the sandbox)"
tmpdir
make_exercises "$T/exercises"
I=$T/inst
SERCOM_EXERCISES=$T/exercises make_instance "$I" || { echo "Bail out! make_instance failed"; exit 1; }
sed -i '/^\[mail\]/a trusted = ^[^@]+@example\\.edu$\nauthenticate = require\nauthserv_id = mx.example.edu mx2.example.edu\nauthenticate_exempt = carla@example.edu' "$I/sercom.conf"
S="$SERCOM_BIN/sercom -c $I/sercom.conf"

printf '#include <stdio.h>\nint main(void){long a,b;if(scanf("%%ld %%ld",&a,&b)!=2)return 1;printf("%%ld\\n",a+b);return 0;}\n' > "$T/tp.c"
OURS_PASS='Received: from mail.example.edu by mx.example.edu\nAuthentication-Results: mx.example.edu;\n\tdkim=pass header.d=example.edu header.s=s1;\n\tspf=none smtp.mailfrom=example.edu'
OURS_FAIL='Received: from evil.example by mx.example.edu\nAuthentication-Results: mx.example.edu; dkim=fail header.d=example.edu; spf=fail smtp.mailfrom=evil.example'

q() { sql "$I" "$1"; }
att() { q "SELECT a.state || ' ' || coalesce(a.reason, '-') FROM attempts a JOIN messages m ON m.id = a.message WHERE m.message_id = '$1'"; }
col() { q "SELECT $2 FROM attempts a JOIN messages m ON m.id = a.message WHERE m.message_id = '$1'"; }
send() { # send MID FROM SUBJECT TOP [-f SENDER]
	local mid=$1 from=$2 subj=$3 top=$4; shift 4
	auth_mail "$T/$mid" "$mid" "$from" "$subj" "$T/tp.c" "$top"
	deliver "$I" "$T/$mid" "$@"
}

# --- require
send signed "Ana <ana@example.edu>" tp1 "$OURS_PASS" -f ana@example.edu
is "$(att signed)" "QUEUED -" "a mail our MTA verified (DKIM aligned with From:) is queued"
is "$(col signed m.auth)" "pass: dkim=pass header.d=example.edu" "its authentication result is stored"
is "$(col signed m.envelope_sender)" "ana@example.edu" "and its envelope sender"

# the issue's attack: envelope attacker@evil, From: beto, no signature
send forged "Beto <beto@example.edu>" "tp1 FORGED-SUBJECT see evil.example" "$OURS_FAIL" -f attacker@evil.example
is "$(att forged)" "REJECTED unauthenticated" "From: beto forged from evil.example: REJECTED(unauthenticated)"
is "$(col forged m.envelope_sender)" "attacker@evil.example" "the forger's envelope sender is stored"
is "$(col forged a.email)" "beto@example.edu" "the attempt is Beto's roster address, who is told"
is "$(q "SELECT count(*) FROM attempts WHERE student = 's002' AND state != 'REJECTED'")" 0 "no attempt of Beto's budget was used"

# results the sender wrote are ignored (the hostile corpus's mail, then
# one field at a time)
cp "$SERCOM_TOP/tests/hostile/mail/forged-authres.eml" "$T/hostile.eml"
deliver "$I" "$T/hostile.eml" -f attacker@evil.example
is "$(att forged-authres@evil.example)" "REJECTED unauthenticated" \
	"tests/hostile/mail/forged-authres.eml: results the sender wrote, with our id too, are ignored"
send below "Ana <ana@example.edu>" tp1 "Received: from evil by mx.example.edu\nSubject: x\nAuthentication-Results: mx.example.edu; dkim=pass header.d=example.edu"
is "$(att below)" "REJECTED unauthenticated" "ours, but below a field the sender wrote: ignored"
send foreign "Ana <ana@example.edu>" tp1 "Authentication-Results: mx.evil.example; dkim=pass header.d=example.edu"
is "$(att foreign)" "REJECTED unauthenticated" "a foreign authserv-id on top: ignored"
send under "Ana <ana@example.edu>" tp1 "Authentication-Results: mx.example.edu; dkim=fail header.d=example.edu\nReceived: from evil.example by mx.example.edu\nAuthentication-Results: mx.example.edu; dkim=pass header.d=example.edu"
is "$(att under)" "REJECTED unauthenticated" "ours, but under our own result and our Received: ignored"
send unaligned "Ana <ana@example.edu>" tp1 "Authentication-Results: mx2.example.edu; dkim=pass header.d=evil.example"
is "$(att unaligned)" "REJECTED unauthenticated" "a DKIM pass by another domain (not aligned): refused"
send dmarc "Ana <ana@example.edu>" tp5 "Authentication-Results: mx2.example.edu; dmarc=pass header.from=example.edu" -e tp5
is "$(att dmarc)" "QUEUED -" "DMARC pass by our second authserv-id: queued"
send exempt "Carla <carla@example.edu>" tp1 ""
is "$(att exempt)" "QUEUED -" "authenticate_exempt: an address whose provider does not sign is queued"
is "$(col exempt m.auth)" exempt "and marked exempt"

# strangers: never answered unless trusted and authenticated
send victim "Victim <victim@external-company.example>" "BUY-PILLS-AT-evil.example" "$OURS_PASS"
is "$(att victim)" "REJECTED untrusted_sender" "outside trusted: REJECTED(untrusted_sender)"
like "$(col victim a.quiet)" "^not a roster address" "and never to be answered"
send victim2 "Victim <victim@external-company.example>" tp1 "Authentication-Results: mx.example.edu; dkim=pass header.d=external-company.example"
is "$(col victim2 "substr(m.auth, 1, 5)"):$(att victim2)" "pass::REJECTED untrusted_sender" \
	"outside trusted, authenticated by its own domain: still REJECTED(untrusted_sender)"
like "$(col victim2 a.quiet)" "^not a roster address" "and never answered either"
send dave1 "Dave <dave@example.edu>" tp1 "Authentication-Results: mx.example.edu; dkim=pass header.d=example.edu"
send dave2 "Dave <dave@example.edu>" tp1 "Authentication-Results: mx.example.edu; dkim=pass header.d=example.edu"
send eve "Eve <eve@example.edu>" tp1 ""
is "$(att dave1):$(col dave1 "coalesce(a.quiet, 'answered')")" "REJECTED unknown_sender:answered" \
	"an unknown address matching trusted that passed authentication is answered"
like "$(col dave2 a.quiet)" "once a day" "its second mail the same day is not"
like "$(col eve a.quiet)" "^not a roster address" "an unknown unauthenticated address is not"

# the replies
SERCOM_UID_BASE=$SERCOM_UID_BASE "$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once 2>"$T/runner.log" ||
	sed 's/^/# /' "$T/runner.log"
replies "$I" > "$T/replies"
sed 's/^/# /' "$T/replies"
is "$(cut -f1 "$T/replies" | grep -c -e evil -e external -e eve -e attacker)" 0 \
	"no reply to the forger, the victim, or an unauthenticated stranger"
is "$(grep -c 'dave@' "$T/replies")" 1 "one reply to the authenticated stranger"
beto=$(awk -F'\t' '$1 ~ /beto@example.edu/ {print $3}' "$T/replies")
is "$(echo "$beto" | grep -c .)" 1 "one reply to Beto about the two mails forged in his name (one per interval)"
reply_text "$beto" > "$T/beto.txt"
like "$(cat "$T/beto.txt")" "claims to come from you was refused" "it says a mail claiming to be his was refused"
like "$(cat "$T/beto.txt")" "Message-ID: <forged>" "with its Message-ID"
sum=$(sha256sum < "$T/tp.c" | cut -d' ' -f1)
size=$(stat -c %s "$T/tp.c")
like "$(cat "$T/beto.txt")" "  tp.c: $size bytes, SHA-256 $sum" "and the file it carried, with sha256sum's hash"
ok "without the forger's Subject" bash -c "! grep -q -e FORGED-SUBJECT -e evil '$T/beto.txt'"
ana=$(awk -F"\t" '$1 ~ /ana@example.edu/ && $2 ~ /exercise tp1.: ACCEPTED/ {print $3}' "$T/replies")
reply_text "$ana" > "$T/ana.txt"
like "$(cat "$T/ana.txt")" "  tp.c: $size bytes, SHA-256 $sum" "the graded reply ends with the receipt, sha256sum's hash"
raw=$(col signed m.raw_sha256)
like "$(cat "$T/ana.txt")" "The mail as stored: SHA-256 $raw" "and the raw message's SHA-256"
spool=$(col signed m.spool_file)
is "$(sha256sum < "$spool" | cut -d' ' -f1)" "$raw" "which is sha256sum of the stored spool file"

# show and verify
id=$(col signed a.id)
$S show "$id" > "$T/show" 2>&1
like "$(cat "$T/show")" "auth +pass: dkim=pass header.d=example.edu" "sercom show: the authentication result"
like "$(cat "$T/show")" "envelope +ana@example.edu" "sercom show: the envelope sender"
like "$(cat "$T/show")" "tp.c.*$size.*$sum" "sercom show: the receipt"
$S verify "$id" "$T/tp.c" > "$T/verify"; rc=$?
is "$rc" 0 "sercom verify: the file sent matches (exit 0)"
like "$(cat "$T/verify")" "matches tp.c of attempt $id" "and says which"
sed 's/return 0;/return 1;/' "$T/tp.c" > "$T/other.c"
$S verify "$id" "$T/other.c" > "$T/verify2"; rc=$?
is "$rc" 1 "sercom verify: another file does not match (exit 1)"
like "$(cat "$T/verify2")" "DOES NOT MATCH" "and says so"
$S stats > "$T/stats" 2>&1
like "$(cat "$T/stats")" "unauthenticated 6" "sercom stats counts the unauthenticated rejections"
like "$($S attempts --state REJECTED 2>/dev/null | grep -c unauthenticated)" "^6$" "sercom attempts --state REJECTED lists them"

# --- warn: graded as usual, marked, said
sed -i 's/^authenticate = require/authenticate = warn/; s/^authenticate_exempt = .*//' "$I/sercom.conf"
send warned "Carla <carla@example.edu>" tp5 "" -e tp5
is "$(att warned)" "QUEUED -" "warn: an unauthenticated mail is queued"
like "$(col warned m.auth)" "^fail: no Authentication-Results" "and marked"
id=$(col warned a.id)
like "$($S show "$id")" "auth +fail: " "sercom show says so"
done_testing
