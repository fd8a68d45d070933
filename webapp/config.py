"""Configuration: defaults, then ``instance/config.py``, then environment variables.

Every setting a deployer may change is listed in the README's configuration table.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

#: Environment variables read at start-up, with the config key they set.
ENV_SETTINGS = (
    "SECRET_KEY",
    "AUDIT_KEY",
    "DATABASE_URL",
    "REPO_STORE_PATH",
    "ATTACHMENTS_PATH",
    "ATTACHMENTS_MAX_BYTES",
    "DEFAULT_LOCALE",
    "TIMEZONE",
    "ENV",
    "SESSION_COOKIE_SECURE",
    "LOGIN_MAX_FAILURES",
    "LOGIN_WINDOW_SECONDS",
    "LOGIN_ADDRESS_MAX_FAILURES",
    "LOGIN_DELAY_SECONDS",
    "LOGIN_MEMORY_SECONDS",
    "REMEMBER_DAYS",
    "PROXY_FIX",
    "STORE_LOCK_STALE_SECONDS",
    "PASSWORD_HASH_PROFILE",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER",
    "MAIL_TIMEOUT",
    "MAIL_BASE_URL",
    "REVIEW_LEAD_DAYS",
    "REVIEW_GROUPING",
    "REVIEW_STEP_DAYS",
    "REVIEW_ESCALATE_DAYS",
    "REVIEW_DEFAULT_CHAIR",
    "PUBLISH_ALLOW_SELF_APPROVAL",
)

LOCALES = ("zh_Hans", "en")

#: The enabled feature packages, lower layers first (each declares itself: ``webapp.features.Feature``).
#: This tuple is the one place the core names them; a deployment may narrow it in ``instance/config.py``.
FEATURES = ("audit", "accounts", "api", "notifications", "records", "procedures", "actions", "satisfaction",
            "workflow", "management", "backup")

#: argon2 parameters of each ``PASSWORD_HASH_PROFILE``. "standard" is argon2-cffi's default (RFC 9106's
#: low-memory profile, ~0.2 s a hash); "testing" costs well under a millisecond, so a test suite that
#: creates hundreds of users does not spend minutes hashing, and is refused when ENV=production. A
#: stored hash whose parameters differ from the profile in force is redone at the user's next login.
PASSWORD_HASH_PROFILES = {
    "standard": {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 4},
    "testing": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
}

#: The audit chain's key is a secret, not a password: refuse anything this short.
MIN_AUDIT_KEY_LENGTH = 16


def defaults(instance_path: str) -> dict:
    """The built-in configuration: SQLite and a bare git store under ``instance/``."""
    instance = Path(instance_path)
    return {
        "ENV": "development",
        "FEATURES": FEATURES,
        # Who is told the lock file or damaged object behind a 503 (the people who can act on it).
        "STORE_DETAILS_PERMISSIONS": ("users.manage", "procedures.publish"),
        "DATABASE_URL": f"sqlite:///{instance / 'procdesk.db'}",
        "REPO_STORE_PATH": str(instance / "store.git"),
        # Files attached to records (records.attachments): stored by their SHA-256 under this folder, which
        # several workers or hosts may share; at most this many bytes each (and within MAX_CONTENT_LENGTH);
        # ATTACHMENTS_TYPES (content types) may narrow PDF, JPEG, PNG, WebP and HEIC.
        "ATTACHMENTS_PATH": str(instance / "attachments"),
        "ATTACHMENTS_MAX_BYTES": 10 * 1024 * 1024,
        "ATTACHMENTS_TYPES": None,
        "DEFAULT_LOCALE": "zh_Hans",
        "TIMEZONE": "Asia/Shanghai",
        # Login throttling (accounts.services.LoginLimits): failures are counted per (login name, address)
        # over LOGIN_MEMORY_SECONDS (until a success) and per address over LOGIN_WINDOW_SECONDS; past the
        # free failures each further attempt waits LOGIN_DELAY_SECONDS, doubling with every failure, at
        # most LOGIN_WINDOW_SECONDS.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_ADDRESS_MAX_FAILURES": 20,
        "LOGIN_DELAY_SECONDS": 2,
        "LOGIN_WINDOW_SECONDS": 15 * 60,
        "LOGIN_MEMORY_SECONDS": 24 * 3600,
        # Number of reverse proxies in front of the app whose X-Forwarded-For / -Proto are trusted (0: none).
        "PROXY_FIX": 0,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": None,  # None: Secure exactly when ENV=production
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "procdesk_session",
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_DAYS": 14,  # how long "stay logged in" lasts; also the longest any one login lasts
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in webapp.security so API tokens can skip it
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "JSON_SORT_KEYS": False,
        # Every date entered (effective, due, service, meeting dates) lies in this window: see webapp.dates.
        "DATE_EARLIEST": "2000-01-01",
        "DATE_YEARS_AHEAD": 5,
        # `flask procedures maintenance` removes git lock files older than this (a live writer holds one
        # for milliseconds; a younger lock is never touched).
        "STORE_LOCK_STALE_SECONDS": 300,
        # /healthz re-reads the objects of the head of main at most this often per worker (cheap, not free).
        "STORE_HEALTH_SECONDS": 30,
        # A name from PASSWORD_HASH_PROFILES; unset: "testing" when TESTING (never in production), else "standard".
        "PASSWORD_HASH_PROFILE": None,
        # E-mail copies of inbox notifications (notifications.mail); no MAIL_SERVER: no e-mail at all.
        "MAIL_SERVER": None,
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,  # STARTTLS after connecting
        "MAIL_USE_SSL": False,  # TLS from the start (port 465)
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_DEFAULT_SENDER": None,  # required with MAIL_SERVER, e.g. "ProcDesk <procdesk@example.com>"
        "MAIL_TIMEOUT": 10,  # seconds to wait for the mail server
        # The address users open ProcDesk at (https://procdesk.example.com): e-mails link to it. Never taken
        # from a request's Host header, which the requester chooses. Unset: e-mails carry no link.
        "MAIL_BASE_URL": None,
        # Document control's four-eyes rule: a procedure version (or withdrawal) is approved by someone other
        # than its author. True lets an author approve their own (a small company with one document controller).
        "PUBLISH_ALLOW_SELF_APPROVAL": False,
    }


def from_environment(environ=os.environ) -> dict:
    """Settings given as environment variables, converted to their types."""
    found = {}
    for key in ENV_SETTINGS:
        if key in environ and environ[key] != "":
            found[key] = environ[key]
    for key in ("LOGIN_MAX_FAILURES", "LOGIN_WINDOW_SECONDS", "LOGIN_ADDRESS_MAX_FAILURES", "LOGIN_DELAY_SECONDS",
                "LOGIN_MEMORY_SECONDS", "REMEMBER_DAYS", "PROXY_FIX", "STORE_LOCK_STALE_SECONDS", "MAIL_PORT",
                "MAIL_TIMEOUT", "REVIEW_LEAD_DAYS", "REVIEW_STEP_DAYS", "REVIEW_ESCALATE_DAYS",
                "ATTACHMENTS_MAX_BYTES"):
        if key in found:
            found[key] = int(found[key])
    for key in ("SESSION_COOKIE_SECURE", "MAIL_USE_TLS", "MAIL_USE_SSL", "PUBLISH_ALLOW_SELF_APPROVAL"):
        if key in found:
            found[key] = found[key].lower() in ("1", "true", "yes", "on")
    return found


def finalise(config: dict, instance_path: str) -> None:
    """Derive the settings that depend on others (database driver, secret key, cookies)."""
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["DATABASE_URL"])
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = load_or_create_secret(Path(instance_path) / "secret_key")
    # The audit chain's HMAC key: outside the database, the same on every host, backed up separately.
    if not config.get("AUDIT_KEY"):
        config["AUDIT_KEY"] = load_or_create_secret(Path(instance_path) / "audit_key")
    if len(str(config["AUDIT_KEY"]).strip()) < MIN_AUDIT_KEY_LENGTH:
        raise ValueError(f"AUDIT_KEY must be at least {MIN_AUDIT_KEY_LENGTH} characters "
                         "(an empty or short instance/audit_key file is refused)")
    production = config["ENV"] == "production"
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = production
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    if not config["REMEMBER_DAYS"] > 0:
        raise ValueError("REMEMBER_DAYS must be a positive number of days")
    config["REMEMBER_COOKIE_DURATION"] = timedelta(days=config["REMEMBER_DAYS"])
    if int(config["PROXY_FIX"]) < 0:
        raise ValueError("PROXY_FIX is the number of trusted proxies: 0 or more")
    config["PASSWORD_HASH"] = password_hash_params(config)
    config["BABEL_DEFAULT_LOCALE"] = config["DEFAULT_LOCALE"]
    config["BABEL_DEFAULT_TIMEZONE"] = config["TIMEZONE"]


def password_hash_params(config) -> dict:
    """The argon2 parameters of the configured ``PASSWORD_HASH_PROFILE`` (the cheap one never in production)."""
    production = config["ENV"] == "production"
    profile = config.get("PASSWORD_HASH_PROFILE") or (
        "testing" if config.get("TESTING") and not production else "standard")
    if profile not in PASSWORD_HASH_PROFILES:
        raise ValueError(f"PASSWORD_HASH_PROFILE must be one of {', '.join(PASSWORD_HASH_PROFILES)}")
    if profile == "testing" and production:
        raise ValueError("PASSWORD_HASH_PROFILE=testing is refused when ENV=production")
    return dict(PASSWORD_HASH_PROFILES[profile])


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgres://`` / ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_or_create_secret(path: Path) -> str:
    """Read the secret key kept in ``instance/``, creating it once (race-safe)."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    try:
        # O_EXCL: when two workers start together, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret
