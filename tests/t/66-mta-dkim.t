#!/usr/bin/env bash
# Issue 14, Shows: sender authentication with the real thing. A private
# postfix (lib-postfix.sh, 127.0.0.1 only) runs a private opendkim
# (verifying, its public key read from a file: TestPublicKeys, no DNS) as
# its smtpd milter, with the README's header_checks line, and pipes the
# course address to sercom-deliver (filters/master.cf) with
# [mail] authenticate = require. The student's provider is played by
# dkimpy: submissions are DKIM-signed with a test key of test.example and
# sent over SMTP.
#   - signed and intact: queued and graded (ACCEPTED);
#   - body altered, From: altered, signed by another domain: REJECTED
#     (unauthenticated), answered to the roster address only;
#   - results the sender wrote: ours above the mail (removed on the way in),
#     ours above a tampered mail (below opendkim's, ignored), a foreign
#     authserv-id (kept by postfix, ignored), ours disguised by a comment or
#     quotes (kept by postfix: sercom ignores them), all REJECTED;
#   - opendkim down: postfix refuses the mail for now (tempfail), nothing
#     enters unverified.
# Measured layout (asserted below): opendkim's Authentication-Results lands
# above the Received postfix writes; a sender's field with our id, if it
# survives, lands below that Received.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mta.sh"
mta_skip_unless_ready
for p in opendkim opendkim-genkey; do command -v "$p" >/dev/null 2>&1 || skip_all "$p not installed (opendkim, opendkim-tools)"; done
[ -x /usr/bin/dkimsign ] && /usr/bin/python3 -c 'import dkim' 2>/dev/null || skip_all "python3-dkim not installed"
sol=$SERCOM_TOP/conf/exercises/tp1/solution/tp.c
[ -f "$sol" ] || skip_all "no $sol"

if ! mta_start pipe; then
	echo "Bail out! could not start the private postfix"
	mta_show_log
	exit 1
fi
trap mta_milter_cleanup EXIT
ID=mx.test.example
dkim_key "$T/dkim" "$VDOM" s2026 && dkim_key "$T/dkim" evil.example e1 ||
	{ echo "Bail out! opendkim-genkey failed"; exit 1; }
opendkim_start "$T/opendkim" "$ID" "$T/dkim/keys" || { echo "Bail out! opendkim did not start"; exit 1; }
# README "Authenticating senders": results bearing our id are dropped on the
# way in
printf '/^Authentication-Results:[[:space:]]*%s([[:space:];]|$)/ IGNORE\n' "${ID//./\\.}" > "$PF/etc/header_checks"
postconf -c "$PF/etc" -e "header_checks = regexp:$PF/etc/header_checks"
if ! mta_milters "inet:127.0.0.1:$OPENDKIM_PORT"; then
	echo "Bail out! postfix did not restart with the milter"
	mta_show_log
	exit 1
fi
sed -i "/^\[mail\]/a authenticate = require\nauthserv_id = $ID" "$INST/sercom.conf"
echo "# opendkim on 127.0.0.1:$OPENDKIM_PORT (authserv-id $ID), postfix on 127.0.0.1:$PF_PORT, robot $ROBOT"

ANA="Ana Alumna <$STU1@$VDOM>"
# submit MID FROM ENVELOPE SIGN TOP [SED]: a submission of the solution
# with From: FROM and the fields TOP ("\n"-separated) on top, signed by
# SIGN (test.example | evil.example | none), then edited by SED (what a
# forwarder or an attacker changes after signing), sent over SMTP.
submit() {
	local mid=$1 from=$2 env=$3 sign=$4 top=$5 ed=${6:-}
	{
		[ -n "$top" ] && printf '%b\n' "$top"
		mta_submission "$from" "$ROBOT" tp1 "$mid" "$sol"
	} > "$T/$mid.raw"
	case $sign in
	test.example) dkim_sign s2026 test.example "$T/dkim/s2026.private" < "$T/$mid.raw" ;;
	evil.example) dkim_sign e1 evil.example "$T/dkim/e1.private" < "$T/$mid.raw" ;;
	*) cat "$T/$mid.raw" ;;
	esac > "$T/$mid.eml"
	[ -n "$ed" ] && sed -i -e "$ed" "$T/$mid.eml"
	smtp_send "$env" "$ROBOT" < "$T/$mid.eml"
}
state() { attempt_of "$1" "a.state || ' ' || coalesce(a.reason, '-')"; }
auth() { attempt_of "$1" m.auth; }
spool() { msql "SELECT spool_file FROM messages WHERE message_id = '$1'"; }
# fields MID: the stored mail's header fields (unfolded), the envelope line dropped
fields() { sed 1d "$(spool "$1")" > "$T/fields.tmp" && mail_headers "$T/fields.tmp"; }
# top_names MID: the names of its first header fields, space-separated
top_names() { fields "$1" | sed -n '1,4s/:.*//p' | tr '\n' ' '; }

