#!/usr/bin/env bash
# The long schema-driven fuzzing run: scripts/fuzz-api.sh with many more cases
# per operation, a random seed, and fuzzing and stateful testing repeated until
# the time budget is spent. scripts/test.sh runs the short one on every change.
#
#   bench/fuzz-api.sh                 # 1,000 cases per operation and phase, then repeat for 15 minutes
#   FUZZ_MAX_TIME=3600 bench/fuzz-api.sh
#
# It builds the debug server (assertions on, like the tests), keeps the reports
# (schemathesis' output, JUnit, NDJSON events, the server's log) in
# bench/results/fuzz.<time>/ (not committed), and exits non-zero on a finding.
# A finding replays with the printed seed: FUZZ_SEED=<seed> bench/fuzz-api.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked -p harmont-server
reports=bench/results/fuzz.$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$reports"
status=0
FUZZ_EXAMPLES=${FUZZ_EXAMPLES:-1000} FUZZ_MAX_TIME=${FUZZ_MAX_TIME:-900} FUZZ_REPORTS=$PWD/$reports \
    scripts/fuzz-api.sh "$@" || status=$?
echo "bench/fuzz-api.sh: reports in $reports" >&2
exit "$status"
