"""Assisted scheduling through the pages: the request goes from patient to staff to
specialist proposal to confirmed booking; the team's queue answers only to the roles and
organizations that serve the brand, and a forbidden POST allocates nothing."""

from __future__ import annotations

import pytest

from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.care.models import CareRelationship
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.matching import actions
from caredoor.core.matching.models import AssistanceRequest
from caredoor.core.scheduling.models import SessionType
from tests.booking_helpers import BERLIN, local
from tests.core.test_matching import add_specialist

NEEDS = "Panic attacks on the train to work"


@pytest.fixture
def dora(world):  # type: ignore[no-untyped-def]
    return add_specialist(world.a, "Dora Deutsch", languages=("en", "de"))


def test_request_goes_from_patient_to_staff_to_specialist_to_booking(
    world, client_for, dora, django_capture_on_commit_callbacks
):
    patient = client_for(world.a.patient, world.a.brand)
    page = patient.get("/assisted/").content.decode()
    assert "What would you like help with?" in page and "Which days suit you?" in page
    response = patient.post(
        "/assisted/",
        {
            "needs": NEEDS,
            "language": "en",
            "weekdays": ["1", "3"],
            "day_parts": ["morning"],
            "note": "",
        },
    )
    req = AssistanceRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/assisted/{req.pk}/"
    assert "Waiting for the team" in patient.get(f"/assisted/{req.pk}/").content.decode()

    # The team's queue lists it without the needs; the detail shows them and records the read.
    staff = client_for(world.a.org_staff, world.a.brand)
    queue = staff.get("/org/assisted/").content.decode()
    assert f"/org/assisted/{req.pk}/" in queue and NEEDS not in queue and "Brand A" in queue
    reads = AuditEvent.objects.filter(action="matching.assistance_read", actor=world.a.org_staff)
    assert not reads.exists()
    detail = staff.get(f"/org/assisted/{req.pk}/").content.decode()
    assert NEEDS in detail and "Dora Deutsch" in detail and "suggested" in detail
    assert reads.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"/org/assisted/{req.pk}/allocate/", {"profile": dora.pk})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == "allocated" and req.allocated_by == world.a.org_staff
    assert CareRelationship.objects.get(patient=world.a.patient).source == "assisted"
    assert (
        "Specialist found, waiting for a time"
        in patient.get(f"/assisted/{req.pk}/").content.decode()
    )

    # The specialist proposes a time through the usual proposal page.
    spec = client_for(dora.user, world.a.brand)
    choice = f"{world.a.brand.pk}:{world.a.patient.pk}"
    assert choice in spec.get(f"/specialist/bookings/propose/?patient={choice}").content.decode()
    start = local(10, days=5)
    at = start.astimezone(BERLIN)
    response = spec.post(
        "/specialist/bookings/propose/",
        {
            "patient": choice,
            "session_type": str(SessionType.objects.get(profile=dora).pk),
            "day": at.date().isoformat(),
            "at": at.strftime("%H:%M"),
        },
    )
    assert response.status_code == 302
    proposal = Booking.objects.get(status=BookingStatus.PROPOSED)
    page = patient.get(f"/assisted/{req.pk}/").content.decode()
    assert "A time was proposed" in page and 'href="/sessions/"' in page

    # The patient accepts: the booking is confirmed and the request shows booked.
    assert patient.post(f"/sessions/{proposal.pk}/accept/").status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.CONFIRMED
    assert 'data-status="booked"' in patient.get(f"/assisted/{req.pk}/").content.decode()
    assert "Booked" in staff.get("/org/assisted/?status=allocated").content.decode()


def test_bad_request_changes_nothing(world, client_for):
    patient = client_for(world.a.patient, world.a.brand)
    events = AuditEvent.objects.count()
    response = patient.post("/assisted/", {"needs": "", "language": "en", "weekdays": ["9"]})
    assert response.status_code == 400
    assert not AssistanceRequest.objects.exists() and AuditEvent.objects.count() == events


