"""Cached pages' req/s as a fraction of a trivial route, through Waitress, with wrk.

Target (issue 13): 0.9 or better for the cached page and the cached JSON, and a 304 at the
cost of a trivial route. Two `serve` processes on copies of one demo data dir: one with
the fast path (the default), one without (`larder_fast_path = false` in larder.toml),
measured in alternating rounds in one run, so machine noise hits all alike; the ratio of
medians to the trivial route (on the fast server) is what counts.

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


def wrk(url, seconds, connections, headers=()):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    for header in headers:
        cmd[1:1] = ["-H", header]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} error responses")
    return rps


def copy_without_fast_path(data_dir):
    """The same shop in another folder, served without the fast path."""
    other = Path(tempfile.mkdtemp(prefix="larder-bench-plain-")) / "data"
    shutil.copytree(data_dir, other, ignore=shutil.ignore_patterns("server.json", "*.log"))
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
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cache-type", default=None, help="e.g. simple, redis")
    parser.add_argument("--in-process", action="store_true", help="CPU time, no server")
    args = parser.parse_args()
    if args.in_process:
        return in_process(demo_data_dir(2000))
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    data_dir = demo_data_dir(2000)
    plain_dir = copy_without_fast_path(data_dir)
    env = {"CACHE_TYPE": args.cache_type} if args.cache_type else {}
    fast, fast_info = start_server(data_dir, env)
    plain, plain_info = start_server(plain_dir, env)
    try:
        pages = {"trivial route (/health)": ("fast", "/health", False, False)}
        for path, what in [("/products/?page=2", "cached page"), ("/api/stats", "cached JSON"),
                           ("/products/?page=2", "304 of the page")]:
            for side in ("plain", "fast"):
                label = f"{what} ({path}), {'fast path' if side == 'fast' else 'Flask'}"
                pages[label] = (side, path, True, what.startswith("304"))
        servers = {"fast": fast_info, "plain": plain_info}
        runs = {}
        for name, (side, path, auth, conditional) in pages.items():
            info = servers[side]
            headers = [f"Authorization: Bearer {info['token']}"] if auth else []
            url = info["url"] + path
            if auth:  # warm: the first request fills the cache (and renders the menu)
                for _ in range(2):
                    reply = requests.get(url, headers={"Authorization": f"Bearer {info['token']}"},
                                         timeout=60)
                assert reply.headers.get("X-Cache") == "HIT", (name, reply.headers)
                if conditional:
                    headers.append(f"If-None-Match: {reply.headers['ETag']}")
            runs[name] = (url, headers)
        for url, headers in runs.values():
            wrk(url, 1, 1, headers)
        results = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, (url, headers) in runs.items():
                results[name].append(wrk(url, args.seconds, args.connections, headers))
    finally:
        for proc in (fast, plain):
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(plain_dir.parent, ignore_errors=True)
    trivial = statistics.median(results["trivial route (/health)"])
    print(f"backend: {args.cache_type or 'default (diskcache)'}; wrk -t1 -c{args.connections}, "
          f"{args.rounds} x {args.seconds} s rounds, Waitress 8 threads, {os.cpu_count()} cores")
    print(f"{'route':52} {'req/s (median)':>15} {'ratio':>7}")
    for name, values in results.items():
        rps = statistics.median(values)
        print(f"{name:52} {rps:15.0f} {rps / trivial:7.2f}")


if __name__ == "__main__":
    main()
