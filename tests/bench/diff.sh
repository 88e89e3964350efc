#!/bin/bash
# diff benchmark (issue 4, "Shows" item 3):
#  - our unified diff of two 10 MB outputs with 10% of lines changed, against
#    `diff -u` on the same files in the same run (target: at most 1x its
#    time; both write their whole output, to /dev/null);
#  - the hostile pairs, 10 MB against 10 MB (target: under 1 s each):
#    printable garbage (diffed as text), random bytes (binary), and the
#    expected lines in reverse order (everything matches, nothing aligns).
# Times are the best of 3 runs of each program, interleaved, wall clock.
set -euo pipefail
: "${SERCOM_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$SERCOM_TOP"

make -s build/obj/diff.o build/obj/compare.o build/obj/util.o build/obj/log.o
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bench=$tmp/diffbench
cc -std=gnu11 -O2 -Isrc $(pkg-config --cflags glib-2.0) -o "$bench" tests/bench/diffbench.c \
	build/obj/diff.o build/obj/compare.o build/obj/util.o build/obj/log.o $(pkg-config --libs glib-2.0)

# 10 MB of program-like output, and a copy with 10% of its lines changed
awk 'BEGIN { srand(1); n = 0; i = 0
	while (n < 10485760) { l = sprintf("line %d: value %.6f sum %d", i, rand() * 1000, int(rand() * 1000000))
		print l; n += length(l) + 1; i++ } }' > "$tmp/expected"
awk 'BEGIN { srand(2) } { if (rand() < 0.10) print "changed " $0; else print }' "$tmp/expected" > "$tmp/actual"
head -c 7733248 /dev/urandom | base64 -w 60 > "$tmp/garbage"   # ~10 MB of 61-byte lines
head -c 10485760 /dev/urandom > "$tmp/random"
tac "$tmp/expected" > "$tmp/reversed"

# ms PROGRAM ARGS...: wall milliseconds of one run, output discarded
ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" > /dev/null || [ $? = 1 ]
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}
best() { sort -n | head -1; }

ours=() gnu=()
for i in 1 2 3; do
	ours+=("$(ms "$bench" -m 0 "$tmp/expected" "$tmp/actual")")
	gnu+=("$(ms diff -u "$tmp/expected" "$tmp/actual")")
done
o=$(printf '%s\n' "${ours[@]}" | best)
g=$(printf '%s\n' "${gnu[@]}" | best)
lines=$(wc -l < "$tmp/expected")
# the same output? (headers aside)
"$bench" -m 0 "$tmp/expected" "$tmp/actual" | tail -n +3 > "$tmp/ours.diff" || true
diff -u "$tmp/expected" "$tmp/actual" | tail -n +3 > "$tmp/gnu.diff" || true
same=$(cmp -s "$tmp/ours.diff" "$tmp/gnu.diff" && echo "identical to diff -u" || echo "differs from diff -u")
ratio=$(awk -v o="$o" -v g="$g" 'BEGIN { printf "%.2f", (g > 0 ? o / g : 0) }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.0 ? "target met" : "TARGET MISSED") }')
echo "diff: 10 MB vs 10 MB, 10% of $lines lines changed: ours ${o} ms, diff -u ${g} ms," \
     "ratio ${ratio}x (target <= 1x: $verdict); output $same"

for kind in garbage random reversed; do
	h=()
	for i in 1 2 3; do
		h+=("$(ms "$bench" -m 1048576 "$tmp/expected" "$tmp/$kind")")
	done
	hb=$(printf '%s\n' "${h[@]}" | best)
	note=$("$bench" -t -m 1048576 "$tmp/expected" "$tmp/$kind" 2>&1 >/dev/null | sed 's/^diffbench: //' || true)
	verdict=$([ "$hb" -lt 1000 ] && echo "target met" || echo "TARGET MISSED")
	echo "diff: hostile 10 MB $kind vs 10 MB expected (1 MB cap): ${hb} ms (target < 1000 ms: $verdict) [$note]"
done
