"""Scoped reads of feedback: what a patient is asked, and aggregates for those who may see them.

Nobody reads another person's individual answers here. Aggregates (``Summary``) hide every
figure computed from fewer answers than the brand's minimum group size. Free-text comments
are read only through ``actions.read_comments`` (audited).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy

from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import Role
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.feedback.models import FeedbackResponse, FeedbackSettings
from caredoor.core.organizations.models import OrgKind
from caredoor.core.specialists.models import SpecialistProfile

MODULE = "feedback"
DUE_DAYS = 30  # a session older than this is no longer asked about
PROMOTERS = range(9, 11)  # 9-10
DETRACTORS = range(0, 7)  # 0-6
# Client organizations whose admins see results per specialist (their own specialists).
SPECIALIST_VIEW_KINDS = frozenset({OrgKind.CLINIC, OrgKind.CLINIC_NETWORK})


# --- settings -----------------------------------------------------------------------------


def settings_for(brand: Brand) -> FeedbackSettings:
    """The brand's feedback settings; an unsaved row with the defaults when it has none."""
    found = FeedbackSettings.objects.filter(brand=brand).first()
    return found or FeedbackSettings(brand=brand)


def is_on(brand: Brand, config: FeedbackSettings | None = None) -> bool:
    """Whether the brand asks for feedback at all (module on and some question chosen)."""
    config = config or settings_for(brand)
    return brand.has_module(MODULE) and config.asks_anything


# --- the patient ------------------------------------------------------------------------


def _ordinals(bookings: Iterable[Any]) -> dict[int, int]:
    """For completed bookings ordered by (start, pk): pk -> 1-based position within the
    (patient, specialist, brand) pair. ``bookings`` yields (pk, patient_id, profile_id,
    brand_id)."""
    seen: dict[tuple[int, int, int], int] = defaultdict(int)
    result = {}
    for pk, patient_id, profile_id, brand_id in bookings:
        seen[(patient_id, profile_id, brand_id)] += 1
        result[pk] = seen[(patient_id, profile_id, brand_id)]
    return result


def due_feedback(patient: Any, brand: Brand, *, now: datetime | None = None) -> list[Booking]:
    """The patient's completed sessions on ``brand`` still waiting for feedback, most recent
    first: no answer or skip yet, ended within the last ``DUE_DAYS`` days, and chosen by the
    brand's cadence. Empty when the brand has the feedback module off."""
    config = settings_for(brand)
    if not getattr(patient, "is_authenticated", False) or not is_on(brand, config):
        return []
    now = now or timezone.now()
    completed = Booking.objects.filter(
        patient=patient, brand=brand, status=BookingStatus.COMPLETED
    ).order_by("start", "pk")
    ordinal = _ordinals(completed.values_list("pk", "patient_id", "profile_id", "brand_id"))
    candidates = (
        completed.filter(end__gte=now - timedelta(days=DUE_DAYS), feedback__isnull=True)
        .select_related("profile", "session_type", "brand")
        .order_by("-start", "-pk")
    )
    return [b for b in candidates if config.asks_after(ordinal.get(b.pk, 1))]


def access_feedback_booking(patient: Any, brand: Brand, booking_id: int) -> Booking:
    """The patient's own completed booking on this brand (else 404: missing, another
    person's, another brand's, or not completed look alike). The brand must ask feedback."""
    if not is_on(brand):
        raise Http404
    try:
        return Booking.objects.select_related("profile", "session_type", "brand").get(
            pk=booking_id, patient=patient, brand=brand, status=BookingStatus.COMPLETED
        )
    except Booking.DoesNotExist:
        raise Http404 from None


def response_for(booking: Booking) -> FeedbackResponse | None:
    return FeedbackResponse.objects.filter(booking=booking).first()


# --- aggregates ---------------------------------------------------------------------------


def _half_up(value: Fraction, places: int = 0) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def nps_score(values: Iterable[int]) -> int | None:
    """Net promoter score: % promoters (9-10) minus % detractors (0-6), rounded half away
    from zero to a whole number; None without answers."""
    values = list(values)
    if not values:
        return None
    promoters = sum(1 for v in values if v in PROMOTERS)
    detractors = sum(1 for v in values if v in DETRACTORS)
    score = Fraction(100 * (promoters - detractors), len(values))
    rounded = _half_up(abs(score))
    return int(rounded if score >= 0 else -rounded)


def average(values: Iterable[int]) -> Decimal | None:
    """Mean to one decimal place, rounded half up; None without answers."""
    values = list(values)
    if not values:
        return None
    return _half_up(Fraction(sum(values), len(values)), 1)


