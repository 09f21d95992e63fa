"""Every state change of the specialist network: registration, onboarding, review, listings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from caredoor.core.accounts.actions import do_create_account, do_grant_membership
from caredoor.core.accounts.models import Membership, User
from caredoor.core.accounts.policy import Role
from caredoor.core.brands.choices import BillingModel, PricingMode
from caredoor.core.brands.models import Brand, Network
from caredoor.core.compliance import audit
from caredoor.core.organizations.models import Organization, OrgKind
from caredoor.core.specialists import notify
from caredoor.core.specialists.choices import (
    PUBLIC_FIELDS,
    Decision,
    ListingStatus,
    PricingControl,
    ProfileStatus,
    TermKind,
)
from caredoor.core.specialists.models import (
    CredentialDocument,
    Listing,
    OnboardingScheme,
    PublishedProfile,
    ReviewDecision,
    SpecialistProfile,
    Term,
)
from caredoor.core.specialists.queries import term_usage
from caredoor.core.specialists.scheme import Step, scheme_for, validate_steps

M2M_FIELDS = ("specializations", "categories")
EDITABLE_STATUSES = {
    ProfileStatus.DRAFT,
    ProfileStatus.CHANGES_REQUESTED,
    ProfileStatus.APPROVED,
    ProfileStatus.SUBMITTED,
}


def _brand(request: HttpRequest | None) -> Brand | None:
    return getattr(request, "brand", None)


# --- configuration ------------------------------------------------------------------------


@transaction.atomic
def do_save_scheme(
    *,
    network: Network,
    brand: Brand | None,
    steps: list[dict],
    actor: Any,
    actor_role: str,
    request: HttpRequest | None = None,
) -> OnboardingScheme:
    steps = validate_steps(steps)
    if brand is not None and brand.network_id != network.pk:
        raise ValidationError(_("That brand belongs to another network."))
    scheme, _created = OnboardingScheme.objects.update_or_create(
        network=network, brand=brand, defaults={"steps": steps}
    )
    audit.record(
        "onboarding.scheme_saved",
        actor=actor,
        role=actor_role,
        target=scheme,
        brand=brand,
        request=request,
        data={"steps": steps},
    )
    return scheme


@transaction.atomic
def do_reset_scheme(
    *,
    network: Network,
    brand: Brand | None,
    actor: Any,
    actor_role: str,
    request: HttpRequest | None = None,
) -> None:
    deleted, _rows = OnboardingScheme.objects.filter(network=network, brand=brand).delete()
    if deleted:
        audit.record(
            "onboarding.scheme_reset",
            actor=actor,
            role=actor_role,
            brand=brand,
            request=request,
            data={"network": network.slug},
        )


# --- registration and onboarding -------------------------------------------------------------


@transaction.atomic
def do_register_specialist(
    user: User, brand: Brand, *, request: HttpRequest | None = None
) -> SpecialistProfile:
    """Make ``user`` a specialist of the brand's network with a draft profile (idempotent)."""
    network = brand.network
    existing = SpecialistProfile.objects.filter(user=user, network=network).first()
    if existing:
        return existing
    operator = Organization.objects.get(network=network, kind=OrgKind.OPERATOR)
    do_grant_membership(
        user=user,
        role=Role.SPECIALIST,
        network=network,
        actor=user,
        actor_role=Role.SPECIALIST,
        request=request,
    )
    profile = SpecialistProfile.objects.create(
        user=user,
        network=network,
        registered_on=brand,
        onboarded_by=operator,
        display_name=user.name,
        time_zone=user.time_zone or brand.time_zone,
        phone=user.phone,
    )
    audit.record(
        "specialist.registered",
        actor=user,
        role=Role.SPECIALIST,
        target=profile,
        brand=brand,
        request=request,
    )
    return profile


