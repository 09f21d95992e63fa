"""Assisted scheduling, the team's side: the queue of patients' requests on the brands the
organization serves, a request's needs (every read audited), and allocating a listed
specialist, suggested by the matching rules. The specialist then proposes times.

Who: operators (every brand of the network), admins and staff of a client organization
(its bound brands) -- ``Capability.ALLOCATE_PATIENTS``. Finance and everyone else: 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.matching import actions, queries
from caredoor.core.matching.models import AssistanceRequest, AssistanceStatus, DayPart, Soon
from caredoor.core.specialists.choices import SPOKEN_LANGUAGES
from caredoor.portals.common.access import PortalContext, portal_view

PORTAL = Portal.ORGANIZATION
SUGGESTED = 5
TABS = [
    ("open", AssistanceStatus.OPEN.label),
    ("allocated", gettext_lazy("Allocated")),
    ("closed", AssistanceStatus.CLOSED.label),
]


def _name(profile: Any) -> str:
    published = getattr(profile, "published", None)
    return (published.data.get("display_name") if published else "") or profile.display_name


def _when(req: AssistanceRequest) -> dict[str, Any]:
    return {
        "language": SPOKEN_LANGUAGES.get(req.language, req.language),
        "weekdays": [WEEKDAYS[d] for d in req.weekdays if d in WEEKDAYS],
        "day_parts": [DayPart(p).label for p in req.day_parts if p in DayPart.values],
    }


@require_GET
@portal_view(PORTAL, needs=Capability.ALLOCATE_PATIENTS)
def queue(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    tab = request.GET.get("status", "open")
    if tab not in {t for t, _l in TABS}:
        tab = "open"
    wanted = {
        "open": [AssistanceStatus.OPEN],
        "allocated": [AssistanceStatus.ALLOCATED],
        "closed": [AssistanceStatus.CLOSED],
    }[tab]
    rows = list(
        queries.assistance_queue(ctx.membership)
        .filter(status__in=wanted)
        .order_by("brand__name", "created_at", "pk")[:500]
    )
    states = queries.statuses(rows)
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r.brand, []).append(
            {
                "req": r,
                "status": states[r.pk],
                "status_label": AssistanceStatus(states[r.pk]).label,
                "specialist": _name(r.profile) if r.profile else "",
                **_when(r),
            }
        )
    counts = {
        t: queries.assistance_queue(ctx.membership).filter(status=t).count()
        for t in ("open", "allocated", "closed")
    }
    return render(
        request,
        "organization/assisted/queue.html",
        {
            "ctx": ctx,
            "tab": tab,
            "tabs": [(t, label, counts[t], t == tab) for t, label in TABS],
            "groups": list(groups.items()),
        },
    )


def _suggestions(req: AssistanceRequest) -> list[dict[str, Any]]:
    """The brand's listed specialists ranked for the request's language (all of them
    when none speaks it), soon availability and room, over every offered session type."""
    answers = actions.Answers(languages=(req.language,), soon=Soon.FLEXIBLE)
    now = timezone.now()
    ranked = actions.rank_for(req.brand, answers, now=now, direct_only=False)
    if not ranked:
        ranked = actions.rank_for(req.brand, actions.Answers(), now=now, direct_only=False)
    listed = queries.listed_profiles(req.brand, [r.profile_id for r in ranked])
    rows = []
    for r in ranked:
        p = listed.get(r.profile_id)
        if p is None:
            continue
        langs = (p.data or {}).get("languages") or []
        rows.append(
            {
                "profile_id": r.profile_id,
                "name": (p.data or {}).get("display_name") or p.profile.display_name,
                "score": r.score,
                "languages": ", ".join(str(SPOKEN_LANGUAGES.get(c, c)) for c in langs),
                "specializations": ", ".join(t.name for t in p.specializations.all()),
                "first_free": r.first_free,
                "active": r.active_patients,
                "suggested": len(rows) < SUGGESTED,
            }
        )
    return rows


@require_GET
@portal_view(PORTAL, needs=Capability.ALLOCATE_PATIENTS)
def detail(request: HttpRequest, ctx: PortalContext, request_id: int) -> HttpResponse:
    req = queries.access_staff_assistance(ctx.membership, request_id)
    read = actions.read_assistance(req, reader=request.user, role=ctx.role, request=request)
    status = queries.assistance_status(req)
    return render(
        request,
        "organization/assisted/detail.html",
        {
            "ctx": ctx,
            "req": req,
            "read": read,
            "status": status,
            "status_label": AssistanceStatus(status).label,
            "specialist": _name(req.profile) if req.profile else "",
            "candidates": _suggestions(req) if req.status == AssistanceStatus.OPEN else [],
            **_when(req),
        },
    )


@require_POST
@portal_view(PORTAL, needs=Capability.ALLOCATE_PATIENTS)
def allocate(request: HttpRequest, ctx: PortalContext, request_id: int) -> HttpResponse:
    req = queries.access_staff_assistance(ctx.membership, request_id)
    try:
        profile_id = int(request.POST.get("profile", ""))
    except ValueError:
        messages.error(request, _("Choose a specialist from the list."))
        return redirect("organization:assisted_detail", request_id=req.pk)
    try:
        done = actions.do_allocate_assistance(
            req, profile_id=profile_id, actor=request.user, role=ctx.role, request=request
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("organization:assisted_detail", request_id=req.pk)
    messages.success(
        request,
        _("%(name)s was allocated and asked to propose times.") % {"name": _name(done.profile)},
    )
    return redirect("organization:assisted")


@require_POST
@portal_view(PORTAL, needs=Capability.ALLOCATE_PATIENTS)
def close(request: HttpRequest, ctx: PortalContext, request_id: int) -> HttpResponse:
    req = queries.access_staff_assistance(ctx.membership, request_id)
    try:
        actions.do_close_assistance(req, actor=request.user, role=ctx.role, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The request was closed."))
    return redirect("organization:assisted_detail", request_id=req.pk)
