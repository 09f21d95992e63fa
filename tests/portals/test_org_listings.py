"""The operator's listings page: requests first, filters, approve / hide / remove with a note,
and the price where the organization or the brand sets it. Nobody else reaches it."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from caredoor.core.brands.actions import do_update_brand
from caredoor.core.specialists import actions
from caredoor.core.specialists.models import Listing
from tests.portals.org_specialist_data import approve, audit_count, membership, specialist

DENIED = {403, 404}


@pytest.fixture
def post_sending(django_capture_on_commit_callbacks):
    def post(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


def listed(brand, email, name, *, approved=True, price=9000, pricing_control=None, world=None):
    profile = specialist(brand, email, name=name)
    if approved:
        profile = approve(profile, world.a.operator)
    if pricing_control:
        actions.do_set_relationship(
            profile,
            organization=profile.onboarded_by,
            relationship="partner",
            pricing_control=pricing_control,
            actor=membership(world.a.operator, "operator"),
        )
        profile.refresh_from_db()
    return actions.do_request_listing(
        profile,
        brand,
        session_offer="50 minutes by video",
        price_minor=price if actions.specialist_sets_price(profile, brand) else None,
        actor=profile.user,
    )


def row(listing: Listing) -> tuple:
    fresh = Listing.objects.get(pk=listing.pk)
    return (fresh.status, fresh.price_minor, fresh.decision_note, audit_count())


def card_names(body: str) -> list[str]:
    return re.findall(r'<h3><a href="/org/specialists/\d+/">([^<]+)</a>', body)


def make_fixed(brand, operator, price_minor=6500):
    do_update_brand(
        brand,
        {"pricing_mode": "brand_fixed", "fixed_price_minor": price_minor},
        actor=operator,
        actor_role="operator",
    )


def test_requested_listings_come_first_and_filters_narrow_the_list(world, client_for):
    first = listed(world.a.brand, "l1@example.test", "Dr. Approved", world=world)
    actions.do_set_listing_status(first, "approved", actor=membership(world.a.operator, "operator"))
    listed(world.a.brand, "l2@example.test", "Dr. Requested", world=world)
    listed(world.a.sister, "l3@example.test", "Dr. Sister", world=world)
    listed(world.b.brand, "l4@example.test", "Dr. Other Network", world=world)  # never shown

    client = client_for(world.a.operator, world.a.brand)
    body = client.get("/org/listings/").content.decode()
    assert card_names(body) == ["Dr. Requested", "Dr. Sister", "Dr. Approved"]
    assert "90.00 EUR" in body and "Set by the specialist." in body
    assert "Dr. Other Network" not in body

    by_brand = client.get(f"/org/listings/?brand={world.a.sister.pk}").content.decode()
    assert card_names(by_brand) == ["Dr. Sister"]
    by_status = client.get("/org/listings/?status=approved").content.decode()
    assert card_names(by_status) == ["Dr. Approved"]
    other = client.get(f"/org/listings/?brand={world.b.brand.pk}")
    assert other.status_code == 200  # an invalid choice is ignored, nothing of B shows
    assert "Dr. Other Network" not in other.content.decode()


def test_a_listing_of_an_unapproved_profile_warns_that_it_will_not_show(world, client_for):
    listed(world.a.brand, "unapproved@example.test", "Dr. Pending", approved=False, world=world)
    body = client_for(world.a.operator, world.a.brand).get("/org/listings/").content.decode()
    assert "The profile is not approved: this listing will not show to patients" in body


def test_approve_hide_remove_with_a_note_and_refused_transitions(world, client_for, post_sending):
    listing = listed(world.a.brand, "flow@example.test", "Dr. Flow", world=world)
    client = client_for(world.a.operator, world.a.brand)
    url = f"/org/listings/{listing.pk}/status/"

    response = post_sending(
        client, url + "?status=requested", {"status": "approved", "note": "Welcome"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/org/listings/?status=requested"
    fresh = Listing.objects.get(pk=listing.pk)
    assert (fresh.status, fresh.decision_note, fresh.decided_by) == (
        "approved",
        "Welcome",
        world.a.operator,
    )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["flow@example.test"]

    assert post_sending(client, url, {"status": "hidden"}).status_code == 302
    assert Listing.objects.get(pk=listing.pk).status == "hidden"
    assert post_sending(client, url, {"status": "approved"}).status_code == 302
    assert post_sending(client, url, {"status": "removed", "note": "Left"}).status_code == 302
    assert Listing.objects.get(pk=listing.pk).status == "removed"

    before = row(listing)
    for status in ["approved", "hidden", "removed"]:
        response = post_sending(client, url, {"status": status})
        assert response.status_code == 400
        assert "This listing cannot change from Removed to" in response.content.decode()
    response = client.post(url, {"status": "requested"})
    assert response.status_code == 400  # not a choice for staff
    response = client.post(url, {"status": "approved", "note": "x" * 301})
    assert response.status_code == 400
    assert row(listing) == before


def test_no_price_field_where_the_specialist_or_one_fixed_price_decides(world, client_for):
    own = listed(world.a.brand, "own@example.test", "Dr. Own Price", world=world)
    make_fixed(world.a.sister, world.a.operator)
    fixed = listed(
        world.a.sister,
        "fixed@example.test",
        "Dr. Fixed",
        pricing_control="organization",
        world=world,
    )
    client = client_for(world.a.operator, world.a.brand)
    body = client.get("/org/listings/").content.decode()
    assert 'name="price"' not in body
    assert "65.00 EUR" in body and "One fixed price for the whole brand." in body
    for listing in (own, fixed):
        before = row(listing)
        response = client.post(f"/org/listings/{listing.pk}/price/", {"price": "10.00"})
        assert response.status_code == 302
        assert row(listing) == before
    page = client.get("/org/listings/").content.decode()
    assert "is not set by the organization or the brand" in page


@pytest.mark.parametrize("control", ["organization", "brand"])
def test_staff_set_the_price_where_the_organization_or_the_brand_controls_it(
    world, client_for, control
):
    listing = listed(
        world.a.brand,
        "staffprice@example.test",
        "Dr. Staff Price",
        pricing_control=control,
        world=world,
    )
    assert listing.price_minor is None
    client = client_for(world.a.operator, world.a.brand)
    body = client.get("/org/listings/").content.decode()
    assert f'id="price{listing.pk}_price"' in body and "Price on request" in body
    url = f"/org/listings/{listing.pk}/price/"

    before = row(listing)
    for bad, message in [
        ("", "Enter the price for this brand."),
        ("0", "Ensure this value is greater than or equal to 0.01."),
        ("80.505", "EUR prices have at most 2 decimal places."),
        ("abc", "Enter a number."),
    ]:
        response = client.post(url, {"price": bad})
        assert response.status_code == 400, bad
        assert message in response.content.decode(), bad
    assert row(listing) == before

    response = client.post(url, {"price": "80.50"})
    assert response.status_code == 302
    assert Listing.objects.get(pk=listing.pk).price_minor == 8050
    assert "80.50 EUR" in client.get("/org/listings/").content.decode()


@pytest.mark.parametrize(
    "who", ["org_admin", "org_staff", "finance", "patient", "specialist", "affiliate", "outsider"]
)
def test_only_operators_manage_listings(world, client_for, post_sending, who):
    listing = listed(
        world.a.brand,
        "guarded@example.test",
        "Dr. Guarded",
        pricing_control="organization",
        world=world,
    )
    user = world.outsider if who == "outsider" else world.a.people[who]
    client = client_for(user, world.a.brand)
    before = row(listing)
    assert client.get("/org/listings/").status_code in DENIED
    response = post_sending(client, f"/org/listings/{listing.pk}/status/", {"status": "approved"})
    assert response.status_code in DENIED
    response = client.post(f"/org/listings/{listing.pk}/price/", {"price": "10.00"})
    assert response.status_code in DENIED
    assert row(listing) == before and mail.outbox == []


def test_another_networks_operator_cannot_touch_the_listing(world, client_for, post_sending):
    listing = listed(
        world.a.brand,
        "net@example.test",
        "Dr. Network A",
        pricing_control="organization",
        world=world,
    )
    before = row(listing)
    for brand in (world.a.brand, world.b.brand):
        client = client_for(world.b.operator, brand)
        response = post_sending(
            client, f"/org/listings/{listing.pk}/status/", {"status": "approved"}
        )
        assert response.status_code in DENIED
        response = client.post(f"/org/listings/{listing.pk}/price/", {"price": "10.00"})
        assert response.status_code in DENIED
    assert client_for(world.b.operator, world.b.brand).get("/org/listings/").status_code == 200
    assert row(listing) == before