# (1) signed and intact
m=signed.$U@$VDOM
mta_ok "a signed submission is taken over SMTP" submit "$m" "$ANA" "$STU1@$VDOM" test.example ""
mta_ok "and stored by sercom-deliver" mta_wait 30 stored_once "$m"
is "$(state "$m")" "QUEUED -" "signed by test.example and intact: queued"
is "$(auth "$m")" "pass: dkim=pass header.d=test.example" "the result of opendkim is recorded"
is "$(top_names "$m")" "Return-Path Authentication-Results Received DKIM-Signature " \
	"layout: opendkim's result above postfix's Received, the sender's fields below"
like "$(fields "$m" | sed -n 2p)" "^Authentication-Results: $ID; +dkim=pass .*header\.d=test\.example" \
	"written by our opendkim, authserv-id $ID"

# (2) the same mail altered after signing: its body, its From:
m=body.$U@$VDOM
submit "$m" "$ANA" "$STU1@$VDOM" test.example "" 's/^My submission\.$/My submission, improved./'
mta_ok "body altered: stored" mta_wait 30 stored_once "$m"
is "$(state "$m")" "REJECTED unauthenticated" "body altered after signing: REJECTED(unauthenticated)"
like "$(auth "$m")" "^fail: dkim=fail header\.d=test\.example" "opendkim's dkim=fail is what sercom read"

m=from.$U@$VDOM
submit "$m" "$ANA" "$STU2@$VDOM" test.example "" "s/^From: Ana Alumna <$STU1@/From: Beto Barrios <$STU2@/"
mta_ok "From: altered: stored" mta_wait 30 stored_once "$m"
is "$(attempt_of "$m" "a.student || ' ' || a.state || ' ' || coalesce(a.reason, '-')")" "s002 REJECTED unauthenticated" \
	"From: changed to Beto after signing (d= still aligned): REJECTED(unauthenticated), as Beto's"
like "$(auth "$m")" "^fail: dkim=fail " "opendkim found the signature broken"

# signed, valid, but by a domain that is not the From:'s
m=evil.$U@$VDOM
submit "$m" "$ANA" attacker@evil.example evil.example ""
mta_ok "signed by evil.example: stored" mta_wait 30 stored_once "$m"
is "$(state "$m")" "REJECTED unauthenticated" "a valid signature of evil.example on From: ana: REJECTED(unauthenticated)"
like "$(auth "$m")" "dkim=pass header\.d=evil\.example \(none passes for test\.example\)" "its dkim=pass is not aligned"

# (3) results the sender wrote
# ours, on an unsigned mail (no result of opendkim above it): header_checks
# drops it on the way in
m=forged-ours.$U@$VDOM
submit "$m" "$ANA" "$STU1@$VDOM" none \
	"Authentication-Results: $ID; spf=pass smtp.mailfrom=test.example;\n dmarc=pass header.from=test.example\nAuthentication-Results: $ID; dkim=pass header.d=test.example"
mta_ok "unsigned, with our results forged: stored" mta_wait 30 stored_once "$m"
is "$(state "$m")" "REJECTED unauthenticated" "forged results with our authserv-id on an unsigned mail: REJECTED(unauthenticated)"
is "$(fields "$m" | grep -c '^Authentication-Results:')" 0 "postfix (header_checks) and opendkim removed them"

