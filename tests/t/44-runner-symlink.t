#!/bin/bash
# 44-runner-symlink: the symlinked output attack, at the runner. The
# runner reads the files a case expects from the work dir after the box
# is gone, as root, in the host's mount tree. A submission
# (tests/t/runner-submissions/links-symlink) leaves in their place
#  1. result.txt -> /etc/passwd,
#  2. result.txt -> ../../sercom.db (the runner's database, by the work
#     dir's place on the host, var/work/work), and -> ../../attempts/1/
#     submitted/tp.c (another student's program),
#  3. result.txt -> the exercise's own expected file (exercises/ beside
#     var/): the case would pass without any work,
#  4. d -> the exercise's expected directory out/d (a symlink on the path
#     of d/result.txt),
#  5. result.txt a FIFO no one writes (a blocking open hangs the worker).
# Each case must fail as WRONG_OUTPUT with a note naming the file, the
# runner must finish, and the host files' content must reach neither the
# reply, the report, nor the database's notes. The teacher's solution,
# graded alongside, is ACCEPTED: the cases can pass. (src/grade.c,
# read_capped and read_beneath.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-instance.sh"
# a uid range of its own: scripts may run side by side (prove -j)
export SERCOM_UID_BASE=${SERCOM_UID_BASE_44:-60440}

[ "$(id -u)" = 0 ] || skip_all "the sandbox needs root"
# our own programs missing is a failure, never a SKIP
for p in sercom-runner sercom-sandbox; do
	[ -x "$SERCOM_BIN/$p" ] || { echo "Bail out! $SERCOM_BIN/$p not built"; exit 1; }
done
command -v python3 >/dev/null || { echo "Bail out! python3 is needed to decode the replies"; exit 1; }
tmpdir
I=$T/inst
mkdir -p "$I/exercises"
cp -r "$SERCOM_TOP/tests/t/exercises/links" "$I/exercises/"
ok "instance" runner_instance "$I" "$I/exercises"

# what the links name exists on the host, so following them would leak
PW_MARK="root:x:0:0:"
DB_MARK="Zorro-db-marker-7731"
OTHER_MARK='answer for %s' # in the other student's tp.c only
ok "the host's /etc/passwd holds $PW_MARK" grep -q "^$PW_MARK" /etc/passwd
sql "$I" "INSERT INTO students (id, name) VALUES ('s009', '$DB_MARK')"
ok "the database holds its marker" grep -qa "$DB_MARK" "$I/var/sercom.db"
ok "the expected files the links name exist" \
   test -f "$I/exercises/links/tests/03-answer/out/result.txt" -a -d "$I/exercises/links/tests/04-dir/out/d"

good=$(queue_attempt "$I" links "$I/exercises/links/solution" s002)
bad=$(queue_attempt "$I" links "$SERCOM_TOP/tests/t/runner-submissions/links-symlink" s001)
is "$good" 1 "the other student's attempt is number 1, as the link assumes"
ok "the other student's program holds its marker" grep -qF "$OTHER_MARK" "$I/var/attempts/1/submitted/tp.c"
# a deadline, not a measure (the run takes about a second): a worker
# blocked on the FIFO never ends; timeout then kills the runner, and its
# worker dies with it
timeout -k 10 120 "$SERCOM_BIN/sercom-runner" -c "$I/sercom.conf" --once -j 1 2>"$T/runner.err"
is "$?" 0 "the runner finishes (no hang on the FIFO) and exits 0"
is "$(sql "$I" "SELECT group_concat(state, ' ') FROM attempts WHERE id IN ($good, $bad)")" "DONE DONE" \
   "both attempts graded"

is "$(sql "$I" "SELECT verdict FROM attempts WHERE id = $good")" ACCEPTED "the teacher's solution: ACCEPTED"
is "$(sql "$I" "SELECT verdict FROM attempts WHERE id = $bad")" TESTS_FAILED "the links: TESTS_FAILED"
res() {
	sql "$I" "SELECT r.verdict || ': ' || COALESCE(r.note, '') FROM results r JOIN attempts a ON a.id = r.attempt
	          WHERE r.attempt = $bad AND r.grading = a.grading AND r.case_name = '$1'"
}
# the program printed "done" only once its trap was set, and the stdout
# matched: the note names the file alone
like "$(res 01-passwd)" "^WRONG_OUTPUT: result\.txt is a symlink$" "result.txt -> /etc/passwd: WRONG_OUTPUT, a symlink"
like "$(res 02-db)" "^WRONG_OUTPUT: result\.txt is a symlink$" "result.txt -> ../../sercom.db: WRONG_OUTPUT, a symlink"
like "$(res 03-answer)" "^WRONG_OUTPUT: result\.txt is a symlink$" \
     "result.txt -> the expected file: WRONG_OUTPUT, not a pass"
like "$(res 06-other)" "^WRONG_OUTPUT: result\.txt is a symlink$" \
     "result.txt -> another student's program: WRONG_OUTPUT, a symlink"
like "$(res 04-dir)" "^WRONG_OUTPUT: d/result\.txt missing \(a path component is not a directory\)$" \
     "d -> the expected directory: WRONG_OUTPUT, not a pass"
like "$(res 05-fifo)" "^WRONG_OUTPUT: result\.txt not a regular file$" "result.txt a FIFO: WRONG_OUTPUT, not a regular file"

# every text the student or the staff get: the replies (decoded, every
# part), the report directory, the notes and diffs stored in the database
python3 - "$I/replies" > "$T/replies.txt" <<'PY'
import email, email.policy, pathlib, sys
for f in sorted(pathlib.Path(sys.argv[1]).rglob('*')):
    if not f.is_file():
        continue
    m = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
    print('=== %s' % f)
    for part in m.walk():
        if not part.is_multipart():
            print(part.get_payload(decode=True).decode('utf-8', 'replace'))
PY
n=$(grep -c '^=== ' "$T/replies.txt")
ok "a reply for each attempt in the maildir transport ($n)" [ "$n" -ge 2 ]
ok "the reply to the links names the FIFO case" grep -q "05-fifo" "$T/replies.txt"
sql "$I" "SELECT COALESCE(note, '') || ' ' || COALESCE(diffs, '') FROM results WHERE attempt = $bad
          UNION ALL SELECT COALESCE(note, '') FROM history WHERE attempt = $bad" > "$T/db.txt"
R=$I/var/attempts/$bad/report
not_in() { ! grep -rqaF -- "$1" "$2"; }
ok "the report directory exists" test -d "$R"
for mark in "$PW_MARK" "$DB_MARK" "SQLite format 3" "$OTHER_MARK"; do
	ok "'$mark' not in the replies" not_in "$mark" "$T/replies.txt"
	ok "'$mark' not in the report" not_in "$mark" "$R"
	ok "'$mark' not in the stored notes and diffs" not_in "$mark" "$T/db.txt"
done

if [ $_tap_fail != 0 ]; then echo "# runner log:"; sed 's/^/# /' "$T/runner.err" | tail -30; fi
done_testing
