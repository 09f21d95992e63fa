"""A specialist's own schedule: session types, weekly hours and date overrides.

Every change is atomic, validated before anything is written and audited in the same
transaction. Hours are wall-clock times in the specialist's zone; a period may end at
00:00, which means midnight at the end of the day. No two periods of one weekday (or of
one date) may overlap, whichever session type they are reserved for: a period reserved
for a session type is for that type only, and the calendar shows one set of hours a day.
Writes to one specialist's hours take the profile row lock first (a no-op on SQLite, where
the transaction already holds the write lock), so two concurrent edits cannot interleave.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

from caredoor.core.accounts.policy import Role
from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.scheduling.models import AvailabilityRule, DateOverride, SessionType
from caredoor.core.scheduling.queries import listed_brands, price_scope, zone_of
from caredoor.core.specialists.models import SpecialistProfile

MIDNIGHT = time(0)
EN_DASH = "\u2013"
NOTE_MAX = 120

SESSION_TYPE_FIELDS = (
    "name",
    "brand",
    "duration_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "min_notice_minutes",
    "horizon_days",
    "slot_step_minutes",
    "price_minor",
    "direct_booking",
)

# A weekly period: (weekday 0 = Monday .. 6 = Sunday, from, until, reserved session type).
Period = tuple[int, time, time, SessionType | None]
Span = tuple[time, time]


def _brand(request: HttpRequest | None) -> Brand | None:
    return getattr(request, "brand", None)


def _lock(profile: SpecialistProfile) -> None:
    """One writer of a specialist's schedule at a time (PostgreSQL; SQLite already is)."""
    list(SpecialistProfile.objects.select_for_update().filter(pk=profile.pk).values_list("pk"))


def clock(value: time, *, end: bool = False) -> str:
    """``09:30``; an end of 00:00 is midnight at the day's end, shown as ``24:00``."""
    return "24:00" if end and value == MIDNIGHT else value.strftime("%H:%M")


def span_label(start: time, end: time) -> str:
    """``09:00-12:00``, with an en dash between the times."""
    return f"{clock(start)}{EN_DASH}{clock(end, end=True)}"


def _minutes(value: time, *, end: bool = False) -> int:
    if end and value == MIDNIGHT:
        return 24 * 60
    return value.hour * 60 + value.minute


def check_spans(spans: Iterable[Span], *, day_label: str = "") -> list[Span]:
    """Sorted spans; raises ValidationError when one ends before it starts or two overlap."""
    ordered = sorted(spans, key=lambda s: (_minutes(s[0]), _minutes(s[1], end=True)))
    for start, end in ordered:
        if start.second or end.second or start.microsecond or end.microsecond:
            raise ValidationError(_("Give times in whole minutes."), code="seconds")
        if _minutes(end, end=True) <= _minutes(start):
            message = (
                _("%(day)s: the period %(period)s must end after it starts.")
                if day_label
                else _("The period %(period)s must end after it starts.")
            )
            raise ValidationError(
                message % {"day": day_label, "period": span_label(start, end)},
                code="order",
            )
    for (a_start, a_end), (b_start, b_end) in pairwise(ordered):
        if _minutes(b_start) < _minutes(a_end, end=True):
            message = (
                _("%(day)s: the periods %(first)s and %(second)s overlap. Periods may touch.")
                if day_label
                else _("The periods %(first)s and %(second)s overlap. Periods may touch.")
            )
            raise ValidationError(
                message
                % {
                    "day": day_label,
                    "first": span_label(a_start, a_end),
                    "second": span_label(b_start, b_end),
                },
                code="overlap",
            )
    return ordered


def _check_own_session_type(profile: SpecialistProfile, session_type: SessionType | None) -> None:
    if session_type is not None and session_type.profile_id != profile.pk:
        raise ValidationError(_("Choose one of your own session types."), code="not_own")


def _check_periods(profile: SpecialistProfile, periods: Iterable[Period]) -> list[Period]:
    by_day: dict[int, list[Span]] = defaultdict(list)
    checked = []
    for weekday, start, end, session_type in periods:
        if weekday not in WEEKDAYS:
            raise ValidationError(_("Choose a day of the week."), code="weekday")
        _check_own_session_type(profile, session_type)
        by_day[weekday].append((start, end))
        checked.append((weekday, start, end, session_type))
    for weekday, spans in by_day.items():
        check_spans(spans, day_label=str(WEEKDAYS[weekday]))
    return checked


# --- session types ------------------------------------------------------------------------


def _check_brand(
    profile: SpecialistProfile, brand: Brand | None, current: SessionType | None
) -> None:
    if brand is None or (current is not None and current.brand_id == brand.pk):
        return
    if not listed_brands(profile).filter(pk=brand.pk).exists():
        raise ValidationError(
            {"brand": _("Choose one of the sites you are listed on, or all of them.")},
            code="brand",
        )


