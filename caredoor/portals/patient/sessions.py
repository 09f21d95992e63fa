"""My sessions: the patient's bookings, proposals and availability requests on this brand.

Every booking and request is fetched through ``caredoor.core.booking.access`` (the patient's
own, on this brand; anything else is 404, for reading and for every POST alike), and every
change is a booking action: answering a proposal, cancelling, rescheduling, withdrawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking import ics, policy
from caredoor.core.booking.access import (
    access_patient_booking,
    access_patient_request,
    patient_bookings,
    patient_requests,
)
from caredoor.core.booking.errors import SlotTaken
from caredoor.core.booking.join import is_joinable, join_window
from caredoor.core.booking.models import (
    AvailabilityRequest,
    Booking,
    BookingStatus,
    RequestStatus,
)
from caredoor.core.booking.proposals import do_accept_proposal, do_decline_proposal
from caredoor.core.booking.requests import do_withdraw_request, preferred_windows
from caredoor.core.brands.choices import JourneyStage
from caredoor.core.brands.money import format_money
from caredoor.core.feedback.queries import due_feedback
from caredoor.core.payments import cancellation, moves
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.patient import booking_display as show
from caredoor.portals.patient import journey
from caredoor.portals.patient import payments as patient_money
from caredoor.portals.patient.booking import zone_form
from caredoor.portals.patient.booking_forms import CancelForm

PORTAL = Portal.PATIENT
PAST_SHOWN = 50
CLOSED_REQUESTS_SHOWN = 10


def invite_attachment() -> Any:
    """The calendar invite builder."""
    return ics.invite_attachment


@dataclass
class BookingRow:
    booking: Booking
    specialist: str
    when: str
    end: str
    status: str
    tone: str
    price: str
    expires: str  # "answer by" / "pay by", in the viewer's zone
    url: str


def _row(booking: Booking, zone: ZoneInfo, now: datetime) -> BookingRow:
    return BookingRow(
        booking=booking,
        specialist=show.specialist_name(booking),
        when=show.when(booking.start, zone, now=now),
        end=show.clock(booking.end, zone),
        status=show.status_label(booking, now),
        tone=show.status_tone(booking, now),
        price=show.booking_price(booking),
        expires=show.when(booking.expires_at, zone, now=now) if booking.expires_at else "",
        url=reverse("patient:booking", args=[booking.pk]),
    )


@dataclass
class RequestRow:
    request: AvailabilityRequest
    specialist: str
    status: str
    is_open: bool
    respond_by: str
    periods: list[str]
    booking_url: str


def _period_text(start: datetime, end: datetime, zone: ZoneInfo, now: datetime) -> str:
    same_day = start.astimezone(zone).date() == end.astimezone(zone).date()
    return _("%(start)s to %(end)s") % {
        "start": show.when(start, zone, now=now),
        "end": show.clock(end, zone) if same_day else show.when(end, zone, now=now),
    }


def _request_row(
    req: AvailabilityRequest, zone: ZoneInfo, now: datetime, booking_ids: dict[int, int]
) -> RequestRow:
    is_open = req.status == RequestStatus.REQUESTED and now < req.respond_by
    if req.status == RequestStatus.REQUESTED and not is_open:
        status = str(RequestStatus.EXPIRED.label)
    else:
        status = str(RequestStatus(req.status).label)
    booking_id = booking_ids.get(req.pk)
    return RequestRow(
        request=req,
        specialist=show.specialist_name(req),
        status=status,
        is_open=is_open,
        respond_by=show.when(req.respond_by, zone, now=now),
        periods=[_period_text(a, b, zone, now) for a, b in preferred_windows(req)],
        booking_url=reverse("patient:booking", args=[booking_id]) if booking_id else "",
    )


def _zone(request: HttpRequest) -> tuple[str, ZoneInfo]:
    name = show.viewer_zone_name(request)
    return name, ZoneInfo(name)


# --- the list ---------------------------------------------------------------------------------


@require_GET
@portal_view(PORTAL)
def bookings(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brand = ctx.brand
    zone_name, zone = _zone(request)
    now = timezone.now()
    rows = list(
        patient_bookings(request.user, brand)  # type: ignore[arg-type]
        .select_related("profile__published")
        .order_by("start", "pk")
    )
    proposals = [
        b
        for b in rows
        if b.status == BookingStatus.PROPOSED and not show.lapsed(b, now) and b.end > now
    ]
    upcoming = [b for b in rows if b.status != BookingStatus.PROPOSED and show.is_upcoming(b, now)]
    shown = {b.pk for b in proposals} | {b.pk for b in upcoming}
    past = sorted((b for b in rows if b.pk not in shown), key=lambda b: b.start, reverse=True)
    requests = list(
        patient_requests(request.user, brand).select_related("profile__published")  # type: ignore[arg-type]
    )
    booking_ids = {b.availability_request_id: b.pk for b in rows if b.availability_request_id}
    request_rows = [_request_row(r, zone, now, booking_ids) for r in requests]
    open_requests = [r for r in request_rows if r.is_open]
    closed_requests = [r for r in request_rows if not r.is_open][:CLOSED_REQUESTS_SHOWN]
    return render(
        request,
        "patient/bookings.html",
        {
            "ctx": ctx,
            "proposals": [_row(b, zone, now) for b in proposals],
            "upcoming": [_row(b, zone, now) for b in upcoming],
            "past": [_row(b, zone, now) for b in past[:PAST_SHOWN]],
            "open_requests": open_requests,
            "closed_requests": closed_requests,
            "zone_label": show.zone_label(zone_name, now),
            "zone_form": zone_form(request, zone_name),
            "directory_url": reverse("patient:specialists"),
        },
    )


# --- one booking ------------------------------------------------------------------------------


def _booking(request: HttpRequest, ctx: PortalContext, booking_id: int) -> Booking:
    return access_patient_booking(request.user, ctx.brand, booking_id)  # type: ignore[arg-type]


def _refund_text(booking: Booking, now: datetime) -> str:
    """What cancelling now gives back of what was paid ('' when nothing was paid)."""
    preview = cancellation.refund_if_patient_cancels(booking, now)
    if preview is None:
        return ""
    refund, paid, currency = preview
    if refund <= 0:
        return _("You paid %(paid)s; nothing is refunded if you cancel now.") % {
            "paid": format_money(paid, currency)
        }
    return _("You paid %(paid)s; %(refund)s is refunded to your card.") % {
        "paid": format_money(paid, currency),
        "refund": format_money(refund, currency),
    }


def _can_cancel(booking: Booking, now: datetime) -> bool:
    return (
        booking.status in (BookingStatus.CONFIRMED, BookingStatus.PENDING_PAYMENT)
        and booking.start > now
        and not show.lapsed(booking, now)
    )


def _can_move(booking: Booking, now: datetime) -> bool:
    return booking.status == BookingStatus.CONFIRMED and policy.may_reschedule(booking, now)


def cancellation_text(booking: Booking, now: datetime, zone: ZoneInfo) -> tuple[bool, str]:
    """(free?, the terms in words) of cancelling ``booking`` now."""
    if booking.status != BookingStatus.CONFIRMED:
        return True, _("Nothing has been paid for this session yet: cancelling is free.")
    terms = policy.cancellation_terms(booking, now)
    until = show.when(terms.free_until, zone, now=now)
    if terms.free:
        return True, _("Cancelling now is free of charge (until %(when)s).") % {"when": until}
    if terms.fee_percent == 0:
        return True, _("Cancelling now is free of charge.")
    if booking.price_minor:
        fee = show.money(booking.price_minor * terms.fee_percent // 100, booking.currency)
        return False, _(
            "This is a late cancellation: free cancellation ended on %(when)s. "
            "%(fee)s of the price (%(amount)s) will be charged."
        ) % {"when": until, "fee": show.percent(terms.fee_percent), "amount": fee}
    return False, _(
        "This is a late cancellation: free cancellation ended on %(when)s. "
        "%(fee)s of the price will be charged."
    ) % {"when": until, "fee": show.percent(terms.fee_percent)}


@require_GET
@portal_view(PORTAL)
def booking_detail(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    booking = _booking(request, ctx, booking_id)
    zone_name, zone = _zone(request)
    now = timezone.now()
    moved_to = (
        patient_bookings(request.user, ctx.brand)  # type: ignore[arg-type]
        .filter(rescheduled_from=booking)
        .values_list("pk", flat=True)
    )
    move_until = policy.reschedule_until(booking)
    context = {
        "ctx": ctx,
        "booking": booking,
        "row": _row(booking, zone, now),
        "duration": show.minutes_text(booking.session_type.duration_minutes),
        "zone_label": show.zone_label(zone_name, booking.start),
        "zone_form": zone_form(request, zone_name),
        # Upcoming: the terms as they stand now; otherwise as they were agreed.
        "policy_lines": show.policy_lines(
            booking.policy,
            booking.start,
            zone,
            now=now if show.is_upcoming(booking, now) else None,
        ),
        "is_open_proposal": booking.status == BookingStatus.PROPOSED
        and not show.lapsed(booking, now),
        "can_cancel": _can_cancel(booking, now),
        "can_move": _can_move(booking, now),
        "move_closed": booking.status == BookingStatus.CONFIRMED
        and booking.start > now
        and not policy.may_reschedule(booking, now),
        "move_until": show.when(move_until, zone, now=now),
        "ics_url": reverse("patient:booking_ics", args=[booking.pk])
        if invite_attachment() is not None and show.is_upcoming(booking, now)
        else "",
        "moved_to_url": reverse("patient:booking", args=[moved_to[0]]) if moved_to else "",
        "moved_from_url": reverse("patient:booking", args=[booking.rescheduled_from_id])
        if booking.rescheduled_from_id
        else "",
        "cancelled_at": show.when(booking.cancelled_at, zone, now=now)
        if booking.cancelled_at
        else "",
        **_after_and_join(request, booking, zone, now),
        "payment_section": patient_money.booking_payment(
            request.user, ctx.brand, booking, zone, now
        ),
    }
    return render(request, "patient/booking_detail.html", context)


def _after_and_join(
    request: HttpRequest, booking: Booking, zone: ZoneInfo, now: datetime
) -> dict[str, Any]:
    """Joining a confirmed session; after a completed one: feedback and a follow-up."""
    out: dict[str, Any] = {"join_url": "", "join_from": "", "feedback_url": "", "follow_up_url": ""}
    if booking.status == BookingStatus.CONFIRMED and booking.end > now:
        if is_joinable(booking, now):
            out["join_url"] = reverse("patient:session_join", args=[booking.pk])
        else:
            out["join_from"] = show.when(join_window(booking)[0], zone, now=now)
    if booking.status == BookingStatus.COMPLETED:
        if any(b.pk == booking.pk for b in due_feedback(request.user, booking.brand)):
            out["feedback_url"] = reverse("patient:feedback", args=[booking.pk])
        out["follow_up_url"] = reverse("patient:book", args=[booking.profile_id])
    return out


# --- answering a proposal ---------------------------------------------------------------------


def _back(request: HttpRequest, booking: Booking) -> HttpResponse:
    target = request.POST.get("back")
    if target == "list":
        return redirect("patient:bookings")
    return redirect("patient:booking", booking.pk)


@require_POST
@portal_view(PORTAL)
def proposal_accept(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    booking = _booking(request, ctx, booking_id)
    # Consents and intake due before booking come first; the proposal waits on its page.
    gated = journey.gate(
        request,
        booking.brand,
        JourneyStage.BOOKING,
        next_url=reverse("patient:booking", args=[booking.pk]),
        profile=booking.profile,
    )
    if gated is not None:
        messages.info(request, _("Please complete these steps first, then accept the time."))
        return gated
    try:
        booking = do_accept_proposal(booking, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(request, booking)
    if booking.status == BookingStatus.PENDING_PAYMENT:
        messages.success(request, _("You accepted the session. Pay now to confirm it."))
        return redirect("patient:pay", booking.pk)
    else:
        messages.success(request, _("You accepted the session. It is confirmed."))
    return redirect("patient:booking", booking.pk)


@require_POST
@portal_view(PORTAL)
def proposal_decline(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    booking = _booking(request, ctx, booking_id)
    try:
        do_decline_proposal(booking, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("You declined the proposed time."))
    return _back(request, booking)


# --- cancelling -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def booking_cancel(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    booking = _booking(request, ctx, booking_id)
    zone_name, zone = _zone(request)
    now = timezone.now()
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _done, refund = cancellation.do_cancel(
                booking,
                by="patient",
                actor=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            booking.refresh_from_db()
            if refund is not None:
                messages.success(
                    request,
                    _("Your session is cancelled. %(amount)s is refunded to your card.")
                    % {"amount": format_money(refund.amount_minor, refund.payment.currency)},
                )
            elif booking.fee_percent:
                messages.success(
                    request,
                    _(
                        "Your session is cancelled. As a late cancellation, %(fee)s of the "
                        "price will be charged."
                    )
                    % {"fee": show.percent(booking.fee_percent)},
                )
            else:
                messages.success(request, _("Your session is cancelled, free of charge."))
        return redirect("patient:booking", booking.pk)
    if not _can_cancel(booking, now):
        messages.error(request, _("This session can no longer be cancelled."))
        return redirect("patient:booking", booking.pk)
    free, terms = cancellation_text(booking, now, zone)
    return render(
        request,
        "patient/booking_cancel.html",
        {
            "ctx": ctx,
            "booking": booking,
            "row": _row(booking, zone, now),
            "zone_label": show.zone_label(zone_name, booking.start),
            "free": free,
            "terms": terms,
            "refund": _refund_text(booking, now),
            "form": form,
        },
    )


# --- rescheduling -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def booking_reschedule(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    """Pick a new time (a week of free times), confirm, and move (``do_reschedule``)."""
    booking = _booking(request, ctx, booking_id)
    zone_name, zone = _zone(request)
    now = timezone.now()
    base = reverse("patient:booking_reschedule", args=[booking.pk])
    context: dict[str, Any] = {
        "ctx": ctx,
        "booking": booking,
        "row": _row(booking, zone, now),
        "zone_form": zone_form(request, zone_name),
        "move_until": show.when(policy.reschedule_until(booking), zone, now=now),
    }
    if not _can_move(booking, now):
        if request.method == "POST":
            messages.error(
                request, _("This session can no longer be moved; you can still cancel it.")
            )
            return redirect("patient:booking", booking.pk)
        context.update(closed=True, zone_label=show.zone_label(zone_name, booking.start))
        return render(request, "patient/booking_reschedule.html", context)
    data = request.POST if request.method == "POST" else request.GET
    start = show.parse_start(data.get("start"))
    session_type = booking.session_type
    error = ""
    alternatives: list[Any] = []
    if start is not None and request.method == "POST":
        try:
            moved = moves.do_reschedule(booking, actor=request.user, start=start, request=request)
        except SlotTaken as taken:
            error = str(taken.message)
            alternatives = taken.alternatives
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request,
                _("Your session is moved to %(when)s.")
                % {"when": show.when(moved.start, zone, now=now)},
            )
            return redirect("patient:booking", moved.pk)
    elif start is not None and not show.is_free(session_type, start, now=now, ignore=booking):
        error = _("This time is no longer available. Choose another one.")
        start = None
    if start is not None and start != booking.start:
        context.update(
            confirming=True,
            start_value=show.slot_value(start),
            new_when=show.when(start, zone, now=now),
            new_end=show.clock(start + timedelta(minutes=session_type.duration_minutes), zone),
            zone_label=show.zone_label(zone_name, start),
            error=error,
            alternatives=show.slot_views(
                [a for a in alternatives if a.start != booking.start], zone, now
            ),
            back_url=f"{base}?{urlencode({'week': start.astimezone(zone).date().isoformat()})}",
        )
        return render(
            request,
            "patient/booking_reschedule.html",
            context,
            status=409 if alternatives else (400 if error else 200),
        )
    week = show.week_of_slots(
        session_type,
        zone_name=zone_name,
        week=show.parse_week(request.GET.get("week")) or booking.start.astimezone(zone).date(),
        now=now,
        ignore=booking,
    )

    def week_url(monday: Any) -> str:
        return f"{base}?{urlencode({'week': monday.isoformat()})}"

    context.update(
        week=week,
        zone_label=week.label,
        error=error,
        previous_url=week_url(week.previous) if week.previous else "",
        following_url=week_url(week.following) if week.following else "",
        next_week_url=week_url(week.next_slot_week)
        if week.next_slot_week and week.next_slot_week != week.monday
        else "",
    )
    return render(request, "patient/booking_reschedule.html", context)


# --- the calendar file ------------------------------------------------------------------------


@require_GET
@portal_view(PORTAL)
def booking_ics(request: HttpRequest, ctx: PortalContext, booking_id: int) -> HttpResponse:
    booking = _booking(request, ctx, booking_id)
    build = invite_attachment()
    if build is None or not show.is_upcoming(booking, timezone.now()):
        raise Http404
    filename, content, _mimetype = build(booking, "patient", "REQUEST")
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- requests ---------------------------------------------------------------------------------


@require_POST
@portal_view(PORTAL)
def request_withdraw(request: HttpRequest, ctx: PortalContext, request_id: int) -> HttpResponse:
    req = access_patient_request(request.user, ctx.brand, request_id)  # type: ignore[arg-type]
    try:
        do_withdraw_request(req, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect(reverse("patient:bookings") + "#requests")
