"""The booking API (/api/v1/): every endpoint's happy path and bad input, 409 answers,
CSRF on writes, and who may call what (forbidden calls answer 401/403/404 and change
nothing)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from caredoor.core.booking.actions import do_book, next_free_slots
from caredoor.core.booking.models import (
    AvailabilityRequest,
    Booking,
    BookingSeries,
)
from caredoor.core.booking.policy_actions import do_save_brand_policy
from caredoor.core.booking.proposals import do_propose
from caredoor.core.booking.requests import do_request_availability
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.scheduling.availability import free_slots
from caredoor.core.scheduling.models import SessionType
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type
from tests.conftest import host_of
from tests.specialist_helpers import approved_and_listed

# --- helpers ------------------------------------------------------------------------------


class Api:
    """A client on a brand's host that enforces CSRF, as browsers and apps meet it."""

    def __init__(self, user, brand, *, host: str | None = None) -> None:  # type: ignore[no-untyped-def]
        self.client = Client(HTTP_HOST=host or host_of(brand), enforce_csrf_checks=True)
        if user is not None:
            self.client.force_login(user)
        self.token = self.client.get("/api/v1/csrf").json()["token"]

    def get(self, path: str, params: dict | None = None):  # type: ignore[no-untyped-def]
        return self.client.get(f"/api/v1{path}", params or {})

    def post(self, path: str, body: object = None, *, csrf: bool = True):  # type: ignore[no-untyped-def]
        headers = {"HTTP_X_CSRFTOKEN": self.token} if csrf else {}
        data = body if isinstance(body, str) else json.dumps(body if body is not None else {})
        return self.client.post(
            f"/api/v1{path}", data=data, content_type="application/json", **headers
        )


def iso(value: datetime) -> str:
    return value.isoformat()


def z(value: datetime) -> str:
    """How the API writes a time: UTC with a Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def state() -> tuple:
    """Everything a forbidden or refused call must leave as it was."""
    return (
        list(Booking.objects.order_by("pk").values_list("pk", "status", "start")),
        list(AvailabilityRequest.objects.order_by("pk").values_list("pk", "status")),
        BookingSeries.objects.count(),
        AuditEvent.objects.count(),
    )


def errors_of(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    return {e["field"]: e for e in body["errors"]}


@pytest.fixture
def listed(world):
    """World A's specialist, listed on a.brand and its sister, open 09-17 Berlin daily."""
    return listed_with_hours(world.a, [world.a.brand, world.a.sister])[0]


@pytest.fixture
def session_type(listed) -> SessionType:
    return make_type(listed)


@pytest.fixture
def booked(world, session_type) -> Booking:
    """A confirmed booking of world.a.patient, made through the action."""
    return do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )


@pytest.fixture
def second_patient(world):  # type: ignore[no-untyped-def]
    user = factories.make_user("second.a@example.test", name="Second Patient")
    factories.grant(user, "patient", network=world.a.network, brand=world.a.brand)
    return user


# --- the document, CSRF and the error body -------------------------------------------------


def test_openapi_lists_the_booking_endpoints(world, client):
    paths = client.get("/api/v1/openapi.json", HTTP_HOST="a.test").json()["paths"]
    assert {
        "/api/v1/specialists/{profile_id}/session-types",
        "/api/v1/specialists/{profile_id}/slots",
        "/api/v1/specialists/next-available",
        "/api/v1/bookings",
        "/api/v1/bookings/{booking_id}",
        "/api/v1/bookings/{booking_id}/cancel",
        "/api/v1/bookings/{booking_id}/cancellation-terms",
        "/api/v1/bookings/{booking_id}/reschedule",
        "/api/v1/bookings/{booking_id}/accept",
        "/api/v1/bookings/{booking_id}/decline",
        "/api/v1/bookings/{booking_id}/withdraw",
        "/api/v1/bookings/{booking_id}/complete",
        "/api/v1/bookings/{booking_id}/no-show",
        "/api/v1/proposals",
        "/api/v1/specialist/bookings",
        "/api/v1/specialist/patients",
        "/api/v1/availability-requests",
        "/api/v1/availability-requests/{request_id}",
        "/api/v1/availability-requests/{request_id}/accept",
        "/api/v1/availability-requests/{request_id}/decline",
        "/api/v1/availability-requests/{request_id}/withdraw",
        "/api/v1/series/preview",
        "/api/v1/series",
        "/api/v1/csrf",
    } <= set(paths)


def test_csrf_is_enforced_on_writes(world, session_type):
    api = Api(world.a.patient, world.a.brand)
    before = state()
    body = {"session_type": session_type.pk, "start": iso(local(10))}
    refused = api.post("/bookings", body, csrf=False)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    forged = Api(world.a.patient, world.a.brand)
    forged.token = "x" * 32  # a well-formed token that is not this session's cookie
    assert forged.post("/bookings", body).status_code == 403
    assert state() == before
    assert api.post("/bookings", body).status_code == 201


def test_the_csrf_endpoint_sets_the_cookie_it_names(world):
    client = Client(HTTP_HOST="a.test", enforce_csrf_checks=True)
    token = client.get("/api/v1/csrf").json()["token"]
    assert token and client.cookies["csrftoken"].value


def test_anonymous_writes_answer_401(world, booked, session_type):
    api = Api(None, world.a.brand)
    before = state()
    for path, body in [
        ("/bookings", {"session_type": session_type.pk, "start": iso(local(12))}),
        (f"/bookings/{booked.pk}/cancel", {}),
        ("/proposals", {}),
        ("/availability-requests", {}),
    ]:
        response = api.post(path, body)
        assert response.status_code == 401, path
        assert response.json() == {"detail": "Unauthorized"}
    assert api.get("/bookings").status_code == 401
    assert api.get(f"/bookings/{booked.pk}").status_code == 401
    assert state() == before


