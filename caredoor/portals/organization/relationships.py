"""Care relationships (allocations) as an organization sees them, per brand.

The operator (every brand of its network) and clinic staff (the brands their organization
serves) see each relationship: brand, source, date, status, specialist and patient. An
employer organization's members see only counts per source and month, never a name
(``core.care.queries.sees_names`` decides, and the query itself returns nothing with names
to anyone else). Private notes are never read here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.brands.models import Brand
from caredoor.core.care.models import Source
from caredoor.core.care.queries import (
    allocation_counts,
    brands_seen_by,
    organization_relationships,
    sees_names,
)
from caredoor.portals.common.access import PortalContext, portal_view

PORTAL = Portal.ORGANIZATION
PER_PAGE = 50


def _specialist_name(rel: Any) -> str:
    published = getattr(rel.profile, "published", None)
    return (published.data.get("display_name", "") if published else "") or str(rel.profile)


def count_tables(membership: Any, brand: Brand | None, brands: list[Brand]) -> list[dict]:
    """Per brand: rows of (month, counts per source, total) and the sources as columns."""
    names = {b.pk: b for b in brands}
    per_brand: dict[int, dict] = defaultdict(lambda: defaultdict(dict))
    for c in allocation_counts(membership, brand):
        per_brand[c.brand_id][c.month][c.source] = c
    tables = []
    for brand_id, months in per_brand.items():
        rows = []
        for month in sorted(months, reverse=True):
            cells = months[month]
            rows.append(
                {
                    "month": month,
                    "cells": [(cells[s].started if s in cells else 0) for s in Source.values],
                    "started": sum(c.started for c in cells.values()),
                    "active": sum(c.active for c in cells.values()),
                }
            )
        tables.append({"brand": names.get(brand_id), "rows": rows})
    tables.sort(key=lambda t: t["brand"].name if t["brand"] else "")
    return tables


@require_GET
@portal_view(PORTAL, needs=Capability.VIEW_CARE)
def relationship_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    membership = ctx.membership
    brands = list(brands_seen_by(membership))
    wanted = request.GET.get("brand", "")
    brand = next((b for b in brands if str(b.pk) == wanted), None)
    names = sees_names(membership)
    context: dict[str, Any] = {
        "ctx": ctx,
        "brands": brands,
        "brand": brand,
        "sees_names": names,
        "sources": Source.choices,
        "tables": count_tables(membership, brand, brands),
    }
    if names:
        qs = organization_relationships(membership, brand).order_by("-created_at", "-pk")
        page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
        context.update(
            page=page,
            rows=[(rel, _specialist_name(rel)) for rel in page.object_list],
        )
    return render(request, "organization/relationships/list.html", context)
