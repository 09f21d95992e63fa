"""Calendar tests: a listed specialist, bookings made with the ORM at exact times, and
reading ICS with vobject -- a parser independent of icalendar, which writes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import vobject

from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.scheduling.models import SessionType
from tests.specialist_helpers import approved_and_listed

PATIENT_NAME = "Jane van Doe"


def listed_profile(side):  # type: ignore[no-untyped-def]
    """``side.specialist``, approved and listed on both brands of the side (Berlin zone),
    with an "Intake" session type; the side's patient is called ``PATIENT_NAME``."""
    profile, _listings = approved_and_listed(side, side.specialist, [side.brand, side.sister])
    side.patient.name = PATIENT_NAME
    side.patient.save(update_fields=["name"])
    session_type = SessionType.objects.create(
        profile=profile, name="Intake", duration_minutes=50, slot_step_minutes=15
    )
    return profile, session_type


def add_booking(  # type: ignore[no-untyped-def]
    session_type: SessionType,
    patient,
    brand,
    start: datetime,
    *,
    status: str = BookingStatus.CONFIRMED,
    patient_zone: str = "Europe/Berlin",
    **fields: Any,
) -> Booking:
    start = start.astimezone(UTC)
    end = start + timedelta(minutes=session_type.duration_minutes)
    return Booking.objects.create(
        brand=brand,
        profile=session_type.profile,
        patient=patient,
        session_type=session_type,
        start=start,
        end=end,
        blocked_start=start,
        blocked_end=end,
        status=status,
        patient_time_zone=patient_zone,
        currency="EUR",
        **fields,
    )


def parse(data: bytes):  # type: ignore[no-untyped-def]
    return vobject.readOne(data.decode("utf-8"))


def events(data: bytes) -> dict[str, Any]:
    """The VEVENTs of an ICS document by UID."""
    calendar = parse(data)
    return {event.uid.value: event for event in getattr(calendar, "vevent_list", [])}


def uid(booking: Booking) -> str:
    return f"booking-{booking.pk}@caredoor"


def tzid(prop) -> str:  # type: ignore[no-untyped-def]
    """The TZID a DTSTART/DTEND was written with (vobject moves it aside when parsing)."""
    params = prop.params
    return (params.get("X-VOBJ-ORIGINAL-TZID") or params.get("TZID") or [""])[0]


def defined_zones(data: bytes) -> set[str]:
    calendar = parse(data)
    return {tz.tzid.value for tz in getattr(calendar, "vtimezone_list", [])}
