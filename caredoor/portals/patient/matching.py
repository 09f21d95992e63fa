"""Guided matching: a short questionnaire, a shortlist with reasons, choosing (or, where
the brand allocates directly, getting) a specialist, and switching specialist later.

The rules are in ``core.matching.ranking`` (documented in docs/matching.md). The pages
work on every brand; the navigation offers them where the journey mode is "matching".
Before the questionnaire, what is due before matching (consents, intake) comes first
(``journey.gate``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking.access import patient_bookings
from caredoor.core.booking.models import BookingStatus
from caredoor.core.brands.choices import JourneyStage
from caredoor.core.brands.models import Brand
from caredoor.core.care.queries import access_patient_relationship
from caredoor.core.matching import actions, queries, ranking, search
from caredoor.core.matching.models import DayPart, MatchRequest, Soon, SwitchReason
from caredoor.core.specialists.choices import SPOKEN_LANGUAGES, SessionFormat
from caredoor.core.specialists.queries import public_listings_on
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.specialist_public import PublicSpecialist, present_published
from caredoor.portals.patient import journey
from caredoor.portals.patient.booking_display import specialist_name, viewer_zone_name, when

PORTAL = Portal.PATIENT
ANY_FORMAT = ""


class MatchForm(forms.Form):
    """The questionnaire: fixed and short (see docs/matching.md)."""

    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Which languages would you like your sessions in?"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy("Only specialists who speak one of them are suggested."),
    )
    specializations = forms.TypedMultipleChoiceField(
        label=gettext_lazy("What would you like help with?"),
        widget=forms.CheckboxSelectMultiple,
        coerce=int,
        required=False,
        help_text=gettext_lazy(
            "Choose any that fit. Your answers are stored encrypted and used to suggest "
            "specialists."
        ),
    )
    format = forms.ChoiceField(
        label=gettext_lazy("How would you like to meet?"),
        widget=forms.RadioSelect,
        required=False,
        initial=ANY_FORMAT,
    )
    soon = forms.ChoiceField(
        label=gettext_lazy("How soon would you like to start?"),
        widget=forms.RadioSelect,
        choices=Soon.choices,
        initial=Soon.TWO_WEEKS,
    )
    day_parts = forms.MultipleChoiceField(
        label=gettext_lazy("Which times of day suit you? (optional)"),
        widget=forms.CheckboxSelectMultiple,
        choices=DayPart.choices,
        required=False,
    )

    def __init__(self, *args: Any, brand: Brand, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["languages"].choices = search.languages_in_use(brand)
        self.fields["specializations"].choices = [
            (t.pk, t.name) for t in queries.specialization_choices(brand)
        ]
        self.fields["format"].choices = [
            (ANY_FORMAT, _("Any way is fine")),
            *SessionFormat.choices,
        ]

    def answers(self) -> actions.Answers:
        data = self.cleaned_data
        return actions.Answers(
            languages=tuple(data.get("languages") or ()),
            specializations=tuple(data.get("specializations") or ()),
            format=data.get("format") or "",
            soon=data.get("soon") or Soon.FLEXIBLE,
            day_parts=tuple(data.get("day_parts") or ()),
        )

    def add_action_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, exc)


class SwitchForm(MatchForm):
    reason = forms.ChoiceField(
        label=gettext_lazy("Why would you like to switch?"),
        widget=forms.RadioSelect,
        choices=SwitchReason.choices,
    )

    def __init__(self, *args: Any, relationships: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["relationship"] = forms.TypedChoiceField(
            label=_("Which specialist would you like to switch from?"),
            coerce=int,
            choices=[(r.pk, specialist_name(r.profile)) for r in relationships],
            widget=forms.RadioSelect,
        )
        self.order_fields(["relationship", "reason"])


def initial_from(answers: actions.Answers) -> dict[str, Any]:
    return {
        "languages": list(answers.languages),
        "specializations": list(answers.specializations),
        "format": answers.format,
        "soon": answers.soon,
        "day_parts": list(answers.day_parts),
    }


def reason_text(reason: dict[str, str], *, terms: dict[int, str], zone: ZoneInfo) -> str:
    """One reason of the ranking, in the viewer's language and zone."""
    code, value = reason.get("code"), reason.get("value", "")
    if code == ranking.R_LANGUAGE:
        return _("Speaks %(language)s") % {"language": SPOKEN_LANGUAGES.get(value, value)}
    if code == ranking.R_SPECIALIZATION:
        name = terms.get(int(value)) if value.isdigit() else None
        return _("Works with %(topic)s") % {"topic": name} if name else ""
    if code == ranking.R_SOON:
        try:
            start = datetime.fromisoformat(value)
        except ValueError:
            return ""
        return _("Free slot on %(when)s") % {"when": when(start, zone)}
    if code == ranking.R_CAPACITY:
        return _("Has room for new patients")
    return ""


