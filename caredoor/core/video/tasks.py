"""Video jobs run by the Huey consumer: settling closed rooms every minute."""

from __future__ import annotations

import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from caredoor.core.video.settle import settle_due

log = logging.getLogger("caredoor.video")


@db_periodic_task(crontab(minute="*"))
def settle_video_sessions_every_minute() -> int:
    """Rooms whose join window (or ad-hoc lifetime) is over: attendance settles them."""
    settled = settle_due(timezone.now())
    if settled:
        log.info("settled %s video rooms", settled)
    return settled
