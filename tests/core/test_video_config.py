"""Video configuration from the environment: STUN, TURN, the provider and LiveKit
(caredoor/config/env.py, docs/video.md)."""

from __future__ import annotations

import pytest

from caredoor.config.env import ConfigError, load

SECRET = "a-random-turn-secret-0123456789"
LIVEKIT = {
    "LIVEKIT_URL": "wss://livekit.example.org",
    "LIVEKIT_API_KEY": "APIkey123",
    "LIVEKIT_API_SECRET": "livekit-secret-0123456789abcdef",
}


def test_defaults_reach_nothing(tmp_path):
    video = load({}, base_dir=tmp_path).video
    assert video.stun_urls == () and video.turn_urls == () and not video.turn_enabled
    assert video.turn_ttl == 3600
    assert video.provider == "p2p"
    assert video.livekit_url == ""


def test_stun_turn_and_livekit_are_read(tmp_path):
    video = load(
        {
            "VIDEO_STUN_URLS": "stun:stun.example.org:3478, stun:[2001:db8::1]",
            "VIDEO_TURN_URLS": "turn:turn.example.org:3478?transport=udp,turns:turn.example.org",
            "VIDEO_TURN_SECRET": SECRET,
            "VIDEO_TURN_TTL": "600",
            "VIDEO_PROVIDER": "LiveKit",
            **LIVEKIT,
        },
        base_dir=tmp_path,
    ).video
    assert video.stun_urls == ("stun:stun.example.org:3478", "stun:[2001:db8::1]")
    assert video.turn_urls == ("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org")
    assert video.turn_enabled and video.turn_secret == SECRET and video.turn_ttl == 600
    assert video.provider == "livekit"
    assert (video.livekit_url, video.livekit_api_key) == ("wss://livekit.example.org", "APIkey123")
    assert SECRET not in repr(video) and LIVEKIT["LIVEKIT_API_SECRET"] not in repr(video)


def test_livekit_may_be_configured_while_p2p_is_used(tmp_path):
    video = load(LIVEKIT, base_dir=tmp_path).video
    assert video.provider == "p2p" and video.livekit_url == "wss://livekit.example.org"


@pytest.mark.parametrize(
    ("environ", "name", "message"),
    [
        ({"VIDEO_STUN_URLS": "turn:x.example.org"}, "VIDEO_STUN_URLS", "expected URLs like stun:"),
        ({"VIDEO_STUN_URLS": "stun://x.example.org"}, "VIDEO_STUN_URLS", "write stun:host"),
        ({"VIDEO_STUN_URLS": "stun:x.example.org?transport=udp"}, "VIDEO_STUN_URLS", "a stun:"),
        (
            {"VIDEO_STUN_URLS": "stun:x.example.org:99999"},
            "VIDEO_STUN_URLS",
            "the URL has a malformed",
        ),
        ({"VIDEO_STUN_URLS": "stun:"}, "VIDEO_STUN_URLS", "expected URLs like stun:"),
        (
            {"VIDEO_TURN_URLS": "https://turn.example.org", "VIDEO_TURN_SECRET": SECRET},
            "VIDEO_TURN_URLS",
            "write turn: or turns:host",
        ),
        (
            {"VIDEO_TURN_URLS": "turn:t.example.org?transport=sctp", "VIDEO_TURN_SECRET": SECRET},
            "VIDEO_TURN_URLS",
            "expected URLs like turn: or turns:",
        ),
        ({"VIDEO_TURN_URLS": "turn:t.example.org"}, "VIDEO_TURN_SECRET", "TURN needs both"),
        ({"VIDEO_TURN_SECRET": SECRET}, "VIDEO_TURN_URLS", "TURN needs both"),
        (
            {"VIDEO_TURN_URLS": "turn:t.example.org", "VIDEO_TURN_SECRET": "short"},
            "VIDEO_TURN_SECRET",
            "expected a random secret of 16 characters",
        ),
        ({"VIDEO_TURN_TTL": "30"}, "VIDEO_TURN_TTL", "expected a number from 60 to 86400"),
        ({"VIDEO_TURN_TTL": "100000"}, "VIDEO_TURN_TTL", "expected a number from 60 to 86400"),
        ({"VIDEO_TURN_TTL": "an hour"}, "VIDEO_TURN_TTL", "expected a whole number"),
        ({"VIDEO_PROVIDER": "jitsi"}, "VIDEO_PROVIDER", "expected p2p or livekit"),
        ({"VIDEO_PROVIDER": "livekit"}, "LIVEKIT_URL", "VIDEO_PROVIDER=livekit needs all of"),
        (
            {"VIDEO_PROVIDER": "livekit", **LIVEKIT, "LIVEKIT_API_SECRET": ""},
            "LIVEKIT_API_SECRET",
            "VIDEO_PROVIDER=livekit needs all of",
        ),
        ({"LIVEKIT_API_KEY": "APIkey123"}, "LIVEKIT_URL", "LiveKit needs all of"),
        (
            {**LIVEKIT, "LIVEKIT_URL": "https://livekit.example.org"},
            "LIVEKIT_URL",
            "expected a URL starting with one of ws, wss",
        ),
        ({**LIVEKIT, "LIVEKIT_URL": "wss://"}, "LIVEKIT_URL", "the URL has no host"),
    ],
)
def test_malformed_video_values_name_the_variable(tmp_path, environ, name, message):
    with pytest.raises(ConfigError) as excinfo:
        load(environ, base_dir=tmp_path)
    assert excinfo.value.name == name
    assert str(excinfo.value).startswith(f"{name}: {message}")


def test_production_needs_a_secure_livekit_url(tmp_path):
    production = {
        "CAREDOOR_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "FIELD_ENCRYPTION_KEYS": "k1",
        "VIDEO_PROVIDER": "livekit",
        **LIVEKIT,
    }
    with pytest.raises(ConfigError, match=r"^LIVEKIT_URL: production pages are served over HTTPS"):
        load({**production, "LIVEKIT_URL": "ws://livekit.example.org"}, base_dir=tmp_path)
    assert load(production, base_dir=tmp_path).video.provider == "livekit"


def test_settings_expose_one_video_dict(settings):
    """The test settings run without video variables: p2p, no STUN, no TURN."""
    assert settings.VIDEO == {
        "provider": "p2p",
        "stun_urls": [],
        "turn_urls": [],
        "turn_secret": "",
        "turn_ttl": 3600,
        "livekit": None,
    }


def test_settings_module_reads_livekit_and_allows_its_origin(tmp_path):
    """The settings module fills VIDEO from the environment and lets the browser reach the
    LiveKit host (connect-src); a fresh interpreter, because settings load once."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "CAREDOOR_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "caredoor.config.settings",
        "VIDEO_PROVIDER": "livekit",
        "VIDEO_TURN_URLS": "turns:turn.example.org:5349",
        "VIDEO_TURN_SECRET": SECRET,
        **LIVEKIT,
    }
    code = (
        "import json,django;django.setup();from django.conf import settings as s;"
        "v=dict(s.VIDEO);v['connect']=s.CONTENT_SECURITY_POLICY['DIRECTIVES']['connect-src'];"
        "print(json.dumps(v))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    import json

    video = json.loads(result.stdout)
    assert video["provider"] == "livekit"
    assert video["turn_urls"] == ["turns:turn.example.org:5349"]
    assert video["livekit"] == {
        "url": "wss://livekit.example.org",
        "api_key": "APIkey123",
        "api_secret": LIVEKIT["LIVEKIT_API_SECRET"],
    }
    assert video["connect"] == [
        "'self'",
        "wss://livekit.example.org",
        "https://livekit.example.org",
    ]
