"""The live socket (``/ws/live/``) against the ASGI app, on the in-memory channel layer.

Each test opens real sockets with Channels' ``WebsocketCommunicator`` through the whole
edge (brand from Host, same origin, session cookie) and talks the protocol of
docs/realtime.md. Messages posted by the test go through the messaging actions, so their
pushes are the ones the application sends on commit.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from caredoor.api import realtime
from caredoor.core.messaging import actions, notify
from caredoor.core.messaging.events import BOOKING_CONFIRMED
from caredoor.core.messaging.models import Message, Side
from caredoor.core.notifications import presence
from caredoor.core.notifications.models import Notification
from caredoor.core.notifications.push import thread_group
from tests import factories
from tests.conftest import host_of
from tests.messaging_helpers import allocated_pair

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 2


@pytest.fixture(autouse=True)
def in_memory_layer():
    """The in-memory layer even when REDIS_URL is set: these tests are about one process."""
    layers = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    with override_settings(CHANNEL_LAYERS=layers):
        yield
    channel_layers.backends.clear()


@pytest.fixture
def pair(world):
    """Brand A's patient and specialist with their care thread."""
    _profile, _rel, thread = allocated_pair(world.a)
    return thread


@pytest.fixture
def session_of(client_for):
    def make(user, brand) -> tuple[str, str]:
        return host_of(brand), client_for(user, brand).cookies["sessionid"].value

    return make


class Live:
    """One socket, as a page would hold it."""

    def __init__(self, host: str, session: str | None, path: str = "/ws/live/") -> None:
        from caredoor.config.asgi import application

        headers = [(b"host", host.encode()), (b"origin", f"http://{host}".encode())]
        if session:
            headers.append((b"cookie", f"sessionid={session}".encode()))
        self.comm = WebsocketCommunicator(application, path, headers=headers)
        self.hello: dict[str, Any] = {}

    async def open(self) -> Live:
        connected, _ = await self.comm.connect(timeout=TIMEOUT)
        assert connected
        self.hello = await self.recv()
        assert self.hello["type"] == "hello", self.hello
        return self

    async def send(self, **content: Any) -> None:
        await self.comm.send_json_to(content)

    async def send_text(self, text: str) -> None:
        await self.comm.send_to(text_data=text)

    async def recv(self) -> dict[str, Any]:
        return await self.comm.receive_json_from(timeout=TIMEOUT)

    async def recv_until(self, kind: str) -> list[dict[str, Any]]:
        """Everything up to and including the first frame of type ``kind``."""
        frames = [await self.recv()]
        while frames[-1]["type"] != kind:
            frames.append(await self.recv())
        return frames

    async def subscribe(self, thread_id: int, portal: str, after: int = 0) -> list[dict]:
        await self.send(type="subscribe", thread=thread_id, portal=portal, after=after)
        return await self.recv_until("subscribed")

    async def drain(self, quiet: float = 0.3) -> list[dict[str, Any]]:
        """Every frame until none arrives for ``quiet`` seconds."""
        frames = []
        while not await self.comm.receive_nothing(timeout=quiet):
            frames.append(await self.recv())
        return frames

    async def nothing(self, timeout: float = 0.3) -> None:
        assert await self.comm.receive_nothing(timeout=timeout)

    async def close(self) -> None:
        await self.comm.disconnect()


def run(scenario: Any) -> Any:
    return async_to_sync(scenario)()


post = sync_to_async(actions.do_post)


async def say(thread, user, side, body: str) -> Message:
    return await post(thread, sender=user, side=side, body=body)


def _messages(frames: list[dict]) -> list[dict]:
    return [f for f in frames if f["type"] == "message"]


# --- connect ------------------------------------------------------------------------------


def test_anonymous_live_socket_is_closed_4401(world):
    async def scenario():
        live = Live("a.test", None)
        connected, _ = await live.comm.connect()
        assert connected
        return (await live.comm.receive_output())["code"]

    assert run(scenario) == realtime.CLOSE_UNAUTHENTICATED


