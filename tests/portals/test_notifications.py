"""The notifications page of the patient and specialist portals: a person's own
notifications on the current brand only, the unread count in the header, marking read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caredoor.core.notifications.models import Notification
from caredoor.core.specialists.actions import do_register_specialist

PAGES = {"patient": "/notifications/", "specialist": "/specialist/notifications/"}


def note(user, brand, portal: str, title: str, *, minutes_ago: int = 0, **fields) -> Notification:  # type: ignore[no-untyped-def]
    return Notification.objects.create(
        user=user,
        brand=brand,
        portal=portal,
        kind="booking.booked",
        title=title,
        url=f"{PAGES[portal].replace('notifications/', '')}sessions/1/",
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )


@pytest.fixture
def inbox(world):  # type: ignore[no-untyped-def]
    """Notifications for the patient and specialist of brand A, and decoys around them."""
    do_register_specialist(world.a.specialist, world.a.brand)
    a = world.a
    return {
        "older": note(a.patient, a.brand, "patient", "Older news", minutes_ago=30),
        "newer": note(a.patient, a.brand, "patient", "Newer news", minutes_ago=1),
        "read": note(
            a.patient, a.brand, "patient", "Already read", minutes_ago=60, read_at=timezone.now()
        ),
        "specialist": note(a.specialist, a.brand, "specialist", "Specialist news"),
        # The same specialist on the sister brand, and the same patient in another portal.
        "sister": note(a.specialist, a.sister, "specialist", "Sister brand news"),
        "other_portal": note(a.patient, a.brand, "specialist", "Patient as specialist"),
        "other_patient": note(world.b.patient, world.b.brand, "patient", "Brand B news"),
    }


def test_the_patient_sees_their_own_notifications_newest_first(world, client_for, inbox):
    response = client_for(world.a.patient, world.a.brand).get("/notifications/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Newer news") < body.index("Older news") < body.index("Already read")
    for decoy in ("Specialist news", "Sister brand news", "Patient as specialist", "Brand B"):
        assert decoy not in body
    assert "Mark all as read" in body


def test_the_specialist_sees_only_this_brands_notifications(world, client_for, inbox):
    body = client_for(world.a.specialist, world.a.brand).get("/specialist/notifications/")
    text = body.content.decode()
    assert "Specialist news" in text and "Sister brand news" not in text
    on_sister = client_for(world.a.specialist, world.a.sister).get("/specialist/notifications/")
    text = on_sister.content.decode()
    assert "Sister brand news" in text and "Specialist news" not in text


def test_an_empty_inbox(world, client_for):
    body = client_for(world.a.patient, world.a.brand).get("/notifications/").content.decode()
    assert "No notifications yet." in body
    assert "Mark all as read" not in body
    # The badge is there for the live script to fill, hidden while nothing is unread.
    assert "data-unread-notifications" in body
    assert (
        '<span class="badge" data-unread-notifications title="Unread notifications" hidden>0</span>'
        in body
    )


def test_the_header_shows_the_unread_count_with_one_query(world, client_for, inbox):
    client = client_for(world.a.patient, world.a.brand)
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/account/").content.decode()
    assert (
        'Notifications <span class="badge" data-unread-notifications '
        'title="Unread notifications">2</span>' in body
    )
    counts = [
        q["sql"]
        for q in queries.captured_queries
        if "notifications_notification" in q["sql"] and "COUNT" in q["sql"].upper()
    ]
    assert len(counts) == 1
    client.post(f"/notifications/{inbox['newer'].pk}/read/")
    assert (
        'data-unread-notifications title="Unread notifications">1</span>'
        in client.get("/account/").content.decode()
    )
    # The specialist's header counts the specialist's notifications on this brand only.
    specialist = client_for(world.a.specialist, world.a.brand).get("/specialist/account/")
    assert (
        'Notifications <span class="badge" data-unread-notifications '
        'title="Unread notifications">1</span>' in specialist.content.decode()
    )


def test_mark_one_read(world, client_for, inbox):
    client = client_for(world.a.patient, world.a.brand)
    page = client.get("/notifications/").content.decode()
    assert 'href="/sessions/1/"' in page  # each notification links to what it is about
    response = client.post(f"/notifications/{inbox['older'].pk}/read/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    inbox["older"].refresh_from_db()
    assert inbox["older"].read_at is not None
    inbox["newer"].refresh_from_db()
    assert inbox["newer"].read_at is None
    # Reading twice changes nothing.
    first = inbox["older"].read_at
    client.post(f"/notifications/{inbox['older'].pk}/read/")
    inbox["older"].refresh_from_db()
    assert inbox["older"].read_at == first


def test_mark_all_read_touches_only_this_inbox(world, client_for, inbox):
    client = client_for(world.a.patient, world.a.brand)
    assert client.post("/notifications/read-all/").status_code == 302
    for key in ("older", "newer"):
        inbox[key].refresh_from_db()
        assert inbox[key].read_at is not None
    for key in ("specialist", "sister", "other_portal", "other_patient"):
        inbox[key].refresh_from_db()
        assert inbox[key].read_at is None, key


def unread_state() -> list:  # type: ignore[type-arg]
    return list(Notification.objects.order_by("pk").values_list("pk", "read_at"))


@pytest.mark.parametrize(
    ("who", "brand", "url", "status"),
    [
        # Someone else's notification through one's own inbox: 404.
        ("a.specialist", "a.brand", "/specialist/notifications/{other_portal}/read/", 404),
        ("a.patient", "a.brand", "/notifications/{specialist}/read/", 404),
        ("a.patient", "a.brand", "/notifications/{other_patient}/read/", 404),
        ("a.specialist", "a.brand", "/specialist/notifications/{sister}/read/", 404),
        # Another network's patient on brand A: no patient role here.
        ("b.patient", "a.brand", "/notifications/{newer}/read/", 403),
        ("b.patient", "a.brand", "/notifications/read-all/", 403),
        # A role without this portal.
        ("a.org_admin", "a.brand", "/notifications/{newer}/read/", 403),
        ("a.patient", "a.brand", "/specialist/notifications/read-all/", 403),
        ("outsider", "a.brand", "/notifications/read-all/", 403),
    ],
)
def test_a_forbidden_post_changes_nothing(world, client_for, inbox, who, brand, url, status):
    def person(path: str):  # type: ignore[no-untyped-def]
        if path == "outsider":
            return world.outsider
        side, role = path.split(".")
        return getattr(world, side).people[role]

    before = unread_state()
    target = url.format(**{k: v.pk for k, v in inbox.items()})
    side, brand_name = brand.split(".")
    response = client_for(person(who), getattr(getattr(world, side), brand_name)).post(target)
    assert response.status_code == status
    assert unread_state() == before


def test_marking_read_needs_a_post(world, client_for, inbox):
    client = client_for(world.a.patient, world.a.brand)
    assert client.get(f"/notifications/{inbox['newer'].pk}/read/").status_code == 405
    assert client.get("/notifications/read-all/").status_code == 405
    inbox["newer"].refresh_from_db()
    assert inbox["newer"].read_at is None


def test_visitors_are_sent_to_sign_in(world, client_for):
    response = client_for(None, world.a.brand).get("/notifications/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_notifications_page_is_in_the_navigation(world, client_for, inbox):
    body = client_for(world.a.patient, world.a.brand).get("/notifications/").content.decode()
    assert 'href="/notifications/" aria-current="page"' in body


def test_a_long_inbox_is_paged_with_links_that_keep_the_other_parameters(world, client_for):
    from caredoor.portals.common.notifications import PER_PAGE

    for i in range(PER_PAGE + 1):
        note(world.a.patient, world.a.brand, "patient", f"Note {i}", minutes_ago=i)
    client = client_for(world.a.patient, world.a.brand)
    first = client.get("/notifications/?x=1").content.decode()
    assert "Page 1 of 2" in first and 'href="?x=1&amp;page=2" rel="next"' in first
    second = client.get("/notifications/?page=2").content.decode()
    assert "Page 2 of 2" in second and "Note 30" in second and "Note 0" not in second
