"""WebSocket edge: brand from Host, same-origin check, session auth, then the consumers.

``/ws/live/`` (``LiveConsumer``) is the one socket a signed-in page holds: the person's
own pushes (``user.<id>``: notices for badges) and the conversations the page subscribes
to (``thread.<id>``). The protocol is described in docs/realtime.md. ``/ws/ping/`` is the
bare heartbeat that came first and stays for clients that only want presence.

The consumer's database calls run on one thread (``live_db``) that keeps its connection
between calls; events that need no database (pushes, pings, typing) never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import zoneinfo
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import URLRouter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import path
from django.utils import timezone, translation

from caredoor.api.video_signaling import VideoSignalingConsumer
from caredoor.core.brands.queries import brand_for_host, normalize_host
from caredoor.core.messaging import actions, notify, queries
from caredoor.core.messaging.models import Message, MessageKind, Thread
from caredoor.core.messaging.wire import for_reader, message_payload
from caredoor.core.notifications import presence
from caredoor.core.notifications.livedb import live_db
from caredoor.core.notifications.push import thread_group, user_group

log = logging.getLogger("caredoor.realtime")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403

MAX_FRAME_BYTES = 16 * 1024
FRAMES_PER_SECOND = 20  # sustained rate; a burst of as many is allowed
MAX_SUBSCRIPTIONS = 50
TYPING_INTERVAL = 2.0  # seconds between two typing pushes of one connection
RESUME_PAGE = 200  # messages per query when catching up
SENT_IDS_KEPT = 1000  # per subscription; older ids fold into the floor
ACCESS_RECHECK = 30.0  # seconds: a post re-checks the person's side at most this often
THREAD_RELOAD = 600.0  # seconds: ... and reads the thread afresh at most this often


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


class BrandOriginMiddleware:
    """Refuse a WebSocket whose Host is no brand (or platform host), or whose Origin differs."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        host = normalize_host(_header(scope, b"host"))
        origin = _header(scope, b"origin")
        brand = await database_sync_to_async(brand_for_host)(host) if host else None
        known = brand is not None or host in settings.PLATFORM_HOSTS
        same_origin = not origin or normalize_host(urlsplit(origin).netloc) == host
        if not known or not same_origin:
            # Accept, then close at once: a close before accepting becomes a bare HTTP 403
            # and the client could not tell "forbidden" from "sign in first".
            await receive()  # the websocket.connect message
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_FORBIDDEN})
            return None
        return await self.inner({**scope, "brand": brand}, receive, send)


