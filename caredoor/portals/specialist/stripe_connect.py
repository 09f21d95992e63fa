"""The specialist's Stripe account (Stripe Connect): start or continue Stripe's onboarding,
and come back from it. Shown on the listings page when a listing bills through Connect."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.payments import connect, stripe_api
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.specialist.listings import _profile_or_404


@require_POST
@portal_view(Portal.SPECIALIST)
def connect_start(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = _profile_or_404(request, ctx)
    back = request.build_absolute_uri(reverse("specialist:connect_return"))
    try:
        url = connect.do_start_onboarding(
            profile,
            refresh_url=request.build_absolute_uri(reverse("specialist:listings")),
            return_url=back,
            request=request,
        )
    except connect.ConnectUnavailable:
        messages.error(
            request,
            _("Stripe Connect is not available here (this installation uses a local stand-in)."),
        )
        return redirect("specialist:listings")
    except stripe_api.StripeError:
        messages.error(request, _("Stripe could not be reached. Please try again later."))
        return redirect("specialist:listings")
    return redirect(url)


@require_GET
@portal_view(Portal.SPECIALIST)
def connect_return(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = _profile_or_404(request, ctx)
    try:
        account = connect.do_refresh(profile)
    except (connect.ConnectUnavailable, stripe_api.StripeError):
        account = None
    if account is not None and account.charges_enabled:
        messages.success(request, _("Your Stripe account can take payments."))
    else:
        messages.info(
            request,
            _("Stripe has not finished checking your account yet. You can continue later."),
        )
    return redirect("specialist:listings")
