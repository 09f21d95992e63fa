"""What a listing costs a patient on its brand: one place, explained by its source."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.choices import CURRENCIES, PricingMode
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
        exponent = CURRENCIES.get(self.currency, 2)
        major = Decimal(self.amount_minor).scaleb(-exponent)
        amount = number_format(major, decimal_pos=exponent, use_l10n=True, force_grouping=True)
        return f"{amount} {self.currency}"


def listing_price(listing: Listing) -> ListingPrice:
    brand = listing.brand
    if brand.pricing_mode == PricingMode.BRAND_FIXED:
        amount = brand.fixed_price_minor
        return ListingPrice(amount, brand.currency, covered=amount == 0, source="brand")
    return ListingPrice(
        listing.price_minor, brand.currency, covered=False, source=listing.profile.pricing_control
    )
