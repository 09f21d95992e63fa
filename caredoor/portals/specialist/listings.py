"""Tools and programs: multi-site listing. A specialist asks to be listed on the brands of
their network, with a session offer and, where the brand lets them, their own price."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.choices import PricingMode
from caredoor.core.brands.models import Brand
from caredoor.core.payments import connect
from caredoor.core.payments.models import ConnectAccount
from caredoor.core.specialists.actions import (
    LISTING_TRANSITIONS,
    do_request_listing,
    do_set_listing_status,
    do_update_listing,
    specialist_sets_price,
)
from caredoor.core.specialists.choices import ListingStatus, PricingControl, ProfileStatus
from caredoor.core.specialists.models import Listing, SpecialistProfile
from caredoor.core.specialists.pricing import listing_price
from caredoor.core.specialists.queries import (
    access_listing_brand,
    access_own_listing,
    is_public_on,
    listing_brands,
    listings_of,
    own_profile,
    published_version,
)
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.specialist_public import price_on
from caredoor.portals.specialist.forms import ListingForm, to_major

PORTAL = Portal.SPECIALIST
# target status -> the statuses a specialist may move their own listing from
SPECIALIST_MAY_SET = LISTING_TRANSITIONS["specialist"]


@dataclass
class BrandRow:
    brand: Brand
    listing: Listing | None
    sets_price: bool
    price_rule: str
    price_display: str
    visible: bool
    form: ListingForm

    @property
    def can_request(self) -> bool:
        return self.listing is None or self.listing.status == ListingStatus.REMOVED

    @property
    def can_hide(self) -> bool:
        return bool(
            self.listing and self.listing.status in SPECIALIST_MAY_SET[ListingStatus.HIDDEN]
        )

    @property
    def can_withdraw(self) -> bool:
        return bool(
            self.listing and self.listing.status in SPECIALIST_MAY_SET[ListingStatus.REMOVED]
        )

    @property
    def decided_by_staff(self) -> bool:
        listing = self.listing
        return bool(
            listing and listing.decided_by_id and listing.decided_by_id != listing.profile.user_id
        )


def price_rule(profile: SpecialistProfile, brand: Brand) -> str:
    """Who sets the price on this brand, in a sentence for the specialist."""
    if specialist_sets_price(profile, brand):
        return _("You set your own price on this brand.")
    if brand.pricing_mode == PricingMode.BRAND_FIXED:
        price = price_on(brand, profile, None)
        if price.covered:
            return _(
                "Sessions on this brand are covered by the program: patients pay nothing "
                "and see no price."
            )
        return _("This brand charges one fixed price for every session: %(price)s.") % {
            "price": price.display
        }
    if profile.pricing_control == PricingControl.ORGANIZATION:
        return _("%(organization)s sets your price on this brand.") % {
            "organization": profile.onboarded_by.name
        }
    return _("%(brand)s sets your price on this brand.") % {"brand": brand.name}


def _form(
    profile: SpecialistProfile, brand: Brand, listing: Listing | None, data: Any = None
) -> ListingForm:
    initial = {}
    if listing is not None:
        initial = {
            "session_offer": listing.session_offer,
            "price": to_major(listing.price_minor, brand.currency),
        }
    return ListingForm(
        data,
        initial=initial,
        prefix=f"brand-{brand.pk}",
        currency=brand.currency,
        sets_price=specialist_sets_price(profile, brand),
    )


def _rows(
    profile: SpecialistProfile, bound: tuple[int, ListingForm] | None = None
) -> list[BrandRow]:
    by_brand = {item.brand_id: item for item in listings_of(profile)}
    rows = []
    for brand in listing_brands(profile):
        listing = by_brand.get(brand.pk)
        form = bound[1] if bound and bound[0] == brand.pk else _form(profile, brand, listing)
        price = listing_price(listing) if listing else price_on(brand, profile, None)
        rows.append(
            BrandRow(
                brand=brand,
                listing=listing,
                sets_price=specialist_sets_price(profile, brand),
                price_rule=price_rule(profile, brand),
                price_display=price.display,
                visible=bool(listing) and is_public_on(brand, profile),
                form=form,
            )
        )
    return rows


def _page(
    request: HttpRequest,
    ctx: PortalContext,
    profile: SpecialistProfile,
    bound: tuple[int, ListingForm] | None = None,
) -> HttpResponse:
    context = {
        "ctx": ctx,
        "profile": profile,
        "rows": _rows(profile, bound),
        "approved": profile.status == ProfileStatus.APPROVED
        or published_version(profile) is not None,
        "statuses": ListingStatus,
        # Stripe Connect: shown when a listing's sessions are charged to their own account.
        "needs_connect": connect.needs_connect(profile),
        "connect_account": ConnectAccount.objects.filter(profile=profile).first(),
    }
    return render(request, "specialist/listings.html", context, status=400 if bound else 200)


def _profile_or_404(request: HttpRequest, ctx: PortalContext) -> SpecialistProfile:
    profile = own_profile(request.user, ctx.membership.network_id)
    if profile is None:
        raise Http404
    return profile


@require_GET
@portal_view(PORTAL)
def listings(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = own_profile(request.user, ctx.membership.network_id)
    if profile is None:
        return redirect("specialist:dashboard")
    return _page(request, ctx, profile)


@require_POST
@portal_view(PORTAL)
def listing_request(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    profile = _profile_or_404(request, ctx)
    brand = access_listing_brand(profile, brand_id)
    form = _form(profile, brand, None, request.POST)
    if form.is_valid():
        try:
            do_request_listing(
                profile,
                brand,
                session_offer=form.cleaned_data["session_offer"],
                price_minor=form.price_minor,
                actor=request.user,  # type: ignore[arg-type]
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("You asked to be listed on %(brand)s. The operator will decide.")
                % {"brand": brand.name},
            )
            return redirect(f"{_listings_url()}#brand-{brand.pk}")
    return _page(request, ctx, profile, (brand.pk, form))


@require_POST
@portal_view(PORTAL)
def listing_update(request: HttpRequest, ctx: PortalContext, listing_id: int) -> HttpResponse:
    profile = _profile_or_404(request, ctx)
    listing = access_own_listing(profile, listing_id)
    if listing.status == ListingStatus.REMOVED:
        raise Http404  # a withdrawn listing is requested again, not edited
    form = _form(profile, listing.brand, listing, request.POST)
    if form.is_valid():
        try:
            do_update_listing(
                listing,
                session_offer=form.cleaned_data["session_offer"],
                price_minor=form.price_minor,
                actor=ctx.membership,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request, _("Your listing on %(brand)s was saved.") % {"brand": listing.brand.name}
            )
            return redirect(f"{_listings_url()}#brand-{listing.brand_id}")
    return _page(request, ctx, profile, (listing.brand_id, form))


@require_POST
@portal_view(PORTAL)
def listing_status(request: HttpRequest, ctx: PortalContext, listing_id: int) -> HttpResponse:
    profile = _profile_or_404(request, ctx)
    listing = access_own_listing(profile, listing_id)
    status = request.POST.get("status", "")
    if status not in SPECIALIST_MAY_SET:
        raise Http404
    try:
        do_set_listing_status(listing, status, actor=ctx.membership, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        text = {
            ListingStatus.HIDDEN: _(
                "Your listing on %(brand)s is hidden. Patients there no longer see you; "
                "the operator can show it again."
            ),
            ListingStatus.REMOVED: _(
                "You withdrew your listing on %(brand)s. You can ask to be listed again."
            ),
        }[status]
        messages.success(request, text % {"brand": listing.brand.name})
    return redirect(f"{_listings_url()}#brand-{listing.brand_id}")


def _listings_url() -> str:
    return reverse("specialist:listings")
