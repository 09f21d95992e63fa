"""The specialist network's rules, at the action and query level."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from caredoor.core.compliance.models import AuditEvent
from caredoor.core.specialists import actions
from caredoor.core.specialists.choices import DEFAULT_STEPS, ProfileStatus
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.pricing import listing_price
from caredoor.core.specialists.queries import (
    access_document,
    access_public_profile,
    profiles_reviewable_by,
    public_profiles_on,
    review_queue,
)
from caredoor.core.specialists.scheme import scheme_for, validate_steps
from tests import factories
from tests.specialist_helpers import approved_and_listed, complete_profile, operator_membership


def test_registration_makes_a_specialist_with_a_draft_profile(world):
    user = factories.make_user("new.spec@example.test", name="Nia New")
    profile = actions.do_register_specialist(user, world.a.brand)
    assert profile.status == ProfileStatus.DRAFT
    assert profile.onboarded_by == world.a.operator_org
    assert profile.display_name == "Nia New" and profile.time_zone == "Europe/Berlin"
    assert user.memberships.get().role == "specialist"
    assert actions.do_register_specialist(user, world.a.sister) == profile  # idempotent
    assert AuditEvent.objects.filter(action="specialist.registered").count() == 1


def test_submit_needs_every_required_field(world):
    profile = actions.do_register_specialist(world.a.specialist, world.a.brand)
    with pytest.raises(ValidationError) as excinfo:
        actions.do_submit(profile, actor=world.a.specialist)
    missing = excinfo.value.params["missing"]
    assert set(missing) == {s["key"] for s in DEFAULT_STEPS}
    profile = complete_profile(world.a.specialist, world.a.brand)
    assert actions.missing_fields(profile) == {}
    actions.do_submit(profile, actor=world.a.specialist)
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.SUBMITTED and profile.submitted_at


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs what the actions inside scheduled for their commit (emails)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_review_decisions(world, committed):
    op = operator_membership(world.a)
    profile = complete_profile(world.a.specialist, world.a.brand)
    with pytest.raises(ValidationError):  # drafts are not reviewed
        actions.do_review(profile, decision="approve", reviewer=op)
    actions.do_submit(profile, actor=world.a.specialist)
    with pytest.raises(ValidationError):
        actions.do_review(profile, decision="request_changes", fields={}, reviewer=op)
    with pytest.raises(ValidationError):
        actions.do_review(profile, decision="reject", reason=" ", reviewer=op)
    with committed():
        actions.do_review(
            profile, decision="request_changes", fields={"bio": "Say more."}, reviewer=op
        )
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.CHANGES_REQUESTED
    assert profile.requested_changes == {"bio": "Say more."}
    assert not hasattr(profile, "published")
    actions.do_submit(profile, actor=world.a.specialist)
    with committed():
        actions.do_review(profile, decision="approve", reviewer=op)
    profile = SpecialistProfile.objects.get(pk=profile.pk)
    assert profile.status == ProfileStatus.APPROVED and profile.requested_changes == {}
    assert profile.published.data["display_name"] == "Dr. Test"
    assert [m.subject for m in mail.outbox] == [
        "Your profile needs a few changes",
        "Your profile is approved",
    ]
    assert "http://a.test:" in mail.outbox[-1].body
    actions_logged = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"specialist.review.request_changes", "specialist.review.approve"} <= actions_logged


def test_rejection_of_a_new_profile(world, committed):
    profile = complete_profile(world.a.specialist, world.a.brand)
    actions.do_submit(profile, actor=world.a.specialist)
    with committed():
        actions.do_review(
            profile,
            decision="reject",
            reason="No valid licence.",
            reviewer=operator_membership(world.a),
        )
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.REJECTED
    assert "No valid licence." in mail.outbox[-1].body
    with pytest.raises(ValidationError):
        actions.do_save_step(profile, "basics", {"display_name": "x"}, actor=world.a.specialist)


def test_editing_a_public_field_goes_back_to_review_and_keeps_the_published_version(world):
    profile, _listings = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    changed = actions.do_save_step(
        profile, "profile", {"bio": "New bio."}, actor=world.a.specialist
    )
    assert changed == ["bio"]
    profile = SpecialistProfile.objects.get(pk=profile.pk)
    assert profile.status == ProfileStatus.SUBMITTED
    visible = access_public_profile(world.a.brand, profile.pk)
    assert visible.data["bio"] == "I help adults with anxiety."
    # A private field does not need review.
    profile2 = profile
    actions.do_review(profile2, decision="approve", reviewer=operator_membership(world.a))
    actions.do_save_step(profile2, "basics", {"phone": "+4930901821"}, actor=world.a.specialist)
    assert SpecialistProfile.objects.get(pk=profile.pk).status == ProfileStatus.APPROVED
    assert access_public_profile(world.a.brand, profile.pk).data["bio"] == "New bio."


def test_rejecting_an_update_keeps_the_profile_published(world):
    profile, _ = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    actions.do_save_step(profile, "profile", {"bio": "Dubious claims."}, actor=world.a.specialist)
    actions.do_review(
        profile,
        decision="reject",
        reason="Claims not allowed.",
        reviewer=operator_membership(world.a),
    )
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.APPROVED
    assert access_public_profile(world.a.brand, profile.pk).data["bio"] != "Dubious claims."


def test_visibility_needs_approval_and_an_approved_listing_on_that_brand(world):
    draft = complete_profile(world.a.specialist, world.a.brand)
    for brand in [world.a.brand, world.a.sister, world.b.brand]:
        assert not public_profiles_on(brand).filter(profile=draft).exists()
    other = factories.make_user("listed@example.test")
    profile, _ = approved_and_listed(world.a, other, [world.a.brand])
    assert public_profiles_on(world.a.brand).filter(profile=profile).exists()
    assert not public_profiles_on(world.a.sister).filter(profile=profile).exists()
    assert not public_profiles_on(world.b.brand).filter(profile=profile).exists()
    # A revoked specialist disappears everywhere.
    other.memberships.update(revoked_at="2026-01-01T00:00:00Z")
    assert not public_profiles_on(world.a.brand).filter(profile=profile).exists()


def test_prices_follow_each_brands_pricing_mode(world):
    world.a.sister.pricing_mode = "brand_fixed"
    world.a.sister.fixed_price_minor = 6500
    world.a.sister.currency = "GBP"
    world.a.sister.save()
    _profile, (on_brand, on_sister) = approved_and_listed(
        world.a, world.a.specialist, [world.a.brand, world.a.sister], price=9000
    )
    assert listing_price(on_brand).display == "90.00 EUR"
    assert listing_price(on_sister).display == "65.00 GBP"
    assert on_sister.price_minor is None
    world.a.sister.fixed_price_minor = 0
    world.a.sister.save()
    on_sister.refresh_from_db()
    assert listing_price(on_sister).covered
    assert listing_price(on_sister).display == "Covered by your program"


def test_specialist_must_price_where_they_control_it(world):
    profile = complete_profile(world.a.specialist, world.a.brand)
    with pytest.raises(ValidationError):
        actions.do_request_listing(
            profile, world.a.brand, session_offer="x", price_minor=None, actor=world.a.specialist
        )
    with pytest.raises(ValidationError):
        actions.do_request_listing(
            profile, world.b.brand, session_offer="x", price_minor=5000, actor=world.a.specialist
        )
    listing = actions.do_request_listing(
        profile, world.a.brand, session_offer="x", price_minor=5000, actor=world.a.specialist
    )
    with pytest.raises(ValidationError):  # twice
        actions.do_request_listing(
            profile, world.a.brand, session_offer="x", price_minor=5000, actor=world.a.specialist
        )
    # Where the organization controls the price, staff set it and the specialist cannot.
    actions.do_set_relationship(
        profile,
        organization=world.a.clinic,
        relationship="employee",
        pricing_control="organization",
        actor=operator_membership(world.a),
    )
    spec = world.a.specialist.memberships.get(role="specialist")
    actions.do_update_listing(listing, session_offer="x", price_minor=1, actor=spec)
    listing.refresh_from_db()
    assert listing.price_minor == 5000
    actions.do_update_listing(
        listing, session_offer="x", price_minor=7000, actor=world.a.org_admin.memberships.get()
    )
    listing.refresh_from_db()
    assert listing.price_minor == 7000


def test_listing_transitions(world, committed):
    profile = complete_profile(world.a.specialist, world.a.brand)
    listing = actions.do_request_listing(
        profile, world.a.brand, session_offer="x", price_minor=5000, actor=world.a.specialist
    )
    spec = world.a.specialist.memberships.get(role="specialist")
    op = operator_membership(world.a)
    with pytest.raises(ValidationError):  # a specialist cannot approve
        actions.do_set_listing_status(listing, "approved", actor=spec)
    with committed():
        actions.do_set_listing_status(listing, "approved", actor=op, note="Welcome")
    assert "Welcome" in mail.outbox[-1].body
    actions.do_set_listing_status(listing, "hidden", actor=spec)
    with pytest.raises(ValidationError):  # hidden comes back only through the operator
        actions.do_set_listing_status(listing, "approved", actor=spec)
    actions.do_set_listing_status(listing, "approved", actor=op)
    actions.do_set_listing_status(listing, "removed", actor=spec)
    relisted = actions.do_request_listing(
        profile, world.a.brand, session_offer="y", price_minor=5500, actor=world.a.specialist
    )
    assert relisted.pk == listing.pk and relisted.status == "requested"


def test_reviewers_see_only_their_organizations_specialists(world):
    profile = complete_profile(world.a.specialist, world.a.brand)
    actions.do_submit(profile, actor=world.a.specialist)
    clinic_admin = world.a.org_admin.memberships.get()
    assert not profiles_reviewable_by(clinic_admin).exists()
    assert review_queue(operator_membership(world.a)).get() == profile
    assert not review_queue(operator_membership(world.b)).exists()
    actions.do_set_relationship(
        profile,
        organization=world.a.clinic,
        relationship="partner",
        pricing_control="specialist",
        actor=operator_membership(world.a),
    )
    assert profiles_reviewable_by(clinic_admin).get() == profile
    assert not profiles_reviewable_by(world.a.finance.memberships.get()).exists()
    with pytest.raises(ValidationError):
        actions.do_set_relationship(
            profile,
            organization=world.b.clinic,
            relationship="partner",
            pricing_control="specialist",
            actor=operator_membership(world.a),
        )


def test_documents_are_for_their_specialist_and_reviewers_in_scope(world):
    from django.http import Http404

    profile = complete_profile(world.a.specialist, world.a.brand)
    document = profile.documents.get()
    own = world.a.specialist.memberships.get(role="specialist")
    assert access_document(own, document.pk) == document
    assert access_document(operator_membership(world.a), document.pk) == document
    other = factories.make_user("other.spec@example.test")
    complete_profile(other, world.a.brand, name="Other")
    for outsider in [
        other.memberships.get(role="specialist"),
        world.a.org_admin.memberships.get(),
        operator_membership(world.b),
        world.b.specialist.memberships.get(),
    ]:
        with pytest.raises(Http404):
            access_document(outsider, document.pk)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "at least one step"),
        ([{"key": "a", "title": "A", "fields": []}], "asks for nothing"),
        ([{"key": "a", "title": "A", "fields": ["bio"]}], "name shown to patients"),
        ([{"key": "a", "title": "A", "fields": ["display_name", "telepathy"]}], "Unknown fields"),
        (
            [{"key": "a", "title": "A", "fields": ["display_name"], "required": ["bio"]}],
            "part of its step",
        ),
        (
            [
                {"key": "a", "title": "A", "fields": ["display_name"]},
                {"key": "b", "title": "B", "fields": ["display_name"]},
            ],
            "one step only",
        ),
        (
            [
                {"key": "a", "title": "A", "fields": ["display_name"]},
                {"key": "a", "title": "B", "fields": ["bio"]},
            ],
            "own short key",
        ),
    ],
)
def test_scheme_validation(steps, message):
    with pytest.raises(ValidationError, match=message):
        validate_steps(steps)


def test_brand_scheme_overrides_the_networks(world):
    op = operator_membership(world.a)
    short = [
        {
            "key": "only",
            "title": "Only",
            "fields": ["display_name", "bio"],
            "required": ["display_name"],
        }
    ]
    actions.do_save_scheme(
        network=world.a.network,
        brand=world.a.sister,
        steps=short,
        actor=world.a.operator,
        actor_role="operator",
    )
    assert [s.key for s in scheme_for(world.a.network, world.a.sister)] == ["only"]
    assert [s.key for s in scheme_for(world.a.network, world.a.brand)] == [
        s["key"] for s in DEFAULT_STEPS
    ]
    user = factories.make_user("short@example.test")
    profile = actions.do_register_specialist(user, world.a.sister)
    actions.do_save_step(profile, "only", {"display_name": "Short"}, actor=user)
    actions.do_submit(profile, actor=user)  # nothing else required on the sister brand
    actions.do_reset_scheme(
        network=world.a.network, brand=world.a.sister, actor=world.a.operator, actor_role="operator"
    )
    assert scheme_for(world.a.network, world.a.sister) == scheme_for(world.a.network, None)
    assert op.role == "operator"


def test_reserved_step_keys_are_refused():
    for key in ["submit", "photo"]:
        with pytest.raises(ValidationError, match="used by the wizard"):
            validate_steps([{"key": key, "title": "X", "fields": ["display_name"]}])


def test_a_first_submission_is_frozen_while_reviewed(world):
    profile = complete_profile(world.a.specialist, world.a.brand)
    actions.do_submit(profile, actor=world.a.specialist)
    with pytest.raises(ValidationError, match="being reviewed"):
        actions.do_save_step(
            profile, "basics", {"display_name": "Changed"}, actor=world.a.specialist
        )
    assert SpecialistProfile.objects.get(pk=profile.pk).display_name == "Dr. Test"


def test_a_replaced_working_photo_is_deleted_but_never_the_published_one(world, committed):
    from caredoor.core.compliance.models import StoredFile
    from caredoor.core.compliance.uploads import CheckedUpload, store_file
    from tests.specialist_helpers import png_bytes

    profile, _ = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    published_photo = profile.published.photo_id

    def new_photo(colour):  # type: ignore[no-untyped-def]
        return store_file(
            CheckedUpload("image/png", png_bytes(colour=colour), "p.png"),
            purpose="specialist.photo",
        )

    first = new_photo("#aa0000")
    with committed():
        actions.do_save_step(profile, "profile", {"photo": first}, actor=world.a.specialist)
    assert StoredFile.objects.filter(pk=published_photo).exists()  # still what patients see
    with committed():
        actions.do_save_step(
            profile, "profile", {"photo": new_photo("#00aa00")}, actor=world.a.specialist
        )
    assert not StoredFile.objects.filter(pk=first.pk).exists()  # an unpublished draft photo


def test_prices_are_formatted_in_the_readers_language(world):
    from django.utils import translation

    _profile, (listing,) = approved_and_listed(
        world.a, world.a.specialist, [world.a.brand], price=123450
    )
    with translation.override("de"):
        assert listing_price(listing).display == "1.234,50 EUR"
    with translation.override("en"):
        assert listing_price(listing).display == "1,234.50 EUR"
