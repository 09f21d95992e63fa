"""Who is online: a person with an open WebSocket that pinged within ``TTL``.

Sockets call ``touch`` when they connect and on every ping (clients ping every 25 s);
digests skip people who are online, because they see the live badge instead. The cache
is Redis when ``REDIS_URL`` is set, so every app process sees the same presence; the
embedded default (one process) uses the local-memory cache.
"""

from __future__ import annotations

from django.core.cache import cache

TTL = 75  # seconds: three missed pings and the person counts as away


def _key(user_id: int) -> str:
    return f"presence:{user_id}"


def touch(user_id: int) -> None:
    cache.set(_key(user_id), 1, timeout=TTL)


def leave(user_id: int) -> None:
    """The last socket closed cleanly (another tab's next ping sets it again)."""
    cache.delete(_key(user_id))


def is_online(user_id: int) -> bool:
    return bool(cache.get(_key(user_id)))
