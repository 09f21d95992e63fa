"""What a listing costs a patient on its brand: one place, explained by its source."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.choices import PricingMode
from caredoor.core.brands.money import format_money
from caredoor.core.specialists.models import Listing


@dataclass(frozen=True)
class ListingPrice:
    amount_minor: int | None  # None: not set yet
    currency: str
    covered: bool  # the program pays: patients see "covered by your program"
    source: str

    @property
    def display(self) -> str:
        if self.covered:
            return str(_("Covered by your program"))
        if self.amount_minor is None:
            return str(_("Price on request"))
        return format_money(self.amount_minor, self.currency)


def listing_price(listing: Listing) -> ListingPrice:
    brand = listing.brand
    if brand.pricing_mode == PricingMode.BRAND_FIXED:
        amount = brand.fixed_price_minor
        return ListingPrice(amount, brand.currency, covered=amount == 0, source="brand")
    return ListingPrice(
        listing.price_minor, brand.currency, covered=False, source=listing.profile.pricing_control
    )
