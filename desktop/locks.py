"""The data dir's file locks (one implementation, in webapp.locks: the web app takes the
upgrade lock too)."""
from webapp.locks import AlreadyLocked, FileLock

__all__ = ["AlreadyLocked", "FileLock"]
