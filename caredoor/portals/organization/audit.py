"""The audit trail of the operator's network: filters, paging, and the chain check."""

from __future__ import annotations

import json
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from caredoor.core.accounts.policy import Capability, Portal, Role
from caredoor.core.compliance.audit import verify_chain
from caredoor.core.compliance.queries import audit_events
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.forms import AuditFilterForm

PORTAL = Portal.ORGANIZATION
PER_PAGE = 50
VALUE_LIMIT = 80


def _text(value: Any) -> str:
    if value is None:
        text = "—"
    elif isinstance(value, str):
        text = value or "“”"
    elif isinstance(value, list):
        text = ", ".join(_text(v) for v in value) or "[]"
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…"


def compact_data(data: Any) -> list[tuple[str, str]]:
    """An event's data as short ``(key, value)`` lines; a change reads ``old → new``."""
    if not isinstance(data, dict):
        return [("", _text(data))] if data else []
    lines: list[tuple[str, str]] = []
    for key, value in data.items():
        if key == "changes" and isinstance(value, dict):
            for field, change in value.items():
                if isinstance(change, dict) and {"from", "to"} <= set(change):
                    lines.append((field, f"{_text(change['from'])} → {_text(change['to'])}"))
                else:
                    lines.append((field, _text(change)))
        elif isinstance(value, dict):
            lines.extend((f"{key}.{k}", _text(v)) for k, v in value.items())
        else:
            lines.append((key, _text(value)))
    return lines


def role_label(value: str) -> str:
    return str(Role(value).label) if value in Role.values else value


@portal_view(PORTAL, needs=Capability.VIEW_AUDIT)
@require_http_methods(["GET", "POST"])
def audit_trail(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """GET lists the trail; POST (the "Verify chain" button) also checks the hash chain."""
    filters = AuditFilterForm(request.GET or None, actor=ctx.membership)
    filters.is_valid()
    events = audit_events(network_id=ctx.membership.network_id, **filters.filters())
    page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
    rows = [(e, role_label(e.actor_role), compact_data(e.data)) for e in page]
    report = verify_chain() if request.method == "POST" else None
    return render(
        request,
        "organization/audit.html",
        {
            "ctx": ctx,
            "filters": filters,
            "page": page,
            "rows": rows,
            "report": report,
            "filtered": filters.is_bound and any(filters.filters().values()),
        },
    )
