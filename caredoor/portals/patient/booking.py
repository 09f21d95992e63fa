"""Booking from a specialist's page: the session type, the free times of a week in the
viewer's zone, the confirmation with price and policy; asking for a time instead.

The views validate and call the booking actions (``do_book``, ``do_request_availability``);
the specialist is looked up only through ``access_public_profile`` (listed here, or 404).
Choosing a time is public where the directory is; confirming needs a patient signed in
here, and a visitor comes back to the same time after signing in (``next=``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caredoor.core.accounts.actions import do_update_profile
from caredoor.core.accounts.policy import Portal
from caredoor.core.booking import policy
from caredoor.core.booking.actions import next_free_slots, self_booking_refusal
from caredoor.core.booking.errors import SlotTaken
from caredoor.core.booking.models import BookingStatus
from caredoor.core.booking.requests import do_request_availability
from caredoor.core.brands.choices import JourneyStage
from caredoor.core.brands.models import Brand
from caredoor.core.payments import checkout, pricing
from caredoor.core.payments.pricing import Quote
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.queries import access_public_profile, public_listings_on
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.next_url import next_of
from caredoor.portals.common.specialist_public import PublicSpecialist, present_published
from caredoor.portals.patient import booking_display as show
from caredoor.portals.patient import journey
from caredoor.portals.patient.booking_forms import RequestForm, ZoneForm
from caredoor.portals.patient.directory import directory_view


def offered_types(brand: Brand, profile_id: int) -> QuerySet[SessionType]:
    """The specialist's active session types offered on ``brand``."""
    return (
        SessionType.objects.filter(profile_id=profile_id, is_active=True)
        .filter(Q(brand__isnull=True) | Q(brand=brand))
        .select_related("profile")
        .order_by("name", "pk")
    )


def _type_from(types: list[SessionType], raw: Any) -> SessionType | None:
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        return None
    return next((st for st in types if st.pk == wanted), None)


def _specialist(request: HttpRequest, brand: Brand, profile_id: int) -> PublicSpecialist:
    published = access_public_profile(brand, profile_id)  # 404 unless listed here
    listing = public_listings_on(brand, [profile_id]).get(profile_id)
    return present_published(published, brand, listing=listing, photo_url=None)


