#!/bin/bash
# 16-deliver-hostile-names: what sercom-deliver does with mail that attacks
# the intake itself (issue 11, "no student can touch another's grading"):
# - file names that are code for the build's shell or make (attachments,
#   tar.gz and zip entries of tests/hostile/mail/names-*.eml): stored
#   under clean names only, each rename in the attempt's note and the
#   reply, UTF-8 letters kept, a make recipe over them runs nothing;
# - a mail whose archive unpacks to ~50 MB from a student out of attempts:
#   rejected before anything is unpacked, nothing of it kept but the raw
#   mail;
# - a ~141 MB mail (message_size = 10M): exit 0, only its head is kept,
#   rejected too_large, and the reply says how large it was.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
. "$(dirname "$0")/lib-postfix.sh" # mail_part, mail_header (no postfix started)
need_mda
command -v python3 >/dev/null || skip_all "no python3"

H=$SERCOM_TOP/tests/hostile/mail
tmpdir
make_exercises "$T/exercises"
I=$T/inst
SERCOM_EXERCISES=$T/exercises make_instance "$I" || { echo "Bail out! make_instance failed"; exit 1; }
R=$I/replies/new
MARK=/tmp/sercom-pwned-by-a-name
rm -f "$MARK"

last_attempt() { sql "$I" "SELECT max(id) FROM attempts"; }
# the files below DIR, relative, sorted, one per line
tree_of() { (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort); }
# the reply to attempt ID, composed now through the maildir transport
reply_of() {
	sercom -c "$I/sercom.conf" resend "$1" >/dev/null 2>&1 || return 1
	grep -l "^X-Sercom-Attempt: $1\$" "$R"/* 2>/dev/null | tail -1
}
sercom() { "$SERCOM_BIN/sercom" "$@"; }
spool_path() { # the messages.spool_file value, absolute
	case $1 in /*) echo "$1" ;; *) if [ -e "$I/var/$1" ]; then echo "$I/var/$1"; else echo "$I/$1"; fi ;; esac
}

# --- 1. names that are code ------------------------------------------------
# every component of every stored path obeys the rule (mime.c): letters
# and digits of any script, marks, . _ - + ; no leading - or @
bad_components() {
	(cd "$1" && find . -mindepth 1 | sed 's|^\./||' | tr '/' '\n' | LC_ALL=C.UTF-8 grep -Pv '^(?!-)[\p{L}\p{N}\p{M}._+-]+$')
}
expect_flat="_______________.c
__id_.c
_o.c
_q_.c
_x.c
a_b.c
a_b_2.c
a_sh_e.h_.c
e.h
ejercicio_ñ.c
mi_tp.c
niño.c
tp.c
w.h
x.c
x_y_z_.c"
expect_archive="_______________.c
__id_/x.c
_q_.c
_x.c
a_b.c
a_b_2.c
a_sh_e.h_.c
e.h
ejercicio_ñ.c
niño.c
sub_dir/_o.c
tp.c
w.h
x.c
x_y_z_.c"
for m in names-injection names-archive-tgz names-archive-zip; do
	deliver "$I" "$H/$m.eml"; is $? 0 "$m: exit 0"
	aid=$(last_attempt)
	is "$(sql "$I" "SELECT state FROM attempts WHERE id = $aid")" QUEUED "$m: queued"
	sub=$I/var/attempts/$aid/submitted
	case $m in names-injection) want=$expect_flat ;; *) want=$expect_archive ;; esac
	is "$(tree_of "$sub")" "$want" "$m: submitted/ holds the clean names, nothing else"
	is "$(bad_components "$sub")" "" "$m: no stored name has a character a shell or make reads"
	is "$(cat "$sub/a_b.c")" "/* first a_b.c */" "$m: a b.c and a_b.c both kept (a_b.c, a_b_2.c)"
	note=$(sql "$I" "SELECT note FROM attempts WHERE id = $aid")
	echo "# note: $note"
	renamed=$(printf '%s\n' "$note" | grep '^renamed: ')
	# archive entries are named with their folder
	d=; case $m in names-archive-*) d=tp1/ ;; esac
	for pair in "${d}a\`sh<e.h\`.c -> ${d}a_sh_e.h_.c" "${d}@x.c -> ${d}_x.c" "${d}\"q'.c -> ${d}_q_.c" \
	            "${d}x;y|z&.c -> ${d}x_y_z_.c" "${d}a b.c -> ${d}a_b.c" "${d}a_b.c -> ${d}a_b_2.c" \
	            "${d}%:*?[]{}()!#~=^.c -> ${d}_______________.c"; do
		case $renamed in *"$pair"*) ok "$m: the note says $pair" true ;;
			*) ok "$m: the note says $pair" false ;; esac
	done
	case $m in
	names-injection)
		for pair in '-o.c -> _o.c' '$(id).c -> __id_.c' 'mi tp.c -> mi_tp.c'; do
			case $renamed in *"$pair"*) ok "$m: the note says $pair" true ;;
				*) ok "$m: the note says $pair" false ;; esac
		done ;;
	*)
		for pair in 'tp1/sub dir/-o.c -> tp1/sub_dir/_o.c' 'tp1/$(id)/x.c -> tp1/__id_/x.c'; do
			case $renamed in *"$pair"*) ok "$m: the note says $pair" true ;;
				*) ok "$m: the note says $pair" false ;; esac
		done
		like "$(printf '%s\n' "$note" | grep '^skipped: ')" 'evil.c refused: ".." in path.*evil2.c refused: ".." in path' \
			"$m: the .. entries are refused and told"
		ok "$m: nothing escaped" test ! -e "$I/var/attempts/evil.c" -a ! -e "$I/var/attempts/$aid/evil2.c" ;;
	esac
	case $renamed in *niño*|*ejercicio_*) ok "$m: UTF-8 names are not renamed" false ;;
		*) ok "$m: UTF-8 names are not renamed" true ;; esac
	# the attack itself: a recipe that hands the names to the shell and
	# gcc, as the example Makefile's $(wildcard *.c) does, each stored
	# name alone beside the scripts it would run (two odd names at once
	# may only make a syntax error)
	ran=
	for n in $(cd "$sub" && ls | grep '\.c$'); do
		rm -rf "$T/build" && mkdir "$T/build" && cp "$sub/e.h" "$sub/w.h" "$sub/x.c" "$T/build/" &&
			cp "$sub/$n" "$T/build/"
		printf 'all:\n\t@echo $(wildcard *.c) > names.txt\n\t@cc -E $(wildcard *.c) > /dev/null 2>&1 || true\n' > "$T/build/Makefile"
		(cd "$T/build" && make -s >/dev/null 2>&1)
		[ -e "$MARK" ] && ran="$ran $n" && rm -f "$MARK"
	done
	is "$ran" "" "$m: make and gcc over each stored name run no command of the mail's"
	# the reply lists the renames on one line, and no name forged a line
	sql "$I" "UPDATE attempts SET state = 'DONE', verdict = 'ACCEPTED' WHERE id = $aid"
	f=$(reply_of "$aid")
	ok "$m: a reply was composed" test -n "$f"
	text=$(mail_part "$f" "")
	is "$(printf '%s\n' "$text" | grep -c '^Renamed (a shell or make would misread these names): ')" 1 \
		"$m: the reply has one Renamed line"
	line=$(printf '%s\n' "$text" | grep '^Renamed ')
	case $line in *"${d}@x.c -> ${d}_x.c; "*"${d}a\`sh<e.h\`.c -> ${d}a_sh_e.h_.c; "*) ok "$m: the reply names the renames as they were" true ;;
		*) ok "$m: the reply names the renames as they were ($line)" false ;; esac
	is "$(printf '%s\n' "$text" | grep -c -e '^renamed:' -e '^skipped:' -e '^ignored:')" 0 "$m: no raw note line in the reply"
