"""Does `larder serve` still answer its owner while many clients hold connections open
without ever finishing a request (a byte every few seconds: "slowloris")?

Prints /health latency (p50, max) with N slow connections held, and how many of those
connections the server accepted.

    python bench/slow_clients.py [--connections 1000] [--seconds 8]
"""
import argparse
import resource
import socket
import tempfile
import time

import requests

from _common import percentile, start_server


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def open_slow_clients(host, port, count):
    """`count` connections, each with an unfinished request line and header."""
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.settimeout(5)
        s.connect((host, port))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        socks.append(s)
    return socks


def trickle(socks):
    """One more byte on every connection (keeps each one busy, never complete)."""
    alive = 0
    for s in socks:
        try:
            s.send(b"a")
            alive += 1
        except OSError:
            pass
    return alive


def health_latencies(url, seconds, socks, every=2.0):
    times, last_trickle = [], time.monotonic()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            ok = requests.get(f"{url}/health", timeout=10).status_code == 200
        except requests.RequestException:
            ok = False
        times.append((time.perf_counter() - started) if ok else float("inf"))
        if time.monotonic() - last_trickle > every:
            trickle(socks)
            last_trickle = time.monotonic()
        time.sleep(0.1)
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    raise_fd_limit(args.connections + 200)
    data_dir = tempfile.mkdtemp(prefix="larder-bench-slow-")
    proc, info = start_server(data_dir, args=["--no-worker"])
    host, port = "127.0.0.1", int(info["port"])
    try:
        socks = open_slow_clients(host, port, args.connections)
        times = health_latencies(info["url"], args.seconds, socks)
        alive = trickle(socks)
        failed = sum(t == float("inf") for t in times)
        good = [t for t in times if t != float("inf")] or [float("inf")]
        print("slowest (ms):", [round(t * 1000) for t in sorted(good)[-5:]], "first:", round(times[0] * 1000))
        print(f"{args.connections} slow connections ({alive} still open): /health "
              f"p50 {percentile(good, 50) * 1000:.1f} ms, max {max(good) * 1000:.1f} ms, "
              f"{failed} of {len(times)} timed out (10 s)")
        for s in socks:
            s.close()
    finally:
        proc.terminate()
        proc.wait(15)


if __name__ == "__main__":
    main()
