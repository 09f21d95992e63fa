"""LiveKit: media through a LiveKit server (an SFU); the browser joins with an access token.

What this follows, from LiveKit's documentation:

- Access tokens (https://docs.livekit.io/home/concepts/authentication/, "Token example"
  and "Video grant"): a JWT signed with the API secret (HS256) whose ``iss`` is the API
  key, ``sub`` the participant's identity, ``name`` the display name, ``nbf``/``exp`` the
  validity, and ``video`` the grant: ``room``, ``roomJoin``, ``canPublish``,
  ``canSubscribe``, ``canPublishData``; ``roomCreate`` is the permission "to create or
  delete rooms". The expiry only limits the initial connection, not reconnects, so a join
  token can be short-lived whatever the session's length.
- The server API (https://docs.livekit.io/server/room-management/ and
  https://docs.livekit.io/guides/server-api/, "Endpoints", "Authorization header", "Post
  body"): Twirp, ``POST <host>/twirp/livekit.RoomService/<Method>`` with a JSON body and
  ``Authorization: Bearer <token>``; keys may be snake_case or camelCase.
- Rooms (https://docs.livekit.io/realtime/server/managing-rooms/): ``CreateRoom`` takes
  ``name``, ``empty_timeout`` (seconds) and ``max_participants``; ``DeleteRoom`` takes
  ``room`` and disconnects everyone in it.

No LiveKit SDK is used: the token is three claims and a signature, and the two room calls
are plain HTTP posts (httpx).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
from django.utils import timezone

from caredoor.core.video.ice import IDENTITY
from caredoor.core.video.providers.base import VideoProviderError

logger = logging.getLogger(__name__)

TOKEN_TTL = 15 * 60  # seconds: a join token only has to last until the browser connects
SERVER_TOKEN_TTL = 5 * 60  # seconds: the token of one server API call
TIMEOUT = 10.0  # seconds, for each server API call
ROOM_SERVICE = "/twirp/livekit.RoomService/"
HTTP_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


class LiveKitProvider:
    name = "livekit"

    def __init__(
        self,
        url: str,
        api_key: str,
        api_secret: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in HTTP_SCHEME or not parts.netloc:
            raise ValueError("the LiveKit URL must be a ws://, wss://, http:// or https:// URL")
        self.url = url
        self.api_key = api_key
        self._api_secret = api_secret
        self._transport = transport
        self._timeout = timeout
        path = parts.path.rstrip("/")
        self.api_url = urlunsplit((HTTP_SCHEME[parts.scheme], parts.netloc, path, "", ""))

    def __repr__(self) -> str:  # never the secret
        return f"LiveKitProvider(url={self.url!r}, api_key={self.api_key!r})"

    # --- joining ----------------------------------------------------------------------------

    def access_token(
        self,
        room_name: str,
        identity: str,
        display_name: str,
        *,
        now: datetime | None = None,
        ttl: int = TOKEN_TTL,
    ) -> str:
        """A join token for ``room_name``: publish and subscribe to media and data."""
        if not IDENTITY.match(identity):
            raise ValueError("a video identity is an opaque id of 1-64 letters, digits, '_' or '-'")
        if not room_name:
            raise ValueError("a room name is required")
        grant = {
            "room": room_name,
            "roomJoin": True,
            "canPublish": True,
            "canSubscribe": True,
            "canPublishData": True,
        }
        return self._token(grant, now, ttl, sub=identity, name=display_name)

    def client_config(
        self,
        room_name: str,
        identity: str,
        display_name: str,
        now: datetime | None = None,
        *,
        ttl: int = TOKEN_TTL,
    ) -> dict[str, Any]:
        token = self.access_token(room_name, identity, display_name, now=now, ttl=ttl)
        return {"provider": self.name, "url": self.url, "token": token}

    # --- rooms ------------------------------------------------------------------------------

    def open_room(self, room_name: str, *, max_participants: int, empty_timeout: int) -> None:
        if max_participants < 1 or empty_timeout < 0:
            raise ValueError("max_participants must be 1 or more and empty_timeout 0 or more")
        body = {
            "name": room_name,
            "empty_timeout": empty_timeout,
            "max_participants": max_participants,
        }
        self._call("CreateRoom", body)

    def close_room(self, room_name: str) -> None:
        """Delete the room. A room LiveKit no longer knows (closed by its empty timeout,
        say) is already closed: its 404 is not an error."""
        self._call("DeleteRoom", {"room": room_name}, missing_ok=True)

    # --- internals --------------------------------------------------------------------------

    def _token(self, grant: dict[str, Any], now: datetime | None, ttl: int, **claims: str) -> str:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        start = (now or timezone.now()).replace(microsecond=0)
        payload: dict[str, Any] = {
            "iss": self.api_key,
            **claims,
            "nbf": start,
            "exp": start + timedelta(seconds=ttl),
            "video": grant,
        }
        return jwt.encode(payload, self._api_secret, algorithm="HS256")

    def _call(self, method: str, body: dict[str, Any], *, missing_ok: bool = False) -> None:
        token = self._token({"roomCreate": True}, None, SERVER_TOKEN_TTL)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            with httpx.Client(transport=self._transport, timeout=self._timeout) as client:
                response = client.post(
                    self.api_url + ROOM_SERVICE + method,
                    content=json.dumps(body).encode(),
                    headers=headers,
                )
        except httpx.HTTPError as error:
            logger.warning("LiveKit %s failed: %s", method, type(error).__name__)
            raise VideoProviderError(
                f"LiveKit could not be reached ({method}): {type(error).__name__}"
            ) from None
        if missing_ok and response.status_code == httpx.codes.NOT_FOUND:
            logger.info("LiveKit %s: the room was already gone", method)
            return
        if not response.is_success:
            logger.warning("LiveKit %s failed: HTTP %s", method, response.status_code)
            raise VideoProviderError(f"LiveKit refused {method}: HTTP {response.status_code}")
