"""Care relationships: the list's facts in one query, the organization's view (names for
operator and clinic, counts for everyone, nothing named for an employer), and private
notes (encrypted at rest, every read audited, bad input writes nothing)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caredoor.core.booking import care_facts, requests
from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking
from caredoor.core.care import actions, queries
from caredoor.core.care.models import CareNote, CareRelationship
from caredoor.core.compliance.models import AuditEvent
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type


@pytest.fixture
def listed(world):  # type: ignore[no-untyped-def]
    return listed_with_hours(world.a, [world.a.brand, world.a.sister])[0]


@pytest.fixture
def session_type(listed):  # type: ignore[no-untyped-def]
    return make_type(listed)


def held(booking: Booking, days_ago: int = 3) -> Booking:
    """Move a booking into the past and mark it completed (actions refuse the past)."""
    start = timezone.now() - timedelta(days=days_ago)
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=start + timedelta(minutes=50),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=60),
        status="completed",
    )
    return Booking.objects.get(pk=booking.pk)


def test_first_booking_starts_the_relationship_with_the_brands_source(world, session_type):
    do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )
    rel = CareRelationship.objects.get()
    assert (rel.brand, rel.patient, rel.source) == (world.a.brand, world.a.patient, "directory")


def test_relationship_rows_carry_sessions_requests_and_zone(world, listed, session_type):
    a = world.a
    first = held(
        do_book(patient=a.patient, brand=a.brand, session_type=session_type, start=local(10))
    )
    second = held(
        do_book(patient=a.patient, brand=a.brand, session_type=session_type, start=local(12)),
        days_ago=1,
    )
    upcoming = do_book(
        patient=a.patient, brand=a.brand, session_type=session_type, start=local(11, days=9)
    )
    later = do_book(
        patient=a.patient, brand=a.brand, session_type=session_type, start=local(11, days=12)
    )
    requests.do_request_availability(
        patient=a.patient,
        brand=a.brand,
        session_type=session_type,
        preferred=[(local(9, days=20), local(12, days=20))],
    )
    # A second patient on the sister brand: a relationship of its own, no sessions held.
    other = factories.make_user("other@example.test", name="Other Person")
    factories.grant(other, "patient", network=a.network, brand=a.sister)
    actions.do_allocate(brand=a.sister, patient=other, profile=listed, source="referral")

    with CaptureQueriesContext(connection) as queries_run:
        rows = list(care_facts.relationship_rows(listed).order_by("patient__name"))
    assert len(queries_run) == 1  # every fact comes in the same query

    by_patient = {r.patient_id: r for r in rows}
    mine = by_patient[a.patient.pk]
    assert mine.completed == 2
    assert mine.sessions == 4
    assert mine.next_start == upcoming.start
    assert mine.last_start == second.start != first.start
    assert mine.open_requests == 1
    assert mine.booking_zone == later.patient_time_zone
    theirs = by_patient[other.pk]
    assert (theirs.source, theirs.completed, theirs.next_start, theirs.open_requests) == (
        "referral",
        0,
        None,
        0,
    )
    # Brand filter and search by name.
    assert [r.patient_id for r in care_facts.relationship_rows(listed, a.sister)] == [other.pk]
    assert [r.patient_id for r in care_facts.relationship_rows(listed, search="other pers")] == [
        other.pk
    ]
    assert {b.pk for b in queries.relationship_brands(listed)} == {a.brand.pk, a.sister.pk}


def test_a_specialist_reaches_only_their_own_relationships(world, listed, session_type):
    from caredoor.core.specialists.actions import do_register_specialist

    do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )
    rel = CareRelationship.objects.get()
    assert queries.access_specialist_relationship(listed, rel.pk) == rel
    someone = factories.make_user("second.specialist@example.test")
    factories.grant(someone, "specialist", network=world.a.network)
    theirs = do_register_specialist(someone, world.a.brand)
    from django.http import Http404

    with pytest.raises(Http404):
        queries.access_specialist_relationship(theirs, rel.pk)
    assert not care_facts.relationship_rows(theirs).exists()


# --- the organization's view --------------------------------------------------------------


def _membership(user, role):  # type: ignore[no-untyped-def]
    return user.memberships.get(role=role)


def test_organizations_see_names_or_counts_by_kind(world, listed):
    a = world.a
    actions.do_allocate(brand=a.brand, patient=a.patient, profile=listed, source="matching")
    sister_patient = factories.make_user("sister.patient@example.test")
    factories.grant(sister_patient, "patient", network=a.network, brand=a.sister)
    ended = actions.do_allocate(
        brand=a.sister, patient=sister_patient, profile=listed, source="assisted"
    )
    actions.do_end(ended, reason="switched", actor=None)

    operator = _membership(a.operator, "operator")
    clinic_staff = _membership(a.org_staff, "org_staff")
    employer = factories.make_org(a.network, "employer", [a.brand], slug="employer-a")
    hr = factories.make_user("hr@example.test")
    hr_membership = factories.grant(hr, "org_staff", network=a.network, organization=employer)

    # The operator: every brand of the network, with names.
    assert queries.sees_names(operator)
    assert queries.organization_relationships(operator).count() == 2
    # The clinic: only the brand it serves.
    assert queries.sees_names(clinic_staff)
    assert [r.brand_id for r in queries.organization_relationships(clinic_staff)] == [a.brand.pk]
    # The employer: nothing with names, only counts.
    assert not queries.sees_names(hr_membership)
    assert not queries.organization_relationships(hr_membership).exists()
    counts = queries.allocation_counts(hr_membership)
    assert [(c.brand_id, c.source, c.started, c.active) for c in counts] == [
        (a.brand.pk, "matching", 1, 1)
    ]
    assert counts[0].month == timezone.now().date().replace(day=1)
    operator_counts = {
        (c.brand_id, c.source): (c.started, c.active) for c in queries.allocation_counts(operator)
    }
    assert operator_counts == {(a.brand.pk, "matching"): (1, 1), (a.sister.pk, "assisted"): (1, 0)}
    # Another network's operator sees none of it.
    assert not queries.organization_relationships(
        _membership(world.b.operator, "operator")
    ).exists()
    assert queries.allocation_counts(_membership(world.b.operator, "operator")) == []


# --- private notes ------------------------------------------------------------------------


@pytest.fixture
def rel(world, listed) -> CareRelationship:  # type: ignore[no-untyped-def]
    return actions.do_allocate(
        brand=world.a.brand, patient=world.a.patient, profile=listed, source="directory"
    )


def test_notes_are_encrypted_at_rest_and_every_read_is_audited(world, rel):
    secret = "Patient mentions panic attacks at work"
    note = actions.do_add_note(rel, author=world.a.specialist, body=secret)
    with connection.cursor() as cursor:
        cursor.execute("SELECT body_encrypted FROM care_carenote WHERE id = %s", [note.pk])
        stored = cursor.fetchone()[0]
    assert secret not in stored and "panic" not in stored
    before = AuditEvent.objects.filter(action="care.notes_read").count()
    assert [body for _n, body in actions.read_notes(rel, reader=world.a.specialist)] == [secret]
    event = AuditEvent.objects.filter(action="care.notes_read").latest("seq")
    assert AuditEvent.objects.filter(action="care.notes_read").count() == before + 1
    assert event.actor_id == world.a.specialist.pk
    assert event.data == {"notes": [note.pk]}
    assert "panic" not in str(AuditEvent.objects.filter(action__startswith="care.").values())


@pytest.mark.parametrize("body", ["", "   \n  ", "x" * (actions.NOTE_MAX + 1)])
def test_a_bad_note_is_refused_and_writes_nothing(world, rel, body):
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        actions.do_add_note(rel, author=world.a.specialist, body=body)
    assert "body" in refused.value.message_dict
    assert CareNote.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_editing_a_note_re_encrypts_it_and_an_empty_edit_changes_nothing(world, rel):
    note = actions.do_add_note(rel, author=world.a.specialist, body="first")
    actions.do_edit_note(note, author=world.a.specialist, body="second")
    note.refresh_from_db()
    assert "second" not in note.body_encrypted
    stored = note.body_encrypted
    with pytest.raises(ValidationError):
        actions.do_edit_note(note, author=world.a.specialist, body=" ")
    note.refresh_from_db()
    assert note.body_encrypted == stored
    assert [b for _n, b in actions.read_notes(rel, reader=world.a.specialist)] == ["second"]


def test_the_demo_care_note_is_written_once(world, listed):
    from caredoor.demo.seed_care import ANA, MARA, seed_care

    world.a.specialist.email = MARA
    world.a.specialist.save()
    world.a.patient.email = ANA
    world.a.patient.save()
    seed_care({"harbor": world.a.brand}, log=lambda *_: None)  # no relationship: nothing
    assert CareNote.objects.count() == 0
    rel = actions.do_allocate(
        brand=world.a.brand, patient=world.a.patient, profile=listed, source="directory"
    )
    seed_care({"harbor": world.a.brand}, log=lambda *_: None)
    seed_care({"harbor": world.a.brand}, log=lambda *_: None)
    assert rel.notes.count() == 1
