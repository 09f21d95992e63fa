from __future__ import annotations

from typing import Any

from django.db import transaction

from caredoor.core.brands.models import Brand, Network
from caredoor.core.compliance import audit
from caredoor.core.organizations.models import Organization, OrgKind


@transaction.atomic
def do_create_organization(
    *,
    network: Network,
    kind: str,
    name: str,
    slug: str,
    brands: list[Brand],
    actor: Any = None,
    role: str = "",
) -> Organization:
    if any(b.network_id != network.pk for b in brands):
        raise ValueError("an organization can only be bound to brands of its own network")
    org = Organization.objects.create(network=network, kind=kind, name=name, slug=slug)
    if kind != OrgKind.OPERATOR:
        org.brands.set(brands)
    audit.record(
        "organization.created",
        actor=actor,
        role=role,
        target=org,
        data={"kind": kind, "brands": [b.slug for b in brands]},
    )
    return org
