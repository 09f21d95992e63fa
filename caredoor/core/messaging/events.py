"""System events in a care thread: the API other apps call, and how each line reads.

``post_event(brand=..., patient=..., profile=..., event=..., data=...)`` runs inside the
calling action's transaction (a rolled-back action leaves no line) and appends a compact
line to the pair's thread. ``post_event_once`` does the same at most once per thread for
the same event and the same values of some data keys (the reminder job's "starting soon").
``data`` holds ids, times (ISO, UTC) and states only: never message text, reasons or
document titles.

``describe(event, data, portal)`` renders the line and the link to act on it for one
reader, in the active language and time zone, worded for the reader's portal ("You
cancelled ..." for the one who did it). It never raises: an unknown kind or data it cannot
read gives a generic line without a link.

Which actions post which kinds is decided by the apps above (``booking/notify.py``,
``booking/reminders.py``, ``consents/actions.py``); docs/messaging-events.md lists them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from caredoor.core.brands.models import Brand
from caredoor.core.messaging.actions import care_thread, post_system_event
from caredoor.core.messaging.models import Message, MessageKind, Thread
from caredoor.core.notifications.links import portal_path

log = logging.getLogger("caredoor.messaging")

BOOKING_CONFIRMED = "booking_confirmed"
BOOKING_RESCHEDULED = "booking_rescheduled"
BOOKING_CANCELLED = "booking_cancelled"
PROPOSAL_SENT = "proposal_sent"
PROPOSAL_DECLINED = "proposal_declined"
PROPOSAL_WITHDRAWN = "proposal_withdrawn"
PROPOSAL_EXPIRED = "proposal_expired"
PAYMENT_DUE = "payment_due"
PAYMENT_EXPIRED = "payment_expired"
PAYMENT_RECEIVED = "payment_received"
CONSENT_SIGNED = "consent_signed"
SESSION_STARTING = "session_starting"

EVENT_KINDS = frozenset(
    {
        BOOKING_CONFIRMED,
        BOOKING_RESCHEDULED,
        BOOKING_CANCELLED,
        PROPOSAL_SENT,
        PROPOSAL_DECLINED,
        PROPOSAL_WITHDRAWN,
        PROPOSAL_EXPIRED,
        PAYMENT_DUE,
        PAYMENT_EXPIRED,
        PAYMENT_RECEIVED,
        CONSENT_SIGNED,
        SESSION_STARTING,
    }
)


def post_event(
    *, brand: Brand, patient: Any, profile: Any, event: str, data: dict[str, Any]
) -> Message:
    if event not in EVENT_KINDS:
        raise ValueError(f"unknown thread event {event!r}")
    return post_system_event(care_thread(brand, patient, profile), event=event, data=data)


def post_event_once(
    *,
    brand: Brand,
    patient: Any,
    profile: Any,
    event: str,
    data: dict[str, Any],
    once_on: tuple[str, ...],
) -> Message | None:
    """``post_event`` unless the thread already has ``event`` with the same values of the
    ``once_on`` keys of ``data``; None then. Safe across runs and processes: the check and
    the insert happen under the thread row's lock (SQLite: the write lock every
    transaction takes at its start)."""
    if event not in EVENT_KINDS:
        raise ValueError(f"unknown thread event {event!r}")
    with transaction.atomic():
        thread = care_thread(brand, patient, profile)
        Thread.objects.select_for_update().filter(pk=thread.pk).values_list("pk").first()
        lookup = {f"event_data__{key}": data[key] for key in once_on}
        if thread.messages.filter(kind=MessageKind.EVENT, event=event, **lookup).exists():
            return None
        return post_system_event(thread, event=event, data=data)


# --- how a line reads ----------------------------------------------------------------------


@dataclass(frozen=True)
class EventLine:
    text: str
    url: str = ""


class Unreadable(ValueError):
    """The event's data is not what its kind needs."""


def generic_line() -> EventLine:
    return EventLine(_("Something changed in this conversation."))


def describe(event: str, data: dict[str, Any], portal: str) -> EventLine:
    """The line one reader sees for a system event, in the active language and time zone,
    with the link to act on it in ``portal`` (empty when that portal has no page for it)."""
    render = _RENDERERS.get(event) if isinstance(event, str) else None
    if render is None or not isinstance(data, dict):
        return generic_line()
    try:
        return render(data, _reader(portal))
    except Exception as error:  # data from an older release or a bug: never break a thread
        log.warning("thread event %s could not be described: %s", event, type(error).__name__)
        return generic_line()


def _reader(portal: Any) -> str:
    """The reader's side: "patient", "specialist" or "staff" (any other portal)."""
    return portal if portal in ("patient", "specialist") else "staff"


# --- reading the data ----------------------------------------------------------------------


