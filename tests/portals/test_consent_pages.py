"""Consent pages: guided signing (progress, pause, resume, next), withdrawal, the session
gate, the organization's documents and status pages, the specialist's requirements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caredoor.core.booking.actions import do_book
from caredoor.core.booking.join import is_joinable
from caredoor.core.booking.models import Booking
from caredoor.core.consents import actions, queries
from caredoor.core.consents.models import (
    ConsentDocument,
    ConsentSignature,
    ConsentVersion,
    SpecialistConsentRequirement,
)
from caredoor.core.specialists.choices import ListingStatus
from caredoor.core.specialists.models import Listing
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def consents_module(world):
    for brand in (world.a.brand, world.a.sister, world.b.brand):
        brand.modules = [*brand.modules, "consents"]
        brand.save(update_fields=["modules"])


def make_doc(owner, *, kind="terms", stage="signup", title=None):  # type: ignore[no-untyped-def]
    key = "brand" if hasattr(owner, "domains") else "organization"
    return actions.do_create_document(
        kind=kind,
        title=title or f"{kind.title()} doc",
        stage=stage,
        body=f"The {kind} text.",
        actor=None,
        **{key: owner},
    )


def three_docs(brand):  # type: ignore[no-untyped-def]
    return [
        make_doc(brand, kind="terms", stage="signup", title="A terms"),
        make_doc(brand, kind="privacy", stage="signup", title="B privacy"),
        make_doc(brand, kind="telehealth", stage="booking", title="C telehealth"),
    ]


# --- patient: list, guided signing, withdrawal -------------------------------------------


def test_list_shows_progress_and_states(world, client_for):
    t, _p, _tele = three_docs(world.a.brand)
    actions.do_sign(world.a.patient, queries.current_version(t), brand=world.a.brand)
    page = client_for(world.a.patient, world.a.brand).get("/consents/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "1 of 3 signed" in body
    assert "A terms" in body and "C telehealth" in body
    assert "Continue signing" in body


def test_guided_signing_walks_through_with_progress_pause_and_resume(world, client_for):
    t, p, tele = three_docs(world.a.brand)
    client = client_for(world.a.patient, world.a.brand)
    url = "/consents/sign/?stage=booking&next=/sessions/"
    page = client.get(url)
    body = page.content.decode()
    assert "Document 1 of 3" in body and "0 of 3 signed" in body
    assert "The terms text." in body
    v1 = queries.current_version(t)
    # Without the box ticked: refused, nothing signed.
    refused = client.post(
        "/consents/sign/", {"version": v1.pk, "stage": "booking", "action": "sign"}
    )
    assert refused.status_code == 400
    assert not ConsentSignature.objects.exists()
    signed = client.post(
        "/consents/sign/",
        {
            "version": v1.pk,
            "stage": "booking",
            "next": "/sessions/",
            "agree": "on",
            "action": "sign",
        },
        REMOTE_ADDR="203.0.113.5",
    )
    assert signed.status_code == 302
    assert "next=%2Fsessions%2F" in signed["Location"]
    sig = ConsentSignature.objects.get()
    assert sig.ip == "203.0.113.5" and sig.version == v1
    page = client.get(signed["Location"])
    assert "Document 2 of 3" in page.content.decode()
    # Pause: leaves; the next visit resumes at the first unsigned one.
    paused = client.post(
        "/consents/sign/",
        {"version": queries.current_version(p).pk, "stage": "booking", "action": "pause"},
    )
    assert paused.status_code == 302 and paused["Location"] == "/consents/"
    assert ConsentSignature.objects.count() == 1
    page = client.get(url)
    assert "Document 2 of 3" in page.content.decode()
    assert "B privacy" in page.content.decode()
    for doc in (p, tele):
        last = client.post(
            "/consents/sign/",
            {
                "version": queries.current_version(doc).pk,
                "stage": "booking",
                "next": "/sessions/",
                "agree": "on",
                "action": "sign",
            },
        )
    assert last["Location"] == "/sessions/"
    assert queries.outstanding(world.a.patient, world.a.brand, "booking") == []
    # Nothing left: the sign page sends the patient on at once.
    assert client.get(url)["Location"] == "/sessions/"


def test_an_unsafe_next_is_ignored(world, client_for):
    (t,) = [make_doc(world.a.brand)]
    client = client_for(world.a.patient, world.a.brand)
    done = client.post(
        "/consents/sign/",
        {
            "version": queries.current_version(t).pk,
            "next": "https://evil.example/",
            "agree": "on",
            "action": "sign",
        },
    )
    assert done["Location"] == "/consents/"


def test_signing_a_stale_version_signs_nothing(world, client_for):
    t = make_doc(world.a.brand)
    v1 = queries.current_version(t)
    actions.do_publish_version(t, body="v2 text", summary="New clause", actor=None)
    client = client_for(world.a.patient, world.a.brand)
    response = client.post("/consents/sign/", {"version": v1.pk, "agree": "on", "action": "sign"})
    assert response.status_code == 302
    assert not ConsentSignature.objects.exists()
    page = client.get("/consents/sign/")
    assert "v2 text" in page.content.decode() and "New clause" in page.content.decode()


def test_withdrawal_explains_the_effect_then_withdraws(world, client_for):
    tele = make_doc(world.a.brand, kind="telehealth", stage="booking", title="Telehealth")
    sig = actions.do_sign(world.a.patient, queries.current_version(tele), brand=world.a.brand)
    client = client_for(world.a.patient, world.a.brand)
    page = client.get(f"/consents/{sig.pk}/withdraw/")
    assert "video sessions cannot take place until you sign again" in page.content.decode()
    assert "upcoming bookings stay booked" in page.content.decode().lower()
    sig.refresh_from_db()
    assert sig.withdrawn_at is None
    done = client.post(f"/consents/{sig.pk}/withdraw/", REMOTE_ADDR="198.51.100.1")
    assert done.status_code == 302
    sig.refresh_from_db()
    assert sig.withdrawn_at is not None and sig.withdrawal_ip == "198.51.100.1"
    assert "Withdrawn" in client.get("/consents/").content.decode()


def test_another_patients_signature_cannot_be_withdrawn(world, client_for):
    doc = make_doc(world.a.brand)
    sig = actions.do_sign(world.a.patient, queries.current_version(doc), brand=world.a.brand)
    other = factories.make_user("other.patient@example.test")
    factories.grant(other, "patient", network=world.a.network, brand=world.a.brand)
    client = client_for(other, world.a.brand)
    assert client.get(f"/consents/{sig.pk}/withdraw/").status_code == 404
    assert client.post(f"/consents/{sig.pk}/withdraw/").status_code == 404
    sig.refresh_from_db()
    assert sig.withdrawn_at is None


def test_the_journey_offers_one_consent_step(world, rf):
    from caredoor.portals.patient.consents import pending_steps

    three_docs(world.a.brand)
    request = rf.get("/")
    request.user = world.a.patient
    [step] = pending_steps(request, world.a.brand, "booking")
    assert step.kind == "consent" and step.url.startswith("/consents/sign/")
    assert pending_steps(request, world.a.brand, "signup")[0].title == "Sign 2 documents"
    request.user = world.b.patient
    assert pending_steps(request, world.b.brand, "session") == []


def test_booking_confirmation_sends_the_patient_to_sign_first(world, client_for):
    from urllib.parse import quote

    from caredoor.portals.patient.booking_display import slot_value

    profile, _ = listed_with_hours(world.a)
    st = make_type(profile)
    doc = make_doc(world.a.brand, kind="telehealth", stage="booking")
    start = quote(slot_value(local(10)))
    url = f"/specialists/{profile.pk}/book/confirm/?type={st.pk}&start={start}"
    client = client_for(world.a.patient, world.a.brand)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/consents/sign/?stage=booking")
    actions.do_sign(world.a.patient, queries.current_version(doc), brand=world.a.brand)
    assert client.get(url).status_code == 200


# --- the session gate --------------------------------------------------------------------


def _booked(world, *, start=None):  # type: ignore[no-untyped-def]
    profile, _ = listed_with_hours(world.a)
    st = make_type(profile)
    booking = do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=st, start=start or local(10)
    )
    return profile, booking


def test_join_page_is_gated_by_the_specialists_required_consent(world, client_for):
    profile, booking = _booked(world)
    rec = make_doc(world.a.brand, kind="recording", stage="", title="Recording consent")
    actions.do_set_requirements(profile, world.a.brand, [rec], actor=world.a.specialist)
    client = client_for(world.a.patient, world.a.brand)
    join = f"/sessions/{booking.pk}/join/"
    response = client.get(join)
    assert response.status_code == 302
    assert response["Location"].startswith("/consents/sign/")
    assert "next=%2Fsessions%2F" in response["Location"]
    page = client.get(response["Location"])
    assert "Recording consent" in page.content.decode()
    v = queries.current_version(rec)
    done = client.post(
        "/consents/sign/",
        {
            "version": v.pk,
            "stage": "session",
            "profile": profile.pk,
            "next": join,
            "agree": "on",
            "action": "sign",
        },
    )
    assert done["Location"] == join
    ready = client.get(join)
    assert ready.status_code == 200
    assert "You are ready" in ready.content.decode()
    assert "10 minutes before the start" in ready.content.decode()
    # Withdrawing blocks it again.
    sig = ConsentSignature.objects.get(version=v)
    client.post(f"/consents/{sig.pk}/withdraw/")
    assert client.get(join).status_code == 302


def test_join_page_only_for_the_bookings_patient_and_confirmed_bookings(world, client_for):
    _profile, booking = _booked(world)
    other = factories.make_user("p2@example.test")
    factories.grant(other, "patient", network=world.a.network, brand=world.a.brand)
    assert client_for(other, world.a.brand).get(f"/sessions/{booking.pk}/join/").status_code == 404
    assert (
        client_for(world.a.specialist, world.a.brand)
        .get(f"/sessions/{booking.pk}/join/")
        .status_code
        == 403
    )
    Booking.objects.filter(pk=booking.pk).update(status="cancelled")
    assert (
        client_for(world.a.patient, world.a.brand).get(f"/sessions/{booking.pk}/join/").status_code
        == 404
    )


def test_join_page_says_when_the_window_opens(world, client_for):
    _profile, booking = _booked(world)
    body = client_for(world.a.patient, world.a.brand).get(f"/sessions/{booking.pk}/join/")
    assert "Come back to this page then" in body.content.decode()
    now = timezone.now()
    Booking.objects.filter(pk=booking.pk).update(
        start=now - timedelta(minutes=5),
        end=now + timedelta(minutes=45),
        blocked_start=now - timedelta(minutes=5),
        blocked_end=now + timedelta(minutes=55),
    )
    body = client_for(world.a.patient, world.a.brand).get(f"/sessions/{booking.pk}/join/")
    assert "The session is open" in body.content.decode()


def test_join_page_uses_the_booking_join_window(world, client_for):
    """The join page agrees with the home page (core.booking.join): open until the end plus
    the grace period, ended after it."""
    _profile, booking = _booked(world)
    client = client_for(world.a.patient, world.a.brand)
    now = timezone.now()
    grace = timedelta(minutes=world.a.brand.video_join_grace_minutes)
    for ended_ago, expected in (
        (grace - timedelta(minutes=1), "The session is open"),
        (grace + timedelta(minutes=1), "This session has ended"),
    ):
        end = now - ended_ago
        Booking.objects.filter(pk=booking.pk).update(
            start=end - timedelta(minutes=50),
            end=end,
            blocked_start=end - timedelta(minutes=50),
            blocked_end=end + timedelta(minutes=10),
        )
        booking.refresh_from_db()
        assert is_joinable(booking, timezone.now()) == (expected == "The session is open")
        body = client.get(f"/sessions/{booking.pk}/join/").content.decode()
        assert expected in body


# --- organization portal ---------------------------------------------------------------------


def test_operator_creates_a_document_and_publishes_a_version(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    assert client.get("/org/consents/new/").status_code == 200
    response = client.post(
        "/org/consents/new/",
        {
            "owner": f"brand:{world.a.brand.pk}",
            "kind": "telehealth",
            "title": "Telehealth consent",
            "stage": "booking",
            "body": "You agree to video sessions.",
        },
    )
    doc = ConsentDocument.objects.get()
    assert response["Location"] == f"/org/consents/{doc.pk}/"
    assert doc.brand == world.a.brand and doc.stage == "booking"
    v1 = queries.current_version(doc)
    actions.do_sign(world.a.patient, v1, brand=world.a.brand)
    listing = client.get("/org/consents/").content.decode()
    assert "Telehealth consent" in listing
    # A version needs a summary; bad input publishes nothing.
    bad = client.post(f"/org/consents/{doc.pk}/", {"body": "New text", "summary": ""})
    assert bad.status_code == 400
    assert doc.versions.count() == 1
    client.post(f"/org/consents/{doc.pk}/", {"body": "New text", "summary": "Clearer"})
    assert queries.current_version(doc).number == 2
    assert [v.document for v in queries.outstanding(world.a.patient, world.a.brand, "booking")] == [
        doc
    ]


def test_org_admin_manages_only_their_organizations_documents(world, client_for):
    brand_doc = make_doc(world.a.brand, kind="privacy", title="Brand privacy")
    client = client_for(world.a.org_admin, world.a.brand)
    form = client.get("/org/consents/new/").content.decode()
    assert f"org:{world.a.clinic.pk}" in form and f"brand:{world.a.brand.pk}" not in form
    client.post(
        "/org/consents/new/",
        {
            "owner": f"org:{world.a.clinic.pk}",
            "kind": "treatment",
            "title": "Clinic treatment agreement",
            "stage": "session",
            "body": "Treatment terms.",
        },
    )
    own = ConsentDocument.objects.get(title="Clinic treatment agreement")
    assert own.organization == world.a.clinic
    # An owner the admin may not choose is refused by the form.
    refused = client.post(
        "/org/consents/new/",
        {
            "owner": f"brand:{world.a.brand.pk}",
            "kind": "terms",
            "title": "Sneaky",
            "stage": "signup",
            "body": "x",
        },
    )
    assert refused.status_code == 400
    assert not ConsentDocument.objects.filter(title="Sneaky").exists()
    # The brand's own document is visible, read-only: publishing is refused, nothing changes.
    page = client.get(f"/org/consents/{brand_doc.pk}/").content.decode()
    assert "Brand privacy" in page and "Publish the new version" not in page
    assert (
        client.post(f"/org/consents/{brand_doc.pk}/", {"body": "x", "summary": "y"}).status_code
        == 404
    )
    assert client.post(f"/org/consents/{brand_doc.pk}/active/", {"active": "0"}).status_code == 404
    brand_doc.refresh_from_db()
    assert brand_doc.versions.count() == 1 and brand_doc.is_active


@pytest.mark.parametrize("role", ["org_staff", "finance", "patient", "specialist", "affiliate"])
def test_roles_without_the_capability_cannot_publish(world, client_for, role):
    doc = make_doc(world.a.brand)
    client = client_for(world.a.people[role], world.a.brand)
    client.post(f"/org/consents/{doc.pk}/", {"body": "x", "summary": "y"})
    client.post(
        "/org/consents/new/",
        {
            "owner": f"brand:{world.a.brand.pk}",
            "kind": "terms",
            "title": "T",
            "stage": "signup",
            "body": "x",
        },
    )
    assert doc.versions.count() == 1
    assert ConsentDocument.objects.count() == 1


def test_org_staff_sees_documents_and_status_but_cannot_create(world, client_for):
    make_doc(world.a.brand, title="Visible terms")
    client = client_for(world.a.org_staff, world.a.brand)
    assert "Visible terms" in client.get("/org/consents/").content.decode()
    assert client.get("/org/consents/new/").status_code == 404
    assert client.get("/org/consents/status/").status_code == 200


@pytest.mark.parametrize("who", ["operator", "org_admin", "org_staff"])
def test_another_networks_staff_get_404(world, client_for, who):
    doc = make_doc(world.a.brand)
    client = client_for(world.b.people[who], world.b.brand)
    assert client.get(f"/org/consents/{doc.pk}/").status_code == 404
    assert client.post(f"/org/consents/{doc.pk}/", {"body": "x", "summary": "y"}).status_code == 404
    assert client.get(f"/org/consents/status/?brand={world.a.brand.pk}").status_code == 404
    assert doc.versions.count() == 1


def test_status_shows_names_to_the_clinic_and_counts_to_an_employer(world, client_for):
    from caredoor.core.organizations.models import Organization

    t = make_doc(world.a.brand, title="Terms A")
    actions.do_sign(world.a.patient, queries.current_version(t), brand=world.a.brand)
    clinic = client_for(world.a.org_admin, world.a.brand).get(
        f"/org/consents/status/?brand={world.a.brand.pk}"
    )
    body = clinic.content.decode()
    assert world.a.patient.email in body and "Terms A" in body
    employer = Organization.objects.create(
        network=world.a.network, kind="employer", name="Employer A", slug="employer-a"
    )
    employer.brands.add(world.a.brand)
    boss = factories.make_user("boss@example.test")
    factories.grant(boss, "org_admin", network=world.a.network, organization=employer)
    page = client_for(boss, world.a.brand).get(f"/org/consents/status/?brand={world.a.brand.pk}")
    body = page.content.decode()
    assert page.status_code == 200
    assert "Terms A" in body
    assert world.a.patient.email not in body and world.a.patient.name not in body
    # The clinic is not bound to the sister brand: 404.
    assert (
        client_for(world.a.org_admin, world.a.brand)
        .get(f"/org/consents/status/?brand={world.a.sister.pk}")
        .status_code
        == 404
    )


# --- specialist portal ---------------------------------------------------------------------


def test_specialist_requires_a_document_and_the_session_is_gated(world, client_for):
    profile, booking = _booked(world)
    rec = make_doc(world.a.brand, kind="recording", stage="", title="Recording consent")
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get("/specialist/consents/")
    assert "Recording consent" in page.content.decode()
    client.post("/specialist/consents/", {"brand": world.a.brand.pk, "documents": [rec.pk]})
    assert SpecialistConsentRequirement.objects.filter(profile=profile, document=rec).exists()
    from caredoor.portals.specialist.consents import session_status

    status = session_status(booking)
    assert not status.can_start and status.blockers == [queries.current_version(rec)]
    # Another brand's document cannot be required through this page.
    b_doc = make_doc(world.b.brand)
    client.post("/specialist/consents/", {"brand": world.a.brand.pk, "documents": [b_doc.pk]})
    assert not SpecialistConsentRequirement.objects.filter(document=b_doc).exists()
    # Unticking removes the requirement.
    client.post("/specialist/consents/", {"brand": world.a.brand.pk})
    assert session_status(booking).can_start
    assert ConsentVersion.objects.count() == 2


def test_specialist_sets_requirements_only_where_listed(world, client_for):
    profile, _booking = _booked(world)
    make_doc(world.a.brand, kind="recording", stage="", title="Main recording")
    sister_doc = make_doc(world.a.sister, kind="recording", stage="", title="Sister recording")
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get("/specialist/consents/").content.decode()
    assert "Main recording" in page
    assert "Sister recording" not in page  # not listed on the sister brand
    client.post("/specialist/consents/", {"brand": world.a.sister.pk, "documents": [sister_doc.pk]})
    assert not SpecialistConsentRequirement.objects.filter(profile=profile).exists()
    # A withdrawn listing no longer counts.
    Listing.objects.filter(profile=profile, brand=world.a.brand).update(
        status=ListingStatus.REMOVED
    )
    assert "Main recording" not in client.get("/specialist/consents/").content.decode()


def test_the_join_window_is_the_brands(world, client_for):
    """Brands set how early the room opens and how long it stays open after the end."""
    from caredoor.core.brands.models import Brand

    Brand.objects.filter(pk=world.a.brand.pk).update(
        video_join_lead_minutes=30, video_join_grace_minutes=0
    )
    _profile, booking = _booked(world)
    now = timezone.now()
    client = client_for(world.a.patient, world.a.brand)
    for start_in, end_ago, expected in (
        (timedelta(minutes=25), None, "The session is open: you can join from 30 minutes"),
        (timedelta(minutes=35), None, "You can join from 30 minutes before the start"),
        (None, timedelta(minutes=1), "This session has ended"),
    ):
        start = now + start_in if start_in else now - end_ago - timedelta(minutes=50)
        Booking.objects.filter(pk=booking.pk).update(
            start=start,
            end=start + timedelta(minutes=50),
            blocked_start=start,
            blocked_end=start + timedelta(minutes=50),
        )
        body = client.get(f"/sessions/{booking.pk}/join/").content.decode()
        assert expected in body, expected
