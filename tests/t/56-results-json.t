#!/bin/bash
# 56-results-json: results.json (README "results.json") checked against its
# JSON Schema, tests/results.schema.json, with Debian's python3-jsonschema:
#  - every golden results.json of tests/golden/compose (en, es), written by
#    tests/unit/test_compose.c from the same composer as the replies;
#  - copies with a required field removed, at the top and in a test, must
#    fail (the schema is not a rubber stamp);
#  - when the sandbox can run here (root), a real submission graded by
#    sercom-runner: the results.json of its reply, and `sercom show ID
#    --format json`, which adds the private case.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-postfix.sh"

# Debian's jsonschema (python3-jsonschema, make deps): /usr/bin/python3 even
# when another python3 comes first in PATH
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
"$PY" -c 'import jsonschema' 2>/dev/null || skip_all "python3-jsonschema is not installed (make deps)"
[ -x "$SERCOM_BIN/sercom" ] || skip_all "bin/sercom not built"
SCHEMA=$SERCOM_TOP/tests/results.schema.json
tmpdir

# validate FILE...: exit 0 when every file is valid; the errors on stdout
validate() {
	"$PY" - "$SCHEMA" "$@" <<'PY'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = 0
for f in sys.argv[2:]:
    for e in v.iter_errors(json.load(open(f))):
        print("# %s: %s at %s" % (f, e.message, "/".join(map(str, e.absolute_path))))
        bad = 1
sys.exit(bad)
PY
}

n=0
for lang in en es; do
	files=("$SERCOM_TOP"/tests/golden/compose/$lang/*.results.json)
	ok "the $lang goldens exist (${#files[@]} files)" test "${#files[@]}" -ge 9 -a -f "${files[0]}"
	ok "every $lang golden results.json is valid" validate "${files[@]}"
	n=$((n + ${#files[@]}))
done

# the goldens cover the scenarios of issue 15
g=$SERCOM_TOP/tests/golden/compose/en
like "$(cat "$g/SCORE-late.results.json")" '"late_days": 2,' "a late attempt says its days"
like "$(cat "$g/SCORE-late.results.json")" '"grade": 3.2' "and its grade after the penalty"
like "$(tr -d '\n ' < "$g/SCORE-group_zero.results.json")" '"name":"03-edge-a","score":0,"max_score":2,"status":"passed"' \
	"a passed case whose group failed earns 0"

# broken copies: the schema must refuse them
f=$g/SCORE-partial.results.json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["score"]; json.dump(d, open(sys.argv[2], "w"))' "$f" "$T/no-score.json"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["tests"][0]["visibility"]; json.dump(d, open(sys.argv[2], "w"))' "$f" "$T/no-visibility.json"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); d["tests"][1]["status"]="partial"; json.dump(d, open(sys.argv[2], "w"))' "$f" "$T/bad-status.json"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); d["tests"][0]["resources"]["cpu_ms"]="12"; json.dump(d, open(sys.argv[2], "w"))' "$f" "$T/bad-cpu.json"
for b in no-score no-visibility bad-status bad-cpu; do
	out=$(validate "$T/$b.json")
	ok "$b.json is refused" test $? -ne 0
done
like "$(validate "$T/no-score.json")" "'score' is a required property" "and the error names the field"

# --- a real grading ------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$T/ex"
	fx_exercise "$T/ex"
	d=$T/ex/tp1
	printf '[exercise]\ntitle = Sum\nmax_attempts = 50\nfiles = *.c *.h\nrequired = tp.c\ncharge_build_failures = no\n[limits]\ncpu = 2s\n' > "$d/exercise.conf"
	printf '[case]\npoints = 2\nargs = -x "a b"\n' > "$d/tests/02-negative/case.conf"
	printf '2 -3\n' > "$d/tests/02-negative/stdin"
	printf -- '-1\n' > "$d/tests/02-negative/stdout"
	I=$T/i
	C=$I/sercom.conf
	SERCOM_EXERCISES=$T/ex make_instance "$I" || { echo "not ok - sercom init"; exit 1; }
	cat > "$T/sub.eml" <<'MAIL'
From: Ana Alumna <ana@example.edu>
To: tp@example.edu
Subject: tp1
Message-ID: <json-1@example.edu>
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
MAIL
	ok "sercom-deliver stores the submission" sercom-deliver -c "$C" < "$T/sub.eml"
	ok "sercom-runner --once grades it" quiet timeout 120 sercom-runner -c "$C" --once
	r=$(grep -l 'json-1@example.edu' "$I/replies/new"/* 2>/dev/null | head -1)
	ok "its reply carries results.json" eval 'mail_part "$r" results.json > "$T/graded.json" && [ -s "$T/graded.json" ]'
	ok "the graded results.json is valid" validate "$T/graded.json"
	like "$(cat "$T/graded.json")" '"name": "02-negative"' "it lists the failing case"
	unlike_private=$(grep -c '06-private' "$T/graded.json")
	is "$unlike_private" 0 "and never the private case"
	summary=$(mail_part "$r" "")
	like "$summary" "Command: ./tp -x 'a b'" "the reply shows the failing case's command line"
	like "$summary" "Standard input \\(5 bytes\\):" "and its stdin"
	id=$(sql "$I" "SELECT id FROM attempts ORDER BY id DESC LIMIT 1")
	ok "sercom show --format json" eval 'sercom -c "$C" show "$id" --format json > "$T/show.json"'
	ok "its output is valid" validate "$T/show.json"
	like "$(cat "$T/show.json")" '"visibility": "hidden"' "with the private case, hidden"
else
	for k in $(seq 11); do _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP NOT ROOT: the sandbox cannot grade here"; done
fi

done_testing
