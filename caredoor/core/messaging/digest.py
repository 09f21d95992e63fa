"""Email (and SMS) digests of unread messages, for people who were not there to see them.

Every five minutes (``tasks.py``; ``manage.py send_message_digests`` runs it once)
``send_digests`` looks, per person, brand and portal, at the text messages from others
that the person has not read and no digest has told them about yet
(``ThreadRead.notified_upto_id``). A person gets a digest when the oldest of those is at
least ``DELAY`` old (10 minutes: whoever reads promptly gets no email), they are not
online (``presence.is_online``: the live badge tells them), and they keep email (or SMS)
for messages on (``preferences``). Messages older than ``HORIZON`` are not emailed about.

One email per person, brand and portal: "You have 3 unread messages on <brand>", how many
conversations, and a link to the messages page of their portal. Never a message's text,
a sender's name or a thread's subject. It is rendered in the person's language, branded,
and sent under the delivery protocol with the key
``digest:<user>:<brand>:<portal>:<newest message id>``, so concurrent or repeated runs
send it once. When it is sent (or the person's preference dropped it), ``notified_upto_id``
moves to the newest message it covered in each thread; new messages after that make a new
digest. A failed email leaves the position where it was: the next run tries again (with
the same key while no new message came, else a new one that also covers the old).
The SMS twin (same counts, no content) goes out with the key ``digest-sms:...`` when the
person switched texts for messages on and SMS is configured; it is best effort.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from caredoor.core.accounts.policy import PORTAL_PATHS
from caredoor.core.brands.models import Brand
from caredoor.core.brands.queries import brand_url
from caredoor.core.messaging.models import Message, MessageKind, Thread, ThreadRead
from caredoor.core.messaging.queries import parties
from caredoor.core.notifications import actions as notifications
from caredoor.core.notifications import presence, sms
from caredoor.core.notifications.models import Channel, Delivery, DeliveryState
from caredoor.core.notifications.preferences import allowed_users

log = logging.getLogger("caredoor.notifications")

DELAY = timedelta(minutes=10)
HORIZON = timedelta(days=7)
KIND = "message.digest"
TEMPLATE = "messaging/email/digest"
DONE = (DeliveryState.SENT, DeliveryState.DROPPED)


@dataclass
class Digest:
    """What one person has not read on one brand in one portal."""

    user: Any
    brand: Brand
    portal: str
    upto: dict[int, int] = field(default_factory=dict)  # thread id -> newest message id
    count: int = 0
    oldest: datetime | None = None

    @property
    def newest(self) -> int:
        return max(self.upto.values())

    @property
    def conversations(self) -> int:
        return len(self.upto)

    def key(self, channel: str = Channel.EMAIL) -> str:
        prefix = "digest" if channel == Channel.EMAIL else f"digest-{channel}"
        return f"{prefix}:{self.user.pk}:{self.brand.pk}:{self.portal}:{self.newest}"

    def payload(self) -> dict[str, Any]:
        return {
            "portal": self.portal,
            "upto": self.newest,
            "messages": self.count,
            "threads": sorted(self.upto),
        }


def portal_link(portal: str, name: str, fallback: str) -> str:
    """The path of ``<portal>:<name>``, or ``fallback`` under the portal's root."""
    try:
        return reverse(f"{portal}:{name}")
    except NoReverseMatch:
        return f"{PORTAL_PATHS[portal]}{fallback}"


def pending(now: datetime | None = None, *, delay: timedelta = DELAY) -> list[Digest]:
    """Every digest due at ``now`` (before presence and preferences are asked)."""
    now = now or timezone.now()
    rows = (
        Message.objects.filter(
            kind=MessageKind.TEXT,
            sender__isnull=False,
            deleted_at__isnull=True,
            purged_at__isnull=True,
            created_at__gte=now - HORIZON,
            created_at__lte=now,
        )
        .order_by("pk")
        .values_list("pk", "thread_id", "sender_id", "created_at")
    )
    by_thread: dict[int, list[tuple[int, int, datetime]]] = defaultdict(list)
    for pk, thread_id, sender_id, created in rows:
        by_thread[thread_id].append((pk, sender_id, created))
    if not by_thread:
        return []
    seen = {
        (thread_id, user_id): max(last_read, notified)
        for thread_id, user_id, last_read, notified in ThreadRead.objects.filter(
            thread_id__in=list(by_thread)
        ).values_list("thread_id", "user_id", "last_read_id", "notified_upto_id")
    }
    threads = Thread.objects.filter(pk__in=list(by_thread), brand__is_active=True).select_related(
        "brand", "patient", "profile__user", "organization"
    )
    digests: dict[tuple[int, int, str], Digest] = {}
    for thread in threads:
        for person in parties(thread):
            after = seen.get((thread.pk, person.user.pk), 0)
            unread = [
                (pk, created)
                for pk, sender_id, created in by_thread[thread.pk]
                if pk > after and sender_id != person.user.pk
            ]
            if not unread:
                continue
            slot = (person.user.pk, thread.brand_id, person.portal)
            digest = digests.get(slot)
            if digest is None:
                digest = digests[slot] = Digest(person.user, thread.brand, person.portal)
            digest.upto[thread.pk] = unread[-1][0]
            digest.count += len(unread)
            first = unread[0][1]
            digest.oldest = first if digest.oldest is None else min(digest.oldest, first)
    due = now - delay
    return sorted(
        (d for d in digests.values() if d.oldest is not None and d.oldest <= due),
        key=lambda d: (d.user.pk, d.brand.pk, d.portal),
    )


