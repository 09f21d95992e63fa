"""Finding calendar feeds: by the secret in a URL, or the specialist's own."""

from __future__ import annotations

import re

from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import Role
from caredoor.core.brands.models import Brand
from caredoor.core.calendars.actions import hash_token
from caredoor.core.calendars.models import CalendarFeed
from caredoor.core.specialists.models import SpecialistProfile

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


def feed_of(profile: SpecialistProfile) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(profile=profile).first()


def feed_for_token(token: str, brand: Brand) -> CalendarFeed | None:
    """The feed whose secret is ``token``, served on ``brand``: only on a brand of the
    profile's own network, and only while the person still holds the specialist role
    there. Anything else is None (the caller answers 404 for all alike)."""
    if not TOKEN_RE.match(token):
        return None
    feed = (
        CalendarFeed.objects.select_related("profile", "profile__user")
        .filter(token_hash=hash_token(token), profile__network_id=brand.network_id)
        .first()
    )
    if feed is None:
        return None
    still_specialist = (
        Membership.objects.active()
        .filter(user_id=feed.profile.user_id, network_id=brand.network_id, role=Role.SPECIALIST)
        .exists()
    )
    return feed if still_specialist else None
