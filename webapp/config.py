"""All configuration in one place.

Order of precedence (last wins): embedded defaults derived from the data dir, the optional
`larder.toml` in the data dir, environment variables, then overrides passed by code/tests.
"""
import os
import secrets
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
)

# Tutorial names that Flask-Caching 2.5 no longer accepts, mapped to the real backends.
CACHE_ALIASES = {
    "diskcache": "webapp.cache_backends.DiskCache",
    "larder": "webapp.cache_backends.DiskCache",
    "simple": "flask_caching.backends.SimpleCache",
    "null": "flask_caching.backends.NullCache",
    "filesystem": "flask_caching.backends.FileSystemCache",
    "redis": "flask_caching.backends.RedisCache",
    "memcached": "flask_caching.backends.MemcachedCache",
    "SimpleCache": "flask_caching.backends.SimpleCache",
    "NullCache": "flask_caching.backends.NullCache",
    "FileSystemCache": "flask_caching.backends.FileSystemCache",
    "RedisCache": "flask_caching.backends.RedisCache",
    "MemcachedCache": "flask_caching.backends.MemcachedCache",
}


class ConfigError(ValueError):
    pass


def default_data_dir():
    return Path(platformdirs.user_data_dir("Larder", appauthor=False))


def resolve_data_dir(data_dir=None):
    if data_dir is None:
        data_dir = os.environ.get("LARDER_DATA_DIR") or default_data_dir()
    return Path(data_dir).expanduser().resolve()


def ensure_private_dir(path):
    """Create a folder only the owner can read: the caches unpickle what they read."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    try:
        path.chmod(0o700)
    except OSError:  # not ours (e.g. a shared mount): leave it as it is
        pass
    return path


def _secret_key(data_dir):
    """A persistent secret so sessions survive restarts; written once, mode 0600."""
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def normalize_cache_type(name):
    return CACHE_ALIASES.get(name, name)


def build_config(data_dir=None, overrides=None):
    data_dir = ensure_private_dir(resolve_data_dir(data_dir))
    cfg = {
        "DATA_DIR": str(data_dir),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{data_dir / 'larder.db'}",
        "CACHE_TYPE": "diskcache",
        "CACHE_DIR": str(data_dir / "cache"),
        "CACHE_DEFAULT_TIMEOUT": 3600,
        "CACHE_KEY_PREFIX": "larder:",
        "CACHE_THRESHOLD": 100_000,
        # diskcache's own limit; past it, least recently stored entries are culled.
        "LARDER_CACHE_SIZE_LIMIT": 256 * 1024 * 1024,
        "CACHE_ENABLE_SIGNALS": True,  # counts hits/misses and sets X-Cache
        "LARDER_TOKEN": None,  # set by `serve`; None means no launch token in force
        "LARDER_ALLOWED_HOSTS": [],  # extra Host names for LAN use
        "LARDER_SERVER_PORT": None,
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in auth.before_request (Bearer is exempt)
        "WTF_CSRF_TIME_LIMIT": None,  # a desktop form may stay open all day
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "PAGE_SIZE": 50,
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
    cfg.update(overrides or {})
    if cfg.get("DATABASE_URL"):
        url = cfg["DATABASE_URL"]
        # Heroku-style URLs say postgres://, SQLAlchemy wants postgresql://
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        cfg["SQLALCHEMY_DATABASE_URI"] = url
    if "SECRET_KEY" not in cfg:
        cfg["SECRET_KEY"] = _secret_key(data_dir)
    cfg["CACHE_TYPE"] = normalize_cache_type(cfg["CACHE_TYPE"])
    if isinstance(cfg["CACHE_DEFAULT_TIMEOUT"], str):
        cfg["CACHE_DEFAULT_TIMEOUT"] = int(cfg["CACHE_DEFAULT_TIMEOUT"])
    if isinstance(cfg.get("CACHE_MEMCACHED_SERVERS"), str):
        cfg["CACHE_MEMCACHED_SERVERS"] = cfg["CACHE_MEMCACHED_SERVERS"].split(",")
    if cfg["CACHE_TYPE"].endswith("FileSystemCache"):
        ensure_private_dir(cfg["CACHE_DIR"])
    return cfg
