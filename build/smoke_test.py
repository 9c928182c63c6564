"""Smoke-test a built executable: `python build/smoke_test.py dist/larder` (Linux),
`python build/smoke_test.py dist\\larder.exe` (Windows; under Wine: build/wine.sh smoke).

Needs nothing but the executable and Python's standard library (pypdf, when importable,
also checks the PDF's text); processes are listed by build/proctable.py (/proc on Linux,
the Win32 API on Windows). Every check runs the executable alone, in fresh data dirs:

0. (Linux) the first start unpacks into XDG_CACHE_HOME/larder/app/<build id>/, the
   next reuses it; the smoke test uses a private XDG_CACHE_HOME, removed at the end
1. `larder --version`; a bad date exits 2 with one line `larder: error: ...`
2. `larder demo --orders 2000`, then `larder report ... --format pdf -o out.pdf`: a PDF
   that starts with %PDF and (with pypdf) shows the order count
3. `larder serve` (headless; it starts the bundled worker `larder worker --beat`, which
   starts `larder worker-node ...` and runs beat in a thread): /health answers, 10 background
   reports in a row (POST /api/reports, then its status_url) reach SUCCESS through the
   frozen Celery worker, an order is processed in the background, and after the stop
   (SIGTERM; Windows: TerminateProcess) no process of it remains (one-file builds: no
   _MEI* folder after the next start either)
4. the program with no command (the double-click) where no window can open: its log
   says why, it serves headless (/health), and stops leaving nothing.

The same functions back tests/test_executable.py. Exit status 0 when all pass.
"""
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import proctable  # beside this file, like pack; stdlib-only
from pack import read_build_id

