"""The conversation page offers "Join the video session" while the pair has a session whose
room is open now (its join page in each portal), or an open ad-hoc call; never for another
pair's session, a cancelled one, one that is not open yet, or an ended call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.messaging.actions import care_thread
from caredoor.core.notifications.links import portal_path
from caredoor.core.video import actions
from tests.booking_helpers import listed_with_hours, local, make_type

pytestmark = pytest.mark.django_db

LABEL = "Join the video session"


def _pair(side):  # type: ignore[no-untyped-def]
    """The side's pair with a booking next week (it starts their care) and their thread."""
    profile, _ = listed_with_hours(side)
    booking = do_book(
        patient=side.patient, brand=side.brand, session_type=make_type(profile), start=local(10)
    )
    return booking, care_thread(side.brand, side.patient, profile)


def _starts_in(booking: Booking, minutes: int) -> None:
    start = timezone.now() + timedelta(minutes=minutes)
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=start + timedelta(minutes=50),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=60),
    )


def _link(client, url: str) -> str | None:  # type: ignore[no-untyped-def]
    """The href of the join link on the page, or None."""
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    if LABEL not in text:
        return None
    head = text[: text.index(LABEL)]
    return head[head.rindex('href="') + 6 :].split('"', 1)[0]


@pytest.fixture
def pages(world, client_for):  # type: ignore[no-untyped-def]
    booking, thread = _pair(world.a)
    patient = (client_for(world.a.patient, world.a.brand), f"/messages/{thread.pk}/")
    specialist = (
        client_for(world.a.specialist, world.a.brand),
        f"/specialist/messages/{thread.pk}/",
    )
    return booking, thread, patient, specialist


def test_a_session_open_now_is_linked_in_both_portals(world, pages):
    booking, _thread, patient, specialist = pages
    assert _link(*patient) is None and _link(*specialist) is None  # next week: not yet

    _starts_in(booking, 5)  # the room opens 10 minutes ahead

    assert _link(*patient) == f"/sessions/{booking.pk}/join/"
    assert _link(*specialist) == portal_path("specialist", "join", booking.pk)


def test_not_before_the_window_nor_after_it(world, pages):
    booking, _thread, patient, _specialist = pages
    _starts_in(booking, 11)
    assert _link(*patient) is None
    _starts_in(booking, -50 - 16)  # ended 16 minutes ago; the grace is 15
    assert _link(*patient) is None
    _starts_in(booking, -50 - 14)
    assert _link(*patient) == f"/sessions/{booking.pk}/join/"


def test_a_cancelled_session_is_not_linked(world, pages):
    booking, _thread, patient, specialist = pages
    _starts_in(booking, 0)
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED_BY_PATIENT)
    assert _link(*patient) is None and _link(*specialist) is None


def test_another_pairs_session_is_not_linked(world, pages, client_for):
    _booking, _thread, patient, specialist = pages
    other, other_thread = _pair(world.b)
    _starts_in(other, 0)
    assert _link(*patient) is None and _link(*specialist) is None
    b_page = (client_for(world.b.patient, world.b.brand), f"/messages/{other_thread.pk}/")
    assert _link(*b_page) == f"/sessions/{other.pk}/join/"


def test_an_open_adhoc_call_is_linked_until_it_ends(world, pages):
    booking, _thread, patient, specialist = pages
    Brand.objects.filter(pk=world.a.brand.pk).update(video_adhoc_calls=True)
    brand = Brand.objects.get(pk=world.a.brand.pk)
    room = actions.do_start_adhoc(brand, booking.profile, world.a.patient)

    assert _link(*patient) == f"/calls/{room.name}/"
    assert _link(*specialist) == f"/specialist/calls/{room.name}/"

    actions.do_end_adhoc(room, actor=world.a.specialist)
    assert _link(*patient) is None and _link(*specialist) is None


def test_an_adhoc_call_is_not_linked_where_the_brand_has_none(world, pages):
    booking, _thread, patient, _specialist = pages
    Brand.objects.filter(pk=world.a.brand.pk).update(video_adhoc_calls=True)
    actions.do_start_adhoc(Brand.objects.get(pk=world.a.brand.pk), booking.profile, world.a.patient)
    Brand.objects.filter(pk=world.a.brand.pk).update(video_adhoc_calls=False)
    assert _link(*patient) is None
