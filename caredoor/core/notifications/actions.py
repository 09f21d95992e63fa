"""Notify a person: an in-app notification and a branded email, each message at most once
per delivery key, retried while it fails.

``notify(user, brand, ...)`` is the whole API for a one-off message. Senders that must not
lose or repeat a message give it a ``key`` and follow the delivery protocol:

1. claim -- insert the ``Delivery`` row as ``claimed`` (unique key), or take over an
   existing row that is ``pending``, ``failed`` (after ``RETRY_AFTER``) or ``claimed`` for
   longer than ``LEASE`` (its sender died mid-send), by a conditional UPDATE on its
   attempt count. The claim commits on its own, before anything is sent; the in-app
   notification is created in the same transaction as the first claim, so it exists once.
2. send the email, outside any transaction, with a timeout (``SEND_TIMEOUT``) well inside
   the lease, so a live sender has always finished before anyone may take over.
3. mark the row ``sent`` (or ``failed``, logged with the key and the exception's class
   name only: no addresses, no content).

The one window for a duplicate is between the mail server accepting the message and the
commit of step 3: a process that dies there leaves the row ``claimed``, and the message is
sent again after the lease. A message is never lost while its sender keeps being run.

``enqueue`` writes a ``pending`` row inside the caller's transaction (an outbox), so a
message caused by an action exists exactly when the action committed; the caller sends it
after the commit and a sweeper picks up what a crash left behind (``retriable``).

Preferences (``preferences.py``) are checked when a message is sent, not when it is
queued: an email the person switched off is recorded as ``dropped`` with the error
``preference`` (no sweeper touches it again) and its in-app notification is still created
when the person keeps those on. Every in-app notification created here is pushed to the
person's sockets (``user.<id>``) after commit, so the header badge updates live.
``send_text`` is the same protocol for the SMS channel (``sms.py``).

Marking notifications read is the person's own inbox state, not a change of record, so
it is not audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation

from caredoor.core.accounts.emails import Attachment, branded_email
from caredoor.core.accounts.emails import _zone as zone_of
from caredoor.core.brands.models import Brand
from caredoor.core.brands.queries import brand_url
from caredoor.core.notifications import quiet, sms
from caredoor.core.notifications.models import Channel, Delivery, DeliveryState, Notification
from caredoor.core.notifications.preferences import allows
from caredoor.core.notifications.push import push_to_user

log = logging.getLogger("caredoor.notifications")

LEASE = timedelta(minutes=5)  # a claim older than this is presumed dead
RETRY_AFTER = timedelta(minutes=2)  # a failed send is retried after this
PENDING_GRACE = timedelta(minutes=1)  # the sweeper leaves fresh outbox rows to their sender
MAX_ATTEMPTS = 5
SEND_TIMEOUT = 60  # seconds; must stay well below LEASE

State = DeliveryState
PREFERENCE = "preference"  # the ``error`` of a delivery the person switched off


@dataclass(frozen=True)
class Message:
    """One message to one person: rendered in their language and time zone when sent.

    ``template`` names ``<template>_subject.txt`` (also the in-app title) and
    ``<template>.txt``; the context gets ``link``, the absolute URL of ``url`` on the brand's
    primary domain, and ``recipient``. ``time_zone`` overrides the person's own zone (else
    the brand's). ``attachments`` may be a callable, evaluated in the recipient's language.
    ``in_app=False``: an email only (a digest of things already in the app).
    """

    user: Any
    brand: Brand
    portal: str
    kind: str
    template: str
    context: dict[str, Any]
    url: str
    attachments: Sequence[Attachment] | Callable[[], Sequence[Attachment]] = ()
    time_zone: str = ""
    in_app: bool = True

    @property
    def language(self) -> str:
        """The language it is written in: the person's, if the brand offers it."""
        chosen = self.user.language or ""
        return chosen if chosen in self.brand.languages else self.brand.default_language

    def render(self):  # type: ignore[no-untyped-def]
        email = branded_email(
            brand=self.brand,
            to=self.user.email,
            template=self.template,
            context={
                **self.context,
                "recipient": self.user,
                "link": brand_url(self.brand, self.url),
            },
            language=self.user.language,
            time_zone=self.time_zone or self.user.time_zone,
            attachments=self.attachments,
        )
        # Mail clients and auto-responders: the language, and that no one typed it.
        email.extra_headers.setdefault("Content-Language", self.language)
        email.extra_headers.setdefault("Auto-Submitted", "auto-generated")
        return email


