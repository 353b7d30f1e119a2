#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster, so the Postgres
# backend is tested as routinely as SQLite:
#
#   scripts/test-postgres.sh cargo nextest run -p harmont-store-postgres
#   scripts/test-postgres.sh cargo nextest run --workspace
#
# The cluster lives in a temporary directory, listens on a free loopback
# port with trust authentication, and is stopped and deleted when the command
# ends, however it ends. The command sees HARMONT_TEST_POSTGRES_URL and
# exits with the command's status. Works as root (initdb refuses root, so the
# cluster belongs to the `postgres` user) and as an ordinary user.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$#" -eq 0 ]; then
    say "usage: $0 COMMAND [ARGS...]"
    exit 64
fi

bindir=$(postgres_bindir)
if [ -z "$bindir" ]; then
    say "test-postgres: installing PostgreSQL"
    apt_install postgresql
    bindir=$(postgres_bindir)
fi
[ -n "$bindir" ] || die "test-postgres: no initdb found after installing PostgreSQL"

# As root, run the server as `postgres`; otherwise as ourselves.
if [ "$(id -u)" -eq 0 ]; then
    as_owner() { runuser -u postgres -- "$@"; }
else
    as_owner() { "$@"; }
fi

if [ "$(id -u)" -eq 0 ]; then
    # Under /tmp rather than $TMPDIR: `postgres` must be able to reach it.
    workdir=$(mktemp -d /tmp/harmont-pg.XXXXXX)
    chown postgres: "$workdir"
else
    workdir=$(mktemp -d "${TMPDIR:-/tmp}/harmont-pg.XXXXXX")
fi
datadir="$workdir/data"
chmod 700 "$workdir"

cleanup() {
    local status=$?
    if [ -f "$datadir/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
# Until the command starts, a signal just exits (and so cleans up).
trap 'exit 130' INT
trap 'exit 143' TERM

# TLS on, with a throwaway CA and a certificate it signed for localhost and
# 127.0.0.1, so the tests can connect with sslmode=verify-full too.
command -v openssl >/dev/null 2>&1 || apt_install openssl
make_certificates() {
    local dir=$1
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=harmont test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" &&
    printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$dir/server.ext" &&
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt"
}
make_certificates "$workdir" >/dev/null 2>&1 || die "test-postgres: openssl could not make the test certificates"
chmod 600 "$workdir/server.key"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$workdir/server.key" "$workdir/server.crt"; fi

as_owner "$bindir/initdb" -D "$datadir" -U postgres --auth=trust --encoding=UTF8 --no-sync >"$workdir/initdb.log" 2>&1 ||
    { cat "$workdir/initdb.log" >&2; exit 1; }

# Another process can take the port between choosing and binding it; retry.
started=""
for _ in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bindir/pg_ctl" -D "$datadir" -l "$workdir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $workdir -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c ssl=on -c ssl_cert_file=$workdir/server.crt -c ssl_key_file=$workdir/server.key" \
        start >/dev/null 2>&1; then
        started=yes
        break
    fi
done
if [ -z "$started" ]; then
    say "test-postgres: the server did not start; its log:"
    cat "$workdir/server.log" >&2 || true
    exit 1
fi

as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres harmont_test

export HARMONT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/harmont_test"
say "test-postgres: $HARMONT_TEST_POSTGRES_URL"
# The CA of the certificate the cluster serves, to verify it with (sslrootcert).
export HARMONT_TEST_POSTGRES_CA="$workdir/ca.crt"

# Not exec: the trap must outlive the command to remove the cluster. In the
# background, so a signal reaches the trap at once; it is passed on as TERM
# because a background job in a script ignores INT.
"$@" &
child=$!
stop_child() {
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
    exit "$1"
}
trap 'stop_child 130' INT
trap 'stop_child 143' TERM
set +e
wait "$child"
status=$?
set -e
exit "$status"
