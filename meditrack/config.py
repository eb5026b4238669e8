"""Settings read from the environment, checked once at start-up."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", "development"}
#: How long a new PostgreSQL connection may take before the request gives up with a 503.
CONNECT_TIMEOUT_SECONDS = 5
#: Pooled PostgreSQL connections are replaced after this long, before an idle-connection
#: timeout on the way (a firewall, a pooler) can drop them silently.
POOL_RECYCLE_SECONDS = 30 * 60
#: argon2id as OWASP's second recommended setting has it: 19 MiB, 2 passes, 1 lane. Each
#: hash allocates its memory cost, so 64 MiB would take a worker past its memory budget
#: while it signs someone in. Hashes made with other settings are replaced at the next
#: successful sign-in.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_COST = 19 * 1024  # KiB
ARGON2_PARALLELISM = 1
#: How long a doctor's emergency access lasts: a shift, long enough for the emergency,
#: short enough that a forgotten grant closes by itself.
EMERGENCY_ACCESS_MINUTES = 240
EMERGENCY_ACCESS_MAX_MINUTES = 24 * 60
#: The longest request target (path and query) the app reads: every URL this API makes is
#: far shorter, and a longer one is a 414. The server's own bound on a request head
#: (meditrack/serving/settings.py) is higher, so that the app is the one that answers.
MAX_URL_BYTES = 8 * 1024
#: The most header bytes (names, values, separators) a request may carry: a bearer token
#: and the usual headers take well under 2 KiB. More is a 431.
MAX_HEADER_BYTES = 16 * 1024
#: The longest a statement of a request may run on PostgreSQL (0: no bound): a report or
#: a wait for a lock that takes longer is cancelled and answered 503, well before a
#: worker's own timeout, so a few slow requests cannot hold every worker.
STATEMENT_TIMEOUT_MS = 5000


class ConfigError(RuntimeError):
    """The environment does not describe a runnable MediTrack."""


def database_url(raw: str | None, instance_path: Path) -> str:
    """Normalise DATABASE_URL; default to a SQLite file under instance/."""
    if not raw:
        return f"sqlite:///{instance_path / 'meditrack.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def engine_options(url: str) -> dict:
    """SQLAlchemy engine options for a database URL.

    Every connection taken from the pool is pinged first, so one that died while the
    database was away is replaced instead of failing the request. PostgreSQL connections
    also give up connecting after a few seconds, so a database that does not answer is a
    quick 503 rather than a hung request.
    """
    # Statement parameters hold patient data: keep them out of exception messages and logs.
    options: dict = {"pool_pre_ping": True, "hide_parameters": True}
    if url.startswith("postgresql"):
        options["pool_recycle"] = POOL_RECYCLE_SECONDS
        options["connect_args"] = {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            # A peer that vanishes mid-query (no reset) is noticed within about a minute.
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        }
    return options


def jwt_secret(env: str, instance_path: Path) -> str:
    """The signing key: required in production, made once and kept in development."""
    secret = os.environ.get("JWT_SECRET_KEY", "")
    if secret:
        if env == "production" and (secret.lower() in PLACEHOLDER_SECRETS or len(secret) < 32):
            raise ConfigError("JWT_SECRET_KEY must be a random value of at least 32 characters")
        return secret
    if env == "production":
        raise ConfigError("JWT_SECRET_KEY is required when MEDITRACK_ENV=production")
    key_file = instance_path / "jwt-secret"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def hospital_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"MEDITRACK_TIMEZONE {name!r} is not a known time zone") from exc


def load(instance_path: Path) -> dict:
    """Build the Flask config mapping from the environment."""
    env = os.environ.get("MEDITRACK_ENV", "development")
    if env not in ("development", "production"):
        raise ConfigError("MEDITRACK_ENV must be 'development' or 'production'")
    timezone_name = os.environ.get("MEDITRACK_TIMEZONE", "UTC")
    url = database_url(os.environ.get("DATABASE_URL"), instance_path)
    return {
        "MEDITRACK_ENV": env,
        "MEDITRACK_TIMEZONE": timezone_name,
        "HOSPITAL_TZ": hospital_timezone(timezone_name),
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(url),
        "JWT_SECRET_KEY": jwt_secret(env, instance_path),
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(
            seconds=int(os.environ.get("MEDITRACK_ACCESS_TOKEN_SECONDS", 15 * 60))
        ),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(
            seconds=int(os.environ.get("MEDITRACK_REFRESH_TOKEN_SECONDS", 7 * 24 * 3600))
        ),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "MEDITRACK_LOGIN_EMAIL_LIMIT": os.environ.get(
            "MEDITRACK_LOGIN_EMAIL_LIMIT", "5 per 15 minutes"
        ),
        "MEDITRACK_LOGIN_IP_LIMIT": os.environ.get("MEDITRACK_LOGIN_IP_LIMIT", "50 per 15 minutes"),
        "MEDITRACK_REGISTER_IP_LIMIT": os.environ.get("MEDITRACK_REGISTER_IP_LIMIT", "20 per hour"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "meditrack"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO").upper(),
        "CORS_ORIGINS": cors_origins(os.environ.get("CORS_ORIGINS", "")),
        "MEDITRACK_PUBLIC_URL": public_url(os.environ.get("MEDITRACK_PUBLIC_URL", "")),
        "TRUSTED_PROXIES": _count("TRUSTED_PROXIES", os.environ.get("TRUSTED_PROXIES", "0")),
        "ARGON2_TIME_COST": _at_least(1, "ARGON2_TIME_COST", ARGON2_TIME_COST),
        "ARGON2_MEMORY_COST": _at_least(8, "ARGON2_MEMORY_COST", ARGON2_MEMORY_COST),
        "MEDITRACK_EMERGENCY_ACCESS_MINUTES": _emergency_minutes(),
        "MAX_URL_BYTES": MAX_URL_BYTES,
        "MAX_HEADER_BYTES": MAX_HEADER_BYTES,
        "MEDITRACK_STATEMENT_TIMEOUT_MS": _at_least(
            0, "MEDITRACK_STATEMENT_TIMEOUT_MS", STATEMENT_TIMEOUT_MS
        ),
    }


def public_url(raw: str) -> str:
    """The address clients reach the API at (scheme://host[:port][/prefix]), for absolute
    URLs in Link headers; empty: those URLs are relative. Never the request's Host header,
    which the client chooses."""
    url = raw.strip().rstrip("/")
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"MEDITRACK_PUBLIC_URL {url!r} must start with http:// or https://")
    return url


def cors_origins(raw: str) -> frozenset[str]:
    """Comma-separated exact origins (scheme://host[:port]); `*` is refused: a hospital API
    answers only the front ends it knows."""
    origins = frozenset(item.strip().rstrip("/") for item in raw.split(",") if item.strip())
    if "*" in origins:
        raise ConfigError("CORS_ORIGINS lists exact origins; '*' is not allowed")
    for origin in origins:
        if not origin.startswith(("http://", "https://")):
            raise ConfigError(f"CORS_ORIGINS entry {origin!r} must start with http:// or https://")
    return origins


def _count(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"{name} must be a whole number of proxies (0 or more)")
    return value


def _at_least(minimum: int, name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"{name} must be a whole number of at least {minimum}")
    return value


def _emergency_minutes() -> int:
    """1 minute to a day: a longer window is no longer an emergency."""
    name = "MEDITRACK_EMERGENCY_ACCESS_MINUTES"
    value = _at_least(1, name, EMERGENCY_ACCESS_MINUTES)
    if value > EMERGENCY_ACCESS_MAX_MINUTES:
        raise ConfigError(f"{name} must be at most {EMERGENCY_ACCESS_MAX_MINUTES} (a day)")
    return value
