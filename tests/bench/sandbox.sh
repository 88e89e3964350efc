#!/bin/bash
# sandbox.sh: per-run wall time of 1,000 runs of a tiny static program:
# bare fork/exec/wait, the sandbox module in-process (as the runner calls
# it; and the designs not kept: netns per run, init fork-like), bwrap
# --unshare-all. Then again with 32 MiB of touched heap (a runner's worker).
set -e
: "${SERCOM_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
N=${SANDBOX_BENCH_RUNS:-1000}
[ "$(id -u)" = 0 ] || { echo "sandbox bench: needs root, skipped"; exit 0; }
cd "$SERCOM_TOP"
OBJS="build/obj/sandbox.o build/obj/sandbox-box.o build/obj/sandbox-cgroup.o build/obj/sandbox-seccomp.o build/obj/util.o build/obj/log.o"
make -s $OBJS
T=$(mktemp -d /tmp/sercom-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/w"
printf 'int main(void){return 0;}\n' > "$T/tiny.c"
gcc -O2 -static -o "$T/w/tiny" "$T/tiny.c"
CFLAGS="-std=gnu11 -O2 -Isrc $(pkg-config --cflags glib-2.0 libseccomp)"
gcc $CFLAGS -o "$T/bench" tests/bench/sandbox-bench.c $OBJS $(pkg-config --libs glib-2.0 libseccomp)
"$T/bench" "$T/w" tiny "$N"
SANDBOX_BENCH_HEAP_MB=32 "$T/bench" "$T/w" tiny "$N"
