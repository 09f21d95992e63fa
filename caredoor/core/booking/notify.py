"""Booking notifications: who hears of which lifecycle event (email and in-app).

Actions call ``booking_event`` / ``request_event`` inside their transaction with the
event and the side that caused it (``by``); delivery happens after commit, so a rolled
back action notifies nobody. The other side always hears of it; confirmations and changes
also reach the actor with the calendar invite.

(Interface fixed; delivery is filled in by the notifications work.)
"""

from __future__ import annotations

from typing import Literal

from caredoor.core.booking.models import AvailabilityRequest, Booking

Side = Literal["patient", "specialist", "system"]

# Booking events
BOOKED = "booked"  # patient booked directly (confirmed)
PROPOSED = "proposed"  # specialist proposed a time (also: answer to a request)
PROPOSAL_ACCEPTED = "proposal_accepted"  # -> confirmed or pending payment
PROPOSAL_DECLINED = "proposal_declined"
PROPOSAL_WITHDRAWN = "proposal_withdrawn"
PAID = "paid"  # pending payment -> confirmed
RESCHEDULED = "rescheduled"  # the booking passed is the NEW one; .rescheduled_from the old
CANCELLED = "cancelled"
COMPLETED = "completed"
NO_SHOW = "no_show"
EXPIRED = "expired"  # proposal or pending payment lapsed
SCHEDULED = "scheduled"  # specialist scheduled a confirmed booking (series occurrence)
# Request events
REQUEST_RECEIVED = "request_received"
REQUEST_DECLINED = "request_declined"
REQUEST_EXPIRED = "request_expired"
REQUEST_WITHDRAWN = "request_withdrawn"

BOOKING_EVENTS = frozenset(
    {
        BOOKED,
        PROPOSED,
        PROPOSAL_ACCEPTED,
        PROPOSAL_DECLINED,
        PROPOSAL_WITHDRAWN,
        PAID,
        RESCHEDULED,
        CANCELLED,
        COMPLETED,
        NO_SHOW,
        EXPIRED,
        SCHEDULED,
    }
)
REQUEST_EVENTS = frozenset({REQUEST_RECEIVED, REQUEST_DECLINED, REQUEST_EXPIRED, REQUEST_WITHDRAWN})


def booking_event(event: str, booking: Booking, *, by: Side) -> None:
    """Schedule, on commit, the notifications of ``event`` on ``booking``."""
    if event not in BOOKING_EVENTS:
        raise ValueError(f"unknown booking event {event!r}")


def request_event(event: str, request: AvailabilityRequest, *, by: Side) -> None:
    """Schedule, on commit, the notifications of ``event`` on an availability request."""
    if event not in REQUEST_EVENTS:
        raise ValueError(f"unknown request event {event!r}")
