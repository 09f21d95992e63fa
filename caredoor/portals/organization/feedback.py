"""Patient feedback for organizations: results per brand (and per specialist where allowed),
the comments for the quality team, and the operator's per-brand feedback settings.

Who sees what (``feedback.queries``): the operator every brand of the network, per brand
and per specialist, and the comments; a clinic's admin the brands the clinic is bound to,
per brand and for the clinic's own specialists, and their comments; an employer's admin
brand totals only. Every figure from fewer answers than the brand's minimum group size is
withheld. Reading comments is audited.
"""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.feedback import actions
from caredoor.core.feedback.models import FeedbackSettings
from caredoor.core.feedback.queries import (
    DEFAULT_PERIOD,
    PERIODS,
    access_feedback_brand,
    brand_summary,
    comment_responses,
    feedback_brands_for,
    guard_total,
    is_on,
    period_days,
    period_start,
    sees_specialists,
    settings_for,
    specialist_summaries,
    specialists_for,
)
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.brand_settings import BrandSettingsForm, brand_settings_page

PORTAL = Portal.ORGANIZATION
VIEW = Capability.VIEW_FEEDBACK


class FilterForm(forms.Form):
    brand = forms.TypedChoiceField(
        label=gettext_lazy("Brand"), coerce=int, empty_value=None, required=False
    )
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PERIODS, required=False)

    def __init__(self, *args, brands, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = [("", _("All brands")), *((b.pk, b.name) for b in brands)]

    def days(self) -> int | None:
        return period_days(self.cleaned_data.get("period") if self.is_valid() else None)

    def brand_id(self) -> int | None:
        return self.cleaned_data.get("brand") if self.is_valid() else None


@portal_view(PORTAL, needs=VIEW)
@require_GET
def overview(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brands = list(feedback_brands_for(ctx.membership))
    form = FilterForm(request.GET or None, brands=brands)
    since = period_start(form.days())
    chosen = form.brand_id()
    by_specialist = sees_specialists(ctx.membership)
    sections = []
    for brand in brands:
        if chosen and brand.pk != chosen:
            continue
        total = brand_summary(brand, since)
        rows = None
        if by_specialist:
            rows = specialist_summaries(brand, since, specialists_for(ctx.membership, brand))
            # The total must not give away a small group by subtraction of the rows shown.
            total = guard_total(total, [summary for _profile, summary in rows])
        sections.append({"brand": brand, "on": is_on(brand), "summary": total, "specialists": rows})
    return render(
        request,
        "organization/feedback/overview.html",
        {
            "ctx": ctx,
            "form": form,
            "sections": sections,
            "by_specialist": by_specialist,
            "can_configure": ctx.can(Capability.MANAGE_BRANDS),
            "period": (form.cleaned_data.get("period") if form.is_valid() else "")
            or DEFAULT_PERIOD,
        },
    )


@portal_view(PORTAL, needs=VIEW)
@require_GET
def comments(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    """The comments on one brand (for specialists the viewer may see), without patients'
    names. Employers never see comments."""
    brand = access_feedback_brand(ctx.membership, brand_id)
    if not sees_specialists(ctx.membership):
        raise Http404
    form = FilterForm(request.GET or None, brands=[brand])
    since = period_start(form.days())
    rows = actions.read_comments(
        comment_responses(ctx.membership, brand, since),
        reader=request.user,
        role=ctx.role,
        brand=brand,
        request=request,
    )
    return render(
        request,
        "organization/feedback/comments.html",
        {"ctx": ctx, "target_brand": brand, "form": form, "rows": rows},
    )


class FeedbackSettingsForm(BrandSettingsForm):
    class Meta:
        model = FeedbackSettings
        fields = list(actions.SETTINGS_FIELDS)
        widgets = {"cadence": forms.RadioSelect}


@portal_view(PORTAL, needs=Capability.MANAGE_BRANDS)
@require_http_methods(["GET", "POST"])
def brand_settings(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    return brand_settings_page(
        request,
        ctx,
        brand_id,
        form_class=FeedbackSettingsForm,
        settings_for=settings_for,
        save=actions.do_save_feedback_settings,
        template="organization/feedback/settings.html",
        saved_message=_("The feedback questions of %(brand)s were saved."),
        url_name="organization:brand_feedback",
        extra=lambda brand: {"module_on": brand.has_module("feedback")},
    )
