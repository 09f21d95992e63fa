"""Tools and programs: multi-site listing. A specialist asks to be listed on the brands of
their network; the price follows each brand's pricing mode; only their own listings exist."""

from __future__ import annotations

import pytest

from caredoor.core.compliance.models import AuditEvent
from caredoor.core.specialists import actions
from caredoor.core.specialists.choices import ListingStatus
from caredoor.core.specialists.models import Listing, SpecialistProfile
from tests import factories
from tests.specialist_helpers import approved_and_listed, complete_profile, operator_membership


@pytest.fixture
def fixed(world):
    """A brand of network A with one fixed price (65.00 EUR) for every session."""
    return factories.make_brand(
        world.a.network,
        "fixed-a.test",
        name="Fixed A",
        pricing_mode="brand_fixed",
        fixed_price_minor=6500,
        journey_mode="matching",
    )


def draft(world) -> SpecialistProfile:  # type: ignore[no-untyped-def]
    return actions.do_register_specialist(world.a.specialist, world.a.brand)


def listing_of(profile, brand) -> Listing:  # type: ignore[no-untyped-def]
    return Listing.objects.get(profile=profile, brand=brand)


def test_every_brand_of_the_network_is_offered_with_who_sets_the_price(
    world, client_for, fixed, covered
):
    draft(world)
    page = client_for(world.a.specialist, world.a.brand).get("/specialist/listings/")
    assert page.status_code == 200
    body = page.content.decode()
    for brand in (world.a.brand, world.a.sister, fixed, covered):
        assert f'id="brand-{brand.pk}"' in body
    assert f'id="brand-{world.b.brand.pk}"' not in body
    assert "Brand B" not in body
    assert "You set your own price on this brand." in body
    assert "one fixed price for every session: 65.00 EUR" in body
    assert "covered by the program" in body
    assert (
        "Patients see a listing only once both your profile and the listing are approved." in body
    )
    # The price field exists only where the specialist sets the price.
    assert f'name="brand-{world.a.brand.pk}-price"' in body
    assert f'name="brand-{fixed.pk}-price"' not in body
    assert f'name="brand-{covered.pk}-price"' not in body


