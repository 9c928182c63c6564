"""Cached pages' req/s as a fraction of a trivial route, through Waitress, with wrk.

Target (issue 13): 0.9 or better for the cached page and the cached JSON, and a 304 at the
cost of a trivial route. Two `serve` processes on copies of one demo data dir: one with
the fast path (the default), one without (`larder_fast_path = false` in larder.toml),
measured in alternating rounds in one run, so machine noise hits all alike. What counts
is each route's req/s over its own server's trivial route (/health) in the same round
(the median of the rounds, and their range); the server's CPU per request (psutil) is
printed beside it. `--baseline REV` adds a third server running another revision (a
`git worktree`), with its fast path, for before/after in one run.

`--in-process`: no server, no wrk: the CPU time of one request through the WSGI app (one
thread, time.process_time), the same routes with and without the fast path. Steadier
than wrk on a busy machine, blind to what threads and sockets cost.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import requests
from _common import demo_data_dir, start_server


def wrk(url, seconds, connections, headers=(), pid=None):
    """(req/s, the server's CPU µs per request when its pid is given)."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    for header in headers:
        cmd[1:1] = ["-H", header]
    before = _cpu(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    count = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} error responses")
    cpu = (_cpu(pid) - before) / max(count, 1) * 1e6 if pid else None
    return rps, cpu


def _cpu(pid):
    if not pid:
        return 0.0
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def copy_without_fast_path(data_dir, fast_path=False):
    """The same shop in another folder, served without the fast path (or with it: for
    the baseline revision, which may not have it)."""
    other = Path(tempfile.mkdtemp(prefix="larder-bench-plain-")) / "data"
    shutil.copytree(data_dir, other, ignore=shutil.ignore_patterns("server.json", "*.log"))
    if not fast_path:
        (other / "larder.toml").write_text("larder_fast_path = false\n")
    return other


def in_process(data_dir, requests_each=2000, rounds=3):
    import time

    from werkzeug.test import EnvironBuilder

    from webapp import create_app

    apps = {"fast": create_app({"LARDER_TOKEN": "bench"}, data_dir=data_dir),
            "plain": create_app({"LARDER_TOKEN": "bench", "LARDER_FAST_PATH": False},
                                data_dir=data_dir)}
    auth = {"Authorization": "Bearer bench"}

    def environ(path, headers):
        return EnvironBuilder(path=path, base_url="http://127.0.0.1:5000",
                              headers=headers).get_environ()

    def cpu_us(app, env):
        def start_response(status, headers, exc_info=None):
            pass
        for _ in range(20):  # warm: cache filled, menu rendered
            b"".join(app(dict(env), start_response))
        started = time.process_time()
        for _ in range(requests_each):
            b"".join(app(dict(env), start_response))
        return (time.process_time() - started) / requests_each * 1e6

    client = apps["fast"].test_client()
    client.get("/products/?page=2", headers=auth)
    tag = client.get("/products/?page=2", headers=auth).headers["ETag"]
    cases = {"trivial route (/health)": ("fast", "/health", {})}
    for path, what, headers in [("/products/?page=2", "cached page", auth),
                                ("/api/stats", "cached JSON", auth),
                                ("/products/?page=2", "304 of the page",
                                 {**auth, "If-None-Match": tag}),
                                ("/", "cached dashboard", auth)]:
        for side in ("plain", "fast"):
            label = f"{what} ({path}), {'fast path' if side == 'fast' else 'Flask'}"
            cases[label] = (side, path, headers)
    results = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (side, path, headers) in cases.items():
            results[name].append(cpu_us(apps[side], environ(path, headers)))
    trivial = statistics.median(results["trivial route (/health)"])
    print(f"in-process CPU time per request, {rounds} x {requests_each} requests")
    print(f"{'route':52} {'µs (median)':>12} {'trivial/this':>13}")
    for name, values in results.items():
        us = statistics.median(values)
        print(f"{name:52} {us:12.0f} {trivial / us:13.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cache-type", default=None, help="e.g. simple, redis")
    parser.add_argument("--baseline", metavar="REV",
                        help="also this revision's fast path (a git worktree), side by side")
    parser.add_argument("--in-process", action="store_true", help="CPU time, no server")
    args = parser.parse_args()
    if args.in_process:
        return in_process(demo_data_dir(2000))
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    data_dir = demo_data_dir(2000)
    env = {"CACHE_TYPE": args.cache_type} if args.cache_type else {}
    copies = [copy_without_fast_path(data_dir)]
    servers = {"fast": start_server(data_dir, env)}
    checkout = None
    try:
        servers["Flask"] = start_server(copies[0], env)
        if args.baseline:
            from _window import Checkout

            checkout = Checkout(args.baseline)
            copies.append(copy_without_fast_path(data_dir, fast_path=True))
            servers["before"] = start_server(copies[1], {**env, **checkout.env()},
                                             cwd=checkout.root)
        results = measure(servers, args)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(10)
        for copy in copies:
            shutil.rmtree(copy.parent, ignore_errors=True)
        if checkout:
            checkout.remove()
    report(results, args)


CASES = [("/products/?page=2", "cached page", False), ("/api/stats", "cached JSON", False),
         ("/products/?page=2", "304 of the page", True), ("/", "cached dashboard", False)]
LABELS = {"fast": "fast path", "Flask": "Flask", "before": "fast path, before"}


def measure(servers, args):
    """{label: (server, [(req/s, cpu µs/request, the same server's /health req/s in this
    round)])}: each round runs every case once, each next to its server's trivial route."""
    runs = {}
    for side, (proc, info) in servers.items():
        bearer = f"Authorization: Bearer {info['token']}"
        runs[f"trivial route (/health), {LABELS[side]}"] = (side, info["url"] + "/health", [])
        for path, what, conditional in CASES:
            if side == "Flask" and path == "/":
                continue
            url = info["url"] + path
            for _ in range(2):  # warm: the first request fills the cache, renders the menu
                reply = requests.get(url, headers={"Authorization": f"Bearer {info['token']}"},
                                     timeout=60)
            assert reply.headers.get("X-Cache") == "HIT", (path, reply.headers)
            headers = [bearer]
            if conditional:
                headers.append(f"If-None-Match: {reply.headers['ETag']}")
            runs[f"{what} ({path}), {LABELS[side]}"] = (side, url, headers)
    for _, url, headers in runs.values():
        wrk(url, 1, 1, headers)
    results = {name: [] for name in runs}
    loads = [os.getloadavg()]
    for _ in range(args.rounds):
        trivial = {}
        for name, (side, url, headers) in runs.items():
            rps, cpu = wrk(url, args.seconds, args.connections, headers, servers[side][0].pid)
            if not headers:
                trivial[side] = rps
            results[name].append((side, rps, cpu))
        for name in results:  # each against its own server's trivial route of this round
            side, rps, cpu = results[name][-1]
            results[name][-1] = (side, rps, cpu, rps / trivial[side])
        loads.append(os.getloadavg())
    return results, loads


def report(measured, args):
    results, loads = measured
    print(f"backend: {args.cache_type or 'default (diskcache)'}; wrk -t1 -c{args.connections}, "
          f"{args.rounds} x {args.seconds} s rounds, Waitress 8 threads, {os.cpu_count()} cores; "
          f"load average (1 min) {min(l[0] for l in loads):.1f}-{max(l[0] for l in loads):.1f}")
    print("ratio: this route's req/s over its own server's /health in the same round, median "
          "of the rounds (and their range); CPU: the server's µs per request")
    print(f"{'route':56} {'req/s':>7} {'ratio':>6} {'(range)':>12} {'CPU µs':>7}")
    for name, rows in results.items():
        rps = statistics.median(r[1] for r in rows)
        ratios = [r[3] for r in rows]
        cpu = statistics.median(r[2] for r in rows)
        print(f"{name:56} {rps:7.0f} {statistics.median(ratios):6.2f} "
              f"({min(ratios):4.2f}-{max(ratios):4.2f}) {cpu:7.0f}")


if __name__ == "__main__":
    main()
