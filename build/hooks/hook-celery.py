"""PyInstaller hook for Celery (neither PyInstaller nor pyinstaller-hooks-contrib has one).

Celery finds most of its parts by name at run time (`symbol_by_name` strings), so the
import graph misses them and a plain build fails with `No module named 'celery.fixups'`:
loaders (`celery.loaders.app`), fixups, pools (`celery.concurrency.solo` / `threads`),
result backends (`celery.backends.filesystem`, `celery.backends.redis`), worker boot steps,
`celery.apps.worker` / `celery.apps.beat`, the beat scheduler. Listing them by hand would
break on the next Celery release; collecting every submodule costs ~1 MB and worked
(worker, beat, progress, Redis mode: docs/building.md).

Left out: the pytest plugin and test helpers (they would drag pytest in) and the Sphinx
extension.
"""
from PyInstaller.utils.hooks import collect_submodules

_TEST_ONLY = ("celery.contrib.pytest", "celery.contrib.testing", "celery.contrib.sphinx")

hiddenimports = collect_submodules("celery", filter=lambda name: not name.startswith(_TEST_ONLY))
excludedimports = ["pytest", "_pytest", "sphinx"]
