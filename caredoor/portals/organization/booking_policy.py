"""A brand's booking rules (for those who manage the brand): direct booking, cancel and
reschedule windows, fees, proposals, requests and reminders. Empty fields keep
Caredoor's defaults; specialists may override the rules except reminders."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.accounts.queries import access_brand
from caredoor.core.booking import policy
from caredoor.core.booking.models import BookingPolicy
from caredoor.core.booking.policy_actions import do_save_brand_policy
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.booking_policy_forms import BookingPolicyForm

PORTAL = Portal.ORGANIZATION


@portal_view(PORTAL, needs=Capability.MANAGE_BRANDS)
@require_http_methods(["GET", "POST"])
def brand_booking_policy(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    brand = access_brand(ctx.membership, brand_id)
    row = BookingPolicy.objects.filter(brand=brand, profile__isnull=True).first()
    form = BookingPolicyForm(
        request.POST if request.method == "POST" else None,
        inherited=policy.DEFAULTS,
        inherit_label=_("Caredoor's default"),
        with_reminders=True,
        row=row,
    )
    if request.method == "POST" and form.is_valid():
        values = form.values_for(row)
        if values is not None:
            try:
                do_save_brand_policy(
                    brand, values, actor=request.user, role=ctx.role, request=request
                )
            except ValidationError as exc:
                form.add_action_errors(exc)
            else:
                messages.success(
                    request,
                    _(
                        "The booking rules of %(brand)s were saved. New bookings follow them; "
                        "existing bookings keep the rules they were made under."
                    )
                    % {"brand": brand.name},
                )
                return redirect("organization:brand_booking_policy", brand_id=brand.pk)
    overrides = (
        BookingPolicy.objects.filter(brand=brand, profile__isnull=False)
        .select_related("profile__user")
        .order_by("profile__display_name", "pk")
    )
    counted = [
        (o, sum(1 for k in policy.OVERRIDABLE if getattr(o, k) not in (None, "")))
        for o in overrides
    ]
    return render(
        request,
        "organization/booking_policy.html",
        {
            "ctx": ctx,
            "target_brand": brand,
            "form": form,
            "effective": policy.brand_policy(brand),
            "overrides": [(o, n) for o, n in counted if n],
        },
        status=400 if form.errors else 200,
    )
