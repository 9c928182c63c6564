"""A shop run the way a growing business runs Larder (docs/scaling.md): several `serve`
processes and several workers, each with its own data dir, on one PostgreSQL database
and one Redis (broker, results and cache), sharing one files folder, one launch token and
one secret key. Used by tests/test_scale_out.py and bench/scale_out.py.

    site = Site(tmp, postgres_url_base, redis_url).setup(products=20)
    site.start(web=2, workers=2)
    ... site.urls, site.post(...), site.wait_processed(ids) ...
    site.stop()
"""
import itertools
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import sqlalchemy

from cache_servers import new_database
from worker_proc import ROOT, WorkerProcess, child_env

_names = itertools.count()


class Site:
    def __init__(self, root, postgres_base, redis_url, visibility_timeout=30):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        redis_base = redis_url.rsplit("/", 1)[0]
        name = f"larder_site_{os.getpid()}_{next(_names)}"
        self.db_url = new_database(postgres_base, name)
        self.token = secrets.token_urlsafe(32)
        # What every process of the site shares (docs/scaling.md).
        self.env = {
            "DATABASE_URL": self.db_url,
            "CELERY_BROKER_URL": f"{redis_base}/1",
            "CELERY_RESULT_BACKEND": f"{redis_base}/2",
            "CACHE_TYPE": "redis",
            "CACHE_REDIS_URL": f"{redis_base}/0",
            "LARDER_FILES_DIR": str(self.root / "files"),
            "LARDER_TOKEN": self.token,
            "LARDER_SECRET_KEY": secrets.token_hex(32),
            "LARDER_VISIBILITY_TIMEOUT": str(visibility_timeout),
        }
        import redis

        for db in (0, 1, 2):
            redis.Redis.from_url(f"{redis_base}/{db}").flushdb()
        self.webs, self.workers, self.urls = [], [], []
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        adapter = requests.adapters.HTTPAdapter(pool_connections=8, pool_maxsize=64)
        self.session.mount("http://", adapter)
        self._app = None

    def app(self):
        """The site's app in this process (the single-process view of the same data)."""
        if self._app is None:
            from webapp import create_app

            self._app = create_app(dict(self.env), data_dir=self.root / "admin")
        return self._app

    def setup(self, products=20, stock=1_000_000):
        from webapp import catalog

        with self.app().app_context():
            for i in range(products):
                catalog.create_product({"sku": f"S-{i:03d}", "name": f"Item {i:03d}",
                                        "category": ["Bakery", "Dairy"][i % 2],
                                        "price": f"{i + 1}.25", "stock": str(stock)})
            for i in range(3):
                catalog.create_customer({"email": f"c{i}@example.com", "name": f"C {i}",
                                         "country": "France", "city": "Lyon"})
        self.skus = [f"S-{i:03d}" for i in range(products)]
        return self

    def start(self, web=2, workers=2):
        for i in range(web):
            self.start_web(i)
        for i in range(workers):
            self.start_worker(i)
        for w in self.workers:
            w.wait_ready(timeout=120)
        return self

    def start_web(self, i):
        data_dir = self.root / f"web{i}"
        out = open(self.root / f"web{i}.out", "w+b")
        proc = subprocess.Popen(
            [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "serve",
             "--no-worker"], cwd=ROOT, env={**child_env(), **self.env}, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while True:
            text = (self.root / f"web{i}.out").read_text(errors="replace")
            found = re.search(r"Open (http://\S+)/\?token=(\S+)", text)
            if found:
                break
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError(f"serve {i} did not start:\n{text}")
            time.sleep(0.05)
        assert found.group(2) == self.token  # the deployment's token, not its own
        self.webs.append((proc, out))
        self.urls.append(found.group(1))

    def start_worker(self, i):
        data_dir = self.root / f"worker{i}"
        data_dir.mkdir(exist_ok=True)
        self.workers.append(WorkerProcess(data_dir, env=self.env))

    def stop_workers(self):
        for w in self.workers:
            w.stop()
        self.workers = []

    def stop(self):
        import signal

        self.stop_workers()
        for proc, out in self.webs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            out.close()
        self.webs, self.urls = [], []
        if self._app is not None:
            from webapp.extensions import db

            with self._app.app_context():
                db.session.remove()
                db.engine.dispose()

    # -- load ----------------------------------------------------------------------
    def random_order(self, rng):
        """2-4 lines, products in a random order (what deadlocked), a customer or none."""
        lines = [{"sku": sku, "quantity": rng.randint(1, 3)}
                 for sku in rng.sample(self.skus, rng.randint(2, 4))]
        order = {"lines": lines}
        if rng.random() < 0.3:
            order["customer_email"] = f"c{rng.randrange(3)}@example.com"
        return order

    def post_orders(self, per_web, clients=4, seed=1, until=None, edits=None):
        """Send orders to every web process at once (`clients` threads each) until each
        thread sent per_web // clients orders (or `until` seconds passed). Returns
        {"answers": {status: count}, "ids": [...], "quantities": {sku: n}, "seconds"}."""
        lock = threading.Lock()
        result = {"answers": {}, "ids": [], "quantities": {}, "errors": []}
        start = time.monotonic()

        def client(url, n, rng):
            while n is None or n > 0:
                if until is not None and time.monotonic() - start > until:
                    return
                order = self.random_order(rng)
                try:
                    r = self.session.post(f"{url}/api/orders", json=order, timeout=60)
                except requests.RequestException as exc:
                    with lock:
                        result["errors"].append(repr(exc))
                    continue
                with lock:
                    result["answers"][r.status_code] = result["answers"].get(r.status_code, 0) + 1
                    if r.status_code == 201:
                        result["ids"].append(r.json()["id"])
                        for line in order["lines"]:
                            result["quantities"][line["sku"]] = \
                                result["quantities"].get(line["sku"], 0) + line["quantity"]
                    else:
                        result["errors"].append(f"{r.status_code} {r.text[:200]}")
                if n is not None:
                    n -= 1

        threads = []
        for w, url in enumerate(self.urls):
            for c in range(clients):
                rng = random.Random(seed * 1000 + w * 100 + c)
                n = None if per_web is None else per_web // clients
                threads.append(threading.Thread(target=client, args=(url, n, rng)))
        if edits is not None:
            threads.append(threading.Thread(target=edits))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        result["seconds"] = time.monotonic() - start
        return result

    def order_states(self, ids):
        with sqlalchemy.create_engine(self.db_url).connect() as conn:
            rows = conn.execute(sqlalchemy.text(
                "SELECT status, count(*) FROM orders WHERE id = ANY(:ids) GROUP BY status"),
                {"ids": list(ids)}).all()
        return dict(rows)

    def wait_processed(self, ids, timeout=120):
        deadline = time.time() + timeout
        while True:
            states = self.order_states(ids)
            if set(states) <= {"processed", "failed"}:
                return states
            if time.time() > deadline:
                return states
            time.sleep(0.2)

    def latencies(self, ids):
        """Seconds from an order's recording to its job's end, per order."""
        with sqlalchemy.create_engine(self.db_url).connect() as conn:
            rows = conn.execute(sqlalchemy.text(
                "SELECT EXTRACT(EPOCH FROM j.finished_at - o.created_at) FROM orders o "
                "JOIN jobs j ON j.dedup_key = 'order:' || o.id AND j.kind = 'order' "
                "WHERE o.id = ANY(:ids) AND j.finished_at IS NOT NULL"),
                {"ids": list(ids)}).scalars().all()
        return sorted(float(r) for r in rows)
