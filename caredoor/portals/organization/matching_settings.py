"""A brand's guided-matching settings (operators, like the brand's booking rules):
shortlist size, direct allocation, the weights of the ranking rules, the "soon" horizon
and a specialist's capacity. The rules themselves: docs/matching.md."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.accounts.queries import access_brand
from caredoor.core.matching.actions import SETTINGS_FIELDS, do_save_settings
from caredoor.core.matching.models import MatchingSettings
from caredoor.core.matching.queries import settings_for
from caredoor.portals.common.access import PortalContext, portal_view

PORTAL = Portal.ORGANIZATION


class MatchingSettingsForm(forms.ModelForm):
    class Meta:
        model = MatchingSettings
        fields = list(SETTINGS_FIELDS)

    def add_action_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, exc)


@portal_view(PORTAL, needs=Capability.MANAGE_BRANDS)
@require_http_methods(["GET", "POST"])
def brand_matching(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    brand = access_brand(ctx.membership, brand_id)
    current = settings_for(brand)
    form = MatchingSettingsForm(
        request.POST if request.method == "POST" else None, instance=settings_for(brand)
    )
    if request.method == "POST" and form.is_valid():
        values = {f: form.cleaned_data[f] for f in SETTINGS_FIELDS}
        try:
            do_save_settings(brand, values, actor=request.user, role=ctx.role, request=request)
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("The matching settings of %(brand)s were saved.") % {"brand": brand.name},
            )
            return redirect("organization:brand_matching", brand_id=brand.pk)
    return render(
        request,
        "organization/matching/settings.html",
        {"ctx": ctx, "target_brand": brand, "form": form, "saved": current.pk is not None},
        status=400 if form.errors else 200,
    )
