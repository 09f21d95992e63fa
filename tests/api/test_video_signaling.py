"""The video signaling socket (``/ws/video/<portal>/<room>/``) through the whole ASGI edge.

Real sockets (Channels' ``WebsocketCommunicator``) on the in-memory layer, speaking the
protocol of docs/video.md ("Signaling"): who is admitted, what is relayed to whom, and
that bad frames cost their sender an error and never the call. The aiortc tests
(tests/e2e/test_video_aiortc.py) run real media through the same consumer.
"""

from __future__ import annotations

import asyncio
import functools
import json
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.utils import timezone

from caredoor.api import video_signaling
from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.notifications.models import Notification
from caredoor.core.notifications.push import video_group
from caredoor.core.video import actions
from caredoor.core.video.models import Attendance, Side
from tests.booking_helpers import listed_with_hours, local, make_type, require_session_consent
from tests.conftest import host_of

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 3
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\n"}
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


def synced(test: Any) -> Any:
    """Run an async test body on asgiref's loop (the project has no asyncio plugin)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> Any:
        return async_to_sync(test)(*args, **kwargs)

    return run


@pytest.fixture(autouse=True)
def in_memory_layer():
    layers = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    with override_settings(CHANNEL_LAYERS=layers):
        yield
    channel_layers.backends.clear()


def _move(booking: Booking, start) -> Booking:
    end = start + timedelta(minutes=50)
    Booking.objects.filter(pk=booking.pk).update(
        start=start, end=end, blocked_start=start, blocked_end=end
    )
    booking.refresh_from_db()
    return booking


@pytest.fixture
def booked(world):
    """Brand A's patient and specialist, a confirmed session that started five minutes
    ago, and its room."""
    profile, _ = listed_with_hours(world.a)
    booking = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=make_type(profile),
        start=local(10),
    )
    booking = _move(booking, timezone.now() - timedelta(minutes=5))
    assert booking.status == BookingStatus.CONFIRMED
    return booking, actions.room_for(booking)


@pytest.fixture
def session_of(client_for):
    def make(user, brand) -> tuple[str, str]:
        return host_of(brand), client_for(user, brand).cookies["sessionid"].value

    return make


class Peer:
    """One side's socket, as the room page holds it."""

    def __init__(self, host: str, session: str | None, portal: str, room: str) -> None:
        from caredoor.config.asgi import application

        headers = [(b"host", host.encode()), (b"origin", f"http://{host}".encode())]
        if session:
            headers.append((b"cookie", f"sessionid={session}".encode()))
        path = f"/ws/video/{portal}/{room}/"
        self.comm = WebsocketCommunicator(application, path, headers=headers)
        self.first: dict[str, Any] = {}

    async def open(self) -> Peer:
        connected, _ = await self.comm.connect(timeout=TIMEOUT)
        assert connected
        self.first = await self.recv()
        return self

    async def send(self, **content: Any) -> None:
        await self.comm.send_json_to(content)

    async def recv(self) -> dict[str, Any]:
        return await self.comm.receive_json_from(timeout=TIMEOUT)

    async def closed_with(self) -> int:
        output = await self.comm.receive_output(timeout=TIMEOUT)
        assert output["type"] == "websocket.close", output
        return output["code"]

    async def nothing(self, timeout: float = 0.3) -> None:
        assert await self.comm.receive_nothing(timeout=timeout)

    async def close(self) -> None:
        await self.comm.disconnect()


@pytest.fixture
def peers(world, booked, session_of):
    """``await make(user, portal)`` opens a socket into the booked room."""
    _booking, room = booked

    async def make(user, portal: str, brand=None, name: str | None = None) -> Peer:
        host, session = await sync_to_async(session_of)(user, brand or world.a.brand)
        return await Peer(host, session, portal, name or room.name).open()

    return make


async def _pair(world, peers) -> tuple[Peer, Peer]:
    patient = await peers(world.a.patient, "patient")
    specialist = await peers(world.a.specialist, "specialist")
    assert await patient.recv() == {"type": "peer", "event": "joined"}
    return patient, specialist


