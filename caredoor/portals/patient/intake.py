"""Patient pages for intake questionnaires; ``pending_steps`` feeds the journey (journey.py).

``/intake/`` lists the brand's questionnaires with the patient's status; ``/intake/<id>/``
is the questionnaire's current version as a form: "Save and finish later" keeps a draft,
"Submit" checks the required answers of the questions shown. A safe ``next`` (from a
journey gate) is where the patient goes once it is submitted.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.choices import Module
from caredoor.core.brands.models import Brand
from caredoor.core.intake import present
from caredoor.core.intake.actions import do_save_answers
from caredoor.core.intake.queries import (
    access_open_questionnaire,
    outstanding_intake,
    own_draft_answers,
    own_response,
    patient_questionnaires,
)
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.next_url import next_of
from caredoor.portals.patient.journey import Step

PORTAL = Portal.PATIENT


def pending_steps(
    request: HttpRequest, brand: Brand, stage: str, *, profile: Any = None
) -> list[Step]:
    """The questionnaire the patient must submit before ``stage`` (at most one at a time)."""
    if not brand.has_module(Module.INTAKE) or not request.user.is_authenticated:
        return []
    questionnaire = outstanding_intake(request.user, brand, stage)
    if questionnaire is None:
        return []
    return [
        Step(
            kind="intake",
            title=_('Complete the intake questionnaire "%s"') % questionnaire.title,
            url=reverse("patient:intake", args=[questionnaire.pk]),
        )
    ]


@require_GET
@portal_view(PORTAL)
def intake_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    assert ctx.brand is not None
    rows = patient_questionnaires(request.user, ctx.brand)
    return render(request, "patient/intake/list.html", {"ctx": ctx, "rows": rows})


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def intake_form(request: HttpRequest, ctx: PortalContext, questionnaire_id: int) -> HttpResponse:
    brand = ctx.brand
    assert brand is not None
    questionnaire = access_open_questionnaire(brand, questionnaire_id)  # 404 unless open here
    version = questionnaire.current_version()
    assert version is not None  # open questionnaires have a published version
    response = own_response(request.user, questionnaire)
    next_url = next_of(request)
    if response is not None and response.is_submitted:
        if next_url and request.method == "GET":
            return redirect(next_url)
        return render(
            request,
            "patient/intake/done.html",
            {"ctx": ctx, "questionnaire": questionnaire, "response": response, "next": next_url},
        )
    errors: dict[str, list[str]] = {}
    page_errors: list[str] = []
    status = 200
    if request.method == "POST":
        values = present.raw_answers(version.questions, request.POST)
        submit = request.POST.get("action") == "submit"
        if request.POST.get("version") != str(version.pk):
            page_errors.append(
                _(
                    "The questionnaire has changed since you opened it. Your answers are "
                    "kept below; please check them and send again."
                )
            )
            status = 409
        else:
            try:
                do_save_answers(
                    request.user, brand, version, values, submit=submit, request=request
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    errors = exc.message_dict
                else:
                    page_errors.extend(exc.messages)
                status = 400
            else:
                if submit:
                    messages.success(
                        request,
                        _(
                            "Thank you. Your answers were sent; your specialist reads them "
                            "before your session."
                        ),
                    )
                    return redirect(next_url or reverse("patient:intake_list"))
                messages.success(
                    request, _("Your answers are saved. You can finish the questionnaire later.")
                )
                return redirect(reverse("patient:intake_list"))
    else:
        values = own_draft_answers(request.user, response, request=request)
    return render(
        request,
        "patient/intake/form.html",
        {
            "ctx": ctx,
            "questionnaire": questionnaire,
            "version": version,
            "questions": present.question_views(version.questions, values, errors),
            "errors": errors,
            "page_errors": page_errors,
            "draft": response,
            "next": next_url,
        },
        status=status,
    )
