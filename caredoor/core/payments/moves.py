"""Moving a paid session: the payment goes with it.

Rescheduling replaces a booking with a new one (``booking.actions.do_reschedule``); what
was paid for the old one pays for the new one, so its payments are moved to the new
booking in the same transaction. A later cancellation of the moved session then refunds
them under the (unchanged) policy snapshot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from caredoor.core.booking import actions as booking_actions
from caredoor.core.booking.models import Booking
from caredoor.core.payments.models import Payment


def do_reschedule(
    booking: Booking, *, actor: Any, start: datetime, request: HttpRequest | None = None
) -> Booking:
    with transaction.atomic():
        moved = booking_actions.do_reschedule(booking, actor=actor, start=start, request=request)
        Payment.objects.filter(booking_id=booking.pk).update(booking=moved)
    return moved
