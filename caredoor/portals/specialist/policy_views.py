"""The specialist's own booking rules on each site they are listed on: every field empty
inherits the site's rule (shown as the placeholder)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking import policy
from caredoor.core.booking.models import BookingPolicy
from caredoor.core.booking.policy_actions import do_save_specialist_policy
from caredoor.core.brands.models import Brand
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.booking_policy_forms import BookingPolicyForm
from caredoor.portals.specialist import booking_support as support

PORTAL = Portal.SPECIALIST


@dataclass
class PolicyCard:
    brand: Brand
    form: BookingPolicyForm
    overridden: int  # how many fields the specialist sets themselves


def _row(profile: SpecialistProfile, brand: Brand) -> BookingPolicy | None:
    return BookingPolicy.objects.filter(brand=brand, profile=profile).first()


def _form(
    profile: SpecialistProfile, brand: Brand, data: object = None
) -> tuple[BookingPolicyForm, BookingPolicy | None]:
    row = _row(profile, brand)
    form = BookingPolicyForm(
        data,
        prefix=f"brand-{brand.pk}",
        inherited=policy.brand_policy(brand),
        inherit_label=brand.name,
        with_reminders=False,
        row=row,
    )
    return form, row


def _overridden(row: BookingPolicy | None) -> int:
    if row is None:
        return 0
    return sum(1 for key in policy.OVERRIDABLE if getattr(row, key) not in (None, ""))


def _page(
    request: HttpRequest,
    ctx: PortalContext,
    profile: SpecialistProfile,
    bound: tuple[int, BookingPolicyForm] | None = None,
) -> HttpResponse:
    cards = []
    for brand in support.policy_brands(profile):
        form, row = _form(profile, brand)
        if bound and bound[0] == brand.pk:
            form = bound[1]
        cards.append(PolicyCard(brand, form, _overridden(row)))
    return render(
        request,
        "specialist/booking_policies.html",
        {"ctx": ctx, "profile": profile, "cards": cards},
        status=400 if bound else 200,
    )


@require_GET
@portal_view(PORTAL)
def booking_policies(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = support.profile_of(request, ctx)
    if profile is None:
        return redirect("specialist:dashboard")
    return _page(request, ctx, profile)


@require_POST
@portal_view(PORTAL)
def booking_policy_save(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    profile = support.profile_or_404(request, ctx)
    brand = next((b for b in support.policy_brands(profile) if b.pk == brand_id), None)
    if brand is None:
        raise Http404
    form, row = _form(profile, brand, request.POST)
    if form.is_valid():
        values = form.values_for(row)
        if values is not None:
            try:
                do_save_specialist_policy(
                    profile, brand, values, actor=request.user, request=request
                )
            except ValidationError as exc:
                form.add_action_errors(exc)
            else:
                messages.success(
                    request,
                    _("Your booking rules on %(site)s were saved. New bookings follow them.")
                    % {"site": brand.name},
                )
                return redirect(f"{reverse('specialist:booking_policies')}#site-{brand.pk}")
    return _page(request, ctx, profile, (brand.pk, form))
