#!/usr/bin/env bash
# Issue 16, Shows: a man page for every program and file format (man/),
# each rendered with `man -l` without a warning (mandoc -Tlint, groff -ww),
# and each lists what the program says it takes: every --long option of
# its --help (usage for sercom-deliver), every command of `sercom --help`
# with the options of `sercom COMMAND --help`, every key src/ reads from
# sercom.conf, exercise.conf and case.conf. A self-check removes an option
# from a copy of a page and sees the check fail.
. "$(dirname "$0")/lib.sh"

for p in sercom sercom-deliver sercom-runner sercom-sandbox; do
	[ -x "$SERCOM_BIN/$p" ] || { echo "Bail out! $SERCOM_BIN/$p not built"; exit 1; }
done
command -v man >/dev/null || skip_all "man (man-db) missing"
command -v python3 >/dev/null || skip_all "python3 missing"
tmpdir
MAN=$SERCOM_TOP/man
PAGES="sercom.1 sercom-sandbox.1 sercom.conf.5 sercom-exercise.5 sercom-deliver.8 sercom-runner.8"

# render PAGE: plain ASCII text (LC_ALL=C: an option's "-" stays "-"), wide
# enough that no option is broken across lines
render() { LC_ALL=C MANWIDTH=300 man -l "$1" 2>/dev/null | col -bx; }

# --- every page renders cleanly -------------------------------------------
for p in $PAGES; do
	f=$MAN/$p
	ok "$p exists" test -s "$f"
	name=${p%.[0-9]}
	like "$(render "$f" | sed -n '/^NAME/,/^[A-Z]/p')" "^ +$name -+ " "$p: man -l renders its NAME ($name -- ...)"
	# what lintian runs on a packaged page (man-db's groff with warnings)
	w=$(LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null)
	is "$w" "" "$p: man --warnings -l says nothing"
	if command -v mandoc >/dev/null; then
		is "$(mandoc -Tlint -W warning "$f" 2>&1)" "" "$p: mandoc -Tlint -W warning is clean"
	else
		skip "mandoc missing (apt-get install mandoc)"
	fi
	if command -v groff >/dev/null; then
		is "$(groff -ww -mandoc -z -Tutf8 "$f" 2>&1)" "" "$p: groff -ww -mandoc is clean"
	else
		skip "groff missing"
	fi
done

# missing_opts PAGE HELPFILE: prints each --option of HELPFILE the rendered
# PAGE does not name (as a word: --state is not found in --statex)
missing_opts() {
	render "$1" > "$T/page.txt"
	python3 - "$T/page.txt" "$2" <<'PY'
import re, sys
page = open(sys.argv[1]).read()
help_ = open(sys.argv[2]).read()
for o in sorted(set(re.findall(r'(?<![\w-])--[a-z][a-z0-9-]*', help_))):
    if not re.search(r'(?<![\w-])' + re.escape(o) + r'(?![\w-])', page):
        print(o)
PY
}