def send_digests(now: datetime | None = None, *, delay: timedelta = DELAY) -> int:
    """Send the digests due at ``now``; returns how many emails this run sent. Safe to
    run any number of times, concurrently too."""
    now = now or timezone.now()
    due = [d for d in pending(now, delay=delay) if not presence.is_online(d.user.pk)]
    email_on = _wanting(due, Channel.EMAIL)
    texts = sms.sms_sender().enabled
    sms_on = _wanting([d for d in due if d.user.phone], Channel.SMS) if texts else set()
    sent = 0
    for digest in due:
        slot = (digest.user.pk, digest.brand.pk)
        if slot not in email_on and slot not in sms_on:
            continue
        try:
            state = DeliveryState.DROPPED
            if slot in email_on:
                state = notifications.send(
                    digest_message(digest), key=digest.key(), payload=digest.payload(), now=now
                )
                sent += state == DeliveryState.SENT
            if slot in sms_on:
                text_state = notifications.send_text(
                    key=digest.key(Channel.SMS),
                    user=digest.user,
                    brand=digest.brand,
                    kind=KIND,
                    text=sms_text(digest),
                    payload=digest.payload(),
                    now=now,
                )
                if slot not in email_on:
                    state = text_state
        except Exception:
            log.exception("digest %s could not be sent", digest.key())
            continue
        if state in DONE:
            mark_notified(digest)
            _drop_superseded(digest)
    return sent


def _wanting(digests: Iterable[Digest], channel: str) -> set[tuple[int, int]]:
    """(user, brand) pairs among ``digests`` whose preference keeps ``channel`` on for
    messages: one query per brand."""
    by_brand: dict[int, list[Any]] = defaultdict(list)
    for digest in digests:
        by_brand[digest.brand.pk].append(digest.user.pk)
    return {
        (user_id, brand_id)
        for brand_id, users in by_brand.items()
        for user_id in allowed_users(users, brand_id, KIND, channel)
    }


def digest_message(digest: Digest) -> notifications.Message:
    return notifications.Message(
        user=digest.user,
        brand=digest.brand,
        portal=digest.portal,
        kind=KIND,
        template=TEMPLATE,
        context={
            "count": digest.count,
            "conversations": digest.conversations,
            "settings_link": brand_url(
                digest.brand,
                portal_link(digest.portal, "notification_settings", "notifications/settings/"),
            ),
        },
        url=portal_link(digest.portal, "messages", "messages/"),
        in_app=False,  # the conversations' own notifications are already in the app
    )


def sms_text(digest: Digest) -> str:
    """The SMS twin: brand, count and link, in the person's language."""
    link = brand_url(digest.brand, portal_link(digest.portal, "messages", "messages/"))
    with translation.override(digest_message(digest).language):
        return ngettext(
            "%(brand)s: you have %(count)d unread message. %(link)s",
            "%(brand)s: you have %(count)d unread messages. %(link)s",
            digest.count,
        ) % {"brand": digest.brand.name, "count": digest.count, "link": link}


def mark_notified(digest: Digest) -> None:
    """Move the person's notified position in each thread to what the digest covered."""
    for thread_id, upto in digest.upto.items():
        moved = ThreadRead.objects.filter(
            thread_id=thread_id, user=digest.user, notified_upto_id__lt=upto
        ).update(notified_upto_id=upto)
        if moved or ThreadRead.objects.filter(thread_id=thread_id, user=digest.user).exists():
            continue
        try:
            with transaction.atomic():
                ThreadRead.objects.create(
                    thread_id=thread_id, user=digest.user, last_read_id=0, notified_upto_id=upto
                )
        except IntegrityError:  # the person opened the thread meanwhile
            ThreadRead.objects.filter(
                thread_id=thread_id, user=digest.user, notified_upto_id__lt=upto
            ).update(notified_upto_id=upto)


def _drop_superseded(digest: Digest) -> None:
    """Earlier digests of this person that failed or wait are covered by this one."""
    prefixes = [
        digest.key(channel).rsplit(":", 1)[0] + ":" for channel in (Channel.EMAIL, Channel.SMS)
    ]
    Delivery.objects.filter(
        Q(key__startswith=prefixes[0]) | Q(key__startswith=prefixes[1]),
        state__in=[DeliveryState.FAILED, DeliveryState.PENDING],
    ).exclude(key__in=[digest.key(Channel.EMAIL), digest.key(Channel.SMS)]).update(
        state=DeliveryState.DROPPED
    )
