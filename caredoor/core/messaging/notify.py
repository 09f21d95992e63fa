"""What the recipients of a message hear of it, after commit.

For each party other than the sender: a push to their own sockets (``user.<id>``: the
navigation's unread badge updates live), and one in-app notification per thread,
refreshed rather than repeated while it is unread ("New messages from ...";
``notifications.actions.do_refresh_in_app``, which pushes a new one to the notification
badge), titled in the recipient's language and linking to the thread in their portal. It
never contains the message's text. Emails and SMS for people who are not online are
batched into digests (``digest.py``), never sent per message.
"""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _

from caredoor.core.messaging.models import Message
from caredoor.core.messaging.queries import Recipient, counterpart_name, parties
from caredoor.core.notifications import preferences
from caredoor.core.notifications.actions import do_mark_read_about, do_refresh_in_app
from caredoor.core.notifications.models import Channel
from caredoor.core.notifications.push import push_to_user

KIND = "message"


def thread_path(portal: str, thread_id: int) -> str:
    try:
        return reverse(f"{portal}:thread", args=[thread_id])
    except NoReverseMatch:
        return ""


def message_posted(message: Message) -> None:
    thread = message.thread
    people = [p for p in parties(thread) if p.user.pk != message.sender_id]
    wants_in_app = preferences.allowed_users(
        [p.user for p in people], thread.brand, KIND, Channel.IN_APP
    )
    for person in people:
        if person.user.pk in wants_in_app:
            _in_app(person, message)
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


def event_posted(message: Message) -> None:
    """System lines reach open threads by the thread push; the events themselves are
    notified by the app that caused them (booking emails and notifications)."""


def _in_app(person: Recipient, message: Message) -> None:
    thread = message.thread
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
