"""Push to browsers over the channel layer: the one place that names groups and sends.

Groups: ``user.<id>`` (every WebSocket a person has open, whatever the page) and
``thread.<id>`` (sockets subscribed to one conversation). A push is a channel-layer event
``{"type": "push", "payload": {...}}``; consumers (``api/realtime.py``) forward the payload,
adapted to their reader. With the Redis layer a push from any process reaches sockets on
every process.

Pushes are sent after commit and are best effort: the database is the record, and a
client that missed a push catches up from it (resume from the last id, or polling). A
channel layer that is down is logged by name of the error and never fails the action.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger("caredoor.realtime")


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def thread_group(thread_id: int) -> str:
    return f"thread.{thread_id}"


def push(group: str, payload: dict[str, Any]) -> bool:
    """Send ``payload`` to every socket in ``group``; False when it could not be sent."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(group, {"type": "push", "payload": payload})
    except Exception as error:  # the record is in the database; clients catch up
        log.warning("push to %s failed: %s", group.split(".", 1)[0], type(error).__name__)
        return False
    return True


def push_to_user(user_id: int, payload: dict[str, Any]) -> bool:
    return push(user_group(user_id), payload)
