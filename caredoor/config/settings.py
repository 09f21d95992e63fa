"""Django settings, derived from one typed ``Config`` (see ``env.py``).

With no environment set, Caredoor runs on the embedded defaults: SQLite in WAL mode,
the in-memory channel layer, SQLite-backed Huey, local file storage and an email outbox
on disk. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and Redis.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.utils.translation import gettext_lazy as _

from caredoor.config.env import load

BASE_DIR = Path(__file__).resolve().parents[2]
CONFIG = load(base_dir=BASE_DIR)
DATA_DIR = CONFIG.data_dir
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = CONFIG.debug
SECRET_KEY = CONFIG.secret_key
# Host validation is done by the brand middleware: a Host that is neither a brand
# domain nor a platform host gets a plain 404 before any view runs.
ALLOWED_HOSTS = ["*"]
PLATFORM_HOSTS = CONFIG.platform_hosts

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "huey.contrib.djhuey",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "ninja",
    # core, bottom layer first
    "caredoor.core.brands",
    "caredoor.core.compliance",
    "caredoor.core.organizations",
    "caredoor.core.accounts",
    "caredoor.core.notifications",
    "caredoor.core.specialists",
    "caredoor.core.scheduling",
    "caredoor.core.care",
    "caredoor.core.messaging",
    "caredoor.core.consents",
    "caredoor.core.intake",
    "caredoor.core.booking",
    "caredoor.core.calendars",
    "caredoor.core.matching",
    "caredoor.core.feedback",
    "caredoor.core.video",
    "caredoor.core.payments",
    # thin layers
    "caredoor.ui",
    "caredoor.portals.common",
    "caredoor.portals.patient",
    "caredoor.portals.specialist",
    "caredoor.portals.organization",
    "caredoor.portals.affiliate",
    "caredoor.api",
    "caredoor.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "caredoor.core.brands.middleware.BrandMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "caredoor.core.accounts.middleware.LocaleAndZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "caredoor.config.urls"
ASGI_APPLICATION = "caredoor.config.asgi.application"
WSGI_APPLICATION = "caredoor.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # ui/templates first: it overrides the templates of allauth and Django admin.
        "DIRS": [BASE_DIR / "caredoor" / "ui" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "caredoor.ui.context_processors.brand",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------
if CONFIG.database_url and not CONFIG.database_url.startswith("sqlite"):
    DATABASES = {"default": dj_database_url.parse(CONFIG.database_url, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    sqlite_path = DATA_DIR / "caredoor.sqlite3"
    if CONFIG.database_url:
        sqlite_path = Path(unquote(urlsplit(CONFIG.database_url).path)) or sqlite_path
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": sqlite_path,
            "OPTIONS": {
                # WAL lets readers proceed while one writer commits; IMMEDIATE takes the
                # write lock at BEGIN, so read-then-write transactions serialize instead
                # of failing with "database is locked" half-way through.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, channels, jobs ---------------------------------------------------------------
if CONFIG.redis_url:
    CACHES = {
        "default": {
            "BACKEND": "caredoor.config.cache.SharedRedisCache",
            "LOCATION": CONFIG.redis_url,
            "KEY_PREFIX": "caredoor",
        }
    }
    # Redis pub/sub: one PUBLISH per push and one subscription reader per process. Pushes
    # are best effort (the database is the record, clients resume from it), which is
    # what pub/sub gives. The list-based RedisChannelLayer polled each message with
    # several round trips from one loop and dropped pushes once a socket's queue held
    # 100 (docs/realtime.md, benchmark figures).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [CONFIG.redis_url], "prefix": "caredoor"},
        }
    }
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "caredoor",
        "url": CONFIG.redis_url,
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "caredoor",
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "caredoor",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

# --- auth --------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

ACCOUNT_ADAPTER = "caredoor.core.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "caredoor.core.accounts.adapters.SocialAccountAdapter"
MFA_ADAPTER = "caredoor.core.accounts.adapters.MFAAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "optional"
# Sign-up confirms the address first (no enumeration); the same browser is then signed in.
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
ACCOUNT_FORMS = {
    "login": "caredoor.core.accounts.forms.BrandLoginForm",
    "signup": "caredoor.portals.common.signup.PatientSignupForm",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Caredoor"
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_LOGIN_ON_GET = False

# --- i18n and time ---------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("de", _("German")),
    ("fr", _("French")),
    ("es", _("Spanish")),
    ("nl", _("Dutch")),
]
LOCALE_PATHS = [BASE_DIR / "caredoor" / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- static and media files ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if CONFIG.production
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not CONFIG.production
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- email ---------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = CONFIG.default_from_email
SERVER_EMAIL = CONFIG.default_from_email
if CONFIG.email_url:
    _mail = urlsplit(CONFIG.email_url)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _mail.hostname
    EMAIL_PORT = _mail.port or (465 if _mail.scheme == "smtps" else 587)
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_SSL = _mail.scheme == "smtps"
    EMAIL_USE_TLS = _mail.scheme == "smtp+tls"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "outbox"

# --- SMS: off unless Twilio is configured (all three TWILIO_* variables) ----------------------
SMS_TWILIO = (
    {
        "account_sid": CONFIG.twilio_account_sid,
        "auth_token": CONFIG.twilio_auth_token,
        "from_number": CONFIG.twilio_from_number,
    }
    if CONFIG.sms_enabled
    else None
)

# --- security ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CONFIG.production
CSRF_COOKIE_SECURE = CONFIG.production
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Browsers honour COOP only on trustworthy origins (HTTPS); on plain HTTP it only adds noise.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin" if CONFIG.production else None
X_FRAME_OPTIONS = "DENY"
if CONFIG.production:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # 'wasm-unsafe-eval': the video page's background blur compiles WebAssembly (MediaPipe,
        # served from our static files; caredoor/ui/static/caredoor/js/video-blur.js). It
        # allows compiling WebAssembly only, not eval() or inline scripts.
        "script-src": ["'self'", "'wasm-unsafe-eval'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "media-src": ["'self'", "blob:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- video (docs/video.md): ICE servers for the browsers, and the provider -------------------
# No STUN or TURN by default: nothing may reach the internet unasked. Production should set
# VIDEO_STUN_URLS and, for people behind strict NATs, VIDEO_TURN_URLS + VIDEO_TURN_SECRET.
VIDEO = {
    "provider": CONFIG.video.provider,  # "p2p" or "livekit"
    "stun_urls": list(CONFIG.video.stun_urls),
    "turn_urls": list(CONFIG.video.turn_urls),
    "turn_secret": CONFIG.video.turn_secret,  # coturn's static-auth-secret
    "turn_ttl": CONFIG.video.turn_ttl,  # seconds
    "livekit": (
        {
            "url": CONFIG.video.livekit_url,
            "api_key": CONFIG.video.livekit_api_key,
            "api_secret": CONFIG.video.livekit_api_secret,
        }
        if CONFIG.video.livekit_url
        else None
    ),
}
if CONFIG.video.provider == "livekit":
    # The browser opens the LiveKit signaling socket and, when it fails, asks the same host
    # over HTTP(S) why (/rtc/validate). WebRTC media itself is outside CSP.
    _livekit = urlsplit(CONFIG.video.livekit_url)
    _http = "https" if _livekit.scheme == "wss" else "http"
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["connect-src"] += [
        f"{_livekit.scheme}://{_livekit.netloc}",
        f"{_http}://{_livekit.netloc}",
    ]

# --- payments (docs/payments.md): Stripe, or localstripe outside production -------------------
PAYMENTS = {
    "secret_key": CONFIG.payments.secret_key,
    "publishable_key": CONFIG.payments.publishable_key,
    "webhook_secret": CONFIG.payments.webhook_secret,
    "api_base": CONFIG.payments.api_base,  # "" = api.stripe.com
    "js_url": CONFIG.payments.js_url,
    "webhook_tolerance": 300,  # seconds a signed webhook stays acceptable
    "connect": not CONFIG.payments.local,  # localstripe has no Stripe Connect
}
# Stripe.js and its API are allowed only on the pages that take a card
# (payments/stripe_api.csp_for_checkout, set per response), not site-wide.

# --- logging: no health data, ever. Request bodies are never logged. -------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": CONFIG.log_level},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"level": CONFIG.log_level if CONFIG.log_level != "INFO" else "WARNING"},
        # The Stripe SDK and httpx log every request at INFO: URLs and ids, no bodies, but
        # noise. Their warnings and errors still show.
        "stripe": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}

NINJA_PAGINATION_PER_PAGE = 50
