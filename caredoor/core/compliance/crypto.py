"""Field encryption with key rotation (MultiFernet).

``FIELD_ENCRYPTION_KEYS`` lists Fernet keys, newest first: new data is encrypted with the
first, old data still decrypts with the others until ``rotate`` re-encrypts it. Without
the variable (development and tests only) a key is derived from ``SECRET_KEY``. Text fields
use ``encrypt_text``; stored files (``uploads.store_file``) use ``encrypt_bytes``.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = list(settings.CONFIG.field_encryption_keys)
    if not keys:
        digest = hashlib.sha256(("caredoor-fields:" + settings.SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt_text(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_text(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    return _fernet().rotate(token.encode()).decode()


def encrypt_bytes(plain: bytes) -> bytes:
    """Encrypt a file's bytes with the newest key (a Fernet token, URL-safe base64)."""
    return _fernet().encrypt(plain)


def decrypt_bytes(token: bytes) -> bytes:
    """Decrypt bytes from ``encrypt_bytes``; raises ``cryptography.fernet.InvalidToken``."""
    return _fernet().decrypt(token)


def rotate_bytes(token: bytes) -> bytes:
    return _fernet().rotate(token)
