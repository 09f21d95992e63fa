"""The one place bookings are inserted: under the specialist's lock, overlap-checked.

No double booking: the transaction first locks the specialist's profile row (SELECT ...
FOR UPDATE on PostgreSQL; on SQLite the transaction is BEGIN IMMEDIATE, see settings, and
already holds the database write lock), then checks that no active booking overlaps each
new booking's blocked range (its time plus the session type's buffers), then inserts. On
PostgreSQL the exclusion constraint is the backstop for writes that bypass this module;
its IntegrityError maps to the same ``Taken``.

Without the profile lock, two concurrent inserts of *different but overlapping* ranges on
PostgreSQL each wait for the other while checking the exclusion constraint and one dies
with "deadlock detected" (the overlapping race test found this). With it, bookings of one
specialist are made one at a time and the pre-check sees every committed booking.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction

from caredoor.core.booking.models import NO_OVERLAP_CONSTRAINT, Booking
from caredoor.core.care.actions import ensure_for_booking
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.models import SpecialistProfile

# SQLite: busy_timeout (10 s) normally absorbs waiting for the write lock. Should it still
# give up with "database is locked" (or PostgreSQL report a deadlock, which the profile lock
# should prevent), the whole transaction is retried a few times -- only when the caller
# does not hold a transaction already: inside a caller's transaction a retry would be wrong.
LOCK_RETRIES = 5
DEADLOCK_DETECTED = "40P01"
T = TypeVar("T")


class Taken(Exception):
    """A new booking's blocked range overlaps an active booking (``index``: which one)."""

    def __init__(self, index: int = 0) -> None:
        self.index = index
        super().__init__(index)


def blocked_range(
    session_type: SessionType, start: datetime
) -> tuple[datetime, datetime, tuple[datetime, datetime]]:
    """(start, end, (blocked_start, blocked_end)) of a session of ``session_type``."""
    end = start + timedelta(minutes=session_type.duration_minutes)
    blocked = (
        start - timedelta(minutes=session_type.buffer_before_minutes),
        end + timedelta(minutes=session_type.buffer_after_minutes),
    )
    return start, end, blocked


def lock_specialist(profile_id: int) -> None:
    list(SpecialistProfile.objects.select_for_update().filter(pk=profile_id).values_list("pk"))


def overlapping(
    profile_id: int, blocked: tuple[datetime, datetime], *, ignore: Iterable[int] = ()
) -> Booking | None:
    return (
        Booking.objects.filter(profile_id=profile_id)
        .blocking(*blocked)
        .exclude(pk__in=list(ignore))
        .first()
    )


def _is_no_overlap_violation(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name == NO_OVERLAP_CONSTRAINT or NO_OVERLAP_CONSTRAINT in str(error)


def _is_retryable(error: OperationalError) -> bool:
    if connection.vendor == "sqlite":
        return "database is locked" in str(error)
    cause = error.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code == DEADLOCK_DETECTED


def insert(rows: list[Booking]) -> list[Booking]:
    """Insert unsaved bookings of one specialist (call inside ``transaction.atomic`` after
    ``lock_specialist``). Raises ``Taken(i)`` if row ``i`` overlaps an active booking or an
    earlier row; nothing of this call is kept then (the caller's transaction rolls back)."""
    for i, row in enumerate(rows):
        if overlapping(row.profile_id, (row.blocked_start, row.blocked_end)) is not None:
            raise Taken(i)
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError as error:
            if _is_no_overlap_violation(error):
                raise Taken(i) from error
            raise
    if rows:
        # The pair's first booking starts its care relationship (allocations start it too).
        first = rows[0]
        ensure_for_booking(brand=first.brand, patient=first.patient, profile_id=first.profile_id)
    return rows


def with_retry(write: Callable[[], T]) -> T:
    """Run ``write`` (which opens its own ``transaction.atomic``), retrying lock timeouts and
    deadlocks when no outer transaction is open."""
    owns_transaction = not transaction.get_connection().in_atomic_block
    attempt = 0
    while True:
        attempt += 1
        try:
            return write()
        except OperationalError as error:
            if not (owns_transaction and _is_retryable(error) and attempt < LOCK_RETRIES):
                raise
            _time.sleep(0.05 * attempt)
