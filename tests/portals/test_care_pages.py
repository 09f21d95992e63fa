"""Care-relationship pages: the specialist's patient list and one patient's record with
private notes, the patient's "My specialists", and the organization's view per role.
Nobody but the relationship's specialist reaches the record or the notes, and a refused
POST writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from caredoor.core.booking import requests
from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking
from caredoor.core.care import actions
from caredoor.core.care.models import CareNote, CareRelationship
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.specialists.actions import do_register_specialist
from tests import factories
from tests.booking_helpers import BERLIN, listed_with_hours, local, make_type

LIST = "/specialist/patients/"


@pytest.fixture
def listed(world):  # type: ignore[no-untyped-def]
    return listed_with_hours(world.a, [world.a.brand, world.a.sister])[0]


@pytest.fixture
def session_type(listed):  # type: ignore[no-untyped-def]
    return make_type(listed)


@pytest.fixture
def booked(world, session_type) -> Booking:  # type: ignore[no-untyped-def]
    world.a.patient.time_zone = "America/New_York"
    world.a.patient.save()
    return do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )


@pytest.fixture
def rel(booked) -> CareRelationship:  # type: ignore[no-untyped-def]
    return CareRelationship.objects.get(patient=booked.patient, brand=booked.brand)


@pytest.fixture
def spec(world, client_for):  # type: ignore[no-untyped-def]
    return client_for(world.a.specialist, world.a.brand)


def label(moment) -> str:  # type: ignore[no-untyped-def]
    at = moment.astimezone(BERLIN)
    return f"{at:%a} {at.day} {at:%b %Y, %H:%M}"


def snapshot() -> tuple:
    return (
        list(CareNote.objects.order_by("pk").values_list("pk", "body_encrypted", "updated_at")),
        AuditEvent.objects.count(),
    )


# --- the specialist's list ----------------------------------------------------------------


def test_the_list_shows_each_relationships_facts(world, spec, listed, session_type, booked):
    held_start = timezone.now() - timedelta(days=2)
    done = do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(14)
    )
    Booking.objects.filter(pk=done.pk).update(
        start=held_start,
        end=held_start + timedelta(minutes=50),
        blocked_start=held_start,
        blocked_end=held_start + timedelta(minutes=60),
        status="completed",
    )
    requests.do_request_availability(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        preferred=[(local(9, days=20), local(12, days=20))],
    )
    newcomer = factories.make_user("newcomer@example.test", name="Nina Newcomer")
    factories.grant(newcomer, "patient", network=world.a.network, brand=world.a.sister)
    actions.do_allocate(brand=world.a.sister, patient=newcomer, profile=listed, source="referral")

    response = spec.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Patient a" in page and "Nina Newcomer" in page
    assert "Directory" in page and "Referral" in page
    assert "America/New_York" in page
    assert f"next: {label(booked.start)}" in page
    assert f"last: {label(held_start)}" in page
    assert "1 held" in page and "0 held" in page
    assert "1 waiting" in page
    assert ">New<" in page and ">Active<" in page

    # Brand filter and name search.
    sister_only = spec.get(LIST, {"brand": world.a.sister.pk}).content.decode()
    assert "Nina Newcomer" in sister_only and "Patient a" not in sister_only
    found = spec.get(LIST, {"q": "nina"}).content.decode()
    assert "Nina Newcomer" in found and "Patient a" not in found
    # Ended relationships only on request.
    ended = CareRelationship.objects.get(patient=newcomer)
    actions.do_end(ended, reason="switched", actor=world.a.specialist)
    assert "Nina Newcomer" not in spec.get(LIST).content.decode()
    assert "Nina Newcomer" in spec.get(LIST, {"ended": "1"}).content.decode()


def test_the_list_summarizes_consents(world, spec, rel):
    consents = pytest.importorskip("caredoor.core.consents.actions")
    assert "No documents to sign" in spec.get(LIST).content.decode()
    brand = world.a.brand
    brand.modules = [*brand.modules, "consents"]
    brand.save(update_fields=["modules"])
    cache.clear()
    treatment = consents.do_create_document(
        kind="treatment",
        title="Treatment agreement",
        stage="booking",
        body="I agree to treatment.",
        actor=world.a.operator,
        brand=world.a.brand,
    )
    privacy = consents.do_create_document(
        kind="privacy",
        title="Privacy notice",
        stage="signup",
        body="We keep your data safe.",
        actor=world.a.operator,
        brand=world.a.brand,
    )
    page = spec.get(LIST).content.decode()
    assert "2 missing" in page
    consents.do_sign(world.a.patient, privacy.versions.get(), brand=world.a.brand)
    page = spec.get(LIST).content.decode()
    assert "1 missing" in page
    record = spec.get(f"{LIST}{rel.pk}/").content.decode()
    assert "Treatment agreement" in record and "Not signed" in record
    assert "Privacy notice" in record and "Signed" in record
    consents.do_sign(world.a.patient, treatment.versions.get(), brand=world.a.brand)
    assert "All signed" in spec.get(LIST).content.decode()


def test_a_specialist_without_patients_or_profile_sees_an_empty_list(world, client_for):
    response = client_for(world.a.specialist, world.a.brand).get(LIST)
    assert response.status_code == 200
    assert "No profile yet" in response.content.decode()


# --- one patient's record -----------------------------------------------------------------


def test_the_record_shows_sessions_requests_and_links(world, spec, rel, booked, session_type):
    requests.do_request_availability(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        preferred=[(local(9, days=20), local(12, days=20))],
    )
    page = spec.get(f"{LIST}{rel.pk}/").content.decode()
    assert f'href="/specialist/bookings/{booked.pk}/"' in page
    assert "Waiting for the specialist" in page
    assert (
        f"/specialist/bookings/propose/?patient={world.a.brand.pk}%3A{world.a.patient.pk}" in page
    )
    # The propose page takes the patient from the link.
    propose = spec.get(
        f"/specialist/bookings/propose/?patient={world.a.brand.pk}:{world.a.patient.pk}"
    )
    assert f'value="{world.a.brand.pk}:{world.a.patient.pk}" selected' in propose.content.decode()
    # The intake answers link there and back, while the relationship is active.
    assert f'href="/specialist/intake/{rel.pk}/"' in page
    answers = spec.get(f"/specialist/intake/{rel.pk}/").content.decode()
    assert f'href="{LIST}{rel.pk}/"' in answers
    actions.do_end(rel, reason="ended", actor=world.a.specialist)
    assert "/specialist/intake/" not in spec.get(f"{LIST}{rel.pk}/").content.decode()


def test_notes_are_added_listed_edited_and_their_reads_audited(world, spec, rel):
    response = spec.post(f"{LIST}{rel.pk}/notes/", {"body": "Sleeps badly since March."})
    assert response.status_code == 302
    note = CareNote.objects.get()
    assert "March" not in note.body_encrypted
    reads = AuditEvent.objects.filter(action="care.notes_read").count()
    page = spec.get(f"{LIST}{rel.pk}/").content.decode()
    assert "Sleeps badly since March." in page
    assert AuditEvent.objects.filter(action="care.notes_read").count() == reads + 1

    edit_url = f"{LIST}{rel.pk}/notes/{note.pk}/edit/"
    assert "Sleeps badly since March." in spec.get(edit_url).content.decode()
    assert spec.post(edit_url, {"edit-body": "Sleeps better now."}).status_code == 302
    assert "Sleeps better now." in spec.get(f"{LIST}{rel.pk}/").content.decode()


@pytest.mark.parametrize("body", ["", "   ", "x" * (actions.NOTE_MAX + 1)])
def test_a_bad_note_shows_an_error_and_writes_nothing(world, spec, rel, body):
    before = snapshot()
    response = spec.post(f"{LIST}{rel.pk}/notes/", {"body": body})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Write the note first." in page or "at most" in page
    assert CareNote.objects.count() == 0
    assert snapshot()[0] == before[0]


def test_an_empty_edit_changes_nothing(world, spec, rel):
    note = actions.do_add_note(rel, author=world.a.specialist, body="Keep me.")
    stored = CareNote.objects.get().body_encrypted
    response = spec.post(f"{LIST}{rel.pk}/notes/{note.pk}/edit/", {"edit-body": "  "})
    assert response.status_code == 400
    assert "Write the note first." in response.content.decode()
    assert CareNote.objects.get().body_encrypted == stored


def _second_specialist(world):  # type: ignore[no-untyped-def]
    someone = factories.make_user("second.specialist@example.test", name="Second Specialist")
    factories.grant(someone, "specialist", network=world.a.network)
    do_register_specialist(someone, world.a.brand)
    return someone


def _same_specialist_on_network_b(world):  # type: ignore[no-untyped-def]
    """A.specialist also holds the role on network B, with a profile there."""
    factories.grant(world.a.specialist, "specialist", network=world.b.network)
    do_register_specialist(world.a.specialist, world.b.brand)
    return world.a.specialist


STRANGERS = {
    "other specialist": (lambda w: _second_specialist(w), "a.brand", 404),
    "same specialist, other network": (lambda w: _same_specialist_on_network_b(w), "b.brand", 404),
    "network B specialist": (lambda w: w.b.specialist, "b.brand", 404),
    "patient": (lambda w: w.a.patient, "a.brand", 403),
    "affiliate": (lambda w: w.a.affiliate, "a.brand", 403),
    "org staff": (lambda w: w.a.org_staff, "a.brand", 403),
    "other network's org staff": (lambda w: w.b.org_staff, "a.brand", 403),
    "outsider": (lambda w: w.outsider, "a.brand", 403),
}


def _brand(world, name):  # type: ignore[no-untyped-def]
    side, attr = name.split(".")
    return getattr(getattr(world, side), attr)


@pytest.mark.parametrize("who", list(STRANGERS))
def test_nobody_else_reaches_the_record_or_the_notes(world, client_for, rel, who):
    make, brand_name, status = STRANGERS[who]
    note = actions.do_add_note(rel, author=world.a.specialist, body="Confidential remark.")
    user = make(world)
    client = client_for(user, _brand(world, brand_name))
    before = snapshot()
    for url in [f"{LIST}{rel.pk}/", f"{LIST}{rel.pk}/notes/{note.pk}/edit/"]:
        response = client.get(url)
        assert response.status_code == status, url
        assert "Confidential remark." not in response.content.decode()
        assert "Private notes" not in response.content.decode()
    response = client.post(f"{LIST}{rel.pk}/notes/", {"body": "Injected."})
    assert response.status_code == status
    response = client.post(f"{LIST}{rel.pk}/notes/{note.pk}/edit/", {"edit-body": "Overwritten."})
    assert response.status_code == status
    assert snapshot() == before
    assert f"{LIST}{rel.pk}/" not in client.get(LIST).content.decode()


def test_a_specialist_edits_only_their_own_notes(world, client_for, rel):
    note = actions.do_add_note(rel, author=world.a.specialist, body="Mine.")
    # A note by someone else on the same relationship (e.g. written before a handover).
    other = _second_specialist(world)
    foreign = actions.do_add_note(rel, author=other, body="Not mine.")
    spec = client_for(world.a.specialist, world.a.brand)
    before = snapshot()
    assert (
        spec.post(f"{LIST}{rel.pk}/notes/{foreign.pk}/edit/", {"edit-body": "x"}).status_code == 404
    )
    assert snapshot() == before
    assert spec.get(f"{LIST}{rel.pk}/notes/{note.pk}/edit/").status_code == 200


def test_notes_never_reach_the_patient_or_the_organization(world, client_for, rel):
    actions.do_add_note(rel, author=world.a.specialist, body="Confidential remark.")
    reads = AuditEvent.objects.filter(action="care.notes_read").count()
    patient = client_for(world.a.patient, world.a.brand)
    for url in ["/care/", "/sessions/"]:
        assert "Confidential remark." not in patient.get(url).content.decode()
    operator = client_for(world.a.operator, world.a.brand)
    assert "Confidential remark." not in operator.get("/org/relationships/").content.decode()
    assert AuditEvent.objects.filter(action="care.notes_read").count() == reads


# --- the patient's "My specialists" -------------------------------------------------------


def test_my_specialists_lists_this_brands_relationships_only(world, client_for, listed, rel):
    page = client_for(world.a.patient, world.a.brand).get("/care/").content.decode()
    assert "Dr. Listed" in page
    assert "You chose them in the directory" in page
    assert f'href="/specialists/{listed.pk}/book/"' in page
    assert "Switch specialist" not in page  # a directory brand

    # The same person as a patient of the sister brand sees nothing of brand A there.
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    sister = client_for(world.a.patient, world.a.sister).get("/care/").content.decode()
    assert "Dr. Listed" not in sister
    assert "not in care with a specialist here yet" in sister


def test_my_specialists_shows_the_next_session_and_earlier_care(world, client_for, rel, booked):
    page = client_for(world.a.patient, world.a.brand).get("/care/").content.decode()
    at = booked.start.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert f"{at:%H:%M}" in page and "Next session" in page
    actions.do_end(rel, reason="switched", actor=world.a.patient)
    page = client_for(world.a.patient, world.a.brand).get("/care/").content.decode()
    assert "Earlier" in page and "The patient switched specialist" in page
    assert "Book again" not in page


def test_the_sessions_page_links_to_my_specialists(world, client_for):
    page = client_for(world.a.patient, world.a.brand).get("/sessions/").content.decode()
    assert 'href="/care/"' in page


def test_only_patients_use_my_specialists(world, client_for, rel):
    assert client_for(world.a.specialist, world.a.brand).get("/care/").status_code == 403
    assert client_for(world.b.patient, world.a.brand).get("/care/").status_code == 403


# --- the organization's view --------------------------------------------------------------


def _employer_staff(world):  # type: ignore[no-untyped-def]
    employer = factories.make_org(world.a.network, "employer", [world.a.brand], slug="emp-a")
    hr = factories.make_user("hr@example.test", name="Hr Person")
    factories.grant(hr, "org_staff", network=world.a.network, organization=employer)
    return hr


@pytest.mark.parametrize("role", ["operator", "org_admin", "org_staff"])
def test_operator_and_clinic_see_the_relationships_with_names(world, client_for, rel, role):
    response = client_for(world.a.people[role], world.a.brand).get("/org/relationships/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Patient a" in page and "Dr. Listed" in page and "Directory" in page


def test_an_employer_sees_counts_only(world, client_for, rel, listed):
    other = factories.make_user("p2@example.test", name="Second Patient")
    factories.grant(other, "patient", network=world.a.network, brand=world.a.brand)
    actions.do_allocate(brand=world.a.brand, patient=other, profile=listed, source="program")
    response = client_for(_employer_staff(world), world.a.brand).get("/org/relationships/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Patient a" not in page and "Second Patient" not in page
    assert "Dr. Listed" not in page and "patient.a@" not in page
    assert timezone.now().strftime("%B %Y") in page
    assert '<td class="num">2</td>' in page  # total started this month


def test_the_relationship_pages_keep_the_brand_filter(world, client_for, rel, listed, monkeypatch):
    from caredoor.portals.organization import relationships

    monkeypatch.setattr(relationships, "PER_PAGE", 1)
    other = factories.make_user("p2@example.test", name="Second Patient")
    factories.grant(other, "patient", network=world.a.network, brand=world.a.brand)
    actions.do_allocate(brand=world.a.brand, patient=other, profile=listed, source="program")
    client = client_for(world.a.operator, world.a.brand)
    page = client.get(f"/org/relationships/?brand={world.a.brand.pk}").content.decode()
    assert "Page 1 of 2" in page
    assert f"?brand={world.a.brand.pk}&amp;page=2" in page
    second = client.get(f"/org/relationships/?brand={world.a.brand.pk}&page=2").content.decode()
    assert "Page 2 of 2" in second
    assert ("Second Patient" in page) != ("Second Patient" in second)


def test_the_clinic_sees_only_the_brands_it_serves(world, client_for, listed, rel):
    sister_patient = factories.make_user("sp@example.test", name="Sister Patient")
    factories.grant(sister_patient, "patient", network=world.a.network, brand=world.a.sister)
    actions.do_allocate(
        brand=world.a.sister, patient=sister_patient, profile=listed, source="assisted"
    )
    clinic = client_for(world.a.org_staff, world.a.brand).get("/org/relationships/")
    assert "Sister Patient" not in clinic.content.decode()
    operator = client_for(world.a.operator, world.a.brand).get("/org/relationships/")
    assert "Sister Patient" in operator.content.decode()
    filtered = client_for(world.a.operator, world.a.brand).get(
        "/org/relationships/", {"brand": world.a.brand.pk}
    )
    assert "Sister Patient" not in filtered.content.decode()


def test_finance_and_other_networks_get_nothing(world, client_for, rel):
    assert client_for(world.a.finance, world.a.brand).get("/org/relationships/").status_code == 404
    response = client_for(world.b.operator, world.b.brand).get("/org/relationships/")
    assert response.status_code == 200
    assert "Patient a" not in response.content.decode()
    assert (
        client_for(world.b.org_staff, world.a.brand).get("/org/relationships/").status_code == 403
    )


def test_a_matching_brand_offers_to_switch_specialist(world, client_for, rel):
    page = client_for(world.a.patient, world.a.brand).get("/care/").content.decode()
    assert "Switch specialist" not in page  # a directory brand has no matching to go back to
    brand = world.a.brand
    brand.journey_mode = "matching"
    brand.save(update_fields=["journey_mode"])
    cache.clear()
    page = client_for(world.a.patient, brand).get("/care/").content.decode()
    assert "Switch specialist" in page
    # The link chooses this relationship on the switch page.
    assert f"/match/switch/?relationship={rel.pk}" in page
