"""Two WebRTC peers (aiortc) talking through Caredoor's video signaling socket.

The server is the real ASGI application served by uvicorn in a thread of the test process
(``AsgiLiveServer`` from the browser tests), on the test database, with the Redis channel
layer when ``REDIS_URL`` is set. Each peer is an ``AiortcPeer``: a real WebSocket to
``/ws/video/<portal>/<room>/`` (the session cookie of a signed-in test client, the
brand's Host and a matching Origin) and a real ``RTCPeerConnection`` configured with the
``iceServers`` of the server's ``welcome`` (empty here), sending a video test pattern and
an audio track. The peers negotiate only through the server's ``signal`` frames, then run
real ICE (host candidates on 127.0.0.1), DTLS and SRTP between themselves and decode each
other's frames.

Rule for the test peers: the one told ``{"type": "peer", "event": "joined"}`` makes the
offer. aiortc gathers its candidates before ``setLocalDescription`` returns, so its SDP
carries them; a trickling peer (the default here) strips them from the description and
sends each as a ``candidate`` frame, then ``candidate: null``, the way a browser trickles.
When both peers trickle, neither description names an address, so the call connects only
if the server relayed the candidates and the other side added them (``addIceCandidate``).

What is not real: aioice gathers on 127.0.0.1 only (``loopback_ice``), so the test does not
depend on the machine's network interfaces; cutting a peer's network closes its ICE UDP
sockets (``AiortcPeer.cut``), since a test cannot unplug a cable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aioice.ice
import pytest
from aiortc import (
    RTCConfiguration,
    RTCDtlsTransport,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import (
    AudioStreamTrack,
    MediaStreamError,
    MediaStreamTrack,
    VideoStreamTrack,
)
from aiortc.sdp import candidate_from_sdp
from av import AudioFrame, VideoFrame
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client
from django.utils import timezone
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.video import actions
from caredoor.core.video.ice import IDENTITY, credential_is_valid
from caredoor.core.video.models import Attendance, Room
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type, require_session_consent

pytestmark = pytest.mark.integration

WAIT = 15.0  # seconds for something that must happen
QUIET = 0.6  # seconds of silence that show nothing more comes
FRAMES = 8  # decoded frames of each kind that prove media flows
WIDTH, HEIGHT = 160, 120  # the test pattern: small, so two peers encode it cheaply
SECRET = "coturn-static-auth-secret-for-tests"

T = TypeVar("T")


# --- the server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_server() -> Iterator[Any]:
    """uvicorn serving the ASGI app (HTTP and WebSockets) in a thread, on the test database.

    Named ``live_server`` so pytest-django's helper makes the tests transactional (the
    server's threads see their data) and allows the server's host.
    """
    from tests.e2e.conftest import AsgiLiveServer

    server = AsgiLiveServer()
    yield server
    server.stop()  # which closes the database connection the consumers kept


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice skips 127.0.0.1 when it gathers host candidates; here it is the only one."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture(autouse=True)
def p2p_without_ice_servers(settings: Any) -> None:
    """The p2p provider, no STUN and no TURN: ``iceServers`` is ``[]``, and nothing is
    asked of any server on the internet (aiortc would use Google's STUN given ``None``)."""
    settings.VIDEO = {
        **settings.VIDEO,
        "provider": "p2p",
        "stun_urls": [],
        "turn_urls": [],
        "turn_secret": "",
    }


@dataclass
class Call:
    """A confirmed booking of world A's patient and specialist, inside its join window."""

    port: int
    host: str
    booking: Booking
    room: str
    sessions: dict[str, str]  # who -> session cookie value

    def peer(self, who: str, portal: str | None = None, **options: Any) -> AiortcPeer:
        portal = portal or ("specialist" if who == "specialist" else "patient")
        return AiortcPeer(
            who, self.port, self.host, portal, self.room, self.sessions[who], **options
        )


def session_of(user: Any, host: str) -> str:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def move(booking: Booking, start: datetime) -> None:
    end = start + timedelta(minutes=50)
    Booking.objects.filter(pk=booking.pk).update(
        start=start, end=end, blocked_start=start, blocked_end=end
    )


@pytest.fixture
def call(world: Any, live_server: Any) -> Call:
    profile, _ = listed_with_hours(world.a)
    booking = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=make_type(profile),
        start=local(10),
    )
    move(booking, timezone.now() - timedelta(minutes=5))  # started five minutes ago
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    room = actions.room_for(booking)
    host = world.a.brand.domains.get(is_primary=True).host
    other_patient = factories.make_user("other.patient.a@example.test", name="Other Patient")
    factories.grant(other_patient, "patient", network=world.a.network, brand=world.a.brand)
    b_host = world.b.brand.domains.get(is_primary=True).host
    sessions = {
        "patient": session_of(world.a.patient, host),
        "specialist": session_of(world.a.specialist, host),
        "other_patient": session_of(other_patient, host),
        "org_admin": session_of(world.a.org_admin, host),
        "other_brand": session_of(world.b.patient, b_host),
        "other_brand_specialist": session_of(world.b.specialist, b_host),
    }
    return Call(live_server.port, host, booking, room.name, sessions)


def run(scenario: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, 90))


