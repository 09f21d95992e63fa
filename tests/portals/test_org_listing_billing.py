"""The operator sets a listing's commission override and, on hybrid brands, whether the
specialist is charged through Stripe Connect; the quote follows; others cannot."""

from __future__ import annotations

from decimal import Decimal

import pytest

from caredoor.core.payments import pricing
from caredoor.core.specialists.models import Listing
from tests.payments_helpers import priced

pytestmark = pytest.mark.django_db


def test_a_commission_override_changes_the_specialists_share(world, client_for):
    brand, profile, session_type = priced(world.a)
    listing = Listing.objects.get(profile=profile, brand=brand)
    client = client_for(world.a.operator, world.a.brand)
    assert "Commission override (percent)" in client.get("/org/listings/").content.decode()
    client.post(f"/org/listings/{listing.pk}/billing/", {"commission": "10"})
    listing.refresh_from_db()
    assert listing.commission_percent == Decimal(10)
    quote = pricing.quote(patient=world.a.patient, brand=brand, session_type=session_type)
    assert (quote.fee_minor, quote.share_minor) == (900, 8100)
    client.post(f"/org/listings/{listing.pk}/billing/", {"commission": ""})
    listing.refresh_from_db()
    assert listing.commission_percent is None  # the brand's again


def test_connect_billing_only_on_hybrid_brands(world, client_for):
    brand, profile, session_type = priced(world.a)
    listing = Listing.objects.get(profile=profile, brand=brand)
    client = client_for(world.a.operator, world.a.brand)
    answer = client.post(
        f"/org/listings/{listing.pk}/billing/", {"commission": "", "connect": "on"}
    )
    listing.refresh_from_db()
    assert listing.bills_via_connect is False  # no such field off hybrid brands
    brand.billing_model = "hybrid"
    brand.save()
    client.post(f"/org/listings/{listing.pk}/billing/", {"commission": "", "connect": "on"})
    listing.refresh_from_db()
    assert listing.bills_via_connect is True
    quote = pricing.quote(patient=world.a.patient, brand=brand, session_type=session_type)
    assert quote.billing == "connect"
    assert answer.status_code == 302


@pytest.mark.parametrize("who", ["org_admin", "org_staff", "finance", "specialist", "b_operator"])
def test_only_the_operator_sets_billing(world, client_for, who):
    brand, profile, _ = priced(world.a)
    listing = Listing.objects.get(profile=profile, brand=brand)
    user = world.b.operator if who == "b_operator" else getattr(world.a, who)
    client = client_for(user, world.a.brand)
    answer = client.post(f"/org/listings/{listing.pk}/billing/", {"commission": "1"})
    assert answer.status_code in (403, 404)
    listing.refresh_from_db()
    assert listing.commission_percent is None


def test_a_bad_percentage_changes_nothing(world, client_for):
    brand, profile, _ = priced(world.a)
    listing = Listing.objects.get(profile=profile, brand=brand)
    client = client_for(world.a.operator, world.a.brand)
    answer = client.post(f"/org/listings/{listing.pk}/billing/", {"commission": "120"})
    assert answer.status_code == 400
    listing.refresh_from_db()
    assert listing.commission_percent is None
