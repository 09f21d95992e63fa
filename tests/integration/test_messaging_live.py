"""Live messaging across app processes: two uvicorn servers on one database and one Redis.

A message posted through one process (over HTTP, or on a socket) reaches a socket held on
the other; a socket that was closed while messages were posted resumes from the last id
it saw and gets exactly those, in order, once; a socket that is not a party to the thread
is refused and hears nothing of it. Runs only with ``REDIS_URL`` (CI sets it on its
PostgreSQL run): fan-out across processes is the Redis channel layer's job.

The demo's Ana (patient) and Dr. Mara Klein (specialist) talk at Harbor Therapy; Ben is a
patient of Steady Path and Paula an affiliate of Harbor.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.integration.conftest import (
    Server,
    ServerEnv,
    manage_shell,
    running_server,
    sign_in,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"),
        reason="REDIS_URL is not set: fan-out across processes needs the Redis layer",
    ),
]

HARBOR = "harbor.localhost"
STEADY = "steadypath.localhost"
ANA = "ana.patient@caredoor.test"
MARA = "mara.klein@caredoor.test"
BEN = "ben.patient@caredoor.test"
PAULA = "partner.harbor@caredoor.test"
WAIT = 10.0  # seconds for a frame that must come
QUIET = 1.5  # seconds of silence that show nothing more comes


@pytest.fixture(scope="module")
def redis_servers(server_env: ServerEnv, server: Server) -> Iterator[tuple[Server, Server]]:
    with running_server(server_env) as second:
        yield server, second


@pytest.fixture(scope="module")
def thread_id(server_env: ServerEnv) -> int:
    """The demo thread of Ana and Dr. Klein at Harbor."""
    return int(
        manage_shell(
            server_env.env,
            "from caredoor.core.messaging.models import Thread; "
            f"print(Thread.objects.get(kind='care', patient__email='{ANA}', "
            f"profile__user__email='{MARA}', brand__slug='harbor').pk)",
        ).splitlines()[-1]
    )


@pytest.fixture(scope="module")
def sessions(redis_servers: tuple[Server, Server]) -> dict[str, str]:
    first = redis_servers[0]
    return {
        "ana": sign_in(first, HARBOR, ANA),
        "mara": sign_in(first, HARBOR, MARA),
        "ben": sign_in(first, STEADY, BEN),
        "paula": sign_in(first, HARBOR, PAULA),
    }


class Live:
    """One /ws/live/ socket as a page holds it."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def until(self, kind: str) -> list[dict[str, Any]]:
        frames = [await self.recv()]
        while frames[-1]["type"] != kind:
            frames.append(await self.recv())
        return frames

    async def quiet(self) -> list[dict[str, Any]]:
        """Everything that arrives until nothing has for QUIET seconds."""
        frames = []
        while True:
            try:
                frames.append(await self.recv(QUIET))
            except TimeoutError:
                return frames

    async def subscribe(self, thread: int, portal: str, after: int) -> list[dict[str, Any]]:
        await self.send(type="subscribe", thread=thread, portal=portal, after=after)
        return await self.until("subscribed")


def live(server: Server, session: str, host: str = HARBOR) -> Any:
    """``async with live(...) as socket``: connected, hello received."""

    class Opened:
        async def __aenter__(self) -> Live:
            self.connection = connect(
                f"ws://{host}:{server.port}/ws/live/",
                host="127.0.0.1",
                port=server.port,
                origin=server.origin(host),
                additional_headers={"Cookie": f"sessionid={session}"},
                open_timeout=WAIT,
            )
            socket = Live(await self.connection.__aenter__())
            hello = await socket.recv()
            assert hello["type"] == "hello", hello
            return socket

        async def __aexit__(self, *exc: Any) -> None:
            await self.connection.__aexit__(*exc)

    return Opened()


def post_http(server: Server, session: str, thread: int, body: str) -> dict[str, Any]:
    """Ana posts from the thread page's form, over HTTP with JSON, on ``server``."""
    origin = server.origin(HARBOR)
    with httpx.Client(
        base_url=server.base_url,
        headers={"Host": f"{HARBOR}:{server.port}"},
        cookies={"sessionid": session},
        timeout=WAIT,
    ) as client:
        page = client.get(f"/messages/{thread}/")
        assert page.status_code == 200, page.text[:300]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, "no CSRF token on the thread page"
        response = client.post(
            f"/messages/{thread}/post/",
            data={
                "body": body,
                "client_token": str(uuid.uuid4()),
                "csrfmiddlewaretoken": token[1],
            },
            headers={"Accept": "application/json", "Origin": origin, "Referer": origin + "/"},
        )
    assert response.status_code == 200, response.text[:300]
    return response.json()["message"]


def messages(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "message"]


def newest_id(frames: list[dict[str, Any]]) -> int:
    return frames[-1]["upto"]