@dataclass(frozen=True)
class Metric:
    """One question's result: ``value`` only when at least ``min_group`` people answered."""

    answers: int
    value: Any
    min_group: int
    # Hidden although large enough: subtracting the rows shown beside it would reveal a
    # smaller group (see ``guard_total``).
    withheld: bool = False

    @property
    def shown(self) -> bool:
        return self.answers >= self.min_group and self.value is not None


@dataclass(frozen=True)
class Summary:
    min_group: int
    asked: int  # completed sessions in the period that were asked about
    answered: int  # responses with at least one answer (skips excluded)
    skipped: int
    satisfaction: Metric
    progress: Metric
    nps: Metric
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def suppressed(self) -> bool:
        """Too few answers to show any result."""
        return self.answered < self.min_group

    @property
    def response_rate(self) -> int | None:
        """Answers per session asked about, in whole percent (None when none was asked)."""
        if not self.asked:
            return None
        return int(_half_up(Fraction(100 * min(self.answered, self.asked), self.asked)))


def summarize(rows: Iterable[tuple[Any, Any, Any, bool]], *, asked: int, min_group: int) -> Summary:
    """A summary of ``rows`` of (satisfaction, progress, nps, skipped). Values from groups
    smaller than ``min_group`` are withheld here, not only in templates."""
    rows = list(rows)
    answered = [r for r in rows if not r[3]]
    sat = [r[0] for r in answered if r[0] is not None]
    prog = [r[1] for r in answered if r[1] is not None]
    nps = [r[2] for r in answered if r[2] is not None]
    group_ok = len(answered) >= min_group

    def metric(values: list[int], compute: Any) -> Metric:
        ok = group_ok and len(values) >= min_group
        return Metric(len(values), compute(values) if ok else None, min_group)

    nps_ok = group_ok and len(nps) >= min_group
    return Summary(
        min_group=min_group,
        asked=asked,
        answered=len(answered),
        skipped=len(rows) - len(answered),
        satisfaction=metric(sat, average),
        progress=metric(prog, average),
        nps=metric(nps, nps_score),
        promoters=sum(1 for v in nps if v in PROMOTERS) if nps_ok else 0,
        passives=sum(1 for v in nps if v not in PROMOTERS and v not in DETRACTORS) if nps_ok else 0,
        detractors=sum(1 for v in nps if v in DETRACTORS) if nps_ok else 0,
    )


def guard_total(total: Summary, parts: Iterable[Summary]) -> Summary:
    """``total`` with every figure withheld that, together with the figures shown in
    ``parts`` (rows of the same answers, e.g. per specialist), would reveal a group smaller
    than the minimum: when the answers not covered by a shown part number 1 to min - 1."""
    parts = list(parts)
    changes: dict[str, Any] = {}
    for name in ("satisfaction", "progress", "nps"):
        metric: Metric = getattr(total, name)
        if not metric.shown:
            continue
        covered = sum(getattr(p, name).answers for p in parts if getattr(p, name).shown)
        rest = metric.answers - covered
        if 0 < rest < total.min_group:
            changes[name] = replace(metric, value=None, withheld=True)
    if "nps" in changes:
        changes.update(promoters=0, passives=0, detractors=0)
    return replace(total, **changes) if changes else total


#: The periods results are shown for (form choices): a number of days, or "all".
PERIODS = [
    ("90", gettext_lazy("Last 90 days")),
    ("30", gettext_lazy("Last 30 days")),
    ("365", gettext_lazy("Last 12 months")),
    ("all", gettext_lazy("All time")),
]
DEFAULT_PERIOD = "90"


def period_days(value: str | None) -> int | None:
    """The days of a ``PERIODS`` value (None: all time); no value is the default period."""
    value = value or DEFAULT_PERIOD
    return None if value == "all" else int(value)


def period_start(days: int | None, *, now: datetime | None = None) -> datetime | None:
    """The start of a period of ``days`` days ending now (None: all time)."""
    if not days:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def _responses(brand: Brand, since: datetime | None) -> QuerySet[FeedbackResponse]:
    qs = FeedbackResponse.objects.filter(brand=brand)
    return qs.filter(session_start__gte=since) if since is not None else qs