# ours, dkim=pass, above a tampered signed mail: below opendkim's real
# result and postfix's Received, wherever it survives
m=forged-below.$U@$VDOM
submit "$m" "$ANA" "$STU1@$VDOM" test.example "Authentication-Results: $ID; dkim=pass header.d=test.example" \
	's/^My submission\.$/My submission!/'
mta_ok "tampered, with our dkim=pass forged: stored" mta_wait 30 stored_once "$m"
is "$(state "$m")" "REJECTED unauthenticated" "a forged dkim=pass of ours on a tampered mail: REJECTED(unauthenticated)"
like "$(auth "$m")" "^fail: dkim=fail " "judged by opendkim's real result"

# a foreign authserv-id: postfix keeps it, sercom ignores it
m=foreign.$U@$VDOM
submit "$m" "$ANA" "$STU1@$VDOM" none "Authentication-Results: mx.evil.example; dkim=pass header.d=test.example; dmarc=pass header.from=test.example"
mta_ok "a foreign authserv-id: stored" mta_wait 30 stored_once "$m"
is "$(top_names "$m")" "Return-Path Received Authentication-Results From " \
	"it reached sercom, right below postfix's Received (no result of opendkim on an unsigned mail)"
is "$(state "$m")" "REJECTED unauthenticated" "results of a foreign authserv-id are ignored: REJECTED(unauthenticated)"

# ours disguised (tests/hostile/mail/forged-authres-disguised.eml): a
# comment before the id, quotes around it; header_checks misses them
m=forged-authres-disguised@evil.example
sed -e "s/mx\.example\.edu/$ID/g" -e "s/example\.edu/$VDOM/g" "$SERCOM_TOP/tests/hostile/mail/forged-authres-disguised.eml" |
	smtp_send attacker@evil.example "$ROBOT"
mta_ok "forged-authres-disguised.eml: stored" mta_wait 30 stored_once "$m"
is "$(fields "$m" | grep -c "^Authentication-Results: (our MX) $ID; spf=pass")" 1 \
	"our id behind a comment reached sercom (header_checks does not match it)"
is "$(state "$m")" "REJECTED unauthenticated" "and is ignored: REJECTED(unauthenticated)"

# (4) grading and replies
ok "postfix queue empty" mta_wait 10 queue_empty
ok "sercom-runner --once" mta_runner
is "$(attempt_of "signed.$U@$VDOM" "state || ' ' || verdict")" "DONE ACCEPTED" "the signed submission is graded: ACCEPTED"
is "$(msql "SELECT count(*) FROM attempts WHERE state = 'REJECTED' AND reason = 'unauthenticated'")" 7 \
	"seven attempts REJECTED(unauthenticated)"
is "$(msql "SELECT count(*) FROM outbox WHERE recipients NOT LIKE '%@$VDOM%' OR recipients LIKE '%evil%'")" 0 \
	"every reply goes to a roster address, none to an envelope sender"
ok "Ana got the graded reply" mta_wait 30 maildir_has "$STU1" "^In-Reply-To: <signed\.$U@$VDOM>"
r=$(maildir_grep "$STU1" "^In-Reply-To: <signed\.$U@$VDOM>" | head -1)
like "$(header "$r" Subject)" "ACCEPTED" "it says ACCEPTED"

# (5) the milter down: postfix answers 4xx (milter_default_action =
# tempfail); nothing enters unverified
closed() { ! perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(PeerAddr => "127.0.0.1:'"$1"'") ? 0 : 1)'; }
for pid in "${_mta_milter_pids[@]}"; do kill "$pid" 2>/dev/null; done
ok "opendkim stopped (its port closed)" mta_wait 10 closed "$OPENDKIM_PORT"
m=nomilter.$U@$VDOM
submit "$m" "$ANA" "$STU1@$VDOM" test.example "" 2> "$T/nomilter.err"
is "$?" 1 "with opendkim down the SMTP transaction fails"
like "$(cat "$T/nomilter.err")" "(^|[^0-9])4[0-9][0-9]([^0-9]|$)" "with a temporary error (the sender's MTA retries)"
is "$(stored "$m")" 0 "and nothing is stored"
done_testing