def test_hello_joins_presence_and_ping_touches_it(world, session_of):
    user = world.a.patient
    host, session = session_of(user, world.a.brand)

    async def scenario():
        live = await Live(host, session).open()
        online_after_connect = await sync_to_async(presence.is_online)(user.pk)
        await sync_to_async(presence.leave)(user.pk)
        await live.send(type="ping")
        pong = await live.recv()
        online_after_ping = await sync_to_async(presence.is_online)(user.pk)
        await live.close()
        online_after_close = await sync_to_async(presence.is_online)(user.pk)
        return live.hello, online_after_connect, pong, online_after_ping, online_after_close

    hello, connected, pong, pinged, closed = run(scenario)
    assert hello == {"type": "hello", "user": user.pk}
    assert connected and pinged and not closed
    assert pong == {"type": "pong"}


# --- subscribe and resume -----------------------------------------------------------------


def test_resume_sends_exactly_the_missed_messages_then_live_without_duplicates(
    world, pair, session_of
):
    thread, patient, specialist = pair, world.a.patient, world.a.specialist
    host, session = session_of(patient, world.a.brand)

    async def scenario():
        sent = []
        for i in range(5):
            side = Side.PATIENT if i % 2 == 0 else Side.SPECIALIST
            who = patient if side == Side.PATIENT else specialist
            sent.append(await say(thread, who, side, f"message {i}"))
        live = await Live(host, session).open()
        frames = await live.subscribe(thread.pk, "patient", after=sent[1].pk)
        # A new message arrives live, once.
        sixth = await say(thread, specialist, Side.SPECIALIST, "message 5")
        live_frames = await live.recv_until("notice")  # the message and the badge notice
        # ... and, batched (notify.FLUSH_DELAY), the patient's new notification.
        live_frames += await live.recv_until("notice")
        # The same message pushed again (a second process, a retry): dropped; so is one
        # the resume already sent.
        layer = get_channel_layer()
        for message in (sixth, sent[3]):
            payload = await sync_to_async(_payload)(message)
            await layer.group_send(thread_group(thread.pk), {"type": "push", "payload": payload})
        await live.nothing()
        await live.close()
        return sent, sixth, frames, live_frames

    sent, sixth, frames, live_frames = run(scenario)
    resumed = _messages(frames)
    assert [m["id"] for m in resumed] == [m.pk for m in sent[2:]]
    assert [m["mine"] for m in resumed] == [True, False, True]
    assert "message 2" in resumed[0]["body_html"]
    assert frames[-1] == {
        "type": "subscribed",
        "thread": thread.pk,
        "upto": sent[-1].pk,
        "read_upto": sent[-2].pk,  # the specialist has read up to their own last message
    }
    assert [f["id"] for f in _messages(live_frames)] == [sixth.pk]
    # The patient had read up to their own reply, so only this message makes them a
    # notification.
    assert [(f["type"], f.get("what")) for f in live_frames] == [
        ("message", None),
        ("notice", "message"),
        ("notice", "notification"),
    ]


def _payload(message: Message) -> dict:
    from caredoor.core.messaging.wire import message_payload

    return message_payload(Message.objects.select_related("thread").get(pk=message.pk))


def test_resume_pages_through_a_long_gap(world, pair, session_of, monkeypatch):
    monkeypatch.setattr(realtime, "RESUME_PAGE", 3)
    host, session = session_of(world.a.patient, world.a.brand)

    async def scenario():
        ids = [(await say(pair, world.a.specialist, Side.SPECIALIST, f"m{i}")).pk for i in range(7)]
        live = await Live(host, session).open()
        frames = await live.subscribe(pair.pk, "patient", after=ids[0])
        await live.close()
        return ids, frames

    ids, frames = run(scenario)
    assert [m["id"] for m in _messages(frames)] == ids[1:]
    assert frames[-1]["upto"] == ids[-1]


def test_event_lines_reach_readers_in_their_portal(world, pair, session_of):
    host, session = session_of(world.a.specialist, world.a.brand)

    async def scenario():
        live = await Live(host, session).open()
        await live.subscribe(pair.pk, "specialist")
        await sync_to_async(actions.post_system_event)(
            pair, event=BOOKING_CONFIRMED, data={"booking": 1}
        )
        frame = await live.recv()
        await live.close()
        return frame

    frame = run(scenario)
    assert frame["kind"] == "event" and frame["event"] == BOOKING_CONFIRMED
    assert frame["event_text"] and frame["mine"] is False


