"""The notification centre in every portal, and its settings page.

The organization and affiliate portals have the same notifications pages as the patient
and specialist portals, in the navigation with the unread badge. The settings page has a
fieldset per kind group with a checkbox per channel, offers text messages only when SMS
is configured and the person has a phone number, says that security notices cannot be
switched off, and saves through the audited action.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from caredoor.core.compliance.models import AuditEvent
from caredoor.core.notifications.models import (
    Channel,
    KindGroup,
    Notification,
    NotificationPreference,
)
from caredoor.core.notifications.preferences import allows

pytestmark = pytest.mark.django_db

# portal -> (person, prefix of the portal's paths)
PORTALS = {
    "patient": ("patient", "/"),
    "specialist": ("specialist", "/specialist/"),
    "organization": ("org_admin", "/org/"),
    "affiliate": ("affiliate", "/partners/"),
}
TWILIO = {"account_sid": "AC" + "0" * 32, "auth_token": "t", "from_number": "+15005550006"}


def note(user, brand, portal: str, title: str, **fields) -> Notification:  # type: ignore[no-untyped-def]
    return Notification.objects.create(
        user=user, brand=brand, portal=portal, kind="booking.booked", title=title, **fields
    )


def badge(body: str) -> int | None:
    """The unread count on the navigation's Notifications entry (None: no badge shown)."""
    found = re.search(r'Notifications <span class="badge"([^>]*)>(\d+)(?: new)?</span>', body)
    if found is None or " hidden" in found.group(1):
        return None
    return int(found.group(2))


@pytest.fixture
def specialist_registered(world):  # type: ignore[no-untyped-def]
    from caredoor.core.specialists.actions import do_register_specialist

    do_register_specialist(world.a.specialist, world.a.brand)