done
rm -f "$MARK"

# --- 2. the archive bomb of a student out of attempts -----------------------
# tp4: max_attempts = 2; carla uses both
for k in 1 2; do
	gen_mail "$T/c$k" "tp4-c$k@example.edu" carla@example.edu tp4
	deliver "$I" "$T/c$k"; is $? 0 "tp4 attempt $k: exit 0"
	sql "$I" "UPDATE attempts SET state = 'DONE', verdict = 'TESTS_FAILED' WHERE exercise = 'tp4' AND state = 'QUEUED'"
done
# ~0.5 MB of mail, ~48 MB unpacked: within unpacked_size (50M) and the
# ratio (200), so it would unpack; LEEME.txt is not accepted (files =
# *.c *.h): unpacking it would leave "ignored:" in the note
bomb_mail() { # FILE [notp]
python3 - "$@" <<'PY'
import base64, io, random, sys, zipfile
r = random.Random(11)
chunk = 65536
buf = io.BytesIO()
with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    if sys.argv[2:] != ['notp']:
        z.writestr('tp.c', 'int main(void){return 0;}\n')
    z.writestr('LEEME.txt', 'hola\n')
    with z.open('big.c', 'w', force_zip64=True) as f:
        for i in range(740):  # 740 x 64 KiB = 46.25 MiB
            f.write(bytes(r.getrandbits(8) for _ in range(420)) + bytes(chunk - 420))
data = buf.getvalue()
with open(sys.argv[1], 'w') as o:
    o.write('From: carla@example.edu\nTo: entregas+tp4@example.edu\nSubject: tp4\n'
            'Message-ID: <tp4-bomb@example.edu>\nMIME-Version: 1.0\n'
            'Content-Type: multipart/mixed; boundary="bb"\n\n--bb\n'
            'Content-Type: application/zip\nContent-Disposition: attachment; filename="tp4.zip"\n'
            'Content-Transfer-Encoding: base64\n\n')
    o.write(base64.encodebytes(data).decode())
    o.write('--bb--\n')
PY
}
bomb_mail "$T/bomb"
raw_kb=$(( $(stat -c %s "$T/bomb") / 1024 ))
echo "# the bomb mail: ${raw_kb} KiB"
ok "the bomb mail is about 0.5 MB" test "$raw_kb" -gt 300 -a "$raw_kb" -lt 800
# it would unpack within the limits (the same mail from a student with
# attempts left is queued and takes ~48 MB)
before=$(du -sk "$I/var/attempts" | cut -f1)
deliver "$I" "$T/bomb"; is $? 0 "bomb from a student out of attempts: exit 0"
aid=$(last_attempt)
is "$(sql "$I" "SELECT state || ':' || reason FROM attempts WHERE id = $aid")" "REJECTED:attempts_exhausted" \
	"bomb: rejected attempts_exhausted"
