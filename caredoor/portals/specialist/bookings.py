"""The specialist's bookings: the list over every site, one booking with the moves its
state allows (cancel, reschedule, outcome, withdraw a proposal), and a series changed or
cancelled from one occurrence onward. Views validate input and call the booking actions;
bookings are fetched only through ``core.booking.access`` (anyone else's answers 404)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking import access, proposals, series
from caredoor.core.booking.actions import (
    do_complete,
    do_mark_no_show,
)
from caredoor.core.booking.errors import SeriesConflicts, SlotTaken
from caredoor.core.booking.models import Booking, BookingStatus, Origin, RequestStatus
from caredoor.core.booking.requests import preferred_windows
from caredoor.core.payments import cancellation, moves
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.video.settle import do_close_no_show_check
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.specialist import booking_support as support
from caredoor.portals.specialist.booking_forms import (
    CancelForm,
    RescheduleForm,
    SeriesChangeForm,
)
from caredoor.portals.specialist.consents import session_status
from caredoor.portals.specialist.sessions import with_rooms

PORTAL = Portal.SPECIALIST
OPEN = (BookingStatus.CONFIRMED, BookingStatus.PENDING_PAYMENT)
PAST_PER_PAGE = 25
# Answered proposals stay in the proposals list this long after the answer.
RECENT_ANSWERS = timedelta(days=14)


# --- the list -----------------------------------------------------------------------------


@dataclass
class RequestRow:
    request: Any
    periods: list[str]
    respond_by: str


@dataclass
class ProposalRow:
    booking: Booking
    response: str

    @property
    def label(self) -> str:
        return str(support.RESPONSE_LABELS[self.response])

    @property
    def badge(self) -> str:
        return support.RESPONSE_BADGE[self.response]


def open_requests(profile: SpecialistProfile, zone: str) -> list[RequestRow]:
    now = timezone.now()
    rows = access.specialist_requests(profile).filter(
        status=RequestStatus.REQUESTED, respond_by__gt=now
    )
    return [
        RequestRow(
            req,
            [support.period(a, b, zone) for a, b in preferred_windows(req)],
            support.when(req.respond_by, zone),
        )
        for req in rows.order_by("respond_by", "pk")
    ]


def proposal_rows(profile: SpecialistProfile) -> list[ProposalRow]:
    now = timezone.now()
    candidates = (
        access.specialist_bookings(profile)
        .filter(origin__in=[Origin.PROPOSAL, Origin.REQUEST], rescheduled_from__isnull=True)
        .filter(
            Q(status=BookingStatus.PROPOSED)
            | Q(start__gte=now, status_changed_at__gte=now - RECENT_ANSWERS)
        )
        .order_by("start", "pk")
    )
    rows = [ProposalRow(b, support.proposal_response(b)) for b in candidates]
    rows = [row for row in rows if row.response]
    # Those still waiting for an answer first.
    return sorted(rows, key=lambda row: row.response != support.AWAITING)


def with_badges(bookings: Any) -> list[Booking]:
    rows = list(bookings)
    for row in rows:
        row.badge = support.STATUS_BADGE.get(row.status, "")  # type: ignore[attr-defined]
    return rows


@require_GET
@portal_view(PORTAL)
def booking_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = support.profile_of(request, ctx)
    context: dict[str, Any] = {"ctx": ctx, "profile": profile}
    if profile is None:
        return render(request, "specialist/bookings.html", context)
    now = timezone.now()
    zone = support.zone_name(profile)
    mine = access.specialist_bookings(profile)
    upcoming = mine.filter(status__in=OPEN, end__gt=now).order_by("start", "pk")
    history = (
        mine.exclude(status__in=[BookingStatus.PROPOSED, BookingStatus.RESCHEDULED])
        .exclude(status__in=OPEN, end__gt=now)
        .order_by("-start", "-pk")
    )
    page = Paginator(history, PAST_PER_PAGE).get_page(request.GET.get("page"))
    upcoming_rows, past_rows = with_badges(upcoming), with_badges(page.object_list)
    # Rows whose video room is open now get "Join video session" (on this site; the
    # grace period after the end keeps a session that just ended open).
    with_rooms([*upcoming_rows, *past_rows], ctx.brand, now)
    context.update(
        support.zone_context(profile),
        now=now,
        requests=open_requests(profile, zone),
        proposals=proposal_rows(profile),
        upcoming=upcoming_rows,
        past=page,
        past_rows=past_rows,
        statuses=BookingStatus,
        can_schedule=bool(support.scheduling_brands(profile)),
    )
    return render(request, "specialist/bookings.html", context)


# --- one booking --------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowed:
    """The moves the lifecycle allows this booking now (only these get buttons)."""

    withdraw: bool
    cancel: bool
    reschedule: bool
    outcome: bool
    series: bool

    @property
    def any(self) -> bool:
        return self.withdraw or self.cancel or self.reschedule or self.outcome or self.series


def allowed_moves(booking: Booking) -> Allowed:
    status, now = booking.status, timezone.now()
    return Allowed(
        withdraw=status == BookingStatus.PROPOSED,
        cancel=status in OPEN,
        reschedule=status == BookingStatus.CONFIRMED,
        outcome=status == BookingStatus.CONFIRMED and now >= booking.start,
        series=booking.series_id is not None and status in OPEN,
    )


def _successor(booking: Booking) -> Booking | None:
    try:
        return booking.rescheduled_to  # type: ignore[attr-defined,no-any-return]
    except ObjectDoesNotExist:
        return None


def _series_dates(profile: SpecialistProfile, booking: Booking) -> list[Booking]:
    if booking.series_id is None:
        return []
    return list(
        access.specialist_bookings(profile)
        .filter(series_id=booking.series_id)
        .exclude(status=BookingStatus.RESCHEDULED)
        .order_by("start", "pk")
    )


def _detail(
    request: HttpRequest,
    ctx: PortalContext,
    profile: SpecialistProfile,
    booking: Booking,
    *,
    status: int = 200,
    **forms: Any,
) -> HttpResponse:
    zone = support.zone_name(profile)
    moves = allowed_moves(booking)
    response = support.proposal_response(booking)
    # A refused move whose form is no longer shown (the booking changed state meanwhile)
    # still says why, at the top of the page.
    shown = {
        "cancel_form": moves.cancel,
        "reschedule_form": moves.reschedule,
        "series_form": moves.series,
        "series_cancel_form": moves.series,
    }
    page_errors = [
        error
        for name, form in forms.items()
        if name in shown and not shown[name]
        for error in form.non_field_errors()
    ]
    context: dict[str, Any] = {
        "ctx": ctx,
        "profile": profile,
        "booking": booking,
        "moves": moves,
        "badge": support.STATUS_BADGE.get(booking.status, ""),
        "price": support.price_text(booking),
        "response": response,
        "response_label": support.RESPONSE_LABELS.get(response, ""),
        "successor": _successor(booking),
        "series_dates": _series_dates(profile, booking),
        "statuses": BookingStatus,
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "reschedule_form": forms.get("reschedule_form") or RescheduleForm(zone=zone),
        "series_form": forms.get("series_form") or SeriesChangeForm(zone=zone),
        "series_cancel_form": forms.get("series_cancel_form") or CancelForm(prefix="series"),
        "alternatives": forms.get("alternatives") or [],
        "page_errors": page_errors,
        "suggestions": (
            support.upcoming_slots(booking.session_type, zone) if moves.reschedule else []
        ),
        # Whether the session may start: consents the patient still has to sign.
        "consent_session": session_status(booking)
        if booking.status == BookingStatus.CONFIRMED and booking.end > timezone.now()
        else None,
        **support.zone_context(profile),
    }
    return render(request, "specialist/booking_detail.html", context, status=status)


@require_GET
@portal_view(PORTAL)
def booking_detail(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    profile = support.profile_or_404(request, ctx)
    booking = access.access_specialist_booking(profile, booking_id)
    return _detail(request, ctx, profile, booking)


def _refused(request: HttpRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


@require_POST
@portal_view(PORTAL)
def booking_cancel(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    profile = support.profile_or_404(request, ctx)
    booking = access.access_specialist_booking(profile, booking_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            cancellation.do_cancel(
                booking,
                by="specialist",
                actor=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The session was cancelled. The patient is told."))
            return redirect("specialist:booking", booking_id=booking.pk)
    return _detail(request, ctx, profile, booking, status=400, cancel_form=form)


@require_POST
@portal_view(PORTAL)
def booking_reschedule(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    profile = support.profile_or_404(request, ctx)
    booking = access.access_specialist_booking(profile, booking_id)
    zone = support.zone_name(profile)
    form = RescheduleForm(request.POST, zone=zone)
    alternatives: list[support.SlotChoice] = []
    if form.is_valid() and form.start is not None:
        try:
            moved = moves.do_reschedule(
                booking, actor=request.user, start=form.start, request=request
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        except SlotTaken as taken:
            form.add_error(None, taken.message)
            alternatives = support.taken_alternatives(
                taken.alternatives, booking.session_type, form.start, zone
            )
        else:
            messages.success(
                request,
                _("The session was moved to %(when)s. The patient is told.")
                % {"when": support.when(moved.start, zone)},
            )
            return redirect("specialist:booking", booking_id=moved.pk)
    return _detail(
        request,
        ctx,
        profile,
        booking,
        status=400,
        reschedule_form=form,
        alternatives=alternatives,
    )


@require_POST
@portal_view(PORTAL)
def booking_outcome(
    request: HttpRequest, ctx: PortalContext, booking_id: int, outcome: str
) -> HttpResponse:
    profile = support.profile_or_404(request, ctx)
    booking = access.access_specialist_booking(profile, booking_id)
    record = do_complete if outcome == BookingStatus.COMPLETED else do_mark_no_show
    try:
        record(booking, actor=request.user, request=request)
    except ValidationError as exc:
        _refused(request, exc)
    else:
        do_close_no_show_check(booking, request.user)
        messages.success(
            request,
            _("Recorded as completed.")
            if outcome == BookingStatus.COMPLETED
            else _("Recorded as a no-show."),
        )
    return redirect("specialist:booking", booking_id=booking.pk)


@require_POST
@portal_view(PORTAL)
def proposal_withdraw(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    profile = support.profile_or_404(request, ctx)
    booking = access.access_specialist_booking(profile, booking_id)
    try:
        proposals.do_withdraw_proposal(booking, actor=request.user, request=request)
    except ValidationError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("The proposal was withdrawn; the time is free again."))
    return redirect("specialist:booking", booking_id=booking.pk)


# --- a series from one occurrence onward --------------------------------------------------


def _onward(profile: SpecialistProfile, booking: Booking) -> list[Booking]:
    return list(
        access.specialist_bookings(profile)
        .filter(series_id=booking.series_id, start__gte=booking.start, status__in=OPEN)
        .order_by("start", "pk")
    )


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def series_change(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    """Move this occurrence and the later open ones: a new start, a preview of every moved
    date with its conflict, then the change (optionally skipping the dates not free)."""
    profile = support.profile_or_404(request, ctx)
    booking = access.access_specialist_booking(profile, booking_id)
    zone = support.zone_name(profile)
    form = SeriesChangeForm(request.POST if request.method == "POST" else None, zone=zone)
    context: dict[str, Any] = {
        "ctx": ctx,
        "booking": booking,
        "form": form,
        "rows": [],
        "conflicts": 0,
        "previewed": False,
        **support.zone_context(profile),
    }
    if booking.series_id is None or booking.status not in OPEN:
        context["closed"] = True
        return render(request, "specialist/series_change.html", context)
    onward = _onward(profile, booking)
    context["onward"] = onward
    if request.method != "POST":
        return render(request, "specialist/series_change.html", context)
    if not form.is_valid() or form.start is None:
        return render(request, "specialist/series_change.html", context, status=400)
    if request.POST.get("step") == "apply":
        try:
            moved = series.do_change_series_from(
                booking,
                actor=request.user,
                new_start=form.start,
                skip_conflicts=form.cleaned_data["skip_conflicts"],
                request=request,
            )
        except SeriesConflicts as exc:
            form.add_error(None, exc.message)
            occurrences = exc.occurrences
        except ValidationError as exc:
            form.add_action_errors(exc)
            return render(request, "specialist/series_change.html", context, status=400)
        else:
            skipped = len(onward) - len(moved)
            text = ngettext(
                "%(n)s session was moved.", "%(n)s sessions were moved.", len(moved)
            ) % {"n": len(moved)}
            if skipped:
                text += " " + ngettext(
                    "%(n)s date was not free and stays as it was.",
                    "%(n)s dates were not free and stay as they were.",
                    skipped,
                ) % {"n": skipped}
            messages.success(request, text)
            return redirect("specialist:booking", booking_id=moved[0].pk)
    else:
        try:
            occurrences = series.preview_change_from(booking, new_start=form.start)
        except ValidationError as exc:
            form.add_action_errors(exc)
            return render(request, "specialist/series_change.html", context, status=400)
    rows = support.occurrence_rows(occurrences, zone, moving=onward)
    context.update(
        rows=rows,
        conflicts=sum(1 for row in rows if row.conflict),
        previewed=True,
        start=form.start,
    )
    return render(
        request,
        "specialist/series_change.html",
        context,
        status=400 if form.errors else 200,
    )


@require_POST
@portal_view(PORTAL)
def series_cancel(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    profile = support.profile_or_404(request, ctx)
    booking = access.access_specialist_booking(profile, booking_id)
    form = CancelForm(request.POST, prefix="series")
    if form.is_valid():
        try:
            cancelled = series.do_cancel_series_from(
                booking, actor=request.user, reason=form.cleaned_data["reason"], request=request
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if not cancelled:
                messages.info(request, _("Nothing was left to cancel in this series."))
                return redirect("specialist:booking", booking_id=booking.pk)
            messages.success(
                request,
                ngettext(
                    "%(n)s session of the series was cancelled.",
                    "%(n)s sessions of the series were cancelled.",
                    len(cancelled),
                )
                % {"n": len(cancelled)},
            )
            return redirect("specialist:booking", booking_id=booking.pk)
    return _detail(request, ctx, profile, booking, status=400, series_cancel_form=form)
