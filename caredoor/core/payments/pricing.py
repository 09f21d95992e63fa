"""What a session costs a patient, and who gets what: one quote, explained line by line.

``quote`` is the only place a booking's money is decided. It starts from the session's
price on the brand (``scheduling.pricing.session_price``: the brand's fixed price, the
specialist's listing price or the session type's own), then applies, in order:

1. program coverage (the brand's fixed price is 0): the patient pays nothing;
2. a package of sessions the patient bought with this specialist (active, not expired,
   sessions left): the session is paid from it (``payments/packages.py``);
3. the brand's free first session: a patient's first session on the brand is free;
4. a voucher (percent or fixed, valid dates, limits per code and per patient).

The platform's commission is a percentage of the list price (the listing's override, else
the brand's); the specialist's share is the rest. Voucher discounts are the platform's:
the specialist's share is the same with or without a voucher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from caredoor.core.booking.actions import HISTORY_STATUSES
from caredoor.core.booking.models import ACTIVE_STATUSES, Booking
from caredoor.core.brands.choices import BillingModel, Module
from caredoor.core.brands.models import Brand
from caredoor.core.brands.money import format_money
from caredoor.core.payments.models import (
    Billing,
    PackagePurchase,
    PackageStatus,
    Payment,
    PaymentStatus,
    Voucher,
    VoucherKind,
)
from caredoor.core.scheduling.models import SessionType
from caredoor.core.scheduling.pricing import session_price
from caredoor.core.specialists.models import Listing

# A voucher is "used" by a payment that is paid or still open; failed and cancelled
# attempts give the use back.
USING = (
    PaymentStatus.REQUIRES_PAYMENT,
    PaymentStatus.REQUIRES_ACTION,
    PaymentStatus.PROCESSING,
    PaymentStatus.SUCCEEDED,
)


@dataclass(frozen=True)
class QuoteLine:
    label: str
    amount_minor: int  # negative for what is taken off


@dataclass(frozen=True)
class Quote:
    currency: str
    list_minor: int | None  # None: price on request
    discount_minor: int = 0
    fee_minor: int = 0
    share_minor: int = 0
    commission_percent: Decimal = Decimal(0)
    billing: str = Billing.PLATFORM
    voucher: Voucher | None = None
    free_reason: str = ""  # why the patient pays nothing, if they don't
    lines: tuple[QuoteLine, ...] = field(default=())
    payments_enabled: bool = True
    package: PackagePurchase | None = None  # the session is paid from this package

    @property
    def total_minor(self) -> int:
        if self.list_minor is None or self.free_reason:
            return 0
        return self.list_minor - self.discount_minor

    @property
    def requires_payment(self) -> bool:
        return self.payments_enabled and self.total_minor > 0

    @property
    def records_payment(self) -> bool:
        """Whether the booking gets a Payment row: any priced session the platform bills,
        including one a voucher made free (the specialist is still owed their share)."""
        return self.payments_enabled and bool(self.list_minor) and not self.free_reason

    def money(self, amount_minor: int) -> str:
        return format_money(amount_minor, self.currency)

    @property
    def total_display(self) -> str:
        if self.list_minor is None:
            return _("Price on request")
        return self.money(self.total_minor)

    @property
    def explanation(self) -> list[tuple[str, str]]:
        return [(line.label, self.money(line.amount_minor)) for line in self.lines]


def percent_of(amount_minor: int, percent: Decimal | int) -> int:
    """``percent`` % of ``amount_minor``, rounded half up to a whole minor unit."""
    value = Decimal(amount_minor) * Decimal(percent) / Decimal(100)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def billing_for(brand: Brand, listing: Listing) -> str:
    if brand.billing_model == BillingModel.SPECIALIST:
        return Billing.CONNECT
    if brand.billing_model == BillingModel.HYBRID and listing.bills_via_connect:
        return Billing.CONNECT
    return Billing.PLATFORM


def first_session_free(patient: Any, brand: Brand, exclude_booking: int | None = None) -> bool:
    """The brand offers a free first session and ``patient`` has had (or holds) none yet."""
    if not brand.free_first_session:
        return False
    statuses = set(HISTORY_STATUSES) | set(ACTIVE_STATUSES)
    history = Booking.objects.filter(patient=patient, brand=brand, status__in=statuses)
    if exclude_booking is not None:
        history = history.exclude(pk=exclude_booking)
    return not history.exists()


def package_for(
    patient: Any, brand: Brand, profile_id: int, now: datetime
) -> tuple[PackagePurchase, int] | None:
    """(purchase, k): the patient's package with this specialist on ``brand`` that pays the
    next session (the one expiring first), and that session's number k; None if none."""
    if not getattr(patient, "is_authenticated", False):
        return None
    candidates = PackagePurchase.objects.filter(
        patient=patient,
        brand=brand,
        profile_id=profile_id,
        status=PackageStatus.ACTIVE,
        expires_at__gt=now,
    ).order_by("expires_at", "pk")
    for purchase in candidates:
        used = purchase.uses.filter(returned_at=None).count()
        if used < purchase.sessions_total:
            return purchase, used + 1
    return None


