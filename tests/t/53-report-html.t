#!/bin/bash
# 53-report-html: report.html, the result page (src/report.c), as a student
# opens it: taken back out of a composed reply (so the MIME round trip is
# part of the test), then rendered by headless Chromium (Debian's chromium)
# at 1100 and 400 px wide, in English and Spanish. The screenshots are kept
# under tests/out/ (report-LANG-WIDTH.png) for people to look at.
#
# Checked: the page fits a 400 px screen (the page is loaded in an iframe
# that wide and its scroll width measured: nothing sticks out sideways,
# the side-by-side diffs wrap or scroll inside their box), it has no
# script, and the Spanish page holds no English verdict or case word. The
# pages are the goldens of tests/unit/test_report.c (report.html,
# report-es.html); when the whole pipeline can run here (root: the
# sandbox), a real submission is graded by an English and by a Spanish
# instance and their replies' report.html go through the same checks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-postfix.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser)
[ -n "$CHROMIUM" ] || skip_all "chromium is not installed (make deps)"
[ -x "$SERCOM_BIN/sercom" ] || skip_all "bin/sercom not built"
tmpdir
OUT=$SERCOM_TOP/tests/out
mkdir -p "$OUT"
G=$SERCOM_TOP/tests/golden

mkdir -p "$T/ex"
fx_exercise "$T/ex"
I=$T/i
C=$I/sercom.conf
SERCOM_EXERCISES=$T/ex make_instance "$I" || { echo "not ok - sercom init"; exit 1; }

not() { ! "$@"; }
# unlike TEXT REGEX NAME
unlike() { ok "$3" not grep -qE -- "$2" <<<"$1"; }
# chromium ARGS...: headless, bounded in time, no network, a fresh profile
chromium() {
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--hide-scrollbars --user-data-dir="$(mktemp -d "$T/chromium.XXXXXX")" "$@" 2>>"$T/chromium.log"
}
# shot HTML PNG WIDTH: a screenshot of the page's top 2400 px
shot() { chromium --screenshot="$2" --window-size="$3,2400" "file://$1" >/dev/null; }
# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk
png_size() { perl -e 'open my $f, "<:raw", $ARGV[0] or die; read $f, my $b, 24; my ($sig, $w, $h) = unpack "a8 x8 N N", $b; print $sig eq "\x89PNG\r\n\x1a\n" ? "${w}x$h" : "not a png"' "$1"; }
bytes() { stat -c %s "$1"; }
# fit HTML WIDTH: "SCROLLxCLIENT" of the page laid out in a WIDTH px iframe
# (a window cannot be narrower than 500 px; an iframe can, and the page's
# media queries see its width). The probe's script is the test's, never
# the page's.
fit() {
	local d
	d=$(mktemp -d "$T/fit.XXXXXX")
	cp "$1" "$d/page.html"
	cat > "$d/probe.html" <<EOF
<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="page.html" style="width:${2}px;height:900px;border:0"></iframe>
<script>
window.addEventListener("load", function () {
  var d = document.getElementById("f").contentDocument;
  document.body.setAttribute("data-fit", d ? d.documentElement.scrollWidth + "x" + d.documentElement.clientWidth : "none");
});
</script></body></html>
EOF
	chromium --allow-file-access-from-files --window-size=1300,1000 --dump-dom "file://$d/probe.html" |
		perl -ne 'print "$1\n" if /data-fit="([^"]*)"/'
}
fits() { local f; f=$(fit "$1" "$2"); echo "# $1 at $2 px: scroll width x client width $f"; [ -n "$f" ] && [ "${f%x*}" -le "${f#*x}" ]; }
# visible FILE: what a reader sees of a page as chromium parsed it: the
# text and the data-label/title values (shown on a phone, or hovered);
# not the CSS, tags or class names
visible() {
	chromium --dump-dom "file://$1" | perl -0777 -pe 's{<style>.*?</style>}{}gs; s{(?:data-label|title)="([^"]*)"}{> $1 <}g; s{<[^>]*>}{ }g'
}
ENGLISH='ACCEPTED|TESTS FAILED|TESTS_FAILED|BUILD FAILED|WRONG_OUTPUT|WRONG_EXIT|TIME_LIMIT|SIGNAL|PASS|passed|failed|expected|differs|exceeded|Score|Case|Result|Memory|Command|yours|killed'
english_words() { grep -owE "$ENGLISH" "$1" | sort -u | tr '\n' ' '; }

# check LANG HTML NAME: the screenshots and the layout and language checks
check() {
	local lang=$1 page=$2 name=$3 w
	for w in 1100 400; do
		ok "$name: chromium screenshots it at $w px" shot "$page" "$OUT/$name-$w.png" "$w"
		is "$(png_size "$OUT/$name-$w.png")" "${w}x2400" "$name: a ${w}x2400 PNG (tests/out/$name-$w.png)"
		ok "$name: not blank ($(bytes "$OUT/$name-$w.png") bytes > 3 x blank $blank)" \
			test "$(bytes "$OUT/$name-$w.png")" -gt $((3 * blank))
		ok "$name: fits $w px (nothing wider than the screen)" fits "$page" "$w"
	done
	ok "$name: no script" not grep -qi '<script' "$page"
	ok "$name: a viewport for phones" grep -q '<meta name="viewport" content="width=device-width' "$page"
	visible "$page" > "$T/$name.txt"
	if [ "$lang" = es ]; then
		like "$(cat "$T/$name.txt")" 'Prueba' "$name: chromium shows the Spanish words"
		is "$(english_words "$T/$name.txt")" "" "$name: no English verdict or case word"
	else
		like "$(cat "$T/$name.txt")" 'TESTS FAILED' "$name: the verdict in words"
	fi
}

