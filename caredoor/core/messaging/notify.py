"""What the recipients of a message hear of it, after commit.

For each party other than the sender: a push to their own sockets (``user.<id>``: the
navigation's unread badge updates live), and one in-app notification per thread,
refreshed rather than repeated while it is unread ("New messages from ...";
``notifications.actions.do_refresh_in_app``, which pushes a new one to the notification
badge), titled in the recipient's language and linking to the thread in their portal.
It never contains the message's text. Emails and SMS for people who are not online are
batched into digests (``digest.py``), never sent per message.

The notification is work nobody waits for, so it stays out of the post's path:

- while a conversation is lively it is refreshed at most every ``quiet.QUIET`` seconds
  per person and thread (``notifications/quiet.py``);
- inside the live server (posts from sockets and ASGI views) the refreshes are batched
  per process: the first post schedules a ``flush`` ``FLUSH_DELAY`` later, which serves
  every thread posted to meanwhile with one cache round trip and one preference query
  per brand. A process that dies in that moment loses those refreshes, not the
  messages, their unread counts or the digests, which are read from the database.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _

from caredoor.core.messaging.models import Message, Thread, ThreadRead
from caredoor.core.messaging.queries import Recipient, counterpart_name, parties
from caredoor.core.notifications import preferences, quiet
from caredoor.core.notifications.actions import do_mark_read_about, do_refresh_in_app
from caredoor.core.notifications.models import Channel
from caredoor.core.notifications.push import caller_loop, push_to_user

KIND = "message"
FLUSH_DELAY = 0.25  # seconds: in a live server, notifications are refreshed in batches

log = logging.getLogger("caredoor.messaging")


def thread_path(portal: str, thread_id: int) -> str:
    try:
        return reverse(f"{portal}:thread", args=[thread_id])
    except NoReverseMatch:
        return ""


def message_posted(message: Message) -> None:
    """Push the live badge notice to each recipient now; refresh their in-app
    notifications now, or, inside a live server, batched (``FLUSH_DELAY``)."""
    thread = message.thread
    for person in parties(thread):
        if person.user.pk == message.sender_id:
            continue
        push_to_user(
            person.user.pk,
            {
                "type": "notice",
                "what": "message",
                "thread": thread.pk,
                "message": message.pk,
                "brand": thread.brand_id,
                "portal": person.portal,
            },
        )
    loop = caller_loop()
    if loop is None:  # a request outside the live server, a job, a test: at once
        refresh_in_app({thread.pk: (thread, {message.sender_id: message.pk})})
        return
    global _flush_loop
    with _pending_lock:
        newest = _pending.setdefault(thread.pk, (thread, {}))[1]
        newest[message.sender_id] = max(message.pk, newest.get(message.sender_id, 0))
        if _flush_loop is loop and not loop.is_closed():
            return  # a flush is scheduled on this loop
        _flush_loop = loop  # (a loop that closed before its flush ran is replaced)
    # In this context: its database thread is the one the flush must use (under
    # ``async_to_sync``, the caller's own thread and connection).
    later = partial(loop.call_later, FLUSH_DELAY, _start_flush, context=contextvars.copy_context())
    loop.call_soon_threadsafe(later)


# Threads with new messages since the last flush (this process): who wrote, up to which id.
Batch = dict[int, tuple[Thread, dict[int, int]]]
_pending: Batch = {}
_pending_lock = threading.Lock()
_flush_loop: asyncio.AbstractEventLoop | None = None  # where the next flush is scheduled
_flushing: set[asyncio.Task] = set()


def _start_flush() -> None:
    """On the live server's loop: run ``flush`` where its database work belongs (the one
    database thread on SQLite, the pool on a database server)."""
    on_sqlite = connections["default"].vendor == "sqlite"
    task = asyncio.ensure_future(sync_to_async(flush, thread_sensitive=on_sqlite)())
    _flushing.add(task)

    def done(task: asyncio.Task) -> None:
        _flushing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("message notifications failed: %s", type(task.exception()).__name__)

    task.add_done_callback(done)


def flush() -> None:
    """Refresh the in-app notifications for the messages posted since the last flush."""
    global _flush_loop
    with _pending_lock:
        batch = dict(_pending)
        _pending.clear()
        _flush_loop = None
    refresh_in_app(batch)


def refresh_in_app(batch: Batch) -> None:
    """Each party of a thread with a new message from someone else gets their running
    notification refreshed, unless they have read that far already (a page that has the
    thread open reads it at once) or it is in its quiet window: for the whole batch, one
    read-position query, one cache round trip and one preference query per brand."""
    if not batch:
        return
    read = {
        (thread_id, user_id): last_read
        for thread_id, user_id, last_read in ThreadRead.objects.filter(
            thread_id__in=list(batch)
        ).values_list("thread_id", "user_id", "last_read_id")
    }
    targets: dict[quiet.Target, tuple[Recipient, Thread]] = {}
    for thread, newest in batch.values():
        for person in parties(thread):
            unread_from = max((i for u, i in newest.items() if u != person.user.pk), default=0)
            if unread_from <= read.get((thread.pk, person.user.pk), 0):
                continue
            url = thread_path(person.portal, thread.pk)
            target = quiet.Target(person.user.pk, thread.brand_id, person.portal, KIND, url)
            targets[target] = (person, thread)
    due = quiet.due(list(targets))
    by_brand: dict[int, list[quiet.Target]] = {}
    for target in due:
        by_brand.setdefault(target.brand_id, []).append(target)
    for brand_id, brand_targets in by_brand.items():
        wants = preferences.allowed_users(
            [t.user_id for t in brand_targets], brand_id, KIND, Channel.IN_APP
        )
        for target in brand_targets:
            person, thread = targets[target]
            if target.user_id in wants:
                _in_app(person, thread)
            quiet.mark(target, due[target])


def event_posted(message: Message) -> None:
    """System lines reach open threads by the thread push; the events themselves are
    notified by the app that caused them (booking emails and notifications)."""


def _in_app(person: Recipient, thread: Thread) -> None:
    with translation.override(person.user.language or thread.brand.default_language):
        title = _("New messages from %(name)s") % {"name": counterpart_name(thread, person.side)}
    do_refresh_in_app(
        person.user,
        thread.brand,
        portal=person.portal,
        kind=KIND,
        title=title,
        url=thread_path(person.portal, thread.pk),
    )


def read_notifications(user: Any, thread_id: int, portal: str, brand: Any) -> int:
    """Opening a thread reads its message notifications too."""
    return do_mark_read_about(
        user, brand, portal=portal, kind=KIND, url=thread_path(portal, thread_id)
    )
