"""Scoped reads of the specialist network. Forbidden and missing both raise Http404."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import Http404

from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import Role
from caredoor.core.brands.models import Brand
from caredoor.core.specialists.choices import PUBLIC_FIELDS, ListingStatus, ProfileStatus
from caredoor.core.specialists.models import (
    CredentialDocument,
    Listing,
    OnboardingScheme,
    PublishedProfile,
    SpecialistProfile,
    Term,
)

REVIEWER_ROLES = {Role.OPERATOR, Role.ORG_ADMIN, Role.ORG_STAFF}


def own_profile(user: Any, network_id: int) -> SpecialistProfile | None:
    return SpecialistProfile.objects.filter(user=user, network_id=network_id).first()


def public_profiles_on(brand: Brand) -> QuerySet[PublishedProfile]:
    """What patients of ``brand`` may see: approved, published, listed here, still active."""
    active_specialist = Membership.objects.active().filter(
        user_id=OuterRef("profile__user_id"), network_id=brand.network_id, role=Role.SPECIALIST
    )
    return (
        PublishedProfile.objects.filter(
            profile__network_id=brand.network_id,
            profile__listings__brand=brand,
            profile__listings__status=ListingStatus.APPROVED,
        )
        .filter(Exists(active_specialist))
        .select_related("profile", "photo")
        .prefetch_related("specializations", "categories")
        .order_by("data__display_name", "pk")
    )


def access_public_profile(brand: Brand, profile_id: int) -> PublishedProfile:
    try:
        return public_profiles_on(brand).get(profile_id=profile_id)
    except PublishedProfile.DoesNotExist:
        raise Http404 from None


def listing_on(brand: Brand, profile: SpecialistProfile) -> Listing:
    return Listing.objects.select_related("brand", "profile").get(brand=brand, profile=profile)


def profiles_reviewable_by(actor: Membership) -> QuerySet[SpecialistProfile]:
    """Operators review the whole network; organization admins and staff their own."""
    qs = SpecialistProfile.objects.select_related("user", "onboarded_by", "registered_on")
    if actor.role == Role.OPERATOR:
        return qs.filter(network_id=actor.network_id)
    if actor.role in REVIEWER_ROLES:
        return qs.filter(network_id=actor.network_id, onboarded_by_id=actor.organization_id)
    return qs.none()


def review_queue(actor: Membership) -> QuerySet[SpecialistProfile]:
    return (
        profiles_reviewable_by(actor)
        .filter(status=ProfileStatus.SUBMITTED)
        .order_by("submitted_at")
    )


def access_reviewable_profile(actor: Membership, profile_id: int) -> SpecialistProfile:
    try:
        return profiles_reviewable_by(actor).get(pk=profile_id)
    except SpecialistProfile.DoesNotExist:
        raise Http404 from None


def access_document(actor: Membership, document_id: int) -> CredentialDocument:
    """A credential document, for its specialist or a reviewer of that specialist."""
    qs = CredentialDocument.objects.select_related("file", "profile")
    if actor.role == Role.SPECIALIST:
        qs = qs.filter(profile__user_id=actor.user_id, profile__network_id=actor.network_id)
    else:
        qs = qs.filter(profile__in=profiles_reviewable_by(actor))
    try:
        return qs.get(pk=document_id)
    except CredentialDocument.DoesNotExist:
        raise Http404 from None


def listings_managed_by(actor: Membership) -> QuerySet[Listing]:
    """Operators decide listings on every brand of their network."""
    if actor.role != Role.OPERATOR:
        return Listing.objects.none()
    return Listing.objects.filter(brand__network_id=actor.network_id).select_related(
        "profile", "brand", "profile__user"
    )


def access_listing_as_staff(actor: Membership, listing_id: int) -> Listing:
    try:
        return listings_managed_by(actor).get(pk=listing_id)
    except Listing.DoesNotExist:
        raise Http404 from None


def access_own_listing(profile: SpecialistProfile, listing_id: int) -> Listing:
    try:
        return Listing.objects.select_related("brand").get(pk=listing_id, profile=profile)
    except Listing.DoesNotExist:
        raise Http404 from None


# --- reads for the specialist and patient portals (issue 3: wizard, listings, directory) ---


def terms_for(network_id: int, kind: str) -> QuerySet[Term]:
    """A network's vocabulary of one kind (specializations or categories), by name."""
    return Term.objects.filter(network_id=network_id, kind=kind).order_by("name", "pk")


def listing_brands(profile: SpecialistProfile) -> QuerySet[Brand]:
    """The brands a specialist may ask to be listed on: the active brands of their network."""
    return Brand.objects.filter(network_id=profile.network_id, is_active=True).order_by(
        "name", "pk"
    )


