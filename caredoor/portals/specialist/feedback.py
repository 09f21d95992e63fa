"""The specialist's own feedback results, per brand and period, as aggregates only.

Individual answers and comments are never shown to the specialist: a result appears only
when at least the brand's minimum group size of patients answered in the period shown
(see docs/feedback.md for why comments stay with the organization's quality team).
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Portal
from caredoor.core.feedback.queries import (
    DEFAULT_PERIOD,
    PERIODS,
    period_days,
    period_start,
    specialist_feedback_brands,
    specialist_summary,
)
from caredoor.core.specialists.queries import own_profile
from caredoor.portals.common.access import PortalContext, portal_view

PORTAL = Portal.SPECIALIST


class PeriodForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PERIODS, required=False)

    def days(self) -> int | None:
        return period_days(self.cleaned_data.get("period") if self.is_valid() else None)


@portal_view(PORTAL)
@require_GET
def feedback(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = own_profile(request.user, ctx.membership.network_id)
    form = PeriodForm(request.GET or {"period": DEFAULT_PERIOD})
    days = form.days()
    since = period_start(days)
    rows = []
    if profile is not None:
        rows = [
            (brand, specialist_summary(profile, brand, since))
            for brand in specialist_feedback_brands(profile)
        ]
    return render(
        request,
        "specialist/feedback/summary.html",
        {"ctx": ctx, "profile": profile, "form": form, "rows": rows, "days": days},
    )
