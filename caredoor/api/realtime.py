"""WebSocket edge: brand from Host, same-origin check, session auth, then the consumers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import URLRouter
from django.conf import settings
from django.urls import path

from caredoor.core.brands.queries import brand_for_host, normalize_host

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


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


websocket_application = BrandOriginMiddleware(
    AuthMiddlewareStack(URLRouter([path("ws/ping/", PingConsumer.as_asgi())]))
)
