"""Can the window's engine start? Asked before the window opens, so that a double-click
never ends in a silent crash (issue 9).

On Windows the window is pywebview's EdgeChromium: it needs the Microsoft Edge WebView2
Runtime and .NET through pythonnet. Without WebView2 pywebview falls back to an Internet
Explorer view that cannot run the app; when .NET cannot load, pythonnet crashes the
process in native code, where no Python handler runs (Wine: exit code 3 after ~5 s). So:
1. the WebView2 Runtime's documented registry keys (`pv`, its version; "" or 0.0.0.0 is
   "not installed"): https://learn.microsoft.com/microsoft-edge/webview2/concepts/
   distribution#detect-if-a-webview2-runtime-is-already-installed
2. a child process (`larder check-window-engine`) loads .NET and pywebview's WebView2
   module: if that crashes, only the child dies.
When either fails the launcher says so in a message box and serves in the browser.

LARDER_WINDOW_ENGINE=unavailable makes the engine count as missing on any system (to
try the fallback; the tests use it on Linux).
"""
import os
import subprocess
import sys

WEBVIEW2_CLIENT = "{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"
# (root, key): per machine (64-bit Windows, then 32-bit), then per user.
WEBVIEW2_KEYS = [
    ("HKEY_LOCAL_MACHINE", rf"SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\{WEBVIEW2_CLIENT}"),
    ("HKEY_LOCAL_MACHINE", rf"SOFTWARE\Microsoft\EdgeUpdate\Clients\{WEBVIEW2_CLIENT}"),
    ("HKEY_CURRENT_USER", rf"SOFTWARE\Microsoft\EdgeUpdate\Clients\{WEBVIEW2_CLIENT}"),
]
PROBE_TIMEOUT_S = 60  # a cold .NET start on a slow disk; a hang counts as a failure
PROBE_OK = "window engine ok"
NO_WEBVIEW2 = "the Microsoft Edge WebView2 Runtime is not installed"
FORCED = "the window engine is turned off (LARDER_WINDOW_ENGINE=unavailable)"


def read_registry_value(root, key, name):
    """A registry value as text, or None (no key, no value, not Windows)."""
    try:
        import winreg
    except ImportError:
        return None
    try:
        with winreg.OpenKey(getattr(winreg, root), key) as handle:
            return str(winreg.QueryValueEx(handle, name)[0])
    except OSError:
        return None


def webview2_version(read_value=read_registry_value):
    for root, key in WEBVIEW2_KEYS:
        version = (read_value(root, key, "pv") or "").strip()
        if version and version != "0.0.0.0":
            return version
    return None


def run_probe(command, timeout=PROBE_TIMEOUT_S):
    """Run the probe child: (exit code, its output); a hang is killed and fails."""
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout,
                              creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    except subprocess.TimeoutExpired:
        return None, f"no answer in {timeout} s"
    except OSError as exc:
        return None, str(exc)
    return done.returncode, done.stdout.decode("utf-8", "replace")


def windows_engine_problem(read_value=read_registry_value, probe=run_probe):
    """None when the WebView2 window can start, else why not (plain words). The registry
    reader and the child process are the only parts that touch the system."""
    if webview2_version(read_value) is None:
        return NO_WEBVIEW2
    from webapp.background.procs import self_command

    code, output = probe(self_command("check-window-engine"))
    if code == 0 and PROBE_OK in output:
        return None
    last = (output or "").strip().splitlines()[-1:] or [f"exit code {code}"]
    return f"the window engine (.NET with WebView2) cannot start: {last[0][:200]}"


def engine_problem():
    """Why the window cannot open here (None: it can), checked before it opens."""
    if os.environ.get("LARDER_WINDOW_ENGINE") == "unavailable":
        return FORCED
    if sys.platform == "win32":
        return windows_engine_problem()
    return None  # Linux: gui_available() checked the display and Qt; macOS: WebKit


def probe_here():
    """The child's side (`larder check-window-engine`): load what the window loads. A
    crash in native code ends this process, not the launcher."""
    if sys.platform == "win32":
        # What webview.start() loads: pythonnet and .NET, then the WebView2 view if
        # pywebview finds it usable (else it would pick Internet Explorer's MSHTML).
        from webview.platforms import winforms

        if winforms.renderer != "edgechromium":
            print(f"pywebview would use {winforms.renderer}, not WebView2", flush=True)
            return 1
    print(PROBE_OK, flush=True)
    return 0
