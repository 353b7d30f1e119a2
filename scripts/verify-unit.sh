#!/usr/bin/env bash
# Checks deploy/harmont-auth.service the way systemd would read it, without
# a running systemd (installs Debian's `systemd` for systemd-analyze if
# missing):
#
#   scripts/verify-unit.sh [path/to/harmont-auth]   (default: target/debug/harmont-auth)
#
# - `systemd-analyze verify` on a copy whose ExecStart names the built
#   binary (verify checks that it is executable). verify exits 0 on unknown
#   keys and unparsable values, which it only prints, so any output fails too;
# - `systemd-analyze security --offline` with an exposure threshold, so the
#   sandbox cannot quietly loosen;
# - the settings the issue asks for are there;
# - the binary starts with the unit's own Environment= lines and answers /healthz;
# - and the check itself fails on a broken copy of the unit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

unit=deploy/harmont-auth.service
bin=$(realpath "${1:-target/debug/harmont-auth}")
[ -x "$bin" ] || die "verify-unit: no executable at $bin (cargo build -p harmont-server first)"
if ! command -v systemd-analyze >/dev/null 2>&1; then
    say "verify-unit: installing systemd (for systemd-analyze)"
    apt_install systemd
fi
# The exposure the unit must stay at or under: 1.6 on the 0–10 scale it prints
# (--threshold counts in tenths).
threshold=16

work=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Verifies one unit file: exit status and silence. Prints what systemd said.
verify() {
    local file=$1 said
    said=$(systemd-analyze verify "$file" 2>&1) || { printf '%s\n' "$said"; return 1; }
    [ -z "$said" ] || { printf '%s\n' "$said"; return 1; }
}

copy="$work/harmont-auth.service"
sed "s#^ExecStart=/usr/local/bin/harmont-auth #ExecStart=$bin #" "$unit" >"$copy"
grep -q "^ExecStart=$bin serve\$" "$copy" || die "verify-unit: ExecStart is not /usr/local/bin/harmont-auth serve"

say "verify-unit: systemd-analyze verify"
verify "$copy" || die "verify-unit: systemd-analyze verify complained about $unit"

say "verify-unit: systemd-analyze security (exposure at most 1.6)"
systemd-analyze security --offline=yes --threshold="$threshold" "$copy" >"$work/security" 2>&1 || {
    tail -n 3 "$work/security" >&2
    die "verify-unit: the sandbox of $unit is weaker than exposure 1.6"
}
tail -n 1 "$work/security" >&2

for setting in '^DynamicUser=yes' '^StateDirectory=harmont-auth' '^NoNewPrivileges=yes' '^ProtectSystem=strict' \
    '^PrivateTmp=yes' '^Restart=on-failure' '^EnvironmentFile=/etc/harmont-auth/'; do
    grep -q "$setting" "$unit" || die "verify-unit: $unit lacks $setting"
done

say "verify-unit: the binary starts with the unit's environment"
# The unit's Environment= lines, with the database here and the address the
# server binds (port 0; serve_on_port_0 reads it from the JSON log line).
env_args=()
while IFS= read -r line; do
    env_args+=("${line#Environment=}")
done < <(grep '^Environment=' "$unit")
serve_on_port_0 "$work/serve.log" env -i PATH="$PATH" "${env_args[@]}" DATABASE_URL="sqlite://$work/data/harmont.db" \
    "$bin" serve || die "verify-unit: serve did not start with the unit's environment"
server=$served_pid
python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=5)" "http://$served_addr/healthz" \
    || { cat "$work/serve.log" >&2; die "verify-unit: no /healthz"; }
grep -q '"message":"harmont-auth listening"' "$work/serve.log" || die "verify-unit: HARMONT_LOG_FORMAT=json was not honoured"
kill "$server"
wait "$server" || true
server=

say "verify-unit: the check fails on broken units"
broken="$work/broken.service"
for breakage in 's#^NoNewPrivileges=yes#NoNewPrivilege=yes#' 's#^Restart=on-failure#Restart=sometimes#' \
    "s#^ExecStart=$bin #ExecStart=$work/missing #"; do
    sed "$breakage" "$copy" >"$broken"
    if verify "$broken" >/dev/null; then
        die "verify-unit: a unit broken by '$breakage' passed verify"
    fi
done
sed 's#^ProtectSystem=strict#ProtectSystem=no#; s#^PrivateUsers=yes#PrivateUsers=no#; s#^CapabilityBoundingSet=$#CapabilityBoundingSet=CAP_SYS_ADMIN#' \
    "$copy" >"$broken"
if systemd-analyze security --offline=yes --threshold="$threshold" "$broken" >/dev/null 2>&1; then
    die "verify-unit: a loosened sandbox passed the exposure threshold"
fi
say "verify-unit: ok"
