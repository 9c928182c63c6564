"""Start the real bundled worker (`python -m desktop worker`) for a test, and stop it."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "build"))
# Process helpers shared with the executable's smoke test (build/ is not a package).
from smoke_test import alive, cmdline  # noqa: E402,F401


def child_env():
    """The environment for a child process of a test: this checkout on its path, and none
    of the settings (CACHE_TYPE, DATABASE_URL, ...) that would win over the test's own."""
    from webapp.config import ENV_KEYS

    env = {k: v for k, v in os.environ.items()
           if k not in ENV_KEYS and k not in ("LARDER_DATA_DIR", "LARDER_SECRET_KEY")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def process_tree(pid):
    """Descendants of pid, not counting zombies (build/proctable: /proc on Linux, the
    Win32 process list on Windows, so these tests also run under Wine)."""
    import proctable

    return sorted(proctable.descendants(pid))


class WorkerProcess:
    def __init__(self, data_dir, beat=False, env=None, log_name="worker.log"):
        self.data_dir = Path(data_dir)
        self.log_path = self.data_dir / log_name
        args = [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "worker"]
        if beat:
            args.append("--beat")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, start_new_session=True)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, nodes=None, timeout=60):
        """Every Celery node logs 'ready.' once it consumes."""
        from webapp.background.supervisor import node_specs

        nodes = nodes or len(node_specs())
        deadline = time.time() + timeout
        while self.log().count(" ready.") < nodes:
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError(f"worker not ready:\n{self.log()[-3000:]}")
            time.sleep(0.1)
        return self

    def kill_all(self):
        """SIGKILL the whole worker: supervisor and nodes (its process group)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        try:  # nothing of it may linger
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log.close()


def wait_for(predicate, timeout=30, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def probe(script, data_dir, timeout=120):
    """Run `script` (python -c, from the project root, data_dir as its argument): (what
    it printed as JSON after "SEEN ", the finished process). A probe looks at a real
    process from inside (what it loaded, what it answered)."""
    proc = subprocess.run([sys.executable, "-c", script, str(data_dir)], cwd=ROOT,
                          env=child_env(), capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("SEEN ")]
    assert lines, proc.stderr[-3000:]
    return json.loads(lines[0][5:]), proc
