#!/usr/bin/env python3
"""Load generators and the report for bench/run.sh (standard library only).

  loadtest.py rate     ...  wrk against one endpoint, plus the server's CPU time
  loadtest.py longpoll ...  N concurrent long-polling claims, then a transfer to each
  loadtest.py report DIR    the summary table, from the JSON files the others wrote

Every loop here is bounded in count and in time and stops by itself, and
every request goes to the loopback address run.sh passes in.
"""

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
MAX_LONGPOLLS = 20_000


def loopback_only(host):
    if not (host == "localhost" or host.startswith("127.")):
        sys.exit(f"loadtest: refusing to load {host}: loopback addresses only")
    return host


def percentile(values, p):
    """Nearest-rank percentile of a list (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def proc_cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def context_switches(pid):
    """Voluntary + involuntary context switches over all of a process's threads."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def machine_ticks():
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])  # kB
            elif key == "Threads":
                out[key] = int(value)
    return out


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def established_on(port):
    """Established TCP connections whose local port is `port` (the server's side)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        count += 1
        except OSError:
            pass
    return count


# --------------------------------------------------------------------------
# rate: wrk against one endpoint


def run_wrk(args, duration, script):
    cmd = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s",
        "--timeout", "5s", "-s", script,
    ]
    if args.token:
        cmd += ["-H", f"Authorization: Bearer {args.token}"]
    if args.basic:
        cmd += ["-H", "Authorization: Basic " + base64.b64encode(args.basic.encode()).decode()]
    cmd.append(args.url)
    env = dict(os.environ)
    env.pop("WRK_FORM_BODY", None)
    if args.form:
        env["WRK_FORM_BODY"] = args.form
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON "):])
    sys.exit(f"loadtest: wrk printed no figures (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def cmd_rate(args):
    loopback_only(args.url.split("//", 1)[1].split(":", 1)[0].split("/", 1)[0])
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk-report.lua")
    if args.warmup > 0:
        run_wrk(args, args.warmup, script)
    cs0 = context_switches(args.server_pid)
    cpu0, (busy0, total0), t0 = proc_cpu_ticks(args.server_pid), machine_ticks(), time.monotonic()
    result = run_wrk(args, args.duration, script)
    cpu1, (busy1, total1), t1 = proc_cpu_ticks(args.server_pid), machine_ticks(), time.monotonic()
    cs1 = context_switches(args.server_pid)
    wall = t1 - t0
    seconds = result["duration_us"] / 1e6
    server_cpu_s = (cpu1 - cpu0) / CLK_TCK
    result.update(
        name=args.name,
        round=args.round,
        connections=args.connections,
        threads=args.threads,
        rps=result["requests"] / seconds if seconds else 0.0,
        errors=sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "non2xx", "timeouts")),
        server_cpu_cores=server_cpu_s / wall,
        server_cpu_us_per_req=server_cpu_s * 1e6 / result["requests"] if result["requests"] else None,
        server_ctx_switches_per_req=(cs1 - cs0) / result["requests"] if result["requests"] else None,
        machine_busy=(busy1 - busy0) / (total1 - total0) if total1 > total0 else None,
        loadavg=os.getloadavg()[0],
    )
    with open(args.out, "w") as f:
        json.dump(result, f)
    print(
        f"  {args.name:<5} round {args.round}: {result['rps']:>9.0f} req/s  p50 {result['p50_us'] / 1000:.2f} ms"
        f"  p99 {result['p99_us'] / 1000:.2f} ms  errors {result['errors']}"
        f"  server CPU {result['server_cpu_cores']:.2f} cores"
        f" ({result['server_cpu_us_per_req'] or 0:.0f} us/req, {result['server_ctx_switches_per_req'] or 0:.1f} ctx sw/req)"
        f"  machine busy {100 * (result['machine_busy'] or 0):.0f}%",
        flush=True,
    )


# --------------------------------------------------------------------------
# longpoll: N claims held with Prefer: wait, then a transfer to each


def new_nonce():
    """43 characters of base64url: 256 bits, what the published CLI sends."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip().lower()
        if key == "content-length":
            length = int(value)
        elif key == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif key == "connection" and value == "close":
            close = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(length) if length else b""
    return status, body, close


