"""Package offers of a brand, set up by the operator organization's money people (the
organization portal's Packages page; docs/payments.md, "Packages of sessions").

An offer is ``sessions`` sessions (2-50) with one specialist listed on the brand, for a
price in the brand's currency (minor units), valid ``valid_days`` days from payment.
Offers are never deleted (purchases refer to them): an offer is retired (no longer on
sale) and may be put on sale again.

Once anybody has bought an offer (a purchase exists, even one still waiting for payment),
its specialist, number of sessions and price are what was bought and stay as they are:
to sell other terms, retire it and create a new offer. Its name and validity may still
change (the validity applies to packages paid from then on; paid ones keep their end).

Every write locks the offer, validates everything first (nothing is written when anything
is wrong) and is audited in its transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from caredoor.core.accounts.models import Membership
from caredoor.core.brands.models import Brand
from caredoor.core.brands.money import exponent
from caredoor.core.compliance import audit
from caredoor.core.payments.access import finance_brands
from caredoor.core.payments.models import (
    Billing,
    PackageOffer,
    PackagePurchase,
    PackageStatus,
    PaymentStatus,
)
from caredoor.core.payments.pricing import billing_for
from caredoor.core.specialists.choices import ListingStatus
from caredoor.core.specialists.models import Listing

FIELDS = ("profile_id", "name", "sessions", "price_minor", "valid_days")
# What a sold offer keeps: what its buyers paid for.
SOLD_TERMS = ("profile_id", "sessions", "price_minor")
MIN_SESSIONS, MAX_SESSIONS = 2, 50
MIN_DAYS, MAX_DAYS = 1, 3650
MAX_PRICE_MAJOR = 1_000_000
NAME_LENGTH = 120

PAID_STATUSES = (
    PackageStatus.ACTIVE,
    PackageStatus.USED_UP,
    PackageStatus.EXPIRED,
    PackageStatus.REFUNDED,
)


# --- reads ------------------------------------------------------------------------------------


def offers_of(brand: Brand) -> QuerySet[PackageOffer]:
    """The brand's offers, on sale first, each with ``sold`` (paid purchases), ``active``
    (paid, with time left: sessions may still be used) and ``waiting`` (bought, not paid
    yet) purchase counts."""
    now = timezone.now()
    return (
        PackageOffer.objects.filter(brand=brand)
        .select_related("profile", "profile__user", "profile__published")
        .annotate(
            sold=Count("purchases", filter=Q(purchases__status__in=PAID_STATUSES)),
            active=Count(
                "purchases",
                filter=Q(purchases__status=PackageStatus.ACTIVE, purchases__expires_at__gt=now),
            ),
            waiting=Count(
                "purchases",
                filter=Q(purchases__status=PackageStatus.PENDING)
                & ~Q(purchases__payment__status=PaymentStatus.CANCELED),
            ),
        )
        .order_by("-is_active", "profile_id", "sessions", "pk")
    )


def access_offer(membership: Membership, pk: int) -> PackageOffer:
    """An offer on a brand whose money ``membership`` may handle; 404 otherwise."""
    offer = (
        PackageOffer.objects.filter(pk=pk, brand__in=finance_brands(membership))
        .select_related("brand", "profile", "profile__user", "profile__published")
        .first()
    )
    if offer is None:
        raise Http404
    return offer


def is_sold(offer: PackageOffer) -> bool:
    """Anybody bought it (paid or not): its terms are fixed."""
    return PackagePurchase.objects.filter(offer_id=offer.pk).exists()


def eligible_listings(brand: Brand) -> list[Listing]:
    """Listings of specialists who may be offered in packages on ``brand``: listed here
    (not removed) and billed by the platform (packages are sold under platform billing)."""
    rows = (
        Listing.objects.filter(brand=brand)
        .exclude(status=ListingStatus.REMOVED)
        .select_related("profile", "profile__user", "profile__published")
        .order_by("profile__display_name", "pk")
    )
    return [listing for listing in rows if sells_packages(brand, listing)]


def sells_packages(brand: Brand, listing: Listing) -> bool:
    return listing.status != ListingStatus.REMOVED and (
        billing_for(brand, listing) == Billing.PLATFORM
    )


def max_price_minor(currency: str) -> int:
    return MAX_PRICE_MAJOR * 10 ** exponent(currency)


# --- validation -------------------------------------------------------------------------------


def specialist_error(brand: Brand) -> str:
    return _("Choose a specialist listed on %(brand)s.") % {"brand": brand.name}


def name_error() -> str:
    return _("Enter a name patients will see, for example “Five sessions”.")


def sessions_error() -> str:
    return _("A package has %(min)s to %(max)s sessions.") % {
        "min": MIN_SESSIONS,
        "max": MAX_SESSIONS,
    }


def days_error() -> str:
    return _("A package is valid for %(min)s to %(max)s days from payment.") % {
        "min": MIN_DAYS,
        "max": MAX_DAYS,
    }


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _clean(
    brand: Brand, fields: dict[str, Any], *, kept_profile_id: int | None = None
) -> dict[str, Any]:
    """Every field checked, all errors at once (keyed by the names in ``FIELDS``). The
    specialist must be one who can sell packages here, unless it is ``kept_profile_id``
    (an edit that keeps the offer's specialist: its name or validity may still change)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown package offer fields: {sorted(unknown)}")
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    profile_id = _as_int(fields.get("profile_id"))
    listing = (
        Listing.objects.filter(brand=brand, profile_id=profile_id).first()
        if profile_id is not None
        else None
    )
    if profile_id is not None and profile_id == kept_profile_id:
        pass
    elif listing is None or listing.status == ListingStatus.REMOVED:
        errors["profile_id"] = specialist_error(brand)
    elif not sells_packages(brand, listing):
        errors["profile_id"] = _(
            "Packages are sold only for specialists the platform bills. This specialist "
            "bills patients through their own Stripe account."
        )
    values["profile_id"] = profile_id

    name = " ".join(str(fields.get("name") or "").split())
    if not name:
        errors["name"] = name_error()
    elif len(name) > NAME_LENGTH:
        errors["name"] = _("Use at most %(n)s characters.") % {"n": NAME_LENGTH}
    values["name"] = name

    sessions = _as_int(fields.get("sessions"))
    if sessions is None or not MIN_SESSIONS <= sessions <= MAX_SESSIONS:
        errors["sessions"] = sessions_error()
    values["sessions"] = sessions

    price = _as_int(fields.get("price_minor"))
    if price is None or price < 1:
        errors["price_minor"] = _("Enter a price above zero.")
    elif price > max_price_minor(brand.currency):
        errors["price_minor"] = _("Enter a price of at most %(max)s %(currency)s.") % {
            "max": number_format(MAX_PRICE_MAJOR, force_grouping=True),
            "currency": brand.currency,
        }
    elif sessions is not None and "sessions" not in errors and price < sessions:
        errors["price_minor"] = _(
            "The price must be at least the smallest amount of %(currency)s per session."
        ) % {"currency": brand.currency}
    values["price_minor"] = price

    days = _as_int(fields.get("valid_days"))
    if days is None or not MIN_DAYS <= days <= MAX_DAYS:
        errors["valid_days"] = days_error()
    values["valid_days"] = days

    if errors:
        raise ValidationError(errors)
    return values


def _snapshot(offer: PackageOffer) -> dict[str, Any]:
    return {
        "profile": offer.profile_id,
        "name": offer.name,
        "sessions": offer.sessions,
        "price_minor": offer.price_minor,
        "currency": offer.currency,
        "valid_days": offer.valid_days,
        "is_active": offer.is_active,
    }


# --- writes -----------------------------------------------------------------------------------


def do_create_offer(
    brand: Brand, fields: dict[str, Any], actor: Any, *, role: str = "", request: Any = None
) -> PackageOffer:
    """A new offer on ``brand`` from ``fields`` (the names in ``FIELDS``), on sale at once,
    in the brand's currency. Raises ValidationError per field (nothing written)."""
    values = _clean(brand, fields)
    with transaction.atomic():
        offer = PackageOffer(brand=brand, currency=brand.currency, is_active=True, **values)
        offer.full_clean()
        offer.save()
        audit.record(
            "package_offer.created",
            actor=actor,
            role=role,
            target=offer,
            brand=brand,
            request=request,
            data=_snapshot(offer),
        )
    return offer


def do_update_offer(
    offer: PackageOffer, fields: dict[str, Any], actor: Any, *, role: str = "", request: Any = None
) -> list[str]:
    """Change ``offer`` to ``fields`` (every name in ``FIELDS``); returns the names that
    changed (nothing written or audited when none did). An offer priced in another currency
    than its brand's takes the brand's. Raises ValidationError (nothing written) for a bad
    value, or when a sold offer's specialist, sessions or price would change."""
    with transaction.atomic():
        current = PackageOffer.objects.select_for_update().select_related("brand").get(pk=offer.pk)
        brand = current.brand
        values = _clean(brand, fields, kept_profile_id=current.profile_id)
        before = _snapshot(current)
        if is_sold(current):
            locked = {
                name: _(
                    "Patients have bought this offer: its specialist, sessions and price "
                    "stay as they bought them. Retire it and create a new offer instead."
                )
                for name in SOLD_TERMS
                if values[name] != getattr(current, name)
            }
            if locked:
                raise ValidationError(locked)
        else:
            values["currency"] = brand.currency
        changed = [name for name, value in values.items() if getattr(current, name) != value]
        if not changed:
            return []
        for name in changed:
            setattr(current, name, values[name])
        current.full_clean()
        current.save(update_fields=[*changed])
        after = _snapshot(current)
        audit.record(
            "package_offer.changed",
            actor=actor,
            role=role,
            target=current,
            brand=brand,
            request=request,
            data={
                "fields": sorted(changed),
                "old": {k: v for k, v in before.items() if before[k] != after[k]},
                "new": {k: v for k, v in after.items() if before[k] != after[k]},
            },
        )
    offer.refresh_from_db()
    return changed


def do_retire_offer(
    offer: PackageOffer, actor: Any, *, role: str = "", request: Any = None
) -> PackageOffer:
    """Take ``offer`` off sale: patients can no longer buy it. Packages already bought keep
    working (and one bought but not yet paid may still be paid). Retiring it again raises
    ValidationError and changes nothing."""
    with transaction.atomic():
        current = PackageOffer.objects.select_for_update().select_related("brand").get(pk=offer.pk)
        if not current.is_active:
            raise ValidationError(
                _("The offer “%(name)s” is already retired.") % {"name": current.name},
                code="already_retired",
            )
        current.is_active = False
        current.save(update_fields=["is_active"])
        audit.record(
            "package_offer.retired",
            actor=actor,
            role=role,
            target=current,
            brand=current.brand,
            request=request,
            data={"name": current.name},
        )
    return current


def do_offer_again(
    offer: PackageOffer, actor: Any, *, role: str = "", request: Any = None
) -> PackageOffer:
    """Put a retired offer on sale again, if it still could be sold: priced in the brand's
    currency, for a specialist listed here under platform billing. Raises ValidationError
    and changes nothing otherwise."""
    with transaction.atomic():
        current = PackageOffer.objects.select_for_update().select_related("brand").get(pk=offer.pk)
        brand = current.brand
        if current.is_active:
            raise ValidationError(
                _("The offer “%(name)s” is already on sale.") % {"name": current.name},
                code="already_active",
            )
        if current.currency != brand.currency:
            raise ValidationError(
                _(
                    "This offer is priced in %(old)s and the brand now takes %(new)s: "
                    "create a new offer instead."
                )
                % {"old": current.currency, "new": brand.currency},
                code="currency",
            )
        listing = Listing.objects.filter(brand=brand, profile_id=current.profile_id).first()
        if listing is None or not sells_packages(brand, listing):
            raise ValidationError(
                _(
                    "The specialist is no longer listed here under platform billing: "
                    "this offer cannot be sold."
                ),
                code="not_sellable",
            )
        current.is_active = True
        current.save(update_fields=["is_active"])
        audit.record(
            "package_offer.offered_again",
            actor=actor,
            role=role,
            target=current,
            brand=brand,
            request=request,
            data={"name": current.name},
        )
    return current