def test_edits_and_deletions_arrive_as_updates(world, pair, session_of):
    host, session = session_of(world.a.specialist, world.a.brand)

    async def scenario():
        message = await say(pair, world.a.patient, Side.PATIENT, "first version")
        live = await Live(host, session).open()
        await live.subscribe(pair.pk, "specialist", after=message.pk)
        await sync_to_async(actions.do_edit)(message, by=world.a.patient, body="second version")
        edited = await live.recv()
        await sync_to_async(actions.do_delete)(message, by=world.a.patient)
        deleted = await live.recv()
        await live.close()
        return message, edited, deleted

    message, edited, deleted = run(scenario)
    assert edited["type"] == "update" and edited["id"] == message.pk
    assert "second version" in edited["body_html"] and edited["edited"]
    assert deleted["deleted"] is True and deleted["body_html"] == ""


# --- who may follow a thread --------------------------------------------------------------


def test_non_parties_get_not_found_and_nothing_afterwards(world, pair, session_of):
    other_patient = factories.make_user("second.patient.a@example.test")
    factories.grant(other_patient, "patient", network=world.a.network, brand=world.a.brand)
    cases = [
        (other_patient, world.a.brand, "patient"),
        (world.b.specialist, world.b.brand, "specialist"),  # another brand's specialist
        (world.b.specialist, world.a.brand, "specialist"),  # ... on this brand's host
        (world.a.affiliate, world.a.brand, "patient"),
        (world.a.operator, world.a.brand, "organization"),  # not a party of a care thread
        (world.outsider, world.a.brand, "patient"),
        (world.a.patient, world.a.sister, "patient"),  # the right person on another brand
        (world.a.patient, world.a.brand, "specialist"),  # ... in another portal
    ]
    sessions = [(session_of(user, brand), portal) for user, brand, portal in cases]

    async def scenario():
        answers = []
        sockets = []
        for (host, session), portal in sessions:
            live = await Live(host, session).open()
            await live.send(type="subscribe", thread=pair.pk, portal=portal, after=0)
            answers.append(await live.recv())
            sockets.append(live)
        await say(pair, world.a.specialist, Side.SPECIALIST, "for the patient only")
        later = []
        for live in sockets:
            # Longer than the batching of message notifications (notify.FLUSH_DELAY).
            later.append(await live.drain(quiet=0.8))
            # Posting, reading and typing in a thread not subscribed: refused as well.
            await live.send(type="post", thread=pair.pk, body="let me in", token="t-1")
            answers.append(await live.recv())
            await live.send(type="typing", thread=pair.pk)
            answers.append(await live.recv())
            await live.close()
        return answers, later

    answers, later = run(scenario)
    assert answers == [{"type": "error", "error": "not_found", "thread": pair.pk}] * len(answers)
    # Nothing of the thread reaches them; the patient's own notices (the message, and the
    # thread's new notification) reach only their socket on this brand (the page of
    # another portal shows them in that portal's badges).
    assert later[:-1] == [[]] * (len(cases) - 1)
    assert sorted((f["type"], f["what"]) for f in later[-1]) == [
        ("notice", "message"),
        ("notice", "notification"),
    ]
    assert not Message.objects.filter(thread=pair, body_encrypted="", side=Side.PATIENT).exists()
    assert Message.objects.filter(thread=pair).count() == 1


def test_subscriptions_per_connection_are_limited(world, pair, session_of, monkeypatch):
    monkeypatch.setattr(realtime, "MAX_SUBSCRIPTIONS", 1)
    staff = actions.staff_thread(world.a.brand, world.a.operator_org, patient=world.a.patient)
    host, session = session_of(world.a.patient, world.a.brand)

    async def scenario():
        live = await Live(host, session).open()
        first = await live.subscribe(pair.pk, "patient")
        await live.send(type="subscribe", thread=staff.pk, portal="patient", after=0)
        refused = await live.recv()
        again = await live.subscribe(pair.pk, "patient")  # renewing one is not another
        await live.close()
        return first[-1], refused, again[-1]

    first, refused, again = run(scenario)
    assert first["type"] == again["type"] == "subscribed"
    assert refused == {"type": "error", "error": "too_many_subscriptions", "thread": staff.pk}


# --- posting ------------------------------------------------------------------------------


