"""PyInstaller hook for billiard, Celery's fork of multiprocessing (no hook exists
upstream). Celery imports parts of it by name (pools, `billiard.popen_*`, reduction);
Larder's worker nodes use the solo and threads pools, but Celery still imports billiard
at start-up: collect the whole (small) package."""
from PyInstaller.utils.hooks import collect_submodules

hiddenimports = collect_submodules("billiard")
