"""Reading the folders anyone can drop things into (inbox/, outbox/, and what the cleanup
walks) without following symbolic links or opening special files.

A link in inbox/ to /etc/passwd must not be imported (its lines would be copied into
failed/*.errors.txt), and a fifo there would block the sync forever. Such entries are
skipped with a log line and left where they are.
"""
import logging
import os
import stat

log = logging.getLogger(__name__)


class NotRegular(OSError):
    """The path is a symbolic link or a special file (fifo, device, socket)."""


def _skip(path, st):
    what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
    log.warning("skipped %s: %s", path, what)


def regular_files(folder, pattern="*"):
    """Regular files in folder matching pattern, never through a link. Links and special
    files are logged and skipped; sub-folders are passed over quietly."""
    found = []
    for path in sorted(folder.glob(pattern)):
        try:
            st = path.lstat()
        except FileNotFoundError:  # removed meanwhile
            continue
        if stat.S_ISREG(st.st_mode):
            found.append(path)
        elif not stat.S_ISDIR(st.st_mode):
            _skip(path, st)
    return found


def is_regular(path):
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def read_regular(path):
    """The bytes of a regular file; NotRegular for a link or a special file, checked on
    the open file itself (a file swapped for a link after listing is still refused)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_BINARY", 0)
    if not hasattr(os, "O_NOFOLLOW") and os.path.islink(path):
        # Windows has no O_NOFOLLOW: a link is refused by looking first (a link made
        # between this look and the open would be followed; creating links there needs
        # administrator rights or developer mode).
        raise NotRegular(f"{path}: a symbolic link")
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path):  # O_NOFOLLOW: ELOOP (Linux), EMLINK (FreeBSD)
            raise NotRegular(f"{path}: a symbolic link") from None
        raise exc
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegular(f"{path}: not a regular file")
        return fh.read()
