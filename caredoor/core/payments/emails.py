"""Emails to the patient about their money: a receipt notice when a payment succeeds, and a
notice when a refund to them succeeds.

Where: ``checkout.settle`` calls ``payment_succeeded`` and ``refunds.apply_refund`` calls
``refund_succeeded``, each inside the transaction that marks the money moved. Both places
run once per payment or refund (they act only on a payment not yet succeeded, a refund
still pending, under a row lock), and each message is also keyed, so a webhook delivered
three times, the page's status poll and the sweeper re-reading the same intent send one
email.

How: the delivery protocol of ``notifications.actions``. Inside the transaction an outbox
row (a ``Delivery``, ``pending``) is written under the key ``payments:paid:<payment>`` or
``payments:refund:<refund>``, so it exists exactly when the money was recorded; on commit
the job ``payments.tasks.deliver_payment_emails`` sends it (inline in tests), and the
payments sweeper (``retry``) sends again what failed or what a crash left behind. A row is
claimed before it is sent, so two senders never both send it.

What the email says, in the patient's language if the brand offers it (else the brand's
default), from the brand's sender name: the brand, the amount and currency, the date, the
receipt number, and a link to the receipt (PDF) in the patient portal on the brand's
primary domain. Nothing about care: no session type, no specialist, no intake, notes,
messages or staff reasons for a refund; the receipt itself, which names the session, is
not attached -- the patient downloads it signed in.

A payment a voucher made free (0.00) moved no money and gets no email. The email is a
record of money (the "account" notice group, which cannot be switched off), and has no
in-app notification: the Payments page lists the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.models import Brand
from caredoor.core.brands.money import format_money
from caredoor.core.notifications import actions as notifications
from caredoor.core.notifications.models import Delivery
from caredoor.core.payments.models import Payment, PaymentStatus, Refund, RefundStatus

PREFIX = "payments:"
PAID = "payment.succeeded"  # the Delivery kind of a payment's email
REFUNDED = "payment.refunded"  # ... of a refund's
TEMPLATES = {PAID: "payments/email/paid", REFUNDED: "payments/email/refunded"}


def payment_key(payment: Payment) -> str:
    return f"{PREFIX}paid:{payment.pk}"


def refund_key(refund: Refund) -> str:
    return f"{PREFIX}refund:{refund.pk}"


@dataclass(frozen=True)
class Amount:
    """Money that formats itself when the email is rendered, so in the recipient's
    language ("90.00 EUR", "90,00 EUR")."""

    minor: int
    currency: str

    def __str__(self) -> str:
        return format_money(self.minor, self.currency)


# --- from the actions (inside their transaction) -------------------------------------------


def payment_succeeded(payment: Payment) -> None:
    """``payment`` has just been marked paid: its email, sent after the commit."""
    if payment.amount_minor <= 0:  # a voucher made it free: no money moved
        return
    _enqueue(payment_key(payment), payment, PAID, {"payment": payment.pk})


def refund_succeeded(refund: Refund) -> None:
    """``refund`` has just been marked succeeded: its email, sent after the commit."""
    payment = Payment.objects.select_related("patient", "brand").get(pk=refund.payment_id)
    _enqueue(refund_key(refund), payment, REFUNDED, {"refund": refund.pk})


def _enqueue(key: str, payment: Payment, kind: str, payload: dict[str, Any]) -> None:
    notifications.enqueue(
        key, user=payment.patient, brand=payment.brand, kind=kind, payload=payload
    )
    transaction.on_commit(partial(_after_commit, [key]), robust=True)


def _after_commit(keys: list[str]) -> None:
    from caredoor.core.payments.tasks import deliver_payment_emails

    deliver_payment_emails(keys)


# --- sending (the job, and the sweeper) ----------------------------------------------------


def deliver(keys: Iterable[str], now: datetime | None = None) -> dict[str, str]:
    """Send the outbox rows ``keys``; returns each key's state. Never raises."""
    now = now or timezone.now()
    rows = Delivery.objects.filter(key__in=list(keys), key__startswith=PREFIX).order_by("pk")
    return {row.key: _deliver_row(row, now) for row in rows}


def retry(now: datetime | None = None) -> dict[str, str]:
    """What failed, what a crash left claimed past its lease, and outbox rows whose job
    never ran (the payments sweeper, every minute)."""
    now = now or timezone.now()
    rows = notifications.retriable(now).filter(key__startswith=PREFIX)
    return {row.key: _deliver_row(row, now) for row in rows}


def _deliver_row(row: Delivery, now: datetime) -> str:
    return notifications.deliver_row(row, lambda r: build(r.kind, r.payload), now)


def build(kind: str, payload: dict[str, Any]) -> notifications.Message | None:
    """The message an outbox row stands for; None when what it announces is not true."""
    if kind == PAID:
        payment = _payment(payload.get("payment"))
        if payment is None:
            return None
        return payment_message(payment)
    if kind == REFUNDED:
        refund = (
            Refund.objects.select_related("payment__patient", "payment__brand")
            .filter(pk=payload.get("refund"), status=RefundStatus.SUCCEEDED)
            .first()
        )
        if refund is None:
            return None
        return refund_message(refund)
    return None


def _payment(pk: Any) -> Payment | None:
    return (
        Payment.objects.select_related("patient", "brand")
        .filter(pk=pk, status=PaymentStatus.SUCCEEDED)
        .first()
    )


def payment_message(payment: Payment) -> notifications.Message:
    """The patient's email for a paid ``payment``."""
    return _message(
        payment,
        PAID,
        {"amount": Amount(payment.amount_minor, payment.currency), "at": payment.succeeded_at},
    )


def refund_message(refund: Refund) -> notifications.Message:
    """The patient's email for a succeeded ``refund``."""
    payment = refund.payment
    return _message(
        payment,
        REFUNDED,
        {
            "amount": Amount(refund.amount_minor, payment.currency),
            "paid": Amount(payment.amount_minor, payment.currency),
            "at": refund.succeeded_at,
        },
    )


def _message(payment: Payment, kind: str, context: dict[str, Any]) -> notifications.Message:
    brand: Brand = payment.brand
    return notifications.Message(
        user=payment.patient,
        brand=brand,
        portal=Portal.PATIENT,
        kind=kind,
        template=TEMPLATES[kind],
        context={**context, "receipt_number": payment.receipt_number},
        url=reverse("patient:receipt", args=[payment.pk]),
        in_app=False,
    )
