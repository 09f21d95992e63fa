"""Assisted scheduling, the patient's side: describe needs and good times, follow the
request (waiting for the team -> specialist found -> a time proposed -> booked).

The team works the request in the organization portal (``/org/assisted/``); the
specialist proposes times through the usual proposal flow, which the patient answers on
"My sessions". The pages work on every brand; the navigation offers them where the
journey mode is "assisted".
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.choices import JourneyStage
from caredoor.core.brands.models import Brand
from caredoor.core.matching import actions, queries, search
from caredoor.core.matching.models import AssistanceRequest, AssistanceStatus, DayPart
from caredoor.core.specialists.choices import SPOKEN_LANGUAGES
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.patient import journey
from caredoor.portals.patient.booking_display import specialist_name

PORTAL = Portal.PATIENT


class AssistanceForm(forms.Form):
    needs = forms.CharField(
        label=gettext_lazy("What would you like help with?"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=actions.NEEDS_MAX,
        help_text=gettext_lazy(
            "A few sentences are enough. Only the team that finds your specialist reads it."
        ),
    )
    language = forms.ChoiceField(label=gettext_lazy("Language for your sessions"))
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Which days suit you?"),
        widget=forms.CheckboxSelectMultiple,
        coerce=int,
        choices=[(d, WEEKDAYS[d]) for d in range(7)],
        required=False,
    )
    day_parts = forms.MultipleChoiceField(
        label=gettext_lazy("Which times of day suit you?"),
        widget=forms.CheckboxSelectMultiple,
        choices=DayPart.choices,
        required=False,
    )
    note = forms.CharField(
        label=gettext_lazy("Anything else about times? (optional)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=actions.NOTE_MAX,
        required=False,
    )

    def __init__(self, *args: Any, brand: Brand, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = [c for c, _n in search.languages_in_use(brand)] or list(brand.languages)
        self.fields["language"].choices = [
            (c, str(SPOKEN_LANGUAGES.get(c, c))) for c in codes if c in SPOKEN_LANGUAGES
        ]
        current = (translation.get_language() or "").split("-")[0]
        if current in codes:
            self.fields["language"].initial = current


def status_label(status: str) -> str:
    return str(AssistanceStatus(status).label)


def _gate(request: HttpRequest, ctx: PortalContext) -> HttpResponse | None:
    return journey.gate(
        request,
        ctx.brand,  # type: ignore[arg-type]
        JourneyStage.MATCHING,
        next_url=reverse("patient:assisted"),
    )


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def assisted_home(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brand: Brand = ctx.brand  # type: ignore[assignment]
    gated = _gate(request, ctx)
    if gated is not None:
        return gated
    mine = list(queries.patient_assistance(request.user, brand).order_by("-created_at", "-pk"))
    states = queries.statuses(mine)
    waiting = any(states[r.pk] == AssistanceStatus.OPEN for r in mine)
    form = AssistanceForm(request.POST if request.method == "POST" else None, brand=brand)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            req = actions.do_request_assistance(
                user=request.user,
                brand=brand,
                needs=data["needs"],
                weekdays=data["weekdays"],
                day_parts=data["day_parts"],
                note=data["note"],
                language=data["language"],
                request=request,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.error_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Thank you. Our team will find a specialist for you and let you know."),
            )
            return redirect("patient:assisted_detail", request_id=req.pk)
    return render(
        request,
        "patient/assisted/home.html",
        {
            "ctx": ctx,
            "form": form,
            "waiting": waiting,
            "requests": [(r, states[r.pk], status_label(states[r.pk])) for r in mine],
        },
        status=400 if form.errors else 200,
    )


@require_GET
@portal_view(PORTAL)
def assisted_detail(request: HttpRequest, ctx: PortalContext, request_id: int) -> HttpResponse:
    brand: Brand = ctx.brand  # type: ignore[assignment]
    req: AssistanceRequest = queries.access_patient_assistance(request.user, brand, request_id)
    read = actions.read_assistance(req, reader=request.user, role="patient", request=request)
    status = queries.assistance_status(req)
    return render(
        request,
        "patient/assisted/detail.html",
        {
            "ctx": ctx,
            "req": req,
            "read": read,
            "status": status,
            "status_label": status_label(status),
            "specialist": specialist_name(req.profile) if req.profile else "",
            "weekdays": [WEEKDAYS[d] for d in req.weekdays if d in WEEKDAYS],
            "day_parts": [DayPart(p).label for p in req.day_parts if p in DayPart.values],
            "language": SPOKEN_LANGUAGES.get(req.language, req.language),
        },
    )


@require_POST
@portal_view(PORTAL)
def assisted_withdraw(request: HttpRequest, ctx: PortalContext, request_id: int) -> HttpResponse:
    req = queries.access_patient_assistance(request.user, ctx.brand, request_id)  # type: ignore[arg-type]
    try:
        actions.do_close_assistance(req, actor=request.user, role="patient", request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect("patient:assisted_detail", request_id=req.pk)
