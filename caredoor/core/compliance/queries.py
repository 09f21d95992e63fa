"""Scoped reads of the audit trail.

An operator sees the trail of their own network and nothing else. An event belongs to a
network when it happened on one of the network's brands, or, for events with no brand
(organization changes, roles in an organization, sign-ins on the platform host), when its
target is an object of that network: one of its organizations, memberships or
invitations, or a person who holds a role in it. Events with neither a brand nor such a
target (a failed sign-in on the platform host) belong to no network and are shown to none.
"""

from __future__ import annotations

from datetime import datetime

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from caredoor.core.compliance.models import AuditEvent


def _ids(qs: QuerySet) -> QuerySet:
    """The primary keys of ``qs`` as text, to compare with ``AuditEvent.target_id``."""
    return qs.annotate(_target_id=Cast("pk", CharField())).values("_target_id")


def network_scope(network_id: int) -> Q:
    """The events that belong to network ``network_id`` (see the module docstring)."""
    # The audit trail sits at the bottom, below brands, organizations and accounts: it
    # names their models by label instead of importing them, and only reads them.
    brand = apps.get_model("brands", "Brand")
    organization = apps.get_model("organizations", "Organization")
    membership = apps.get_model("accounts", "Membership")
    invitation = apps.get_model("accounts", "Invitation")
    user = get_user_model()
    targets = (
        Q(
            target_type=organization._meta.label_lower,
            target_id__in=_ids(organization.objects.filter(network_id=network_id)),
        )
        | Q(
            target_type=membership._meta.label_lower,
            target_id__in=_ids(membership.objects.filter(network_id=network_id)),
        )
        | Q(
            target_type=invitation._meta.label_lower,
            target_id__in=_ids(invitation.objects.filter(network_id=network_id)),
        )
        | Q(
            target_type=user._meta.label_lower,
            target_id__in=_ids(user.objects.filter(memberships__network_id=network_id)),
        )
        | Q(target_type="brands.network", target_id=str(network_id))
    )
    return Q(brand_id__in=brand.objects.filter(network_id=network_id).values("pk")) | (
        Q(brand__isnull=True) & targets
    )


def audit_events(
    *,
    network_id: int,
    brand_id: int | None = None,
    action: str = "",
    actor: str = "",
    target: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """The audit trail of one network, newest first, narrowed by the optional filters.

    ``action`` matches a prefix (``brand.`` finds ``brand.created`` and ``brand.updated``),
    ``actor`` and ``target`` match part of the label, case-insensitively; ``since`` is
    inclusive and ``until`` exclusive. ``brand_id`` only narrows: a brand of another
    network yields nothing.
    """
    qs = AuditEvent.objects.select_related("brand").filter(network_scope(network_id))
    if brand_id is not None:
        qs = qs.filter(brand_id=brand_id)
    if action:
        qs = qs.filter(action__startswith=action)
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if target:
        qs = qs.filter(target_label__icontains=target)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return qs.order_by("-seq")