def _asked_counts(
    brand: Brand,
    since: datetime | None,
    config: FeedbackSettings,
    profile_ids: list[int] | None,
) -> dict[int, int]:
    """Completed sessions in the period that were asked about (by the current cadence, or
    answered anyway), per specialist profile id."""
    completed = Booking.objects.filter(brand=brand, status=BookingStatus.COMPLETED)
    if profile_ids is not None:
        completed = completed.filter(profile_id__in=profile_ids)
    counts: dict[int, int] = defaultdict(int)
    if config.cadence == "every":
        if since is not None:
            completed = completed.filter(start__gte=since)
        for (profile_id,) in completed.values_list("profile_id"):
            counts[profile_id] += 1
        return counts
    rows = list(
        completed.order_by("start", "pk").values_list(
            "pk", "patient_id", "profile_id", "brand_id", "start"
        )
    )
    ordinal = _ordinals(r[:4] for r in rows)
    answered = set(
        FeedbackResponse.objects.filter(booking_id__in=[r[0] for r in rows]).values_list(
            "booking_id", flat=True
        )
    )
    for pk, _patient, profile_id, _brand, start in rows:
        if since is not None and start < since:
            continue
        if config.asks_after(ordinal[pk]) or pk in answered:
            counts[profile_id] += 1
    return counts


def brand_summary(brand: Brand, since: datetime | None) -> Summary:
    config = settings_for(brand)
    rows = _responses(brand, since).values_list("satisfaction", "progress", "nps", "skipped")
    asked = sum(_asked_counts(brand, since, config, None).values())
    return summarize(rows, asked=asked, min_group=config.min_group_size)


def specialist_summaries(
    brand: Brand, since: datetime | None, profiles: Iterable[SpecialistProfile]
) -> list[tuple[SpecialistProfile, Summary]]:
    """One summary per profile on ``brand`` (each suppressed on its own when small)."""
    profiles = list(profiles)
    ids = [p.pk for p in profiles]
    config = settings_for(brand)
    by_profile: dict[int, list] = defaultdict(list)
    for profile_id, *row in (
        _responses(brand, since)
        .filter(profile_id__in=ids)
        .values_list("profile_id", "satisfaction", "progress", "nps", "skipped")
    ):
        by_profile[profile_id].append(row)
    asked = _asked_counts(brand, since, config, ids)
    return [
        (
            p,
            summarize(by_profile[p.pk], asked=asked.get(p.pk, 0), min_group=config.min_group_size),
        )
        for p in profiles
    ]


def specialist_summary(profile: SpecialistProfile, brand: Brand, since: datetime | None) -> Summary:
    return specialist_summaries(brand, since, [profile])[0][1]


def specialist_feedback_brands(profile: SpecialistProfile) -> QuerySet[Brand]:
    """The brands where the specialist has completed sessions (their feedback's brands)."""
    ids = Booking.objects.filter(profile=profile, status=BookingStatus.COMPLETED).values("brand_id")
    return Brand.objects.filter(pk__in=ids).order_by("name")


# --- the organization --------------------------------------------------------------------


def feedback_brands_for(actor: Membership) -> QuerySet[Brand]:
    """Brands whose feedback an organization member may see: an operator every brand of the
    network; an organization admin the brands their organization is bound to."""
    if actor.role == Role.OPERATOR:
        return Brand.objects.filter(network_id=actor.network_id).order_by("name")
    if actor.role == Role.ORG_ADMIN and actor.organization_id:
        return actor.organization.brands.filter(network_id=actor.network_id).order_by("name")
    return Brand.objects.none()


def access_feedback_brand(actor: Membership, brand_id: int) -> Brand:
    try:
        return feedback_brands_for(actor).get(pk=brand_id)
    except Brand.DoesNotExist:
        raise Http404 from None


def sees_specialists(actor: Membership) -> bool:
    """Results per specialist and comments: the operator, and clinics' admins for their own
    specialists. Employers see brand-level results only."""
    if actor.role == Role.OPERATOR:
        return True
    org = actor.organization
    return actor.role == Role.ORG_ADMIN and org is not None and org.kind in SPECIALIST_VIEW_KINDS


def specialists_for(actor: Membership, brand: Brand) -> QuerySet[SpecialistProfile]:
    """The profiles with feedback on ``brand`` whose results ``actor`` may see by specialist."""
    if not sees_specialists(actor):
        return SpecialistProfile.objects.none()
    with_sessions = Booking.objects.filter(brand=brand, status=BookingStatus.COMPLETED).values(
        "profile_id"
    )
    qs = SpecialistProfile.objects.filter(pk__in=with_sessions, network_id=actor.network_id)
    if actor.role != Role.OPERATOR:
        qs = qs.filter(onboarded_by_id=actor.organization_id)
    return qs.order_by("display_name", "pk")


def comment_responses(
    actor: Membership, brand: Brand, since: datetime | None, *, limit: int = 50
) -> QuerySet[FeedbackResponse]:
    """Responses with a comment that ``actor`` may read (decrypt via actions.read_comments)."""
    profiles = specialists_for(actor, brand)
    return (
        _responses(brand, since)
        .filter(profile__in=profiles, skipped=False)
        .exclude(comment_encrypted="")
        .select_related("profile")
        .order_by("-session_start", "-pk")[:limit]
    )
