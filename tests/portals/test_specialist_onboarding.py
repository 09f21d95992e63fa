"""The specialist portal: registration, the onboarding wizard, uploads, submission, the
dashboard. Bad input gets a field error and writes nothing; files reach only their owner."""

from __future__ import annotations

import io
import os
from datetime import date

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from caredoor.core.accounts.models import Membership, User
from caredoor.core.compliance.models import AuditEvent, StoredFile
from caredoor.core.specialists import actions
from caredoor.core.specialists.choices import ProfileStatus, TermKind
from caredoor.core.specialists.models import CredentialDocument, SpecialistProfile
from tests import factories
from tests.specialist_helpers import (
    TINY_PDF,
    approved_and_listed,
    complete_profile,
    operator_membership,
    png_bytes,
    terms,
)

NOT_ACCEPTED = "This file is not an accepted type. Accepted: "
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>"
)


def profile_of(user, network) -> SpecialistProfile:  # type: ignore[no-untyped-def]
    return SpecialistProfile.objects.get(user=user, network=network)


def start(world) -> SpecialistProfile:  # type: ignore[no-untyped-def]
    return actions.do_register_specialist(world.a.specialist, world.a.brand)


def snapshot(profile: SpecialistProfile) -> dict:
    profile.refresh_from_db()
    return {
        "fields": {
            f: getattr(profile, f)
            for f in (
                "display_name",
                "professional_title",
                "time_zone",
                "phone",
                "practice_preferences",
                "languages",
                "education",
                "expertise",
                "bio",
                "photo_id",
                "intro_video_url",
                "status",
                "current_step",
            )
        },
        "specializations": sorted(profile.specializations.values_list("pk", flat=True)),
        "audit": AuditEvent.objects.count(),
        "files": StoredFile.objects.count(),
        "documents": CredentialDocument.objects.count(),
    }


def another_specialist(side, email: str = "second.specialist@example.test"):  # type: ignore[no-untyped-def]
    user = factories.make_user(email, name="Second Specialist")
    factories.grant(user, "specialist", network=side.network)
    return user


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def noisy_png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "PNG")
    return out.getvalue()


# --- registration ------------------------------------------------------------------------------


