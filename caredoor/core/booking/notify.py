"""Booking notifications: who hears of which lifecycle event (email and in-app).

Actions call ``booking_event`` / ``request_event`` inside their transaction with the
event and the side that caused it (``by``); delivery happens after commit, so a rolled
back action notifies nobody. The other side always hears of it; confirmations and changes
also reach the actor with the calendar invite.

How: inside the action's transaction each recipient gets an outbox row (a ``Delivery``,
``pending``, keyed ``booking:<pk>:<event>:<status changed at>:<side>`` or
``request:<pk>:<event>:<side>``), so the rows exist exactly when the action committed.
On commit a job sends them (the Huey task ``deliver_notifications``; inline in tests):
each message is rendered in its recipient's language and time zone, with a link into
their own portal on the booking's brand, and for a confirmation or change the calendar
invite (``booking.ics``). A failing mail server never reaches the action: the row is
marked failed and ``retry_notifications`` (every minute) sends it again. A message whose
booking or request has changed state since is dropped rather than sent late (an old
invite must not bring back a cancelled session).

Emails carry no health data: the session type's name, times, the specialist's and the
brand's names and links. Never the patient's name (to the specialist), notes, a request's
message or a reason for cancelling.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking import ics
from caredoor.core.booking.models import (
    AvailabilityRequest,
    Booking,
    BookingStatus,
)
from caredoor.core.messaging import events as thread_events
from caredoor.core.notifications import actions as notifications
from caredoor.core.notifications.links import portal_path
from caredoor.core.notifications.models import Delivery
from caredoor.core.specialists.queries import public_name

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


# Which events carry a calendar invite, and which iTIP method (None: no invite).
REQUEST, CANCEL = "REQUEST", "CANCEL"
INVITES: dict[str, str] = {
    BOOKED: REQUEST,
    PAID: REQUEST,
    SCHEDULED: REQUEST,
    RESCHEDULED: REQUEST,
    CANCELLED: CANCEL,
}
SIDES: tuple[Literal["patient", "specialist"], ...] = ("patient", "specialist")


def invite_method(event: str, status: str) -> str | None:
    """The iTIP method of ``event``'s invite for a booking now in ``status``, if any."""
    if event == PROPOSAL_ACCEPTED:  # confirmed at once, or only after payment
        return REQUEST if status == BookingStatus.CONFIRMED else None
    return INVITES.get(event)


def booking_recipients(event: str, status: str, by: Side) -> list[str]:
    """The other side of ``by``; the actor too when the event carries an invite; both for
    the system's events (expiry, payment)."""
    if by == "system":
        return list(SIDES)
    other = "specialist" if by == "patient" else "patient"
    return [other, by] if invite_method(event, status) else [other]


def request_recipients(event: str, by: Side) -> list[str]:
    if by == "system":
        return list(SIDES)
    return ["specialist" if by == "patient" else "patient"]


def booking_event(event: str, booking: Booking, *, by: Side, previous: str = "") -> None:
    """Schedule, on commit, the notifications of ``event`` on ``booking``, and add its line
    to the pair's conversation (``thread_line``). ``previous``: the status the booking had
    before, where the event alone does not tell (expiry of a proposal or of a payment)."""
    if event not in BOOKING_EVENTS:
        raise ValueError(f"unknown booking event {event!r}")
    if by not in ("patient", "specialist", "system"):
        raise ValueError(f"unknown side {by!r}")
    # The row as the action has just written it (the instance passed may be an older copy).
    status, changed, updated = Booking.objects.filter(pk=booking.pk).values_list(
        "status", "status_changed_at", "updated_at"
    ).first() or (booking.status, booking.status_changed_at, booking.updated_at)
    stamp = changed or updated or timezone.now()
    keys = []
    for side in booking_recipients(event, status, by):
        key = f"booking:{booking.pk}:{event}:{stamp.astimezone(UTC).isoformat()}:{side}"
        notifications.enqueue(
            key,
            user=_booking_person(booking, side),
            brand=booking.brand,
            kind=f"booking.{event}",
            payload={
                "booking": booking.pk,
                "event": event,
                "by": by,
                "side": side,
                "status": status,
            },
        )
        keys.append(key)
    transaction.on_commit(partial(_after_commit, keys), robust=True)
    thread_line(event, booking, by=by, previous=previous)


# --- lines in the pair's conversation (messaging/events.py) -------------------------------


