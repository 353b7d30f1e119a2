#!/usr/bin/env bash
# The harmont-auth benchmark, in one command:
#
#   bench/run.sh              # SQLite, then Postgres, then revocation
#   bench/run.sh sqlite       # one backend only (or: postgres)
#   bench/run.sh revocation   # only revocation propagation across replicas
#
# For each backend: build the release server, make a throwaway database with
# one user and one session token, start the server on port 0 (its address read from its log),
# then measure
#   1. GET /api/v0/ping (no store: the ceiling), GET /api/v0/user with the
#      bearer token (hash + one indexed SELECT), GET /api/v0/auth/verify (forward
#      auth: the same bearer check, headers only) and POST /api/v0/auth/introspect
#      (a resource-server client's Basic credentials + the token, form-encoded),
#      same connections and time, alternating for BENCH_ROUNDS rounds, and the
#      ratios user/ping, verify/ping and introspect/ping;
#   2. BENCH_LONGPOLLS claims held at once with `Prefer: wait=30`, then a
#      transfer to each: how many were held, errors, the wake-up latency and
#      the server's RSS while holding them.
# and, with `revocation`, how long a logout on one of two replicas sharing a
# Postgres takes to be refused by the other (BENCH_REVOCATIONS tries, 100).
# The summary goes to stdout and to bench/results/latest.md (not committed).
#
# All traffic goes to 127.0.0.1; every load is bounded in count and time.
# Knobs (environment): BENCH_CONNECTIONS (64), BENCH_THREADS (2, wrk's),
# BENCH_DURATION (10 s a run), BENCH_WARMUP (2 s), BENCH_ROUNDS (2),
# BENCH_LONGPOLLS (10000), BENCH_WAIT (30), BENCH_TRANSFER_CONCURRENCY (16),
# BENCH_NO_BUILD=1 to use target/release/harmont-auth as it is.
# Postgres is the tests' throwaway cluster: scripts/test-postgres.sh starts it,
# runs this script's Postgres phase against it, and removes it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
cd "$repo"
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

export BENCH_CONNECTIONS="${BENCH_CONNECTIONS:-64}"
export BENCH_THREADS="${BENCH_THREADS:-2}"
export BENCH_DURATION="${BENCH_DURATION:-10}"
export BENCH_WARMUP="${BENCH_WARMUP:-2}"
export BENCH_ROUNDS="${BENCH_ROUNDS:-2}"
export BENCH_LONGPOLLS="${BENCH_LONGPOLLS:-10000}"
export BENCH_WAIT="${BENCH_WAIT:-30}"
export BENCH_TRANSFER_CONCURRENCY="${BENCH_TRANSFER_CONCURRENCY:-16}"
export BENCH_REVOCATIONS="${BENCH_REVOCATIONS:-100}"
export BENCH_BIN="${BENCH_BIN:-$repo/target/release/harmont-auth}"

# ---------------------------------------------------------------------------
# Cleanup: the servers this script started, and its temp dirs.

server_pids=()
temp_dirs=()

# `harmont-auth serve` on port 0, as the tests start it (scripts/lib.sh's
# serve_on_port_0: the address is read from its log line, never a port picked
# beforehand). NAME says which in messages; the log goes to LOG. Sets
# served_pid and served_addr, and keeps the pid for cleanup.
bench_serve() {
    local name=$1 url=$2 log=$3
    serve_on_port_0 "$log" "$BENCH_BIN" serve --database "$url" --log warn,harmont_auth=info ||
        die "bench: the $name server did not say where it listens within 30 s"
    server_pids+=("$served_pid")
}

