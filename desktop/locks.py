"""An exclusive lock on a file in the data dir, held while the process lives (the OS
drops it when the process dies, even by SIGKILL)."""
import os


class AlreadyLocked(RuntimeError):
    pass


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


class FileLock:
    def __init__(self, path):
        self.path = str(path)
        self._fh = None

    def acquire(self):
        fh = open(self.path, "a+")
        try:
            if os.name == "nt":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise AlreadyLocked(self.path) from None
        self._fh = fh
        return self

    def release(self):
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
