"""Packages of sessions: bought up front, used one session per booking (docs/payments.md).

An operator offers a package on a brand (``PackageOffer``: n sessions with one
specialist, a price, valid so many days). The patient buys it: ``do_buy`` makes a pending
``PackagePurchase`` with its ``Payment`` (no booking), paid on the package's pay page
through the same checkout as a session (``checkout.do_attempt``/``apply_intent``); Stripe's
word that it is paid activates it (``activate``), valid ``valid_days`` from then.

While it has sessions left, ``pricing.quote`` pays the patient's sessions with that
specialist from it and ``checkout.do_book`` records the use (``use``) with the booking,
which is confirmed at once.

The ledger:

    purchase   cash +amount / prepaid_sessions -amount   (a liability: sessions owed)
    each use   prepaid_sessions +amount/n / specialist_payable -share/n / platform_fees -fee/n

Each use posts the exact difference between "m of n sessions used" (m counting this one,
shares rounded by largest remainders) and what the uses still standing posted, so when
all n are used prepaid is back at 0 and the specialist is owed exactly the share.
A use given back (a cancellation by the specialist, or by the patient inside the free
window) reverses that use's transaction and frees the session; a late cancellation or a
no-show keeps it used. Packages are sold under platform billing only.

A staff refund of a package is limited to the value of its unused sessions (what
prepaid still holds for it) and ends the package.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.choices import Module
from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.payments import ledger, stripe_api
from caredoor.core.payments.ledger import Line
from caredoor.core.payments.models import (
    Account,
    Billing,
    Entry,
    PackageOffer,
    PackagePurchase,
    PackageStatus,
    PackageUse,
    Payment,
    PaymentStatus,
    Transaction,
    TxnKind,
)
from caredoor.core.payments.pricing import billing_for, percent_of
from caredoor.core.specialists.choices import ListingStatus
from caredoor.core.specialists.models import Listing

USE_KINDS = (TxnKind.PACKAGE_USE, TxnKind.PACKAGE_RETURN)


# --- reads ------------------------------------------------------------------------------------


def offers_for(brand: Brand, profile_id: int) -> list[PackageOffer]:
    return list(
        PackageOffer.objects.filter(
            brand=brand, profile_id=profile_id, is_active=True, currency=brand.currency
        )
    )


@dataclass(frozen=True)
class Availability:
    """Whether patients can buy an offer now; if not, why (``code`` for the checkout's
    message, ``reason`` for the operator's Packages page)."""

    on_sale: bool
    code: str = ""
    reason: str = ""


def availability(offer: PackageOffer, listing: Listing | None) -> Availability:
    """The one rule for selling ``offer`` (``do_buy`` and the operator's page): active, in
    the brand's currency, the brand takes payments, the specialist approved and listed here
    (``listing``) and billed by the platform."""
    brand = offer.brand
    if not offer.is_active:
        return Availability(False, "retired", _("Retired: patients can no longer buy it."))
    if offer.currency != brand.currency:
        return Availability(
            False,
            "currency",
            _("Priced in %(old)s; the brand now takes %(new)s.")
            % {"old": offer.currency, "new": brand.currency},
        )
    if not brand.has_module(Module.PAYMENTS):
        return Availability(False, "no_payments", _("The brand does not take payments."))
    if listing is None or listing.status != ListingStatus.APPROVED:
        return Availability(False, "not_listed", _("The specialist is not listed on this brand."))
    if billing_for(brand, listing) != Billing.PLATFORM:
        return Availability(
            False,
            "billing",
            _("The specialist bills patients through their own Stripe account."),
        )
    return Availability(True)


def purchases_of(patient: Any, brand: Brand, profile_id: int | None = None) -> list[Any]:
    rows = PackagePurchase.objects.filter(patient=patient, brand=brand).select_related(
        "offer", "payment"
    )
    if profile_id is not None:
        rows = rows.filter(profile_id=profile_id)
    return list(rows.exclude(status=PackageStatus.PENDING, payment__status=PaymentStatus.CANCELED))


def access_purchase(patient: Any, brand: Brand, purchase_id: int) -> PackagePurchase:
    """The patient's own purchase on ``brand``; 404 for anything else."""
    from django.http import Http404

    purchase = (
        PackagePurchase.objects.select_related("offer", "payment", "profile")
        .filter(pk=purchase_id, patient=patient, brand=brand)
        .first()
    )
    if purchase is None or not getattr(patient, "is_authenticated", False):
        raise Http404
    return purchase


def purchase_of(payment: Payment) -> PackagePurchase | None:
    """The package ``payment`` pays for, if it pays for one."""
    if payment.booking_id is not None:
        return None
    return PackagePurchase.objects.filter(payment=payment).first()


def used(purchase: PackagePurchase) -> int:
    return purchase.uses.filter(returned_at=None).count()


def sessions_left(purchase: PackagePurchase) -> int:
    return max(purchase.sessions_total - used(purchase), 0)


def status_now(purchase: PackagePurchase, now: datetime | None = None) -> str:
    """The status as it stands at ``now`` (an active package past its date is expired)."""
    now = now or timezone.now()
    if (
        purchase.status == PackageStatus.ACTIVE
        and purchase.expires_at
        and now >= purchase.expires_at
    ):
        return PackageStatus.EXPIRED
    return purchase.status


def consumed(purchase: PackagePurchase) -> int:
    """What the uses standing took out of prepaid (minor units)."""
    total = Entry.objects.filter(
        txn__payment_id=purchase.payment_id, txn__kind__in=USE_KINDS, account=Account.PREPAID
    ).aggregate(total=Sum("amount_minor"))["total"]
    return int(total or 0)


def unused_value(purchase: PackagePurchase) -> int:
    """What may still be refunded: the paid amount less the sessions used and refunds."""
    payment = purchase.payment
    if not payment.is_paid:
        return 0
    return max(payment.amount_minor - consumed(purchase) - payment.refunded_minor, 0)


# --- buying and paying ------------------------------------------------------------------------


def do_buy(
    offer: PackageOffer, *, patient: Any, brand: Brand, request: HttpRequest | None = None
) -> PackagePurchase:
    """A pending purchase of ``offer`` and its payment (the patient pays on the package's pay
    page). An unpaid purchase of the same offer is reused. Raises ValidationError when the
    offer is not on sale here or card payments are not available; nothing is written then."""
    with transaction.atomic():
        # The offer as it stands now, locked: it may have been retired (or its terms
        # changed while nobody had bought it) since the page showed it (``package_offers``).
        locked = (
            PackageOffer.objects.select_for_update(of=("self",))
            .select_related("brand")
            .filter(pk=offer.pk, brand=brand)
            .first()
        )
        listing = (
            Listing.objects.filter(brand=brand, profile_id=locked.profile_id).first()
            if locked is not None
            else None
        )
        state = availability(locked, listing) if locked is not None else Availability(False)
        if state.code == "billing":
            raise ValidationError(
                _("Packages are not available for this specialist."), code="package_unavailable"
            )
        if not state.on_sale:
            raise ValidationError(_("This package is not on offer."), code="package_unavailable")
        assert locked is not None and listing is not None
        offer = locked
        if not stripe_api.config()["secret_key"]:
            raise ValidationError(
                _("Card payments are not available on this service right now."),
                code="payments_off",
            )
        percent = (
            listing.commission_percent
            if listing.commission_percent is not None
            else brand.commission_percent
        )
        open_one = (
            PackagePurchase.objects.select_for_update()
            .filter(
                offer=offer,
                patient=patient,
                status=PackageStatus.PENDING,
                payment__status__in=[PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.FAILED],
            )
            .first()
        )
        if open_one is not None:
            return open_one
        fee = percent_of(offer.price_minor, percent)
        label = _("%(name)s (%(n)s sessions)") % {"name": offer.name, "n": offer.sessions}
        payment = Payment(
            brand=brand,
            booking=None,
            patient=patient,
            profile_id=offer.profile_id,
            currency=offer.currency,
            list_minor=offer.price_minor,
            discount_minor=0,
            amount_minor=offer.price_minor,
            fee_minor=fee,
            share_minor=offer.price_minor - fee,
            commission_percent=percent,
            billing=Billing.PLATFORM,
            lines=[{"label": str(label), "amount_minor": offer.price_minor}],
        )
        payment.full_clean()
        payment.save()
        purchase = PackagePurchase(
            offer=offer,
            brand=brand,
            patient=patient,
            profile_id=offer.profile_id,
            sessions_total=offer.sessions,
            payment=payment,
        )
        purchase.full_clean()
        purchase.save()
        audit.record(
            "package.bought",
            actor=patient,
            role="patient",
            target=purchase,
            brand=brand,
            request=request,
            data={"offer": offer.pk, "payment": payment.pk, "amount": payment.amount_minor},
        )
    return purchase


def check_payable(payment: Payment) -> None:
    """For ``checkout.do_attempt`` (inside its lock): a package payment may be attempted
    while its purchase waits for it."""
    purchase = purchase_of(payment)
    if purchase is None or purchase.status != PackageStatus.PENDING:
        raise ValidationError(_("This package can no longer be paid."), code="package_closed")


def purchase_lines(payment: Payment) -> list[Line]:
    c = payment.currency
    return [
        Line(Account.CASH, payment.amount_minor, c),
        Line(Account.PREPAID, -payment.amount_minor, c),
    ]


def settle(payment: Payment, at: datetime) -> bool:
    """For ``checkout.settle``: if ``payment`` pays for a package, post it as prepaid and
    activate the package; False if it is not a package payment."""
    purchase = purchase_of(payment)
    if purchase is None:
        return False
    ledger.post(
        brand=payment.brand,
        kind=TxnKind.PAYMENT,
        key=f"payment:{payment.pk}",
        lines=purchase_lines(payment),
        at=at,
        payment=payment,
    )
    current = PackagePurchase.objects.select_for_update().get(pk=purchase.pk)
    if current.status == PackageStatus.PENDING:
        current.status = PackageStatus.ACTIVE
        current.expires_at = at + timedelta(days=current.offer.valid_days)
        current.save(update_fields=["status", "expires_at"])
        audit.record(
            "package.active",
            actor=None,
            actor_label="system",
            target=current,
            brand=current.brand,
            data={"payment": payment.pk, "expires_at": current.expires_at.isoformat()},
        )
    return True


# --- using sessions ---------------------------------------------------------------------------


def _recognition(payment: Payment) -> list[Line]:
    """The whole package used: prepaid emptied into the specialist's share and the fee."""
    c = payment.currency
    return [
        Line(Account.PREPAID, payment.amount_minor, c),
        Line(Account.SPECIALIST_PAYABLE, -payment.share_minor, c, payment.profile_id),
        Line(Account.PLATFORM_FEES, -payment.fee_minor, c),
    ]


def _standing(payment: Payment) -> dict[tuple[str, str, int | None], int]:
    totals: dict[tuple[str, str, int | None], int] = defaultdict(int)
    entries = Entry.objects.filter(txn__payment_id=payment.pk, txn__kind__in=USE_KINDS)
    for entry in entries:
        totals[(entry.account, entry.currency, entry.profile_id)] += entry.amount_minor
    return totals


def _post_use(purchase: PackagePurchase, use: PackageUse, standing_uses: int) -> Transaction:
    payment = purchase.payment
    target: dict[tuple[str, str, int | None], int] = defaultdict(int)
    # scaled_reversal gives the opposite of m/n of the lines: negate the whole first.
    negated = [
        Line(x.account, -x.amount_minor, x.currency, x.profile_id) for x in _recognition(payment)
    ]
    for line in ledger.scaled_reversal(negated, standing_uses, purchase.sessions_total):
        target[(line.account, line.currency, line.profile_id)] += line.amount_minor
    for key, amount in _standing(payment).items():
        target[key] -= amount
    return ledger.post(
        brand=purchase.brand,
        kind=TxnKind.PACKAGE_USE,
        key=f"package_use:{use.pk}",
        lines=[Line(a, amount, c, profile) for (a, c, profile), amount in target.items()],
        at=use.created_at,
        payment=payment,
    )


def use(
    purchase: PackagePurchase, booking: Booking, *, request: HttpRequest | None = None
) -> PackageUse:
    """Spend one session of ``purchase`` on ``booking`` (inside the booking's transaction)
    and post it. Idempotent per booking; raises ValidationError when the package has no
    session left or is no longer active (the booking is then not made)."""
    with transaction.atomic():
        current = (
            PackagePurchase.objects.select_for_update()
            .select_related("payment", "brand")
            .get(pk=purchase.pk)
        )
        existing = PackageUse.objects.filter(booking=booking).first()
        if existing is not None:
            return existing
        now = timezone.now()
        standing = used(current)
        if (
            current.status != PackageStatus.ACTIVE
            or current.patient_id != booking.patient_id
            or current.brand_id != booking.brand_id
            or current.profile_id != booking.profile_id
            or current.expires_at is None
            or now >= current.expires_at
            or standing >= current.sessions_total
        ):
            raise ValidationError(
                _("Your package has no session left for this. Please choose the time again."),
                code="package_used_up",
            )
        made = PackageUse.objects.create(purchase=current, booking=booking)
        _post_use(current, made, standing + 1)
        if standing + 1 == current.sessions_total:
            current.status = PackageStatus.USED_UP
            current.save(update_fields=["status"])
        audit.record(
            "package.use",
            actor=booking.patient,
            role="patient",
            target=current,
            brand=current.brand,
            request=request,
            data={"booking": booking.pk, "session": standing + 1, "of": current.sessions_total},
        )
    return made


def gives_back(booking: Booking) -> bool:
    """The documented rule: a cancellation by the specialist, or by the patient inside the
    free window (no fee), gives the session back; a late cancellation or no-show does not."""
    if booking.status == BookingStatus.CANCELLED_BY_SPECIALIST:
        return True
    if booking.status == BookingStatus.CANCELLED_BY_PATIENT:
        return not booking.fee_percent
    return booking.status == BookingStatus.EXPIRED


def return_for_booking(booking: Booking) -> PackageUse | None:
    """Give ``booking``'s session back to its package if the rule says so: reverse the
    use's transaction and free the session. Safe to call any number of times."""
    booking.refresh_from_db()
    if not gives_back(booking):
        return None
    with transaction.atomic():
        found = PackageUse.objects.filter(booking=booking).first()
        if found is None:
            return None
        purchase = PackagePurchase.objects.select_for_update().get(pk=found.purchase_id)
        current = PackageUse.objects.select_for_update().get(pk=found.pk)
        if current.returned_at is not None:
            return current
        now = timezone.now()
        current.returned_at = now
        current.save(update_fields=["returned_at"])
        original = Transaction.objects.get(key=f"package_use:{current.pk}")
        ledger.post(
            brand=purchase.brand,
            kind=TxnKind.PACKAGE_RETURN,
            key=f"package_return:{current.pk}",
            lines=[
                Line(x.account, -x.amount_minor, x.currency, x.profile_id)
                for x in ledger.lines_of(original)
            ],
            at=now,
            payment_id=purchase.payment_id,
        )
        if purchase.status == PackageStatus.USED_UP:
            purchase.status = PackageStatus.ACTIVE
            purchase.save(update_fields=["status"])
        audit.record(
            "package.return",
            actor=None,
            actor_label="system",
            target=purchase,
            brand=purchase.brand,
            data={"booking": booking.pk},
        )
    return current


# --- refunds and expiry -----------------------------------------------------------------------


def check_refund(payment: Payment, amount_minor: int) -> None:
    """For ``refunds.do_refund`` (inside its lock on the payment): a package payment is
    refunded at most the value of its unused sessions, and the refund ends the package."""
    purchase = purchase_of(payment)
    if purchase is None:
        return
    purchase = PackagePurchase.objects.select_for_update().get(pk=purchase.pk)
    purchase.payment = payment
    if amount_minor > unused_value(purchase):
        raise ValidationError(
            {"amount": _("A package is refunded at most the value of its unused sessions.")},
            code="too_much",
        )
    if purchase.status != PackageStatus.REFUNDED:
        purchase.status = PackageStatus.REFUNDED
        purchase.save(update_fields=["status"])


def expire_due(now: datetime | None = None) -> int:
    """Active packages past their date become expired (their unused sessions lapse)."""
    now = now or timezone.now()
    return PackagePurchase.objects.filter(status=PackageStatus.ACTIVE, expires_at__lte=now).update(
        status=PackageStatus.EXPIRED
    )
