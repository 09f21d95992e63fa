"""The secret calendar feed URL (/calendar/<token>.ics) and the specialist's page for it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from caredoor.api import calendar_feed as feed_view
from caredoor.core.accounts.models import Membership
from caredoor.core.calendars.actions import do_create_feed, do_regenerate_feed, do_revoke_feed
from caredoor.core.calendars.models import CalendarFeed
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.actions import do_register_specialist
from tests import factories
from tests.calendar_helpers import add_booking, events, listed_profile, uid
from tests.conftest import ROLES, host_of

PAGE = "/specialist/calendar/subscription/"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def listed(world):
    return listed_profile(world.a)


@pytest.fixture
def booked(world, listed):
    profile, session_type = listed
    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    booking = add_booking(session_type, world.a.patient, world.a.brand, start)
    return profile, booking


def feed_path(token: str) -> str:
    return reverse("calendar_feed_ics", args=[token])


def fetch(brand, token: str, **headers):  # type: ignore[no-untyped-def]
    """A calendar app: no session, no cookies, on the brand's host."""
    return Client(HTTP_HOST=host_of(brand)).get(feed_path(token), **headers)


# --- the feed URL -------------------------------------------------------------------------


def test_the_feed_is_served_to_anyone_with_the_token(world, booked):
    profile, booking = booked
    token = do_create_feed(profile, actor=world.a.specialist).token
    assert feed_path(token) == f"/calendar/{token}.ics"
    response = fetch(world.a.brand, token)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, max-age=300"
    assert not response.cookies
    found = events(response.content)
    assert list(found) == [uid(booking)]
    assert found[uid(booking)].dtstart.value.astimezone(UTC) == booking.start
    assert found[uid(booking)].dtstart.value.replace(tzinfo=None) == booking.start.astimezone(
        BERLIN
    ).replace(tzinfo=None)
    # On any brand of the specialist's network (the name follows the host).
    sister = fetch(world.a.sister, token)
    assert sister.status_code == 200
    assert b"X-WR-CALNAME:Sessions (Sister A)" in sister.content


