"""The double-entry ledger: post balanced, immutable transactions; derive balances.

A transaction's entries sum to zero in each currency (debits positive, credits negative)
and are written together or not at all. ``key`` makes posting idempotent: posting the
same key again returns the first transaction and writes nothing, so a webhook or job
that runs twice moves no money twice. Balances are sums of entries, never stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from caredoor.core.brands.models import Brand
from caredoor.core.payments.models import Account, Entry, Transaction


class Unbalanced(ValueError):
    """Entries that do not sum to zero per currency (a bug, never user input)."""


@dataclass(frozen=True)
class Line:
    account: str
    amount_minor: int  # debit > 0, credit < 0
    currency: str
    profile_id: int | None = None


def check_balanced(lines: Iterable[Line]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.account not in Account.values:
            raise Unbalanced(f"unknown account {line.account!r}")
        totals[line.currency] += line.amount_minor
    off = {currency: total for currency, total in totals.items() if total}
    if off:
        raise Unbalanced(f"entries do not balance: {off}")


def post(
    *,
    brand: Brand,
    kind: str,
    key: str,
    lines: list[Line],
    at: datetime | None = None,
    **refs: object,
) -> Transaction:
    """Write one balanced transaction (zero lines are dropped); idempotent on ``key``."""
    lines = [line for line in lines if line.amount_minor]
    check_balanced(lines)
    existing = Transaction.objects.filter(key=key).first()
    if existing is not None:
        return existing
    at = at or timezone.now()
    try:
        with transaction.atomic():
            txn = Transaction.objects.create(brand=brand, kind=kind, key=key, created_at=at, **refs)
            Entry.objects.bulk_create(
                Entry(
                    txn=txn,
                    account=line.account,
                    brand=brand,
                    profile_id=line.profile_id,
                    currency=line.currency,
                    amount_minor=line.amount_minor,
                    created_at=at,
                )
                for line in lines
            )
    except IntegrityError:
        # A concurrent post of the same key won; it is the one transaction.
        return Transaction.objects.get(key=key)
    return txn


def lines_of(txn: Transaction) -> list[Line]:
    return [Line(e.account, e.amount_minor, e.currency, e.profile_id) for e in txn.entries.all()]


def scaled_reversal(lines: list[Line], numerator: int, denominator: int) -> list[Line]:
    """The lines that reverse ``numerator/denominator`` of ``lines``, balanced exactly.

    Each line's share is rounded down in magnitude and the leftover minor units go to the
    lines with the largest remainders (per currency), so a full reversal (n == d) mirrors
    every line exactly and a partial one still sums to zero.
    """
    if not 0 < numerator <= denominator:
        raise ValueError("a reversal covers a positive share of at most the whole")
    out: list[Line] = []
    by_currency: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        by_currency[line.currency].append(line)
    for group in by_currency.values():
        shares = []
        for line in group:
            whole, rest = divmod(abs(line.amount_minor) * numerator, denominator)
            sign = -1 if line.amount_minor > 0 else 1  # the reversal's sign
            shares.append([line, sign * whole, rest, sign])
        # Debits and credits must still balance: hand out the leftover units one by one
        # to the largest remainders on whichever side is short.
        while True:
            total = sum(share[1] for share in shares)
            if total == 0:
                break
            side = 1 if total < 0 else -1  # the side that needs more
            candidates = [s for s in shares if s[3] == side]
            best = max(candidates, key=lambda s: s[2])
            best[1] += side
            best[2] = -1
        out.extend(Line(s[0].account, s[1], s[0].currency, s[0].profile_id) for s in shares)
    return [line for line in out if line.amount_minor]


# --- balances: sums of entries --------------------------------------------------------------


def balance(
    account: str,
    *,
    brand: Brand | None = None,
    profile_id: int | None = None,
    currency: str | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """The balance of ``account`` per currency (debits positive), optionally narrowed."""
    entries = Entry.objects.filter(account=account)
    if brand is not None:
        entries = entries.filter(brand=brand)
    if profile_id is not None:
        entries = entries.filter(profile_id=profile_id)
    if currency is not None:
        entries = entries.filter(currency=currency)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    rows = entries.values("currency").annotate(total=Sum("amount_minor")).order_by("currency")
    return {row["currency"]: row["total"] for row in rows if row["total"]}


def owed_to_specialists(
    brand: Brand, *, until: datetime | None = None
) -> dict[tuple[int, str], int]:
    """What the platform owes each specialist on ``brand``: (profile id, currency) -> minor
    units (the specialist-payable account is a liability, so credits are what is owed)."""
    entries = Entry.objects.filter(account=Account.SPECIALIST_PAYABLE, brand=brand)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    rows = entries.values("profile_id", "currency").annotate(total=Sum("amount_minor"))
    return {
        (row["profile_id"], row["currency"]): -row["total"]
        for row in rows
        if row["total"] and row["profile_id"] is not None
    }