@pytest.mark.parametrize("portal", list(PORTALS))
def test_every_portal_has_the_centre_with_its_badge(
    world, client_for, portal, specialist_registered
):
    role, prefix = PORTALS[portal]
    person = world.a.people[role]
    note(person, world.a.brand, portal, "Mine here")
    note(person, world.a.brand, portal, "Also mine", read_at=timezone.now())
    note(person, world.a.sister, portal, "Sister brand")
    note(world.b.people[role], world.b.brand, portal, "Other network")
    client = client_for(person, world.a.brand)
    response = client.get(f"{prefix}notifications/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Mine here" in body and "Also mine" in body
    assert "Sister brand" not in body and "Other network" not in body
    # In the navigation, current, with the unread count.
    assert f'href="{prefix}notifications/" aria-current="page"' in body
    assert badge(body) == 1
    assert f'href="{prefix}notifications/settings/"' in body
    # The badge shows on the portal's other pages too.
    account = client.get(f"{prefix}account/").content.decode()
    assert badge(account) == 1
    assert f'href="{prefix}notifications/settings/"' in account  # linked from the account
    # Mark all read, in this portal only.
    assert client.post(f"{prefix}notifications/read-all/").status_code == 302
    assert not Notification.objects.filter(user=person, brand=world.a.brand, read_at=None).exists()
    assert badge(client.get(f"{prefix}notifications/").content.decode()) is None
    assert Notification.objects.filter(user=person, brand=world.a.sister, read_at=None).exists()


@pytest.mark.parametrize("portal", ["organization", "affiliate"])
def test_others_notifications_are_404_in_the_new_portals(world, client_for, portal):
    role, prefix = PORTALS[portal]
    theirs = note(world.a.patient, world.a.brand, "patient", "Patient news")
    response = client_for(world.a.people[role], world.a.brand).post(
        f"{prefix}notifications/{theirs.pk}/read/"
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_roles_without_the_portal_are_refused(world, client_for):
    assert client_for(world.a.patient, world.a.brand).get("/org/notifications/").status_code == 403
    assert (
        client_for(world.a.patient, world.a.brand)
        .get("/partners/notifications/settings/")
        .status_code
        == 403
    )
    visitor = client_for(None, world.a.brand).get("/partners/notifications/settings/")
    assert visitor.status_code == 302 and visitor["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("portal", list(PORTALS))
def test_settings_page_shows_groups_and_channels(world, client_for, portal, specialist_registered):
    role, prefix = PORTALS[portal]
    response = client_for(world.a.people[role], world.a.brand).get(
        f"{prefix}notifications/settings/"
    )
    assert response.status_code == 200
    body = response.content.decode()
    for legend in (
        "Messages",
        "Bookings and requests",
        "Session reminders",
        "Account and security",
    ):
        assert f"<legend>{legend}</legend>" in body
    assert body.count("<fieldset") == 5
    # Defaults: in the app and email on; no SMS without configuration.
    assert 'name="messages__in_app" id="id_messages__in_app" checked' in body
    assert 'name="messages__email" id="id_messages__email" checked' in body
    assert "__sms" not in body
    assert "cannot be switched off" in body
    assert '<label for="id_messages__email">Email</label>' in body


def test_saving_stores_deviations_and_audits_flags(world, client_for):
    client = client_for(world.a.patient, world.a.brand)
    checked = {
        "messages__in_app": "on",
        "bookings__in_app": "on",
        "bookings__email": "on",
        "reminders__in_app": "on",
        "reminders__email": "on",
        "documents__in_app": "on",
        "documents__email": "on",
        # messages__email left out: switched off
    }
    response = client.post("/notifications/settings/", checked, follow=True)
    assert response.redirect_chain[-1][0] == "/notifications/settings/"
    body = response.content.decode()
    assert "Your notification settings were saved." in body
    assert 'name="messages__email" id="id_messages__email">' in body  # now unchecked
    assert list(
        NotificationPreference.objects.filter(user=world.a.patient).values_list(
            "brand_id", "group", "channel", "enabled"
        )
    ) == [(world.a.brand.pk, KindGroup.MESSAGES, Channel.EMAIL, False)]
    event = AuditEvent.objects.get(action="notifications.preferences_changed")
    assert event.data == {"changes": {"messages.email": False}} and event.actor_role == "patient"
    assert not allows(world.a.patient, world.a.brand, "message.digest", Channel.EMAIL)
    # Another brand keeps its own choices.
    assert allows(world.a.patient, world.a.sister, "message.digest", Channel.EMAIL)
    # The same again: nothing changed.
    again = client.post("/notifications/settings/", checked, follow=True).content.decode()
    assert "Nothing changed." in again
    assert AuditEvent.objects.filter(action="notifications.preferences_changed").count() == 1


def test_sms_is_offered_with_configuration_and_a_phone(world, client_for, settings):
    settings.SMS_TWILIO = TWILIO
    patient = world.a.patient
    client = client_for(patient, world.a.brand)
    body = client.get("/notifications/settings/").content.decode()
    assert "__sms" not in body and "add your mobile number" in body
    patient.phone = "+4915112345678"
    patient.save(update_fields=["phone"])
    body = client.get("/notifications/settings/").content.decode()
    assert 'name="messages__sms" id="id_messages__sms">' in body  # offered, off by default
    assert "only a count and a link" in body
    client.post(
        "/notifications/settings/",
        {"messages__in_app": "on", "messages__email": "on", "messages__sms": "on"},
    )
    assert allows(patient, world.a.brand, "message.digest", Channel.SMS)
    # Without configuration the SMS choice is neither shown nor changed by a post.
    settings.SMS_TWILIO = None
    client.post("/notifications/settings/", {"messages__in_app": "on", "messages__email": "on"})
    assert allows(patient, world.a.brand, "message.digest", Channel.SMS)


def test_operator_console_without_a_brand(world, client_for):
    client = client_for(world.a.operator, None, host="localhost")
    response = client.get("/org/notifications/settings/")
    assert response.status_code == 200
    assert "kept per service" in response.content.decode()
    assert 'href="/org/notifications/"' not in client.get("/org/").content.decode()