def test_post_stores_one_message_per_token_and_reaches_both_parties(world, pair, session_of):
    patient_host, patient_session = session_of(world.a.patient, world.a.brand)
    specialist_host, specialist_session = session_of(world.a.specialist, world.a.brand)

    async def scenario():
        patient = await Live(patient_host, patient_session).open()
        specialist = await Live(specialist_host, specialist_session).open()
        await patient.subscribe(pair.pk, "patient")
        await specialist.subscribe(pair.pk, "specialist")
        await patient.send(type="post", thread=pair.pk, body="Hello <b>there</b>", token="tok-1")
        mine = [await patient.recv(), await patient.recv()]
        theirs = [await specialist.recv() for _ in range(3)]
        await patient.send(type="post", thread=pair.pk, body="Hello <b>there</b>", token="tok-1")
        retried = await patient.recv()
        await patient.nothing()
        await specialist.nothing()
        await patient.close()
        await specialist.close()
        return mine, theirs, retried

    mine, theirs, retried = run(scenario)
    stored = Message.objects.get(thread=pair)
    posted = next(f for f in mine if f["type"] == "posted")
    assert posted == {"type": "posted", "token": "tok-1", "id": stored.pk}
    assert retried == posted
    echo = next(f for f in mine if f["type"] == "message")
    assert echo["id"] == stored.pk and echo["mine"] is True
    assert "&lt;b&gt;" in echo["body_html"]
    # The specialist gets the message, a notice for the Messages badge of their portal and
    # one for the new notification (the Notifications badge).
    by_type = {(f["type"], f.get("what")): f for f in theirs}
    message = by_type[("message", None)]
    assert message["id"] == stored.pk and message["mine"] is False
    notification = Notification.objects.get(user=world.a.specialist, kind="message")
    assert by_type[("notice", "notification")] == {
        "type": "notice",
        "what": "notification",
        "notification": notification.pk,
        "kind": "message",
        "brand": world.a.brand.pk,
        "portal": "specialist",
        "unread": 1,
    }
    assert by_type[("notice", "message")] == {
        "type": "notice",
        "what": "message",
        "thread": pair.pk,
        "message": stored.pk,
        "brand": world.a.brand.pk,
        "portal": "specialist",
    }


def test_invalid_posts_answer_with_the_field_message_and_store_nothing(world, pair, session_of):
    host, session = session_of(world.a.patient, world.a.brand)

    async def scenario():
        live = await Live(host, session).open()
        await live.subscribe(pair.pk, "patient")
        answers = []
        for body in ("   ", "x" * 4001):
            await live.send(type="post", thread=pair.pk, body=body, token="tok-2")
            answers.append(await live.recv())
        await live.close()
        return answers

    empty, too_long = run(scenario)
    assert empty["type"] == "error" and empty["error"] == "invalid" and empty["token"] == "tok-2"
    assert empty["messages"] == {"body": ["Write a message first."]}
    assert "at most 4000 characters" in too_long["messages"]["body"][0]
    assert not Message.objects.filter(thread=pair).exists()


def test_closed_conversation_refuses_posts(world, pair, session_of):
    from caredoor.core.care.actions import do_end
    from caredoor.core.care.models import CareRelationship, EndReason

    host, session = session_of(world.a.patient, world.a.brand)
    relationship = CareRelationship.objects.get(patient=world.a.patient, ended_at__isnull=True)

    async def scenario():
        live = await Live(host, session).open()
        await live.subscribe(pair.pk, "patient")
        await sync_to_async(do_end)(relationship, reason=EndReason.ENDED, actor=world.a.patient)
        await live.send(type="post", thread=pair.pk, body="still there?", token="tok-3")
        answer = await live.recv()
        await live.close()
        return answer

    answer = run(scenario)
    assert answer["error"] == "invalid" and "closed" in answer["messages"]["body"][0]


# --- bad frames ---------------------------------------------------------------------------


