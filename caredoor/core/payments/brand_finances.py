"""The money of one brand in one currency for a period, as the operator's finance pages
show it, and the scoped lookups of those pages (payout runs, lines, vouchers).

Every amount is a sum of ledger entries (by account, and by the kind of transaction where
one account holds several movements); counts and the refunds Stripe has not confirmed come
from the payment and refund rows, which the ledger does not hold.

Periods are half-open instants ``[since, until)``; ``None`` means from the beginning / up
to now. Callers scope the brand first (``access.finance_brands``); the lookups at the end
scope runs, lines and vouchers the same way (missing and forbidden alike: ``Http404``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from caredoor.core.accounts.models import Membership
from caredoor.core.brands.models import Brand
from caredoor.core.payments import ledger
from caredoor.core.payments.access import finance_brands
from caredoor.core.payments.models import (
    Account,
    Entry,
    Payment,
    PaymentStatus,
    PayoutLine,
    PayoutRun,
    Refund,
    RefundStatus,
    TxnKind,
    Voucher,
)


@dataclass(frozen=True)
class Figures:
    currency: str
    payments: int  # how many payments succeeded in the period
    gross_minor: int  # what patients paid
    discounts_minor: int  # voucher discounts on those payments (funded by the platform)
    refunds: int
    refunds_minor: int  # refunds Stripe confirmed in the period
    fees_minor: int  # platform fees, net of refunds
    connect_minor: int  # sent to specialists' Stripe accounts (Connect), net of refunds
    paid_out_minor: int  # payouts marked paid in the period
    owed_minor: int  # owed to specialists at the end of the period
    cash_minor: int  # the balance at the provider at the end of the period
    prepaid_minor: int  # packages bought and not yet used, at the end of the period
    pending_refunds: int  # refunds Stripe has not confirmed (now)
    pending_refunds_minor: int
    failed_refunds: int  # refunds Stripe failed in the period


def month_bounds(brand: Brand, month: date) -> tuple[datetime, datetime]:
    """The first and the first-after instants of ``month`` in the brand's time zone."""
    zone = ZoneInfo(brand.time_zone or "UTC")
    first = month.replace(day=1)
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (
        datetime.combine(first, time.min, tzinfo=zone),
        datetime.combine(after, time.min, tzinfo=zone),
    )


def _entries(
    brand: Brand, currency: str, since: datetime | None, until: datetime | None
) -> QuerySet[Entry]:
    entries = Entry.objects.filter(brand=brand, currency=currency)
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    return entries


def _sum(queryset: QuerySet, field: str = "amount_minor") -> int:  # type: ignore[type-arg]
    return int(queryset.aggregate(total=Sum(field))["total"] or 0)


def currencies(brand: Brand) -> list[str]:
    """The currencies the brand has money in, its own first."""
    seen = set(Entry.objects.filter(brand=brand).values_list("currency", flat=True).distinct())
    seen |= set(Payment.objects.filter(brand=brand).values_list("currency", flat=True).distinct())
    seen.discard(brand.currency)
    return [brand.currency, *sorted(seen)]


def paid_payments(
    brand: Brand, currency: str, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Payment]:
    """The payments that succeeded in the period, newest first, with their refunds."""
    rows = Payment.objects.filter(
        brand=brand, currency=currency, status=PaymentStatus.SUCCEEDED
    ).select_related("profile", "profile__user")
    if since is not None:
        rows = rows.filter(succeeded_at__gte=since)
    if until is not None:
        rows = rows.filter(succeeded_at__lt=until)
    return rows.prefetch_related("refunds").order_by("-succeeded_at", "-pk")


