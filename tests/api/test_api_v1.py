import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from caredoor.api.realtime import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED


def test_openapi_document_lists_the_endpoints(world, client):
    response = client.get("/api/v1/openapi.json", HTTP_HOST="a.test")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["info"]["title"] == "Caredoor API"
    assert {"/api/v1/brand", "/api/v1/me"} <= set(document["paths"])


def test_brand_endpoint_answers_for_the_hosts_brand(world, client):
    data = client.get("/api/v1/brand", HTTP_HOST="b.test").json()
    assert data["name"] == "Brand B" and data["slug"] == "brand-b"
    assert client.get("/api/v1/brand", HTTP_HOST="localhost").status_code == 404


def test_me_needs_a_session_and_shows_only_this_brands_roles(world, client_for):
    assert client_for(None, world.a.brand).get("/api/v1/me").status_code == 401
    data = client_for(world.a.patient, world.a.brand).get("/api/v1/me").json()
    assert data["email"] == world.a.patient.email
    assert [m["role"] for m in data["memberships"]] == ["patient"]
    assert client_for(world.a.patient, world.a.sister).get("/api/v1/me").json()["memberships"] == []


def test_healthz_checks_database_and_channel_layer(db, client):
    response = client.get("/healthz", HTTP_HOST="anything.example")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "channel_layer": "ok"}


def test_healthz_reports_a_broken_channel_layer(db, client):
    broken = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    from channels.layers import channel_layers

    with override_settings(CHANNEL_LAYERS=broken):
        channel_layers.backends.clear()
        response = client.get("/healthz")
    channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"].startswith("error")
    assert response.json()["checks"]["database"] == "ok"


def _communicator(host: str, *, origin: str | None = None, cookie: str | None = None):
    from caredoor.config.asgi import application

    headers = [(b"host", host.encode())]
    if origin:
        headers.append((b"origin", origin.encode()))
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/ping/", headers=headers)


async def _close_code(communicator):
    """Refusals accept and close at once, so the client learns why from the close code."""
    connected, _ = await communicator.connect()
    assert connected
    message = await communicator.receive_output()
    assert message["type"] == "websocket.close"
    return message["code"]


@pytest.mark.django_db(transaction=True)
def test_websocket_refuses_anonymous_unknown_host_and_foreign_origin(world, client_for):
    communicator = _communicator("a.test")
    assert async_to_sync(_close_code)(communicator) == CLOSE_UNAUTHENTICATED
    communicator = _communicator("unknown.example")
    assert async_to_sync(_close_code)(communicator) == CLOSE_FORBIDDEN
    session = client_for(world.a.patient, world.a.brand).cookies["sessionid"].value
    communicator = _communicator(
        "a.test", origin="http://evil.example", cookie=f"sessionid={session}"
    )
    assert async_to_sync(_close_code)(communicator) == CLOSE_FORBIDDEN


@pytest.mark.django_db(transaction=True)
def test_websocket_accepts_a_signed_in_person(world, client_for):
    session = client_for(world.a.patient, world.a.brand).cookies["sessionid"].value

    async def scenario():
        communicator = _communicator(
            "a.test", origin="http://a.test", cookie=f"sessionid={session}"
        )
        connected, _ = await communicator.connect()
        assert connected
        hello = await communicator.receive_json_from()
        await communicator.send_json_to({"type": "ping"})
        pong = await communicator.receive_json_from()
        await communicator.send_json_to({"type": "nonsense"})
        error = await communicator.receive_json_from()
        await communicator.disconnect()
        return hello, pong, error

    hello, pong, error = async_to_sync(scenario)()
    assert hello == {"type": "hello", "user": world.a.patient.pk}
    assert pong == {"type": "pong"}
    assert error["type"] == "error"
