"""Every change to consents: documents, published versions, signatures, withdrawals and
specialists' requirements. Atomic, validated, audited (ids and version numbers only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from caredoor.core.brands.choices import JourneyStage
from caredoor.core.brands.models import Brand
from caredoor.core.care.queries import patient_relationships
from caredoor.core.compliance import audit
from caredoor.core.consents import queries
from caredoor.core.consents.models import (
    ON_REQUEST,
    ConsentDocument,
    ConsentKind,
    ConsentSignature,
    ConsentVersion,
    SpecialistConsentRequirement,
)
from caredoor.core.messaging import events as thread_events
from caredoor.core.organizations.models import Organization

BODY_MAX = 100_000


def _user_agent(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return (request.META.get("HTTP_USER_AGENT") or "")[:255]


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the text of the document.")})
    if len(body) > BODY_MAX:
        raise ValidationError(
            {"body": _("The text can hold at most %(max)d characters.") % {"max": BODY_MAX}}
        )
    return body


# --- documents and versions (operator, organization admins) --------------------------------


def do_create_document(
    *,
    kind: str,
    title: str,
    stage: str,
    body: str,
    actor: Any,
    brand: Brand | None = None,
    organization: Organization | None = None,
    summary: str = "",
    role: str = "",
    request: HttpRequest | None = None,
) -> ConsentDocument:
    """A new document owned by ``brand`` or by ``organization`` (exactly one), published
    at once as version 1 with ``body``. The caller checked that ``actor`` may."""
    if (brand is None) == (organization is None):
        raise ValueError("a consent document belongs to a brand or to an organization")
    if kind not in ConsentKind.values:
        raise ValidationError({"kind": _("Choose a kind of document.")})
    if stage not in [*JourneyStage.values, ON_REQUEST]:
        raise ValidationError({"stage": _("Choose when the document is required.")})
    body = _clean_body(body)
    network_id = brand.network_id if brand is not None else organization.network_id  # type: ignore[union-attr]
    with transaction.atomic():
        document = ConsentDocument(
            network_id=network_id,
            brand=brand,
            organization=organization,
            kind=kind,
            title=(title or "").strip(),
            stage=stage,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        document.full_clean()
        document.save()
        version = ConsentVersion.objects.create(
            document=document,
            number=1,
            body=body,
            summary=(summary or "").strip()[:500],
            published_by=document.created_by,
        )
        audit.record(
            "consent.document_created",
            actor=actor,
            role=role,
            target=document,
            brand=brand,
            request=request,
            data={
                "kind": kind,
                "stage": stage,
                "organization": organization.pk if organization else None,
                "version": version.number,
                "version_id": version.pk,
            },
        )
    return document


def do_publish_version(
    document: ConsentDocument,
    *,
    body: str,
    summary: str,
    actor: Any,
    role: str = "",
    request: HttpRequest | None = None,
) -> ConsentVersion:
    """Publish the next version. It becomes current at once: signatures of earlier versions
    no longer satisfy the document, so patients are asked to re-consent at their next step."""
    body = _clean_body(body)
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError({"summary": _("Say briefly what changed.")})
    if len(summary) > 500:
        raise ValidationError({"summary": _("Keep the summary under 500 characters.")})
    with transaction.atomic():
        locked = ConsentDocument.objects.select_for_update().get(pk=document.pk)
        last = locked.versions.aggregate(n=Max("number"))["n"] or 0
        version = ConsentVersion.objects.create(
            document=locked,
            number=last + 1,
            body=body,
            summary=summary,
            published_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit.record(
            "consent.version_published",
            actor=actor,
            role=role,
            target=version,
            brand=locked.brand,
            request=request,
            data={"document": locked.pk, "version": version.number},
        )
    return version


def do_set_document_active(
    document: ConsentDocument,
    *,
    active: bool,
    actor: Any,
    role: str = "",
    request: HttpRequest | None = None,
) -> ConsentDocument:
    """Retire a document (no longer asked for) or bring it back."""
    with transaction.atomic():
        document.is_active = active
        document.save(update_fields=["is_active"])
        audit.record(
            "consent.document_activated" if active else "consent.document_retired",
            actor=actor,
            role=role,
            target=document,
            brand=document.brand,
            request=request,
            data={"document": document.pk},
        )
    return document


# --- signing and withdrawing (the patient) -------------------------------------------------


def _require_signable(version: ConsentVersion, brand: Brand) -> None:
    document = version.document
    if not document.is_active or not queries.applies_to(document, brand):
        raise ValidationError(_("This document is not asked for here."), code="not_applicable")
    current = queries.current_version(document)
    if current is None or current.pk != version.pk:
        raise ValidationError(
            _("A newer version of this document has been published. Read it before signing."),
            code="not_current",
        )


def do_sign(
    user: Any, version: ConsentVersion, *, brand: Brand, request: HttpRequest | None = None
) -> ConsentSignature:
    """Sign the current ``version`` on ``brand``, recording time, IP and browser.

    Idempotent: a valid signature of the same version on the brand is returned as it is.
    Refuses a version that is not the document's current one or a document that does not
    apply to the brand (``ValidationError`` codes ``not_current``, ``not_applicable``).
    """
    if not getattr(user, "is_authenticated", False):
        raise ValidationError(_("Sign in to sign."), code="not_signed_in")
    _require_signable(version, brand)
    existing = queries.valid_signatures(user, brand).filter(version=version).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            signature = ConsentSignature.objects.create(
                user=user,
                version=version,
                brand=brand,
                ip=audit.client_ip(request),
                user_agent=_user_agent(request),
            )
            audit.record(
                "consent.signed",
                actor=user,
                role="patient",
                target=signature,
                brand=brand,
                request=request,
                data={
                    "document": version.document_id,
                    "version": version.number,
                    "version_id": version.pk,
                },
            )
            _announce_signature(user, version, brand)
    except IntegrityError:
        found = queries.valid_signatures(user, brand).filter(version=version).first()
        if found is None:
            raise
        return found
    return signature


def _announce_signature(user: Any, version: ConsentVersion, brand: Brand) -> None:
    """A line in the conversation of each active care pair on ``brand`` the document
    concerns: every pair for the brand's or organization's staged documents, only the
    specialists who require it for an on-request one (another specialist does not learn
    of it). The line keeps the document's kind, id and version number, not its title."""
    document = version.document
    relationships = patient_relationships(user, brand).filter(ended_at__isnull=True)
    if document.stage == ON_REQUEST:
        relationships = relationships.filter(profile__consent_requirements__document=document)
    for relationship in relationships:
        thread_events.post_event(
            brand=brand,
            patient=user,
            profile=relationship.profile,
            event=thread_events.CONSENT_SIGNED,
            data={
                "document": document.pk,
                "version": version.number,
                "kind": document.kind,
                "relationship": relationship.pk,
            },
        )