cleanup() {
    local status=$?
    local pid
    for pid in "${server_pids[@]}"; do
        stop_server "$pid"
    done
    local dir
    for dir in "${temp_dirs[@]}"; do
        rm -rf "$dir"
    done
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_server() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    say "bench: server $pid did not stop in 10 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Setup: tools, open files, the binary.

install_tools() {
    command -v python3 >/dev/null || die "bench: python3 is required"
    command -v curl >/dev/null || die "bench: curl is required"
    if ! command -v wrk >/dev/null; then
        say "bench: installing wrk (Debian package)"
        apt_install wrk
    fi
}

# Each held long poll is one socket in the server and one in the client
# (separate processes, each with its own limit).
raise_open_files() {
    local want=$((BENCH_LONGPOLLS + 1024)) hard
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
        ulimit -Hn "$want" 2>/dev/null || true
        hard=$(ulimit -Hn)
    fi
    if [ "$hard" = unlimited ]; then
        ulimit -n 65536
    else
        ulimit -n "$hard"
    fi
    if [ "$(ulimit -n)" -lt "$want" ]; then
        die "bench: open-file limit is $(ulimit -n), need $want for $BENCH_LONGPOLLS long polls (lower BENCH_LONGPOLLS or raise the hard limit)"
    fi
}

build() {
    if [ "${BENCH_NO_BUILD:-}" = 1 ]; then
        [ -x "$BENCH_BIN" ] || die "bench: BENCH_NO_BUILD=1 but $BENCH_BIN is missing"
        return
    fi
    say "bench: cargo build --release -p harmont-server (may wait on the build lock)"
    cargo build --release -p harmont-server --quiet ||
        die "bench: the release build failed (is the work tree mid-edit?); BENCH_NO_BUILD=1 measures the binary already in target/release"
    [ -x "$BENCH_BIN" ] || die "bench: the build did not produce $BENCH_BIN"
}

write_meta() {
    local backends_json=$1
    python3 - "$BENCH_RESULTS/meta.json" "$backends_json" <<'EOF'
import json, os, platform, subprocess, sys, time
def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return "?"
model = "?"
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
with open("/proc/meminfo") as f:
    mem_kb = int(f.readline().split()[1])
dirty = sh("git", "status", "--porcelain", "--untracked-files=no")
env = os.environ
meta = {
    "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    "commit": sh("git", "rev-parse", "--short", "HEAD") + ("+local changes" if dirty else ""),
    "cpus": os.cpu_count(),
    "cpu_model": model,
    "mem": f"{mem_kb / 1024 / 1024:.0f} GiB",
    "kernel": platform.release(),
    "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    "connections": int(env["BENCH_CONNECTIONS"]),
    "threads": int(env["BENCH_THREADS"]),
    "duration": int(env["BENCH_DURATION"]),
    "warmup": int(env["BENCH_WARMUP"]),
    "rounds": int(env["BENCH_ROUNDS"]),
    "longpolls": int(env["BENCH_LONGPOLLS"]),
    "wait": int(env["BENCH_WAIT"]),
    "transfer_concurrency": int(env["BENCH_TRANSFER_CONCURRENCY"]),
    "backends": json.loads(sys.argv[2]),
}
with open(sys.argv[1], "w") as f:
    json.dump(meta, f)
EOF
}

# ---------------------------------------------------------------------------
# One backend: database, user, token, server, measurements.

run_backend() {
    local backend=$1 url=$2
    local work port server_pid token
    work=$(mktemp -d "${TMPDIR:-/tmp}/harmont-bench.XXXXXX")
    temp_dirs+=("$work")
    if [ "$backend" = sqlite ]; then
        url="sqlite://$work/harmont.db"
    else
        # Postgres needs a shared secret; this one lives as long as the run.
        HARMONT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(36))')
        export HARMONT_SECRET
        psql "$url" -Atqc "select 'PostgreSQL ' || current_setting('server_version') || ', fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit') || ', max_connections=' || current_setting('max_connections')" \
            >"$BENCH_RESULTS/postgres-note.txt" 2>/dev/null || true
    fi

    say ""
    say "== $backend"
    "$BENCH_BIN" migrate --database "$url" 2>"$work/cli.log" ||
        { cat "$work/cli.log" >&2; die "bench: migrate failed"; }
    "$BENCH_BIN" user add bench@example.com --database "$url" >/dev/null 2>>"$work/cli.log" ||
        { cat "$work/cli.log" >&2; die "bench: user add failed"; }
    token=$("$BENCH_BIN" token mint bench@example.com --database "$url" 2>>"$work/cli.log") ||
        { cat "$work/cli.log" >&2; die "bench: token mint failed"; }
    local client client_basic
    client=$("$BENCH_BIN" client add "bench-$$-$RANDOM" --database "$url" 2>>"$work/cli.log") ||
        { cat "$work/cli.log" >&2; die "bench: client add failed"; }
    client_basic=$(python3 -c 'import json, sys; c = json.load(sys.stdin); print(c["client_id"] + ":" + c["client_secret"])' <<<"$client")

    # One session transfers to every held poll, each from its own address:
    # the per-session and long-poll limits are raised to let them through.
    HARMONT_MAX_LONG_POLLS=$((BENCH_LONGPOLLS > 10000 ? BENCH_LONGPOLLS : 10000)) \
        HARMONT_SESSION_START_LIMIT=$((BENCH_LONGPOLLS + 100)) \
        bench_serve "$backend" "$url" "$work/server.log"
    server_pid=$served_pid
    port=${served_addr##*:}
    local base="http://$served_addr"
    curl -fsS --max-time 5 -H "Authorization: Bearer $token" "$base/api/v0/user" >/dev/null ||
        die "bench: GET /api/v0/user with the minted token failed on $backend"
    say "server pid $server_pid on 127.0.0.1:$port; wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS shares the CPUs with it"

    local round warmup
    for round in $(seq 1 "$BENCH_ROUNDS"); do
        warmup=0
        [ "$round" -eq 1 ] && warmup=$BENCH_WARMUP
        python3 "$here/loadtest.py" rate --name ping --round "$round" --url "$base/api/v0/ping" \
            --connections "$BENCH_CONNECTIONS" --threads "$BENCH_THREADS" --duration "$BENCH_DURATION" \
            --warmup "$warmup" --server-pid "$server_pid" --out "$BENCH_RESULTS/$backend-ping-$round.json"
        python3 "$here/loadtest.py" rate --name user --round "$round" --url "$base/api/v0/user" --token "$token" \
            --connections "$BENCH_CONNECTIONS" --threads "$BENCH_THREADS" --duration "$BENCH_DURATION" \
            --warmup "$warmup" --server-pid "$server_pid" --out "$BENCH_RESULTS/$backend-user-$round.json"
        python3 "$here/loadtest.py" rate --name verify --round "$round" --url "$base/api/v0/auth/verify" \
            --token "$token" --connections "$BENCH_CONNECTIONS" --threads "$BENCH_THREADS" \
            --duration "$BENCH_DURATION" --warmup "$warmup" --server-pid "$server_pid" \
            --out "$BENCH_RESULTS/$backend-verify-$round.json"
        python3 "$here/loadtest.py" rate --name introspect --round "$round" \
            --url "$base/api/v0/auth/introspect" --basic "$client_basic" --form "token=$token" \
            --connections "$BENCH_CONNECTIONS" --threads "$BENCH_THREADS" --duration "$BENCH_DURATION" \
            --warmup "$warmup" --server-pid "$server_pid" --out "$BENCH_RESULTS/$backend-introspect-$round.json"
    done

    say "long polls: $BENCH_LONGPOLLS claims with Prefer: wait=$BENCH_WAIT, then a transfer to each"
    python3 "$here/loadtest.py" longpoll --port "$port" --token "$token" --count "$BENCH_LONGPOLLS" \
        --wait "$BENCH_WAIT" --transfer-concurrency "$BENCH_TRANSFER_CONCURRENCY" \
        --server-pid "$server_pid" --out "$BENCH_RESULTS/$backend-longpoll.json" ||
        say "bench: the long-poll run failed on $backend (see above)"

    stop_server "$server_pid"
    local lines
    lines=$(grep -v "harmont-auth listening" "$work/server.log" | grep -c . || true)
    if [ "$lines" -gt 0 ]; then
        say "server log ($lines lines at warn and above), last 5:"
        tail -n 5 "$work/server.log" | cut -c1-300 >&2
    fi
    cp "$work/server.log" "$BENCH_RESULTS/$backend-server.log"
}

# ---------------------------------------------------------------------------
# Revocation propagation: two replicas on one Postgres, a logout on A, polled on B.


run_revocation() {
    local url=$1 work port_a port_b
    work=$(mktemp -d "${TMPDIR:-/tmp}/harmont-bench.XXXXXX")
    temp_dirs+=("$work")
    HARMONT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(36))')
    export HARMONT_SECRET
    # An hour's cache: only the announcement can explain a refusal.
    export HARMONT_AUTH_CACHE_TTL=1h
    say ""
    say "== revocation: two replicas on one Postgres, $BENCH_REVOCATIONS logouts on A, each polled on B"
    bench_serve "replica A" "$url" "$work/a.log"
    local a=$served_addr
    bench_serve "replica B" "$url" "$work/b.log"
    local b=$served_addr
    python3 "$here/revocation.py" --bin "$BENCH_BIN" --database "$url" --a "http://$a" \
        --b "http://$b" --tries "$BENCH_REVOCATIONS" --out "$BENCH_RESULTS/revocation.json" ||
        say "bench: the revocation run failed (see above)"
}