async def in_db(work: Callable[[], T]) -> T:
    """Database work from inside the scenario's event loop: on a thread of its own, which
    closes its connection afterwards."""

    def call() -> T:
        try:
            return work()
        finally:
            connections.close_all()

    return await asyncio.to_thread(call)


async def until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# --- the peer ------------------------------------------------------------------------------


class PatternTrack(VideoStreamTrack):
    """aiortc's test video track, as a small moving gradient (yuv420p) instead of a
    640x480 green frame."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        for index, plane in enumerate(frame.planes):
            shift = (self.count * 3 + index * 85) % 256
            row = bytes((x + shift) % 256 for x in range(plane.line_size))
            plane.update(row * (plane.buffer_size // plane.line_size))
        self.count += 1
        frame.pts = pts
        frame.time_base = time_base
        return frame


@dataclass
class Decoded:
    """One frame decoded from the remote track."""

    kind: str
    generation: int  # which of this peer's RTCPeerConnections received it
    width: int = 0
    height: int = 0
    sample_rate: int = 0
    samples: int = 0


def split_candidates(sdp: str) -> tuple[str, list[dict[str, Any]]]:
    """The SDP without its candidates, and the candidates as a browser's
    ``onicecandidate`` would give them (``candidate:...``, mid, m-line index, ufrag)."""
    head, *sections = sdp.split("\r\nm=")
    session_ufrag = next(
        (line[12:] for line in head.split("\r\n") if line.startswith("a=ice-ufrag:")), None
    )
    kept, candidates = [head], []
    for index, section in enumerate(sections):
        lines = section.split("\r\n")
        mid = next((line[6:] for line in lines if line.startswith("a=mid:")), None)
        ufrag = next(
            (line[12:] for line in lines if line.startswith("a=ice-ufrag:")), session_ufrag
        )
        for line in lines:
            if line.startswith("a=candidate:"):
                candidates.append(
                    {
                        "candidate": line[2:],
                        "sdpMid": mid,
                        "sdpMLineIndex": index,
                        "usernameFragment": ufrag,
                    }
                )
        kept.append(
            "\r\n".join(
                line
                for line in lines
                if not line.startswith("a=candidate:") and line != "a=end-of-candidates"
            )
        )
    return "\r\nm=".join(kept), candidates


class AiortcPeer:
    """One participant: a signaling socket and an ``RTCPeerConnection``.

    ``frames`` is everything the server sent, in order. The peer answers the protocol on
    its own (offers when told the other side joined, answers offers, adds candidates);
    ``failures`` collects what went wrong doing so, and every test asserts it is empty.
    """

    def __init__(
        self,
        name: str,
        port: int,
        host: str,
        portal: str,
        room: str,
        session: str | None,
        *,
        trickle: bool = True,
        origin: str | None = None,
        media: bool = True,
    ) -> None:
        self.name = name
        self.port = port
        self.host = host
        self.url = f"ws://{host}:{port}/ws/video/{portal}/{room}/"
        self.origin = origin or f"http://{host}:{port}"
        self.session = session
        self.trickle = trickle
        self.media = media  # False: a signaling socket only, no RTCPeerConnection
        self.auto_offer = True  # offer when told the other side joined
        self.frames: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.received: list[Decoded] = []
        self.sent_candidates = 0
        self.added_candidates = 0
        self.welcome: dict[str, Any] | None = None
        self.pc: RTCPeerConnection | None = None
        self.generation = 0
        self.ws: ClientConnection | None = None
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    # signaling

    async def connect(self) -> ClientConnection:
        """The WebSocket handshake, as a page on the brand's host makes it."""
        headers = {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={self.session}"}
        self.ws = await connect(
            self.url,
            host="127.0.0.1",
            port=self.port,
            origin=self.origin,  # type: ignore[arg-type]
            additional_headers=headers if self.session else None,
            open_timeout=WAIT,
            max_size=None,
        )
        return self.ws

    async def open(self) -> dict[str, Any]:
        """Connect and read the first frame (``welcome``, or ``refused``); then keep reading."""
        await self.connect()
        assert self.ws is not None
        try:
            first = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
        except ConnectionClosed:
            self.close_code = self.ws.close_code
            self.closed.set()
            return {}
        self.frames.append(first)
        if first["type"] == "welcome":
            self.welcome = first
        if first["type"] == "welcome" and self.media:
            self.pc = self._new_pc()
        self.tasks.append(asyncio.create_task(self._read()))
        return first

    async def send(self, **frame: Any) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps(frame))

    async def send_raw(self, data: str | bytes) -> None:
        assert self.ws is not None
        await self.ws.send(data)

    def mark(self) -> int:
        return len(self.frames)

    def since(self, mark: int) -> list[dict[str, Any]]:
        return self.frames[mark:]

    async def expect(self, kind: str, start: int = 0, **fields: Any) -> dict[str, Any]:
        """The first frame from ``start`` on of this type (and these field values)."""

        def match() -> dict[str, Any] | None:
            for frame in self.frames[start:]:
                if frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items()):
                    return frame
            return None

        await until(lambda: match() is not None, f"{self.name}: {kind} {fields}")
        found = match()
        assert found is not None
        return found

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for message in self.ws:
                frame = json.loads(message)
                self.frames.append(frame)
                try:
                    await self._handle(frame)
                except Exception as exc:
                    self.failures.append(f"{frame.get('type')}: {type(exc).__name__}: {exc}")
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()

    async def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if not self.media:
            return
        if kind == "peer" and frame["event"] == "joined" and self.auto_offer:
            await self.offer()
        elif kind == "signal" and "description" in frame:
            description = frame["description"]
            assert self.pc is not None
            if description["type"] == "offer":
                if self.pc.remoteDescription is not None:  # the other side came back
                    await self._renew_pc()
                await self.pc.setRemoteDescription(RTCSessionDescription(**description))
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                await self._send_description()
            else:
                await self.pc.setRemoteDescription(RTCSessionDescription(**description))
        elif kind == "signal" and "candidate" in frame:
            assert self.pc is not None
            await self.pc.addIceCandidate(self.remote_candidate(frame["candidate"]))
            self.added_candidates += frame["candidate"] is not None

    @staticmethod
    def remote_candidate(value: dict[str, Any] | None) -> Any:
        if value is None:
            return None  # end of candidates
        candidate = candidate_from_sdp(value["candidate"].removeprefix("candidate:"))
        candidate.sdpMid = value["sdpMid"]
        candidate.sdpMLineIndex = value["sdpMLineIndex"]
        return candidate

    async def offer(self) -> None:
        assert self.pc is not None
        if self.pc.localDescription is not None or self.pc.remoteDescription is not None:
            await self._renew_pc()  # a new peer: a new connection
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self._send_description()

    async def _send_description(self) -> None:
        assert self.pc is not None and self.pc.localDescription is not None
        description = self.pc.localDescription
        sdp, candidates = split_candidates(description.sdp)
        if not self.trickle:
            sdp, candidates = description.sdp, []
        await self.send(type="signal", description={"type": description.type, "sdp": sdp})
        if self.trickle:
            for candidate in candidates:
                await self.send(type="signal", candidate=candidate)
                self.sent_candidates += 1
            await self.send(type="signal", candidate=None)

    # media

    def _new_pc(self) -> RTCPeerConnection:
        assert self.welcome is not None
        servers = [RTCIceServer(**entry) for entry in self.welcome["config"]["iceServers"]]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        pc.addTrack(PatternTrack())
        pc.addTrack(AudioStreamTrack())
        self.generation += 1
        generation = self.generation

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tasks.append(asyncio.create_task(self._consume(track, generation)))

        return pc

    async def _renew_pc(self) -> None:
        assert self.pc is not None
        await self.pc.close()
        self.pc = self._new_pc()

    async def _consume(self, track: MediaStreamTrack, generation: int) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    decoded = Decoded("video", generation, frame.width, frame.height)
                elif isinstance(frame, AudioFrame):
                    decoded = Decoded(
                        "audio", generation, sample_rate=frame.sample_rate, samples=frame.samples
                    )
                else:
                    continue
                self.received.append(decoded)

    def count(self, kind: str) -> int:
        return sum(1 for decoded in self.received if decoded.kind == kind)

    async def media_flows(self, frames: int = FRAMES) -> list[Decoded]:
        """Wait for ``frames`` more decoded frames of each kind; return them."""
        start = len(self.received)
        video, audio = self.count("video"), self.count("audio")
        await until(
            lambda: self.count("video") >= video + frames and self.count("audio") >= audio + frames,
            f"{self.name}: {frames} more decoded video and audio frames",
        )
        return self.received[start:]

    async def connected(self) -> None:
        await until(
            lambda: self.pc is not None and self.pc.connectionState == "connected",
            f"{self.name}: connectionState connected",
        )

    @property
    def dtls(self) -> RTCDtlsTransport:
        assert self.pc is not None
        return self.pc.getTransceivers()[0].sender.transport

    def cut(self) -> None:
        """The network goes away under the media: close the UDP sockets of this peer's ICE
        transports (aioice's connection). Nothing more leaves or reaches this peer."""
        assert self.pc is not None
        for transceiver in self.pc.getTransceivers():
            connection = transceiver.sender.transport.transport._connection
            for protocol in list(connection._protocols):
                protocol.transport.close()

    def drop_socket(self) -> None:
        """The signaling socket dies without a closing handshake (no ``leave``)."""
        assert self.ws is not None
        self.ws.transport.abort()

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def peers() -> AsyncIterator[list[AiortcPeer]]:
    """Every peer put in the list is closed at the end, whatever happened."""
    opened: list[AiortcPeer] = []
    try:
        yield opened
    finally:
        for peer in opened:
            with contextlib.suppress(Exception):
                await peer.close()


