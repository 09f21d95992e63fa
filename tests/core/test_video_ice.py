"""ICE servers and TURN credentials (caredoor/core/video/ice.py, docs/video.md).

The credentials are checked against an HMAC computed here, independently, and against
coturn's rules for ``use-auth-secret`` (the timestamp in the username must not have passed).
Times are fixed datetimes: nothing sleeps and nothing reaches a network. That a fresh
credential comes from the signaling socket (``{"type": "ice"}``) is tested with the
socket, in tests/integration/test_video_aiortc.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from caredoor.core.video.ice import credential_is_valid, ice_servers, turn_credential

SECRET = "coturn-static-auth-secret-0123"
NOW = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)
EXPIRY = int(datetime(2026, 3, 1, 10, 30, 15, tzinfo=UTC).timestamp())  # NOW + 3600 s
IDENTITY = "p-7f3a9c1e"


def expected_credential(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


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


def test_credential_is_the_rest_api_hmac():
    username, credential, expires_at = turn_credential(IDENTITY, NOW, 3600, SECRET)
    assert username == f"{EXPIRY}:{IDENTITY}"
    assert credential == expected_credential(SECRET, username)
    assert expires_at == datetime(2026, 3, 1, 10, 30, 15, tzinfo=UTC)
    assert int(expires_at.timestamp()) == EXPIRY


def test_credential_is_valid_until_its_expiry_and_not_after():
    username, credential, expires_at = turn_credential(IDENTITY, NOW, 3600, SECRET)
    assert credential_is_valid(username, credential, SECRET, NOW)
    assert credential_is_valid(username, credential, SECRET, expires_at - timedelta(seconds=1))
    # coturn accepts the expiry second itself (the timestamp must not be before now).
    assert credential_is_valid(username, credential, SECRET, expires_at)
    assert not credential_is_valid(username, credential, SECRET, expires_at + timedelta(seconds=1))
    assert not credential_is_valid(username, credential, SECRET, NOW + timedelta(days=1))


def test_the_expiry_second_counts_whole():
    """coturn compares whole seconds: the last instant of the expiry second still passes,
    the first instant of the next one does not."""
    username, credential, expires_at = turn_credential(IDENTITY, NOW, 3600, SECRET)
    last_instant = expires_at + timedelta(microseconds=999_999)
    assert credential_is_valid(username, credential, SECRET, last_instant)
    assert not credential_is_valid(username, credential, SECRET, expires_at + timedelta(seconds=1))


def test_a_credential_made_later_expires_later_and_the_first_on_time(settings):
    """What a page gets when it asks again before an ICE restart: a new credential with a
    later expiry; the first one expires at its own time regardless."""
    settings.VIDEO = video_settings(turn_urls=["turn:turn.example.org"], turn_secret=SECRET)
    [first] = ice_servers(IDENTITY, NOW)
    [fresh] = ice_servers(IDENTITY, NOW + timedelta(minutes=50))
    first_expiry = int(first["username"].split(":")[0])
    fresh_expiry = int(fresh["username"].split(":")[0])
    assert (first_expiry, fresh_expiry) == (EXPIRY, EXPIRY + 3000)
    assert fresh["credential"] != first["credential"]
    after_first = datetime.fromtimestamp(EXPIRY + 1, UTC)
    assert not credential_is_valid(first["username"], first["credential"], SECRET, after_first)
    assert credential_is_valid(fresh["username"], fresh["credential"], SECRET, after_first)
    after_fresh = datetime.fromtimestamp(EXPIRY + 3001, UTC)
    assert not credential_is_valid(fresh["username"], fresh["credential"], SECRET, after_fresh)


def test_the_ttl_setting_sets_the_lifetime(settings):
    for ttl in (60, 3600, 86400):
        settings.VIDEO = video_settings(
            turn_urls=["turn:turn.example.org"], turn_secret=SECRET, turn_ttl=ttl
        )
        [turn] = ice_servers(IDENTITY, NOW)
        expiry = int(turn["username"].split(":")[0])
        assert expiry == int(NOW.timestamp()) + ttl
        at_expiry = datetime.fromtimestamp(expiry, UTC)
        assert credential_is_valid(turn["username"], turn["credential"], SECRET, at_expiry)
        assert not credential_is_valid(
            turn["username"], turn["credential"], SECRET, at_expiry + timedelta(seconds=1)
        )


def test_tampered_or_foreign_credentials_are_invalid():
    username, credential, _ = turn_credential(IDENTITY, NOW, 3600, SECRET)
    later = f"{EXPIRY + 86400}:{IDENTITY}"
    assert not credential_is_valid(later, credential, SECRET, NOW)
    assert not credential_is_valid(f"{EXPIRY}:p-someone-else", credential, SECRET, NOW)
    assert not credential_is_valid(username, credential, "another-secret-entirely", NOW)
    assert not credential_is_valid(username, credential[:-2] + "A=", SECRET, NOW)
    assert not credential_is_valid(username, "", SECRET, NOW)


def test_expiry_is_read_as_coturn_reads_it():
    """coturn also takes ``<user>:<timestamp>`` and a bare timestamp; a username without a
    number has timestamp 0, long past."""
    future = NOW + timedelta(hours=1)
    for username in (f"{IDENTITY}:{int(future.timestamp())}", str(int(future.timestamp()))):
        assert credential_is_valid(username, expected_credential(SECRET, username), SECRET, NOW)
    for username in (IDENTITY, f"{IDENTITY}:soon", f"{IDENTITY}:{int(NOW.timestamp()) - 1}"):
        assert not credential_is_valid(username, expected_credential(SECRET, username), SECRET, NOW)


@pytest.mark.parametrize("identity", ["", "alice@example.org", "Alice Smith", "x" * 65, "a:b"])
def test_identity_must_be_an_opaque_id(identity):
    with pytest.raises(ValueError, match="opaque id"):
        turn_credential(identity, NOW, 3600, SECRET)


def test_naive_times_and_bad_ttls_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        turn_credential(IDENTITY, NOW.replace(tzinfo=None), 3600, SECRET)
    with pytest.raises(ValueError, match="ttl"):
        turn_credential(IDENTITY, NOW, 0, SECRET)


def test_nothing_configured_means_no_ice_servers(settings):
    settings.VIDEO = video_settings()
    assert ice_servers(IDENTITY, NOW) == []


def test_stun_only_is_one_entry_without_credentials(settings):
    settings.VIDEO = video_settings(stun_urls=["stun:stun.example.org:3478", "stun:[::1]"])
    assert ice_servers(IDENTITY, NOW) == [{"urls": ["stun:stun.example.org:3478", "stun:[::1]"]}]


def test_turn_entry_carries_a_time_limited_credential(settings):
    settings.VIDEO = video_settings(
        stun_urls=["stun:stun.example.org"],
        turn_urls=["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
        turn_secret=SECRET,
        turn_ttl=600,
    )
    stun, turn = ice_servers(IDENTITY, NOW)
    assert stun == {"urls": ["stun:stun.example.org"]}
    assert set(turn) == {"urls", "username", "credential"}
    assert turn["urls"] == [
        "turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:5349",
    ]
    assert turn["username"] == f"{EXPIRY - 3000}:{IDENTITY}"
    assert turn["credential"] == expected_credential(SECRET, turn["username"])
    assert credential_is_valid(turn["username"], turn["credential"], SECRET, NOW)
    assert not credential_is_valid(
        turn["username"], turn["credential"], SECRET, NOW + timedelta(seconds=601)
    )


def test_without_a_time_the_clock_is_used(settings):
    from django.utils import timezone

    settings.VIDEO = video_settings(turn_urls=["turn:turn.example.org"], turn_secret=SECRET)
    [turn] = ice_servers(IDENTITY)
    expiry = int(turn["username"].split(":")[0])
    assert 3590 <= expiry - timezone.now().timestamp() <= 3600
    assert credential_is_valid(turn["username"], turn["credential"], SECRET, timezone.now())


def test_aiortc_accepts_the_entries(settings):
    """The entries are valid RTCIceServer dictionaries for a WebRTC implementation other
    than a browser (aiortc, a test dependency: tests/integration/test_video_aiortc.py)."""
    from aiortc import RTCConfiguration, RTCIceServer

    settings.VIDEO = video_settings(
        stun_urls=["stun:stun.example.org:3478"],
        turn_urls=["turn:turn.example.org:3478?transport=udp"],
        turn_secret=SECRET,
    )
    entries = ice_servers(IDENTITY, NOW)
    configuration = RTCConfiguration(iceServers=[RTCIceServer(**entry) for entry in entries])
    stun, turn = configuration.iceServers
    assert stun.urls == ["stun:stun.example.org:3478"] and stun.username is None
    assert turn.username == f"{EXPIRY}:{IDENTITY}"
    assert turn.credential == expected_credential(SECRET, turn.username)
    # What an RTCPeerConnection does with them: parse the URLs and hand them to aioice.
    from aiortc.rtcicetransport import connection_kwargs

    assert connection_kwargs(configuration.iceServers) == {
        "stun_server": ("stun.example.org", 3478),
        "turn_server": ("turn.example.org", 3478),
        "turn_ssl": False,
        "turn_transport": "udp",
        "turn_username": turn.username,
        "turn_password": turn.credential,
    }