@transaction.atomic
def do_register_new_specialist(
    *, email: str, password: str, name: str, brand: Brand, request: HttpRequest | None = None
) -> SpecialistProfile:
    """A visitor joins as a specialist: account, specialist role and draft profile together."""
    user = do_create_account(email=email, password=password, name=name, request=request)
    return do_register_specialist(user, brand, request=request)


def steps_of(profile: SpecialistProfile) -> list[Step]:
    return scheme_for(profile.network, profile.registered_on)


def has_value(profile: SpecialistProfile, field: str) -> bool:
    if field in M2M_FIELDS:
        return getattr(profile, field).exists()
    if field == "documents":
        return profile.documents.exists()
    if field == "photo":
        return profile.photo_id is not None
    value = getattr(profile, field)
    if field == "practice_preferences":
        return bool(value.get("session_formats"))
    return bool(value)


def missing_fields(profile: SpecialistProfile) -> dict[str, list[str]]:
    """Required fields still empty, by step key (empty dict: ready to submit)."""
    missing = {}
    for step in steps_of(profile):
        empty = [f for f in step.fields if f in step.required and not has_value(profile, f)]
        if empty:
            missing[step.key] = empty
    return missing


def _snapshot_value(profile: SpecialistProfile, field: str) -> Any:
    if field in M2M_FIELDS:
        return sorted(getattr(profile, field).values_list("pk", flat=True))
    if field == "photo":
        return str(profile.photo_id) if profile.photo_id else None
    return getattr(profile, field)


