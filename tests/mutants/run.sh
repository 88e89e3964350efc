#!/usr/bin/env bash
# tests/mutants/run.sh [NAME...]: the mutation check (`make mutants`).
#
# Each block of tests/mutants/list names a meaningful mutation of src/ (a
# file, one line's exact text before and after) and the tests that promise
# to catch it. Every mutation is applied, alone, to a scratch copy of the
# checkout, which is built and the named tests run: a mutation whose tests
# all pass SURVIVED, and a survivor fails the check. So does a mutation
# whose line is no longer in the file (or is there twice), or one that
# does not build: the list must follow the code. Prints one line per
# mutation (and the test that killed it) and a summary.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
LIST=$TOP/tests/mutants/list
: "${MUTANTS_JOBS:=2}"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/sercom-mutants.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
S=$scratch/sercom
# the copy: the files git knows (tracked, or new and not ignored) as they
# are in the work tree
mkdir -p "$S"
(cd "$TOP" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$S" 2>/dev/null)
UNITS=$(cd "$S" && ls tests/unit/test_*.c | sed 's,tests/unit/test_\(.*\)\.c,build/tests/test_\1,')
build() { make -C "$S" -s -j"$MUTANTS_JOBS" all $UNITS >"$scratch/build.log" 2>&1; }
echo "# building the unmutated copy in $S"
build || { echo "the unmutated copy does not build:"; tail -20 "$scratch/build.log"; exit 2; }

# run_test T: 0 when test T passes on the (mutated) copy
run_test() {
	local t=$1
	case $t in
	build/tests/*) (cd "$S" && timeout 600 "./$t" >"$scratch/test.log" 2>&1) ;;
	tests/t/*) (cd "$S" && SERCOM_BIN=$S/bin SERCOM_TOP=$S timeout 900 prove "$t" >"$scratch/test.log" 2>&1) ;;
	*) echo "# unknown test $t" >"$scratch/test.log"; return 2 ;;
	esac
}

# the list: blocks of "name:", "file:", "before:", "after:", "tests:" lines
# ("before:"/"after:" take the rest of the line after one space, as is)
mapfile -t blocks < <(awk '
	/^name: / { if (n) print rec; n = 1; rec = substr($0, 7); next }
	/^(file|before|after|tests): / { i = index($0, ": "); rec = rec "\x1f" substr($0, i + 2); next }
	END { if (n) print rec }' "$LIST")

total=0 killed=0 bad=0
printf '%-34s %-10s %s\n' "mutation" "result" "killed by"
for b in "${blocks[@]}"; do
	IFS=$'\x1f' read -r name file before after tests <<<"$b"
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
	total=$((total + 1))
	f=$S/$file
	n=$(grep -cxF -- "$before" "$f" 2>/dev/null)
	if [ "$n" != 1 ]; then
		printf '%-34s %-10s %s\n' "$name" "STALE" "line found $n times in $file"; bad=$((bad + 1)); continue
	fi
	cp -p "$f" "$scratch/orig"
	BEFORE=$before AFTER=$after perl -i -ne 'chomp; print(($_ eq $ENV{BEFORE} ? $ENV{AFTER} : $_), "\n")' "$f"
	if ! build; then
		printf '%-34s %-10s %s\n' "$name" "NOBUILD" "$(grep -m1 error "$scratch/build.log")"; bad=$((bad + 1))
	else
		by=""
		for t in $tests; do
			if ! run_test "$t"; then by=$t; break; fi
		done
		if [ -n "$by" ]; then
			printf '%-34s %-10s %s\n' "$name" "killed" "$by"; killed=$((killed + 1))
		else
			printf '%-34s %-10s %s\n' "$name" "SURVIVED" "$tests"; bad=$((bad + 1))
		fi
	fi
	cp -p "$scratch/orig" "$f"
	touch "$f"
done
echo "$killed passed, $bad failed"
[ "$total" -gt 0 ] && [ "$bad" = 0 ]
