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
  the threads posted to meanwhile (``FLUSH_THREADS`` at a time) with one read-position
  query, two cache round trips and one preference query per brand, and writes at most
  ``FLUSH_WRITES`` notifications; the rest wait for the next flush. When hundreds of
  conversations start at once (a restart, the benchmark) their first notifications
  take a few seconds to appear instead of stalling everyone's messages. A process that
  dies meanwhile loses those refreshes, not the messages, their unread counts or the
  digests, which are read from the database.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from functools import partial
from typing import Any

from asgiref.sync import SyncToAsync
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _

from caredoor.core.messaging.models import Message, Thread, ThreadRead
from caredoor.core.messaging.queries import Recipient, counterpart_name, parties
from caredoor.core.notifications import preferences, quiet
from caredoor.core.notifications.actions import do_mark_read_about, do_refresh_in_app
from caredoor.core.notifications.livedb import live_db
from caredoor.core.notifications.models import Channel
from caredoor.core.notifications.push import caller_loop, push_to_user

KIND = "message"
FLUSH_DELAY = 0.25  # seconds: in a live server, notifications are refreshed in batches
FLUSH_THREADS = 500  # ... of at most this many threads
FLUSH_WRITES = 10  # ... writing at most this many notifications: a burst is spread out

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
    # ``async_to_sync``, the caller's own thread and connection). This code runs on that
    # thread, where asgiref marks the context as inside it; the flush runs later, not
    # inside, so the mark is cleared (else asgiref refuses it as a deadlock).
    context = contextvars.copy_context()
    context.run(SyncToAsync.deadlock_context.set, False)
    loop.call_soon_threadsafe(partial(loop.call_later, FLUSH_DELAY, _start_flush, context=context))


# Threads with new messages since the last flush (this process): who wrote, up to which id.
Batch = dict[int, tuple[Thread, dict[int, int]]]
_pending: Batch = {}
_pending_lock = threading.Lock()
_flush_loop: asyncio.AbstractEventLoop | None = None  # where the next flush is scheduled
_flushing: set[asyncio.Task] = set()


def _start_flush() -> None:
    """On the live server's loop: run ``flush`` where the live socket's database work
    runs (``live_db``), then again while threads are left over."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(live_db(flush)(FLUSH_THREADS))
    _flushing.add(task)

    def done(task: asyncio.Task) -> None:
        global _flush_loop
        _flushing.discard(task)
        if task.cancelled() or task.exception() is not None:
            error = "cancelled" if task.cancelled() else type(task.exception()).__name__
            log.warning("message notifications failed: %s", error)
        with _pending_lock:
            if not _pending:
                _flush_loop = None  # the next post schedules a flush
                return
        loop.call_later(FLUSH_DELAY, _start_flush)

    task.add_done_callback(done)


def flush(limit: int | None = None) -> None:
    """Refresh the in-app notifications for the messages posted since the last flush:
    those of the ``limit`` threads posted to first (default: all)."""
    with _pending_lock:
        taken = list(_pending)[:limit]
        batch = {thread_id: _pending.pop(thread_id) for thread_id in taken}
    left = refresh_in_app(batch, max_writes=None if limit is None else FLUSH_WRITES)
    with _pending_lock:  # back in the queue, merged with what was posted meanwhile
        for thread_id in left:
            thread, newest = batch[thread_id]
            queued = _pending.setdefault(thread_id, (thread, {}))[1]
            for user_id, upto in newest.items():
                queued[user_id] = max(upto, queued.get(user_id, 0))


def refresh_in_app(batch: Batch, max_writes: int | None = None) -> set[int]:
    """Each party of a thread with a new message from someone else gets their running
    notification refreshed, unless they have read that far already (a page that has the
    thread open reads it at once) or it is in its quiet window: for the whole batch, one
    read-position query, two cache round trips and one preference query per brand.
    At most ``max_writes`` notifications are written; the threads of the others are
    returned, to be served by the next batch."""
    if not batch:
        return set()
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
    later = list(due)[max_writes:] if max_writes is not None else []
    by_brand: dict[int, list[quiet.Target]] = {}
    for target in list(due)[:max_writes]:
        by_brand.setdefault(target.brand_id, []).append(target)
    for brand_id, brand_targets in by_brand.items():
        wants = preferences.allowed_users(
            [t.user_id for t in brand_targets], brand_id, KIND, Channel.IN_APP
        )
        for target in brand_targets:
            person, thread = targets[target]
            if target.user_id in wants:
                _in_app(person, thread)
    # Quiet only once the refreshes are stored: a rolled-back refresh leaves none.
    marks = {t: due[t] for targets_ in by_brand.values() for t in targets_}
    transaction.on_commit(partial(quiet.mark_many, marks), robust=True)
    return {targets[t][1].pk for t in later}


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
