from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from caredoor.core.accounts.policy import Capability, Portal, Role
from caredoor.core.accounts.queries import (
    brands_managed_by,
    members_visible_to,
    open_invitations_visible_to,
)
from caredoor.core.compliance.queries import audit_events
from caredoor.core.organizations.models import Organization
from caredoor.core.specialists.queries import requested_listing_count, review_queue
from caredoor.portals.common import account
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.audit import compact_data, role_label

PORTAL = Portal.ORGANIZATION
LATEST_EVENTS = 5


def _people_by_role(ctx: PortalContext) -> list[tuple[str, int]]:
    counts = dict(
        members_visible_to(ctx.membership)
        .order_by()
        .values_list("role")
        .annotate(n=Count("user", distinct=True))
    )
    return [(label, counts[value]) for value, label in Role.choices if counts.get(value)]


@portal_view(PORTAL)
def dashboard(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    context: dict = {"ctx": ctx, "is_operator": ctx.role == Role.OPERATOR}
    # What needs attention: profiles waiting for a decision, listings waiting for approval.
    if ctx.can(Capability.REVIEW_SPECIALISTS):
        context["to_review"] = review_queue(ctx.membership).count()
    if ctx.can(Capability.MANAGE_LISTINGS):
        context["listings_requested"] = requested_listing_count(ctx.membership)
    if ctx.role == Role.OPERATOR:
        network_id = ctx.membership.network_id
        brands = list(brands_managed_by(ctx.membership).order_by("name"))
        latest = audit_events(network_id=network_id)[:LATEST_EVENTS]
        context.update(
            network=ctx.membership.network,
            brands=brands,
            active_brands=sum(1 for b in brands if b.is_active),
            organizations=Organization.objects.filter(network_id=network_id).count(),
            people_by_role=_people_by_role(ctx),
            people=members_visible_to(ctx.membership).values("user").distinct().count(),
            open_invitations=open_invitations_visible_to(ctx.membership).count(),
            latest=[(e, role_label(e.actor_role), compact_data(e.data)) for e in latest],
        )
    else:
        organization = ctx.membership.organization
        context.update(
            organization=organization,
            org_brands=organization.brands.prefetch_related("domains").order_by("name")
            if organization
            else [],
            people=(
                members_visible_to(ctx.membership).values("user").distinct().count()
                if organization
                else 0
            ),
            people_by_role=_people_by_role(ctx) if organization else [],
            can_view_members=ctx.can(Capability.VIEW_MEMBERS),
        )
    return render(request, "organization/dashboard.html", context)


account_view = portal_view(PORTAL)(account.profile)