def request(method, path, host, body, headers):
    data = json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: harmont-bench",
             "Content-Type: application/json", f"Content-Length: {len(data)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class LongPoll:
    def __init__(self, args):
        self.args = args
        self.host, self.port = args.host, args.port
        self.n = args.count
        self.nonces = [new_nonce() for _ in range(self.n)]
        self.sent = [None] * self.n          # claim request written
        self.answered = [None] * self.n      # claim response read
        self.status = [None] * self.n
        self.tx_sent = [None] * self.n       # transfer request written
        self.tx_done = [None] * self.n
        self.tx_status = [None] * self.n
        self.errors = {}
        self.order = []                      # claim indices in the order sent
        self.early = 0                       # claims answered before their transfer
        self.all_sent = asyncio.Event()

    def error(self, kind):
        self.errors[kind] = self.errors.get(kind, 0) + 1

    async def claim(self, i, connect_gate):
        hostport = f"{self.host}:{self.port}"
        try:
            async with connect_gate:
                # Each from its own loopback address, as many CLIs would be: the server caps held polls per address.
                reader, writer = await asyncio.open_connection(self.host, self.port, local_addr=(f"127.1.{i // 250}.{i % 250 + 1}", 0))
            writer.write(request("POST", "/api/v0/auth/cli/claim", hostport, {"nonce": self.nonces[i]},
                                 {"Prefer": f"wait={self.args.wait}"}))
            await writer.drain()
            self.sent[i] = time.monotonic()
            self.order.append(i)
            if len(self.order) == self.n:
                self.all_sent.set()
            status, body, _ = await read_response(reader)
            self.answered[i] = time.monotonic()
            self.status[i] = status
            if self.tx_sent[i] is None:
                self.early += 1
            if status != 200:
                self.error(f"claim {status} {body[:80].decode(errors='replace')}")
            elif b'"token"' not in body:
                self.error("claim 200 without a token")
            writer.close()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as err:
            self.error(f"claim {type(err).__name__}: {err}"[:120])
            if self.sent[i] is None:
                self.order.append(i)
                if len(self.order) == self.n:
                    self.all_sent.set()

    async def transfer_worker(self, queue):
        hostport = f"{self.host}:{self.port}"
        reader = writer = None
        while queue:
            i = queue.pop()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                self.tx_sent[i] = time.monotonic()
                writer.write(request("POST", "/api/v0/auth/cli/transfer", hostport, {"nonce": self.nonces[i]},
                                     {"Authorization": f"Bearer {self.args.token}"}))
                await writer.drain()
                status, body, close = await read_response(reader)
                self.tx_done[i] = time.monotonic()
                self.tx_status[i] = status
                if status != 204:
                    self.error(f"transfer {status} {body[:80].decode(errors='replace')}")
                if close:
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, ValueError) as err:
                self.error(f"transfer {type(err).__name__}: {err}"[:120])
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    async def run(self):
        a = self.args
        pid = a.server_pid
        before = proc_status(pid)
        fds_before = fd_count(pid)
        cpu_before = proc_cpu_ticks(pid)
        t_start = time.monotonic()
        connect_gate = asyncio.Semaphore(a.connect_concurrency)
        claims = [asyncio.create_task(self.claim(i, connect_gate)) for i in range(self.n)]
        try:
            await asyncio.wait_for(self.all_sent.wait(), timeout=a.ramp_timeout)
        except asyncio.TimeoutError:
            pass
        ramp_s = time.monotonic() - t_start
        # Let the server finish taking them in (each claim first tries to
        # consume, then parks), then look at what it holds.
        await asyncio.sleep(a.settle)
        held_client = sum(1 for i in range(self.n) if self.sent[i] is not None and self.answered[i] is None)
        held_server = established_on(self.port)
        during = proc_status(pid)
        fds_during = fd_count(pid)
        cpu_hold = proc_cpu_ticks(pid)
        hold_s = time.monotonic() - t_start

        # Transfer in the order the claims were sent, so the oldest (closest
        # to its wait running out) is served first.
        queue = list(reversed([i for i in self.order if self.sent[i] is not None]))
        t_tx = time.monotonic()
        await asyncio.gather(*(self.transfer_worker(queue) for _ in range(a.transfer_concurrency)))
        tx_s = time.monotonic() - t_tx
        done, pending = await asyncio.wait(claims, timeout=a.wait + 15)
        for task in pending:
            task.cancel()
        if pending:
            self.error(f"claim unanswered when the benchmark gave up ({len(pending)})")
            await asyncio.gather(*pending, return_exceptions=True)
        total_s = time.monotonic() - t_start
        after = proc_status(pid)
        cpu_after = proc_cpu_ticks(pid)

        ok = [i for i in range(self.n) if self.status[i] == 200 and self.tx_sent[i] is not None]
        wake = [(self.answered[i] - self.tx_sent[i]) * 1000 for i in ok]
        tx_lat = [(self.tx_done[i] - self.tx_sent[i]) * 1000 for i in range(self.n) if self.tx_done[i] is not None]
        held_for = [(self.answered[i] - self.sent[i]) for i in ok]
        ms = lambda v: round(v, 2) if v is not None else None  # noqa: E731
        return {
            "count": self.n,
            "wait_s": a.wait,
            "sent": sum(1 for s in self.sent if s is not None),
            "held_client": held_client,
            "held_server_conns": held_server,
            "answered_early": self.early,
            "claims_ok": len(ok),
            "transfers_ok": sum(1 for s in self.tx_status if s == 204),
            "errors": sum(self.errors.values()),
            "error_kinds": dict(sorted(self.errors.items(), key=lambda kv: -kv[1])[:10]),
            "ramp_s": round(ramp_s, 2),
            "hold_s": round(hold_s, 2),
            "transfer_phase_s": round(tx_s, 2),
            "transfers_per_s": round(len(tx_lat) / tx_s, 1) if tx_s else None,
            "total_s": round(total_s, 2),
            "longest_held_s": round(max(held_for), 2) if held_for else None,
            "wake_p50_ms": ms(percentile(wake, 50)),
            "wake_p90_ms": ms(percentile(wake, 90)),
            "wake_p99_ms": ms(percentile(wake, 99)),
            "wake_max_ms": ms(max(wake) if wake else None),
            "transfer_p50_ms": ms(percentile(tx_lat, 50)),
            "transfer_p99_ms": ms(percentile(tx_lat, 99)),
            "rss_before_kb": before.get("VmRSS"),
            "rss_held_kb": during.get("VmRSS"),
            "rss_after_kb": after.get("VmRSS"),
            "rss_peak_kb": after.get("VmHWM"),
            "threads_held": during.get("Threads"),
            "fds_before": fds_before,
            "fds_held": fds_during,
            "server_cpu_s_ramp_and_hold": round((cpu_hold - cpu_before) / CLK_TCK, 2),
            "server_cpu_s_total": round((cpu_after - cpu_before) / CLK_TCK, 2),
            "transfer_concurrency": a.transfer_concurrency,
            "loadavg": os.getloadavg()[0],
        }


