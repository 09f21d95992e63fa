"""Payout runs (platform billing): what each specialist is owed on a brand up to the end of
a period, one line per specialist, each marked paid once the money has left the bank.

A run's amount for a specialist is their balance in the ledger's specialist-payable account
at the end of the period (the end of ``period_end`` in the brand's time zone), less what
earlier runs already put on lines that have not moved money by then: unpaid lines, and
lines marked paid after the period's end (a paid line posts its payout at ``paid_at``, so a
line paid before the end has already lowered the balance). Connect payments leave the
specialist's balance at zero as they happen, so only platform-billed money is ever owed.

Runs of a brand and currency follow one another: a new run starts after the last one
ended, so a period is never paid twice and a balance never counted in two runs. A gap
between runs loses nothing: the balance at the end includes everything before it.

Marking a line paid posts ``posting.post_payout`` (specialist payable down, cash down) in
the same transaction; a line is paid once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from caredoor.core.brands.choices import CURRENCIES
from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.payments import ledger, posting
from caredoor.core.payments.models import PayoutLine, PayoutRun

REFERENCE_MAX = 120


def end_of_day(brand: Brand, day: date) -> datetime:
    """The instant ``day`` ends in the brand's time zone (the next day's midnight)."""
    zone = ZoneInfo(brand.time_zone or "UTC")
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def today_on(brand: Brand) -> date:
    return timezone.now().astimezone(ZoneInfo(brand.time_zone or "UTC")).date()


def latest_run(brand: Brand, currency: str) -> PayoutRun | None:
    return (
        PayoutRun.objects.filter(brand=brand, currency=currency)
        .order_by("-period_end", "-pk")
        .first()
    )


def _check_period(brand: Brand, currency: str, period_start: date, period_end: date) -> None:
    if currency not in CURRENCIES:
        raise ValidationError({"currency": _("Choose a currency.")}, code="currency")
    if period_start > period_end:
        raise ValidationError(
            {"period_end": _("The period must end on or after the day it starts.")},
            code="period_order",
        )
    today = today_on(brand)
    if period_end >= today:
        raise ValidationError(
            {
                "period_end": _(
                    "The period must be over: choose an end before today (%(today)s in the "
                    "brand's time zone)."
                )
                % {"today": today.isoformat()}
            },
            code="period_not_over",
        )
    overlapping = PayoutRun.objects.filter(
        brand=brand, currency=currency, period_start__lte=period_end, period_end__gte=period_start
    ).first()
    if overlapping is not None:
        raise ValidationError(
            {
                "period_start": _(
                    "This period overlaps the run of %(start)s to %(end)s in %(currency)s."
                )
                % {
                    "start": overlapping.period_start.isoformat(),
                    "end": overlapping.period_end.isoformat(),
                    "currency": currency,
                }
            },
            code="overlap",
        )
    last = latest_run(brand, currency)
    if last is not None and period_start <= last.period_end:
        raise ValidationError(
            {
                "period_start": _(
                    "Runs follow one another: start after the last run, which ended on %(end)s."
                )
                % {"end": last.period_end.isoformat()}
            },
            code="before_last_run",
        )


def amounts_due(brand: Brand, currency: str, until: datetime) -> dict[int, int]:
    """profile id -> what is owed at ``until`` and not yet on a line of an earlier run."""
    owed = {
        profile: amount
        for (profile, cur), amount in ledger.owed_to_specialists(brand, until=until).items()
        if cur == currency
    }
    pending = (
        PayoutLine.objects.filter(run__brand=brand, run__currency=currency)
        .filter(Q(paid_at__isnull=True) | Q(paid_at__gte=until))
        .values("profile_id")
        .annotate(total=Sum("amount_minor"))
    )
    taken: dict[int, int] = defaultdict(int)
    for row in pending:
        taken[row["profile_id"]] += row["total"] or 0
    return {
        profile: amount - taken[profile]
        for profile, amount in owed.items()
        if amount - taken[profile] > 0
    }


def do_create_payout_run(
    brand: Brand,
    currency: str,
    period_start: date,
    period_end: date,
    actor: Any,
    request: Any = None,
    *,
    role: str = "",
) -> PayoutRun:
    """Make the run of ``brand`` in ``currency`` for the period (both days included).

    Raises ValidationError (nothing written) for a period that ends before it starts, has
    not ended yet, overlaps or precedes an existing run, or in which nobody is owed
    anything.
    """
    with transaction.atomic():
        # One run at a time per brand: two concurrent requests cannot both pass the checks.
        Brand.objects.select_for_update().get(pk=brand.pk)
        _check_period(brand, currency, period_start, period_end)
        until = end_of_day(brand, period_end)
        due = amounts_due(brand, currency, until)
        if not due:
            raise ValidationError(
                _("No specialist is owed anything in %(currency)s up to %(end)s: no run was made.")
                % {"currency": currency, "end": period_end.isoformat()},
                code="nothing_owed",
            )
        run = PayoutRun(
            brand=brand,
            currency=currency,
            period_start=period_start,
            period_end=period_end,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        run.full_clean()
        run.save()
        PayoutLine.objects.bulk_create(
            PayoutLine(run=run, profile_id=profile, amount_minor=amount)
            for profile, amount in sorted(due.items())
        )
        audit.record(
            "payout.run_created",
            actor=actor,
            role=role,
            target=run,
            brand=brand,
            request=request,
            data={
                "currency": currency,
                "period_start": period_start.isoformat(),
                "period_end": period_end.isoformat(),
                "lines": len(due),
                "total": sum(due.values()),
            },
        )
    return run


def do_mark_paid(
    line: PayoutLine, reference: str, actor: Any, request: Any = None, *, role: str = ""
) -> PayoutLine:
    """Record that ``line`` was paid (the bank transfer's ``reference``) and post the payout
    to the ledger. A line is paid once: a second call raises ValidationError and posts
    nothing."""
    reference = " ".join((reference or "").split())
    if not reference:
        raise ValidationError(
            {"reference": _("Enter the payment's reference (for example the bank transfer's).")},
            code="reference_required",
        )
    if len(reference) > REFERENCE_MAX:
        raise ValidationError(
            {"reference": _("Keep the reference to %(max)s characters.") % {"max": REFERENCE_MAX}},
            code="reference_too_long",
        )
    with transaction.atomic():
        current = (
            PayoutLine.objects.select_for_update(of=("self",))
            .select_related("run__brand")
            .get(pk=line.pk)
        )
        if current.paid_at is not None:
            raise ValidationError(
                _("This line was already marked paid (reference %(reference)s); nothing changed.")
                % {"reference": current.reference},
                code="already_paid",
            )
        current.paid_at = timezone.now()
        current.paid_by = actor if getattr(actor, "is_authenticated", False) else None
        current.reference = reference
        current.full_clean()
        current.save(update_fields=["paid_at", "paid_by", "reference"])
        posting.post_payout(current)
        audit.record(
            "payout.paid",
            actor=actor,
            role=role,
            target=current,
            brand=current.run.brand,
            request=request,
            data={
                "run": current.run_id,
                "profile": current.profile_id,
                "amount": current.amount_minor,
                "currency": current.run.currency,
            },
        )
    return current
