#!/usr/bin/env bash
# Mutation testing, on demand (too slow for scripts/test.sh): cargo-mutants
# changes the code one small way at a time (an operator, a constant, a whole
# function body) and runs the tests; a mutant no test notices ("missed")
# marks code that no test pins. Installs cargo-mutants if missing.
#
#   scripts/mutants.sh            # harmont-wire against its own tests
#   scripts/mutants.sh store      # harmont-store, -store-sql and -store-sqlite against the
#                                 # store contract suite, run by the SQLite backend's tests
#   scripts/mutants.sh wire store # both, one after the other
#   scripts/mutants.sh wire -- --file crates/harmont-wire/src/token.rs   # extra cargo-mutants options
#
# Each run builds in a scratch copy of the tree with its own target directory
# (so CARGO_TARGET_DIR is ignored) and leaves its report in
# target/mutants/NAME/mutants.out/ (missed.txt, caught.txt, timeout.txt,
# unviable.txt, outcomes.json). The survivors are listed at the end, and the
# script fails when there is one. MUTANTS_JOBS sets how many mutants build and
# test at once (default 1: a build uses every core anyway).
#
# Equivalent mutants (the code changes but its behaviour cannot, so no test
# can tell) are excluded below by name, and each is explained by a
# `// mutants: equivalent because …` comment where it lives.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

targets=()
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
    case "$1" in
        wire | store) targets+=("$1") ;;
        *) die "mutants: unknown target '$1' (wire or store)" ;;
    esac
    shift
done
[ "${1:-}" = -- ] && shift
[ "${#targets[@]}" -gt 0 ] || targets=(wire)

cargo_install_if_missing cargo-mutants cargo-mutants

# Equivalent mutants: regexes over the names `cargo mutants --list` gives
# them, matching any line and column (those move). Keep each in step with its
# comment in the source.
wire_equivalent=(
    # crates/harmont-wire/src/verification.rs: OR-ing a byte into a value shifted left by 8.
    'verification\.rs:[0-9:]+ replace \| with \^ in verification_code$'
)

# The contract suite's own code is test code, not under test.
store_args=(
    --package harmont-store --package harmont-store-sql --package harmont-store-sqlite
    --test-package harmont-store-sqlite
    --exclude 'crates/harmont-store/src/contract.rs'
)

status=0
for target in "${targets[@]}"; do
    out=target/mutants/$target
    mkdir -p "$out"
    args=(--output "$out" --jobs "${MUTANTS_JOBS:-1}" --no-shuffle)
    case "$target" in
        wire)
            args+=(--package harmont-wire)
            for name in "${wire_equivalent[@]}"; do
                args+=(--exclude-re "$name")
            done
            ;;
        store) args+=("${store_args[@]}") ;;
    esac
    say "== cargo mutants ($target)"
    run_status=0
    env -u CARGO_TARGET_DIR cargo mutants "${args[@]}" "$@" || run_status=$?
    report=$out/mutants.out
    # cargo-mutants: 0 all caught, 2 some missed, 3 some timed out (a timeout
    # counts as caught: the tests did not pass), anything else is a failure to run.
    case "$run_status" in
        0 | 2 | 3) ;;
        *) say "mutants: cargo mutants failed to run ($target, exit $run_status)"; status=1; continue ;;
    esac
    summary=$(python3 - "$report/outcomes.json" <<'EOF'
import collections, json, sys
outcomes = json.load(open(sys.argv[1]))["outcomes"]
counts = collections.Counter(o["summary"] for o in outcomes if o["scenario"] != "Baseline")
viable = sum(n for s, n in counts.items() if s != "Unviable")
print(f"{viable} viable mutants: {counts['CaughtMutant']} caught, {counts['Timeout']} timed out, "
      f"{counts['MissedMutant']} missed; {counts['Unviable']} unviable")
EOF
)
    say "mutants ($target): $summary"
    if [ -s "$report/missed.txt" ]; then
        say "mutants ($target): survivors (also in $report/missed.txt):"
        sed 's/^/  /' "$report/missed.txt" >&2
        status=1
    fi
done
exit "$status"
