#!/usr/bin/env bash
# The whole test suite, as CI runs it: format, lints, then every test against
# SQLite and against a throwaway Postgres cluster (started by
# scripts/test-postgres.sh, which installs Debian's postgresql if missing),
# then schema-driven fuzzing of the API against the built server
# (scripts/fuzz-api.sh: schemathesis from PyPI in .venv-fuzz/), then the web
# pages in Debian's chromium (web-tests/, playwright-core). Forward auth is
# tested behind Debian's nginx-light, installed here if missing. The systemd
# unit in deploy/ is checked by scripts/verify-unit.sh (Debian's systemd for
# systemd-analyze). The emailed-link tests mail through a real SMTP server,
# aiosmtpd from PyPI in .venv-mail/. Mutation testing
# is not part of it: scripts/mutants.sh runs it on demand.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib.sh
. scripts/lib.sh

need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# nginx in front of harmont-auth (forward auth, tests/api/nginx.rs); run unprivileged by the tests.
[ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
if [ "${#need_apt[@]}" -gt 0 ]; then
    say "test: installing ${need_apt[*]}"
    apt_install "${need_apt[@]}"
fi
cargo_install_if_missing cargo-nextest cargo-nextest
# A real SMTP server (aiosmtpd) for the emailed sign-in link tests.
python_venv .venv-mail scripts/mail/requirements.txt

say "== cargo fmt --check"
cargo fmt --all -- --check
say "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "== tests (SQLite and Postgres)"
# The nginx tests fail instead of skipping when nginx is missing.
export HARMONT_TEST_REQUIRE_NGINX=1
scripts/test-postgres.sh cargo nextest run --workspace --locked --profile ci
cargo build --locked -p harmont-server -p harmont-cli
say "== the systemd unit (deploy/harmont-auth.service: systemd-analyze verify and security)"
scripts/verify-unit.sh "${CARGO_TARGET_DIR:-target}/debug/harmont-auth"
say "== API fuzzing (schemathesis against the OpenAPI document of the built harmont-auth)"
FUZZ_EXAMPLES=300 FUZZ_SEED=${FUZZ_SEED:-14} scripts/fuzz-api.sh
say "== browser tests (web-tests/: chromium, the real harmont-auth and harmont)"
(cd web-tests && npm ci --no-audit --no-fund --loglevel=error && npm test)
