"""Package offers of a brand for the operator organization's money people (operators and
finance): the list with what was sold and what is in use, a new offer, editing one, and
retiring it or putting it on sale again. The work is ``payments.package_offers``; these
views validate.

Prices are typed in the brand's currency (major units, its decimal places) and stored in
minor units. A sold offer's specialist, sessions and price are shown, not offered for
editing (what patients bought stays as they bought it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.brands.choices import Module
from caredoor.core.brands.models import Brand
from caredoor.core.brands.money import exponent, to_major
from caredoor.core.payments import package_offers as offers
from caredoor.core.payments import packages
from caredoor.core.payments.access import access_finance_brand, finance_brands
from caredoor.core.payments.models import PackageOffer
from caredoor.core.specialists.models import Listing
from caredoor.core.specialists.queries import public_name
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.finances import chosen_brand, money, parse_amount
from caredoor.portals.organization.forms import ModelErrorsMixin

PORTAL = Portal.ORGANIZATION
NEEDS = Capability.MANAGE_PACKAGES


class OfferForm(ModelErrorsMixin, forms.Form):
    """A new offer, or an offer's changes. ``locked``: a sold offer, whose specialist,
    sessions and price are not fields."""

    error_fields = {"profile_id": "profile", "price_minor": "price"}

    profile = forms.ChoiceField(label=gettext_lazy("Specialist"))
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=offers.NAME_LENGTH,
        help_text=gettext_lazy("What patients see, for example “Five sessions”."),
    )
    sessions = forms.IntegerField(
        label=gettext_lazy("Sessions"),
        min_value=offers.MIN_SESSIONS,
        max_value=offers.MAX_SESSIONS,
        help_text=gettext_lazy("2 to 50 sessions, all with this specialist."),
    )
    price = forms.CharField(
        label=gettext_lazy("Price"),
        max_length=20,
        error_messages={"required": gettext_lazy("Enter the price of the whole package.")},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    valid_days = forms.IntegerField(
        label=gettext_lazy("Valid for (days)"),
        min_value=offers.MIN_DAYS,
        max_value=offers.MAX_DAYS,
        initial=365,
        help_text=gettext_lazy("Counted from payment. Sessions not used by then lapse."),
    )

    def __init__(
        self,
        *args: Any,
        brand: Brand,
        offer: PackageOffer | None = None,
        locked: bool = False,
        **kwargs: Any,
    ) -> None:
        if offer is not None and not args and "initial" not in kwargs:
            kwargs["initial"] = initial_of(offer)
        super().__init__(*args, **kwargs)
        self.brand = brand
        self.offer = offer
        self.locked = locked
        if locked:
            for name in ("profile", "sessions", "price"):
                del self.fields[name]
        else:
            self.fields["profile"].choices = specialist_choices(brand, offer)
            self.fields["price"].label = _("Price in %(currency)s") % {"currency": brand.currency}
            example = money(400 * 10 ** exponent(brand.currency), brand.currency)
            self.fields["price"].help_text = _(
                "For the whole package, for example %(example)s."
            ) % {"example": example.rsplit(" ", 1)[0]}
            chosen = offers.specialist_error(brand)
            self.fields["profile"].error_messages.update(required=chosen, invalid_choice=chosen)
            sessions = offers.sessions_error()
            self.fields["sessions"].error_messages.update(
                required=sessions, min_value=sessions, max_value=sessions
            )
        if offer is not None:
            self.fields["valid_days"].help_text = _(
                "Counted from payment. Sessions not used by then lapse. A change applies to "
                "packages paid from now on; packages already paid keep their end date."
            )
        self.fields["name"].error_messages["required"] = offers.name_error()
        days = offers.days_error()
        self.fields["valid_days"].error_messages.update(
            required=days, min_value=days, max_value=days
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "price" in self.fields and "price" not in self.errors:
            try:
                data["price_minor"] = parse_amount(data.get("price", ""), self.brand.currency)
            except ValidationError as exc:
                self.add_error("price", exc)
        return data

    def values(self) -> dict[str, Any]:
        """The fields of ``package_offers`` (a sold offer keeps its own terms)."""
        data = self.cleaned_data
        if self.locked:
            assert self.offer is not None
            terms = {
                "profile_id": self.offer.profile_id,
                "sessions": self.offer.sessions,
                "price_minor": self.offer.price_minor,
            }
        else:
            terms = {
                "profile_id": int(data["profile"]),
                "sessions": data["sessions"],
                "price_minor": data["price_minor"],
            }
        return {**terms, "name": data["name"], "valid_days": data["valid_days"]}


def initial_of(offer: PackageOffer) -> dict[str, Any]:
    return {
        "profile": str(offer.profile_id),
        "name": offer.name,
        "sessions": offer.sessions,
        "price": f"{to_major(offer.price_minor, offer.currency)}",
        "valid_days": offer.valid_days,
    }


def specialist_choices(brand: Brand, offer: PackageOffer | None) -> list[tuple[str, str]]:
    """Specialists who can sell packages here; an edited offer's own specialist too, even
    if they no longer can (its name and validity may still be changed)."""
    choices = [("", _("Choose a specialist"))]
    seen = set()
    for listing in offers.eligible_listings(brand):
        choices.append((str(listing.profile_id), public_name(listing.profile)))
        seen.add(listing.profile_id)
    if offer is not None and offer.profile_id not in seen:
        label = _("%(name)s (cannot sell packages here now)") % {"name": public_name(offer.profile)}
        choices.append((str(offer.profile_id), label))
    return choices


@dataclass(frozen=True)
class OfferRow:
    offer: Any  # a PackageOffer annotated with sold, active and waiting
    specialist: str
    price: str
    per_session: str
    on_sale: bool
    reason: str


def offer_rows(brand: Brand, offer_id: int | None = None) -> list[OfferRow]:
    """The brand's offers (or the one ``offer_id``) with their state and figures."""
    listings = {listing.profile_id: listing for listing in Listing.objects.filter(brand=brand)}
    rows = []
    found = offers.offers_of(brand)
    if offer_id is not None:
        found = found.filter(pk=offer_id)
    for offer in found:
        offer.brand = brand
        state = packages.availability(offer, listings.get(offer.profile_id))
        rows.append(
            OfferRow(
                offer=offer,
                specialist=public_name(offer.profile),
                price=money(offer.price_minor, offer.currency),
                per_session=money(offer.price_minor // offer.sessions, offer.currency),
                on_sale=state.on_sale,
                reason=state.reason,
            )
        )
    return rows


def list_page(
    request: HttpRequest,
    ctx: PortalContext,
    brand: Brand,
    brands: list[Brand],
    form: OfferForm | None = None,
) -> HttpResponse:
    form = form or OfferForm(brand=brand)
    return render(
        request,
        "organization/packages/list.html",
        {
            "ctx": ctx,
            "target_brand": brand,
            "brands": brands,
            "form": form,
            "can_offer": len(form.fields["profile"].choices) > 1 or bool(form.errors),
            "takes_payments": brand.has_module(Module.PAYMENTS),
            "rows": offer_rows(brand),
        },
        status=400 if form.errors else 200,
    )


def list_url(brand_id: int) -> str:
    return f"{reverse('organization:packages')}?brand={brand_id}"


@portal_view(PORTAL, needs=NEEDS)
@require_GET
def offer_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brand, brands = chosen_brand(request, ctx)
    return list_page(request, ctx, brand, brands)


@portal_view(PORTAL, needs=NEEDS)
@require_POST
def offer_create(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    brand = access_finance_brand(ctx.membership, brand_id)
    form = OfferForm(request.POST, brand=brand)
    if form.is_valid():
        try:
            offer = offers.do_create_offer(
                brand, form.values(), request.user, role=ctx.role, request=request
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("The package offer “%(name)s” was created on %(brand)s.")
                % {"name": offer.name, "brand": brand.name},
            )
            return redirect(list_url(brand.pk))
    return list_page(request, ctx, brand, list(finance_brands(ctx.membership)), form)


def edit_page(
    request: HttpRequest,
    ctx: PortalContext,
    offer: PackageOffer,
    form: OfferForm | None = None,
) -> HttpResponse:
    brand = offer.brand
    row = offer_rows(brand, offer.pk)[0]
    form = form or OfferForm(brand=brand, offer=offer, locked=offers.is_sold(offer))
    return render(
        request,
        "organization/packages/edit.html",
        {
            "ctx": ctx,
            "target_brand": brand,
            "row": row,
            "offer": row.offer,
            "form": form,
            # As the form was built: a refused edit shows the fields it was refused on.
            "locked": form.locked,
        },
        status=400 if form.errors else 200,
    )


@portal_view(PORTAL, needs=NEEDS)
@require_http_methods(["GET", "POST"])
def offer_edit(request: HttpRequest, ctx: PortalContext, offer_id: int) -> HttpResponse:
    offer = offers.access_offer(ctx.membership, offer_id)
    if request.method != "POST":
        return edit_page(request, ctx, offer)
    locked = offers.is_sold(offer)
    form = OfferForm(request.POST, brand=offer.brand, offer=offer, locked=locked)
    if form.is_valid():
        try:
            changed = offers.do_update_offer(
                offer, form.values(), request.user, role=ctx.role, request=request
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            if changed:
                messages.success(
                    request, _("The package offer “%(name)s” was saved.") % {"name": offer.name}
                )
            else:
                messages.info(request, _("Nothing changed."))
            return redirect(list_url(offer.brand_id))
    return edit_page(request, ctx, offer, form)


@portal_view(PORTAL, needs=NEEDS)
@require_POST
def offer_retire(request: HttpRequest, ctx: PortalContext, offer_id: int) -> HttpResponse:
    offer = offers.access_offer(ctx.membership, offer_id)
    try:
        offers.do_retire_offer(offer, request.user, role=ctx.role, request=request)
    except ValidationError as exc:
        messages.info(request, exc.messages[0])
    else:
        messages.success(
            request,
            _(
                "The package offer “%(name)s” is retired: patients can no longer buy it. "
                "Packages already bought keep working."
            )
            % {"name": offer.name},
        )
    return redirect(list_url(offer.brand_id))


@portal_view(PORTAL, needs=NEEDS)
@require_POST
def offer_again(request: HttpRequest, ctx: PortalContext, offer_id: int) -> HttpResponse:
    offer = offers.access_offer(ctx.membership, offer_id)
    try:
        offers.do_offer_again(offer, request.user, role=ctx.role, request=request)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request, _("The package offer “%(name)s” is on sale again.") % {"name": offer.name}
        )
    return redirect(list_url(offer.brand_id))
