"""Settling a room once it stops admitting: attendance decides the booking's outcome.

A **booked room** is settled once, ``SETTLE_DELAY`` after its join window closes (the
booking's end plus the brand's grace, ``rules.closes_at``; the delay lets live sockets
record their leaves first). Settling

1. closes attendance a crashed server left open (``left_at`` NULL) at the window's close;
2. reads the durations (``queries.session_durations``) and names the outcome:

   - ``met``: both sides were in the room at the same time for at least ``MIN_TOGETHER``;
   - ``patient_absent``: the specialist was there for at least ``MIN_PRESENCE`` in all,
     the patient was not;
   - ``specialist_absent``: the reverse;
   - ``apart``: both were there, but not together long enough;
   - ``nobody``: neither was there for ``MIN_PRESENCE``;

3. acts, only while the booking is still confirmed: ``met`` completes it
   (``booking.actions.do_complete_attended``: audited as the system's, "by attendance",
   both sides notified); ``patient_absent`` asks the specialist to confirm a no-show (an
   in-app notification, kind ``booking.no_show_check``, and a panel on the booking page:
   the specialist's confirmation applies the booking's no-show fee). Every other outcome,
   and a booking already completed, marked or cancelled, changes nothing.

An **ad-hoc room** is settled the same way once it is ended or its lifetime is over
(``rules.ADHOC_LIFETIME``): stale attendance closed, the room closed, its outcome kept
for reports; there is no booking to change.

Each room is settled in one transaction, claimed by a conditional update of
``settled_at``: running the job twice, or two workers at once, settles a room once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from caredoor.core.booking.actions import do_complete_attended
from caredoor.core.booking.models import BookingStatus
from caredoor.core.compliance import audit
from caredoor.core.notifications.actions import do_mark_read_about, do_refresh_in_app
from caredoor.core.notifications.links import portal_path
from caredoor.core.notifications.models import Channel
from caredoor.core.notifications.preferences import allows
from caredoor.core.notifications.templatetags.notification_time import when
from caredoor.core.video.models import Attendance, Outcome, Room, RoomKind
from caredoor.core.video.queries import Durations, session_durations
from caredoor.core.video.rules import ADHOC_LIFETIME, Entry, closes_at

log = logging.getLogger("caredoor.video")

MIN_TOGETHER = timedelta(minutes=1)  # both in the room at once this long: the session met
MIN_PRESENCE = timedelta(minutes=1)  # a side in the room this long in all: it attended
SETTLE_DELAY = timedelta(minutes=1)  # after the room closes, before it is settled
NO_SHOW_CHECK_KIND = "booking.no_show_check"
BATCH = 200  # rooms settled per run at most (the job runs every minute)


def outcome_of(durations: Durations) -> str:
    if durations.together >= MIN_TOGETHER:
        return Outcome.MET
    patient = durations.patient >= MIN_PRESENCE
    specialist = durations.specialist >= MIN_PRESENCE
    if specialist and not patient:
        return Outcome.PATIENT_ABSENT
    if patient and not specialist:
        return Outcome.SPECIALIST_ABSENT
    return Outcome.APART if patient and specialist else Outcome.NOBODY


def room_closes(room: Room) -> datetime:
    """When the room stopped (or stops) admitting: a booking's window close; an ad-hoc
    call's end or the end of its lifetime, whichever came first."""
    if room.kind == RoomKind.BOOKING and room.booking is not None:
        closes = closes_at(Entry(room.booking, "", room))
        assert closes is not None
        return closes
    expires = room.created_at + ADHOC_LIFETIME
    return min(room.closed_at, expires) if room.closed_at else expires


