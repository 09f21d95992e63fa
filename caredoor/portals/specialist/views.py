"""The specialist portal's front: registration, the dashboard, and starting a profile."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.adapter import get_adapter
from allauth.core import ratelimit
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.choices import SignInMethod
from caredoor.core.messaging.queries import unread_total
from caredoor.core.specialists.actions import do_register_new_specialist, do_register_specialist
from caredoor.core.specialists.choices import PROFILE_FIELDS, ListingStatus, ProfileStatus
from caredoor.core.specialists.queries import listings_of, own_profile, published_version
from caredoor.portals.common import account
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.specialist.forms import RegisterForm
from caredoor.portals.specialist.progress import progress_of
from caredoor.portals.specialist.sessions import dashboard_sessions

PORTAL = Portal.SPECIALIST
BACKEND = "django.contrib.auth.backends.ModelBackend"
# Listing decisions by the operator stay on the dashboard this long (hidden and removed
# listings stay until the specialist acts).
RECENT_DECISIONS = timedelta(days=14)


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Join the brand's specialist network: a visitor creates an account here; a signed-in
    person confirms. Private programs take no registrations (404)."""
    brand = getattr(request, "brand", None)
    if brand is None or brand.is_private:
        raise Http404
    user = request.user
    if user.is_authenticated:
        if own_profile(user, brand.network_id) is not None:
            return redirect("specialist:onboarding")
        if request.method == "POST":
            do_register_specialist(user, brand, request=request)  # type: ignore[arg-type]
            messages.success(request, _("Welcome! Start your profile below."))
            return redirect("specialist:onboarding")
        return render(request, "specialist/register.html", {"form": None})
    if not brand.allows_sign_in(SignInMethod.PASSWORD):
        # Without passwords there is no way to create an account here: sign in first.
        return render(request, "specialist/register.html", {"form": None, "closed": True})
    form = RegisterForm(request.POST or None)
    if request.method == "POST":
        limited = ratelimit.consume_or_429(request, action="signup")
        if limited:
            return limited
        if form.is_valid():
            data = form.cleaned_data
            new_user = do_register_new_specialist(
                email=data["email"],
                password=data["password1"],
                name=data["name"],
                brand=brand,
                request=request,
            ).user
            new_user.backend = BACKEND  # type: ignore[attr-defined]
            get_adapter(request).login(request, new_user)
            messages.success(
                request, _("Welcome! Your account is ready. Start your profile below.")
            )
            return redirect("specialist:onboarding")
    return render(request, "specialist/register.html", {"form": form})


@portal_view(PORTAL)
def dashboard(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = own_profile(request.user, ctx.membership.network_id)
    context: dict = {"ctx": ctx, "profile": profile}
    if profile is not None:
        progress = progress_of(profile)
        listings = list(listings_of(profile).order_by("brand__name"))
        recent = timezone.now() - RECENT_DECISIONS
        context.update(
            progress=progress,
            resume=progress.resume(profile.current_step),
            published=published_version(profile),
            decision=profile.decisions.first(),
            requested=[
                (PROFILE_FIELDS[f].label, note)
                for f, note in (profile.requested_changes or {}).items()
                if f in PROFILE_FIELDS
            ],
            listings=listings,
            listing_attention=[
                item
                for item in listings
                if item.decided_by_id not in (None, request.user.pk)
                and (
                    item.status in (ListingStatus.HIDDEN, ListingStatus.REMOVED)
                    or (item.decided_at and item.decided_at >= recent)
                )
            ],
            listings_approved=[item for item in listings if item.status == ListingStatus.APPROVED],
            listings_waiting=[item for item in listings if item.status == ListingStatus.REQUESTED],
            statuses=ProfileStatus,
            unread_messages=unread_total(request.user, ctx.brand, PORTAL),
            # Today's sessions on this site and the next ones, with their video rooms.
            sessions=dashboard_sessions(profile, ctx.brand) if ctx.brand is not None else None,
        )
    return render(request, "specialist/dashboard.html", context)


@require_POST
@portal_view(PORTAL)
def start(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """A specialist of this network without a profile yet starts one (idempotent)."""
    do_register_specialist(request.user, ctx.brand, request=request)  # type: ignore[arg-type]
    return redirect("specialist:onboarding")


account_view = portal_view(PORTAL)(account.profile)
