"""The ASGI app under uvicorn: health, host resolution, the API document and WebSockets.

WebSocket clients connect to 127.0.0.1 but name the brand in the URL, so the handshake's
``Host`` header is the brand host (``websockets`` appends ``additional_headers`` to the
headers it builds, so passing ``Host`` there would send two Host headers).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.conftest import Server, ServerEnv, sign_in

pytestmark = pytest.mark.integration

BRAND_HOST = "harbor.localhost"
PATIENT = "ana.patient@caredoor.test"
RECV_TIMEOUT = 5


@pytest.fixture(scope="module")
def patient_session(server: Server) -> str:
    """Ana (a Harbor patient) signed in through the real sign-in form."""
    return sign_in(server, BRAND_HOST, PATIENT)


def get(server: Server, path: str, host: str | None = None) -> httpx.Response:
    headers = {"Host": host} if host else {}
    return httpx.get(f"{server.base_url}{path}", headers=headers, timeout=10)


def ws_connect(
    server: Server,
    *,
    host: str = BRAND_HOST,
    origin: str | None = None,
    session: str | None = None,
) -> Any:
    return connect(
        f"ws://{host}:{server.port}/ws/ping/",
        host="127.0.0.1",
        port=server.port,
        origin=origin,
        additional_headers={"Cookie": f"sessionid={session}"} if session else None,
        open_timeout=RECV_TIMEOUT,
    )


async def recv_json(ws: ClientConnection) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT))


async def refusal(server: Server, **kwargs: Any) -> tuple[int | None, int | None]:
    """(HTTP status of a refused handshake, close code of an accepted-then-closed socket)."""
    try:
        async with ws_connect(server, **kwargs) as ws:
            try:
                await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
            except ConnectionClosed as closed:
                return None, closed.rcvd.code if closed.rcvd else None
            raise AssertionError("the socket was accepted and stayed open")
    except InvalidStatus as exc:
        return exc.response.status_code, None


# --- HTTP ------------------------------------------------------------------------------------


def test_healthz_reports_database_and_channel_layer(server: Server) -> None:
    response = get(server, "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "channel_layer": "ok"}


def test_unknown_host_gets_plain_404(server: Server) -> None:
    response = get(server, "/", host="nowhere.example")
    assert response.status_code == 404
    assert "There is no site at this address." in response.text
    assert "Harbor" not in response.text


def test_openapi_document(server: Server) -> None:
    response = get(server, "/api/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.text)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/brand" in document["paths"]
    assert "get" in document["paths"]["/api/v1/brand"]


def test_api_brand_is_the_brand_of_the_host(server: Server) -> None:
    response = get(server, "/api/v1/brand", host=BRAND_HOST)
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Harbor Therapy"
    assert body["slug"] == "harbor"
    other = get(server, "/api/v1/brand", host="steadypath.localhost").json()
    assert other["name"] == "Steady Path"


# --- WebSockets ------------------------------------------------------------------------------


def test_ws_anonymous_is_refused(server: Server) -> None:
    status, code = asyncio.run(refusal(server, origin=server.origin(BRAND_HOST)))
    assert (status, code) == (None, 4401)


def test_ws_foreign_origin_is_refused(server: Server, patient_session: str) -> None:
    session = patient_session
    status, code = asyncio.run(refusal(server, origin="http://evil.example", session=session))
    assert (status, code) == (None, 4403)


def test_ws_unknown_host_is_refused(server: Server, patient_session: str) -> None:
    session = patient_session
    status, code = asyncio.run(
        refusal(server, host="nowhere.example", origin=None, session=session)
    )
    assert (status, code) == (None, 4403)


def test_ws_anonymous_close_code_is_4401(server: Server) -> None:
    status, code = asyncio.run(refusal(server, origin=server.origin(BRAND_HOST)))
    assert code == 4401, f"handshake refused with HTTP {status}, no close code"


def test_ws_foreign_origin_close_code_is_4403(server: Server, patient_session: str) -> None:
    session = patient_session
    status, code = asyncio.run(refusal(server, origin="http://evil.example", session=session))
    assert code == 4403, f"handshake refused with HTTP {status}, no close code"


def test_ws_signed_in_hello_and_ping(server: Server, patient_session: str) -> None:
    session = patient_session

    async def talk() -> tuple[dict, dict]:
        async with ws_connect(server, origin=server.origin(BRAND_HOST), session=session) as ws:
            hello = await recv_json(ws)
            await ws.send(json.dumps({"type": "ping"}))
            pong = await recv_json(ws)
            return hello, pong

    hello, pong = asyncio.run(talk())
    assert hello["type"] == "hello"
    assert isinstance(hello["user"], int)
    assert pong == {"type": "pong"}


def test_group_message_reaches_sockets_on_two_processes(
    server: Server, server_env: ServerEnv, start_server: Any, patient_session: str
) -> None:
    if not server_env.redis_url:
        pytest.skip("REDIS_URL is not set: fan-out across processes needs the Redis layer")
    from channels_redis.pubsub import RedisPubSubChannelLayer

    second = start_server()
    session = patient_session
    layer = RedisPubSubChannelLayer(hosts=[server_env.redis_url], prefix="caredoor")

    async def fan_out() -> list[dict]:
        async with (
            ws_connect(server, origin=server.origin(BRAND_HOST), session=session) as one,
            ws_connect(second, origin=second.origin(BRAND_HOST), session=session) as two,
        ):
            hellos = [await recv_json(one), await recv_json(two)]
            assert hellos[0] == hellos[1], hellos
            user_id = hellos[0]["user"]
            await layer.group_send(
                f"user.{user_id}", {"type": "user.event", "payload": {"type": "probe"}}
            )
            return [await recv_json(one), await recv_json(two)]

    async def run() -> list[dict]:
        try:
            return await fan_out()
        finally:
            await layer.flush()

    received = asyncio.run(run())
    assert received == [{"type": "probe"}, {"type": "probe"}]