# ---------------------------------------------------------------------------
# Postgres: the tests' throwaway cluster (scripts/test-postgres.sh), which
# re-enters this script with --phase postgres|revocation and HARMONT_TEST_POSTGRES_URL.

run_postgres() {
    "$repo/scripts/test-postgres.sh" bash "$here/run.sh" --phase postgres
}

# ---------------------------------------------------------------------------

if [ "${1:-}" = --phase ]; then
    # Re-entered by scripts/test-postgres.sh, which exported the cluster's URL.
    raise_open_files
    [ -n "${HARMONT_TEST_POSTGRES_URL:-}" ] || die "bench: --phase ${2:-} needs HARMONT_TEST_POSTGRES_URL"
    if [ "${2:-}" = revocation ]; then
        run_revocation "$HARMONT_TEST_POSTGRES_URL"
    else
        run_backend postgres "$HARMONT_TEST_POSTGRES_URL"
    fi
    exit 0
fi

backends=("$@")
[ "${#backends[@]}" -gt 0 ] || backends=(sqlite postgres revocation)
for backend in "${backends[@]}"; do
    case "$backend" in sqlite | postgres | revocation) ;; *) die "bench: unknown backend '$backend' (sqlite, postgres or revocation)" ;; esac
done

started=$(date +%s)
install_tools
raise_open_files
build
mkdir -p "$here/results"
BENCH_RESULTS=$(mktemp -d "$here/results/run.XXXXXX")
export BENCH_RESULTS
write_meta "$(printf '%s\n' "${backends[@]}" | grep -vx revocation | python3 -c 'import json, sys; print(json.dumps(sys.stdin.read().split()))')"
say "bench: $(nproc) CPUs shared by the server, the load generator (and Postgres): read the ratio, not the absolute figures"

for backend in "${backends[@]}"; do
    case "$backend" in
    sqlite) run_backend sqlite "" ;;
    postgres) run_postgres ;;
    revocation) bash "$repo/scripts/test-postgres.sh" bash "$here/run.sh" --phase revocation ;;
    esac
done

say ""
if [ "${backends[*]}" = revocation ]; then
    : >"$here/results/latest.md"
else
    python3 "$here/loadtest.py" report "$BENCH_RESULTS" --out "$here/results/latest.md"
fi
if [ -f "$BENCH_RESULTS/revocation.json" ]; then
    python3 - "$BENCH_RESULTS/revocation.json" >>"$here/results/latest.md" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"\n## Revocation propagation (two replicas, one Postgres)\n\n"
      f"{r['tries']} logouts on A, each polled on B until 401: p50 {r['p50_ms']:.2f} ms, "
      f"p99 {r['p99_ms']:.2f} ms, worst {r['max_ms']:.2f} ms; not refused within 5 s: {r['failed']}.")
EOF
    tail -n 2 "$here/results/latest.md" >&2
fi
say ""
say "bench: done in $(($(date +%s) - started)) s; summary in bench/results/latest.md, raw figures in bench/results/$(basename "$BENCH_RESULTS")/"
