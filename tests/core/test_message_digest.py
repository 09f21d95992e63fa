"""Unread-message digests, delivered to a real SMTP server (aiosmtpd in a thread).

The specialist of brand A has unread messages from their patient and from the operator's
staff; the digest that reaches the server is one email per person, brand and portal, in
the person's language, with the count and a link and never the text of a message. People
online, people who read promptly and people who switched the email off get nothing; a
digest is sent once, and new messages make a new one.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.utils import timezone

from caredoor.core.messaging import actions, digest
from caredoor.core.messaging.models import Side, ThreadRead
from caredoor.core.notifications import presence, sms
from caredoor.core.notifications.models import Channel, Delivery, DeliveryState, KindGroup
from caredoor.core.notifications.preferences import do_set_preferences
from tests.messaging_helpers import allocated_pair
from tests.smtp_server import SmtpServer, django_smtp, free_port

pytestmark = pytest.mark.django_db

SECRET = "Zebra-Quokka-7731 my knee hurts"


@dataclass
class Raw:
    """Keeps every message the server accepted, as the bytes that went over the wire."""

    messages: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        with self.lock:
            self.messages.append(envelope.content)
        return "250 Message accepted for delivery"

    def parsed(self) -> list[email.message.EmailMessage]:
        with self.lock:
            return [
                email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
                for raw in self.messages
            ]


@contextlib.contextmanager
def raw_smtp() -> Iterator[Raw]:
    handler = Raw()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with django_smtp(SmtpServer("127.0.0.1", port, None)):  # type: ignore[arg-type]
            yield handler
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[Raw]:
    with raw_smtp() as handler:
        yield handler


@pytest.fixture
def chat(world):  # type: ignore[no-untyped-def]
    """Three unread messages for the specialist in two conversations on brand A."""
    profile, _rel, care = allocated_pair(world.a)
    staff = actions.staff_thread(world.a.brand, world.a.operator_org, profile=profile)
    actions.do_post(care, sender=world.a.patient, side=Side.PATIENT, body=SECRET)
    actions.do_post(care, sender=world.a.patient, side=Side.PATIENT, body="second note")
    actions.do_post(staff, sender=world.a.operator, side=Side.STAFF, body="Welcome aboard")
    return {"care": care, "staff": staff, "profile": profile}


def later(minutes: int = 11):  # type: ignore[no-untyped-def]
    return timezone.now() + timedelta(minutes=minutes)


def body_of(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def test_one_digest_in_german_with_count_and_link_and_no_text(world, chat, smtp):
    specialist = world.a.specialist
    specialist.language = "de"
    specialist.save(update_fields=["language"])

    assert digest.send_digests(later()) == 1

    [mail] = smtp.parsed()
    raw = smtp.messages[0].decode("utf-8", "replace")
    assert mail["To"] == specialist.email
    assert mail["Content-Language"] == "de"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "Brand A" in mail["From"]
    text = body_of(mail)
    assert text.startswith("Hallo,")  # the German catalog's greeting, not "Hello,"
    assert "3" in mail["Subject"] and "Brand A" in mail["Subject"]
    assert "3" in text and ": 2" in text  # three messages, two conversations
    assert "http://a.test:8000/specialist/" in text and "messages/" in text
    # Nothing of what was written, and nobody's name.
    for secret in ("Zebra", "Quokka", "knee", "second note", "Welcome aboard"):
        assert secret not in raw
    for name in (world.a.patient.display_name, world.a.operator.display_name, "Operator A"):
        assert name not in raw
    # The digest is recorded under its key and the position moved in both threads.
    newest = max(chat["care"].messages.latest("pk").pk, chat["staff"].messages.latest("pk").pk)
    row = Delivery.objects.get(key__startswith=f"digest:{specialist.pk}:")
    assert row.key == f"digest:{specialist.pk}:{world.a.brand.pk}:specialist:{newest}"
    assert row.state == DeliveryState.SENT and row.channel == Channel.EMAIL
    for thread in (chat["care"], chat["staff"]):
        read = ThreadRead.objects.get(thread=thread, user=specialist)
        assert read.notified_upto_id == thread.messages.latest("pk").pk
        assert read.last_read_id == 0  # a digest is not reading
    # The writers get nothing for their own messages, and no in-app notification is added.
    assert not Delivery.objects.filter(user__in=[world.a.patient, world.a.operator]).exists()


def test_english_for_an_english_reader(world, chat, smtp):
    digest.send_digests(later())
    [mail] = smtp.parsed()
    assert mail["Content-Language"] == "en"
    assert mail["Subject"] == "You have 3 unread messages on Brand A"
    assert body_of(mail).startswith("Hello,")


def test_not_before_the_delay_and_not_for_prompt_readers(world, chat, smtp):
    assert digest.send_digests(later(5)) == 0
    # The specialist reads the care thread: only the staff thread's message remains.
    actions.do_mark_read(chat["care"], world.a.specialist)
    assert digest.send_digests(later()) == 1
    [mail] = smtp.parsed()
    assert mail["Subject"] == "You have 1 unread message on Brand A"


def test_nobody_online_is_emailed(world, chat, smtp):
    presence.touch(world.a.specialist.pk)
    assert digest.send_digests(later()) == 0
    assert smtp.messages == []
    assert ThreadRead.objects.filter(user=world.a.specialist, notified_upto_id__gt=0).count() == 0
    presence.leave(world.a.specialist.pk)
    assert digest.send_digests(later()) == 1


def test_sent_once_even_when_the_position_was_not_saved(world, chat, smtp):
    assert digest.send_digests(later()) == 1
    assert digest.send_digests(later(12)) == 0
    # A crash between sending and saving the position: the next run finds the same key
    # sent, sends nothing and saves the position.
    ThreadRead.objects.filter(user=world.a.specialist).update(notified_upto_id=0)
    digest.send_digests(later(13))
    assert len(smtp.messages) == 1
    assert ThreadRead.objects.filter(user=world.a.specialist, notified_upto_id=0).count() == 0


def test_a_new_batch_makes_a_new_digest(world, chat, smtp):
    digest.send_digests(later())
    actions.do_post(chat["care"], sender=world.a.patient, side=Side.PATIENT, body="again")
    assert digest.send_digests(later(5)) == 0  # the new message is not 10 minutes old
    assert digest.send_digests(later(11)) == 1
    _first, second = smtp.parsed()
    assert second["Subject"] == "You have 1 unread message on Brand A"
    assert "again" not in smtp.messages[1].decode()
    assert Delivery.objects.filter(key__startswith="digest:", state="sent").count() == 2


def test_preferences_switch_the_digest_off(world, chat, smtp):
    do_set_preferences(
        world.a.specialist, world.a.brand, {(KindGroup.MESSAGES, Channel.EMAIL): False}
    )
    assert digest.send_digests(later()) == 0
    assert smtp.messages == []
    # The preference is per brand: nothing else changed, and switching back sends it.
    do_set_preferences(
        world.a.specialist, world.a.brand, {(KindGroup.MESSAGES, Channel.EMAIL): True}
    )
    assert digest.send_digests(later()) == 1


def test_a_failed_email_is_tried_again(world, chat):
    closed = free_port()  # nothing listens there
    with django_smtp(SmtpServer("127.0.0.1", closed, None)):  # type: ignore[arg-type]
        assert digest.send_digests(later()) == 0
    row = Delivery.objects.get(key__startswith="digest:")
    assert row.state == DeliveryState.FAILED
    assert ThreadRead.objects.filter(user=world.a.specialist, notified_upto_id__gt=0).count() == 0
    with raw_smtp() as smtp:
        assert digest.send_digests(later(12)) == 0  # not before the retry delay
        assert digest.send_digests(later(14)) == 1
        assert len(smtp.messages) == 1


class FakeSms:
    enabled = True

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, text: str) -> str:
        self.sent.append((to, text))
        return f"SM{len(self.sent):032d}"


def test_the_sms_twin_carries_the_count_and_the_link_only(world, chat, smtp, monkeypatch):
    """SMS goes through a recording fake here (tests/core/test_sms.py checks the Twilio
    request itself against httpx.MockTransport; Twilio cannot be reached from tests)."""
    fake = FakeSms()
    monkeypatch.setattr(sms, "sms_sender", lambda: fake)
    specialist = world.a.specialist
    specialist.phone = "+4915112345678"
    specialist.save(update_fields=["phone"])
    # Off by default: email only.
    digest.send_digests(later())
    assert fake.sent == [] and len(smtp.messages) == 1
    actions.do_post(chat["care"], sender=world.a.patient, side=Side.PATIENT, body=SECRET)
    do_set_preferences(
        specialist,
        world.a.brand,
        {(KindGroup.MESSAGES, Channel.SMS): True, (KindGroup.MESSAGES, Channel.EMAIL): False},
    )
    assert digest.send_digests(later(22)) == 0  # no email now, a text instead
    [(to, text)] = fake.sent
    assert to == "+4915112345678"
    assert text == "Brand A: you have 1 unread message. http://a.test:8000/specialist/messages/"
    assert "Zebra" not in text
    row = Delivery.objects.get(key__startswith="digest-sms:")
    assert row.channel == Channel.SMS and row.state == DeliveryState.SENT
    assert row.payload["provider_id"].startswith("SM")
    assert len(smtp.messages) == 1


def test_the_command_runs_it_once(world, chat, smtp, capsys):
    call_command("send_message_digests", "--delay-minutes", "0")
    assert "Sent 1 message digests." in capsys.readouterr().out
    assert len(smtp.messages) == 1