def _id(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Unreadable(key)
    return value


def _moment(data: dict[str, Any], key: str) -> datetime:
    value = data.get(key)
    if not isinstance(value, str):
        raise Unreadable(key)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Unreadable(key) from None
    if moment.tzinfo is None:  # stored as UTC; a naive value is read as UTC too
        moment = moment.replace(tzinfo=UTC)
    return moment


def _optional_moment(data: dict[str, Any], key: str) -> datetime | None:
    return _moment(data, key) if data.get(key) is not None else None


def _count(data: dict[str, Any]) -> int:
    value = data.get("count")
    if isinstance(value, int) and not isinstance(value, bool) and value > 1:
        return value
    return 1


# --- formatting times ----------------------------------------------------------------------


def when(moment: datetime) -> str:
    """A date and time in the active zone and language: "Tue 3 Dec, 10:00" (with the year
    when it is not this year's)."""
    local = timezone.localtime(moment)
    if local.year == timezone.localtime(timezone.now()).year:
        # Translators: a date and time in a conversation's event line ("Tue 3 Dec, 10:00"),
        # in Django's date format syntax.
        return date_format(local, pgettext("event time", "D j M, H:i"))
    # Translators: as "D j M, H:i", for a date in another year ("Tue 3 Dec 2024, 10:00").
    return date_format(local, pgettext("event time", "D j M Y, H:i"))


def clock(moment: datetime) -> str:
    """Only the time ("10:00") when ``moment`` is today in the active zone, else ``when``."""
    local = timezone.localtime(moment)
    if local.date() == timezone.localtime(timezone.now()).date():
        # Translators: a time of day in a conversation's event line ("10:00").
        return date_format(local, pgettext("event time", "H:i"))
    return when(moment)


# --- links ---------------------------------------------------------------------------------


def _link(reader: str, what: str, pk: int) -> str:
    """The page in the reader's portal; none for staff (their portal has no such pages)."""
    if reader not in ("patient", "specialist"):
        return ""
    return portal_path(reader, what, pk)


# --- one renderer per kind -----------------------------------------------------------------


def _booking_confirmed(data: dict[str, Any], reader: str) -> EventLine:
    booking, start, count = _id(data, "booking"), _moment(data, "start"), _count(data)
    if count > 1:
        text = ngettext(
            "%(count)d session booked, the first on %(when)s",
            "%(count)d sessions booked, the first on %(when)s",
            count,
        ) % {"count": count, "when": when(start)}
    else:
        text = _("Session booked for %(when)s") % {"when": when(start)}
    return EventLine(text, _link(reader, "booking", booking))


def _booking_rescheduled(data: dict[str, Any], reader: str) -> EventLine:
    booking, start = _id(data, "booking"), _moment(data, "start")
    previous = _optional_moment(data, "previous_start")
    if previous is None:
        text = _("Session moved to %(when)s") % {"when": when(start)}
    else:
        text = _("Session moved to %(when)s (was %(previous)s)") % {
            "when": when(start),
            "previous": when(previous),
        }
    return EventLine(text, _link(reader, "booking", booking))


def _booking_cancelled(data: dict[str, Any], reader: str) -> EventLine:
    booking, start, count = _id(data, "booking"), _moment(data, "start"), _count(data)
    by = data.get("by")
    values = {"when": when(start), "count": count}
    if count > 1:
        if by == reader:
            text = ngettext(
                "You cancelled %(count)d session, from %(when)s on",
                "You cancelled %(count)d sessions, from %(when)s on",
                count,
            )
        elif by == "patient":
            text = ngettext(
                "%(count)d session cancelled by the patient, from %(when)s on",
                "%(count)d sessions cancelled by the patient, from %(when)s on",
                count,
            )
        elif by == "specialist":
            text = ngettext(
                "%(count)d session cancelled by the specialist, from %(when)s on",
                "%(count)d sessions cancelled by the specialist, from %(when)s on",
                count,
            )
        else:
            text = ngettext(
                "%(count)d session cancelled, from %(when)s on",
                "%(count)d sessions cancelled, from %(when)s on",
                count,
            )
    elif by == reader:
        text = _("You cancelled the session on %(when)s")
    elif by == "patient":
        text = _("Session on %(when)s cancelled by the patient")
    elif by == "specialist":
        text = _("Session on %(when)s cancelled by the specialist")
    else:
        text = _("Session on %(when)s cancelled")
    return EventLine(text % values, _link(reader, "booking", booking))


def _proposal_sent(data: dict[str, Any], reader: str) -> EventLine:
    booking, start = _id(data, "booking"), _moment(data, "start")
    deadline = _optional_moment(data, "expires")
    values = {"when": when(start), "deadline": when(deadline) if deadline else ""}
    if reader == "patient":
        text = (
            _("New time proposed: %(when)s — answer by %(deadline)s")
            if deadline
            else _("New time proposed: %(when)s")
        )
    elif reader == "specialist":
        text = (
            _("You proposed %(when)s — open until %(deadline)s")
            if deadline
            else _("You proposed %(when)s")
        )
    else:
        text = (
            _("Time proposed: %(when)s — open until %(deadline)s")
            if deadline
            else _("Time proposed: %(when)s")
        )
    return EventLine(text % values, _link(reader, "booking", booking))


def _proposal_declined(data: dict[str, Any], reader: str) -> EventLine:
    booking, start = _id(data, "booking"), _moment(data, "start")
    if reader == "patient":
        text = _("You declined the proposed time %(when)s")
    else:
        text = _("The patient declined the proposed time %(when)s")
    return EventLine(text % {"when": when(start)}, _link(reader, "booking", booking))


def _proposal_withdrawn(data: dict[str, Any], reader: str) -> EventLine:
    booking, start = _id(data, "booking"), _moment(data, "start")
    if reader == "specialist":
        text = _("You withdrew the proposed time %(when)s")
    else:
        text = _("The specialist withdrew the proposed time %(when)s")
    return EventLine(text % {"when": when(start)}, _link(reader, "booking", booking))


def _proposal_expired(data: dict[str, Any], reader: str) -> EventLine:
    booking, start = _id(data, "booking"), _moment(data, "start")
    text = _("The proposal for %(when)s expired") % {"when": when(start)}
    return EventLine(text, _link(reader, "booking", booking))


def _payment_due(data: dict[str, Any], reader: str) -> EventLine:
    booking, start = _id(data, "booking"), _moment(data, "start")
    deadline = _optional_moment(data, "expires")
    values = {"when": when(start), "deadline": when(deadline) if deadline else ""}
    if reader == "patient":
        text = (
            _("Session on %(when)s reserved — pay by %(deadline)s to confirm it")
            if deadline
            else _("Session on %(when)s reserved — pay to confirm it")
        )
    else:
        text = _("Session on %(when)s reserved, waiting for the patient's payment")
    return EventLine(text % values, _link(reader, "booking", booking))


def _payment_expired(data: dict[str, Any], reader: str) -> EventLine:
    booking, start = _id(data, "booking"), _moment(data, "start")
    text = _("Session on %(when)s released: the payment did not arrive in time") % {
        "when": when(start)
    }
    return EventLine(text, _link(reader, "booking", booking))


def _payment_received(data: dict[str, Any], reader: str) -> EventLine:
    booking, start = _id(data, "booking"), _moment(data, "start")
    text = _("Payment received for the session on %(when)s") % {"when": when(start)}
    return EventLine(text, _link(reader, "booking", booking))


def _signed_texts() -> dict[str, str]:
    """One sentence per kind of document (``consents.models.ConsentKind``): the kind is an
    administrative category, so it may stand in the line; the document's title, written
    freely by its owner, is not stored in the event."""
    return {
        "terms": _("Terms of use accepted (version %(version)d)"),
        "privacy": _("Privacy notice accepted (version %(version)d)"),
        "treatment": _("Treatment agreement signed (version %(version)d)"),
        "telehealth": _("Telehealth consent signed (version %(version)d)"),
        "data_processing": _("Data processing consent signed (version %(version)d)"),
        "recording": _("Recording consent signed (version %(version)d)"),
    }


def _consent_signed(data: dict[str, Any], reader: str) -> EventLine:
    version = _id(data, "version")
    kind = data.get("kind")
    text = _signed_texts().get(kind) if isinstance(kind, str) else None
    text = (text or _("Document signed (version %(version)d)")) % {"version": version}
    if reader == "patient":
        return EventLine(text, _link(reader, "consents", 0))
    relationship = data.get("relationship")
    if reader == "specialist" and isinstance(relationship, int) and relationship > 0:
        return EventLine(text, _link(reader, "relationship", relationship))
    return EventLine(text)


def _session_starting(data: dict[str, Any], reader: str) -> EventLine:
    booking, start = _id(data, "booking"), _moment(data, "start")
    if reader == "patient":
        text = _("Your session starts at %(time)s — join")
    else:
        text = _("The session starts at %(time)s")
    return EventLine(text % {"time": clock(start)}, _link(reader, "join", booking))


_RENDERERS = {
    BOOKING_CONFIRMED: _booking_confirmed,
    BOOKING_RESCHEDULED: _booking_rescheduled,
    BOOKING_CANCELLED: _booking_cancelled,
    PROPOSAL_SENT: _proposal_sent,
    PROPOSAL_DECLINED: _proposal_declined,
    PROPOSAL_WITHDRAWN: _proposal_withdrawn,
    PROPOSAL_EXPIRED: _proposal_expired,
    PAYMENT_DUE: _payment_due,
    PAYMENT_EXPIRED: _payment_expired,
    PAYMENT_RECEIVED: _payment_received,
    CONSENT_SIGNED: _consent_signed,
    SESSION_STARTING: _session_starting,
}
