"""An exclusive lock on a file in the data dir, held while the process lives (the OS
drops it when the process dies, even by SIGKILL). `acquire()` fails at once when another
process holds it; `acquire(timeout=S)` waits up to S seconds."""
import os
import time


class AlreadyLocked(RuntimeError):
    pass


class FileLock:
    def __init__(self, path):
        self.path = str(path)
        self._fh = None

    def _try_lock(self, fh):
        if os.name == "nt":
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def acquire(self, timeout=0):
        fh = open(self.path, "a+")
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._try_lock(fh)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    fh.close()
                    raise AlreadyLocked(self.path) from None
                time.sleep(0.05)
        self._fh = fh
        return self

    def release(self):
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self):
        return self.acquire() if self._fh is None else self

    def __exit__(self, *exc):
        self.release()
