#!/usr/bin/env bash
# The whole test suite, as CI runs it: format, lints, then every test against
# SQLite and against a throwaway Postgres cluster (started by
# scripts/test-postgres.sh, which installs Debian's postgresql if missing),
# then schema-driven fuzzing of the API against the built server
# (scripts/fuzz-api.sh: schemathesis from PyPI in .venv-fuzz/), then the web
# pages in Debian's chromium (web-tests/, playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "test: installing ${need_apt[*]}" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests (SQLite and Postgres)" >&2
scripts/test-postgres.sh cargo nextest run --workspace --locked --profile ci
cargo build --locked -p harmont-server -p harmont-cli
echo "== API fuzzing (schemathesis against the OpenAPI document of the built harmont-auth)" >&2
FUZZ_EXAMPLES=300 FUZZ_SEED=${FUZZ_SEED:-14} scripts/fuzz-api.sh
echo "== browser tests (web-tests/: chromium, the real harmont-auth and harmont)" >&2
(cd web-tests && npm ci --no-audit --no-fund --loglevel=error && npm test)
