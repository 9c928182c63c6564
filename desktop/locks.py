"""The data dir's locks. FileLock itself lives in webapp.locks (the web app takes the
upgrade lock too); the one lock per data dir that the window and `serve` share is here."""
import os

from webapp.locks import AlreadyLocked, FileLock

__all__ = ["AlreadyLocked", "AlreadyRunning", "FileLock", "app_lock"]


class AlreadyRunning(RuntimeError):
    """Another Larder (window or `serve`) holds this data dir; the message names it."""

    def __init__(self, data_dir, info=None):
        self.info = info
        if info and info.get("url"):
            where = f"at {info['url']} (process {info.get('pid', '?')})"
        else:
            where = "(it is still starting)"
        super().__init__(f"Larder is already running for {data_dir} {where}: stop it "
                         "first, or choose another folder with --data-dir")


def app_lock(data_dir):
    """The one lock per data dir that the window and `serve` both take: only its holder
    may write (and remove) server.json. Raises AlreadyRunning when it is held."""
    try:
        return FileLock(os.path.join(data_dir, "app.lock")).acquire()
    except AlreadyLocked:
        from desktop.server import read_server_file

        raise AlreadyRunning(data_dir, read_server_file(data_dir)) from None
