"""Downloads of message attachments are recorded in the audit trail (ids only).

The portal's attachment view has checked that the reader is a party to the thread
(``queries.access_thread``) and that the message belongs to it (``queries.access_message``)
before it calls ``do_record_download`` and serves the file through
``compliance.uploads.file_response``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from caredoor.core.compliance import audit
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.messaging.models import Message


def do_record_download(
    message: Message, user: Any, request: HttpRequest | None = None
) -> AuditEvent:
    """One audit event per download: the message, its thread and the stored file, by id."""
    with transaction.atomic():
        return audit.record(
            "messaging.attachment_downloaded",
            actor=user,
            target=message,
            brand=message.thread.brand,
            request=request,
            data={"thread": message.thread_id, "file": str(message.attachment_id)},
        )
