"""Peer to peer: the browsers connect directly; no media server, no rooms to manage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from caredoor.core.video.ice import ice_servers


class P2PProvider:
    """``client_config`` carries the ICE servers only: the caller adds the signaling URL
    (our WebSocket). Rooms exist only as signaling groups, so opening and closing them
    here does nothing."""

    name = "p2p"

    def client_config(
        self, room_name: str, identity: str, display_name: str, now: datetime | None = None
    ) -> dict[str, Any]:
        return {"provider": self.name, "iceServers": ice_servers(identity, now)}

    def open_room(self, room_name: str, *, max_participants: int, empty_timeout: int) -> None:
        return None

    def close_room(self, room_name: str) -> None:
        return None