printf '<!doctype html><html><body></body></html>\n' > "$T/blank.html"
ok "chromium screenshots a blank page" shot "$T/blank.html" "$T/blank.png" 400
blank=$(bytes "$T/blank.png")

# the probes themselves: a page with a 1000 px box does not fit; a Spanish
# page with an English word is caught
sed 's#<body>#<body><div style="width:1000px">wide</div>#' "$G/report.html" > "$T/wide.html"
ok "the layout probe sees a page wider than 400 px" not fits "$T/wide.html" 400
sed 's#<p class="verdict">FALLA PRUEBAS</p>#<p class="verdict">TESTS FAILED</p>#' "$G/report-es.html" > "$T/mixed.html"
visible "$T/mixed.html" > "$T/mixed.txt"
is "$(english_words "$T/mixed.txt")" "TESTS FAILED " "the language check sees an English verdict on a Spanish page"

# the golden page, attached to a reply and taken back out
id=$(fx_attempt "$I" ana@example.edu DONE TESTS_FAILED 1)
fx_failed_report "$I" "$id"
ok "reply composed" quiet sercom -c "$C" resend "$id"
f=$(ls "$I/replies/new"/* | head -1)
mail_part "$f" report.html > "$T/report.html"
ok "report.html survives the MIME round trip byte for byte" cmp -s "$T/report.html" "$G/report.html"
cp "$T/report.html" "$OUT/report.html"
cp "$G/report-es.html" "$OUT/report-es.html"
check en "$T/report.html" report-en
check es "$G/report-es.html" report-es
dom=$(chromium --dump-dom "file://$T/report.html")
like "$dom" '<table class="cases"' "chromium parsed the table of cases"
like "$dom" '<table class="diff"' "and the side-by-side diff"

# --- the whole pipeline, when it can run here ------------------------------------
# our own programs failing is a failure; only a machine that cannot run the
# sandbox (not root) skips this part, loudly
if [ "$(id -u)" = 0 ]; then
	d=$T/ex/tp1
	printf '2 -3\n' > "$d/tests/02-negative/stdin"
	printf -- '-1\n' > "$d/tests/02-negative/stdout"
	printf '[case]\nexit = 0\nargs = --mode "a b"\n' > "$d/tests/02-negative/case.conf"
	I2=$T/i2
	SERCOM_EXERCISES=$T/ex make_instance "$I2" || echo "# second instance failed"
	sed -i 's/^language = .*/language = es/' "$I2/sercom.conf"
	for inst in "$I" "$I2"; do
		sed "s/graded-1@/graded-$(basename "$inst")@/" > "$T/sub.eml" <<'EOF'
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
		ok "$(basename "$inst"): sercom-deliver stores the submission" sercom-deliver -c "$inst/sercom.conf" < "$T/sub.eml"
		ok "$(basename "$inst"): sercom-runner --once grades it" quiet timeout 120 sercom-runner -c "$inst/sercom.conf" --once
	done
	g=$(grep -l 'graded-i@example.edu' "$I/replies/new"/* 2>/dev/null | head -1)
	ok "the reply carries a report.html" eval 'mail_part "$g" report.html > "$T/graded-en.html" && [ -s "$T/graded-en.html" ]'
	g=$(grep -l 'graded-i2@example.edu' "$I2/replies/new"/* 2>/dev/null | head -1)
	ok "the Spanish reply carries a report.html" eval 'mail_part "$g" report.html > "$T/graded-es.html" && [ -s "$T/graded-es.html" ]'
	cp "$T/graded-en.html" "$OUT/report-graded-en.html"
	cp "$T/graded-es.html" "$OUT/report-graded-es.html"
	check en "$T/graded-en.html" report-graded-en
	check es "$T/graded-es.html" report-graded-es
	gtext=$(tr -s ' \n' ' ' < "$T/report-graded-en.txt")
	like "$gtext" 'Score: 4 of 5 \(public cases\)' "the score at the top"
	like "$gtext" '01-basic .*passed.* 02-negative .*stdout differs.* 03-crash .* 04-slow .* 05-exit ' \
		"every public case in the table"
	like "$gtext" '[0-9.]+ m?s / 2 s' "time against the limit"
	unlike "$gtext" '06-private' "no private case"
	ok "the staff's private/full.html has it" grep -q '06-private' "$I"/var/attempts/*/report/private/full.html
	like "$gtext" "Command line \./tp --mode 'a b' Standard input 2 -3" "the failing case's command line and stdin"
	gdom=$(chromium --dump-dom "file://$T/graded-en.html" | tr -d '\n')
	like "$gdom" 'class="t del"><span class="x">-1</span>.*class="t add"><span class="x">5</span>' \
		"the expected -1 struck out beside the actual 5"
	like "$(tr -s ' \n' ' ' < "$T/report-graded-es.txt")" 'Puntaje: 4 de 5 .* difiere la salida estándar' \
		"the Spanish page: score and result in Spanish"
else
	for n in $(seq 37); do _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP NOT ROOT: the sandbox cannot grade here"; done
fi

done_testing
