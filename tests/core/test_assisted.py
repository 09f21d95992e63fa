"""Assisted scheduling in the core: a patient's request (validated, encrypted, one waiting
at a time), the team's queue per organization, allocation (care relationship "assisted",
notifications without health text), the status derived from the pair's bookings, closing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from caredoor.core.booking import proposals
from caredoor.core.care.models import CareRelationship
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.matching import actions, queries
from caredoor.core.matching.models import AssistanceRequest
from caredoor.core.notifications.models import Notification
from caredoor.core.scheduling.models import SessionType
from tests.booking_helpers import local
from tests.core.test_matching import add_specialist

NEEDS = "I cannot sleep since my divorce"


def ask(world, brand=None, **extra):  # type: ignore[no-untyped-def]
    values = {
        "user": world.a.patient,
        "brand": brand or world.a.brand,
        "needs": NEEDS,
        "weekdays": [0, 2],
        "day_parts": ["evening"],
        "note": "after work",
        "language": "en",
        **extra,
    }
    return actions.do_request_assistance(**values)


def membership(user, role):  # type: ignore[no-untyped-def]
    return user.memberships.get(role=role)


def test_request_is_validated_and_encrypted(world):
    for bad in ({"needs": "  "}, {"language": "xx"}, {"weekdays": [7]}, {"day_parts": ["noon"]}):
        with pytest.raises(ValidationError):
            ask(world, **bad)
    assert not AssistanceRequest.objects.exists()
    req = ask(world)
    assert NEEDS not in req.needs_encrypted and "after work" not in req.note_encrypted
    assert (req.status, req.weekdays, req.day_parts) == ("open", [0, 2], ["evening"])
    event = AuditEvent.objects.get(action="matching.assistance_requested")
    assert NEEDS not in str(event.data)
    with pytest.raises(ValidationError):  # one waiting request at a time
        ask(world)
    read = actions.read_assistance(req, reader=world.a.operator, role="operator")
    assert (read.needs, read.note) == (NEEDS, "after work")
    assert (
        AuditEvent.objects.filter(action="matching.assistance_read", actor=world.a.operator).count()
        == 1
    )


def test_queue_is_scoped_to_the_brands_an_organization_serves(world, covered):
    from tests import factories

    factories.grant(world.a.patient, "patient", network=world.a.network, brand=covered)
    on_brand, on_covered = ask(world), ask(world, brand=covered)
    seen = {
        role: set(queries.assistance_queue(membership(world.a.people[role], role)))
        for role in ("operator", "org_admin", "org_staff", "finance")
    }
    assert seen["operator"] == {on_brand, on_covered}  # every brand of the network
    assert seen["org_admin"] == seen["org_staff"] == {on_brand}  # the clinic serves a.brand only
    assert seen["finance"] == set()
    assert set(queries.assistance_queue(membership(world.b.operator, "operator"))) == set()
    from django.http import Http404

    with pytest.raises(Http404):
        queries.access_staff_assistance(membership(world.a.org_staff, "org_staff"), on_covered.pk)


def test_allocation_starts_care_and_notifies_without_health_text(
    world, django_capture_on_commit_callbacks
):
    dora = add_specialist(world.a, "Dora Deutsch", languages=("en",))
    unlisted = add_specialist(world.a, "Sven Sister", brands=[world.a.sister])
    req = ask(world)
    with pytest.raises(ValidationError):
        actions.do_allocate_assistance(
            req, profile_id=unlisted.pk, actor=world.a.org_staff, role="org_staff"
        )
    req.refresh_from_db()
    assert req.status == "open" and not CareRelationship.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_allocate_assistance(
            req, profile_id=dora.pk, actor=world.a.org_staff, role="org_staff"
        )
    req.refresh_from_db()
    assert (req.status, req.profile_id, req.allocated_by_id) == (
        "allocated",
        dora.pk,
        world.a.org_staff.pk,
    )
    rel = CareRelationship.objects.get(patient=world.a.patient)
    assert (rel.source, rel.profile_id, req.relationship_id) == ("assisted", dora.pk, rel.pk)
    told = Notification.objects.get(user=dora.user)
    assert told.portal == "specialist"
    assert (
        told.url == f"/specialist/bookings/propose/?patient={world.a.brand.pk}:{world.a.patient.pk}"
    )
    assert Notification.objects.filter(user=world.a.patient, portal="patient").exists()
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert "divorce" not in message.body and "after work" not in message.body
    # The specialist may now propose to the patient.
    from caredoor.core.booking.access import patients_of

    assert world.a.patient in patients_of(dora, world.a.brand)
    with pytest.raises(ValidationError):  # allocated once
        actions.do_allocate_assistance(
            req, profile_id=dora.pk, actor=world.a.org_staff, role="org_staff"
        )


def test_status_follows_the_proposal_and_the_booking(world):
    dora = add_specialist(world.a, "Dora Deutsch")
    req = ask(world)
    assert queries.assistance_status(req) == "open"
    actions.do_allocate_assistance(req, profile_id=dora.pk, actor=world.a.operator, role="operator")
    req.refresh_from_db()
    assert queries.assistance_status(req) == "allocated"
    proposal = proposals.do_propose(
        actor=dora.user,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=SessionType.objects.get(profile=dora),
        start=local(11, days=4),
    )
    assert queries.assistance_status(req) == "proposed"
    proposals.do_accept_proposal(proposal, actor=world.a.patient)
    proposal.refresh_from_db()
    assert proposal.status == "confirmed"
    assert queries.assistance_status(req) == "booked"
    assert queries.statuses([req]) == {req.pk: "booked"}


def test_closing(world):
    dora = add_specialist(world.a, "Dora Deutsch")
    req = ask(world)
    actions.do_close_assistance(req, actor=world.a.patient, role="patient")  # withdrawn
    req.refresh_from_db()
    assert req.status == "closed" and req.closed_at is not None
    again = ask(world)  # a new one may be sent now
    actions.do_allocate_assistance(
        again, profile_id=dora.pk, actor=world.a.operator, role="operator"
    )
    with pytest.raises(ValidationError):  # the patient cannot close an allocated one
        actions.do_close_assistance(again, actor=world.a.patient, role="patient")
    actions.do_close_assistance(again, actor=world.a.operator, role="operator")
    again.refresh_from_db()
    assert again.status == "closed"
    assert CareRelationship.objects.get(patient=world.a.patient).ended_at is None  # care stays


@pytest.mark.django_db
def test_demo_seed_has_matching_settings_and_assistance_requests(tmp_path, settings):
    from django.core.management import call_command

    from caredoor.core.matching.models import MatchingSettings

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 (idempotent)
    assert MatchingSettings.objects.get(brand__slug="steadypath").shortlist_size == 3
    requests = {r.user.email: r for r in AssistanceRequest.objects.select_related("user", "brand")}
    assert set(requests) == {"chloe.employee@caredoor.test", "noah.employee@caredoor.test"}
    assert requests["chloe.employee@caredoor.test"].status == "open"
    allocated = requests["noah.employee@caredoor.test"]
    assert allocated.status == "allocated" and allocated.brand.slug == "northwind"
    assert CareRelationship.objects.get(patient=allocated.user).source == "assisted"


def test_a_second_open_request_is_refused_by_the_database_too(world, monkeypatch):
    """Two concurrent submits both pass the "nothing open yet" check; the partial unique
    constraint lets only one row in, and the loser gets the same clear message."""
    ask(world)
    # Simulate the race: the check sees nothing open (as the second racer would).
    real_filter = AssistanceRequest.objects.filter

    class Nothing:
        def exists(self) -> bool:
            return False

    monkeypatch.setattr(
        AssistanceRequest.objects,
        "filter",
        lambda *a, **kw: Nothing() if kw.get("status") == "open" else real_filter(*a, **kw),
    )
    with pytest.raises(ValidationError) as refused:
        ask(world)
    assert refused.value.code == "open_exists"
    monkeypatch.undo()
    assert AssistanceRequest.objects.filter(user=world.a.patient, status="open").count() == 1