def figures(
    brand: Brand, currency: str, since: datetime | None = None, until: datetime | None = None
) -> Figures:
    entries = _entries(brand, currency, since, until)
    cash = entries.filter(account=Account.CASH)
    refunds = Refund.objects.filter(payment__brand=brand, payment__currency=currency)
    done = refunds.filter(status=RefundStatus.SUCCEEDED)
    failed = refunds.filter(status=RefundStatus.FAILED)
    if since is not None:
        done = done.filter(succeeded_at__gte=since)
        failed = failed.filter(created_at__gte=since)
    if until is not None:
        done = done.filter(succeeded_at__lt=until)
        failed = failed.filter(created_at__lt=until)
    pending = refunds.filter(status=RefundStatus.PENDING).aggregate(
        n=Count("pk"), total=Sum("amount_minor")
    )
    return Figures(
        currency=currency,
        payments=paid_payments(brand, currency, since, until).count(),
        gross_minor=_sum(cash.filter(txn__kind=TxnKind.PAYMENT)),
        discounts_minor=_sum(entries.filter(account=Account.DISCOUNTS, txn__kind=TxnKind.PAYMENT)),
        refunds=done.count(),
        # A refund reverses its share of the payment's cash line exactly (the refunded
        # amount, a credit); a Connect refund also brings part of the transfer back (a debit).
        refunds_minor=-_sum(cash.filter(txn__kind=TxnKind.REFUND, amount_minor__lt=0)),
        fees_minor=-_sum(entries.filter(account=Account.PLATFORM_FEES)),
        connect_minor=-_sum(cash.filter(txn__kind=TxnKind.CONNECT_TRANSFER))
        - _sum(cash.filter(txn__kind=TxnKind.REFUND, amount_minor__gt=0)),
        paid_out_minor=_sum(
            entries.filter(account=Account.SPECIALIST_PAYABLE, txn__kind=TxnKind.PAYOUT)
        ),
        owed_minor=-ledger.balance(
            Account.SPECIALIST_PAYABLE, brand=brand, currency=currency, until=until
        ).get(currency, 0),
        cash_minor=ledger.balance(Account.CASH, brand=brand, currency=currency, until=until).get(
            currency, 0
        ),
        prepaid_minor=-ledger.balance(
            Account.PREPAID, brand=brand, currency=currency, until=until
        ).get(currency, 0),
        pending_refunds=pending["n"] or 0,
        pending_refunds_minor=pending["total"] or 0,
        failed_refunds=failed.count(),
    )


def first_payment_day(brand: Brand) -> date | None:
    first = (
        Payment.objects.filter(brand=brand, succeeded_at__isnull=False)
        .order_by("succeeded_at")
        .values_list("succeeded_at", flat=True)
        .first()
    )
    if first is None:
        return None
    return first.astimezone(ZoneInfo(brand.time_zone or "UTC")).date()


def refund_totals(payment: Payment) -> dict[str, int]:
    """A payment's refunds by state: refunded (confirmed), pending, failed."""
    totals = {"refunded": 0, "pending": 0, "failed": 0}
    key = {
        RefundStatus.SUCCEEDED: "refunded",
        RefundStatus.PENDING: "pending",
        RefundStatus.FAILED: "failed",
    }
    for refund in payment.refunds.all():
        totals[key[refund.status]] += refund.amount_minor
    return totals


def runs_of(brand: Brand) -> QuerySet[PayoutRun]:
    """The payout runs of ``brand`` with their totals, newest first."""
    return (
        PayoutRun.objects.filter(brand=brand)
        .select_related("created_by")
        .annotate(
            line_count=Count("lines"),
            total_minor=Sum("lines__amount_minor"),
            paid_count=Count("lines", filter=Q(lines__paid_at__isnull=False)),
        )
        .order_by("-period_end", "-pk")
    )


def lines_of(run: PayoutRun) -> QuerySet[PayoutLine]:
    return run.lines.select_related("profile", "profile__user", "paid_by").order_by(
        "profile__display_name", "profile_id"
    )


def vouchers_of(brand: Brand) -> QuerySet[Voucher]:
    return Voucher.objects.filter(brand=brand).order_by("-is_active", "code")


# --- scoped lookups -------------------------------------------------------------------------


def access_payout_run(membership: Membership, pk: int) -> PayoutRun:
    run = (
        PayoutRun.objects.filter(pk=pk, brand__in=finance_brands(membership))
        .select_related("brand", "created_by")
        .first()
    )
    if run is None:
        raise Http404
    return run


def access_payout_line(membership: Membership, pk: int) -> PayoutLine:
    line = (
        PayoutLine.objects.filter(pk=pk, run__brand__in=finance_brands(membership))
        .select_related("run", "run__brand", "profile")
        .first()
    )
    if line is None:
        raise Http404
    return line


def access_voucher(membership: Membership, pk: int) -> Voucher:
    voucher = (
        Voucher.objects.filter(pk=pk, brand__in=finance_brands(membership))
        .select_related("brand")
        .first()
    )
    if voucher is None:
        raise Http404
    return voucher