def test_bad_frames_get_bad_request_and_the_socket_keeps_working(world, pair, session_of):
    host, session = session_of(world.a.patient, world.a.brand)
    bad_frames = [
        "{not json",
        json.dumps({"type": "ping", "pad": "x" * (16 * 1024)}),  # over 16 KiB
        json.dumps({"type": "shout"}),
        json.dumps(["ping"]),
        json.dumps({"no": "type"}),
        json.dumps({"type": ["ping"]}),
        json.dumps({"type": {"a": 1}}),
        "null",
        "12",
        "[" * 5000 + "]" * 5000,  # nested deeper than the parser goes
        json.dumps({"type": "subscribe", "thread": "1", "portal": "patient"}),
        json.dumps({"type": "subscribe", "thread": pair.pk, "portal": "admin"}),
        json.dumps({"type": "subscribe", "thread": pair.pk, "portal": "patient", "after": -1}),
        json.dumps({"type": "subscribe", "thread": True, "portal": "patient"}),
        json.dumps({"type": "subscribe", "thread": pair.pk, "portal": "patient", "after": 2**70}),
        json.dumps({"type": "post", "thread": None, "body": "x"}),
    ]

    async def scenario():
        live = await Live(host, session).open()
        answers = []
        for frame in bad_frames:
            await live.send_text(frame)
            answers.append(await live.recv())
        await asyncio.sleep(1.1)  # below the rate limit for what follows
        await live.subscribe(pair.pk, "patient")
        for frame in (
            {"type": "post", "thread": pair.pk, "body": ["x"], "token": "t"},
            {"type": "read", "thread": pair.pk, "upto": "all"},
        ):
            await live.send(**frame)
            answers.append(await live.recv())
        await live.comm.send_to(bytes_data=b"\x00\x01")
        answers.append(await live.recv())
        await live.send(type="ping")
        pong = await live.recv()
        await live.close()
        return answers, pong

    answers, pong = run(scenario)
    assert answers == [{"type": "error", "error": "bad_request"}] * (len(bad_frames) + 3)
    assert pong == {"type": "pong"}
    assert not Message.objects.filter(thread=pair).exists()


def test_flooding_connection_is_rate_limited_then_recovers(world, session_of):
    host, session = session_of(world.a.patient, world.a.brand)

    async def scenario():
        live = await Live(host, session).open()
        for _ in range(40):
            await live.send(type="ping")
        frames = await live.drain()
        await asyncio.sleep(1.1)
        await live.send(type="ping")
        after = await live.recv()
        await live.close()
        return frames, after

    frames, after = run(scenario)
    pongs = [f for f in frames if f == {"type": "pong"}]
    limited = [f for f in frames if f == {"type": "error", "error": "rate_limited"}]
    assert 20 <= len(pongs) < 40
    assert len(limited) == 1  # said once, the rest dropped silently
    assert after == {"type": "pong"}


# --- typing and reading -------------------------------------------------------------------


def test_typing_reaches_the_other_party_only_at_most_every_two_seconds(world, pair, session_of):
    patient_host, patient_session = session_of(world.a.patient, world.a.brand)
    specialist_host, specialist_session = session_of(world.a.specialist, world.a.brand)

    async def scenario():
        patient = await Live(patient_host, patient_session).open()
        patient_tab = await Live(patient_host, patient_session).open()
        specialist = await Live(specialist_host, specialist_session).open()
        for live, portal in (
            (patient, "patient"),
            (patient_tab, "patient"),
            (specialist, "specialist"),
        ):
            await live.subscribe(pair.pk, portal)
        await patient.send(type="typing", thread=pair.pk)
        await patient.send(type="typing", thread=pair.pk)  # within 2 s: dropped
        seen = await specialist.recv()
        await specialist.nothing()
        await patient.nothing()
        await patient_tab.nothing()  # not echoed to the typist's other tabs either
        for live in (patient, patient_tab, specialist):
            await live.close()
        return seen

    seen = run(scenario)
    assert seen == {
        "type": "typing",
        "thread": pair.pk,
        "user": world.a.patient.pk,
        "name": world.a.patient.display_name,
    }


def test_read_receipts_reach_the_thread(world, pair, session_of):
    patient_host, patient_session = session_of(world.a.patient, world.a.brand)
    specialist_host, specialist_session = session_of(world.a.specialist, world.a.brand)

    async def scenario():
        message = await say(pair, world.a.patient, Side.PATIENT, "are you there?")
        await asyncio.sleep(notify.FLUSH_DELAY * 3)  # the specialist's notification exists
        patient = await Live(patient_host, patient_session).open()
        specialist = await Live(specialist_host, specialist_session).open()
        before = (await patient.subscribe(pair.pk, "patient"))[-1]
        await specialist.subscribe(pair.pk, "specialist")
        await specialist.send(type="read", thread=pair.pk, upto=message.pk)
        receipt = await patient.recv()
        own = await specialist.recv()  # the reader's other pages learn it too
        await specialist.send(type="read", thread=pair.pk, upto=message.pk)  # no move: quiet
        await patient.nothing()
        later = (await patient.subscribe(pair.pk, "patient", after=message.pk))[-1]
        await patient.close()
        await specialist.close()
        return message, before, receipt, own, later

    message, before, receipt, own, later = run(scenario)
    # Reading on the socket reads the thread's message notification too.
    assert Notification.objects.filter(user=world.a.specialist, read_at__isnull=False).exists()
    assert not Notification.objects.filter(user=world.a.specialist, read_at__isnull=True).exists()
    assert before["read_upto"] == 0
    expected = {
        "type": "read",
        "thread": pair.pk,
        "user": world.a.specialist.pk,
        "upto": message.pk,
    }
    assert receipt == own == expected
    assert later["read_upto"] == message.pk


