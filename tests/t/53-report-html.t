#!/bin/bash
# 53-report-html: the report.html attached to a reply, taken back out of the
# composed message (so the MIME encoding round trip is part of the test),
# opened in headless Chromium (Debian's chromium): a screenshot is taken, its
# size and dimensions checked, and it is kept as tests/out/report.png (and
# the page as tests/out/report.html) for people to look at.
#
# The page is tests/golden/report.html, made by src/diff.c's diff_html_page()
# (two sections: a changed stdout with changed parts highlighted, and an
# output file with a NUL byte, shown as binary). When the whole pipeline can
# run here (sercom-deliver, sercom-runner and a working sandbox), a real
# submission is graded too and its reply's report.html rendered as
# tests/out/report-graded.png.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-postfix.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser)
[ -n "$CHROMIUM" ] || skip_all "chromium is not installed (make deps)"
[ -x "$SERCOM_BIN/sercom" ] || skip_all "bin/sercom not built"
tmpdir
OUT=$SERCOM_TOP/tests/out
mkdir -p "$OUT"

mkdir -p "$T/ex"
fx_exercise "$T/ex"
I=$T/i
C=$I/sercom.conf
SERCOM_EXERCISES=$T/ex make_instance "$I" || { echo "not ok - sercom init"; exit 1; }

# shot HTML PNG: headless screenshot, bounded in time, no network, no profile
shot() {
	local prof
	prof=$(mktemp -d "$T/chromium.XXXXXX")
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$prof" --screenshot="$2" --window-size=1200,900 "file://$1" >"$T/chromium.log" 2>&1
}
# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk
png_size() { perl -e 'open my $f, "<:raw", $ARGV[0] or die; read $f, my $b, 24; my ($sig, $w, $h) = unpack "a8 x8 N N", $b; print $sig eq "\x89PNG\r\n\x1a\n" ? "${w}x$h" : "not a png"' "$1"; }
bytes() { stat -c %s "$1"; }

id=$(fx_attempt "$I" ana@example.edu DONE TESTS_FAILED 1)
fx_failed_report "$I" "$id"
ok "reply composed" quiet sercom -c "$C" resend "$id"
f=$(ls "$I/replies/new"/* | head -1)
mail_part "$f" report.html > "$T/report.html"
ok "report.html survives the MIME round trip byte for byte" cmp -s "$T/report.html" "$SERCOM_TOP/tests/golden/report.html"
cp "$T/report.html" "$OUT/report.html"

printf '<!doctype html><html><body></body></html>\n' > "$T/blank.html"
ok "chromium screenshots a blank page" shot "$T/blank.html" "$T/blank.png"
ok "chromium screenshots report.html" shot "$T/report.html" "$OUT/report.png"
is "$(png_size "$OUT/report.png")" "1200x900" "a 1200x900 PNG"
blank=$(bytes "$T/blank.png")
got=$(bytes "$OUT/report.png")
echo "# screenshot $got bytes, blank page $blank bytes"
ok "the page is not blank (screenshot $got bytes > 3 x blank $blank)" test "$got" -gt $((3 * blank))
dom=$(timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$(mktemp -d "$T/chromium.XXXXXX")" --dump-dom "file://$T/report.html" 2>/dev/null)
like "$dom" '<table class="diff"' "chromium parsed the side-by-side table"
like "$dom" 'case 02-negative: stdout' "with its caption"

# --- the whole pipeline, when it can run here ------------------------------------
# our own programs failing is a failure; only a machine that cannot run the
# sandbox (not root) skips this part, loudly
if [ "$(id -u)" = 0 ]; then
	d=$T/ex/tp1
	printf '2 -3\n' > "$d/tests/02-negative/stdin"
	printf -- '-1\n' > "$d/tests/02-negative/stdout"
	cat > "$T/sub.eml" <<'EOF'
From: Ana Alumna <ana@example.edu>
To: tp@example.edu
Subject: tp1
Message-ID: <graded-1@example.edu>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

my work
--b
Content-Type: text/x-c; name="tp.c"
Content-Disposition: attachment; filename="tp.c"

#include <stdio.h>
int main(void) { int a, b; if (scanf("%d %d", &a, &b) != 2) return 0; printf("%d\n", a - b); return 0; }
--b--
EOF
	ok "sercom-deliver stores the graded submission" sercom-deliver -c "$C" < "$T/sub.eml"
	ok "sercom-runner --once grades it" quiet timeout 120 sercom-runner -c "$C" --once
	g=$(grep -l 'graded-1@example.edu' "$I/replies/new"/* 2>/dev/null | head -1)
	ok "its reply carries a report.html" eval 'mail_part "$g" report.html > "$T/graded.html" && [ -s "$T/graded.html" ]'
	cp "$T/graded.html" "$OUT/report-graded.html"
	# what today's renderer wrote, as chromium parses it: the failing case's
	# side-by-side table with the expected -1 and the program's 5
	gdom=$(timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$T/chromium.XXXXXX")" --dump-dom "file://$T/graded.html" 2>/dev/null)
	like "$gdom" '<table class="diff"' "the graded report has a side-by-side table"
	like "$gdom" '02-negative' "captioned with the failing case"
	like "$(printf '%s' "$gdom" | tr -d '\n')" 'class="t del"><span class="x">-1</span>.*class="t add"><span class="x">5</span>' \
		"the expected -1 struck out beside the actual 5"
	ok "chromium screenshots the graded reply's report.html" shot "$T/graded.html" "$OUT/report-graded.png"
	is "$(png_size "$OUT/report-graded.png")" "1200x900" "a 1200x900 PNG"
	ok "not blank" test "$(bytes "$OUT/report-graded.png")" -gt $((3 * blank))
else
	for n in $(seq 9); do _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP NOT ROOT: the sandbox cannot grade here"; done
fi

done_testing
