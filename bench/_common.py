"""Helpers shared by the bench scripts: a data dir with demo data, a served app."""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def demo_data_dir(orders, keep=None):
    """A data dir holding `orders` demo orders (reused across runs when keep is a path)."""
    path = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="larder-bench-"))
    marker = path / f".demo-{orders}"
    if not marker.exists():
        from webapp import create_app
        from webapp.demo_data import load_demo

        app = create_app({"LARDER_TOKEN": "bench"}, data_dir=path)
        started = time.perf_counter()
        with app.app_context():
            load_demo(orders=orders, replace=True)
        print(f"# loaded {orders} demo orders in {time.perf_counter() - started:.1f} s")
        marker.touch()
    return path


def start_server(data_dir, env=None, args=(), cwd=None):
    """`python -m desktop serve` in a child process (from `cwd`: another checkout);
    returns (proc, info)."""
    info_file = Path(data_dir) / "server.json"
    if info_file.exists():
        info_file.unlink()
    log = open(Path(data_dir) / "bench-server.log", "w")  # a pipe nobody reads would block it
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "serve", *args],
        cwd=cwd or ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    deadline = time.time() + 60
    while not info_file.exists():
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"server did not start: see {log.name}")
        time.sleep(0.05)
    return proc, json.loads(info_file.read_text())


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
