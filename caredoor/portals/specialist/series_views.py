"""Recurring sessions: the specialist chooses the patient, the session type, the first
date and the rhythm; a preview lists every occurrence with its conflict; then the series
is created (optionally without the dates that are not free)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking import access, series
from caredoor.core.booking.errors import SeriesConflicts
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.specialist import booking_support as support
from caredoor.portals.specialist.booking_forms import SeriesForm

PORTAL = Portal.SPECIALIST


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def series_new(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = support.profile_or_404(request, ctx)
    zone = support.zone_name(profile)
    brands = support.scheduling_brands(profile)
    form = SeriesForm(
        request.POST if request.method == "POST" else None,
        zone=zone,
        patients=support.patient_groups(profile, brands),
        brands=brands,
        types=support.session_types(profile),
        initial={"patient": request.GET.get("patient", "")},
    )
    occurrences: list[series.Occurrence] | None = None
    if request.method == "POST" and form.is_valid() and form.start is not None:
        brand, patient_id = form.cleaned_data["patient"]
        patient = support.own_patient(profile, brand, patient_id)
        session_type = form.cleaned_data["session_type"]
        shape: dict[str, Any] = {
            "first_start": form.start,
            "interval_weeks": form.cleaned_data["interval"],
            "count": form.cleaned_data["count"],
        }
        if patient is None:
            form.add_error("patient", _("Choose a patient from the list."))
        elif request.POST.get("step") == "create":
            try:
                created = series.do_create_series(
                    actor=request.user,
                    brand=brand,
                    patient=patient,
                    session_type=session_type,
                    skip_conflicts=form.cleaned_data["skip_conflicts"],
                    request=request,
                    **shape,
                )
            except SeriesConflicts as exc:
                form.add_error(None, exc.message)
                occurrences = exc.occurrences
            except ValidationError as exc:
                form.add_action_errors(exc)
            else:
                booked = list(
                    access.specialist_bookings(profile).filter(series=created).order_by("start")
                )
                text = ngettext(
                    "A series of %(n)s session was scheduled for %(patient)s.",
                    "A series of %(n)s sessions was scheduled for %(patient)s.",
                    len(booked),
                ) % {"n": len(booked), "patient": patient.display_name}
                skipped = created.count - len(booked)
                if skipped:
                    text += " " + ngettext(
                        "%(n)s date was not free and was left out.",
                        "%(n)s dates were not free and were left out.",
                        skipped,
                    ) % {"n": skipped}
                messages.success(request, text)
                return redirect("specialist:booking", booking_id=booked[0].pk)
        else:
            try:
                occurrences = series.preview(session_type, **shape)
            except ValidationError as exc:
                form.add_action_errors(exc)
    rows = support.occurrence_rows(occurrences, zone) if occurrences is not None else []
    return render(
        request,
        "specialist/series_new.html",
        {
            "ctx": ctx,
            "profile": profile,
            "form": form,
            "brands": brands,
            "rows": rows,
            "previewed": occurrences is not None,
            "conflicts": sum(1 for row in rows if row.conflict),
            **support.zone_context(profile),
        },
        status=400 if form.errors else 200,
    )
