#!/bin/bash
# Every mail of the corpus (tests/corpus: real-world and broken mail, the
# mail gem's fixtures) goes through sercom-deliver with exit 0, and through
# the ingester (sercom recover) to exactly one messages row with the
# outcome tests/corpus/expected.tsv names for it, its bytes stored whole
# in its spool file: nothing crashes, nothing is lost. A duplicate is only
# a mail whose bytes were fed before (three pairs of the corpus are the
# same file): the corpus mails that share a Message-ID but differ are each
# recorded as their own.
# Twice: as mail from strangers (unknown_sender = reject), and with
# unknown_sender = accept and -e tp5 (no file rules) so that every attachment is collected,
# checked and unpacked. With SANITIZE=1 the Makefile points SERCOM_BIN at
# the ASan/UBSan build, which aborts (exit != 0) on any memory error.
# SERCOM_CORPUS names another corpus (then without expected outcomes).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
need_mda

CORPUS=${SERCOM_CORPUS:-$SERCOM_TOP/tests/corpus}
EXPECTED=$CORPUS/expected.tsv
# the corpus is part of the checkout: missing is a failure, not a skip
[ -d "$CORPUS" ] || { echo "Bail out! no corpus at $CORPUS"; exit 1; }
mapfile -d '' mails < <(find "$CORPUS" -type f -name '*.eml' -print0 | sort -z)
[ ${#mails[@]} -gt 0 ] || { echo "Bail out! no *.eml in $CORPUS"; exit 1; }
declare -A want
if [ -f "$EXPECTED" ]; then
	while IFS=$'\t' read -r file strangers accept; do
		case $file in '#'*|'') continue ;; esac
		want[strangers/$file]=$strangers want[accept/$file]=$accept
	done < "$EXPECTED"
	is "$(( ${#want[@]} / 2 ))" "${#mails[@]}" "expected.tsv names every corpus mail"
elif [ -z "${SERCOM_CORPUS:-}" ]; then
	echo "Bail out! no $EXPECTED"; exit 1
fi
tmpdir
make_exercises "$T/exercises"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}

# duplicate exactly when the same bytes were fed before in this pass
declare -A seen
first_copy() { # FILE: true the first time these bytes are fed
	local h
	h=$(sha256sum < "$1" | cut -d' ' -f1)
	[ -z "${seen[$h]:-}" ] && seen[$h]=1
}

pass() { # INSTANCE LABEL KEY [ARGS...]
	local I=$1 label=$2 key=$3; shift 3
	local f rc last n out sp exp fails=0 crashed=0 total=0 name dups=0 unstored=0
	seen=()
	for f in "${mails[@]}"; do
		total=$((total + 1))
		name=${f#"$CORPUS"/}
		last=$(sql "$I" "SELECT coalesce(max(id),0) FROM messages")
		deliver "$I" "$f" "$@" 2> "$T/stderr"
		rc=$?
		n=$(sql "$I" "SELECT count(*) FROM messages WHERE id > $last")
		out=$(sql "$I" "SELECT m.outcome || CASE WHEN a.state = 'REJECTED' THEN ':' || a.reason ELSE '' END
			FROM messages m LEFT JOIN attempts a ON a.message = m.id WHERE m.id > $last")
		sp=$(sql "$I" "SELECT spool_file FROM messages WHERE id > $last")
		exp=${want[$key/$name]:-(queued|rejected|ignored|automatic)(:.*)?}
		# the rule, from the bytes alone: a copy of an earlier file is the
		# one duplicate (expected.tsv must agree)
		if ! first_copy "$f"; then
			dups=$((dups + 1))
			[ "$exp" = duplicate ] || exp="duplicate (bytes seen before; expected.tsv says $exp)"
		elif [ "$exp" = duplicate ]; then
			exp="not duplicate (new bytes; expected.tsv says duplicate)"
		fi
		if [ $rc != 0 ]; then
			crashed=$((crashed + 1))
			echo "# $label: $name: exit $rc"
			grep -m3 -E 'ERROR|runtime error|error' "$T/stderr" | sed 's/^/#   /'
		elif [ "$n" != 1 ] || ! [[ $out =~ ^($exp)$ ]]; then
			fails=$((fails + 1))
			echo "# $label: $name: $n messages rows, outcome '$out', expected '$exp'"
		fi
		# the bytes fed, whole, after the envelope line of its spool file
		[ -f "$sp" ] && body "$sp" | cmp -s - "$f" || { unstored=$((unstored + 1)); echo "# $label: $name: not stored byte for byte ($sp)"; }
	done
	is "$crashed" 0 "$label: all ${total} corpus mails delivered with exit 0"
	is "$fails" 0 "$label: each has exactly one messages row with its expected outcome"
	is "$unstored" 0 "$label: each is stored byte for byte in the spool file of its row"
	is "$(sql "$I" "SELECT count(*) FROM messages WHERE outcome = 'duplicate'")" "$dups" \
		"$label: $dups duplicates, the mails whose bytes were fed before"
	is "$(sql "$I" "SELECT count(*) FROM messages")" "$total" "$label: $total messages rows"
	is "$(sql "$I" "SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.message = m.id) AND outcome IN ('queued','rejected')")" 0 \
		"$label: every queued/rejected message has its attempt"
	is "$(sql "$I" "SELECT count(*) FROM attempts a WHERE state = 'QUEUED' AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = a.message)")" 0 \
		"$label: every attempt has its message"
	local missing=0 id
	for id in $(sql "$I" "SELECT id FROM attempts WHERE state = 'QUEUED'"); do
		[ -d "$I/var/attempts/$id/submitted" ] || missing=$((missing + 1))
	done
	is "$missing" 0 "$label: every QUEUED attempt has its submitted/ dir"
	is "$(find "$I" -type l | wc -l)" 0 "$label: no symlink anywhere in the instance"
	is "$(sql "$I" 'PRAGMA integrity_check')" ok "$label: integrity_check"
	echo "# $label outcomes: $(sql "$I" "SELECT outcome || '=' || count(*) FROM messages GROUP BY outcome" | tr '\n' ' ')"
	echo "# $label reasons: $(sql "$I" "SELECT r || '=' || n FROM (SELECT coalesce(reason, state) AS r, count(*) AS n FROM attempts GROUP BY r)" | tr '\n' ' ')"
}

SERCOM_EXERCISES=$T/exercises make_instance "$T/reject" || { echo "Bail out! make_instance failed"; exit 1; }
pass "$T/reject" "strangers" strangers

SERCOM_EXERCISES=$T/exercises make_instance "$T/accept" || { echo "Bail out! make_instance failed"; exit 1; }
sed -i 's/^unknown_sender = reject/unknown_sender = accept/' "$T/accept/sercom.conf"
pass "$T/accept" "accept -e tp5" accept -e tp5

done_testing
