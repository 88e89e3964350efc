# deliver-lib.sh: helpers of the sercom-deliver TAP scripts (10-13 and the
# bench), sourced after lib.sh.

# make_exercises DIR: the exercises the MDA tests need, with dates relative
# to now so they never expire:
#   tp1  open, files = *.c *.h, required = tp.c (like conf/exercises/tp1)
#   tp2  closed yesterday        tp3  opens next year
#   tp4  max_attempts = 2        tp5  open, no rules (concurrency tests)
make_exercises() {
	local d=$1 e
	local past future
	past=$(date -d '-1 day' '+%Y-%m-%d %H:%M')
	future=$(date -d '+1 year' '+%Y-%m-%d %H:%M')
	for e in tp1 tp2 tp3 tp4 tp5; do
		mkdir -p "$d/$e/tests/01-suma"
		printf 'tp: tp.c\n\tcc -O2 -o tp *.c\n' > "$d/$e/Makefile"
		printf '[case]\nexit = 0\n' > "$d/$e/tests/01-suma/case.conf"
		printf '2 3\n' > "$d/$e/tests/01-suma/stdin"
		printf '5\n' > "$d/$e/tests/01-suma/stdout"
	done
	printf '[exercise]\ntitle = Suma\nfiles = *.c *.h\nrequired = tp.c\n' > "$d/tp1/exercise.conf"
	printf '[exercise]\ntitle = Cerrado\ncloses = %s\nfiles = *.c *.h\nrequired = tp.c\n' "$past" > "$d/tp2/exercise.conf"
	printf '[exercise]\ntitle = Futuro\nopens = %s\nfiles = *.c *.h\nrequired = tp.c\n' "$future" > "$d/tp3/exercise.conf"
	printf '[exercise]\ntitle = Dos intentos\nmax_attempts = 2\nfiles = *.c *.h\nrequired = tp.c\n' > "$d/tp4/exercise.conf"
	printf '[exercise]\ntitle = Libre\n' > "$d/tp5/exercise.conf"
}

# deliver INSTANCE FILE [ARGS...]: one delivery like an MTA does it, then
# `sercom recover`, which records what waits in var/mail/new as the
# runner's ingester would; the exit status is sercom-deliver's. ARGS of
# the form NAME=VALUE go to the environment (EXTENSION=tp1).
deliver() {
	local inst=$1 f=$2; shift 2
	local envs=() args=() rc
	for a in "$@"; do
		case $a in [A-Z]*=*) envs+=("$a") ;; *) args+=("$a") ;; esac
	done
	env "${envs[@]}" "$SERCOM_BIN/sercom-deliver" -c "$inst/sercom.conf" "${args[@]}" < "$f"
	rc=$?
	ingest "$inst"
	return $rc
}

# ingest INSTANCE: records var/mail/new now; its errors on stderr.
ingest() {
	"$SERCOM_BIN/sercom" -c "$1/sercom.conf" recover > /dev/null
}

# wait_messages INSTANCE N [POLL]: until the instance has N messages rows
# (20 s at most; a look every POLL seconds, 0.01).
wait_messages() {
	local poll=${3:-0.01} end=$(( $(date +%s) + 20 ))
	while [ "$(date +%s)" -le $end ]; do
		[ "$(sql "$1" "SELECT count(*) FROM messages" 2>/dev/null)" -ge "$2" ] 2>/dev/null && return 0
		sleep "$poll"
	done
	return 1
}

# body FILE: a spool file without its envelope line (src/envelope.h)
body() { tail -n +2 "$1"; }

# need_mda: skips the whole script when the programs are not built yet.
need_mda() {
	[ -x "$SERCOM_BIN/sercom-deliver" ] || skip_all "no $SERCOM_BIN/sercom-deliver"
	[ -x "$SERCOM_BIN/sercom" ] || skip_all "no $SERCOM_BIN/sercom"
	command -v sqlite3 >/dev/null || skip_all "no sqlite3"
}

