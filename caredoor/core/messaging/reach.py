"""Whom organization staff may start a conversation with, on one brand.

- The **operator** organization: any patient of the brand, and any specialist of the
  network listed on the brand (a listing that is requested, approved or hidden; a removed
  listing no longer counts).
- A **clinic** or **clinic network**: the specialists it onboarded
  (``SpecialistProfile.onboarded_by``), and the patients in an active care relationship
  with one of them on the brand.
- An **employer**, and every other organization kind: nobody (``MESSAGING_ORG_KINDS``).

Only roles with ``Capability.MESSAGE_PEOPLE`` whose membership applies on the brand reach
anyone, and only people who still hold their role (an active patient role on the brand,
an active specialist role in the network). The chooser's lists (``reachable_patients``,
``reachable_specialists``) and the check before a thread is opened (``staff_may_reach``)
are the same query, so they can never disagree. Once a thread exists, who may read it is
decided by ``queries.side_of`` alone.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet

from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import Role
from caredoor.core.accounts.queries import memberships_on_brand
from caredoor.core.brands.models import Brand
from caredoor.core.care.models import CareRelationship
from caredoor.core.messaging.queries import MESSAGING_ORG_KINDS, STAFF_ROLES
from caredoor.core.organizations.models import OrgKind
from caredoor.core.specialists.choices import ListingStatus
from caredoor.core.specialists.models import Listing, SpecialistProfile

SEARCH_MAX = 100


def _may_message(membership: Any, brand: Brand) -> bool:
    """The membership is a messaging role of a messaging organization, applying here."""
    organization = getattr(membership, "organization", None)
    if (
        membership is None
        or membership.role not in STAFF_ROLES
        or organization is None
        or organization.kind not in MESSAGING_ORG_KINDS
        or organization.network_id != brand.network_id
    ):
        return False
    return memberships_on_brand(membership.user, brand).filter(pk=membership.pk).exists()


def _brand_patients(brand: Brand) -> QuerySet[Any]:
    ids = Membership.objects.active().filter(brand=brand, role=Role.PATIENT).values("user_id")
    return get_user_model().objects.filter(pk__in=ids, is_active=True)


def _network_specialists(brand: Brand) -> QuerySet[SpecialistProfile]:
    active_role = Membership.objects.active().filter(
        user_id=OuterRef("user_id"), network_id=brand.network_id, role=Role.SPECIALIST
    )
    return (
        SpecialistProfile.objects.filter(network_id=brand.network_id)
        .filter(Exists(active_role))
        .select_related("user", "published", "onboarded_by")
    )


def reachable_specialists(
    membership: Any, brand: Brand, *, search: str = ""
) -> QuerySet[SpecialistProfile]:
    """The specialists the membership's organization may write to on ``brand``."""
    if not _may_message(membership, brand):
        return SpecialistProfile.objects.none()
    qs = _network_specialists(brand)
    if membership.organization.kind == OrgKind.OPERATOR:
        listed = Listing.objects.filter(profile_id=OuterRef("pk"), brand=brand).exclude(
            status=ListingStatus.REMOVED
        )
        qs = qs.filter(Exists(listed))
    else:
        qs = qs.filter(onboarded_by_id=membership.organization_id)
    search = (search or "").strip()[:SEARCH_MAX]
    if search:
        qs = qs.filter(
            Q(display_name__icontains=search)
            | Q(published__data__display_name__icontains=search)
            | Q(user__name__icontains=search)
            | Q(user__email__icontains=search)
        )
    return qs.order_by("display_name", "pk")


def reachable_patients(membership: Any, brand: Brand, *, search: str = "") -> QuerySet[Any]:
    """The patients of ``brand`` the membership's organization may write to."""
    users = get_user_model().objects
    if not _may_message(membership, brand):
        return users.none()
    qs = _brand_patients(brand)
    if membership.organization.kind != OrgKind.OPERATOR:
        in_care = CareRelationship.objects.filter(
            brand=brand,
            patient_id=OuterRef("pk"),
            ended_at__isnull=True,
            profile__onboarded_by_id=membership.organization_id,
        )
        qs = qs.filter(Exists(in_care))
    search = (search or "").strip()[:SEARCH_MAX]
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(email__icontains=search))
    return qs.order_by("name", "email", "pk")


def staff_may_reach(
    membership: Any, brand: Brand, *, patient: Any = None, profile: Any = None
) -> bool:
    """Whether the membership's organization may open a conversation with ``patient`` or
    ``profile`` (exactly one of them) on ``brand``."""
    if (patient is None) == (profile is None):
        raise ValueError("reach one patient or one specialist")
    if profile is not None:
        return reachable_specialists(membership, brand).filter(pk=profile.pk).exists()
    return reachable_patients(membership, brand).filter(pk=patient.pk).exists()
