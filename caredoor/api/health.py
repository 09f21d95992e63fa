"""``/healthz``: is this process able to serve? Checks the database and the channel layer."""

from __future__ import annotations

import asyncio
import contextlib
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


async def _channel_layer_roundtrip() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, {"type": "healthz.ping"})
    message = await asyncio.wait_for(layer.receive(channel), timeout=2)
    # The Redis pub/sub layer subscribes per channel and lets go when a receive is
    # cancelled (as when a consumer ends); without this every check kept a subscription.
    leftover = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    leftover.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await leftover
    if message.get("type") != "healthz.ping":
        raise RuntimeError("unexpected message")
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    started = time.perf_counter()
    for name, check in (
        ("database", _database),
        ("channel_layer", async_to_sync(_channel_layer_roundtrip)),
    ):
        try:
            checks[name] = check()
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    body = {
        "status": "ok" if healthy else "error",
        "checks": checks,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if healthy else 503)