after=$(du -sk "$I/var/attempts" | cut -f1)
echo "# du -sk var/attempts: $before KiB before, $after KiB after (raw mail $raw_kb KiB)"
ok "bomb: var/attempts grew by less than the raw mail ($((after - before)) KiB < $raw_kb KiB)" \
	test $((after - before)) -lt "$raw_kb"
is "$(tree_of "$I/var/attempts/$aid")" "" "bomb: the rejected attempt keeps no file (submitted/, ignored/)"
is "$(ls -d "$I"/var/attempts/.stage-* 2>/dev/null)" "" "bomb: no staging directory left"
# decided before unpacking: LEEME.txt was never looked at
is "$(sql "$I" "SELECT coalesce(note, '') FROM attempts WHERE id = $aid")" "" \
	"bomb: nothing was unpacked (no ignored: note)"
# the same mail from a student with attempts left unpacks (the bomb is
# within the limits), and a rejection under the lock drops its files too
sed 's/carla@example.edu/beto@example.edu/; s/tp4-bomb@/tp4-bomb-beto@/' "$T/bomb" > "$T/bomb-beto"
deliver "$I" "$T/bomb-beto"; is $? 0 "the same mail from beto: exit 0"
aid=$(last_attempt)
is "$(sql "$I" "SELECT state FROM attempts WHERE id = $aid")" QUEUED "the same mail from beto: queued"
mb=$(( $(du -sk "$I/var/attempts/$aid" | cut -f1) / 1024 ))
ok "the same mail from beto unpacks to ~46 MiB (${mb} MiB)" test "$mb" -ge 40
rm -rf "$I/var/attempts/$aid"
# rejected after unpacking (no tp.c: missing_required, as a rejection
# under the lock in record() would be): the unpacked files go
bomb_mail "$T/bomb-notp" notp
sed -i '1,/^$/{s/carla@example.edu/beto@example.edu/; s/tp4-bomb@/tp4-bomb-notp@/; s/tp4/tp1/g}' "$T/bomb-notp"
before=$(du -sk "$I/var/attempts" | cut -f1)
deliver "$I" "$T/bomb-notp"; is $? 0 "the mail without tp.c: exit 0"
aid=$(last_attempt)
is "$(sql "$I" "SELECT state || ':' || reason FROM attempts WHERE id = $aid")" "REJECTED:missing_required" \
	"the mail without tp.c: rejected missing_required, after unpacking"
