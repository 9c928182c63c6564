"""PyInstaller hook for kombu (no hook exists upstream).

kombu resolves transports from URL schemes by name (`filesystem://` ->
`kombu.transport.filesystem`, `redis://` -> `kombu.transport.redis`) and its serializers
and compression by name too. Larder's local broker subclasses the filesystem transport
(`webapp.background.broker`), and Redis mode needs `kombu.transport.redis`: collect all of
kombu (small; transports whose client library is not installed are simply skipped at
build time, with a warning).
"""
from PyInstaller.utils.hooks import collect_submodules

hiddenimports = collect_submodules("kombu")
