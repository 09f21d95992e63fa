"""Emails to specialists about decisions. They say what happened and link to the portal;
they carry no reviewer notes beyond the reason, and never any patient data."""

from __future__ import annotations

from caredoor.core.accounts.emails import send_branded
from caredoor.core.brands.queries import brand_url
from caredoor.core.specialists.models import Listing, ReviewDecision


def _portal_link(brand) -> str:  # type: ignore[no-untyped-def]
    return brand_url(brand, "/specialist/")


def review_decided(decision_id: int) -> None:
    record = ReviewDecision.objects.select_related("profile__user", "profile__registered_on").get(
        pk=decision_id
    )
    profile = record.profile
    send_branded(
        brand=profile.registered_on,
        to=profile.user.email,
        template="specialists/email/review_decision",
        language=profile.user.language,
        context={
            "decision": record,
            "profile": profile,
            "link": _portal_link(profile.registered_on),
        },
    )


def listing_decided(listing_id: int) -> None:
    listing = Listing.objects.select_related("profile__user", "brand").get(pk=listing_id)
    send_branded(
        brand=listing.brand,
        to=listing.profile.user.email,
        template="specialists/email/listing_decision",
        language=listing.profile.user.language,
        context={"listing": listing, "link": _portal_link(listing.brand)},
    )
