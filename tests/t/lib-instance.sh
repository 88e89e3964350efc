# lib-instance.sh: a temp instance for the runner tests and benchmarks, and
# attempts queued into it the way the MDA leaves them (docs/ARCHITECTURE.md): a
# messages row, an attempts row QUEUED, the files under
# var/attempts/ID/submitted. Needs only sqlite3 and sercom-runner (which
# creates the database), so the runner is testable without the MDA.
# Source after lib.sh.

# runner_instance DIR [EXERCISES_DIR]: config + var + roster.
runner_instance() {
	local d=$1 ex=${2:-$SERCOM_TOP/conf/exercises}
	mkdir -p "$d/var"
	cat > "$d/sercom.conf" <<CONF
[general]
var = var
exercises = $ex
templates = $SERCOM_TOP/conf/templates
language = en
workers = 2

[mail]
from = Course Grader <grader@example.edu>
admin = staff@example.edu
prefix = algo1
transport = maildir:replies
unknown_sender = reject

[sandbox]
uid_base = ${SERCOM_UID_BASE:-60000}
CONF
	# --once on an empty queue: creates (migrates) the database and exits
	"$SERCOM_BIN/sercom-runner" -c "$d/sercom.conf" --once 2>/dev/null || return 1
	sqlite3 -batch -cmd ".timeout 20000" "$d/var/sercom.db" "
	  INSERT OR IGNORE INTO students (id, name) VALUES ('s001','Ana'),('s002','Beto');
	  INSERT OR IGNORE INTO student_emails (email, student) VALUES
	    ('ana@example.edu','s001'),('beto@example.edu','s002');"
}

# queue_attempt DIR EXERCISE SUBMISSION_DIR [STUDENT]: prints the attempt id.
queue_attempt() {
	local d=$1 ex=$2 sub=$3 st=${4:-s001} id
	id=$(sqlite3 -batch -noheader -cmd ".timeout 20000" "$d/var/sercom.db" "
	  BEGIN IMMEDIATE;
	  INSERT INTO messages (message_id, spool_file, sender, subject, received, outcome)
	    VALUES ('t' || abs(random()) || '@test', 'none', '$st@example.edu', '$ex', strftime('%s','now'), 'queued');
	  INSERT INTO attempts (student, email, exercise, number, message, state, queued)
	    VALUES ('$st', (SELECT email FROM student_emails WHERE student = '$st' LIMIT 1), '$ex',
	            (SELECT COALESCE(max(number), 0) + 1 FROM attempts WHERE student = '$st' AND exercise = '$ex'),
	            last_insert_rowid(), 'ERROR', strftime('%s','now'));
	  SELECT last_insert_rowid();
	  COMMIT;") || return 1
	mkdir -p "$d/var/attempts/$id/submitted"
	cp -r "$sub"/. "$d/var/attempts/$id/submitted/"
	# queued only once its files are in place, as the MDA does (it renames
	# the complete directory before its commit): a running daemon must not
	# claim a half-copied submission
	sqlite3 -batch -cmd ".timeout 20000" "$d/var/sercom.db" \
		"UPDATE attempts SET state = 'QUEUED' WHERE id = $id" || return 1
	echo "$id"
}

# poke DIR: wakes a running runner the way the MDA does.
poke() {
	[ -p "$1/var/runner.fifo" ] && printf x > "$1/var/runner.fifo"
}

# wait_state DIR ID STATE SECONDS: polls the database (tests only).
wait_state() {
	[ -n "$2" ] || return 1
	local i=0
	while [ $i -lt $(($4 * 10)) ]; do
		[ "$(sqlite3 -batch -noheader -cmd ".timeout 20000" "$1/var/sercom.db" "SELECT state FROM attempts WHERE id = $2")" = "$3" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# case_verdicts DIR ID: "case=VERDICT ..." of the latest grading.
case_verdicts() {
	sqlite3 -batch -noheader -cmd ".timeout 20000" "$1/var/sercom.db" "
	  SELECT group_concat(case_name || '=' || verdict, ' ') FROM
	  (SELECT r.case_name, r.verdict FROM results r JOIN attempts a ON a.id = r.attempt
	   WHERE r.attempt = $2 AND r.grading = a.grading ORDER BY r.seq)"
}

# sql with a busy timeout: the runner holds write locks while we look
sql() { sqlite3 -batch -noheader -cmd ".timeout 20000" "$1/var/sercom.db" "$2"; }
