"""The messaging purger for retention policies (``compliance/retention.py``).

``purge_messages(brand, before)`` strips every text message on ``brand`` written before
``before``: its encrypted body is cleared, its attachment deleted (row now, blob on
commit), and ``purged_at`` set. The line itself stays, with its author, side and time,
so a conversation keeps its shape and shows "removed under the retention policy" where
the text was (``wire.message_payload`` sends ``purged``). System events carry ids and
states only and are left as they are. One audit event records the counts and the cut-off,
never what was removed. Registered as ``messaging.messages`` in ``MessagingConfig.ready``.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.compliance.models import StoredFile
from caredoor.core.compliance.uploads import delete_file
from caredoor.core.messaging.models import Message, MessageKind

NAME = "messaging.messages"
CHUNK = 500


def purge_messages(brand: Brand, before: datetime, *, now: datetime | None = None) -> int:
    """Purge the text messages on ``brand`` older than ``before``; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = Message.objects.filter(
            thread__brand=brand,
            kind=MessageKind.TEXT,
            created_at__lt=before,
            purged_at__isnull=True,
        )
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            return 0
        files: list[object] = []
        purged = 0
        for start in range(0, len(ids), CHUNK):
            chunk = Message.objects.select_for_update().filter(pk__in=ids[start : start + CHUNK])
            files.extend(
                chunk.filter(attachment__isnull=False).values_list("attachment_id", flat=True)
            )
            purged += chunk.update(body_encrypted="", attachment=None, purged_at=now)
        removed = 0
        for start in range(0, len(files), CHUNK):
            for stored in StoredFile.objects.filter(pk__in=files[start : start + CHUNK]):
                delete_file(stored)
                removed += 1
        audit.record(
            "messaging.retention_purged",
            brand=brand,
            actor_label="retention",
            data={"messages": purged, "attachments": removed, "before": before.isoformat()},
        )
    return purged
