#!/bin/bash
# deliver.sh: the MDA against the classic local delivery agents, and the
# ingester behind it. One corpus of 200 submissions of about 30 KB (a tp.c
# and a tar.gz each, distinct Message-IDs, the roster's students),
# delivered one process per mail (as an MTA does) by sercom-deliver into a
# fresh instance, by procmail and by maildrop into a Maildir, in the same
# run and on the same disk (under build/, not /tmp, which may be a tmpfs
# where fsync costs nothing); whole processes, fsyncs in place.
# Prints the wall time per mail (median of ROUNDS rounds), the ratios
# (target: sercom-deliver at most 1.1x procmail), the fsyncs per delivery;
# the ingester's rate over a var/mail/new of 1,000 mails (target >= 150/s);
# the time from sercom-deliver's exit to the attempt being QUEUED with the
# runner's daemon idle (p95, target < 50 ms); the peak RSS of both.
# Env: SERCOM_BIN, SERCOM_TOP (from the Makefile), BENCH_MAILS (200),
# BENCH_ROUNDS (3), BENCH_INGEST (1000), BENCH_LATENCY (30), BENCH_DIR (a
# dir on the disk to measure), BENCH_STRICT=1 (exit 1 when a target is
# missed).
. "$(dirname "$0")/../t/lib.sh"
. "$(dirname "$0")/../t/deliver-lib.sh"
set -u

NM=${BENCH_MAILS:-200}
ROUNDS=${BENCH_ROUNDS:-3}
for p in "$SERCOM_BIN/sercom-deliver" "$SERCOM_BIN/sercom"; do
	[ -x "$p" ] || { echo "deliver bench: skipped: no $p"; exit 0; }
done
for p in procmail maildrop sqlite3 tar; do
	command -v $p >/dev/null || { echo "deliver bench: skipped: no $p (make deps)"; exit 0; }
done
mkdir -p "$SERCOM_TOP/build"
W=$(mktemp -d "${BENCH_DIR:-$SERCOM_TOP/build}/bench-deliver.XXXXXX")
trap 'rm -rf "$W"' EXIT
make_exercises "$W/exercises"
export SERCOM_EXERCISES=$W/exercises

# --- the corpus
froms=("Ana Alumna <ana@example.edu>" "Ana <ana.alumna@gmail.com>" "Beto Barrios <beto@example.edu>"
       "=?UTF-8?Q?Carla_N=C3=BA=C3=B1ez?= <carla@example.edu>")
mkdir -p "$W/corpus" "$W/src"
for k in $(seq 1 "$NM"); do
	d=$W/src/$k
	mkdir -p "$d/tp1"
	{
		printf '/* tp1, entrega %d */\n#include <stdio.h>\n#include "aux.h"\n\n' "$k"
		printf 'int main(void)\n{\n\tlong a, b;\n\tif (scanf("%%ld %%ld", &a, &b) != 2)\n\t\treturn 1;\n'
		printf '\tprintf("%%ld\\n", suma(a, b));\n\treturn 0;\n}\n'
		# comments: students write long ones (about 14 KB of source)
		head -c 10000 /dev/urandom | base64 -w 72 | sed 's,^,// ,'
	} > "$d/tp.c"
	printf 'long suma(long a, long b);\n' > "$d/tp1/aux.h"
	{ printf '#include "aux.h"\nlong suma(long a, long b) { return a + b; }\n'
	  head -c 5500 /dev/urandom | base64 -w 72 | sed 's,^,// ,'; } > "$d/tp1/aux.c"
	tar -C "$d" --owner=0 --group=0 --mtime=@1767261600 -czf "$d/tp1.tar.gz" tp1
	{
		printf 'Return-Path: <%s>\n' "$(echo "${froms[k % 4]}" | sed 's/.*<//; s/>.*//')"
		printf 'Received: from mail.example.edu (mail.example.edu [192.0.2.25])\n\tby mx.example.edu (Postfix) with ESMTPS id B%05d\n\tfor <entregas+tp1@example.edu>; Thu, 5 Mar 2026 10:00:00 -0300\n' "$k"
		printf 'From: %s\nTo: entregas+tp1@example.edu\nSubject: Entrega TP1\n' "${froms[k % 4]}"
		printf 'Message-ID: <bench-%d.%s@example.edu>\nDate: Thu, 5 Mar 2026 10:00:00 -0300\n' "$k" "$$"
		printf 'MIME-Version: 1.0\nUser-Agent: Mozilla/5.0 Thunderbird/115.5.0\n'
		printf 'Content-Type: multipart/mixed; boundary="------------b%05d"\n\n' "$k"
		printf 'This is a multi-part message in MIME format.\n--------------b%05d\n' "$k"
		printf 'Content-Type: text/plain; charset=UTF-8; format=flowed\nContent-Transfer-Encoding: 7bit\n\nHola, adjunto el TP1.\nSaludos.\n\n'
		printf -- '--------------b%05d\nContent-Type: text/x-csrc; charset=UTF-8; name="tp.c"\n' "$k"
		printf 'Content-Disposition: attachment; filename="tp.c"\nContent-Transfer-Encoding: base64\n\n'
		base64 -w 76 "$d/tp.c"
		printf '\n--------------b%05d\nContent-Type: application/gzip; name="tp1.tar.gz"\n' "$k"
		printf 'Content-Disposition: attachment; filename="tp1.tar.gz"\nContent-Transfer-Encoding: base64\n\n'
		base64 -w 76 "$d/tp1.tar.gz"
		printf '\n--------------b%05d--\n' "$k"
	} > "$W/corpus/$k"
