#!/bin/bash
# Every mail of the shared corpus ($SERCOM_TOP/../shared/corpus: real-world
# and broken mail) goes through sercom-deliver with exit 0, and through the
# ingester (sercom recover) to exactly one messages row with a recorded
# outcome: nothing crashes, nothing is lost.
# Twice: as mail from strangers (unknown_sender = reject), and with
# unknown_sender = accept and -e tp5 (no file rules) so that every attachment is collected,
# checked and unpacked. With SANITIZE=1 the Makefile points SERCOM_BIN at
# the ASan/UBSan build, which aborts (exit != 0) on any memory error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deliver-lib.sh"
need_mda

CORPUS=${SERCOM_CORPUS:-$SERCOM_TOP/../shared/corpus}
[ -d "$CORPUS" ] || skip_all "no corpus at $CORPUS"
mapfile -d '' mails < <(find "$CORPUS" -type f -print0 | sort -z)
[ ${#mails[@]} -gt 0 ] || skip_all "empty corpus"
tmpdir
make_exercises "$T/exercises"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}

pass() { # INSTANCE LABEL [ARGS...]
	local I=$1 label=$2; shift 2
	local f rc last n out fails=0 lost=0 crashed=0 total=0 name
	for f in "${mails[@]}"; do
		total=$((total + 1))
		name=${f#"$CORPUS"/}
		last=$(sql "$I" "SELECT coalesce(max(id),0) FROM messages")
		deliver "$I" "$f" "$@" 2> "$T/stderr"
		rc=$?
		n=$(sql "$I" "SELECT count(*) FROM messages WHERE id > $last")
		out=$(sql "$I" "SELECT outcome FROM messages WHERE id > $last")
		if [ $rc != 0 ]; then
			crashed=$((crashed + 1))
			echo "# $label: $name: exit $rc"
			grep -m3 -E 'ERROR|runtime error|error' "$T/stderr" | sed 's/^/#   /'
		elif [ "$n" != 1 ] || ! [[ $out =~ ^(queued|rejected|ignored|automatic|duplicate)$ ]]; then
			lost=$((lost + 1))
			echo "# $label: $name: $n messages rows, outcome '$out'"
		fi
	done
	is "$crashed" 0 "$label: all ${total} corpus mails delivered with exit 0"
	is "$lost" 0 "$label: each has exactly one messages row with an outcome"
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
pass "$T/reject" "strangers"

SERCOM_EXERCISES=$T/exercises make_instance "$T/accept" || { echo "Bail out! make_instance failed"; exit 1; }
sed -i 's/^unknown_sender = reject/unknown_sender = accept/' "$T/accept/sercom.conf"
pass "$T/accept" "accept -e tp5" -e tp5

done_testing
