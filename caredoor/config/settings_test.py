"""Test settings: the production code paths, with fast hashing and jobs run inline.

``DATABASE_URL`` and ``REDIS_URL`` still switch the tests to PostgreSQL and Redis, so CI
runs the same suite on both the embedded defaults and the production services.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("CAREDOOR_ENV", "test")
os.environ.setdefault("CAREDOOR_DATA_DIR", tempfile.mkdtemp(prefix="caredoor-test-"))

from caredoor.config.settings import *  # noqa: F403
from caredoor.config.settings import CONFIG, DATABASES, HUEY

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
HUEY = {**HUEY, "immediate": True}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = Path(CONFIG.data_dir) / "media"
ACCOUNT_RATE_LIMITS = False

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so browser tests served from another thread see the same data.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(CONFIG.data_dir) / "test.sqlite3")}