def line_kind(event: str, status: str, previous: str = "") -> str | None:
    """The conversation line of a booking event on a booking now in ``status`` (None: no
    line; completed sessions and no-shows are not announced)."""
    if event in (BOOKED, SCHEDULED, PROPOSAL_ACCEPTED):
        if status == BookingStatus.CONFIRMED:
            return thread_events.BOOKING_CONFIRMED
        return thread_events.PAYMENT_DUE if status == BookingStatus.PENDING_PAYMENT else None
    if event == EXPIRED:
        if previous == BookingStatus.PENDING_PAYMENT:
            return thread_events.PAYMENT_EXPIRED
        return thread_events.PROPOSAL_EXPIRED
    return {
        PROPOSED: thread_events.PROPOSAL_SENT,
        PROPOSAL_DECLINED: thread_events.PROPOSAL_DECLINED,
        PROPOSAL_WITHDRAWN: thread_events.PROPOSAL_WITHDRAWN,
        PAID: thread_events.PAYMENT_RECEIVED,
        RESCHEDULED: thread_events.BOOKING_RESCHEDULED,
        CANCELLED: thread_events.BOOKING_CANCELLED,
    }.get(event)


def line_data(booking: Booking, *, by: str) -> dict[str, Any]:
    """What a booking's conversation line keeps: ids, times (ISO, UTC), states. Never the
    session type's name, a reason or a message."""
    return {
        "booking": booking.pk,
        "start": booking.start.astimezone(UTC).isoformat(),
        "end": booking.end.astimezone(UTC).isoformat(),
        "session_type": booking.session_type_id,
        "status": booking.status,
        "by": by,
    }


def thread_line(event: str, booking: Booking, *, by: str, previous: str = "") -> None:
    """Add ``event``'s line to the pair's conversation, in the action's transaction."""
    fresh = (
        Booking.objects.select_related("brand", "patient", "profile", "rescheduled_from")
        .filter(pk=booking.pk)
        .first()
    )
    if fresh is None:
        return
    if event == EXPIRED and not previous:
        previous = BookingStatus.PENDING_PAYMENT if fresh.responded_at else BookingStatus.PROPOSED
    kind = line_kind(event, fresh.status, previous)
    if kind is None:
        return
    data = line_data(fresh, by=by)
    if kind in (thread_events.PROPOSAL_SENT, thread_events.PAYMENT_DUE) and fresh.expires_at:
        data["expires"] = fresh.expires_at.astimezone(UTC).isoformat()
    if event == RESCHEDULED and fresh.rescheduled_from is not None:
        data["previous"] = fresh.rescheduled_from.pk
        data["previous_start"] = fresh.rescheduled_from.start.astimezone(UTC).isoformat()
    if fresh.series_id is not None and event in (SCHEDULED, CANCELLED):
        count = len(series_dates(fresh, event))  # one line for a series scheduled or cancelled
        if count > 1:
            data["count"] = count
    thread_events.post_event(
        brand=fresh.brand, patient=fresh.patient, profile=fresh.profile, event=kind, data=data
    )


def request_event(event: str, request: AvailabilityRequest, *, by: Side) -> None:
    """Schedule, on commit, the notifications of ``event`` on an availability request."""
    if event not in REQUEST_EVENTS:
        raise ValueError(f"unknown request event {event!r}")
    if by not in ("patient", "specialist", "system"):
        raise ValueError(f"unknown side {by!r}")
    status = (
        AvailabilityRequest.objects.filter(pk=request.pk).values_list("status", flat=True).first()
        or request.status
    )
    keys = []
    for side in request_recipients(event, by):
        key = f"request:{request.pk}:{event}:{side}"
        notifications.enqueue(
            key,
            user=request.patient if side == "patient" else request.profile.user,
            brand=request.brand,
            kind=f"request.{event}",
            payload={
                "request": request.pk,
                "event": event,
                "by": by,
                "side": side,
                "status": status,
            },
        )
        keys.append(key)
    transaction.on_commit(partial(_after_commit, keys), robust=True)


def _after_commit(keys: list[str]) -> None:
    from caredoor.core.booking.tasks import deliver_notifications

    deliver_notifications(keys)


# --- sending --------------------------------------------------------------------------------


def deliver(keys: Iterable[str], now: datetime | None = None) -> dict[str, str]:
    """Send the outbox rows ``keys`` (after the commit, or again); returns each key's state.
    Never raises: a message that cannot even be built is counted as a failed attempt."""
    now = now or timezone.now()
    outcome: dict[str, str] = {}
    for row in Delivery.objects.filter(key__in=list(keys)).order_by("pk"):
        outcome[row.key] = _deliver_row(row, now)
    return outcome


def retry_notifications(now: datetime | None = None) -> dict[str, str]:
    """Send again what failed, what a crash left claimed past its lease, and outbox rows
    whose commit-time job never ran (reminders retry through their own sweep)."""
    now = now or timezone.now()
    rows = notifications.retriable(now).filter(
        Q(key__startswith="booking:") | Q(key__startswith="request:")
    )
    return {row.key: _deliver_row(row, now) for row in rows}


