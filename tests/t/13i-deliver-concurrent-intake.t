#!/bin/bash
# 13-deliver-concurrent.t again, with an intake serving each instance: sercom-deliver
# spools each mail and hands it over, the intake records it (handoff.h).
SERCOM_TEST_INTAKE=1 exec bash "$(dirname "$0")/13-deliver-concurrent.t"