async def join(opened: list[AiortcPeer], peer: AiortcPeer) -> AiortcPeer:
    opened.append(peer)
    welcome = await peer.open()
    assert welcome.get("type") == "welcome", welcome
    return peer


async def connect_call(
    call: Call, opened: list[AiortcPeer], **options: Any
) -> tuple[AiortcPeer, AiortcPeer]:
    """The specialist waits in the room, the patient joins; the specialist, told that the
    patient joined, offers. Returns them once media flows both ways."""
    specialist = await join(opened, call.peer("specialist", **options))
    assert specialist.welcome is not None and specialist.welcome["peer"] is False
    patient = await join(opened, call.peer("patient", **options))
    assert patient.welcome is not None and patient.welcome["peer"] is True
    await specialist.expect("peer", event="joined")
    await specialist.connected()
    await patient.connected()
    await asyncio.gather(specialist.media_flows(), patient.media_flows())
    return specialist, patient


async def attempt(
    call: Call, who: str | None, portal: str, *, host: str | None = None, origin: str | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """Someone tries the room; whatever they get, and the close code. Right after the
    handshake, before reading anything, they send an offer, a candidate, a media state and
    a status, which must reach nobody."""
    host = host or call.host
    peer = AiortcPeer(
        who or "anonymous",
        call.port,
        host,
        portal,
        call.room,
        call.sessions[who] if who else None,
        origin=origin,
    )
    try:
        ws = await peer.connect()
        with contextlib.suppress(ConnectionClosed):
            await peer.send(type="signal", description={"type": "offer", "sdp": "v=0\r\n"})
            await peer.send(type="signal", candidate={"candidate": "", "sdpMid": "0"})
            await peer.send(type="media", audio=True, video=True, screen=False)
            await peer.send(type="status", state="reconnecting")
        with contextlib.suppress(ConnectionClosed):
            while True:
                peer.frames.append(json.loads(await asyncio.wait_for(ws.recv(), WAIT)))
        return peer.frames, ws.close_code
    finally:
        await peer.close()


def assert_healthy(*room: AiortcPeer) -> None:
    for peer in room:
        assert peer.failures == [], (peer.name, peer.failures)
        assert peer.pc is not None and peer.pc.connectionState == "connected", peer.name


# --- the tests -----------------------------------------------------------------------------


def test_two_peers_connect_with_ice_dtls_srtp_and_exchange_media(call: Call) -> None:
    """Both trickle, so neither SDP names an address: the candidates the server relayed
    are the only way the two found each other."""

    async def scenario() -> dict[str, Any]:
        async with peers() as opened:
            specialist, patient = await connect_call(call, opened)
            # More media, then the side channels of the protocol: media state and status.
            got = {
                "specialist": await specialist.media_flows(),
                "patient": await patient.media_flows(),
            }
            mark = specialist.mark()
            await patient.send(type="media", audio=False, video=True, screen=False)
            await patient.send(type="status", state="connected")
            media = await specialist.expect("media", mark)
            status = await specialist.expect("peer", mark, event="connected")
            stats = {peer.name: await peer.pc.getStats() for peer in (specialist, patient)}
            assert_healthy(specialist, patient)
            return {
                "got": got,
                "media": media,
                "status": status,
                "stats": stats,
                "dtls": {
                    p.name: (p.dtls.state, p.dtls._role, p.dtls.transport.state) for p in opened
                },
                "srtp": {p.name: (p.dtls._rx_srtp, p.dtls._tx_srtp) for p in opened},
                "fingerprints": {
                    p.name: {
                        f"a=fingerprint:{f.algorithm} {f.value}"
                        for f in p.dtls.getLocalParameters().fingerprints
                    }
                    for p in opened
                },
                "remote_sdp": {p.name: p.pc.remoteDescription.sdp for p in opened},
                "candidates": {p.name: (p.sent_candidates, p.added_candidates) for p in opened},
                "frames": {p.name: list(p.frames) for p in opened},
            }

    result = run(scenario())
    for side, frames in result["got"].items():
        video = [f for f in frames if f.kind == "video"]
        audio = [f for f in frames if f.kind == "audio"]
        assert len(video) >= FRAMES and len(audio) >= FRAMES, side
        assert {(f.width, f.height) for f in video} == {(WIDTH, HEIGHT)}, side
        assert all(f.sample_rate == 48000 and f.samples > 0 for f in audio), side
    # DTLS: both transports connected, one client and one server, SRTP keyed from it.
    states = result["dtls"]
    assert {state for state, _, _ in states.values()} == {"connected"}
    assert {role for _, role, _ in states.values()} == {"client", "server"}
    assert {ice for _, _, ice in states.values()} == {"completed"}
    assert all(rx is not None and tx is not None for rx, tx in result["srtp"].values())
    # Each side checked the other's certificate against the fingerprint the server relayed.
    for me, other in (("specialist", "patient"), ("patient", "specialist")):
        sdp = result["remote_sdp"][me]
        assert "UDP/TLS/RTP/SAVPF" in sdp
        announced = {line for line in sdp.split("\r\n") if line.startswith("a=fingerprint:")}
        assert announced and announced <= result["fingerprints"][other]
    for name, report in result["stats"].items():
        transports = [s for s in report.values() if s.type == "transport"]
        assert transports and all(s.dtlsState == "connected" for s in transports), name
        inbound = [s for s in report.values() if s.type == "inbound-rtp"]
        assert {s.kind for s in inbound} == {"audio", "video"}, name
        assert all(s.packetsReceived > 0 for s in inbound), name
    # Trickle: every candidate went through the server and was added on the other side.
    for name, (sent, added) in result["candidates"].items():
        assert sent >= 1 and added >= 1, name
    assert result["candidates"]["patient"][0] == result["candidates"]["specialist"][1]
    assert result["candidates"]["specialist"][0] == result["candidates"]["patient"][1]
    assert result["media"] == {"type": "media", "audio": False, "video": True, "screen": False}
    assert result["status"] == {"type": "peer", "event": "connected"}
    # What the server said to each: welcome, then only the protocol's frames.
    kinds = {name: {f["type"] for f in frames} for name, frames in result["frames"].items()}
    assert kinds["specialist"] <= {"welcome", "peer", "signal", "media"}
    assert kinds["patient"] <= {"welcome", "signal"}
    welcome = result["frames"]["patient"][0]
    assert welcome["side"] == "patient" and welcome["polite"] is True
    assert welcome["config"] == {"provider": "p2p", "iceServers": []}
    assert result["frames"]["specialist"][0]["polite"] is False
    if os.environ.get("REDIS_URL"):  # then the frames went through Redis between consumers
        assert "channels_redis" in django_settings.CHANNEL_LAYERS["default"]["BACKEND"]


def test_outsiders_and_people_refused_by_the_join_rule_reach_nobody(call: Call, world: Any) -> None:
    """During a call, others try the room: each is refused with the documented reason and
    close code, nothing they send is relayed, and neither person in the call hears a
    thing. The booking's own patient and specialist, refused by the join rule (a missing
    consent, not yet, over, cancelled), do not replace their live sockets either: the
    rule is asked before anything else happens."""
    b_host = world.b.brand.domains.get(is_primary=True).host
    brand = world.a.brand

    def require_consent() -> None:
        require_session_consent(brand, call.booking.profile, world.a.specialist)

    soon = timezone.now() + timedelta(minutes=30)

    async def scenario() -> dict[str, Any]:
        async with peers() as opened:
            specialist, patient = await connect_call(call, opened)
            marks = (specialist.mark(), patient.mark())
            outcomes: dict[str, tuple[list[dict[str, Any]], int | None]] = {}
            outcomes["anonymous"] = await attempt(call, None, "patient")
            outcomes["foreign origin"] = await attempt(
                call, "patient", "patient", origin="http://evil.example:80"
            )
            outcomes["another patient"] = await attempt(call, "other_patient", "patient")
            outcomes["the brand's admin"] = await attempt(call, "org_admin", "specialist")
            outcomes["patient, wrong portal"] = await attempt(call, "patient", "specialist")
            outcomes["specialist, wrong portal"] = await attempt(call, "specialist", "patient")
            outcomes["other brand, its host"] = await attempt(
                call, "other_brand", "patient", host=b_host
            )
            outcomes["other brand's specialist, its host"] = await attempt(
                call, "other_brand_specialist", "specialist", host=b_host
            )
            outcomes["other brand, this host"] = await attempt(call, "other_brand", "patient")
            await in_db(require_consent)
            outcomes["consent missing"] = await attempt(call, "patient", "patient")
            await in_db(lambda: move(call.booking, soon))
            outcomes["early"] = await attempt(call, "patient", "patient")
            await in_db(lambda: move(call.booking, timezone.now() - timedelta(minutes=66)))
            outcomes["over, patient"] = await attempt(call, "patient", "patient")
            outcomes["over, specialist"] = await attempt(call, "specialist", "specialist")
            await in_db(
                lambda: Booking.objects.filter(pk=call.booking.pk).update(
                    status="cancelled_by_patient"
                )
            )
            outcomes["cancelled"] = await attempt(call, "specialist", "specialist")
            await asyncio.sleep(QUIET)
            heard = {"specialist": specialist.since(marks[0]), "patient": patient.since(marks[1])}
            # The call itself goes on.
            await asyncio.gather(specialist.media_flows(), patient.media_flows())
            assert_healthy(specialist, patient)
            return {"outcomes": outcomes, "heard": heard}

    result = run(scenario())

    def refusal(outcome: tuple[list[dict[str, Any]], int | None]) -> tuple[str | None, int | None]:
        """The reason of the one ``refused`` frame (``None`` for no frame), and the code."""
        frames, code = outcome
        assert len(frames) <= 1 and all(f["type"] == "refused" for f in frames), frames
        if frames and frames[0]["reason"] != "early":
            assert frames[0].get("opens") is None
        return (frames[0]["reason"] if frames else None), code

    outcomes = result["outcomes"]
    assert refusal(outcomes.pop("anonymous")) == (None, 4401)
    assert refusal(outcomes.pop("foreign origin")) == (None, 4403)
    for who in [
        "another patient",
        "the brand's admin",
        "patient, wrong portal",
        "specialist, wrong portal",
        "other brand, its host",
        "other brand's specialist, its host",
        "other brand, this host",
    ]:
        assert refusal(outcomes.pop(who)) == ("not_found", 4404), who
    assert refusal(outcomes.pop("consent missing")) == ("consents", 4403)
    early = outcomes.pop("early")
    assert refusal(early) == ("early", 4403)
    assert datetime.fromisoformat(early[0][0]["opens"]) == soon - timedelta(minutes=10)
    assert refusal(outcomes.pop("over, patient")) == ("over", 4403)
    assert refusal(outcomes.pop("over, specialist")) == ("over", 4403)
    assert refusal(outcomes.pop("cancelled")) == ("not_confirmed", 4403)
    assert outcomes == {}
    assert result["heard"] == {"specialist": [], "patient": []}
    # Only the two in the call were ever recorded in the room.
    room = Room.objects.get(name=call.room)
    assert Attendance.objects.filter(room=room).count() == 2


def test_bad_frames_get_errors_relay_nothing_and_leave_the_call_alone(call: Call) -> None:
    """Malformed, oversized and out-of-order frames, before the call connects and while
    media flows: each gets its documented error code, the other side hears nothing, the
    call connects and media keeps flowing."""
    big_sdp = "v=0\r\n" + "a=x-filler:" + "y" * 60_000 + "\r\n"  # under 64 KiB, SDP too long
    long_candidate = "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host " + "x" * 1_024
    bad: list[tuple[str, str | bytes]] = [
        ("bad_request", "this is not JSON {"),
        ("bad_request", "[1, 2, 3]"),
        ("bad_request", '"signal"'),
        ("bad_request", json.dumps({"type": 7})),
        ("bad_request", json.dumps({"type": "shout", "text": "hello"})),
        ("bad_request", json.dumps({"no": "type"})),
        ("bad_request", json.dumps({"type": "signal"})),
        ("bad_request", json.dumps({"type": "signal", "description": "v=0"})),
        ("bad_request", json.dumps({"type": "signal", "description": {"type": "offer"}})),
        (
            "bad_request",
            json.dumps({"type": "signal", "description": {"type": "offer", "sdp": 12}}),
        ),
        (
            "bad_request",
            json.dumps({"type": "signal", "description": {"type": "offer", "sdp": "hello"}}),
        ),
        (
            "bad_request",
            json.dumps({"type": "signal", "description": {"type": "rollback", "sdp": "v=0\r\n"}}),
        ),
        ("bad_request", json.dumps({"type": "signal", "candidate": "candidate:1 1 udp"})),
        (
            "bad_request",
            json.dumps({"type": "signal", "candidate": {"candidate": 5, "sdpMid": "0"}}),
        ),
        (
            "bad_request",
            json.dumps(
                {
                    "type": "signal",
                    "candidate": {"candidate": "candidate:1", "sdpMLineIndex": "zero"},
                }
            ),
        ),
        ("bad_request", json.dumps({"type": "media", "audio": "yes"})),
        ("bad_request", json.dumps({"type": "status", "state": "asleep"})),
        ("too_large", json.dumps({"type": "ping", "padding": "x" * (64 * 1024)})),
        (
            "too_large",
            json.dumps({"type": "signal", "description": {"type": "offer", "sdp": big_sdp}}),
        ),
        (
            "too_large",
            json.dumps(
                {"type": "signal", "candidate": {"candidate": long_candidate, "sdpMid": "0"}}
            ),
        ),
    ]
    answer = {"type": "signal", "description": {"type": "answer", "sdp": "v=0\r\n"}}
    candidate = {
        "type": "signal",
        "candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"},
    }

    async def errors_for(peer: AiortcPeer, frames: list[str | bytes]) -> list[str]:
        """Send each frame and read the error it gets (one frame at a time)."""
        codes = []
        for frame in frames:
            mark = peer.mark()
            await peer.send_raw(frame)
            codes.append((await peer.expect("error", mark))["error"])
        return codes

    def heard(
        specialist: AiortcPeer, patient: AiortcPeer, marks: tuple[int, int]
    ) -> dict[str, list[dict[str, Any]]]:
        """What each heard since the marks, other than the errors for its own frames."""
        return {
            peer.name: [f for f in peer.since(mark) if f["type"] != "error"]
            for peer, mark in ((specialist, marks[0]), (patient, marks[1]))
        }

    async def scenario() -> dict[str, Any]:
        async with peers() as opened:
            patient = call.peer("patient")
            patient.auto_offer = False  # it offers when the test says so
            await join(opened, patient)
            # Alone in the room: nobody to signal to.
            alone = await errors_for(
                patient,
                [
                    json.dumps({"type": "signal", "description": {"type": "offer", "sdp": "v=0"}}),
                    json.dumps({"type": "media", "audio": True, "video": True, "screen": False}),
                ],
            )
            specialist = await join(opened, call.peer("specialist"))
            await patient.expect("peer", event="joined")
            marks = (specialist.mark(), patient.mark())
            before = await errors_for(specialist, [json.dumps(answer)])
            marks = (specialist.mark(), marks[1])  # from here on the patient sends
            before += await errors_for(patient, [json.dumps(answer), json.dumps(candidate)])
            before_bad = await errors_for(patient, [frame for _, frame in bad])
            await asyncio.sleep(QUIET)
            heard_before = heard(specialist, patient, marks)
            await patient.offer()
            await specialist.connected()
            await patient.connected()
            await asyncio.gather(specialist.media_flows(), patient.media_flows())
            # In the call: the same again, and a second answer to the one offer.
            await asyncio.sleep(1.5)  # the rate limit's bucket refills
            marks = (specialist.mark(), patient.mark())
            during = await errors_for(specialist, [json.dumps(answer)])
            marks = (specialist.mark(), marks[1])
            during += await errors_for(patient, [json.dumps(answer)])
            during_bad = await errors_for(patient, [frame for _, frame in bad])
            await asyncio.sleep(QUIET)
            heard_during = heard(specialist, patient, marks)
            await asyncio.gather(specialist.media_flows(), patient.media_flows())
            # The room still relays good frames.
            mark = specialist.mark()
            await patient.send(type="media", audio=True, video=False, screen=False)
            relayed = await specialist.expect("media", mark)
            assert_healthy(specialist, patient)
            return {
                "alone": alone,
                "before": before,
                "before_bad": before_bad,
                "heard_before": heard_before,
                "during": during,
                "during_bad": during_bad,
                "heard_during": heard_during,
                "relayed": relayed,
            }

    result = run(scenario())
    expected = [code for code, _ in bad]
    assert result["alone"] == ["no_peer", "no_peer"]
    assert result["before"] == ["out_of_order", "out_of_order", "out_of_order"]
    assert result["before_bad"] == expected
    assert result["during"] == ["out_of_order", "out_of_order"]
    assert result["during_bad"] == expected
    assert result["heard_before"] == {"specialist": [], "patient": []}
    assert result["heard_during"] == {"specialist": [], "patient": []}
    assert result["relayed"] == {"type": "media", "audio": True, "video": False, "screen": False}