@transaction.atomic
def do_save_step(
    profile: SpecialistProfile,
    step_key: str,
    values: dict[str, Any],
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> list[str]:
    """Save one wizard step's cleaned values; return the names of the fields that changed.

    Editing a public field of an approved profile sends the profile back to review; the
    approved version stays what patients see until the next approval.
    """
    profile = SpecialistProfile.objects.select_for_update().get(pk=profile.pk)
    if profile.status not in EDITABLE_STATUSES:
        raise ValidationError(_("This profile can no longer be edited."))
    published = PublishedProfile.objects.filter(profile=profile).first()
    if profile.status == ProfileStatus.SUBMITTED and published is None:
        # A first submission is frozen while it is reviewed; a published profile's pending
        # update may still be refined.
        raise ValidationError(_("Your profile is being reviewed; it cannot be edited now."))
    replaced_photo = None
    step = next((s for s in steps_of(profile) if s.key == step_key), None)
    if step is None:
        raise ValidationError(_("There is no such step."))
    changed = []
    for field in step.fields:
        if field not in values or field == "documents":
            continue
        before = _snapshot_value(profile, field)
        if field in M2M_FIELDS:
            getattr(profile, field).set(values[field])
        elif field == "photo":
            if values[field] is not None:
                replaced_photo = profile.photo
                profile.photo = values[field]
        else:
            setattr(profile, field, values[field])
        if _snapshot_value(profile, field) != before:
            changed.append(field)
    profile.current_step = step_key
    resubmitted = bool(
        profile.status == ProfileStatus.APPROVED and set(changed) & set(PUBLIC_FIELDS)
    )
    if resubmitted:
        profile.status = ProfileStatus.SUBMITTED
        profile.submitted_at = timezone.now()
    profile.full_clean(exclude=["user", "network", "registered_on", "onboarded_by", "photo"])
    profile.save()
    if replaced_photo is not None and (
        published is None or published.photo_id != replaced_photo.pk
    ):
        from caredoor.core.compliance.uploads import delete_file

        delete_file(replaced_photo)  # the blob goes when this transaction commits
    if changed:
        audit.record(
            "specialist.profile_edited",
            actor=actor,
            role=Role.SPECIALIST,
            target=profile,
            brand=_brand(request),
            request=request,
            data={"step": step_key, "fields": changed, "back_to_review": resubmitted},
        )
    return changed


@transaction.atomic
def do_add_document(
    profile: SpecialistProfile,
    *,
    kind: str,
    title: str,
    stored: Any,
    actor: User,
    request: HttpRequest | None = None,
) -> CredentialDocument:
    document = CredentialDocument.objects.create(
        profile=profile, kind=kind, title=title, file=stored
    )
    audit.record(
        "specialist.document_added",
        actor=actor,
        role=Role.SPECIALIST,
        target=document,
        brand=_brand(request),
        request=request,
        data={"kind": kind},
    )
    return document


@transaction.atomic
def do_remove_document(
    document: CredentialDocument, *, actor: User, request: HttpRequest | None = None
) -> None:
    from caredoor.core.compliance.uploads import delete_file

    stored = document.file
    audit.record(
        "specialist.document_removed",
        actor=actor,
        role=Role.SPECIALIST,
        target=document,
        brand=_brand(request),
        request=request,
        data={"kind": document.kind},
    )
    document.delete()
    transaction.on_commit(lambda: delete_file(stored))


@transaction.atomic
def do_submit(
    profile: SpecialistProfile, *, actor: User, request: HttpRequest | None = None
) -> None:
    profile = SpecialistProfile.objects.select_for_update().get(pk=profile.pk)
    if profile.status not in {ProfileStatus.DRAFT, ProfileStatus.CHANGES_REQUESTED}:
        raise ValidationError(_("This profile is not a draft."))
    missing = missing_fields(profile)
    if missing:
        raise ValidationError(
            _("Some required information is missing."),
            code="incomplete",
            params={"missing": missing},
        )
    profile.status = ProfileStatus.SUBMITTED
    profile.submitted_at = timezone.now()
    profile.save(update_fields=["status", "submitted_at", "updated_at"])
    audit.record(
        "specialist.submitted",
        actor=actor,
        role=Role.SPECIALIST,
        target=profile,
        brand=_brand(request),
        request=request,
    )


# --- review -------------------------------------------------------------------------------------


def _publish(profile: SpecialistProfile) -> PublishedProfile:
    data = {
        f: _snapshot_value(profile, f)
        for f in PUBLIC_FIELDS
        if f not in M2M_FIELDS and f != "photo"
    }
    published, _created = PublishedProfile.objects.update_or_create(
        profile=profile,
        defaults={"data": data, "photo": profile.photo, "published_at": timezone.now()},
    )
    published.specializations.set(profile.specializations.all())
    published.categories.set(profile.categories.all())
    return published


@transaction.atomic
def do_review(
    profile: SpecialistProfile,
    *,
    decision: str,
    reason: str = "",
    fields: dict[str, str] | None = None,
    reviewer: Membership,
    request: HttpRequest | None = None,
) -> ReviewDecision:
    """Approve, request changes on named fields, or reject; the specialist is told by email."""
    profile = SpecialistProfile.objects.select_for_update().get(pk=profile.pk)
    if profile.status != ProfileStatus.SUBMITTED:
        raise ValidationError(_("Only a submitted profile can be reviewed."))
    fields = {k: v.strip() for k, v in (fields or {}).items() if k}
    reason = reason.strip()
    if decision == Decision.APPROVE:
        profile.status = ProfileStatus.APPROVED
        profile.requested_changes = {}
        _publish(profile)
    elif decision == Decision.REQUEST_CHANGES:
        if not fields:
            raise ValidationError(_("Name at least one field that needs changes."))
        from caredoor.core.specialists.choices import PROFILE_FIELDS

        unknown = [f for f in fields if f not in PROFILE_FIELDS]
        if unknown:
            raise ValidationError(_("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)})
        profile.status = ProfileStatus.CHANGES_REQUESTED
        profile.requested_changes = fields
    elif decision == Decision.REJECT:
        if not reason:
            raise ValidationError(_("Give the specialist a reason for the rejection."))
        # An update of an already published profile is turned down; what patients see stays.
        profile.status = (
            ProfileStatus.APPROVED if hasattr(profile, "published") else ProfileStatus.REJECTED
        )
    else:
        raise ValidationError(_("Unknown decision."))
    profile.save(update_fields=["status", "requested_changes", "updated_at"])
    record = ReviewDecision.objects.create(
        profile=profile,
        reviewer=reviewer.user,
        reviewer_role=reviewer.role,
        decision=decision,
        reason=reason,
        fields=fields,
    )
    audit.record(
        f"specialist.review.{decision}",
        actor=reviewer.user,
        role=reviewer.role,
        target=profile,
        brand=_brand(request),
        request=request,
        data={"reason": reason, "fields": sorted(fields)},
    )
    transaction.on_commit(lambda: notify.review_decided(record.pk))
    return record


@transaction.atomic
def do_set_relationship(
    profile: SpecialistProfile,
    *,
    organization: Organization,
    relationship: str,
    pricing_control: str,
    actor: Membership,
    request: HttpRequest | None = None,
) -> None:
    if organization.network_id != profile.network_id:
        raise ValidationError(_("That organization belongs to another network."))
    before = (profile.onboarded_by_id, profile.relationship, profile.pricing_control)
    profile.onboarded_by = organization
    profile.relationship = relationship
    profile.pricing_control = pricing_control
    profile.full_clean(exclude=["user", "network", "registered_on", "photo"])
    profile.save(update_fields=["onboarded_by", "relationship", "pricing_control", "updated_at"])
    audit.record(
        "specialist.relationship_set",
        actor=actor.user,
        role=actor.role,
        target=profile,
        brand=_brand(request),
        request=request,
        data={"from": list(before), "to": [organization.pk, relationship, pricing_control]},
    )


# --- listings -------------------------------------------------------------------------------------


def specialist_sets_price(profile: SpecialistProfile, brand: Brand) -> bool:
    return (
        brand.pricing_mode == PricingMode.SPECIALIST_SET
        and profile.pricing_control == PricingControl.SPECIALIST
    )


def _check_price(price_minor: int | None, required: bool) -> int | None:
    if price_minor is None:
        if required:
            raise ValidationError({"price_minor": _("Set your price for this brand.")})
        return None
    if price_minor <= 0:
        raise ValidationError({"price_minor": _("The price must be more than zero.")})
    return price_minor


@transaction.atomic
def do_request_listing(
    profile: SpecialistProfile,
    brand: Brand,
    *,
    session_offer: str,
    price_minor: int | None,
    actor: User,
    request: HttpRequest | None = None,
) -> Listing:
    if brand.network_id != profile.network_id:
        raise ValidationError(_("That brand is not part of your network."))
    own_price = specialist_sets_price(profile, brand)
    price = _check_price(price_minor, required=own_price) if own_price else None
    listing = Listing.objects.select_for_update().filter(profile=profile, brand=brand).first()
    if listing and listing.status != ListingStatus.REMOVED:
        raise ValidationError(_("You are already listed on this brand, or have asked to be."))
    if listing is None:
        listing = Listing(profile=profile, brand=brand)
    listing.status = ListingStatus.REQUESTED
    listing.session_offer = session_offer.strip()
    if own_price:
        listing.price_minor = price
    listing.decided_by, listing.decided_at, listing.decision_note = None, None, ""
    listing.save()
    audit.record(
        "listing.requested",
        actor=actor,
        role=Role.SPECIALIST,
        target=listing,
        brand=brand,
        request=request,
        data={"price_minor": listing.price_minor},
    )
    return listing


@transaction.atomic
def do_update_listing(
    listing: Listing,
    *,
    session_offer: str,
    price_minor: int | None,
    actor: Membership,
    request: HttpRequest | None = None,
) -> None:
    """The specialist edits offer (and price where they control it); staff edit the price
    where the organization or the brand controls it."""
    listing = (
        Listing.objects.select_for_update().select_related("profile", "brand").get(pk=listing.pk)
    )
    own_price = specialist_sets_price(listing.profile, listing.brand)
    changes: dict[str, Any] = {}
    if actor.role == Role.SPECIALIST:
        if session_offer.strip() != listing.session_offer:
            changes["session_offer"] = session_offer.strip()
        if own_price:
            price = _check_price(price_minor, required=True)
            if price != listing.price_minor:
                changes["price_minor"] = price
    else:
        if own_price or listing.brand.pricing_mode == PricingMode.BRAND_FIXED:
            raise ValidationError(_("The price of this listing is not yours to set."))
        price = _check_price(price_minor, required=True)
        if price != listing.price_minor:
            changes["price_minor"] = price
    if not changes:
        return
    before = {k: getattr(listing, k) for k in changes}
    for k, v in changes.items():
        setattr(listing, k, v)
    listing.save(update_fields=list(changes))
    audit.record(
        "listing.updated",
        actor=actor.user,
        role=actor.role,
        target=listing,
        brand=listing.brand,
        request=request,
        data={"from": before, "to": changes},
    )


@transaction.atomic
def do_set_listing_billing(
    listing: Listing,
    *,
    commission_percent: Decimal | None,
    bills_via_connect: bool,
    actor: Membership,
    request: HttpRequest | None = None,
) -> None:
    """The operator sets a listing's commission override (None: the brand's) and, on a
    hybrid brand, whether its sessions are charged to the specialist's Stripe account."""
    listing = Listing.objects.select_for_update().select_related("brand").get(pk=listing.pk)
    if commission_percent is not None and not 0 <= commission_percent <= 100:
        raise ValidationError(
            {"commission_percent": _("Enter a percentage from 0 to 100.")}, code="percent"
        )
    if bills_via_connect and listing.brand.billing_model != BillingModel.HYBRID:
        raise ValidationError(
            _("Only a brand with hybrid billing charges some specialists through Stripe Connect."),
            code="not_hybrid",
        )
    changes = {
        name: value
        for name, value in (
            ("commission_percent", commission_percent),
            ("bills_via_connect", bills_via_connect),
        )
        if getattr(listing, name) != value
    }
    if not changes:
        return
    before = {name: str(getattr(listing, name)) for name in changes}
    for name, value in changes.items():
        setattr(listing, name, value)
    listing.full_clean()
    listing.save(update_fields=list(changes))
    audit.record(
        "listing.billing",
        actor=actor.user,
        role=actor.role,
        target=listing,
        brand=listing.brand,
        request=request,
        data={"from": before, "to": {k: str(v) for k, v in changes.items()}},
    )


LISTING_TRANSITIONS: dict[str, dict[str, set[str]]] = {
    # role -> target status -> allowed current statuses
    "staff": {
        ListingStatus.APPROVED: {ListingStatus.REQUESTED, ListingStatus.HIDDEN},
        ListingStatus.HIDDEN: {ListingStatus.REQUESTED, ListingStatus.APPROVED},
        ListingStatus.REMOVED: {
            ListingStatus.REQUESTED,
            ListingStatus.APPROVED,
            ListingStatus.HIDDEN,
        },
    },
    "specialist": {
        ListingStatus.HIDDEN: {ListingStatus.APPROVED},
        ListingStatus.REMOVED: {
            ListingStatus.REQUESTED,
            ListingStatus.APPROVED,
            ListingStatus.HIDDEN,
        },
    },
}


@transaction.atomic
def do_set_listing_status(
    listing: Listing,
    status: str,
    *,
    actor: Membership,
    note: str = "",
    request: HttpRequest | None = None,
) -> None:
    """Operators approve, hide and remove listings; specialists hide or withdraw their own.
    A specialist's hidden listing comes back only through the operator."""
    listing = Listing.objects.select_for_update().select_related("brand").get(pk=listing.pk)
    side = "specialist" if actor.role == Role.SPECIALIST else "staff"
    allowed = LISTING_TRANSITIONS[side].get(status, set())
    if listing.status not in allowed:
        raise ValidationError(
            _("This listing cannot change from %(from)s to %(to)s.")
            % {"from": ListingStatus(listing.status).label, "to": ListingStatus(status).label}
        )
    before = listing.status
    listing.status = status
    listing.decided_by, listing.decided_at = actor.user, timezone.now()
    listing.decision_note = note.strip()[:300]
    listing.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        f"listing.{status}",
        actor=actor.user,
        role=actor.role,
        target=listing,
        brand=listing.brand,
        request=request,
        data={"from": before, "note": note},
    )
    if side == "staff":
        transaction.on_commit(lambda: notify.listing_decided(listing.pk))


# --- terms ------------------------------------------------------------------------------------
# The network's vocabulary (specializations and categories), maintained by the operator.
# This section's own imports stay here so that it can be read (and merged) on its own.


TERM_NAME_MAX = 80


def _clean_term_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise ValidationError({"name": _("Enter a name.")})
    if len(name) > TERM_NAME_MAX:
        raise ValidationError(
            {"name": _("A name may be at most %(n)s characters long.") % {"n": TERM_NAME_MAX}}
        )
    return name


def _check_name_free(network_id: int, kind: str, name: str, *, exclude: int | None = None) -> None:
    taken = Term.objects.filter(network_id=network_id, kind=kind, name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        message = (
            _("There is already a specialization called “%(name)s”.")
            if kind == TermKind.SPECIALIZATION
            else _("There is already a category called “%(name)s”.")
        )
        raise ValidationError({"name": message % {"name": name}})


def _free_slug(network_id: int, kind: str, name: str) -> str:
    base = slugify(name)[:45] or "term"
    slug, n = base, 1
    while Term.objects.filter(network_id=network_id, kind=kind, slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def do_add_term(
    *,
    network: Network,
    kind: str,
    name: str,
    actor: Any,
    actor_role: str,
    request: HttpRequest | None = None,
) -> Term:
    if kind not in TermKind.values:
        raise ValidationError({"kind": _("Choose specialization or category.")})
    name = _clean_term_name(name)
    _check_name_free(network.pk, kind, name)
    term = Term(network=network, kind=kind, name=name, slug=_free_slug(network.pk, kind, name))
    term.full_clean()
    term.save()
    audit.record(
        "term.added",
        actor=actor,
        role=actor_role,
        target=term,
        brand=_brand(request),
        request=request,
        data={"kind": kind, "name": name},
    )
    return term


@transaction.atomic
def do_rename_term(
    term: Term,
    name: str,
    *,
    actor: Any,
    actor_role: str,
    request: HttpRequest | None = None,
) -> bool:
    """Rename a term; its slug stays, so links and filters keep working. False: no change."""
    term = Term.objects.select_for_update().get(pk=term.pk)
    name = _clean_term_name(name)
    if name == term.name:
        return False
    _check_name_free(term.network_id, term.kind, name, exclude=term.pk)
    before = term.name
    term.name = name
    term.full_clean()
    term.save(update_fields=["name"])
    audit.record(
        "term.renamed",
        actor=actor,
        role=actor_role,
        target=term,
        brand=_brand(request),
        request=request,
        data={"kind": term.kind, "from": before, "to": name},
    )
    return True


@transaction.atomic
def do_delete_term(
    term: Term,
    *,
    actor: Any,
    actor_role: str,
    request: HttpRequest | None = None,
) -> None:
    """Delete a term no profile uses; a term in use is refused (rename it instead)."""
    term = Term.objects.select_for_update().get(pk=term.pk)
    used = term_usage([term.pk])[term.pk]  # working copies and published versions
    if used:
        raise ValidationError(
            ngettext(
                "“%(name)s” is used by %(n)s specialist profile and cannot be deleted. "
                "Rename it instead.",
                "“%(name)s” is used by %(n)s specialist profiles and cannot be deleted. "
                "Rename it instead.",
                used,
            )
            % {"name": term.name, "n": used},
            code="in_use",
        )
    audit.record(
        "term.deleted",
        actor=actor,
        role=actor_role,
        target=term,
        brand=_brand(request),
        request=request,
        data={"kind": term.kind, "name": term.name},
    )
    term.delete()
