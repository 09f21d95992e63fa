"""Booking jobs run by the Huey consumer: notifications after commit, reminders and
retries every minute."""

from __future__ import annotations

import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from caredoor.core.booking import notify, reminders
from caredoor.core.booking.expiry import expire_overdue

log = logging.getLogger("caredoor.notifications")


@db_task()
def deliver_notifications(keys: list[str]) -> dict[str, str]:
    """Send the outbox rows an action wrote (scheduled on its commit)."""
    return notify.deliver(keys)


@db_periodic_task(crontab(minute="*"))
def send_reminders_every_minute() -> int:
    sent = reminders.send_due_reminders(timezone.now())
    if sent:
        log.info("sent %s reminders", sent)
    return sent


@db_periodic_task(crontab(minute="*"))
def retry_notifications_every_minute() -> int:
    """Booking and request notifications that failed, or whose sender died."""
    return len(notify.retry_notifications(timezone.now()))


@db_periodic_task(crontab(minute="*"))
def expire_overdue_every_minute() -> int:
    """Proposals, unpaid bookings and availability requests past their deadlines."""
    return expire_overdue(timezone.now())