done
# nothing is deleted until the end: on ext4 without a journal (this
# machine's), creating an inode in the 30 s after many deletions scans the
# recently freed ones, and the agent that creates most files (ours: the
# unpacked tree) would pay for the clean-up of the others
bytes=$(cat "$W"/corpus/* | wc -c)
avg=$((bytes / NM))
fs=$(df -T "$W" | awk 'NR==2 {print $2}')

# --- one round of each agent; prints the total ms
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
run_sercom() { # DIR
	local t0 k
	make_instance "$1" > /dev/null || { echo "make_instance failed" >&2; return 1; }
	t0=$(now_ms)
	for k in $(seq 1 "$NM"); do
		"$SERCOM_BIN/sercom-deliver" -c "$1/sercom.conf" < "$W/corpus/$k" || echo "sercom-deliver: exit $? on mail $k" >&2
	done
	echo $(( $(now_ms) - t0 ))
	local n
	n=$(ls "$1/var/mail/new" | wc -l)
	[ "$n" = "$NM" ] || echo "sercom-deliver: only $n of $NM mails in var/mail/new" >&2
}
run_procmail() { # DIR
	local t0 k
	mkdir -p "$1/Maildir"
	# DEFAULT with a trailing / is a Maildir; -m: the rcfile is the only
	# configuration (no /etc/procmailrc, no $HOME), as root too
	printf 'DEFAULT=%s/Maildir/\nSHELL=/bin/sh\n' "$1" > "$1/rc"
	t0=$(now_ms)
	for k in $(seq 1 "$NM"); do
		procmail -m "$1/rc" < "$W/corpus/$k" || echo "procmail: exit $? on mail $k" >&2
	done
	echo $(( $(now_ms) - t0 ))
	local n
	n=$(ls "$1/Maildir/new" | wc -l)
	[ "$n" = "$NM" ] || echo "procmail: only $n of $NM mails in the Maildir" >&2
}
run_maildrop() { # DIR
	local t0 k
	mkdir -p "$1/Maildir/tmp" "$1/Maildir/new" "$1/Maildir/cur"
	# maildrop refuses a filter file that others can write or that is not
	# the user's own
	printf 'to "%s/Maildir/"\n' "$1" > "$1/rc"
	chmod 600 "$1/rc"
	t0=$(now_ms)
	for k in $(seq 1 "$NM"); do
		maildrop "$1/rc" < "$W/corpus/$k" || echo "maildrop: exit $? on mail $k" >&2
	done
	echo $(( $(now_ms) - t0 ))
	local n
	n=$(ls "$1/Maildir/new" | wc -l)
	[ "$n" = "$NM" ] || echo "maildrop: only $n of $NM mails in the Maildir" >&2
}

# interleaved rounds: the three agents see the same disk state and cache;
# their files stay until the end (see above)
declare -a ts tp tm
for r in $(seq 1 "$ROUNDS"); do
	ts+=("$(run_sercom "$W/s$r" | head -1)")
	tp+=("$(run_procmail "$W/p$r" | head -1)")
	tm+=("$(run_maildrop "$W/m$r" | head -1)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
S=$(median "${ts[@]}"); PM=$(median "${tp[@]}"); MD=$(median "${tm[@]}")
per() { awk -v t="$1" -v n="$NM" 'BEGIN {printf "%.2f", t / n}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b ? a / b : 0}'; }

# --- fsyncs per delivery (strace, when present)
fsyncs() {
	command -v strace >/dev/null || { echo "?"; return; }
	strace -f -qq -e trace=fsync,fdatasync,sync_file_range,msync -o "$W/strace" "$@" < "$W/corpus/1" > /dev/null 2>&1
	grep -c 'sync' "$W/strace"
}
make_instance "$W/fs" > /dev/null
sed -i 's/bench-1\./bench-1x./' "$W/corpus/1"
fs_s=$(fsyncs "$SERCOM_BIN/sercom-deliver" -c "$W/fs/sercom.conf")
mkdir -p "$W/fp/Maildir" "$W/fm/Maildir/tmp" "$W/fm/Maildir/new" "$W/fm/Maildir/cur"
printf 'DEFAULT=%s/fp/Maildir/\n' "$W" > "$W/fp/rc"
printf 'to "%s/fm/Maildir/"\n' "$W" > "$W/fm/rc"; chmod 600 "$W/fm/rc"
fs_p=$(fsyncs procmail -m "$W/fp/rc")
fs_m=$(fsyncs maildrop "$W/fm/rc")

# --- peak memory of sercom-deliver: the corpus mails, and one big mail
peak_kib=0
make_instance "$W/mem" > /dev/null
for k in $(seq 1 20); do
	/usr/bin/time -f %M -o "$W/rss" "$SERCOM_BIN/sercom-deliver" -c "$W/mem/sercom.conf" < "$W/corpus/$k"
	r=$(tail -1 "$W/rss"); [ "$r" -gt "$peak_kib" ] && peak_kib=$r
done
big=$W/big
gen_mail "$big" "bench-big.$$@example.edu" beto@example.edu tp1 6000
big_bytes=$(wc -c < "$big")
/usr/bin/time -f %M -o "$W/rss" "$SERCOM_BIN/sercom-deliver" -c "$W/mem/sercom.conf" < "$big"
big_rc=$?
big_kib=$(tail -1 "$W/rss")
big_target=$(( (3 * big_bytes + 16 * 1024 * 1024) / 1024 ))
# the ingester's high-water mark: sercom recover (its unprivileged child
# parses) over those 21 mails
/usr/bin/time -f %M -o "$W/rss" "$SERCOM_BIN/sercom" -c "$W/mem/sercom.conf" recover > /dev/null
ingest_kib=$(tail -1 "$W/rss")

# --- the ingester's rate: a var/mail/new of BENCH_INGEST mails
NI=${BENCH_INGEST:-1000}
make_instance "$W/rate" > /dev/null
for k in $(seq 1 "$NI"); do
	sed "s/^Message-ID: <bench-/Message-ID: <rate$k-/" "$W/corpus/$(( (k - 1) % NM + 1 ))" |
		"$SERCOM_BIN/sercom-deliver" -c "$W/rate/sercom.conf"
done
t0=$(now_ms)
"$SERCOM_BIN/sercom" -c "$W/rate/sercom.conf" recover > /dev/null
t_ing=$(( $(now_ms) - t0 ))
n_ing=$(sql "$W/rate" "SELECT count(*) FROM messages WHERE outcome = 'queued'")
rate=$(awk -v n="$n_ing" -v t="$t_ing" 'BEGIN {printf "%.0f", t ? n * 1000 / t : 0}')

# --- from sercom-deliver's exit to QUEUED, the runner's daemon idle: one
# mail at a time, each graded before the next (python polls the database
# every ms: a sqlite3 process per look would be the slowest part)
NL=${BENCH_LATENCY:-30}
make_instance "$W/lat" > /dev/null
"$SERCOM_BIN/sercom-runner" -c "$W/lat/sercom.conf" -j 1 2> "$W/lat/runner.log" &
rpid=$!
lat=$(python3 - "$SERCOM_BIN/sercom-deliver" "$W/lat" "$W/corpus" "$NL" <<'PY'
import sqlite3, subprocess, sys, time
prog, inst, corpus, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
db = sqlite3.connect(inst + "/var/sercom.db", timeout=20)
time.sleep(1)  # the daemon and its ingester start
out = []
for k in range(1, n + 1):
    mid = "lat%d-%d" % (k, time.time_ns())
    msg = open("%s/%d" % (corpus, k), "rb").read().replace(b"Message-ID: <bench-", b"Message-ID: <" + mid.encode() + b"-")
    subprocess.run([prog, "-c", inst + "/sercom.conf"], input=msg, check=True)
    t_exit = time.monotonic()
    q = "SELECT a.id FROM attempts a JOIN messages m ON a.message = m.id WHERE m.message_id LIKE ?"
    while True:
        row = db.execute(q, (mid + "%",)).fetchone()
        if row:
            out.append((time.monotonic() - t_exit) * 1000)
            break
        if time.monotonic() - t_exit > 10:
            out.append(10000)
            break
        time.sleep(0.001)
    # idle again: graded (or failed) before the next one
    t = time.monotonic()
    while db.execute("SELECT count(*) FROM attempts WHERE state IN ('QUEUED', 'RUNNING')").fetchone()[0] and time.monotonic() - t < 120:
        time.sleep(0.01)
out.sort()
p95 = out[min(len(out) - 1, int(round(0.95 * len(out))) - 1)]
print("%.1f %.1f %.1f" % (out[len(out) // 2], p95, out[-1]))
PY
)
kill "$rpid"; wait "$rpid"
read -r lat_med lat_p95 lat_max <<< "$lat"

verdict() { [ "$1" = 1 ] && echo OK || { echo MISSED; missed=1; }; }
missed=0
echo "deliver bench: $NM mails of $avg bytes on average (tp.c + tp1.tar.gz), $ROUNDS rounds, $fs at $W; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-16s %8s ms/mail   (rounds: %s ms)\n' sercom-deliver "$(per "$S")" "${ts[*]}"
printf '  %-16s %8s ms/mail   (rounds: %s ms)\n' procmail "$(per "$PM")" "${tp[*]}"
printf '  %-16s %8s ms/mail   (rounds: %s ms)\n' maildrop "$(per "$MD")" "${tm[*]}"
rp=$(ratio "$S" "$PM"); rm_=$(ratio "$S" "$MD")
echo "  sercom-deliver / procmail = $rp (target <= 1.1: $(verdict "$(awk -v r="$rp" 'BEGIN {print (r <= 1.1)}')"))"
echo "  sercom-deliver / maildrop = $rm_"
echo "  fsync-family calls per delivery: sercom-deliver $fs_s, procmail $fs_p, maildrop $fs_m"
echo "  ingester: $n_ing of $NI mails recorded from var/mail/new in $t_ing ms: $rate mails/s (target >= 150: $(verdict $((rate >= 150))))"
echo "  sercom-deliver's exit to QUEUED, daemon idle, $NL mails: median $lat_med ms, p95 $lat_p95 ms, max $lat_max ms (target p95 < 50: $(verdict "$(awk -v p="$lat_p95" 'BEGIN {print (p < 50)}')"))"
echo "  peak RSS of sercom-deliver: $peak_kib KiB on the corpus mails, $big_kib KiB on a $big_bytes B mail (exit $big_rc)"
echo "  peak RSS of the ingester (sercom recover) over those 21 mails: $ingest_kib KiB (target 3 x $big_bytes B + 16 MiB = $big_target KiB: $(verdict $((ingest_kib <= big_target))))"
[ "${BENCH_STRICT:-0}" = 1 ] && exit $missed
exit 0
