"""Every change to conversations: open a thread, post, edit, delete, mark read, and the
retention purge.

Posting is atomic (the message, its encrypted attachment row, the thread's clock and the
sender's own read position), and everything the world hears of it happens on commit
(``_after_commit``): the message is pushed to the thread's sockets and the recipients are
notified (``messaging/notify.py``). Edits and deletions are audited (ids only); posts are
not, because the message row is its own record and auditing every chat line would put the
audit chain's single lock in the path of every message.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.compliance.crypto import encrypt_text
from caredoor.core.compliance.uploads import check_upload, delete_file, store_file
from caredoor.core.messaging import hotpath
from caredoor.core.messaging.models import (
    Message,
    MessageKind,
    Side,
    Thread,
    ThreadKind,
    ThreadRead,
)
from caredoor.core.messaging.queries import has_active_care
from caredoor.core.messaging.text import clean_body
from caredoor.core.notifications.push import push, thread_group

EDIT_WINDOW = timedelta(minutes=15)
DELETE_WINDOW = timedelta(hours=24)
ATTACHMENT_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/webp"})
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_PURPOSE = "message_attachment"


# --- threads -----------------------------------------------------------------------------


def _get_or_create(lookup: dict[str, Any]) -> Thread:
    thread = Thread.objects.filter(**lookup).first()
    if thread is not None:
        return thread
    try:
        with transaction.atomic():
            return Thread.objects.create(**lookup)
    except IntegrityError:  # created concurrently: the unique constraint names the winner
        return Thread.objects.get(**lookup)


def care_thread(brand: Brand, patient: Any, profile: Any) -> Thread:
    """The pair's one thread on ``brand`` (created on first use)."""
    return _get_or_create(
        {"brand": brand, "kind": ThreadKind.CARE, "patient": patient, "profile": profile}
    )


def staff_thread(
    brand: Brand, organization: Any, *, patient: Any = None, profile: Any = None
) -> Thread:
    """The organization's one thread with a patient or a specialist on ``brand``. The
    caller has checked that the organization may reach that person
    (``reach.staff_may_reach``)."""
    if (patient is None) == (profile is None):
        raise ValueError("a staff thread is with one patient or one specialist")
    return _get_or_create(
        {
            "brand": brand,
            "kind": ThreadKind.STAFF,
            "organization": organization,
            "patient": patient,
            "profile": profile,
        }
    )


# --- messages ----------------------------------------------------------------------------


def do_post(
    thread: Thread,
    *,
    sender: Any,
    side: str,
    body: str = "",
    upload: Any = None,
    client_token: str = "",
    now: datetime | None = None,
) -> Message:
    """Post a message (text, an attachment, or both) as ``sender`` on ``side``; the caller
    has resolved the side with ``queries.side_of``. A repeated ``client_token`` returns the
    message already stored instead of a second copy (the unique constraint finds it: no
    lookup before every post)."""
    if side not in (Side.PATIENT, Side.SPECIALIST, Side.STAFF):
        raise ValueError(f"people post as patient, specialist or staff, not {side!r}")
    client_token = (client_token or "")[:64]
    if not has_active_care(thread):
        retried = _by_token(thread, sender, client_token)
        if retried is not None:  # sent before the relationship ended
            return retried
        raise ValidationError(
            _("This conversation is closed because the care relationship has ended."),
            code="closed",
        )
    body = clean_body(body, required=upload is None)
    checked = None
    if upload is not None:
        try:
            checked = check_upload(upload, allowed=ATTACHMENT_TYPES, max_bytes=ATTACHMENT_MAX_BYTES)
        except ValidationError as error:
            raise ValidationError({"attachment": error.messages}) from None
    now = now or timezone.now()
    try:
        with transaction.atomic():
            stored = None
            if checked is not None:
                stored = store_file(
                    checked,
                    purpose=ATTACHMENT_PURPOSE,
                    created_by=sender,
                    original_name=getattr(upload, "name", "") or "",
                )
            message = hotpath.insert_message(
                Message(
                    thread=thread,
                    kind=MessageKind.TEXT,
                    sender=sender,
                    side=side,
                    body_encrypted=encrypt_text(body) if body else "",
                    attachment=stored,
                    client_token=client_token,
                    created_at=now,
                )
            )
            hotpath.set_thread_clock(thread.pk, now)
            _advance_read(thread, sender, message.pk, now)
            transaction.on_commit(
                partial(_after_commit, message.pk, "message", message), robust=True
            )
    except IntegrityError:
        # A retry, or the same token from a second connection: the first one stored it.
        existing = _by_token(thread, sender, client_token)
        if existing is None:
            raise
        return existing  # a retried attachment's blob is swept as an orphan (uploads.py)
    return message


def _by_token(thread: Thread, sender: Any, client_token: str) -> Message | None:
    if not client_token:
        return None
    return Message.objects.filter(thread=thread, sender=sender, client_token=client_token).first()


def post_system_event(thread: Thread, *, event: str, data: dict[str, Any]) -> Message:
    """A system line in the thread (``events.post_event`` is the API for other apps). Runs
    in the caller's transaction and is pushed on its commit."""
    now = timezone.now()
    message = Message.objects.create(
        thread=thread,
        kind=MessageKind.EVENT,
        side=Side.SYSTEM,
        event=event,
        event_data=data,
        created_at=now,
    )
    Thread.objects.filter(pk=thread.pk).update(last_message_at=now)
    transaction.on_commit(partial(_after_commit, message.pk, "event"), robust=True)
    return message


