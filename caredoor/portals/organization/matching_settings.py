"""A brand's guided-matching settings (operators, like the brand's booking rules):
shortlist size, direct allocation, the weights of the ranking rules, the "soon" horizon
and a specialist's capacity. The rules themselves: docs/matching.md."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.matching.actions import SETTINGS_FIELDS, do_save_settings
from caredoor.core.matching.models import MatchingSettings
from caredoor.core.matching.queries import settings_for
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.brand_settings import BrandSettingsForm, brand_settings_page

PORTAL = Portal.ORGANIZATION


class MatchingSettingsForm(BrandSettingsForm):
    class Meta:
        model = MatchingSettings
        fields = list(SETTINGS_FIELDS)


@portal_view(PORTAL, needs=Capability.MANAGE_BRANDS)
@require_http_methods(["GET", "POST"])
def brand_matching(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    return brand_settings_page(
        request,
        ctx,
        brand_id,
        form_class=MatchingSettingsForm,
        settings_for=settings_for,
        save=do_save_settings,
        template="organization/matching/settings.html",
        saved_message=_("The matching settings of %(brand)s were saved."),
        url_name="organization:brand_matching",
    )
