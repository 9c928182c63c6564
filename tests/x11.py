"""Drive a real X display for the window tests: Xvfb, find a window, close it like a
window manager would (WM_DELETE_WINDOW), take a screenshot."""
import os
import subprocess
import time

from conftest import require_binary


class VirtualDisplay:
    def __init__(self, width=1280, height=800):
        require_binary("Xvfb")
        self.display = None
        for number in range(90, 140):
            if not os.path.exists(f"/tmp/.X11-unix/X{number}") and \
                    not os.path.exists(f"/tmp/.X{number}-lock"):
                self.display = f":{number}"
                break
        # -noreset: by default an X server resets when its last client disconnects and
        # refuses connections meanwhile; between two app runs that made Qt abort
        # ("could not connect to display") about once in 30 launches. A desktop session
        # always has clients (the window manager), so it does not reset under the app.
        self.proc = subprocess.Popen(["Xvfb", self.display, "-screen", "0",
                                      f"{width}x{height}x24", "-nolisten", "tcp", "-noreset"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(f"/tmp/.X11-unix/X{self.display[1:]}"):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("Xvfb did not start")
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)

    def _xlib(self):
        from Xlib import display as xdisplay

        return xdisplay.Display(self.display)

    def find_windows(self, title):
        """Top-level windows whose WM_NAME or _NET_WM_NAME is exactly `title`."""
        d = self._xlib()
        try:
            found = []
            net_name = d.intern_atom("_NET_WM_NAME")
            todo = [d.screen().root]
            while todo:
                window = todo.pop()
                try:
                    name = window.get_wm_name()
                    prop = window.get_full_property(net_name, 0)
                    names = {name, prop.value.decode() if prop and isinstance(prop.value, bytes) else None}
                    attrs = window.get_attributes()
                    if title in names and attrs.map_state != 0:
                        found.append(window.id)
                    todo.extend(window.query_tree().children)
                except Exception:  # a window that vanished while we looked
                    continue
            return found
        finally:
            d.close()

    def close_window(self, window_id):
        """What a window manager sends when the user clicks the close button."""
        from Xlib import X
        from Xlib.protocol import event

        d = self._xlib()
        try:
            window = d.create_resource_object("window", window_id)
            protocols = d.intern_atom("WM_PROTOCOLS")
            delete = d.intern_atom("WM_DELETE_WINDOW")
            message = event.ClientMessage(window=window, client_type=protocols,
                                          data=(32, [delete, X.CurrentTime, 0, 0, 0]))
            window.send_event(message, event_mask=X.NoEventMask, propagate=False)
            d.sync()
        finally:
            d.close()

    def screenshot(self, path):
        require_binary("import")
        subprocess.run(["import", "-display", self.display, "-window", "root", str(path)],
                       check=True, timeout=30)
        return path

    def xdotool(self, *args):
        require_binary("xdotool")
        return subprocess.run(["xdotool", *map(str, args)], check=True, timeout=30,
                              capture_output=True, text=True,
                              env={**os.environ, "DISPLAY": self.display}).stdout

    def answer_dialog(self, window_id, text=None, key="Return"):
        """Answer a dialog as a person would with the keyboard: focus it, replace the
        focused field's text with `text` (when given), then press `key`."""
        self.xdotool("windowfocus", "--sync", window_id)
        if text is not None:
            self.xdotool("key", "--clearmodifiers", "ctrl+a")
            self.xdotool("type", "--delay", 5, text)
        self.xdotool("key", "--clearmodifiers", key)
