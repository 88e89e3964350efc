#!/bin/bash
# 11-deliver-corpus.t again, with an intake serving each instance: sercom-deliver
# spools each mail and hands it over, the intake records it (handoff.h).
SERCOM_TEST_INTAKE=1 exec bash "$(dirname "$0")/11-deliver-corpus.t"
