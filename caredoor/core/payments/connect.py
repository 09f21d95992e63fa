"""A specialist's own Stripe account for specialist billing (Stripe Connect).

The specialist starts onboarding from their listings page: Caredoor creates an Express
account once (``POST /v1/accounts``) and sends them to Stripe's hosted onboarding
(``POST /v1/account_links``); coming back, the account is read again and its
``charges_enabled`` recorded. Until then, bookings billed through Connect are refused with
a clear message (``checkout.destination_for``). localstripe implements none of this:
there the page says Connect is not available.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from caredoor.core.compliance import audit
from caredoor.core.payments import stripe_api
from caredoor.core.payments.models import Billing, ConnectAccount
from caredoor.core.payments.pricing import billing_for
from caredoor.core.specialists.models import Listing, SpecialistProfile

ConnectUnavailable = stripe_api.ConnectUnavailable


def needs_connect(profile: SpecialistProfile) -> bool:
    """Whether any of ``profile``'s listings is charged through Stripe Connect."""
    listings = Listing.objects.filter(profile=profile).select_related("brand")
    return any(billing_for(item.brand, item) == Billing.CONNECT for item in listings)


def do_start_onboarding(
    profile: SpecialistProfile, *, refresh_url: str, return_url: str, request: Any = None
) -> str:
    """The URL of Stripe's onboarding for ``profile`` (its account made on first use).
    Raises ``ConnectUnavailable`` where Connect is not available (localstripe)."""
    account = ConnectAccount.objects.filter(profile=profile).first()
    if account is None:
        made = stripe_api.create_connect_account(profile.user.email)
        with transaction.atomic():
            account, created = ConnectAccount.objects.get_or_create(
                profile=profile, defaults={"account_id": made["id"]}
            )
            if created:
                audit.record(
                    "connect.account_created",
                    actor=profile.user,
                    role="specialist",
                    target=account,
                    request=request,
                    data={"account": account.account_id},
                )
    return stripe_api.onboarding_link(
        account.account_id, refresh_url=refresh_url, return_url=return_url
    )


def do_refresh(profile: SpecialistProfile) -> ConnectAccount | None:
    """Read the account from Stripe and record whether it can take charges."""
    account = ConnectAccount.objects.filter(profile=profile).first()
    if account is None:
        return None
    answer = stripe_api.retrieve_account(account.account_id)
    enabled = bool(answer.get("charges_enabled"))
    if enabled != account.charges_enabled:
        account.charges_enabled = enabled
        account.save(update_fields=["charges_enabled"])
    return account