def test_a_post_on_one_process_reaches_a_socket_on_the_other(
    redis_servers: tuple[Server, Server], sessions: dict[str, str], thread_id: int
) -> None:
    first, second = redis_servers

    async def scenario() -> tuple[dict, list, dict, list, list]:
        async with live(second, sessions["mara"]) as mara, live(first, sessions["ana"]) as ana:
            upto = newest_id(await mara.subscribe(thread_id, "specialist", after=0))
            await ana.subscribe(thread_id, "patient", after=upto)
            # Over HTTP to process one...
            sent = await asyncio.to_thread(
                post_http, first, sessions["ana"], thread_id, "Posted over HTTP."
            )
            over_http = await mara.until("message")
            # ...and on a socket held by process one.
            await ana.send(type="post", thread=thread_id, body="Posted on a socket.", token="t-1")
            on_socket = await mara.until("message")
            rest = await mara.quiet()
            ana_frames = await ana.quiet()
            return sent, over_http, on_socket, rest, ana_frames

    sent, over_http, on_socket, rest, ana_frames = asyncio.run(scenario())
    assert over_http[-1]["id"] == sent["id"] and over_http[-1]["mine"] is False
    assert "Posted over HTTP." in over_http[-1]["body_html"]
    assert "Posted on a socket." in on_socket[-1]["body_html"]
    # Mara's socket also carries the notices for her badge; no message comes twice.
    ids = [f["id"] for f in messages(over_http + on_socket + rest)]
    assert ids == [sent["id"], on_socket[-1]["id"]], ids
    assert {f["type"] for f in over_http + on_socket + rest} <= {"message", "notice", "read"}
    # Ana's own socket got her socket post's acknowledgement and both messages, once each.
    posted = [f for f in ana_frames if f["type"] == "posted"]
    assert posted == [{"type": "posted", "token": "t-1", "id": on_socket[-1]["id"]}]
    assert [f["id"] for f in messages(ana_frames)] == ids


def test_a_dropped_socket_resumes_without_gaps_or_duplicates(
    redis_servers: tuple[Server, Server], sessions: dict[str, str], thread_id: int
) -> None:
    first, second = redis_servers

    async def scenario() -> tuple[list, list, list, dict, list]:  # type: ignore[type-arg]
        async with live(second, sessions["mara"]) as mara:
            last_seen = newest_id(await mara.subscribe(thread_id, "specialist", after=0))
        # Mara's page is gone; three messages are posted meanwhile, through process one.
        missed = []
        for n in range(3):
            sent = await asyncio.to_thread(
                post_http, first, sessions["ana"], thread_id, f"While you were away {n}."
            )
            missed.append(sent["id"])
        async with live(second, sessions["mara"]) as mara:
            resumed = await mara.subscribe(thread_id, "specialist", after=last_seen)
            after_resume = await asyncio.to_thread(
                post_http, first, sessions["ana"], thread_id, "And one more, live."
            )
            live_frames = await mara.quiet()
        return missed, resumed, live_frames, after_resume, [last_seen]

    missed, resumed, live_frames, after_resume, (last_seen,) = asyncio.run(scenario())
    assert [f["id"] for f in messages(resumed)] == missed
    assert all(m > last_seen for m in missed)
    assert resumed[-1]["type"] == "subscribed" and resumed[-1]["upto"] == missed[-1]
    assert [f["id"] for f in messages(live_frames)] == [after_resume["id"]]


def test_a_socket_of_someone_else_is_refused_and_hears_nothing(
    redis_servers: tuple[Server, Server], sessions: dict[str, str], thread_id: int
) -> None:
    first, second = redis_servers

    async def scenario() -> list[tuple[dict, list]]:
        results = []
        async with (
            live(second, sessions["ben"], host=STEADY) as ben_home,
            live(second, sessions["ben"], host=HARBOR) as ben_here,
            live(second, sessions["paula"]) as paula,
        ):
            answers = []
            for socket in (ben_home, ben_here, paula):
                await socket.send(type="subscribe", thread=thread_id, portal="patient", after=0)
                answers.append(await socket.recv())
            await asyncio.to_thread(
                post_http, first, sessions["ana"], thread_id, "Not for strangers."
            )
            for socket, answer in zip((ben_home, ben_here, paula), answers, strict=True):
                results.append((answer, await socket.quiet()))
        return results

    for answer, later in asyncio.run(scenario()):
        assert answer == {"type": "error", "error": "not_found", "thread": thread_id}
        assert later == []


def test_a_socket_post_notifies_the_other_party_from_the_live_server(
    redis_servers: tuple[Server, Server],
    sessions: dict[str, str],
    thread_id: int,
    server_env: ServerEnv,
) -> None:
    """Inside uvicorn, message notifications are written in batches after the post
    (``messaging/notify.py``): Dr. Klein, with her notifications read and a page open
    elsewhere, is told of Ana's new message on her badge."""
    first, second = redis_servers
    manage_shell(
        server_env.env,
        "from caredoor.core.accounts.models import User; "
        "from caredoor.core.brands.models import Brand; "
        "from caredoor.core.notifications.actions import do_mark_all_read; "
        f"do_mark_all_read(User.objects.get(email='{MARA}'), "
        "Brand.objects.get(slug='harbor'), 'specialist')",
    )

    async def scenario() -> list[dict[str, Any]]:
        async with live(second, sessions["mara"]) as mara, live(first, sessions["ana"]) as ana:
            await ana.subscribe(thread_id, "patient", after=0)
            await ana.send(type="post", thread=thread_id, body="Are you free?", token="t-n")
            await ana.until("posted")
            frames = []
            while ("notice", "notification") not in [(f["type"], f.get("what")) for f in frames]:
                frames.append(await mara.recv())
            return frames

    frames = asyncio.run(scenario())
    notice = next(f for f in frames if f.get("what") == "notification")
    assert notice["kind"] == "message" and notice["portal"] == "specialist"
    assert notice["unread"] >= 1