@synced
async def test_both_join_and_each_hears_only_the_other(world, booked, peers):
    patient = await peers(world.a.patient, "patient")
    welcome = patient.first
    assert welcome["type"] == "welcome"
    assert welcome["side"] == "patient" and welcome["peer"] is False
    assert welcome["polite"] is True
    assert welcome["config"] == {"provider": "p2p", "iceServers": []}
    assert welcome["fallbackSeconds"] == world.a.brand.video_fallback_seconds
    specialist = await peers(world.a.specialist, "specialist")
    assert specialist.first["peer"] is True and specialist.first["polite"] is False
    assert await patient.recv() == {"type": "peer", "event": "joined"}

    await specialist.send(type="signal", description=OFFER)
    assert await patient.recv() == {"type": "signal", "description": OFFER}
    await specialist.send(type="signal", candidate={**CANDIDATE, "extra": "not relayed"})
    assert await patient.recv() == {"type": "signal", "candidate": CANDIDATE}
    await patient.send(type="signal", description=ANSWER)
    assert await specialist.recv() == {"type": "signal", "description": ANSWER}
    await patient.send(type="signal", candidate=None)
    assert await specialist.recv() == {"type": "signal", "candidate": None}
    await patient.send(type="media", audio=False, video=True, token="x")
    assert await specialist.recv() == {
        "type": "media",
        "audio": False,
        "video": True,
        "screen": False,
    }
    await patient.send(type="status", state="reconnecting")
    assert await specialist.recv() == {"type": "peer", "event": "reconnecting"}
    await patient.nothing()  # nothing echoed to its sender

    rows = await sync_to_async(list)(
        Attendance.objects.filter(room=booked[1]).values_list("side", "left_at")
    )
    assert sorted(side for side, _ in rows) == [Side.PATIENT, Side.SPECIALIST]
    assert all(left is None for _, left in rows)
    await patient.send(type="leave")
    assert await specialist.recv() == {"type": "peer", "event": "left"}
    assert await patient.closed_with() == 1000
    await specialist.close()
    left = await sync_to_async(list)(
        Attendance.objects.filter(room=booked[1]).values_list("left_at", flat=True)
    )
    assert all(left)


@synced
async def test_the_patient_waiting_alone_tells_the_specialist(world, booked, peers):
    patient = await peers(world.a.patient, "patient")
    assert patient.first["peer"] is False
    notice = await sync_to_async(
        Notification.objects.filter(user=world.a.specialist, kind="booking.waiting").first
    )()
    assert notice is not None and notice.portal == "specialist"
    await patient.close()


@synced
async def test_refused_people_get_nothing_and_send_nothing(world, booked, peers, session_of):
    _booking, room = booked
    patient, specialist = await _pair(world, peers)
    cases = [
        (world.outsider, "patient", None, "not_found"),  # signed in, not in the booking
        (world.a.operator, "specialist", None, "not_found"),
        (world.a.specialist, "patient", None, "not_found"),  # the wrong portal
        (world.b.patient, "patient", world.b.brand, "not_found"),  # another brand's host
        (world.a.patient, "organization", None, "not_found"),
    ]
    for user, portal, brand, reason in cases:
        outsider = await peers(user, portal, brand)
        assert outsider.first == {"type": "refused", "reason": reason, "opens": None}
        assert await outsider.closed_with() == video_signaling.CLOSE_NOT_FOUND
    anonymous = Peer(await sync_to_async(host_of)(world.a.brand), None, "patient", room.name)
    await anonymous.comm.connect(timeout=TIMEOUT)
    assert await anonymous.closed_with() == video_signaling.CLOSE_UNAUTHENTICATED
    unknown = await peers(world.a.patient, "patient", name="0" * 32)
    assert unknown.first["reason"] == "not_found"
    await patient.nothing()
    await specialist.nothing()
    await patient.close()
    await specialist.close()


@synced
async def test_outside_the_window_the_room_is_refused_with_when_it_opens(world, booked, peers):
    booking, _room = booked
    await sync_to_async(_move)(booking, timezone.now() + timedelta(minutes=30))
    early = await peers(world.a.patient, "patient")
    assert early.first["reason"] == "early"
    assert early.first["opens"] == (booking.start - timedelta(minutes=10)).isoformat()
    assert await early.closed_with() == video_signaling.CLOSE_REFUSED
    await sync_to_async(_move)(booking, timezone.now() - timedelta(hours=2))
    late = await peers(world.a.specialist, "specialist")
    assert late.first == {"type": "refused", "reason": "over", "opens": None}
    count = await sync_to_async(Attendance.objects.count)()
    assert count == 0


