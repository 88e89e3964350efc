#!/bin/bash
# The libFuzzer target over mime + unpack (tests/fuzz) builds and runs for
# 20 seconds from its seed corpus without a crash, leak, sanitizer report or
# timeout. `make fuzz FUZZ_SECONDS=600` runs it longer.
. "$(dirname "$0")/lib.sh"

command -v clang >/dev/null || skip_all "clang not installed"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
	> /tmp/sercom-fuzz-probe.$$.c
if ! clang -fsanitize=fuzzer -o /tmp/sercom-fuzz-probe.$$ /tmp/sercom-fuzz-probe.$$.c 2>/dev/null; then
	rm -f /tmp/sercom-fuzz-probe.$$*
	skip_all "clang has no libFuzzer (libclang-rt-14-dev)"
fi
rm -f /tmp/sercom-fuzz-probe.$$*

tmpdir
plan 3
FZ=$SERCOM_TOP/tests/fuzz
OUT=$SERCOM_TOP/build/fuzz
build() { make -s -C "$FZ" >"$T/build.log" 2>&1; }
ok "fuzz target builds" build
[ -s "$T/build.log" ] && sed 's/^/# /' "$T/build.log" | tail -20

# fresh scratch corpus: what a run finds stays in build/fuzz/corpus only
mkdir -p "$T/corpus"
( cd "$FZ" && "$OUT/fuzz_mime" -max_total_time=20 -rss_limit_mb=2048 -timeout=10 \
	-max_len=65536 -artifact_prefix="$T/" -print_final_stats=1 \
	"$T/corpus" corpus ) >"$T/fuzz.log" 2>&1
rc=$?
is "$rc" 0 "20 s of fuzzing: no crash (exit $rc)"
if [ "$rc" != 0 ]; then
	grep -E "ERROR|SUMMARY|Test unit written|==[0-9]+==" "$T/fuzz.log" | head -20 | sed 's/^/# /'
	for c in "$T"/crash-* "$T"/leak-* "$T"/timeout-* "$T"/oom-*; do
		[ -e "$c" ] || continue
		mkdir -p "$OUT" && cp "$c" "$OUT/" && echo "# kept $OUT/$(basename "$c")"
	done
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/fuzz.log")
ok "the fuzzer executed inputs (${runs:-0})" test "${runs:-0}" -gt 100