# --- the programs' options ------------------------------------------------
for prog in sercom-deliver:8 sercom-runner:8 sercom-sandbox:1; do
	p=${prog%:*}
	"$SERCOM_BIN/$p" --help > "$T/$p.help" 2>&1
	n=$(grep -Eoc -- '--[a-z]' "$T/$p.help")
	ok "$p --help lists options ($n lines)" test "$n" -ge 3
	is "$(missing_opts "$MAN/$p.${prog#*:}" "$T/$p.help" | tr '\n' ' ')" "" \
		"$p.${prog#*:} names every option of $p --help"
done

# --- sercom: each command, and each command's options in its own entry -----
"$SERCOM_BIN/sercom" --help > "$T/sercom.help" 2>&1
cmds=$(sed -n '/^commands:/,/^$/p' "$T/sercom.help" | awk 'NR > 1 && $1 ~ /^[a-z]/ { print $1 }')
ok "sercom --help lists commands ($(echo $cmds | wc -w))" test "$(echo $cmds | wc -w)" -ge 10
is "$(missing_opts "$MAN/sercom.1" "$T/sercom.help" | tr '\n' ' ')" "" "sercom.1 names every option of sercom --help"

# cmd_entry PAGE CMD: the mdoc source of every `.It Cm CMD ...` entry of the
# COMMANDS list (up to the next command or section), rendered to text
cmd_entry() {
	awk -v c="$2" '
		/^\.Sh / { sec = $2; on = 0 }
		sec == "COMMANDS" && /^\.It Cm / { on = ($3 == c) }
		on && sec == "COMMANDS" { print }
	' "$1"
}
bad_cmds=""
for c in $cmds; do
	cmd_entry "$MAN/sercom.1" "$c" > "$T/entry.mdoc"
	if [ ! -s "$T/entry.mdoc" ]; then bad_cmds="$bad_cmds $c(no entry)"; continue; fi
	"$SERCOM_BIN/sercom" "$c" --help > "$T/cmd.help" 2>&1
	# the entry alone, as a page of its own, so an option named only
	# under another command does not count
	{ printf '.Dd x\n.Dt X 1\n.Os\n.Sh NAME\n.Nm x\n.Nd x\n.Sh COMMANDS\n.Bl -tag -width Ds\n'
	  cat "$T/entry.mdoc"; printf '.El\n'; } > "$T/entry.1"
	m=$(missing_opts "$T/entry.1" "$T/cmd.help" | grep -vx -- '--help' | tr '\n' ' ')
	[ -z "$m" ] || bad_cmds="$bad_cmds $c:$m"
done
is "$bad_cmds" "" "sercom.1 has an entry for every command of sercom --help, naming its options"

# --- the file formats: every key the code reads ----------------------------
# keys_in PAGE: the words the page marks up with Cm (keys, values, commands)
keys_in() { grep -E '^\.(It|Pq|Cm)|Cm ' "$1" | tr -s ' ,' '\n\n' | sort -u; }
# conf keys: "group", "key" pairs in src/ (conf.c, transport.c), and the
# [limits] keys conf_read_limits reads through `group`
conf_keys=$( { cat "$SERCOM_TOP"/src/*.c |
		grep -oE '"(general|mail|sandbox|limits|build-limits)", *"[a-z_]+"'
	grep -oE 'group, *"[a-z_]+"' "$SERCOM_TOP/src/conf.c"; } |
	sed -E 's/.*"([a-z_]+)"$/\1/' | sort -u)
ok "src/ reads some sercom.conf keys ($(echo $conf_keys | wc -w))" test "$(echo $conf_keys | wc -w)" -ge 30
keys_in "$MAN/sercom.conf.5" > "$T/conf.keys"
m=$(for k in $conf_keys; do grep -qx -- "$k" "$T/conf.keys" || echo "$k"; done | tr '\n' ' ')
is "$m" "" "sercom.conf.5 names every key src/ reads"
# exercise.conf and case.conf: the lists exercise.c accepts (unknown keys
# are an error there, so these lists are complete)
ex_keys=$(python3 - "$SERCOM_TOP/src/exercise.c" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
for body in re.findall(r'static const char \*const \w+_keys\[\] = \{(.*?)\};', src, re.S):
    print(' '.join(re.findall(r'"([a-z_]+)"', body)))
PY
)
ok "src/exercise.c lists exercise and case keys ($(echo $ex_keys | wc -w))" test "$(echo $ex_keys | wc -w)" -ge 20
keys_in "$MAN/sercom-exercise.5" > "$T/ex.keys"
m=$(for k in $ex_keys; do grep -qx -- "$k" "$T/ex.keys" || echo "$k"; done | sort -u | tr '\n' ' ')
is "$m" "" "sercom-exercise.5 names every key of exercise.conf and case.conf"

# --- the check can fail --------------------------------------------------
# a copy of sercom-runner.8 that never names --once: the check names it
sed 's/Fl -once/Fl -other/g' "$MAN/sercom-runner.8" > "$T/broken.8"
"$SERCOM_BIN/sercom-runner" --help > "$T/runner.help" 2>&1
is "$(missing_opts "$T/broken.8" "$T/runner.help" | tr '\n' ' ')" "--once " \
	"self-check: a page missing --once is caught"
# and a sercom command whose entry lacks an option
cmd_entry "$MAN/sercom.1" attempts | sed 's/Fl -state/Fl -other/g' > "$T/entry.mdoc"
{ printf '.Dd x\n.Dt X 1\n.Os\n.Sh NAME\n.Nm x\n.Nd x\n.Sh COMMANDS\n.Bl -tag -width Ds\n'
  cat "$T/entry.mdoc"; printf '.El\n'; } > "$T/entry.1"
"$SERCOM_BIN/sercom" attempts --help > "$T/cmd.help" 2>&1
is "$(missing_opts "$T/entry.1" "$T/cmd.help" | grep -vx -- --help | tr '\n' ' ')" "--state " \
	"self-check: a command entry missing --state is caught"

done_testing
