"""The specialist's scheduling workspace: session types, weekly hours, date overrides and
the calendar. Views validate input and call the scheduling actions; every object is looked
up through the specialist's own profile, so anyone else's answers 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dates import WEEKDAYS
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking.models import Booking
from caredoor.core.brands.models import Brand
from caredoor.core.scheduling.actions import (
    do_clear_date_override,
    do_deactivate_session_type,
    do_reactivate_session_type,
    do_remove_rule,
    do_replace_weekly_rules,
    do_save_session_type,
    do_set_date_override,
    span_label,
    today_for,
)
from caredoor.core.scheduling.models import AvailabilityRule, DateOverride, SessionType
from caredoor.core.scheduling.queries import (
    access_own_override,
    access_own_rule,
    access_own_session_type,
    listed_brands,
    overrides_of,
    price_scope,
    rules_of,
    session_types_of,
    zone_of,
)
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.pricing import ListingPrice, listing_price
from caredoor.core.specialists.queries import listings_of, own_profile
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.specialist import calendar_grid
from caredoor.portals.specialist.listings import price_rule
from caredoor.portals.specialist.scheduling_forms import (
    DateOverrideForm,
    SessionTypeForm,
    WeekdayHoursForm,
)

PORTAL = Portal.SPECIALIST
EXTRA_ROWS = 2  # empty period rows offered below the filled ones


def _profile(request: HttpRequest, ctx: PortalContext) -> SpecialistProfile | None:
    return own_profile(request.user, ctx.membership.network_id)


def _profile_or_404(request: HttpRequest, ctx: PortalContext) -> SpecialistProfile:
    profile = _profile(request, ctx)
    if profile is None:
        raise Http404
    return profile


def _zone_context(profile: SpecialistProfile) -> dict[str, Any]:
    return {"zone": zone_of(profile), "zone_missing": not profile.time_zone}


# --- session types ------------------------------------------------------------------------


@dataclass
class PriceLine:
    brand: Brand
    display: str
    note: str


def _price_lines(
    profile: SpecialistProfile, session_type: SessionType, listing_prices: dict[int, ListingPrice]
) -> list[PriceLine]:
    """What a session of this type costs on each brand it is offered on, and why."""
    scope = price_scope(profile, session_type.brand)
    lines = []
    for brand in scope.own_price_brands:
        if session_type.price_minor is not None and scope.allows_price:
            price = ListingPrice(session_type.price_minor, brand.currency, False, "session_type")
            lines.append(PriceLine(brand, price.display, _("your price for this session type")))
        elif brand.pk in listing_prices:
            lines.append(
                PriceLine(brand, listing_prices[brand.pk].display, _("your listing's price"))
            )
    for brand in scope.other_brands:
        if brand.pk in listing_prices:
            lines.append(PriceLine(brand, listing_prices[brand.pk].display, _("set by the site")))
    return lines


def minutes_text(minutes: int) -> str:
    """``45 minutes``, ``12 hours``, ``2 days``: the largest unit that divides evenly."""
    if minutes and minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}
    return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}


@dataclass
class SessionTypeRow:
    session_type: SessionType
    prices: list[PriceLine]

    @property
    def notice(self) -> str:
        return minutes_text(self.session_type.min_notice_minutes)

    @property
    def step(self) -> str:
        return minutes_text(self.session_type.slot_step_minutes)


def _listing_prices(profile: SpecialistProfile) -> dict[int, ListingPrice]:
    return {item.brand_id: listing_price(item) for item in listings_of(profile)}


@require_GET
@portal_view(PORTAL)
def session_types(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = _profile(request, ctx)
    if profile is None:
        return redirect("specialist:dashboard")
    prices = _listing_prices(profile)
    rows = [
        SessionTypeRow(st, _price_lines(profile, st, prices)) for st in session_types_of(profile)
    ]
    return render(
        request,
        "specialist/session_types.html",
        {
            "ctx": ctx,
            "profile": profile,
            "active": [row for row in rows if row.session_type.is_active],
            "inactive": [row for row in rows if not row.session_type.is_active],
            "listed": listed_brands(profile).exists(),
        },
    )


def _session_type_form(
    profile: SpecialistProfile, instance: SessionType | None, data: Any = None
) -> SessionTypeForm:
    return SessionTypeForm(
        data,
        brands=list(listed_brands(profile)),
        scope=price_scope(profile, None),
        instance=instance,
    )


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def session_type_edit(
    request: HttpRequest, ctx: PortalContext, session_type_id: int | None = None
) -> HttpResponse:
    profile = _profile(request, ctx)
    if profile is None:
        if request.method == "POST":
            raise Http404
        return redirect("specialist:dashboard")
    instance = (
        access_own_session_type(profile, session_type_id) if session_type_id is not None else None
    )
    form = _session_type_form(profile, instance, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = do_save_session_type(
                    profile,
                    form.values(),
                    session_type=instance,
                    actor=request.user,
                    request=request,
                )
            except ValidationError as exc:
                form.add_action_errors(exc)
            else:
                text = (
                    _("The session type “%(name)s” was added.")
                    if instance is None
                    else _("The session type “%(name)s” was saved.")
                )
                messages.success(request, text % {"name": saved.name})
                return redirect(f"{reverse('specialist:session_types')}#session-type-{saved.pk}")
        status = 400
    brands = list(listed_brands(profile))
    return render(
        request,
        "specialist/session_type_form.html",
        {
            "ctx": ctx,
            "profile": profile,
            "form": form,
            "instance": instance,
            "price_rules": [(brand, price_rule(profile, brand)) for brand in brands],
            "scope": price_scope(profile, None),
        },
        status=status,
    )


@require_POST
@portal_view(PORTAL)
def session_type_active(
    request: HttpRequest, ctx: PortalContext, session_type_id: int, active: bool
) -> HttpResponse:
    profile = _profile_or_404(request, ctx)
    session_type = access_own_session_type(profile, session_type_id)
    try:
        if active:
            do_reactivate_session_type(session_type, actor=request.user, request=request)
            messages.success(
                request,
                _("Patients can book “%(name)s” again.") % {"name": session_type.name},
            )
        else:
            do_deactivate_session_type(session_type, actor=request.user, request=request)
            messages.success(
                request,
                _("“%(name)s” is no longer offered. Sessions already booked stay in your calendar.")
                % {"name": session_type.name},
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(f"{reverse('specialist:session_types')}#session-type-{session_type.pk}")


# --- availability -------------------------------------------------------------------------


def _type_choices(profile: SpecialistProfile) -> list[tuple[str, str]]:
    choices = [("", _("Every session type"))]
    for st in session_types_of(profile):
        label = st.name if st.is_active else _("%(name)s (not offered)") % {"name": st.name}
        choices.append((str(st.pk), label))
    return choices


def _weekday_form(
    profile: SpecialistProfile,
    weekday: int,
    rules: list[AvailabilityRule],
    choices: list[tuple[str, str]],
    data: Any = None,
) -> WeekdayHoursForm:
    own = [r for r in rules if r.weekday == weekday]
    initial: dict[str, Any] = {}
    for i, rule in enumerate(own):
        initial[f"start_{i}"] = rule.start_time
        initial[f"end_{i}"] = rule.end_time
        initial[f"type_{i}"] = str(rule.session_type_id or "")
    return WeekdayHoursForm(
        data,
        initial=initial,
        rows=len(own) + EXTRA_ROWS,
        type_choices=choices,
        weekday=weekday,
        prefix=f"day{weekday}",
    )


@dataclass
class WeekdayRow:
    weekday: int
    name: str
    rules: list[AvailabilityRule]
    form: WeekdayHoursForm

    @property
    def periods(self) -> list[tuple[AvailabilityRule, str]]:
        return [(r, span_label(r.start_time, r.end_time)) for r in self.rules]


def _availability_page(
    request: HttpRequest,
    ctx: PortalContext,
    profile: SpecialistProfile,
    bound: WeekdayHoursForm | None = None,
) -> HttpResponse:
    rules = list(rules_of(profile))
    choices = _type_choices(profile)
    week = []
    for weekday, name in WEEKDAYS.items():
        form = (
            bound
            if bound is not None and bound.weekday == weekday
            else _weekday_form(profile, weekday, rules, choices)
        )
        week.append(
            WeekdayRow(weekday, str(name), [r for r in rules if r.weekday == weekday], form)
        )
    today = today_for(profile)
    overrides = [
        (
            o,
            ", ".join(
                span_label(time.fromisoformat(a), time.fromisoformat(b)) for a, b in o.windows
            ),
        )
        for o in overrides_of(profile).filter(day__gte=today)
    ]
    context = {
        "ctx": ctx,
        "profile": profile,
        "week": week,
        "overrides": overrides,
        "has_types": len(choices) > 1,
        "open_weekday": bound.weekday if bound is not None else None,
        **_zone_context(profile),
    }
    return render(request, "specialist/availability.html", context, status=400 if bound else 200)


@require_GET
@portal_view(PORTAL)
def availability(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = _profile(request, ctx)
    if profile is None:
        return redirect("specialist:dashboard")
    return _availability_page(request, ctx, profile)


@require_POST
@portal_view(PORTAL)
def weekday_save(request: HttpRequest, ctx: PortalContext, weekday: int) -> HttpResponse:
    profile = _profile_or_404(request, ctx)
    if weekday not in WEEKDAYS:
        raise Http404
    types = {str(st.pk): st for st in session_types_of(profile)}
    form = _weekday_form(profile, weekday, [], _type_choices(profile), request.POST)
    if form.is_valid():
        days = form.weekdays()
        periods = [
            (day, start, end, types.get(key)) for day in days for start, end, key in form.spans()
        ]
        try:
            do_replace_weekly_rules(
                profile, periods, weekdays=days, actor=request.user, request=request
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            names = ", ".join(str(WEEKDAYS[d]) for d in days)
            messages.success(request, _("Your hours on %(days)s were saved.") % {"days": names})
            return redirect(f"{reverse('specialist:availability')}#weekday-{weekday}")
    return _availability_page(request, ctx, profile, bound=form)


@require_POST
@portal_view(PORTAL)
def rule_remove(request: HttpRequest, ctx: PortalContext, rule_id: int) -> HttpResponse:
    profile = _profile_or_404(request, ctx)
    rule = access_own_rule(profile, rule_id)
    do_remove_rule(rule, actor=request.user, request=request)
    messages.success(
        request,
        _("%(day)s %(period)s was removed from your weekly hours.")
        % {"day": WEEKDAYS[rule.weekday], "period": span_label(rule.start_time, rule.end_time)},
    )
    return redirect(f"{reverse('specialist:availability')}#weekday-{rule.weekday}")


# --- date overrides -----------------------------------------------------------------------


def _usual_hours(profile: SpecialistProfile, day: date) -> list[AvailabilityRule]:
    return list(rules_of(profile).filter(weekday=day.weekday()))


def _override_form(
    profile: SpecialistProfile, day: date, existing: DateOverride | None, data: Any = None
) -> DateOverrideForm:
    if existing is not None:
        spans = [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in existing.windows]
        kind = DateOverrideForm.HOURS if spans else DateOverrideForm.OFF
        note = existing.note
    else:
        # Start from the usual hours of that weekday: change them, add to them, or take
        # the day off.
        spans = [(r.start_time, r.end_time) for r in _usual_hours(profile, day)]
        kind, note = DateOverrideForm.OFF, ""
    initial: dict[str, Any] = {"day": day, "kind": kind, "note": note}
    for i, (start, end) in enumerate(spans):
        initial[f"start_{i}"] = start
        initial[f"end_{i}"] = end
    return DateOverrideForm(data, initial=initial, rows=len(spans) + EXTRA_ROWS)


def _bookings_between(profile: SpecialistProfile, first: date, last: date) -> list[Booking]:
    start, end = calendar_grid.utc_range(first, last, zone_of(profile))
    return list(
        Booking.objects.filter(profile=profile, start__lt=end, end__gt=start)
        .select_related("patient", "session_type", "brand")
        .order_by("start", "pk")
    )


def _on_day(profile: SpecialistProfile, day: date) -> list[calendar_grid.Booked]:
    tz = ZoneInfo(zone_of(profile))
    return [
        calendar_grid.Booked(
            b.start.astimezone(tz),
            b.end.astimezone(tz),
            b,
            b.end.astimezone(tz).date() > day,
        )
        for b in _bookings_between(profile, day, day)
        if b.start.astimezone(tz).date() == day
    ]


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def date_override(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """One date's hours: a day off, or other hours than the weekly ones."""
    profile = _profile(request, ctx)
    if profile is None:
        if request.method == "POST":
            raise Http404
        return redirect("specialist:dashboard")
    today = today_for(profile)
    day = calendar_grid.parse_date(request.POST.get("day") or request.GET.get("day"), today)
    existing = overrides_of(profile).filter(day=day).first()
    form = _override_form(profile, day, existing, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            day = form.cleaned_data["day"]
            try:
                do_set_date_override(
                    profile,
                    day,
                    form.windows(),
                    note=form.cleaned_data["note"],
                    actor=request.user,
                    request=request,
                )
            except ValidationError as exc:
                form.add_action_errors(exc)
            else:
                label = date_format(day, "l j F Y")
                text = (
                    _("%(date)s is now a day off.")
                    if not form.windows()
                    else _("Your hours on %(date)s were saved.")
                )
                messages.success(request, text % {"date": label})
                return redirect(_calendar_url("day", day))
        status = 400
    usual = _usual_hours(profile, day)
    context = {
        "ctx": ctx,
        "profile": profile,
        "form": form,
        "day": day,
        "past": day < today,
        "existing": existing,
        "existing_hours": ", ".join(
            span_label(time.fromisoformat(a), time.fromisoformat(b))
            for a, b in (existing.windows if existing else [])
        ),
        "usual": [(span_label(r.start_time, r.end_time), r.session_type) for r in usual],
        "bookings": _on_day(profile, day),
        **_zone_context(profile),
    }
    return render(request, "specialist/date_override.html", context, status=status)


@require_POST
@portal_view(PORTAL)
def date_override_remove(
    request: HttpRequest, ctx: PortalContext, override_id: int
) -> HttpResponse:
    profile = _profile_or_404(request, ctx)
    override = access_own_override(profile, override_id)
    do_clear_date_override(override, actor=request.user, request=request)
    messages.success(
        request,
        _("%(date)s follows your weekly hours again.")
        % {"date": date_format(override.day, "l j F Y")},
    )
    back = request.POST.get("next", "")
    if back == "calendar":
        return redirect(_calendar_url("day", override.day))
    return redirect(f"{reverse('specialist:availability')}#overrides")


# --- calendar -----------------------------------------------------------------------------


def _calendar_url(view: str, day: date) -> str:
    return f"{reverse('specialist:calendar')}?view={view}&date={day.isoformat()}"


def _weekly_hours(profile: SpecialistProfile) -> list[calendar_grid.WeeklyHours]:
    hours = []
    for rule in rules_of(profile):
        label = ""
        if rule.session_type is not None:
            label = rule.session_type.name
            if not rule.session_type.is_active:
                label = _("%(name)s (not offered)") % {"name": label}
        hours.append(calendar_grid.WeeklyHours(rule.weekday, rule.start_time, rule.end_time, label))
    return hours


def _date_hours(
    profile: SpecialistProfile, first: date, last: date
) -> list[calendar_grid.DateHours]:
    return [
        calendar_grid.DateHours(
            o.day,
            tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in o.windows),
            o.note,
            o.pk,
        )
        for o in overrides_of(profile).filter(day__gte=first, day__lte=last)
    ]


