"""Consent documents and patients' consent status, for the network's operator and the
client organizations bound to its brands.

- Operators (``consents.manage``) create documents for one brand or for every brand of the
  network and publish new versions of any document of their network.
- A client organization's admins (``consents.manage``) create and publish documents owned by
  their organization (they apply to every brand it serves); they see, read-only, the other
  documents that apply to their brands.
- Consent status per patient (``consents.view``): operators and clinics see names; an
  employer's people see counts per document only.
Documents of another network, or not applying to the viewer's brands, are 404.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.brands.choices import JourneyStage
from caredoor.core.care.queries import brands_seen_by, sees_names
from caredoor.core.consents import queries
from caredoor.core.consents.actions import (
    do_create_document,
    do_publish_version,
    do_set_document_active,
)
from caredoor.core.consents.models import ON_REQUEST, ConsentDocument, ConsentKind
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.forms import ModelErrorsMixin

PORTAL = Portal.ORGANIZATION
STATUS_SHOWN = 200

STAGE_CHOICES = [
    *JourneyStage.choices,
    (ON_REQUEST, gettext_lazy("Only when a specialist requires it (before their sessions)")),
]


class DocumentForm(ModelErrorsMixin, forms.Form):
    owner = forms.ChoiceField(label=gettext_lazy("Applies to"))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ConsentKind.choices)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=160)
    stage = forms.ChoiceField(
        label=gettext_lazy("Required"),
        choices=STAGE_CHOICES,
        help_text=gettext_lazy(
            "Terms and privacy are normally required at sign-up. A requirement of an "
            "earlier step is also due at every later one."
        ),
    )
    body = forms.CharField(
        label=gettext_lazy("Text (version 1)"),
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=gettext_lazy(
            "Plain text; blank lines separate paragraphs. Published versions never change."
        ),
    )

    def __init__(self, *args, ctx: PortalContext, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        org = ctx.membership.organization
        choices: list[tuple[str, str]] = []
        if org is not None and org.is_operator:
            choices.append(
                (f"org:{org.pk}", _("Every brand of the network (%(org)s)") % {"org": org.name})
            )
            choices += [(f"brand:{b.pk}", b.name) for b in brands_seen_by(ctx.membership)]
        elif org is not None:
            choices.append((f"org:{org.pk}", _("Every brand %(org)s serves") % {"org": org.name}))
        self.fields["owner"].choices = choices
        self.ctx = ctx

    def owner_kwargs(self) -> dict:
        kind, _sep, pk = self.cleaned_data["owner"].partition(":")
        if kind == "brand":
            return {"brand": queries.access_staff_brand(self.ctx.membership, int(pk))}
        return {"organization": self.ctx.membership.organization}


class VersionForm(ModelErrorsMixin, forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Text of the new version"), widget=forms.Textarea(attrs={"rows": 14})
    )
    summary = forms.CharField(
        label=gettext_lazy("What changed"),
        max_length=500,
        help_text=gettext_lazy(
            "Shown to patients when they are asked to sign again. Every patient must "
            "re-consent at their next step."
        ),
    )


def _document_rows(ctx: PortalContext) -> list[dict]:
    docs = list(queries.documents_for_staff(ctx.membership).order_by("title", "pk"))
    rows = []
    for d in docs:
        current = queries.current_version(d)
        rows.append(
            {
                "document": d,
                "current": current,
                "owner": d.brand.name if d.brand else d.organization.name,
                "stage": dict(STAGE_CHOICES).get(d.stage, d.stage),
                "manage": ctx.can(Capability.MANAGE_CONSENTS)
                and queries.can_manage_document(ctx.membership, d),
            }
        )
    return rows


@portal_view(PORTAL, needs=Capability.VIEW_CONSENTS)
@require_http_methods(["GET"])
def document_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brands = list(brands_seen_by(ctx.membership))
    return render(
        request,
        "organization/consents/list.html",
        {
            "ctx": ctx,
            "rows": _document_rows(ctx),
            "brands": brands,
            "without_module": [b for b in brands if not b.has_module("consents")],
            "can_manage": ctx.can(Capability.MANAGE_CONSENTS),
        },
    )


@portal_view(PORTAL, needs=Capability.MANAGE_CONSENTS)
@require_http_methods(["GET", "POST"])
def document_create(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    form = DocumentForm(request.POST if request.method == "POST" else None, ctx=ctx)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            document = do_create_document(
                kind=data["kind"],
                title=data["title"],
                stage=data["stage"],
                body=data["body"],
                actor=request.user,
                role=ctx.role,
                request=request,
                **form.owner_kwargs(),
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("“%(title)s” is published as version 1.") % {"title": document.title},
            )
            return redirect("organization:consent_document", document_id=document.pk)
    return render(
        request,
        "organization/consents/new.html",
        {"ctx": ctx, "form": form},
        status=400 if form.errors else 200,
    )


def _manageable(ctx: PortalContext, document: ConsentDocument) -> bool:
    return ctx.can(Capability.MANAGE_CONSENTS) and queries.can_manage_document(
        ctx.membership, document
    )


@portal_view(PORTAL, needs=Capability.VIEW_CONSENTS)
@require_http_methods(["GET", "POST"])
def document_detail(request: HttpRequest, ctx: PortalContext, document_id: int) -> HttpResponse:
    document = queries.access_staff_document(ctx.membership, document_id)
    manage = _manageable(ctx, document)
    if request.method == "POST" and not manage:
        raise Http404
    form = VersionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            version = do_publish_version(
                document,
                body=form.cleaned_data["body"],
                summary=form.cleaned_data["summary"],
                actor=request.user,
                role=ctx.role,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _(
                    "Version %(n)d is published. Patients are asked to sign it at their next "
                    "step; earlier signatures no longer count."
                )
                % {"n": version.number},
            )
            return redirect("organization:consent_document", document_id=document.pk)
    versions = list(document.versions.order_by("-number"))
    return render(
        request,
        "organization/consents/detail.html",
        {
            "ctx": ctx,
            "document": document,
            "versions": versions,
            "current": versions[0] if versions else None,
            "stage": dict(STAGE_CHOICES).get(document.stage, document.stage),
            "manage": manage,
            "form": form,
        },
        status=400 if form.errors else 200,
    )


@portal_view(PORTAL, needs=Capability.MANAGE_CONSENTS)
@require_POST
def document_active(request: HttpRequest, ctx: PortalContext, document_id: int) -> HttpResponse:
    document = queries.access_staff_document(ctx.membership, document_id)
    if not queries.can_manage_document(ctx.membership, document):
        raise Http404
    active = request.POST.get("active") == "1"
    do_set_document_active(
        document, active=active, actor=request.user, role=ctx.role, request=request
    )
    if active:
        messages.success(request, _("The document is asked for again."))
    else:
        messages.success(
            request, _("The document is retired: patients are no longer asked to sign it.")
        )
    return redirect("organization:consent_document", document_id=document.pk)


STATE_ORDER = ["signed", "outdated", "withdrawn", "missing"]


@portal_view(PORTAL, needs=Capability.VIEW_CONSENTS)
@require_http_methods(["GET"])
def consent_status_page(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brands = list(brands_seen_by(ctx.membership))
    chosen = request.GET.get("brand", "")
    brand = None
    if chosen.isdigit():
        brand = queries.access_staff_brand(ctx.membership, int(chosen))
    elif len(brands) == 1:
        brand = brands[0]
    names = sees_names(ctx.membership)
    patients: list[dict] = []
    counts: list[dict] = []
    total_patients = 0
    if brand is not None:
        everyone = queries.brand_patients(brand)
        total_patients = everyone.count()
        per_doc: dict[int, dict] = {}
        for user in everyone[:STATUS_SHOWN] if names else everyone:
            profiles = queries.patient_profiles(user, brand)
            rows = queries.consent_status(user, brand, profiles=profiles)
            for r in rows:
                entry = per_doc.setdefault(
                    r.document.pk,
                    {"document": r.document, "current": r.current, **dict.fromkeys(STATE_ORDER, 0)},
                )
                entry[r.state] += 1
            if names:
                required = [r for r in rows if r.is_required]
                patients.append(
                    {
                        "user": user,
                        "rows": rows,
                        "signed": sum(1 for r in required if r.is_signed),
                        "total": len(required),
                    }
                )
        counts = sorted(per_doc.values(), key=lambda e: (e["document"].title, e["document"].pk))
    return render(
        request,
        "organization/consents/status.html",
        {
            "ctx": ctx,
            "brands": brands,
            "brand": brand,
            "names": names,
            "patients": patients,
            "counts": counts,
            "total_patients": total_patients,
            "truncated": names and total_patients > STATUS_SHOWN,
            "shown": STATUS_SHOWN,
        },
    )
