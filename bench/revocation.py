#!/usr/bin/env python3
"""Revocation propagation across two replicas on one Postgres.

For each try: a fresh token (minted by the CLI), used twice on replica B so B
caches it, logged out on replica A; then B is asked again and again, over one
kept-alive connection, until it answers 401. The figure is the time from A's
logout response to B's first 401 (it includes one request to B, so it is an
upper bound). Prints p50, p99 and the worst, and writes them as JSON.

Usage: revocation.py --bin BIN --database URL --a URL --b URL --tries N --out FILE
"""

import argparse
import http.client
import json
import subprocess
import sys
import time
import urllib.parse


def connect(base):
    parsed = urllib.parse.urlparse(base)
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)


def request(conn, method, path, token):
    conn.request(method, path, headers={"Authorization": f"Bearer {token}", "Content-Length": "0"})
    response = conn.getresponse()
    response.read()
    return response.status


def percentile(sorted_values, p):
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--tries", type=int, default=100)
    parser.add_argument("--give-up", type=float, default=5.0, help="seconds before a try counts as failed")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    email = "revocation@example.com"
    subprocess.run([args.bin, "user", "add", email, "--database", args.database],
                   check=False, capture_output=True)
    a, b = connect(args.a), connect(args.b)
    took, failed = [], 0
    for _ in range(args.tries):
        token = subprocess.run([args.bin, "token", "mint", email, "--database", args.database],
                               check=True, capture_output=True, text=True).stdout.strip()
        for _ in range(2):
            status = request(b, "GET", "/api/v0/user", token)
            if status != 200:
                sys.exit(f"replica B answered {status} to a fresh token")
        status = request(a, "POST", "/api/v0/auth/logout", token)
        if status not in (200, 204):
            sys.exit(f"replica A answered {status} to logout")
        start = time.perf_counter()
        while True:
            status = request(b, "GET", "/api/v0/user", token)
            elapsed = time.perf_counter() - start
            if status == 401:
                took.append(elapsed)
                break
            if elapsed > args.give_up:
                failed += 1
                break
    took.sort()
    result = {
        "tries": args.tries,
        "failed": failed,
        "p50_ms": percentile(took, 50) * 1000 if took else None,
        "p99_ms": percentile(took, 99) * 1000 if took else None,
        "max_ms": took[-1] * 1000 if took else None,
    }
    with open(args.out, "w") as f:
        json.dump(result, f)
    print(f"revocation propagation over {args.tries} tries: p50 {result['p50_ms']:.2f} ms, "
          f"p99 {result['p99_ms']:.2f} ms, worst {result['max_ms']:.2f} ms, not refused within "
          f"{args.give_up:.0f} s: {failed}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