def find_voucher(brand: Brand, code: str) -> Voucher:
    voucher = Voucher.objects.filter(brand=brand, code=code.strip().upper()).first()
    if voucher is None or not voucher.is_active:
        raise ValidationError(_("This voucher code is not valid here."), code="voucher_unknown")
    return voucher


def check_voucher(voucher: Voucher, patient: Any, now: datetime) -> None:
    if voucher.valid_from and now < voucher.valid_from:
        raise ValidationError(_("This voucher is not valid yet."), code="voucher_not_yet")
    if voucher.valid_until and now >= voucher.valid_until:
        raise ValidationError(_("This voucher has expired."), code="voucher_expired")
    uses = Payment.objects.filter(voucher=voucher, status__in=USING)
    if voucher.max_uses is not None and uses.count() >= voucher.max_uses:
        raise ValidationError(_("This voucher has been used up."), code="voucher_used_up")
    if uses.filter(patient=patient).count() >= voucher.max_uses_per_patient:
        raise ValidationError(
            _("You have already used this voucher."), code="voucher_used_by_patient"
        )


def discount_of(voucher: Voucher, list_minor: int) -> int:
    if voucher.kind == VoucherKind.PERCENT:
        return min(list_minor, percent_of(list_minor, voucher.percent_off or 0))
    return min(list_minor, voucher.amount_off_minor or 0)


def quote(
    *,
    patient: Any,
    brand: Brand,
    session_type: SessionType,
    voucher_code: str = "",
    now: datetime | None = None,
    exclude_booking: int | None = None,
) -> Quote:
    """The price of one session of ``session_type`` for ``patient`` on ``brand``.

    Raises ValidationError (code ``voucher_*``) for a voucher code that does not apply.
    """
    now = now or timezone.now()
    listing = Listing.objects.select_related("brand").get(
        brand=brand, profile_id=session_type.profile_id
    )
    base = session_price(session_type, brand)
    payments_enabled = brand.has_module(Module.PAYMENTS)
    if base.covered:
        return Quote(
            base.currency,
            0,
            free_reason=_("Covered by your program"),
            lines=(QuoteLine(_("Covered by your program"), 0),),
            payments_enabled=payments_enabled,
        )
    if base.amount_minor is None:
        return Quote(base.currency, None, payments_enabled=payments_enabled)
    list_minor = base.amount_minor
    percent = (
        listing.commission_percent
        if listing.commission_percent is not None
        else brand.commission_percent
    )
    fee = percent_of(list_minor, percent)
    common = {
        "fee_minor": fee,
        "share_minor": list_minor - fee,
        "commission_percent": Decimal(percent),
        "billing": billing_for(brand, listing),
        "payments_enabled": payments_enabled,
    }
    lines = [QuoteLine(session_type.name, list_minor)]
    # A booking re-quoted (``exclude_booking``) already has its way to be paid.
    package = (
        package_for(patient, brand, session_type.profile_id, now)
        if payments_enabled and exclude_booking is None
        else None
    )
    if package is not None:
        purchase, k = package
        label = _("Paid from your package (session %(k)s of %(n)s)") % {
            "k": k,
            "n": purchase.sessions_total,
        }
        lines.append(QuoteLine(label, -list_minor))
        return Quote(
            base.currency,
            list_minor,
            free_reason=label,
            lines=tuple(lines),
            package=purchase,
            **common,
        )
    if first_session_free(patient, brand, exclude_booking):
        lines.append(QuoteLine(_("Your first session is free"), -list_minor))
        return Quote(
            base.currency,
            list_minor,
            free_reason=_("Your first session is free"),
            lines=tuple(lines),
            **common,
        )
    voucher = None
    discount = 0
    if voucher_code.strip():
        voucher = find_voucher(brand, voucher_code)
        check_voucher(voucher, patient, now)
        discount = discount_of(voucher, list_minor)
        lines.append(QuoteLine(_("Voucher %(code)s") % {"code": voucher.code}, -discount))
    return Quote(
        base.currency,
        list_minor,
        discount_minor=discount,
        voucher=voucher,
        lines=tuple(lines),
        **common,
    )


def voucher_uses(voucher: Voucher) -> int:
    return Payment.objects.filter(Q(voucher=voucher), status__in=USING).count()