def access_listing_brand(profile: SpecialistProfile, brand_id: int) -> Brand:
    try:
        return listing_brands(profile).get(pk=brand_id)
    except Brand.DoesNotExist:
        raise Http404 from None


def listings_of(profile: SpecialistProfile) -> QuerySet[Listing]:
    return Listing.objects.filter(profile=profile).select_related("brand", "profile")


def public_listings_on(brand: Brand, profile_ids: list[int]) -> dict[int, Listing]:
    """The approved listings on ``brand`` of the given (already visible) profiles."""
    return {
        listing.profile_id: listing
        for listing in Listing.objects.filter(
            brand=brand, profile_id__in=profile_ids, status=ListingStatus.APPROVED
        ).select_related("brand", "profile")
    }


def published_version(profile: SpecialistProfile) -> PublishedProfile | None:
    """The approved version of one's own profile that patients see, if any."""
    return (
        PublishedProfile.objects.filter(profile=profile)
        .select_related("profile", "photo")
        .prefetch_related("specializations", "categories")
        .first()
    )


def is_public_on(brand: Brand, profile: SpecialistProfile) -> bool:
    """Whether patients of ``brand`` see ``profile`` now (the directory's own rule)."""
    return public_profiles_on(brand).filter(profile=profile).exists()


# --- organization portal ---------------------------------------------------------------------
# Reads of the organization portal's review queue, listings and onboarding configuration.
# This section's own imports stay here so that it can be read (and merged) on its own.


def profile_status_counts(actor: Membership) -> dict[str, int]:
    """How many profiles the actor may review are in each status (every status present)."""
    counts = dict(
        profiles_reviewable_by(actor)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in ProfileStatus.values}


def unpublished_changes(profile: SpecialistProfile) -> set[str]:
    """Public fields whose working value differs from the published version (empty when
    nothing is published yet: then everything is new)."""
    published = PublishedProfile.objects.filter(profile=profile).first()
    if published is None:
        return set()
    changed = set()
    for field in PUBLIC_FIELDS:
        if field in ("specializations", "categories"):
            now = set(getattr(profile, field).values_list("pk", flat=True))
            then = set(getattr(published, field).values_list("pk", flat=True))
        elif field == "photo":
            now, then = profile.photo_id, published.photo_id
        else:
            now, then = getattr(profile, field), published.data.get(field)
        if now != then:
            changed.add(field)
    return changed


def requested_listing_count(actor: Membership) -> int:
    return listings_managed_by(actor).filter(status=ListingStatus.REQUESTED).count()


def onboarding_schemes_of(actor: Membership) -> QuerySet[OnboardingScheme]:
    """The schemes an operator configures: the network's own and its brands' overrides."""
    if actor.role != Role.OPERATOR:
        return OnboardingScheme.objects.none()
    return OnboardingScheme.objects.filter(network_id=actor.network_id)


def terms_managed_by(actor: Membership) -> QuerySet[Term]:
    """The network's specializations and categories, for the operator who maintains them."""
    if actor.role != Role.OPERATOR:
        return Term.objects.none()
    return Term.objects.filter(network_id=actor.network_id).order_by("kind", "name", "pk")


def access_term(actor: Membership, term_id: int) -> Term:
    try:
        return terms_managed_by(actor).get(pk=term_id)
    except Term.DoesNotExist:
        raise Http404 from None


def term_usage(term_ids: list[int]) -> dict[int, int]:
    """How many specialist profiles use each term, in their working copy or their published
    version (a profile is counted once per term)."""
    users: dict[int, set[int]] = {pk: set() for pk in term_ids}
    for field in ("specializations", "categories"):
        working = SpecialistProfile._meta.get_field(field).remote_field.through
        published = PublishedProfile._meta.get_field(field).remote_field.through
        pairs = [
            *working.objects.filter(term_id__in=term_ids).values_list(
                "term_id", "specialistprofile_id"
            ),
            *published.objects.filter(term_id__in=term_ids).values_list(
                "term_id", "publishedprofile__profile_id"
            ),
        ]
        for term_id, profile_id in pairs:
            users[term_id].add(profile_id)
    return {pk: len(found) for pk, found in users.items()}


def public_name(profile: Any) -> str:
    """The name patients see: the published one, else the working copy's, else the user's.
    The one implementation; booking emails, invites, messaging and the portals use it."""
    try:
        published = profile.published
    except Exception:  # never published (RelatedObjectDoesNotExist)
        published = None
    return (
        (published.data.get("display_name", "") if published else "")
        or profile.display_name
        or profile.user.display_name
    )
