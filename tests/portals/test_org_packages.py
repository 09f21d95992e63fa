"""The Packages page of the organization portal: the operator organization's money people
(operators and finance) list a brand's package offers with what was sold and what is in
use, create, edit, retire and re-offer them. Validation names the field and writes nothing;
a sold offer keeps its specialist, sessions and price; every write is audited. Everybody
else gets 404 (a role in the portal) or the 403 page (none), and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from caredoor.core.compliance.models import AuditEvent
from caredoor.core.payments import package_offers, packages
from caredoor.core.payments.models import (
    PackageOffer,
    PackagePurchase,
    PackageStatus,
    PaymentStatus,
)
from caredoor.core.specialists.models import Listing
from tests import factories
from tests.conftest import ROLES
from tests.org_money_helpers import clinic_member, finance_of_operator, second_specialist
from tests.payments_helpers import pay, priced

pytestmark = pytest.mark.django_db

GOOD = {"name": "Five sessions", "sessions": "5", "price": "400.00", "valid_days": "180"}


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


def make_offer(brand, profile, **fields) -> PackageOffer:  # type: ignore[no-untyped-def]
    values = {"name": "Three sessions", "sessions": 3, "price_minor": 25000, **fields}
    return PackageOffer.objects.create(
        brand=brand, profile=profile, currency=brand.currency, **values
    )


def bought(patient, offer, status=PackageStatus.PENDING, days_left=30):  # type: ignore[no-untyped-def]
    """A purchase of ``offer`` by ``patient`` (not paid), or one put in ``status`` as the
    checkout, uses and expiry would (paid, ending in ``days_left`` days)."""
    purchase = packages.do_buy(offer, patient=patient, brand=offer.brand)
    if status != PackageStatus.PENDING:
        purchase.payment.status = PaymentStatus.SUCCEEDED
        purchase.payment.save(update_fields=["status"])
        purchase.status = status
        purchase.expires_at = timezone.now() + timedelta(days=days_left)
        purchase.save(update_fields=["status", "expires_at"])
    return purchase


def snapshot() -> tuple[Any, ...]:
    """Everything a write on this page could change."""
    return (
        AuditEvent.objects.count(),
        tuple(
            PackageOffer.objects.order_by("pk").values_list(
                "pk",
                "brand_id",
                "profile_id",
                "name",
                "sessions",
                "price_minor",
                "currency",
                "valid_days",
                "is_active",
            )
        ),
    )


@pytest.fixture
def shop(world):  # type: ignore[no-untyped-def]
    """Brand A takes payments; Dr. Listed (platform billing) and Dr. Second are listed.
    An offer of Dr. Listed on sale, and Brand B with an offer of its own."""
    brand, profile, _type = priced(world.a)
    second, _second_type = second_specialist(world.a)
    offer = make_offer(brand, profile)
    b_brand, b_profile, _b_type = priced(world.b)
    b_offer = make_offer(b_brand, b_profile, name="B's package")
    return SimpleNamespace(
        brand=brand,
        profile=profile,
        second=second,
        offer=offer,
        b_offer=b_offer,
        finance=finance_of_operator(world.a),
    )


# --- the list -------------------------------------------------------------------------------


def another_patient(world, tag: str):  # type: ignore[no-untyped-def]
    user = factories.make_user(f"{tag}@example.test")
    factories.grant(user, "patient", network=world.a.network, brand=world.a.brand)
    return user


def test_the_list_shows_each_offer_with_sold_and_active(world, client_for, shop):
    bought(world.a.patient, shop.offer, PackageStatus.ACTIVE)
    bought(another_patient(world, "p2"), shop.offer, PackageStatus.ACTIVE, days_left=-1)
    bought(another_patient(world, "p3"), shop.offer, PackageStatus.USED_UP)
    bought(another_patient(world, "p4"), shop.offer)  # waiting for payment
    retired = make_offer(shop.brand, shop.second, name="Old ten", sessions=10, is_active=False)

    response = client_for(shop.finance, world.a.brand).get("/org/packages/")
    assert response.status_code == 200
    page = body(response)
    assert "<h1>Packages</h1>" in page
    assert "Package offers of Brand A" in page
    row = page.split("Three sessions", 1)[1].split("</tr>", 1)[0]
    assert "Dr. Listed" in row and "250.00 EUR" in row and "83.33 EUR a session" in row
    cells = [c.split("<", 1)[0].strip() for c in row.split('<td class="cell-end">')[1:]]
    assert cells == ["3", "3", "1"]  # sessions; sold (active, expired, used up); active now
    assert "1 waiting for payment" in row and "On sale" in row
    old = page.split("Old ten", 1)[1].split("</tr>", 1)[0]
    assert "Dr. Second" in old and "Retired" in old and "Sell again" in old
    assert page.index("Three sessions") < page.index("Old ten")  # on sale first
    assert f"/org/packages/{retired.pk}/" in page
    # Another network's offers never show.
    assert "B's package" not in page
    assert 'aria-current="page"' in page and ">Packages</a>" in page


def test_the_list_says_why_an_offer_is_not_on_sale(world, client_for, shop):
    client = client_for(world.a.operator, world.a.brand)
    Listing.objects.filter(brand=shop.brand, profile=shop.second).update(status="hidden")
    make_offer(shop.brand, shop.second, name="Hidden one")
    page = body(client.get("/org/packages/"))
    assert "The specialist is not listed on this brand." in page

    shop.brand.billing_model = "hybrid"
    shop.brand.save()
    Listing.objects.filter(brand=shop.brand, profile=shop.profile).update(bills_via_connect=True)
    page = body(client.get("/org/packages/"))
    assert "The specialist bills patients through their own Stripe account." in page

    shop.brand.currency = "USD"
    shop.brand.modules = []
    shop.brand.save()
    page = body(client.get("/org/packages/"))
    assert "Priced in EUR; the brand now takes USD." in page
    assert "Brand A does not take payments" in page


def test_the_brand_is_chosen_among_the_networks_brands(world, client_for, shop):
    client = client_for(shop.finance, world.a.brand)
    sister = body(client.get(f"/org/packages/?brand={world.a.sister.pk}"))
    assert "Package offers of Sister A" in sister and "Three sessions" not in sister
    assert "No package offers yet." in sister
    assert "No specialist can be offered in packages on Sister A yet" in sister
    assert client.get(f"/org/packages/?brand={world.b.brand.pk}").status_code == 404
    assert client.get("/org/packages/?brand=x").status_code == 404
    console = client_for(world.a.operator, None, host="localhost")
    page = body(console.get("/org/packages/"))
    assert "Package offers of Brand A" in page  # the first brand of the network
    assert console.get(f"/org/packages/{shop.offer.pk}/").status_code == 200


# --- creating -------------------------------------------------------------------------------


def test_finance_creates_an_offer_that_patients_can_buy(world, client_for, shop):
    client = client_for(shop.finance, world.a.brand)
    page = body(client.get("/org/packages/"))
    assert 'name="profile"' in page and "Price in EUR" in page
    assert f'<option value="{shop.second.pk}">Dr. Second</option>' in page
    response = client.post(
        f"/org/packages/brands/{shop.brand.pk}/new/",
        {**GOOD, "profile": str(shop.second.pk), "name": "  Five   sessions "},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/org/packages/?brand={shop.brand.pk}"
    assert "The package offer “Five sessions” was created on Brand A." in body(response)
    offer = PackageOffer.objects.get(name="Five sessions")
    assert (offer.profile, offer.sessions, offer.price_minor, offer.currency) == (
        shop.second,
        5,
        40000,
        "EUR",
    )
    assert offer.valid_days == 180 and offer.is_active and offer.brand == shop.brand
    event = AuditEvent.objects.get(action="package_offer.created")
    assert event.actor == shop.finance and event.actor_role == "finance"
    assert event.brand_id == shop.brand.pk and event.target_id == str(offer.pk)
    assert event.data["price_minor"] == 40000 and event.data["sessions"] == 5
    # The patient side offers it.
    assert offer in packages.offers_for(shop.brand, shop.second.pk)
    patient_page = body(
        client_for(world.a.patient, world.a.brand).get(f"/specialists/{shop.second.pk}/packages/")
    )
    assert "Five sessions" in patient_page and "400.00 EUR" in patient_page
    assert "80.00 EUR" in patient_page and "180 days from payment" in patient_page


def test_a_decimal_comma_and_a_currency_without_decimals(world, client_for, shop):
    client = client_for(world.a.operator, world.a.brand)
    client.post(
        f"/org/packages/brands/{shop.brand.pk}/new/",
        {**GOOD, "profile": str(shop.profile.pk), "price": "99,5"},
    )
    assert PackageOffer.objects.get(name="Five sessions").price_minor == 9950

    sister = world.a.sister
    sister.currency = "JPY"
    sister.save()
    Listing.objects.create(profile=shop.profile, brand=sister, status="approved")
    url = f"/org/packages/brands/{sister.pk}/new/"
    data = {**GOOD, "profile": str(shop.profile.pk), "name": "Yen"}
    refused = client.post(url, {**data, "price": "12000.5"})
    assert refused.status_code == 400
    assert "JPY amounts have at most 0 decimal places." in body(refused)
    assert "Price in JPY" in body(refused)
    client.post(url, {**data, "price": "12000"})
    offer = PackageOffer.objects.get(name="Yen")
    assert (offer.price_minor, offer.currency) == (12000, "JPY")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"profile": ""}, "profile", "Choose a specialist listed on Brand A."),
        ({"profile": "999999"}, "profile", "Choose a specialist listed on Brand A."),
        ({"name": "   "}, "name", "Enter a name patients will see"),
        ({"name": "x" * 121}, "name", "at most 120 characters"),
        ({"sessions": "1"}, "sessions", "A package has 2 to 50 sessions."),
        ({"sessions": "51"}, "sessions", "A package has 2 to 50 sessions."),
        ({"sessions": ""}, "sessions", "A package has 2 to 50 sessions."),
        ({"sessions": "2.5"}, "sessions", "Enter a whole number."),
        ({"price": ""}, "price", "Enter the price of the whole package."),
        ({"price": "abc"}, "price", "Enter an amount as a number, for example 25.00."),
        ({"price": "400.001"}, "price", "EUR amounts have at most 2 decimal places."),
        ({"price": "0"}, "price", "Enter an amount above zero."),
        ({"price": "-10"}, "price", "Enter an amount above zero."),
        ({"price": "1000000.01"}, "price", "Enter a price of at most 1,000,000 EUR."),
        ({"price": "0.04"}, "price", "at least the smallest amount of EUR per session"),
        ({"valid_days": "0"}, "valid_days", "A package is valid for 1 to 3650 days"),
        ({"valid_days": "3651"}, "valid_days", "A package is valid for 1 to 3650 days"),
        ({"valid_days": ""}, "valid_days", "A package is valid for 1 to 3650 days"),
    ],
)
def test_bad_offers_are_refused_and_write_nothing(world, client_for, shop, data, field, message):
    before = snapshot()
    response = client_for(shop.finance, world.a.brand).post(
        f"/org/packages/brands/{shop.brand.pk}/new/",
        {**GOOD, "profile": str(shop.profile.pk), **data},
    )
    assert response.status_code == 400
    page = body(response)
    assert "Nothing was saved" in page
    assert message in page
    assert f'id="id_{field}_error"' in page  # on the field it is about
    assert snapshot() == before


def test_every_mistake_is_named_at_once(world, client_for, shop):
    response = client_for(shop.finance, world.a.brand).post(
        f"/org/packages/brands/{shop.brand.pk}/new/",
        {"profile": "", "name": "", "sessions": "1", "price": "x", "valid_days": "0"},
    )
    page = body(response)
    for field in ("profile", "name", "sessions", "price", "valid_days"):
        assert f'id="id_{field}_error"' in page, field


def test_specialists_who_cannot_sell_packages_are_refused(world, shop):
    """The core's own checks (the form offers only specialists who can)."""
    before = snapshot()
    fields = {"name": "X", "sessions": 3, "price_minor": 3000, "valid_days": 30}
    other_network = PackageOffer.objects.get(pk=shop.b_offer.pk).profile_id
    with pytest.raises(ValidationError) as caught:
        package_offers.do_create_offer(
            shop.brand, {**fields, "profile_id": other_network}, world.a.operator
        )
    assert caught.value.message_dict["profile_id"] == ["Choose a specialist listed on Brand A."]
    Listing.objects.filter(brand=shop.brand, profile=shop.second).update(status="removed")
    with pytest.raises(ValidationError):
        package_offers.do_create_offer(
            shop.brand, {**fields, "profile_id": shop.second.pk}, world.a.operator
        )
    shop.brand.billing_model = "specialist"
    shop.brand.save()
    with pytest.raises(ValidationError) as caught:
        package_offers.do_create_offer(
            shop.brand, {**fields, "profile_id": shop.profile.pk}, world.a.operator
        )
    assert "only for specialists the platform bills" in caught.value.messages[0]
    with pytest.raises(ValueError):
        package_offers.do_create_offer(
            shop.brand, {**fields, "is_active": False, "profile_id": 1}, world.a.operator
        )
    assert snapshot() == before