def test_a_specialist_set_price_is_converted_to_minor_units(world, client_for):
    profile = draft(world)
    client = client_for(world.a.specialist, world.a.brand)
    prefix = f"brand-{world.a.brand.pk}"
    response = client.post(
        f"/specialist/listings/brand/{world.a.brand.pk}/request/",
        {f"{prefix}-session_offer": "50 minutes by video", f"{prefix}-price": "80.50"},
    )
    assert response.status_code == 302
    listing = listing_of(profile, world.a.brand)
    assert listing.status == ListingStatus.REQUESTED
    assert listing.price_minor == 8050
    assert listing.session_offer == "50 minutes by video"
    body = client.get("/specialist/listings/").content.decode()
    assert "80.50 EUR" in body
    assert "Waiting for the operator" in body


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("", "This field is required."),
        ("0", "greater than or equal to 0.01"),
        ("12.345", "at most 2 decimal places"),
        ("abc", "Enter a number."),
    ],
)
def test_a_missing_or_bad_price_is_refused_and_nothing_written(world, client_for, price, message):
    profile = draft(world)
    events = AuditEvent.objects.count()
    prefix = f"brand-{world.a.brand.pk}"
    response = client_for(world.a.specialist, world.a.brand).post(
        f"/specialist/listings/brand/{world.a.brand.pk}/request/",
        {f"{prefix}-session_offer": "Video", f"{prefix}-price": price},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Listing.objects.filter(profile=profile).exists()
    assert AuditEvent.objects.count() == events


def test_on_a_fixed_price_brand_the_specialist_sets_no_price(world, client_for, fixed, covered):
    profile = draft(world)
    client = client_for(world.a.specialist, world.a.brand)
    for brand in (fixed, covered):
        prefix = f"brand-{brand.pk}"
        response = client.post(
            f"/specialist/listings/brand/{brand.pk}/request/",
            {f"{prefix}-session_offer": "Video session", f"{prefix}-price": "999"},
        )
        assert response.status_code == 302
        assert listing_of(profile, brand).price_minor is None
    body = client.get("/specialist/listings/").content.decode()
    assert "65.00 EUR" in body
    assert "Covered by your program" in body


def test_where_the_organization_controls_prices_the_page_says_so(world, client_for):
    profile = draft(world)
    actions.do_set_relationship(
        profile,
        organization=world.a.clinic,
        relationship="employee",
        pricing_control="organization",
        actor=operator_membership(world.a),
    )
    body = (
        client_for(world.a.specialist, world.a.brand).get("/specialist/listings/").content.decode()
    )
    assert "Clinic A sets your price on this brand." in body
    assert f'name="brand-{world.a.brand.pk}-price"' not in body
    prefix = f"brand-{world.a.brand.pk}"
    client_for(world.a.specialist, world.a.brand).post(
        f"/specialist/listings/brand/{world.a.brand.pk}/request/",
        {f"{prefix}-session_offer": "Video", f"{prefix}-price": "120"},
    )
    assert listing_of(profile, world.a.brand).price_minor is None


def test_the_offer_and_price_can_be_changed(world, client_for):
    _profile, (listing,) = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    client = client_for(world.a.specialist, world.a.brand)
    prefix = f"brand-{world.a.brand.pk}"
    response = client.post(
        f"/specialist/listings/{listing.pk}/edit/",
        {f"{prefix}-session_offer": "60 minutes", f"{prefix}-price": "95"},
    )
    assert response.status_code == 302
    listing.refresh_from_db()
    assert (listing.session_offer, listing.price_minor) == ("60 minutes", 9500)
    assert listing.status == ListingStatus.APPROVED
    refused = client.post(
        f"/specialist/listings/{listing.pk}/edit/",
        {f"{prefix}-session_offer": "Other", f"{prefix}-price": "-5"},
    )
    assert refused.status_code == 400
    listing.refresh_from_db()
    assert (listing.session_offer, listing.price_minor) == ("60 minutes", 9500)


def test_status_transitions_the_specialist_may_and_may_not_make(world, client_for):
    profile = draft(world)
    client = client_for(world.a.specialist, world.a.brand)
    listing = actions.do_request_listing(
        profile, world.a.brand, session_offer="Video", price_minor=9000, actor=world.a.specialist
    )
    url = f"/specialist/listings/{listing.pk}/status/"
    # A requested listing cannot be hidden (only approved ones can).
    response = client.post(url, {"status": "hidden"})
    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.status == ListingStatus.REQUESTED
    assert (
        "cannot change from Requested to Hidden"
        in client.get("/specialist/listings/").content.decode()
    )
    # The specialist never approves.
    assert client.post(url, {"status": "approved"}).status_code == 404
    listing.refresh_from_db()
    assert listing.status == ListingStatus.REQUESTED
    # Approved by the operator, then hidden by the specialist, then withdrawn.
    actions.do_set_listing_status(listing, "approved", actor=operator_membership(world.a))
    client.post(url, {"status": "hidden"})
    listing.refresh_from_db()
    assert listing.status == ListingStatus.HIDDEN
    body = client.get("/specialist/listings/").content.decode()
    assert "You hid this listing." in body
    client.post(url, {"status": "removed"})
    listing.refresh_from_db()
    assert listing.status == ListingStatus.REMOVED
    # A withdrawn listing is requested again, not edited.
    prefix = f"brand-{world.a.brand.pk}"
    assert client.post(f"/specialist/listings/{listing.pk}/edit/", {}).status_code == 404
    client.post(
        f"/specialist/listings/brand/{world.a.brand.pk}/request/",
        {f"{prefix}-session_offer": "Again", f"{prefix}-price": "70"},
    )
    listing.refresh_from_db()
    assert (listing.status, listing.price_minor) == (ListingStatus.REQUESTED, 7000)
    assert client.get(url).status_code == 405


def test_a_second_request_on_the_same_brand_is_refused(world, client_for):
    profile = draft(world)
    actions.do_request_listing(
        profile, world.a.brand, session_offer="Video", price_minor=9000, actor=world.a.specialist
    )
    prefix = f"brand-{world.a.brand.pk}"
    response = client_for(world.a.specialist, world.a.brand).post(
        f"/specialist/listings/brand/{world.a.brand.pk}/request/",
        {f"{prefix}-session_offer": "Twice", f"{prefix}-price": "70"},
    )
    assert response.status_code == 400
    assert "already listed on this brand" in response.content.decode()
    assert listing_of(profile, world.a.brand).session_offer == "Video"


def test_another_specialists_listing_and_another_networks_brand_are_404(world, client_for):
    other = factories.make_user("other.listing@example.test")
    factories.grant(other, "specialist", network=world.a.network)
    _theirs, (their_listing,) = approved_and_listed(
        world.a, other, [world.a.brand], name="Dr. Other"
    )
    draft(world)
    client = client_for(world.a.specialist, world.a.brand)
    prefix = f"brand-{world.a.brand.pk}"
    assert (
        client.post(
            f"/specialist/listings/{their_listing.pk}/edit/",
            {f"{prefix}-session_offer": "Mine now", f"{prefix}-price": "1"},
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/specialist/listings/{their_listing.pk}/status/", {"status": "removed"}
        ).status_code
        == 404
    )
    their_listing.refresh_from_db()
    assert (their_listing.status, their_listing.price_minor) == (ListingStatus.APPROVED, 9000)
    assert (
        client.post(
            f"/specialist/listings/brand/{world.b.brand.pk}/request/",
            {
                f"brand-{world.b.brand.pk}-session_offer": "x",
                f"brand-{world.b.brand.pk}-price": "1",
            },
        ).status_code
        == 404
    )
    assert client.get(f"/specialist/preview/{world.b.brand.pk}/").status_code == 404
    # Without a profile there is nothing to list.
    nobody = client_for(world.b.specialist, world.b.brand)
    assert nobody.get("/specialist/listings/")["Location"] == "/specialist/"
    assert nobody.post(f"/specialist/listings/brand/{world.b.brand.pk}/request/").status_code == 404


def test_the_dashboard_shows_listing_decisions_that_need_attention(world, client_for):
    _profile, (listing,) = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    actions.do_set_listing_status(
        listing, "hidden", actor=operator_membership(world.a), note="Please update your offer."
    )
    body = client_for(world.a.specialist, world.a.brand).get("/specialist/").content.decode()
    assert "Brand A: your listing is now Hidden." in body
    assert "Please update your offer." in body
    assert "Approved" in body


def test_listing_on_a_draft_profile_is_allowed(world, client_for):
    profile = complete_profile(world.a.specialist, world.a.brand)
    prefix = f"brand-{world.a.sister.pk}"
    response = client_for(world.a.specialist, world.a.brand).post(
        f"/specialist/listings/brand/{world.a.sister.pk}/request/",
        {f"{prefix}-session_offer": "Video", f"{prefix}-price": "50"},
    )
    assert response.status_code == 302
    assert listing_of(profile, world.a.sister).price_minor == 5000