def test_patient_withdraws_and_sees_only_their_own(world, client_for):
    req = actions.do_request_assistance(
        user=world.a.patient,
        brand=world.a.brand,
        needs=NEEDS,
        weekdays=[],
        day_parts=[],
        language="en",
    )
    from tests import factories

    stranger = factories.make_user("stranger@example.test")
    factories.grant(stranger, "patient", network=world.a.network, brand=world.a.brand)
    other = client_for(stranger, world.a.brand)
    assert other.get(f"/assisted/{req.pk}/").status_code == 404
    assert other.post(f"/assisted/{req.pk}/withdraw/").status_code == 404
    req.refresh_from_db()
    assert req.status == "open"
    patient = client_for(world.a.patient, world.a.brand)
    assert patient.post(f"/assisted/{req.pk}/withdraw/").status_code == 302
    req.refresh_from_db()
    assert req.status == "closed"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("patient", 403),
        ("specialist", 403),
        ("affiliate", 403),
        ("finance", 404),
        ("other_network_staff", 404),
        ("other_network_operator", 404),
        ("outsider", 403),
    ],
)
def test_queue_refuses_everyone_else_and_allocates_nothing(world, client_for, dora, who, status):
    req = actions.do_request_assistance(
        user=world.a.patient,
        brand=world.a.brand,
        needs=NEEDS,
        weekdays=[],
        day_parts=[],
        language="en",
    )
    user, brand = {
        "other_network_staff": (world.b.org_staff, world.b.brand),  # on their own host
        "other_network_operator": (world.b.operator, world.b.brand),
        "outsider": (world.outsider, world.a.brand),
    }.get(who) or (world.a.people[who], world.a.brand)
    client = client_for(user, brand)
    events = AuditEvent.objects.count()
    for url in (f"/org/assisted/{req.pk}/",):
        response = client.get(url)
        assert response.status_code == status
        assert NEEDS not in response.content.decode()
    response = client.post(f"/org/assisted/{req.pk}/allocate/", {"profile": dora.pk})
    assert response.status_code == status
    response = client.post(f"/org/assisted/{req.pk}/close/")
    assert response.status_code == status
    req.refresh_from_db()
    assert req.status == "open" and req.profile_id is None
    assert not CareRelationship.objects.exists()
    assert AuditEvent.objects.count() == events
    if status == 404:
        assert f"/org/assisted/{req.pk}/" not in client.get("/org/assisted/").content.decode()


def test_clinic_staff_do_not_see_brands_their_clinic_does_not_serve(world, client_for, covered):
    from tests import factories

    factories.grant(world.a.patient, "patient", network=world.a.network, brand=covered)
    req = actions.do_request_assistance(
        user=world.a.patient, brand=covered, needs=NEEDS, weekdays=[], day_parts=[], language="en"
    )
    staff = client_for(world.a.org_staff, world.a.brand)
    assert staff.get(f"/org/assisted/{req.pk}/").status_code == 404
    assert f"/org/assisted/{req.pk}/" not in staff.get("/org/assisted/").content.decode()
    operator = client_for(world.a.operator, world.a.brand)
    assert NEEDS in operator.get(f"/org/assisted/{req.pk}/").content.decode()


def test_allocating_a_specialist_not_listed_on_the_brand_is_refused(world, client_for, dora):
    sven = add_specialist(world.a, "Sven Sister", brands=[world.a.sister])
    req = actions.do_request_assistance(
        user=world.a.patient,
        brand=world.a.brand,
        needs=NEEDS,
        weekdays=[],
        day_parts=[],
        language="en",
    )
    staff = client_for(world.a.org_admin, world.a.brand)
    response = staff.post(f"/org/assisted/{req.pk}/allocate/", {"profile": sven.pk}, follow=True)
    assert "Choose a specialist listed on this brand." in response.content.decode()
    req.refresh_from_db()
    assert req.status == "open" and not CareRelationship.objects.exists()