def notify(
    user: Any,
    brand: Brand,
    *,
    kind: str,
    portal: str,
    template: str,
    context: dict[str, Any],
    url: str,
    attachments: Sequence[Attachment] | Callable[[], Sequence[Attachment]] = (),
    time_zone: str = "",
    key: str | None = None,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """In-app notification plus email to ``user`` on ``brand``; call it outside a
    transaction (after commit, or from a job). With ``key``: at most once per key, as
    described above. Returns whether an email was sent by this call."""
    message = Message(
        user=user,
        brand=brand,
        portal=portal,
        kind=kind,
        template=template,
        context=context,
        url=url,
        attachments=attachments,
        time_zone=time_zone,
    )
    if key is None:
        email = message.render()
        _create_notification(message, email.subject)
        if not allows(user, brand, kind, Channel.EMAIL):
            return False
        return _send(email, key=f"{kind}:unkeyed") is None
    return send(message, key=key, payload=payload, now=now) == State.SENT


def enqueue(key: str, *, user: Any, brand: Brand, kind: str, payload: dict[str, Any]) -> None:
    """An outbox row, written in the caller's transaction: it exists only if that commits.
    A key that is already there is left as it is."""
    Delivery.objects.get_or_create(
        key=key,
        defaults={
            "user": user,
            "brand": brand,
            "kind": kind,
            "payload": payload,
            "channel": Channel.EMAIL,
            "state": State.PENDING,
        },
    )


def retriable(now: datetime | None = None) -> QuerySet[Delivery]:
    """Rows a sweeper should (re)send: pending past the grace, failed past the retry delay,
    or claimed past the lease -- each while attempts remain."""
    now = now or timezone.now()
    return Delivery.objects.filter(
        Q(attempts__lt=MAX_ATTEMPTS)
        & (
            Q(state=State.PENDING, created_at__lte=now - PENDING_GRACE)
            | Q(state=State.FAILED, claimed_at__lte=now - RETRY_AFTER)
            | Q(state=State.CLAIMED, claimed_at__lte=now - LEASE)
        )
    ).order_by("created_at", "pk")


def may_take_over(row: Delivery, now: datetime) -> bool:
    if row.attempts >= MAX_ATTEMPTS:
        return False
    if row.state == State.PENDING:
        return True
    if row.state == State.FAILED:
        return row.claimed_at is None or row.claimed_at <= now - RETRY_AFTER
    if row.state == State.CLAIMED:
        return row.claimed_at is None or row.claimed_at <= now - LEASE
    return False  # sent or dropped


def deliver_row(row: Delivery, build: Callable[[Delivery], Message | None], now: datetime) -> str:
    """Send one outbox row as the message ``build`` makes of it now; returns its new state.
    ``build`` answers None when what the row announces is no longer true: the row is
    dropped. Never raises: a message that cannot even be built counts as a failed attempt
    (the sweepers try again while attempts remain)."""
    try:
        message = build(row)
        if message is None:
            drop(row.key)
            return State.DROPPED
        return send(message, key=row.key, payload=row.payload, now=now)
    except Exception:
        log.exception("outbox row %s could not be built", row.key)
        Delivery.objects.filter(pk=row.pk).exclude(state=State.SENT).update(
            state=State.FAILED, claimed_at=now, attempts=F("attempts") + 1
        )
        return State.FAILED


def drop(key: str) -> None:
    """The message is no longer true (the booking changed again before it went out)."""
    Delivery.objects.filter(key=key).exclude(state=State.SENT).update(state=State.DROPPED)


def send(
    message: Message,
    *,
    key: str,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> str:
    """Claim ``key``, send ``message``, record the outcome; returns the row's new state,
    or its current one when someone else holds it or it is done."""
    now = now or timezone.now()
    existing = Delivery.objects.filter(key=key).first()
    if existing is not None and not may_take_over(existing, now):
        return existing.state
    email = message.render()
    if not allows(message.user, message.brand, message.kind, Channel.EMAIL):
        return _skip(message, email.subject, key=key, payload=payload or {}, now=now)
    row = _claim(message, email.subject, key=key, payload=payload or {}, now=now)
    if row is None:
        return State.CLAIMED
    error = _send(email, key=key)
    if error is None:
        Delivery.objects.filter(pk=row.pk).update(state=State.SENT, sent_at=now, error="")
        return State.SENT
    Delivery.objects.filter(pk=row.pk, state=State.CLAIMED, attempts=row.attempts).update(
        state=State.FAILED, error=type(error).__name__[:100]
    )
    return State.FAILED


def _claim(
    message: Message, title: str, *, key: str, payload: dict[str, Any], now: datetime
) -> Delivery | None:
    """Insert the row claimed, or take over a retriable one; None when another sender has
    it or it is done. The first claim creates the in-app notification with it."""
    return _claim_row(
        key,
        user=message.user,
        brand=message.brand,
        kind=message.kind,
        channel=Channel.EMAIL,
        payload=payload,
        now=now,
        first=partial(_create_notification, message, title),
    )


def _claim_row(
    key: str,
    *,
    user: Any,
    brand: Brand,
    kind: str,
    channel: str,
    payload: dict[str, Any],
    now: datetime,
    first: Callable[[], Any] | None = None,
    state: str = State.CLAIMED,
    error: str = "",
) -> Delivery | None:
    """Insert the row in ``state`` (claimed), or move a retriable one there; None when
    another sender has it or it is done. ``first`` runs in the transaction of the row's
    first claim only (a claim of an outbox row that was never tried counts as first)."""
    attempts = 1 if state == State.CLAIMED else 0
    try:
        with transaction.atomic():
            row = Delivery.objects.create(
                key=key,
                user=user,
                brand=brand,
                kind=kind,
                payload=payload,
                channel=channel,
                state=state,
                attempts=attempts,
                error=error,
                created_at=now,
                claimed_at=now,
            )
            if first is not None:
                first()
            return row
    except IntegrityError:
        pass
    row = Delivery.objects.filter(key=key).first()
    if row is None or not may_take_over(row, now):
        return None
    with transaction.atomic():
        won = Delivery.objects.filter(pk=row.pk, state=row.state, attempts=row.attempts).update(
            state=state, claimed_at=now, attempts=F("attempts") + attempts, error=error
        )
        if not won:
            return None
        if row.attempts == 0 and first is not None:  # an outbox row's first claim
            first()
    row.refresh_from_db()
    return row


def _skip(message: Message, title: str, *, key: str, payload: dict[str, Any], now: datetime) -> str:
    """The person switched this email off: the row is recorded as dropped (error
    ``preference``) so no sweeper sends it later, and the in-app notification is created
    once, as a sent email would have."""
    row = _claim_row(
        key,
        user=message.user,
        brand=message.brand,
        kind=message.kind,
        channel=Channel.EMAIL,
        payload=payload,
        now=now,
        first=partial(_create_notification, message, title),
        state=State.DROPPED,
        error=PREFERENCE,
    )
    if row is None:
        current = Delivery.objects.filter(key=key).values_list("state", flat=True).first()
        return current or State.DROPPED
    return State.DROPPED


def _create_notification(message: Message, title: str) -> Notification | None:
    """The in-app notification, unless the message is email-only or the person switched
    in-app notices of its kind off; pushed to their sockets after commit."""
    if not message.in_app or not allows(message.user, message.brand, message.kind, Channel.IN_APP):
        return None
    notification = Notification.objects.create(
        user=message.user,
        brand=message.brand,
        portal=message.portal,
        kind=message.kind,
        title=title[:300],
        url=message.url,
    )
    transaction.on_commit(partial(push_notice, notification), robust=True)
    return notification


def do_refresh_in_app(
    user: Any, brand: Brand, *, portal: str, kind: str, title: str, url: str
) -> Notification | None:
    """One running in-app notification per (kind, link): the person's unread one is
    refreshed (new title, moved to the top) in one statement, else a new one is created
    and pushed to their sockets. For frequent events such as messages in a thread; the
    caller has checked the in-app preference, and skips refreshes in the quiet window
    (``quiet.py``). Returns the new notification, or None
    when an unread one was refreshed (the badge count did not change)."""
    refreshed = Notification.objects.filter(
        user=user, brand=brand, portal=portal, kind=kind, url=url, read_at__isnull=True
    ).update(title=title[:300], created_at=timezone.now())
    if refreshed:
        return None
    notification = Notification.objects.create(
        user=user, brand=brand, portal=portal, kind=kind, title=title[:300], url=url
    )
    transaction.on_commit(partial(push_notice, notification), robust=True)
    return notification


def do_mark_read_about(user: Any, brand: Brand, *, portal: str, kind: str, url: str) -> int:
    """Read the person's unread notifications of ``kind`` linking to ``url`` (opening
    the thing they announce reads them)."""
    read = Notification.objects.filter(
        user=user, brand=brand, portal=portal, kind=kind, url=url, read_at__isnull=True
    ).update(read_at=timezone.now())
    if read:
        transaction.on_commit(partial(quiet.reset, user.pk), robust=True)
    return read


def push_notice(notification: Notification) -> bool:
    """Tell the person's open pages that a notification arrived (the badge counts it).
    The payload names ids, the kind and the portal; the title stays in the page."""
    unread = Notification.objects.filter(
        user_id=notification.user_id,
        brand_id=notification.brand_id,
        portal=notification.portal,
        read_at__isnull=True,
    ).count()
    return push_to_user(
        notification.user_id,
        {
            "type": "notice",
            "what": "notification",
            "notification": notification.pk,
            "kind": notification.kind,
            "brand": notification.brand_id,
            "portal": notification.portal,
            "unread": unread,
        },
    )


def _send(email, *, key: str) -> Exception | None:  # type: ignore[no-untyped-def]
    """Send one email; a failure is returned and logged, never raised."""
    try:
        email.connection = get_connection(
            timeout=getattr(settings, "EMAIL_TIMEOUT", None) or SEND_TIMEOUT
        )
        email.send()
    except Exception as error:  # any failure leaves the row retriable
        log.warning("email %s not sent: %s", key, type(error).__name__)
        return error
    return None


# --- text messages ---------------------------------------------------------------------------


def render_text(message: Message, template: str) -> str:
    """The SMS of ``message``: ``template`` rendered as its email would be (the person's
    language and zone, ``brand``, ``link``, the message's context), on one line."""
    zones = (message.time_zone, message.user.time_zone, message.brand.time_zone)
    with translation.override(message.language), timezone.override(zone_of(*zones)):
        text = render_to_string(
            template,
            {
                "brand": message.brand,
                **message.context,
                "recipient": message.user,
                "link": brand_url(message.brand, message.url),
            },
        )
    return " ".join(text.split())


def send_text(
    *,
    key: str,
    user: Any,
    brand: Brand,
    kind: str,
    text: str | Callable[[], str],
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> str:
    """One SMS to ``user`` under the delivery protocol (at most once per ``key``, retried
    while it fails). Returns the row's state; ``dropped`` without a row when SMS is not
    configured, the person has no phone number, or they did not switch texts of ``kind``
    on. ``text`` (or a callable making it, called only when the text is to go out) is in
    the person's language and carries no content."""
    now = now or timezone.now()
    sender = sms.sms_sender()
    if not sender.enabled or not user.phone or not allows(user, brand, kind, Channel.SMS):
        return State.DROPPED
    existing = Delivery.objects.filter(key=key).first()
    if existing is not None and not may_take_over(existing, now):
        return existing.state
    row = _claim_row(
        key,
        user=user,
        brand=brand,
        kind=kind,
        channel=Channel.SMS,
        payload=payload or {},
        now=now,
    )
    if row is None:
        return State.CLAIMED
    try:
        provider_id = sender.send(user.phone, text() if callable(text) else text)
    except Exception as error:  # any failure leaves the row retriable
        log.warning("text %s not sent: %s", key, type(error).__name__)
        Delivery.objects.filter(pk=row.pk, state=State.CLAIMED, attempts=row.attempts).update(
            state=State.FAILED, error=type(error).__name__[:100]
        )
        return State.FAILED
    Delivery.objects.filter(pk=row.pk).update(
        state=State.SENT, sent_at=now, error="", payload={**row.payload, "provider_id": provider_id}
    )
    return State.SENT


# --- the inbox -----------------------------------------------------------------------------


def do_mark_read(user: Any, brand: Brand, portal: str, notification_id: int) -> Notification:
    """Mark one of the person's own notifications on ``brand`` read; anything else raises
    ``Notification.DoesNotExist`` (views answer 404)."""
    notification = Notification.objects.get(
        pk=notification_id, user=user, brand=brand, portal=portal
    )
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        transaction.on_commit(partial(quiet.reset, user.pk), robust=True)
    return notification


def do_mark_all_read(user: Any, brand: Brand, portal: str) -> int:
    read = Notification.objects.filter(
        user=user, brand=brand, portal=portal, read_at__isnull=True
    ).update(read_at=timezone.now())
    transaction.on_commit(partial(quiet.reset, user.pk), robust=True)
    return read