def cmd_longpoll(args):
    loopback_only(args.host)
    if not 0 < args.count <= MAX_LONGPOLLS:
        sys.exit(f"loadtest: --count must be 1..{MAX_LONGPOLLS}")
    args.wait = min(args.wait, 30)
    deadline = args.ramp_timeout + args.settle + args.wait + 90
    result = asyncio.run(asyncio.wait_for(LongPoll(args).run(), timeout=deadline))
    with open(args.out, "w") as f:
        json.dump(result, f)
    r = result
    print(
        f"  long-poll: {r['sent']}/{r['count']} sent in {r['ramp_s']} s; held {r['held_client']} "
        f"(server has {r['held_server_conns']} open connections); RSS {r['rss_before_kb'] // 1024} -> "
        f"{r['rss_held_kb'] // 1024} MiB",
        flush=True,
    )
    print(
        f"  transfers: {r['transfers_ok']} in {r['transfer_phase_s']} s ({r['transfers_per_s']}/s); "
        f"claims answered 200: {r['claims_ok']}; errors {r['errors']}; wake-up p50 {r['wake_p50_ms']} ms "
        f"p99 {r['wake_p99_ms']} ms max {r['wake_max_ms']} ms",
        flush=True,
    )
    for kind, count in r["error_kinds"].items():
        print(f"    error x{count}: {kind}", flush=True)


# --------------------------------------------------------------------------
# report: the summary table


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def combine(rounds):
    """One endpoint over its rounds: rps over the summed time, latencies as the median of the rounds."""
    requests = sum(r["requests"] for r in rounds)
    seconds = sum(r["duration_us"] for r in rounds) / 1e6
    med = lambda key: statistics.median(r[key] for r in rounds)  # noqa: E731
    cpu = [r["server_cpu_us_per_req"] for r in rounds if r.get("server_cpu_us_per_req") is not None]
    return {
        "rps": requests / seconds if seconds else 0.0,
        "p50_ms": med("p50_us") / 1000,
        "p99_ms": med("p99_us") / 1000,
        "errors": sum(r["errors"] for r in rounds),
        "requests": requests,
        "cpu_us": statistics.median(cpu) if cpu else None,
        "ctx": statistics.median(r.get("server_ctx_switches_per_req") or 0 for r in rounds),
        "cores": statistics.median(r["server_cpu_cores"] for r in rounds),
        "busy": statistics.median(r["machine_busy"] for r in rounds if r.get("machine_busy") is not None),
    }


