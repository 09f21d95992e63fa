"""The live server's database calls: ``live_db``, a ``sync_to_async`` that keeps its
connection.

Channels' ``database_sync_to_async`` closes the connection after every call when
``CONN_MAX_AGE`` is 0 (the SQLite default), which opened a connection per WebSocket
frame. ``live_db`` keeps a healthy connection for ``KEEP_CONNECTION`` seconds and still
drops a broken or failed one like Django does. On SQLite its calls run on one thread (one
writer at a time anyway); on a database server on the loop's small thread pool, so that
calls overlap their round trips. Used by the live socket (``api/realtime.py``) and the
message notification batches (``messaging/notify.py``).
"""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import SyncToAsync
from django.db import connections

KEEP_CONNECTION = 60.0  # seconds the live thread keeps a database connection


def _keep_connections() -> None:
    """Keep this thread's healthy connections for ``KEEP_CONNECTION`` seconds; close
    broken, failed or expired ones as Django would."""
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is None:
            continue
        if getattr(conn, "live_kept", None) is not raw:
            conn.live_kept = raw
            if conn.close_at is not None:
                conn.close_at = max(conn.close_at, time.monotonic() + KEEP_CONNECTION)
        # Django's check resets the health-check flag, which costs a "SELECT 1" round
        # trip per call; only a connection with errors, or too old, needs it.
        obsolete = conn.close_at is not None and time.monotonic() >= conn.close_at
        if conn.errors_occurred or obsolete or not conn.get_autocommit():
            conn.close_if_unusable_or_obsolete()


class LiveDatabaseSyncToAsync(SyncToAsync):
    """``database_sync_to_async`` for the live socket, connections kept. On SQLite, one
    thread (one writer at a time anyway); on a database server, the loop's small thread
    pool, so that posts overlap their round trips to the server."""

    def __init__(self, func: Any) -> None:
        single = connections["default"].vendor == "sqlite"
        super().__init__(func, thread_sensitive=single)

    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        _keep_connections()
        return super().thread_handler(loop, *args, **kwargs)


live_db = LiveDatabaseSyncToAsync
