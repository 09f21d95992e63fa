"""The specialist proposes a session to a patient, and answers availability requests.

A proposal holds the time until the patient answers or it expires; an answer to a
request inside the patient's periods is booked at once, any other time goes to the
patient as a proposal (``core.booking.requests``). Views validate input and call the
actions; requests are fetched only through ``core.booking.access``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking import access, policy
from caredoor.core.booking import proposals as booking_proposals
from caredoor.core.booking import requests as booking_requests
from caredoor.core.booking.errors import SlotTaken
from caredoor.core.booking.models import BookingStatus, RequestStatus
from caredoor.core.brands.models import Brand
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.specialist import booking_support as support
from caredoor.portals.specialist.booking_forms import AnswerRequestForm, ProposeForm

PORTAL = Portal.SPECIALIST


def site_rules(profile: SpecialistProfile, brands: list[Brand]) -> list[dict[str, Any]]:
    """Per site, the defaults a proposal takes when the fields are left empty."""
    rows = []
    for brand in brands:
        effective = policy.effective(brand, profile)
        hours = effective["proposal_expiry_hours"]
        rows.append(
            {
                "brand": brand,
                "expiry": ngettext("answer within %(n)s hour", "answer within %(n)s hours", hours)
                % {"n": hours},
                "payment": effective["proposals_require_payment"],
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def propose(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = support.profile_or_404(request, ctx)
    zone = support.zone_name(profile)
    brands = support.scheduling_brands(profile)
    initial = {"patient": request.GET.get("patient", "")}
    form = ProposeForm(
        request.POST if request.method == "POST" else None,
        zone=zone,
        patients=support.patient_groups(profile, brands),
        brands=brands,
        types=support.session_types(profile),
        initial=initial,
    )
    alternatives: list[support.SlotChoice] = []
    if request.method == "POST" and form.is_valid() and form.start is not None:
        brand, patient_id = form.cleaned_data["patient"]
        patient = support.own_patient(profile, brand, patient_id)
        if patient is None:
            form.add_error("patient", _("Choose a patient from the list."))
        else:
            try:
                booking = booking_proposals.do_propose(
                    actor=request.user,
                    brand=brand,
                    patient=patient,
                    session_type=form.cleaned_data["session_type"],
                    start=form.start,
                    expires_at=form.deadline,
                    requires_payment=form.payment,
                    request=request,
                )
            except ValidationError as exc:
                form.add_action_errors(exc)
            except SlotTaken as taken:
                form.add_error(None, taken.message)
                alternatives = support.taken_alternatives(
                    taken.alternatives, form.cleaned_data["session_type"], form.start, zone
                )
            else:
                messages.success(
                    request,
                    _(
                        "Your proposal for %(when)s was sent to %(patient)s. "
                        "The time is held until %(expires)s."
                    )
                    % {
                        "when": support.when(booking.start, zone),
                        "patient": patient.display_name,
                        "expires": support.when(booking.expires_at, zone),
                    },
                )
                return redirect("specialist:booking", booking_id=booking.pk)
    return render(
        request,
        "specialist/propose.html",
        {
            "ctx": ctx,
            "profile": profile,
            "form": form,
            "brands": brands,
            "rules": site_rules(profile, brands),
            "alternatives": alternatives,
            **support.zone_context(profile),
        },
        status=400 if form.is_bound and (form.errors or alternatives) else 200,
    )


# --- availability requests ----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def request_answer(request: HttpRequest, ctx: PortalContext, request_id: int) -> HttpResponse:
    """One request: the patient's periods in the specialist's zone, free times inside (or
    near) them as one-click answers, any other time, or declining."""
    profile = support.profile_or_404(request, ctx)
    req = access.access_specialist_request(profile, request_id)
    zone = support.zone_name(profile)
    form = AnswerRequestForm(request.POST if request.method == "POST" else None, zone=zone)
    alternatives: list[support.SlotChoice] = []
    if request.method == "POST" and form.is_valid() and form.start is not None:
        try:
            booking = booking_requests.do_accept_request(
                req, actor=request.user, start=form.start, request=request
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        except SlotTaken as taken:
            form.add_error(None, taken.message)
            alternatives = support.taken_alternatives(
                taken.alternatives, req.session_type, form.start, zone
            )
        else:
            when = support.when(booking.start, zone)
            if booking.status == BookingStatus.PROPOSED:
                text = _(
                    "%(when)s is outside the times the patient gave, so it was sent to "
                    "%(patient)s as a proposal to accept."
                )
            elif booking.status == BookingStatus.PENDING_PAYMENT:
                text = _("%(when)s is booked for %(patient)s once they have paid.")
            else:
                text = _("%(when)s is booked for %(patient)s. The patient is told.")
            messages.success(request, text % {"when": when, "patient": req.patient.display_name})
            return redirect("specialist:booking", booking_id=booking.pk)
    is_open = req.status == RequestStatus.REQUESTED and timezone.now() < req.respond_by
    windows = booking_requests.preferred_windows(req)
    context = {
        "ctx": ctx,
        "profile": profile,
        "req": req,
        "is_open": is_open,
        "form": form,
        "periods": [support.period(a, b, zone) for a, b in windows],
        "patient_periods": [support.period(a, b, req.patient_time_zone) for a, b in windows],
        "respond_by": support.when(req.respond_by, zone),
        "suggestions": support.slots_for_windows(req.session_type, windows, zone)
        if is_open
        else [],
        "alternatives": alternatives,
        "answers": list(
            access.specialist_bookings(profile).filter(availability_request=req).order_by("pk")
        ),
        **support.zone_context(profile),
    }
    return render(
        request,
        "specialist/request_answer.html",
        context,
        status=400 if form.is_bound and (form.errors or alternatives) else 200,
    )


@require_POST
@portal_view(PORTAL)
def request_decline(request: HttpRequest, ctx: PortalContext, request_id: int) -> HttpResponse:
    profile = support.profile_or_404(request, ctx)
    req = access.access_specialist_request(profile, request_id)
    try:
        booking_requests.do_decline_request(req, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("specialist:request", request_id=req.pk)
    messages.success(
        request,
        _("You declined the request of %(patient)s. They are told.")
        % {"patient": req.patient.display_name},
    )
    return redirect("specialist:bookings")
