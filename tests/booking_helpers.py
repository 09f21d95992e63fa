"""Shared set-up for booking tests: a listed specialist with hours, session types, times."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from caredoor.core.scheduling.models import AvailabilityRule, SessionType
from tests.specialist_helpers import approved_and_listed

BERLIN = ZoneInfo("Europe/Berlin")


def listed_with_hours(side, brands=None, *, start=time(9), end=time(17)):  # type: ignore[no-untyped-def]
    """The side's specialist approved and listed (on ``brands``, default the side's brand),
    open ``start``-``end`` Berlin time every day."""
    profile, listings = approved_and_listed(side, side.specialist, brands or [side.brand])
    for weekday in range(7):
        AvailabilityRule.objects.create(
            profile=profile, weekday=weekday, start_time=start, end_time=end
        )
    return profile, listings


def make_type(profile, **fields) -> SessionType:  # type: ignore[no-untyped-def]
    values = {
        "name": "Session",
        "duration_minutes": 50,
        "buffer_after_minutes": 10,
        "slot_step_minutes": 15,
        "min_notice_minutes": 60,
        "horizon_days": 60,
        **fields,
    }
    return SessionType.objects.create(profile=profile, **values)


def local(hour: int, minute: int = 0, days: int = 7, zone: ZoneInfo = BERLIN) -> datetime:
    """``days`` from today at hh:mm wall-clock time in ``zone``."""
    day = timezone.now().astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), zone)


def require_session_consent(brand: Any, profile: Any, specialist: Any) -> Any:
    """``brand`` uses consents and ``profile``'s specialist requires a recording consent
    that nobody has signed yet: a session (or call) with them is blocked for the patient
    (``consents.gate.session_blockers``)."""
    from caredoor.core.consents import actions as consents

    brand.modules = [*brand.modules, "consents"]
    brand.save(update_fields=["modules"])
    document = consents.do_create_document(
        kind="recording",
        title="Recording consent",
        stage="",
        body="The text.",
        actor=None,
        brand=brand,
    )
    consents.do_set_requirements(profile, brand, [document], actor=specialist)
    return document