@synced
async def test_a_patient_with_a_missing_consent_is_refused_the_specialist_waits(
    world, booked, peers
):
    booking, _room = booked

    await sync_to_async(
        lambda: require_session_consent(world.a.brand, booking.profile, world.a.specialist)
    )()
    specialist = await peers(world.a.specialist, "specialist")
    assert specialist.first["type"] == "welcome"
    patient = await peers(world.a.patient, "patient")
    assert patient.first == {"type": "refused", "reason": "consents", "opens": None}
    await specialist.nothing()  # no "joined", nothing relayed
    await specialist.close()


@synced
async def test_bad_frames_cost_an_error_never_the_call(world, peers):
    patient = await peers(world.a.patient, "patient")
    await patient.send(type="signal", description=OFFER)
    assert await patient.recv() == {"type": "error", "error": "no_peer"}
    specialist = await peers(world.a.specialist, "specialist")
    assert (await patient.recv())["event"] == "joined"
    bad: list[tuple[str, str]] = [
        ("not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        (json.dumps({"type": "shout"}), "bad_request"),
        (json.dumps({"type": 7}), "bad_request"),
        (json.dumps({"type": "signal"}), "bad_request"),
        (json.dumps({"type": "signal", "description": OFFER, "candidate": None}), "bad_request"),
        (json.dumps({"type": "signal", "description": {"type": "rollback"}}), "bad_request"),
        (
            json.dumps({"type": "signal", "description": {"type": "offer", "sdp": "hi"}}),
            "bad_request",
        ),
        (json.dumps({"type": "signal", "description": {"type": "offer", "sdp": 5}}), "bad_request"),
        (json.dumps({"type": "signal", "candidate": {"candidate": "x"}}), "bad_request"),
        (
            json.dumps({"type": "signal", "candidate": {**CANDIDATE, "sdpMLineIndex": True}}),
            "bad_request",
        ),
        (json.dumps({"type": "media", "audio": "yes"}), "bad_request"),
        (json.dumps({"type": "status", "state": "gone"}), "bad_request"),
        ("{" * 100_000, "too_large"),
        (
            json.dumps(
                {"type": "signal", "description": {"type": "offer", "sdp": "v=0" + "a" * 61_000}}
            ),
            "too_large",
        ),
        (
            json.dumps(
                {
                    "type": "signal",
                    "candidate": {**CANDIDATE, "candidate": "candidate:" + "1" * 2000},
                }
            ),
            "too_large",
        ),
        (json.dumps({"type": "signal", "description": ANSWER}), "out_of_order"),  # no offer
        (json.dumps({"type": "signal", "candidate": CANDIDATE}), "out_of_order"),  # no description
        ("[" * 5000 + "]" * 5000, "bad_request"),  # nested too deep for the parser
    ]
    for frame, code in bad:
        await patient.comm.send_to(text_data=frame)
        assert await patient.recv() == {"type": "error", "error": code}, frame[:60]
    await specialist.nothing()  # nothing of it reached the other side
    # The room still works.
    await patient.send(type="signal", description=OFFER)
    assert await specialist.recv() == {"type": "signal", "description": OFFER}
    await specialist.send(type="signal", description=ANSWER)
    assert await patient.recv() == {"type": "signal", "description": ANSWER}
    await specialist.send(type="signal", description=ANSWER)  # a second answer
    assert await specialist.recv() == {"type": "error", "error": "out_of_order"}
    await patient.send(type="ping")
    assert await patient.recv() == {"type": "pong"}
    await patient.close()
    await specialist.close()


@synced
async def test_a_flood_is_rate_limited_once_and_the_socket_stays(world, peers):
    patient, specialist = await _pair(world, peers)
    for _ in range(200):
        await patient.send(type="media", audio=True, video=True)
    frames = []
    while not await patient.comm.receive_nothing(timeout=0.3):
        frames.append(await patient.recv())
    assert frames == [{"type": "error", "error": "rate_limited"}]
    relayed = 0
    while not await specialist.comm.receive_nothing(timeout=0.3):
        assert (await specialist.recv())["type"] == "media"
        relayed += 1
    assert video_signaling.FRAME_BURST <= relayed < 100
    await asyncio.sleep(0.2)
    await patient.send(type="ping")
    assert await patient.recv() == {"type": "pong"}
    await patient.close()
    await specialist.close()


@synced
async def test_a_newer_socket_replaces_the_older_and_a_drop_is_lost(world, booked, peers):
    patient, specialist = await _pair(world, peers)
    again = await peers(world.a.patient, "patient")
    assert again.first["type"] == "welcome" and again.first["peer"] is True
    assert await patient.recv() == {"type": "replaced"}
    assert await patient.closed_with() == video_signaling.CLOSE_REPLACED
    assert await specialist.recv() == {"type": "peer", "event": "joined"}
    await specialist.nothing()  # the replaced socket is not reported lost
    open_rows = await sync_to_async(
        Attendance.objects.filter(room=booked[1], side=Side.PATIENT, left_at__isnull=True).count
    )()
    assert open_rows == 1
    await specialist.send(type="signal", description=OFFER)
    assert await again.recv() == {"type": "signal", "description": OFFER}
    await again.close()  # gone without "leave"
    assert await specialist.recv() == {"type": "peer", "event": "lost"}
    await specialist.close()


@synced
async def test_fresh_ice_servers_on_request(world, peers, settings):
    settings.VIDEO = {
        **settings.VIDEO,
        "turn_urls": ["turn:turn.example.org:3478"],
        "turn_secret": "a-shared-secret-of-length",
        "turn_ttl": 600,
    }
    patient = await peers(world.a.patient, "patient")
    turn = patient.first["config"]["iceServers"][-1]
    expiry, identity = turn["username"].split(":")
    assert int(expiry) >= timezone.now().timestamp() + 590
    assert identity.startswith("a") and world.a.patient.email not in turn["username"]
    await patient.send(type="ice")
    fresh = await patient.recv()
    assert fresh["type"] == "ice"
    assert fresh["config"]["iceServers"][-1]["username"].endswith(f":{identity}")
    await patient.close()


@synced
async def test_the_room_ends_when_its_window_closes(world, booked, peers):
    booking, _room = booked
    grace = world.a.brand.video_join_grace_minutes
    closes = timezone.now() + timedelta(seconds=1)
    await sync_to_async(_move)(booking, closes - timedelta(minutes=grace + 50))
    patient, specialist = await _pair(world, peers)
    assert await patient.recv() == {"type": "ended", "reason": "over"}
    assert await patient.closed_with() == video_signaling.CLOSE_ENDED
    assert await specialist.recv() == {"type": "ended", "reason": "over"}


@synced
async def test_a_cancelled_booking_ends_the_call_at_the_next_check(
    world, booked, peers, monkeypatch
):
    booking, _room = booked
    patient, specialist = await _pair(world, peers)
    await sync_to_async(Booking.objects.filter(pk=booking.pk).update)(
        status=BookingStatus.CANCELLED_BY_SPECIALIST
    )
    monkeypatch.setattr(video_signaling, "RECHECK_SECONDS", 0.0)
    await patient.send(type="ping")
    assert await patient.recv() == {"type": "pong"}
    assert await patient.recv() == {"type": "ended", "reason": "not_confirmed"}
    assert await specialist.recv() == {"type": "ended", "reason": "not_confirmed"}


@synced
async def test_a_late_announcement_of_a_peer_already_welcomed_is_not_news(world, booked, peers):
    """Both arrive at once: the specialist's welcome already counted the patient, whose
    "joined" reaches the specialist afterwards. The page hears of the patient once."""
    _booking, room = booked
    _patient, specialist = await _pair(world, peers)
    row = await sync_to_async(
        Attendance.objects.filter(room=room, side=Side.PATIENT, left_at__isnull=True).get
    )()
    layer = channel_layers["default"]
    late = {"type": "video.peer", "event": "joined", "from": "", "attendance": row.pk}
    await layer.group_send(video_group(room.name, Side.SPECIALIST), late)
    await specialist.nothing()
    # A real rejoin (a new join row) is news.
    again = await peers(world.a.patient, "patient")
    assert again.first["peer"] is True
    assert await specialist.recv() == {"type": "peer", "event": "joined"}
    await again.close()
    await specialist.close()