# gen_mail FILE MESSAGE-ID FROM EXERCISE [BODY_KIB]: a submission of tp.c
# (base64) with BODY_KIB KiB of comments to make it bigger.
gen_mail() {
	local f=$1 mid=$2 from=$3 ex=$4 kib=${5:-0}
	{
		printf 'From: %s\nTo: entregas+%s@example.edu\nSubject: %s\n' "$from" "$ex" "$ex"
		printf 'Message-ID: <%s>\nDate: Thu, 5 Mar 2026 10:00:00 -0300\nMIME-Version: 1.0\n' "$mid"
		printf 'Content-Type: multipart/mixed; boundary="b-%s"\n\n' "$mid"
		printf -- '--b-%s\nContent-Type: text/plain; charset=UTF-8\n\nHola, va el %s.\n\n' "$mid" "$ex"
		printf -- '--b-%s\nContent-Type: text/x-csrc; name="tp.c"\n' "$mid"
		printf 'Content-Disposition: attachment; filename="tp.c"\nContent-Transfer-Encoding: base64\n\n'
		{
			printf '/* %s */\n#include <stdio.h>\nint main(void){long a,b;if(scanf("%%ld %%ld",&a,&b)!=2)return 1;printf("%%ld\\n",a+b);return 0;}\n' "$mid"
			local i=0
			while [ $i -lt "$kib" ]; do
				printf '/* %1020s */\n' "$i"
				i=$((i + 1))
			done
		} | base64 -w 76
		printf '\n--b-%s--\n' "$mid"
	} > "$f"
}

# from_template TEMPLATE FILE MESSAGE-ID: a copy of a gen_mail template made
# with the Message-ID @MID@ (one sed instead of a shell pipeline per mail)
from_template() {
	sed "s/@MID@/$3/g" "$1" > "$2"
}

# tmpfs_var INSTANCE [SIZE]: moves the instance's var/ onto a fresh tmpfs
# (root only; false otherwise). For the tests whose subject is not the
# disk (process kills, lock contention): fsync on tmpfs is free, so 500
# deliveries take seconds instead of minutes. The caller umounts it
# (umount_tmpfs_vars in its EXIT trap).
TMPFS_VARS=()
tmpfs_var() {
	local i=$1 size=${2:-512M}
	[ "$(id -u)" = 0 ] || return 1
	mv "$i/var" "$i/var.disk" && mkdir "$i/var" || return 1
	if ! mount -t tmpfs -o "size=$size,mode=0755" tmpfs "$i/var" 2>/dev/null; then
		rmdir "$i/var"; mv "$i/var.disk" "$i/var"; return 1
	fi
	TMPFS_VARS+=("$i/var")
	cp -a "$i/var.disk/." "$i/var/" && chown "$(stat -c %u:%g "$i/var.disk")" "$i/var" && rm -rf "$i/var.disk"
}
umount_tmpfs_vars() {
	local m
	for m in "${TMPFS_VARS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	TMPFS_VARS=()
}

# unstored INSTANCE FILE...: the FILEs whose bytes are in no spool file of
# var/mail/cur (after its envelope line): "nothing is lost" as bytes, not
# as a count of rows. Prints one line per lost file.
unstored() {
	local i=$1 f h; shift
	local -A have=()
	for f in "$i"/var/mail/cur/*; do
		[ -f "$f" ] || continue
		h=$(body "$f" | sha256sum); have[${h%% *}]=1
	done
	sha256sum "$@" | while read -r h f; do
		[ -n "${have[$h]:-}" ] || echo "$f"
	done
}

# durable_events STRACE_LOG: one sercom-deliver's durability steps, from an
# `strace -f -y -e trace=write,pwrite64,writev,fsync,fdatasync,link,linkat,
# rename,renameat,renameat2,exit_group` log, as a word each: W a write to
# its copy in var/mail/tmp, F an fsync of that copy, L its link (or rename)
# into var/mail/new, D an fsync of var/mail/new, X0 the exit 0. Repeated
# words are shown once. The promise: "W F L D X0" (the bytes on disk, then
# the name, before the MTA hears 0).
DURABLE_TRACE=write,pwrite64,writev,fsync,fdatasync,link,linkat,rename,renameat,renameat2,exit_group
durable_events() {
	awk '
	function ev(e) { if (e != last) { printf "%s%s", (n++ ? " " : ""), e; last = e } }
	/(write|pwrite64|writev)\([0-9]+<[^>]*\/var\/mail\/tmp\/[^>]*>/ && !/= -1/ { ev("W") }
	/(fsync|fdatasync)\([0-9]+<[^>]*\/var\/mail\/tmp\/[^>]*>\) += 0/ { ev("F") }
	/(link|linkat|rename|renameat|renameat2)\(.*\/var\/mail\/tmp\/.*\/var\/mail\/new\/.*= 0/ { ev("L") }
	/(fsync|fdatasync)\([0-9]+<[^>]*\/var\/mail\/new>\) += 0/ { ev("D") }
	/exit_group\(0\)/ { ev("X0") }
	END { print "" }' "$1"
}
