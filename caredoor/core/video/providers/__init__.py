"""Video providers, selected by ``VIDEO_PROVIDER`` (docs/video.md, "Providers")."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from caredoor.core.video.providers.base import VideoProvider, VideoProviderError
from caredoor.core.video.providers.livekit import LiveKitProvider
from caredoor.core.video.providers.p2p import P2PProvider

__all__ = ["LiveKitProvider", "P2PProvider", "VideoProvider", "VideoProviderError", "get_provider"]


def get_provider() -> VideoProvider:
    """The configured provider (``settings.VIDEO`` is read on each call, so tests can
    switch it)."""
    video = settings.VIDEO
    if video["provider"] == "p2p":
        return P2PProvider()
    if video["provider"] == "livekit":
        livekit = video.get("livekit")
        if not livekit:
            raise ImproperlyConfigured("VIDEO provider livekit needs VIDEO['livekit']")
        return LiveKitProvider(livekit["url"], livekit["api_key"], livekit["api_secret"])
    raise ImproperlyConfigured(f"unknown VIDEO provider {video['provider']!r}")