def test_a_visitor_registers_and_lands_on_the_wizard(world, client_for):
    client = client_for(None, world.a.brand)
    page = client.get("/specialist/register/")
    assert page.status_code == 200
    assert 'autocomplete="new-password"' in page.content.decode()
    response = client.post(
        "/specialist/register/",
        {
            "email": "New.Therapist@Example.test",
            "name": "Dr. New Therapist",
            "password1": factories.PASSWORD,
            "password2": factories.PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/specialist/onboarding/"
    user = User.objects.get(email="new.therapist@example.test")
    profile = profile_of(user, world.a.network)
    assert profile.status == ProfileStatus.DRAFT
    assert profile.registered_on == world.a.brand
    assert profile.display_name == "Dr. New Therapist"
    assert Membership.objects.active().filter(user=user, role="specialist").exists()
    wizard = client.get("/specialist/onboarding/")
    assert wizard.status_code == 200
    assert "Basics" in wizard.content.decode()


def test_registration_refuses_a_taken_email_and_weak_passwords(world, client_for):
    client = client_for(None, world.a.brand)
    users = User.objects.count()
    taken = client.post(
        "/specialist/register/",
        {
            "email": world.a.patient.email.upper(),
            "name": "Someone",
            "password1": factories.PASSWORD,
            "password2": factories.PASSWORD,
        },
    )
    assert taken.status_code == 200
    body = taken.content.decode()
    assert "already exists. Sign in first" in body
    weak = client.post(
        "/specialist/register/",
        {"email": "weak@example.test", "name": "Weak", "password1": "123", "password2": "123"},
    )
    assert "This password is too short" in weak.content.decode()
    differ = client.post(
        "/specialist/register/",
        {
            "email": "differ@example.test",
            "name": "Differ",
            "password1": factories.PASSWORD,
            "password2": factories.PASSWORD + "x",
        },
    )
    assert "The two passwords differ." in differ.content.decode()
    assert User.objects.count() == users
    assert not SpecialistProfile.objects.exists()


def test_a_signed_in_person_confirms_and_keeps_their_other_roles(world, client_for):
    client = client_for(world.a.patient, world.a.brand)
    page = client.get("/specialist/register/")
    assert page.status_code == 200
    assert "Join and start my profile" in page.content.decode()
    assert not SpecialistProfile.objects.filter(user=world.a.patient).exists()
    response = client.post("/specialist/register/")
    assert response["Location"] == "/specialist/onboarding/"
    assert profile_of(world.a.patient, world.a.network).status == ProfileStatus.DRAFT
    roles = set(
        Membership.objects.active().filter(user=world.a.patient).values_list("role", flat=True)
    )
    assert roles == {"patient", "specialist"}
    # Registering again changes nothing and leads to the wizard.
    assert client.post("/specialist/register/")["Location"] == "/specialist/onboarding/"
    assert SpecialistProfile.objects.filter(user=world.a.patient).count() == 1


def test_registration_is_closed_on_private_brands(world, client_for):
    private = factories.make_brand(world.a.network, "private-a.test", visibility="private")
    for user in (None, world.a.patient, world.outsider):
        client = client_for(user, private)
        assert client.get("/specialist/register/").status_code == 404
        assert client.post("/specialist/register/", {"email": "x@example.test"}).status_code == 404
    assert not SpecialistProfile.objects.exists()


def test_the_no_access_page_and_the_landing_page_offer_to_join(world, client_for):
    page = client_for(world.a.patient, world.a.brand).get("/specialist/")
    assert page.status_code == 403
    assert 'href="/specialist/register/"' in page.content.decode()
    landing = client_for(None, world.a.brand).get("/")
    assert 'href="/specialist/register/"' in landing.content.decode()
    private = factories.make_brand(world.a.network, "private-a.test", visibility="private")
    assert 'href="/specialist/register/"' not in client_for(None, private).get("/").content.decode()


def test_a_specialist_without_a_profile_starts_one(world, client_for):
    client = client_for(world.a.specialist, world.a.brand)
    dashboard = client.get("/specialist/")
    assert dashboard.status_code == 200
    assert "Start onboarding" in dashboard.content.decode()
    assert client.get("/specialist/onboarding/")["Location"] == "/specialist/"
    assert client.get("/specialist/start/").status_code == 405
    assert client.post("/specialist/start/")["Location"] == "/specialist/onboarding/"
    assert client.post("/specialist/start/")["Location"] == "/specialist/onboarding/"
    assert SpecialistProfile.objects.filter(user=world.a.specialist).count() == 1
    assert "Start onboarding" not in client.get("/specialist/").content.decode()


# --- steps ---------------------------------------------------------------------------------------


def test_the_overview_shows_progress_and_where_to_continue(world, client_for):
    profile = start(world)
    client = client_for(world.a.specialist, world.a.brand)
    body = client.get("/specialist/onboarding/").content.decode()
    assert "<progress" in body
    assert "Start with the first step" in body
    assert "0 of 5 steps complete" in body
    client.post(
        "/specialist/onboarding/basics/",
        {
            "display_name": "Dr. A",
            "time_zone": "Europe/Berlin",
            "phone": "+49 30 901820",
            "action": "pause",
        },
    )
    profile.refresh_from_db()
    assert profile.current_step == "basics"
    body = client.get("/specialist/onboarding/").content.decode()
    assert "1 of 5 steps complete" in body
    assert "Continue where you left off: Practice" in body
    step = client.get("/specialist/onboarding/practice/").content.decode()
    assert 'aria-current="step"' in step
    assert "Step 2 of 5" in step
    assert client.get("/specialist/onboarding/nope/").status_code == 404


def test_basics_saves_a_normalized_phone_and_moves_on(world, client_for):
    profile = start(world)
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get("/specialist/onboarding/basics/").content.decode()
    assert 'value="Specialist a"' in page  # filled in from the account at registration
    assert '<option value="Europe/Berlin" selected>' in page
    response = client.post(
        "/specialist/onboarding/basics/",
        {
            "display_name": "Dr. Ada Stone",
            "professional_title": "Psychotherapist",
            "time_zone": "Europe/Vienna",
            "phone": "+43 1 5344 0",
            "action": "continue",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/specialist/onboarding/practice/"
    profile.refresh_from_db()
    assert profile.display_name == "Dr. Ada Stone"
    assert profile.phone == "+43153440"
    assert profile.time_zone == "Europe/Vienna"


@pytest.mark.parametrize(
    ("step", "data", "message"),
    [
        (
            "basics",
            {"display_name": "Dr. A", "time_zone": "Europe/Berlin", "phone": "12345"},
            "Enter the number with its country code",
        ),
        (
            "basics",
            {"display_name": "Dr. A", "time_zone": "Mars/Olympus", "phone": "+4930901820"},
            "Select a valid choice.",
        ),
        (
            "profile",
            {"bio": "Hello", "intro_video_url": "https://evil.example/watch?v=1"},
            "Link a video on YouTube",
        ),
        (
            "profile",
            {"bio": "Hello", "intro_video_url": "http://youtube.com/watch?v=1"},
            "Link a video on YouTube",
        ),
        (
            "expertise",
            {"expertise": ", ".join(f"tag {i}" for i in range(16))},
            "At most 15 areas, please; you entered 16.",
        ),
        (
            "expertise",
            {"expertise": "CBT, " + "x" * 41},
            "Each area may have at most 40 characters",
        ),
        (
            "expertise",
            {
                "education_0_degree": "MSc",
                "education_0_institution": "FU",
                "education_0_year": "1900",
            },
            "Enter a year from 1950 to",
        ),
        (
            "expertise",
            {
                "education_0_degree": "MSc",
                "education_0_institution": "FU",
                "education_0_year": str(date.today().year + 1),
            },
            "Enter a year from 1950 to",
        ),
        (
            "expertise",
            {"education_0_institution": "FU Berlin"},
            "Name the degree, or clear this row.",
        ),
    ],
    ids=[
        "bad phone",
        "unknown zone",
        "video host",
        "video over http",
        "too many tags",
        "tag too long",
        "year too early",
        "year in the future",
        "row without degree",
    ],
)
def test_bad_input_gets_a_field_error_and_writes_nothing(world, client_for, step, data, message):
    profile = start(world)
    before = snapshot(profile)
    client = client_for(world.a.specialist, world.a.brand)
    response = client.post(f"/specialist/onboarding/{step}/", {**data, "action": "pause"})
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "Nothing was saved." in body
    assert 'aria-invalid="true"' in body or "field--invalid" in body
    assert snapshot(profile) == before


def test_practice_and_qualifications_are_stored_as_structured_values(world, client_for):
    profile = start(world)
    anxiety, depression = terms(world.a.network, TermKind.SPECIALIZATION, "Anxiety", "Depression")
    (couples,) = terms(world.a.network, TermKind.CATEGORY, "Couples")
    (foreign,) = terms(world.b.network, TermKind.SPECIALIZATION, "Foreign")
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get("/specialist/onboarding/expertise/").content.decode()
    assert "Anxiety" in page and "Foreign" not in page
    response = client.post(
        "/specialist/onboarding/practice/",
        {
            "session_formats": ["video", "phone"],
            "accepts_new_patients": "no",
            "age_groups": ["adults"],
            "languages": ["de", "en"],
            "categories": [couples.pk],
            "action": "continue",
        },
    )
    assert response["Location"] == "/specialist/onboarding/expertise/"
    response = client.post(
        "/specialist/onboarding/expertise/",
        {
            "education_0_degree": "MSc Psychology",
            "education_0_institution": "FU Berlin",
            "education_0_year": "2012",
            "education_2_degree": "CBT training",
            "education_2_institution": "DGVT",
            "specializations": [anxiety.pk, depression.pk],
            "expertise": "CBT, trauma\nCBT\n  sleep  problems ",
            "action": "continue",
        },
    )
    assert response["Location"] == "/specialist/onboarding/profile/"
    profile.refresh_from_db()
    assert profile.practice_preferences == {
        "session_formats": ["video", "phone"],
        "accepts_new_patients": False,
        "age_groups": ["adults"],
    }
    assert profile.languages == ["de", "en"]
    assert list(profile.categories.all()) == [couples]
    assert profile.education == [
        {"degree": "MSc Psychology", "institution": "FU Berlin", "year": 2012},
        {"degree": "CBT training", "institution": "DGVT", "year": None},
    ]
    assert profile.expertise == ["CBT", "trauma", "sleep problems"]
    assert set(profile.specializations.all()) == {anxiety, depression}
    # A term of another network is not a valid choice.
    before = snapshot(profile)
    refused = client.post(
        "/specialist/onboarding/expertise/",
        {"specializations": [foreign.pk], "action": "pause"},
    )
    assert "Select a valid choice" in refused.content.decode()
    assert snapshot(profile) == before


def test_continue_needs_the_required_fields_finish_later_does_not(world, client_for):
    profile = start(world)
    client = client_for(world.a.specialist, world.a.brand)
    before = snapshot(profile)
    refused = client.post(
        "/specialist/onboarding/practice/", {"languages": ["en"], "action": "continue"}
    )
    assert refused.status_code == 200
    assert "Choose at least one session format." in refused.content.decode()
    assert snapshot(profile) == before
    paused = client.post(
        "/specialist/onboarding/practice/", {"languages": ["en"], "action": "pause"}
    )
    assert paused["Location"] == "/specialist/"
    profile.refresh_from_db()
    assert profile.languages == ["en"]
    assert profile.current_step == "practice"


def test_bio_is_shown_sanitized_and_required_fields_are_marked(world, client_for):
    start(world)
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get("/specialist/onboarding/profile/").content.decode()
    assert "(required)" in page
    assert "youtube.com" in page  # the help text names the allowed hosts
    assert 'aria-describedby="id_bio_helptext"' in page


# --- photo and documents -------------------------------------------------------------------------


def test_a_photo_is_stored_encrypted_and_served_only_to_its_owner(world, client_for, media):
    profile = start(world)
    client = client_for(world.a.specialist, world.a.brand)
    assert client.get("/specialist/onboarding/photo/").status_code == 404
    original = png_bytes((120, 90))
    response = client.post(
        "/specialist/onboarding/profile/",
        {"bio": "Hello", "photo": upload("me.png", original, "image/png"), "action": "pause"},
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    stored = profile.photo
    assert stored is not None
    assert stored.purpose == "specialist.photo"
    assert stored.content_type == "image/png"
    with default_storage.open(stored.storage_name, "rb") as fh:
        blob = fh.read()
    assert b"\x89PNG" not in blob  # encrypted at rest
    served = client.get("/specialist/onboarding/photo/")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["Cache-Control"] == "private, no-store"
    assert b"".join(served.streaming_content if served.streaming else [served.content]).startswith(
        b"\x89PNG"
    )
    # Another specialist of the network, with a profile of their own, gets 404 (their own
    # photo would be served, and they have none); another network's specialist too.
    other = another_specialist(world.a)
    actions.do_register_specialist(other, world.a.brand)
    assert client_for(other, world.a.brand).get("/specialist/onboarding/photo/").status_code == 404
    assert (
        client_for(world.b.specialist, world.b.brand)
        .get("/specialist/onboarding/photo/")
        .status_code
        == 404
    )
    assert (
        client_for(world.a.patient, world.a.brand).get("/specialist/onboarding/photo/").status_code
        == 403
    )
    assert client_for(None, world.a.brand).get("/specialist/onboarding/photo/").status_code == 302
    # The step page shows the current photo through the authorized view.
    page = client.get("/specialist/onboarding/profile/").content.decode()
    assert f"/specialist/onboarding/photo/?v={stored.pk}" in page


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: upload("avatar.svg", SVG_WITH_SCRIPT, "image/svg+xml"), NOT_ACCEPTED),
        (lambda: upload("avatar.png", SVG_WITH_SCRIPT, "image/png"), NOT_ACCEPTED),
        (lambda: upload("me.pdf", TINY_PDF, "application/pdf"), "Accepted: PNG, JPEG, WebP."),
        (lambda: upload("huge.png", noisy_png((1500, 1300)), "image/png"), "the limit is 5 MB"),
        (lambda: upload("wide.png", png_bytes((5000, 8)), "image/png"), "4096"),
    ],
    ids=["svg with script", "svg renamed png", "pdf as photo", "over 5 MB", "over 4096 px"],
)
def test_a_malicious_or_oversized_photo_is_refused_and_nothing_stored(
    world, client_for, media, make, message
):
    profile = start(world)
    before = snapshot(profile)
    client = client_for(world.a.specialist, world.a.brand)
    response = client.post(
        "/specialist/onboarding/profile/", {"bio": "Changed", "photo": make(), "action": "pause"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert 'id="id_photo_error"' in body
    assert snapshot(profile) == before
    assert not (media / "private").exists() or not any((media / "private").rglob("*.bin"))


def test_documents_upload_download_and_remove_for_their_owner_only(
    world, client_for, media, django_capture_on_commit_callbacks
):
    profile = start(world)
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get("/specialist/onboarding/credentials/").content.decode()
    assert "No documents uploaded yet." in page
    response = client.post(
        "/specialist/onboarding/credentials/",
        {
            "form": "document",
            "doc-kind": "licence",
            "doc-title": "  Licence   Berlin ",
            "doc-file": upload("licence.pdf", TINY_PDF, "application/pdf"),
        },
    )
    assert response.status_code == 302
    document = CredentialDocument.objects.get(profile=profile)
    assert document.title == "Licence Berlin"
    assert document.file.purpose == "specialist.document"
    download = client.get(f"/specialist/documents/{document.pk}/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download.content == TINY_PDF

    # Another specialist of network A with a profile of their own, and network B's.
    other = another_specialist(world.a)
    complete_profile(other, world.a.brand, name="Dr. Other")
    for user, brand in ((other, world.a.brand), (world.b.specialist, world.b.brand)):
        intruder = client_for(user, brand)
        assert intruder.get(f"/specialist/documents/{document.pk}/").status_code == 404
        assert intruder.post(f"/specialist/documents/{document.pk}/remove/").status_code == 404
    assert (
        client_for(world.b.specialist, world.a.brand)
        .get(f"/specialist/documents/{document.pk}/")
        .status_code
        == 403
    )
    assert CredentialDocument.objects.filter(pk=document.pk).exists()

    assert client.get(f"/specialist/documents/{document.pk}/remove/").status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        removed = client.post(f"/specialist/documents/{document.pk}/remove/")
    assert removed["Location"] == "/specialist/onboarding/credentials/#documents"
    assert not CredentialDocument.objects.filter(pk=document.pk).exists()
    assert not StoredFile.objects.filter(pk=document.file_id).exists()


@pytest.mark.parametrize(
    ("name", "data", "content_type", "message"),
    [
        (
            "licence.pdf",
            b"#!/bin/sh\nrm -rf / --no-preserve-root\n",
            "application/pdf",
            NOT_ACCEPTED,
        ),
        ("licence.pdf", b"<html><script>alert(1)</script></html>", "application/pdf", NOT_ACCEPTED),
        ("diploma.svg", SVG_WITH_SCRIPT, "image/svg+xml", NOT_ACCEPTED),
        ("empty.pdf", b"", "application/pdf", "The submitted file is empty."),
    ],
    ids=["shell script renamed .pdf", "html renamed .pdf", "svg", "empty"],
)
def test_a_malicious_document_is_refused_and_nothing_stored(
    world, client_for, media, name, data, content_type, message
):
    profile = start(world)
    before = snapshot(profile)
    client = client_for(world.a.specialist, world.a.brand)
    response = client.post(
        "/specialist/onboarding/credentials/",
        {
            "form": "document",
            "doc-kind": "licence",
            "doc-title": "Licence",
            "doc-file": upload(name, data, content_type),
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "The document was not uploaded." in body
    assert snapshot(profile) == before


# --- submission, review states, read-only --------------------------------------------------------


def test_submit_lists_what_is_missing_then_accepts_a_complete_profile(world, client_for):
    profile = start(world)
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get("/specialist/onboarding/submit/").content.decode()
    assert "Some required information is missing." in page
    assert 'href="/specialist/onboarding/practice/"' in page
    assert "Submit for review" not in page
    refused = client.post("/specialist/onboarding/submit/")
    assert refused.status_code == 200
    assert "Credential documents" in refused.content.decode()
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.DRAFT

    complete_profile(world.a.specialist, world.a.brand)
    assert "Submit for review" in client.get("/specialist/onboarding/submit/").content.decode()
    response = client.post("/specialist/onboarding/submit/")
    assert response["Location"] == "/specialist/"
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.SUBMITTED
    assert "In review" in client.get("/specialist/").content.decode()

    # Submitted: read-only until the reviewers decide.
    before = snapshot(profile)
    step = client.get("/specialist/onboarding/basics/").content.decode()
    assert '<fieldset class="wizard-fields" disabled>' in step
    assert "Save and continue" not in step
    blocked = client.post(
        "/specialist/onboarding/basics/",
        {"display_name": "Changed", "time_zone": "Europe/Berlin", "phone": "+4930901820"},
    )
    assert blocked.status_code == 302
    document = profile.documents.first()
    client.post(f"/specialist/documents/{document.pk}/remove/")
    assert snapshot(profile) == before


def test_requested_changes_are_highlighted_with_the_note(world, client_for):
    profile = complete_profile(world.a.specialist, world.a.brand)
    actions.do_submit(profile, actor=world.a.specialist)
    actions.do_review(
        profile,
        decision="request_changes",
        fields={"bio": "Please describe how you work with couples."},
        reviewer=operator_membership(world.a),
    )
    client = client_for(world.a.specialist, world.a.brand)
    dashboard = client.get("/specialist/").content.decode()
    assert "Changes requested" in dashboard
    assert "Please describe how you work with couples." in dashboard
    overview = client.get("/specialist/onboarding/").content.decode()
    assert "Please change: About you" in overview
    step = client.get("/specialist/onboarding/profile/").content.decode()
    assert 'id="note_bio"' in step
    assert "field-group--flagged" in step
    assert 'aria-describedby="note_bio id_bio_helptext"' in step
    response = client.post(
        "/specialist/onboarding/profile/",
        {"bio": "I also work with couples.", "action": "continue"},
    )
    assert response.status_code == 302
    assert client.post("/specialist/onboarding/submit/")["Location"] == "/specialist/"
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.SUBMITTED


def test_a_rejection_shows_its_reason(world, client_for):
    profile = complete_profile(world.a.specialist, world.a.brand)
    actions.do_submit(profile, actor=world.a.specialist)
    actions.do_review(
        profile,
        decision="reject",
        reason="Licence not valid here.",
        reviewer=operator_membership(world.a),
    )
    client = client_for(world.a.specialist, world.a.brand)
    assert "Licence not valid here." in client.get("/specialist/").content.decode()
    step = client.get("/specialist/onboarding/basics/").content.decode()
    assert "Licence not valid here." in step
    assert "Save and continue" not in step


def test_after_approval_an_edit_goes_back_to_review_and_the_approved_version_stays(
    world, client_for
):
    profile, _listings = approved_and_listed(
        world.a, world.a.specialist, [world.a.brand], name="Dr. Published"
    )
    client = client_for(world.a.specialist, world.a.brand)
    step = client.get("/specialist/onboarding/basics/").content.decode()
    assert "sends your profile back to review" in step
    response = client.post(
        "/specialist/onboarding/basics/",
        {
            "display_name": "Dr. Renamed",
            "time_zone": "Europe/Berlin",
            "phone": "+4930901820",
            "action": "continue",
        },
    )
    assert response["Location"] == "/specialist/onboarding/"
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.SUBMITTED
    public = client_for(None, world.a.brand).get(f"/specialists/{profile.pk}/").content.decode()
    assert "Dr. Published" in public
    assert "Dr. Renamed" not in public
    assert "changes are with the reviewers" in client.get("/specialist/").content.decode()
    # A non-public field (the phone) does not send an approved profile back to review.
    actions.do_review(profile, decision="approve", reviewer=operator_membership(world.a))
    client.post(
        "/specialist/onboarding/basics/",
        {
            "display_name": "Dr. Renamed",
            "time_zone": "Europe/Berlin",
            "phone": "+4930901821",
            "action": "pause",
        },
    )
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.APPROVED
    assert profile.phone == "+4930901821"


def test_the_specialist_nav_has_dashboard_profile_listings_account(world, client_for):
    start(world)
    body = (
        client_for(world.a.specialist, world.a.brand)
        .get("/specialist/onboarding/")
        .content.decode()
    )
    for href in (
        "/specialist/",
        "/specialist/onboarding/",
        "/specialist/listings/",
        "/specialist/account/",
    ):
        assert f'href="{href}"' in body
    assert 'href="/specialist/onboarding/" aria-current="page"' in body