def test_a_burst_of_frames_is_rate_limited_once_and_the_socket_stays(call: Call) -> None:
    """200 frames at once: the burst allowance (60) is answered, the rest dropped, and
    ``rate_limited`` is said once (at most once a second); the socket stays open, and the
    call with it."""

    async def scenario() -> dict[str, Any]:
        async with peers() as opened:
            specialist, patient = await connect_call(call, opened)
            await asyncio.sleep(1.0)  # the bucket is full again
            marks = (patient.mark(), specialist.mark())
            for _ in range(200):
                await patient.send(type="ping")
            await asyncio.sleep(1.0)
            burst = patient.since(marks[0])
            await asyncio.sleep(2.0)
            mark = patient.mark()
            await patient.send(type="ping")
            pong = await patient.expect("pong", mark)
            mark = specialist.mark()
            await patient.send(type="media", audio=True, video=True, screen=False)
            media = await specialist.expect("media", mark)
            await asyncio.gather(specialist.media_flows(), patient.media_flows())
            assert_healthy(specialist, patient)
            return {
                "burst": burst,
                "pong": pong,
                "media": media,
                "specialist": specialist.since(marks[1]),
                "open": patient.close_code is None,
            }

    result = run(scenario())
    burst = result["burst"]
    limited = [f for f in burst if f == {"type": "error", "error": "rate_limited"}]
    pongs = [f for f in burst if f == {"type": "pong"}]
    assert len(limited) == 1
    assert len(pongs) + len(limited) == len(burst)
    assert 60 <= len(pongs) <= 70  # the burst allowance, and what refilled meanwhile
    assert result["open"] and result["pong"] == {"type": "pong"}
    assert result["specialist"] == [result["media"]]  # pings are never relayed