def _deliver_row(row: Delivery, now: datetime) -> str:
    return notifications.deliver_row(row, lambda r: build(r.payload), now)


def build(payload: dict[str, Any]) -> notifications.Message | None:
    """The message an outbox row stands for, as of now; None when its booking or request
    has moved on since (or is gone)."""
    if "booking" in payload:
        booking = (
            Booking.objects.select_related(
                "brand", "profile__user", "profile__published", "patient", "session_type"
            )
            .filter(pk=payload["booking"])
            .first()
        )
        if booking is None or booking.status != payload["status"]:
            return None
        return booking_message(booking, payload["event"], payload["side"], by=payload["by"])
    request = (
        AvailabilityRequest.objects.select_related(
            "brand", "profile__user", "profile__published", "patient", "session_type"
        )
        .filter(pk=payload["request"])
        .first()
    )
    if request is None or request.status != payload["status"]:
        return None
    return request_message(request, payload["event"], payload["side"], by=payload["by"])


def booking_message(booking: Booking, event: str, side: str, *, by: str) -> notifications.Message:
    """The email and in-app notification of ``event`` for one side of ``booking``."""
    person = _booking_person(booking, side)
    method = invite_method(event, booking.status)
    previous = booking.rescheduled_from if event == RESCHEDULED else None
    return notifications.Message(
        user=person,
        brand=booking.brand,
        portal=Portal.PATIENT if side == "patient" else Portal.SPECIALIST,
        kind=f"booking.{event}",
        template=f"booking/email/{event}",
        context={
            "booking": booking,
            "event": event,
            "side": side,
            "by": by,
            "mine": by == side,
            "session": booking.session_type.name,
            "specialist": specialist_name(booking.profile),
            "previous": previous,
            "series": booking.series,
            "series_dates": series_dates(booking, event),
            "invite": method if method and invite_writer() else "",
        },
        url=portal_path(side, "booking", booking.pk),
        attachments=partial(_invites, booking, side, method, previous),
        time_zone=_zone_of(booking.profile, side, person),
    )


def series_dates(booking: Booking, event: str) -> list[datetime]:
    """For an action on a whole series (one notification for all of it): the dates it
    concerns -- the series' sessions from this one on, or those cancelled with it."""
    if booking.series_id is None:
        return []
    rows = Booking.objects.filter(series_id=booking.series_id).order_by("start")
    if event in (SCHEDULED, RESCHEDULED):
        rows = rows.filter(status=BookingStatus.CONFIRMED, start__gte=booking.start)
    elif event == CANCELLED and booking.cancelled_at is not None:
        rows = rows.filter(cancelled_at=booking.cancelled_at, status=booking.status)
    else:
        return []
    return list(rows.values_list("start", flat=True))


def request_message(
    request: AvailabilityRequest, event: str, side: str, *, by: str
) -> notifications.Message:
    person = request.patient if side == "patient" else request.profile.user
    return notifications.Message(
        user=person,
        brand=request.brand,
        portal=Portal.PATIENT if side == "patient" else Portal.SPECIALIST,
        kind=f"request.{event}",
        template=f"booking/email/{event}",
        context={
            "request": request,
            "event": event,
            "side": side,
            "by": by,
            "session": request.session_type.name,
            "specialist": specialist_name(request.profile),
        },
        url=portal_path(side, "request", request.pk),
        time_zone=_zone_of(request.profile, side, person),
    )


def _booking_person(booking: Booking, side: str) -> Any:
    return booking.patient if side == "patient" else booking.profile.user


def _zone_of(profile: Any, side: str, person: Any) -> str:
    """The person's own zone; a specialist without one has their profile's; else the
    brand's (``branded_email`` falls back to it)."""
    if person.time_zone:
        return person.time_zone
    return profile.time_zone if side == "specialist" else ""


def specialist_name(profile: Any) -> str:
    return public_name(profile)


def invite_writer() -> Any:
    """The invite builder (``booking.ics.invite_attachment``)."""
    return ics.invite_attachment


def _invites(
    booking: Booking, side: str, method: str | None, previous: Booking | None
) -> list[tuple[str, bytes, str]]:
    """The calendar invite for ``side`` (and for a move, the cancellation of the old
    event, whose UID differs). Called while the email is rendered, so the invite is in
    the recipient's language."""
    writer = invite_writer()
    if method is None or writer is None:
        return []
    files = [writer(booking, side, method)]
    if previous is not None:
        files.append(writer(previous, side, CANCEL))
    return files
