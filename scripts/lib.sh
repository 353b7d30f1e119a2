# shellcheck shell=bash
# Shell helpers shared by scripts/*.sh and bench/run.sh. Source it:
#
#   . "$repo/scripts/lib.sh"
#
# It defines functions only: it changes no option, directory or variable of
# the script that sources it.

# A message on stderr.
say() { printf '%s\n' "$*" >&2; }

# A message on stderr, then exit 1.
die() {
    say "$*"
    exit 1
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

# Installs the named Debian packages (apt-get, quietly), all at once.
apt_install() {
    [ "$#" -gt 0 ] || return 0
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Installs a cargo tool (`cargo install --locked CRATE`) unless COMMAND is
# already on the PATH: cargo_install_if_missing cargo-nextest cargo-nextest
cargo_install_if_missing() {
    local command=$1 crate=$2
    command -v "$command" >/dev/null 2>&1 && return 0
    say "installing $crate (cargo install --locked)"
    cargo install --locked "$crate"
}

# A TCP port free on 127.0.0.1 right now. Another process can take it before
# it is bound: callers that can, retry.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    else
        echo $((20000 + RANDOM % 40000))
    fi
}

# Runs COMMAND... (a `harmont-auth serve`, with whatever environment the
# caller puts before it) with `--listen 127.0.0.1:0` added and its output in
# LOG, and waits up to 30 s for the line that says where it listens (text or
# JSON log format). Sets served_pid and served_addr (127.0.0.1:PORT); fails
# with the log when the server exits or says nothing. The same way the Rust
# tests (harmont-testkit) and the browser tests (harness.js) start it: the
# port is the one the server bound, never one picked beforehand.
serve_on_port_0() {
    local log=$1 line
    shift
    "$@" --listen 127.0.0.1:0 >"$log" 2>&1 &
    served_pid=$!
    served_addr=
    for _ in $(seq 1 300); do
        line=$(grep -m1 "harmont-auth listening" "$log" || true)
        if [ -n "$line" ]; then
            served_addr=$(sed -nE 's/.*"addr":"([^"]+)".*/\1/p; t; s/.* addr=([^ ]+).*/\1/p' <<<"$line")
            [ -n "$served_addr" ] && return 0
        fi
        kill -0 "$served_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2
    return 1
}

# The bin directory of the newest PostgreSQL server installed (Debian keeps
# them under /usr/lib/postgresql/VERSION/bin), or of the initdb on the PATH;
# nothing when there is none.
postgres_bindir() {
    local initdb
    initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$initdb" ]; then
        dirname "$initdb"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

# Makes a Python virtual environment DIR with the pinned REQUIREMENTS file,
# rebuilt only when that file changes: python_venv .venv-mail scripts/mail/requirements.txt
python_venv() {
    local venv=$1 requirements=$2
    cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null && return 0
    say "installing $requirements into $venv/"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
}
