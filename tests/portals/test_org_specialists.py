"""The organization portal's specialist review: the queue, the review page, decisions, the
relationship, and the photo and documents served only to reviewers in scope.

Operators review the whole network; an organization's admins and staff only the
specialists their organization onboards. Everyone else, and another network's people, get
403 or 404, and their POSTs change nothing.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail

from caredoor.core.organizations.models import Organization
from caredoor.core.specialists import actions
from caredoor.core.specialists.models import PublishedProfile, ReviewDecision, SpecialistProfile
from tests import factories
from tests.portals.org_specialist_data import (
    approve,
    audit_count,
    membership,
    specialist,
    stored_photo,
)

DENIED = {403, 404}


@pytest.fixture
def post_sending(django_capture_on_commit_callbacks):
    """POST and run what the action scheduled on commit (emails land in mail.outbox)."""

    def post(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


def move_to(profile: SpecialistProfile, organization: Organization, operator) -> None:
    actions.do_set_relationship(
        profile,
        organization=organization,
        relationship="partner",
        pricing_control="specialist",
        actor=membership(operator, "operator"),
    )


def state(profile: SpecialistProfile) -> tuple:
    fresh = SpecialistProfile.objects.get(pk=profile.pk)
    return (
        fresh.status,
        fresh.onboarded_by_id,
        fresh.relationship,
        fresh.pricing_control,
        fresh.requested_changes,
        ReviewDecision.objects.filter(profile=profile).count(),
        PublishedProfile.objects.filter(profile=profile).exists(),
        audit_count(),
    )


def queue_names(response) -> list[str]:
    body = response.content.decode()
    return re.findall(
        r'<th scope="row" class="cell-wrap"><a href="/org/specialists/\d+/">([^<]+)</a>', body
    )


# --- the queue ----------------------------------------------------------------------------------


def test_operator_queue_shows_the_whole_network_oldest_first(world, client_for):
    first = specialist(world.a.brand, "first@example.test", name="Dr. First")
    second = specialist(world.a.sister, "second@example.test", name="Dr. Second")
    move_to(second, world.a.clinic, world.a.operator)
    specialist(world.a.brand, "draft@example.test", name="Dr. Draft", submit=False)
    specialist(world.b.brand, "other@example.test", name="Dr. Elsewhere")

    response = client_for(world.a.operator, world.a.brand).get("/org/specialists/")
    assert response.status_code == 200
    assert queue_names(response) == ["Dr. First", "Dr. Second"]  # submitted, oldest first
    body = response.content.decode()
    assert "first@example.test" in body and "Sister A" in body and "Clinic A" in body
    assert 'aria-current="page">Submitted <span class="tabs__count">2</span>' in body
    assert 'Drafts <span class="tabs__count">1</span>' in body
    assert "Dr. Elsewhere" not in body

    drafts = client_for(world.a.operator, world.a.brand).get("/org/specialists/?status=draft")
    assert queue_names(drafts) == ["Dr. Draft"]
    found = client_for(world.a.operator, world.a.brand).get("/org/specialists/?q=second@")
    assert queue_names(found) == ["Dr. Second"]
    assert first.pk != second.pk


@pytest.mark.parametrize("role", ["org_admin", "org_staff"])
def test_clinic_reviewers_see_only_the_specialists_their_clinic_onboards(world, client_for, role):
    ours = specialist(world.a.brand, "ours@example.test", name="Dr. Ours")
    move_to(ours, world.a.clinic, world.a.operator)
    theirs = specialist(world.a.brand, "theirs@example.test", name="Dr. Operators")
    client = client_for(world.a.people[role], world.a.brand)

    response = client.get("/org/specialists/")
    assert response.status_code == 200
    assert queue_names(response) == ["Dr. Ours"]
    assert client.get(f"/org/specialists/{ours.pk}/").status_code == 200
    assert client.get(f"/org/specialists/{theirs.pk}/").status_code == 404


def test_a_reviewer_of_one_organization_cannot_review_anothers_specialists(
    world, client_for, post_sending
):
    other_clinic = factories.make_org(world.a.network, "clinic", [world.a.brand], slug="clinic-two")
    other_admin = factories.make_user("admin.two@example.test", name="Admin Two")
    factories.grant(other_admin, "org_admin", network=world.a.network, organization=other_clinic)
    profile = specialist(world.a.brand, "clinic.one@example.test", name="Dr. Clinic One")
    move_to(profile, world.a.clinic, world.a.operator)
    before = state(profile)
    document = profile.documents.get()
    client = client_for(other_admin, world.a.brand)

    assert queue_names(client.get("/org/specialists/")) == []
    assert client.get(f"/org/specialists/{profile.pk}/").status_code == 404
    assert client.get(f"/org/specialists/{profile.pk}/photo/").status_code == 404
    url = f"/org/specialists/{profile.pk}/documents/{document.pk}/"
    assert client.get(url).status_code == 404
    decide = f"/org/specialists/{profile.pk}/decide/"
    assert post_sending(client, decide, {"decision": "approve"}).status_code == 404
    rel = {
        "rel-organization": other_clinic.pk,
        "rel-relationship": "employee",
        "rel-pricing_control": "organization",
    }
    assert client.post(f"/org/specialists/{profile.pk}/relationship/", rel).status_code == 404
    assert state(profile) == before
    assert mail.outbox == []

    # The clinic's own admin may.
    own = client_for(world.a.org_admin, world.a.brand)
    assert post_sending(own, decide, {"decision": "approve"}).status_code == 302
    assert SpecialistProfile.objects.get(pk=profile.pk).status == "approved"


@pytest.mark.parametrize(
    "who",
    ["finance", "patient", "specialist", "affiliate", "outsider", "b.operator", "b.org_admin"],
)
def test_people_without_review_rights_get_nothing_and_change_nothing(
    world, client_for, post_sending, who
):
    profile = specialist(world.a.brand, "target@example.test", name="Dr. Target")
    move_to(profile, world.a.clinic, world.a.operator)
    document = profile.documents.get()
    if who == "outsider":
        user = world.outsider
    elif who.startswith("b."):
        user = world.b.people[who[2:]]
    else:
        user = world.a.people[who]
    before = state(profile)
    clients = [client_for(user, world.a.brand)]
    if who.startswith("b."):
        clients.append(client_for(user, world.b.brand))  # on their own brand: not found
        own_queue = clients[1].get("/org/specialists/")
        assert own_queue.status_code == 200 and b"Dr. Target" not in own_queue.content
    else:
        assert clients[0].get("/org/specialists/").status_code in DENIED
    for client in clients:
        for url in [
            f"/org/specialists/{profile.pk}/",
            f"/org/specialists/{profile.pk}/photo/",
            f"/org/specialists/{profile.pk}/documents/{document.pk}/",
        ]:
            response = client.get(url)
            assert response.status_code in DENIED, url
            assert b"Dr. Target" not in response.content
        for data in (
            {"decision": "approve"},
            {"decision": "reject", "reject-reason": "No"},
            {"decision": "request_changes", "changes-bio": "on", "changes-bio_note": "x"},
        ):
            response = post_sending(client, f"/org/specialists/{profile.pk}/decide/", data)
            assert response.status_code in DENIED
        response = client.post(
            f"/org/specialists/{profile.pk}/relationship/",
            {
                "rel-organization": world.a.operator_org.pk,
                "rel-relationship": "employee",
                "rel-pricing_control": "brand",
            },
        )
        assert response.status_code in DENIED
    assert state(profile) == before
    assert mail.outbox == []


# --- the review page ------------------------------------------------------------------------------


def test_review_page_shows_every_field_by_step_with_safe_bio_photo_and_documents(world, client_for):
    profile = specialist(world.a.brand, "full@example.test", name="Dr. Full")
    document = profile.documents.get()
    client = client_for(world.a.operator, world.a.brand)
    response = client.get(f"/org/specialists/{profile.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    for title in ["Basics", "Practice", "Qualifications", "Public profile", "Credentials"]:
        assert f">{title}</h2>" in body
    for value in [
        "Psychotherapist",
        "+4930901820",
        "Europe/Berlin",
        "Session formats: Video",
        "Taking new patients",
        "German",
        "MSc Psychology, FU Berlin (2012)",
        "Anxiety",
        "Therapy",
        "CBT",
        "https://video.example/intro",
    ]:
        assert value in body, value
    assert "<b>anxiety</b>" in body and "<script>alert(1)</script>" not in body
    assert f'src="/org/specialists/{profile.pk}/photo/"' in body
    assert f'href="/org/specialists/{profile.pk}/documents/{document.pk}/">Licence</a>' in body
    assert 'value="approve"' in body and 'name="reject-reason"' in body
    assert 'name="changes-bio"' in body and 'name="changes-bio_note"' in body
    assert "This profile has never been approved" in body

    photo = client.get(f"/org/specialists/{profile.pk}/photo/")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    assert photo["Content-Disposition"].startswith("inline")
    assert photo["Cache-Control"] == "private, no-store"
    pdf = client.get(f"/org/specialists/{profile.pk}/documents/{document.pk}/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment")
    assert pdf.content.startswith(b"%PDF-1.4")


def test_documents_of_another_profile_are_not_found_under_this_one(world, client_for):
    one = specialist(world.a.brand, "one@example.test", name="Dr. One")
    two = specialist(world.a.brand, "two@example.test", name="Dr. Two")
    client = client_for(world.a.operator, world.a.brand)
    url = f"/org/specialists/{one.pk}/documents/{two.documents.get().pk}/"
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("role", ["org_admin", "org_staff"])
def test_clinic_reviewers_download_documents_of_their_specialists_only(world, client_for, role):
    ours = specialist(world.a.brand, "doc.ours@example.test", name="Dr. Ours")
    move_to(ours, world.a.clinic, world.a.operator)
    theirs = specialist(world.a.brand, "doc.theirs@example.test", name="Dr. Theirs")
    client = client_for(world.a.people[role], world.a.brand)
    ours_doc, theirs_doc = ours.documents.get(), theirs.documents.get()
    assert client.get(f"/org/specialists/{ours.pk}/documents/{ours_doc.pk}/").status_code == 200
    url = f"/org/specialists/{theirs.pk}/documents/{theirs_doc.pk}/"
    assert client.get(url).status_code == 404
    b_operator = client_for(world.b.operator, world.b.brand)
    assert b_operator.get(f"/org/specialists/{ours.pk}/documents/{ours_doc.pk}/").status_code == 404


def test_an_edited_approved_profile_shows_what_changed_against_the_published_version(
    world, client_for
):
    profile = approve(
        specialist(world.a.brand, "edit@example.test", name="Dr. Edit"), world.a.operator
    )
    user = profile.user
    actions.do_save_step(
        profile,
        "profile",
        {"bio": "A brand new bio.", "photo": stored_photo(user, "#aa3300")},
        actor=user,
    )
    assert SpecialistProfile.objects.get(pk=profile.pk).status == "submitted"
    client = client_for(world.a.operator, world.a.brand)
    body = client.get(f"/org/specialists/{profile.pk}/").content.decode()
    assert "This is an update of an approved profile" in body
    changed = re.findall(r'<div class="profile-field profile-field--changed">\s*<dt>([^<]+)', body)
    assert [c.strip() for c in changed] == ["About you", "Profile photo"]
    assert "A brand new bio." in body and "I help adults with" in body  # now and published
    assert f'src="/org/specialists/{profile.pk}/photo/published/"' in body
    published = client.get(f"/org/specialists/{profile.pk}/photo/published/")
    working = client.get(f"/org/specialists/{profile.pk}/photo/")
    assert published.status_code == working.status_code == 200
    assert published.content != working.content


def test_approve_publishes_and_emails_the_specialist(world, client_for, post_sending):
    profile = specialist(world.a.brand, "approve.me@example.test", name="Dr. Approve")
    events = audit_count()
    response = post_sending(
        client_for(world.a.operator, world.a.brand),
        f"/org/specialists/{profile.pk}/decide/",
        {"decision": "approve"},
    )
    assert response.status_code == 302 and response["Location"] == "/org/specialists/"
    fresh = SpecialistProfile.objects.get(pk=profile.pk)
    assert fresh.status == "approved"
    assert PublishedProfile.objects.get(profile=profile).data["display_name"] == "Dr. Approve"
    assert audit_count() == events + 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["approve.me@example.test"]
    assert "approved" in message.body
    assert re.search(r"http://a\.test(:\d+)?/specialist/", message.body)
    patient = world.a.patient
    assert patient.email not in message.body and patient.name not in message.body
    decision = fresh.decisions.get()
    assert decision.decision == "approve" and decision.reviewer == world.a.operator
    page = client_for(world.a.operator, world.a.brand).get(f"/org/specialists/{profile.pk}/")
    assert "Decisions are made on submitted profiles" in page.content.decode()


def test_request_changes_needs_a_field_and_a_note_and_stores_the_notes(
    world, client_for, post_sending
):
    profile = specialist(world.a.brand, "changes@example.test", name="Dr. Changes")
    client = client_for(world.a.operator, world.a.brand)
    url = f"/org/specialists/{profile.pk}/decide/"
    before = state(profile)

    response = post_sending(client, url, {"decision": "request_changes"})
    assert response.status_code == 400
    assert "Name at least one field that needs changes." in response.content.decode()
    response = post_sending(client, url, {"decision": "request_changes", "changes-bio": "on"})
    assert response.status_code == 400
    assert "Say what should change in this field." in response.content.decode()
    response = post_sending(
        client, url, {"decision": "request_changes", "changes-phone_note": "Add the area code"}
    )
    assert response.status_code == 400
    assert "Tick this field, or clear its note." in response.content.decode()
    assert state(profile) == before and mail.outbox == []

    response = post_sending(
        client,
        url,
        {
            "decision": "request_changes",
            "changes-bio": "on",
            "changes-bio_note": "Please describe your approach.",
            "changes-photo": "on",
            "changes-photo_note": "A photo of your face, please.",
        },
    )
    assert response.status_code == 302
    fresh = SpecialistProfile.objects.get(pk=profile.pk)
    assert fresh.status == "changes_requested"
    assert fresh.requested_changes == {
        "bio": "Please describe your approach.",
        "photo": "A photo of your face, please.",
    }
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["changes@example.test"]
    body = client.get(f"/org/specialists/{profile.pk}/").content.decode()
    assert "Please describe your approach." in body  # beside the field and in the history


def test_reject_needs_a_reason(world, client_for, post_sending):
    profile = specialist(world.a.brand, "reject@example.test", name="Dr. Reject")
    client = client_for(world.a.operator, world.a.brand)
    url = f"/org/specialists/{profile.pk}/decide/"
    before = state(profile)
    response = post_sending(client, url, {"decision": "reject", "reject-reason": "  "})
    assert response.status_code == 400
    assert "Give the specialist a reason for the rejection." in response.content.decode()
    assert state(profile) == before

    response = post_sending(
        client, url, {"decision": "reject", "reject-reason": "Licence not recognised."}
    )
    assert response.status_code == 302
    assert SpecialistProfile.objects.get(pk=profile.pk).status == "rejected"
    assert "Licence not recognised." in mail.outbox[0].body


@pytest.mark.parametrize("status", ["draft", "approved", "rejected", "changes_requested"])
def test_decisions_only_on_submitted_profiles(world, client_for, post_sending, status):
    operator = membership(world.a.operator, "operator")
    profile = specialist(world.a.brand, "state@example.test", name="Dr. State", submit=False)
    if status != "draft":
        actions.do_submit(profile, actor=profile.user)
        decision = {"approved": "approve", "rejected": "reject"}.get(status, "request_changes")
        actions.do_review(
            profile, decision=decision, reason="No", fields={"bio": "More"}, reviewer=operator
        )
    assert SpecialistProfile.objects.get(pk=profile.pk).status == status
    before = state(profile)
    client = client_for(world.a.operator, world.a.brand)
    page = client.get(f"/org/specialists/{profile.pk}/").content.decode()
    assert 'value="approve"' not in page and "Decisions are made on submitted profiles" in page
    response = post_sending(
        client, f"/org/specialists/{profile.pk}/decide/", {"decision": "approve"}
    )
    assert response.status_code == 400
    assert "Only a submitted profile can be reviewed." in response.content.decode()
    assert state(profile) == before and mail.outbox == []


def test_unknown_decision_is_not_found(world, client_for):
    profile = specialist(world.a.brand, "unknown@example.test", name="Dr. Unknown")
    before = state(profile)
    client = client_for(world.a.operator, world.a.brand)
    response = client.post(f"/org/specialists/{profile.pk}/decide/", {"decision": "publish"})
    assert response.status_code == 404
    assert state(profile) == before


# --- the relationship ---------------------------------------------------------------------------


def test_operator_sets_the_onboarding_organization_relationship_and_pricing(world, client_for):
    profile = specialist(world.a.brand, "rel@example.test", name="Dr. Rel")
    client = client_for(world.a.operator, world.a.brand)
    assert (
        'name="rel-organization"' in client.get(f"/org/specialists/{profile.pk}/").content.decode()
    )
    response = client.post(
        f"/org/specialists/{profile.pk}/relationship/",
        {
            "rel-organization": world.a.clinic.pk,
            "rel-relationship": "employee",
            "rel-pricing_control": "organization",
        },
    )
    assert response.status_code == 302
    fresh = SpecialistProfile.objects.get(pk=profile.pk)
    assert (fresh.onboarded_by, fresh.relationship, fresh.pricing_control) == (
        world.a.clinic,
        "employee",
        "organization",
    )
    # An organization of another network is not a choice.
    before = state(profile)
    response = client.post(
        f"/org/specialists/{profile.pk}/relationship/",
        {
            "rel-organization": world.b.clinic.pk,
            "rel-relationship": "partner",
            "rel-pricing_control": "specialist",
        },
    )
    assert response.status_code == 400
    assert state(profile) == before


def test_org_admin_sets_terms_but_cannot_move_the_specialist_elsewhere(world, client_for):
    profile = specialist(world.a.brand, "keep@example.test", name="Dr. Keep")
    move_to(profile, world.a.clinic, world.a.operator)
    client = client_for(world.a.org_admin, world.a.brand)
    page = client.get(f"/org/specialists/{profile.pk}/").content.decode()
    assert "Only the network&#x27;s operator can move a specialist" in page
    assert re.search(r'<select name="rel-organization"[^>]*disabled', page)
    response = client.post(
        f"/org/specialists/{profile.pk}/relationship/",
        {
            "rel-organization": world.a.operator_org.pk,
            "rel-relationship": "employee",
            "rel-pricing_control": "brand",
        },
    )
    assert response.status_code == 302
    fresh = SpecialistProfile.objects.get(pk=profile.pk)
    assert fresh.onboarded_by == world.a.clinic  # stays in the clinic
    assert (fresh.relationship, fresh.pricing_control) == ("employee", "brand")


def test_org_staff_cannot_set_the_relationship(world, client_for):
    profile = specialist(world.a.brand, "staffed@example.test", name="Dr. Staffed")
    move_to(profile, world.a.clinic, world.a.operator)
    client = client_for(world.a.org_staff, world.a.brand)
    assert (
        'name="rel-organization"'
        not in client.get(f"/org/specialists/{profile.pk}/").content.decode()
    )
    before = state(profile)
    response = client.post(
        f"/org/specialists/{profile.pk}/relationship/",
        {
            "rel-organization": world.a.clinic.pk,
            "rel-relationship": "employee",
            "rel-pricing_control": "organization",
        },
    )
    assert response.status_code == 404
    assert state(profile) == before


# --- navigation and the dashboard -----------------------------------------------------------------


def test_nav_and_dashboard_show_what_needs_attention(world, client_for):
    profile = specialist(world.a.brand, "wait@example.test", name="Dr. Waiting")
    actions.do_request_listing(
        profile, world.a.brand, session_offer="50 minutes", price_minor=9000, actor=profile.user
    )
    operator = client_for(world.a.operator, world.a.brand).get("/org/").content.decode()
    assert re.search(
        r'<p class="stat">1</p><p class="stat-label">specialist profile to review', operator
    )
    assert re.search(
        r'<p class="stat">1</p><p class="stat-label">listing request waiting', operator
    )
    for href in ["/org/specialists/", "/org/listings/", "/org/onboarding/"]:
        assert f'<a href="{href}"' in operator

    admin = client_for(world.a.org_admin, world.a.brand).get("/org/").content.decode()
    assert re.search(
        r'<p class="stat">0</p><p class="stat-label">specialist profiles to review', admin
    )
    assert "listing request" not in admin
    assert '<a href="/org/specialists/"' in admin and '<a href="/org/listings/"' not in admin

    finance = client_for(world.a.finance, world.a.brand).get("/org/").content.decode()
    assert "to review" not in finance and '<a href="/org/specialists/"' not in finance
