"""Video providers: peer to peer and LiveKit (caredoor/core/video/providers, docs/video.md).

A LiveKit server cannot run here, so the LiveKit adapter talks to an ``httpx.MockTransport``
that records each request and answers as LiveKit's Twirp room service does: these tests
verify the HTTP shape LiveKit documents (URL, bearer token with its grant, JSON body) and
the error path, not a real room. The join token is checked by decoding it with PyJWT.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from caredoor.core.video.ice import credential_is_valid
from caredoor.core.video.providers import (
    LiveKitProvider,
    P2PProvider,
    VideoProvider,
    VideoProviderError,
    get_provider,
)

KEY = "APIkey123"
SECRET = "livekit-secret-0123456789abcdef-xyz"
URL = "wss://livekit.example.org"
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
TURN_SECRET = "coturn-static-auth-secret-0123"


def video_settings(**overrides):
    video = {
        "provider": "p2p",
        "stun_urls": [],
        "turn_urls": [],
        "turn_secret": "",
        "turn_ttl": 3600,
        "livekit": None,
    }
    return {**video, **overrides}


class LiveKit:
    """A stand-in for LiveKit's RoomService (an httpx.MockTransport handler)."""

    def __init__(self, status: int = 200, body: dict | None = None) -> None:  # type: ignore[type-arg]
        self.status = status
        self.body = body if body is not None else {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body)

    def provider(self, url: str = URL) -> LiveKitProvider:
        return LiveKitProvider(url, KEY, SECRET, transport=httpx.MockTransport(self))


def decode(token: str, secret: str = SECRET) -> dict:  # type: ignore[type-arg]
    """The claims, signature checked; the times are checked by the tests (tokens made at
    the fixed NOW are not valid on today's clock)."""
    options = {"verify_nbf": False, "verify_exp": False}
    return jwt.decode(token, secret, algorithms=["HS256"], options=options)


# --- peer to peer -------------------------------------------------------------------------


def test_p2p_config_is_the_ice_servers(settings):
    settings.VIDEO = video_settings(
        stun_urls=["stun:stun.example.org"],
        turn_urls=["turns:turn.example.org:5349"],
        turn_secret=TURN_SECRET,
    )
    provider = P2PProvider()
    config = provider.client_config("room-1", "p-42", "Dr. Example", now=NOW)
    assert config["provider"] == "p2p"
    stun, turn = config["iceServers"]
    assert stun == {"urls": ["stun:stun.example.org"]}
    assert turn["urls"] == ["turns:turn.example.org:5349"]
    assert turn["username"] == f"{int((NOW + timedelta(hours=1)).timestamp())}:p-42"
    assert credential_is_valid(turn["username"], turn["credential"], TURN_SECRET, NOW)
    assert "Dr. Example" not in json.dumps(config)  # the name never reaches the TURN server
    assert provider.open_room("room-1", max_participants=2, empty_timeout=300) is None
    assert provider.close_room("room-1") is None


def test_p2p_config_without_ice_servers(settings):
    settings.VIDEO = video_settings()
    assert P2PProvider().client_config("room-1", "p-42", "Pat") == {
        "provider": "p2p",
        "iceServers": [],
    }


# --- LiveKit: the join token ----------------------------------------------------------------


def test_livekit_config_carries_a_join_token():
    provider = LiveKitProvider(URL, KEY, SECRET)
    config = provider.client_config("room-1", "p-42", "Dr. Example", now=NOW)
    assert set(config) == {"provider", "url", "token"}
    assert config["provider"] == "livekit" and config["url"] == URL
    claims = decode(config["token"])
    assert claims == {
        "iss": KEY,
        "sub": "p-42",
        "name": "Dr. Example",
        "nbf": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=15)).timestamp()),
        "video": {
            "room": "room-1",
            "roomJoin": True,
            "canPublish": True,
            "canSubscribe": True,
            "canPublishData": True,
        },
    }
    assert jwt.get_unverified_header(config["token"])["alg"] == "HS256"


def test_livekit_token_ttl_is_the_callers_choice_and_is_enforced():
    provider = LiveKitProvider(URL, KEY, SECRET)
    now = timezone.now().replace(microsecond=0)
    token = provider.access_token("room-1", "p-42", "Pat", now=now, ttl=90 * 60)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])  # nbf and exp checked: valid now
    assert claims["exp"] - claims["nbf"] == 90 * 60
    expired = provider.access_token("room-1", "p-42", "Pat", now=now - timedelta(hours=1), ttl=60)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired, SECRET, algorithms=["HS256"])
    with pytest.raises(ValueError, match="ttl"):
        provider.access_token("room-1", "p-42", "Pat", ttl=0)


