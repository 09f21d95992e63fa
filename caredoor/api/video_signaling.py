"""The video room's signaling socket: ``/ws/video/<portal>/<room name>/``.

Two people, one room: the server admits only those ``video.rules`` admits, records their
attendance, and relays session descriptions, ICE candidates and media states from one
side to the other, rebuilt field by field. It never relays to anyone else, and a bad
frame from one client costs that client an error, never the call. The protocol is
described in docs/video.md ("Signaling").

Each side of a room is a channel-layer group, ``video.<room>.<side>``, with at most one
member: a newer socket of the same side replaces an older one (a second tab, a rejoin
after a dropped network). The other side's presence is learnt from attendance when
joining and kept up to date by the layer: a newcomer announces itself, and whoever is
already there answers "here".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404
from django.utils import timezone

from caredoor.core.notifications.push import video_group
from caredoor.core.video import actions, rules
from caredoor.core.video.models import Attendance, Room, Side
from caredoor.core.video.providers import VideoProviderError, get_provider

log = logging.getLogger("caredoor.video")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_REFUSED = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_REPLACED = 4409
CLOSE_ENDED = 4410
CLOSE_UNAVAILABLE = 1011

MAX_FRAME_BYTES = 64 * 1024
MAX_SDP = 60_000
MAX_CANDIDATE = 1024
MAX_MID = 64
MAX_UFRAG = 256
FRAMES_PER_SECOND = 20
FRAME_BURST = 60
RECHECK_SECONDS = 60.0  # a ping re-checks the join rule at most this often
ROOM_EMPTY_TIMEOUT = 300  # seconds an SFU keeps an empty room (LiveKit)

OTHER = {Side.PATIENT: Side.SPECIALIST, Side.SPECIALIST: Side.PATIENT}
PEER_STATES = {"reconnecting", "connected"}


class FrameError(Exception):
    """A frame the server will not relay; ``code`` goes back to the client."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Bucket:
    """``rate`` frames a second on average, bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# --- what may be relayed -------------------------------------------------------------------


def _text(value: Any, limit: int, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise FrameError("bad_request")
    if len(value) > limit:
        raise FrameError("too_large")
    return value


def clean_description(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or value.get("type") not in {"offer", "answer"}:
        raise FrameError("bad_request")
    sdp = _text(value.get("sdp"), MAX_SDP)
    assert sdp is not None
    if not sdp.startswith("v=0"):
        raise FrameError("bad_request")
    return {"type": value["type"], "sdp": sdp}


def clean_candidate(value: Any) -> dict[str, Any] | None:
    if value is None:  # the end of this side's candidates
        return None
    if not isinstance(value, dict):
        raise FrameError("bad_request")
    candidate = _text(value.get("candidate"), MAX_CANDIDATE)
    assert candidate is not None
    if candidate and not candidate.startswith("candidate:"):
        raise FrameError("bad_request")
    index = value.get("sdpMLineIndex")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise FrameError("bad_request")
    if index is not None and not 0 <= index <= 255:
        raise FrameError("bad_request")
    mid = _text(value.get("sdpMid"), MAX_MID, optional=True)
    if mid is None and index is None:
        raise FrameError("bad_request")
    return {
        "candidate": candidate,
        "sdpMid": mid,
        "sdpMLineIndex": index,
        "usernameFragment": _text(value.get("usernameFragment"), MAX_UFRAG, optional=True),
    }


def clean_media(content: dict) -> dict[str, bool]:
    media = {key: content.get(key, False) for key in ("audio", "video", "screen")}
    if not all(isinstance(value, bool) for value in media.values()):
        raise FrameError("bad_request")
    return media


# --- the consumer ------------------------------------------------------------------------


class VideoSignalingConsumer(AsyncWebsocketConsumer):
    """One person's socket in one room."""

    entry: rules.Entry
    room: Room
    side: str
    attendance: Attendance | None = None
    known_peers: set[int]

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.timer: asyncio.Task | None = None
        self.attendance = None
        self.replaced = False
        self.left = False
        if user is None or not user.is_authenticated:
            await self.accept()  # accept first so the close code reaches the client
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        kwargs = self.scope["url_route"]["kwargs"]
        outcome = await self._admit(kwargs["portal"], kwargs["room"])
        if outcome is not None:
            await self.accept()
            await self._send(outcome[0])
            await self.close(code=outcome[1])
            return
        self.bucket = Bucket(FRAMES_PER_SECOND, FRAME_BURST)
        self.limited_at = 0.0
        self.peer_here = False
        self.offer_pending = False  # an offer was relayed here and is not answered yet
        self.described = False  # a description went either way since the peer arrived
        self.checked_at = time.monotonic()
        self.own_group = video_group(self.room.name, self.side)
        self.peer_group = video_group(self.room.name, OTHER[self.side])
        # Replace an older socket of this side, then take its place: join the group before
        # recording the join, so a peer that reads the attendance can already reach us.
        await self.channel_layer.group_send(
            self.own_group, {"type": "video.replace", "by": self.channel_name}
        )
        await self.channel_layer.group_add(self.own_group, self.channel_name)
        try:
            welcome = await self._join()
        except VideoProviderError:
            await self.channel_layer.group_discard(self.own_group, self.channel_name)
            await self.accept()
            await self._send({"type": "refused", "reason": "unavailable", "opens": None})
            await self.close(code=CLOSE_UNAVAILABLE)
            return
        self.peer_here = welcome["peer"]
        await self.accept()
        await self._send(welcome)
        await self._to_peer(
            {
                "type": "video.peer",
                "event": "joined",
                "from": self.channel_name,
                "attendance": self.attendance.pk if self.attendance else None,
            }
        )
        closes = rules.closes_at(self.entry)
        if closes is not None:
            self.timer = asyncio.ensure_future(self._end_at(closes))

    async def disconnect(self, code: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.attendance is None:
            return
        await self.channel_layer.group_discard(self.own_group, self.channel_name)
        try:
            await database_sync_to_async(actions.do_leave)(self.attendance)
        except Exception as exc:  # the database went away (a shutdown): settlement closes it
            log.warning("video leave not recorded: %s", type(exc).__name__)
        if not self.replaced and not self.left:
            await self._to_peer({"type": "video.peer", "event": "lost"})

    # --- admission -------------------------------------------------------------------------

    @database_sync_to_async
    def _admit(self, portal: str, room_name: str) -> tuple[dict, int] | None:
        """Who is this and may they enter now: ``None`` if so, else (frame, close code)."""
        brand = self.scope.get("brand")
        try:
            if brand is None:
                raise Http404
            entry = rules.room_entry(self.user, brand, portal, room_name)
            rules.check_join(entry, timezone.now())
        except Http404:
            return {"type": "refused", "reason": "not_found", "opens": None}, CLOSE_NOT_FOUND
        except rules.JoinRefused as refusal:
            opens = refusal.opens.isoformat() if refusal.opens else None
            return {"type": "refused", "reason": refusal.code, "opens": opens}, CLOSE_REFUSED
        assert entry.room is not None
        self.entry, self.room, self.side = entry, entry.room, entry.side
        return None

    @database_sync_to_async
    def _join(self) -> dict[str, Any]:
        provider = get_provider()
        if self.room.provider != "p2p":
            provider.open_room(self.room.name, max_participants=2, empty_timeout=ROOM_EMPTY_TIMEOUT)
        self.attendance = actions.do_join(self.room, self.user, self.side)
        # The other side's joins seen now: their "joined" announcement, should it arrive
        # after this welcome (both came at once), is not news to the page.
        self.known_peers = set(
            Attendance.objects.filter(
                room=self.room, side=OTHER[self.side], left_at__isnull=True
            ).values_list("pk", flat=True)
        )
        closes = rules.closes_at(self.entry)
        return {
            "type": "welcome",
            "side": self.side,
            "peer": bool(self.known_peers),
            "polite": self.side == Side.PATIENT,
            "config": self._config(),
            "closes": closes.isoformat() if closes else None,
            "fallbackSeconds": self.room.brand.video_fallback_seconds,
        }

    def _config(self) -> dict[str, Any]:
        assert self.attendance is not None
        identity = f"a{self.attendance.pk}"  # opaque: TURN servers log it in clear
        return get_provider().client_config(self.room.name, identity, self.user.display_name)

    @database_sync_to_async
    def _recheck(self) -> str | None:
        """The join rule, read afresh: ``None`` if it still holds, else the reason."""
        brand = self.scope["brand"]
        try:
            entry = rules.room_entry(self.user, brand, self.side, self.room.name)
            rules.check_join(entry, timezone.now())
        except Http404:
            return "not_found"
        except rules.JoinRefused as refusal:
            return refusal.code
        return None

    async def _end_at(self, closes: datetime) -> None:
        await asyncio.sleep(max(0.0, (closes - timezone.now()).total_seconds()))
        await self._end("over")

    async def _end(self, reason: str) -> None:
        self.left = True  # the room closed: the other side hears "ended", not "lost"
        with contextlib.suppress(OSError):
            await self._send({"type": "ended", "reason": reason})
            await self.close(code=CLOSE_ENDED)

    # --- frames from the client ------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.bucket.take():
            now = time.monotonic()
            if now - self.limited_at >= 1.0:  # said at most once a second; the rest dropped
                self.limited_at = now
                await self._error("rate_limited")
            return
        frame = text_data if text_data is not None else bytes_data
        size = len(frame.encode() if isinstance(frame, str) else frame or b"")
        try:
            if size > MAX_FRAME_BYTES:
                raise FrameError("too_large")
            try:
                content = json.loads(frame) if frame else None
            except (ValueError, RecursionError):
                raise FrameError("bad_request") from None
            kind = content.get("type") if isinstance(content, dict) else None
            handler = self.HANDLERS.get(kind) if isinstance(kind, str) else None
            if handler is None:
                raise FrameError("bad_request")
            await handler(self, content)
        except FrameError as error:
            await self._error(error.code)
        except OSError:  # the client went away
            return
        except Exception as exc:  # one bad frame never ends the call
            log.warning("video frame failed: %s", type(exc).__name__)
            with contextlib.suppress(OSError):
                await self._error("server_error")

    async def on_signal(self, content: dict) -> None:
        has_description, has_candidate = "description" in content, "candidate" in content
        if has_description == has_candidate:
            raise FrameError("bad_request")
        if has_description:
            description = clean_description(content["description"])
            if not self.peer_here:
                raise FrameError("no_peer")
            if description["type"] == "answer":
                if not self.offer_pending:
                    raise FrameError("out_of_order")
                self.offer_pending = False
            self.described = True
            await self._to_peer({"type": "video.signal", "description": description})
            return
        candidate = clean_candidate(content["candidate"])
        if not self.peer_here:
            raise FrameError("no_peer")
        if not self.described:
            raise FrameError("out_of_order")
        await self._to_peer({"type": "video.signal", "candidate": candidate})

    async def on_media(self, content: dict) -> None:
        media = clean_media(content)
        if not self.peer_here:
            raise FrameError("no_peer")
        await self._to_peer({"type": "video.media", **media})

    async def on_status(self, content: dict) -> None:
        state = content.get("state")
        if state not in PEER_STATES:
            raise FrameError("bad_request")
        if self.peer_here:
            await self._to_peer({"type": "video.peer", "event": state})

    async def on_ice(self, content: dict) -> None:
        config = await database_sync_to_async(self._config)()
        await self._send({"type": "ice", "config": config})

    async def on_ping(self, content: dict) -> None:
        await self._send({"type": "pong"})
        if time.monotonic() - self.checked_at >= RECHECK_SECONDS:
            self.checked_at = time.monotonic()
            reason = await self._recheck()
            if reason is not None:
                await self._to_peer({"type": "video.end", "reason": reason})
                await self._end(reason)

    async def on_leave(self, content: dict) -> None:
        self.left = True
        assert self.attendance is not None
        await database_sync_to_async(actions.do_leave)(self.attendance)
        await self._to_peer({"type": "video.peer", "event": "left"})
        await self.close(code=1000)

    HANDLERS = {
        "signal": on_signal,
        "media": on_media,
        "status": on_status,
        "ice": on_ice,
        "ping": on_ping,
        "leave": on_leave,
    }

    # --- events from the other side (channel layer) ----------------------------------------

    async def video_replace(self, event: dict) -> None:
        if event.get("by") == self.channel_name:
            return
        self.replaced = True
        with contextlib.suppress(OSError):
            await self._send({"type": "replaced"})
            await self.close(code=CLOSE_REPLACED)

    async def video_peer(self, event: dict) -> None:
        kind = event["event"]
        if kind == "joined":
            if event.get("from"):  # tell the newcomer someone is here
                await self.channel_layer.send(event["from"], {"type": "video.here"})
            if event.get("attendance") in self.known_peers:  # seen in the welcome already
                self.known_peers.discard(event["attendance"])
                return
            self.peer_here, self.described, self.offer_pending = True, False, False
        elif kind in {"left", "lost"}:
            self.peer_here, self.described, self.offer_pending = False, False, False
        await self._send({"type": "peer", "event": kind})

    async def video_here(self, event: dict) -> None:
        if not self.peer_here:  # both arrived at once: attendance did not show the peer yet
            self.peer_here = True
            await self._send({"type": "peer", "event": "joined"})

    async def video_signal(self, event: dict) -> None:
        if not self.peer_here or self.replaced:
            return
        frame = {key: event[key] for key in ("description", "candidate") if key in event}
        description = frame.get("description")
        if description is not None:
            self.described = True
            self.offer_pending = description["type"] == "offer"
        await self._send({"type": "signal", **frame})

    async def video_media(self, event: dict) -> None:
        if self.peer_here and not self.replaced:
            await self._send(
                {
                    "type": "media",
                    "audio": event["audio"],
                    "video": event["video"],
                    "screen": event["screen"],
                }
            )

    async def video_end(self, event: dict) -> None:
        await self._end(event["reason"])

    # --- helpers ---------------------------------------------------------------------------

    async def _to_peer(self, event: dict) -> None:
        await self.channel_layer.group_send(self.peer_group, event)

    async def _send(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame))

    async def _error(self, code: str) -> None:
        await self._send({"type": "error", "error": code})
