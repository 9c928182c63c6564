"""All configuration in one place.

Order of precedence (last wins): embedded defaults derived from the data dir, the optional
`larder.toml` in the data dir, environment variables, then overrides passed by code/tests.
The shop's settings (currency, day_starts_at, ...) are larder.toml's `[shop]` table and
`LARDER_<NAME>` variables, over what the Settings page stored (webapp.settings).
"""
import hashlib
import inspect
import json
import os
import secrets
import tempfile
import tomllib
from pathlib import Path

import platformdirs

# Environment variables read verbatim (conventional names, as the deploy world spells them).
ENV_KEYS = (
    "DATABASE_URL",
    "CACHE_TYPE",
    "CACHE_REDIS_URL",
    "CACHE_MEMCACHED_SERVERS",
    "CACHE_DEFAULT_TIMEOUT",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "LARDER_VISIBILITY_TIMEOUT",
    "LARDER_BROKER_POLLING",
    "LARDER_BROKER_WAKE",
    "LARDER_SMTP_HOST",
    "LARDER_SMTP_PORT",
    "LARDER_SMTP_USER",
    "LARDER_SMTP_PASSWORD",
    "LARDER_SMTP_FROM",
    "LARDER_RETENTION_DAYS",
    "LARDER_INBOX_SETTLE_SECONDS",
    "LARDER_BACKUP_KEEP_DAILY",
    "LARDER_BACKUP_KEEP_WEEKLY",
    "LARDER_SQLITE_BUSY_TIMEOUT_MS",
    "LARDER_FILES_DIR",
    "LARDER_TOKEN",
)

# Tutorial names that Flask-Caching 2.5 no longer accepts, mapped to the real backends.
CACHE_ALIASES = {
    "diskcache": "webapp.cache_backends.DiskCache",
    "larder": "webapp.cache_backends.DiskCache",
    "simple": "flask_caching.backends.SimpleCache",
    "null": "flask_caching.backends.NullCache",
    "filesystem": "flask_caching.backends.FileSystemCache",
    "redis": "flask_caching.backends.RedisCache",
    "memcached": "webapp.cache_backends.MemcachedCache",
    "SimpleCache": "flask_caching.backends.SimpleCache",
    "NullCache": "flask_caching.backends.NullCache",
    "FileSystemCache": "flask_caching.backends.FileSystemCache",
    "RedisCache": "flask_caching.backends.RedisCache",
    "MemcachedCache": "webapp.cache_backends.MemcachedCache",
}


class ConfigError(ValueError):
    pass


class SettingError(ConfigError):
    """A shop setting in larder.toml's [shop] table or the environment is not valid."""


def default_data_dir():
    return Path(platformdirs.user_data_dir("Larder", appauthor=False))


def resolve_data_dir(data_dir=None):
    if data_dir is None:
        data_dir = os.environ.get("LARDER_DATA_DIR") or default_data_dir()
    return Path(data_dir).expanduser().resolve()


class DataDirError(ConfigError):
    """The data folder (or a folder in it) cannot be created or written."""


