#!/bin/sh
# check.sh INPUT EXPECTED ACTUAL: exit 0 when ACTUAL is within 0.01 of
# EXPECTED, 1 otherwise with the reason on stdout.
exp=$(cat "$2"); act=$(cat "$3")
if awk -v a="$act" -v e="$exp" 'BEGIN { d = a - e; if (d < 0) d = -d; exit !(a ~ /^[0-9.]+$/ && d <= 0.01) }'; then
	exit 0
fi
echo "got $act, want $exp within 0.01"
exit 1