def _own_text_message(message: Message, by: Any) -> None:
    if message.kind != MessageKind.TEXT or message.sender_id != getattr(by, "pk", None):
        raise ValidationError(_("Only the author can change a message."), code="not_author")
    if message.deleted_at is not None or message.purged_at is not None:
        raise ValidationError(_("This message has been deleted."), code="deleted")


def do_edit(message: Message, *, by: Any, body: str, request: HttpRequest | None = None) -> Message:
    """Replace the text of one's own message within ``EDIT_WINDOW`` of posting it."""
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("thread").get(pk=message.pk)
        _own_text_message(message, by)
        if timezone.now() - message.created_at > EDIT_WINDOW:
            raise ValidationError(
                _("Messages can be edited for %(minutes)d minutes after sending.")
                % {"minutes": EDIT_WINDOW.total_seconds() // 60},
                code="edit_window",
            )
        body = clean_body(body, required=message.attachment_id is None)
        message.body_encrypted = encrypt_text(body) if body else ""
        message.edited_at = timezone.now()
        message.save(update_fields=["body_encrypted", "edited_at"])
        audit.record(
            "messaging.message_edited",
            actor=by,
            target=message,
            brand=message.thread.brand,
            request=request,
            data={"thread": message.thread_id},
        )
        transaction.on_commit(partial(_after_commit, message.pk, "update"), robust=True)
    return message


def do_delete(message: Message, *, by: Any, request: HttpRequest | None = None) -> Message:
    """Delete one's own message for everyone (within ``DELETE_WINDOW``): the body and the
    attachment go, a "message deleted" line with the time stays."""
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("thread").get(pk=message.pk)
        _own_text_message(message, by)
        if timezone.now() - message.created_at > DELETE_WINDOW:
            raise ValidationError(
                _("Messages can be deleted for %(hours)d hours after sending.")
                % {"hours": DELETE_WINDOW.total_seconds() // 3600},
                code="delete_window",
            )
        attachment = message.attachment
        message.body_encrypted = ""
        message.attachment = None
        message.deleted_at = timezone.now()
        message.deleted_by = by
        message.save(update_fields=["body_encrypted", "attachment", "deleted_at", "deleted_by"])
        if attachment is not None:
            delete_file(attachment)
        audit.record(
            "messaging.message_deleted",
            actor=by,
            target=message,
            brand=message.thread.brand,
            request=request,
            data={"thread": message.thread_id, "had_attachment": attachment is not None},
        )
        transaction.on_commit(partial(_after_commit, message.pk, "update"), robust=True)
    return message


# --- read state --------------------------------------------------------------------------


def _advance_read(thread: Thread, user: Any, upto: int, now: datetime) -> bool:
    """Move the read position forward only; True when it moved."""
    if hotpath.move_read_forward(thread.pk, user.pk, upto, now):
        return True
    if ThreadRead.objects.filter(thread=thread, user=user).exists():
        return False
    try:
        with transaction.atomic():
            ThreadRead.objects.create(thread=thread, user=user, last_read_id=upto, read_at=now)
        return True
    except IntegrityError:  # created concurrently; try the forward move once more
        return bool(
            ThreadRead.objects.filter(thread=thread, user=user, last_read_id__lt=upto).update(
                last_read_id=upto, read_at=now
            )
        )


def do_mark_read(thread: Thread, user: Any, upto: int | None = None) -> int:
    """The person has seen the thread up to message ``upto`` (default: its newest).
    Returns their read position. Tells the thread's sockets (read receipts) when it moved.
    Ids beyond the thread's newest message are clamped to it."""
    newest = thread.messages.order_by("-pk").values_list("pk", flat=True).first() or 0
    target = newest if upto is None else max(0, min(int(upto), newest))
    now = timezone.now()
    if target and _advance_read(thread, user, target, now):
        transaction.on_commit(
            partial(
                push,
                thread_group(thread.pk),
                {"type": "read", "thread": thread.pk, "user": user.pk, "upto": target},
            ),
            robust=True,
        )
    return (
        ThreadRead.objects.filter(thread=thread, user=user)
        .values_list("last_read_id", flat=True)
        .first()
        or 0
    )


# --- after commit ------------------------------------------------------------------------


def _after_commit(message_id: int, what: str, message: Message | None = None) -> None:
    """Push and notify. A new post passes its own instance: its thread is the caller's,
    already loaded, and reloading the message with every relation (one seven-way join)
    cost more than the rest of the post together."""
    from caredoor.core.messaging import notify
    from caredoor.core.messaging.wire import message_payload

    message = message or (
        Message.objects.select_related(
            "thread",
            "thread__brand",
            "thread__patient",
            "thread__profile__user",
            "thread__profile__published",
            "thread__organization",
            "sender",
            "attachment",
        )
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        return
    payload = message_payload(message)
    if what == "update":
        payload["type"] = "update"
    push(thread_group(message.thread_id), payload)
    if what == "message":
        notify.message_posted(message)
    elif what == "event":
        notify.event_posted(message)
