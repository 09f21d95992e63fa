"""Typed reading of the environment.

Every setting Caredoor takes from the environment is read here, once, into a frozen
``Config``. A malformed value raises ``ImproperlyConfigured`` naming the variable, so
start-up stops with a message an operator can act on instead of failing later.
"""

from __future__ import annotations

import os
import re
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
class VideoConfig:
    """Video sessions (docs/video.md). STUN: none by default, so nothing reaches the
    internet unasked. TURN: URLs and coturn's static-auth-secret, both or neither."""

    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = field(default="", repr=False)
    turn_ttl: int = 3600  # seconds a TURN credential stays valid
    # "p2p" (browsers connect directly, relayed by TURN when needed) or "livekit" (an SFU).
    provider: str = "p2p"
    livekit_url: str = ""
    livekit_api_key: str = ""
    livekit_api_secret: str = field(default="", repr=False)

    @property
    def turn_enabled(self) -> bool:
        return bool(self.turn_urls)


@dataclass(frozen=True)
class PaymentsConfig:
    """Stripe (docs/payments.md). Outside production the defaults point at localstripe, the
    local Stripe stand-in that `make run` starts, with test keys it accepts."""

    secret_key: str = field(default="", repr=False)
    publishable_key: str = ""
    webhook_secret: str = field(default="", repr=False)
    api_base: str = ""  # "" = Stripe itself
    js_url: str = "https://js.stripe.com/v3/"

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)

    @property
    def local(self) -> bool:
        """localstripe, not Stripe: it implements no Connect accounts."""
        return bool(self.api_base)


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
    video: VideoConfig = field(default_factory=VideoConfig)
    payments: PaymentsConfig = field(default_factory=PaymentsConfig)

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


# RFC 7064 (stun:) and RFC 7065 (turn:, turns:): scheme ":" host [":" port], and for TURN
# an optional "?transport=udp|tcp". No "//": browsers reject "stun://host".
_ICE_URL = re.compile(
    r"^(?P<scheme>[a-z]+):(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?(?:\?transport=(?P<transport>udp|tcp))?$"
)
MIN_TURN_SECRET = 16
VIDEO_PROVIDERS = ("p2p", "livekit")
LIVEKIT_VARIABLES = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")


