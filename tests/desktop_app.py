"""Launch the desktop app (from source or the built executable) on a virtual display and
watch it: shared by tests/test_desktop.py and tests/test_executable.py."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from worker_proc import ROOT, alive, cmdline, process_tree, wait_for  # noqa: F401

SOURCE_COMMAND = [sys.executable, "-m", "desktop"]


class DesktopApp:
    def __init__(self, data_dir, display=None, command=None, extra_env=None):
        self.data_dir = Path(data_dir)
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        if display:
            env["DISPLAY"] = display
        env.update(extra_env or {})
        self.command = (command or SOURCE_COMMAND) + ["--data-dir", str(data_dir)]
        self.out_path = self.data_dir / f"launcher-{time.time_ns()}.out"
        self._out = open(self.out_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=env, stdout=self._out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def log_path(self):
        return self.data_dir / "logs" / "larder.log"

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def output(self):
        return self.out_path.read_text(errors="replace")

    def wait_page_loaded(self, timeout=60):
        wait_for(lambda: "window: page loaded" in self.log() or self.proc.poll() is not None,
                 timeout=timeout, what="the app page in the window")
        assert self.proc.poll() is None, self.output()[-3000:]
        return time.monotonic() - self.started

    def workers(self):
        """Worker supervisors (`worker --beat`) under this launcher."""
        return [p for p in process_tree(self.proc.pid) if " worker --beat" in cmdline(p)]

    def wait_workers(self, timeout=60):
        """The bundled worker's supervisor, once all its children (the nodes) run."""
        from webapp.background.supervisor import node_specs

        children = len(node_specs())  # the nodes (beat is a thread of the supervisor)

        def ready():
            workers = self.workers()
            return workers if workers and len(process_tree(workers[0])) >= children else None

        return wait_for(ready, timeout=timeout, what="the bundled worker and its nodes")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in process_tree(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._out.close()


def screenshot_is_not_blank(path):
    from PIL import Image

    image = Image.open(path).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000) or []
    # The header's green (#2f6f4f) fills a band across the window.
    green = sum(count for count, rgb in colours if rgb == (47, 111, 79))
    return len(colours) > 20 and green > 5000, (len(colours), green)