def _check_price(profile: SpecialistProfile, brand: Brand | None, price: int | None) -> int | None:
    scope = price_scope(profile, brand)
    if price is None:
        return None
    if not scope.allows_price:
        if scope.mixed_currencies:
            message = _(
                "The sites where you set your own price use different currencies. Limit this "
                "session type to one site to give it a price."
            )
        else:
            message = _(
                "You do not set the price there: the site's price applies. Leave the price empty."
            )
        raise ValidationError({"price_minor": message}, code="price_not_yours")
    if price <= 0:
        raise ValidationError({"price_minor": _("The price must be more than zero.")}, code="price")
    return price


def _check_name_free(profile: SpecialistProfile, name: str, exclude: int | None) -> None:
    taken = SessionType.objects.filter(profile=profile, is_active=True, name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ValidationError(
            {"name": _("You already have a session type called “%(name)s”.") % {"name": name}},
            code="duplicate",
        )


@transaction.atomic
def do_save_session_type(
    profile: SpecialistProfile,
    values: Mapping[str, Any],
    *,
    session_type: SessionType | None = None,
    actor: Any,
    request: HttpRequest | None = None,
) -> SessionType:
    """Create a session type (``session_type=None``) or change one of the profile's own.

    ``values`` holds any of ``SESSION_TYPE_FIELDS``; a new one takes the model's defaults
    for the others. Raises ValidationError (keyed by field where one is to blame) and
    writes nothing when a value is out of range, the brand is not one the specialist is
    listed on, or a price is given where the brand sets it.
    """
    unknown = set(values) - set(SESSION_TYPE_FIELDS)
    if unknown:
        raise ValueError(f"unknown session type fields: {sorted(unknown)}")
    _lock(profile)
    if session_type is None:
        current, target = None, SessionType(profile=profile)
    else:
        try:
            current = SessionType.objects.select_for_update().get(
                pk=session_type.pk, profile=profile
            )
        except SessionType.DoesNotExist:
            raise ValidationError(_("Choose one of your own session types.")) from None
        target = SessionType.objects.get(pk=current.pk)
    for field, value in values.items():
        setattr(target, field, value.strip() if isinstance(value, str) else value)
    _check_brand(profile, target.brand, current)
    target.price_minor = _check_price(profile, target.brand, target.price_minor)
    target.full_clean(exclude=["profile"])
    if target.is_active:
        _check_name_free(profile, target.name, current.pk if current else None)
    changed = [
        f
        for f in SESSION_TYPE_FIELDS
        if current is None or getattr(current, f) != getattr(target, f)
    ]
    if current is not None and not changed:
        return current
    target.save()
    audit.record(
        "session_type.created" if current is None else "session_type.updated",
        actor=actor,
        role=Role.SPECIALIST,
        target=target,
        brand=target.brand or _brand(request),
        request=request,
        data={"profile": profile.pk, "fields": changed},
    )
    return target


def _set_active(
    session_type: SessionType, active: bool, *, actor: Any, request: HttpRequest | None
) -> SessionType:
    locked = SessionType.objects.select_for_update().get(pk=session_type.pk)
    if locked.is_active == active:
        return locked  # idempotent
    if active:
        _check_name_free(locked.profile, locked.name, locked.pk)
    locked.is_active = active
    locked.save(update_fields=["is_active"])
    audit.record(
        "session_type.reactivated" if active else "session_type.deactivated",
        actor=actor,
        role=Role.SPECIALIST,
        target=locked,
        brand=locked.brand or _brand(request),
        request=request,
        data={"profile": locked.profile_id},
    )
    return locked


@transaction.atomic
def do_deactivate_session_type(
    session_type: SessionType, *, actor: Any, request: HttpRequest | None = None
) -> SessionType:
    """Patients can no longer book it; existing bookings and its reserved hours stay."""
    return _set_active(session_type, False, actor=actor, request=request)


@transaction.atomic
def do_reactivate_session_type(
    session_type: SessionType, *, actor: Any, request: HttpRequest | None = None
) -> SessionType:
    return _set_active(session_type, True, actor=actor, request=request)


# --- weekly hours -------------------------------------------------------------------------


def _period_labels(periods: Iterable[Period]) -> list[str]:
    return [
        f"{weekday} {clock(start)}-{clock(end, end=True)}"
        + (f" #{session_type.pk}" if session_type else "")
        for weekday, start, end, session_type in periods
    ]


@transaction.atomic
def do_replace_weekly_rules(
    profile: SpecialistProfile,
    periods: Iterable[Period],
    *,
    weekdays: Iterable[int] | None = None,
    actor: Any,
    request: HttpRequest | None = None,
) -> list[AvailabilityRule]:
    """Replace the weekly hours of ``weekdays`` (default: the whole week) by ``periods``.

    Every period must fall on one of ``weekdays``; a weekday without periods is closed.
    """
    days = sorted(set(WEEKDAYS) if weekdays is None else set(weekdays))
    if not days or any(d not in WEEKDAYS for d in days):
        raise ValidationError(_("Choose a day of the week."), code="weekday")
    checked = _check_periods(profile, periods)
    if any(weekday not in days for weekday, *_rest in checked):
        raise ValueError("a period falls on a weekday that is not being replaced")
    _lock(profile)
    rules = [
        AvailabilityRule(
            profile=profile, weekday=w, start_time=start, end_time=end, session_type=st
        )
        for w, start, end, st in checked
    ]
    for rule in rules:
        rule.full_clean(exclude=["profile", "session_type"])
    before = AvailabilityRule.objects.filter(profile=profile, weekday__in=days)
    removed = before.count()
    before.delete()
    AvailabilityRule.objects.bulk_create(rules)
    audit.record(
        "availability.weekly_replaced",
        actor=actor,
        role=Role.SPECIALIST,
        target=profile,
        brand=_brand(request),
        request=request,
        data={"weekdays": days, "removed": removed, "periods": _period_labels(checked)},
    )
    return list(AvailabilityRule.objects.filter(profile=profile, weekday__in=days))


@transaction.atomic
def do_add_rule(
    profile: SpecialistProfile,
    *,
    weekday: int,
    start: time,
    end: time,
    session_type: SessionType | None = None,
    actor: Any,
    request: HttpRequest | None = None,
) -> AvailabilityRule:
    """Add one weekly period; refused when it overlaps a period of the same weekday."""
    _lock(profile)
    existing = [
        (r.weekday, r.start_time, r.end_time, r.session_type)
        for r in AvailabilityRule.objects.filter(profile=profile, weekday=weekday)
    ]
    _check_periods(profile, [*existing, (weekday, start, end, session_type)])
    rule = AvailabilityRule(
        profile=profile,
        weekday=weekday,
        start_time=start,
        end_time=end,
        session_type=session_type,
    )
    rule.full_clean(exclude=["profile", "session_type"])
    rule.save()
    audit.record(
        "availability.rule_added",
        actor=actor,
        role=Role.SPECIALIST,
        target=rule,
        brand=_brand(request),
        request=request,
        data={
            "profile": profile.pk,
            "periods": _period_labels([(weekday, start, end, session_type)]),
        },
    )
    return rule


@transaction.atomic
def do_remove_rule(
    rule: AvailabilityRule, *, actor: Any, request: HttpRequest | None = None
) -> None:
    locked = AvailabilityRule.objects.select_for_update().filter(pk=rule.pk).first()
    if locked is None:  # idempotent
        return
    label = _period_labels([(locked.weekday, locked.start_time, locked.end_time, None)])
    audit.record(
        "availability.rule_removed",
        actor=actor,
        role=Role.SPECIALIST,
        target=locked,
        brand=_brand(request),
        request=request,
        data={"profile": locked.profile_id, "periods": label},
    )
    locked.delete()


# --- date overrides -----------------------------------------------------------------------


def today_for(profile: SpecialistProfile, now: datetime | None = None) -> date:
    """Today in the specialist's zone."""
    return (now or timezone.now()).astimezone(ZoneInfo(zone_of(profile))).date()


@transaction.atomic
def do_set_date_override(
    profile: SpecialistProfile,
    day: date,
    windows: Iterable[Span],
    *,
    note: str = "",
    actor: Any,
    request: HttpRequest | None = None,
) -> DateOverride:
    """Give one local date its own hours (no windows: a day off), replacing any earlier
    override of that date. The weekly hours of that date do not apply while it exists."""
    if day < today_for(profile):
        raise ValidationError({"day": _("This date has passed.")}, code="past")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(
            {"note": _("Keep the note to %(max)s characters.") % {"max": NOTE_MAX}},
            code="note",
        )
    try:
        spans = check_spans(windows)
    except ValidationError as error:
        raise ValidationError({"windows": error.messages}, code="windows") from None
    _lock(profile)
    override = DateOverride.objects.select_for_update().filter(profile=profile, day=day).first()
    created = override is None
    if override is None:
        override = DateOverride(profile=profile, day=day)
    override.windows = [[clock(a), clock(b)] for a, b in spans]
    override.note = note
    # The spans are checked above. DateOverride.clean() itself fails on an empty list (a day
    # off: its zip(..., strict=True) compares 0 spans with 1 neighbour), so it runs only on
    # hours.
    override.clean_fields(exclude=["profile"])
    if override.windows:
        override.clean()
    override.save()
    audit.record(
        "availability.override_set",
        actor=actor,
        role=Role.SPECIALIST,
        target=override,
        brand=_brand(request),
        request=request,
        data={
            "profile": profile.pk,
            "day": day.isoformat(),
            "created": created,
            "windows": override.windows,
            "with_note": bool(note),
        },
    )
    return override


@transaction.atomic
def do_clear_date_override(
    override: DateOverride, *, actor: Any, request: HttpRequest | None = None
) -> None:
    """The date follows the weekly hours again."""
    locked = DateOverride.objects.select_for_update().filter(pk=override.pk).first()
    if locked is None:  # idempotent
        return
    audit.record(
        "availability.override_cleared",
        actor=actor,
        role=Role.SPECIALIST,
        target=locked,
        brand=_brand(request),
        request=request,
        data={"profile": locked.profile_id, "day": locked.day.isoformat()},
    )
    locked.delete()