def do_accept_at_signup(
    user: Any,
    brand: Brand,
    versions: Iterable[ConsentVersion],
    *,
    request: HttpRequest | None = None,
) -> list[ConsentSignature]:
    """Record acceptance of the brand's current sign-up documents (terms, privacy, ...).

    ``versions`` must be exactly what was shown: every one current, and together covering
    ``queries.signup_documents(brand)`` (``ValidationError`` code ``not_current`` or
    ``incomplete`` otherwise; nothing is written).
    """
    versions = list(versions)
    due = {v.pk for v in queries.signup_documents(brand)}
    given = {v.pk for v in versions}
    if not given <= due:
        raise ValidationError(
            _("The terms changed while you were signing up. Read them again."), code="not_current"
        )
    if given != due:
        raise ValidationError(_("Accept every document to continue."), code="incomplete")
    with transaction.atomic():
        return [do_sign(user, v, brand=brand, request=request) for v in versions]


def do_withdraw(
    signature: ConsentSignature, *, user: Any, request: HttpRequest | None = None
) -> ConsentSignature:
    """The signer withdraws their consent. The record stays, marked with time and IP; the
    document counts as unsigned from now on (bookings stay, sessions needing it cannot
    start until the patient signs again)."""
    if signature.user_id != getattr(user, "pk", None):
        raise ValidationError(_("You can only withdraw your own consent."), code="not_allowed")
    with transaction.atomic():
        current = ConsentSignature.objects.select_for_update().get(pk=signature.pk)
        if current.withdrawn_at is not None:
            raise ValidationError(_("This consent was already withdrawn."), code="withdrawn")
        current.withdrawn_at = timezone.now()
        current.withdrawal_ip = audit.client_ip(request)
        current.save(update_fields=["withdrawn_at", "withdrawal_ip"])
        audit.record(
            "consent.withdrawn",
            actor=user,
            role="patient",
            target=current,
            brand=current.brand,
            request=request,
            data={
                "document": current.version.document_id,
                "version": current.version.number,
                "version_id": current.version_id,
            },
        )
    return current


# --- specialists' requirements -------------------------------------------------------------


def do_set_requirements(
    profile: Any,
    brand: Brand,
    documents: Iterable[ConsentDocument],
    *,
    actor: Any,
    request: HttpRequest | None = None,
) -> list[ConsentDocument]:
    """Set which of ``brand``'s documents the specialist requires before their sessions.
    Requirements on documents of other brands stay as they are."""
    chosen = {d.pk for d in documents}
    available = set(queries.documents_for(brand).values_list("pk", flat=True))
    if not chosen <= available:
        raise ValidationError(_("Choose among this service's documents."), code="not_applicable")
    with transaction.atomic():
        existing = set(
            SpecialistConsentRequirement.objects.filter(
                profile=profile, document_id__in=available
            ).values_list("document_id", flat=True)
        )
        added = sorted(chosen - existing)
        removed = sorted((existing & available) - chosen)
        SpecialistConsentRequirement.objects.bulk_create(
            [SpecialistConsentRequirement(profile=profile, document_id=pk) for pk in added]
        )
        SpecialistConsentRequirement.objects.filter(
            profile=profile, document_id__in=removed
        ).delete()
        if added or removed:
            audit.record(
                "consent.requirements_changed",
                actor=actor,
                role="specialist",
                target=profile,
                brand=brand,
                request=request,
                data={"added": added, "removed": removed},
            )
    return list(queries.specialist_requirements(profile, brand))
