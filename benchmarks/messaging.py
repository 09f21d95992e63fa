"""Real-time messaging under load: 500 WebSocket clients in 250 patient-specialist pairs.

One uvicorn process serves the ASGI app with the Redis channel layer (``REDIS_URL``,
default ``redis://127.0.0.1:6379/9``; this benchmark needs Redis and stops with an error
without it). Every client holds ``/ws/live/`` with a signed-in session and subscribes to
its pair's thread; for ``--seconds`` (60) each pair sends one message per second through
the socket (``post``), patient and specialist in turn. Each body carries its send time;
the other party's client measures delivery latency on the same monotonic clock (clients
and clock are in this one process). After a drain period, messages not received by the
other party count as lost.

Prints ``FIGURE ws_delivery_p50_ms``, ``_p95_ms``, ``_p99_ms``, ``ws_lost_messages``,
``ws_rss_mib`` (the server's resident memory at the end) and ``ws_messages_per_s``.
DATABASE_URL picks the database (a fresh PostgreSQL database is created and dropped);
without it, a temporary SQLite file. ``--pairs`` and ``--seconds`` make a quick run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--pairs", type=int, default=250)
parser.add_argument("--seconds", type=int, default=60)
parser.add_argument("--drain", type=float, default=10.0, help="seconds to wait for stragglers")
parser.add_argument("--profile", help="write the server's cProfile statistics to this file")
parser.add_argument(
    "--spy",
    help="sample the server with py-spy (pip install py-spy) while the pairs talk; "
    "collapsed stacks of the threads holding the GIL go to this file",
)
args = parser.parse_args()

REDIS_URL = os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
try:
    import redis

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
except Exception as error:
    sys.exit(
        f"benchmarks/messaging.py needs Redis: {REDIS_URL} is not reachable "
        f"({type(error).__name__}). Start Redis or set REDIS_URL."
    )
redis.Redis.from_url(REDIS_URL).flushdb()  # a benchmark database: start from nothing

# Measure the code as deployed: with DEBUG on, Django logs every query (and on SQLite
# runs a second one per query to quote its parameters).
os.environ.setdefault("DEBUG", "false")

from _setup import django_with_demo  # noqa: E402

django_with_demo()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from caredoor.core.accounts.models import Membership, User  # noqa: E402
from caredoor.core.brands.models import Brand  # noqa: E402
from caredoor.core.care.models import CareRelationship  # noqa: E402
from caredoor.core.messaging.models import Thread  # noqa: E402
from caredoor.core.organizations.models import Organization  # noqa: E402
from caredoor.core.specialists.models import (  # noqa: E402
    Listing,
    PublishedProfile,
    SpecialistProfile,
)

ROOT = Path(__file__).resolve().parents[1]
HOST = "harbor.localhost"
BODY = re.compile(r"bench (\d+) (\d+) ([0-9.]+)")

# --- the pairs, in bulk (a benchmark fixture, not a code path) -----------------------------
started = time.perf_counter()
brand = Brand.objects.get(slug="harbor")
network = brand.network
operator_org = Organization.objects.get(network=network, kind="operator")
now = timezone.now()
n = args.pairs
patients = User.objects.bulk_create(
    [User(email=f"patient{i}@bench.test", name=f"Patient {i}") for i in range(n)]
)
doctors = User.objects.bulk_create(
    [User(email=f"doctor{i}@bench.test", name=f"Doctor {i}") for i in range(n)]
)
Membership.objects.bulk_create(
    [Membership(user=u, role="patient", network=network, brand=brand) for u in patients]
    + [Membership(user=u, role="specialist", network=network) for u in doctors]
)
profiles = SpecialistProfile.objects.bulk_create(
    [
        SpecialistProfile(
            user=u,
            network=network,
            registered_on=brand,
            onboarded_by=operator_org,
            status="approved",
            display_name=u.name,
            time_zone="Europe/Berlin",
        )
        for u in doctors
    ]
)
PublishedProfile.objects.bulk_create(
    [
        PublishedProfile(profile=p, data={"display_name": p.display_name}, published_at=now)
        for p in profiles
    ]
)
Listing.objects.bulk_create(
    [Listing(profile=p, brand=brand, status="approved", price_minor=9000) for p in profiles]
)
CareRelationship.objects.bulk_create(
    [
        CareRelationship(brand=brand, patient=pt, profile=pr, source="directory")
        for pt, pr in zip(patients, profiles, strict=True)
    ]
)
threads = Thread.objects.bulk_create(
    [
        Thread(brand=brand, kind="care", patient=pt, profile=pr)
        for pt, pr in zip(patients, profiles, strict=True)
    ]
)


def session_for(user: User) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


@dataclass
class Client:
    pair: int
    portal: str
    thread: int
    session: str
    ws: ClientConnection | None = None
    acks: int = 0
    errors: list[dict] = field(default_factory=list)


clients: list[tuple[Client, Client]] = [
    (
        Client(i, "patient", threads[i].pk, session_for(patients[i])),
        Client(i, "specialist", threads[i].pk, session_for(doctors[i])),
    )
    for i in range(n)
]
vendor = connection.vendor
print(
    f"# built {n} pairs and {2 * n} sessions in {time.perf_counter() - started:.1f} s on {vendor}"
)
connections.close_all()

# --- one server process ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = free_port()
# --profile FILE: cProfile in the event loop (FILE.main) and in every thread that
# sync_to_async starts (FILE.t0, FILE.t1, ...: the database thread is the big one),
# written when the server gets SIGUSR1 (uvicorn handles SIGTERM itself).
PROFILED = """
import cProfile, os, signal, threading, uvicorn
from asgiref.sync import SyncToAsync
profiles = {{}}
handler = SyncToAsync.thread_handler
def profiled(self, loop, *args, **kwargs):
    if threading.get_ident() not in profiles:
        profiles[threading.get_ident()] = cProfile.Profile()
        profiles[threading.get_ident()].enable()
    return handler(self, loop, *args, **kwargs)