def test_an_unchanged_feed_answers_304(world, booked):
    profile, _booking = booked
    token = do_create_feed(profile, actor=world.a.specialist).token
    first = fetch(world.a.brand, token)
    again = fetch(world.a.brand, token, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["Cache-Control"] == "private, max-age=300"


def test_unknown_tokens_other_networks_and_platform_hosts_get_404(world, booked):
    profile, _booking = booked
    token = do_create_feed(profile, actor=world.a.specialist).token
    assert fetch(world.a.brand, "x" * 43).status_code == 404
    assert fetch(world.a.brand, token[:-1] + ("A" if token[-1] != "A" else "B")).status_code == 404
    assert Client(HTTP_HOST="a.test").get(f"/calendar/{token}x.ics").status_code == 404
    assert Client(HTTP_HOST="a.test").get("/calendar/short.ics").status_code == 404
    assert fetch(world.b.brand, token).status_code == 404  # another network's brand
    assert Client(HTTP_HOST="localhost").get(feed_path(token)).status_code == 404
    assert Client(HTTP_HOST="unknown.example").get(feed_path(token)).status_code == 404


def test_regenerating_and_revoking_end_the_old_url_at_once(world, booked):
    profile, _booking = booked
    old = do_create_feed(profile, actor=world.a.specialist).token
    assert fetch(world.a.brand, old).status_code == 200
    new = do_regenerate_feed(profile, actor=world.a.specialist).token
    assert fetch(world.a.brand, old).status_code == 404
    assert fetch(world.a.brand, new).status_code == 200
    do_revoke_feed(profile, actor=world.a.specialist)
    assert fetch(world.a.brand, new).status_code == 404
    assert fetch(world.a.brand, old).status_code == 404


def test_a_specialist_who_lost_the_role_has_no_feed(world, booked):
    profile, _booking = booked
    token = do_create_feed(profile, actor=world.a.specialist).token
    Membership.objects.filter(user=world.a.specialist, role="specialist").update(
        revoked_at=timezone.now()
    )
    assert fetch(world.a.brand, token).status_code == 404


def test_another_specialists_token_never_shows_these_bookings(world, booked):
    profile, booking = booked
    other = factories.make_user("second.specialist@example.test")
    factories.grant(other, "specialist", network=world.a.network)
    other_profile = do_register_specialist(other, world.a.brand)
    other_type = SessionType.objects.create(
        profile=other_profile, name="Check-in", duration_minutes=30
    )
    theirs = add_booking(
        other_type, world.a.patient, world.a.brand, booking.start + timedelta(hours=3)
    )
    mine = do_create_feed(profile, actor=world.a.specialist).token
    their_token = do_create_feed(other_profile, actor=other).token
    assert list(events(fetch(world.a.brand, their_token).content)) == [uid(theirs)]
    assert list(events(fetch(world.a.brand, mine).content)) == [uid(booking)]


def test_the_feed_takes_no_writes_and_needs_no_csrf(world, booked):
    profile, _booking = booked
    token = do_create_feed(profile, actor=world.a.specialist).token
    client = Client(HTTP_HOST="a.test", enforce_csrf_checks=True)
    assert client.post(feed_path(token)).status_code == 405
    assert client.head(feed_path(token)).status_code == 200
    assert client.get(feed_path(token)).status_code == 200


def test_the_feed_is_rate_limited_per_token(world, booked, monkeypatch):
    profile, _booking = booked
    monkeypatch.setattr(feed_view, "LIMIT", 3)
    token = do_create_feed(profile, actor=world.a.specialist).token
    assert [fetch(world.a.brand, token).status_code for _ in range(3)] == [200] * 3
    limited = fetch(world.a.brand, token)
    assert limited.status_code == 429
    assert limited["Retry-After"]


# --- the specialist's page ----------------------------------------------------------------


def test_specialist_creates_sees_regenerates_and_revokes_the_link(world, client_for, listed):
    profile, _session_type = listed
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "no-cache" in page["Cache-Control"] or "no-store" in page["Cache-Control"]
    assert b'value="create"' in page.content
    assert not CalendarFeed.objects.exists()

    response = client.post(PAGE, {"action": "create"})
    assert response.status_code == 302 and response["Location"] == PAGE
    token = CalendarFeed.objects.get(profile=profile).token
    page = client.get(PAGE).content.decode()
    assert f'value="http://a.test/calendar/{token}.ics"' in page
    assert f'href="webcal://a.test/calendar/{token}.ics"' in page
    assert "Google Calendar" in page and "Outlook" in page and "Apple Calendar" in page
    assert 'data-copy-target="feed-url"' in page
    assert 'data-confirm="' in page  # regenerating and removing ask first
    # On the sister brand the URL is on the sister's host.
    sister_page = client_for(world.a.specialist, world.a.sister).get(PAGE).content.decode()
    assert f"http://a-sister.test/calendar/{token}.ics" in sister_page

    client.post(PAGE, {"action": "regenerate"})
    new = CalendarFeed.objects.get(profile=profile).token
    assert new != token
    assert fetch(world.a.brand, token).status_code == 404
    assert fetch(world.a.brand, new).status_code == 200
    client.post(PAGE, {"action": "revoke"})
    assert not CalendarFeed.objects.exists()
    assert fetch(world.a.brand, new).status_code == 404
    assert new not in client.get(PAGE).content.decode()


def test_unknown_action_is_refused(world, client_for, listed):
    client = client_for(world.a.specialist, world.a.brand)
    assert client.post(PAGE, {"action": "steal"}).status_code == 400
    assert not CalendarFeed.objects.exists()


def test_a_specialist_without_a_profile_is_sent_to_the_dashboard(world, client_for):
    client = client_for(world.a.specialist, world.a.brand)
    assert client.get(PAGE)["Location"] == reverse("specialist:dashboard")
    assert client.post(PAGE, {"action": "create"}).status_code == 404
    assert not CalendarFeed.objects.exists()


def test_the_page_shows_only_the_signed_in_specialists_link(world, client_for, listed):
    profile, _session_type = listed
    token = do_create_feed(profile, actor=world.a.specialist).token
    other = factories.make_user("second.specialist@example.test")
    factories.grant(other, "specialist", network=world.a.network)
    other_profile = do_register_specialist(other, world.a.brand)
    client = client_for(other, world.a.brand)
    page = client.get(PAGE).content.decode()
    assert token not in page
    # Their POSTs act on their own profile only.
    client.post(PAGE, {"action": "revoke"})
    client.post(PAGE, {"action": "regenerate"})
    assert CalendarFeed.objects.get(profile=profile).token == token
    assert CalendarFeed.objects.filter(profile=other_profile).exists()
    assert fetch(world.a.brand, token).status_code == 200


OUTSIDERS = [role for role in ROLES if role != "specialist"] + [
    "other_network_specialist",
    "outsider",
]


@pytest.mark.parametrize("who", OUTSIDERS)
def test_everyone_else_is_refused_and_their_posts_change_nothing(world, client_for, listed, who):
    profile, _session_type = listed
    token = do_create_feed(profile, actor=world.a.specialist).token
    user = {"other_network_specialist": world.b.specialist, "outsider": world.outsider}.get(
        who
    ) or world.a.people[who]
    if who == "other_network_specialist":
        do_register_specialist(world.b.specialist, world.b.brand)
    client = client_for(user, world.a.brand)
    audit = AuditEvent.objects.count()
    page = client.get(PAGE)
    assert page.status_code == 403
    assert token not in page.content.decode()
    for action in ("create", "regenerate", "revoke"):
        assert client.post(PAGE, {"action": action}).status_code == 403
    assert CalendarFeed.objects.count() == 1
    assert CalendarFeed.objects.get(profile=profile).token == token
    assert AuditEvent.objects.count() == audit


def test_visitors_are_sent_to_sign_in_and_csrf_is_required(world, client_for, listed):
    visitor = client_for(None, world.a.brand)
    response = visitor.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert visitor.post(PAGE, {"action": "create"}).status_code == 302
    strict = Client(HTTP_HOST="a.test", enforce_csrf_checks=True)
    strict.force_login(world.a.specialist)
    assert strict.post(PAGE, {"action": "create"}).status_code == 403
    assert not CalendarFeed.objects.exists()
    # With the form's token it works.
    page = strict.get(PAGE)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert csrf is not None
    response = strict.post(PAGE, {"action": "create", "csrfmiddlewaretoken": csrf.group(1)})
    assert response.status_code == 302
    assert CalendarFeed.objects.count() == 1


def test_the_specialist_of_another_brand_in_the_network_reaches_the_page(world, client_for):
    """Network-wide role: the sister brand serves the page too (the matrix's rule)."""
    profile, _session_type = listed_profile(world.a)
    response = client_for(world.a.specialist, world.a.sister).get(PAGE)
    assert response.status_code == 200
    assert profile.pk


def test_bookings_far_in_the_past_are_not_in_the_feed(world, listed):
    profile, session_type = listed
    old = add_booking(
        session_type, world.a.patient, world.a.brand, datetime(2020, 1, 6, 9, tzinfo=BERLIN)
    )
    token = do_create_feed(profile, actor=world.a.specialist).token
    assert uid(old) not in events(fetch(world.a.brand, token).content)