class PingConsumer(AsyncJsonWebsocketConsumer):
    """The authenticated heartbeat every page can hold; refuses anonymous connections."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()  # accept first so the close code reaches the client
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group = f"user.{user.pk}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.pk})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "error": "unknown message"})

    async def user_event(self, event: dict) -> None:
        await self.send_json(event.get("payload", {}))

    async def push(self, event: dict) -> None:
        await self.send_json(event.get("payload", {}))


# --- the live socket ---------------------------------------------------------------------


class TokenBucket:
    """``rate`` frames per second on average, bursts of up to ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class Subscription:
    """One thread a connection follows. The client has every message with an id at or
    below ``floor`` (it said so when subscribing) and those in ``sent``; a pushed message
    is forwarded once and only when it is in neither. A set rather than only the highest
    id: two posts can commit out of id order, and the later commit of the lower id must
    still reach the page."""

    thread: Thread
    portal: str
    side: str
    name: str  # how the others see this person (typing indicator)
    floor: int
    grant: int  # the membership that gave access (``queries.still_granted``)
    sent: set[int] = field(default_factory=set)
    loaded_at: float = field(default_factory=time.monotonic)  # thread last read afresh
    # Access last confirmed. Backdated by a random part of the interval, so that the
    # sockets a page load or a restart opened together do not all re-check at once.
    checked_at: float = field(
        default_factory=lambda: time.monotonic() - random.uniform(0, ACCESS_RECHECK / 2)
    )

    def is_new(self, message_id: int) -> bool:
        return message_id > self.floor and message_id not in self.sent

    def mark(self, message_id: int) -> None:
        self.sent.add(message_id)
        if len(self.sent) > SENT_IDS_KEPT:
            kept = sorted(self.sent)[-SENT_IDS_KEPT // 2 :]
            self.floor = max(self.floor, kept[0] - 1)
            self.sent = set(kept)

    @property
    def upto(self) -> int:
        return max(self.sent, default=self.floor)


def _int(value: Any, *, minimum: int = 0) -> int | None:
    """A JSON integer (not a bool, not a float) from ``minimum`` to the largest database
    id, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and minimum <= value < 2**63:
        return value
    return None


def _error_messages(error: ValidationError) -> dict[str, list[str]]:
    """Field messages as the thread page shows them: errors of no field go with the body."""
    if not hasattr(error, "error_dict"):
        return {"body": [str(m) for m in error.messages]}
    return {
        ("body" if key == "__all__" else key): [str(m) for m in messages]
        for key, messages in error.message_dict.items()
    }


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """The page's socket: notices, and the threads it subscribes to."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()  # accept first so the close code reaches the client
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.brand = self.scope.get("brand")
        self.subscriptions: dict[int, Subscription] = {}
        self.bucket = TokenBucket(FRAMES_PER_SECOND)
        self.limited = False
        self.typed_at = 0.0
        self.pending: set[asyncio.Task] = set()  # posts and reads under way
        language = user.language or (self.brand.default_language if self.brand else "")
        self.language = language or settings.LANGUAGE_CODE
        zone = user.time_zone or (self.brand.time_zone if self.brand else "") or "UTC"
        try:
            self.zone = zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.zone = zoneinfo.ZoneInfo("UTC")
        await self._join(user_group(user.pk))
        await self.accept()
        await sync_to_async(presence.touch, thread_sensitive=False)(user.pk)
        await self.send_json({"type": "hello", "user": user.pk})

    async def websocket_disconnect(self, message: dict) -> None:
        # As Channels does, without closing the database connection afterwards: the live
        # thread keeps it (``live_db``).
        for group in self.groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "user", None) is not None:
            await sync_to_async(presence.leave, thread_sensitive=False)(self.user.pk)
        raise StopConsumer

    async def dispatch(self, message: dict) -> None:
        # Channels closes stale database connections before every event, which costs a
        # hop to the database thread per frame and per push; our database calls go
        # through live_db, which does that cleaning itself.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"no handler for {message['type']!r}")
        await handler(message)

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups.append(group)

    async def _drop(self, thread_id: int) -> None:
        """Forget a thread the person may no longer see (no-op if not subscribed)."""
        if self.subscriptions.pop(thread_id, None) is not None:
            group = thread_group(thread_id)
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups.remove(group)

    async def error(self, error: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "error": error, **extra})

    # --- frames from the client ----------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if not self.bucket.take():
            if not self.limited:  # say it once per burst, then drop silently
                self.limited = True
                await self.error("rate_limited")
            return
        self.limited = False
        frame = text_data if text_data is not None else bytes_data
        size = len(frame.encode() if isinstance(frame, str) else frame or b"")
        if not frame or size > MAX_FRAME_BYTES:
            await self.error("bad_request")
            return
        try:
            content = json.loads(frame)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to read
            await self.error("bad_request")
            return
        kind = content.get("type") if isinstance(content, dict) else None
        handler = self.HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self.error("bad_request")
            return
        await self._guarded(handler(self, content), kind)

    async def _guarded(self, work: Awaitable[None], kind: str) -> None:
        try:
            await work
        except OSError:  # the client went away (uvicorn's ClientDisconnected): nothing to say
            return
        except Exception as exc:  # one bad frame never ends the connection
            log.warning("live socket frame %s failed: %s", kind, type(exc).__name__)
            with contextlib.suppress(OSError):
                await self.error("server_error")

    def _in_background(self, work: Awaitable[None], kind: str) -> None:
        """Database writes run beside the connection's other events: while a post waits
        for the database thread, pushes keep reaching this socket."""
        task = asyncio.ensure_future(self._guarded(work, kind))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def on_ping(self, content: dict) -> None:
        await sync_to_async(presence.touch, thread_sensitive=False)(self.user.pk)
        await self.send_json({"type": "pong"})

    async def on_subscribe(self, content: dict) -> None:
        thread_id = _int(content.get("thread"), minimum=1)
        after = _int(content.get("after", 0))
        portal = content.get("portal")
        if thread_id is None or after is None or portal not in queries.PORTAL_SIDE:
            await self.error("bad_request")
            return
        if thread_id not in self.subscriptions and len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            await self.error("too_many_subscriptions", thread=thread_id)
            return
        subscription = await self._open(thread_id, portal, after)
        if subscription is None:
            await self._drop(thread_id)
            await self.error("not_found", thread=thread_id)
            return
        # Join first, then read: a message committed meanwhile is both read and pushed,
        # and the push is dropped as already sent. Pushes wait until this handler ends.
        if thread_group(thread_id) not in self.groups:
            await self._join(thread_group(thread_id))
        self.subscriptions[thread_id] = subscription
        while True:
            payloads, read_upto = await self._catch_up(subscription)
            for payload in payloads:
                subscription.mark(payload["id"])
                await self.send_json(payload)
            if len(payloads) < RESUME_PAGE:
                break
        await self.send_json(
            {
                "type": "subscribed",
                "thread": thread_id,
                "upto": subscription.upto,
                "read_upto": read_upto,
            }
        )

    async def on_post(self, content: dict) -> None:
        subscription = await self._subscribed(content)
        if subscription is None:
            return
        body, token = content.get("body", ""), content.get("token", "")
        if not isinstance(body, str) or not isinstance(token, str) or len(token) > 64:
            await self.error("bad_request")
            return
        self._in_background(self._post_and_answer(subscription, body, token), "post")

    async def _post_and_answer(self, subscription: Subscription, body: str, token: str) -> None:
        answer = await self._post(subscription, body, token)
        if answer.get("error") == "not_found":
            await self._drop(subscription.thread.pk)
        await self.send_json(answer)

    async def on_read(self, content: dict) -> None:
        subscription = await self._subscribed(content)
        if subscription is None:
            return
        upto = _int(content.get("upto"), minimum=1)
        if upto is None:
            await self.error("bad_request")
            return
        self._in_background(live_db(self._mark_read)(subscription, upto), "read")

    async def on_typing(self, content: dict) -> None:
        subscription = await self._subscribed(content)
        if subscription is None:
            return
        now = time.monotonic()
        if now - self.typed_at < TYPING_INTERVAL:
            return
        self.typed_at = now
        payload = {
            "type": "typing",
            "thread": subscription.thread.pk,
            "user": self.user.pk,
            "name": subscription.name,
        }
        await self.channel_layer.group_send(
            thread_group(subscription.thread.pk), {"type": "push", "payload": payload}
        )

    HANDLERS = {
        "ping": on_ping,
        "subscribe": on_subscribe,
        "post": on_post,
        "read": on_read,
        "typing": on_typing,
    }

    async def _subscribed(self, content: dict) -> Subscription | None:
        thread_id = _int(content.get("thread"), minimum=1)
        if thread_id is None:
            await self.error("bad_request")
            return None
        subscription = self.subscriptions.get(thread_id)
        if subscription is None:
            await self.error("not_found", thread=thread_id)
        return subscription

    # --- pushes from the channel layer ---------------------------------------------------

    async def push(self, event: dict) -> None:
        payload = event.get("payload") or {}
        kind = payload.get("type")
        if kind == "notice":
            # The person's notices about another brand are not this page's business.
            if self.brand is None or payload.get("brand") in (None, self.brand.pk):
                await self.send_json(payload)
            return
        subscription = self.subscriptions.get(payload.get("thread"))  # type: ignore[arg-type]
        if subscription is None:
            return
        if kind == "message":
            if not subscription.is_new(payload.get("id", 0)):
                return
            subscription.mark(payload["id"])
            await self.send_json(await self._for_reader(payload, subscription.portal))
        elif kind == "update":
            await self.send_json(await self._for_reader(payload, subscription.portal))
        elif kind == "typing":
            if payload.get("user") != self.user.pk:
                await self.send_json(payload)
        else:
            await self.send_json(payload)

    # --- reader's view -------------------------------------------------------------------

    def _render(self, payload: dict, portal: str) -> dict:
        with translation.override(self.language), timezone.override(self.zone):
            return for_reader(payload, user_id=self.user.pk, portal=portal)

    async def _for_reader(self, payload: dict, portal: str) -> dict:
        if payload.get("kind") == MessageKind.EVENT:  # event lines may look things up
            return await live_db(self._render)(payload, portal)
        return self._render(payload, portal)

    # --- database work -------------------------------------------------------------------

    @live_db
    def _open(self, thread_id: int, portal: str, after: int) -> Subscription | None:
        try:
            thread, grant = queries.access_thread_grant(self.user, self.brand, portal, thread_id)
        except Http404:
            return None
        side = queries.PORTAL_SIDE[portal]
        name = queries.sender_name(Message(thread=thread, sender=self.user, side=side))
        return Subscription(
            thread=thread, portal=portal, side=side, name=name, floor=after, grant=grant.pk
        )

    @live_db
    def _catch_up(self, subscription: Subscription) -> tuple[list[dict], int]:
        after = subscription.upto
        messages = queries.messages_after(subscription.thread, after, limit=RESUME_PAGE)
        payloads = [self._render(message_payload(m), subscription.portal) for m in messages]
        return payloads, queries.others_read_upto(subscription.thread, self.user)

    def _mark_read(self, subscription: Subscription, upto: int) -> None:
        """Like the thread page's read form: the position, and the thread's message
        notifications in this portal."""
        thread = subscription.thread
        actions.do_mark_read(thread, self.user, upto)
        notify.read_notifications(self.user, thread.pk, subscription.portal, thread.brand)

    @live_db
    def _post(self, subscription: Subscription, body: str, token: str) -> dict:
        now = time.monotonic()
        if now - subscription.checked_at > ACCESS_RECHECK:
            # Access can end while a socket is open. Now and then the thread (and the
            # names shown with its messages) is read afresh with the full check; in
            # between, the membership that granted access is looked up.
            thread_id = subscription.thread.pk
            if now - subscription.loaded_at > THREAD_RELOAD:
                try:
                    subscription.thread, grant = queries.access_thread_grant(
                        self.user, self.brand, subscription.portal, thread_id
                    )
                except Http404:
                    return {"type": "error", "error": "not_found", "thread": thread_id}
                subscription.grant, subscription.loaded_at = grant.pk, now
            elif not queries.still_granted(
                self.user, subscription.thread, subscription.side, subscription.grant
            ):
                return {"type": "error", "error": "not_found", "thread": thread_id}
            subscription.checked_at = now
        thread = subscription.thread
        try:
            message = actions.do_post(
                thread, sender=self.user, side=subscription.side, body=body, client_token=token
            )
        except ValidationError as error:
            return {
                "type": "error",
                "error": "invalid",
                "token": token,
                "messages": _error_messages(error),
            }
        return {"type": "posted", "token": token, "id": message.pk}


websocket_application = BrandOriginMiddleware(
    AuthMiddlewareStack(
        URLRouter(
            [
                path("ws/live/", LiveConsumer.as_asgi()),
                path("ws/ping/", PingConsumer.as_asgi()),
                path("ws/video/<str:portal>/<str:room>/", VideoSignalingConsumer.as_asgi()),
            ]
        )
    )
)