SyncToAsync.thread_handler = profiled
main = cProfile.Profile()
def stop(*_):
    main.disable()
    main.dump_stats("{out}.main")
    for number, profile in enumerate(list(profiles.values())):
        profile.dump_stats(f"{out}.t{{number}}")
    os._exit(0)
signal.signal(signal.SIGUSR1, stop)
main.enable()
uvicorn.run(
    "caredoor.config.asgi:application",
    port={port},
    log_level="warning",
    ws_per_message_deflate=False,
)
"""
# As scripts/serve runs it: no per-message compression (chat frames are a few hundred
# bytes; deflating each cost the loop a fifth of its time).
UVICORN = [
    "-m",
    "uvicorn",
    "caredoor.config.asgi:application",
    "--port",
    str(PORT),
    "--ws-per-message-deflate",
    "false",
]
server_log = Path(os.environ["CAREDOOR_DATA_DIR"]) / "uvicorn.log"
server = subprocess.Popen(
    [sys.executable, "-c", PROFILED.format(port=PORT, out=Path(args.profile).resolve())]
    if args.profile
    else [sys.executable, *UVICORN, "--log-level", "warning"],
    cwd=ROOT,
    env={**os.environ, "LOG_LEVEL": "WARNING"},
    stdout=server_log.open("wb"),
    stderr=subprocess.STDOUT,
)


def rss_mib(pid: int, field_name: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_healthy() -> None:
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"uvicorn exited:\n{server_log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit(f"uvicorn not healthy:\n{server_log.read_text()[-3000:]}")


# --- the clients -----------------------------------------------------------------------------

latencies: list[float] = []
received: dict[tuple[int, int], int] = {}  # (pair, seq) -> times the other party got it


async def open_socket(client: Client) -> None:
    client.ws = await connect(
        f"ws://{HOST}:{PORT}/ws/live/",
        host="127.0.0.1",
        port=PORT,
        origin=f"http://{HOST}:{PORT}",
        additional_headers={"Cookie": f"sessionid={client.session}"},
        open_timeout=30,
        max_queue=None,
    )
    hello = json.loads(await client.ws.recv())
    assert hello["type"] == "hello", hello
    await client.ws.send(
        json.dumps({"type": "subscribe", "thread": client.thread, "portal": client.portal})
    )
    while json.loads(await client.ws.recv())["type"] != "subscribed":
        pass


dropped: list[str] = []  # sockets the server or the network closed during the run


async def listen(client: Client) -> None:
    assert client.ws is not None
    try:
        await receive_all(client)
    except ConnectionClosed as closed:
        dropped.append(str(closed))


async def receive_all(client: Client) -> None:
    assert client.ws is not None
    async for frame in client.ws:
        arrived = time.perf_counter()
        data = json.loads(frame)
        kind = data.get("type")
        if kind == "message" and not data.get("mine"):
            match = BODY.search(data.get("body_html", ""))
            if match:
                pair, seq, sent = int(match[1]), int(match[2]), float(match[3])
                key = (pair, seq)
                received[key] = received.get(key, 0) + 1
                if received[key] == 1:
                    latencies.append((arrived - sent) * 1000)
        elif kind == "posted":
            client.acks += 1
        elif kind == "error":
            client.errors.append(data)


async def talk(pair: tuple[Client, Client], start: float, offset: float) -> None:
    for seq in range(args.seconds):
        await asyncio.sleep(max(0.0, start + seq + offset - time.perf_counter()))
        sender = pair[seq % 2]
        assert sender.ws is not None
        body = f"bench {sender.pair} {seq} {time.perf_counter():.6f}"
        frame = {"type": "post", "thread": sender.thread, "body": body, "token": str(uuid.uuid4())}
        try:
            await sender.ws.send(json.dumps(frame))
        except ConnectionClosed:
            sender.errors.append({"error": "closed before sending"})


async def main() -> None:
    everyone = [c for pair in clients for c in pair]
    t0 = time.perf_counter()
    for batch in range(0, len(everyone), 50):
        await asyncio.gather(*(open_socket(c) for c in everyone[batch : batch + 50]))
    print(f"# {len(everyone)} sockets connected and subscribed in {time.perf_counter() - t0:.1f} s")
    listeners = [asyncio.create_task(listen(c)) for c in everyone]
    rss_before = rss_mib(server.pid)
    cpu_before = cpu_seconds(server.pid)
    own_before = time.process_time()
    start = time.perf_counter() + 1
    if args.spy:
        spy = [sys.executable.rsplit("/", 1)[0] + "/py-spy", "record", "-p", str(server.pid)]
        spy += ["-d", str(args.seconds), "-r", "250", "--gil", "--threads", "--format", "raw"]
        subprocess.Popen([*spy, "-o", args.spy], stdout=subprocess.DEVNULL)
    await asyncio.gather(*(talk(pair, start, i / len(clients)) for i, pair in enumerate(clients)))
    sent_for = time.perf_counter() - start
    expected = len(clients) * args.seconds
    deadline = time.perf_counter() + args.drain
    while len(received) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    delivered_for = time.perf_counter() - start
    cpu = cpu_seconds(server.pid) - cpu_before
    own = time.process_time() - own_before
    print(
        f"# server CPU {cpu:.1f} s, {cpu * 1000 / max(1, len(received)):.2f} ms per message; "
        f"clients' CPU {own:.1f} s over {delivered_for:.1f} s"
    )
    rss_after = rss_mib(server.pid)
    peak = rss_mib(server.pid, "VmHWM")
    for c in everyone:
        assert c.ws is not None
        await c.ws.close()
    for task in listeners:
        task.cancel()
    report(expected, sent_for, delivered_for, rss_before, rss_after, peak, everyone)


def report(expected, sent_for, delivered_for, rss_before, rss_after, peak, everyone) -> None:  # type: ignore[no-untyped-def]
    samples = sorted(latencies) or [float("nan")]

    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(len(samples) * p))]

    lost = expected - len(received)
    duplicates = sum(count - 1 for count in received.values())
    acks = sum(c.acks for c in everyone)
    errors = [e for c in everyone for e in c.errors]
    print(
        f"# {expected} messages sent over {sent_for:.1f} s; {len(received)} delivered, "
        f"{duplicates} duplicates, {acks} acknowledged, {len(errors)} errors "
        f"{sorted({e.get('error') for e in errors})}, {len(dropped)} sockets dropped "
        f"{sorted(set(dropped))[:3]}; max latency {samples[-1]:.1f} ms; "
        f"server RSS {rss_before:.0f} MiB connected, peak {peak:.0f} MiB"
    )
    print(f"FIGURE ws_delivery_p50_ms {statistics.median(samples):.2f}")
    print(f"FIGURE ws_delivery_p95_ms {pct(0.95):.2f}")
    print(f"FIGURE ws_delivery_p99_ms {pct(0.99):.2f}")
    print(f"FIGURE ws_lost_messages {lost}")
    print(f"FIGURE ws_rss_mib {rss_after:.1f}")
    print(f"FIGURE ws_messages_per_s {len(received) / delivered_for:.1f}")


try:
    wait_healthy()
    asyncio.run(main())
finally:
    if args.profile:
        server.send_signal(signal.SIGUSR1)
        time.sleep(5)
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
    errors = [line for line in server_log.read_text(errors="replace").splitlines() if line]
    if errors:
        print("# server log (last lines):\n# " + "\n# ".join(errors[-10:]))
