"""Gates of the journey seen from both sides: a proposal waits for the consents due before
booking; the specialist's booking page says whether the session can start."""

from __future__ import annotations

import pytest

from caredoor.core.booking import proposals
from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.consents import actions as consents
from caredoor.core.consents.queries import outstanding
from tests.booking_helpers import listed_with_hours, local, make_type

pytestmark = pytest.mark.django_db


def _with_consents(brand) -> None:  # type: ignore[no-untyped-def]
    brand.modules = sorted({*brand.modules, "consents"})
    brand.save(update_fields=["modules"])


def _document(world, stage: str, title: str):  # type: ignore[no-untyped-def]
    return consents.do_create_document(
        kind="telehealth",
        title=title,
        stage=stage,
        body="We meet by video.",
        actor=world.a.operator,
        brand=world.a.brand,
    )


def test_accepting_a_proposal_first_asks_for_the_consents_due_before_booking(world, client_for):
    _with_consents(world.a.brand)
    profile = listed_with_hours(world.a)[0]
    session_type = make_type(profile)
    proposal = proposals.do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=local(10),
    )
    _document(world, "booking", "Telehealth consent")
    client = client_for(world.a.patient, world.a.brand)
    response = client.post(f"/sessions/{proposal.pk}/accept/")
    assert response.status_code == 302
    assert response["Location"].startswith("/consents/sign/")
    assert f"next=%2Fsessions%2F{proposal.pk}%2F" in response["Location"]
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.PROPOSED  # nothing accepted yet
    version = outstanding(world.a.patient, world.a.brand, "booking")[0]
    consents.do_sign(world.a.patient, version, brand=world.a.brand)
    response = client.post(f"/sessions/{proposal.pk}/accept/")
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.CONFIRMED


def test_the_specialists_booking_page_says_whether_the_session_can_start(world, client_for):
    _with_consents(world.a.brand)
    profile = listed_with_hours(world.a)[0]
    booking = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=make_type(profile),
        start=local(10),
    )
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get(f"/specialist/bookings/{booking.pk}/").content.decode()
    assert "everything this session needs is signed" in page
    _document(world, "session", "Treatment agreement")
    page = client.get(f"/specialist/bookings/{booking.pk}/").content.decode()
    assert "Cannot start: consents missing." in page
    assert "Treatment agreement" in page
    # The patient's join page sends them to sign first.
    join = client_for(world.a.patient, world.a.brand).get(f"/sessions/{booking.pk}/join/")
    assert join.status_code == 302 and join["Location"].startswith("/consents/sign/")
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED
