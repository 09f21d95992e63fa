"""Reconciliation: our payments and the ledger compared with what Stripe says.

For each payment that has a PaymentIntent, or that the ledger has (optionally one brand's,
or made since a date), the intent and its refunds are read from Stripe and every
difference is listed:

* ``status``: Stripe says the intent succeeded and we do not, or the other way round;
* ``currency`` and ``amount``: what Stripe received against the payment's amount;
* ``refunded``: Stripe's succeeded refunds against ours;
* ``ledger``: the cash the ledger holds for the payment (the entries of its transactions)
  against what Stripe's figures imply: received less refunded, and for a destination charge
  (Stripe Connect) less the specialist's part, which went to their own account;
* ``unknown``: the ledger has a payment Stripe does not know (no intent, or an intent
  Stripe cannot find);
* ``stray``: Stripe holds a succeeded PaymentIntent that one of our payments started (its
  metadata names the payment and its brand) but that no payment records: a second charge
  for one payment, or one whose answer never reached us. Intents naming no payment of
  ours (another installation on the same account) are left alone. Stripe's intents are
  listed in full and filtered here by brand and day (localstripe takes no filter);
* ``unreadable``: Stripe could not be asked (the run is then not clean either).

Nothing is written, here or at Stripe. ``manage.py reconcile_payments`` prints the list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from fractions import Fraction
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from caredoor.core.brands.models import Brand
from caredoor.core.brands.money import format_money
from caredoor.core.payments import ledger, posting, stripe_api
from caredoor.core.payments.ledger import Line
from caredoor.core.payments.models import (
    Account,
    Billing,
    Entry,
    Payment,
    PaymentStatus,
    RefundStatus,
    Transaction,
)


@dataclass(frozen=True)
class Mismatch:
    payment_id: int
    receipt: str
    what: str  # status, currency, amount, refunded, ledger, unknown, stray, unreadable
    ours: str
    stripe: str

    def line(self) -> str:
        if not self.payment_id:  # about the account, not one payment
            return f"Stripe's {self.ours}: {self.what}: {self.stripe}"
        receipt = self.receipt or "no receipt"
        return (
            f"payment {self.payment_id} ({receipt}): {self.what}: "
            f"ours {self.ours}, Stripe {self.stripe}"
        )


@dataclass
class Report:
    checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.mismatches


def payments(brand: Brand | None = None, since: date | None = None) -> QuerySet[Payment]:
    """The payments to compare: those with an intent, and those the ledger has."""
    in_ledger = Transaction.objects.filter(payment__isnull=False).values("payment_id")
    chosen = Payment.objects.filter(~Q(intent_id="") | Q(pk__in=in_ledger))
    if brand is not None:
        chosen = chosen.filter(brand=brand)
    if since is not None:
        start = datetime.combine(since, time.min, tzinfo=timezone.get_current_timezone())
        chosen = chosen.filter(created_at__gte=start)
    return chosen.select_related("brand").order_by("pk")


def reconcile(*, brand: Brand | None = None, since: date | None = None) -> Report:
    report = Report()
    for payment in payments(brand, since).iterator(chunk_size=200):
        report.checked += 1
        report.mismatches.extend(compare(payment))
    report.mismatches.extend(stray_intents(brand, since))
    return report


def stray_intents(brand: Brand | None = None, since: date | None = None) -> Iterator[Mismatch]:
    """Succeeded intents that name one of our payments in their metadata but that no payment
    records as its intent (see the module's ``stray``)."""
    recorded = set(Payment.objects.exclude(intent_id="").values_list("intent_id", flat=True))
    start = (
        datetime.combine(since, time.min, tzinfo=timezone.get_current_timezone()).timestamp()
        if since is not None
        else None
    )
    try:
        for intent in stripe_api.list_intents():
            metadata = intent.get("metadata") or {}
            pk = str(metadata.get("payment") or "")
            if not pk.isdigit() or intent["id"] in recorded or intent["status"] != "succeeded":
                continue
            if brand is not None and metadata.get("brand") != brand.slug:
                continue
            if start is not None and int(intent.get("created") or 0) < start:
                continue
            payment = (
                Payment.objects.filter(pk=int(pk), brand__slug=metadata.get("brand"))
                .select_related("brand")
                .first()
            )
            if payment is None:  # another installation's intent on a shared account
                continue
            currency = str(intent.get("currency") or "").upper()
            stripe_side = f"{intent['id']} succeeded, {format_money(received_of(intent), currency)}"
            ours = f"{payment.intent_id or 'no intent'}, {payment.status}"
            yield Mismatch(payment.pk, payment.receipt_number, "stray", ours, stripe_side)
    except stripe_api.StripeError as error:
        yield Mismatch(0, "", "unreadable", "list of PaymentIntents", type(error).__name__)


def compare(payment: Payment) -> Iterator[Mismatch]:
    c = payment.currency

    def mismatch(what: str, ours: Any, stripe: Any) -> Mismatch:
        return Mismatch(payment.pk, payment.receipt_number, what, str(ours), str(stripe))

    def money(amount: int) -> str:
        return format_money(amount, c)

    cash = ledger_cash(payment)
    in_ledger = payment.transactions.exists()  # type: ignore[attr-defined]
    if not payment.intent_id:
        # A session a voucher made free is settled at zero without Stripe: nothing to find.
        if payment.amount_minor or cash:
            yield mismatch("unknown", f"in the ledger ({money(cash)} cash)", "no PaymentIntent")
        return
    try:
        intent = stripe_api.retrieve_intent(payment.intent_id)
        refunds = stripe_api.list_refunds(payment.intent_id) if intent.get("latest_charge") else []
    except stripe_api.StripeError as error:
        if getattr(error, "http_status", None) == 404:
            ours = f"{payment.intent_id}, {payment.status}" + (
                f", in the ledger ({money(cash)} cash)" if in_ledger else ""
            )
            yield mismatch("unknown", ours, "no such PaymentIntent")
        else:
            yield mismatch("unreadable", payment.intent_id, type(error).__name__)
        return

    paid_there = intent["status"] == "succeeded"
    paid_here = payment.status == PaymentStatus.SUCCEEDED
    if paid_there != paid_here:
        yield mismatch("status", payment.status, intent["status"])
    currency = str(intent.get("currency") or "").upper()
    if currency != c:
        yield mismatch("currency", c, currency)
    received = received_of(intent) if paid_there else 0
    if paid_there and received != payment.amount_minor:
        yield mismatch("amount", money(payment.amount_minor), money(received))
    refunded_there = sum(int(r["amount"]) for r in refunds if r.get("status") == "succeeded")
    refunded_here = (
        payment.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(  # type: ignore[attr-defined]
            total=Sum("amount_minor")
        )["total"]
        or 0
    )
    if refunded_there != refunded_here:
        yield mismatch("refunded", money(refunded_here), money(refunded_there))
    expected = expected_cash(payment, received, refunded_there)
    if cash != expected:
        yield mismatch("ledger", f"{money(cash)} cash", f"{money(expected)} implied")


def received_of(intent: dict[str, Any]) -> int:
    """What Stripe received for a succeeded intent: ``amount_received`` (localstripe leaves
    it out: then the captured amount of the intent's charge)."""
    if intent.get("amount_received") is not None:
        return int(intent["amount_received"])
    charge = intent.get("latest_charge")
    if isinstance(charge, dict) and charge.get("status") == "succeeded":
        return int(charge.get("amount") or 0)
    return int(intent["amount"])


def ledger_cash(payment: Payment) -> int:
    total = Entry.objects.filter(txn__payment=payment, account=Account.CASH).aggregate(
        total=Sum("amount_minor")
    )["total"]
    return int(total or 0)


def expected_cash(payment: Payment, received: int, refunded: int) -> int:
    """The cash the ledger should hold for ``payment`` when Stripe received ``received``
    and refunded ``refunded`` of it: received less refunded, and for a destination charge
    less what stays with the specialist (as ``posting`` writes it, to the minor unit, when
    Stripe received the payment's amount)."""
    if not received:
        return 0
    refunded = min(refunded, received)
    if payment.billing != Billing.CONNECT:
        return received - refunded
    if received != payment.amount_minor:  # already listed as an amount mismatch
        transfer = min(received, payment.share_minor)
        kept = Fraction(transfer * (received - refunded), received)
        return received - refunded - int(kept + Fraction(1, 2))
    lines = posting.payment_lines(payment)
    transfer = min(payment.amount_minor, payment.share_minor)  # as posting.post_payment
    if transfer:
        lines += [
            Line(Account.SPECIALIST_PAYABLE, transfer, payment.currency, payment.profile_id),
            Line(Account.CASH, -transfer, payment.currency),
        ]
    lines = [line for line in lines if line.amount_minor]
    if refunded:
        lines += ledger.scaled_reversal(lines, refunded, payment.amount_minor)
    return sum(line.amount_minor for line in lines if line.account == Account.CASH)