def _title(grid: calendar_grid.Grid) -> str:
    if grid.view == calendar_grid.DAY:
        return date_format(grid.anchor, "l j F Y")
    if grid.view == calendar_grid.MONTH:
        return date_format(grid.anchor, "F Y")
    first, last = grid.first, grid.last
    if first.year != last.year:
        start = date_format(first, "j F Y")
    elif first.month != last.month:
        start = date_format(first, "j F")
    else:
        start = date_format(first, "j")
    return f"{start}\u2013{date_format(last, 'j F Y')}"


@require_GET
@portal_view(PORTAL)
def calendar(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = _profile(request, ctx)
    if profile is None:
        return redirect("specialist:dashboard")
    zone = zone_of(profile)
    today = today_for(profile)
    view = calendar_grid.parse_view(request.GET.get("view"))
    anchor = calendar_grid.parse_date(request.GET.get("date"), today)
    first, last, _prev, _next = calendar_grid.period(view, anchor)
    grid = calendar_grid.build(
        view=view,
        anchor=anchor,
        zone=zone,
        today=today,
        weekly=_weekly_hours(profile),
        overrides=_date_hours(profile, first, last),
        bookings=[
            calendar_grid.BookingIn(b.start, b.end, b)
            for b in _bookings_between(profile, first, last)
        ],
    )
    labels = {
        calendar_grid.DAY: (_("Previous day"), _("Next day"), _("Today")),
        calendar_grid.WEEK: (_("Previous week"), _("Next week"), _("This week")),
        calendar_grid.MONTH: (_("Previous month"), _("Next month"), _("This month")),
    }[view]
    context = {
        "ctx": ctx,
        "profile": profile,
        "grid": grid,
        "title": _title(grid),
        "views": [
            (calendar_grid.DAY, _("Day"), _calendar_url(calendar_grid.DAY, anchor)),
            (calendar_grid.WEEK, _("Week"), _calendar_url(calendar_grid.WEEK, anchor)),
            (calendar_grid.MONTH, _("Month"), _calendar_url(calendar_grid.MONTH, anchor)),
        ],
        "previous_url": _calendar_url(view, grid.previous),
        "next_url": _calendar_url(view, grid.following),
        "today_url": _calendar_url(view, today),
        "previous_label": labels[0],
        "next_label": labels[1],
        "today_label": labels[2],
        "shows_today": grid.first <= today <= grid.last,
        "has_hours": AvailabilityRule.objects.filter(profile=profile).exists(),
        "has_types": SessionType.objects.filter(profile=profile, is_active=True).exists(),
        **_zone_context(profile),
    }
    return render(request, "specialist/calendar.html", context)
