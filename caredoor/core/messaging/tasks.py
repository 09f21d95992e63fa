"""Messaging jobs run by the Huey consumer: the unread-message digests every 5 minutes."""

from __future__ import annotations

import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from caredoor.core.messaging.digest import send_digests

log = logging.getLogger("caredoor.notifications")


@db_periodic_task(crontab(minute="*/5"))
def send_message_digests_every_five_minutes() -> int:
    sent = send_digests(timezone.now())
    if sent:
        log.info("sent %s message digests", sent)
    return sent
