"""The one JSON shape of a message on the wire: WebSocket pushes, resume and polling.

Text bodies go out as safe HTML (``text.render_body``). Events go out as their kind and
ids/states; each reader's consumer (or polling view) adds the event's line and link in the
reader's language, time zone and portal (``events.describe``). ``mine`` and ``read`` are
per reader too and are added by whoever sends to that reader.
"""

from __future__ import annotations

from typing import Any

from caredoor.core.compliance.crypto import decrypt_text
from caredoor.core.messaging.models import Message, MessageKind
from caredoor.core.messaging.queries import sender_name
from caredoor.core.messaging.text import render_body


def body_of(message: Message) -> str:
    if message.deleted_at or message.purged_at or not message.body_encrypted:
        return ""
    return decrypt_text(message.body_encrypted)


def message_payload(message: Message) -> dict[str, Any]:
    removed = message.deleted_at is not None or message.purged_at is not None
    attachment = None
    if message.attachment_id and not removed and message.attachment is not None:
        attachment = {
            "name": message.attachment.original_name,
            "size": message.attachment.size,
            "type": message.attachment.content_type,
        }
    return {
        "type": "message",
        "thread": message.thread_id,
        "id": message.pk,
        "kind": message.kind,
        "side": message.side,
        "sender": message.sender_id,
        "sender_name": sender_name(message) if message.kind == MessageKind.TEXT else "",
        "body_html": "" if removed else render_body(body_of(message)),
        "attachment": attachment,
        "event": message.event or None,
        "event_data": message.event_data if message.kind == MessageKind.EVENT else None,
        "created": message.created_at.isoformat(),
        "edited": message.edited_at.isoformat() if message.edited_at else None,
        "deleted": message.deleted_at is not None,
        "purged": message.purged_at is not None,
    }


def for_reader(payload: dict[str, Any], *, user_id: int, portal: str) -> dict[str, Any]:
    """``payload`` as one reader gets it: ``mine``, and for events the line and link in
    the active language and time zone, for the reader's portal."""
    from caredoor.core.messaging.events import describe

    out = {**payload, "mine": payload.get("sender") == user_id}
    if payload.get("kind") == MessageKind.EVENT and payload.get("event"):
        line = describe(payload["event"], payload.get("event_data") or {}, portal)
        out["event_text"], out["event_url"] = line.text, line.url
    return out
