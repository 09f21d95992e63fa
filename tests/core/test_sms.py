"""The SMS channel: the Twilio adapter, the disabled default, configuration, texts sent
under the delivery protocol, and reminder texts.

Twilio cannot be reached from tests, so the adapter talks to an ``httpx.MockTransport``
that records each request and answers as Twilio's Messages API does: these tests check
the request's shape (URL, basic auth, form fields) and the error path, not a real send.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from django.utils import timezone

from caredoor.config.env import ConfigError, load
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.booking.reminders import send_due_reminders
from caredoor.core.notifications import actions, sms
from caredoor.core.notifications.models import Channel, Delivery, DeliveryState, KindGroup
from caredoor.core.notifications.preferences import do_set_preferences
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.actions import do_register_specialist

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "secret-token-123"
FROM = "+15005550006"


class Twilio:
    """A stand-in for Twilio's Messages endpoint (an httpx.MockTransport handler)."""

    def __init__(self, status: int = 201, body: dict | None = None) -> None:  # type: ignore[type-arg]
        self.status = status
        self.body = body if body is not None else {"sid": "SM" + "f" * 32, "status": "queued"}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body)

    def adapter(self) -> sms.TwilioSms:
        return sms.TwilioSms(SID, TOKEN, FROM, transport=httpx.MockTransport(self))


def test_twilio_request_shape():
    twilio = Twilio()
    provider_id = twilio.adapter().send("+4915112345678", "Brand A: you have 2 unread messages.")
    assert provider_id == "SM" + "f" * 32
    [request] = twilio.requests
    assert request.method == "POST"
    assert str(request.url) == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.content.decode())
    assert form == {
        "To": ["+4915112345678"],
        "From": [FROM],
        "Body": ["Brand A: you have 2 unread messages."],
    }


def test_twilio_refusal_is_a_clear_error_without_the_number_or_text():
    twilio = Twilio(400, {"code": 21211, "message": "The 'To' number +4915112345678 is not valid"})
    with pytest.raises(sms.SmsError) as error:
        twilio.adapter().send("+4915112345678", "Brand A: 1 unread message.")
    assert str(error.value) == "Twilio refused the message: HTTP 400, error 21211"
    assert "+49" not in str(error.value)


def test_twilio_unreachable_and_odd_answers():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route", request=request)

    adapter = sms.TwilioSms(SID, TOKEN, FROM, transport=httpx.MockTransport(down))
    with pytest.raises(sms.SmsError, match="could not be reached: ConnectError"):
        adapter.send("+4915112345678", "x")
    with pytest.raises(sms.SmsError, match="without a message id"):
        Twilio(201, {"status": "queued"}).adapter().send("+4915112345678", "x")
    with pytest.raises(sms.SmsError, match=r"HTTP 500$"):
        sms.TwilioSms(
            SID,
            TOKEN,
            FROM,
            transport=httpx.MockTransport(lambda r: httpx.Response(500, text="oops")),
        ).send("+4915112345678", "x")
    assert TOKEN not in repr(adapter)


def test_disabled_by_default_and_refuses_loudly(settings):
    settings.SMS_TWILIO = None
    sender = sms.sms_sender()
    assert isinstance(sender, sms.DisabledSms) and sender.enabled is False
    with pytest.raises(sms.SmsDisabled):
        sender.send("+4915112345678", "x")


def test_configured_sender_from_settings(settings):
    settings.SMS_TWILIO = {"account_sid": SID, "auth_token": TOKEN, "from_number": FROM}
    sender = sms.sms_sender()
    assert isinstance(sender, sms.TwilioSms) and sender.enabled
    assert sender.url.endswith(f"/Accounts/{SID}/Messages.json")


def test_environment_all_three_or_none(tmp_path):
    assert load({}, base_dir=tmp_path).sms_enabled is False
    full = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": FROM}
    config = load(full, base_dir=tmp_path)
    assert config.sms_enabled and config.twilio_from_number == FROM
    assert TOKEN not in repr(config)
    for missing in full:
        partial = {k: v for k, v in full.items() if k != missing}
        with pytest.raises(ConfigError) as error:
            load(partial, base_dir=tmp_path)
        assert error.value.name == missing
        assert "all of" in str(error.value)
    with pytest.raises(ConfigError, match=r"^TWILIO_ACCOUNT_SID:"):
        load({**full, "TWILIO_ACCOUNT_SID": "nope"}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"^TWILIO_FROM_NUMBER:"):
        load({**full, "TWILIO_FROM_NUMBER": "0301234"}, base_dir=tmp_path)


# --- send_text: the delivery protocol for texts --------------------------------------------


