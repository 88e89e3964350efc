# lib-auth.sh: helpers of the sender-authentication tests (18, 19, 66),
# sourced after lib.sh and deliver-lib.sh.

# auth_mail FILE MESSAGE-ID FROM SUBJECT TPC [TOP_HEADERS]: a submission
# of the file TPC (attached as tp.c, base64), with TOP_HEADERS (lines,
# "\n"-separated) above everything else, as an MTA prepends them.
auth_mail() {
	local f=$1 mid=$2 from=$3 subj=$4 tpc=$5 top=${6:-}
	{
		[ -n "$top" ] && printf '%b\n' "$top"
		printf 'From: %s\nTo: entregas+tp1@example.edu\nSubject: %s\n' "$from" "$subj"
		printf 'Message-ID: <%s>\nDate: Thu, 5 Mar 2026 10:00:00 -0300\nMIME-Version: 1.0\n' "$mid"
		printf 'Content-Type: multipart/mixed; boundary="b-%s"\n\n' "$mid"
		printf -- '--b-%s\nContent-Type: text/plain; charset=UTF-8\n\nHola.\n\n' "$mid"
		printf -- '--b-%s\nContent-Type: text/x-csrc; name="tp.c"\n' "$mid"
		printf 'Content-Disposition: attachment; filename="tp.c"\nContent-Transfer-Encoding: base64\n\n'
		base64 -w 76 < "$tpc"
		printf '\n--b-%s--\n' "$mid"
	} > "$f"
}

# replies INSTANCE: one line per reply in the instance's maildir:replies,
# "TO<TAB>SUBJECT<TAB>FILE"
replies() {
	python3 - "$1/replies" <<'PY'
import email, glob, os, sys
from email import policy
for d in ("new", "cur"):
    for f in sorted(glob.glob(os.path.join(sys.argv[1], d, "*"))):
        m = email.message_from_binary_file(open(f, "rb"), policy=policy.default)
        print("%s\t%s\t%s" % (m["To"], m["Subject"], f))
PY
}

# reply_text FILE: the decoded text/plain summary of a reply.
reply_text() {
	python3 - "$1" <<'PY'
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
for p in m.walk():
    if p.get_content_type() == "text/plain" and not p.get_filename():
        sys.stdout.write(p.get_content())
        break
PY
}
