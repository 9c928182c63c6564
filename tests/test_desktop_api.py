"""The window's native touches (desktop/window.py DesktopApi) with real files and a real
app; only pywebview's dialog is stood in for (it needs a person to click)."""
import types

import pytest

from desktop.window import DesktopApi, load_size, save_size


class DialogWindow:
    """pywebview's Window.create_file_dialog, answering as a person would."""

    def __init__(self, answer):
        self.answer = answer
        self.asked = []

    def create_file_dialog(self, dialog_type, directory="", allow_multiple=False,
                           save_filename="", file_types=()):
        self.asked.append((dialog_type, save_filename, tuple(file_types)))
        return self.answer


@pytest.fixture
def api(app):
    # What the launcher hands over: its start-up, whose `app` is made by then.
    return DesktopApi(types.SimpleNamespace(app=app))


def test_save_report_copies_the_file_under_its_name(app, api, client, tmp_path):
    import webview

    job = client.post("/api/reports", json={"from": "2025-01-01", "to": "2025-01-31",
                                            "format": "csv"}).json  # eager: done at once
    target = tmp_path / "chosen.csv"
    api._window = DialogWindow(str(target))
    assert api.save_report(job["report_id"]) == {"saved": str(target)}
    assert api._window.asked == [(webview.FileDialog.SAVE,
                                  "larder-report-2025-01-01-to-2025-01-31.csv", ())]
    assert target.read_bytes() == client.get(f"/reports/{job['report_id']}/download").data
    api._window = DialogWindow(None)
    assert api.save_report(job["report_id"]) == {"cancelled": True}
    assert api.save_report("nope") == {"error": "This report is not ready."}


def test_save_backup_copies_a_listed_backup_only(app, api, tmp_path):
    import webview

    from webapp.backups import make_backup

    made = make_backup(app, "manual")
    target = tmp_path / "usb-stick.db"
    api._window = DialogWindow(str(target))
    assert api.save_backup(made.name) == {"saved": str(target)}
    assert api._window.asked == [(webview.FileDialog.SAVE, made.name, ())]
    assert target.read_bytes() == made.read_bytes()
    for bad in ("../larder.db", "larder.db", str(made)):
        assert api.save_backup(bad) == {"error": "There is no such backup."}
    api._window = DialogWindow(None)
    assert api.save_backup(made.name) == {"cancelled": True}


def test_open_external_only_opens_web_links(api, monkeypatch):
    import webbrowser

    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    assert api.open_external("https://example.org/") == {"opened": True}
    assert api.open_external("file:///etc/passwd")["error"]
    assert opened == ["https://example.org/"]


def test_window_size_is_kept_and_checked(tmp_path):
    assert load_size(tmp_path) == (1120, 720)
    save_size(tmp_path, 900, 650)
    assert load_size(tmp_path) == (900, 650)
    (tmp_path / "window.json").write_text('{"width": 5, "height": "x"}')
    assert load_size(tmp_path) == (1120, 720)