def ensure_private_dir(path):
    """Create a folder only the owner can read (the caches unpickle what they read), and
    make sure it can be written: a DataDirError that says why, not a traceback later."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # mkdir(exist_ok) says this when the path is a file
        raise DataDirError(f"cannot use {path} as a folder: it is a file") from None
    except NotADirectoryError:
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        raise DataDirError(f"cannot create the folder {path}: "
                           f"{blocking or 'a part of that path'} is a file") from None
    except OSError as exc:
        raise DataDirError(f"cannot create the folder {path}: {exc.strerror or exc}") from None
    try:
        path.chmod(0o700)
    except OSError:  # not ours (e.g. a shared mount): leave it as it is
        pass
    # access() also answers for root, and for a read-only disk (EROFS).
    if not os.access(path, os.W_OK | os.X_OK):
        reason = ("it is on a read-only disk" if _read_only_mount(path)
                  else "permission denied (it may belong to another user)")
        raise DataDirError(f"cannot write to the folder {path}: {reason}")
    return path


def _read_only_mount(path):
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # no statvfs on Windows
        return False


def _secret_key(data_dir):
    """A persistent secret so sessions survive restarts; written once, mode 0600.

    The web server and the worker may start together on a new data dir: the key is
    written whole under a temporary name and linked into place, so exactly one process
    creates it and no process reads it half-written.
    """
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        fd, tmp = tempfile.mkstemp(prefix=".secret_key.", dir=data_dir)  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            try:
                os.link(tmp, key_file)
            except FileExistsError:
                pass  # another process was first: use its key
        finally:
            os.unlink(tmp)
    return key_file.read_text().strip()


def sqlite_url(path):
    """The SQLAlchemy URL of a SQLite file, escaped so that it reads back as the same path
    (`sqlite:///` + path would turn `%20` in a folder name into a space, and cut a POSIX
    path at `?` or `#`); Windows paths (`C:\\...`, `\\\\server\\share`) included."""
    from sqlalchemy.engine import URL

    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def normalize_cache_type(name):
    """The dotted path of the backend class; a clear ConfigError for anything else."""
    from werkzeug.utils import import_string  # here: the launcher needs no werkzeug first

    path = CACHE_ALIASES.get(name, name)
    full = path if "." in path else "flask_caching.backends." + path
    try:
        backend = import_string(full)
    except ImportError as exc:
        backend, reason = None, str(getattr(exc, "exception", exc))
    else:
        reason = "not a cache backend class"
    if backend is None or inspect.ismodule(backend) or not callable(backend):
        raise ConfigError(
            f"CACHE_TYPE {name!r} is not a cache backend ({reason}); use one of "
            f"{', '.join(sorted(CACHE_ALIASES))}, or the dotted path of a backend class"
        )
    return path


def build_config(data_dir=None, overrides=None):
    data_dir = ensure_private_dir(resolve_data_dir(data_dir))
    cfg = {
        "DATA_DIR": str(data_dir),
        "SQLALCHEMY_DATABASE_URI": sqlite_url(data_dir / "larder.db"),
        "CACHE_TYPE": "diskcache",
        "CACHE_DIR": str(data_dir / "cache"),
        "CACHE_DEFAULT_TIMEOUT": 3600,
        "CACHE_KEY_PREFIX": "larder:",
        "CACHE_THRESHOLD": 100_000,
        # diskcache's own limit; past it, least recently stored entries are culled.
        "LARDER_CACHE_SIZE_LIMIT": 256 * 1024 * 1024,
        "CACHE_ENABLE_SIGNALS": True,  # counts hits/misses and sets X-Cache
        # The launch token: made by `serve` and the window at each start, unless the
        # deployment gives one (LARDER_TOKEN, larder.toml) for several `serve` processes
        # to share; None here means a new one (webapp.create_app).
        "LARDER_TOKEN": None,
        "LARDER_ALLOWED_HOSTS": [],  # extra Host names for LAN use
        "LARDER_SERVER_PORT": None,
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in auth.before_request (Bearer is exempt)
        "WTF_CSRF_TIME_LIMIT": None,  # a desktop form may stay open all day
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "PAGE_SIZE": 50,
        # Daily backups kept (webapp.backups): the newest of each of the last N days, and
        # of each of the last M weeks before that.
        "LARDER_BACKUP_KEEP_DAILY": 7,
        "LARDER_BACKUP_KEEP_WEEKLY": 4,
        "LARDER_SQLITE_BUSY_TIMEOUT_MS": 30_000,  # webapp.sqlite_setup
    }
    toml_file = data_dir / "larder.toml"
    if toml_file.exists():
        try:
            with open(toml_file, "rb") as fh:
                cfg.update({k.upper(): v for k, v in tomllib.load(fh).items()})
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise ConfigError(f"{toml_file}: {exc}") from None
    for key in ENV_KEYS:
        if os.environ.get(key):
            cfg[key] = os.environ[key]
    if os.environ.get("LARDER_ALLOWED_HOSTS"):
        cfg["LARDER_ALLOWED_HOSTS"] = [
            h.strip() for h in os.environ["LARDER_ALLOWED_HOSTS"].split(",") if h.strip()
        ]
    if os.environ.get("LARDER_SECRET_KEY"):
        cfg["SECRET_KEY"] = os.environ["LARDER_SECRET_KEY"]
    if cfg.get("LARDER_TOKEN") is not None:
        _check_shared_secret("LARDER_TOKEN", cfg["LARDER_TOKEN"])
    cfg.update(overrides or {})
    cfg["LARDER_SHOP_OVERRIDES"] = _shop_overrides(cfg)
    cfg["LARDER_SHOP_STAMP"] = _stamp(cfg["LARDER_SHOP_OVERRIDES"])
    if cfg.get("DATABASE_URL"):
        url = cfg["DATABASE_URL"]
        # postgres:// and postgresql:// (no driver) mean the driver Larder ships: psycopg 3.
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                url = "postgresql+psycopg://" + url[len(prefix):]
        cfg["SQLALCHEMY_DATABASE_URI"] = url
    # A key given by the deployment (LARDER_SECRET_KEY, larder.toml) is shared by several
    # `serve` processes: staff sessions then outlive one process's launch (webapp.auth).
    cfg.setdefault("LARDER_SHARED_SECRET_KEY", "SECRET_KEY" in cfg)
    if "SECRET_KEY" not in cfg:
        cfg["SECRET_KEY"] = _secret_key(data_dir)
    cfg["CACHE_TYPE"] = normalize_cache_type(cfg["CACHE_TYPE"])
    if isinstance(cfg["CACHE_DEFAULT_TIMEOUT"], str):
        cfg["CACHE_DEFAULT_TIMEOUT"] = int(cfg["CACHE_DEFAULT_TIMEOUT"])
    for key in ("LARDER_BACKUP_KEEP_DAILY", "LARDER_BACKUP_KEEP_WEEKLY",
                "LARDER_SQLITE_BUSY_TIMEOUT_MS"):
        try:
            cfg[key] = int(cfg[key])
            if cfg[key] < 0:
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a whole number, 0 or more (not {cfg[key]!r})") \
                from None
    if isinstance(cfg.get("CACHE_MEMCACHED_SERVERS"), str):
        cfg["CACHE_MEMCACHED_SERVERS"] = cfg["CACHE_MEMCACHED_SERVERS"].split(",")
    if cfg["CACHE_TYPE"].endswith(("FileSystemCache", "DiskCache")):
        # Both unpickle what they read: the folder must be the owner's alone.
        ensure_private_dir(cfg["CACHE_DIR"])
    # Reports, invoices, emails, uploads and the inbox: written by one process (a worker),
    # read by another (a web process), so with several hosts on a share all can reach.
    files_dir = Path(data_dir, cfg.get("LARDER_FILES_DIR") or data_dir).expanduser()
    cfg["LARDER_FILES_DIR"] = str(files_dir.resolve())
    for folder in SHARED_FOLDERS:
        ensure_private_dir(files_dir / folder)
    for folder in LOCAL_FOLDERS:
        ensure_private_dir(data_dir / folder)
    cfg["CELERY"] = celery_config(data_dir, cfg)
    return cfg


# The data dir's folders, made at start. UPLOADS: files sent to the Import page, kept
# under names Larder makes (webapp/import_jobs.py), and the import preview's throw-away
# database copies (webapp/imports/engine.py), until the daily cleanup.
# SHARED_FOLDERS live under LARDER_FILES_DIR (the data dir unless set): every web process
# and worker of a site must see the same ones (docs/scaling.md). LOCAL_FOLDERS are each
# process's own.
UPLOADS = "uploads"
SHARED_FOLDERS = ("reports", "outbox", "inbox", "invoices", UPLOADS)
LOCAL_FOLDERS = ("logs",)
DATA_FOLDERS = SHARED_FOLDERS + LOCAL_FOLDERS


def files_folder(name, config=None):
    """Where a shared folder (one of SHARED_FOLDERS) is: under LARDER_FILES_DIR. Only
    these names: a path never comes from a request."""
    if name not in SHARED_FOLDERS:
        raise ValueError(f"not a shared folder: {name!r}")
    if config is None:
        from flask import current_app

        config = current_app.config
    return Path(config.get("LARDER_FILES_DIR") or config["DATA_DIR"], name)


MIN_SHARED_SECRET = 32  # characters: the token is not throttled (webapp/auth.py)


def _check_shared_secret(name, value):
    """A token given by the deployment: long enough that guessing is hopeless."""
    if not isinstance(value, str) or len(value.strip()) < MIN_SHARED_SECRET:
        raise ConfigError(f"{name} must be at least {MIN_SHARED_SECRET} characters (make "
                          f"one with: python -c \"import secrets; "
                          f"print(secrets.token_urlsafe(32))\")")


def _shop_overrides(cfg):
    """larder.toml's [shop] table (a shop setting at the top level is a mistake worth
    saying) and LARDER_<NAME> variables, checked now: a bad one stops the start."""
    from .settings import BY_PUBLIC, read_overrides

    misplaced = sorted(name for name in BY_PUBLIC if name.upper() in cfg)
    if misplaced:
        raise SettingError(f"larder.toml: put {', '.join(misplaced)} in the [shop] table")
    return read_overrides(cfg.pop("SHOP", {}))


def _stamp(found):
    if not found:
        return ""
    text = json.dumps(sorted((name, value) for name, (value, _) in found.items()))
    return "/s" + hashlib.sha256(text.encode()).hexdigest()[:12]


def celery_config(data_dir, cfg):
    """Celery settings (Flask's pattern: all under app.config["CELERY"])."""
    from celery.schedules import crontab

    conf = {
        "task_default_queue": "quick",
        # Reports and imports (long, CPU-bound) get their own queue and consumers
        # (processes): quick jobs never wait behind them.
        "task_routes": {"larder.report": {"queue": "reports"},
                        "larder.import": {"queue": "reports"}},
        "task_track_started": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "broker_connection_retry_on_startup": True,
        "result_expires": 7 * 24 * 3600,
        "enable_utc": False,  # schedules in the shop's local time ("03:00")
        "beat_schedule_filename": str(data_dir / "beat-schedule"),
        "beat_schedule": {
            "daily-cleanup": {"task": "larder.cleanup", "schedule": crontab(hour=3, minute=0)},
            "hourly-sync": {"task": "larder.sync_inbox", "schedule": crontab(minute=0)},
            "daily-backup": {"task": "larder.backup", "schedule": crontab(hour=2, minute=30)},
            # Sends only with the low_stock_digest setting (webapp.low_stock).
            "daily-low-stock": {"task": "larder.low_stock_digest",
                                "schedule": crontab(hour=7, minute=0)},
            # After any usual day_starts_at (a cafe open until 2 a.m. starts at 02:00-04:00),
            # so "yesterday" is complete; skipped unless auto_close_day is on.
            "daily-close": {"task": "larder.close_day", "schedule": crontab(hour=6, minute=15)},
            # Jobs and orders recorded when the broker could not take them (outbox.py).
            "sweep": {"task": "larder.sweep", "schedule": 60.0},
        },
    }
    broker = cfg.get("CELERY_BROKER_URL")
    if broker:
        conf["broker_url"] = broker
        # Redis: a task whose worker died is delivered again after this many seconds
        # (longer than any report takes; Celery's default is an hour).
        conf["broker_transport_options"] = {
            "visibility_timeout": int(cfg.get("LARDER_VISIBILITY_TIMEOUT", 600)),
            # Look for such messages every 5 s (kombu's default sweep is ~100 s apart).
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
        }
        from .background.redis_results import backend_url

        conf["result_backend"] = backend_url(cfg.get("CELERY_RESULT_BACKEND") or broker)
        conf["worker_enable_remote_control"] = True
    else:
        from .background.broker import celery_settings

        wake_ups = str(cfg.get("LARDER_BROKER_WAKE", "on")).lower() not in ("off", "0", "false")
        conf.update(celery_settings(str(data_dir), float(cfg.get("LARDER_BROKER_POLLING", 0.1)),
                                    cfg.get("CELERY_RESULT_BACKEND"), wake_ups))
    conf.update(cfg.get("CELERY_OVERRIDES") or {})
    return conf
