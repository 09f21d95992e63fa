"""Onboarding configuration: the steps and required fields of the network and of each
brand (a brand inherits the network's unless it has its own), and the network's terms."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.accounts.queries import access_brand, brands_managed_by
from caredoor.core.brands.models import Brand
from caredoor.core.specialists.actions import (
    do_add_term,
    do_delete_term,
    do_rename_term,
    do_reset_scheme,
    do_save_scheme,
)
from caredoor.core.specialists.choices import PROFILE_FIELDS, TermKind
from caredoor.core.specialists.queries import (
    access_term,
    onboarding_schemes_of,
    term_usage,
    terms_managed_by,
)
from caredoor.core.specialists.scheme import Step, scheme_for
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.specialist_forms import (
    SchemeForm,
    TermAddForm,
    TermRenameForm,
)

PORTAL = Portal.ORGANIZATION
CONFIGURE = Capability.CONFIGURE_ONBOARDING


def _summary(steps: list[Step]) -> list[dict]:
    return [
        {
            "title": step.display_title,
            "fields": [
                {"label": PROFILE_FIELDS[f].label, "required": f in step.required}
                for f in step.fields
                if f in PROFILE_FIELDS
            ],
        }
        for step in steps
    ]


@portal_view(PORTAL, needs=CONFIGURE)
@require_http_methods(["GET"])
def overview(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    network = ctx.membership.network
    own = {s.brand_id for s in onboarding_schemes_of(ctx.membership)}
    brands = [
        {
            "brand": brand,
            "own": brand.pk in own,
            "steps": _summary(scheme_for(network, brand)),
        }
        for brand in brands_managed_by(ctx.membership).order_by("name")
    ]
    return render(
        request,
        "organization/onboarding.html",
        {
            "ctx": ctx,
            "network": network,
            "network_own": None in own,
            "network_steps": _summary(scheme_for(network, None)),
            "brands": brands,
        },
    )


def _editor(
    request: HttpRequest,
    ctx: PortalContext,
    brand: Brand | None,
) -> HttpResponse:
    network = ctx.membership.network
    schemes = onboarding_schemes_of(ctx.membership)
    has_own = schemes.filter(brand=brand).exists()
    steps = scheme_for(network, brand)
    form = SchemeForm(request.POST or None, steps=steps)
    if request.method == "POST" and form.is_valid():
        try:
            do_save_scheme(
                network=network,
                brand=brand,
                steps=form.steps,
                actor=request.user,
                actor_role=ctx.role,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if brand is None:
                messages.success(request, _("The network's onboarding steps were saved."))
                return redirect("organization:onboarding_network")
            messages.success(
                request,
                _("%(brand)s now has onboarding steps of its own.") % {"brand": brand.name},
            )
            return redirect("organization:onboarding_brand", brand_id=brand.pk)
    return render(
        request,
        "organization/onboarding_edit.html",
        {
            "ctx": ctx,
            "network": network,
            "target_brand": brand,  # not "brand": that is the site's own brand (base.html)
            "has_own": has_own,
            "form": form,
        },
        status=400 if form.is_bound else 200,
    )


@portal_view(PORTAL, needs=CONFIGURE)
@require_http_methods(["GET", "POST"])
def edit_network(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    return _editor(request, ctx, None)


@portal_view(PORTAL, needs=CONFIGURE)
@require_http_methods(["GET", "POST"])
def edit_brand(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    return _editor(request, ctx, access_brand(ctx.membership, brand_id))


@portal_view(PORTAL, needs=CONFIGURE)
@require_POST
def reset_network(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    do_reset_scheme(
        network=ctx.membership.network,
        brand=None,
        actor=request.user,
        actor_role=ctx.role,
        request=request,
    )
    messages.success(request, _("The network uses Caredoor's default onboarding steps again."))
    return redirect("organization:onboarding_network")


@portal_view(PORTAL, needs=CONFIGURE)
@require_POST
def reset_brand(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    brand = access_brand(ctx.membership, brand_id)
    do_reset_scheme(
        network=ctx.membership.network,
        brand=brand,
        actor=request.user,
        actor_role=ctx.role,
        request=request,
    )
    messages.success(
        request, _("%(brand)s uses the network's onboarding steps again.") % {"brand": brand.name}
    )
    return redirect("organization:onboarding_brand", brand_id=brand.pk)


# --- terms ---------------------------------------------------------------------------------


def _terms_page(
    request: HttpRequest,
    ctx: PortalContext,
    *,
    add_forms: dict[str, TermAddForm] | None = None,
    rename_form: tuple[int, TermRenameForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    terms = list(terms_managed_by(ctx.membership))
    usage = term_usage([t.pk for t in terms])
    add_forms = add_forms or {}
    sections = []
    for kind, label in TermKind.choices:
        rows = []
        for term in (t for t in terms if t.kind == kind):
            form = (
                rename_form[1]
                if rename_form and rename_form[0] == term.pk
                else TermRenameForm(term_id=term.pk, term_name=term.name)
            )
            rows.append({"term": term, "used": usage.get(term.pk, 0), "form": form})
        sections.append(
            {
                "kind": kind,
                "label": label,
                "rows": rows,
                "add_form": add_forms.get(kind) or TermAddForm(kind=kind),
            }
        )
    return render(
        request,
        "organization/terms.html",
        {"ctx": ctx, "network": ctx.membership.network, "sections": sections},
        status=status,
    )


@portal_view(PORTAL, needs=CONFIGURE)
@require_http_methods(["GET"])
def terms(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    return _terms_page(request, ctx)


@portal_view(PORTAL, needs=CONFIGURE)
@require_POST
def term_add(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    kind = request.POST.get("kind", "")
    if kind not in TermKind.values:
        kind = TermKind.SPECIALIZATION
    form = TermAddForm(request.POST, kind=kind)
    if form.is_valid():
        try:
            term = do_add_term(
                network=ctx.membership.network,
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
                actor=request.user,
                actor_role=ctx.role,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("“%(name)s” was added to the %(kind)s.")
                % {"name": term.name, "kind": _kind_plural(term.kind)},
            )
            return redirect("organization:terms")
    return _terms_page(request, ctx, add_forms={kind: form}, status=400)


def _kind_plural(kind: str) -> str:
    return _("specializations") if kind == TermKind.SPECIALIZATION else _("categories")


@portal_view(PORTAL, needs=CONFIGURE)
@require_POST
def term_rename(request: HttpRequest, ctx: PortalContext, term_id: int) -> HttpResponse:
    term = access_term(ctx.membership, term_id)
    form = TermRenameForm(request.POST, term_id=term.pk, term_name=term.name)
    if form.is_valid():
        before = term.name
        try:
            changed = do_rename_term(
                term,
                form.cleaned_data["name"],
                actor=request.user,
                actor_role=ctx.role,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            if changed:
                messages.success(
                    request,
                    _("“%(before)s” is now called “%(after)s”.")
                    % {"before": before, "after": " ".join(form.cleaned_data["name"].split())},
                )
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("organization:terms")
    return _terms_page(request, ctx, rename_form=(term.pk, form), status=400)


@portal_view(PORTAL, needs=CONFIGURE)
@require_POST
def term_delete(request: HttpRequest, ctx: PortalContext, term_id: int) -> HttpResponse:
    term = access_term(ctx.membership, term_id)
    try:
        do_delete_term(term, actor=request.user, actor_role=ctx.role, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("“%(name)s” was deleted.") % {"name": term.name})
    return redirect("organization:terms")
