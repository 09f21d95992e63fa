"""The video provider interface: what a browser needs to join, and room lifetimes.

A provider is chosen by ``VIDEO_PROVIDER`` (``settings.VIDEO["provider"]``) and returned by
``caredoor.core.video.providers.get_provider()``. ``p2p`` connects the two browsers
directly (signaling over our WebSocket, media relayed by TURN when needed); ``livekit``
sends media through a LiveKit server (an SFU).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable


class VideoProviderError(Exception):
    """The provider refused a request or could not be reached. The message names the
    provider's HTTP status or the error's class, never a token, a name or a room's content."""


@runtime_checkable
class VideoProvider(Protocol):
    name: str

    def client_config(
        self, room_name: str, identity: str, display_name: str, now: datetime | None = None
    ) -> dict[str, Any]:
        """What the browser needs to join ``room_name`` (JSON-serializable).

        ``identity`` is an opaque id (never a name or an email); ``display_name`` is shown
        to the other participants. ``room_name`` should be opaque too.
        """
        ...

    def open_room(self, room_name: str, *, max_participants: int, empty_timeout: int) -> None:
        """Make the room ready before anyone joins (``empty_timeout`` in seconds)."""
        ...

    def close_room(self, room_name: str) -> None:
        """End the room and disconnect everyone in it. Closing a closed room is fine."""
        ...
