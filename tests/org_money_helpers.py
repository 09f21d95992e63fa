"""Set-up for the operator's money tests (payouts, vouchers, the finance pages): paid
payments through localstripe, a second specialist, a finance person of the operator
organization, and a clock that moves forward (so a period can be over)."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from caredoor.core.payments import checkout
from caredoor.core.payments.models import Payment
from caredoor.core.scheduling.models import AvailabilityRule
from tests import factories
from tests.booking_helpers import local, make_type
from tests.payments_helpers import pay
from tests.specialist_helpers import approved_and_listed


class Clock:
    """``timezone.now`` moved forward by ``offset`` (time passes in a test)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)

    def today(self, brand: Any) -> Any:
        from zoneinfo import ZoneInfo

        return timezone.now().astimezone(ZoneInfo(brand.time_zone)).date()


def moved_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A ``Clock`` in charge of ``timezone.now`` for the test (use it in a fixture)."""
    real = timezone.now
    moved = Clock()
    monkeypatch.setattr(timezone, "now", lambda: real() + moved.offset)
    return moved


def second_specialist(side: Any, name: str = "Dr. Second") -> tuple[Any, Any]:
    """(profile, session type) of another specialist listed on ``side.brand``."""
    user = factories.make_user(f"second.{side.brand.slug}@example.test", name=name)
    factories.grant(user, "specialist", network=side.network)
    profile, _ = approved_and_listed(side, user, [side.brand], name=name)
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
        )
    return profile, make_type(profile)


def paid(
    side: Any, session_type: Any, stripe: Any, *, hour: int = 10, days: int = 7, voucher: str = ""
) -> Payment:
    """A session of ``session_type`` booked by ``side.patient`` and paid by card."""
    _booking, payment = checkout.do_book(
        patient=side.patient,
        brand=side.brand,
        session_type=session_type,
        start=local(hour, days=days),
        voucher_code=voucher,
    )
    assert payment is not None
    if payment.amount_minor:
        payment = pay(side, payment, stripe)
    return Payment.objects.get(pk=payment.pk)


def finance_of_operator(side: Any, email: str | None = None) -> Any:
    """A finance person of ``side``'s operator organization (the world's finance persona
    belongs to the clinic, which sees no money)."""
    user = factories.make_user(
        email or f"finance.ops.{side.brand.slug}@example.test", name="Fiona Finance"
    )
    factories.grant(user, "finance", network=side.network, organization=side.operator_org)
    return user


def clinic_member(side: Any, role: str) -> Any:
    user = factories.make_user(f"clinic.{role}.{side.brand.slug}@example.test")
    factories.grant(user, role, network=side.network, organization=side.clinic)
    return user
