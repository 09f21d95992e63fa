"""The Redis cache backend with one connection pool per process.

Django keeps a cache object per async context (``caches`` is context-local), and each
``RedisCache`` object opens its own connection pool. Under ASGI every ``sync_to_async``
call runs in a fresh context, so every presence touch or cache read from a socket opened
a new Redis connection (a TCP handshake and a client handshake each time). Here the
client, and so its pools, are shared by every cache object with the same settings.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


class _Client(RedisCacheClient):
    """Django's client builds a ``redis.Redis`` object on every call; one per pool does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._redis.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._redis.setdefault(index, self._client(connection_pool=pool))
        return client


class SharedRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _Client

    @property
    def _cache(self) -> Any:  # Django's is a cached_property per cache object
        key = (tuple(self._servers), self._class, repr(sorted(self._options.items())))
        client = _clients.get(key)
        if client is None:
            with _lock:
                client = _clients.get(key)
                if client is None:
                    client = _clients[key] = self._class(self._servers, **self._options)
        return client
