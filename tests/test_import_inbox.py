"""The inbox folder takes a till's export too: recognised by its columns (import engine)."""
import os
import shutil
from pathlib import Path

from webapp.extensions import db
from webapp.inbox_sync import sync_inbox
from webapp.models import Order

DATA = Path(__file__).parent / "data" / "imports"


def test_a_till_export_dropped_in_the_inbox_is_imported(app):
    inbox = Path(app.config["DATA_DIR"], "inbox")
    inbox.mkdir(exist_ok=True)
    dropped = inbox / "square export june.csv"
    shutil.copy(DATA / "square_items_detail.csv", dropped)
    os.utime(dropped, (1, 1))
    with app.app_context():
        report = sync_inbox()
        assert [r["format"] for r in report["imported"]] == ["square_items"]
        assert report["imported"][0]["summary"].startswith("Square items detail export, 5 orders")
        assert db.session.query(Order).count() == 5
    assert (inbox / "done" / dropped.name).exists()


def test_a_file_no_one_knows_fails_with_the_reason(app):
    inbox = Path(app.config["DATA_DIR"], "inbox")
    inbox.mkdir(exist_ok=True)
    odd = inbox / "notes.csv"
    odd.write_text("a,b\n1,2\n")
    os.utime(odd, (1, 1))
    with app.app_context():
        report = sync_inbox()
    assert report["failed"] == [{"file": "notes.csv", "errors": 1}]
    errors = (inbox / "failed" / "notes.csv.errors.txt").read_text()
    assert errors.startswith("line 1: header: not a file Larder knows (columns: a, b)")
