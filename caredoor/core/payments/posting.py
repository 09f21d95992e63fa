"""What each money movement writes to the ledger (``ledger.post``), in one place.

A payment of ``amount`` for a session listed at ``list`` with a voucher ``discount``:

    cash                 +amount      (the patient's money at the provider)
    discounts            +discount    (the voucher, funded by the platform)
    specialist_payable   -share       (owed to the specialist: list - fee)
    platform_fees        -fee         (the commission on the list price)

Under specialist billing (Stripe Connect, a destination charge) the specialist's part
leaves the platform's balance at once: a second transaction moves ``min(amount, share)``
from cash to the specialist. A refund reverses the same share of both transactions.
A payout moves what is owed from specialist_payable to cash.
"""

from __future__ import annotations

from django.db import transaction

from caredoor.core.payments import ledger
from caredoor.core.payments.ledger import Line
from caredoor.core.payments.models import (
    Account,
    Billing,
    Payment,
    PayoutLine,
    Refund,
    Transaction,
    TxnKind,
)


def payment_lines(payment: Payment) -> list[Line]:
    c, profile = payment.currency, payment.profile_id
    return [
        Line(Account.CASH, payment.amount_minor, c),
        Line(Account.DISCOUNTS, payment.discount_minor, c),
        Line(Account.SPECIALIST_PAYABLE, -payment.share_minor, c, profile),
        Line(Account.PLATFORM_FEES, -payment.fee_minor, c),
    ]


def post_payment(payment: Payment) -> list[Transaction]:
    at = payment.succeeded_at
    txns = [
        ledger.post(
            brand=payment.brand,
            kind=TxnKind.PAYMENT,
            key=f"payment:{payment.pk}",
            lines=payment_lines(payment),
            at=at,
            payment=payment,
        )
    ]
    transfer = min(payment.amount_minor, payment.share_minor)
    if payment.billing == Billing.CONNECT and transfer:
        c, profile = payment.currency, payment.profile_id
        txns.append(
            ledger.post(
                brand=payment.brand,
                kind=TxnKind.CONNECT_TRANSFER,
                key=f"payment:{payment.pk}:transfer",
                lines=[
                    Line(Account.SPECIALIST_PAYABLE, transfer, c, profile),
                    Line(Account.CASH, -transfer, c),
                ],
                at=at,
                payment=payment,
            )
        )
    return txns


def reversal_by_line(original: list[Line], refunded: int, amount: int) -> list[int]:
    """``ledger.scaled_reversal`` of ``refunded / amount`` of ``original``, line by line."""
    if not refunded:
        return [0] * len(original)
    tagged = [
        Line(line.account, line.amount_minor, line.currency, n) for n, line in enumerate(original)
    ]
    reversed_ = {
        line.profile_id: line.amount_minor
        for line in ledger.scaled_reversal(tagged, refunded, amount)
    }
    return [reversed_.get(n, 0) for n in range(len(original))]


def post_refund(refund: Refund) -> Transaction:
    """Reverse the refunded share of the payment's transactions.

    Each refund posts, line by line, the reversal of everything refunded so far (this
    refund included) less the reversal of what the earlier refunds gave back, so rounding
    never adds up across partial refunds: refunds that make up the whole payment leave
    each of its accounts at zero (a line may move by one minor unit against the refund's
    direction to get there). A refund of a payment the patient paid nothing for (a 100 %
    voucher) does not exist: there is nothing to give back.
    """
    key = f"refund:{refund.pk}"
    with transaction.atomic():
        # One refund of a payment is posted at a time: each builds on the ones before.
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        existing = Transaction.objects.filter(key=key).first()
        if existing is not None:
            return existing
        original: list[Line] = []
        before = 0
        for txn in payment.transactions.select_related("refund").prefetch_related("entries"):
            if txn.kind in (TxnKind.PAYMENT, TxnKind.CONNECT_TRANSFER):
                original.extend(ledger.lines_of(txn))
            elif txn.kind == TxnKind.REFUND and txn.refund is not None:
                before += txn.refund.amount_minor
        earlier = reversal_by_line(original, before, payment.amount_minor)
        upto = reversal_by_line(original, before + refund.amount_minor, payment.amount_minor)
        return ledger.post(
            brand=payment.brand,
            kind=TxnKind.REFUND,
            key=key,
            lines=[
                Line(line.account, now - then, line.currency, line.profile_id)
                for line, now, then in zip(original, upto, earlier, strict=True)
            ],
            at=refund.succeeded_at,
            payment=payment,
            refund=refund,
        )


def post_payout(line: PayoutLine) -> Transaction:
    run = line.run
    return ledger.post(
        brand=run.brand,
        kind=TxnKind.PAYOUT,
        key=f"payout:{line.pk}",
        lines=[
            Line(Account.SPECIALIST_PAYABLE, line.amount_minor, run.currency, line.profile_id),
            Line(Account.CASH, -line.amount_minor, run.currency),
        ],
        at=line.paid_at,
        payout=line,
    )
