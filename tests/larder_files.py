"""Larder's own CSV layouts through the import engine (webapp/imports), as the Import
page, `larder import KIND FILE` and the inbox read them, for tests that give a file's
text: import_csv("products", b"sku,name,...\n...")."""
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from webapp.imports.engine import ImportFailed, import_file

__all__ = ["ImportFailed", "Imported", "import_csv"]


@dataclass
class Imported:
    """What the engine counted for the file's kind; `plan`: all it found and did."""

    created: int
    updated: int
    unchanged: int
    plan: object


def import_csv(kind, data):
    """Import `data` (bytes or text) as a file of Larder's `kind` layout, the kind forced
    (as `larder import KIND FILE`). Runs inside an app context. Raises ImportFailed, its
    `.errors` the problem lines in file order, when nothing was written."""
    folder = Path(tempfile.mkdtemp(prefix="larder-test-"))
    path = folder / f"{kind}.csv"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    try:
        plan = import_file(path, format=kind)
    except ImportFailed as exc:
        exc.errors = exc.plan.problem_lines()
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    counts = plan.counts[kind]
    return Imported(counts["new"], counts["updated"], counts["unchanged"], plan)
