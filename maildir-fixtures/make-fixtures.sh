#!/bin/sh
# make-fixtures.sh: (re)creates the fixture Maildirs deterministically.
#   submissions/  realistic (and hostile) submission mails, one per case
#   expected.tsv  what sercom-deliver must make of each (read by
#                 tests/t/10-deliver-fixtures.t; the README explains it)
#   expected/M/   the exact tree var/attempts/ID/submitted must hold for M
#   demo/         a small Maildir for `make demo` (tp1 submissions)
# Same bytes at every run: fixed dates, boundaries and archive timestamps,
# archives built with python3 (zipfile/tarfile) rather than with tools whose
# output depends on the locale, the umask or the clock.
# Usage: maildir-fixtures/make-fixtures.sh   (from anywhere; needs python3)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/make_fixtures.py" "$here"