after=$(du -sk "$I/var/attempts" | cut -f1)
ok "the mail without tp.c: var/attempts grew by less than the raw mail ($((after - before)) KiB)" \
	test $((after - before)) -lt "$raw_kb"
is "$(tree_of "$I/var/attempts/$aid")" "" "the mail without tp.c: the rejected attempt keeps no file"
like "$(sql "$I" "SELECT note FROM attempts WHERE id = $aid")" '^ignored: LEEME.txt$' \
	"the mail without tp.c: its note still lists what was set aside"

# --- 3. a ~141 MB mail, message_size = 10M (the default) ---------------------
big_mail() {
	printf 'From: beto@example.edu\nTo: entregas+tp1@example.edu\nSubject: tp1 enorme\n'
	printf 'Message-ID: <huge@example.edu>\nMIME-Version: 1.0\n'
	printf 'Content-Type: multipart/mixed; boundary="hh"\n\n--hh\nContent-Type: application/octet-stream\n'
	printf 'Content-Disposition: attachment; filename="video.c"\nContent-Transfer-Encoding: base64\n\n'
	head -c $((104 * 1024 * 1024)) /dev/zero | base64 -w 76
	printf -- '--hh--\n'
}
size=$(big_mail | wc -c)
echo "# the mail: $size bytes"
ok "the mail is ~141 MB" test "$size" -gt 140000000
last=$(sql "$I" "SELECT max(id) FROM messages")
t0=$(date +%s%N)
big_mail | "$SERCOM_BIN/sercom-deliver" -c "$I/sercom.conf" -v 2> "$T/big.err"
ps=("${PIPESTATUS[@]}"); rc=${ps[1]}
is "${ps[0]}" 0 "the MTA's side was read to its end (no broken pipe)"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$rc" 0 "141 MB mail: exit 0 (not 75: the MTA would retry it for days)"
echo "# sercom-deliver took $ms ms"
ingest "$I"
mid=$(sql "$I" "SELECT max(id) FROM messages WHERE id > $last")
sp=$(sql "$I" "SELECT spool_file FROM messages WHERE id = $mid")
sp=$(spool_path "$sp")
kept=$(body "$sp" | wc -c)
ok "the spooled copy is no bigger than message_size ($kept <= 10485760)" test "$kept" -le 10485760
like "$(head -1 "$sp")" "size=0*$size truncated=1 " "the copy's envelope carries the real size"
ok "the copy is the head of the mail" cmp -s <(body "$sp") <(big_mail | head -c "$kept")
aid=$(sql "$I" "SELECT id FROM attempts WHERE message = $mid")
is "$(sql "$I" "SELECT state || ':' || reason || ':' || detail FROM attempts WHERE id = $aid")" \
	"REJECTED:too_large:message:10485760:$size" "rejected too_large, with the limit and the real size"
is "$(tree_of "$I/var/attempts/$aid")" "" "nothing unpacked for it"
f=$(reply_of "$aid")
ok "a reply was composed" test -n "$f"
human=$(python3 -c "print('%.1f MiB' % ($size / 1048576))")
like "$(mail_part "$f" "")" "Your mail is too large: $human, the limit is 10 MiB" "the reply says how large it was ($human)"
varkb=$(du -sk "$I/var" | cut -f1)
ok "nothing of that size stays on disk (var/ is $varkb KiB)" test "$varkb" -lt $((30 * 1024))

done_testing