def _url(name: str, profile_id: int, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    base = reverse(name, args=[profile_id])
    return f"{base}?{query}" if query else base


def zone_form(request: HttpRequest, zone_name: str) -> ZoneForm:
    return ZoneForm(initial={"zone": zone_name, "next": request.get_full_path()}, auto_id="tz_%s")


@dataclass(frozen=True)
class TypeChoice:
    session_type: SessionType
    refusal: str
    url: str
    chosen: bool


# --- the time zone switch ---------------------------------------------------------------------


@require_POST
@directory_view
def set_zone(request: HttpRequest) -> HttpResponse:
    """Show times in another zone: saved on a patient's account, else for this visit."""
    form = ZoneForm(request.POST)
    target = next_of(request, reverse("patient:dashboard"))
    if form.is_valid():
        zone = form.cleaned_data["zone"]
        if show.is_patient_here(request):
            do_update_profile(request.user, {"time_zone": zone}, request=request)  # type: ignore[arg-type]
        else:
            request.session[show.ZONE_SESSION_KEY] = zone
    else:
        messages.error(request, _("Choose a time zone from the list."))
    return redirect(target)


# --- choosing a time --------------------------------------------------------------------------


@require_GET
@directory_view
def book(request: HttpRequest, profile_id: int) -> HttpResponse:
    brand = request.brand  # type: ignore[attr-defined]
    sp = _specialist(request, brand, profile_id)
    types = list(offered_types(brand, profile_id))
    booker = request.user if request.user.is_authenticated else None
    refusals = {st.pk: self_booking_refusal(booker, brand, st) for st in types}
    chosen = _type_from(types, request.GET.get("type")) or next(
        (st for st in types if not refusals[st.pk]), types[0] if types else None
    )
    choices = [
        TypeChoice(
            session_type=st,
            refusal=refusals[st.pk],
            url=_url("patient:book", profile_id, type=st.pk),
            chosen=chosen is not None and st.pk == chosen.pk,
        )
        for st in types
    ]
    zone_name = show.viewer_zone_name(request)
    week = None
    if chosen is not None and not refusals[chosen.pk]:
        week = show.week_of_slots(
            chosen,
            zone_name=zone_name,
            week=show.parse_week(request.GET.get("week")),
            now=timezone.now(),
        )
    context = {
        "sp": sp,
        "choices": choices,
        "chosen": chosen,
        "refusal": refusals.get(chosen.pk, "") if chosen else "",
        "week": week,
        "zone_name": zone_name,
        "zone_label": week.label if week else show.zone_label(zone_name, timezone.now()),
        "zone_form": zone_form(request, zone_name),
        "confirm_url": reverse("patient:book_confirm", args=[profile_id]),
        "week_hidden": [("type", chosen.pk)] if chosen else [],
        "request_url": _url(
            "patient:request_availability", profile_id, type=chosen.pk if chosen else None
        ),
    }
    if week is not None:

        def week_url(monday: Any) -> str:
            return _url("patient:book", profile_id, type=chosen.pk, week=monday.isoformat())

        context["previous_url"] = week_url(week.previous) if week.previous else ""
        context["following_url"] = week_url(week.following) if week.following else ""
        context["next_week_url"] = (
            week_url(week.next_slot_week)
            if week.next_slot_week and week.next_slot_week != week.monday
            else ""
        )
    return render(request, "patient/book.html", context)


# --- confirming -------------------------------------------------------------------------------


def _quote(patient: Any, brand: Brand, session_type: SessionType, code: str) -> tuple[Quote, str]:
    """The price as this patient would pay it, and why the voucher does not apply if it
    does not (the price is then quoted without it)."""
    try:
        return pricing.quote(
            patient=patient, brand=brand, session_type=session_type, voucher_code=code
        ), ""
    except ValidationError as exc:
        if not code:
            raise
        plain = pricing.quote(patient=patient, brand=brand, session_type=session_type)
        return plain, " ".join(exc.messages)


@require_http_methods(["GET", "POST"])
@portal_view(Portal.PATIENT)
def book_confirm(request: HttpRequest, ctx: PortalContext, profile_id: int) -> HttpResponse:
    brand = ctx.brand
    assert brand is not None
    sp = _specialist(request, brand, profile_id)
    data = request.POST if request.method == "POST" else request.GET
    types = list(offered_types(brand, profile_id))
    session_type = _type_from(types, data.get("type"))
    start = show.parse_start(data.get("start"))
    if session_type is None or start is None:
        messages.error(request, _("Choose a time first."))
        return redirect(_url("patient:book", profile_id))
    zone_name = show.viewer_zone_name(request)
    zone = ZoneInfo(zone_name)
    now = timezone.now()
    refusal = self_booking_refusal(request.user, brand, session_type)
    if not refusal:
        # Consents and intake due before booking come first, then back to this time.
        back = _url("patient:book_confirm", profile_id, type=session_type.pk, start=data["start"])
        gated = journey.gate(
            request, brand, JourneyStage.BOOKING, next_url=back, profile=session_type.profile
        )
        if gated is not None:
            return gated
    error = ""
    voucher_error = ""
    voucher_code = str(data.get("voucher", ""))[:40].strip()
    alternatives: list[Any] = []
    if refusal:
        error = refusal
    elif request.method == "POST":
        try:
            booking, _payment = checkout.do_book(
                patient=request.user,
                brand=brand,
                session_type=session_type,
                start=start,
                voucher_code=voucher_code,
                request=request,
            )
        except SlotTaken as taken:
            error = str(taken.message)
            alternatives = taken.alternatives
        except ValidationError as exc:
            if exc.code and exc.code.startswith("voucher_"):
                voucher_error = " ".join(exc.messages)
            else:
                error = " ".join(exc.messages)
        else:
            if booking.status == BookingStatus.PENDING_PAYMENT:
                return redirect("patient:pay", booking.pk)
            messages.success(request, _("Your session is booked."))
            return redirect("patient:booking", booking.pk)
    elif not show.is_free(session_type, start, now=now):
        error = _("This time is no longer available. Here are the next free times.")
        alternatives = next_free_slots(session_type, now=now)
    # A refused POST says why in its status; a GET of a time gone since is just a page.
    quote, quote_error = (
        _quote(request.user, brand, session_type, voucher_code) if not refusal else (None, "")
    )
    status = 200
    if request.method == "POST" and voucher_error:
        status = 400
    if request.method == "POST" and error:
        status = 409 if alternatives else 400
    context = {
        "sp": sp,
        "session_type": session_type,
        "start": start,
        "start_value": show.slot_value(start),
        "when": show.when(start, zone, now=now),
        "zone_label": show.zone_label(zone_name, start),
        "end_clock": show.clock(start + timedelta(minutes=session_type.duration_minutes), zone),
        "price": sp.price.display,
        "quote": quote,
        "voucher_code": voucher_code,
        "voucher_error": voucher_error or quote_error,
        "policy_lines": show.policy_lines(
            policy.effective(brand, profile_id), start, zone, now=now
        ),
        "error": error,
        "refusal": refusal,
        "alternatives": show.slot_views(alternatives, zone, now),
        "book_url": _url(
            "patient:book",
            profile_id,
            type=session_type.pk,
            week=show.monday_of(start.astimezone(zone).date()).isoformat(),
        ),
        "request_url": _url("patient:request_availability", profile_id, type=session_type.pk),
    }
    return render(request, "patient/book_confirm.html", context, status=status)


# --- asking for a time ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_view(Portal.PATIENT)
def request_availability(request: HttpRequest, ctx: PortalContext, profile_id: int) -> HttpResponse:
    brand = ctx.brand
    assert brand is not None
    sp = _specialist(request, brand, profile_id)
    types = list(offered_types(brand, profile_id))
    if not types:
        raise Http404
    zone_name = show.viewer_zone_name(request)
    chosen = _type_from(types, request.GET.get("type"))
    form = RequestForm(
        request.POST or None,
        session_types=types,
        zone_name=zone_name,
        initial={"session_type": chosen.pk if chosen else types[0].pk},
    )
    if request.method == "POST" and form.is_valid():
        session_type = form.chosen_type
        assert session_type is not None
        try:
            do_request_availability(
                patient=request.user,
                brand=brand,
                session_type=session_type,
                preferred=form.periods,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(
                request,
                _("Your request was sent. %(name)s will answer with a time.") % {"name": sp.name},
            )
            return redirect(reverse("patient:bookings") + "#requests")
    now = timezone.now()
    response_hours = policy.effective(brand, profile_id)["request_response_hours"]
    return render(
        request,
        "patient/request_availability.html",
        {
            "ctx": ctx,
            "sp": sp,
            "form": form,
            "zone_label": show.zone_label(zone_name, now),
            "zone_form": zone_form(request, zone_name),
            "response_time": show.minutes_text(int(response_hours) * 60),
            "book_url": _url("patient:book", profile_id),
        },
        status=400 if request.method == "POST" else 200,
    )
