"""Push to browsers over the channel layer: the one place that names groups and sends.

Groups: ``user.<id>`` (every WebSocket a person has open, whatever the page),
``thread.<id>`` (sockets subscribed to one conversation) and ``video.<room>.<side>`` (the
one signaling socket of a side of a video room, ``api/video_signaling.py``). A push is a
channel-layer event ``{"type": "push", "payload": {...}}``; consumers (``api/realtime.py``)
forward the payload, adapted to their reader. ``send`` carries any other event a consumer
handles (the video room's ``video.end``). With the Redis layer a push from any process
reaches sockets on every process.

Pushes are sent after commit and are best effort: the database is the record, and a
client that missed a push catches up from it (resume from the last id, or polling). A
channel layer that is down is logged by name of the error and never fails the action.

Code run by ``sync_to_async`` (views under ASGI, the live socket's database thread) hands
the send to its event loop and goes on: waiting for each send held the database thread
for a loop round trip and a Redis round trip per push, three pushes per message. Sends
start in the order they were made; the layer's own failures are then logged from the loop.
Elsewhere (management commands, Huey, tests) the send completes before ``push`` returns.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger("caredoor.realtime")


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def thread_group(thread_id: int) -> str:
    return f"thread.{thread_id}"


def video_group(room_name: str, side: str) -> str:
    return f"video.{room_name}.{side}"


def _failed(group: str, error: BaseException) -> None:
    log.warning("push to %s failed: %s", group.split(".", 1)[0], type(error).__name__)


def caller_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop whose ``sync_to_async`` call runs this thread, if any."""
    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(local, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


_sending: set[asyncio.Task] = set()  # strong references until each send is done


def _send_from_loop(layer: Any, group: str, event: dict[str, Any]) -> None:
    task = asyncio.ensure_future(layer.group_send(group, event))
    _sending.add(task)

    def done(task: asyncio.Task) -> None:
        _sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _failed(group, task.exception())  # type: ignore[arg-type]

    task.add_done_callback(done)


def push(group: str, payload: dict[str, Any]) -> bool:
    """Send ``payload`` to every socket in ``group``; False when it could not be sent
    (or, handed to the event loop, could not be handed over)."""
    return send(group, {"type": "push", "payload": payload})


def send(group: str, event: dict[str, Any]) -> bool:
    """Send the channel-layer ``event`` to every consumer in ``group``, as ``push`` does."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        loop = caller_loop()
        if loop is not None:
            loop.call_soon_threadsafe(_send_from_loop, layer, group, event)
        else:
            async_to_sync(layer.group_send)(group, event)
    except Exception as error:  # the record is in the database; clients catch up
        _failed(group, error)
        return False
    return True


def push_to_user(user_id: int, payload: dict[str, Any]) -> bool:
    return push(user_group(user_id), payload)
