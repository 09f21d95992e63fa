"""Scoped reads for accounts. Every helper takes the actor; forbidden and missing look alike."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from caredoor.core.accounts.models import Invitation, Membership
from caredoor.core.accounts.policy import PORTAL_ROLES, ROLE_PRECEDENCE, Role
from caredoor.core.brands.models import Brand, Domain
from caredoor.core.organizations.models import Organization, OrgKind

_PRECEDENCE = Case(
    *[When(role=role, then=Value(i)) for i, role in enumerate(ROLE_PRECEDENCE)],
    output_field=IntegerField(),
)


def memberships_on_brand(user: Any, brand: Brand | None) -> QuerySet[Membership]:
    """Active memberships that apply on ``brand`` (``None``: the platform host)."""
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    qs = Membership.objects.active().filter(user=user)
    if brand is None:
        qs = qs.filter(role=Role.OPERATOR)
    else:
        qs = qs.filter(network_id=brand.network_id).filter(
            Q(brand=brand)
            | Q(role=Role.SPECIALIST)
            | Q(organization__kind=OrgKind.OPERATOR)
            | Q(organization__brands=brand)
        )
    return (
        qs.select_related("brand", "organization", "network")
        .annotate(precedence=_PRECEDENCE)
        .order_by("precedence", "id")
        .distinct()
    )


def portal_memberships(user: Any, brand: Brand | None, portal: str) -> list[Membership]:
    return list(memberships_on_brand(user, brand).filter(role__in=PORTAL_ROLES[portal]))


def acting_membership(
    user: Any, brand: Brand | None, portal: str, preferred_id: int | None = None
) -> Membership | None:
    """The membership a person acts with in a portal: their choice if valid, else the first."""
    options = portal_memberships(user, brand, portal)
    chosen = next((m for m in options if m.pk == preferred_id), None)
    return chosen or (options[0] if options else None)


def members_visible_to(actor: Membership) -> QuerySet[Membership]:
    """People with roles, as an operator (whole network) or an org admin (own org) sees them."""
    qs = Membership.objects.active().select_related("user", "brand", "organization")
    if actor.role == Role.OPERATOR:
        return qs.filter(network_id=actor.network_id).order_by("role", "user__email")
    return qs.filter(organization_id=actor.organization_id).order_by("role", "user__email")


def access_membership(actor: Membership, membership_id: int) -> Membership:
    try:
        return members_visible_to(actor).get(pk=membership_id)
    except Membership.DoesNotExist:
        raise Http404 from None


def invitations_visible_to(actor: Membership) -> QuerySet[Invitation]:
    qs = Invitation.objects.select_related("brand", "organization", "invited_by")
    if actor.role == Role.OPERATOR:
        return qs.filter(network_id=actor.network_id)
    return qs.filter(organization_id=actor.organization_id)


def has_mfa(user: Any) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


# --- the operator console's reads: brands, domains, organizations, invitations ---------


def brands_managed_by(actor: Membership) -> QuerySet[Brand]:
    """The brands an operator manages: every brand of their own network."""
    if actor.role != Role.OPERATOR:
        return Brand.objects.none()
    return Brand.objects.filter(network_id=actor.network_id).prefetch_related("domains")


def access_brand(actor: Membership, brand_id: int) -> Brand:
    try:
        return brands_managed_by(actor).get(pk=brand_id)
    except Brand.DoesNotExist:
        raise Http404 from None


def access_domain(brand: Brand, domain_id: int) -> Domain:
    """A domain of ``brand`` (which the caller obtained through ``access_brand``)."""
    try:
        return Domain.objects.select_related("brand").get(pk=domain_id, brand=brand)
    except Domain.DoesNotExist:
        raise Http404 from None


def organizations_visible_to(actor: Membership) -> QuerySet[Organization]:
    """An operator sees every organization of the network; anyone else only their own."""
    qs = Organization.objects.filter(network_id=actor.network_id)
    if actor.role == Role.OPERATOR:
        return qs
    return qs.filter(pk=actor.organization_id)


def open_invitations_visible_to(actor: Membership) -> QuerySet[Invitation]:
    return invitations_visible_to(actor).filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def access_open_invitation(actor: Membership, invitation_id: int) -> Invitation:
    try:
        return open_invitations_visible_to(actor).get(pk=invitation_id)
    except Invitation.DoesNotExist:
        raise Http404 from None