ENDPOINTS = {
    "ping": "GET /api/v0/ping",
    "user": "GET /api/v0/user",
    "verify": "GET /api/v0/auth/verify",
    "introspect": "POST /api/v0/auth/introspect",
}


def cmd_report(args):
    meta = load(os.path.join(args.dir, "meta.json")) or {}
    out = []
    w = out.append
    w("# harmont-auth benchmark")
    w("")
    w(f"- when: {meta.get('date', '?')}; commit `{meta.get('commit', '?')}`")
    w(f"- machine: {meta.get('cpus', '?')} CPUs ({meta.get('cpu_model', '?')}), {meta.get('mem', '?')}, "
      f"kernel {meta.get('kernel', '?')}; load average at start {meta.get('loadavg', '?')}")
    w(f"- load generator and server share these CPUs (wrk -t{meta.get('threads', '?')}, "
      f"and the long-poll client is one Python process): the figures are a floor for the server, "
      f"and the ratio is what compares")
    w(f"- rate tests: {meta.get('connections', '?')} connections, {meta.get('duration', '?')} s per run after "
      f"{meta.get('warmup', '?')} s of warm-up, {meta.get('rounds', '?')} round(s) alternating ping, user, verify and introspect")
    w(f"- long polls: {meta.get('longpolls', '?')} claims with `Prefer: wait={meta.get('wait', '?')}`, "
      f"then one transfer each ({meta.get('transfer_concurrency', '?')} at a time)")
    try:
        with open(os.path.join(args.dir, "postgres-note.txt")) as f:
            note = f.read().strip()
    except OSError:
        note = ""
    if note:
        w(f"- Postgres: a throwaway local cluster, {note}; it runs on the same CPUs too")
    w("")
    w("| backend | endpoint | req/s | p50 ms | p99 ms | errors | server CPU µs/req | server ctx switches/req | ratio to ping |")
    w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    details = []
    longpolls = []
    verdicts = []
    for backend in meta.get("backends", ["sqlite", "postgres"]):
        endpoints = {}
        for name in ("ping", "user", "verify", "introspect"):
            rounds = []
            for r in range(1, int(meta.get("rounds", 1)) + 1):
                data = load(os.path.join(args.dir, f"{backend}-{name}-{r}.json"))
                if data:
                    rounds.append(data)
                    details.append(
                        f"| {backend} | {name} | {r} | {data['rps']:.0f} | {data['p50_us'] / 1000:.2f} | "
                        f"{data['p99_us'] / 1000:.2f} | {data['errors']} | {data['server_cpu_cores']:.2f} | "
                        f"{100 * (data.get('machine_busy') or 0):.0f}% |")
            if rounds:
                endpoints[name] = combine(rounds)
        if not endpoints:
            w(f"| {backend} | (no results: see the run's output) | | | | | | | |")
            continue
        ping = endpoints.get("ping")
        for name, e in endpoints.items():
            ratio = ""
            if name != "ping" and ping and ping["rps"]:
                value = e["rps"] / ping["rps"]
                ratio = f"**{value:.2f}**"
                if name == "user" and backend == "sqlite":
                    verdicts.append(f"SQLite user/ping = {value:.2f} (target ≥ 0.80: "
                                    f"{'met' if value >= 0.8 else 'NOT met'})")
                if name == "verify":
                    verdicts.append(f"{backend} verify/ping = {value:.2f} (target ≥ 0.90: "
                                    f"{'met' if value >= 0.9 else 'NOT met'})")
                if name == "introspect":
                    verdicts.append(f"{backend} introspection: {e['rps']:.0f} req/s ({value:.2f} of ping)")
            cpu = f"{e['cpu_us']:.0f}" if e["cpu_us"] is not None else "?"
            w(f"| {backend} | `{ENDPOINTS[name]}` | {e['rps']:.0f} | {e['p50_ms']:.2f} | {e['p99_ms']:.2f} | "
              f"{e['errors']} | {cpu} | {e['ctx']:.1f} | {ratio} |")
        lp = load(os.path.join(args.dir, f"{backend}-longpoll.json"))
        if lp:
            longpolls.append((backend, lp))
    w("")
    w("| backend | long polls | held | errors | wake-up p50 ms | p99 ms | max ms | transfers/s | RSS idle → held MiB | KiB per held poll |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for backend, lp in longpolls:
        held = lp["held_client"]
        per = ((lp["rss_held_kb"] - lp["rss_before_kb"]) / held) if held else 0
        w(f"| {backend} | {lp['count']} | {held} | {lp['errors']} | {lp['wake_p50_ms']} | {lp['wake_p99_ms']} | "
          f"{lp['wake_max_ms']} | {lp['transfers_per_s']} | {lp['rss_before_kb'] / 1024:.0f} → "
          f"{lp['rss_held_kb'] / 1024:.0f} | {per:.1f} |")
        verdicts.append(f"{backend}: {held} of {lp['count']} long polls held, {lp['errors']} errors "
                        f"(target: {lp['count']} held, 0 errors: {'met' if held == lp['count'] and lp['errors'] == 0 else 'NOT met'})")
    w("")
    w("Wake-up = from sending `transfer` to receiving the waiting claim's 200 (includes the transfer "
      "itself, its bearer check and the atomic consume). Held = claims sent and not yet answered, "
      "counted after the ramp and a short settle.")
    if verdicts:
        w("")
        for v in verdicts:
            w(f"- {v}")
    for backend, lp in longpolls:
        if lp["error_kinds"]:
            w(f"- {backend} long-poll errors: " + "; ".join(f"{k} ×{v}" for k, v in lp["error_kinds"].items()))
    if details:
        w("")
        w("<details><summary>Every round</summary>")
        w("")
        w("| backend | endpoint | round | req/s | p50 ms | p99 ms | errors | server CPU cores | machine busy |")
        w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        out.extend(details)
        w("")
        for backend, lp in longpolls:
            w(f"- {backend} long-poll detail: ramp {lp['ramp_s']} s, transfers took {lp['transfer_phase_s']} s "
              f"(transfer p50 {lp['transfer_p50_ms']} ms, p99 {lp['transfer_p99_ms']} ms), longest hold "
              f"{lp['longest_held_s']} s, server connections open while holding {lp['held_server_conns']}, "
              f"fds {lp['fds_before']} → {lp['fds_held']}, threads {lp['threads_held']}, peak RSS "
              f"{lp['rss_peak_kb'] / 1024:.0f} MiB, server CPU {lp['server_cpu_s_total']} s")
        w("")
        w("</details>")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    rate = sub.add_parser("rate", help="wrk against one endpoint")
    rate.add_argument("--url", required=True)
    rate.add_argument("--name", required=True)
    rate.add_argument("--round", type=int, default=1)
    rate.add_argument("--token", help="sent as Authorization: Bearer")
    rate.add_argument("--basic", help="ID:SECRET, sent as Authorization: Basic")
    rate.add_argument("--form", help="POST this application/x-www-form-urlencoded body instead of a GET")
    rate.add_argument("--connections", type=int, default=64)
    rate.add_argument("--threads", type=int, default=2)
    rate.add_argument("--duration", type=int, default=10)
    rate.add_argument("--warmup", type=int, default=2)
    rate.add_argument("--server-pid", type=int, required=True)
    rate.add_argument("--out", required=True)
    rate.set_defaults(func=cmd_rate)

    lp = sub.add_parser("longpoll", help="concurrent long-polling claims, then a transfer to each")
    lp.add_argument("--host", default="127.0.0.1")
    lp.add_argument("--port", type=int, required=True)
    lp.add_argument("--token", required=True, help="bearer token of the user who transfers")
    lp.add_argument("--count", type=int, default=10_000)
    lp.add_argument("--wait", type=int, default=30)
    lp.add_argument("--connect-concurrency", type=int, default=256)
    lp.add_argument("--transfer-concurrency", type=int, default=16)
    lp.add_argument("--ramp-timeout", type=float, default=20.0)
    lp.add_argument("--settle", type=float, default=2.0)
    lp.add_argument("--server-pid", type=int, required=True)
    lp.add_argument("--out", required=True)
    lp.set_defaults(func=cmd_longpoll)

    report = sub.add_parser("report", help="the summary table")
    report.add_argument("dir")
    report.add_argument("--out")
    report.set_defaults(func=cmd_report)

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