@pytest.fixture
def twilio(settings, monkeypatch):  # type: ignore[no-untyped-def]
    """Texts configured, going to the mock Twilio."""
    settings.SMS_TWILIO = {"account_sid": SID, "auth_token": TOKEN, "from_number": FROM}
    fake = Twilio()
    monkeypatch.setattr(sms, "sms_sender", fake.adapter)
    return fake


@pytest.fixture
def texting_patient(world):  # type: ignore[no-untyped-def]
    patient = world.a.patient
    patient.phone = "+4915112345678"
    patient.save(update_fields=["phone"])
    do_set_preferences(patient, world.a.brand, {(KindGroup.MESSAGES, Channel.SMS): True})
    return patient


def send(world, patient, key: str = "digest-sms:1"):  # type: ignore[no-untyped-def]
    return actions.send_text(
        key=key, user=patient, brand=world.a.brand, kind="message.digest", text="Brand A: 1."
    )


@pytest.mark.django_db
def test_send_text_once_per_key(world, twilio, texting_patient):
    assert send(world, texting_patient) == DeliveryState.SENT
    assert send(world, texting_patient) == DeliveryState.SENT  # already sent: not again
    assert len(twilio.requests) == 1
    row = Delivery.objects.get(key="digest-sms:1")
    assert row.channel == Channel.SMS and row.attempts == 1
    assert row.payload["provider_id"].startswith("SM")


@pytest.mark.django_db
def test_send_text_failure_is_recorded_by_class_name(world, monkeypatch, texting_patient, settings):
    settings.SMS_TWILIO = {"account_sid": SID, "auth_token": TOKEN, "from_number": FROM}
    refusing = Twilio(400, {"code": 21610, "message": "unsubscribed +4915112345678"})
    monkeypatch.setattr(sms, "sms_sender", refusing.adapter)
    assert send(world, texting_patient) == DeliveryState.FAILED
    row = Delivery.objects.get(key="digest-sms:1")
    assert row.state == DeliveryState.FAILED and row.error == "SmsError"


@pytest.mark.django_db
def test_no_text_without_configuration_phone_or_consent(
    world, monkeypatch, twilio, texting_patient
):
    # Not switched on for bookings (SMS is off by default).
    assert (
        actions.send_text(
            key="k1", user=texting_patient, brand=world.a.brand, kind="booking.booked", text="x"
        )
        == DeliveryState.DROPPED
    )
    # No phone number.
    texting_patient.phone = ""
    assert send(world, texting_patient, "k2") == DeliveryState.DROPPED
    texting_patient.phone = "+4915112345678"
    # Not configured.
    monkeypatch.setattr(sms, "sms_sender", sms.DisabledSms)
    assert send(world, texting_patient, "k3") == DeliveryState.DROPPED
    assert twilio.requests == [] and not Delivery.objects.exists()
    assert sms.can_text(texting_patient) is False


@pytest.mark.django_db
def test_reminder_texts_for_those_who_chose_them(world, twilio):
    """A confirmed session tomorrow: the patient who switched reminder texts on gets one
    text (brand, time, link; not the session type or a name), once; the specialist, who
    did not, gets none."""
    profile = do_register_specialist(world.a.specialist, world.a.brand)
    session_type = SessionType.objects.create(
        profile=profile, name="Trauma therapy", duration_minutes=50
    )
    start = (timezone.now() + timedelta(hours=23)).replace(second=0, microsecond=0)
    end = start + timedelta(minutes=50)
    Booking.objects.create(
        brand=world.a.brand,
        profile=profile,
        patient=world.a.patient,
        session_type=session_type,
        start=start,
        end=end,
        blocked_start=start,
        blocked_end=end,
        status=BookingStatus.CONFIRMED,
        patient_time_zone="Europe/Berlin",
        currency="EUR",
        status_changed_at=start - timedelta(days=10),
    )
    for person in (world.a.patient, world.a.specialist):
        person.phone = "+4915112345678"
        person.language = "de"
        person.save(update_fields=["phone", "language"])
    do_set_preferences(world.a.patient, world.a.brand, {(KindGroup.REMINDERS, Channel.SMS): True})
    send_due_reminders()
    send_due_reminders()
    [request] = twilio.requests
    body = parse_qs(request.content.decode())["Body"][0]
    assert body.startswith("Brand A: ") and "http://a.test:8000/" in body
    assert "(Europe/Berlin)" in body
    assert "Trauma" not in body and world.a.specialist.display_name not in body
    assert Delivery.objects.filter(key__endswith=":patient:sms", state="sent").count() == 1
    assert not Delivery.objects.filter(key__endswith=":specialist:sms").exists()
