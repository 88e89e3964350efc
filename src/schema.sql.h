/* The schema, one string per user_version step. A new version appends a
 * step; existing steps never change (deployed databases already ran them). */
static const char *const store_migrations[] = {
/* 1: the initial schema (docs/ARCHITECTURE.md section 5) */
"CREATE TABLE students ("
"  id TEXT PRIMARY KEY,"
"  name TEXT NOT NULL DEFAULT '');"
"CREATE TABLE student_emails ("
"  email TEXT PRIMARY KEY COLLATE NOCASE,"
"  student TEXT NOT NULL REFERENCES students(id) ON DELETE CASCADE);"
/* one row per stored mail; outcome: queued rejected ignored automatic duplicate */
"CREATE TABLE messages ("
"  id INTEGER PRIMARY KEY,"
"  message_id TEXT,"
"  spool_file TEXT NOT NULL,"
"  sender TEXT,"
"  recipient TEXT,"
"  subject TEXT,"
"  received INTEGER NOT NULL,"
"  outcome TEXT NOT NULL,"
"  note TEXT);"
"CREATE UNIQUE INDEX messages_mid ON messages(message_id) WHERE message_id IS NOT NULL AND outcome != 'duplicate';"
"CREATE INDEX messages_spool ON messages(spool_file);"
/* state: QUEUED RUNNING DONE REJECTED SUPERSEDED ERROR
 * verdict: ACCEPTED TESTS_FAILED BUILD_FAILED REJECTED INTERNAL_ERROR
 * build: OK WARNINGS FAILED; grading: how many times graded (regrades keep
 * the older results rows under their grading number) */
"CREATE TABLE attempts ("
"  id INTEGER PRIMARY KEY,"
"  student TEXT REFERENCES students(id),"
"  email TEXT NOT NULL,"
"  exercise TEXT,"
"  number INTEGER,"
"  message INTEGER NOT NULL REFERENCES messages(id),"
"  state TEXT NOT NULL CHECK (state IN ('QUEUED','RUNNING','DONE','REJECTED','SUPERSEDED','ERROR')),"
"  reason TEXT,"
"  detail TEXT,"
"  verdict TEXT,"
"  build TEXT,"
"  grading INTEGER NOT NULL DEFAULT 0,"
"  lease_until INTEGER,"
"  worker TEXT,"
"  tries INTEGER NOT NULL DEFAULT 0,"
"  queued INTEGER NOT NULL,"
"  started INTEGER,"
"  finished INTEGER,"
"  answered INTEGER NOT NULL DEFAULT 0,"
"  note TEXT);"
"CREATE UNIQUE INDEX attempts_number ON attempts(student, exercise, number) WHERE number IS NOT NULL;"
"CREATE INDEX attempts_state ON attempts(state, queued);"
"CREATE INDEX attempts_student ON attempts(student, exercise);"
/* diffs: space-separated names of the diff files in report/ (or
 * report/private/ for private cases) */
"CREATE TABLE results ("
"  attempt INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,"
"  grading INTEGER NOT NULL,"
"  seq INTEGER NOT NULL,"
"  case_name TEXT NOT NULL,"
"  verdict TEXT NOT NULL,"
"  exit_code INTEGER,"
"  signal INTEGER,"
"  cpu_ms INTEGER,"
"  wall_ms INTEGER,"
"  max_rss_kib INTEGER,"
"  note TEXT,"
"  diffs TEXT,"
"  private INTEGER NOT NULL DEFAULT 0,"
"  PRIMARY KEY (attempt, grading, case_name));"
/* verdict history: regrades and overrides keep what was there before */
"CREATE TABLE history ("
"  attempt INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,"
"  at INTEGER NOT NULL,"
"  what TEXT NOT NULL,"
"  verdict TEXT,"
"  note TEXT);"
/* state: PENDING SENT FAILED (BOUNCED since 6) */
"CREATE TABLE outbox ("
"  id INTEGER PRIMARY KEY,"
"  attempt INTEGER REFERENCES attempts(id),"
"  file TEXT NOT NULL,"
"  sender TEXT NOT NULL,"
"  recipients TEXT NOT NULL,"
"  state TEXT NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING','SENT','FAILED')),"
"  tries INTEGER NOT NULL DEFAULT 0,"
"  created INTEGER NOT NULL,"
"  next_try INTEGER NOT NULL,"
"  sent INTEGER,"
"  last_error TEXT);"
"CREATE INDEX outbox_due ON outbox(state, next_try);",
/* 2: what the composer needs of a submission is read at record time by
 * the unprivileged ingester (no root process parses student mail): refs,
 * the thread's ids for the reply's References; digest, the SHA-256 of a
 * mail without Message-ID, to find an MTA's second delivery of it */
"ALTER TABLE messages ADD COLUMN refs TEXT;"
"ALTER TABLE messages ADD COLUMN digest TEXT;"
"CREATE INDEX messages_digest ON messages(digest) WHERE digest IS NOT NULL;",
/* 3: who sent it and what proves it (issue 14). envelope_sender: the
 * SMTP MAIL FROM (sercom-deliver -f, $SENDER; '' for the null sender);
 * auth: the authentication result ([mail] authenticate; NULL when off):
 * "pass: HOW", "fail: HOW" or "exempt" (authres.h); raw_sha256: SHA-256
 * of the spool file as stored (var/mail/cur/NAME, envelope line
 * included: `sha256sum` of that file checks it). receipts: each file the
 * mail brought (its attachments, and what its archives unpacked to), for
 * the reply's receipt and `sercom verify`. attempts.quiet: why no reply
 * is sent (not a roster address, rate limit): kept, counted, listed for
 * staff, never answered */
"ALTER TABLE messages ADD COLUMN envelope_sender TEXT;"
"ALTER TABLE messages ADD COLUMN auth TEXT;"
"ALTER TABLE messages ADD COLUMN raw_sha256 TEXT;"
"ALTER TABLE attempts ADD COLUMN quiet TEXT;"
"CREATE TABLE receipts ("
"  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
"  name TEXT NOT NULL,"
"  size INTEGER NOT NULL,"
"  sha256 TEXT NOT NULL);"
"CREATE INDEX receipts_message ON receipts(message);"
"CREATE INDEX attempts_email ON attempts(email, queued);",
/* 4: a duplicate is the same Message-ID and the same bytes (ingest.c
 * find_duplicate): the digest is stored for every mail, and a different
 * mail may reuse a recorded Message-ID. Rows of versions 2 and 3 with a
 * Message-ID have no digest; the ingester reads their spool file. */
"DROP INDEX messages_mid;"
"CREATE INDEX messages_mid ON messages(message_id) WHERE message_id IS NOT NULL;"
"CREATE UNIQUE INDEX messages_once ON messages(digest, message_id) "
"  WHERE digest IS NOT NULL AND outcome != 'duplicate';",
/* 5: grades (issue 15; README "Grades"). attempts: score/max_score, the
 * public cases' points earned and possible; private_score/private_max,
 * the private cases' (kept apart: a student sees them only when the
 * exercise reveals them); late_days, whole days begun after the student's
 * deadline (the exercise's closes or their extension); penalty, the
 * percent taken off the total for it; charged, 0 when the attempt does
 * not count against max_attempts (a build failure with
 * charge_build_failures = no). The grade of an attempt is
 * (score + private_score) * (100 - penalty) / 100 (score.h). results:
 * points, what the case is worth; score, what it earned (0 when its group
 * failed); grp, its group or NULL. extensions: a student's own window and
 * budget for an exercise (`sercom extend`), with who granted it and when.
 * reveals: the one after-close mail per student and exercise
 * (reveal_private = after_close), its row written with the outbox row in
 * one transaction, so it is sent once whatever restarts. */
"ALTER TABLE attempts ADD COLUMN score REAL;"
"ALTER TABLE attempts ADD COLUMN max_score REAL;"
"ALTER TABLE attempts ADD COLUMN private_score REAL;"
"ALTER TABLE attempts ADD COLUMN private_max REAL;"
"ALTER TABLE attempts ADD COLUMN late_days INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE attempts ADD COLUMN penalty REAL NOT NULL DEFAULT 0;"
"ALTER TABLE attempts ADD COLUMN charged INTEGER NOT NULL DEFAULT 1;"
"ALTER TABLE results ADD COLUMN points REAL;"
"ALTER TABLE results ADD COLUMN score REAL;"
"ALTER TABLE results ADD COLUMN grp TEXT;"
"CREATE TABLE extensions ("
"  student TEXT NOT NULL REFERENCES students(id) ON DELETE CASCADE,"
"  exercise TEXT NOT NULL,"
"  until INTEGER NOT NULL,"
"  attempts INTEGER,"
"  note TEXT,"
"  granted_by TEXT NOT NULL,"
"  granted_at INTEGER NOT NULL,"
"  PRIMARY KEY (student, exercise));"
"CREATE TABLE reveals ("
"  student TEXT NOT NULL,"
"  exercise TEXT NOT NULL,"
"  attempt INTEGER NOT NULL REFERENCES attempts(id),"
"  outbox INTEGER REFERENCES outbox(id),"
"  at INTEGER NOT NULL,"
"  PRIMARY KEY (student, exercise));",
/* 6: bounces (README "Bounces", bounce.h). outbox.state gains BOUNCED: a
 * delivery status notification came back for the reply. bounce: the
 * failed recipient's Status and Diagnostic-Code and address; bounced: when;
 * bounce_message: the notification's messages row (kept, never answered).
 * SQLite cannot change a CHECK: the table is made again, rows, ids and
 * index kept. The rows of reveals point at outbox ids: with foreign_keys
 * on, dropping the old table counts them as violations until the new one
 * holds the same ids, so the checks wait for the commit. */
"PRAGMA defer_foreign_keys = ON;"
"CREATE TEMP TABLE outbox_v5 AS SELECT * FROM outbox;"
"DROP TABLE outbox;"
"CREATE TABLE outbox ("
"  id INTEGER PRIMARY KEY,"
"  attempt INTEGER REFERENCES attempts(id),"
"  file TEXT NOT NULL,"
"  sender TEXT NOT NULL,"
"  recipients TEXT NOT NULL,"
"  state TEXT NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING','SENT','FAILED','BOUNCED')),"
"  tries INTEGER NOT NULL DEFAULT 0,"
"  created INTEGER NOT NULL,"
"  next_try INTEGER NOT NULL,"
"  sent INTEGER,"
"  last_error TEXT,"
"  bounce TEXT,"
"  bounced INTEGER,"
"  bounce_message INTEGER REFERENCES messages(id));"
"INSERT INTO outbox (id, attempt, file, sender, recipients, state, tries, created, next_try, sent, last_error)"
"  SELECT id, attempt, file, sender, recipients, state, tries, created, next_try, sent, last_error FROM outbox_v5;"
"DROP TABLE outbox_v5;"
"CREATE INDEX outbox_due ON outbox(state, next_try);",
/* 7: sending replies exactly once (issue 17; transport.c). outbox.sending:
 * when a sender claimed the row (NULL when nobody is sending it): the hold
 * `sercom outbox flush` never clears, so a row is never sent twice at once;
 * a hold older than the claim lease is a sender killed mid-send.
 * maybe_sent: 1 when such a send was cut off, so the reply may already
 * have gone (`sercom outbox` says so, and so does the log of its resend).
 * server_error: 1 when the last try failed for every reply alike (a
 * refusal of EHLO, MAIL or AUTH, 530/5.7.x, TLS, no STARTTLS, a timeout):
 * retried with backoff, counted by `sercom stats` and the metrics */
"ALTER TABLE outbox ADD COLUMN sending INTEGER;"
"ALTER TABLE outbox ADD COLUMN maybe_sent INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE outbox ADD COLUMN server_error INTEGER NOT NULL DEFAULT 0;",
};