def test_livekit_token_does_not_decode_with_another_secret():
    token = LiveKitProvider(URL, KEY, SECRET).access_token("room-1", "p-42", "Pat", now=NOW)
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, "a-different-secret-0123456789abcdef")


@pytest.mark.parametrize("identity", ["pat@example.org", "Pat Example", ""])
def test_livekit_identity_must_be_an_opaque_id(identity):
    with pytest.raises(ValueError, match="opaque id"):
        LiveKitProvider(URL, KEY, SECRET).access_token("room-1", identity, "Pat")


def test_livekit_repr_hides_the_secret():
    assert SECRET not in repr(LiveKitProvider(URL, KEY, SECRET))


# --- LiveKit: rooms through the Twirp server API ---------------------------------------------


def assert_server_call(request: httpx.Request, method: str) -> dict:  # type: ignore[type-arg]
    assert request.method == "POST"
    assert str(request.url) == f"https://livekit.example.org/twirp/livekit.RoomService/{method}"
    assert request.headers["Content-Type"] == "application/json"
    scheme, token = request.headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["iss"] == KEY and claims["video"] == {"roomCreate": True}
    assert 0 < claims["exp"] - claims["nbf"] <= 600
    return json.loads(request.content)


def test_open_room_creates_it():
    livekit = LiveKit(body={"sid": "RM_x", "name": "room-1"})
    livekit.provider().open_room("room-1", max_participants=2, empty_timeout=300)
    [request] = livekit.requests
    body = assert_server_call(request, "CreateRoom")
    assert body == {"name": "room-1", "empty_timeout": 300, "max_participants": 2}


def test_close_room_deletes_it():
    livekit = LiveKit()
    livekit.provider().close_room("room-1")
    [request] = livekit.requests
    assert assert_server_call(request, "DeleteRoom") == {"room": "room-1"}


def test_plain_ws_url_calls_the_server_over_http_and_keeps_a_path():
    livekit = LiveKit()
    livekit.provider("ws://127.0.0.1:7880/lk/").close_room("room-1")
    [request] = livekit.requests
    assert str(request.url) == "http://127.0.0.1:7880/lk/twirp/livekit.RoomService/DeleteRoom"


def test_server_error_is_a_video_provider_error(caplog):
    livekit = LiveKit(500, {"code": "internal", "msg": "room room-1 for p-42 failed"})
    with caplog.at_level(logging.WARNING), pytest.raises(VideoProviderError) as error:
        livekit.provider().open_room("room-1", max_participants=2, empty_timeout=300)
    assert str(error.value) == "LiveKit refused CreateRoom: HTTP 500"
    assert "LiveKit CreateRoom failed: HTTP 500" in caplog.text
    assert "room-1" not in caplog.text and SECRET not in caplog.text


def test_unreachable_server_is_a_video_provider_error(caplog):
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    provider = LiveKitProvider(URL, KEY, SECRET, transport=httpx.MockTransport(down))
    with caplog.at_level(logging.WARNING), pytest.raises(VideoProviderError) as error:
        provider.close_room("room-1")
    assert str(error.value) == "LiveKit could not be reached (DeleteRoom): ConnectTimeout"
    assert "LiveKit DeleteRoom failed: ConnectTimeout" in caplog.text


def test_closing_a_room_livekit_no_longer_knows_is_fine():
    livekit = LiveKit(404, {"code": "not_found", "msg": "requested room does not exist"})
    livekit.provider().close_room("room-1")
    assert len(livekit.requests) == 1
    with pytest.raises(VideoProviderError, match="HTTP 404"):
        livekit.provider().open_room("room-1", max_participants=2, empty_timeout=300)


# --- selection ----------------------------------------------------------------------------


def test_get_provider_follows_the_setting(settings):
    settings.VIDEO = video_settings()
    provider = get_provider()
    assert isinstance(provider, P2PProvider) and provider.name == "p2p"
    assert isinstance(provider, VideoProvider)

    settings.VIDEO = video_settings(
        provider="livekit", livekit={"url": URL, "api_key": KEY, "api_secret": SECRET}
    )
    provider = get_provider()
    assert isinstance(provider, LiveKitProvider) and provider.name == "livekit"
    assert isinstance(provider, VideoProvider)
    assert provider.url == URL and provider.api_url == "https://livekit.example.org"
    assert decode(provider.client_config("r", "p-1", "Pat")["token"])["iss"] == KEY


def test_get_provider_refuses_an_incomplete_setting(settings):
    settings.VIDEO = video_settings(provider="livekit")
    with pytest.raises(ImproperlyConfigured):
        get_provider()
    settings.VIDEO = video_settings(provider="jitsi")
    with pytest.raises(ImproperlyConfigured):
        get_provider()
