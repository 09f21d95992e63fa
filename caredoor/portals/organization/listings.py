"""Specialists' listings on the network's brands: the operator approves, hides or removes
them, and sets the price where the organization or the brand controls it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.brands.choices import BillingModel, PricingMode
from caredoor.core.specialists.actions import (
    LISTING_TRANSITIONS,
    do_set_listing_billing,
    do_set_listing_status,
    do_update_listing,
    specialist_sets_price,
)
from caredoor.core.specialists.choices import ListingStatus, ProfileStatus
from caredoor.core.specialists.models import Listing, PublishedProfile
from caredoor.core.specialists.pricing import listing_price
from caredoor.core.specialists.queries import access_listing_as_staff, listings_managed_by
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.forms import major_units
from caredoor.portals.organization.specialist_forms import (
    ListingBillingForm,
    ListingFilterForm,
    ListingPriceForm,
    ListingStatusForm,
)

PORTAL = Portal.ORGANIZATION
MANAGE = Capability.MANAGE_LISTINGS
PER_PAGE = 30

STATUS_BADGE = {
    ListingStatus.REQUESTED: "badge--info",
    ListingStatus.APPROVED: "badge--ok",
    ListingStatus.HIDDEN: "badge--warn",
    ListingStatus.REMOVED: "",
}
ACTION_LABELS = {
    ListingStatus.APPROVED: gettext_lazy("Approve"),
    ListingStatus.HIDDEN: gettext_lazy("Hide"),
    ListingStatus.REMOVED: gettext_lazy("Remove"),
}


def price_is_staffs(listing: Listing) -> bool:
    """The organization or the brand sets this listing's price (not the specialist, and
    not one fixed price for the whole brand)."""
    return (
        not specialist_sets_price(listing.profile, listing.brand)
        and listing.brand.pricing_mode != PricingMode.BRAND_FIXED
    )


def _actions(listing: Listing) -> list[tuple[str, str]]:
    staff = LISTING_TRANSITIONS["staff"]
    return [
        (status, str(ACTION_LABELS[status]))
        for status in (ListingStatus.APPROVED, ListingStatus.HIDDEN, ListingStatus.REMOVED)
        if listing.status in staff.get(status, set())
    ]


def _price_source(listing: Listing) -> str:
    price = listing_price(listing)
    if price.covered:
        return _("The program covers the sessions.")
    if price.source == "brand" and listing.brand.pricing_mode == PricingMode.BRAND_FIXED:
        return _("One fixed price for the whole brand.")
    return {
        "specialist": _("Set by the specialist."),
        "organization": _("Set by the organization."),
        "brand": _("Set by the brand."),
    }.get(price.source, "")


def _published(listing: Listing) -> bool:
    try:
        listing.profile.published  # noqa: B018 - a reverse one-to-one raises when missing
    except PublishedProfile.DoesNotExist:
        return False
    return True


def _back(request: HttpRequest) -> str:
    """The listings page with the filters the action was taken under."""
    keep = {k: request.GET[k] for k in ("brand", "status", "page") if request.GET.get(k)}
    url = reverse("organization:listings")
    return f"{url}?{urlencode(keep)}" if keep else url


def _page(
    request: HttpRequest,
    ctx: PortalContext,
    *,
    bound: dict[int, dict[str, Any]] | None = None,
    status: int = 200,
) -> HttpResponse:
    filters = ListingFilterForm(request.GET or None, actor=ctx.membership)
    listings = listings_managed_by(ctx.membership).select_related(
        "profile__onboarded_by", "profile__published"
    )
    if filters.is_valid():
        if filters.cleaned_data["brand"]:
            listings = listings.filter(brand=filters.cleaned_data["brand"])
        if filters.cleaned_data["status"]:
            listings = listings.filter(status=filters.cleaned_data["status"])
    listings = listings.annotate(
        requested_first=Case(
            When(status=ListingStatus.REQUESTED, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("requested_first", "created_at", "pk")
    page = Paginator(listings, PER_PAGE).get_page(request.GET.get("page"))
    bound = bound or {}
    cards = []
    for listing in page:
        forms = bound.get(listing.pk, {})
        currency = listing.brand.currency
        editable = price_is_staffs(listing)
        cards.append(
            {
                "listing": listing,
                "badge": STATUS_BADGE.get(listing.status, ""),
                "price": listing_price(listing).display,
                "price_source": _price_source(listing),
                "published": _published(listing),
                "profile_approved": listing.profile.status == ProfileStatus.APPROVED,
                "actions": _actions(listing),
                "status_form": forms.get("status") or ListingStatusForm(listing_id=listing.pk),
                "price_form": (
                    forms.get("price")
                    or ListingPriceForm(
                        listing_id=listing.pk,
                        currency=currency,
                        initial={"price": major_units(listing.price_minor, currency)},
                    )
                )
                if editable
                else None,
                "billing_form": forms.get("billing") or billing_form(listing),
            }
        )
    return render(
        request,
        "organization/listings.html",
        {
            "ctx": ctx,
            "filters": filters,
            "page": page,
            "cards": cards,
            "query": request.GET.urlencode(),
            "filtered": bool(request.GET.get("brand") or request.GET.get("status")),
        },
        status=status,
    )


@portal_view(PORTAL, needs=MANAGE)
@require_http_methods(["GET"])
def listing_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    return _page(request, ctx)


@portal_view(PORTAL, needs=MANAGE)
@require_POST
def listing_status(request: HttpRequest, ctx: PortalContext, listing_id: int) -> HttpResponse:
    listing = access_listing_as_staff(ctx.membership, listing_id)
    form = ListingStatusForm(request.POST, listing_id=listing.pk)
    if form.is_valid():
        status = form.cleaned_data["status"]
        try:
            do_set_listing_status(
                listing,
                status,
                actor=ctx.membership,
                note=form.cleaned_data["note"],
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                {
                    ListingStatus.APPROVED: _("%(name)s is now listed on %(brand)s."),
                    ListingStatus.HIDDEN: _("%(name)s is hidden on %(brand)s."),
                    ListingStatus.REMOVED: _("%(name)s was removed from %(brand)s."),
                }[status]
                % {"name": listing.profile, "brand": listing.brand.name},
            )
            return redirect(_back(request))
    return _page(request, ctx, bound={listing.pk: {"status": form}}, status=400)


def billing_form(listing: Listing, data: Any = None) -> ListingBillingForm:
    brand = listing.brand
    return ListingBillingForm(
        data,
        listing_id=listing.pk,
        brand_percent=brand.commission_percent,
        hybrid=brand.billing_model == BillingModel.HYBRID,
        initial={"commission": listing.commission_percent, "connect": listing.bills_via_connect},
    )


@portal_view(PORTAL, needs=MANAGE)
@require_POST
def listing_billing(request: HttpRequest, ctx: PortalContext, listing_id: int) -> HttpResponse:
    listing = access_listing_as_staff(ctx.membership, listing_id)
    form = billing_form(listing, request.POST)
    if form.is_valid():
        try:
            do_set_listing_billing(
                listing,
                commission_percent=form.cleaned_data["commission"],
                bills_via_connect=bool(form.cleaned_data.get("connect")),
                actor=ctx.membership,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("The billing of %(name)s on %(brand)s was saved.")
                % {"name": listing.profile, "brand": listing.brand.name},
            )
            return redirect(_back(request))
    return _page(request, ctx, bound={listing.pk: {"billing": form}}, status=400)


@portal_view(PORTAL, needs=MANAGE)
@require_POST
def listing_price_edit(request: HttpRequest, ctx: PortalContext, listing_id: int) -> HttpResponse:
    listing = access_listing_as_staff(ctx.membership, listing_id)
    if not price_is_staffs(listing):
        messages.error(
            request,
            _("The price of %(name)s on %(brand)s is not set by the organization or the brand.")
            % {"name": listing.profile, "brand": listing.brand.name},
        )
        return redirect(_back(request))
    form = ListingPriceForm(request.POST, listing_id=listing.pk, currency=listing.brand.currency)
    if form.is_valid():
        try:
            do_update_listing(
                listing,
                session_offer=listing.session_offer,
                price_minor=form.cleaned_data["price_minor"],
                actor=ctx.membership,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("The price of %(name)s on %(brand)s was saved.")
                % {"name": listing.profile, "brand": listing.brand.name},
            )
            return redirect(_back(request))
    return _page(request, ctx, bound={listing.pk: {"price": form}}, status=400)
