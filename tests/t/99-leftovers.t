#!/bin/bash
# 99-leftovers: runs last (prove takes tests/t/ in name order). After the
# whole suite, the hostile programs and submissions included, the host
# holds nothing of any box: no process of a sandbox uid, no sercom-box-*
# cgroup, no box root or scratch tmpfs in any mount namespace. The uid
# range is the one the test scripts take (60000-65499: lib.sh, lib-mta.sh,
# 40-44, 70, 71; 65534 is nobody, the tests' ingester); a grader of the
# machine's own would use another.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (the suite's boxes ran as root)"
LO=60000 HI=65499

# processes end as their runner or sandbox ends: wait for the last ones
# (a box killed by the previous script may still be exiting)
strays() { ps -eo uid=,pid=,comm= | awk -v lo=$LO -v hi=$HI '$1 >= lo && $1 <= hi'; }
for i in $(seq 100); do [ -z "$(strays)" ] && break; sleep 0.1; done
s=$(strays)
is "$s" "" "no process of a sandbox uid ($LO-$HI) left"

cg=$(find /sys/fs/cgroup -maxdepth 6 -type d -name 'sercom-box-*' 2>/dev/null |
	awk -F'sercom-box-' -v lo=$LO -v hi=$HI '$2 >= lo && $2 <= hi')
is "$cg" "" "no sercom-box-* cgroup of those uids left"

m=$(grep -lE '(^| )(sercom-box|sercom-scratch|sercom-area) ' /proc/[0-9]*/mountinfo 2>/dev/null | head -5)
is "$m" "" "no box root, scratch or work-area tmpfs mounted in any namespace"
done_testing
