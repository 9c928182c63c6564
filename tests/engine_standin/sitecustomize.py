"""Test-only: until the real import engine (webapp/imports/engine.py, another branch) is
in this checkout, `import webapp.imports.engine` gets standin_engine.py, in the test
process and in worker processes started with this folder on PYTHONPATH. Once the real
engine is there this does nothing."""
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL = HERE.parent.parent / "webapp" / "imports" / "engine.py"


class _StandIn:
    def find_spec(self, name, path=None, target=None):
        if name == "webapp.imports.engine" and not REAL.exists():
            return importlib.util.spec_from_file_location(name, HERE / "standin_engine.py")
        return None


def install():
    if not any(isinstance(f, _StandIn) for f in sys.meta_path):
        sys.meta_path.insert(0, _StandIn())


install()
