"""ICE servers for the browser's ``RTCPeerConnection``, with time-limited TURN credentials.

``ice_servers(identity)`` is the ``iceServers`` list a browser passes to
``new RTCPeerConnection({iceServers})``: the configured STUN URLs as one entry and, when
TURN is configured, one TURN entry with a credential that expires.

The credential follows the "TURN REST API" scheme coturn implements with ``use-auth-secret``
(draft-uberti-behave-turn-rest-00): ``username = "<expiry unix time>:<identity>"`` and
``credential = base64(HMAC-SHA1(static-auth-secret, username))``. coturn recomputes the
HMAC from the username with the same secret and refuses a username whose timestamp has
passed, so nothing is stored and nothing needs revoking.

``identity`` must be an opaque id (a random per-participant or per-session token, or a
database id): never a name or an email address. It travels in clear in every TURN packet
and ends up in the TURN server's logs. ``turn_credential`` refuses anything outside
``[A-Za-z0-9_-]``, which keeps out email addresses and names with spaces, but cannot tell
an id from a single word: callers are responsible for passing an id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

IDENTITY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SEPARATOR = ":"  # coturn's default rest-api-separator


def turn_credential(
    identity: str, now: datetime, ttl: int, secret: str
) -> tuple[str, str, datetime]:
    """``(username, credential, expires_at)`` for a TURN server with ``use-auth-secret``.

    ``now`` must be timezone-aware; ``ttl`` is in seconds.
    """
    if not IDENTITY.match(identity):
        raise ValueError("a TURN identity is an opaque id of 1-64 letters, digits, '_' or '-'")
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    expires_at = _aware(now).replace(microsecond=0) + timedelta(seconds=ttl)
    username = f"{int(expires_at.timestamp())}{SEPARATOR}{identity}"
    return username, _sign(secret, username), expires_at.astimezone(UTC)


def credential_is_valid(username: str, credential: str, secret: str, now: datetime) -> bool:
    """Whether coturn (``use-auth-secret``) would accept this pair at ``now``.

    As coturn does (``get_user_key`` in its ``userdb.c``): the timestamp is read from the
    username and must not be before the current second, and the credential must equal the
    base64 HMAC-SHA1 of the whole username under the secret.
    """
    expiry = _rest_api_timestamp(username)
    if expiry < int(_aware(now).timestamp()):
        return False
    return hmac.compare_digest(_sign(secret, username).encode(), credential.encode())


def ice_servers(identity: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """The browser's ``RTCIceServer`` list from ``settings.VIDEO`` (read on each call).

    Empty when neither STUN nor TURN is configured: browsers then connect on host
    candidates only (same network, or localhost in development).
    """
    video = settings.VIDEO
    servers: list[dict[str, Any]] = []
    if video["stun_urls"]:
        servers.append({"urls": list(video["stun_urls"])})
    if video["turn_urls"]:
        username, credential, _expires = turn_credential(
            identity, now or timezone.now(), video["turn_ttl"], video["turn_secret"]
        )
        servers.append(
            {"urls": list(video["turn_urls"]), "username": username, "credential": credential}
        )
    return servers


def _sign(secret: str, username: str) -> str:
    # SHA-1 is what coturn's REST API uses for this HMAC; it is a MAC, not a hash of data.
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _aware(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise ValueError("a timezone-aware datetime is required")
    return moment


def _rest_api_timestamp(username: str) -> int:
    """The expiry in a REST API username, parsed as coturn's ``get_rest_api_timestamp``:
    ``<digits>:<user>`` takes the part before the separator; ``<user>:<digits>`` the part
    after it; a username without the separator is read whole. A missing number is 0."""
    head, separator, tail = username.partition(SEPARATOR)
    if separator and head:
        return _atol(head if head.isdigit() and head.isascii() else tail)
    return _atol(tail if separator else username)


def _atol(text: str) -> int:
    """C's ``atol``: leading blanks, an optional sign, then digits; 0 when there are none."""
    match = re.match(r"\s*([+-]?[0-9]+)", text)
    return int(match.group(1)) if match else 0