def due_rooms(now: datetime) -> list[Room]:
    """Unsettled rooms that have closed at least ``SETTLE_DELAY`` ago, oldest first."""
    rooms = (
        Room.objects.filter(settled_at__isnull=True)
        .filter(
            Q(kind=RoomKind.BOOKING, booking__end__lte=now)
            | Q(kind=RoomKind.ADHOC, closed_at__lte=now - SETTLE_DELAY)
            | Q(kind=RoomKind.ADHOC, created_at__lte=now - ADHOC_LIFETIME - SETTLE_DELAY)
        )
        .select_related("brand", "booking__brand", "profile__user")
        .order_by("created_at", "pk")
    )
    due = []
    for room in rooms.iterator(chunk_size=BATCH):
        if now >= room_closes(room) + SETTLE_DELAY:
            due.append(room)
            if len(due) >= BATCH:
                break
    return due


def settle_due(now: datetime | None = None) -> int:
    """Settle every room that is due; returns how many were settled now."""
    now = now or timezone.now()
    settled = 0
    for room in due_rooms(now):
        try:
            if settle_room(room, now) is not None:
                settled += 1
        except Exception:  # one bad room must not stop the others; it is retried next run
            log.exception("video room %s could not be settled", room.pk)
    return settled


def settle_room(room: Room, now: datetime | None = None) -> str | None:
    """Settle one room (see the module's description); returns its outcome, or None when
    it is not due or was settled already."""
    now = now or timezone.now()
    closes = room_closes(room)
    if now < closes + SETTLE_DELAY:
        return None
    with transaction.atomic():
        claimed = Room.objects.filter(pk=room.pk, settled_at__isnull=True).update(settled_at=now)
        if not claimed:
            return None
        _close_stale(room, closes)
        outcome = outcome_of(session_durations(room, now=closes))
        changes: dict[str, object] = {"outcome": outcome}
        if room.kind == RoomKind.ADHOC and room.closed_at is None:
            changes["closed_at"] = closes
        Room.objects.filter(pk=room.pk).update(**changes)
        audit.record(
            "video.settled",
            actor=None,
            actor_label="system",
            target=room,
            brand=room.brand,
            data={"kind": room.kind, "booking": room.booking_id, "outcome": outcome},
        )
        booking = room.booking
        if booking is not None:
            booking.refresh_from_db(fields=["status"])
        if booking is not None and booking.status == BookingStatus.CONFIRMED:
            if outcome == Outcome.MET:
                do_complete_attended(booking, by="attendance")
            elif outcome == Outcome.PATIENT_ABSENT:
                _ask_no_show(room)
    room.refresh_from_db(fields=["settled_at", "outcome", "closed_at"])
    return outcome


def _close_stale(room: Room, closes: datetime) -> None:
    """Attendance a crashed server never closed ends when the room closed."""
    stale = Attendance.objects.filter(room=room, left_at__isnull=True)
    stale.filter(joined_at__lte=closes).update(left_at=closes)
    stale.filter(joined_at__gt=closes).update(left_at=F("joined_at"))


def _ask_no_show(room: Room) -> None:
    """Ask the specialist to confirm that the patient did not come (nothing changes until
    they do; their confirmation applies the booking's no-show fee)."""
    booking = room.booking
    assert booking is not None
    specialist = room.profile.user
    brand = booking.brand
    if not allows(specialist, brand, NO_SHOW_CHECK_KIND, Channel.IN_APP):
        return
    zone = specialist.time_zone or room.profile.time_zone or brand.time_zone
    language = specialist.language if specialist.language in brand.languages else ""
    with translation.override(language or brand.default_language), timezone.override(zone):
        title = _(
            "Your patient did not join the video session of %(when)s. Confirm the no-show?"
        ) % {"when": when(booking.start)}
    do_refresh_in_app(
        specialist,
        brand,
        portal="specialist",
        kind=NO_SHOW_CHECK_KIND,
        title=title,
        url=portal_path("specialist", "booking", booking.pk),
    )


def do_close_no_show_check(booking: Any, user: Any) -> int:
    """The specialist recorded the session's outcome: their "confirm the no-show?"
    notification about it is answered (read)."""
    return do_mark_read_about(
        user,
        booking.brand,
        portal="specialist",
        kind=NO_SHOW_CHECK_KIND,
        url=portal_path("specialist", "booking", booking.pk),
    )
