"""An exclusive lock on a file in the data dir, held while the process lives (the OS
drops it when the process dies, even by SIGKILL)."""
import os


class AlreadyLocked(RuntimeError):
    pass


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