def test_malformed_json_is_a_400_with_the_error_body(world, session_type):
    api = Api(world.a.patient, world.a.brand)
    before = state()
    response = api.post("/bookings", "{not json")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert state() == before


def test_bodies_must_be_json(world, booked):
    api = Api(world.a.patient, world.a.brand)
    before = state()
    form = api.client.post(
        f"/api/v1/bookings/{booked.pk}/cancel", {"reason": "x"}, HTTP_X_CSRFTOKEN=api.token
    )
    assert form.status_code == 415 and "JSON" in form.json()["detail"]
    empty = api.client.post(
        "/api/v1/bookings", "", content_type="application/json", HTTP_X_CSRFTOKEN=api.token
    )
    assert empty.status_code == 422 and empty.json()["errors"][0]["code"] == "missing"
    assert state() == before
    # Cancelling needs no body at all.
    cancelled = api.client.post(
        f"/api/v1/bookings/{booked.pk}/cancel",
        "",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=api.token,
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["booking"]["status"] == "cancelled_by_patient"


# --- the directory: session types, slots, next available ---------------------------------


def test_session_types_show_what_patients_can_book_here(world, listed, session_type):
    make_type(listed, name="Old", is_active=False)
    make_type(listed, name="Sister only", brand=world.a.sister)
    make_type(listed, name="Here only", brand=world.a.brand)
    make_type(listed, name="By invitation", direct_booking=False)
    data = Api(None, world.a.brand).get(f"/specialists/{listed.pk}/session-types").json()
    names = [row["name"] for row in data]
    assert names == ["By invitation", "Here only", "Session"]
    session = next(row for row in data if row["name"] == "Session")
    assert session["id"] == session_type.pk and session["duration_minutes"] == 50
    assert session["booking_refusal"] == ""
    assert session["price"]["amount_minor"] == 9000 and not session["price"]["covered"]
    invitation = next(row for row in data if row["name"] == "By invitation")
    assert invitation["direct_booking"] is False and invitation["booking_refusal"]
    # On the sister brand the brand-limited types swap.
    data = Api(None, world.a.sister).get(f"/specialists/{listed.pk}/session-types").json()
    assert [row["name"] for row in data] == ["By invitation", "Session", "Sister only"]


def test_a_specialist_not_visible_here_is_404(world, listed, session_type):
    other, _ = approved_and_listed(world.b, world.b.specialist, [world.b.brand])
    make_type(other)
    api = Api(None, world.a.brand)
    assert api.get(f"/specialists/{other.pk}/session-types").status_code == 404
    assert api.get(f"/specialists/{other.pk}/slots", {"session_type": 1}).status_code == 404
    assert api.get("/specialists/999999/session-types").status_code == 404
    # The platform host has no brand and no directory.
    platform = Client(HTTP_HOST="localhost")
    assert platform.get(f"/api/v1/specialists/{listed.pk}/session-types").status_code == 404


def test_private_programs_show_the_directory_to_their_patients_only(world, covered, listed):
    assert Api(None, covered).get(f"/specialists/{listed.pk}/session-types").status_code == 401
    for user in (world.a.patient, world.a.specialist, world.outsider):
        response = Api(user, covered).get(f"/specialists/{listed.pk}/session-types")
        assert response.status_code == 403, user
    member = factories.make_user("covered.patient@example.test")
    factories.grant(member, "patient", network=world.a.network, brand=covered)
    # A patient of the program gets through to the (scoped) directory: not listed there.
    assert Api(member, covered).get(f"/specialists/{listed.pk}/session-types").status_code == 404


def test_slots_are_the_free_times_with_bookings_left_out(world, listed, session_type, booked):
    start, end = local(0), local(0, days=8)
    response = Api(None, world.a.brand).get(
        f"/specialists/{listed.pk}/slots",
        {"session_type": session_type.pk, "start": iso(start), "end": iso(end), "tz": "Asia/Tokyo"},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["time_zone"] == "Europe/Berlin" and data["viewer_time_zone"] == "Asia/Tokyo"
    assert data["start"] == z(start) and data["end"] == z(end)
    expected = [
        s
        for s in free_slots(session_type, start=start, end=end, now=timezone.now())
        if s.end + timedelta(minutes=10) <= booked.start or s.start >= booked.blocked_end
    ]
    assert [row["start"] for row in data["slots"]] == [z(s.start) for s in expected]
    assert z(booked.start) not in {row["start"] for row in data["slots"]}
    first = data["slots"][0]
    assert first["start"].endswith("Z")
    assert datetime.fromisoformat(first["local_start"]).utcoffset() == timedelta(hours=9)
    assert datetime.fromisoformat(first["local_start"]) == datetime.fromisoformat(first["start"])


def test_slots_default_to_a_week_from_now_and_accept_a_plus_lost_in_the_query(
    world, listed, session_type
):
    api = Api(None, world.a.brand)
    data = api.get(f"/specialists/{listed.pk}/slots", {"session_type": session_type.pk}).json()
    assert data["viewer_time_zone"] is None and data["slots"][0]["local_start"] is None
    span = datetime.fromisoformat(data["end"]) - datetime.fromisoformat(data["start"])
    assert span == timedelta(days=7)
    # "+02:00" sent unencoded arrives as " 02:00": read as the offset it was.
    raw = local(0).strftime("%Y-%m-%dT%H:%M:%S") + local(0).strftime("%z")[:3] + ":00"
    response = api.client.get(
        f"/api/v1/specialists/{listed.pk}/slots?session_type={session_type.pk}&start={raw}"
    )
    assert response.status_code == 200, response.content
    assert response.json()["start"] == z(local(0))


def test_slot_queries_with_bad_input_are_422(world, listed, session_type):
    other_type = make_type(listed, name="Another", brand=world.a.sister)
    api = Api(None, world.a.brand)
    path = f"/specialists/{listed.pk}/slots"
    ok = {"session_type": session_type.pk}
    naive = api.get(path, {**ok, "start": "2030-01-07T09:00:00"})
    assert naive.status_code == 422
    assert "offset" in errors_of(naive)["start"]["message"]
    date_only = api.get(path, {**ok, "start": "2030-01-07"})
    assert date_only.status_code == 422 and "start" in errors_of(date_only)
    backwards = api.get(path, {**ok, "start": iso(local(10)), "end": iso(local(9))})
    assert backwards.status_code == 422 and "end" in errors_of(backwards)
    too_long = api.get(path, {**ok, "start": iso(local(0)), "end": iso(local(0, days=40))})
    assert too_long.status_code == 422 and "31" in errors_of(too_long)["end"]["message"]
    far = api.get(path, {**ok, "start": "9999-12-31T23:00:00Z"})
    assert far.status_code == 422 and "2100" in errors_of(far)["start"]["message"]
    zone = api.get(path, {**ok, "tz": "Mars/Olympus"})
    assert zone.status_code == 422 and "tz" in errors_of(zone)
    assert api.get(path, {"session_type": other_type.pk}).status_code == 422
    assert api.get(path, {"session_type": "abc"}).status_code == 422
    assert api.get(path).status_code == 422  # session_type is required


def test_next_available_for_several_specialists(world, listed, session_type):
    invitation = make_type(listed, name="By invitation", direct_booking=False, min_notice_minutes=5)
    other, _ = approved_and_listed(world.b, world.b.specialist, [world.b.brand])
    api = Api(None, world.a.brand)
    response = api.get(
        "/specialists/next-available",
        {"profile": [listed.pk, other.pk], "session_type": [session_type.pk, invitation.pk]},
    )
    assert response.status_code == 200, response.content
    rows = response.json()
    (first,) = next_free_slots(session_type, limit=1)
    by_profile = [r for r in rows if r["session_type_id"] in (session_type.pk, None)]
    # The profile row uses only the types patients can book directly; other's is left out.
    assert rows[0] == {
        "profile_id": listed.pk,
        "session_type_id": session_type.pk,
        "start": z(first.start),
        "end": z(first.end),
    }
    assert all(r["profile_id"] != other.pk for r in rows)
    assert [r["session_type_id"] for r in rows[1:]] == [session_type.pk, invitation.pk]
    assert by_profile
    assert api.get("/specialists/next-available").status_code == 422
    many = api.get("/specialists/next-available", {"profile": list(range(1, 60))})
    assert many.status_code == 422


def test_next_available_says_none_when_nothing_is_free(world, listed):
    user = factories.make_user("closed.a@example.test")
    closed, _ = approved_and_listed(world.a, user, [world.a.brand], name="Dr. Closed")
    make_type(closed)
    rows = Api(None, world.a.brand).get("/specialists/next-available", {"profile": closed.pk})
    assert rows.json() == [
        {"profile_id": closed.pk, "session_type_id": None, "start": None, "end": None}
    ]


# --- booking ------------------------------------------------------------------------------


def test_a_patient_books_and_sees_the_specialists_public_name_only(world, listed, session_type):
    api = Api(world.a.patient, world.a.brand)
    start = local(10)
    response = api.post("/bookings", {"session_type": session_type.pk, "start": iso(start)})
    assert response.status_code == 201, response.content
    data = response.json()
    booking = Booking.objects.get()
    assert data["id"] == booking.pk and data["status"] == "confirmed"
    assert data["start"] == z(start) and data["end"] == z(start + timedelta(minutes=50))
    assert data["specialist"] == {
        "profile_id": listed.pk,
        "name": "Dr. Listed",
        "time_zone": "Europe/Berlin",
    }
    assert data["patient"] is None and data["brand"] == "brand-a"
    assert data["price_minor"] == 9000 and data["session_type"]["id"] == session_type.pk
    assert world.a.specialist.email not in response.content.decode()
    assert AuditEvent.objects.filter(action="booking.created").count() == 1
    # Listed and fetched the same way.
    assert api.get("/bookings").json() == [data]
    assert api.get(f"/bookings/{booking.pk}").json() == data


def test_booking_refusals_change_nothing(world, listed, session_type):
    api = Api(world.a.patient, world.a.brand)
    before = state()
    naive = api.post("/bookings", {"session_type": session_type.pk, "start": "2030-01-07T10:00"})
    assert naive.status_code == 422
    assert "offset" in errors_of(naive)["start"]["message"]
    far = api.post("/bookings", {"session_type": session_type.pk, "start": "0001-01-01T00:00Z"})
    assert far.status_code == 422 and "start" in errors_of(far)
    number = api.post("/bookings", {"session_type": session_type.pk, "start": 1900000000})
    assert number.status_code == 422 and "start" in errors_of(number)
    off_grid = api.post("/bookings", {"session_type": session_type.pk, "start": iso(local(10, 7))})
    assert off_grid.status_code == 422
    assert errors_of(off_grid)[None]["code"] == "not_available"
    unknown = api.post("/bookings", {"session_type": 999999, "start": iso(local(10))})
    assert unknown.status_code == 422 and "session_type" in errors_of(unknown)
    missing = api.post("/bookings", {"start": iso(local(10))})
    assert missing.status_code == 422 and "session_type" in errors_of(missing)
    sister_only = make_type(listed, name="Sister only", brand=world.a.sister)
    elsewhere = api.post("/bookings", {"session_type": sister_only.pk, "start": iso(local(10))})
    assert elsewhere.status_code == 422
    invitation = make_type(listed, name="By invitation", direct_booking=False)
    by_invite = api.post("/bookings", {"session_type": invitation.pk, "start": iso(local(10))})
    assert by_invite.status_code == 422
    assert errors_of(by_invite)[None]["code"] == "invitation_only"
    assert state() == before


def test_a_taken_time_answers_409_with_alternatives(world, session_type, booked, second_patient):
    api = Api(second_patient, world.a.brand)
    before = state()
    response = api.post("/bookings", {"session_type": session_type.pk, "start": iso(local(10))})
    assert response.status_code == 409
    body = response.json()
    assert body["detail"].startswith("This time was just taken")
    assert len(body["alternatives"]) == 5
    expected = next_free_slots(session_type)
    assert body["alternatives"] == [{"start": z(s.start), "end": z(s.end)} for s in expected]
    assert state() == before


def test_patient_lists_are_scoped_to_the_patient_and_the_brand(
    world, listed, session_type, booked, second_patient
):
    do_book(patient=second_patient, brand=world.a.brand, session_type=session_type, start=local(14))
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    on_sister = do_book(
        patient=world.a.patient, brand=world.a.sister, session_type=session_type, start=local(12)
    )
    here = Api(world.a.patient, world.a.brand)
    assert [b["id"] for b in here.get("/bookings").json()] == [booked.pk]
    assert here.get(f"/bookings/{on_sister.pk}").status_code == 404
    sister = Api(world.a.patient, world.a.sister)
    assert [b["id"] for b in sister.get("/bookings").json()] == [on_sister.pk]
    # Filters and paging.
    assert here.get("/bookings", {"status": "cancelled_by_patient"}).json() == []
    assert here.get("/bookings", {"status": "nonsense"}).status_code == 422
    assert here.get("/bookings", {"limit": 0}).status_code == 422
    assert here.get("/bookings", {"start_after": iso(local(11))}).json() == []


def test_the_specialist_sees_their_calendar_across_the_networks_brands(
    world, listed, session_type, booked, second_patient
):
    factories.grant(second_patient, "patient", network=world.a.network, brand=world.a.sister)
    on_sister = do_book(
        patient=second_patient, brand=world.a.sister, session_type=session_type, start=local(12)
    )
    response = Api(world.a.specialist, world.a.brand).get("/specialist/bookings")
    rows = response.json()
    assert [(r["id"], r["brand"]) for r in rows] == [
        (booked.pk, "brand-a"),
        (on_sister.pk, "sister-a"),
    ]
    assert rows[0]["patient"] == {"id": world.a.patient.pk, "name": "Patient a"}
    assert world.a.patient.email not in response.content.decode()
    # The same calendar from the sister host; patients on this brand only.
    sister = Api(world.a.specialist, world.a.sister)
    assert len(sister.get("/specialist/bookings").json()) == 2
    assert Api(world.a.specialist, world.a.brand).get("/specialist/patients").json() == [
        {"id": world.a.patient.pk, "name": "Patient a"}
    ]
    assert sister.get("/specialist/patients").json() == [
        {"id": second_patient.pk, "name": "Second Patient"}
    ]
    detail = sister.get(f"/bookings/{booked.pk}").json()
    assert detail["patient"]["name"] == "Patient a"


# --- cancelling and moving -----------------------------------------------------------------


def test_a_patient_cancels_in_time_for_free(world, booked):
    api = Api(world.a.patient, world.a.brand)
    terms = api.get(f"/bookings/{booked.pk}/cancellation-terms").json()
    assert terms["free"] is True and terms["fee_percent"] == 0 and terms["cancellable"]
    assert terms["free_until"] == z(booked.start - timedelta(hours=24))
    assert terms["may_reschedule"] is True
    response = api.post(f"/bookings/{booked.pk}/cancel", {"reason": "Travelling"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["late"] is False and data["fee_percent"] == 0
    assert data["booking"]["status"] == "cancelled_by_patient"
    assert data["booking"]["cancel_reason"] == "Travelling"
    again = api.post(f"/bookings/{booked.pk}/cancel", {})
    assert again.status_code == 422 and again.json()["errors"][0]["code"] == "not_active"
    assert api.get(f"/bookings/{booked.pk}/cancellation-terms").json()["cancellable"] is False


def test_a_late_cancellation_names_the_fee(world, listed, session_type):
    do_save_brand_policy(
        world.a.brand,
        {"cancel_notice_hours": 24 * 14, "late_cancel_fee_percent": 40},
        actor=world.a.operator,
        role="operator",
    )
    booking = do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )
    api = Api(world.a.patient, world.a.brand)
    terms = api.get(f"/bookings/{booking.pk}/cancellation-terms").json()
    assert terms["free"] is False and terms["fee_percent"] == 40
    data = api.post(f"/bookings/{booking.pk}/cancel", {}).json()
    assert data["late"] is True and data["fee_percent"] == 40
    assert data["booking"]["fee_percent"] == 40


def test_the_specialist_cancels_from_the_same_endpoint_free_for_the_patient(world, booked):
    do_save_brand_policy(
        world.a.brand, {"cancel_notice_hours": 24 * 14}, actor=world.a.operator, role="operator"
    )
    api = Api(world.a.specialist, world.a.brand)
    terms = api.get(f"/bookings/{booked.pk}/cancellation-terms").json()
    assert terms["free"] is True and terms["free_until"] is None
    # The side comes from who calls: a body claiming otherwise is ignored.
    response = api.post(f"/bookings/{booked.pk}/cancel", {"by": "patient", "reason": ""})
    data = response.json()
    assert data["booking"]["status"] == "cancelled_by_specialist" and data["late"] is False
    event = AuditEvent.objects.filter(action="booking.cancelled").get()
    assert event.data["by"] == "specialist"


def test_cancel_reason_is_limited(world, booked):
    before = state()
    api = Api(world.a.patient, world.a.brand)
    response = api.post(f"/bookings/{booked.pk}/cancel", {"reason": "x" * 2001})
    assert response.status_code == 422 and "reason" in errors_of(response)
    assert state() == before


def test_a_patient_moves_a_booking(world, booked):
    api = Api(world.a.patient, world.a.brand)
    before = state()
    naive = api.post(f"/bookings/{booked.pk}/reschedule", {"start": "2030-01-07T10:00:00"})
    assert naive.status_code == 422
    same = api.post(f"/bookings/{booked.pk}/reschedule", {"start": iso(local(10))})
    assert same.status_code == 422 and errors_of(same)[None]["code"] == "same_time"
    closed = api.post(f"/bookings/{booked.pk}/reschedule", {"start": iso(local(20))})
    assert closed.status_code == 422 and errors_of(closed)[None]["code"] == "not_available"
    assert state() == before
    response = api.post(f"/bookings/{booked.pk}/reschedule", {"start": iso(local(13))})
    assert response.status_code == 201, response.content
    moved = response.json()
    assert moved["start"] == z(local(13)) and moved["rescheduled_from"] == booked.pk
    assert api.get(f"/bookings/{booked.pk}").json()["status"] == "rescheduled"


def test_moving_onto_a_taken_time_is_409(world, session_type, booked, second_patient):
    other = do_book(
        patient=second_patient, brand=world.a.brand, session_type=session_type, start=local(13)
    )
    api = Api(world.a.specialist, world.a.brand)
    before = state()
    response = api.post(f"/bookings/{booked.pk}/reschedule", {"start": iso(local(13))})
    assert response.status_code == 409 and response.json()["alternatives"]
    assert state() == before
    assert other.pk


# --- after the session -------------------------------------------------------------------


def _started(booking: Booking) -> Booking:
    """Shift a booking into the past (the actions refuse to make one there)."""
    shift = booking.start - (timezone.now() - timedelta(hours=2))
    Booking.objects.filter(pk=booking.pk).update(
        start=booking.start - shift,
        end=booking.end - shift,
        blocked_start=booking.blocked_start - shift,
        blocked_end=booking.blocked_end - shift,
    )
    booking.refresh_from_db()
    return booking


def test_the_specialist_completes_or_records_a_no_show(world, session_type, booked, second_patient):
    api = Api(world.a.specialist, world.a.brand)
    before = state()
    too_early = api.post(f"/bookings/{booked.pk}/complete")
    assert too_early.status_code == 422 and errors_of(too_early)[None]["code"] == "too_early"
    patient = Api(world.a.patient, world.a.brand)
    for path in ("complete", "no-show"):
        refused = patient.post(f"/bookings/{booked.pk}/{path}")
        assert refused.status_code == 403
        assert refused.json()["detail"] == "Only the specialist can do this."
    assert state() == before
    _started(booked)
    done = api.post(f"/bookings/{booked.pk}/complete")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    other = _started(
        do_book(
            patient=second_patient, brand=world.a.brand, session_type=session_type, start=local(14)
        )
    )
    missed = api.post(f"/bookings/{other.pk}/no-show").json()
    assert missed["status"] == "no_show" and missed["fee_percent"] == 100
    assert api.post(f"/bookings/{other.pk}/complete").status_code == 422


# --- proposals ---------------------------------------------------------------------------


def test_proposals_accepted_declined_and_withdrawn(world, session_type, booked):
    specialist = Api(world.a.specialist, world.a.brand)
    patient = Api(world.a.patient, world.a.brand)
    ids = []
    for hour in (12, 13, 14):
        response = specialist.post(
            "/proposals",
            {
                "patient": world.a.patient.pk,
                "session_type": session_type.pk,
                "start": iso(local(hour)),
            },
        )
        assert response.status_code == 201, response.content
        data = response.json()
        assert data["status"] == "proposed" and data["expires_at"]
        assert data["patient"]["id"] == world.a.patient.pk
        ids.append(data["id"])
    accepted = patient.post(f"/bookings/{ids[0]}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "confirmed"
    assert patient.post(f"/bookings/{ids[1]}/decline").json()["status"] == "declined"
    # Each side answers only its own part.
    refused = specialist.post(f"/bookings/{ids[2]}/accept")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only the patient can do this."
    refused = patient.post(f"/bookings/{ids[2]}/withdraw")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only the specialist can do this."
    withdrawn = specialist.post(f"/bookings/{ids[2]}/withdraw").json()
    assert withdrawn["status"] == "cancelled_by_specialist"
    again = patient.post(f"/bookings/{ids[0]}/accept")
    assert again.status_code == 422 and errors_of(again)[None]["code"] == "answered"
    cancel_proposal = specialist.post(
        "/proposals",
        {"patient": world.a.patient.pk, "session_type": session_type.pk, "start": iso(local(15))},
    ).json()
    refused = patient.post(f"/bookings/{cancel_proposal['id']}/cancel")
    assert refused.status_code == 422


def test_proposal_refusals_change_nothing(world, session_type, booked, second_patient):
    other, _ = approved_and_listed(world.b, world.b.specialist, [world.b.brand])
    foreign = make_type(other)
    specialist = Api(world.a.specialist, world.a.brand)
    before = state()
    ok = {"patient": world.a.patient.pk, "session_type": session_type.pk, "start": iso(local(12))}
    # Not one of this specialist's patients (no booking or request with them here).
    for patient in (second_patient, world.b.patient, world.a.specialist):
        response = specialist.post("/proposals", {**ok, "patient": patient.pk})
        assert response.status_code == 422 and "patient" in errors_of(response)
    response = specialist.post("/proposals", {**ok, "session_type": foreign.pk})
    assert response.status_code == 422 and "session_type" in errors_of(response)
    naive = specialist.post("/proposals", {**ok, "start": "2030-01-07T12:00:00"})
    assert naive.status_code == 422
    bad_expiry = specialist.post("/proposals", {**ok, "expires_at": iso(local(13))})
    assert bad_expiry.status_code == 422 and errors_of(bad_expiry)[None]["code"] == "bad_expiry"
    taken = specialist.post("/proposals", {**ok, "start": iso(local(10))})
    assert taken.status_code == 409 and taken.json()["alternatives"]
    assert state() == before


# --- availability requests ---------------------------------------------------------------


def _ask(api: Api, session_type: SessionType, *hours: tuple[int, int]):  # type: ignore[no-untyped-def]
    windows = [{"start": iso(local(a)), "end": iso(local(b))} for a, b in hours]
    return api.post(
        "/availability-requests", {"session_type": session_type.pk, "preferred": windows}
    )


def test_a_request_accepted_inside_the_patients_periods_is_booked(world, session_type):
    patient = Api(world.a.patient, world.a.brand)
    response = _ask(patient, session_type, (9, 12))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["side"] == "patient" and data["status"] == "requested"
    assert data["preferred"] == [{"start": z(local(9)), "end": z(local(12))}]
    assert data["patient"] is None and data["specialist"]["name"] == "Dr. Listed"
    assert patient.get("/availability-requests").json() == [data]
    specialist = Api(world.a.specialist, world.a.brand)
    (seen,) = specialist.get("/availability-requests").json()
    assert seen["side"] == "specialist" and seen["patient"]["name"] == "Patient a"
    booked = specialist.post(
        f"/availability-requests/{data['id']}/accept", {"start": iso(local(10))}
    )
    assert booked.status_code == 201, booked.content
    assert booked.json()["status"] == "confirmed"
    assert booked.json()["availability_request"] == data["id"]
    detail = patient.get(f"/availability-requests/{data['id']}").json()
    assert detail["status"] == "accepted" and detail["bookings"] == [booked.json()["id"]]


def test_a_request_answered_outside_the_periods_becomes_a_proposal(world, session_type):
    req = _ask(Api(world.a.patient, world.a.brand), session_type, (9, 12)).json()
    specialist = Api(world.a.specialist, world.a.brand)
    proposed = specialist.post(
        f"/availability-requests/{req['id']}/accept", {"start": iso(local(15))}
    )
    assert proposed.status_code == 201 and proposed.json()["status"] == "proposed"


def test_requests_declined_and_withdrawn(world, session_type, listed):
    patient = Api(world.a.patient, world.a.brand)
    specialist = Api(world.a.specialist, world.a.brand)
    first = _ask(patient, session_type, (9, 12)).json()
    second = _ask(patient, session_type, (9, 12))
    assert second.status_code == 422 and errors_of(second)[None]["code"] == "already_open"
    refused = patient.post(f"/availability-requests/{first['id']}/decline")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only the specialist can do this."
    refused = specialist.post(f"/availability-requests/{first['id']}/withdraw")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only the patient can do this."
    withdrawn = patient.post(f"/availability-requests/{first['id']}/withdraw").json()
    assert withdrawn["status"] == "withdrawn"
    third = _ask(patient, session_type, (13, 16)).json()
    declined = specialist.post(f"/availability-requests/{third['id']}/decline").json()
    assert declined["status"] == "declined" and declined["side"] == "specialist"
    again = specialist.post(f"/availability-requests/{third['id']}/decline")
    assert again.status_code == 422 and errors_of(again)[None]["code"] == "answered"
    assert (
        patient.get("/availability-requests", {"status": "declined"}).json()[0]["id"] == third["id"]
    )


def test_request_refusals_change_nothing(world, session_type, listed):
    patient = Api(world.a.patient, world.a.brand)
    before = state()
    short = _ask(patient, session_type, (9, 9))
    assert short.status_code == 422 and errors_of(short)[None]["code"] == "too_short"
    none = patient.post(
        "/availability-requests", {"session_type": session_type.pk, "preferred": []}
    )
    assert none.status_code == 422 and errors_of(none)[None]["code"] == "no_windows"
    naive = patient.post(
        "/availability-requests",
        {
            "session_type": session_type.pk,
            "preferred": [{"start": "2030-01-07T09:00", "end": iso(local(12))}],
        },
    )
    assert naive.status_code == 422 and "preferred.0.start" in errors_of(naive)
    too_many = _ask(patient, session_type, *[(9, 10)] * 6)
    assert too_many.status_code == 422 and errors_of(too_many)[None]["code"] == "too_many"
    unknown = patient.post(
        "/availability-requests",
        {"session_type": 999999, "preferred": [{"start": iso(local(9)), "end": iso(local(12))}]},
    )
    assert unknown.status_code == 422
    assert state() == before
    req = _ask(patient, session_type, (9, 12)).json()
    specialist = Api(world.a.specialist, world.a.brand)
    before = state()
    naive_accept = specialist.post(
        f"/availability-requests/{req['id']}/accept", {"start": "2030-01-07T10:00"}
    )
    assert naive_accept.status_code == 422
    assert state() == before


# --- series ------------------------------------------------------------------------------


def test_a_series_is_previewed_then_created(world, session_type, booked):
    specialist = Api(world.a.specialist, world.a.brand)
    body = {
        "session_type": session_type.pk,
        "first_start": iso(local(12)),
        "interval_weeks": 1,
        "count": 4,
    }
    before = state()
    preview = specialist.post("/series/preview", body)
    assert preview.status_code == 200, preview.content
    data = preview.json()
    assert data["all_free"] is True and data["time_zone"] == "Europe/Berlin"
    assert [o["local_start"][11:] for o in data["occurrences"]] == ["12:00"] * 4
    assert state() == before
    created = specialist.post("/series", {**body, "patient": world.a.patient.pk})
    assert created.status_code == 201, created.content
    series = created.json()
    assert series["count"] == 4 and len(series["bookings"]) == 4
    assert {b["patient"]["id"] for b in series["bookings"]} == {world.a.patient.pk}
    assert {b["series_id"] for b in series["bookings"]} == {series["id"]}


def test_series_conflicts_answer_409_per_occurrence(world, session_type, booked):
    specialist = Api(world.a.specialist, world.a.brand)
    body = {
        "session_type": session_type.pk,
        "first_start": iso(local(10, days=0 + 7)),
        "interval_weeks": 1,
        "count": 3,
        "patient": world.a.patient.pk,
    }
    preview = specialist.post("/series/preview", body).json()
    assert preview["all_free"] is False
    assert preview["occurrences"][0]["conflicting_booking"] == booked.pk
    before = state()
    response = specialist.post("/series", body)
    assert response.status_code == 409
    data = response.json()
    assert data["detail"] and len(data["occurrences"]) == 3
    assert [o["ok"] for o in data["occurrences"]] == [False, True, True]
    assert data["occurrences"][0]["conflict"]
    assert state() == before
    skipped = specialist.post("/series", {**body, "skip_conflicts": True})
    assert skipped.status_code == 201 and len(skipped.json()["bookings"]) == 2


def test_series_refusals_change_nothing(world, session_type, booked, second_patient):
    specialist = Api(world.a.specialist, world.a.brand)
    body = {
        "session_type": session_type.pk,
        "first_start": iso(local(12)),
        "interval_weeks": 1,
        "count": 3,
        "patient": world.a.patient.pk,
    }
    before = state()
    for change, field in [
        ({"interval_weeks": 3}, None),
        ({"count": 1}, None),
        ({"count": 53}, None),
        ({"first_start": "2030-01-07T12:00"}, "first_start"),
        ({"patient": second_patient.pk}, "patient"),
        ({"session_type": 999999}, "session_type"),
    ]:
        response = specialist.post("/series", {**body, **change})
        assert response.status_code == 422, change
        assert field in errors_of(response), change
    assert specialist.post("/series/preview", {**body, "count": 99}).status_code == 422
    patient = Api(world.a.patient, world.a.brand)
    assert patient.post("/series", body).status_code == 403
    assert patient.post("/series/preview", body).status_code == 403
    assert state() == before


# --- who may call what -------------------------------------------------------------------

FORBIDDEN_ROLES = ["org_admin", "org_staff", "finance", "affiliate", "operator"]


def _outsiders(world, second_patient):  # type: ignore[no-untyped-def]
    """(label, user, brand) of everyone with no part in world.a.patient's booking."""
    people = [(role, getattr(world.a, role), world.a.brand) for role in FORBIDDEN_ROLES]
    people += [
        (f"b.{role}", getattr(world.b, role), world.b.brand)
        for role in ["patient", "specialist", *FORBIDDEN_ROLES]
    ]
    people += [
        ("b.patient on a", world.b.patient, world.a.brand),
        ("b.specialist on a", world.b.specialist, world.a.brand),
        ("a.patient on sister", world.a.patient, world.a.sister),
        ("a.patient on b", world.a.patient, world.b.brand),
        ("a.specialist on b", world.a.specialist, world.b.brand),
        ("another patient", second_patient, world.a.brand),
        ("outsider", world.outsider, world.a.brand),
    ]
    return people


@pytest.fixture
def scene(world, listed, session_type, booked):
    """A booking, a proposal and an open request of world.a.patient with world.a's specialist,
    and world.b's specialist listed with a session type on b."""
    proposal = do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=session_type,
        start=local(14),
    )
    other_type = make_type(listed, name="Other")
    req = do_request_availability(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=other_type,
        preferred=[(local(9, days=9), local(12, days=9))],
    )
    b_profile, _ = listed_with_hours(world.b)
    return {"booking": booked, "proposal": proposal, "request": req, "b_type": make_type(b_profile)}


def test_nobody_else_reads_or_changes_the_patients_booking(world, second_patient, scene):
    booking, proposal, req = scene["booking"], scene["proposal"], scene["request"]
    start = {"start": iso(local(16))}
    for label, user, brand in _outsiders(world, second_patient):
        api = Api(user, brand)
        before = state()
        for path in (
            f"/bookings/{booking.pk}",
            f"/bookings/{booking.pk}/cancellation-terms",
            f"/availability-requests/{req.pk}",
        ):
            assert api.get(path).status_code == 404, (label, path)
        for path, body in (
            (f"/bookings/{booking.pk}/cancel", {}),
            (f"/bookings/{booking.pk}/reschedule", start),
            (f"/bookings/{booking.pk}/complete", {}),
            (f"/bookings/{booking.pk}/no-show", {}),
            (f"/bookings/{proposal.pk}/accept", {}),
            (f"/bookings/{proposal.pk}/decline", {}),
            (f"/bookings/{proposal.pk}/withdraw", {}),
            (f"/availability-requests/{req.pk}/accept", start),
            (f"/availability-requests/{req.pk}/decline", {}),
            (f"/availability-requests/{req.pk}/withdraw", {}),
        ):
            response = api.post(path, body)
            assert response.status_code == 404, (label, path, response.status_code)
            assert response.json() == {"detail": "Not Found"}
        assert state() == before, label


def test_roles_without_bookings_get_403_on_the_collections(world, second_patient, scene):
    """Patient collections need the patient role on this brand, specialist ones the
    specialist role in this network; the others answer 403 and write nothing. Those who do
    hold the role see only their own (here: empty) lists."""
    body = {
        "patient": world.a.patient.pk,
        "session_type": scene["booking"].session_type_id,
        "start": iso(local(16)),
        "first_start": iso(local(16)),
        "interval_weeks": 1,
        "count": 2,
        "preferred": [{"start": iso(local(9)), "end": iso(local(12))}],
    }
    patient_calls = [("GET", "/bookings"), ("POST", "/bookings")]
    specialist_calls = [
        ("GET", "/specialist/bookings"),
        ("GET", "/specialist/patients"),
        ("POST", "/proposals"),
        ("POST", "/series/preview"),
        ("POST", "/series"),
    ]
    for label, user, brand in _outsiders(world, second_patient):
        api = Api(user, brand)
        memberships = user.memberships.filter(network=brand.network)
        is_patient_here = memberships.filter(role="patient", brand=brand).exists()
        is_specialist_here = memberships.filter(role="specialist").exists()
        before = state()
        for method, path in patient_calls + specialist_calls:
            allowed = is_patient_here if (method, path) in patient_calls else is_specialist_here
            if allowed:
                if method == "GET":
                    assert api.get(path).json() == [], (label, path)
                continue
            response = api.get(path) if method == "GET" else api.post(path, body)
            assert response.status_code == 403, (label, path, response.status_code)
            assert response.json()["detail"], (label, path)
        requests_list = api.get("/availability-requests")
        if is_patient_here or is_specialist_here:
            assert requests_list.json() == [], label
        else:
            assert requests_list.status_code == 403, label
        assert state() == before, label
    assert any(
        user.memberships.filter(role="patient", brand=brand).exists()
        for _label, user, brand in _outsiders(world, second_patient)
    )


def test_specialists_of_another_network_cannot_schedule_here(world, scene):
    b_type = scene["b_type"]
    before = state()
    # world.b's specialist has no role on a.brand; on b.brand world.a.patient is unknown.
    on_a = Api(world.b.specialist, world.a.brand)
    assert (
        on_a.post(
            "/proposals",
            {"patient": world.a.patient.pk, "session_type": b_type.pk, "start": iso(local(12))},
        ).status_code
        == 403
    )
    on_b = Api(world.b.specialist, world.b.brand)
    response = on_b.post(
        "/proposals",
        {"patient": world.a.patient.pk, "session_type": b_type.pk, "start": iso(local(12))},
    )
    assert response.status_code == 422 and "patient" in errors_of(response)
    # Nor may world.a's specialist use world.b's session type.
    response = Api(world.a.specialist, world.a.brand).post(
        "/proposals",
        {"patient": world.a.patient.pk, "session_type": b_type.pk, "start": iso(local(12))},
    )
    assert response.status_code == 422 and "session_type" in errors_of(response)
    assert state() == before


def test_a_patient_cannot_book_another_networks_specialist(world, scene):
    before = state()
    response = Api(world.a.patient, world.a.brand).post(
        "/bookings", {"session_type": scene["b_type"].pk, "start": iso(local(12))}
    )
    assert response.status_code == 422 and "session_type" in errors_of(response)
    assert state() == before


# --- odd input -----------------------------------------------------------------------------

ODD = [None, "", "x", -1, 0, 2**70, 1.5, [], {}, True, "2030-01-07T10:00:00+25:00"]


def test_odd_input_is_refused_cleanly(world, session_type, booked):
    """Ids beyond what the database holds, wrong types, impossible times: 4xx, never 500."""
    big = 2**70
    patient = Api(world.a.patient, world.a.brand)
    specialist = Api(world.a.specialist, world.a.brand)
    before = state()
    for path in (
        f"/bookings/{big}",
        f"/availability-requests/{big}",
        f"/specialists/{big}/session-types",
        f"/specialists/{session_type.profile_id}/slots?session_type={big}",
        f"/specialists/next-available?profile={big}",
        f"/bookings?offset={big}",
    ):
        assert patient.get(path).status_code == 422, path
    assert patient.post(f"/bookings/{big}/cancel").status_code == 422
    base = {
        "session_type": session_type.pk,
        "start": iso(local(11)),
        "patient": world.a.patient.pk,
        "first_start": iso(local(11)),
        "interval_weeks": 1,
        "count": 2,
    }
    for api, path, fields in (
        (patient, "/bookings", ["session_type", "start"]),
        (specialist, "/series", ["patient", "session_type", "first_start", "interval_weeks"]),
    ):
        for field in fields:
            for value in ODD:
                response = api.post(path, {**base, field: value})
                assert response.status_code == 422, (path, field, value, response.status_code)
    assert state() == before
