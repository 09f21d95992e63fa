"""System events in a care thread: the API other apps call, and how each line reads.

``post_event(brand=..., patient=..., profile=..., event=..., data=...)`` runs inside the
calling action's transaction (a rolled-back action leaves no line) and appends a compact
line to the pair's thread. ``data`` holds ids, times (ISO, UTC) and states only.
``describe(event, data, portal)`` renders the line and the link to act on it for one
reader, in the active language and time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from caredoor.core.brands.models import Brand
from caredoor.core.messaging.actions import care_thread, post_system_event
from caredoor.core.messaging.models import Message

BOOKING_CONFIRMED = "booking_confirmed"
BOOKING_RESCHEDULED = "booking_rescheduled"
BOOKING_CANCELLED = "booking_cancelled"
PROPOSAL_SENT = "proposal_sent"
PROPOSAL_EXPIRED = "proposal_expired"
PAYMENT_RECEIVED = "payment_received"
CONSENT_SIGNED = "consent_signed"
SESSION_STARTING = "session_starting"

EVENT_KINDS = frozenset(
    {
        BOOKING_CONFIRMED,
        BOOKING_RESCHEDULED,
        BOOKING_CANCELLED,
        PROPOSAL_SENT,
        PROPOSAL_EXPIRED,
        PAYMENT_RECEIVED,
        CONSENT_SIGNED,
        SESSION_STARTING,
    }
)


def post_event(
    *, brand: Brand, patient: Any, profile: Any, event: str, data: dict[str, Any]
) -> Message:
    if event not in EVENT_KINDS:
        raise ValueError(f"unknown thread event {event!r}")
    return post_system_event(care_thread(brand, patient, profile), event=event, data=data)


@dataclass(frozen=True)
class EventLine:
    text: str
    url: str = ""


def describe(event: str, data: dict[str, Any], portal: str) -> EventLine:
    """The line one reader sees for a system event (placeholder until every kind has its
    own wording)."""
    return EventLine(_("Something changed in this conversation."))
