"""Typed reading of the environment.

Every setting Caredoor takes from the environment is read here, once, into a frozen
``Config``. A malformed value raises ``ImproperlyConfigured`` naming the variable, so
start-up stops with a message an operator can act on instead of failing later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ImproperlyConfigured):
    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        super().__init__(f"{name}: {problem}")


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigError(name, f"expected one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def _int(environ: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected a whole number; got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"expected a number from {low} to {high}; got {value}")
    return value


def _url(environ: Mapping[str, str], name: str, schemes: set[str]) -> str | None:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    parts = urlsplit(raw.strip())
    if parts.scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ConfigError(name, f"expected a URL starting with one of {allowed}; got {raw!r}")
    if parts.scheme not in {"sqlite"} and not parts.hostname:
        raise ConfigError(name, f"the URL has no host: {raw!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ConfigError(name, f"the URL has a malformed port: {raw!r}") from None
    return raw.strip()


def _list(environ: Mapping[str, str], name: str, default: list[str]) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Config:
    production: bool
    debug: bool
    secret_key: str
    data_dir: Path
    database_url: str | None
    redis_url: str | None
    email_url: str | None
    default_from_email: str
    platform_hosts: list[str]
    port: int
    field_encryption_keys: list[str]
    log_level: str
    # Twilio for the SMS channel: all three or none (then SMS is off).
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_from_number: str = ""

    @property
    def sms_enabled(self) -> bool:
        return bool(self.twilio_account_sid)


TWILIO_VARIABLES = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")


def _twilio(environ: Mapping[str, str]) -> tuple[str, str, str]:
    """The Twilio account, token and sender number, all three or none."""
    values = [environ.get(name, "").strip() for name in TWILIO_VARIABLES]
    if not any(values):
        return ("", "", "")
    missing = [name for name, value in zip(TWILIO_VARIABLES, values, strict=True) if not value]
    if missing:
        raise ConfigError(
            missing[0], "the SMS channel needs all of " + ", ".join(TWILIO_VARIABLES) + " or none"
        )
    sid, _token, number = values
    if not (sid.startswith("AC") and len(sid) == 34 and sid[2:].isalnum()):
        raise ConfigError("TWILIO_ACCOUNT_SID", "expected the account SID (AC + 32 characters)")
    if not (number.startswith("+") and number[1:].isdigit() and 8 <= len(number) <= 16):
        raise ConfigError("TWILIO_FROM_NUMBER", f"expected an E.164 number; got {number!r}")
    return (sid, values[1], number)


DEV_SECRET = "caredoor-insecure-development-key-never-use-in-production"  # noqa: S105
LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


def load(environ: Mapping[str, str] | None = None, base_dir: Path | None = None) -> Config:
    env = os.environ if environ is None else environ
    base = base_dir or Path(__file__).resolve().parents[2]

    mode = env.get("CAREDOOR_ENV", "development").strip().lower()
    if mode not in {"development", "production", "test"}:
        raise ConfigError("CAREDOOR_ENV", f"expected development, production or test; got {mode!r}")
    production = mode == "production"

    secret_key = env.get("SECRET_KEY", "")
    if production and (len(secret_key) < 32 or secret_key == DEV_SECRET):
        raise ConfigError("SECRET_KEY", "production needs a random secret of 32 characters or more")
    secret_key = secret_key or DEV_SECRET

    keys = _list(env, "FIELD_ENCRYPTION_KEYS", [])
    if production and not keys:
        raise ConfigError("FIELD_ENCRYPTION_KEYS", "production needs at least one Fernet key")

    log_level = env.get("LOG_LEVEL", "INFO").strip().upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"expected one of {', '.join(sorted(LOG_LEVELS))}")

    data_dir = Path(env.get("CAREDOOR_DATA_DIR", "") or base / "var")
    twilio_sid, twilio_token, twilio_number = _twilio(env)

    return Config(
        production=production,
        debug=_bool(env, "DEBUG", default=not production),
        secret_key=secret_key,
        data_dir=data_dir,
        database_url=_url(env, "DATABASE_URL", {"postgres", "postgresql", "sqlite"}),
        redis_url=_url(env, "REDIS_URL", {"redis", "rediss"}),
        email_url=_url(env, "EMAIL_URL", {"smtp", "smtps", "smtp+tls"}),
        default_from_email=env.get("DEFAULT_FROM_EMAIL", "Caredoor <no-reply@caredoor.localhost>"),
        platform_hosts=_list(env, "PLATFORM_HOSTS", ["localhost", "127.0.0.1"]),
        port=_int(env, "PORT", 8000, low=1, high=65535),
        field_encryption_keys=keys,
        log_level=log_level,
        twilio_account_sid=twilio_sid,
        twilio_auth_token=twilio_token,
        twilio_from_number=twilio_number,
    )