def test_a_cut_peer_rejoins_and_media_flows_again(call: Call) -> None:
    """The recovery path, twice, as the room page does it.

    aiortc implements no ICE restart (``restartIce`` and new ICE credentials in a
    renegotiation are not supported), so the cut peer recovers the way a rejoining page
    does: a new signaling socket and a new ``RTCPeerConnection``, and the other side,
    told ``joined``, offers again on a new connection of its own.

    1. The patient's network goes: its ICE UDP sockets are closed (``cut``: no packet
       leaves or reaches it, and the specialist stops receiving its frames) and its
       signaling socket dies without a closing handshake. The server tells the specialist
       ``lost``. The patient comes back on a new socket (``welcome`` with ``peer: true``),
       the specialist hears ``joined``, offers on a new connection, the patient answers,
       and media flows both ways again.
    2. The patient's media is cut again, but its old signaling socket stays open (the
       server has not noticed). The patient's new socket replaces it: the old one gets
       ``replaced`` and close code 4409, and nothing else; the specialist hears
       ``joined`` (not ``lost``), offers again, and media flows again.

    The peers send their descriptions with the candidates inside in the second round
    (aiortc's own way), trickled in the first.
    """

    async def scenario() -> dict[str, Any]:
        async with peers() as opened:
            specialist, patient = await connect_call(call, opened)
            # 1. The network goes: media and signaling.
            mark = specialist.mark()
            patient.cut()
            patient.drop_socket()
            lost = await specialist.expect("peer", mark, event="lost")
            await asyncio.sleep(0.5)  # frames already in flight
            frozen = specialist.count("video")
            await asyncio.sleep(1.0)
            stalled = specialist.count("video") == frozen
            await patient.close()
            back = await join(opened, call.peer("patient"))
            assert back.welcome is not None and back.welcome["peer"] is True
            await specialist.expect("peer", mark, event="joined")
            await specialist.connected()
            await back.connected()
            generation = specialist.generation
            await asyncio.gather(specialist.media_flows(), back.media_flows())
            round_one = specialist.since(mark)
            # 2. Media cut again; the old socket stays open and is replaced.
            specialist.trickle = False
            mark = specialist.mark()
            back.cut()
            old_mark = back.mark()
            again = await join(opened, call.peer("patient", trickle=False))
            await asyncio.wait_for(back.closed.wait(), WAIT)
            await specialist.expect("peer", mark, event="joined")
            await specialist.connected()
            await again.connected()
            await asyncio.gather(specialist.media_flows(), again.media_flows())
            await asyncio.sleep(QUIET)
            assert_healthy(specialist, again)
            left = await in_db(
                lambda: [
                    row.left_at is not None
                    for row in Attendance.objects.filter(
                        room__name=call.room, side="patient"
                    ).order_by("pk")
                ]
            )
            for peer in (patient, back):
                assert peer.failures == [], (peer.name, peer.failures)
            return {
                "lost": lost,
                "stalled": stalled,
                "round_one": [f for f in round_one if f["type"] == "peer"],
                "generations": (generation, specialist.generation),
                "old_socket": (back.since(old_mark), back.close_code),
                "round_two": [f for f in specialist.since(mark) if f["type"] == "peer"],
                "latest": [d.generation for d in specialist.received[-FRAMES:]],
                "again_welcome": again.welcome,
                "left": left,
            }

    result = run(scenario())
    assert result["stalled"], "the specialist kept receiving the cut patient's video"
    assert result["round_one"] == [
        {"type": "peer", "event": "lost"},
        {"type": "peer", "event": "joined"},
    ]
    assert result["old_socket"] == ([{"type": "replaced"}], 4409)
    assert result["round_two"] == [{"type": "peer", "event": "joined"}]
    first, last = result["generations"]
    assert (first, last) == (2, 3)  # a new connection for each return
    assert set(result["latest"]) == {3}  # frames of the newest connection
    assert result["again_welcome"]["peer"] is True
    # Attendance: the lost socket and the replaced one have left; the newest is in.
    assert result["left"] == [True, True, False]


