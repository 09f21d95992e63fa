"""What one session of a session type costs on a brand, under the listing's pricing rules.

Where the specialist sets prices on the brand (the brand lets specialists price and the
specialist controls their pricing), a session type's own price wins over the listing's;
everywhere else -- a brand's fixed price, a covered program, staff-set prices -- the
listing's price applies and the session type's price is ignored.
"""

from __future__ import annotations

from dataclasses import replace

from caredoor.core.brands.models import Brand
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.actions import specialist_sets_price
from caredoor.core.specialists.models import Listing
from caredoor.core.specialists.pricing import ListingPrice, listing_price


def session_price(session_type: SessionType, brand: Brand) -> ListingPrice:
    listing = Listing.objects.select_related("brand", "profile").get(
        brand=brand, profile_id=session_type.profile_id
    )
    price = listing_price(listing)
    if (
        session_type.price_minor is not None
        and not price.covered
        and specialist_sets_price(listing.profile, brand)
    ):
        return replace(price, amount_minor=session_type.price_minor, source="session_type")
    return price