def shortlist_rows(
    request: HttpRequest, brand: Brand, match: MatchRequest, reasons: dict[int, list[dict]]
) -> list[dict[str, Any]]:
    """The shortlist's specialists still listed here, best first, with their reasons."""
    listed = queries.listed_profiles(brand, match.profile_ids)
    listings = public_listings_on(brand, list(listed))
    terms = dict(queries.specialization_choices(brand).values_list("pk", "name"))
    zone = ZoneInfo(viewer_zone_name(request))
    rows = []
    for row in match.shortlist:
        pid = int(row["profile"])
        if pid not in listed:
            continue
        sp: PublicSpecialist = present_published(
            listed[pid],
            brand,
            listing=listings.get(pid),
            photo_url=reverse("patient:specialist_photo", args=[pid]),
            detail_url=reverse("patient:specialist", args=[pid]),
        )
        texts = [reason_text(r, terms=terms, zone=zone) for r in reasons.get(pid, [])]
        rows.append({"sp": sp, "score": row["score"], "reasons": [t for t in texts if t]})
    return rows


def _gate(request: HttpRequest, ctx: PortalContext, next_url: str) -> HttpResponse | None:
    return journey.gate(request, ctx.brand, JourneyStage.MATCHING, next_url=next_url)  # type: ignore[arg-type]


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def match_start(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brand: Brand = ctx.brand  # type: ignore[assignment]
    gated = _gate(request, ctx, reverse("patient:match"))
    if gated is not None:
        return gated
    form = MatchForm(request.POST if request.method == "POST" else None, brand=brand)
    if request.method == "POST" and form.is_valid():
        try:
            match = actions.do_run_match(
                user=request.user, brand=brand, answers=form.answers(), request=request
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            return redirect("patient:match_result", match_id=match.pk)
    current = list(queries.current_relationships(request.user, brand))
    return render(
        request,
        "patient/matching/start.html",
        {"ctx": ctx, "form": form, "current": [(r, specialist_name(r.profile)) for r in current]},
        status=400 if form.errors else 200,
    )


@require_GET
@portal_view(PORTAL)
def match_result(request: HttpRequest, ctx: PortalContext, match_id: int) -> HttpResponse:
    brand: Brand = ctx.brand  # type: ignore[assignment]
    match = queries.access_patient_match(request.user, brand, match_id)
    read = actions.read_match(match, reader=request.user, role="patient", request=request)
    rows = shortlist_rows(request, brand, match, read.reasons)
    chosen = next((r for r in rows if r["sp"].profile_id == match.chosen_profile_id), None)
    return render(
        request,
        "patient/matching/result.html",
        {
            "ctx": ctx,
            "match": match,
            "rows": rows,
            "chosen": chosen,
            "direct": queries.settings_for(brand).direct_allocation,
        },
    )


@require_POST
@portal_view(PORTAL)
def match_choose(request: HttpRequest, ctx: PortalContext, match_id: int) -> HttpResponse:
    brand: Brand = ctx.brand  # type: ignore[assignment]
    match = queries.access_patient_match(request.user, brand, match_id)
    try:
        profile_id = int(request.POST.get("profile", ""))
    except ValueError:
        profile_id = 0
    try:
        actions.do_choose(match, profile_id, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("patient:match_result", match_id=match.pk)
    messages.success(
        request, _("You chose your specialist. Now pick a time for your first session.")
    )
    return redirect("patient:book", profile_id=profile_id)


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def match_switch(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """Leave the current specialist and be matched again without them. Sessions already
    booked with them stay booked; the page lists them so the patient can cancel."""
    brand: Brand = ctx.brand  # type: ignore[assignment]
    current = list(queries.current_relationships(request.user, brand))
    if not current:
        messages.info(request, _("You have no specialist to switch from yet."))
        return redirect("patient:match")
    gated = _gate(request, ctx, reverse("patient:match_switch"))
    if gated is not None:
        return gated
    initial: dict[str, Any] = {}
    wanted = request.GET.get("relationship", "")
    if wanted.isdigit() and any(r.pk == int(wanted) for r in current):
        initial["relationship"] = int(wanted)
    elif len(current) == 1:
        initial["relationship"] = current[0].pk
    last = queries.patient_matches(request.user, brand).first()
    if request.method == "GET" and last is not None:
        read = actions.read_match(last, reader=request.user, role="patient", request=request)
        initial.update(initial_from(read.answers))
    form = SwitchForm(
        request.POST if request.method == "POST" else None,
        brand=brand,
        relationships=current,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        rel = access_patient_relationship(request.user, brand, form.cleaned_data["relationship"])
        try:
            match = actions.do_switch(
                rel,
                patient=request.user,
                answers=form.answers(),
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("You left %(name)s. Here are other specialists for you.")
                % {"name": specialist_name(rel.profile)},
            )
            return redirect("patient:match_result", match_id=match.pk)
    now = timezone.now()
    upcoming = (
        patient_bookings(request.user, brand)
        .filter(
            profile_id__in=[r.profile_id for r in current],
            status__in=[BookingStatus.CONFIRMED, BookingStatus.PROPOSED],
            end__gt=now,
        )
        .order_by("start")
    )
    zone = ZoneInfo(viewer_zone_name(request))
    return render(
        request,
        "patient/matching/switch.html",
        {
            "ctx": ctx,
            "form": form,
            "upcoming": [
                {
                    "booking": b,
                    "when": when(b.start, zone, now=now),
                    "specialist": specialist_name(b),
                }
                for b in upcoming
            ],
        },
        status=400 if form.errors else 200,
    )
