"""The Windows one-file executable unpacks itself into the temp folder (`_MEIxxxxxx`,
~35 MB) on every start and removes that folder when it exits normally; a hard kill
leaves it behind. At the next start such leftovers are removed, in the background.

A folder is removed only when all of these hold:
- its name is PyInstaller's (`_MEI` and digits) and its content is Larder's (the
  bundled webapp/templates and base_library.zip): another program's folder is left;
- it is older than a minute (not one being unpacked now);
- the Larder that unpacked it is gone: its pid, written in `larder.pid` at start, is not
  a running process;
- Windows lets it be renamed aside (a folder with an open or loaded file inside cannot
  be: the final "not in use" test). Only then is it deleted.
(On Linux the one-file executable unpacks once per version instead: build/unpack_once.c.)
"""
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time

from webapp.background.procs import pid_alive

log = logging.getLogger("larder.onefile")
# PyInstaller's names: _MEI + the parent's pid in hex + a suffix (e.g. _MEI0000014c2
# under Wine): letters too, not only digits.
NAME = re.compile(r"^_MEI[0-9A-Za-z_]+(\.stale)?$")
MARKER = "larder.pid"
MIN_AGE_S = 60


def looks_like_larder(folder):
    return (os.path.isfile(os.path.join(folder, "base_library.zip"))
            and os.path.isdir(os.path.join(folder, "webapp", "templates")))


def owner_alive(folder):
    try:
        with open(os.path.join(folder, MARKER), encoding="ascii") as fh:
            return pid_alive(int(fh.read().strip()))
    except (OSError, ValueError):
        return False  # no marker (killed before writing it) or a broken one


def stale_folders(temp_dir, own=None, min_age=MIN_AGE_S, now=None):
    """Larder's one-file folders in temp_dir that no running Larder uses (by name, age,
    content and owner; the rename test comes in remove_stale)."""
    now = time.time() if now is None else now
    own = os.path.normcase(os.path.abspath(own)) if own else None
    found = []
    try:
        names = os.listdir(temp_dir)
    except OSError:
        return found
    for name in sorted(names):
        path = os.path.join(temp_dir, name)
        if not NAME.match(name) or os.path.normcase(os.path.abspath(path)) == own:
            continue
        try:
            if not os.path.isdir(path) or os.path.islink(path) or \
                    now - os.stat(path).st_mtime < min_age:
                continue
        except OSError:
            continue
        # A `.stale` folder was checked before it was renamed (and may be half deleted).
        if (name.endswith(".stale") or looks_like_larder(path)) and not owner_alive(path):
            found.append(path)
    return found


def remove_stale(temp_dir=None, own=None, min_age=MIN_AGE_S):
    """Remove leftover folders; returns the ones removed. Never raises."""
    removed = []
    for path in stale_folders(temp_dir or tempfile.gettempdir(), own, min_age):
        aside = path if path.endswith(".stale") else path + ".stale"
        try:
            if aside != path:
                os.rename(path, aside)  # Windows refuses while a file inside is in use
        except OSError:
            continue
        shutil.rmtree(aside, ignore_errors=True)
        if not os.path.exists(aside):
            removed.append(path)
    if removed:
        log.info("removed %d leftover unpacked folder(s): %s", len(removed),
                 ", ".join(os.path.basename(p) for p in removed))
    return removed


def mark_own_folder(folder):
    """Write this process's pid in its unpacked folder (the first Larder process there:
    the worker children share the folder and leave the launcher's pid)."""
    try:
        with open(os.path.join(folder, MARKER), "x", encoding="ascii") as fh:
            fh.write(str(os.getpid()))
    except OSError:
        pass


def tidy_temp_at_start():
    """The Windows one-file executable at start: mark our folder, and remove leftovers
    in a background thread (start-up does not wait for it)."""
    own = getattr(sys, "_MEIPASS", None)
    if os.name != "nt" or not getattr(sys, "frozen", False) or not own:
        return None
    mark_own_folder(own)
    thread = threading.Thread(target=remove_stale, kwargs={"own": own},
                              name="tidy-temp", daemon=True)
    thread.start()
    return thread
