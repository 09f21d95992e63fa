"""Scoped lookups for the operator console: every helper takes the acting membership.

A brand, domain, organization or invitation outside the actor's reach raises ``Http404``,
exactly like one that does not exist. (These are reads for this portal only; they would
sit in ``core/brands/queries.py`` once another door needs them.)
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from caredoor.core.accounts.models import Invitation, Membership
from caredoor.core.accounts.policy import Role
from caredoor.core.accounts.queries import invitations_visible_to
from caredoor.core.brands.models import Brand, Domain
from caredoor.core.organizations.models import Organization


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
