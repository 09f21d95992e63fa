"""Session reminders by email (and in-app), derived from the database on every run.

``send_due_reminders(now)`` runs every minute (``tasks.py``; ``manage.py send_reminders``
runs it once). It keeps no schedule of its own: each run looks at every confirmed booking
that has not started and, for each reminder offset of the booking's brand
(``policy.brand_policy(brand)["reminder_offsets_minutes"]``, default 24 hours and 1 hour),
asks whether ``start - offset`` has passed. So a reminder whose moment came while no
worker ran is still sent, as long as the session has not started; a cancelled or moved
booking is no longer confirmed and gets nothing more, and the booking that replaces a
moved one gets reminders for its own time.

Which reminder:
- Due: ``start - offset <= now < start``. One second before the moment it is not due; at
  the moment it is.
- When several are due at once (the worker was down across the 24-hour moment into the
  1-hour one), only the nearest to the start is sent: never two reminders at once, and the
  skipped one is never sent later (the nearer one stays the one due).
- A reminder whose moment came before the booking was confirmed (``status_changed_at``) is
  not sent: a session booked 10 hours ahead gets its confirmation and the 1-hour reminder,
  not a "24 hours" reminder on top of the confirmation.

Delivery guarantee, per reminder, recipient and booking time (the ``Delivery`` key
``reminder:<booking>:<start>:<offset>:<patient|specialist>``):
claim (a unique insert, committed) -> send -> mark sent, as in
``notifications.actions``. Any number of workers may run this concurrently and
repeatedly: only the one that claimed the key sends. A failed send is retried on a later
run (after ``RETRY_AFTER``, up to ``MAX_ATTEMPTS``), and a claim left by a process that
died mid-send is retried after the ``LEASE`` (5 minutes) -- in both cases only while the
session has not started. This is at-least-once with one window: if the process dies
after the mail server accepted the message and before "sent" is committed, the message
is sent a second time after the lease. Outside that window, each reminder is sent once.
A reminder can be missed only if no run happens between its moment and the session's
start (or every attempt in that time fails).

People who switched reminder texts on (SMS configured, a phone number, the reminders
group's SMS channel; off by default) get the same reminder as a text too, under its own
key (``<reminder key>:sms``): brand, time and link only (``booking/sms/reminder.txt``).

Each run also adds the "session starting soon" line, with the link to join, to the
conversation of every confirmed session starting within ``STARTING_SOON`` (15 minutes):
once per booking and start time (``announce_starting_soon``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.utils import timezone

from caredoor.core.booking import notify, policy
from caredoor.core.booking.models import Booking, BookingPolicy, BookingStatus
from caredoor.core.messaging import events as thread_events
from caredoor.core.notifications import actions as notifications
from caredoor.core.notifications import sms
from caredoor.core.notifications.models import Delivery, DeliveryState

log = logging.getLogger("caredoor.notifications")

SIDES = notify.SIDES


def reminder_key(booking: Booking, offset: int, side: str) -> str:
    return f"reminder:{booking.pk}:{int(booking.start.timestamp())}:{offset}:{side}"


def _longest_offset() -> int:
    """The longest reminder offset any brand uses (minutes): how far ahead to look."""
    configured = (
        BookingPolicy.objects.filter(profile__isnull=True, reminder_offsets_minutes__isnull=False)
        .values_list("reminder_offsets_minutes", flat=True)
        .distinct()
    )
    offsets = [*policy.DEFAULTS["reminder_offsets_minutes"]]
    for value in configured:
        if isinstance(value, list):
            offsets.extend(o for o in value if isinstance(o, int))
    return max(offsets, default=0)


def due_reminders(now: datetime) -> list[tuple[Booking, int]]:
    """``(booking, offset)`` for every confirmed booking with a reminder due at ``now``:
    the nearest-to-start offset whose moment has passed, if it came after confirmation."""
    horizon = now + timedelta(minutes=_longest_offset())
    bookings = (
        Booking.objects.filter(status=BookingStatus.CONFIRMED, start__gt=now, start__lte=horizon)
        .select_related("brand", "profile__user", "profile__published", "patient", "session_type")
        .order_by("start", "pk")
    )
    offsets_of: dict[int, list[int]] = {}
    due: list[tuple[Booking, int]] = []
    for booking in bookings:
        if booking.brand_id not in offsets_of:
            offsets_of[booking.brand_id] = list(
                policy.brand_policy(booking.brand)["reminder_offsets_minutes"] or []
            )
        confirmed_at = booking.status_changed_at or booking.created_at
        moments = [
            (offset, booking.start - timedelta(minutes=offset))
            for offset in offsets_of[booking.brand_id]
        ]
        passed = [offset for offset, moment in moments if moment <= now]
        if not passed:
            continue
        nearest = min(passed)
        if booking.start - timedelta(minutes=nearest) < confirmed_at:
            continue  # its moment came before the booking existed as confirmed
        due.append((booking, nearest))
    return due


def send_due_reminders(now: datetime | None = None) -> int:
    """Send every reminder due at ``now`` that has not been sent; returns how many were
    sent by this run. Safe to run any number of times, concurrently too."""
    now = now or timezone.now()
    due = due_reminders(now)
    keys = [reminder_key(booking, offset, side) for booking, offset in due for side in SIDES]
    texting = sms.sms_sender().enabled  # reminder texts: off unless configured and chosen
    if texting:
        keys += [f"{key}:sms" for key in keys]
    done: set[str] = set()
    for chunk in range(0, len(keys), 500):
        done.update(
            Delivery.objects.filter(
                key__in=keys[chunk : chunk + 500],
                state__in=[DeliveryState.SENT, DeliveryState.DROPPED],
            ).values_list("key", flat=True)
        )
    sent = 0
    for booking, offset in due:
        for side in SIDES:
            key = reminder_key(booking, offset, side)
            if texting and f"{key}:sms" not in done:
                _text(booking, offset, side, now)
            if key in done:
                continue
            try:
                state = notifications.send(
                    _message(booking, side),
                    key=key,
                    payload=_payload(booking, offset, side),
                    now=now,
                )
            except Exception:
                log.exception("reminder %s could not be sent", key)
                continue
            sent += state == DeliveryState.SENT
    announce_starting_soon(now)
    return sent


# The "session starting soon" line in the pair's conversation, with the link to join.
STARTING_SOON = timedelta(minutes=15)


def announce_starting_soon(now: datetime | None = None) -> int:
    """Post "your session starts at ..." to the conversation of every confirmed booking
    starting within ``STARTING_SOON`` of ``now``: once per booking and start time, however
    many runs and processes see it (``events.post_event_once``). Returns how many lines
    this run posted."""
    now = now or timezone.now()
    bookings = (
        Booking.objects.filter(
            status=BookingStatus.CONFIRMED, start__gt=now, start__lte=now + STARTING_SOON
        )
        .select_related("brand", "patient", "profile")
        .order_by("start", "pk")
    )
    posted = 0
    for booking in bookings:
        try:
            line = thread_events.post_event_once(
                brand=booking.brand,
                patient=booking.patient,
                profile=booking.profile,
                event=thread_events.SESSION_STARTING,
                data=notify.line_data(booking, by="system"),
                once_on=("booking", "start"),
            )
        except Exception:
            log.exception("starting-soon line for booking %s could not be posted", booking.pk)
            continue
        posted += line is not None
    return posted


def _text(booking: Booking, offset: int, side: str, now: datetime) -> str:
    """The reminder as an SMS, for people who switched reminder texts on (off by default):
    the brand, the time and the link; no session type, no names. Its own delivery key."""
    message = _message(booking, side)
    try:
        return notifications.send_text(
            key=f"{reminder_key(booking, offset, side)}:sms",
            user=message.user,
            brand=booking.brand,
            kind=message.kind,
            text=partial(notifications.render_text, message, "booking/sms/reminder.txt"),
            payload=_payload(booking, offset, side),
            now=now,
        )
    except Exception:
        log.exception("reminder text %s could not be sent", reminder_key(booking, offset, side))
        return DeliveryState.FAILED


def _message(booking: Booking, side: str) -> notifications.Message:
    return notify.booking_message(booking, "reminder", side, by="system")


def _payload(booking: Booking, offset: int, side: str) -> dict[str, Any]:
    return {"booking": booking.pk, "reminder": offset, "side": side}
