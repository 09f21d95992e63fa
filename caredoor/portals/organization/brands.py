"""Brands and their domains: the operator's storefront settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.accounts.queries import access_brand, access_domain, brands_managed_by
from caredoor.core.brands.actions import (
    do_add_domain,
    do_create_brand,
    do_make_primary,
    do_remove_domain,
    do_update_brand,
)
from caredoor.core.brands.models import Brand
from caredoor.core.brands.queries import normalize_host
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.forms import BrandForm, DomainForm

PORTAL = Portal.ORGANIZATION
MANAGE = Capability.MANAGE_BRANDS


@portal_view(PORTAL, needs=MANAGE)
@require_http_methods(["GET"])
def brand_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brands = brands_managed_by(ctx.membership).order_by("name")
    return render(request, "organization/brand_list.html", {"ctx": ctx, "brands": brands})


@portal_view(PORTAL, needs=MANAGE)
@require_http_methods(["GET", "POST"])
def brand_create(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    form = BrandForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            brand = do_create_brand(
                network=ctx.membership.network,
                slug=form.cleaned_data["slug"],
                fields=form.brand_fields(),
                primary_host=form.cleaned_data["primary_host"],
                actor=request.user,
                actor_role=ctx.role,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("The brand %(name)s was created.") % {"name": brand.name})
            return redirect("organization:brand_edit", brand_id=brand.pk)
    return render(
        request,
        "organization/brand_form.html",
        {"ctx": ctx, "form": form, "target_brand": None},
        status=400 if form.is_bound else 200,
    )


def _edit_page(
    request: HttpRequest,
    ctx: PortalContext,
    brand: Brand,
    *,
    form: BrandForm | None = None,
    domain_form: DomainForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "organization/brand_form.html",
        {
            "ctx": ctx,
            # Not "brand": that name is the site being served (header, logo, theme).
            "target_brand": brand,
            "form": form or BrandForm(brand=brand),
            "domain_form": domain_form or DomainForm(),
            "domains": brand.domains.order_by("-is_primary", "host"),
        },
        status=status,
    )


@portal_view(PORTAL, needs=MANAGE)
@require_http_methods(["GET", "POST"])
def brand_edit(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    brand = access_brand(ctx.membership, brand_id)
    if request.method != "POST":
        return _edit_page(request, ctx, brand)
    form = BrandForm(request.POST, request.FILES, brand=brand)
    if form.is_valid():
        try:
            changed = do_update_brand(
                brand,
                form.brand_fields(),
                actor=request.user,
                actor_role=ctx.role,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            if changed:
                messages.success(request, _("The brand settings were saved."))
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("organization:brand_edit", brand_id=brand.pk)
    return _edit_page(request, ctx, brand, form=form, status=400)


@portal_view(PORTAL, needs=MANAGE)
@require_POST
def domain_add(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    brand = access_brand(ctx.membership, brand_id)
    form = DomainForm(request.POST)
    if form.is_valid():
        try:
            domain = do_add_domain(
                brand,
                form.cleaned_data["host"],
                actor=request.user,
                actor_role=ctx.role,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("%(host)s now leads to this brand.") % {"host": domain})
            return redirect("organization:brand_edit", brand_id=brand.pk)
    return _edit_page(request, ctx, brand, domain_form=form, status=400)


@portal_view(PORTAL, needs=MANAGE)
@require_POST
def domain_make_primary(
    request: HttpRequest, ctx: PortalContext, brand_id: int, domain_id: int
) -> HttpResponse:
    brand = access_brand(ctx.membership, brand_id)
    domain = access_domain(brand, domain_id)
    do_make_primary(domain, actor=request.user, actor_role=ctx.role, request=request)
    messages.success(request, _("%(host)s is now the primary host.") % {"host": domain.host})
    return redirect("organization:brand_edit", brand_id=brand.pk)


@portal_view(PORTAL, needs=MANAGE)
@require_POST
def domain_remove(
    request: HttpRequest, ctx: PortalContext, brand_id: int, domain_id: int
) -> HttpResponse:
    brand = access_brand(ctx.membership, brand_id)
    domain = access_domain(brand, domain_id)
    if domain.host == normalize_host(request.get_host()):
        messages.error(
            request,
            _("%(host)s was not removed: you are using this address right now.")
            % {"host": domain.host},
        )
        return redirect("organization:brand_edit", brand_id=brand.pk)
    try:
        do_remove_domain(domain, actor=request.user, actor_role=ctx.role, request=request)
    except ValidationError as exc:
        messages.error(
            request,
            _("%(host)s was not removed: %(reason)s")
            % {"host": domain.host, "reason": " ".join(exc.messages)},
        )
    else:
        messages.success(request, _("%(host)s was removed.") % {"host": domain.host})
    return redirect("organization:brand_edit", brand_id=brand.pk)