def _ice_urls(environ: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of STUN or TURN URLs, each checked for scheme, host and port."""
    urls = tuple(_list(environ, name, []))
    allowed = " or ".join(f"{scheme}:" for scheme in schemes)
    for url in urls:
        if "://" in url:
            raise ConfigError(name, f"write {allowed}host[:port] without '//'; got {url!r}")
        match = _ICE_URL.match(url)
        if not match or match["scheme"] not in schemes:
            raise ConfigError(name, f"expected URLs like {allowed}host[:port]; got {url!r}")
        if match["transport"] and match["scheme"] == "stun":
            raise ConfigError(name, f"a stun: URL takes no ?transport; got {url!r}")
        if match["port"] and not 1 <= int(match["port"]) <= 65535:
            raise ConfigError(name, f"the URL has a malformed port: {url!r}")
    return urls


def _all_or_none(environ: Mapping[str, str], names: tuple[str, ...], what: str) -> list[str]:
    """The stripped values of ``names``: all set, or all empty."""
    values = [environ.get(name, "").strip() for name in names]
    if any(values) and not all(values):
        missing = [name for name, value in zip(names, values, strict=True) if not value]
        raise ConfigError(missing[0], f"{what} needs all of {', '.join(names)} or none")
    return values


def _video(environ: Mapping[str, str], production: bool) -> VideoConfig:
    """STUN, TURN and the video provider (docs/video.md)."""
    stun_urls = _ice_urls(environ, "VIDEO_STUN_URLS", ("stun",))
    turn_urls = _ice_urls(environ, "VIDEO_TURN_URLS", ("turn", "turns"))
    turn_secret = environ.get("VIDEO_TURN_SECRET", "").strip()
    if bool(turn_urls) != bool(turn_secret):
        missing = "VIDEO_TURN_SECRET" if turn_urls else "VIDEO_TURN_URLS"
        raise ConfigError(missing, "TURN needs both VIDEO_TURN_URLS and VIDEO_TURN_SECRET or none")
    if turn_urls and len(turn_secret) < MIN_TURN_SECRET:
        raise ConfigError(
            "VIDEO_TURN_SECRET", f"expected a random secret of {MIN_TURN_SECRET} characters or more"
        )

    provider = environ.get("VIDEO_PROVIDER", "").strip().lower() or "p2p"
    if provider not in VIDEO_PROVIDERS:
        raise ConfigError("VIDEO_PROVIDER", f"expected p2p or livekit; got {provider!r}")
    if provider == "livekit":
        missing = [name for name in LIVEKIT_VARIABLES if not environ.get(name, "").strip()]
        if missing:
            needed = ", ".join(LIVEKIT_VARIABLES)
            raise ConfigError(missing[0], f"VIDEO_PROVIDER=livekit needs all of {needed}")
    _livekit_url, api_key, api_secret = _all_or_none(environ, LIVEKIT_VARIABLES, "LiveKit")
    livekit_url = _url(environ, "LIVEKIT_URL", {"ws", "wss"}) or ""
    if production and livekit_url.startswith("ws:"):
        raise ConfigError("LIVEKIT_URL", "production pages are served over HTTPS: use wss://")

    return VideoConfig(
        stun_urls=stun_urls,
        turn_urls=turn_urls,
        turn_secret=turn_secret,
        turn_ttl=_int(environ, "VIDEO_TURN_TTL", 3600, low=60, high=86400),
        provider=provider,
        livekit_url=livekit_url,
        livekit_api_key=api_key,
        livekit_api_secret=api_secret,
    )


STRIPE_VARIABLES = ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")
LOCALSTRIPE = "http://localhost:8420"
LOCAL_STRIPE_KEYS = ("sk_test_caredoor_local", "pk_test_caredoor_local", "whsec_caredoor_local")


def _payments(environ: Mapping[str, str], production: bool) -> PaymentsConfig:
    """Stripe's keys (all three or none) and where its API is. Production without keys has
    no card payments: priced bookings on brands with the payments module are refused."""
    keys = tuple(environ.get(name, "").strip() for name in STRIPE_VARIABLES)
    if any(keys):
        missing = [n for n, v in zip(STRIPE_VARIABLES, keys, strict=True) if not v]
        if missing:
            raise ConfigError(missing[0], "Stripe needs all of " + ", ".join(STRIPE_VARIABLES))
        for name, value, prefix in zip(
            STRIPE_VARIABLES, keys, ("sk_", "pk_", "whsec_"), strict=True
        ):
            if not value.startswith(prefix):
                raise ConfigError(name, f"expected a key starting with {prefix}")
    raw_base = environ.get("STRIPE_API_BASE")
    api_base = (
        _url(environ, "STRIPE_API_BASE", {"http", "https"}) or ""
        if raw_base is not None
        else ("" if production else LOCALSTRIPE)
    )
    if production and api_base.startswith("http:"):
        raise ConfigError("STRIPE_API_BASE", "production talks to Stripe over HTTPS")
    if not any(keys) and not production:
        keys = LOCAL_STRIPE_KEYS if api_base else keys
    default_js = f"{api_base}/js.stripe.com/v3/" if api_base else "https://js.stripe.com/v3/"
    js_url = _url(environ, "STRIPE_JS_URL", {"http", "https"}) or default_js
    return PaymentsConfig(
        secret_key=keys[0],
        publishable_key=keys[1],
        webhook_secret=keys[2],
        api_base=api_base.rstrip("/"),
        js_url=js_url,
    )


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
        video=_video(env, production),
        payments=_payments(env, production),
    )
