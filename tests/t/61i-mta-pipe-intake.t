#!/usr/bin/env bash
# 61-mta-pipe.t again, with an intake serving the instance: postfix's
# pipe(8) runs sercom-deliver, which hands each mail to the intake.
SERCOM_TEST_INTAKE=1 exec bash "$(dirname "$0")/61-mta-pipe.t"
