"""Cached page req/s as a fraction of a trivial route, both through Waitress, with wrk.

Target (issue 2): 0.6 or better. The two are measured in alternating rounds in one run,
so machine noise hits both alike; the ratio of medians is what counts.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

from _common import demo_data_dir, start_server


def wrk(url, seconds, connections, token=None):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} error responses")
    return rps


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cache-type", default=None, help="e.g. simple, filesystem")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    data_dir = demo_data_dir(2000)
    env = {"CACHE_TYPE": args.cache_type} if args.cache_type else {}
    proc, info = start_server(data_dir, env)
    try:
        base, token = info["url"], info["token"]
        pages = {
            "trivial route (/health)": (f"{base}/health", None),
            "cached page (/products/?page=2)": (f"{base}/products/?page=2", token),
            "cached JSON (/api/stats)": (f"{base}/api/stats", token),
        }
        for url, tok in pages.values():  # warm: the first request fills the cache
            wrk(url, 1, 1, tok)
        results = {name: [] for name in pages}
        for _ in range(args.rounds):
            for name, (url, tok) in pages.items():
                results[name].append(wrk(url, args.seconds, args.connections, tok))
    finally:
        proc.terminate()
        proc.wait(10)
    trivial = statistics.median(results["trivial route (/health)"])
    print(f"backend: {args.cache_type or 'default (diskcache)'}; wrk -t1 -c{args.connections}, "
          f"{args.rounds} x {args.seconds} s rounds, Waitress 8 threads, {os.cpu_count()} cores")
    print(f"{'route':36} {'req/s (median)':>15} {'ratio':>7}")
    for name, values in results.items():
        rps = statistics.median(values)
        print(f"{name:36} {rps:15.0f} {rps / trivial:7.2f}")


if __name__ == "__main__":
    main()