WINDOWS, LINUX = proctable.WINDOWS, proctable.LINUX
STOP_PIPE_ENV = "LARDER_STOP_ON_STDIN_EOF"  # webapp/background/procs.py
# Its own process group, so that stopping it reaches no one else (and, on Windows, so that
# a console Ctrl+C in the caller's terminal does not reach it).
NEW_GROUP = ({"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if WINDOWS
             else {"start_new_session": True})

DEMO_ORDERS = 2000
REPORTS_IN_A_ROW = 10  # Windows lost about one in three to a locked file once


class SmokeError(AssertionError):
    pass


def run(exe, *args, timeout=180, env=None):
    """Run the executable; return its CompletedProcess (text), failing on exit != 0."""
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout,
                          env=clean_env(env))
    if proc.returncode != 0:
        raise SmokeError(f"`larder {' '.join(args)}` exited {proc.returncode}:\n"
                         f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc


def clean_env(extra=None):
    """The caller's environment without anything that would point the executable at
    another data dir, another broker or another (e.g. the build's) Python."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LARDER_", "CELERY_", "CACHE_", "PYTHON", "_MEI", "_PYI"))
           and k not in ("DATABASE_URL", "VIRTUAL_ENV")}
    env.update(extra or {})
    return env


def check_version(exe):
    out = run(exe, "--version", timeout=120).stdout.strip()
    if not re.fullmatch(r"larder, version \d+\.\d+\.\d+\S*", out):
        raise SmokeError(f"unexpected --version output: {out!r}")
    return out


def report_range(days=800):
    today = dt.date.today()
    return (today - dt.timedelta(days=days)).isoformat(), today.isoformat()


def check_demo_and_pdf_report(exe, data_dir, orders=DEMO_ORDERS, env=None):
    """`demo` then a PDF `report` with the CLI; returns (pdf path, order count)."""
    data_dir = Path(data_dir)
    out = run(exe, "--data-dir", str(data_dir), "demo", "--orders", str(orders), env=env).stdout
    if "orders" not in out:
        raise SmokeError(f"unexpected demo output: {out!r}")
    start, end = report_range()
    pdf = data_dir / "out.pdf"
    out = run(exe, "--data-dir", str(data_dir), "report", "--from", start, "--to", end,
              "--format", "pdf", "-o", str(pdf), env=env).stdout
    match = re.search(r"wrote .*: (\d+) orders", out)
    if not match:
        raise SmokeError(f"unexpected report output: {out!r}")
    count = int(match.group(1))
    if count < orders * 0.9:
        raise SmokeError(f"the report counted {count} orders, expected about {orders}")
    check_pdf(pdf, count)
    return pdf, count


def check_pdf(path, orders=None):
    data = Path(path).read_bytes()
    if not data.startswith(b"%PDF-"):
        raise SmokeError(f"{path} is not a PDF (starts with {data[:8]!r})")
    try:
        from pypdf import PdfReader
    except ImportError:
        return "header only (pypdf not installed)"
    reader = PdfReader(str(path))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    if orders is not None and f"{orders:,}" not in text:
        raise SmokeError(f"{path}: the order count {orders:,} is not in its text")
    return f"{len(reader.pages)} pages"


def processes_using(data_dir, exe_name=None):
    """PIDs whose command line names data_dir (every Larder process gets --data-dir);
    Linux reads /proc, Windows asks the system (build/proctable.py)."""
    return [p.pid for p in proctable.using(data_dir, exe_name)]


def mei_folders():
    """PyInstaller one-file unpack folders in the temporary folder (Windows, macOS)."""
    return set(Path(tempfile.gettempdir()).glob("_MEI*"))


class Served:
    """`larder serve` (or, with args=None, the program with no command: the double-click)
    in its own process group, output in DATA_DIR/serve.out."""

    def __init__(self, exe, data_dir, env=None, args=()):
        self.exe = Path(exe)
        self.data_dir = Path(data_dir)
        self.out_path = self.data_dir / "serve.out"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._out = open(self.out_path, "wb")
        self.started = time.monotonic()
        cmd = [str(exe)] + ([] if args is None else ["--data-dir", str(data_dir), "serve", *args])
        env = clean_env(env)
        if WINDOWS:  # its stop pipe: closing our end asks it to stop (webapp/background/procs.py)
            env[STOP_PIPE_ENV] = "1"
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE if WINDOWS else subprocess.DEVNULL,
                                     env=env, **NEW_GROUP)
        self.info = None

    def output(self):
        return self.out_path.read_text(errors="replace")

    def wait_ready(self, timeout=90):
        """Wait for server.json, then for /health; returns seconds since the start."""
        info_file = self.data_dir / "server.json"
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SmokeError(f"serve exited {self.proc.returncode}:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                raise SmokeError(f"serve not ready after {timeout} s:\n{self.output()[-4000:]}")
            if info_file.exists():
                try:
                    self.info = json.loads(info_file.read_text())
                    if self.get("/health", timeout=2).get("status") == "ok":
                        return time.monotonic() - self.started
                except (ValueError, OSError):
                    pass
            time.sleep(0.02)

    def request(self, method, path, body=None, timeout=10):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.info["url"] + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.info['token']}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:  # a 4xx/5xx: its {"error": ...} says why
            return exc.code, json.loads(exc.read() or b"null")

    def get(self, path, timeout=10):
        return self.request("GET", path, timeout=timeout)[1]

    def stop(self, timeout=20, hard=False):
        """Linux: SIGTERM (the way a session logout or `kill` ends it). Windows has no
        SIGTERM: its stop pipe is closed (how Larder stops its own children there), or
        with hard=True TerminateProcess on the one-file launcher (Task Manager's End task:
        no handler runs, the Job Object must take the children down). hard=True on Linux:
        SIGKILL to the launcher alone. Returns the exit code, None if it did not exit."""
        code = None
        if self.proc.poll() is None:
            if hard:
                self.proc.kill()
            elif WINDOWS:
                self.proc.stdin.close()
            else:
                self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            code = self.proc.returncode
        self._out.close()
        return code

    def leftovers(self):
        return processes_using(self.data_dir, self.exe.name)

    def kill_leftovers(self):
        """Last resort (after a failure): nothing of this run may stay behind."""
        kill_all(self.proc.pid, self.data_dir)


def kill_all(group_pid, data_dir):
    """Kill the process group (Windows: the process tree) and whatever names data_dir."""
    pids = set(processes_using(data_dir)) | set(process_group(group_pid))
    if not WINDOWS:
        try:
            os.killpg(group_pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for pid in pids | {group_pid}:
        proctable.kill(pid)
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


# --- Unpack once (Linux: build/pack.py + build/unpack_once.c) --------------------------
def unpacked_versions(cache_home):
    """The version folders in CACHE_HOME/larder/app (what the one file unpacked)."""
    root = Path(cache_home) / "larder" / "app"
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) \
        if root.is_dir() else []


def check_unpack_once(exe, cache_home):
    """The first start unpacks into CACHE_HOME/larder/app/<build id>/, the next one reuses it
    (same folder, no message); nothing goes to /tmp/_MEI*."""
    ident = read_build_id(exe)
    if ident is None:
        raise SmokeError(f"{exe} has no unpack-once trailer (built by build/pack.py?)")
    env = {"XDG_CACHE_HOME": str(cache_home)}
    before_mei = set(Path(tempfile.gettempdir()).glob("_MEI*"))
    timings = []
    for attempt in ("first", "second"):
        started = time.monotonic()
        proc = run(exe, "--version", env=env)
        timings.append(time.monotonic() - started)
        said = "unpacking" in proc.stderr
        if said != (attempt == "first"):
            raise SmokeError(f"{attempt} start {'did not unpack' if attempt == 'first' else 'unpacked again'}:"
                             f" {proc.stderr!r}")
        if attempt == "first":
            inode = (Path(cache_home) / "larder" / "app" / ident).stat().st_ino
    if unpacked_versions(cache_home) != [ident]:
        raise SmokeError(f"expected only {ident} in {cache_home}/larder/app: "
                         f"{unpacked_versions(cache_home)}")
    if (Path(cache_home) / "larder" / "app" / ident).stat().st_ino != inode:
        raise SmokeError("the second start replaced the unpacked folder")
    if set(Path(tempfile.gettempdir()).glob("_MEI*")) - before_mei:
        raise SmokeError("something was unpacked into the temporary folder (_MEI*)")
    return f"build {ident[:8]}: first start {timings[0]:.1f} s, second {timings[1]:.2f} s"


def process_group(group_pid):
    """PIDs in a process group (Linux); on Windows the process tree below group_pid."""
    if WINDOWS:
        return sorted(proctable.descendants(group_pid))
    found = []
    if not LINUX:
        return found
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == group_pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


alive = proctable.alive


def check_background_report(served, timeout=180):
    """POST /api/reports, then poll its status_url until SUCCESS; returns the last status."""
    start, end = report_range()
    status, body = served.request("POST", "/api/reports",
                                  {"from": start, "to": end, "format": "pdf"})
    if status != 202 or "status_url" not in body:
        raise SmokeError(f"POST /api/reports answered {status}: {body}")
    return wait_task(served, body["status_url"], "the background report", timeout)


def wait_task(served, status_url, what, timeout):
    deadline = time.monotonic() + timeout
    while True:
        state = served.get(status_url)
        if state.get("state") == "SUCCESS":
            return state
        if state.get("state") == "FAILURE":
            raise SmokeError(f"{what} failed: {state}\n{served.output()[-3000:]}")
        if time.monotonic() > deadline:
            raise SmokeError(f"{what} did not finish in {timeout} s: {state}\n"
                             f"{served.output()[-4000:]}")
        time.sleep(0.2)


def wait_no_processes(data_dir, timeout=10, exe_name=None, pids=()):
    """Every process of this data dir (and of `pids`) must be gone within timeout;
    returns leftovers."""
    deadline = time.monotonic() + timeout
    while True:
        left = sorted(set(processes_using(data_dir, exe_name)) | {p for p in pids if alive(p)})
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def stop_and_check(served, what="serve", hard=False):
    """Stop it; nothing of it may remain (its whole tree, seen just before the stop);
    returns the exit code."""
    tree = set(process_group(served.proc.pid)) | {served.proc.pid}
    code = served.stop(hard=hard)
    if code is None:
        raise SmokeError(f"{what} did not stop within 20 s")
    left = wait_no_processes(served.data_dir, exe_name=served.exe.name, pids=tree)
    if left:
        raise SmokeError(f"processes left after {what} stopped: "
                         f"{[cmdline(p) or p for p in left]}")
    return code


def check_no_new_unpack(before):
    """One-file builds (Windows, macOS) unpack into TEMP/_MEI* and remove it when they
    exit: after a stop that let them exit, nothing new may be there."""
    new = mei_folders() - before
    if new:
        raise SmokeError(f"unpack folders left in {tempfile.gettempdir()}: "
                         f"{sorted(p.name for p in new)}")
    return "" if LINUX else ", no _MEI* folder left"


def check_leftover_unpack_removed(exe, leftovers, data_dir, min_age=61, timeout=30):
    """A hard kill leaves the one-file launcher's _MEI* folder: a later start (of a
    command, once the folder is a minute old: desktop/onefile.py) must remove it."""
    if not leftovers:
        return "nothing was left to remove"
    oldest = min(p.stat().st_mtime for p in leftovers if p.exists()) if any(
        p.exists() for p in leftovers) else time.time()
    time.sleep(max(0.0, oldest + min_age - time.time()))
    deadline = time.monotonic() + timeout
    starts = 0
    while True:  # the removal runs beside the start-up: a start may end before it is done
        starts += 1
        run(exe, "--data-dir", str(Path(data_dir) / str(starts)), "demo", "--orders", "100")
        if not any(p.exists() or Path(f"{p}.stale").exists() for p in leftovers):
            return f"removed: {', '.join(p.name for p in leftovers)} ({starts} start(s))"
        if time.monotonic() > deadline:
            raise SmokeError(f"still there after {starts} later starts: "
                             f"{[p.name for p in leftovers]}")


def check_order(served, timeout=180):
    """An order through the API, processed by the worker in the background."""
    sku = "BAK-001"  # demo data's first product; given stock so the order is accepted
    status, _ = served.request("PATCH", f"/api/products/{sku}", {"stock": 100})
    if status != 200:
        raise SmokeError(f"PATCH /api/products/{sku} answered {status}")
    status, first = served.request("GET", "/api/orders/1")  # a demo customer
    if status != 200:
        raise SmokeError(f"GET /api/orders/1 answered {status}: {first}")
    status, body = served.request("POST", "/api/orders", {
        "customer_email": first["customer_email"], "lines": [{"sku": sku, "quantity": 2}]})
    if status != 201 or "status_url" not in body:
        raise SmokeError(f"POST /api/orders answered {status}: {body}")
    state = wait_task(served, body["status_url"], "the order", timeout)
    if (state.get("result") or {}).get("status") != "processed":
        raise SmokeError(f"the order was not processed: {state}")
    return state


def check_serve(exe, data_dir, env=None, reports=1, order=False):
    """Headless serve in a fresh data dir: /health, `reports` background reports in a
    row, (order=True) an order processed in the background after `demo` data, a stop
    that leaves no process (and, one-file builds, no unpack folder after the next start)."""
    exe, data_dir = Path(exe), Path(data_dir)
    if order:
        run(exe, "--data-dir", str(data_dir), "demo", "--orders", "200", env=env)
    before = mei_folders()
    served = Served(exe, data_dir, env=env)
    try:
        ready = served.wait_ready()
        worker_procs = wait_for_workers(served)
        jobs = [check_background_report(served) for _ in range(reports)]
        order_state = check_order(served) if order else None
        code = stop_and_check(served)
        note = check_no_new_unpack(before)
        return {"ready_s": ready, "processes": worker_procs, "job": jobs[-1], "jobs": jobs,
                "order": order_state, "exit_code": code, "note": note}
    finally:
        served.stop(timeout=1)
        served.kill_leftovers()


def check_bad_input(exe, data_dir):
    """A bad date: exit status 2 and one line `larder: error: ...`, no traceback."""
    proc = subprocess.run([str(exe), "--data-dir", str(data_dir), "report", "--from",
                           "2025-13-01", "--to", "2025-12-31", "-o", str(Path(data_dir) / "x.pdf")],
                          capture_output=True, text=True, timeout=120, env=clean_env())
    lines = proc.stderr.strip().splitlines()
    if proc.returncode != 2 or len(lines) != 1 or not lines[0].startswith("larder: error:"):
        raise SmokeError(f"expected exit 2 and one line `larder: error: ...`, got exit "
                         f"{proc.returncode}:\n{proc.stderr[-3000:]}")
    return lines[0]


def check_double_click(exe, data_dir):
    """The program with no command (a double-click) where no window can open (no display
    on Linux; under Wine no WebView2/.NET): it must say why in its log and serve headless
    (/health answers). Then a hard kill of the launcher (Windows: TerminateProcess, Task
    Manager's End task; Linux: SIGTERM) must leave no process. Returns (the log's reason,
    the unpack folders the kill left: check_leftover_unpack_removed checks them later)."""
    data_dir = Path(data_dir)
    env = {"LARDER_DATA_DIR": str(data_dir)}
    if not WINDOWS:
        env["BROWSER"] = "true"  # the fallback opens the system browser: not here
    if os.environ.get("LARDER_WINDOW_ENGINE"):  # =unavailable: where a window could open
        env["LARDER_WINDOW_ENGINE"] = os.environ["LARDER_WINDOW_ENGINE"]
    before = mei_folders()
    saved = {k: os.environ.pop(k) for k in ("DISPLAY", "WAYLAND_DISPLAY") if k in os.environ}
    try:
        served = Served(exe, data_dir, env=env, args=None)
    finally:
        os.environ.update(saved)
    try:
        served.wait_ready()
        log = data_dir / "logs" / "larder.log"
        deadline = time.monotonic() + 60  # the engine check may finish after /health
        while True:
            said = [line for line in log.read_text(errors="replace").splitlines()
                    if "headless (" in line] if log.exists() else []
            if said:
                break
            if time.monotonic() > deadline or served.proc.poll() is not None:
                raise SmokeError(f"the log does not say why there is no window:\n"
                                 f"{served.output()[-3000:]}")
            time.sleep(0.2)
        stop_and_check(served, "the app", hard=WINDOWS)
        return said[-1].split("headless", 1)[1].strip(), sorted(mei_folders() - before)
    finally:
        served.stop(timeout=1)
        served.kill_leftovers()


def wait_for_workers(served, timeout=60):
    """The bundled worker's tree: supervisor (with beat) and nodes (each the same
    executable): the quick node and at least one report node."""
    if not proctable.supported():
        return None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cmds = [p.cmdline or "" for p in proctable.using(served.data_dir)]
        if any(" worker --beat " in c for c in cmds) and \
                sum(" worker-node " in c for c in cmds) >= 2:
            return len(cmds)
        time.sleep(0.1)
    raise SmokeError(f"the bundled worker did not start its nodes:\n{served.output()[-4000:]}")


cmdline = proctable.cmdline


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: python build/smoke_test.py PATH/TO/larder[.exe]", file=sys.stderr)
        return 2
    exe = Path(argv[0]).resolve()
    if not exe.is_file():
        print(f"smoke_test: {exe} does not exist (python build/build.py makes it)",
              file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="larder-smoke-"))
    # A private cache folder: the one file unpacks there once (not into the user's
    # ~/.cache/larder/app), and it goes with the rest of tmp.
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    failures = 0

    def step(name, fn):
        nonlocal failures
        started = time.monotonic()
        try:
            detail = fn()
        except (SmokeError, subprocess.TimeoutExpired, OSError, urllib.error.URLError) as exc:
            failures += 1
            print(f"FAIL {name} ({time.monotonic() - started:.1f} s): {exc}", flush=True)
        else:
            print(f"ok   {name} ({time.monotonic() - started:.1f} s): {detail}", flush=True)

    print(f"smoke test of {exe} ({exe.stat().st_size / 1e6:.1f} MB)", flush=True)
    if read_build_id(exe):
        step("unpack once", lambda: check_unpack_once(exe, tmp / "cache"))
    step("--version", lambda: check_version(exe))

    step("bad input: exit 2, one line", lambda: check_bad_input(exe, tmp / "bad"))
    killed = []

    def double_click():
        reason, left = check_double_click(exe, tmp / "double-click")
        killed.extend(left)
        return (f"served headless: {reason}; killed"
                f"{' hard (TerminateProcess)' if WINDOWS else ''}, no process left")

    step("no command (double-click) without a window engine: headless, says why, killed",
         double_click)

    def demo_report():
        pdf, count = check_demo_and_pdf_report(exe, tmp / "demo")
        return f"demo + report: {count} orders, {check_pdf(pdf, count)}"

    step("demo + PDF report (CLI)", demo_report)

    def serve():
        result = check_serve(exe, tmp / "serve", reports=REPORTS_IN_A_ROW, order=True)
        return (f"/health after {result['ready_s']:.1f} s, {result['processes']} processes, "
                f"{len(result['jobs'])} background reports in a row SUCCESS, an order "
                f"{result['order']['result']['status']}, exit {result['exit_code']}, "
                f"no process left{result['note']}")

    step(f"serve + /health + {REPORTS_IN_A_ROW} background reports + an order + stop", serve)
    if not LINUX:
        step("the hard kill's unpack folder removed by a later start",
             lambda: check_leftover_unpack_removed(exe, killed, tmp / "later"))
    if failures:
        print(f"smoke test: {failures} check(s) failed; data kept in {tmp}", flush=True)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("smoke test: all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
