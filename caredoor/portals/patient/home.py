"""The patient's home answers "what's next": one ordered list of steps, then the sessions.

Steps, in order of urgency:
1. what must be done before the next session (consents, intake due "before the session"),
   or, without an upcoming session, before booking (the same ``journey.pending_steps``
   the booking gate uses, so the home and the gates never disagree);
2. proposed sessions waiting for an answer, sessions waiting for payment;
3. feedback on a completed session;
4. a follow-up with a specialist whose last session is over and nothing is planned;
5. with no care yet: finding a specialist, the brand's way (directory, matching, assisted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from caredoor.core.booking.access import patient_bookings
from caredoor.core.booking.join import is_joinable, join_window
from caredoor.core.booking.models import ACTIVE_STATUSES, Booking, BookingStatus
from caredoor.core.brands.choices import JourneyMode, JourneyStage
from caredoor.core.brands.models import Brand
from caredoor.core.care.queries import patient_relationships
from caredoor.core.feedback.queries import due_feedback
from caredoor.portals.patient import booking_display as show
from caredoor.portals.patient import journey
from caredoor.portals.patient.journey import Step

UPCOMING_SHOWN = 3


@dataclass(frozen=True)
class Upcoming:
    booking: Booking
    when: str
    specialist: str
    join_from: str  # the clock time the room opens, in the viewer's zone
    joinable: bool
    join_url: str


def upcoming_sessions(mine: QuerySet[Booking], zone: ZoneInfo, now: datetime) -> list[Upcoming]:
    rows = (
        mine.select_related("profile__published")
        .filter(status=BookingStatus.CONFIRMED, end__gt=now)
        .order_by("start")[:UPCOMING_SHOWN]
    )
    return [
        Upcoming(
            booking=b,
            when=show.when(b.start, zone, now=now),
            specialist=show.specialist_name(b),
            join_from=show.when(join_window(b)[0], zone, now=now),
            joinable=is_joinable(b, now),
            join_url=reverse("patient:session_join", args=[b.pk]),
        )
        for b in rows
    ]


def find_url(brand: Brand) -> str:
    """Where this brand's patients look for a specialist."""
    return _find_step(brand).url


def _find_step(brand: Brand) -> Step:
    if brand.journey_mode == JourneyMode.MATCHING:
        return Step(
            "find",
            _("Find your specialist: answer a few short questions"),
            reverse("patient:match"),
        )
    if brand.journey_mode == JourneyMode.ASSISTED:
        return Step(
            "find",
            _("Tell our team what you need and when you can: we find your specialist"),
            reverse("patient:assisted"),
        )
    return Step("find", _("Find a specialist who fits you"), reverse("patient:specialists"))


def _follow_ups(
    request: HttpRequest, brand: Brand, mine: QuerySet[Booking], now: datetime
) -> list[Step]:
    """A follow-up for each active relationship whose last session is done and that has
    nothing planned (no confirmed, proposed or unpaid session ahead)."""
    steps = []
    planned = set(
        mine.filter(status__in=ACTIVE_STATUSES, end__gt=now).values_list("profile_id", flat=True)
    )
    completed = set(
        mine.filter(status=BookingStatus.COMPLETED).values_list("profile_id", flat=True)
    )
    for rel in patient_relationships(request.user, brand).filter(ended_at__isnull=True):
        if rel.profile_id in completed and rel.profile_id not in planned:
            name = show.specialist_name(rel.profile)
            steps.append(
                Step(
                    "follow_up",
                    _("Book a follow-up session with %(name)s") % {"name": name},
                    reverse("patient:book", args=[rel.profile_id]),
                    _("Your last session is done and nothing is planned yet."),
                )
            )
    return steps


def next_steps(request: HttpRequest, brand: Brand, now: datetime, zone: ZoneInfo) -> list[Step]:
    patient: Any = request.user
    mine = patient_bookings(patient, brand)
    first = mine.filter(status=BookingStatus.CONFIRMED, end__gt=now).order_by("start").first()
    steps: list[Step] = []
    if first is not None:
        before = _("Before your session on %(when)s") % {
            "when": show.when(first.start, zone, now=now)
        }
        for step in journey.pending_steps(
            request, brand, JourneyStage.SESSION, profile=first.profile
        ):
            detail = f"{before} · {step.detail}" if step.detail else before
            steps.append(Step(step.kind, step.title, step.url, detail))
    else:
        steps += journey.pending_steps(request, brand, JourneyStage.BOOKING)
    proposals = mine.filter(status=BookingStatus.PROPOSED, expires_at__gt=now).count()
    if proposals:
        steps.append(
            Step(
                "proposal",
                ngettext(
                    "Answer the proposed session",
                    "Answer the %(count)d proposed sessions",
                    proposals,
                )
                % {"count": proposals},
                reverse("patient:bookings"),
            )
        )
    for unpaid in mine.filter(status=BookingStatus.PENDING_PAYMENT, end__gt=now).order_by("start"):
        steps.append(
            Step(
                "pay",
                _("Pay for your session on %(when)s")
                % {"when": show.when(unpaid.start, zone, now=now)},
                reverse("patient:booking", args=[unpaid.pk]),
            )
        )
    for done in due_feedback(patient, brand)[:1]:
        steps.append(
            Step(
                "feedback",
                _("How was your session with %(name)s?") % {"name": show.specialist_name(done)},
                reverse("patient:feedback", args=[done.pk]),
                _("A few quick questions; you can skip them."),
            )
        )
    steps += _follow_ups(request, brand, mine, now)
    if not mine.exists() and not patient_relationships(patient, brand).exists():
        steps.append(_find_step(brand))
    seen: set[str] = set()
    unique = []
    for step in steps:
        if step.url not in seen:
            seen.add(step.url)
            unique.append(step)
    return unique