def test_the_ping_socket_still_forwards_pushes(world, session_of):
    host, session = session_of(world.a.patient, world.a.brand)

    async def scenario():
        live = await Live(host, session, path="/ws/ping/").open()
        await get_channel_layer().group_send(
            f"user.{world.a.patient.pk}", {"type": "push", "payload": {"type": "notice"}}
        )
        frame = await live.recv()
        await live.close()
        return frame

    assert run(scenario) == {"type": "notice"}


def test_a_message_read_at_once_leaves_no_unread_notification(world, pair, session_of):
    """In a live server message notifications are written in batches; a page that has
    the thread open reads the message before the batch runs, and gets none."""
    host, session = session_of(world.a.specialist, world.a.brand)

    async def scenario():
        specialist = await Live(host, session).open()
        await specialist.subscribe(pair.pk, "specialist")
        message = await say(pair, world.a.patient, Side.PATIENT, "quick question")
        await specialist.recv_until("message")
        await specialist.send(type="read", thread=pair.pk, upto=message.pk)
        frames = await specialist.drain(quiet=notify.FLUSH_DELAY * 3)
        await specialist.close()
        return frames

    frames = run(scenario)
    notify.flush()  # whatever the loop had not flushed yet: the same rule applies
    assert ("notice", "notification") not in [(f["type"], f.get("what")) for f in frames]
    assert not Notification.objects.filter(user=world.a.specialist, kind="message").exists()
    # A message nobody has read yet still gets its notification (outside a live loop:
    # at once).
    actions.do_post(pair, sender=world.a.patient, side=Side.PATIENT, body="still there?")
    unread = Notification.objects.filter(user=world.a.specialist, read_at__isnull=True)
    assert [n.kind for n in unread] == ["message"]


@pytest.mark.parametrize("full_reload", [False, True], ids=["membership-lookup", "full-check"])
def test_access_that_ends_while_subscribed_stops_posting(
    world, pair, session_of, monkeypatch, full_reload
):
    """Posts re-check access (at most every ACCESS_RECHECK seconds: here every post),
    by the granting membership or, every THREAD_RELOAD seconds, by the full check."""
    from django.utils import timezone

    from caredoor.core.accounts.models import Membership

    monkeypatch.setattr(realtime, "ACCESS_RECHECK", 0.0)
    monkeypatch.setattr(realtime, "THREAD_RELOAD", 0.0 if full_reload else 3600.0)
    host, session = session_of(world.a.patient, world.a.brand)

    async def scenario():
        live = await Live(host, session).open()
        await live.subscribe(pair.pk, "patient")
        await live.send(type="post", thread=pair.pk, body="before", token="t-before")
        before = (await live.recv_until("posted"))[-1]
        await sync_to_async(Membership.objects.filter(user=world.a.patient, role="patient").update)(
            revoked_at=timezone.now()
        )
        await live.send(type="post", thread=pair.pk, body="after", token="t-after")
        after = (await live.recv_until("error"))[-1]
        # The subscription is gone: a second try is refused without a database lookup.
        await live.send(type="post", thread=pair.pk, body="again", token="t-again")
        again = await live.recv()
        await live.close()
        return before, after, again

    before, after, again = run(scenario)
    assert before["type"] == "posted"
    assert after == {"type": "error", "error": "not_found", "thread": pair.pk}
    assert again == {"type": "error", "error": "not_found", "thread": pair.pk}
    assert list(Message.objects.filter(thread=pair).values_list("client_token", flat=True)) == [
        "t-before"
    ]
