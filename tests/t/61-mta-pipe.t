#!/usr/bin/env bash
# Issue 6, Shows: a real postfix (private instance, 127.0.0.1 only) delivers
# submissions through the pipe route of filters/; sercom-runner grades them
# and the replies come back through postfix into the students' Maildirs,
# threaded, with Reply-To the admin, whose answer reaches staff. A failing
# sercom-deliver (var-denied) makes postfix defer, never bounce.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mta.sh"
mta_route_test pipe var-denied
