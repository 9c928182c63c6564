"""A native message box for the window mode, shown when Larder cannot start, or cannot
open its window and opens in the browser instead: a double-clicked program has no
terminal where a printed line could be read.

Linux: Qt's QMessageBox (PyQt6 is bundled for the window anyway), before any web view
exists. Windows: MessageBoxW. macOS: osascript. No display: nothing (the caller has
printed the line already)."""
import logging
import subprocess
import sys

log = logging.getLogger("larder.desktop")


def show_error(title, message):
    """Show `message` and wait until it is closed; False when no box could be shown."""
    return show_box(title, message, warning=False)


def show_warning(title, message):
    """The same box with a warning sign: Larder goes on once it is closed."""
    return show_box(title, message, warning=True)


def show_box(title, message, warning):
    try:
        if sys.platform == "win32":
            import ctypes

            icon = 0x30 if warning else 0x10  # MB_ICONWARNING, MB_ICONERROR
            mb_topmost = 0x40000
            ctypes.windll.user32.MessageBoxW(None, message, title, icon | mb_topmost)
            return True
        if sys.platform == "darwin":
            # The text goes in as arguments: nothing in it is read as AppleScript.
            script = ["on run argv", "display alert (item 1 of argv) message (item 2 of argv)"
                      f" as {'warning' if warning else 'critical'}", "end run"]
            args = [arg for line in script for arg in ("-e", line)]
            return subprocess.run(["osascript", *args, title, message],
                                  timeout=24 * 3600).returncode == 0
        return _qt_message_box(title, message, warning)
    except Exception:  # a broken GUI must not hide the reason: it was printed and logged
        log.warning("could not show the error box", exc_info=True)
        return False


def _qt_message_box(title, message, warning=False):
    from desktop.launcher import display_available

    if not display_available(attempts=2):
        return False
    from PyQt6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance() or QApplication(["larder"])
    icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Critical
    box = QMessageBox(icon, title, message)
    box.setWindowTitle(title)
    box.exec()
    del app
    return True
