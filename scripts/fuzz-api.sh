#!/usr/bin/env bash
# Schema-driven fuzzing of the Auth API: schemathesis (installed from PyPI into
# .venv-fuzz/) reads the OpenAPI document of a real `harmont-auth serve` (SQLite
# in a temporary folder, a user, a token from `harmont-auth token mint`, a
# resource-server client from `harmont-auth client add` for introspection) and
# sends every operation generated valid and invalid requests, with the bearer
# token and with links between responses (ids from real responses). Every
# check runs: no 5xx, responses and status codes as documented, schema-valid
# requests accepted and invalid ones refused (the contract's own 400s aside:
# scripts/fuzz/schemathesis.toml and hooks.py say which, and why). A finding,
# or a panic in the server's log, fails the run.
#
# Usage: scripts/fuzz-api.sh [extra `st run` options]
#   FUZZ_EXAMPLES  cases per operation in each phase (default 100)
#   FUZZ_MAX_TIME  seconds: fuzzing and stateful testing repeat until they are spent (default: one pass)
#   FUZZ_SEED      schemathesis seed (default: random, printed)
#   FUZZ_REPORTS   a folder to keep the reports (JUnit, NDJSON events, the cache `st replay`
#                  reads) and the server's log in
#   HARMONT_AUTH   the server binary (default: the debug build under the target dir)
# scripts/test.sh runs it after the cargo tests; bench/fuzz-api.sh runs it longer.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

examples=${FUZZ_EXAMPLES:-100}
budget=()
[ -n "${FUZZ_MAX_TIME:-}" ] && budget=(--max-time "$FUZZ_MAX_TIME")
seed=${FUZZ_SEED:-$((RANDOM * 32768 + RANDOM))}
bin=${HARMONT_AUTH:-${CARGO_TARGET_DIR:-$root/target}/debug/harmont-auth}
[ -x "$bin" ] || die "fuzz-api: no server binary at $bin (cargo build -p harmont-server)"

# The virtual environment, rebuilt when the pinned requirements change.
venv=$root/.venv-fuzz
requirements=$root/scripts/fuzz/requirements.txt
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
    echo "fuzz-api: installing schemathesis into .venv-fuzz/" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
fi

work=$(mktemp -d)
reports=${FUZZ_REPORTS:-$work/report}
mkdir -p "$reports"
reports=$(cd "$reports" && pwd)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL=sqlite://$work/data/harmont.db
email=fuzz@example.com
"$bin" migrate 2>/dev/null
"$bin" user add "$email" --name "Fuzz" >/dev/null
"$bin" token mint "$email" >/dev/null
# A resource-server client for introspectToken (HTTP Basic; see hooks.py).
client=$("$bin" client add fuzz)
HARMONT_FUZZ_CLIENT_ID=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["client_id"])' <<<"$client")
HARMONT_FUZZ_CLIENT_SECRET=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["client_secret"])' <<<"$client")
export HARMONT_FUZZ_CLIENT_ID HARMONT_FUZZ_CLIENT_SECRET

# The hooks send each call through a made-up X-Forwarded-For (see hooks.py).
# Emailed links are on, so their endpoint is fuzzed past its 404; the SMTP
# port (1, tcpmux, which nothing serves) has nobody behind it, so a send
# fails (and is logged) without a mail.
serve_on_port_0 "$work/server.log" env HARMONT_SMTP_URL=smtp://127.0.0.1:1 HARMONT_MAIL_FROM=fuzz@example.com \
    HARMONT_TRUSTED_PROXIES=127.0.0.0/8 HARMONT_LOG=info "$bin" serve ||
    die "fuzz-api: the server did not start"
server_pid=$served_pid
base=http://$served_addr

echo "fuzz-api: $examples cases per operation and phase${FUZZ_MAX_TIME:+, repeated for ${FUZZ_MAX_TIME}s}, seed $seed" >&2
status=0
# From the reports folder, where schemathesis keeps its cache (`st replay ID` works there).
cd "$reports"
HARMONT_FUZZ_BIN=$bin HARMONT_FUZZ_EMAIL=$email HARMONT_FUZZ_SEED=$seed \
    PYTHONPATH=$root/scripts/fuzz SCHEMATHESIS_HOOKS=hooks \
    "$venv/bin/st" --config-file "$root/scripts/fuzz/schemathesis.toml" --no-color run "$base/api/v0/openapi.json" \
    --checks all --max-examples "$examples" "${budget[@]}" --seed "$seed" --workers 2 \
    --request-timeout 40 --generation-database none \
    --report junit,ndjson --report-junit-path "$reports/junit.xml" --report-ndjson-path "$reports/events.ndjson" \
    "$@" 2>&1 | tee "$reports/schemathesis.txt" || status=${PIPESTATUS[0]}
cp "$work/server.log" "$reports/server.log"

# The envelope middleware turns a panic into a 500 that the checks report;
# the log tells of any that happened outside a request.
if grep -E "panicked|internal error" "$work/server.log" >&2; then
    echo "fuzz-api: the server logged a panic or an internal error (above)" >&2
    status=1
fi
cases=$(grep -Eo '[0-9]+ generated' "$reports/schemathesis.txt" | tail -1 || true)
findings=$(grep -Eo '[0-9]+ unique failures?' "$reports/schemathesis.txt" | tail -1 || true)
echo "fuzz-api: ${cases:-no} cases, ${findings:-0 unique failures}, exit $status" >&2
exit "$status"