def test_turn_credentials_expire_and_a_fresh_list_expires_later(call: Call, settings: Any) -> None:
    """With TURN configured, the welcome's ``iceServers`` carries a coturn REST-API
    credential valid for ``VIDEO_TURN_TTL`` seconds, up to and including its expiry
    second and not after; ``{"type": "ice"}`` (asked before an ICE restart) answers a new
    credential, which expires later. The identity in it is an opaque id."""
    settings.VIDEO = {
        **settings.VIDEO,
        "stun_urls": ["stun:turn.example.org:3478"],
        "turn_urls": ["turn:turn.example.org:3478?transport=udp"],
        "turn_secret": SECRET,
        "turn_ttl": 120,
    }

    async def scenario() -> tuple[dict[str, Any], float, dict[str, Any], float]:
        async with peers() as opened:
            patient = await join(opened, call.peer("patient", media=False))
            welcomed_at = time.time()
            # Into the next second, so a fresh credential's expiry must be later.
            await asyncio.sleep(1.05 - welcomed_at % 1)
            asked_at = time.time()
            mark = patient.mark()
            await patient.send(type="ice")
            fresh = await patient.expect("ice", mark)
            assert patient.welcome is not None
            return patient.welcome, welcomed_at, fresh, asked_at

    welcome, welcomed_at, fresh, asked_at = run(scenario())
    assert welcome["type"] == "welcome" and fresh["type"] == "ice"
    stun, turn = welcome["config"]["iceServers"]
    assert stun == {"urls": ["stun:turn.example.org:3478"]}
    _, fresh_turn = fresh["config"]["iceServers"]
    assert fresh["config"]["provider"] == "p2p"

    def expiry(entry: dict[str, Any]) -> int:
        stamp, identity = entry["username"].split(":")
        assert IDENTITY.match(identity), identity
        return int(stamp)

    first, second = expiry(turn), expiry(fresh_turn)
    # TTL after the moment each was made (the server's clock is this process's clock).
    assert int(welcomed_at) + 119 <= first <= int(welcomed_at) + 120
    assert int(asked_at) + 120 <= second <= int(asked_at) + 121
    assert second > first
    # The identity is the same opaque per-join id, never the person.
    assert turn["username"].split(":")[1] == fresh_turn["username"].split(":")[1]
    patient = call.booking.patient
    identity = turn["username"].split(":")[1]
    assert patient.email not in identity and patient.display_name not in identity
    for entry, stamp in ((turn, first), (fresh_turn, second)):
        username, credential = entry["username"], entry["credential"]
        expires = datetime.fromtimestamp(stamp, UTC)
        assert credential_is_valid(username, credential, SECRET, timezone.now())
        assert credential_is_valid(username, credential, SECRET, expires)
        assert credential_is_valid(
            username, credential, SECRET, expires + timedelta(microseconds=999_999)
        )
        assert not credential_is_valid(username, credential, SECRET, expires + timedelta(seconds=1))
        assert not credential_is_valid(username, credential, "another-secret-entirely", expires)
    # When the first has expired, the fresh one still works.
    after_first = datetime.fromtimestamp(first + 1, UTC)
    assert not credential_is_valid(turn["username"], turn["credential"], SECRET, after_first)
    assert credential_is_valid(
        fresh_turn["username"], fresh_turn["credential"], SECRET, after_first
    )