# --- editing --------------------------------------------------------------------------------


def test_an_unsold_offer_changes_in_full(world, client_for, shop):
    client = client_for(shop.finance, world.a.brand)
    url = f"/org/packages/{shop.offer.pk}/"
    page = body(client.get(url))
    assert "Package offer “Three sessions”" in page
    assert 'value="250.00"' in page and 'value="3"' in page and 'name="profile"' in page
    response = client.post(
        url,
        {
            "profile": str(shop.second.pk),
            "name": "Four sessions",
            "sessions": "4",
            "price": "320",
            "valid_days": "90",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/org/packages/?brand={shop.brand.pk}"
    assert "The package offer “Four sessions” was saved." in body(response)
    offer = PackageOffer.objects.get(pk=shop.offer.pk)
    assert (offer.profile, offer.name, offer.sessions, offer.price_minor, offer.valid_days) == (
        shop.second,
        "Four sessions",
        4,
        32000,
        90,
    )
    event = AuditEvent.objects.get(action="package_offer.changed")
    assert event.actor == shop.finance
    assert event.data["fields"] == ["name", "price_minor", "profile_id", "sessions", "valid_days"]
    assert event.data["old"]["price_minor"] == 25000 and event.data["new"]["price_minor"] == 32000

    events = AuditEvent.objects.count()
    same = client.post(
        url,
        {
            "profile": str(shop.second.pk),
            "name": "Four sessions",
            "sessions": "4",
            "price": "320.00",
            "valid_days": "90",
        },
        follow=True,
    )
    assert "Nothing changed." in body(same)
    assert AuditEvent.objects.count() == events


def test_a_bad_edit_writes_nothing(world, client_for, shop):
    before = snapshot()
    response = client_for(shop.finance, world.a.brand).post(
        f"/org/packages/{shop.offer.pk}/",
        {**GOOD, "profile": str(shop.profile.pk), "name": "", "valid_days": "0"},
    )
    assert response.status_code == 400
    page = body(response)
    assert "Enter a name patients will see" in page and "1 to 3650 days" in page
    assert snapshot() == before


def test_a_sold_offer_keeps_its_specialist_sessions_and_price(world, client_for, shop):
    bought(world.a.patient, shop.offer)  # bought, not paid yet: already fixed
    client = client_for(shop.finance, world.a.brand)
    url = f"/org/packages/{shop.offer.pk}/"
    page = body(client.get(url))
    assert "Patients have bought this offer" in page
    assert 'name="price"' not in page and 'name="sessions"' not in page
    assert 'name="profile"' not in page and 'name="name"' in page
    response = client.post(
        url,
        {
            "name": "Three (spring)",
            "valid_days": "400",
            "price": "1.00",  # not a field here: ignored
            "sessions": "50",
            "profile": str(shop.second.pk),
        },
        follow=True,
    )
    assert "was saved" in body(response)
    offer = PackageOffer.objects.get(pk=shop.offer.pk)
    assert (offer.name, offer.valid_days) == ("Three (spring)", 400)
    assert (offer.profile, offer.sessions, offer.price_minor) == (shop.profile, 3, 25000)

    # The core refuses the terms outright, and writes nothing.
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        package_offers.do_update_offer(
            offer,
            {
                "profile_id": shop.profile.pk,
                "name": "Cheap",
                "sessions": 3,
                "price_minor": 100,
                "valid_days": 400,
            },
            world.a.operator,
        )
    assert set(caught.value.message_dict) == {"price_minor"}
    assert snapshot() == before


def test_a_sale_between_showing_and_saving_keeps_the_terms(world, client_for, shop, monkeypatch):
    """The page offered the terms (nobody had bought it); a patient buys before the save:
    the save is refused on those fields and writes nothing."""
    real = package_offers.is_sold
    calls: list[bool] = []

    def sold_later(offer):  # type: ignore[no-untyped-def]
        if not calls:
            calls.append(True)
            bought(world.a.patient, offer)
            return False  # what the view saw
        return real(offer)

    monkeypatch.setattr(package_offers, "is_sold", sold_later)
    before = snapshot()
    response = client_for(shop.finance, world.a.brand).post(
        f"/org/packages/{shop.offer.pk}/",
        {**GOOD, "profile": str(shop.profile.pk), "name": "Three sessions", "sessions": "3"},
    )
    assert response.status_code == 400
    page = body(response)
    assert "Patients have bought this offer" in page
    assert 'id="id_price_error"' in page  # the refused field is shown with its reason
    assert snapshot()[1] == before[1]
    assert not AuditEvent.objects.filter(action="package_offer.changed").exists()


def test_a_sold_offers_name_may_change_after_its_specialist_left(world, client_for, shop):
    bought(world.a.patient, shop.offer, PackageStatus.ACTIVE)
    Listing.objects.filter(brand=shop.brand, profile=shop.profile).update(status="removed")
    response = client_for(shop.finance, world.a.brand).post(
        f"/org/packages/{shop.offer.pk}/", {"name": "Renamed", "valid_days": "365"}
    )
    assert response.status_code == 302
    assert PackageOffer.objects.get(pk=shop.offer.pk).name == "Renamed"


# --- retiring and selling again -------------------------------------------------------------


def test_retire_and_sell_again(world, client_for, shop):
    purchase = bought(world.a.patient, shop.offer, PackageStatus.ACTIVE)
    client = client_for(shop.finance, world.a.brand)
    response = client.post(f"/org/packages/{shop.offer.pk}/retire/", follow=True)
    assert "The package offer “Three sessions” is retired" in body(response)
    offer = PackageOffer.objects.get(pk=shop.offer.pk)
    assert not offer.is_active
    assert PackagePurchase.objects.get(pk=purchase.pk).status == PackageStatus.ACTIVE
    assert packages.offers_for(shop.brand, shop.profile.pk) == []
    patient = client_for(world.a.patient, world.a.brand)
    assert (
        "Three sessions"
        not in body(patient.get(f"/specialists/{shop.profile.pk}/packages/")).split(
            "Packages on offer", 1
        )[1]
    )
    buy = f"/specialists/{shop.profile.pk}/packages/{offer.pk}/buy/"
    assert patient.post(buy).status_code == 404

    again = client.post(f"/org/packages/{shop.offer.pk}/retire/", follow=True)
    assert "is already retired" in body(again)
    assert AuditEvent.objects.filter(action="package_offer.retired").count() == 1

    back = client.post(f"/org/packages/{shop.offer.pk}/offer-again/", follow=True)
    assert "is on sale again" in body(back)
    assert PackageOffer.objects.get(pk=shop.offer.pk).is_active
    assert AuditEvent.objects.filter(action="package_offer.offered_again").count() == 1
    twice = client.post(f"/org/packages/{shop.offer.pk}/offer-again/", follow=True)
    assert "is already on sale" in body(twice)


def test_an_offer_that_can_no_longer_be_sold_is_not_offered_again(world, client_for, shop):
    package_offers.do_retire_offer(shop.offer, world.a.operator)
    shop.brand.currency = "USD"
    shop.brand.save()
    client = client_for(shop.finance, world.a.brand)
    before = snapshot()
    response = client.post(f"/org/packages/{shop.offer.pk}/offer-again/", follow=True)
    assert "priced in EUR and the brand now takes USD" in body(response)
    assert snapshot() == before
    shop.brand.currency = "EUR"
    shop.brand.save()
    Listing.objects.filter(brand=shop.brand, profile=shop.profile).update(status="removed")
    response = client.post(f"/org/packages/{shop.offer.pk}/offer-again/", follow=True)
    assert "no longer listed here under platform billing" in body(response)
    assert snapshot() == before


def test_an_offer_retired_after_the_page_was_shown_is_not_sold(world, shop):
    shown = PackageOffer.objects.get(pk=shop.offer.pk)  # what the patient's page read
    package_offers.do_retire_offer(shop.offer, world.a.operator)
    with pytest.raises(ValidationError):
        packages.do_buy(shown, patient=world.a.patient, brand=shop.brand)
    assert not PackagePurchase.objects.exists()


def test_a_paid_package_of_a_changed_offer_keeps_what_was_bought(world, shop, localstripe):
    purchase = packages.do_buy(shop.offer, patient=world.a.patient, brand=shop.brand)
    package_offers.do_update_offer(
        shop.offer,
        {
            "profile_id": shop.profile.pk,
            "name": "Renamed",
            "sessions": 3,
            "price_minor": 25000,
            "valid_days": 10,
        },
        world.a.operator,
    )
    pay(world.a, purchase.payment, localstripe)
    purchase.refresh_from_db()
    assert purchase.status == PackageStatus.ACTIVE and purchase.sessions_total == 3
    assert purchase.payment.amount_minor == 25000
    # The validity in force when it was paid.
    assert timedelta(days=9) < purchase.expires_at - timezone.now() <= timedelta(days=10)


# --- who may --------------------------------------------------------------------------------


def person(world, shop, who: str):  # type: ignore[no-untyped-def]
    if who == "outsider":
        return world.outsider
    if who == "a.ops_finance":
        return shop.finance
    if who == "b.ops_finance":
        return finance_of_operator(world.b)
    side, _, role = who.partition(".")
    return getattr(world, side).people[role]


def expected(who: str) -> int:
    """On Brand A's host."""
    if who in ("a.operator", "a.ops_finance"):
        return 200
    if who in ("a.org_admin", "a.org_staff", "a.finance"):
        return 404  # a role in the portal, held in the clinic: no money
    return 403  # no role in the organization portal on this brand


EVERYONE = [f"a.{r}" for r in ROLES] + [f"b.{r}" for r in ROLES] + ["outsider", "a.ops_finance"]


def pages(shop) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"list": "/org/packages/", "edit": f"/org/packages/{shop.offer.pk}/"}


def writes(shop, brand_id: int) -> dict[str, tuple[str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    attack = {
        "profile": str(shop.profile.pk),
        "name": "Attack",
        "sessions": "2",
        "price": "0.02",
        "valid_days": "1",
    }
    return {
        "create": (f"/org/packages/brands/{brand_id}/new/", attack),
        "edit": (f"/org/packages/{shop.offer.pk}/", attack),
        "retire": (f"/org/packages/{shop.offer.pk}/retire/", {}),
        "again": (f"/org/packages/{shop.b_offer.pk}/offer-again/", {}),
    }


@pytest.mark.parametrize("who", EVERYONE)
def test_every_page_answers_only_the_operator_organization(world, client_for, shop, who):
    client = client_for(person(world, shop, who), world.a.brand)
    for name, url in pages(shop).items():
        response = client.get(url)
        assert response.status_code == expected(who), (who, name)
        if response.status_code != 200:
            assert "Three sessions" not in body(response)


@pytest.mark.parametrize("who", EVERYONE)
def test_forbidden_writes_change_nothing(world, client_for, shop, who):
    if expected(who) == 200:
        return
    client = client_for(person(world, shop, who), world.a.brand)
    for name, (url, data) in writes(shop, shop.brand.pk).items():
        before = snapshot()
        response = client.post(url, data)
        assert response.status_code == expected(who), (who, name)
        assert snapshot() == before, (who, name)


@pytest.mark.parametrize("role", ["operator", "finance"])
def test_the_other_networks_money_people_reach_nothing_of_brand_a(world, client_for, shop, role):
    user = world.b.operator if role == "operator" else finance_of_operator(world.b)
    client = client_for(user, world.b.brand)
    own = body(client.get("/org/packages/"))
    assert "B's package" in own and "Three sessions" not in own
    assert client.get(f"/org/packages/?brand={shop.brand.pk}").status_code == 404
    assert client.get(f"/org/packages/{shop.offer.pk}/").status_code == 404
    for name, (url, data) in writes(shop, shop.brand.pk).items():
        if name == "again":  # their own offer: not an attack
            continue
        before = snapshot()
        assert client.post(url, data).status_code == 404, name
        assert snapshot() == before, name


def test_a_clinics_admin_and_finance_person_get_404(world, client_for, shop):
    for user in (clinic_member(world.a, "org_admin"), world.a.finance):
        client = client_for(user, world.a.brand)
        before = snapshot()
        assert client.get("/org/packages/").status_code == 404
        assert client.post(f"/org/packages/{shop.offer.pk}/retire/").status_code == 404
        assert snapshot() == before


def test_get_is_refused_on_the_writes(world, client_for, shop):
    client = client_for(world.a.operator, world.a.brand)
    for url in (
        f"/org/packages/brands/{shop.brand.pk}/new/",
        f"/org/packages/{shop.offer.pk}/retire/",
        f"/org/packages/{shop.offer.pk}/offer-again/",
    ):
        assert client.get(url).status_code == 405
    assert PackageOffer.objects.get(pk=shop.offer.pk).is_active


def test_navigation_offers_packages_to_the_operator_organization_only(world, client_for, shop):
    for user in (world.a.operator, shop.finance):
        assert ">Packages</a>" in body(client_for(user, world.a.brand).get("/org/"))
    for user in (world.a.org_admin, world.a.finance, world.a.org_staff):
        assert ">Packages</a>" not in body(client_for(user, world.a.brand).get("/org/"))
