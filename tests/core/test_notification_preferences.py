"""Notification preferences: kind groups, defaults, one-query checks, the action that
stores them, and their effect on sending (``notifications.actions``)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from caredoor.core.compliance.models import AuditEvent
from caredoor.core.notifications import actions, preferences
from caredoor.core.notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    KindGroup,
    Notification,
    NotificationPreference,
)
from caredoor.core.notifications.preferences import (
    allowed_users,
    allows,
    choices_of,
    do_set_preferences,
    group_of,
)

pytestmark = pytest.mark.django_db

MESSAGES_EMAIL = (KindGroup.MESSAGES, Channel.EMAIL)
BOOKINGS_EMAIL = (KindGroup.BOOKINGS, Channel.EMAIL)
BOOKINGS_IN_APP = (KindGroup.BOOKINGS, Channel.IN_APP)


@pytest.mark.parametrize(
    ("kind", "group"),
    [
        ("message", KindGroup.MESSAGES),
        ("message.digest", KindGroup.MESSAGES),
        ("booking.booked", KindGroup.BOOKINGS),
        ("booking.reminder", KindGroup.REMINDERS),
        ("request.request_received", KindGroup.BOOKINGS),
        ("matching.allocated", KindGroup.BOOKINGS),
        ("consent.requested", KindGroup.DOCUMENTS),
        ("account.password_changed", KindGroup.ACCOUNT),
        ("something.new", KindGroup.ACCOUNT),  # unknown kinds are delivered
        ("messages_are_not_message", KindGroup.ACCOUNT),
    ],
)
def test_kinds_belong_to_groups(kind, group):
    assert group_of(kind) == group


def test_defaults_in_app_and_email_on_sms_off(world):
    patient, brand = world.a.patient, world.a.brand
    assert allows(patient, brand, "booking.booked", Channel.IN_APP)
    assert allows(patient, brand, "message.digest", Channel.EMAIL)
    assert not allows(patient, brand, "message.digest", Channel.SMS)
    assert not NotificationPreference.objects.exists()
    values = choices_of(patient, brand)
    assert values[MESSAGES_EMAIL] is True and values[(KindGroup.MESSAGES, Channel.SMS)] is False
    # The account group is not choosable.
    assert all(group != KindGroup.ACCOUNT for group, _channel in values)


def test_only_deviations_are_stored_and_the_change_is_audited(world):
    patient, brand = world.a.patient, world.a.brand
    changes = do_set_preferences(
        patient,
        brand,
        {MESSAGES_EMAIL: False, BOOKINGS_EMAIL: True, (KindGroup.REMINDERS, Channel.SMS): True},
    )
    assert changes == {"messages.email": False, "reminders.sms": True}
    assert NotificationPreference.objects.filter(user=patient).count() == 2
    event = AuditEvent.objects.get(action="notifications.preferences_changed")
    assert event.data == {"changes": {"messages.email": False, "reminders.sms": True}}
    assert event.brand_id == brand.pk and event.actor_id == patient.pk
    assert not allows(patient, brand, "message.digest", Channel.EMAIL)
    assert allows(patient, brand, "booking.reminder", Channel.SMS)
    # Per brand: the sister brand keeps the defaults.
    assert allows(patient, world.a.sister, "message.digest", Channel.EMAIL)
    # Back to the default removes the row; saving the same again changes (and audits) nothing.
    assert do_set_preferences(patient, brand, {MESSAGES_EMAIL: True}) == {"messages.email": True}
    assert NotificationPreference.objects.filter(user=patient).count() == 1
    assert do_set_preferences(patient, brand, {MESSAGES_EMAIL: True}) == {}
    assert AuditEvent.objects.filter(action="notifications.preferences_changed").count() == 2


def test_security_notices_cannot_be_switched_off(world):
    patient, brand = world.a.patient, world.a.brand
    assert do_set_preferences(patient, brand, {(KindGroup.ACCOUNT, Channel.EMAIL): False}) == {}
    assert not NotificationPreference.objects.exists()
    assert allows(patient, brand, "account.password_changed", Channel.EMAIL)
    assert allows(patient, brand, "something.new", Channel.IN_APP)


def test_bulk_check_is_one_query(world):
    people = [world.a.patient, world.a.specialist, world.a.operator, world.a.org_staff]
    do_set_preferences(world.a.specialist, world.a.brand, {MESSAGES_EMAIL: False})
    with CaptureQueriesContext(connection) as queries:
        allowed = allowed_users(people, world.a.brand, "message.digest", Channel.EMAIL)
    assert len(queries.captured_queries) == 1
    assert allowed == {p.pk for p in people} - {world.a.specialist.pk}
    with CaptureQueriesContext(connection) as queries:
        assert allowed_users(people, world.a.brand, "account.x", Channel.EMAIL) == {
            p.pk for p in people
        }
    assert len(queries.captured_queries) == 0


# --- effect on sending ---------------------------------------------------------------------


def message(world, kind: str = "booking.booked") -> actions.Message:  # type: ignore[no-untyped-def]
    return actions.Message(
        user=world.a.patient,
        brand=world.a.brand,
        portal="patient",
        kind=kind,
        template="magic_link",
        context={},
        url="/sessions/1/",
    )


@pytest.fixture
def pushes(monkeypatch):  # type: ignore[no-untyped-def]
    sent: list[tuple[int, dict]] = []  # type: ignore[type-arg]
    monkeypatch.setattr(actions, "push_to_user", lambda user, payload: sent.append((user, payload)))
    return sent


def test_an_email_switched_off_is_dropped_and_the_in_app_notice_stays(
    world, pushes, django_capture_on_commit_callbacks
):
    do_set_preferences(world.a.patient, world.a.brand, {BOOKINGS_EMAIL: False})
    with django_capture_on_commit_callbacks(execute=True):
        state = actions.send(message(world), key="booking:1:booked:x:patient")
    assert state == DeliveryState.DROPPED
    assert mail.outbox == []
    row = Delivery.objects.get(key="booking:1:booked:x:patient")
    assert row.state == DeliveryState.DROPPED and row.error == actions.PREFERENCE
    note = Notification.objects.get(user=world.a.patient)
    assert note.kind == "booking.booked" and note.url == "/sessions/1/"
    # Pushed to the person's sockets after commit: ids and counts only.
    assert pushes == [
        (
            world.a.patient.pk,
            {
                "type": "notice",
                "what": "notification",
                "notification": note.pk,
                "kind": "booking.booked",
                "brand": world.a.brand.pk,
                "portal": "patient",
                "unread": 1,
            },
        )
    ]
    # Sending again, or sweeping, neither sends nor duplicates the notification.
    assert actions.send(message(world), key="booking:1:booked:x:patient") == DeliveryState.DROPPED
    assert not actions.retriable().filter(pk=row.pk).exists()
    assert Notification.objects.count() == 1 and mail.outbox == []


def test_an_outbox_row_switched_off_before_it_was_sent(world):
    actions.enqueue(
        "booking:2:booked:x:patient",
        user=world.a.patient,
        brand=world.a.brand,
        kind="booking.booked",
        payload={"booking": 2},
    )
    do_set_preferences(world.a.patient, world.a.brand, {BOOKINGS_EMAIL: False})
    assert actions.send(message(world), key="booking:2:booked:x:patient") == DeliveryState.DROPPED
    row = Delivery.objects.get(key="booking:2:booked:x:patient")
    assert row.state == DeliveryState.DROPPED and row.error == actions.PREFERENCE
    assert Notification.objects.filter(user=world.a.patient).count() == 1
    assert mail.outbox == []


def test_in_app_switched_off_still_emails(world, pushes, django_capture_on_commit_callbacks):
    do_set_preferences(world.a.patient, world.a.brand, {BOOKINGS_IN_APP: False})
    with django_capture_on_commit_callbacks(execute=True):
        state = actions.send(message(world), key="booking:3:booked:x:patient")
    assert state == DeliveryState.SENT and len(mail.outbox) == 1
    assert not Notification.objects.exists() and pushes == []
    # Reminders are their own group: still in the app.
    with django_capture_on_commit_callbacks(execute=True):
        actions.send(message(world, "booking.reminder"), key="reminder:3:patient")
    assert Notification.objects.filter(kind="booking.reminder").count() == 1
    assert len(pushes) == 1


def test_unkeyed_notify_respects_the_email_choice(world):
    do_set_preferences(world.a.patient, world.a.brand, {BOOKINGS_EMAIL: False})
    sent = actions.notify(
        world.a.patient,
        world.a.brand,
        kind="matching.allocated",
        portal="patient",
        template="magic_link",
        context={},
        url="/assisted/",
    )
    assert sent is False and mail.outbox == []
    assert Notification.objects.filter(kind="matching.allocated").count() == 1


def test_emails_say_their_language(world):
    world.a.patient.language = "de"
    email = message(world).render()
    assert email.extra_headers["Content-Language"] == "de"
    assert email.extra_headers["Auto-Submitted"] == "auto-generated"
    world.a.patient.language = "fr"  # not offered by the brand: its default
    assert message(world).render().extra_headers["Content-Language"] == "en"


def test_choices_cover_every_group_but_account():
    groups = {group for group, _channel in preferences.CHOICES}
    assert groups == set(KindGroup.values) - {KindGroup.ACCOUNT}
